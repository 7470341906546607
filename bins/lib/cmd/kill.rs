//! `orch kill WORKER`: kill the worker's pane and record a `killed` event, which ends every
//! `listen` on it.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::tmux::Tmux;
use anyhow::Result;
use orch_store::Role;
use serde_json::json;

/// Flags of `orch kill`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
}

/// Runs `orch kill`; prints the cursor of the `killed` event. A pane already gone is no error.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let Some(worker) = super::acting_on(ctx, &args.worker, Action::Kill, OnHost::Forward("kill"))?
    else {
        return Ok(());
    };
    if worker.meta.role == Role::Operator {
        anyhow::bail!(
            "`{}` is the operator's own pane (registered by `orch subscribe`), not a worker: orch \
             does not kill it",
            worker.meta.id
        );
    }
    let pane = worker.pane()?.to_string();
    let was_alive = worker.alive();
    // Recorded before the pane goes, so every wait on the worker ends on this event rather
    // than on finding the pane missing (a stream then still shows it).
    let by = crate::coordination::roles::Actor::from_env().as_parent();
    let killed = orch_store::event::Killed {
        by: Some(by),
        pane_was_alive: Some(was_alive),
    };
    let cursor =
        crate::coordination::inbox::publish_in(&worker.dir, orch_store::Kind::Killed(killed))?.seq;
    if was_alive {
        worker.meta.server.run(&["kill-pane", "-t", &pane])?;
    }
    super::audit(
        worker.store(),
        super::entry("kill").target(&worker.meta.id).cursor(cursor),
    );
    let worktree = match &worker.meta.worktree {
        Some(wt) => {
            use crate::fleet::worktree::Removal;
            let landed = crate::fleet::land::landed_heads(worker.store(), &worker.meta.id)?;
            let branch = |kept: bool| {
                if kept {
                    format!("branch `{}` kept (it has commits not landed)", wt.branch)
                } else {
                    "its branch removed (nothing on it left to land)".to_string()
                }
            };
            Some(match crate::fleet::worktree::remove(wt, &landed)? {
                Removal::Removed { branch_kept } => {
                    format!("worktree removed; {}", branch(branch_kept))
                }
                Removal::KeptDirty => format!(
                    "worktree `{}` kept: it has uncommitted work (branch `{}`)",
                    wt.path.display(),
                    wt.branch
                ),
                Removal::Gone { branch_kept } => {
                    format!("worktree was gone already; {}", branch(branch_kept))
                }
            })
        }
        None => None,
    };
    if let Some(what) = &worktree {
        if !ctx.json {
            eprintln!("orch: {what}");
        }
    }
    if ctx.json {
        super::print_json(&json!({
            "worker": worker.meta.id, "cursor": cursor, "pane_was_alive": was_alive,
            "worktree": worktree
        }))
    } else {
        if !was_alive {
            eprintln!("orch: pane {pane} of `{}` was already gone", worker.meta.id);
        }
        println!("{cursor}");
        Ok(())
    }
}
