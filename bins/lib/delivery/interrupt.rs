//! Interrupting a worker's turn (`orch interrupt`, a spent budget): its harness's interrupt
//! key, an `interrupted` event, and the prompt the TUI puts back into its input box cleared.

use crate::fleet::worker::Worker;
use crate::harness::HarnessExt;
use crate::harness::{input_box, CLEAR_HINT};
use crate::tmux::Tmux;
use anyhow::Result;
use std::time::{Duration, Instant};

/// How long to look for an interrupted prompt coming back into the input box, and for each
/// step of clearing it.
const SCREEN_WAIT: Duration = Duration::from_millis(1500);

/// Presses `worker`'s harness's interrupt key in its pane (Escape; Ctrl-C for a command, which
/// is a program in a terminal) and records an `interrupted` event by `by`; returns its seq.
/// With `clear`, a prompt the TUI put back into its input box (Claude Code, the sim, after
/// Escape in a turn) is cleared, so that the next `tell` is not appended to it.
///
/// Errors: tmux fails, or the event cannot be recorded.
pub fn interrupt(worker: &Worker, by: &str, clear: bool) -> Result<u64> {
    let pane = worker.pane()?;
    let key = worker.meta.harness.interrupt_key();
    worker.meta.server.run(&["send-keys", "-t", pane, key])?;
    let interrupted = orch_store::event::Interrupted {
        by: Some(by.to_string()),
    };
    let cursor = crate::coordination::inbox::publish_in(
        &worker.dir,
        orch_store::Kind::Interrupted(interrupted),
    )?
    .seq;
    if clear && key == "Escape" {
        clear_input(worker, pane)?;
    }
    Ok(cursor)
}

/// Clears the prompt the TUI put back into the input box: Escape once (the TUI then shows
/// "Esc again to clear"), and a second time only once that hint is on screen. A box that stays
/// empty is left alone: two Escapes on an empty Claude Code box would open its rewind menu.
fn clear_input(worker: &Worker, pane: &str) -> Result<()> {
    let server = &worker.meta.server;
    let screen_until = |pred: &dyn Fn(&str) -> bool| -> bool {
        let deadline = Instant::now() + SCREEN_WAIT;
        loop {
            if server.capture(pane).is_ok_and(|s| pred(&s)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let has_text = |s: &str| input_box(s).is_some_and(|t| !t.is_empty());
    if !screen_until(&has_text) {
        return Ok(());
    }
    server.run(&["send-keys", "-t", pane, "Escape"])?;
    if !screen_until(&|s: &str| s.contains(CLEAR_HINT)) {
        return Ok(());
    }
    server.run(&["send-keys", "-t", pane, "Escape"])?;
    if !screen_until(&|s: &str| !has_text(s)) {
        eprintln!(
            "orch: the interrupted prompt is still in the input box of pane {pane}: clear it \
         before the next tell"
        );
    }
    Ok(())
}
