//! Workers on other machines (`orch spawn --host DEST`): the worker, its pane, its harness and
//! its hooks live on the host, under the host's own orch; here it has a record of its own (a
//! local id, `remote: {dest, id}` in its meta) whose event log mirrors the host's, event for
//! event with the same sequence numbers, so cursors mean the same on both sides.
//!
//! The mirror is kept by a relay (`orch __relay ID`, started detached, one per worker, held by
//! a lock on `relay.lock` in the worker's folder): it runs `orch subscribe <id> --follow
//! --events any --after <last seq here>` on the host through the shared ssh connection and
//! appends each event it reads that is the next one here ([`crate::coordination::inbox::publish_copy`],
//! which also copies it to local subscribers). A dropped connection starts the stream again
//! from the last sequence number received: nothing is lost, nothing recorded twice. When the
//! stream ends because the worker is gone, the relay writes `relay.gone` and exits; any
//! command that reads the worker starts a relay again when none runs.

use crate::error::Error;
use crate::fleet::worker::Worker;
use crate::remote::host::Host;
use anyhow::{bail, Context, Result};
use orch_store::helper::Helper;
use orch_store::worker::File;
use orch_store::{Event, Kind};
use orch_store::{Meta, Remote, Store};
use serde_json::Value;
use std::io::BufRead;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The relay's lock file in the worker's folder.
/// The longest pause between two attempts to reach a host that does not answer.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// What `orch spawn --host` asks of the host's orch: `orch --json spawn ARGS`.
#[derive(Debug)]
pub struct RemoteSpawn<'a> {
    pub host: &'a Host,
    /// The flags for the host's `orch spawn` (name, harness, cwd, outfit, env, prompt...).
    pub args: Vec<String>,
    /// The record's parent here (the local caller).
    pub parent: String,
    /// How long to wait for the mirror to catch up with the host's spawn.
    pub timeout: Duration,
}

/// Spawns a worker on a host: runs the host's `orch --json spawn`, writes the local record,
/// starts the relay and waits until the mirror holds the host's events up to the spawn's
/// cursor. Returns the local worker and the host's spawn record.
///
/// Errors: the host cannot be reached (with the fix), its spawn failed (its message), or the
/// mirror did not catch up within `timeout` (the relay's errors are in `hook.log`).
pub fn spawn(state: &Store, req: &RemoteSpawn) -> Result<(Worker, Value)> {
    state.ensure()?;
    let mut argv = vec!["--json", "spawn"];
    argv.extend(req.args.iter().map(String::as_str));
    let answer = req.host.orch(state, &argv, None)?;
    let there: Value = serde_json::from_str(answer.trim()).with_context(|| {
        format!(
            "host `{}` answered no spawn record: {answer}",
            req.host.dest
        )
    })?;
    let text = |k: &str| there[k].as_str().map(str::to_string);
    let remote_id = text("id").context("the host's spawn record has no id")?;
    req.host.remember(state, None)?;
    let (id, _) = state.new_worker()?;
    let harness = there["harness"]
        .as_str()
        .map(crate::harness::Harness::parse)
        .transpose()?
        .unwrap_or(crate::harness::Harness::Claude);
    let meta = Meta {
        name: text("name").unwrap_or_else(|| id.clone()),
        harness,
        pane: text("pane"),
        session: text("session"),
        cwd: "/".into(),
        remote: Some(Remote {
            dest: req.host.dest.clone(),
            id: remote_id,
        }),
        ..Meta::new(&id, there["role"].as_str().unwrap_or("worker"), &req.parent)
    };
    state.write_meta(&meta)?;
    let worker = Worker::of(state, meta)?;
    ensure_relay(&worker)?;
    let cursor = there["cursor"].as_u64().unwrap_or(0);
    wait_mirrored(&worker, cursor, req.timeout)?;
    Ok((worker, there))
}

/// Waits until the worker's mirror holds the host's events up to `cursor`.
pub fn wait_mirrored(worker: &Worker, cursor: u64, timeout: Duration) -> Result<()> {
    let found = worker.wait(cursor.saturating_sub(1), Some(timeout), |e| {
        (e.seq >= cursor).then_some(())
    })?;
    match found {
        crate::fleet::worker::Waited::Found(..) => Ok(()),
        _ if worker.cursor()? >= cursor => Ok(()),
        _ => bail!(Error::Timeout(format!(
            "the events of `{}` on host `{}` did not reach this machine within {:.0} s \
                 (see the relay's errors in hook.log)",
            worker.meta.id,
            worker.meta.remote.as_ref().map_or("?", |r| r.dest.as_str()),
            timeout.as_secs_f64()
        ))),
    }
}

/// Starts the worker's relay, detached, unless one runs or the worker is gone. Nothing to do
/// for a local worker.
pub fn ensure_relay(worker: &Worker) -> Result<()> {
    if worker.meta.remote.is_none() {
        return Ok(());
    }
    if !worker.alive() {
        return Ok(());
    }
    relay_helper(&worker.dir).ensure(&worker.store().root)?;
    Ok(())
}

/// Remote worker `dir`'s relay, `orch __relay ID` (one per worker).
fn relay_helper(dir: &orch_store::WorkerDir) -> Helper {
    Helper::new("__relay", dir.id(), dir.file(File::RelayLock))
}

/// The relay of remote worker `id` (`orch __relay ID`): mirrors its host's events until it is
/// gone (see the module's text). Returns at once when another relay holds the lock.
pub fn relay(state: &Store, id: &str) -> Result<()> {
    let dir = state.worker(id)?;
    let Some(_lock) = relay_helper(&dir).claim()? else {
        return Ok(());
    };
    let meta = state.meta(id)?;
    let remote = meta
        .remote
        .clone()
        .with_context(|| format!("`{id}` is no remote worker"))?;
    let host = Host::new(&remote.dest)?;
    let mut backoff = Duration::from_millis(100);
    loop {
        // A record removed here (`orch down`, a test's folder) ends the relay.
        if !dir.file(File::Meta).is_file() {
            return Ok(());
        }
        let after = dir.cursor()?.to_string();
        let argv = [
            "orch",
            "subscribe",
            remote.id.as_str(),
            "--follow",
            "--events",
            "any",
            "--after",
            after.as_str(),
        ];
        let started = Instant::now();
        let mut child = host
            .command(state, &argv)?
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run ssh")?;
        let stdout = child.stdout.take().context("no ssh stdout")?;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Some(event) = serde_json::from_str::<Value>(&line)
                .ok()
                .and_then(Event::from_json)
            else {
                continue;
            };
            let fresh = crate::coordination::inbox::publish_copy(state, id, &event)?;
            if fresh && matches!(event.kind, Kind::Escalation(_)) {
                crate::coordination::escalation::mirror(state, &meta, &event)?;
            }
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            // The stream ended because the worker is gone on its host.
            orch_store::files::write_atomic(&dir.file(File::RelayGone), b"", 0o600)?;
            return Ok(());
        }
        let said = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(255) && said.contains("unknown worker") {
            orch_store::files::write_atomic(&dir.file(File::RelayGone), said.as_bytes(), 0o600)?;
            bail!(
                "host `{}` no longer knows `{}`: {said}",
                remote.dest,
                remote.id
            );
        }
        // Dropped (exit 255) or failed: again from the last event received, after a pause
        // that grows while the host does not answer.
        if started.elapsed() > Duration::from_secs(10) {
            backoff = Duration::from_millis(100);
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Runs `orch ARGS` on the worker's host for the worker (`ARGS` name it by its host id) and
/// returns what it printed; its failure keeps the host's exit code and message.
pub fn forward(worker: &Worker, args: &[&str], input: Option<&[u8]>) -> Result<String> {
    let remote = worker
        .meta
        .remote
        .as_ref()
        .with_context(|| format!("`{}` is no remote worker", worker.meta.id))?;
    Host::new(&remote.dest)?.orch(worker.store(), args, input)
}
