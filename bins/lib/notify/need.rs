//! What waits for the person, read from the store: each [`Need`] has a key that stays the same
//! for as long as that one thing stays open (so it is sent once, and again only on purpose),
//! the time it began, and the text a notification carries, with secrets redacted ([`redact`]).

use crate::coordination::escalation;
use crate::fleet::status::{self, Snapshot, Status};
use anyhow::Result;
use orch_store::{Event, Kind, Store};
use serde_json::{json, Value};
use std::collections::HashMap;

/// How much of an escalation's summary a notification carries, in characters.
pub const SUMMARY_CHARS: usize = 200;

/// One thing that waits for the person.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    /// Stable while it stays open: `input:w3:12` (worker, seq of the event that asked),
    /// `escalation:e4`, `limit:ACCOUNT:SINCE_MS`, `stuck:w3:40` (worker, seq of its last event),
    /// `conflict:w1:w2` (the two workers' ids in order, or a worker and the base branch).
    pub key: String,
    /// One of [`orch_store::config::NEEDS`]: `needs-input`, `escalation`, `budget`, `limit`,
    /// `stuck`, `conflict`.
    pub kind: &'static str,
    /// The worker's id, when one worker is concerned.
    pub worker: Option<String>,
    /// The worker's name (its id when it has none).
    pub name: Option<String>,
    /// When it began, Unix ms.
    pub since_ms: u64,
    /// One line: who needs what (redacted).
    pub title: String,
    /// The detail: what it asks, the axes and options of an escalation (redacted).
    pub text: String,
    /// For an escalation: `{id, axes, summary, options, source}` (summary redacted and cut).
    pub escalation: Option<Value>,
    /// What the person may answer from the phone: an escalation's options, or a Claude Code
    /// permission dialog's ([`crate::coordination::permission::OPTIONS`]).
    pub question: Option<Question>,
}

/// A need the person can answer from a reply topic (`notify::reply`).
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// What an answer names: the escalation's id (`e4`), or `w3-p12` for the permission
    /// request with seq 12 of worker `w3`.
    pub id: String,
    /// The options, answered by their number (1-based); redacted.
    pub options: Vec<String>,
    /// For a permission dialog: the worker's id and the seq of its request.
    pub permission: Option<(String, u64)>,
}

impl Question {
    /// The question of permission request `request` (its seq) of worker `worker`.
    pub fn permission(worker: &str, request: u64) -> Question {
        Question {
            id: format!("{worker}-p{request}"),
            options: crate::coordination::permission::OPTIONS
                .iter()
                .map(|o| o.to_string())
                .collect(),
            permission: Some((worker.to_string(), request)),
        }
    }
}

impl Need {
    /// The notification's JSON (what a webhook is sent): `{orch, key, kind, worker, name,
    /// title, text, since_ms, waited_s, escalation?, question?}` (`question`: `{id, options}`);
    /// `waited_s` counts from its beginning to
    /// `now_ms`.
    pub fn to_json(&self, now_ms: u64) -> Value {
        let mut value = json!({
            "orch": 1,
            "key": self.key,
            "kind": self.kind,
            "worker": self.worker,
            "name": self.name,
            "title": self.title,
            "text": self.text,
            "since_ms": self.since_ms,
            "waited_s": now_ms.saturating_sub(self.since_ms) / 1000,
        });
        if let Some(esc) = &self.escalation {
            value["escalation"] = esc.clone();
        }
        if let Some(q) = &self.question {
            value["question"] = json!({"id": q.id, "options": q.options});
        }
        value
    }

    /// The notification's body: its text and how long it has waited.
    pub fn body(&self, now_ms: u64) -> String {
        let waited = orch_store::clock::span(now_ms.saturating_sub(self.since_ms));
        format!("{}\nwaiting {waited}", self.text)
    }
}

/// Whether the pane of each worker lives, asked of tmux at most once per [`LIVENESS_MS`].
#[derive(Debug, Default)]
pub struct Liveness(HashMap<String, (u64, bool)>);

/// How long a pane's liveness is taken as known, in ms.
const LIVENESS_MS: u64 = 5_000;

impl Liveness {
    fn alive(&mut self, worker: &crate::fleet::worker::Worker, now_ms: u64) -> bool {
        let id = worker.meta.id.clone();
        match self.0.get(&id) {
            Some((at, alive)) if now_ms.saturating_sub(*at) < LIVENESS_MS => *alive,
            _ => {
                let alive = worker.alive();
                self.0.insert(id, (now_ms, alive));
                alive
            }
        }
    }
}

/// What waits now, and how many workers are busy (what stuck detection watches), with a
/// worker stuck once busy and silent for `stuck_ms`.
///
/// Errors: the escalations or holds cannot be read (a worker whose log cannot be read is
/// left out).
pub fn open(
    store: &Store,
    stuck_ms: u64,
    now_ms: u64,
    live: &mut Liveness,
) -> Result<(Vec<Need>, usize)> {
    let escalations = escalation::list(store, true)?;
    let mut needs = Vec::new();
    let mut busy = 0;
    for meta in store.workers()? {
        if meta.role == orch_store::Role::Operator {
            continue;
        }
        let Ok(worker) = crate::fleet::worker::Worker::of(store, meta) else {
            continue;
        };
        let Ok(snapshot) = Snapshot::read(&worker.dir, true) else {
            continue;
        };
        let tail = snapshot.tail();
        let name = worker.meta.name.clone();
        for clash in worker.dir.git_state().conflicts {
            if let Some(need) = conflict_need(store, &worker.meta.id, &name, &clash) {
                if !needs.iter().any(|n: &Need| n.key == need.key) {
                    needs.push(need);
                }
            }
        }
        match snapshot.status() {
            Status::NeedsInput => {
                // A permission request the classifier escalated is sent as that escalation.
                let escalated = escalations
                    .iter()
                    .any(|e| e.worker == worker.meta.id && e.source == "permission");
                if escalated || !live.alive(&worker, now_ms) {
                    continue;
                }
                let answers = crate::coordination::permission::decided_by_hook(worker.meta.harness);
                if let Some(need) = input_need(&worker.meta.id, &name, tail, answers) {
                    needs.push(need);
                }
            }
            Status::Busy => {
                busy += 1;
                let Some(last) = tail.last() else { continue };
                if now_ms.saturating_sub(last.ts_ms) < stuck_ms || !live.alive(&worker, now_ms) {
                    continue;
                }
                let silent = orch_store::clock::span(now_ms.saturating_sub(last.ts_ms));
                needs.push(Need {
                    key: format!("stuck:{}:{}", worker.meta.id, last.seq),
                    kind: "stuck",
                    worker: Some(worker.meta.id.clone()),
                    name: Some(name.clone()),
                    since_ms: last.ts_ms,
                    title: redact(&format!("{name} is stuck")),
                    text: format!("busy and silent for {silent}"),
                    escalation: None,
                    question: None,
                });
            }
            _ => {}
        }
    }
    for esc in &escalations {
        needs.push(escalation_need(store, esc));
    }
    for hold in orch_store::limits::all(store)? {
        // A hold that was escalated is sent as that escalation (one page, with its options).
        let escalated = hold
            .escalation
            .as_ref()
            .is_some_and(|id| escalations.iter().any(|e| &e.id == id));
        if escalated {
            continue;
        }
        let until = match hold.until_ms {
            Some(until) if until > now_ms => format!(
                "resets in {}",
                orch_store::clock::span(until.saturating_sub(now_ms))
            ),
            Some(_) => "reset time passed; continuing".into(),
            None => "no reset time given; orch probes it".into(),
        };
        let text = match hold.message.as_deref() {
            Some(message) => format!("{until}\n{message}"),
            None => until,
        };
        needs.push(Need {
            key: format!("limit:{}:{}", hold.account, hold.since_ms),
            kind: "limit",
            worker: hold.worker.clone(),
            name: hold.worker.clone(),
            since_ms: hold.since_ms,
            title: redact(&format!("usage limit holds account {}", hold.account)),
            text: redact(&text),
            escalation: None,
            question: None,
        });
    }
    Ok((needs, busy))
}

/// The need of a worker at a permission dialog or a question: keyed by the first event of the
/// run of events that say so (a PermissionRequest and the dialog's notice that follows are one
/// need). The permission dialog of a worker whose harness takes a hook's decision (`answers`:
/// Claude Code) can be answered from the phone: it carries the question of its request
/// (whether orch's hook still waits on it is asked when the answer comes).
fn input_need(id: &str, name: &str, tail: &[Event], answers: bool) -> Option<Need> {
    let first = tail
        .iter()
        .find(|e| status::after(e) == Some(Status::NeedsInput))?;
    // The PermissionRequest names the tool and its input: it is preferred to the dialog's
    // notice, whichever came first.
    let request = tail
        .iter()
        .rev()
        .find(|e| matches!(e.kind, Kind::PermissionRequest(_)));
    let what = request
        .into_iter()
        .chain(tail.iter().rev())
        .find_map(|e| match &e.kind {
            Kind::PermissionRequest(p) => {
                let input = p.tool_input.as_ref().map(|input| {
                    input
                        .get("command")
                        .or_else(|| input.get("file_path"))
                        .or_else(|| input.get("url"))
                        .and_then(Value::as_str)
                        .map_or_else(|| input.to_string(), str::to_string)
                });
                Some(format!(
                    "permission dialog: {} {}",
                    p.tool_name.as_deref().unwrap_or("a tool"),
                    cut(&input.unwrap_or_default(), SUMMARY_CHARS)
                ))
            }
            Kind::Notification(n) => {
                let asks = match n.notification_type.as_deref() {
                    Some("permission_prompt") => "permission dialog",
                    _ => "question",
                };
                Some(format!("{asks}: {}", n.message.as_deref().unwrap_or("")))
            }
            _ => None,
        })?;
    let question = request
        .filter(|_| answers)
        .map(|r| Question::permission(id, r.seq));
    Some(Need {
        key: format!("input:{id}:{}", first.seq),
        kind: "needs-input",
        worker: Some(id.to_string()),
        name: Some(name.to_string()),
        since_ms: first.ts_ms,
        title: redact(&format!("{name} needs you")),
        text: redact(&what),
        escalation: None,
        question,
    })
}

/// The need of a conflict of worker `id`'s branch, once per pair: keyed by both workers' ids
/// in order (`conflict:w1:w2`; `conflict:w3:main` for the base branch `main`), so the record
/// each of the two keeps is one page. `None` for a conflict with a branch that has no name.
fn conflict_need(
    store: &Store,
    id: &str,
    name: &str,
    clash: &orch_store::repos::Clash,
) -> Option<Need> {
    let (key, other) = if clash.with.is_empty() {
        (
            format!("conflict:{id}:{}", clash.branch),
            clash.branch.clone(),
        )
    } else {
        let (a, b) = if id < clash.with.as_str() {
            (id, clash.with.as_str())
        } else {
            (clash.with.as_str(), id)
        };
        let other = store
            .meta(&clash.with)
            .map_or_else(|_| clash.with.clone(), |m| m.name);
        (format!("conflict:{a}:{b}"), other)
    };
    if clash.branch.is_empty() {
        return None;
    }
    let files = clash.files.join(", ");
    Some(Need {
        key,
        kind: "conflict",
        worker: Some(id.to_string()),
        name: Some(name.to_string()),
        since_ms: clash.since_ms,
        title: redact(&format!("{name} conflicts with {other}")),
        text: redact(&format!(
            "its branch and {} conflict in {}",
            clash.branch,
            cut(&files, SUMMARY_CHARS)
        )),
        escalation: None,
        question: None,
    })
}

/// The need of an open escalation: a spent budget and a long usage limit raise one too, and
/// are sent as what they are.
fn escalation_need(store: &Store, esc: &escalation::Escalation) -> Need {
    let kind = match esc.source.as_str() {
        "budget" => "budget",
        "limit" => "limit",
        _ => "escalation",
    };
    let name = store
        .meta(&esc.worker)
        .map_or_else(|_| esc.worker.clone(), |m| m.name);
    let axes: Vec<&str> = esc.axes.iter().map(|a| a.as_str()).collect();
    let summary = redact(&cut(&esc.summary, SUMMARY_CHARS));
    let options: Vec<String> = esc.options.iter().map(|o| redact(o)).collect();
    let what = match kind {
        "budget" => "budget reached",
        "limit" => "usage limit",
        _ => "escalation",
    };
    let mut text = format!("{} [{}]: {summary}", esc.id, axes.join(", "));
    if !options.is_empty() {
        text.push_str(&format!("\noptions: {}", options.join(" | ")));
    }
    Need {
        key: format!("escalation:{}", esc.id),
        kind,
        worker: Some(esc.worker.clone()),
        name: Some(name.clone()),
        since_ms: esc.created_ms,
        title: redact(&format!("{name}: {what} ({})", esc.id)),
        text,
        escalation: Some(json!({
            "id": esc.id,
            "axes": axes,
            "summary": summary,
            "options": options,
            "source": esc.source,
        })),
        question: Some(Question {
            id: esc.id.clone(),
            options,
            permission: None,
        }),
    }
}

/// `text`'s first `chars` characters, with `…` when cut.
fn cut(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The token patterns [`redact`] hides: provider keys (Anthropic, OpenAI, Google, AWS,
/// GitHub, GitLab, Slack, ntfy), bearer tokens, JWTs, private key blocks, and the value of
/// `password=`/`token:`-style assignments.
const SECRETS: &[&str] = &[
    r"sk-ant-[A-Za-z0-9_\-]{10,}",
    r"sk-[A-Za-z0-9_\-]{20,}",
    r"gh[pousr]_[A-Za-z0-9]{20,}",
    r"github_pat_[A-Za-z0-9_]{20,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",
    r"AKIA[0-9A-Z]{16}",
    r"AIza[0-9A-Za-z_\-]{30,}",
    r"tk_[A-Za-z0-9]{20,}",
    r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
    r"(?i)bearer\s+[A-Za-z0-9._~+/=\-]{12,}",
];

/// `text` with every secret of a common token shape replaced by `[redacted]`, and the value
/// of an assignment to a secret-sounding name (`password=...`, `api_key: ...`) too.
pub fn redact(text: &str) -> String {
    static PATTERNS: std::sync::OnceLock<(Vec<regex_lite::Regex>, regex_lite::Regex)> =
        std::sync::OnceLock::new();
    let (patterns, assignment) = PATTERNS.get_or_init(|| {
        let patterns = SECRETS
            .iter()
            .map(|p| regex_lite::Regex::new(p).expect("a valid pattern"))
            .collect();
        let assignment = regex_lite::Regex::new(
            r#"(?i)\b([A-Za-z_]*(password|passwd|secret|token|api[_-]?key)[A-Za-z_]*)(\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)"#,
        )
        .expect("a valid pattern");
        (patterns, assignment)
    });
    let mut out = text.to_string();
    for pattern in patterns {
        out = pattern.replace_all(&out, "[redacted]").into_owned();
    }
    assignment
        .replace_all(&out, "${1}${3}[redacted]")
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_common_tokens_and_keeps_the_rest() {
        let cases = [
            "key sk-ant-api03-AbCdEfGhIjKlMnOp here",
            "export OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz",
            "ghp_abcdefghijklmnopqrstuvwxyz0123",
            "xoxb-1234567890-abcdefghij",
            "AKIAABCDEFGHIJKLMNOP",
            "curl -H 'Authorization: Bearer abc.def-ghi_jkl012'",
            "password=hunter2hunter2",
            "tk_abcdefghijklmnopqrstuvwxyz",
        ];
        for case in cases {
            let out = redact(case);
            assert!(out.contains("[redacted]"), "{case} -> {out}");
        }
        for secret in ["hunter2hunter2", "sk-proj-abc", "ghp_abc", "AKIAABCD"] {
            assert!(
                !cases.iter().any(|c| redact(c).contains(secret)),
                "{secret} left"
            );
        }
        assert_eq!(
            redact("git push --force origin main"),
            "git push --force origin main"
        );
    }

    #[test]
    fn a_summary_is_cut_at_200_characters() {
        let long = "x".repeat(250);
        assert_eq!(cut(&long, SUMMARY_CHARS).chars().count(), 201);
        assert_eq!(cut("short", SUMMARY_CHARS), "short");
    }
}
