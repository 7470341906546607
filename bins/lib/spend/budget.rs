//! Budgets: what a worker may spend (`spawn --budget-usd N` / `--budget-tokens N`, or its
//! outfit's `budget`), weighed against its usage as its harness recorded it
//! ([`crate::spend::usage`]) while it works, so a long turn is stopped in its middle.
//!
//! The weighing runs in a follower, `orch __budget ID`, one per worker (a lock file), that the
//! hook starts detached when a turn begins (UserPromptSubmit) or ends (Stop) and none runs:
//! it weighs at once, then each time the transcript (or the worker's event log) changes, and
//! leaves after [`IDLE_EXIT`] with nothing written (the next prompt starts it again) or when
//! the worker is gone. While the transcript is not there yet (a new conversation), it looks
//! for it every second.
//!
//! Crossing 80% records a `budget` event (`level: 80`); crossing 100% records one with
//! `level: 100` and raises an escalation on the reversibility axis to its parent, once. With
//! `interrupt`, a spent worker still in a turn is interrupted, and `orch tell` refuses it new
//! prompts until `orch budget` raises the budget. `budget.json` in its folder keeps the
//! highest level reached, so nothing is said twice.

use crate::coordination::escalation::{self, Ask};
use crate::fleet::worker::Worker;
use crate::harness::HarnessExt;
use crate::spend::usage::{Tally, Usage};
use anyhow::Result;
use orch_store::event::BudgetLevel;
use orch_store::files::{write_atomic, Lock};
use orch_store::helper::Helper;
use orch_store::worker::File;
use orch_store::{Budget, Meta, Store};
use orch_store::{Kind, WorkerDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

/// Records that worker `id` has a budget from now on (spawn, when it was given one): its
/// folder's `budget.json`, which keeps the level reached and the calls seen, is there from
/// then on ([`start`], [`set`]).
///
/// Errors: the worker is unknown, or the file cannot be written.
pub fn start(state: &Store, id: &str) -> Result<()> {
    let path = state.worker(id)?.file(File::Budget);
    write_atomic(
        &path,
        json!({"reached": 0, "calls": 0}).to_string().as_bytes(),
        0o600,
    )
}

/// The levels, in percent of the budget, at which something happens.
const LEVELS: [u64; 2] = [80, 100];
/// How long a follower stays with nothing written to the transcript or the event log.
pub const IDLE_EXIT: Duration = Duration::from_secs(60);
/// How long a follower lets a burst of writes settle before it weighs them.
const BATCH: Duration = Duration::from_millis(50);

/// Run by the hook when a turn of worker `id` begins or ends: starts its follower (`orch
/// __budget ID`, detached) if the worker has a budget (its `budget.json` exists: a stat, no
/// metadata read on the hook's path) and no follower runs (its lock is free); returns at once.
pub fn ensure_follower(dir: &WorkerDir) -> Result<()> {
    if !dir.file(File::Budget).exists() {
        return Ok(());
    }
    follower(dir).ensure(&dir.store().root)?;
    Ok(())
}

/// Worker `dir`'s budget follower, `orch __budget ID` (one per worker).
fn follower(dir: &WorkerDir) -> Helper {
    Helper::new("__budget", dir.id(), dir.file(File::BudgetLock))
}

/// The follower of worker `id` (`orch __budget ID`, see the module's text); returns at once
/// when another one holds the lock, after [`IDLE_EXIT`] of quiet, or when the worker is gone.
///
/// Errors: its files cannot be read or watched.
pub fn follow(state: &Store, id: &str) -> Result<()> {
    let dir = state.worker(id)?;
    let helper = follower(&dir);
    let Some(mut lock) = helper.claim()? else {
        return Ok(());
    };
    let (tx, rx) = channel();
    let mut watcher = orch_store::watch::watcher(&[(dir.path(), false)], move |paths| {
        let _ = tx.send(paths);
    })?;
    let events = dir.file(File::Events);
    let mut transcript: Option<PathBuf> = None;
    let mut quiet_since = Instant::now();
    let mut weigh = true;
    let mut tally = Tally::default();
    let logged = || std::fs::metadata(&events).map_or(0, |m| m.len());
    loop {
        // How far the event log went when this last looked: an event written while this
        // was leaving (its hook found this running) makes it stay.
        let seen = logged();
        let worker = Worker::load(state, id)?;
        if std::mem::take(&mut weigh) {
            check(&worker, &mut tally)?;
        }
        if transcript.is_none() {
            let meta = &worker.meta;
            transcript = meta
                .session_id
                .as_deref()
                .and_then(|sid| meta.harness.transcript(dir.path(), sid));
            if let Some(folder) = transcript.as_deref().and_then(Path::parent) {
                watcher.watch(folder, notify::RecursiveMode::NonRecursive)?;
            }
        }
        if !worker.alive() {
            return Ok(());
        }
        let wait = match transcript {
            Some(_) => IDLE_EXIT.saturating_sub(quiet_since.elapsed()),
            None => Duration::from_secs(1),
        };
        // Only the transcript and the event log count: the check's own writes (budget.json,
        // usage.json) must not wake it again.
        let moved = |paths: &[PathBuf]| {
            paths
                .iter()
                .any(|p| *p == events || Some(p) == transcript.as_ref())
        };
        match rx.recv_timeout(wait) {
            Ok(paths) if moved(&paths) => {
                std::thread::sleep(BATCH);
                while rx.try_recv().is_ok() {}
                (quiet_since, weigh) = (Instant::now(), true);
            }
            Ok(_) => {}
            Err(_) if quiet_since.elapsed() >= IDLE_EXIT => {
                match helper.let_go(lock, || Ok(logged() != seen))? {
                    Some(again) => {
                        lock = again;
                        (quiet_since, weigh) = (Instant::now(), true);
                    }
                    None => return Ok(()),
                }
            }
            // Still no transcript: look again (and weigh whatever it holds once found).
            Err(_) => weigh = transcript.is_none(),
        }
    }
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

/// How much of `budget` `usage` is; `None` when a USD-only budget meets a model with no
/// price.
pub fn spent(usage: &Usage, budget: &Budget) -> Option<Spent> {
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
        (None, None) => return None,
        (a, b) => a.unwrap_or(0.0).max(b.unwrap_or(0.0)),
    };
    Some(Spent {
        usd: usage.cost_usd,
        tokens,
        percent,
    })
}

/// Weighs `worker`'s usage (read on from `tally`, which its follower keeps between checks)
/// against its budget (nothing to do without one) and acts on each level newly crossed (see
/// the module's text).
fn check(worker: &Worker, tally: &mut Tally) -> Result<()> {
    let Some(budget) = worker.meta.budget.clone() else {
        return Ok(());
    };
    let Some(usage) = tally.read(worker)? else {
        return Ok(());
    };
    let Some(spent) = spent(&usage, &budget) else {
        return Ok(());
    };
    let path = worker.dir.file(File::Budget);
    let _lock = Lock::acquire(&path)?;
    let was = budget_file(&path);
    let reached = was["reached"].as_u64().unwrap_or(0);
    let calls = usage.calls.len();
    let crossed: Vec<u64> = LEVELS
        .into_iter()
        .filter(|level| spent.percent >= *level as f64 && reached < *level)
        .collect();
    let now = crossed.last().copied().unwrap_or(reached);
    // Written first: whoever sees the events below (tell's refusal) finds the level reached.
    let state_now = json!({ "reached": now, "calls": calls });
    if state_now != was {
        write_atomic(&path, state_now.to_string().as_bytes(), 0o600)?;
    }
    for level in crossed {
        let crossed = BudgetLevel {
            level: Some(level),
            spent_usd: spent.usd,
            spent_tokens: Some(spent.tokens),
            budget_usd: budget.usd,
            budget_tokens: budget.tokens,
        };
        // At 100% the escalation first: the `budget` event says it is all done.
        if level == 100 {
            spent_out(worker, &budget, &spent)?;
        }
        crate::coordination::inbox::publish_in(&worker.dir, Kind::Budget(crossed))?;
    }
    Ok(())
}

/// The budget is spent: an escalation to the parent, and with `interrupt`, the turn stopped
/// if one still runs (working or at a permission dialog; a Stop that orch's inbox blocked goes
/// on working).
fn spent_out(worker: &Worker, budget: &Budget, spent: &Spent) -> Result<()> {
    let m = &worker.meta;
    let limit = describe(budget);
    let used = match spent.usd {
        Some(usd) => format!("${usd:.4} and {} tokens", spent.tokens),
        None => format!("{} tokens", spent.tokens),
    };
    let ask = Ask {
        axes: vec![orch_store::Axis::Reversibility],
        summary: format!("{} ({}) spent its budget: {used} of {limit}", m.id, m.name),
        options: vec![
            format!("raise it: `orch budget {} --usd N`", m.id),
            format!("stop it: `orch kill {}`", m.id),
        ],
        detail: None,
        source: "budget".into(),
        request: None,
    };
    escalation::raise(&worker.dir, ask)?;
    // A turn runs: working, or waiting on a permission dialog (Escape denies and ends it).
    let in_turn = matches!(
        worker.status()?,
        crate::fleet::status::Status::Busy | crate::fleet::status::Status::NeedsInput
    );
    if budget.interrupt && in_turn {
        crate::delivery::interrupt::interrupt(worker, "budget", true)?;
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

/// What `budget.json` holds: `{"reached": LEVEL, "calls": N}` (null when unreadable).
fn budget_file(path: &Path) -> Value {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or(Value::Null)
}

/// The highest level recorded in `budget.json` (0 when none).
fn reached(path: &Path) -> u64 {
    budget_file(path)["reached"].as_u64().unwrap_or(0)
}

/// Why `tell` must not give worker `meta` a prompt: its budget is spent and says
/// `interrupt`. `None` when it may.
pub fn refusal(state: &Store, meta: &Meta) -> Option<String> {
    let budget = meta.budget.as_ref().filter(|b| b.interrupt)?;
    let reached = state
        .worker(&meta.id)
        .map_or(0, |dir| reached(&dir.file(File::Budget)));
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
/// that crossing them again is said again. Returns the record and what it spent of the new
/// budget (as [`spent`]).
pub fn set(state: &Store, id: &str, budget: Budget) -> Result<(Meta, Option<Spent>)> {
    let meta = state.update_meta(id, |m| m.budget = Some(budget.clone()))?;
    let worker = Worker::of(state, meta.clone())?;
    let usage = crate::spend::usage::of(&worker)?;
    let now = usage.as_ref().and_then(|u| spent(u, &budget));
    let percent = now.as_ref().map_or(0.0, |s| s.percent);
    let still = LEVELS
        .iter()
        .copied()
        .filter(|l| percent >= *l as f64)
        .max()
        .unwrap_or(0);
    let path = worker.dir.file(File::Budget);
    let _lock = Lock::acquire(&path)?;
    let calls = usage.map_or(0, |u| u.calls.len());
    let state_now = json!({ "reached": still, "calls": calls });
    write_atomic(&path, state_now.to_string().as_bytes(), 0o600)?;
    Ok((meta, now))
}
