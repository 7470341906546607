//! `orch inbox`: show (and acknowledge) the items pushed to the caller's inbox, or another's.

use super::Ctx;
use anyhow::Result;
use orch_store::Role;
use orch_store::Store;
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
    if args.worker.is_some() && state.meta(&id)?.role != Role::Operator {
        crate::rights::allow(&state, crate::rights::Action::Read, Some(&state.meta(&id)?))?;
    }
    let after = if args.unread {
        crate::inbox::acked(&state, &id)
    } else {
        0
    };
    let items = crate::inbox::items_after(&state, &id, after)?;
    if args.ack {
        if let Some(last) = items.last().and_then(|i| i["seq"].as_u64()) {
            crate::inbox::ack(&state, &id, last)?;
        }
    }
    if ctx.json {
        return super::print_json(&Value::Array(items));
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
            item["seq"],
            item["ts"].as_str().unwrap_or(""),
            crate::inbox::describe(item)
        );
    }
    Ok(())
}
