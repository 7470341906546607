//! A remote worker's spend: its transcript is on its host, so the host's own orch reads it
//! (`orch --json usage ID` there, over the shared connection of [`Host::orch`]) and its calls
//! come back with their tokens, times and the host's prices.
//!
//! What was read is kept in the worker's folder here (`usage.host.json`, with when), so that
//! `orch ps` and `orch top` make no ssh round trip per look: a reading is reused for
//! [`FRESH_MS`], and for as long as nothing can have changed it (the worker is between turns
//! and its mirrored event log has not moved since [`SETTLE_MS`] before the reading). A host
//! that cannot be reached gives no spend and the reason, kept as briefly.

use crate::fleet::worker::Worker;
use crate::harness::HarnessExt;
use crate::remote::host::Host;
use crate::spend::usage::{Call, Usage};
use anyhow::{Context, Result};
use orch_store::files::write_atomic;
use orch_store::worker::File;
use orch_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a reading (or a failure to read) is reused whatever the worker does, in ms: the
/// most a busy remote worker's spend here lags behind its host's, and the least time between
/// two round trips for it.
pub const FRESH_MS: u64 = 5_000;

/// How long after its mirrored event log last changed a reading must have been made to stand
/// for a worker between turns, in ms: the host may write a turn's last call a little after
/// its turn end is mirrored here (Codex's rollout after its Stop).
pub const SETTLE_MS: u64 = 2_000;

/// The shape of `usage.host.json`; another is read anew.
const VERSION: u32 = 1;

/// What `usage.host.json` keeps.
#[derive(Debug, Serialize, Deserialize)]
struct Reading {
    version: u32,
    /// When it was read (Unix ms, this machine's clock).
    read_ms: u64,
    /// The host's calls, oldest first; `None` when the host keeps no usage record for it, or
    /// could not be read.
    calls: Option<Vec<Call>>,
    /// Why it could not be read.
    error: Option<String>,
}

/// A remote worker's spend as its host gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Hosted {
    /// Its host's ssh destination.
    pub dest: String,
    /// What it spent, `None` when unknown (see `error`, or its harness keeps no record).
    pub usage: Option<Usage>,
    /// Why the host could not say: `cannot reach host ...` or the host orch's own error.
    pub error: Option<String>,
    /// When it was read (Unix ms, this machine's clock).
    pub read_ms: u64,
}

/// The spend of `worker`, a worker on another host (`None` for one here), read on its host
/// unless a reading in its folder still stands (above). `settled`: it is between turns (no
/// model call can be under way), so a reading made after its last event stands for good.
///
/// Never an error: a host that cannot be reached gives `usage: None` and the reason. A
/// harness that keeps no usage record (a command or sim worker) costs no round trip.
pub fn of(state: &Store, worker: &Worker, settled: bool) -> Option<Hosted> {
    let remote = worker.meta.remote.as_ref()?;
    if worker.meta.harness.usage_format().is_none() {
        return Some(made(&remote.dest, None));
    }
    let now = orch_store::clock::now_ms();
    let log_ms = log_changed_ms(worker);
    if let Some(kept) = reading(worker).filter(|r| stands(r, now, settled, log_ms)) {
        return Some(made(&remote.dest, Some(kept)));
    }
    let (calls, error) = match read(state, &remote.dest, &remote.id) {
        Ok(calls) => (calls, None),
        Err(err) => (None, Some(format!("{err:#}"))),
    };
    let fresh = Reading {
        version: VERSION,
        read_ms: now,
        calls,
        error,
    };
    // Only a cache: a reader that cannot write it reads again next time.
    if let Ok(bytes) = serde_json::to_vec(&fresh) {
        let _ = write_atomic(&worker.dir.file(File::UsageHost), &bytes, 0o600);
    }
    Some(made(&remote.dest, Some(fresh)))
}

/// The last reading of `worker`'s spend on its host, however old (`None` for a worker here or
/// one never read): what `orch top` draws, never waiting on ssh.
pub fn kept(worker: &Worker) -> Option<Hosted> {
    let remote = worker.meta.remote.as_ref()?;
    Some(made(&remote.dest, reading(worker)))
}

/// The spend on host `dest` that `reading` holds (none: unknown, no reason).
fn made(dest: &str, reading: Option<Reading>) -> Hosted {
    let (read_ms, calls, error) =
        reading.map_or((0, None, None), |r| (r.read_ms, r.calls, r.error));
    Hosted {
        dest: dest.to_string(),
        usage: calls.map(Usage::of_calls),
        error,
        read_ms,
    }
}

/// What `usage.host.json` holds, if it is of this version.
fn reading(worker: &Worker) -> Option<Reading> {
    let bytes = std::fs::read(worker.dir.file(File::UsageHost)).ok()?;
    serde_json::from_slice::<Reading>(&bytes)
        .ok()
        .filter(|r| r.version == VERSION)
}

/// Whether `reading` stands at `now`: younger than [`FRESH_MS`], or of a worker between turns
/// made [`SETTLE_MS`] after its event log last changed (`log_ms`).
fn stands(reading: &Reading, now: u64, settled: bool, log_ms: Option<u64>) -> bool {
    if now.saturating_sub(reading.read_ms) < FRESH_MS {
        return true;
    }
    settled && reading.error.is_none() && log_ms.is_some_and(|ms| reading.read_ms >= ms + SETTLE_MS)
}

/// When the worker's mirrored event log here last changed (Unix ms).
fn log_changed_ms(worker: &Worker) -> Option<u64> {
    let modified = std::fs::metadata(worker.dir.file(File::Events))
        .and_then(|m| m.modified())
        .ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    u64::try_from(since.as_millis()).ok()
}

/// The calls of worker `id` on host `dest`, as `orch --json usage ID` there gives them
/// (`None`: its harness keeps no usage record).
///
/// Errors: the host cannot be reached, its orch fails, or it answers no usage row.
fn read(state: &Store, dest: &str, id: &str) -> Result<Option<Vec<Call>>> {
    let host = Host::new(dest)?;
    // What the host's orch warns of on stderr is left: top's thread has no place for it.
    let (text, _warned) = host.orch_quiet(state, &["--json", "usage", id], None)?;
    let rows: Value = serde_json::from_str(&text)
        .with_context(|| format!("`orch --json usage {id}` on host `{dest}` printed no JSON"))?;
    let calls = rows[0].get("calls").cloned().with_context(|| {
        format!("`orch --json usage {id}` on host `{dest}` gave no calls: {text}")
    })?;
    serde_json::from_value(calls)
        .with_context(|| format!("`orch --json usage {id}` on host `{dest}`: calls unread"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(read_ms: u64, error: Option<&str>) -> Reading {
        Reading {
            version: VERSION,
            read_ms,
            calls: Some(Vec::new()),
            error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_reading_stands_while_fresh_or_while_nothing_can_have_changed() {
        let at = 100_000;
        let log = Some(at - SETTLE_MS);
        // Fresh: whatever the worker does.
        assert!(stands(&reading(at, None), at + FRESH_MS - 1, false, None));
        assert!(stands(&reading(at, Some("down")), at + 1, false, log));
        // Old: only between turns, read long enough after its last event, and no failure.
        let later = at + FRESH_MS * 100;
        assert!(stands(&reading(at, None), later, true, log));
        assert!(!stands(&reading(at, None), later, false, log), "busy");
        assert!(
            !stands(&reading(at, None), later, true, Some(at)),
            "too soon"
        );
        assert!(!stands(&reading(at, None), later, true, None), "no log");
        assert!(!stands(&reading(at, Some("down")), later, true, log));
    }
}
