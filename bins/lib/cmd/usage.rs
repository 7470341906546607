//! `orch usage [WORKER]`: what workers spent, from their harness's own records
//! ([`crate::spend::usage`]): tokens per model call and cost where the model has a price.

use super::Ctx;
use crate::fleet::worker::Worker;
use crate::spend::hosted;
use crate::spend::prices::{self, Prices};
use crate::spend::usage::{self, ModelTotal, Tokens, Usage};
use anyhow::Result;
use orch_store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Flags of `orch usage`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One worker, with each turn and each model call (default: every worker, totals only).
    pub worker: Option<String>,
    /// Only the model calls of the last DUR (`30m`, `1h`, `2d`, `1h30m`), by the time their
    /// transcript gives them; a call with no time is left out.
    #[arg(long, value_name = "DUR", value_parser = parse_since)]
    pub since: Option<Duration>,
    /// With `--json` and no WORKER: an object `{since_ms, workers, totals}` (the rows and the
    /// fleet's totals per model) instead of the array of rows.
    #[arg(long)]
    pub totals: bool,
}

fn parse_since(s: &str) -> Result<Duration, String> {
    crate::coordination::audit::parse_duration(s).map_err(|e| e.to_string())
}

/// One worker's line: what it spent (within `--since`), and for a worker on another host its
/// host and why its spend could not be read there.
struct Row<'w> {
    worker: &'w Worker,
    used: Option<Usage>,
    host: Option<String>,
    error: Option<String>,
}

/// Runs `orch usage`: a line per worker (`ID NAME MODEL INPUT OUTPUT CACHE-R CACHE-W COST`,
/// a remote worker's id marked `@host`) and then the fleet's totals per model (`MODEL CALLS
/// INPUT OUTPUT CACHE-R CACHE-W COST` and `all`), or for one worker a line per turn (the
/// calls after each `prompt` event) and a line per model call. With `--since DUR` only the
/// calls of the last DUR count. With `--json` an array of `{id, name, harness, host, model,
/// tokens: {input, output, cache_read, cache_write, total}, cost_usd, spend_error, calls?,
/// turns?}` (`calls`: `{key, model, tokens, cost_usd, at_ms?}`; `turns`: `{prompt_seq,
/// started_ms, calls, tokens, cost_usd}`) where a worker whose harness keeps no usage record,
/// or whose host could not be read (`spend_error` says why), has `tokens: null`; with
/// `--totals` the object `{since_ms, workers: [rows], totals: {by_model: {MODEL: {calls,
/// tokens, cost_usd}}, calls, tokens, cost_usd, unpriced: [MODEL], unknown: [ID]}}`: the
/// fleet's `cost_usd` is that of the priced models (`unpriced` names the others) and leaves
/// out the workers in `unknown`. A remote worker's spend is read on its host
/// ([`crate::spend::hosted`]), costs at the host's prices. `tokens` also has
/// `cache_write_1h`, the 1-hour part of `cache_write`, and each row `prices`
/// ([`prices_json`]). The table ends with the price table's source and date, and the lines
/// that would price each model it could not.
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
    let since_ms = args.since.map(|d| {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        orch_store::clock::now_ms().saturating_sub(ms)
    });
    let mut rows = Vec::new();
    for worker in &workers {
        // `orch usage` is asked for the spend as it is: a host's reading is reused only while
        // fresh, whatever the worker does.
        let (used, host, error) = match hosted::of(&state, worker, false) {
            Some(h) => (h.usage, Some(h.dest), h.error),
            None => (usage::of(worker)?, None, None),
        };
        let used = match since_ms {
            Some(from) => used.map(|u| u.since(from)),
            None => used,
        };
        rows.push(Row {
            worker,
            used,
            host,
            error,
        });
    }
    if ctx.json {
        let list = rows
            .iter()
            .map(|row| row_json(row, detail))
            .collect::<Result<Vec<Value>>>()?;
        if args.totals && !detail {
            return super::print_json(&json!({
                "since_ms": since_ms,
                "workers": list,
                "totals": totals_json(&rows),
            }));
        }
        return super::print_json(&Value::Array(list));
    }
    let money = |c: Option<f64>| c.map_or("-".to_string(), |c| format!("${c:.4}"));
    if detail {
        let Row {
            worker,
            used,
            host,
            error,
        } = &rows[0];
        let Some(used) = used else {
            println!("{}: {}", worker.meta.id, unknown(&rows[0]));
            return Ok(());
        };
        if let (Some(host), None) = (host, error) {
            println!("{}: read on host `{host}` (its prices)", worker.meta.id);
        }
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
        for row in &rows {
            let m = &row.worker.meta;
            let id = match &row.host {
                Some(host) => format!("{}@{host}", m.id),
                None => m.id.clone(),
            };
            match &row.used {
                Some(u) => println!(
                    "{:<6} {:<14} {:<24} {:>9} {:>9} {:>9} {:>9} {:>10}",
                    id,
                    m.name,
                    u.model.as_deref().unwrap_or("-"),
                    u.total.input,
                    u.total.output,
                    u.total.cache_read,
                    u.total.cache_write,
                    money(u.cost_usd)
                ),
                None => println!("{id:<6} {:<14} {:<24} ({})", m.name, "-", unknown(row)),
            }
        }
        println!();
        if let Some(from) = since_ms {
            let from = orch_store::clock::rfc3339(from);
            println!("the fleet's calls since {from}:");
        }
        print_totals(&rows, &money);
    }
    print_prices(rows.iter().filter_map(|r| r.used.as_ref()));
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

/// Why `row` has no spend: its host could not say, or its harness keeps no record.
fn unknown(row: &Row) -> String {
    match &row.error {
        Some(error) => format!("spend unknown: {error}"),
        None => format!(
            "the {} harness keeps no usage record orch reads",
            row.worker.meta.harness.name()
        ),
    }
}

/// The fleet's totals per model, then all of them, and what they leave out.
fn print_totals(rows: &[Row], money: &dyn Fn(Option<f64>) -> String) {
    let line = |label: &str, calls: usize, t: &Tokens, cost: Option<f64>| {
        println!(
            "{label:<28} {calls:>6} {:>9} {:>9} {:>9} {:>9} {:>10}",
            t.input,
            t.output,
            t.cache_read,
            t.cache_write,
            money(cost)
        );
    };
    let fleet = Fleet::of(rows);
    println!(
        "{:<28} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "MODEL", "CALLS", "INPUT", "OUTPUT", "CACHE-R", "CACHE-W", "COST"
    );
    for (model, total) in &fleet.by_model {
        line(model, total.calls, &total.tokens, total.cost_usd);
    }
    line("all", fleet.calls, &fleet.tokens, Some(fleet.cost_usd));
    if !fleet.unpriced.is_empty() {
        println!(
            "(the cost leaves out {}: no price)",
            fleet.unpriced.join(", ")
        );
    }
    if !fleet.unknown.is_empty() {
        println!(
            "(the totals leave out {}: spend unknown)",
            fleet.unknown.join(", ")
        );
    }
}

/// The fleet's totals: per model, and all of them.
struct Fleet {
    by_model: BTreeMap<String, ModelTotal>,
    calls: usize,
    tokens: Tokens,
    /// The cost of the priced models' calls, in USD.
    cost_usd: f64,
    /// The models with a call that has no price.
    unpriced: Vec<String>,
    /// The workers whose spend could not be read (their host could not say).
    unknown: Vec<String>,
}

impl Fleet {
    fn of(rows: &[Row]) -> Fleet {
        let by_model = usage::by_model(rows.iter().filter_map(|r| r.used.as_ref()));
        let mut tokens = Tokens::default();
        for total in by_model.values() {
            tokens.add(&total.tokens);
        }
        Fleet {
            calls: by_model.values().map(|t| t.calls).sum(),
            tokens,
            cost_usd: by_model.values().filter_map(|t| t.cost_usd).sum(),
            unpriced: by_model
                .iter()
                .filter(|(_, t)| t.cost_usd.is_none())
                .map(|(m, _)| m.clone())
                .collect(),
            unknown: rows
                .iter()
                .filter(|r| r.error.is_some())
                .map(|r| r.worker.meta.id.clone())
                .collect(),
            by_model,
        }
    }
}

/// `--json --totals`'s `totals`.
fn totals_json(rows: &[Row]) -> Value {
    let fleet = Fleet::of(rows);
    let by_model: serde_json::Map<String, Value> = fleet
        .by_model
        .iter()
        .map(|(model, t)| {
            let total = json!({"calls": t.calls, "tokens": tokens_json(&t.tokens),
                               "cost_usd": t.cost_usd});
            (model.clone(), total)
        })
        .collect();
    json!({
        "by_model": by_model,
        "calls": fleet.calls,
        "tokens": tokens_json(&fleet.tokens),
        "cost_usd": fleet.cost_usd,
        "unpriced": fleet.unpriced,
        "unknown": fleet.unknown,
    })
}

/// Token counts as `--json` prints them: each kind and their `total`.
fn tokens_json(t: &Tokens) -> Value {
    json!({"input": t.input, "output": t.output, "cache_read": t.cache_read,
           "cache_write": t.cache_write, "cache_write_1h": t.cache_write_1h,
           "total": t.total()})
}

/// One worker's `--json` object.
fn row_json(row: &Row, detail: bool) -> Result<Value> {
    let (worker, used) = (row.worker, row.used.as_ref());
    let m = &worker.meta;
    let mut row = json!({
        "id": m.id, "name": m.name, "harness": m.harness,
        "host": row.host,
        "model": used.and_then(|u| u.model.clone()),
        "tokens": used.map(|u| tokens_json(&u.total)),
        "cost_usd": used.and_then(|u| u.cost_usd),
        "prices": prices_json(used),
        "spend_error": row.error,
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
