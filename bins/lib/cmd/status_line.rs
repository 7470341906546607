//! `orch status-line`: a short count of what waits for the person, for tmux's `status-right`
//! (`set -g status-right '#(orch status-line)'`); prints nothing when nothing waits. It also
//! starts the notifier when channels are set and none runs (tmux runs it every
//! `status-interval`).

use super::Ctx;
use anyhow::Result;
use orch_store::Store;
use serde_json::json;
use std::collections::BTreeMap;

/// Flags of `orch status-line` (none of its own).
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch status-line`: `orch: 3 waiting (2 escalation, 1 needs-input)` or nothing
/// (`--json`: `{"waiting": N, "kinds": {KIND: N}}`), counting what waits now, before any grace
/// delay.
///
/// Errors: the store cannot be read.
pub fn run(ctx: &Ctx, _args: Args) -> Result<()> {
    let store = Store::from_env()?;
    let settings = orch_store::config::load()?.notify;
    let now = orch_store::clock::now_ms();
    let stuck_ms = (settings.stuck_s * 1000.0) as u64;
    let (needs, _) = crate::notify::need::open(
        &store,
        stuck_ms,
        now,
        &mut crate::notify::need::Liveness::default(),
    )?;
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for need in &needs {
        *kinds.entry(need.kind).or_default() += 1;
    }
    if !needs.is_empty() {
        if let Err(err) = orch_store::helper::wake_notifier(&store.root) {
            orch_store::store::log_unattended(&format!("status-line: notifier: {err:#}"));
        }
    }
    if ctx.json {
        return super::print_json(&json!({"waiting": needs.len(), "kinds": kinds}));
    }
    if needs.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("orch: {} waiting ({})", needs.len(), parts.join(", "));
    Ok(())
}
