//! `orch subscriptions [WORKER]`: the subscriptions a worker publishes or holds, or all.

use super::Ctx;
use anyhow::Result;
use orch_store::Store;
use serde_json::Value;

/// Flags of `orch subscriptions`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only subscriptions where this worker (or `operator` record) publishes or subscribes.
    pub worker: Option<String>,
}

/// Runs `orch subscriptions`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    let only = match args.worker.as_deref() {
        Some(spec) => Some(state.resolve(spec)?.id),
        None => None,
    };
    let mut rows = Vec::new();
    for meta in state.workers()? {
        for sub in state.worker(&meta.id)?.subscriptions()? {
            let hit = only
                .as_deref()
                .is_none_or(|id| id == meta.id || id == sub.subscriber);
            if hit {
                rows.push(crate::coordination::inbox::subscription_json(
                    &meta.id, &sub,
                ));
            }
        }
    }
    if ctx.json {
        return super::print_json(&Value::Array(rows));
    }
    if rows.is_empty() {
        println!("no subscriptions");
    }
    for r in &rows {
        let events: Vec<&str> = r["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "{} -> {}  {}  {}  since {}",
            r["publisher"].as_str().unwrap_or(""),
            r["subscriber"].as_str().unwrap_or(""),
            if events.is_empty() {
                "any".into()
            } else {
                events.join(",")
            },
            r["mode"].as_str().unwrap_or(""),
            r["since"]
        );
    }
    Ok(())
}
