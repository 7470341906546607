//! `orch interrupt WORKER`: press Escape in the worker's pane (Claude Code then ends the turn
//! with no Stop hook; a `command` worker gets Ctrl-C) and record an `interrupted` event.

use super::Ctx;
use crate::error::{Exit, Fail};
use crate::events::fields;
use crate::harness::{input_box, CLEAR_HINT};
use crate::status::Status;
use crate::worker::Worker;
use anyhow::{bail, Result};
use serde_json::json;
use std::time::{Duration, Instant};

/// How long to look for the interrupted prompt coming back into the input box, and for each
/// step of clearing it.
const SCREEN_WAIT: Duration = Duration::from_millis(1500);

/// Flags of `orch interrupt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
    /// Leave the interrupted prompt in the input box. By default it is cleared (Claude Code
    /// puts it back there, and the next `tell` would be appended to it).
    #[arg(long)]
    pub keep_input: bool,
}

/// Runs `orch interrupt`; prints the cursor of the `interrupted` event.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let worker = Worker::resolve(&args.worker)?;
    crate::rights::allow(
        &worker.state,
        crate::rights::Action::Interrupt,
        Some(&worker.meta),
    )?;
    if worker.meta.remote.is_some() {
        super::audit(
            &worker.state,
            super::entry("interrupt").target(&worker.meta.id),
        );
        return super::forwarded(ctx, &worker, &["interrupt", "{id}"]);
    }
    let pane = worker.pane()?.to_string();
    if !worker.alive() {
        bail!(Fail::new(
            Exit::Gone,
            format!("worker `{}`: its pane {pane} is gone", worker.meta.id)
        ));
    }
    let was_busy = matches!(worker.status()?, Status::Busy | Status::NeedsInput);
    let server = &worker.meta.server;
    // A command is a program in a terminal: Ctrl-C is its interrupt, and it puts nothing back.
    let key = worker.meta.harness.interrupt_key();
    server.run(&["send-keys", "-t", &pane, key])?;
    let by = crate::roles::Actor::from_env().as_parent();
    let cursor = crate::inbox::record(
        &worker.state,
        &worker.meta.id,
        "interrupted",
        fields(json!({ "by": by })),
    )?;
    super::audit(
        &worker.state,
        super::entry("interrupt")
            .target(&worker.meta.id)
            .cursor(cursor),
    );
    // Escape put the interrupted prompt back into the box (Claude Code, the sim).
    if was_busy && !args.keep_input && key == "Escape" {
        clear_input(&worker, &pane)?;
    }
    if ctx.json {
        super::print_json(&json!({"worker": worker.meta.id, "cursor": cursor}))
    } else {
        println!("{cursor}");
        Ok(())
    }
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
