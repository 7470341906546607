//! A worker's status, derived from its newest events and from whether its pane exists.

use serde_json::Value;

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
    /// Its pane is gone or its session ended.
    Dead,
}

impl Status {
    /// The word `orch ps` prints: `starting`, `idle`, `busy`, `needs-input`, `error`, `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "starting",
            Status::Idle => "idle",
            Status::Busy => "busy",
            Status::NeedsInput => "needs-input",
            Status::Error => "error",
            Status::Dead => "dead",
        }
    }

    /// Whether a prompt can be delivered now.
    pub fn ready(self) -> bool {
        matches!(self, Status::Idle | Status::Error)
    }
}

/// The status an event leaves a worker in, or `None` when the event says nothing about it.
pub fn after(event: &Value) -> Option<Status> {
    let kind = event.get("event").and_then(Value::as_str)?;
    Some(match kind {
        "spawned" => Status::Starting,
        // `ready`: orch saw the input prompt of a harness that fires SessionStart only with
        // its first prompt (Codex).
        "session_start" | "ready" | "stop" | "interrupted" => Status::Idle,
        "prompt" => Status::Busy,
        "stop_failure" => Status::Error,
        "permission_request" => Status::NeedsInput,
        "notification" => match event.get("notification_type").and_then(Value::as_str) {
            Some("idle_prompt") => Status::Idle,
            // `agent_needs_input`: Claude Code 2.1.332's auto mode cannot reach its safety
            // check and asks the person what to do.
            Some("permission_prompt" | "elicitation_dialog" | "agent_needs_input") => {
                Status::NeedsInput
            }
            _ => return None,
        },
        "session_end" => match event.get("reason").and_then(Value::as_str) {
            Some("clear") => Status::Starting,
            _ => Status::Dead,
        },
        "killed" => Status::Dead,
        _ => return None,
    })
}

/// Whether an event is one that status is derived from.
pub fn decides(event: &Value) -> bool {
    after(event).is_some()
}

/// Whether an event is a Notification that a permission dialog is open. Claude Code sends it
/// ~6 s after the PermissionRequest, so it can arrive after the turn already ended (an
/// interrupt answered the dialog): such a late notice says nothing.
fn permission_notice(event: &Value) -> bool {
    event.get("event").and_then(Value::as_str) == Some("notification")
        && event.get("notification_type").and_then(Value::as_str) == Some("permission_prompt")
}

/// The event a status read goes back to: the newest deciding event that is not a late-prone
/// permission notice (read the log back to it, then [`derive()`]).
pub fn boundary(event: &Value) -> bool {
    decides(event) && !permission_notice(event)
}

/// The status from a worker's events (oldest first, back to a [`boundary`]) and pane liveness.
pub fn derive(events: &[Value], pane_alive: bool) -> Status {
    if !pane_alive {
        return Status::Dead;
    }
    let mut deciding = events.iter().rev().filter(|e| decides(e)).peekable();
    while let Some(event) = deciding.next() {
        if permission_notice(event) {
            // Stale when the turn it belongs to has ended since its PermissionRequest.
            let ended = deciding.peek().is_some_and(|prev| {
                matches!(
                    prev.get("event").and_then(Value::as_str),
                    Some("interrupted" | "stop" | "stop_failure")
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn newest_deciding_event_wins() {
        let evs = [
            json!({"event":"spawned"}),
            json!({"event":"session_start"}),
            json!({"event":"prompt"}),
            json!({"event":"notification","notification_type":"other"}),
        ];
        assert_eq!(derive(&evs, true), Status::Busy);
        assert_eq!(derive(&evs[..2], true), Status::Idle);
        assert_eq!(derive(&evs, false), Status::Dead);
        let perm = [
            json!({"event":"prompt"}),
            json!({"event":"permission_request"}),
        ];
        assert_eq!(derive(&perm, true), Status::NeedsInput);
        let auto = [
            json!({"event":"prompt"}),
            json!({"event":"notification","notification_type":"agent_needs_input"}),
        ];
        assert_eq!(derive(&auto, true), Status::NeedsInput);
        let cleared = [
            json!({"event":"stop"}),
            json!({"event":"session_end","reason":"clear"}),
        ];
        assert_eq!(derive(&cleared, true), Status::Starting);
    }
}
