//! A worker as commands see it: its metadata, its folder, its pane, its status, and the one
//! wait loop everything that waits on a worker uses (watch first, then read, then sleep on the
//! watcher; the pane's liveness checked between wakes so a dead pane never hangs a wait).

use crate::fleet::status::{self, Status};
use crate::harness::HarnessExt;
use crate::tmux::Tmux;
use anyhow::{Context, Result};
use orch_store::watch::Watch;
use orch_store::{Event, Kind, Meta, Store, WorkerDir};
use std::cell::OnceCell;
use std::time::{Duration, Instant};

/// How often a wait checks that the worker's pane still exists.
const LIVENESS_EVERY: Duration = Duration::from_millis(250);
/// How long a wait still reads a command worker's log after its pane went: its detector
/// writes the last events (the acknowledged prompt, the session's end) once the pane's
/// output has closed, which can be after the pane is gone.
const DETECTOR_GRACE: Duration = Duration::from_millis(400);

/// A spawned worker (or an operator record), as a command handles it: its metadata, read
/// once, its folder, and one file watch shared by every wait of the command.
pub struct Worker {
    pub meta: Meta,
    pub dir: WorkerDir,
    watch: OnceCell<Watch>,
}

impl Clone for Worker {
    fn clone(&self) -> Worker {
        Worker {
            meta: self.meta.clone(),
            dir: self.dir.clone(),
            watch: OnceCell::new(),
        }
    }
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("meta", &self.meta).finish()
    }
}

/// How a wait ended.
#[derive(Debug)]
pub enum Waited<T> {
    /// The check accepted this event.
    Found(T, Box<Event>),
    /// The deadline passed first.
    TimedOut,
    /// The pane is gone or the session ended; the text says which.
    Gone(String),
}

impl Worker {
    /// Finds a worker by id, name or pane id in the state directory of this environment.
    ///
    /// Errors: the state directory is refused, or no worker matches (the message says how to
    /// list them).
    pub fn resolve(spec: &str) -> Result<Worker> {
        let state = Store::from_env()?;
        let meta = state.resolve(spec)?;
        Worker::of(&state, meta)
    }

    /// The worker whose record `meta` is, in `store`.
    ///
    /// Errors: its folder is not a real folder of the store.
    pub fn of(store: &Store, meta: Meta) -> Result<Worker> {
        Ok(Worker {
            dir: store.worker_of(meta.clone())?,
            meta,
            watch: OnceCell::new(),
        })
    }

    /// Worker `id` of `store`, its record read now.
    ///
    /// Errors: no such worker, or its record cannot be read.
    pub fn load(store: &Store, id: &str) -> Result<Worker> {
        Worker::of(store, store.meta(id)?)
    }

    /// The state directory it is in.
    pub fn store(&self) -> &Store {
        self.dir.store()
    }

    /// Its pane id; an error when the pane was never opened.
    pub fn pane(&self) -> Result<&str> {
        self.meta
            .pane
            .as_deref()
            .with_context(|| format!("worker `{}` has no pane", self.meta.id))
    }

    /// Whether its pane exists (a remote worker: whether its relay has not seen it go).
    pub fn alive(&self) -> bool {
        self.live(&self.meta)
    }

    /// [`Worker::alive`] for this worker's record as `meta` has it.
    fn live(&self, meta: &Meta) -> bool {
        if meta.remote.is_some() {
            return !self.dir.relay_gone();
        }
        alive(meta)
    }

    /// Its status from its newest events and its pane.
    ///
    /// An operator record (the operator's own pane, registered by its first `orch subscribe`)
    /// has seen no SessionStart of its session: with no events it counts as idle.
    pub fn status(&self) -> Result<Status> {
        status::with_hold(self.snapshot()?.status(), self.store(), &self.meta)
    }

    /// Whether a usage limit holds its account (`orch limits`).
    ///
    /// Errors: the hold cannot be read.
    pub fn held(&self) -> Result<bool> {
        Ok(match self.meta.account.as_deref() {
            Some(account) => orch_store::limits::read(self.store(), account)?.is_some(),
            None => false,
        })
    }

    /// Its cursor and status from one read of its log ([`status::Snapshot`]).
    ///
    /// Errors: its log or its metadata cannot be read.
    pub fn snapshot(&self) -> Result<status::Snapshot> {
        status::Snapshot::read(&self.dir, self.alive())
    }

    /// Waits until its screen has shown its input box ready ([`Harness::input_ready`]) for
    /// `hold` without a break (zero: once), reading the screen every 25 ms (no event says that
    /// a box was drawn). `None` once it has, or at once for a harness whose box orch cannot
    /// read; the last screen when `deadline` passed first.
    ///
    /// Errors: the pane cannot be captured.
    ///
    /// [`Harness::input_ready`]: crate::harness::HarnessExt::input_ready
    pub fn await_input_box(&self, hold: Duration, deadline: Instant) -> Result<Option<String>> {
        let pane = self.pane()?;
        let mut ready_since: Option<Instant> = None;
        loop {
            let screen = self.meta.server.capture(pane)?;
            match self.meta.harness.input_ready(&screen) {
                None => return Ok(None),
                Some(false) => ready_since = None,
                Some(true) => {
                    if ready_since.get_or_insert_with(Instant::now).elapsed() >= hold {
                        return Ok(None);
                    }
                }
            }
            if Instant::now() >= deadline {
                return Ok(Some(screen));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Its current cursor: the sequence number of its newest event.
    pub fn cursor(&self) -> Result<u64> {
        self.dir.cursor()
    }

    /// The file watch on its folder, set on first use and kept for every later wait of this
    /// handle (a watch costs a helper process).
    ///
    /// Errors: no watch can be set.
    fn folder_watch(&self) -> Result<&Watch> {
        if let Some(watch) = self.watch.get() {
            return Ok(watch);
        }
        let watch = Watch::folder(self.dir.path())?;
        Ok(self.watch.get_or_init(|| watch))
    }

    /// Waits for the first event after `after` that `check` accepts, up to `timeout` (`None`:
    /// no limit). An ended session (SessionEnd other than `/clear`, or `killed`), a vanished
    /// pane or a removed folder ends the wait with [`Waited::Gone`] promptly.
    pub fn wait<T>(
        &self,
        after: u64,
        timeout: Option<Duration>,
        mut check: impl FnMut(&Event) -> Option<T>,
    ) -> Result<Waited<T>> {
        let dir = self.dir.path().to_path_buf();
        let watch = self.folder_watch()?;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut cursor = after;
        let mut next_liveness = Instant::now();
        // When the pane of a command worker was first seen gone.
        let mut gone_since: Option<Instant> = None;
        // The pane to watch: a resume gives the worker a new one.
        let mut meta = self.meta.clone();
        loop {
            let batch = self.dir.events_after(cursor)?;
            for (i, event) in batch.iter().enumerate() {
                cursor = event.seq;
                if let Some(found) = check(event) {
                    return Ok(Waited::Found(found, Box::new(event.clone())));
                }
                // An end that a later `resumed` took back is no end: the wait goes on to the
                // first event of the resumed worker.
                let resumed = || {
                    batch[i + 1..]
                        .iter()
                        .any(|e| matches!(e.kind, Kind::Resumed(_)))
                };
                if let Some(why) = event.kind.ends_session().filter(|_| !resumed()) {
                    return Ok(Waited::Gone(format!("worker `{}` {why}", self.meta.id)));
                }
                if matches!(event.kind, Kind::Resumed(_)) {
                    meta = self.store().meta(&self.meta.id).unwrap_or(meta);
                }
            }
            let now = Instant::now();
            if now >= next_liveness {
                if !dir.is_dir() {
                    return Ok(Waited::Gone(format!(
                        "worker `{}`: its folder `{}` was removed",
                        self.meta.id,
                        dir.display()
                    )));
                }
                if !self.live(&meta) {
                    // Resumed since this wait began?
                    match self.store().meta(&self.meta.id) {
                        Ok(fresh) if fresh.pane != meta.pane && self.live(&fresh) => meta = fresh,
                        // A command worker's detector records the turn's last events only
                        // once the pane has closed its output: they get a moment to land.
                        _ if meta.is_command() && gone_since.is_none() => {
                            gone_since = Some(now);
                        }
                        _ if gone_since.is_some_and(|t| now < t + DETECTOR_GRACE) => {}
                        _ => {
                            let pane = meta.pane.as_deref().unwrap_or("?");
                            return Ok(Waited::Gone(format!(
                                "worker `{}`: its pane {pane} is gone",
                                self.meta.id
                            )));
                        }
                    }
                }
                next_liveness = now + gone_since.map_or(LIVENESS_EVERY, |_| DETECTOR_GRACE / 4);
            }
            let mut nap = LIVENESS_EVERY;
            if let Some(deadline) = deadline {
                if now >= deadline {
                    return Ok(Waited::TimedOut);
                }
                nap = nap.min(deadline - now);
            }
            watch.wait(nap);
        }
    }
}

/// Whether the pane `meta` names exists and is still its own ([`owns`]).
pub fn alive(meta: &Meta) -> bool {
    meta.pane
        .as_deref()
        .and_then(|p| meta.server.pane_tag(p))
        .is_some_and(|tag| owns(meta, &tag))
}

/// Whether a live pane whose `@orch_id` option is `tag` is the one of record `meta`: orch tags
/// every pane it opens (an operator's pane when it registers), so a pane id handed out again
/// by a new tmux server (after a crash) is not taken for the old one.
pub fn owns(meta: &Meta, tag: &str) -> bool {
    tag == meta.id
}
