//! `orch usage [WORKER]`: what workers spent, from their harness's own records
//! ([`crate::spend::usage`]): tokens per model call and cost where the model has a price.

use super::Ctx;
use crate::fleet::worker::Worker;
use crate::spend::prices::{self, Prices};
use crate::spend::usage::{self, Usage};
use anyhow::Result;
use orch_store::Store;
use serde_json::{json, Value};

/// Flags of `orch usage`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One worker, with each turn and each model call (default: every worker, totals only).
    pub worker: Option<String>,
}

/// Runs `orch usage`: a line per worker (`ID NAME MODEL INPUT OUTPUT CACHE-R CACHE-W COST`),
/// or for one worker a line per turn (the calls after each `prompt` event) and a line per
/// model call; with `--json` an array of `{id, name, harness, model, tokens: {input, output,
/// cache_read, cache_write, total}, cost_usd, calls?, turns?}` (`calls`: `{key, model,
/// tokens, cost_usd, at_ms?}`; `turns`: `{prompt_seq, started_ms, calls, tokens, cost_usd}`)
/// where a worker whose harness keeps no usage record has `tokens: null`; `tokens` also has
/// `cache_write_1h`, the 1-hour part of `cache_write`, and each row `prices` ([`prices_json`]).
/// The table ends with the price table's source and date, and the lines that would price
/// each model it could not.
///
/// Errors: the user's prices (`ORCH_PRICES`, `prices:` in the configuration) are not valid.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    // The user's own prices, read here to say what is wrong with them (the reading falls back
    // to the shipped table).
    Prices::load()?;
    let state = Store::from_env()?;
    let workers: Vec<Worker> = match &args.worker {
        Some(spec) => vec![Worker::resolve(spec)?],
        None => state
            .workers()?
            .into_iter()
            .filter(|m| m.role != orch_store::Role::Operator)
            .map(|meta| Worker::of(&state, meta))
            .collect::<Result<_>>()?,
    };
    let detail = args.worker.is_some();
    let mut rows = Vec::new();
    for worker in &workers {
        let used = usage::of(worker)?;
        rows.push((worker, used));
    }
    if ctx.json {
        let list = rows
            .iter()
            .map(|(w, u)| row_json(w, u.as_ref(), detail))
            .collect::<Result<Vec<Value>>>()?;
        return super::print_json(&Value::Array(list));
    }
    let money = |c: Option<f64>| c.map_or("-".to_string(), |c| format!("${c:.4}"));
    if detail {
        let (worker, used) = &rows[0];
        let Some(used) = used else {
            println!(
                "{}: the {} harness keeps no usage record orch reads",
                worker.meta.id,
                worker.meta.harness.name()
            );
            return Ok(());
        };
        println!(
            "{:<6} {:<28} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "TURN", "PROMPT (SEQ, SUBMITTED)", "INPUT", "OUTPUT", "CACHE-R", "CACHE-W", "COST"
        );
        for turn in usage::turns(used, &prompts(worker)?) {
            let t = &turn.tokens;
            let prompt = match (turn.prompt_seq, turn.started_ms) {
                (Some(seq), Some(ms)) => format!("#{seq} {}", orch_store::clock::rfc3339(ms)),
                _ => "(before any prompt)".into(),
            };
            println!(
                "{:<6} {:<28} {:>9} {:>9} {:>9} {:>9} {:>10}",
                format!(
                    "{} call{}",
                    turn.calls,
                    if turn.calls == 1 { "" } else { "s" }
                ),
                prompt,
                t.input,
                t.output,
                t.cache_read,
                t.cache_write,
                money(turn.cost_usd)
            );
        }
        println!();
        println!(
            "{:<4} {:<28} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "CALL", "MODEL", "INPUT", "OUTPUT", "CACHE-R", "CACHE-W", "COST"
        );
        for (i, call) in used.calls.iter().enumerate() {
            let t = &call.tokens;
            println!(
                "{:<4} {:<28} {:>9} {:>9} {:>9} {:>9} {:>10}",
                i + 1,
                call.model.as_deref().unwrap_or("-"),
                t.input,
                t.output,
                t.cache_read,
                t.cache_write,
                money(call.cost_usd)
            );
        }
        let t = &used.total;
        println!(
            "{:<4} {:<28} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "all",
            "",
            t.input,
            t.output,
            t.cache_read,
            t.cache_write,
            money(used.cost_usd)
        );
    } else {
        println!(
            "{:<6} {:<14} {:<24} {:>9} {:>9} {:>9} {:>9} {:>10}",
            "ID", "NAME", "MODEL", "INPUT", "OUTPUT", "CACHE-R", "CACHE-W", "COST"
        );
        for (worker, used) in &rows {
            let m = &worker.meta;
            match used {
                Some(u) => println!(
                    "{:<6} {:<14} {:<24} {:>9} {:>9} {:>9} {:>9} {:>10}",
                    m.id,
                    m.name,
                    u.model.as_deref().unwrap_or("-"),
                    u.total.input,
                    u.total.output,
                    u.total.cache_read,
                    u.total.cache_write,
                    money(u.cost_usd)
                ),
                None => println!(
                    "{:<6} {:<14} {:<24} (the {} harness keeps no usage record)",
                    m.id,
                    m.name,
                    "-",
                    m.harness.name()
                ),
            }
        }
    }
    print_prices(rows.iter().filter_map(|(_, u)| u.as_ref()));
    Ok(())
}

/// The models among `used`'s calls that have no price, each once, in the order first seen.
fn unpriced<'u>(used: impl IntoIterator<Item = &'u Usage>) -> Vec<&'u str> {
    let mut out: Vec<&str> = Vec::new();
    for call in used.into_iter().flat_map(|u| &u.calls) {
        match call.model.as_deref() {
            Some(m) if call.cost_usd.is_none() && !out.contains(&m) => out.push(m),
            _ => {}
        }
    }
    out
}

/// The price table's source and date, then for each model `used` could not price, the lines
/// to add to the configuration file.
fn print_prices<'u>(used: impl IntoIterator<Item = &'u Usage>) {
    let table = &prices::current().table;
    println!(
        "prices ({}): {} (yours first: the file `ORCH_PRICES` names, `prices:` in orch's \
         configuration)",
        table.date, table.source
    );
    let config = orch_store::config::path().map_or_else(
        |_| "orch's configuration file".to_string(),
        |p| format!("`{}`", p.display()),
    );
    for model in unpriced(used) {
        println!("no price for `{model}` (its cost shows `-`): add to {config}:");
        println!("{}", prices::fix_lines(model));
    }
}

/// A row's `prices`: the shipped table's `{source, package, version, date}` and `unpriced`,
/// the models among its calls that no price names.
fn prices_json(used: Option<&Usage>) -> Value {
    let table = &prices::current().table;
    json!({"source": table.source, "package": table.package, "version": table.version,
           "date": table.date, "unpriced": unpriced(used)})
}

/// The worker's `prompt` events as (seq, Unix milliseconds), oldest first.
fn prompts(worker: &Worker) -> Result<Vec<(u64, u64)>> {
    Ok(worker
        .dir
        .events_after(0)?
        .iter()
        .filter(|e| matches!(e.kind, orch_store::Kind::Prompt(_)))
        .map(|e| (e.seq, e.ts_ms))
        .collect())
}

/// One worker's `--json` object.
fn row_json(worker: &Worker, used: Option<&Usage>, detail: bool) -> Result<Value> {
    let m = &worker.meta;
    let tokens = used.map(|u| {
        json!({"input": u.total.input, "output": u.total.output,
               "cache_read": u.total.cache_read, "cache_write": u.total.cache_write,
               "cache_write_1h": u.total.cache_write_1h, "total": u.total.total()})
    });
    let mut row = json!({
        "id": m.id, "name": m.name, "harness": m.harness,
        "model": used.and_then(|u| u.model.clone()),
        "tokens": tokens,
        "cost_usd": used.and_then(|u| u.cost_usd),
        "prices": prices_json(used),
    });
    if detail {
        row["calls"] = json!(used.map(|u| &u.calls));
        row["turns"] = match used {
            Some(u) => json!(usage::turns(u, &prompts(worker)?)),
            None => Value::Null,
        };
    }
    Ok(row)
}
