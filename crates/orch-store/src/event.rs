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
use serde_with::skip_serializing_none;

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
    /// A permission dialog was answered from outside its pane (the phone, or `orch decide` on
    /// its escalation): the hook that waits on it hands the answer to the harness.
    PermissionAnswer(PermissionAnswer),
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
    /// Its worktree's branch no longer merges cleanly with another live worker's branch or
    /// with its base branch (orch's conflict check, after a Stop).
    Conflict(Conflict),
    /// A conflict it had is gone (either side changed, or the other worker ended).
    ConflictCleared(Conflict),
    /// `orch land` took its branch onto the target, or refused it (a conflict, a red test).
    Land(Land),
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

/// Declares event kinds whose fields are all optional: a field written `name: T` is
/// `pub name: Option<T>`, `None` when the line lacks it and, read through [`lenient`], when it
/// holds a value of another type. A kind marked `#[skip_serializing_none]` leaves its `None`
/// fields out of the line (but those marked `#[serialize_always]`); the other kinds write them
/// as `null`, as their lines always have.
macro_rules! optional_fields {
    ($(
        $(#[$attr:meta])*
        pub struct $name:ident {
            $($(#[$field_attr:meta])* $field:ident: $ty:ty,)*
        }
    )*) => {$(
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        pub struct $name {
            $(
                $(#[$field_attr])*
                #[serde(default, deserialize_with = "lenient")]
                pub $field: Option<$ty>,
            )*
        }
    )*};
}

optional_fields! {
    /// Fields of [`Kind::Spawned`].
    pub struct Spawned {
        name: String,
        role: String,
        harness: String,
        outfit: String,
        cwd: String,
        parent: String,
        session_id: String,
    }

    /// Fields of [`Kind::Ready`].
    pub struct Ready {
        harness: String,
    }

    /// Fields of [`Kind::SessionStart`].
    #[skip_serializing_none]
    pub struct SessionStart {
        session_id: String,
        /// `startup`, `resume`, `clear`, `compact`.
        source: String,
        model: String,
        /// A command worker's detector settings, described.
        detector: String,
    }

    /// Fields of [`Kind::Prompt`]: the fingerprints of the prompt (orch's `prompt` module says
    /// how they are made), never its text.
    #[skip_serializing_none]
    pub struct Prompt {
        session_id: String,
        prompt_id: String,
        /// The exact hash.
        prompt_hash: String,
        /// Characters.
        prompt_len: u64,
        /// The loose hash (whitespace, invisible characters, Unicode form and envelope aside).
        prompt_loose: String,
        /// The envelope a harness wrapped the paste in (`pasted_content`).
        prompt_envelope: String,
        /// The exact hash of what was inside the envelope.
        prompt_inner_hash: String,
    }

    /// Fields of [`Kind::Stop`] and [`Kind::StopBlocked`].
    #[skip_serializing_none]
    pub struct Stop {
        session_id: String,
        prompt_id: String,
        stop_hook_active: bool,
        /// The turn's last message.
        last_assistant_message: String,
        /// How a command worker's turn end was read (`quiet`, `quiet+prompt`).
        detector: String,
    }

    /// Fields of [`Kind::StopFailure`].
    #[skip_serializing_none]
    pub struct StopFailure {
        session_id: String,
        prompt_id: String,
        /// The error as the harness reports it (Claude Code: `rate_limit`, `server_error`...;
        /// Codex's as orch reads it off its rollout: `rate_limit` for a usage or rate limit,
        /// else its `codex_error_info`).
        error: Value,
        last_assistant_message: String,
        /// When the limit the error reports lifts, Unix ms, when the harness says it apart from
        /// its message (Codex: the `resets_at` of its rollout's rate limits).
        until_ms: u64,
    }

    /// Fields of [`Kind::Notification`].
    #[skip_serializing_none]
    pub struct Notification {
        session_id: String,
        message: String,
        /// `permission_prompt`, `idle_prompt`, `elicitation_dialog`, `agent_needs_input`...
        notification_type: String,
    }

    /// Fields of [`Kind::PermissionRequest`].
    #[skip_serializing_none]
    pub struct PermissionRequest {
        session_id: String,
        tool_name: String,
        /// The tool's input as the harness gives it.
        tool_input: Value,
    }

    /// Fields of [`Kind::PermissionAnswer`].
    pub struct PermissionAnswer {
        /// The seq of the `permission_request` event it answers.
        request: u64,
        /// `allow` (once) or `deny`.
        behavior: String,
        /// Who answered: `person` (from the phone), or the parent that decided the escalation.
        by: String,
        /// How: `reply` (a channel's reply topic) or `decide` (`orch decide`).
        via: String,
    }

    /// Fields of [`Kind::SessionEnd`].
    #[skip_serializing_none]
    pub struct SessionEnd {
        session_id: String,
        /// `clear`, `logout`, `prompt_input_exit`, `exit`, `other`...
        reason: String,
    }

    /// Fields of [`Kind::Interrupted`].
    pub struct Interrupted {
        /// Who interrupted: an actor, or `budget`.
        by: String,
    }

    /// Fields of [`Kind::Killed`].
    pub struct Killed {
        by: String,
        pane_was_alive: bool,
    }

    /// Fields of [`Kind::Resumed`].
    pub struct Resumed {
        /// The new pane.
        pane: String,
        /// The pane it had.
        was: String,
        session_id: String,
        /// Whether it went on with its recorded conversation.
        conversation: bool,
        /// Why it started afresh, if it did.
        fresh: String,
    }

    /// Fields of [`Kind::Moved`].
    pub struct Moved {
        pane: String,
        was: String,
        socket_path: String,
    }

    /// Fields of [`Kind::Budget`].
    pub struct BudgetLevel {
        /// The percent of the budget crossed: 80 or 100.
        level: u64,
        spent_usd: f64,
        spent_tokens: u64,
        budget_usd: f64,
        budget_tokens: u64,
    }

    /// Fields of [`Kind::Limit`].
    pub struct Limit {
        /// The account held.
        account: String,
        /// What reported it: `claude:rate_limit`, `hand`...
        source: String,
        /// When it resets, Unix ms, when the harness said.
        until_ms: u64,
        /// Whether this worker's own turn was ended by it (else another worker of the account
        /// hit it and this one is held with it).
        own: bool,
    }

    /// Fields of [`Kind::Released`].
    pub struct Released {
        account: String,
        /// `reset`, `probe`, `hand` or `no-worker`.
        by: String,
        /// In the operator's inbox: the workers whose turns orch continued (ids).
        continued: Vec<String>,
        /// In the operator's inbox: the workers it released.
        workers: Vec<String>,
    }

    /// Fields of [`Kind::Queued`]: the prompt's fingerprints, never its text (which waits in
    /// the worker's `queue.json`).
    pub struct Queued {
        /// The queue item's id (`q3`).
        queued: String,
        prompt_hash: String,
        prompt_len: u64,
    }

    /// Fields of [`Kind::Dequeued`].
    pub struct Dequeued {
        /// The queue item's id.
        queued: String,
        /// The seq of its `prompt` event (`None`: dropped by `orch limits --drop`).
        cursor: u64,
    }

    /// Fields of [`Kind::Conflict`] and [`Kind::ConflictCleared`].
    pub struct Conflict {
        /// This worker's branch (`orch/api`).
        branch: String,
        /// The other side: a worker's id, or empty for the base branch.
        with: String,
        /// The other worker's name (empty for the base branch).
        with_name: String,
        /// The other side's branch.
        with_branch: String,
        /// The files that conflict, as `git merge-tree --name-only` lists them (paths from the
        /// repository's top).
        files: Vec<String>,
    }

    /// Fields of [`Kind::Land`].
    pub struct Land {
        /// `landed`, `conflict` or `test_failed`.
        outcome: String,
        /// The worker's branch.
        branch: String,
        /// The target branch.
        into: String,
        /// The target's new commit (landed only).
        commit: String,
        /// The files that conflict (conflict only).
        files: Vec<String>,
        /// The test command that failed (test_failed only).
        test: String,
    }

    /// Fields of [`Kind::Other`].
    #[skip_serializing_none]
    pub struct Other {
        session_id: String,
        /// The hook event's name as the harness gave it.
        #[serialize_always]
        hook_event_name: String,
    }
}

// Escalation and Decision hold lists, read item by item (`lenient_list`, `lenient_axes`), so
// their fields are declared one by one.

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

/// A field read leniently: `null`, or a value of another type, reads as absent.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    Ok(serde_json::from_value::<Option<T>>(value).ok().flatten())
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
            Kind::PermissionAnswer(_) => "permission_answer",
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
            Kind::Conflict(_) => "conflict",
            Kind::ConflictCleared(_) => "conflict_cleared",
            Kind::Land(_) => "land",
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
    fn lines_read_back_byte_for_byte() {
        // As orch writes them: the kind's last field comes first (`to_json` takes `event` out
        // of the kind's map, and serde_json's `remove` swaps the last entry into its place).
        let lines = [
            // Kinds that write an absent field as `null`.
            r#"{"seq":1,"event":"spawned","ts":"t","ts_ms":1,"session_id":null,"name":"api","role":"worker","harness":"codex","outfit":null,"cwd":"/w","parent":"operator"}"#,
            r#"{"seq":2,"event":"budget","ts":"t","ts_ms":2,"budget_tokens":null,"level":80,"spent_usd":1.5,"spent_tokens":null,"budget_usd":2.0}"#,
            r#"{"seq":3,"event":"decision","ts":"t","ts_ms":3,"axes":["taste"],"escalation":"e1","decision":"yes","self":true}"#,
            // Kinds that leave it out, with and without their optional fields.
            r#"{"seq":4,"event":"session_start","ts":"t","ts_ms":4,"source":"startup","session_id":"s"}"#,
            r#"{"seq":5,"event":"session_start","ts":"t","ts_ms":5}"#,
            r#"{"seq":6,"event":"prompt","ts":"t","ts_ms":6,"prompt_loose":"l","session_id":"s","prompt_hash":"h","prompt_len":12}"#,
            r#"{"seq":7,"event":"stop_failure","ts":"t","ts_ms":7,"last_assistant_message":"x","error":{"type":"rate_limit"}}"#,
            r#"{"seq":8,"event":"permission_request","ts":"t","ts_ms":8,"tool_input":{"command":"ls"},"session_id":"s","tool_name":"Bash"}"#,
            // `other` leaves out its session id but always writes its hook event's name.
            r#"{"seq":9,"event":"other","ts":"t","ts_ms":9,"hook_event_name":null}"#,
            r#"{"seq":10,"event":"other","ts":"t","ts_ms":10,"hook_event_name":"PreCompact","session_id":"s"}"#,
        ];
        for line in lines {
            let event: Event = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&event).unwrap(), line);
        }
        // A field of the wrong type reads as absent: left out, or written as `null`.
        let odd = [
            (
                r#"{"seq":11,"event":"stop","ts":"t","ts_ms":11,"session_id":5,"stop_hook_active":"no","last_assistant_message":"done"}"#,
                r#"{"seq":11,"event":"stop","ts":"t","ts_ms":11,"last_assistant_message":"done"}"#,
            ),
            (
                r#"{"seq":12,"event":"killed","ts":"t","ts_ms":12,"by":["w1"],"pane_was_alive":true}"#,
                r#"{"seq":12,"event":"killed","ts":"t","ts_ms":12,"pane_was_alive":true,"by":null}"#,
            ),
            (
                r#"{"seq":13,"event":"stop_failure","ts":"t","ts_ms":13,"error":null}"#,
                r#"{"seq":13,"event":"stop_failure","ts":"t","ts_ms":13}"#,
            ),
        ];
        for (line, written) in odd {
            let event: Event = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&event).unwrap(), written);
        }
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
