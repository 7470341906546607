//! The audit log: `$ORCH_HOME/audit.jsonl`, one JSON object per line recording who did what to
//! whom and how it ended (done, refused by a role rule, failed). Prompts are logged by hash and
//! length only, never their text.
//!
//! Appends hold an fs2 lock on `audit.jsonl.lock` and write one whole line in one `write`, so
//! concurrent writers (processes or threads) lose nothing; readers take no lock and use only
//! lines that end in a newline.

use anyhow::{bail, Context, Result};
use orch_store::files::{create_private_dir, Lock};
use orch_store::Store;
use serde_json::{Map, Value};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::time::Duration;

/// The audit log's file name in the state directory.
pub const FILE: &str = "audit.jsonl";

/// The keys every entry has; an [`Entry`]'s extra fields never override them.
pub const KEYS: [&str; 7] = [
    "ts", "ts_ms", "actor", "target", "action", "outcome", "cursor",
];

/// The audit log of a state directory: `<root>/audit.jsonl`.
pub fn log_path(state: &Store) -> PathBuf {
    state.root.join(FILE)
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Ok,
    /// A role rule refused it (see [`crate::coordination::rights`]).
    Refused,
    /// It was allowed but failed.
    Error,
}

impl Outcome {
    /// The word written to the log: `ok`, `refused` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

/// One audit record before it is written.
///
/// Build one with [`Entry::new`] and the chained setters, e.g.
/// `Entry::new(actor, "tell").target("w2").cursor(7).prompt(text)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// When it happened (Unix ms); `None` means the time of [`append`].
    pub ts_ms: Option<u64>,
    /// Who did it: `operator`, `operator:<pane>` or a worker id (see [`actor`]).
    pub actor: String,
    /// Whom it was done to: a worker id or an escalation id, if any.
    pub target: Option<String>,
    /// What was done: `spawn`, `tell`, `interrupt`, `kill`, `subscribe`, `unsubscribe`,
    /// `escalate`, `decide`, `refused`...
    pub action: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The cursor of the worker event it produced, if any.
    pub cursor: Option<u64>,
    /// Further fields, written after the fixed ones (keys in [`KEYS`] are ignored).
    pub extra: Map<String, Value>,
}

impl Entry {
    /// An entry for `action` by `actor`, outcome `ok`, no target, no cursor, stamped at append.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Entry {
        Entry {
            ts_ms: None,
            actor: actor.into(),
            target: None,
            action: action.into(),
            outcome: Outcome::Ok,
            cursor: None,
            extra: Map::new(),
        }
    }

    /// Sets the target (a worker or escalation id).
    pub fn target(mut self, target: impl Into<String>) -> Entry {
        self.target = Some(target.into());
        self
    }

    /// Sets the outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Entry {
        self.outcome = outcome;
        self
    }

    /// Sets the cursor of the event the action produced.
    pub fn cursor(mut self, cursor: u64) -> Entry {
        self.cursor = Some(cursor);
        self
    }

    /// Sets the time (Unix ms) instead of the time of the append.
    pub fn at(mut self, ts_ms: u64) -> Entry {
        self.ts_ms = Some(ts_ms);
        self
    }

    /// Adds an extra field.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Entry {
        self.extra.insert(key.into(), value.into());
        self
    }

    /// Records a prompt by its hash (`prompt_sha`, as [`crate::delivery::prompt::hash`]) and its
    /// length in bytes (`prompt_len`), never its text.
    pub fn prompt(self, text: &str) -> Entry {
        let sha = crate::delivery::prompt::hash(text);
        self.field("prompt_sha", sha)
            .field("prompt_len", text.len())
    }

    /// The JSON object written to the log, stamped `now_ms` when the entry has no time.
    pub fn to_json(&self, now_ms: u64) -> Map<String, Value> {
        let ts_ms = self.ts_ms.unwrap_or(now_ms);
        let mut obj = Map::new();
        obj.insert("ts".into(), orch_store::clock::rfc3339(ts_ms).into());
        obj.insert("ts_ms".into(), ts_ms.into());
        obj.insert("actor".into(), self.actor.clone().into());
        obj.insert("target".into(), self.target.clone().into());
        obj.insert("action".into(), self.action.clone().into());
        obj.insert("outcome".into(), self.outcome.as_str().into());
        obj.insert("cursor".into(), self.cursor.into());
        for (key, value) in &self.extra {
            if !obj.contains_key(key) {
                obj.insert(key.clone(), value.clone());
            }
        }
        obj
    }
}

/// The audit name of this process's caller: its worker id (`$ORCH_WORKER`), else
/// `operator:<pane>` inside tmux, else `operator`.
pub fn actor() -> String {
    crate::coordination::roles::Actor::from_env().as_parent()
}

/// Appends `entry` to the audit log as one line, under the log's lock, in one write. Creates
/// the state directory (0700) and the log (0600) if missing. A partial last line left by a
/// crash is closed with a newline first, so it stays an unreadable line of its own instead of
/// spoiling this one.
pub fn append(state: &Store, entry: &Entry) -> Result<()> {
    create_private_dir(&state.root)?;
    let path = log_path(state);
    let _lock = Lock::acquire(&path)?;
    let mut file = orch_store::files::open_log(&path)?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read `{}`", path.display()))?
        .len();
    let mut line = Vec::new();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))
            .and_then(|_| file.read_exact(&mut last))
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        if last[0] != b'\n' {
            line.push(b'\n');
        }
    }
    serde_json::to_writer(&mut line, &entry.to_json(orch_store::clock::now_ms()))?;
    line.push(b'\n');
    file.write_all(&line)
        .with_context(|| format!("cannot append to `{}`", path.display()))?;
    Ok(())
}

/// Which entries [`read`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only entries with `ts_ms` at or after this (Unix ms).
    pub since_ms: Option<u64>,
    /// Only entries whose actor or target is this worker (or escalation) id. `operator` also
    /// matches the operator in any pane (`operator:%3`).
    pub worker: Option<String>,
}

impl Filter {
    /// Whether `entry` passes the filter.
    pub fn matches(&self, entry: &Value) -> bool {
        if let Some(since) = self.since_ms {
            if entry.get("ts_ms").and_then(Value::as_u64).unwrap_or(0) < since {
                return false;
            }
        }
        if let Some(worker) = &self.worker {
            let is = |key: &str| {
                entry.get(key).and_then(Value::as_str).is_some_and(|v| {
                    v == worker || (worker == "operator" && v.starts_with("operator:"))
                })
            };
            if !is("actor") && !is("target") {
                return false;
            }
        }
        true
    }
}

/// The entries of the audit log that pass `filter`, oldest first (in the order written). A
/// missing log is empty; lines that are not JSON objects (a crash's partial line) are skipped.
pub fn read(state: &Store, filter: &Filter) -> Result<Vec<Value>> {
    let path = log_path(state);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let whole = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..=i],
        None => return Ok(Vec::new()),
    };
    Ok(whole
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Value>(line).ok())
        .filter(|entry| entry.is_object() && filter.matches(entry))
        .collect())
}

/// Parses a duration such as `30s`, `15m`, `2h`, `1d` or `1h30m`: one or more whole numbers,
/// each followed by a unit (`d`, `h`, `m`, `s`).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let text = s.trim();
    let hint = "use whole numbers with units `d`, `h`, `m`, `s`, e.g. `30s`, `15m`, `2h`, `1d` \
                or `1h30m`";
    if text.is_empty() {
        bail!("empty duration: {hint}");
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            bail!("invalid duration `{text}`: expected a number at `{rest}`; {hint}");
        }
        let number: u64 = rest[..digits]
            .parse()
            .with_context(|| format!("invalid duration `{text}`: number too large"))?;
        rest = &rest[digits..];
        let unit = rest.chars().next();
        let secs = match unit {
            Some('d') => 86_400,
            Some('h') => 3_600,
            Some('m') => 60,
            Some('s') => 1,
            Some(other) => bail!("invalid duration `{text}`: unknown unit `{other}`; {hint}"),
            None => bail!("invalid duration `{text}`: `{number}` has no unit; {hint}"),
        };
        rest = &rest[1..];
        total = number
            .checked_mul(secs)
            .and_then(|n| total.checked_add(n))
            .with_context(|| format!("invalid duration `{text}`: too long"))?;
    }
    Ok(Duration::from_secs(total))
}

/// One entry as a line of text: `<ts> <actor> <action> <target or -> <outcome>`, then
/// `cursor=N` and the extra fields as `key=value`, e.g.
/// `2026-11-23T10:15:00.123Z operator tell w2 ok cursor=7 prompt_sha=... prompt_len=12`.
pub fn format_line(entry: &Value) -> String {
    let word = |key: &str| match entry.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    };
    let mut line = [
        word("ts"),
        word("actor"),
        word("action"),
        word("target"),
        word("outcome"),
    ]
    .join(" ");
    if let Some(cursor) = entry.get("cursor").filter(|c| !c.is_null()) {
        line.push_str(&format!(" cursor={cursor}"));
    }
    if let Some(obj) = entry.as_object() {
        for (key, value) in obj.iter().filter(|(k, _)| !KEYS.contains(&k.as_str())) {
            let shown = match value {
                Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => s.clone(),
                other => other.to_string(),
            };
            line.push_str(&format!(" {key}={shown}"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs::OpenOptions;
    use std::os::unix::fs::PermissionsExt;

    fn state() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().join("state"),
        };
        (dir, state)
    }

    #[test]
    fn entries_are_whole_json_lines_in_a_private_file() {
        let (_dir, state) = state();
        let entry = Entry::new("operator:%3", "tell")
            .target("w2")
            .cursor(7)
            .prompt("do the thing")
            .at(1_795_428_900_123);
        append(&state, &entry).unwrap();
        append(&state, &Entry::new("w2", "spawn").target("w3")).unwrap();
        let text = std::fs::read_to_string(log_path(&state)).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        assert!(!text.contains("do the thing"), "never the prompt's text");
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(
            first,
            json!({
                "ts": "2026-11-23T10:15:00.123Z", "ts_ms": 1_795_428_900_123u64,
                "actor": "operator:%3", "target": "w2", "action": "tell", "outcome": "ok",
                "cursor": 7, "prompt_sha": crate::delivery::prompt::hash("do the thing"),
                "prompt_len": 12
            })
        );
        let keys: Vec<&str> = first
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(&keys[..7], &KEYS, "fixed keys first, in order");
        let mode = std::fs::metadata(log_path(&state))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let all = read(&state, &Filter::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1]["cursor"], Value::Null);
        assert_eq!(all[1]["outcome"], "ok");
        assert!(all[1]["ts_ms"].as_u64().unwrap() > 1_795_428_900_123 / 2);
    }

    #[test]
    fn extra_fields_never_override_the_fixed_ones() {
        let entry = Entry::new("w1", "kill")
            .field("actor", "someone else")
            .field("outcome", "ok")
            .outcome(Outcome::Error)
            .field("error", "pane gone");
        let obj = entry.to_json(5);
        assert_eq!(obj["actor"], "w1");
        assert_eq!(obj["outcome"], "error");
        assert_eq!(obj["error"], "pane gone");
        assert_eq!(obj["ts_ms"], 5);
    }

    #[test]
    fn read_filters_by_worker_and_since() {
        let (_dir, state) = state();
        let rows = [
            (1_000, "operator", Some("w1"), "spawn"),
            (2_000, "w1", Some("w2"), "spawn"),
            (3_000, "operator:%0", Some("w2"), "tell"),
            (4_000, "w2", None, "escalate"),
            (5_000, "w3", Some("e1"), "decide"),
        ];
        for (ts, actor, target, action) in rows {
            let mut entry = Entry::new(actor, action).at(ts);
            entry.target = target.map(Into::into);
            append(&state, &entry).unwrap();
        }
        let actions = |filter: Filter| -> Vec<u64> {
            read(&state, &filter)
                .unwrap()
                .iter()
                .map(|e| e["ts_ms"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(
            actions(Filter::default()),
            [1_000, 2_000, 3_000, 4_000, 5_000]
        );
        let worker = |w: &str| Filter {
            worker: Some(w.into()),
            ..Filter::default()
        };
        assert_eq!(
            actions(worker("w2")),
            [2_000, 3_000, 4_000],
            "actor or target"
        );
        assert_eq!(actions(worker("w1")), [1_000, 2_000]);
        assert_eq!(actions(worker("e1")), [5_000]);
        assert_eq!(
            actions(worker("operator")),
            [1_000, 3_000],
            "any operator pane"
        );
        assert_eq!(actions(worker("operator:%0")), [3_000]);
        assert_eq!(actions(worker("w")), Vec::<u64>::new(), "no prefix match");
        let since = Filter {
            since_ms: Some(3_000),
            ..Filter::default()
        };
        assert_eq!(actions(since.clone()), [3_000, 4_000, 5_000], "inclusive");
        let both = Filter {
            worker: Some("w2".into()),
            ..since
        };
        assert_eq!(actions(both), [3_000, 4_000]);
    }

    #[test]
    fn missing_log_reads_empty() {
        let (_dir, state) = state();
        assert!(read(&state, &Filter::default()).unwrap().is_empty());
    }

    #[test]
    fn partial_line_from_a_crash_is_skipped_and_does_not_spoil_the_next() {
        let (_dir, state) = state();
        append(&state, &Entry::new("operator", "spawn").target("w1")).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(log_path(&state))
            .unwrap();
        f.write_all(b"{\"ts\":\"2026-").unwrap();
        assert_eq!(read(&state, &Filter::default()).unwrap().len(), 1);
        append(&state, &Entry::new("operator", "kill").target("w1")).unwrap();
        let all = read(&state, &Filter::default()).unwrap();
        let actions: Vec<&str> = all.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["spawn", "kill"]);
    }

    #[test]
    fn concurrent_appends_lose_nothing() {
        let (_dir, state) = state();
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let state = state.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let pad = "z".repeat(700 * (i % 9));
                        let entry = Entry::new(format!("w{t}"), "tell")
                            .cursor(i as u64)
                            .field("pad", pad);
                        append(&state, &entry).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(log_path(&state)).unwrap();
        let mut seen: Vec<(String, u64)> = text
            .lines()
            .map(|line| {
                let e: Value = serde_json::from_str(line).expect("a whole JSON line");
                (
                    e["actor"].as_str().unwrap().into(),
                    e["cursor"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(seen.len(), 800);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 800, "each append exactly once");
    }

    #[test]
    fn durations_parse() {
        let ok = |s: &str| parse_duration(s).unwrap().as_secs();
        assert_eq!(ok("30s"), 30);
        assert_eq!(ok("15m"), 900);
        assert_eq!(ok("2h"), 7_200);
        assert_eq!(ok("1d"), 86_400);
        assert_eq!(ok("1h30m"), 5_400);
        assert_eq!(ok("1d2h3m4s"), 93_784);
        assert_eq!(ok(" 0s "), 0);
    }

    #[test]
    fn bad_durations_say_what_is_wrong() {
        let err = |s: &str| parse_duration(s).unwrap_err().to_string();
        assert!(err("").contains("empty duration"), "{}", err(""));
        assert!(err("15").contains("`15` has no unit"), "{}", err("15"));
        assert!(err("2x").contains("unknown unit `x`"), "{}", err("2x"));
        assert!(
            err("h").contains("expected a number at `h`"),
            "{}",
            err("h")
        );
        assert!(err("1h 30m").contains("expected a number at ` 30m`"));
        assert!(err("-5m").contains("expected a number"));
        assert!(err("99999999999999999999s").contains("too large"));
        assert!(err("999999999999999999d").contains("too long"));
        assert!(err("1.5h").contains("unknown unit `.`"));
        assert!(err("2w").contains("e.g. `30s`"));
    }

    #[test]
    fn text_lines_read_like_a_sentence() {
        let e = json!({
            "ts": "2026-11-23T10:15:00.123Z", "ts_ms": 1, "actor": "operator",
            "target": "w2", "action": "tell", "outcome": "ok", "cursor": 7
        });
        assert_eq!(
            format_line(&e),
            "2026-11-23T10:15:00.123Z operator tell w2 ok cursor=7"
        );
        let refused = json!({
            "ts": "2026-11-23T10:15:00.123Z", "ts_ms": 1, "actor": "w3",
            "target": null, "action": "refused", "outcome": "refused", "cursor": null,
            "rule": "observer-may-not-spawn", "wanted": "spawn", "note": "two words"
        });
        assert_eq!(
            format_line(&refused),
            "2026-11-23T10:15:00.123Z w3 refused - refused rule=observer-may-not-spawn \
             wanted=spawn note=\"two words\""
        );
    }
}
