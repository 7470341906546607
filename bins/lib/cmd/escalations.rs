//! `orch escalations`: list escalations, open or all.

use super::Ctx;
use anyhow::Result;
use orch_store::Store;
use serde_json::Value;

/// Flags of `orch escalations`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only those not decided yet.
    #[arg(long)]
    pub open: bool,
}

/// Runs `orch escalations`: one line each (with `--json`, an array).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    let all = crate::coordination::escalation::list(&state, args.open)?;
    if ctx.json {
        return super::print_json(&Value::Array(
            all.iter()
                .map(crate::coordination::escalation::to_json)
                .collect(),
        ));
    }
    if all.is_empty() {
        println!("no {}escalations", if args.open { "open " } else { "" });
    }
    for esc in &all {
        println!("{}", super::escalate::line(esc));
    }
    Ok(())
}
