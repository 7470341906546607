//! `orch land WORKER...`: lands workers' branches one at a time, in the order given, onto a
//! target branch ([`crate::fleet::land`]); returns when every branch has an outcome.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::fleet::land::{self, Request, Strategy};
use anyhow::{bail, Result};
use std::time::Duration;

/// Flags of `orch land`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The workers whose branches to land, in order: ids, `--name`s or pane ids.
    #[arg(required = true)]
    pub workers: Vec<String>,
    /// The target branch (default: the branch each worker's worktree was based on).
    #[arg(long, value_name = "BRANCH")]
    pub into: Option<String>,
    /// The test command, run with `sh -c` in the branch brought onto the target (default: the
    /// worker's outfit's `test:`, else the repository's `git config orch.test`; none: no test).
    #[arg(long, value_name = "CMD")]
    pub test: Option<String>,
    /// How a branch is brought onto the target.
    #[arg(long, value_enum, default_value_t = Strategy::Rebase)]
    pub strategy: Strategy,
    /// Bring each branch onto the target and test it, but move nothing and prompt nobody.
    #[arg(long)]
    pub dry_run: bool,
    /// Seconds the test command may run before it counts as failed.
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    pub timeout: f64,
}

/// Runs `orch land`: one line per branch (`--json`: an array of outcomes, `{worker, branch,
/// into, outcome, commit, files, test, retries, note}`, [`land::Outcome`]). Exits 1 when a
/// branch did not land (`nothing` to land counts as landed).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let req = Request {
        into: args.into,
        test: args.test,
        strategy: args.strategy,
        dry_run: args.dry_run,
        timeout: Duration::from_secs_f64(args.timeout.max(0.0)),
    };
    // Every name is checked before the first branch moves.
    let mut workers = Vec::new();
    for spec in &args.workers {
        if let Some(worker) = super::acting_on(ctx, spec, Action::Tell, OnHost::Stay)? {
            workers.push(worker);
        }
    }
    let mut outcomes = Vec::new();
    let scratches = land::Scratches::new();
    for worker in &workers {
        let out = land::land(worker.store(), &scratches, &worker.meta, &req)?;
        if !ctx.json {
            let what = match (&out.commit, out.files.is_empty()) {
                (Some(commit), _) => commit[..commit.len().min(12)].to_string(),
                (None, false) => out.files.join(", "),
                (None, true) => String::new(),
            };
            println!(
                "{} {} -> {}: {} {what}",
                out.worker, out.branch, out.into, out.outcome
            );
            if let Some(note) = out.note.as_deref().filter(|_| out.outcome != "conflict") {
                if out.outcome != "test_failed" {
                    eprintln!("orch: {note}");
                }
            }
        }
        outcomes.push(out);
    }
    if ctx.json {
        super::print_json(&serde_json::to_value(&outcomes)?)?;
    }
    let refused = outcomes
        .iter()
        .filter(|o| !matches!(o.outcome.as_str(), "landed" | "would_land" | "nothing"))
        .count();
    if refused > 0 {
        bail!("{refused} of {} branches did not land", outcomes.len());
    }
    Ok(())
}
