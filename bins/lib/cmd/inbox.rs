//! `orch inbox`: show (and acknowledge) the items pushed to the caller's inbox, or another's.

use super::Ctx;
use anyhow::Result;
use orch_store::worker::Counter;
use orch_store::Role;
use orch_store::{Event, Store};
use serde_json::Value;

/// Flags of `orch inbox`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Whose inbox: a worker or `operator`; default: the caller's.
    pub worker: Option<String>,
    /// Only items not acknowledged yet.
    #[arg(long)]
    pub unread: bool,
    /// Acknowledge the items shown.
    #[arg(long)]
    pub ack: bool,
}

/// Runs `orch inbox`: one line per item (with `--json`, an array of the items).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    let id = super::subscribe::subscriber_id(&state, args.worker.as_deref())?;
    let dir = state.worker(&id)?;
    let meta = dir.meta()?;
    if args.worker.is_some() && meta.role != Role::Operator {
        crate::coordination::rights::allow(
            &state,
            crate::coordination::rights::Action::Read,
            Some(meta),
        )?;
    }
    let after = if args.unread {
        dir.counter(Counter::Acked)
    } else {
        0
    };
    let items = dir.items_after(after)?;
    if args.ack {
        if let Some(last) = items.last() {
            dir.ack(last.seq)?;
        }
    }
    if ctx.json {
        return super::print_json(&Value::Array(items.iter().map(Event::to_json).collect()));
    }
    if items.is_empty() {
        println!(
            "inbox of {id}: nothing{}",
            if args.unread { " unread" } else { "" }
        );
    }
    for item in &items {
        println!(
            "#{} {} {}",
            item.seq,
            item.ts,
            crate::coordination::inbox::describe(item)
        );
    }
    Ok(())
}
