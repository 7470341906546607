//! Budgets: what a worker may spend (`spawn --budget-usd N` / `--budget-tokens N`, or its
//! outfit's `budget`), weighed against its usage as its harness recorded it
//! ([`crate::usage`]) each time one of its turns ends (its Stop hook).
//!
//! The check runs in a child the Stop hook starts detached (`orch __budget ID`), which first
//! waits until the transcript holds more model calls than at the last check and then stops
//! growing for [`QUIET`] (Claude Code writes it some 100 ms after the Stop), up to
//! [`SETTLE_MAX`]; a call written later still counts at the next turn's end.
//!
//! Crossing 80% records a `budget` event (`level: 80`); crossing 100% records one with
//! `level: 100` and raises an escalation on the reversibility axis to its parent, once. With
//! `interrupt`, a spent worker still in a turn is interrupted, and `orch tell` refuses it new
//! prompts until `orch budget` raises the budget. `budget.json` in its folder keeps the
//! highest level reached, so nothing is said twice.

use crate::escalation::{self, Ask};
use crate::fsutil::{write_atomic, Lock};
use crate::state::{Budget, Meta, State};
use crate::worker::Worker;
use anyhow::Result;
use serde_json::{json, Value};

/// The file in a worker's folder that keeps the level reached and the calls seen; there from
/// the moment the worker has a budget ([`start`], [`set`]).
const FILE: &str = "budget.json";

/// Records that worker `id` has a budget from now on (spawn, when it was given one).
pub fn start(state: &State, id: &str) -> Result<()> {
    let path = state.worker_dir(id).join(FILE);
    write_atomic(
        &path,
        json!({"reached": 0, "calls": 0}).to_string().as_bytes(),
        0o600,
    )
}

/// The levels, in percent of the budget, at which something happens.
const LEVELS: [u64; 2] = [80, 100];
/// How long the transcript must stop growing before a check counts it.
const QUIET: std::time::Duration = std::time::Duration::from_millis(150);
/// The longest a check waits for the turn's calls to be written.
const SETTLE_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// Run by the hook when a turn of worker `id` ends: starts the detached check (`orch __budget
/// ID`) if the worker has a budget (its `budget.json` exists: a stat, no metadata read on the
/// hook's path); returns at once.
pub fn after_turn(state: &State, id: &str) -> Result<()> {
    if !state.worker_dir(id).join(FILE).exists() {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    std::process::Command::new(crate::paths::sibling_exe("orch")?)
        .arg("__budget")
        .arg(id)
        .env("ORCH_HOME", &state.root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok(())
}

/// The detached check (`orch __budget ID`): waits for the turn's calls in the transcript (see
/// the module's text), then [`check`]s.
pub fn settle_and_check(state: &State, id: &str) -> Result<()> {
    let meta = state.meta(id)?;
    let worker = Worker {
        state: state.clone(),
        meta,
    };
    let seen = std::fs::read(worker.dir().join(FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["calls"].as_u64())
        .unwrap_or(0);
    let start = std::time::Instant::now();
    let mut last = (seen, std::time::Instant::now());
    while start.elapsed() < SETTLE_MAX {
        let calls = crate::usage::of(&worker)?.map_or(0, |u| u.calls.len() as u64);
        if calls != last.0 {
            last = (calls, std::time::Instant::now());
        } else if calls > seen && last.1.elapsed() >= QUIET {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    check(state, id)
}

/// What a worker spent against its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Spent {
    pub usd: Option<f64>,
    pub tokens: u64,
    /// The larger share of its budget used, in percent (USD or tokens, whichever is set and
    /// further along).
    pub percent: f64,
}

/// How much of `budget` the worker's usage is; `None` when its harness keeps no usage record
/// orch reads, or a USD-only budget meets a model with no price.
pub fn spent(worker: &Worker, budget: &Budget) -> Result<Option<Spent>> {
    let Some(usage) = crate::usage::of(worker)? else {
        return Ok(None);
    };
    let tokens = usage.total.total();
    let by_usd = budget
        .usd
        .filter(|limit| *limit > 0.0)
        .and_then(|limit| usage.cost_usd.map(|c| c / limit * 100.0));
    let by_tokens = budget
        .tokens
        .filter(|limit| *limit > 0)
        .map(|limit| tokens as f64 / limit as f64 * 100.0);
    let percent = match (by_usd, by_tokens) {
        (None, None) => return Ok(None),
        (a, b) => a.unwrap_or(0.0).max(b.unwrap_or(0.0)),
    };
    Ok(Some(Spent {
        usd: usage.cost_usd,
        tokens,
        percent,
    }))
}

/// Weighs worker `id`'s usage against its budget (nothing to do without one) and acts on each
/// level newly crossed (see the module's text). Run by the hook when a turn ends.
pub fn check(state: &State, id: &str) -> Result<()> {
    let meta = state.meta(id)?;
    let Some(budget) = meta.budget.clone() else {
        return Ok(());
    };
    let worker = Worker {
        state: state.clone(),
        meta,
    };
    let Some(spent) = spent(&worker, &budget)? else {
        return Ok(());
    };
    let path = worker.dir().join(FILE);
    let _lock = Lock::acquire(&path)?;
    let reached = reached(&path);
    let calls = crate::usage::of(&worker)?.map_or(0, |u| u.calls.len());
    let crossed: Vec<u64> = LEVELS
        .into_iter()
        .filter(|level| spent.percent >= *level as f64 && reached < *level)
        .collect();
    let now = crossed.last().copied().unwrap_or(reached);
    // Written first: whoever sees the events below (tell's refusal) finds the level reached.
    let state_now = json!({ "reached": now, "calls": calls });
    write_atomic(&path, state_now.to_string().as_bytes(), 0o600)?;
    for level in crossed {
        let fields = json!({
            "level": level, "spent_usd": spent.usd, "spent_tokens": spent.tokens,
            "budget_usd": budget.usd, "budget_tokens": budget.tokens,
        });
        // At 100% the escalation first: the `budget` event says it is all done.
        if level == 100 {
            spent_out(&worker, &budget, &spent)?;
        }
        crate::inbox::record(state, id, "budget", crate::events::fields(fields))?;
    }
    Ok(())
}

/// The budget is spent: an escalation to the parent, and with `interrupt`, the turn stopped
/// if one still runs (a Stop that orch's inbox blocked goes on working).
fn spent_out(worker: &Worker, budget: &Budget, spent: &Spent) -> Result<()> {
    let m = &worker.meta;
    let limit = describe(budget);
    let used = match spent.usd {
        Some(usd) => format!("${usd:.4} and {} tokens", spent.tokens),
        None => format!("{} tokens", spent.tokens),
    };
    let ask = Ask {
        axes: vec!["reversibility".into()],
        summary: format!("{} ({}) spent its budget: {used} of {limit}", m.id, m.name),
        options: vec![
            format!("raise it: `orch budget {} --usd N`", m.id),
            format!("stop it: `orch kill {}`", m.id),
        ],
        detail: None,
        source: "budget".into(),
    };
    escalation::raise(&worker.state, m, ask)?;
    if budget.interrupt && worker.status()? == crate::status::Status::Busy {
        if let Some(pane) = m.pane.as_deref() {
            m.server
                .run(&["send-keys", "-t", pane, m.harness.interrupt_key()])?;
            crate::inbox::record(
                &worker.state,
                &m.id,
                "interrupted",
                crate::events::fields(json!({"by": "budget"})),
            )?;
        }
    }
    Ok(())
}

/// `$2.50`, `500000 tokens`, or both.
pub fn describe(budget: &Budget) -> String {
    match (budget.usd, budget.tokens) {
        (Some(usd), Some(tokens)) => format!("${usd} or {tokens} tokens"),
        (Some(usd), None) => format!("${usd}"),
        (None, Some(tokens)) => format!("{tokens} tokens"),
        (None, None) => "no limit".into(),
    }
}

/// The highest level recorded in `budget.json` (0 when none).
fn reached(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["reached"].as_u64())
        .unwrap_or(0)
}

/// Why `tell` must not give worker `meta` a prompt: its budget is spent and says
/// `interrupt`. `None` when it may.
pub fn refusal(state: &State, meta: &Meta) -> Option<String> {
    let budget = meta.budget.as_ref().filter(|b| b.interrupt)?;
    let reached = reached(&state.worker_dir(&meta.id).join(FILE));
    (reached >= 100).then(|| {
        format!(
            "worker `{}` spent its budget ({}) and stops there: raise it with `orch budget {} \
             --usd N` (or `--tokens N`), or decide its escalation",
            meta.id,
            describe(budget),
            meta.id
        )
    })
}

/// Sets worker `id`'s budget (`orch budget`) and forgets the levels it no longer reaches, so
/// that crossing them again is said again. Returns the record.
pub fn set(state: &State, id: &str, budget: Budget) -> Result<Meta> {
    let meta = state.update_meta(id, |m| m.budget = Some(budget.clone()))?;
    let worker = Worker {
        state: state.clone(),
        meta: meta.clone(),
    };
    let percent = spent(&worker, &budget)?.map_or(0.0, |s| s.percent);
    let still = LEVELS
        .iter()
        .copied()
        .filter(|l| percent >= *l as f64)
        .max()
        .unwrap_or(0);
    let path = worker.dir().join(FILE);
    let _lock = Lock::acquire(&path)?;
    let calls = crate::usage::of(&worker)?.map_or(0, |u| u.calls.len());
    let state_now = json!({ "reached": still, "calls": calls });
    write_atomic(&path, state_now.to_string().as_bytes(), 0o600)?;
    Ok(meta)
}
