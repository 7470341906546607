//! Prompt delivery: how a prompt always arrives in a worker's input box and is submitted once
//! (`orch tell`, `orch spawn --prompt`, and the inbox's notices use it).
//!
//! The protocol (from what the real Claude Code TUI was seen to do: docs/observed.md, 2.1): wait until the
//! worker is ready (and, for a harness whose input box orch can read, until the box is on
//! screen); load the text into a uniquely named tmux buffer from stdin and paste it as a
//! bracketed paste; press Enter separately about 100 ms later; wait for the first prompt event
//! that is this text, exactly or as the harness rewrote it ([`crate::delivery::prompt::Sent`]); press
//! Enter again if none has come within a second, a few times (an Enter on an empty input box
//! does nothing), and wait longer after the last one. Once any prompt event has come after the
//! paste, Enter is never pressed again: a second Enter could answer a dialog of the new turn.

pub mod controls;
pub(crate) mod interrupt;
pub mod prompt;

use crate::delivery::prompt::{Change, Sent};
use crate::error::Error;
use crate::fleet::status::{Snapshot, Status};
use crate::fleet::worker::{Waited, Worker};
use crate::harness::HarnessExt;
use crate::tmux::Tmux;
use anyhow::{bail, Result};
use orch_store::worker::File;
use orch_store::Kind;
use std::time::{Duration, Instant};

/// What a delivery did.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The cursor to listen after: the seq of the UserPromptSubmit event (or, when folded into
    /// a running turn or for a command, the newest event when the text was sent).
    pub cursor: u64,
    /// Whether a UserPromptSubmit with this text confirmed the delivery.
    pub acknowledged: bool,
    /// How many times Enter was pressed.
    pub enters: u32,
    /// How the text changed on the way: first [`Change::ControlsRemoved`] when orch removed
    /// control characters before the paste, then how the harness rewrote it (nothing of the
    /// harness's when it arrived as pasted, or when unacknowledged).
    pub changes: Vec<Change>,
}

impl Delivered {
    /// Whether the harness's prompt event carried the text changed ([`Delivered::changes`]
    /// other than orch's own [`Change::ControlsRemoved`]).
    pub fn rewritten(&self) -> bool {
        self.changes
            .iter()
            .any(|c| !matches!(c, Change::ControlsRemoved))
    }

    /// Whether orch removed control characters from the text before it pasted it.
    pub fn controls_removed(&self) -> bool {
        self.changes.contains(&Change::ControlsRemoved)
    }
}

/// How one delivery goes: as a command, into a running turn, after how long a wait.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryOptions {
    pub command: bool,
    pub now: bool,
    pub ready_timeout: Duration,
    /// Type even though the worker's account is held by a usage limit (the limit waiter's
    /// continue and probe); otherwise a held worker ends the delivery with
    /// [`Error::Limited`] before anything is typed.
    pub held: bool,
}

/// How many Enters tell presses at most.
const MAX_ENTERS: u32 = 5;
/// How long tell waits for UserPromptSubmit after each Enter.
const ACK_WAIT: Duration = Duration::from_millis(1000);
/// How long it waits after the last Enter: on a loaded machine the hook that acknowledges may
/// take seconds to start, and a prompt already submitted must not be reported lost.
const LAST_ACK_WAIT: Duration = Duration::from_secs(10);
/// The pause between the paste and the Enter (the TUI takes a burst with Enter as a paste).
const ENTER_DELAY: Duration = Duration::from_millis(100);

/// Delivers `text` to `worker` by the protocol above. Before anything else, control
/// characters are removed ([`crate::delivery::controls::strip`], also with `--command`), so no key but
/// the text's own reaches the pane and the guard sees the text as it will arrive; the
/// acknowledgement matches the cleaned text. A `command` worker has no hooks: its
/// quiet detector acknowledges the prompt with the first output after Enter
/// ([`crate::harness::command::mark_pending`]), and the text goes as it is but for one trailing newline
/// (a leading `/` is a path to a shell, not a slash command; an empty last line ends a Python
/// block).
pub fn deliver(worker: &Worker, text: &str, opts: DeliveryOptions) -> Result<Delivered> {
    let harness = worker.meta.harness;
    let (text, removed) = crate::delivery::controls::strip(text);
    let ours: Vec<Change> = if removed {
        vec![Change::ControlsRemoved]
    } else {
        Vec::new()
    };
    let (guard, plain) = harness.prompt_text(&text, opts.command);
    // `--command` for a CLI with slash commands: one may fire no prompt event at all.
    let slash = opts.command && harness.has_slash_commands();
    let text = format!("{guard}{plain}");
    if text.trim().is_empty() {
        bail!("nothing to tell: the prompt is empty");
    }
    let pane = worker.pane()?.to_string();
    let id = worker.meta.id.clone();
    let deadline = Instant::now() + opts.ready_timeout;
    // One typist at a time in a pane (a `tell` and an inbox notice, two tells): held from the
    // paste to the acknowledgement. Whoever comes second finds the worker busy with the
    // first one's prompt, and waits for it to be idle again with the lock let go. The log is
    // read once here; what comes after is read from the cursor on.
    let mut seen: Option<Snapshot> = None;
    let (_typing, before) = loop {
        let typing = worker.dir.lock(File::Typing)?;
        if !opts.held {
            refuse_if_held(worker)?;
        }
        let snap = match seen.take() {
            None => worker.snapshot()?,
            Some(mut snap) => {
                snap.catch_up(&worker.dir)?;
                snap
            }
        };
        if opts.now {
            if !worker.alive() {
                bail!(Error::Gone(format!(
                    "worker `{id}`: its pane {pane} is gone"
                )));
            }
            break (typing, snap.cursor);
        }
        if takes(snap.status(), opts.held) {
            // A limit's dialog may be up without a turn having failed (Codex warns when an
            // account nears its limit): pasted into, the text would choose in it.
            close_limit_dialog(worker)?;
            wait_input_box(worker)?;
            break (typing, snap.cursor);
        }
        drop(typing);
        seen = Some(wait_ready_from(worker, snap, deadline, opts.ready_timeout)?);
    };
    let server = &worker.meta.server;
    let buffer = format!(
        "orch-{id}-{}-{}",
        std::process::id(),
        orch_store::clock::now_ms()
    );
    server.run_with_input(&["load-buffer", "-b", &buffer, "-"], Some(text.as_bytes()))?;
    let pasted = server.run(&["paste-buffer", "-p", "-d", "-b", &buffer, "-t", &pane]);
    if pasted.is_err() {
        let _ = server.run(&["delete-buffer", "-b", &buffer]);
    }
    pasted?;
    std::thread::sleep(ENTER_DELAY);
    let sent = Sent::guarded(guard, &plain);
    harness.submitting(server, &pane, &worker.dir, &text)?;
    // The newest event read, and the first prompt event after the paste that is not this text
    // (its seq and length), if one came.
    let mut seen = before;
    let mut foreign: Option<(u64, u64)> = None;
    let mut enters = 0;
    loop {
        if foreign.is_none() {
            server.run(&["send-keys", "-t", &pane, "Enter"])?;
            enters += 1;
        }
        // The long last wait: after the last Enter, or once another prompt came (this one may
        // still follow it).
        let last_wait = enters >= MAX_ENTERS || foreign.is_some();
        let ack_wait = if last_wait { LAST_ACK_WAIT } else { ACK_WAIT };
        let waited = worker.wait(seen, Some(ack_wait), |e| {
            seen = e.seq;
            if slash {
                return (!matches!(e.kind, Kind::Interrupted(_))).then_some(Vec::new());
            }
            let found = sent.recognise(e);
            if let (None, Kind::Prompt(p), None) = (&found, &e.kind, foreign) {
                foreign = Some((seen, p.prompt_len.unwrap_or(0)));
            }
            found.map(|r| r.changes)
        })?;
        match waited {
            Waited::Found(changes, event) => {
                let cursor = event.seq;
                if !opts.command {
                    worker.dir.set_told(cursor)?;
                }
                return Ok(Delivered {
                    cursor,
                    acknowledged: true,
                    enters,
                    changes: [ours, changes].concat(),
                });
            }
            Waited::Gone(why) => bail!(Error::Gone(why)),
            Waited::TimedOut => {
                if slash {
                    // A command may fire no hook at all (e.g. `/help`); pressing Enter again
                    // could answer a dialog it opened.
                    return Ok(Delivered {
                        cursor: worker.cursor()?,
                        acknowledged: false,
                        enters,
                        changes: ours,
                    });
                }
                if opts.now && !worker.status()?.ready() {
                    worker.dir.set_told(before)?;
                    return Ok(Delivered {
                        cursor: before,
                        acknowledged: false,
                        enters,
                        changes: ours,
                    });
                }
                if last_wait {
                    break;
                }
            }
        }
    }
    let why = if let Some((seq, len)) = foreign {
        format!(
            "a different prompt ({len} characters, event {seq}) was submitted after the paste, \
             so Enter was not pressed again: the harness may have changed the text beyond \
             recognition, or someone typed into the pane. Look with `orch capture {id}` before \
             telling it again: it may already be working on it"
        )
    } else {
        harness.silence().to_string()
    };
    bail!(Error::Timeout(format!(
        "worker `{id}` did not acknowledge the prompt after {enters} Enter presses: {why}; \
             look with `{} attach` (pane {pane})",
        server.describe()
    )))
}

/// Waits until the worker can take a prompt (idle after SessionStart, not mid-turn and not at
/// a permission dialog), up to `timeout`.
pub fn wait_ready(worker: &Worker, timeout: Duration) -> Result<()> {
    refuse_if_held(worker)?;
    let snap = worker.snapshot()?;
    if !snap.status().ready() {
        let snap = wait_ready_from(worker, snap, Instant::now() + timeout, timeout)?;
        if snap.status() == Status::Limited {
            refuse_if_held(worker)?;
        }
    }
    wait_input_box(worker)
}

/// Waits until the events after `snap` make the worker ready, up to `deadline`; returns the
/// snapshot with them (`total`: the whole wait, as the timeout message says). Every event after the snapshot's cursor is weighed (the wait reads the
/// log from there), so a Stop can never slip between "busy" and the start of the wait; a
/// status is a matter of sequences (a late permission notice after an interrupt says
/// nothing), so each event is taken into the snapshot rather than judged alone.
fn wait_ready_from(
    worker: &Worker,
    mut snap: Snapshot,
    deadline: Instant,
    total: Duration,
) -> Result<Snapshot> {
    let id = &worker.meta.id;
    let timeout = deadline.saturating_duration_since(Instant::now());
    // A limit ends the wait too: the caller refuses or, the waiter, types.
    let waited = worker.wait(snap.cursor, Some(timeout), |e| {
        snap.push(e);
        takes(snap.status(), true).then_some(())
    })?;
    match waited {
        Waited::Found((), _) => Ok(snap),
        Waited::Gone(why) => bail!(Error::Gone(why)),
        Waited::TimedOut => bail!(Error::Timeout(format!(
            "worker `{id}` is not ready after {:.0} s (status {}): wait longer with `--wait`, \
                 or deliver into the running turn with `--now`",
            total.as_secs_f64(),
            snap.status().as_str()
        ))),
    }
}

/// Whether a worker in `status` can take a prompt now; a `limited` one only from the limit
/// waiter (`held`).
fn takes(status: Status, held: bool) -> bool {
    status.ready() || (held && status == Status::Limited)
}

/// Ends the delivery with [`Error::Limited`] when the worker's account is held by a usage
/// limit (`orch limits`): nothing is typed into a held worker but by the limit's waiter.
fn refuse_if_held(worker: &Worker) -> Result<()> {
    let Some(account) = worker.meta.account.as_deref() else {
        return Ok(());
    };
    if let Some(hold) = orch_store::limits::read(worker.store(), account)? {
        bail!(Error::Limited(format!(
            "worker `{}`: its account `{account}` is held by a usage limit ({}) since {}: \
             `orch tell` queues the prompt, orch continues the worker when the limit lifts \
             (`orch limits` says when)",
            worker.meta.id,
            hold.source,
            orch_store::clock::rfc3339(hold.since_ms)
        )));
    }
    Ok(())
}

/// Closes the dialog a usage limit left on the worker's screen, if there is one
/// ([`crate::harness::Adapter::limit_dialog`]): its keys
/// ([`crate::harness::Adapter::limit_dialog_keys`]), then up to 2 s for it to go.
///
/// Errors: the pane cannot be captured or typed into.
fn close_limit_dialog(worker: &Worker) -> Result<()> {
    let harness = worker.meta.harness;
    if harness.limit_dialog_keys().is_empty() {
        return Ok(());
    }
    let pane = worker.pane()?;
    let server = &worker.meta.server;
    let open = || -> Result<bool> { Ok(harness.limit_dialog(&server.capture(pane)?)) };
    if !open()? {
        return Ok(());
    }
    let mut argv = vec!["send-keys", "-t", pane];
    argv.extend(harness.limit_dialog_keys());
    server.run(&argv)?;
    let deadline = Instant::now() + Duration::from_secs(2);
    while open()? && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// How long tell waits for an idle worker's input box to show on screen before it pastes
/// anyway (a TUI drawn differently from what orch knows).
const INPUT_BOX_WAIT: Duration = Duration::from_secs(5);
/// Waits until an idle worker's screen shows its input box, for a harness whose box orch can
/// read ([`crate::harness::HarnessExt::input_ready`]); up to [`INPUT_BOX_WAIT`], then goes on and says so.
fn wait_input_box(worker: &Worker) -> Result<()> {
    let deadline = std::time::Instant::now() + INPUT_BOX_WAIT;
    if worker.await_input_box(Duration::ZERO, deadline)?.is_some() {
        eprintln!(
            "orch: `{}` is idle but its input box is not on screen after {} s: pasting anyway",
            worker.meta.id,
            INPUT_BOX_WAIT.as_secs()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::harness::{Harness, HarnessExt};

    #[test]
    fn leading_bang_and_slash_are_neutralised_unless_a_command() {
        let claude = Harness::Claude;
        let both = |text: &str, command: bool, h: Harness| {
            let (guard, text) = h.prompt_text(text, command);
            format!("{guard}{text}")
        };
        assert_eq!(both("!rm -rf /", false, claude), "\\!rm -rf /");
        assert_eq!(both("/clear", false, claude), "\\/clear");
        assert_eq!(both("/clear", true, claude), "/clear");
        assert_eq!(both("hello\n", false, claude), "hello");
        assert_eq!(both("a ! b", false, claude), "a ! b");
        assert_eq!(both("/clear it", false, Harness::Sim), " /clear it");
    }

    #[test]
    fn line_ends_become_lf() {
        let claude = Harness::Claude;
        assert_eq!(claude.prompt_text("a\r\n\tb\r\n", false).1, "a\n\tb");
        assert_eq!(claude.prompt_text("a\rb", false).1, "a\nb");
    }
}
