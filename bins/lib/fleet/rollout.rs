//! The end of a Codex turn that no hook reports: Codex (0.169 to 0.171) fires no Stop for a
//! turn an error ends (a usage limit, a rate limit, a failed request), so orch reads it off the
//! worker's rollout (`CODEX_HOME/sessions/.../rollout-<time>-<thread id>.jsonl`, the transcript
//! Codex writes as it goes; docs/observed.md, 4.1).
//!
//! The hook starts a follower, `orch __rollout ID` (a detached [`Helper`], one per worker), on
//! each prompt event of a Codex worker and goes on at once. The follower waits for the
//! rollout's `task_complete` of the turn the prompt started (the prompt event's `prompt_id` is
//! Codex's `turn_id`); when it carries an `error`, it records a StopFailure for the worker
//! through the hook's own path ([`crate::spend::limit::publish`]), so a usage limit holds the account
//! before the event wakes a `listen`. It leaves when the turn has ended (a Stop came, or the
//! task_complete), or the worker is gone.
//!
//! A Gemini CLI worker's follower reads its screen instead, once a second while a turn is open:
//! its quota dialog (`Keep trying` / `Stop`, docs/observed.md 4.2) fires no hook, and
//! [`crate::spend::limit::quota_dialog`] ends the turn as a limit.

use crate::harness::HarnessExt;
use crate::tmux::Tmux;
use anyhow::Result;
use orch_store::event::StopFailure;
use orch_store::helper::Helper;
use orch_store::worker::File;
use orch_store::{Kind, Store, WorkerDir};
use serde_json::Value;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::mpsc::channel;
use std::time::Duration;

/// Worker `dir`'s rollout follower, `orch __rollout ID`.
fn follower(dir: &WorkerDir) -> Helper {
    Helper::new("__rollout", dir.id(), dir.file(File::RolloutLock))
}

/// Run by the hook on a Codex worker's prompt event: starts its follower unless one runs (the
/// running one reads the newest prompt when the event log changes); never waits for it.
///
/// Errors: the lock file cannot be opened, or `orch` cannot be started.
pub fn ensure_follower(dir: &WorkerDir) -> Result<()> {
    follower(dir).ensure(&dir.store().root)?;
    Ok(())
}

/// The turn worker `dir` is in: the `prompt_id` of its last prompt event when no Stop or
/// StopFailure came after it (`Some("")` for a prompt without one), else `None`.
fn open_turn(dir: &WorkerDir) -> Result<Option<String>> {
    let tail = dir.events_back_to(|e| {
        matches!(
            e.kind,
            Kind::Prompt(_) | Kind::Stop(_) | Kind::StopBlocked(_) | Kind::StopFailure(_)
        )
    })?;
    Ok(match tail.first().map(|e| &e.kind) {
        Some(Kind::Prompt(p)) => Some(p.prompt_id.clone().unwrap_or_default()),
        _ => None,
    })
}

/// The follower of worker `id` (see the module's text): returns at once when another one runs.
///
/// Errors: its files cannot be read or watched, or the event cannot be written.
pub fn follow(state: &Store, id: &str) -> Result<()> {
    let dir = state.worker(id)?;
    let helper = follower(&dir);
    let Some(mut lock) = helper.claim()? else {
        return Ok(());
    };
    loop {
        follow_turns(state, &dir)?;
        // A prompt written while this one was leaving found the lock taken and started none.
        match helper.let_go(lock, || Ok(open_turn(&dir)?.is_some()))? {
            Some(again) => lock = again,
            None => return Ok(()),
        }
    }
}

/// Follows the worker's open turns until none is open or the worker is gone.
fn follow_turns(state: &Store, dir: &WorkerDir) -> Result<()> {
    let (tx, rx) = channel();
    let mut watcher = orch_store::watch::watcher(&[(dir.path(), false)], move |_| {
        let _ = tx.send(());
    })?;
    let mut rollout: Option<Rollout> = None;
    loop {
        let Some(turn) = open_turn(dir)? else {
            return Ok(());
        };
        let worker = crate::fleet::worker::Worker::load(state, dir.id())?;
        if !worker.alive() {
            return Ok(());
        }
        if worker.meta.harness == orch_store::Harness::Gemini {
            // Gemini CLI's quota dialog fires no hook: it is read off the screen.
            let pane = worker.pane()?;
            if worker
                .meta
                .server
                .capture(pane)
                .is_ok_and(|screen| worker.meta.harness.limit_dialog(&screen))
            {
                return crate::spend::limit::quota_dialog(&worker);
            }
            let _ = rx.recv_timeout(Duration::from_secs(1));
            while rx.try_recv().is_ok() {}
            continue;
        }
        if rollout.is_none() {
            let meta = &worker.meta;
            if let Some(path) = meta
                .session_id
                .as_deref()
                .and_then(|sid| meta.harness.transcript(dir.path(), sid))
            {
                if let Some(folder) = path.parent() {
                    watcher.watch(folder, notify::RecursiveMode::NonRecursive)?;
                }
                rollout = Some(Rollout::new(path));
            }
        }
        if let Some(rollout) = rollout.as_mut() {
            rollout.read()?;
            if let Some(end) = rollout.end_of(&turn) {
                if let Some(failure) = end {
                    let failure = StopFailure {
                        session_id: worker.meta.session_id.clone(),
                        ..failure
                    };
                    crate::spend::limit::publish(dir, Kind::StopFailure(failure))?;
                }
                // A turn that ended well has its Stop hook: nothing to add.
                return Ok(());
            }
        }
        // Woken by the event log or the rollout; the second is the look for a rollout not
        // there yet and for a pane that went away without an event.
        let _ = rx.recv_timeout(Duration::from_secs(1));
        while rx.try_recv().is_ok() {}
    }
}

/// What was read of one rollout so far: its complete lines' ends of turns.
struct Rollout {
    path: PathBuf,
    /// Bytes read (up to the last complete line).
    offset: u64,
    /// The latest rate limits a `token_count` line reported, as read from it.
    limits: Option<Value>,
    /// Each turn's end: its id, and the failure when an error ended it.
    ends: Vec<(String, Option<StopFailure>)>,
}

impl Rollout {
    fn new(path: PathBuf) -> Rollout {
        Rollout {
            path,
            offset: 0,
            limits: None,
            ends: Vec::new(),
        }
    }

    /// Reads the lines added since the last read.
    fn read(&mut self) -> Result<()> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let Some(last) = bytes.iter().rposition(|b| *b == b'\n') else {
            return Ok(());
        };
        self.offset += last as u64 + 1;
        for line in bytes[..last].split(|b| *b == b'\n') {
            let Ok(line) = serde_json::from_slice::<Value>(line) else {
                continue;
            };
            self.take(&line);
        }
        Ok(())
    }

    /// Takes one rollout line.
    fn take(&mut self, line: &Value) {
        let payload = &line["payload"];
        if line["type"] != "event_msg" {
            return;
        }
        match payload["type"].as_str() {
            Some("token_count") if payload["rate_limits"].is_object() => {
                self.limits = Some(payload["rate_limits"].clone());
            }
            Some("task_complete") => {
                let turn = payload["turn_id"].as_str().unwrap_or_default().to_string();
                let failure = failure(payload, self.limits.as_ref());
                self.ends.push((turn, failure));
            }
            _ => {}
        }
    }

    /// How turn `turn` ended, once it has: `Some(None)` well, `Some(Some(failure))` by an
    /// error. A prompt without a turn id (`""`) takes the last turn that ended.
    fn end_of(&self, turn: &str) -> Option<Option<StopFailure>> {
        let found = if turn.is_empty() {
            self.ends.last()
        } else {
            self.ends.iter().rev().find(|(id, _)| id == turn)
        };
        found.map(|(_, failure)| failure.clone())
    }
}

/// The StopFailure a `task_complete` payload reports, if it carries an `error`
/// (`{"message": ..., "codex_error_info": ...}`): `error` is `rate_limit` for a plan's usage
/// limit (`usage_limit_exceeded`) or an HTTP 429 Codex gave up on
/// (`{"response_too_many_failed_attempts": {"http_status_code": 429}}`), else the
/// `codex_error_info` as it is; `until_ms` is the latest `resets_at` (Unix seconds) among the
/// windows of `limits` (the turn's last `token_count.rate_limits`) used up to 100%.
pub fn failure(task_complete: &Value, limits: Option<&Value>) -> Option<StopFailure> {
    let error = task_complete.get("error").filter(|e| !e.is_null())?;
    let info = error
        .get("codex_error_info")
        .cloned()
        .unwrap_or(Value::Null);
    let status = info
        .as_object()
        .and_then(|o| o.values().find_map(|v| v["http_status_code"].as_u64()));
    let limited = info == "usage_limit_exceeded" || status == Some(429);
    let until_ms = limits
        .filter(|_| limited)
        .and_then(|limits| {
            ["primary", "secondary"]
                .iter()
                .filter(|w| limits[**w]["used_percent"].as_f64().unwrap_or(0.0) >= 100.0)
                .filter_map(|w| limits[*w]["resets_at"].as_u64())
                .max()
        })
        .map(|s| s * 1000);
    Some(StopFailure {
        prompt_id: task_complete["turn_id"].as_str().map(str::to_string),
        error: Some(if limited {
            Value::from("rate_limit")
        } else {
            info
        }),
        last_assistant_message: error["message"].as_str().map(str::to_string),
        until_ms,
        ..StopFailure::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Lines as Codex 0.169 wrote them for a turn a plan's limit ended (fields cut).
    const PLAN: &str = r#"{"timestamp":"2026-12-05T06:14:05.870Z","type":"event_msg","payload":{"type":"task_started","turn_id":"t1"}}
{"timestamp":"2026-12-05T06:14:05.871Z","ordinal":9,"type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"limit_id":"codex","limit_name":null,"primary":{"used_percent":100.0,"window_minutes":300,"resets_at":1796451375},"secondary":null,"credits":null,"plan_type":null,"rate_limit_reached_type":null}}}
{"timestamp":"2026-12-05T06:14:05.874Z","ordinal":10,"type":"event_msg","payload":{"type":"task_complete","turn_id":"t1","last_agent_message":null,"error":{"message":"You’ve hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit https://chatgpt.com/settings/usage to purchase more credits or try again at 6:16 AM.","codex_error_info":"usage_limit_exceeded"},"duration_ms":131}}
"#;

    fn rollout(text: &str) -> Rollout {
        let mut rollout = Rollout::new(PathBuf::new());
        for line in text.lines() {
            rollout.take(&serde_json::from_str(line).unwrap());
        }
        rollout
    }

    #[test]
    fn a_plan_limit_is_a_rate_limit_with_its_reset_time() {
        let failure = rollout(PLAN).end_of("t1").unwrap().unwrap();
        assert_eq!(failure.error, Some(json!("rate_limit")));
        assert_eq!(failure.until_ms, Some(1_796_451_375_000));
        assert_eq!(failure.prompt_id.as_deref(), Some("t1"));
        assert!(failure
            .last_assistant_message
            .unwrap()
            .contains("usage limit"));
        assert!(rollout(PLAN).end_of("t2").is_none(), "another turn is open");
    }

    #[test]
    fn a_keys_429_is_a_rate_limit_without_a_reset_and_other_errors_are_kept() {
        let done = |info: Value| {
            json!({"type": "task_complete", "turn_id": "t",
                   "error": {"message": "exceeded retry limit, last status: 429 Too Many Requests",
                             "codex_error_info": info}})
        };
        let key = failure(
            &done(json!({"response_too_many_failed_attempts": {"http_status_code": 429}})),
            None,
        )
        .unwrap();
        assert_eq!(key.error, Some(json!("rate_limit")));
        assert_eq!(key.until_ms, None);
        let server = failure(
            &done(json!({"response_too_many_failed_attempts": {"http_status_code": 500}})),
            None,
        )
        .unwrap();
        assert_eq!(
            server.error,
            Some(json!({"response_too_many_failed_attempts": {"http_status_code": 500}}))
        );
        let fine = json!({"type": "task_complete", "turn_id": "t", "last_agent_message": "ok"});
        assert!(failure(&fine, None).is_none());
        let ended = rollout(&format!(
            "{}\n",
            json!({"type": "event_msg", "payload": fine})
        ));
        assert_eq!(ended.end_of("t").map(|f| f.is_none()), Some(true));
    }
}
