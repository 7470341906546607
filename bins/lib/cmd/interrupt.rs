//! `orch interrupt WORKER`: press Escape in the worker's pane (Claude Code then ends the turn
//! with no Stop hook; a `command` worker gets Ctrl-C) and record an `interrupted` event.

use super::Ctx;
use crate::error::{Exit, Fail};
use crate::fleet::status::Status;
use crate::fleet::worker::Worker;
use anyhow::{bail, Result};
use serde_json::json;

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
    crate::coordination::rights::allow(
        worker.store(),
        crate::coordination::rights::Action::Interrupt,
        Some(&worker.meta),
    )?;
    if worker.meta.remote.is_some() {
        super::audit(
            worker.store(),
            super::entry("interrupt").target(&worker.meta.id),
        );
        return super::forwarded(ctx, &worker, "interrupt");
    }
    let pane = worker.pane()?.to_string();
    if !worker.alive() {
        bail!(Fail::new(
            Exit::Gone,
            format!("worker `{}`: its pane {pane} is gone", worker.meta.id)
        ));
    }
    let was_busy = matches!(worker.status()?, Status::Busy | Status::NeedsInput);
    let by = crate::coordination::roles::Actor::from_env().as_parent();
    let cursor = crate::delivery::interrupt::interrupt(&worker, &by, was_busy && !args.keep_input)?;
    super::audit(
        worker.store(),
        super::entry("interrupt")
            .target(&worker.meta.id)
            .cursor(cursor),
    );
    if ctx.json {
        super::print_json(&json!({"worker": worker.meta.id, "cursor": cursor}))
    } else {
        println!("{cursor}");
        Ok(())
    }
}
