//! `orch decide ID TEXT`: record the decision on an escalation and tell it to the worker.

use super::Ctx;
use crate::coordination::escalation::{self, Decision};
use crate::coordination::roles::Actor;
use anyhow::{bail, Result};
use orch_store::Store;

/// Flags of `orch decide`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The escalation id (`e3`).
    pub id: String,
    /// The decision, as the worker should read it.
    pub text: String,
    /// The operator decided without the person (kept in the audit trail, with `--why`).
    #[arg(long = "self", requires = "why")]
    pub self_decided: bool,
    /// Why, for a decision taken with `--self`.
    #[arg(long)]
    pub why: Option<String>,
}

/// Runs `orch decide`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    if args.text.trim().is_empty() {
        bail!("the decision is empty: `orch decide ID TEXT`");
    }
    let open = escalation::load(&state, &args.id)?;
    let escalating = state.meta(&open.worker)?;
    crate::coordination::rights::allow(
        &state,
        crate::coordination::rights::Action::Decide,
        Some(&escalating),
    )?;
    let by = match Actor::from_env() {
        Actor::Worker(id) => id,
        Actor::Operator { .. } if args.self_decided => "operator".into(),
        Actor::Operator { .. } => "person".into(),
    };
    let esc = escalation::decide(
        &state,
        &args.id,
        Decision {
            text: args.text,
            by,
            self_decided: args.self_decided,
            why: args.why,
        },
    )?;
    let mut note = super::entry("decide")
        .target(&esc.id)
        .field("worker", esc.worker.clone())
        .field("self", esc.self_decided);
    if let Some(why) = &esc.why {
        note = note.field("why", why.clone());
    }
    super::audit(&state, note);
    if ctx.json {
        return super::print_json(&escalation::to_json(&esc));
    }
    println!("{}", super::escalate::line(&esc));
    Ok(())
}
