//! `orch up`: installs orch for Claude Code. Checks tmux, merges orch's hook entries into
//! Claude Code's `settings.json` and links the shipped skills into Claude Code's skills folder.
//! Idempotent: a second run changes nothing and makes no backup.

use super::Ctx;
use crate::claude::settings;
use crate::{fsutil, paths};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Flags of `orch up`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Assume yes: `orch up` asks nothing, the flag is accepted so that scripts can pass it to
    /// both `orch up` and `orch down`.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print what would change, one line per change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Change nothing; print how to load orch as a Claude Code plugin instead (`claude
    /// --plugin-dir`, or a local marketplace), which brings the same hooks and skills.
    #[arg(long, conflicts_with = "dry_run")]
    pub plugin: bool,
}

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

/// The oldest tmux orch works with, as (major, minor).
pub const MIN_TMUX: (u32, u32) = (3, 0);

/// Runs `orch up`: plans every change first (so a bad settings file or a foreign skill folder
/// stops it before anything is touched), then writes settings.json through
/// [`settings::update`] and the skills.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if args.plugin {
        return plugin(ctx);
    }
    check_tmux()?;
    let path = paths::claude_settings()?;
    let command = settings::hook_command(&paths::sibling_exe(settings::HOOK_PROGRAM)?)?;
    let current = settings::read(&path)?.unwrap_or_else(|| json!({}));
    let (_, planned) = settings::add_orch_hooks(&current, &command)
        .with_context(|| format!("cannot update `{}`", path.display()))?;
    let skills = plan_skills(&paths::claude_dir()?.join("skills"), &paths::data_dir()?)?;

    let mut changes: Vec<String> = planned.iter().map(ToString::to_string).collect();
    let mut backup = None;
    if !args.dry_run {
        let mut applied = Vec::new();
        backup = settings::update(&path, |value| {
            let (new, done) = settings::add_orch_hooks(value, &command)?;
            applied = done;
            Ok(new)
        })?
        .backup;
        changes = applied.iter().map(ToString::to_string).collect();
        for skill in &skills {
            skill.apply()?;
        }
    }
    changes.extend(skills.iter().flat_map(SkillPlan::changes));

    if ctx.json {
        let skills: Vec<Value> = skills
            .iter()
            .map(|s| json!({"name": s.name, "link": s.link, "target": s.dir}))
            .collect();
        return super::print_json(&json!({
            "settings": path,
            "backup": backup,
            "changes": changes,
            "skills": skills,
            "dry_run": args.dry_run,
        }));
    }
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    if changes.is_empty() {
        println!(
            "orch is installed: `{}` and the skills are up to date, nothing changed",
            path.display()
        );
    } else {
        println!("orch up {verb}:");
        for change in &changes {
            println!("  {change}");
        }
        println!("settings: `{}`", path.display());
        if let Some(backup) = &backup {
            println!("backup: `{}`", backup.display());
        }
    }
    Ok(())
}

/// `orch up --plugin`: prints the plugin folder (the one that holds `.claude-plugin/`), how to
/// load it, and a warning when settings.json already registers orch's hook. Changes nothing.
fn plugin(ctx: &Ctx) -> Result<()> {
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let exe = exe.canonicalize().unwrap_or(exe);
    let dir = plugin_dir(&exe);
    let path = paths::claude_settings()?;
    let text = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let registered: Vec<&str> = settings::EVENTS
        .into_iter()
        .filter(|event| crate::hook::is_plugin_duplicate(text.as_deref(), event))
        .collect();
    if ctx.json {
        return super::print_json(&json!({
            "plugin_dir": dir,
            "settings": path,
            "settings_hooks": registered,
        }));
    }
    let Some(dir) = dir else {
        println!(
            "cannot find orch's plugin folder (the one that holds `.claude-plugin/plugin.json`) \
             above `{}`: use a checkout of orch or its npm package; nothing was changed",
            exe.display()
        );
        return Ok(());
    };
    let shown = settings::shell_quote(&dir.display().to_string());
    println!(
        "orch is a Claude Code plugin in `{}`; nothing was changed.",
        dir.display()
    );
    println!("Load it for one session:");
    println!("  claude --plugin-dir {shown}");
    println!("Or for every session, through a local marketplace:");
    println!("  mkdir -p ~/orch-market/.claude-plugin && ln -s {shown} ~/orch-market/orch");
    println!(
        "  echo '{{\"name\":\"orch-local\",\"owner\":{{\"name\":\"me\"}},\"plugins\":[{{\"name\":\"orch\",\"source\":\"./orch\"}}]}}' \\"
    );
    println!("    > ~/orch-market/.claude-plugin/marketplace.json");
    println!(
        "  claude plugin marketplace add ~/orch-market && claude plugin install orch@orch-local"
    );
    if dir.join("target").is_dir() {
        println!(
            "  (`plugin install` copies the whole folder, `target/` included, into Claude Code's \
             plugin cache: from a checkout, prefer `--plugin-dir`)"
        );
    }
    if !registered.is_empty() {
        println!(
            "warning: `{}` already registers orch's hook ({}): with the plugin too, both run \
             (`orch doctor` flags it; the hook records each event once). `orch down` takes the \
             settings.json entries out.",
            path.display(),
            registered.join(", ")
        );
    }
    Ok(())
}

/// The plugin folder above `exe`: the nearest ancestor that holds `.claude-plugin/plugin.json`
/// (a checkout's root above `target/release/orch`, or the npm package's folder).
fn plugin_dir(exe: &Path) -> Option<PathBuf> {
    exe.ancestors()
        .skip(1)
        .find(|dir| dir.join(".claude-plugin/plugin.json").is_file())
        .map(Path::to_path_buf)
}

/// One shipped skill: its folder under orch's data dir, where `SKILL.md` is written, and its
/// link in Claude Code's skills folder, which points at that folder.
#[derive(Debug)]
struct SkillPlan {
    name: &'static str,
    body: &'static str,
    /// `<data dir>/skills/<name>`.
    dir: PathBuf,
    /// `<claude dir>/skills/<name>`.
    link: PathBuf,
    /// `SKILL.md` is missing or differs.
    write: bool,
    /// The link is missing or points at another orch install's folder.
    relink: bool,
}

impl SkillPlan {
    fn changes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.write {
            let file = self.dir.join("SKILL.md");
            out.push(format!("write skill {}: {}", self.name, file.display()));
        }
        if self.relink {
            let (link, dir) = (self.link.display(), self.dir.display());
            out.push(format!("link skill {}: {link} -> {dir}", self.name));
        }
        out
    }

    fn apply(&self) -> Result<()> {
        if self.write {
            fs::create_dir_all(&self.dir)
                .with_context(|| format!("cannot create `{}`", self.dir.display()))?;
            fsutil::write_atomic(&self.dir.join("SKILL.md"), self.body.as_bytes(), 0o644)?;
        }
        if self.relink {
            let parent = self.link.parent().context("a skill link has no folder")?;
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
            if fs::symlink_metadata(&self.link).is_ok() {
                fs::remove_file(&self.link)
                    .with_context(|| format!("cannot remove `{}`", self.link.display()))?;
            }
            std::os::unix::fs::symlink(&self.dir, &self.link).with_context(|| {
                format!(
                    "cannot link `{}` to `{}`",
                    self.link.display(),
                    self.dir.display()
                )
            })?;
        }
        Ok(())
    }
}

/// What to do for each shipped skill, given Claude Code's skills folder and orch's data dir.
///
/// Errors: a skill's place in `skills_dir` is taken by something that is not a link into orch's
/// data dir (a user's own skill of the same name): orch does not replace it.
fn plan_skills(skills_dir: &Path, data_dir: &Path) -> Result<Vec<SkillPlan>> {
    SKILLS
        .iter()
        .map(|&(name, body)| {
            let dir = data_dir.join("skills").join(name);
            let link = skills_dir.join(name);
            let write = fs::read_to_string(dir.join("SKILL.md")).ok().as_deref() != Some(body);
            let relink = match link_target(&link)? {
                None => true,
                Some(Some(target)) if target == dir => false,
                Some(Some(target)) if is_orch_skill_dir(&target) => true,
                Some(_) => bail!(
                    "`{}` exists and is not orch's: move it away (or rename it) and run \
                     `orch up` again; nothing was changed",
                    link.display()
                ),
            };
            Ok(SkillPlan {
                name,
                body,
                dir,
                link,
                write,
                relink,
            })
        })
        .collect()
}

/// What is at `path`: `None` nothing, `Some(None)` something that is not a symlink,
/// `Some(Some(target))` a symlink and its target (made absolute against the link's folder).
pub(crate) fn link_target(path: &Path) -> Result<Option<Option<PathBuf>>> {
    match fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot inspect `{}`", path.display())),
        Ok(meta) if !meta.file_type().is_symlink() => Ok(Some(None)),
        Ok(_) => {
            let target = fs::read_link(path)
                .with_context(|| format!("cannot read link `{}`", path.display()))?;
            let parent = path.parent().unwrap_or(Path::new("/"));
            Ok(Some(Some(parent.join(target))))
        }
    }
}

/// Whether `target` looks like a skill folder of an orch install elsewhere
/// (`.../orch/skills/<name>`), which `orch up` may repoint.
fn is_orch_skill_dir(target: &Path) -> bool {
    let mut parts = target.components().rev().skip(1);
    parts.next().is_some_and(|c| c.as_os_str() == "skills")
        && parts.next().is_some_and(|c| c.as_os_str() == "orch")
}

/// Checks that `tmux -V` reports tmux 3.0 or newer.
///
/// Errors: tmux is missing, fails, prints a version orch cannot read, or is too old; each
/// message says to install tmux 3.0 or newer.
pub fn check_tmux() -> Result<()> {
    let out = match Command::new("tmux").arg("-V").output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "`tmux` is not installed or not on PATH: install tmux 3.0 or newer \
             (`apt install tmux`, `dnf install tmux`, `brew install tmux`)"
        ),
        Err(err) => return Err(err).context("cannot run `tmux -V`"),
    };
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        bail!(
            "`tmux -V` failed: {}: install tmux 3.0 or newer",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let version = parse_tmux_version(&text).ok_or_else(|| {
        anyhow!(
            "cannot read the version in `{text}` (from `tmux -V`): orch needs tmux 3.0 or newer"
        )
    })?;
    if version < MIN_TMUX {
        bail!("`{text}` is too old: orch needs tmux 3.0 or newer, install a newer tmux");
    }
    Ok(())
}

/// The (major, minor) version in the output of `tmux -V`: `tmux 3.3a` is (3, 3), `tmux 3.0` is
/// (3, 0), `tmux next-3.6` is (3, 6), `tmux 3.4-rc` is (3, 4). `tmux master` (a build from the
/// development branch) counts as newer than any release: `(u32::MAX, u32::MAX)`. Other
/// prefixes before a `-` are skipped the same way as `next-`. `None` when there is no version.
pub fn parse_tmux_version(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().strip_prefix("tmux ")?.trim();
    if version == "master" {
        return Some((u32::MAX, u32::MAX));
    }
    let number = version
        .split('-')
        .find(|part| part.starts_with(|c: char| c.is_ascii_digit()))?;
    let (major, rest) = number.split_once('.').unwrap_or((number, ""));
    let major = major.parse().ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major, digits.parse().unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tmux_versions() {
        assert_eq!(parse_tmux_version("tmux 3.3a\n"), Some((3, 3)));
        assert_eq!(parse_tmux_version("tmux 3.0"), Some((3, 0)));
        assert_eq!(parse_tmux_version("tmux 2.9a"), Some((2, 9)));
        assert_eq!(parse_tmux_version("tmux next-3.6"), Some((3, 6)));
        assert_eq!(parse_tmux_version("tmux 3.4-rc"), Some((3, 4)));
        assert_eq!(parse_tmux_version("tmux 10.1"), Some((10, 1)));
        assert!(parse_tmux_version("tmux master").unwrap() >= MIN_TMUX);
        assert!(parse_tmux_version("tmux 2.9a").unwrap() < MIN_TMUX);
        assert!(parse_tmux_version("tmux 3.0a").unwrap() >= MIN_TMUX);
        assert_eq!(parse_tmux_version("tmux"), None);
        assert_eq!(parse_tmux_version("screen 4.0"), None);
        assert_eq!(parse_tmux_version("tmux abc"), None);
    }

    #[test]
    fn skills_have_front_matter_with_their_name() {
        for (name, body) in SKILLS {
            assert!(body.starts_with("---\n"), "{name}");
            assert!(body.contains(&format!("\nname: {name}\n")), "{name}");
            assert!(body.contains("\ndescription: "), "{name}");
        }
    }

    #[test]
    fn finds_the_plugin_folder_above_the_executable() {
        let root = tempfile::tempdir().unwrap();
        let exe = root.path().join("target/release/orch");
        assert_eq!(plugin_dir(&exe), None);
        fs::create_dir_all(root.path().join(".claude-plugin")).unwrap();
        fs::write(root.path().join(".claude-plugin/plugin.json"), "{}").unwrap();
        assert_eq!(plugin_dir(&exe).as_deref(), Some(root.path()));
    }

    #[test]
    fn orch_skill_dirs_are_recognised() {
        assert!(is_orch_skill_dir(Path::new("/old/share/orch/skills/orch")));
        assert!(!is_orch_skill_dir(Path::new("/home/u/my-skills/orch")));
    }
}
