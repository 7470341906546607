//! `orch ps`: every worker with its status, derived from its events and from tmux.

use super::Ctx;
use crate::fleet::status::Status;
use crate::harness::quiet::Quiet;
use crate::harness::HarnessExt;
use crate::spend::hosted;
use crate::views::summary::{self, Panes};
use anyhow::Result;
use orch_store::Store;
use serde_json::{json, Value};

/// Flags of `orch ps`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Also list dead workers (their panes are gone).
    #[arg(long, short)]
    pub all: bool,
}

/// One row of `orch ps` per worker (dead ones only with `all`), as `--json` prints them.
pub fn rows(all: bool) -> Result<Vec<Value>> {
    let state = Store::from_env()?;
    let now = orch_store::clock::now_ms();
    let mut panes = Panes::default();
    let mut out = Vec::new();
    for meta in state.workers()? {
        let worker = crate::fleet::worker::Worker::of(&state, meta)?;
        crate::remote::relay::ensure_relay(&worker)?;
        let glance = summary::of(&state, worker.meta.clone(), &mut panes)?;
        if glance.status == Status::Dead && !all {
            continue;
        }
        // A remote worker's spend is its host's (read there, reused for a while); a host
        // that cannot be reached leaves it unknown, with the reason.
        let hosted = hosted::of(&state, &worker, !glance.status.in_turn());
        let (used, spend_error) = match hosted {
            Some(h) => (h.usage, h.error),
            None => (crate::spend::usage::of(&worker).ok().flatten(), None),
        };
        let meta = &glance.meta;
        let git = meta
            .worktree
            .as_ref()
            .map(|_| state.worker_of(meta.clone()).map(|d| d.git_state()))
            .transpose()?
            .unwrap_or_default();
        out.push(json!({
            "id": meta.id,
            "name": meta.name,
            "role": meta.role,
            "harness": meta.harness,
            "detector": detector_of(meta),
            "detector_settings": meta.detector,
            "pane": meta.pane,
            "host": meta.remote.as_ref().map(|r| r.dest.clone()),
            "account": meta.account,
            "status": glance.status.as_str(),
            "cursor": glance.cursor(),
            "last_event": glance.last_event(),
            "last_event_age_ms": glance.last_ms().map(|ms| now.saturating_sub(ms)),
            "last_message": summary::excerpt(&glance.message, 60),
            "tokens": used.as_ref().map(|u| u.total.total()),
            "cost_usd": used.as_ref().and_then(|u| u.cost_usd),
            "spend_error": spend_error,
            "parent": meta.parent,
            "outfit": meta.outfit,
            "worktree": meta.worktree.as_ref().map(|wt| json!({
                "path": wt.path,
                "branch": wt.branch,
                "base_branch": wt.base_branch,
                "dirty": crate::fleet::worktree::dirty(wt).ok(),
                "dirty_at_stop": git.dirty,
                "conflicts": git.conflicts,
                "mark": crate::fleet::worktree::mark(&git),
                "checked": git.checked,
            })),
            "cwd": meta.cwd,
        }));
    }
    Ok(out)
}

/// How a worker's turn ends are learnt: [`crate::harness::HarnessExt::detector`], or for a
/// command worker its detector's kind (`quiet`, `quiet+prompt`).
fn detector_of(meta: &orch_store::Meta) -> String {
    if let Some(detector) = &meta.detector {
        return detector.kind().to_string();
    }
    meta.harness.detector().to_string()
}

/// Runs `orch ps`: a table, or with `--json` an array of rows (id, name, role, harness,
/// detector, detector_settings (`{quiet_ms, prompt}` for a command worker, else null), pane,
/// host (the ssh destination of a worker on another machine, else null; the table shows its
/// pane as `%3@host`), tokens and cost_usd (from the harness's transcript,
/// [`crate::spend::usage`], for a remote worker as its host reads it, [`hosted`]; null when it
/// keeps none, the model has no price or the host cannot be reached), spend_error (why a
/// remote worker's spend is unknown, else null; the table says it under the rows), status,
/// cursor, last_event, last_event_age_ms, last_message, parent, outfit, worktree, cwd).
/// A worktree is `{path, branch, base_branch, dirty (now), dirty_at_stop (the files its last
/// turn ended with uncommitted), conflicts ([{with: a worker id or "" for the base branch,
/// branch, files}], as the last conflict check found them), checked (the seq of the Stop that
/// check looked at), mark (their glance, the GIT
/// column: `conflict w2`, `dirty`)}`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let rows = rows(args.all)?;
    // A held account whose waiter is gone (a reboot) gets it back from whoever looks.
    if let Ok(store) = orch_store::Store::from_env() {
        crate::spend::limit::ensure_waiters(&store)?;
    }
    if ctx.json {
        return super::print_json(&Value::Array(rows));
    }
    if rows.is_empty() {
        println!("no workers (spawn one with `orch spawn`)");
        return Ok(());
    }
    println!(
        "{:<6} {:<14} {:<8} {:<7} {:<12} {:<5} {:<11} {:>5} {:>7} {:>8}  {:<14} LAST MESSAGE",
        "ID",
        "NAME",
        "ROLE",
        "HARNESS",
        "DETECTOR",
        "PANE",
        "STATUS",
        "AGE",
        "TOKENS",
        "COST",
        "GIT"
    );
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        let age = r["last_event_age_ms"]
            .as_u64()
            .map_or("-".into(), orch_store::clock::age);
        let tokens = r["tokens"]
            .as_u64()
            .map_or("-".into(), crate::views::top::compact);
        let cost = r["cost_usd"]
            .as_f64()
            .map_or("-".into(), |c| format!("${c:.2}"));
        let git = r["worktree"]["mark"].as_str().unwrap_or("-");
        println!(
            "{:<6} {:<14} {:<8} {:<7} {:<12} {:<5} {} {:>5} {:>7} {:>8}  {:<14} {}",
            s("id"),
            s("name"),
            s("role"),
            s("harness"),
            s("detector"),
            match r["host"].as_str() {
                Some(host) => format!("{}@{host}", s("pane")),
                None => s("pane"),
            },
            status(&s("status"), ctx.color),
            age,
            tokens,
            cost,
            git,
            s("last_message")
        );
    }
    for r in &rows {
        if let Some(error) = r["spend_error"].as_str() {
            println!(
                "{}'s spend is unknown: {error}",
                r["id"].as_str().unwrap_or("-")
            );
        }
    }
    Ok(())
}

/// The STATUS cell, padded to its column, in its colour when `color`.
fn status(text: &str, color: bool) -> String {
    let padded = format!("{text:<11}");
    match Status::parse(text) {
        Some(status) => {
            crate::views::paint::paint(&padded, crate::views::paint::status_color(status), color)
        }
        None => padded,
    }
}
