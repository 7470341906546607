//! `orch interrupt WORKER`: press Escape in the worker's pane (Claude Code then ends the turn
//! with no Stop hook) and record an `interrupted` event.

use super::Ctx;
use crate::error::{Fail, GONE};
use crate::events::fields;
use crate::worker::Worker;
use anyhow::{bail, Result};
use serde_json::json;

/// Flags of `orch interrupt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
}

/// Runs `orch interrupt`; prints the cursor of the `interrupted` event.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let worker = Worker::resolve(&args.worker)?;
    let pane = worker.pane()?.to_string();
    if !worker.alive() {
        bail!(Fail::new(
            GONE,
            format!("worker `{}`: its pane {pane} is gone", worker.meta.id)
        ));
    }
    worker
        .meta
        .server
        .run(&["send-keys", "-t", &pane, "Escape"])?;
    let by = crate::roles::Actor::from_env().as_parent();
    let cursor = worker.record("interrupted", fields(json!({ "by": by })))?;
    if ctx.json {
        super::print_json(&json!({"worker": worker.meta.id, "cursor": cursor}))
    } else {
        println!("{cursor}");
        Ok(())
    }
}
