//! `orch interrupt WORKER`: press Escape in the worker's pane (Claude Code then ends the turn
//! with no Stop hook; a `command` worker gets Ctrl-C) and record an `interrupted` event.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::error::Error;
use crate::fleet::status::Status;
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
    let Some(worker) = super::acting_on(
        ctx,
        &args.worker,
        Action::Interrupt,
        OnHost::Forward("interrupt"),
    )?
    else {
        return Ok(());
    };
    let pane = worker.pane()?.to_string();
    if !worker.alive() {
        bail!(Error::Gone(format!(
            "worker `{}`: its pane {pane} is gone",
            worker.meta.id
        )));
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
