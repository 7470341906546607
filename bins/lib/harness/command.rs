//! The `command` harness: any program in a pane (a shell, a REPL, an agent CLI orch has no
//! adapter for). It fires no hooks, so orch reads its turns off the pane. At spawn, tmux pipes
//! the pane's output (`pipe-pane -O`) into `orch __detect WORKER` ([`crate::fleet::detect`]), a child
//! of the tmux server that lives exactly as long as the pane (tmux closes the pipe when the pane
//! goes) and records the events a hook would, so `listen`, `subscribe`, `tell`'s
//! acknowledgement and `ps` work as for any harness:
//!
//! - `session_start` once the program's first screen has settled;
//! - `prompt`, with the hash of the prompt `tell` is submitting ([`mark_pending`]), on the first
//!   output after tell pressed Enter;
//! - `stop` when the screen settles again, with the turn's output as `last_assistant_message`;
//! - `session_end` (reason `exit`) when the pane closes on its own.
//!
//! A screen has settled when no output came for the detector's quiet time, or when output kept
//! coming but left the screen's text unchanged for that long (a redraw of the same thing); with
//! a prompt regex, its last non-empty line must also match it.

use super::adapter::{Adapter, Launch, Spawn};
use super::quiet::Detector;
use crate::harness::quiet::Quiet;
use crate::outfit::{Dress, Outfit};
use crate::tmux::Tmux;
use crate::tmux::TmuxServer;
use anyhow::{bail, Context, Result};
use orch_store::worker::File;
use orch_store::WorkerDir;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A prompt `tell` is about to submit to a command worker: `workers/<id>/pending.json`, taken
/// by the detector with the first output that follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// [`crate::delivery::prompt::hash`] of the text.
    pub prompt_hash: String,
    /// Its length in characters.
    pub prompt_len: usize,
    /// The line the cursor was on when Enter was pressed, counted from the top of the pane's
    /// history (`#{history_size}` + `#{cursor_y}`): the turn's output starts below it.
    #[serde(default)]
    pub line: Option<i64>,
}

/// Records that `text` is about to be submitted to the command worker in `pane` of `server`
/// in its pending file `path` (call it after the paste, right before Enter). Errors: the file
/// cannot be written.
pub fn mark_pending(server: &TmuxServer, pane: &str, path: &Path, text: &str) -> Result<()> {
    let line = server
        .run(&[
            "display-message",
            "-p",
            "-t",
            pane,
            "#{history_size} #{cursor_y}",
        ])
        .ok()
        .and_then(|out| {
            let mut parts = out.split_whitespace().map(|p| p.parse::<i64>().ok());
            Some(parts.next()?? + parts.next()??)
        });
    let pending = Pending {
        prompt_hash: crate::delivery::prompt::hash(text),
        prompt_len: text.chars().count(),
        line,
    };
    orch_store::files::write_json(path, &pending)
}

/// Takes the pending prompt kept in `path` (a command worker's pending file), if there is one.
pub fn take_pending(path: &Path) -> Option<Pending> {
    let text = std::fs::read_to_string(path).ok()?;
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).ok()
}

/// Starts the detector of the command worker `id` on its pane: `tmux pipe-pane -O` with
/// `orch __detect` (tmux runs it with its own environment, so the state folder is passed in
/// `ORCH_HOME`). Errors: the orch executable is not found, or tmux refuses.
pub fn start(server: &TmuxServer, pane: &str, state_root: &Path, id: &str) -> Result<()> {
    let orch = orch_store::paths::sibling_exe("orch")?;
    let line = format!(
        "exec env ORCH_HOME={} {} __detect {}",
        crate::shell::quote(&state_root.display().to_string()),
        crate::shell::quote(&orch.display().to_string()),
        crate::shell::quote(id)
    );
    server
        .run(&["pipe-pane", "-O", "-t", pane, &line])
        .with_context(|| format!("cannot start the quiet detector on pane {pane}"))?;
    Ok(())
}

/// The command adapter: the program after `--` (or the outfit's `command`), started as it is,
/// with all of the caller's environment but orch's and Claude Code's per-session variables.
pub struct Command;

impl Adapter for Command {
    fn title(&self) -> &'static str {
        "the command"
    }

    fn detector(&self) -> &'static str {
        "quiet"
    }

    fn sets_session_id(&self) -> bool {
        false
    }

    /// A command is whatever the caller would run in their own shell: a leading `/` is a
    /// path, a `!` the program's business.
    fn prompt_guard(&self) -> &'static str {
        ""
    }

    /// The text as it is but for one trailing newline (a leading `/` is a path to a shell,
    /// not a slash command; an empty last line ends a Python block).
    fn prompt_text(&self, text: &str, _slash: bool) -> (&'static str, String) {
        let text = text.strip_suffix('\n').unwrap_or(text);
        ("", text.strip_suffix('\r').unwrap_or(text).to_string())
    }

    fn has_slash_commands(&self) -> bool {
        false
    }

    /// Notes the prompt for the detector, which acknowledges it with the first output after
    /// Enter ([`mark_pending`]).
    fn submitting(
        &self,
        server: &TmuxServer,
        pane: &str,
        dir: &WorkerDir,
        text: &str,
    ) -> Result<()> {
        mark_pending(server, pane, &dir.file(File::Pending), text)
    }

    fn silence(&self) -> &'static str {
        "its program printed nothing after Enter, or its quiet detector is gone (tmux shows \
         `#{pane_pipe}` 0 then)"
    }

    /// Ctrl-C: a program in a terminal puts nothing back.
    fn interrupt_key(&self) -> &'static str {
        "C-c"
    }

    /// Everything.
    fn passes(&self, _key: &str) -> bool {
        true
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let outfit = spawn.outfit;
        let detector = Detector::checked(
            spawn.quiet.or(outfit.and_then(|o| o.quiet)),
            spawn
                .prompt_regex
                .map(str::to_string)
                .or_else(|| outfit.and_then(|o| o.prompt_regex.clone())),
            "`--quiet`/`--prompt-regex`",
        )?;
        let dress = super::adapter::dressed(outfit, dress)?;
        let argv: Vec<String> = match outfit {
            Some(o) if spawn.args.is_empty() => o.command.clone(),
            _ => spawn.args.to_vec(),
        };
        if argv.is_empty() {
            bail!(
                "the command harness needs the program to run: give it after `--` \
                 (`orch spawn --harness command -- python3 -q`) or as the outfit's `command`"
            );
        }
        let mut launch = Launch::new(argv, dress);
        launch.detector = Some(detector);
        Ok(launch)
    }

    /// Starts the quiet detector on the pane ([`start`]).
    fn placed(&self, server: &TmuxServer, pane: &str, state: &Path, id: &str) -> Result<()> {
        start(server, pane, state, id)
    }
}

/// A command is no agent: it takes none of an agent's dress. What would only add (a model, a
/// system prompt, allowed tools, skills, hooks) is reported and left out; what would restrict
/// it (`tools.deny`, `permission_mode`) cannot be enforced, so the spawn is refused.
fn dress(outfit: &Outfit) -> Result<Dress> {
    let denies = outfit.tools.as_ref().is_some_and(|t| !t.deny.is_empty());
    if denies || outfit.permission_mode.is_some() {
        bail!(
            "outfit `{}`: the command harness cannot enforce `tools.deny` or `permission_mode` \
             (a command is no agent with tools): drop them from the outfit, or run it on an \
             agent harness",
            outfit.name
        );
    }
    let mut dress = Dress::default();
    let why = "a command is no agent";
    let unused = [
        ("model", outfit.model.is_some()),
        (
            "system_prompt",
            outfit.system_prompt.is_some() || outfit.system_prompt_file.is_some(),
        ),
        ("tools.allow", outfit.tools.is_some()),
        ("skills", !outfit.skills.is_empty()),
        ("hooks", outfit.hooks.is_some()),
    ];
    for (field, set) in unused {
        if set {
            dress.warn(outfit, field, "command", why);
        }
    }
    Ok(dress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let pending = Pending {
            prompt_hash: "h".into(),
            prompt_len: 1,
            line: Some(3),
        };
        std::fs::write(
            dir.path().join("pending.json"),
            serde_json::to_string(&pending).unwrap(),
        )
        .unwrap();
        let path = dir.path().join("pending.json");
        assert_eq!(take_pending(&path), Some(pending));
        assert_eq!(take_pending(&path), None);
    }
}
