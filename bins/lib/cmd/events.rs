//! `orch events WORKER`: print a worker's recorded events, one JSON object per line.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use anyhow::Result;

/// Flags of `orch events`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
    /// Only events with a sequence number above this one.
    #[arg(long, value_name = "SEQ", default_value_t = 0)]
    pub after: u64,
}

/// Runs `orch events`: JSON lines (with `--json`: one JSON array).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let Some(worker) = super::acting_on(ctx, &args.worker, Action::Read, OnHost::Stay)? else {
        return Ok(());
    };
    let events = worker.dir.events_after(args.after)?;
    if ctx.json {
        let all = events.iter().map(orch_store::Event::to_json).collect();
        return super::print_json(&serde_json::Value::Array(all));
    }
    for event in &events {
        super::print_json(&event.to_json())?;
    }
    Ok(())
}
