//! `orch events WORKER`: print a worker's recorded events, one JSON object per line.

use super::Ctx;
use crate::worker::Worker;
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
    let worker = Worker::resolve(&args.worker)?;
    crate::rights::allow(
        &worker.state,
        crate::rights::Action::Read,
        Some(&worker.meta),
    )?;
    let events = orch_store::journal::read_after(&worker.dir(), args.after)?;
    if ctx.json {
        return super::print_json(&serde_json::Value::Array(events));
    }
    for event in &events {
        super::print_json(event)?;
    }
    Ok(())
}
