//! A worker at a glance, what `orch ps` prints and `orch top` shows: its status (from its
//! events and its pane), its newest event and the message of its last turn.

use crate::fleet::status::{self, Status};
use crate::tmux::Tmux;
use crate::tmux::TmuxServer;
use anyhow::Result;
use orch_store::{Event, Kind};
use orch_store::{Meta, Store};
use std::collections::HashMap;

/// The live panes of each tmux server asked so far, each with its `@orch_id` tag
/// ([`TmuxServer::live_panes`]): one `list-panes` per server for a whole listing.
#[derive(Debug, Default)]
pub struct Panes {
    servers: HashMap<TmuxServer, HashMap<String, String>>,
}

impl Panes {
    /// Whether `meta`'s pane lives and is its own ([`crate::fleet::worker::owns`]); for a worker on
    /// another host, whether its relay has not seen it go.
    pub fn alive(&mut self, state: &Store, meta: &Meta) -> bool {
        if meta.remote.is_some() {
            return state.worker(&meta.id).is_ok_and(|dir| !dir.relay_gone());
        }
        let live = self
            .servers
            .entry(meta.server.clone())
            .or_insert_with(|| meta.server.live_panes());
        meta.pane
            .as_deref()
            .and_then(|p| live.get(p))
            .is_some_and(|tag| crate::fleet::worker::owns(meta, tag))
    }

    /// Forgets what was learnt of `server`, so the next [`Panes::alive`] asks it again.
    pub fn forget(&mut self, server: &TmuxServer) {
        self.servers.remove(server);
    }

    /// Forgets what was learnt of every server.
    pub fn forget_all(&mut self) {
        self.servers.clear();
    }
}

/// One worker at a glance.
#[derive(Debug, Clone)]
pub struct Summary {
    pub meta: Meta,
    /// Whether its pane lives ([`Panes::alive`]).
    pub alive: bool,
    pub status: Status,
    /// Its newest event (`None` before the first).
    pub last: Option<Event>,
    /// The `last_assistant_message` of its newest Stop or StopFailure, whole (empty when none).
    pub message: String,
}

impl Summary {
    /// The seq of its newest event (its cursor), 0 before the first.
    pub fn cursor(&self) -> u64 {
        self.last.as_ref().map_or(0, |e| e.seq)
    }

    /// Unix milliseconds of its newest event.
    pub fn last_ms(&self) -> Option<u64> {
        self.last.as_ref().map(|e| e.ts_ms)
    }

    /// The kind of its newest event (`stop`, `prompt`...).
    pub fn last_event(&self) -> Option<&str> {
        self.last.as_ref().map(|e| e.kind.name())
    }
}

/// Reads `meta`'s events back, once, to what its status and its last message need.
///
/// Errors: its folder or event log cannot be read.
pub fn of(state: &Store, meta: Meta, panes: &mut Panes) -> Result<Summary> {
    let dir = state.worker(&meta.id)?;
    let alive = panes.alive(state, &meta);
    let boundary = status::boundary_for(alive);
    let (mut decided, mut stopped) = (false, false);
    let mut tail = dir.events_back_to(|e| {
        decided |= boundary(e);
        stopped |= matches!(e.kind, Kind::Stop(_));
        decided && stopped
    })?;
    let status = status::with_hold(status::of(&meta.role, &tail, alive), state, &meta)?;
    let message = tail
        .iter()
        .rev()
        .find(|e| matches!(e.kind, Kind::Stop(_) | Kind::StopFailure(_)))
        .and_then(|e| e.kind.message())
        .unwrap_or("")
        .to_string();
    Ok(Summary {
        meta,
        alive,
        status,
        last: tail.pop(),
        message,
    })
}

/// The first non-empty line of `text`, trimmed (a last message or an escalation's summary in
/// one row).
pub fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// [`first_line`], cut to `max` characters with an ellipsis.
pub fn excerpt(text: &str, max: usize) -> String {
    let line = first_line(text);
    if line.chars().count() <= max {
        return line.to_string();
    }
    let cut: String = line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Every worker `orch resume --all` starts again: those whose pane is gone though nobody ended
/// them ([`Status::Resumable`]), oldest first. One `list-panes` per tmux server.
///
/// Errors: the state folder or an event log cannot be read.
pub fn resumable(state: &Store) -> Result<Vec<crate::fleet::worker::Worker>> {
    let mut panes = Panes::default();
    let mut found = Vec::new();
    for meta in state.workers()? {
        let alive = panes.alive(state, &meta);
        let worker = crate::fleet::worker::Worker::of(state, meta)?;
        if status::read(&worker.dir, alive)? == Status::Resumable {
            found.push(worker);
        }
    }
    Ok(found)
}
