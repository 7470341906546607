//! `orch up`: installs orch for Claude Code. Checks tmux, merges orch's hook entries into
//! Claude Code's `settings.json` and links the shipped skills into Claude Code's skills folder.
//! Idempotent: a second run changes nothing and makes no backup.

use super::Ctx;
use crate::claude::settings;
use anyhow::{bail, Context, Result};
use orch_store::{files as fsutil, paths};
use serde_json::{json, Value};
use std::fs;
use std::path::{Path, PathBuf};

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
    /// HookChange nothing; print how to load orch as a Claude Code plugin instead (`claude
    /// --plugin-dir`, or a local marketplace), which brings the same hooks and skills.
    #[arg(long, conflicts_with = "dry_run")]
    pub plugin: bool,
    /// Install on another machine instead, over ssh (its own `orch up`, with the same safety:
    /// backup, lock, atomic write); any destination `ssh` accepts.
    #[arg(long, value_name = "DEST", conflicts_with = "plugin")]
    pub host: Option<String>,
}

/// Runs `orch up`: plans every change first (so a bad settings file or a foreign skill folder
/// stops it before anything is touched), then writes settings.json through
/// [`settings::update`] and the skills.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if args.plugin {
        return plugin(ctx);
    }
    if let Some(dest) = &args.host {
        let mut argv = vec!["up"];
        if args.dry_run {
            argv.push("--dry-run");
        }
        return super::on_host(ctx, dest, &argv);
    }
    crate::tmux::check_version()?;
    let path = crate::claude::claude_settings()?;
    // One install at a time (`orch down` takes the same lock), held from the plan to the last
    // skill link, so concurrent runs take turns and each leaves a whole install.
    let install = match args.dry_run {
        true => None,
        false => Some(settings::lock(&path)?),
    };
    let state = orch_store::Store::from_env()?;
    let command = settings::hook_command(&paths::sibling_exe(settings::HOOK_PROGRAM)?)?;
    let current = settings::read(&path)?.unwrap_or_else(|| json!({}));
    let (_, planned) = settings::add_orch_hooks(&current, &command)
        .with_context(|| format!("cannot update `{}`", path.display()))?;
    let skills = plan_skills(
        &crate::claude::claude_dir()?.join("skills"),
        &paths::data_dir()?,
    )?;

    let mut changes: Vec<String> = planned.iter().map(ToString::to_string).collect();
    let mut backup = None;
    let mut repaired = Vec::new();
    if let Some(install) = &install {
        let mut applied = Vec::new();
        backup = settings::update_held(install, &path, |value| {
            let (new, done) = settings::add_orch_hooks(value, &command)?;
            applied = done;
            Ok(new)
        })?
        .backup;
        changes = applied.iter().map(ToString::to_string).collect();
        for skill in &skills {
            skill.apply()?;
        }
        repaired = repair_modes(&state.root, &paths::data_dir()?)?;
    }
    changes.extend(skills.iter().flat_map(SkillPlan::changes));
    changes.extend(
        repaired
            .iter()
            .map(|r| format!("mode {:04o} -> {:04o}: {}", r.was, r.now, r.path.display())),
    );
    // After a reboot `orch up` is likely the first command: say what can be brought back.
    if let Ok(lost) = crate::views::summary::resumable(&state) {
        if !lost.is_empty() {
            eprintln!(
                "orch: {}; `orch resume --all` starts them again",
                crate::views::doctor::lost_panes(&lost)
            );
        }
    }

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
    let path = crate::claude::claude_settings()?;
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
    let shown = crate::shell::quote(&dir.display().to_string());
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
            fsutil::create_dir_mode(&self.dir, SKILL_DIR_MODE)?;
            fsutil::write_atomic(&self.dir.join("SKILL.md"), self.body.as_bytes(), 0o644)?;
        }
        if self.relink {
            let parent = self.link.parent().context("a skill link has no folder")?;
            fsutil::create_dir_mode(parent, SKILL_DIR_MODE)?;
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

/// The mode of the folders orch makes for skills Claude Code reads: readable, writable by the
/// user alone, whatever the umask.
const SKILL_DIR_MODE: u32 = 0o755;

/// Repairs the modes of what an earlier orch made under a loose umask: in the state directory
/// (when it exists and is the user's own) every folder 0700 and file 0600 at most, the
/// worktrees (the user's code) and links left alone; in orch's data folder (the shipped
/// skills Claude Code reads) nothing writable by group or others. Returns what changed.
///
/// Errors: a mode cannot be changed (named).
fn repair_modes(state: &Path, data: &Path) -> Result<Vec<fsutil::Restricted>> {
    let mut changed = Vec::new();
    if state.is_dir() && orch_store::Store::at(state.to_path_buf()).owned() {
        let worktrees = state.join("worktrees");
        let skip = move |p: &Path| p == worktrees;
        changed.extend(fsutil::restrict_modes(state, 0o7700, 0o7700, &skip)?);
    }
    if data.is_dir() {
        changed.extend(fsutil::restrict_modes(data, !0o022, !0o022, &|_| false)?);
    }
    Ok(changed)
}

/// What to do for each shipped skill, given Claude Code's skills folder and orch's data dir.
///
/// Errors: a skill's place in `skills_dir` is taken by something that is not a link into orch's
/// data dir (a user's own skill of the same name): orch does not replace it.
fn plan_skills(skills_dir: &Path, data_dir: &Path) -> Result<Vec<SkillPlan>> {
    crate::outfit::bundle::SKILLS
        .iter()
        .map(|&(name, body)| {
            let dir = data_dir.join("skills").join(name);
            let link = skills_dir.join(name);
            let write = fs::read_to_string(dir.join("SKILL.md")).ok().as_deref() != Some(body);
            let relink = match orch_store::files::link_target(&link)? {
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

/// Whether `target` looks like a skill folder of an orch install elsewhere
/// (`.../orch/skills/<name>`), which `orch up` may repoint.
fn is_orch_skill_dir(target: &Path) -> bool {
    let mut parts = target.components().rev().skip(1);
    parts.next().is_some_and(|c| c.as_os_str() == "skills")
        && parts.next().is_some_and(|c| c.as_os_str() == "orch")
}

#[cfg(test)]
mod tests {
    use super::*;

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
