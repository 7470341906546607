//! `orch down`: uninstalls what `orch up` installed. Takes orch's hooks out of Claude Code's
//! `settings.json` (and nothing else), removes orch's skill links and skill files, and removes
//! the state directory, after asking.
//!
//! After `orch up` then `orch down`, settings.json holds the same JSON value as before `up`,
//! with two documented exceptions: an empty `hooks` object or empty event array that was there
//! before `up` is gone too (Claude Code reads that the same as absent), and a file that `up`
//! created is left holding `{}` (down never deletes the user's settings file). Backups and the
//! `settings.json.lock` file stay.

use super::Ctx;
use crate::claude::settings;
use anyhow::{bail, Context, Result};
use orch_store::files::link_target;
use orch_store::paths;
use serde_json::json;
use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Flags of `orch down`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print what would change, one line per change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Keep the state directory (workers' events and metadata, the audit log).
    #[arg(long)]
    pub keep_state: bool,
    /// Uninstall on another machine instead, over ssh (its own `orch down`: backup, lock,
    /// exact undo); needs `--yes` or `--dry-run`, since the host cannot ask.
    #[arg(long, value_name = "DEST")]
    pub host: Option<String>,
}

/// Runs `orch down`: plans the removal, prints it for `--dry-run`, asks unless `--yes`, then
/// rewrites settings.json through [`settings::update`] (backup, lock, atomic write) and removes
/// the skills and the state directory.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(dest) = &args.host {
        anyhow::ensure!(
            args.yes || args.dry_run,
            "`orch down --host {dest}` cannot ask on the host: look first with `--dry-run`, then \
             give `--yes`"
        );
        let flags = [
            (args.yes, "--yes"),
            (args.dry_run, "--dry-run"),
            (args.keep_state, "--keep-state"),
        ];
        let mut argv = vec!["down"];
        argv.extend(flags.iter().filter(|(on, _)| *on).map(|(_, flag)| *flag));
        return super::on_host(ctx, dest, &argv);
    }
    let path = crate::claude::claude_settings()?;
    let skills_dir = crate::claude::claude_dir()?.join("skills");
    let data_skills = paths::data_dir()?.join("skills");
    let state = paths::state_dir()?;
    let where_ = Places {
        settings: &path,
        skills_dir: &skills_dir,
        data_skills: &data_skills,
        state: &state,
    };

    let mut plan = where_.plan(args.keep_state)?;
    let mut backup = None;
    if !args.dry_run && !plan.changes.is_empty() {
        if !args.yes {
            confirm(&question(
                &path,
                !plan.hooks.is_empty(),
                plan.remove_data || !plan.links.is_empty(),
                plan.remove_state.then_some(&state),
            ))?;
        }
        // One install at a time (`orch up` takes the same lock): planned again under it, so
        // what another `up` or `down` did meanwhile is seen, and the result is whole.
        let install = settings::lock(&path)?;
        plan = where_.plan(args.keep_state)?;
        backup = where_.apply(&plan, &install)?;
    }
    let Plan {
        changes,
        remove_state,
        ..
    } = plan;

    if ctx.json {
        return super::print_json(&json!({
            "settings": path,
            "backup": backup,
            "changes": changes,
            "state_removed": remove_state && !args.dry_run,
            "dry_run": args.dry_run,
        }));
    }
    if changes.is_empty() {
        println!("nothing of orch's to remove");
        return Ok(());
    }
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    println!("orch down {verb}:");
    for change in &changes {
        println!("  {change}");
    }
    if let Some(backup) = &backup {
        println!("backup of `{}`: `{}`", path.display(), backup.display());
    }
    if args.keep_state {
        println!("kept the state directory `{}`", state.display());
    }
    Ok(())
}

/// Where `orch down` looks.
struct Places<'a> {
    settings: &'a Path,
    skills_dir: &'a Path,
    data_skills: &'a Path,
    state: &'a Path,
}

/// What `orch down` will remove.
struct Plan {
    /// orch's hook entries in settings.json.
    hooks: Vec<settings::HookChange>,
    /// orch's skill links.
    links: Vec<PathBuf>,
    /// orch's skill files (its data folder's `skills`).
    remove_data: bool,
    /// The state directory.
    remove_state: bool,
    /// One line per change, for the person.
    changes: Vec<String>,
}

impl Places<'_> {
    /// What there is to remove now.
    ///
    /// Errors: settings.json is not valid (nothing is touched), or the state directory is
    /// `/` or the home folder.
    fn plan(&self, keep_state: bool) -> Result<Plan> {
        let hooks = match settings::read(self.settings)? {
            Some(value) => {
                settings::remove_orch_hooks(&value)
                    .with_context(|| format!("cannot update `{}`", self.settings.display()))?
                    .1
            }
            None => Vec::new(),
        };
        let links = orch_links(self.skills_dir, self.data_skills)?;
        let remove_data = self.data_skills.exists();
        let remove_state = !keep_state && self.state.exists();
        if remove_state {
            check_removable(self.state)?;
            orch_store::Store::at(self.state.to_path_buf()).check()?;
        }
        let mut changes: Vec<String> = hooks.iter().map(ToString::to_string).collect();
        changes.extend(
            links
                .iter()
                .map(|l| format!("unlink skill {}", l.display())),
        );
        if remove_data {
            changes.push(format!("remove skill files {}", self.data_skills.display()));
        }
        if remove_state {
            changes.push(format!("remove state directory {}", self.state.display()));
        }
        Ok(Plan {
            hooks,
            links,
            remove_data,
            remove_state,
            changes,
        })
    }

    /// Carries `plan` out while `install` (orch's lock on settings.json) is held; returns the
    /// backup of settings.json, if one was made.
    fn apply(&self, plan: &Plan, install: &orch_store::files::Lock) -> Result<Option<PathBuf>> {
        let mut backup = None;
        if !plan.hooks.is_empty() {
            backup = settings::update_held(install, self.settings, |value| {
                Ok(settings::remove_orch_hooks(value)?.0)
            })?
            .backup;
        }
        for link in &plan.links {
            fs::remove_file(link).with_context(|| format!("cannot remove `{}`", link.display()))?;
        }
        // Claude Code's skills folder and orch's data dir go only if nothing else is left there.
        if !plan.links.is_empty() {
            let _ = fs::remove_dir(self.skills_dir);
        }
        if plan.remove_data {
            fs::remove_dir_all(self.data_skills)
                .with_context(|| format!("cannot remove `{}`", self.data_skills.display()))?;
            if let Some(data) = self.data_skills.parent() {
                let _ = fs::remove_dir(data);
            }
        }
        if plan.remove_state {
            fs::remove_dir_all(self.state)
                .with_context(|| format!("cannot remove `{}`", self.state.display()))?;
        }
        Ok(backup)
    }
}

/// The symlinks in Claude Code's skills folder that point into orch's skills folder
/// (`data_skills`): orch's own, and nothing else.
fn orch_links(skills_dir: &Path, data_skills: &Path) -> Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(skills_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot list `{}`", skills_dir.display()))
        }
    };
    let mut links = Vec::new();
    for entry in entries {
        let link = entry
            .with_context(|| format!("cannot list `{}`", skills_dir.display()))?
            .path();
        if let Some(Some(target)) = link_target(&link)? {
            if target.starts_with(data_skills) {
                links.push(link);
            }
        }
    }
    links.sort();
    Ok(links)
}

/// Refuses to remove a state directory that is obviously not orch's own (`/` or the home
/// folder, e.g. through a mistaken `ORCH_HOME`).
fn check_removable(state: &Path) -> Result<()> {
    let real = state.canonicalize().unwrap_or_else(|_| state.to_path_buf());
    let home = paths::home().ok().and_then(|h| h.canonicalize().ok());
    if real.parent().is_none() || Some(&real) == home.as_ref() {
        bail!(
            "the state directory `{}` is `/` or the home folder: refusing to remove it; fix \
             `ORCH_HOME` or pass `--keep-state`",
            state.display()
        );
    }
    Ok(())
}

/// The confirmation question, naming what will go.
fn question(settings: &Path, hooks: bool, skills: bool, state: Option<&PathBuf>) -> String {
    let mut parts = Vec::new();
    if hooks {
        parts.push(format!("orch's hooks from `{}`", settings.display()));
    }
    if skills {
        parts.push("orch's skills".to_string());
    }
    if let Some(state) = state {
        parts.push(format!("the state directory `{}`", state.display()));
    }
    let list = match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.concat(),
    };
    format!("remove {list}? [y/N] ")
}

/// Asks `question` on the terminal; `Ok` only on `y` or `yes`.
///
/// Errors: stdin is not a terminal (pass `--yes`), or the answer is not yes.
fn confirm(question: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "`orch down` asks before changing anything, but stdin is not a terminal: pass \
             `--yes` to go ahead (or `--dry-run` to see what would change); nothing was changed"
        );
    }
    let mut err = std::io::stderr().lock();
    write!(err, "{question}")?;
    err.flush()?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("cancelled: nothing was changed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_what_goes() {
        let state = PathBuf::from("/s");
        assert_eq!(
            question(Path::new("/c/settings.json"), true, true, Some(&state)),
            "remove orch's hooks from `/c/settings.json`, orch's skills and the state directory `/s`? [y/N] "
        );
        assert_eq!(
            question(Path::new("/c/settings.json"), false, true, None),
            "remove orch's skills? [y/N] "
        );
    }
}
