//! `orch diff WORKER`: `git diff --stat` of a worker's worktree against the commit it started
//! from (its commits and its uncommitted changes).

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use anyhow::{bail, Result};
use serde_json::json;

/// Flags of `orch diff`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
}

/// Runs `orch diff`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let Some(worker) = super::acting_on(ctx, &args.worker, Action::Read, OnHost::Stay)? else {
        return Ok(());
    };
    let Some(wt) = &worker.meta.worktree else {
        bail!(
            "worker `{}` has no worktree of its own (spawn it with `--worktree`)",
            worker.meta.id
        );
    };
    let stat = crate::fleet::worktree::diff_stat(wt)?;
    if ctx.json {
        return super::print_json(&json!({
            "worker": worker.meta.id, "branch": wt.branch, "base": wt.base,
            "base_branch": wt.base_branch, "stat": stat,
            "dirty": crate::fleet::worktree::dirty(wt)?,
        }));
    }
    let base = &wt.base[..wt.base.len().min(12)];
    match &wt.base_branch {
        Some(on) => println!("{} ({} from {on} at {base})", worker.meta.id, wt.branch),
        None => println!("{} ({} from {base})", worker.meta.id, wt.branch),
    }
    if stat.is_empty() {
        println!("no changes");
    } else {
        println!("{stat}");
    }
    Ok(())
}
