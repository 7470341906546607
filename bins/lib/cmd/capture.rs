//! `orch capture WORKER`: print the visible text of a worker's pane (a read: observers may).

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::tmux::Tmux;
use anyhow::Result;
use serde_json::json;

/// Flags of `orch capture`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
}

/// Runs `orch capture`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let Some(worker) = super::acting_on(
        ctx,
        &args.worker,
        Action::Capture,
        OnHost::Forward("capture"),
    )?
    else {
        return Ok(());
    };
    let pane = worker.pane()?.to_string();
    let text = worker.meta.server.capture(&pane)?;
    if ctx.json {
        return super::print_json(&json!({"worker": worker.meta.id, "pane": pane, "text": text}));
    }
    print!("{text}");
    Ok(())
}
