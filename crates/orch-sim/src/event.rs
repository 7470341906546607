//! The hook events the sim fires and their JSON payloads, in the shapes and field order Claude
//! Code 2.1.197 uses in its TUI (orch's `docs/observed.md`, 1.1).

use serde_json::{json, Map, Value};

/// What every payload of one sim session starts with.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id (a UUID), also exported to hooks as `CLAUDE_CODE_SESSION_ID`.
    pub id: String,
    /// Where Claude Code would keep the transcript: `<claude dir>/projects/sim/<id>.jsonl`.
    /// The sim never writes it.
    pub transcript_path: String,
    /// The sim's working directory, also exported to hooks as `CLAUDE_PROJECT_DIR`.
    pub cwd: String,
    /// The model name reported by SessionStart (`--model`).
    pub model: String,
}

/// One hook event with its own fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The session began (`source: "startup"`).
    SessionStart,
    /// A prompt was submitted; `prompt` is the exact text.
    UserPromptSubmit { prompt_id: String, prompt: String },
    /// A turn ended normally.
    Stop {
        prompt_id: String,
        /// True when this turn was run because a Stop hook blocked the previous stop.
        stop_hook_active: bool,
        last_assistant_message: String,
    },
    /// A turn ended in an API error, instead of Stop.
    StopFailure {
        prompt_id: String,
        /// Claude Code's error kind, e.g. `server_error`, `unknown`.
        error: String,
        last_assistant_message: String,
    },
    /// Something waits for the user; `notification_type` is what Notification matchers match.
    Notification {
        prompt_id: Option<String>,
        message: String,
        notification_type: String,
    },
    /// A tool asks for permission (fired when the dialog opens).
    PermissionRequest {
        prompt_id: String,
        tool_name: String,
        tool_input: Value,
    },
    /// The session ended: `prompt_input_exit` (Ctrl-D, Ctrl-C) or `other` (terminal gone).
    SessionEnd {
        prompt_id: Option<String>,
        reason: String,
    },
}

/// The permission mode every sim payload reports.
const PERMISSION_MODE: &str = "default";

impl Event {
    /// The event's name as used in settings.json and `hook_event_name`.
    pub fn name(&self) -> &'static str {
        match self {
            Event::SessionStart => "SessionStart",
            Event::UserPromptSubmit { .. } => "UserPromptSubmit",
            Event::Stop { .. } => "Stop",
            Event::StopFailure { .. } => "StopFailure",
            Event::Notification { .. } => "Notification",
            Event::PermissionRequest { .. } => "PermissionRequest",
            Event::SessionEnd { .. } => "SessionEnd",
        }
    }

    /// What a hook group's `matcher` is matched against, for the events that honour matchers
    /// in the sim (only Notification, on its type); `None` means matchers are ignored.
    pub fn matcher_target(&self) -> Option<&str> {
        match self {
            Event::Notification {
                notification_type, ..
            } => Some(notification_type),
            _ => None,
        }
    }

    /// The JSON written to the hook's stdin: `session_id`, `transcript_path`, `cwd`, then
    /// `prompt_id`, `permission_mode` and `effort` where Claude Code sends them, then
    /// `hook_event_name` and the event's own fields.
    pub fn payload(&self, session: &Session) -> Value {
        let mut map = Map::new();
        map.insert("session_id".into(), json!(session.id));
        map.insert("transcript_path".into(), json!(session.transcript_path));
        map.insert("cwd".into(), json!(session.cwd));
        let (prompt_id, mode, effort) = match self {
            Event::SessionStart => (None, false, false),
            Event::UserPromptSubmit { prompt_id, .. } => (Some(prompt_id), true, false),
            Event::Stop { prompt_id, .. } | Event::PermissionRequest { prompt_id, .. } => {
                (Some(prompt_id), true, true)
            }
            Event::StopFailure { prompt_id, .. } => (Some(prompt_id), false, true),
            Event::Notification { prompt_id, .. } | Event::SessionEnd { prompt_id, .. } => {
                (prompt_id.as_ref(), false, false)
            }
        };
        if let Some(id) = prompt_id {
            map.insert("prompt_id".into(), json!(id));
        }
        if mode {
            map.insert("permission_mode".into(), json!(PERMISSION_MODE));
        }
        if effort {
            map.insert("effort".into(), json!({"level": "high"}));
        }
        map.insert("hook_event_name".into(), json!(self.name()));
        let mut put = |key: &str, value: Value| {
            map.insert(key.into(), value);
        };
        match self {
            Event::SessionStart => {
                put("source", json!("startup"));
                put("model", json!(session.model));
            }
            Event::UserPromptSubmit { prompt, .. } => put("prompt", json!(prompt)),
            Event::Stop {
                stop_hook_active,
                last_assistant_message,
                ..
            } => {
                put("stop_hook_active", json!(stop_hook_active));
                put("last_assistant_message", json!(last_assistant_message));
                put("background_tasks", json!([]));
                put("session_crons", json!([]));
            }
            Event::StopFailure {
                error,
                last_assistant_message,
                ..
            } => {
                put("error", json!(error));
                put("last_assistant_message", json!(last_assistant_message));
            }
            Event::Notification {
                message,
                notification_type,
                ..
            } => {
                put("message", json!(message));
                put("notification_type", json!(notification_type));
            }
            Event::PermissionRequest {
                tool_name,
                tool_input,
                ..
            } => {
                put("tool_name", json!(tool_name));
                put("tool_input", tool_input.clone());
            }
            Event::SessionEnd { reason, .. } => put("reason", json!(reason)),
        }
        Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            id: "sid".into(),
            transcript_path: "/h/.claude/projects/sim/sid.jsonl".into(),
            cwd: "/w".into(),
            model: "sim".into(),
        }
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn stop_payload_has_claude_field_order() {
        let event = Event::Stop {
            prompt_id: "p".into(),
            stop_hook_active: false,
            last_assistant_message: "hi".into(),
        };
        let payload = event.payload(&session());
        assert_eq!(
            keys(&payload),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "prompt_id",
                "permission_mode",
                "effort",
                "hook_event_name",
                "stop_hook_active",
                "last_assistant_message",
                "background_tasks",
                "session_crons"
            ]
        );
        assert_eq!(payload["hook_event_name"], "Stop");
        assert_eq!(payload["last_assistant_message"], "hi");
    }

    #[test]
    fn session_start_has_no_prompt_id() {
        let payload = Event::SessionStart.payload(&session());
        assert_eq!(
            keys(&payload),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "hook_event_name",
                "source",
                "model"
            ]
        );
        assert_eq!(payload["source"], "startup");
        assert_eq!(payload["model"], "sim");
    }

    #[test]
    fn user_prompt_submit_order() {
        let event = Event::UserPromptSubmit {
            prompt_id: "p".into(),
            prompt: "a\nb".into(),
        };
        let payload = event.payload(&session());
        assert_eq!(
            keys(&payload),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "prompt_id",
                "permission_mode",
                "hook_event_name",
                "prompt"
            ]
        );
        assert_eq!(payload["prompt"], "a\nb");
    }

    #[test]
    fn notification_and_session_end_order() {
        let event = Event::Notification {
            prompt_id: Some("p".into()),
            message: "m".into(),
            notification_type: "idle_prompt".into(),
        };
        assert_eq!(event.matcher_target(), Some("idle_prompt"));
        assert_eq!(
            keys(&event.payload(&session())),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "prompt_id",
                "hook_event_name",
                "message",
                "notification_type"
            ]
        );
        let end = Event::SessionEnd {
            prompt_id: None,
            reason: "other".into(),
        };
        assert_eq!(end.matcher_target(), None);
        assert_eq!(
            keys(&end.payload(&session())),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "hook_event_name",
                "reason"
            ]
        );
    }

    #[test]
    fn stop_failure_and_permission_order() {
        let failure = Event::StopFailure {
            prompt_id: "p".into(),
            error: "server_error".into(),
            last_assistant_message: "API Error: 500".into(),
        };
        assert_eq!(
            keys(&failure.payload(&session())),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "prompt_id",
                "effort",
                "hook_event_name",
                "error",
                "last_assistant_message"
            ]
        );
        let permission = Event::PermissionRequest {
            prompt_id: "p".into(),
            tool_name: "Bash".into(),
            tool_input: json!({"command": "ls"}),
        };
        let payload = permission.payload(&session());
        assert_eq!(
            keys(&payload),
            [
                "session_id",
                "transcript_path",
                "cwd",
                "prompt_id",
                "permission_mode",
                "effort",
                "hook_event_name",
                "tool_name",
                "tool_input"
            ]
        );
        assert_eq!(payload["tool_input"]["command"], "ls");
    }
}
