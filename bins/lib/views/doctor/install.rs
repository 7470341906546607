//! The install's checks: tmux, orch's hooks in Claude Code's settings.json, the skills, and
//! whether orch is also enabled as a plugin.

use super::check::{Check, Verdict};
use crate::claude::settings;
use orch_store::paths;
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// `tmux`: installed and at least [`crate::tmux::MIN_VERSION`].
pub fn tmux() -> Check {
    match crate::tmux::check_version() {
        Err(err) => Check::fail(
            "tmux",
            format!("{err:#}"),
            "install tmux 3.0 or newer (`apt install tmux`, `dnf install tmux`, `brew install tmux`)",
        ),
        Ok(version) => Check::ok("tmux", version),
    }
}

/// What reading settings.json gave: the value (`None` when the file is missing) and its path.
pub type Settings = anyhow::Result<(Option<Value>, PathBuf)>;

/// The program a hook command runs: its first `/bin/sh` word, for the forms
/// [`settings::hook_command`] writes (a plain word, or one single-quoted word with `'\''`).
pub fn hook_program(command: &str) -> String {
    let command = command.trim_start();
    let Some(mut rest) = command.strip_prefix('\'') else {
        return command
            .split(char::is_whitespace)
            .next()
            .unwrap_or("")
            .to_string();
    };
    let mut word = String::new();
    while let Some(end) = rest.find('\'') {
        word.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix("\\''") {
            Some(more) => {
                word.push('\'');
                rest = more;
            }
            None => return word,
        }
    }
    word.push_str(rest);
    word
}

/// `hooks`: every event orch needs has orch's hook, and it runs this installation's `orch-hook`.
pub fn hooks(settings: &Settings) -> Check {
    const NAME: &str = "hooks";
    let (value, path) = match settings {
        Err(err) => {
            return Check::fail(
                NAME,
                format!("{err:#}"),
                "fix the file at that line and column (or move it away), then run `orch up`",
            )
        }
        Ok(found) => found,
    };
    let Some(value) = value else {
        return Check::fail(
            NAME,
            format!(
                "`{}` does not exist: no hooks are registered",
                path.display()
            ),
            "orch up",
        );
    };
    let expected = match paths::sibling_exe(settings::HOOK_PROGRAM) {
        Ok(exe) => exe.canonicalize().unwrap_or(exe),
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "reinstall orch"),
    };
    judge_hooks(value, path, &expected)
}

/// The `hooks` verdict for the settings `value` read from `path`, when this installation's
/// hook program is `expected` (canonical).
pub fn judge_hooks(value: &Value, path: &Path, expected: &Path) -> Check {
    const NAME: &str = "hooks";
    let found = settings::orch_hooks(value);
    let missing: Vec<&str> = found
        .iter()
        .filter(|(_, commands)| commands.is_empty())
        .map(|(event, _)| *event)
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            NAME,
            format!(
                "`{}` has no orch hook on {}",
                path.display(),
                missing.join(", ")
            ),
            "orch up",
        );
    }
    for (event, commands) in &found {
        for command in commands {
            let program = hook_program(command);
            if !is_executable(Path::new(&program)) {
                return Check::fail(
                    NAME,
                    format!("the {event} hook runs `{program}`, which is not an executable file"),
                    "orch up",
                );
            }
            let canonical = Path::new(&program)
                .canonicalize()
                .unwrap_or_else(|_| PathBuf::from(&program));
            if canonical != expected {
                return Check::fail(
                    NAME,
                    format!(
                        "the {event} hook runs `{program}`, another orch installation's hook \
                         (this one is `{}`)",
                        expected.display()
                    ),
                    "orch up",
                );
            }
        }
    }
    Check::ok(
        NAME,
        format!(
            "all {} events run `{}`",
            settings::EVENTS.len(),
            expected.display()
        ),
    )
}

/// Whether `path` is a file with an execute bit.
pub(super) fn is_executable(path: &Path) -> bool {
    path.is_absolute()
        && fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `skills`: each shipped skill is linked in `<claude dir>/skills/<name>` and the link resolves.
pub fn skills() -> Check {
    const NAME: &str = "skills";
    let dir = match crate::claude::claude_dir() {
        Ok(dir) => dir.join("skills"),
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "set HOME"),
    };
    let mut problems = Vec::new();
    let mut foreign = false;
    for (name, _) in crate::outfit::bundle::SKILLS {
        let link = dir.join(name);
        match orch_store::files::link_target(&link) {
            Ok(None) => problems.push(format!("`{}` is missing", link.display())),
            Ok(Some(None)) => {
                foreign = true;
                problems.push(format!("`{}` is not a link (not orch's)", link.display()));
            }
            Ok(Some(Some(target))) if !target.join("SKILL.md").is_file() => problems.push(format!(
                "`{}` points at `{}`, which has no SKILL.md",
                link.display(),
                target.display()
            )),
            Ok(Some(Some(_))) => {}
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    if problems.is_empty() {
        let names: Vec<&str> = crate::outfit::bundle::SKILLS
            .iter()
            .map(|(name, _)| *name)
            .collect();
        return Check::ok(
            NAME,
            format!("{} linked in `{}`", names.join(", "), dir.display()),
        );
    }
    let fix = if foreign {
        "move the folder that is not orch's away, then run `orch up`"
    } else {
        "orch up"
    };
    Check::fail(NAME, problems.join("; "), fix)
}

/// Whether `settings` enables orch as a plugin (`enabledPlugins` has `orch@...: true`).
pub fn plugin_enabled(settings: &Value) -> bool {
    settings["enabledPlugins"]
        .as_object()
        .is_some_and(|plugins| {
            plugins
                .iter()
                .any(|(key, on)| key.starts_with("orch@") && on.as_bool() == Some(true))
        })
}

/// `plugin`: warns when orch is active both as a plugin and through settings.json's hooks.
pub fn plugin(settings: &Settings) -> Check {
    const NAME: &str = "plugin";
    let Ok((Some(value), _)) = settings else {
        return Check::new(NAME, Verdict::Skipped, "not run: no readable settings.json");
    };
    let plugin = plugin_enabled(value);
    let hooks = settings::has_orch_hooks(value);
    match (plugin, hooks) {
        (true, true) => Check::warn(
            NAME,
            "orch is enabled both as a plugin and through settings.json's hooks: the hook \
             records each event once, but remove one of them",
            "disable the plugin (`claude plugin disable orch`) or run `orch down`",
        ),
        (true, false) => Check::ok(NAME, "orch runs as a Claude Code plugin"),
        (false, _) => Check::ok(NAME, "not installed as a plugin"),
    }
}
