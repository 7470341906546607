//! Claude Code: `${ORCH_CLAUDE_BIN:-claude} --session-id <uuid> [outfit flags] [args]`. Its
//! turns reach orch through the hooks `orch up` registers (UserPromptSubmit, Stop...); it holds
//! them back until its first-run and folder-trust screens are answered, which [`Claude`] reads
//! off the pane. An outfit becomes flags: `--append-system-prompt`, `--allowedTools`,
//! `--disallowedTools`, `--model`, `--permission-mode`, a per-worker `--settings` file with the
//! outfit's hooks and a generated plugin folder (`--plugin-dir`) with its skills. Nothing
//! touches the user's global settings.

use super::adapter::{
    dressed, find_file, input_box, program, session_argv, Adapter, Blocker, Launch, Spawn,
    Verified, Version,
};
use crate::outfit::{Dress, Outfit};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::Path;

/// The Claude Code adapter.
pub struct Claude;

impl Adapter for Claude {
    fn title(&self) -> &'static str {
        "Claude Code"
    }

    /// `ANTHROPIC_*` and `CLAUDE_*` (but not the per-session ones, which every harness drops).
    fn passes(&self, key: &str) -> bool {
        key.starts_with("ANTHROPIC_") || key.starts_with("CLAUDE_")
    }

    fn blocker(&self, screen: &str, cwd: &str) -> Option<Blocker> {
        blocker(screen, cwd)
    }

    /// Claude Code 2.1.332 fires SessionStart about 100 ms before it turns on bracketed paste
    /// (and before it draws its box): a multi-line paste in that window arrives as keys, and
    /// each line break submits a prompt of its own.
    fn input_ready(&self, screen: &str) -> Option<bool> {
        Some(input_box(screen).is_some())
    }

    fn verified(&self) -> Option<Verified> {
        Some(Verified {
            package: "@anthropic-ai/claude-code",
            oldest: Version(2, 1, 197),
            newest: Version(2, 1, 332),
            date: "2026-12-02",
        })
    }

    fn program_var(&self) -> Option<(&'static str, &'static str)> {
        Some(("ORCH_CLAUDE_BIN", "claude"))
    }

    fn resumes(&self) -> bool {
        true
    }

    fn usage_format(&self) -> Option<super::adapter::UsageFormat> {
        Some(super::adapter::UsageFormat::ClaudeTranscript)
    }

    /// `projects/<folder>/<session id>.jsonl` in Claude Code's folder (`$CLAUDE_CONFIG_DIR`, else
    /// `~/.claude`), the folder named after the worker's working folder.
    fn transcript(&self, _dir: &Path, session_id: &str) -> Option<std::path::PathBuf> {
        let projects = crate::claude::claude_dir().ok()?.join("projects");
        let name = format!("{session_id}.jsonl");
        find_file(&projects, 1, &|file| file == name)
    }

    /// A message in it ([`has_message`]): `claude --resume` on a session file without one says
    /// "No conversation found with session ID" and exits.
    fn holds_conversation(&self, path: &Path) -> bool {
        match std::fs::File::open(path) {
            Ok(file) => has_message(std::io::BufReader::new(file)),
            // Unreadable: left for Claude Code to say.
            Err(_) => true,
        }
    }

    /// Records the trust in Claude Code's `.claude.json` ([`crate::claude::trust`]).
    fn trust(&self, cwd: &Path) -> Result<()> {
        crate::claude::trust::trust_folder(cwd).map(|_| ())
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let dress = dressed(spawn.outfit, |o| dress(o, spawn.dir))?;
        // `--resume` keeps the session id: its SessionStart says `source: resume`.
        let argv = session_argv(program("ORCH_CLAUDE_BIN", "claude"), spawn, &dress);
        Ok(Launch::new(argv, dress))
    }
}

/// Whether a Claude Code session file has a line of a message (`"type"` `user` or
/// `assistant`). One whose agent lost its terminal before it wrote its first turn may hold
/// only the session's metadata (docs/observed.md, 1.8).
fn has_message(transcript: impl std::io::BufRead) -> bool {
    #[derive(serde::Deserialize)]
    struct Line {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    transcript.lines().map_while(Result::ok).any(|line| {
        serde_json::from_str::<Line>(&line)
            .is_ok_and(|l| matches!(l.kind.as_deref(), Some("user" | "assistant")))
    })
}

/// Reads a screen of a Claude Code that has fired no SessionStart yet for the first-run
/// screens that hold its hooks back.
fn blocker(screen: &str, cwd: &str) -> Option<Blocker> {
    let has = |s: &str| screen.contains(s);
    if has("trust this folder") || has("Accessing workspace") || has("Do you trust") {
        return Some(Blocker {
            kind: "folder-trust",
            fix: format!(
                "Claude Code asks whether to trust `{cwd}` and holds its hooks back until \
                 it is answered: re-run with `--trust` (records the trust in Claude Code's \
                 `.claude.json`), or attach to the pane and choose \"Yes, I trust this folder\""
            ),
        });
    }
    if has("Unable to connect to Anthropic services")
        || has("Select login method")
        || has("Choose the text style")
    {
        return Some(Blocker {
            kind: "onboarding",
            fix: "Claude Code is at its first-run screens: run `claude` once by hand to finish \
                  onboarding (or set `hasCompletedOnboarding` in `~/.claude.json`)"
                .into(),
        });
    }
    if has("Detected a custom API key") {
        return Some(Blocker {
            kind: "api-key",
            fix: "Claude Code asks whether to use ANTHROPIC_API_KEY: attach and answer \"Yes\" \
                  once, or use ANTHROPIC_AUTH_TOKEN"
                .into(),
        });
    }
    if has("Settings Error") {
        return Some(Blocker {
            kind: "settings-error",
            fix: "Claude Code rejects a settings file: attach to the pane to read which, fix it, \
                  then spawn again"
                .into(),
        });
    }
    None
}

/// Applies `outfit` to a Claude Code worker whose state folder is `dir` (absolute): the flags
/// named in the module's description, its hooks in `<dir>/outfit-settings.json` and its skills
/// linked into the plugin folder `<dir>/outfit-plugin`.
fn dress(outfit: &Outfit, dir: &Path) -> Result<Dress> {
    let mut dress = Dress::default();
    if let Some(prompt) = outfit.system_prompt_text()? {
        dress.arg("--append-system-prompt", prompt);
    }
    if let Some(tools) = &outfit.tools {
        if !tools.allow.is_empty() {
            dress.arg("--allowedTools", tools.allow.join(","));
        }
        if !tools.deny.is_empty() {
            dress.arg("--disallowedTools", tools.deny.join(","));
        }
    }
    if let Some(model) = &outfit.model {
        dress.arg("--model", model);
    }
    if let Some(mode) = &outfit.permission_mode {
        dress.arg("--permission-mode", mode);
    }
    if let Some(hooks) = &outfit.hooks {
        let file = dir.join("outfit-settings.json");
        orch_store::files::write_json(&file, &json!({ "hooks": hooks }))?;
        dress.arg("--settings", file.display().to_string());
    }
    let skills = outfit.skill_dirs()?;
    if !skills.is_empty() {
        let plugin = dir.join("outfit-plugin");
        let manifest = json!({
            "name": format!("outfit-{}", outfit.name),
            "version": outfit.version.clone().unwrap_or_else(|| "0".into()),
            "description": format!("skills of the orch outfit `{}`", outfit.name),
        });
        orch_store::files::write_json(&plugin.join(".claude-plugin/plugin.json"), &manifest)?;
        let skills_dir = plugin.join("skills");
        orch_store::files::create_private_dir(&skills_dir)?;
        for skill in skills {
            let name = skill.file_name().unwrap_or_default();
            let link = skills_dir.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(&skill, &link)
                    .with_context(|| format!("cannot link skill `{}`", skill.display()))?;
            }
        }
        dress.arg("--plugin-dir", plugin.display().to_string());
    }
    Ok(dress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_file_of_metadata_only_holds_no_conversation() {
        // What Claude Code 2.1.197 left when its tmux server died right after its Stop hook.
        let sid = "2f86d3c7-1f7f-4afe-96c7-d74274bd7ae2";
        let metadata = [
            format!(r#"{{"type":"ai-title","aiTitle":"Mock session","sessionId":"{sid}"}}"#),
            format!(r#"{{"type":"last-prompt","leafUuid":"96bd","sessionId":"{sid}"}}"#),
            format!(r#"{{"type":"mode","mode":"normal","sessionId":"{sid}"}}"#),
            format!(
                r#"{{"type":"permission-mode","permissionMode":"default","sessionId":"{sid}"}}"#
            ),
        ]
        .join("\n");
        assert!(!has_message(metadata.as_bytes()));
        assert!(!has_message(&b""[..]));
        assert!(!has_message(&b"not json\n{\"type\":7}\n"[..]));
        let user = r#"{"parentUuid":null,"type":"user","message":{"role":"user","content":"hi"}}"#;
        assert!(has_message(format!("{metadata}\n{user}\n").as_bytes()));
        let assistant = r#"{"message":{"role":"assistant"},"type":"assistant"}"#;
        assert!(has_message(format!("{assistant}\n").as_bytes()));
    }

    #[test]
    fn trust_screen_is_recognised() {
        let screen = " Accessing workspace:\n /tmp/x\n ❯ 1. Yes, I trust this folder\n";
        let b = blocker(screen, "/tmp/x").unwrap();
        assert_eq!(b.kind, "folder-trust");
        assert!(b.fix.contains("--trust"));
        assert_eq!(blocker("❯ ", "/"), None);
    }
}
