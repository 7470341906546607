//! `orch resume [WORKER...] [--all]`: start workers whose tmux server died (a reboot,
//! `kill-server`, an OOM kill) again in new panes, on their recorded conversations
//! ([`crate::fleet::spawn::resume`]).

use super::Ctx;
use crate::fleet::worker::Worker;
use anyhow::{bail, Result};
use orch_store::Store;
use serde_json::json;
use std::time::Duration;

/// Flags of `orch resume`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The workers to resume: ids, `--name`s or (old) pane ids.
    pub workers: Vec<String>,
    /// Resume every resumable worker (`orch ps` shows them as `resumable`).
    #[arg(long, conflicts_with = "workers")]
    pub all: bool,
    /// Seconds to wait for each agent to be up again.
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub ready_timeout: f64,
}

/// Runs `orch resume`: resumes each worker in turn and prints a line each (`w1 resumed in pane
/// %5, on its conversation`), or with `--json` an array of `{id, name, pane, conversation,
/// fresh}`; a worker that starts on a new conversation is said so on stderr.
///
/// Errors: no worker named and no `--all`; any worker that could not be resumed (each is
/// reported; the others are resumed all the same).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    let workers: Vec<Worker> = if args.all {
        crate::views::summary::resumable(&state)?
    } else if args.workers.is_empty() {
        bail!("name the workers to resume, or give `--all` (`orch ps` shows them as resumable)");
    } else {
        args.workers
            .iter()
            .map(|spec| Worker::resolve(spec))
            .collect::<Result<_>>()?
    };
    if workers.is_empty() {
        if ctx.json {
            return super::print_json(&json!([]));
        }
        eprintln!("orch: no worker to resume");
        return Ok(());
    }
    let timeout = Duration::from_secs_f64(args.ready_timeout.max(0.0));
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for worker in &workers {
        let id = worker.meta.id.clone();
        if !args.all && worker.meta.role == orch_store::Role::Operator {
            let meta = match crate::coordination::inbox::reclaim_operator(&state, &id) {
                Ok(meta) => meta,
                Err(err) => {
                    eprintln!("orch: {err:#}");
                    failed.push(id);
                    continue;
                }
            };
            super::audit(&state, super::entry("resume").target(&id));
            let pane = meta.pane.as_deref().unwrap_or("?");
            if !ctx.json {
                println!("{id} is the operator record of pane {pane} now");
            }
            done.push(json!({
                "id": id, "name": meta.name, "pane": meta.pane, "conversation": null,
                "fresh": null,
            }));
            continue;
        }
        let outcome = crate::fleet::spawn::resume(worker, timeout);
        let mut note = super::entry("resume").target(&id);
        match &outcome {
            Ok(r) => {
                note = note
                    .field("pane", r.worker.meta.pane.clone().unwrap_or_default())
                    .field("conversation", r.fresh.is_none());
            }
            Err(err) => {
                note = note
                    .outcome(crate::coordination::audit::Outcome::Error)
                    .field("error", format!("{err:#}"));
            }
        }
        super::audit(worker.store(), note);
        match outcome {
            Ok(r) => {
                for warning in &r.warnings {
                    eprintln!("orch: warning: {warning}");
                }
                if let Some(why) = &r.fresh {
                    eprintln!("orch: warning: `{id}` ({}): {why}", r.worker.meta.name);
                }
                let m = &r.worker.meta;
                if !ctx.json {
                    let how = if r.fresh.is_none() {
                        "on its conversation"
                    } else {
                        "afresh"
                    };
                    println!(
                        "{id} resumed in pane {}, {how}",
                        m.pane.as_deref().unwrap_or("?")
                    );
                }
                done.push(json!({
                    "id": m.id, "name": m.name, "pane": m.pane,
                    "conversation": r.fresh.is_none(), "fresh": r.fresh,
                }));
            }
            Err(err) => {
                eprintln!("orch: {err:#}");
                failed.push(id);
            }
        }
    }
    if ctx.json {
        super::print_json(&json!(done))?;
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} workers were not resumed: {}",
            failed.len(),
            workers.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
