//! `orch limits`: the accounts a usage limit holds, their workers and queued prompts; release
//! or hold an account by hand, drop a queued prompt ([`crate::spend::limit`]).

use super::Ctx;
use crate::coordination::rights::Who;
use crate::error::Error;
use crate::fleet::worker::Worker;
use crate::spend::limit;
use anyhow::{bail, Result};
use orch_store::Store;
use serde_json::{json, Value};

/// Flags of `orch limits`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Lift the hold on ACCOUNT now: its workers are continued and their queued prompts
    /// delivered.
    #[arg(long, value_name = "ACCOUNT", conflicts_with_all = ["hold", "drop"])]
    pub release: Option<String>,
    /// Hold ACCOUNT by hand (nothing typed into its workers, tells queued) until `--release`.
    #[arg(long, value_name = "ACCOUNT", conflicts_with = "drop")]
    pub hold: Option<String>,
    /// Drop a queued prompt: `WORKER QUEUED` (e.g. `w2 q14`, as `orch limits` lists them).
    #[arg(long, num_args = 2, value_names = ["WORKER", "QUEUED"])]
    pub drop: Vec<String>,
}

/// Runs `orch limits`. Without flags prints each held account (`--json`: `{"accounts":
/// [{account, since_ms, until_ms, next_ms, source, message, by_hand, probes, waiter,
/// workers: [{worker, name, status, queued: [{id, cursor, chars}]}]}]}`). Changes are the
/// operator's (a worker asking is refused, exit 6).
///
/// Errors: an unknown account or queued prompt, a refused caller.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let store = Store::from_env()?;
    let changing = args.release.is_some() || args.hold.is_some() || !args.drop.is_empty();
    if changing && crate::coordination::rights::who(&store)? != Who::Operator {
        bail!(Error::Refused(
            "only the operator releases or holds an account, or drops a queued prompt: ask \
             your parent (`orch escalate --axis reversibility`)"
                .into()
        ));
    }
    if let Some(account) = &args.release {
        let was = limit::release_now(&store, account)?;
        super::audit(
            &store,
            super::entry("limits-release").field("account", account.clone()),
        );
        return say(
            ctx,
            json!({"account": account, "released": true, "source": was.source}),
            &format!("{account} released: orch continues its workers now"),
        );
    }
    if let Some(account) = &args.hold {
        let hold = limit::hold_by_hand(&store, account)?;
        super::audit(
            &store,
            super::entry("limits-hold").field("account", account.clone()),
        );
        return say(
            ctx,
            json!({"account": hold.account, "held": true}),
            &format!("{account} held by hand: `orch limits --release {account}` lifts it"),
        );
    }
    if let [worker, queued] = args.drop.as_slice() {
        let worker = Worker::resolve(worker)?;
        let Some(item) = worker.dir.dequeue(queued, None)? else {
            bail!(
                "worker `{}` has no queued prompt `{queued}`: `orch limits` lists them",
                worker.meta.id
            );
        };
        super::audit(
            &store,
            super::entry("limits-drop")
                .target(&worker.meta.id)
                .field("queued", item.id.clone()),
        );
        return say(
            ctx,
            json!({"worker": worker.meta.id, "dropped": item.id}),
            &format!("dropped {} of {}", item.id, worker.meta.id),
        );
    }
    // Whoever looks finds a held account's waiter started when it is missing.
    limit::ensure_waiters(&store)?;
    let holds = orch_store::limits::all(&store)?;
    let mut accounts = Vec::new();
    for hold in &holds {
        let mut workers = Vec::new();
        for meta in limit::workers_of(&store, &hold.account)? {
            let worker = Worker::of(&store, meta)?;
            let queued: Vec<Value> = worker
                .dir
                .queue()?
                .iter()
                .map(|q| json!({"id": q.id, "cursor": q.cursor, "chars": q.text.chars().count()}))
                .collect();
            workers.push(json!({
                "worker": worker.meta.id, "name": worker.meta.name,
                "status": worker.status()?.as_str(), "queued": queued,
            }));
        }
        accounts.push(json!({
            "account": hold.account, "since_ms": hold.since_ms, "until_ms": hold.until_ms,
            "next_ms": hold.next_ms, "source": hold.source, "message": hold.message,
            "by_hand": hold.by_hand, "probes": hold.probes, "escalation": hold.escalation,
            "waiter": limit::waiter_running(&store, &hold.account)?,
            "workers": workers,
        }));
    }
    if ctx.json {
        return super::print_json(&json!({"accounts": accounts}));
    }
    if holds.is_empty() {
        println!("no account is held by a usage limit");
        return Ok(());
    }
    for (hold, account) in holds.iter().zip(&accounts) {
        println!(
            "{} held since {} ({}, {} probe{}){}",
            hold.account,
            orch_store::clock::rfc3339(hold.since_ms),
            hold.source,
            hold.probes,
            if hold.probes == 1 { "" } else { "s" },
            limit::until_text(hold)
        );
        for w in account["workers"].as_array().into_iter().flatten() {
            let queued: Vec<&str> = w["queued"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|q| q["id"].as_str())
                .collect();
            println!(
                "  {} ({}) {}{}",
                w["worker"].as_str().unwrap_or(""),
                w["name"].as_str().unwrap_or(""),
                w["status"].as_str().unwrap_or(""),
                if queued.is_empty() {
                    String::new()
                } else {
                    format!(", queued: {}", queued.join(" "))
                }
            );
        }
    }
    Ok(())
}

/// Prints `value` (`--json`) or `text`.
fn say(ctx: &Ctx, value: Value, text: &str) -> Result<()> {
    if ctx.json {
        return super::print_json(&value);
    }
    println!("{text}");
    Ok(())
}
