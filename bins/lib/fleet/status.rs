//! A worker's status, derived from its newest events and from whether its pane exists.

use orch_store::{Event, Kind, WorkerDir};

/// What a worker is doing, as `orch ps` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Spawned; its agent has not fired SessionStart yet.
    Starting,
    /// Waiting for a prompt.
    Idle,
    /// In a turn.
    Busy,
    /// Waiting for a person: a permission dialog or another question.
    NeedsInput,
    /// Its last turn ended in a StopFailure (an API error); it takes prompts again.
    Error,
    /// Its account is held by a usage limit (`orch limits`): nothing is typed into it until
    /// the limit lifts; a tell is queued.
    Limited,
    /// Its pane is gone or its session ended, for good: killed, or ended by a person (`/exit`,
    /// a command's own `exit`).
    Dead,
    /// Its pane is gone but nobody ended it (its tmux server died: a reboot, `kill-server`, an
    /// OOM kill): `orch resume` starts it again on its conversation.
    Resumable,
}

impl Status {
    /// The word `orch ps` prints: `starting`, `idle`, `busy`, `needs-input`, `error`,
    /// `limited`, `dead`, `resumable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Idle => "idle",
            Status::Busy => "busy",
            Status::NeedsInput => "needs-input",
            Status::Error => "error",
            Status::Limited => "limited",
            Status::Dead => "dead",
            Status::Resumable => "resumable",
        }
    }

    /// Every status, in the order [`Status::as_str`] lists them.
    pub const ALL: [Status; 8] = [
        Status::Starting,
        Status::Idle,
        Status::Busy,
        Status::NeedsInput,
        Status::Error,
        Status::Limited,
        Status::Dead,
        Status::Resumable,
    ];

    /// The status [`Status::as_str`] names `word`, if one.
    pub fn parse(word: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == word)
    }

    /// Whether a prompt can be delivered now.
    pub fn ready(self) -> bool {
        matches!(self, Status::Idle | Status::Error)
    }

    /// Whether its harness may be calling the model now (starting or busy): its spend may
    /// grow with no event.
    pub fn in_turn(self) -> bool {
        matches!(self, Status::Starting | Status::Busy)
    }
}

/// The status an event leaves a worker in, or `None` when the event says nothing about it.
pub fn after(event: &Event) -> Option<Status> {
    Some(match &event.kind {
        Kind::Spawned(_) => Status::Starting,
        // `ready`: orch saw the input prompt of a harness that fires SessionStart only with
        // its first prompt (Codex).
        Kind::SessionStart(_) | Kind::Ready(_) | Kind::Stop(_) | Kind::Interrupted(_) => {
            Status::Idle
        }
        // `orch resume` opened a new pane; its agent has not started yet.
        Kind::Resumed(_) => Status::Starting,
        Kind::Prompt(_) => Status::Busy,
        Kind::StopFailure(_) => Status::Error,
        Kind::Limit(_) => Status::Limited,
        Kind::Released(_) => Status::Idle,
        Kind::PermissionRequest(_) => Status::NeedsInput,
        // Answered from outside the pane: the hook hands it to the agent, which goes on.
        Kind::PermissionAnswer(_) => Status::Busy,
        Kind::Notification(n) => match n.notification_type.as_deref() {
            Some("idle_prompt") => Status::Idle,
            // `agent_needs_input`: Claude Code 2.1.332's auto mode cannot reach its safety
            // check and asks the person what to do.
            Some("permission_prompt" | "elicitation_dialog" | "agent_needs_input") => {
                Status::NeedsInput
            }
            _ => return None,
        },
        Kind::SessionEnd(end) => match end.reason.as_deref() {
            Some("clear") => Status::Starting,
            _ => Status::Dead,
        },
        Kind::Killed(_) => Status::Dead,
        _ => return None,
    })
}

/// Whether an event is one that status is derived from.
pub fn decides(event: &Event) -> bool {
    after(event).is_some()
}

/// Whether an event is a Notification that a permission dialog is open. Claude Code sends it
/// ~6 s after the PermissionRequest, so it can arrive after the turn already ended (an
/// interrupt answered the dialog): such a late notice says nothing.
fn permission_notice(event: &Event) -> bool {
    matches!(&event.kind, Kind::Notification(n)
        if n.notification_type.as_deref() == Some("permission_prompt"))
}

/// The event a status read goes back to: the newest deciding event that is not a late-prone
/// permission notice (read the log back to it, then [`derive()`]).
pub fn boundary(event: &Event) -> bool {
    decides(event) && !permission_notice(event)
}

/// Where a status read goes back to for a worker whose pane is `alive` ([`boundary`]) or gone
/// (the newest start, resume or end for good: a killed worker's agent may still report its
/// session's end after the `killed` event).
pub fn boundary_for(alive: bool) -> fn(&Event) -> bool {
    if alive {
        boundary
    } else {
        |e| e.kind.ends_for_good() || e.kind.starts()
    }
}

/// The status from a worker's events (oldest first, back to [`boundary_for()`] its liveness)
/// and pane liveness. A worker whose pane is gone is [`Status::Resumable`] unless it was ended
/// for good ([`Kind::ends_for_good`]) since it last (re)started.
pub fn derive(events: &[Event], pane_alive: bool) -> Status {
    if !pane_alive {
        let ended = events
            .iter()
            .rev()
            .take_while(|e| !e.kind.starts())
            .any(|e| e.kind.ends_for_good());
        return if ended {
            Status::Dead
        } else {
            Status::Resumable
        };
    }
    let mut deciding = events.iter().rev().filter(|e| decides(e)).peekable();
    while let Some(event) = deciding.next() {
        if permission_notice(event) {
            // Stale when the turn it belongs to has ended since its PermissionRequest.
            let ended = deciding.peek().is_some_and(|prev| {
                matches!(
                    prev.kind,
                    Kind::Interrupted(_) | Kind::Stop(_) | Kind::StopFailure(_)
                )
            });
            if ended {
                continue;
            }
            return Status::NeedsInput;
        }
        if let Some(status) = after(event) {
            return status;
        }
    }
    Status::Starting
}

/// [`derive()`] for a record of role `role`: an operator's record (the operator's own pane,
/// registered by its first `orch subscribe`) has seen no SessionStart of its session, so with
/// no events it counts as idle, and it is never resumable (orch did not start it).
pub fn of(role: &orch_store::Role, events: &[Event], pane_alive: bool) -> Status {
    let status = derive(events, pane_alive);
    match status {
        _ if *role != orch_store::Role::Operator => status,
        Status::Starting if events.is_empty() => Status::Idle,
        Status::Resumable => Status::Dead,
        other => other,
    }
}

/// The status of the worker whose folder is `dir`: its events read back to what decides it
/// ([`boundary_for`]), weighed with its role and whether its pane lives ([`of`]).
///
/// Errors: its event log or its metadata cannot be read.
pub fn read(dir: &WorkerDir, pane_alive: bool) -> anyhow::Result<Status> {
    Ok(Snapshot::read(dir, pane_alive)?.status())
}

/// One read of a worker's log that gives both its cursor and its status, kept up to date with
/// the events that come after it ([`Snapshot::push`], [`Snapshot::catch_up`]) instead of
/// reading the log again: what `tell` decides before its paste rests on one read.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The seq of the newest event seen (0 for an empty log).
    pub cursor: u64,
    /// The newest events back to what decides the status ([`boundary_for`]), oldest first.
    tail: Vec<Event>,
    role: orch_store::Role,
    pane_alive: bool,
}

impl Snapshot {
    /// Reads `dir`'s log back to what decides its status, once.
    ///
    /// Errors: its event log or its metadata cannot be read.
    pub fn read(dir: &WorkerDir, pane_alive: bool) -> anyhow::Result<Snapshot> {
        let tail = dir.events_back_to(boundary_for(pane_alive))?;
        Ok(Snapshot {
            cursor: tail.last().map_or(0, |e| e.seq),
            tail,
            role: dir.meta()?.role.clone(),
            pane_alive,
        })
    }

    /// The events it holds, oldest first: back to what decides the status.
    pub fn tail(&self) -> &[Event] {
        &self.tail
    }

    /// The status the events seen say ([`of`]).
    pub fn status(&self) -> Status {
        of(&self.role, &self.tail, self.pane_alive)
    }

    /// Takes in an event newer than the cursor; what a new boundary makes moot is let go.
    pub fn push(&mut self, event: &Event) {
        if event.seq <= self.cursor {
            return;
        }
        self.cursor = event.seq;
        if boundary_for(self.pane_alive)(event) {
            self.tail.clear();
        }
        self.tail.push(event.clone());
    }

    /// Takes in what `dir`'s log holds after the cursor (a read from the end back to it).
    ///
    /// Errors: the log cannot be read.
    pub fn catch_up(&mut self, dir: &WorkerDir) -> anyhow::Result<()> {
        for event in dir.events_after(self.cursor)? {
            self.push(&event);
        }
        Ok(())
    }
}

/// `status` as the person sees it: a worker that could take a prompt shows `limited` while a
/// usage limit holds its account (`orch_store::limits`), whether or not a `limit` event
/// reached its log (it may have been spawned onto an account already held).
///
/// Errors: the hold cannot be read.
pub fn with_hold(
    status: Status,
    store: &orch_store::Store,
    meta: &orch_store::Meta,
) -> anyhow::Result<Status> {
    let held = match meta.account.as_deref() {
        Some(account) if status.ready() => orch_store::limits::read(store, account)?.is_some(),
        _ => false,
    };
    Ok(if held { Status::Limited } else { status })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Events from their JSON lines (no seq needed here: given one).
    fn events<const N: usize>(lines: [serde_json::Value; N]) -> Vec<Event> {
        lines
            .into_iter()
            .enumerate()
            .map(|(i, mut line)| {
                line["seq"] = json!(i + 1);
                Event::from_json(line).unwrap()
            })
            .collect()
    }

    /// A snapshot fed events one by one says what a fresh read of the whole log says, and
    /// forgets what a boundary made moot.
    #[test]
    fn a_snapshot_kept_up_to_date_agrees_with_a_fresh_read() {
        let evs = events([
            json!({"event":"session_start"}),
            json!({"event":"prompt"}),
            json!({"event":"permission_request"}),
            json!({"event":"interrupted"}),
            json!({"event":"notification","notification_type":"permission_prompt"}),
            json!({"event":"prompt"}),
            json!({"event":"stop"}),
        ]);
        let mut snap = Snapshot {
            cursor: 0,
            tail: Vec::new(),
            role: orch_store::Role::Worker,
            pane_alive: true,
        };
        assert_eq!(snap.status(), Status::Starting);
        for (i, event) in evs.iter().enumerate() {
            snap.push(event);
            assert_eq!(snap.cursor, event.seq);
            assert_eq!(snap.status(), derive(&evs[..=i], true), "after {i}");
        }
        // The late permission notice after the interrupt says nothing: still idle.
        assert_eq!(derive(&evs[..5], true), Status::Idle);
        // Only the events since the newest boundary (the Stop) are kept; old ones are ignored.
        assert_eq!(snap.tail.len(), 1);
        snap.push(&evs[1]);
        assert_eq!(snap.status(), Status::Idle);
    }

    #[test]
    fn newest_deciding_event_wins() {
        let evs = events([
            json!({"event":"spawned"}),
            json!({"event":"session_start"}),
            json!({"event":"prompt"}),
            json!({"event":"notification","notification_type":"other"}),
        ]);
        assert_eq!(derive(&evs, true), Status::Busy);
        assert_eq!(derive(&evs[..2], true), Status::Idle);
        assert_eq!(derive(&evs, false), Status::Resumable);
        let killed = events([json!({"event":"stop"}), json!({"event":"killed"})]);
        assert_eq!(derive(&killed, false), Status::Dead);
        let exited = events([json!({"event":"session_end","reason":"prompt_input_exit"})]);
        assert_eq!(derive(&exited, false), Status::Dead);
        let hung_up = events([json!({"event":"session_end","reason":"other"})]);
        assert_eq!(derive(&hung_up, false), Status::Resumable);
        // A killed agent may report its session's end after the `killed` event.
        let late = events([
            json!({"event":"killed"}),
            json!({"event":"session_end","reason":"other"}),
        ]);
        assert_eq!(derive(&late, false), Status::Dead);
        let back = events([json!({"event":"killed"}), json!({"event":"resumed"})]);
        assert_eq!(derive(&back, false), Status::Resumable);
        let resumed = events([
            json!({"event":"session_end","reason":"other"}),
            json!({"event":"resumed"}),
        ]);
        assert_eq!(derive(&resumed, true), Status::Starting);
        let perm = events([
            json!({"event":"prompt"}),
            json!({"event":"permission_request"}),
        ]);
        assert_eq!(derive(&perm, true), Status::NeedsInput);
        let auto = events([
            json!({"event":"prompt"}),
            json!({"event":"notification","notification_type":"agent_needs_input"}),
        ]);
        assert_eq!(derive(&auto, true), Status::NeedsInput);
        let cleared = events([
            json!({"event":"stop"}),
            json!({"event":"session_end","reason":"clear"}),
        ]);
        assert_eq!(derive(&cleared, true), Status::Starting);
    }
}
