//! What happened to a worker, typed: one [`Event`] per line of its `events.jsonl`, and one per
//! item of an inbox (the same line, with where it came from, [`Relay`]).
//!
//! The line format is orch's own and stays plain JSON a person reads with `jq`:
//! `{"seq":N,"event":KIND,"ts":RFC3339,"ts_ms":MS,...fields}`. A kind this build does not know
//! (written by a newer orch) is kept whole as [`Kind::Unknown`], never dropped; a field of the
//! wrong type (a harness reporting an object where orch expects text) reads as absent rather
//! than spoiling the event. Kinds are matched on the enum, never compared as strings outside
//! this crate.

use crate::meta::Axis;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One event of a worker's log, or one inbox item.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its sequence number in its log: 1, 2, 3... never repeated.
    pub seq: u64,
    /// When it was recorded, RFC 3339 (UTC).
    pub ts: String,
    /// The same in Unix milliseconds.
    pub ts_ms: u64,
    /// What happened.
    pub kind: Kind,
    /// For an inbox item: the worker it came from and how it is handed over.
    pub relay: Option<Relay>,
}

/// Where an inbox item came from: the publisher (`from`, `from_name`) and the seq of the event
/// in the publisher's log (`from_seq`); `push: false` for an item only kept for `orch inbox`
/// (a `--mode inbox` subscription).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relay {
    pub from: String,
    pub from_name: String,
    pub from_seq: Option<u64>,
    pub push: bool,
}

/// What happened, with the fields a reader needs (the hook's reading of a harness's hook
/// input, or orch's own record of what it did).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Kind {
    /// orch opened the worker's pane (`orch spawn`).
    Spawned(Spawned),
    /// orch saw the input prompt of a harness that fires SessionStart only with its first
    /// prompt (Codex).
    Ready(Ready),
    /// The agent's session started (SessionStart), or a command worker's first screen settled.
    SessionStart(SessionStart),
    /// A prompt was submitted (UserPromptSubmit, Gemini CLI's BeforeAgent): its fingerprints,
    /// never its text.
    Prompt(Prompt),
    /// A turn ended (Stop, Gemini CLI's AfterAgent, a command's quiet screen).
    Stop(Stop),
    /// A turn's Stop that orch blocked to hand the agent its inbox: the turn goes on.
    StopBlocked(Stop),
    /// A turn ended in an API error (StopFailure).
    StopFailure(StopFailure),
    /// The agent notified (a permission dialog, an idle prompt...).
    Notification(Notification),
    /// The agent asks permission for a tool (PermissionRequest).
    PermissionRequest(PermissionRequest),
    /// The agent's session ended (SessionEnd), or a command's program exited.
    SessionEnd(SessionEnd),
    /// `orch interrupt` (or a spent budget) pressed Escape.
    Interrupted(Interrupted),
    /// `orch kill` ended the worker.
    Killed(Killed),
    /// `orch resume` started it again in a new pane.
    Resumed(Resumed),
    /// An operator record moved to a new pane.
    Moved(Moved),
    /// An escalation was raised on the four axes.
    Escalation(Escalation),
    /// An escalation was decided.
    Decision(Decision),
    /// A budget level was crossed.
    Budget(BudgetLevel),
    /// A usage or rate limit holds the worker's account: nothing is typed into it until it
    /// lifts (`orch limits`).
    Limit(Limit),
    /// The limit on its account lifted (its reset time came, a probe got through, or `orch
    /// limits --release`): a turn the limit ended is continued, queued prompts follow.
    Released(Released),
    /// A prompt told while its account was held, kept to be delivered when it lifts.
    Queued(Queued),
    /// A queued prompt was delivered: its `prompt` event is `cursor`.
    Dequeued(Dequeued),
    /// A hook event orch records without reading it.
    Other(Other),
    /// A kind this build does not know, kept whole.
    #[serde(skip)]
    Unknown {
        /// Its `event` name.
        event: String,
        /// Its other fields.
        fields: Map<String, Value>,
    },
}

/// Fields of [`Kind::Spawned`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Spawned {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub harness: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub outfit: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub cwd: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub parent: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: Option<String>,
}

/// Fields of [`Kind::Ready`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ready {
    #[serde(default, deserialize_with = "lenient")]
    pub harness: Option<String>,
}

/// Fields of [`Kind::SessionStart`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionStart {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    /// `startup`, `resume`, `clear`, `compact`.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub source: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<String>,
    /// A command worker's detector settings, described.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub detector: Option<String>,
}

/// Fields of [`Kind::Prompt`]: the fingerprints of the prompt (orch's `prompt` module says how
/// they are made), never its text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Prompt {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_id: Option<String>,
    /// The exact hash.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_hash: Option<String>,
    /// Characters.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_len: Option<u64>,
    /// The loose hash (whitespace, invisible characters, Unicode form and envelope aside).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_loose: Option<String>,
    /// The envelope a harness wrapped the paste in (`pasted_content`).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_envelope: Option<String>,
    /// The exact hash of what was inside the envelope.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_inner_hash: Option<String>,
}

/// Fields of [`Kind::Stop`] and [`Kind::StopBlocked`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stop {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_hook_active: Option<bool>,
    /// The turn's last message.
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_assistant_message: Option<String>,
    /// How a command worker's turn end was read (`quiet`, `quiet+prompt`).
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub detector: Option<String>,
}

/// Fields of [`Kind::StopFailure`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StopFailure {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub prompt_id: Option<String>,
    /// The error as the harness reports it (Claude Code: `rate_limit`, `server_error`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_assistant_message: Option<String>,
}

/// Fields of [`Kind::Notification`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Notification {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub message: Option<String>,
    /// `permission_prompt`, `idle_prompt`, `elicitation_dialog`, `agent_needs_input`...
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub notification_type: Option<String>,
}

/// Fields of [`Kind::PermissionRequest`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PermissionRequest {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_name: Option<String>,
    /// The tool's input as the harness gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_input: Option<Value>,
}

/// Fields of [`Kind::SessionEnd`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SessionEnd {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    /// `clear`, `logout`, `prompt_input_exit`, `exit`, `other`...
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<String>,
}

/// Fields of [`Kind::Interrupted`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Interrupted {
    /// Who interrupted: an actor, or `budget`.
    #[serde(default, deserialize_with = "lenient")]
    pub by: Option<String>,
}

/// Fields of [`Kind::Killed`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Killed {
    #[serde(default, deserialize_with = "lenient")]
    pub by: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub pane_was_alive: Option<bool>,
}

/// Fields of [`Kind::Resumed`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Resumed {
    /// The new pane.
    #[serde(default, deserialize_with = "lenient")]
    pub pane: Option<String>,
    /// The pane it had.
    #[serde(default, deserialize_with = "lenient")]
    pub was: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub session_id: Option<String>,
    /// Whether it went on with its recorded conversation.
    #[serde(default, deserialize_with = "lenient")]
    pub conversation: Option<bool>,
    /// Why it started afresh, if it did.
    #[serde(default, deserialize_with = "lenient")]
    pub fresh: Option<String>,
}

/// Fields of [`Kind::Moved`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Moved {
    #[serde(default, deserialize_with = "lenient")]
    pub pane: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub was: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub socket_path: Option<String>,
}

/// Fields of [`Kind::Escalation`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Escalation {
    /// Its id (`e3`).
    #[serde(default, deserialize_with = "lenient")]
    pub escalation: Option<String>,
    /// The axes it trips.
    #[serde(default, deserialize_with = "lenient_axes")]
    pub axes: Vec<Axis>,
    #[serde(default, deserialize_with = "lenient")]
    pub summary: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub options: Vec<String>,
    /// `worker` (raised with `orch escalate`) or `permission` (a permission request).
    #[serde(default, deserialize_with = "lenient")]
    pub source: Option<String>,
}

/// Fields of [`Kind::Decision`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Decision {
    #[serde(default, deserialize_with = "lenient")]
    pub escalation: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub decision: Option<String>,
    /// Decided by the parent itself (`orch decide --self`).
    #[serde(rename = "self", default, deserialize_with = "lenient")]
    pub by_self: Option<bool>,
    #[serde(default, deserialize_with = "lenient_axes")]
    pub axes: Vec<Axis>,
}

/// Fields of [`Kind::Budget`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BudgetLevel {
    /// The percent of the budget crossed: 80 or 100.
    #[serde(default, deserialize_with = "lenient")]
    pub level: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub spent_usd: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub spent_tokens: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pub budget_usd: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub budget_tokens: Option<u64>,
}

/// Fields of [`Kind::Limit`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Limit {
    /// The account held.
    #[serde(default, deserialize_with = "lenient")]
    pub account: Option<String>,
    /// What reported it: `claude:rate_limit`, `hand`...
    #[serde(default, deserialize_with = "lenient")]
    pub source: Option<String>,
    /// When it resets, Unix ms, when the harness said.
    #[serde(default, deserialize_with = "lenient")]
    pub until_ms: Option<u64>,
    /// Whether this worker's own turn was ended by it (else another worker of the account hit
    /// it and this one is held with it).
    #[serde(default, deserialize_with = "lenient")]
    pub own: Option<bool>,
}

/// Fields of [`Kind::Released`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Released {
    #[serde(default, deserialize_with = "lenient")]
    pub account: Option<String>,
    /// `reset`, `probe` or `hand`.
    #[serde(default, deserialize_with = "lenient")]
    pub by: Option<String>,
}

/// Fields of [`Kind::Queued`]: the prompt's fingerprints, never its text (which waits in the
/// worker's `queue.json`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Queued {
    /// The queue item's id (`q3`).
    #[serde(default, deserialize_with = "lenient")]
    pub queued: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub prompt_hash: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub prompt_len: Option<u64>,
}

/// Fields of [`Kind::Dequeued`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Dequeued {
    /// The queue item's id.
    #[serde(default, deserialize_with = "lenient")]
    pub queued: Option<String>,
    /// The seq of its `prompt` event (`None`: dropped by `orch limits --drop`).
    #[serde(default, deserialize_with = "lenient")]
    pub cursor: Option<u64>,
}

/// Fields of [`Kind::Other`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Other {
    #[serde(
        default,
        deserialize_with = "lenient",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_id: Option<String>,
    /// The hook event's name as the harness gave it.
    #[serde(default, deserialize_with = "lenient")]
    pub hook_event_name: Option<String>,
}

/// A field read leniently: a value of another type reads as absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

/// A list of strings read leniently: what is not a string is left out.
fn lenient_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

/// A list of axes read leniently: what is not an axis's name is left out.
fn lenient_axes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Axis>, D::Error> {
    Ok(lenient_list(d)?
        .iter()
        .filter_map(|name| name.parse().ok())
        .collect())
}

impl Kind {
    /// Its name, as the line's `event` field has it (`stop`, `session_start`...).
    pub fn name(&self) -> &str {
        match self {
            Kind::Spawned(_) => "spawned",
            Kind::Ready(_) => "ready",
            Kind::SessionStart(_) => "session_start",
            Kind::Prompt(_) => "prompt",
            Kind::Stop(_) => "stop",
            Kind::StopBlocked(_) => "stop_blocked",
            Kind::StopFailure(_) => "stop_failure",
            Kind::Notification(_) => "notification",
            Kind::PermissionRequest(_) => "permission_request",
            Kind::SessionEnd(_) => "session_end",
            Kind::Interrupted(_) => "interrupted",
            Kind::Killed(_) => "killed",
            Kind::Resumed(_) => "resumed",
            Kind::Moved(_) => "moved",
            Kind::Escalation(_) => "escalation",
            Kind::Decision(_) => "decision",
            Kind::Budget(_) => "budget",
            Kind::Limit(_) => "limit",
            Kind::Released(_) => "released",
            Kind::Queued(_) => "queued",
            Kind::Dequeued(_) => "dequeued",
            Kind::Other(_) => "other",
            Kind::Unknown { event, .. } => event,
        }
    }

    /// The agent session id the harness reported with it, if any.
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Kind::SessionStart(k) => k.session_id.as_deref(),
            Kind::Prompt(k) => k.session_id.as_deref(),
            Kind::Stop(k) | Kind::StopBlocked(k) => k.session_id.as_deref(),
            Kind::StopFailure(k) => k.session_id.as_deref(),
            Kind::Notification(k) => k.session_id.as_deref(),
            Kind::PermissionRequest(k) => k.session_id.as_deref(),
            Kind::SessionEnd(k) => k.session_id.as_deref(),
            Kind::Other(k) => k.session_id.as_deref(),
            _ => None,
        }
    }

    /// A turn's last message: a Stop's (blocked or not), or what a StopFailure said.
    pub fn message(&self) -> Option<&str> {
        match self {
            Kind::Stop(k) | Kind::StopBlocked(k) => k.last_assistant_message.as_deref(),
            Kind::StopFailure(k) => k.last_assistant_message.as_deref(),
            _ => None,
        }
    }

    /// Why the agent's session is over, when this event says it is: `killed`, or a
    /// SessionEnd other than a `/clear` (which starts a new session in the same pane). A
    /// session over is not always a worker ended for good ([`Kind::ends_for_good`]): a
    /// pane lost with its tmux server can be resumed.
    pub fn ends_session(&self) -> Option<String> {
        match self {
            Kind::Killed(_) => Some("was killed".into()),
            Kind::SessionEnd(k) => match k.reason.as_deref() {
                Some("clear") => None,
                reason => Some(format!(
                    "ended its session (reason `{}`)",
                    reason.unwrap_or("unknown")
                )),
            },
            _ => None,
        }
    }

    /// Whether the worker was ended for good: `killed`, or a session a person ended (`/exit`
    /// in Claude Code, `prompt_input_exit`; a command's own `exit`). Such a worker is dead,
    /// not resumable.
    pub fn ends_for_good(&self) -> bool {
        match self {
            Kind::Killed(_) => true,
            Kind::SessionEnd(k) => {
                matches!(k.reason.as_deref(), Some("exit" | "prompt_input_exit"))
            }
            _ => false,
        }
    }

    /// Whether the worker (re)started with it: `spawned` or `resumed`.
    pub fn starts(&self) -> bool {
        matches!(self, Kind::Spawned(_) | Kind::Resumed(_))
    }

    /// Its fields as a JSON object, `event` included.
    fn to_map(&self) -> Map<String, Value> {
        if let Kind::Unknown { event, fields } = self {
            let mut map = Map::new();
            map.insert("event".into(), event.clone().into());
            map.extend(fields.clone());
            return map;
        }
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// The kind a line's object holds (its `event` and fields); [`Kind::Unknown`] for a kind
    /// this build does not know.
    fn from_map(map: Map<String, Value>) -> Kind {
        match serde_json::from_value::<Kind>(Value::Object(map.clone())) {
            Ok(kind) => kind,
            Err(_) => {
                let mut fields = map;
                let event = match fields.remove("event") {
                    Some(Value::String(name)) => name,
                    _ => String::new(),
                };
                Kind::Unknown { event, fields }
            }
        }
    }
}

impl Event {
    /// The line this event is written as, without its newline.
    pub fn to_json(&self) -> Value {
        let mut line = Map::new();
        line.insert("seq".into(), self.seq.into());
        let mut fields = self.kind.to_map();
        let event = fields.remove("event").unwrap_or(Value::Null);
        line.insert("event".into(), event);
        line.insert("ts".into(), self.ts.clone().into());
        line.insert("ts_ms".into(), self.ts_ms.into());
        if let Some(relay) = &self.relay {
            line.insert("from".into(), relay.from.clone().into());
            line.insert("from_name".into(), relay.from_name.clone().into());
            if let Some(seq) = relay.from_seq {
                line.insert("from_seq".into(), seq.into());
            }
            if !relay.push {
                line.insert("push".into(), false.into());
            }
        }
        for (key, value) in fields {
            line.entry(key).or_insert(value);
        }
        Value::Object(line)
    }

    /// The event a line holds, or `None` when the line is not one (no numeric `seq`).
    pub fn from_json(value: Value) -> Option<Event> {
        let Value::Object(mut map) = value else {
            return None;
        };
        let seq = map.remove("seq")?.as_u64()?;
        let ts = match map.remove("ts") {
            Some(Value::String(ts)) => ts,
            _ => String::new(),
        };
        let ts_ms = map.remove("ts_ms").and_then(|v| v.as_u64()).unwrap_or(0);
        let relay = match map.remove("from") {
            Some(Value::String(from)) => Some(Relay {
                from,
                from_name: match map.remove("from_name") {
                    Some(Value::String(name)) => name,
                    _ => String::new(),
                },
                from_seq: map.remove("from_seq").and_then(|v| v.as_u64()),
                push: map.remove("push").and_then(|v| v.as_bool()).unwrap_or(true),
            }),
            _ => {
                let push = map.remove("push").and_then(|v| v.as_bool());
                push.map(|push| Relay {
                    push,
                    ..Relay::default()
                })
            }
        };
        Some(Event {
            seq,
            ts,
            ts_ms,
            kind: Kind::from_map(map),
            relay,
        })
    }

    /// Whether this inbox item is to be pushed (typed into the subscriber's pane or handed to
    /// its Stop), not only kept for `orch inbox`.
    pub fn pushed(&self) -> bool {
        self.relay.as_ref().is_none_or(|r| r.push)
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Event::from_json(value).ok_or_else(|| serde::de::Error::custom("not an event: no `seq`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(line: Value) -> Event {
        Event::from_json(line).unwrap()
    }

    #[test]
    fn a_line_reads_back_as_written() {
        let line = json!({"seq": 7, "event": "stop", "ts": "2026-12-04T10:00:00.000Z",
            "ts_ms": 1, "session_id": "s", "stop_hook_active": false,
            "last_assistant_message": "done"});
        let event = parse(line.clone());
        assert_eq!(event.seq, 7);
        assert_eq!(event.kind.message(), Some("done"));
        assert!(matches!(event.kind, Kind::Stop(_)));
        assert_eq!(event.to_json(), line);
        assert_eq!(serde_json::to_value(&event).unwrap(), line);
    }

    #[test]
    fn an_unknown_kind_is_kept_whole() {
        let line = json!({"seq": 3, "event": "merge_conflict", "ts": "t", "ts_ms": 5,
            "branch": "w3", "files": 2});
        let event = parse(line.clone());
        assert_eq!(event.kind.name(), "merge_conflict");
        assert!(matches!(event.kind, Kind::Unknown { .. }));
        assert_eq!(event.to_json(), line);
    }

    #[test]
    fn a_field_of_the_wrong_type_reads_as_absent() {
        let event = parse(json!({"seq": 1, "event": "stop", "ts": "t", "ts_ms": 1,
            "last_assistant_message": {"an": "object"}}));
        assert!(matches!(event.kind, Kind::Stop(_)));
        assert_eq!(event.kind.message(), None);
        let odd = parse(
            json!({"seq": 2, "event": "escalation", "ts": "t", "ts_ms": 1,
            "axes": ["taste", 3, "ethics", "beauty"], "options": "yes"}),
        );
        let Kind::Escalation(esc) = odd.kind else {
            panic!("not an escalation")
        };
        assert_eq!(esc.axes, [Axis::Taste, Axis::Ethics]);
        assert!(esc.options.is_empty());
    }

    #[test]
    fn a_line_without_seq_is_no_event() {
        assert!(Event::from_json(json!({"event": "stop"})).is_none());
        assert!(Event::from_json(json!("stop")).is_none());
    }

    #[test]
    fn inbox_items_keep_where_they_came_from() {
        let line = json!({"seq": 2, "event": "stop", "ts": "t", "ts_ms": 1, "from": "w1",
            "from_name": "api", "from_seq": 9, "push": false,
            "last_assistant_message": "x"});
        let item = parse(line.clone());
        let relay = item.relay.clone().unwrap();
        assert_eq!(
            (relay.from.as_str(), relay.from_seq, relay.push),
            ("w1", Some(9), false)
        );
        assert!(!item.pushed());
        assert_eq!(item.to_json(), line);
    }

    #[test]
    fn ends_say_which_end() {
        let end = |reason: &str| {
            Kind::SessionEnd(SessionEnd {
                reason: Some(reason.into()),
                ..SessionEnd::default()
            })
        };
        assert_eq!(end("clear").ends_session(), None);
        assert!(end("other").ends_session().is_some());
        assert!(!end("other").ends_for_good(), "a lost pane is resumable");
        assert!(end("prompt_input_exit").ends_for_good());
        assert!(Kind::Killed(Killed::default()).ends_for_good());
    }
}
