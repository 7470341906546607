//! `orch audit`: print the audit log (who did what to whom, and refusals), oldest first, as one
//! line of text per entry or, with `--json`, as one JSON array.

use super::Ctx;
use crate::coordination::audit::{self, Filter};
use anyhow::Result;
use orch_store::Store;
use std::time::Duration;

/// Flags of `orch audit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only entries from the last DUR: `30s`, `15m`, `2h`, `1d`, `1h30m`...
    #[arg(long, value_name = "DUR", value_parser = parse_since)]
    pub since: Option<Duration>,
    /// Only entries whose actor or target is this worker (id, `--name` or pane id), or this
    /// escalation id; `operator` means the operator in any pane.
    #[arg(long, value_name = "W")]
    pub worker: Option<String>,
}

fn parse_since(s: &str) -> Result<Duration, String> {
    audit::parse_duration(s).map_err(|e| e.to_string())
}

/// Runs `orch audit`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    let worker = args.worker.map(|spec| match state.resolve(&spec) {
        Ok(meta) => meta.id,
        Err(_) => spec,
    });
    let since_ms = args.since.map(|d| {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        orch_store::clock::now_ms().saturating_sub(ms)
    });
    let entries = audit::read(&state, &Filter { since_ms, worker })?;
    if ctx.json {
        return super::print_json(&serde_json::Value::Array(entries));
    }
    let mut out = std::io::stdout().lock();
    for entry in &entries {
        std::io::Write::write_all(&mut out, audit::format_line(entry).as_bytes())?;
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(())
}
