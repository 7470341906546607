//! `orch budget WORKER`: show or change what a worker may spend ([`crate::spend::budget`]).

use super::Ctx;
use crate::fleet::worker::Worker;
use anyhow::{bail, Result};
use orch_store::Budget;
use serde_json::json;

/// Flags of `orch budget`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
    /// A new budget in USD.
    #[arg(long, value_name = "USD")]
    pub usd: Option<f64>,
    /// A new budget in tokens.
    #[arg(long, value_name = "N")]
    pub tokens: Option<u64>,
    /// Stop its turn and refuse it prompts when the budget is spent.
    #[arg(long, conflicts_with = "no_interrupt")]
    pub interrupt: bool,
    /// Only report when the budget is spent.
    #[arg(long)]
    pub no_interrupt: bool,
}

/// Runs `orch budget`: prints the worker's budget and what it spent (`--json`: `{worker,
/// budget: {usd, tokens, interrupt} | null, spent: {usd, tokens, percent} | null}`); with
/// `--usd`, `--tokens` or an interrupt flag, sets it first (rights: as for `kill`).
///
/// Errors: a negative budget.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let mut worker = Worker::resolve(&args.worker)?;
    let changing =
        args.usd.is_some() || args.tokens.is_some() || args.interrupt || args.no_interrupt;
    let mut set = None;
    if changing {
        crate::coordination::rights::allow(
            worker.store(),
            crate::coordination::rights::Action::Kill,
            Some(&worker.meta),
        )?;
        if args.usd.is_some_and(|v| v < 0.0 || !v.is_finite()) {
            bail!("a budget is a positive number of USD: `--usd 2.5`");
        }
        let old = worker.meta.budget.clone().unwrap_or_default();
        let budget = Budget {
            usd: args.usd.or(old.usd),
            tokens: args.tokens.or(old.tokens),
            interrupt: (old.interrupt || args.interrupt) && !args.no_interrupt,
        };
        let (meta, spent) =
            crate::spend::budget::set(worker.store(), &worker.meta.id, budget.clone())?;
        (worker.meta, set) = (meta, Some(spent));
        super::audit(
            worker.store(),
            super::entry("budget")
                .target(&worker.meta.id)
                .field("budget", crate::spend::budget::describe(&budget))
                .field("interrupt", budget.interrupt),
        );
    }
    let spent = match (set, &worker.meta.budget) {
        (Some(spent), _) => spent,
        (None, Some(budget)) => crate::spend::usage::of(&worker)?
            .as_ref()
            .and_then(|u| crate::spend::budget::spent(u, budget)),
        (None, None) => None,
    };
    if ctx.json {
        return super::print_json(&json!({
            "worker": worker.meta.id,
            "budget": worker.meta.budget,
            "spent": spent.as_ref().map(|s| json!({
                "usd": s.usd, "tokens": s.tokens, "percent": s.percent,
            })),
        }));
    }
    match (&worker.meta.budget, &spent) {
        (None, _) => println!("{}: no budget", worker.meta.id),
        (Some(b), Some(s)) => println!(
            "{}: {} spent of {}{} ({:.0}%)",
            worker.meta.id,
            s.usd.map_or(format!("{} tokens", s.tokens), |u| format!(
                "${u:.4} ({} tokens)",
                s.tokens
            )),
            crate::spend::budget::describe(b),
            if b.interrupt { ", stops there" } else { "" },
            s.percent
        ),
        (Some(b), None) => println!(
            "{}: budget {}; its spend is not known yet",
            worker.meta.id,
            crate::spend::budget::describe(b)
        ),
    }
    Ok(())
}
