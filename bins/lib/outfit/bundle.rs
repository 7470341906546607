//! What orch ships inside its executable: the skills (`skills/*/SKILL.md`, linked into Claude
//! Code's skills folder by `orch up`) and the outfits (`outfits/*.yaml`), embedded from the
//! repository's files, which stay the source of truth.

/// The skills orch ships, as (name, content of `SKILL.md`), embedded from `skills/`.
pub const SKILLS: [(&str, &str); 7] = [
    ("orch", include_str!("../../../skills/orch/SKILL.md")),
    (
        "orch-worker",
        include_str!("../../../skills/orch-worker/SKILL.md"),
    ),
    (
        "orch-spawn",
        include_str!("../../../skills/orch-spawn/SKILL.md"),
    ),
    (
        "orch-listen",
        include_str!("../../../skills/orch-listen/SKILL.md"),
    ),
    (
        "orch-escalate",
        include_str!("../../../skills/orch-escalate/SKILL.md"),
    ),
    (
        "orch-spy",
        include_str!("../../../skills/orch-spy/SKILL.md"),
    ),
    (
        "orch-recipes",
        include_str!("../../../skills/orch-recipes/SKILL.md"),
    ),
];

/// The outfits shipped in `outfits/`, as (name, YAML).
pub const OUTFITS: [(&str, &str); 10] = [
    ("engineer", include_str!("../../../outfits/engineer.yaml")),
    (
        "backend-engineer",
        include_str!("../../../outfits/backend-engineer.yaml"),
    ),
    ("reviewer", include_str!("../../../outfits/reviewer.yaml")),
    (
        "researcher",
        include_str!("../../../outfits/researcher.yaml"),
    ),
    ("planner", include_str!("../../../outfits/planner.yaml")),
    ("spy", include_str!("../../../outfits/spy.yaml")),
    (
        "codex-engineer",
        include_str!("../../../outfits/codex-engineer.yaml"),
    ),
    (
        "gemini-engineer",
        include_str!("../../../outfits/gemini-engineer.yaml"),
    ),
    (
        "pi-engineer",
        include_str!("../../../outfits/pi-engineer.yaml"),
    ),
    ("shell", include_str!("../../../outfits/shell.yaml")),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skills_have_front_matter_with_their_name() {
        for (name, body) in SKILLS {
            assert!(body.starts_with("---\n"), "{name}");
            assert!(body.contains(&format!("\nname: {name}\n")), "{name}");
            assert!(body.contains("\ndescription: "), "{name}");
        }
    }
}
