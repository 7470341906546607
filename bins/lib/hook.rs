//! `orch hook` / `orch-hook`: the command `orch up` registers for Claude Code's hook events.
//!
//! Claude Code runs it as `/bin/sh -c <command>` with one hook input JSON on stdin (the hook
//! inputs documented in Claude Code's hooks reference; what orch reads of them is in
//! docs/observed.md, 1.1). It attributes the event to a worker
//! ([`crate::coordination::roles::attribute`]) and appends one event to that worker's log. It always exits 0
//! and prints nothing (except a Stop `block` that hands a subscriber its inbox): an error is written to `hook.log` in the state directory, never shown to
//! the agent, and a session orch does not manage costs a few `stat`s and writes nothing.
//! Started by orch's Claude Code plugin (`CLAUDE_PLUGIN_ROOT` set), it records nothing for an
//! event that `settings.json` also hands to orch's hook ([`is_plugin_duplicate`]).

use crate::coordination::inbox;
use crate::coordination::roles::{attribute, Attribution, HookEnv, Index};
use anyhow::{Context, Result};
use orch_store::event::{
    Notification, Other, PermissionRequest, Prompt, SessionEnd, SessionStart, Stop, StopFailure,
};
use orch_store::{Kind, WorkerDir};
use orch_store::{Meta, Store};
use serde_json::Value;
use std::io::{Read, Write};

/// Largest hook input read from stdin; more is left unread.
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// How long the hook waits for its input to end: well inside Claude Code's own hook timeout
/// (10 s as `orch up` registers it), so a stdin that stays open and unwritten never holds the
/// agent. The hook then records nothing and exits 0.
const INPUT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs the hook; the exit code is always 0 (Claude Code treats 2 as "block").
pub fn main() -> u8 {
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(run);
    if let Ok(Err(err)) = &outcome {
        orch_store::store::log_unattended(&format!("{err:#}"));
    } else if outcome.is_err() {
        orch_store::store::log_unattended("the hook panicked");
    }
    crate::error::Exit::Ok.code()
}

fn run() -> Result<()> {
    let state = Store::at(orch_store::paths::state_dir()?);
    let env = HookEnv::from_env();
    // The fast path for sessions orch does not manage: no worker was ever spawned here. The
    // input is still drained, so that Claude Code never writes into a closed pipe.
    let managed = env.orch_worker.is_some() || state.root.join("workers").is_dir();
    let Some(input) = read_input(INPUT_DEADLINE, managed)? else {
        orch_store::store::log_unattended(
            "the hook input did not end within 3 s: nothing recorded",
        );
        return Ok(());
    };
    if !managed {
        return Ok(());
    }
    // A state folder another user could change is never written (the error goes to the log
    // only when the folder is the user's own).
    state.check()?;
    let payload: Value = if input.iter().all(u8::is_ascii_whitespace) {
        Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(&input).context("the hook input is not JSON")?
    };
    // Started by orch's Claude Code plugin: only then is settings.json read, to leave the event
    // to orch's settings.json entry when there is one (Claude Code runs both).
    if std::env::var_os("CLAUDE_PLUGIN_ROOT").is_some() {
        let event = payload.get("hook_event_name").and_then(Value::as_str);
        let settings = crate::claude::claude_settings()
            .ok()
            .and_then(|path| std::fs::read_to_string(path).ok());
        if is_plugin_duplicate(settings.as_deref(), event.unwrap_or("")) {
            return Ok(());
        }
    }
    publish_input(&state, &env, &payload)
}

/// Reads the hook input from stdin until it ends, at most [`MAX_INPUT`] bytes (the rest is
/// drained), kept only when `keep`; `None` when it has not ended by `deadline` from now.
///
/// Errors: stdin cannot be read.
fn read_input(deadline: std::time::Duration, keep: bool) -> Result<Option<Vec<u8>>> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let end = std::time::Instant::now() + deadline;
    let stdin = std::io::stdin();
    let mut input = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let timeout = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
        match poll(&mut fds, Some(&timeout)) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(err) => return Err(err).context("cannot wait for the hook input"),
        }
        let n = match stdin.lock().read(&mut chunk) {
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err).context("cannot read the hook input"),
        };
        if n == 0 {
            return Ok(Some(input));
        }
        if keep && (input.len() as u64) < MAX_INPUT {
            let room = (MAX_INPUT as usize - input.len()).min(n);
            input.extend_from_slice(&chunk[..room]);
        }
    }
}

/// Whether a run of the hook started by orch's Claude Code plugin should leave `event` alone
/// because Claude Code's user settings (the text of `settings.json`, `None` when it cannot be
/// read) also register orch's hook for it, with no matcher (or `""`/`*`), so that hook records
/// it. A missing or invalid file, or one without such an entry, means the plugin records.
pub fn is_plugin_duplicate(settings: Option<&str>, event: &str) -> bool {
    let Some(settings) = settings.and_then(|text| serde_json::from_str::<Value>(text).ok()) else {
        return false;
    };
    let Some(entries) = settings.pointer("/hooks").and_then(|h| h.get(event)) else {
        return false;
    };
    entries.as_array().into_iter().flatten().any(|entry| {
        let every = entry
            .get("matcher")
            .is_none_or(|m| matches!(m.as_str(), Some("" | "*")));
        every
            && entry
                .get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|hook| hook.get("command").and_then(Value::as_str))
                .any(crate::claude::settings::is_orch_command)
    })
}

/// Whether a Stop of the worker of `dir` is the empty AfterAgent Gemini CLI sends when its quota
/// dialog's Stop was chosen: its turn already ended in the limit's StopFailure
/// ([`crate::spend::limit::quota_dialog`]), and the Stop would end a `listen` waiting for the
/// task's answer.
fn gemini_after_quota(dir: &orch_store::WorkerDir) -> bool {
    dir.meta().is_ok_and(|m| {
        m.harness == orch_store::Harness::Gemini
            && crate::spend::limit::ended_by_limit_in(dir, m.harness).unwrap_or(false)
    })
}

/// Attributes one hook input `payload` seen with `env` to a worker and publishes its event
/// there. Returns without writing anything when the session is not a worker's.
pub fn publish_input(state: &Store, env: &HookEnv, payload: &Value) -> Result<()> {
    let name = payload
        .get("hook_event_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let session_id = payload.get("session_id").and_then(Value::as_str);
    let renewed =
        name == "SessionStart" && payload.get("source").and_then(Value::as_str) != Some("startup");
    let (id, adopt) = match attribute(env, session_id, renewed, &FileIndex(state)) {
        Attribution::Worker(id) => (id, false),
        Attribution::Session { id, adopt } => (id, adopt),
        Attribution::Unknown => return Ok(()),
    };
    // A valid id and a real folder (not a link that could point anywhere) before any write;
    // its record is read at most once, and only when a step below needs it.
    let dir = state.worker(&id)?;
    // A command worker's turns are its detector's to record: a Claude Code someone started
    // inside it (its shell) is not the worker. Such a session reaches here only to be adopted
    // (a command worker has no session of its own) or by the pane; a worker's own session,
    // named by ORCH_WORKER, skips the metadata read on the hot path.
    if (adopt || env.orch_worker.is_none()) && dir.meta().is_ok_and(Meta::is_command) {
        return Ok(());
    }
    if adopt {
        state.adopt_session(&id, session_id.unwrap_or_default())?;
    }
    if name == "SessionStart" && env.orch_worker.is_none() {
        follow_operator(state, env, dir.meta()?)?;
    }
    if name == "SessionEnd" && from_elsewhere(env, dir.meta()?) {
        return Ok(());
    }
    let mut kind = event_of(name, payload);
    // A subscriber's own Stop hands the model what came into its inbox while it worked.
    let mut block = None;
    if matches!(kind, Kind::Stop(_)) && dir.has_inbox() {
        block = inbox::on_stop(&dir)?;
        if let (Some(_), Kind::Stop(stop)) = (&block, &kind) {
            kind = Kind::StopBlocked(stop.clone());
        }
    }
    let turn = matches!(kind, Kind::Prompt(_) | Kind::Stop(_) | Kind::StopBlocked(_));
    let permission = matches!(kind, Kind::PermissionRequest(_));
    if matches!(kind, Kind::Stop(_)) && gemini_after_quota(&dir) {
        return Ok(());
    }
    let event = crate::spend::limit::publish(&dir, kind)?;
    // A dialog that may be answered from outside its pane is claimed before anything can ask
    // for its answer (the escalation, the notifier's page), so no answer comes too early.
    let claim = if permission
        && crate::coordination::permission::in_own_pane(&dir, env.tmux_pane.as_deref())
    {
        crate::coordination::permission::claim(&dir, event.seq).unwrap_or_else(|err| {
            orch_store::store::log_unattended(&format!("permission request of `{id}`: {err:#}"));
            None
        })
    } else {
        None
    };
    let meta = dir.meta().ok();
    if needs_person(&event) {
        // The notifier tells the person, in its own process: nothing here waits on it.
        if let Err(err) = orch_store::helper::wake_notifier(&state.root) {
            orch_store::store::log_unattended(&format!("notifier: {err:#}"));
        }
    }
    if matches!(event.kind, Kind::Prompt(_))
        && meta.is_some_and(|m| {
            matches!(
                m.harness,
                orch_store::Harness::Codex | orch_store::Harness::Gemini
            )
        })
    {
        // Codex fires no hook for a turn an error ends, Gemini CLI none for its quota dialog:
        // a detached follower reads that end off Codex's rollout, Gemini's screen.
        if let Err(err) = crate::fleet::rollout::ensure_follower(&dir) {
            orch_store::store::log_unattended(&format!("rollout of `{id}`: {err:#}"));
        }
    }
    if turn {
        // A turn begins or ends: a worker with a budget has its spend followed by a detached
        // child while it works (the harness writes its transcript as it goes, and a moment
        // after the Stop).
        if let Err(err) = crate::spend::budget::ensure_follower(&dir) {
            orch_store::store::log_unattended(&format!("budget of `{id}`: {err:#}"));
        }
    }
    if let (Kind::Stop(_), Some(meta)) = (&event.kind, meta) {
        // A turn of a worker in a worktree ended: its branch is checked for conflicts by a
        // detached check (git never runs here).
        if let Err(err) = crate::fleet::conflict::after_stop(&dir, meta) {
            orch_store::store::log_unattended(&format!("conflict check of `{id}`: {err:#}"));
        }
    }
    if permission {
        // The request is recorded whatever happens here; a policy problem only goes to the log.
        let escalated = escalate_permission(&dir, payload, event.seq).unwrap_or_else(|err| {
            orch_store::store::log_unattended(&format!(
                "permission escalation for `{id}`: {err:#}"
            ));
            false
        });
        if crate::coordination::permission::answerable(&dir, env.tmux_pane.as_deref(), escalated) {
            // Claude Code shows its dialog meanwhile: this wait holds nothing up.
            answer_permission(&dir, event.seq, claim)?;
        }
    }
    if let Some(reason) = block {
        let answer = serde_json::json!({"decision": "block", "reason": reason});
        let mut out = std::io::stdout().lock();
        out.write_all(answer.to_string().as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

/// Whether `event` makes its worker wait for the person: a permission dialog or a question,
/// an escalation, a usage limit.
fn needs_person(event: &orch_store::Event) -> bool {
    crate::fleet::status::after(event) == Some(crate::fleet::status::Status::NeedsInput)
        || matches!(event.kind, Kind::Escalation(_) | Kind::Limit(_))
}

/// Waits on the answer to the permission request `request` (its seq) of the worker of `dir`
/// from outside its pane, on `claim` (taken when it was recorded), and prints it as Claude
/// Code's decision when it comes; prints nothing when the dialog was settled otherwise, or
/// another hook holds the claim (`coordination::permission`).
///
/// Errors: the worker's log cannot be read, or stdout cannot be written.
fn answer_permission(
    dir: &WorkerDir,
    request: u64,
    claim: Option<crate::coordination::permission::Claim>,
) -> Result<()> {
    use crate::coordination::permission::{hook_output, WAIT};
    let Some(claim) = claim else {
        // Another hook waits on it: only that one may answer.
        orch_store::store::log_unattended(&format!(
            "permission request {request} of `{}`: another hook waits on its answer",
            dir.id()
        ));
        return Ok(());
    };
    // Settled in the pane, or its agent gone: the dialog was the person's.
    if let Ok((behavior, by)) = claim.await_answer(dir, WAIT)? {
        let mut out = std::io::stdout().lock();
        out.write_all(hook_output(behavior, &by).to_string().as_bytes())?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

/// Classifies a permission request's tool and input with the escalation policy (the project's
/// policy is looked up from the payload's `cwd`) and, when an axis trips, raises an escalation
/// to the worker's parent, bound to the request's seq `request` (deciding it answers the
/// dialog while orch's hook waits on it). Returns whether it raised one.
fn escalate_permission(dir: &WorkerDir, payload: &Value, request: u64) -> Result<bool> {
    use crate::coordination::classify::{Input, Policy};
    let Some(input) = Input::from_payload(payload) else {
        return Ok(false);
    };
    let cwd = payload
        .get("cwd")
        .and_then(Value::as_str)
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let policy = Policy::load(&cwd).unwrap_or_else(|err| {
        orch_store::store::log_unattended(&format!(
            "escalation policy: {err:#}; using the shipped one"
        ));
        Policy::shipped()
    });
    let found = policy.classify(&input);
    if found.is_empty() {
        return Ok(false);
    }
    let tool = payload
        .get("tool_name")
        .and_then(Value::as_str)
        .unwrap_or("a tool");
    let what = payload
        .pointer("/tool_input/command")
        .or_else(|| payload.pointer("/tool_input/file_path"))
        .or_else(|| payload.pointer("/tool_input/url"))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .unwrap_or_else(|| {
            payload
                .get("tool_input")
                .map(Value::to_string)
                .unwrap_or_default()
        });
    let what: String = what.chars().take(200).collect();
    let ask = crate::coordination::escalation::Ask {
        axes: found.axes.clone(),
        summary: format!("{tool} asks permission for `{what}`"),
        options: vec!["allow".into(), "deny".into()],
        detail: Some(
            found
                .hits
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        source: "permission".into(),
        request: Some(request),
    };
    crate::coordination::escalation::raise(dir, ask)?;
    Ok(true)
}

/// Whether a hook comes from another pane than the record's own now: the agent of a pane
/// lost with its tmux server, reporting its end only after `orch resume` (or the operator's
/// return) gave the record a new pane. Its SessionEnd says nothing of the new agent, so it is
/// not recorded. Unknown (no `TMUX_PANE`): not elsewhere.
fn from_elsewhere(env: &HookEnv, meta: &Meta) -> bool {
    let (Some(tmux), Some(pane)) = (env.tmux.as_deref(), env.tmux_pane.as_deref()) else {
        return false;
    };
    let other_pane = meta.pane.as_deref().is_some_and(|p| p != pane);
    let other_server = match (meta.server_pid.as_deref(), crate::tmux::server_pid_of(tmux)) {
        (Some(was), Some(now)) => was != now,
        _ => false,
    };
    other_pane || other_server
}

/// Moves an operator record to the pane a SessionStart of its session comes from, when that is
/// a new pane and its old one is gone: the operator came back on its conversation
/// (`claude --resume` after its tmux server died), and what it subscribed to reaches it there.
fn follow_operator(state: &Store, env: &HookEnv, meta: &Meta) -> Result<()> {
    let (Some(tmux), Some(pane)) = (env.tmux.as_deref(), env.tmux_pane.as_deref()) else {
        return Ok(());
    };
    let Some(socket_path) = crate::tmux::socket_of(tmux) else {
        return Ok(());
    };
    let here =
        meta.pane.as_deref() == Some(pane) && meta.socket_path.as_deref() == Some(socket_path);
    if meta.role != orch_store::Role::Operator || here || crate::fleet::worker::alive(meta) {
        return Ok(());
    }
    let server_pid = crate::tmux::server_pid_of(tmux);
    inbox::move_operator(state, &meta.id, socket_path, server_pid, pane)?;
    Ok(())
}

/// The orch event kind and fields for a Claude Code hook input: what a listener needs and no
/// more (a prompt is kept as its fingerprints, [`crate::delivery::prompt::fingerprint`], never its text).
pub fn event_of(hook_event_name: &str, payload: &Value) -> Kind {
    // A field of the input as text, when it is text (a value of another type is left out).
    let text = |key: &str| payload.get(key).and_then(Value::as_str).map(str::to_string);
    let flag = |key: &str| payload.get(key).and_then(Value::as_bool);
    let session_id = text("session_id");
    match hook_event_name {
        "SessionStart" => Kind::SessionStart(SessionStart {
            session_id,
            source: text("source"),
            model: text("model"),
            detector: None,
        }),
        // Gemini CLI's BeforeAgent comes with each submitted prompt, like UserPromptSubmit.
        "UserPromptSubmit" | "BeforeAgent" => {
            let prompt = payload.get("prompt").and_then(Value::as_str).unwrap_or("");
            Kind::Prompt(Prompt {
                session_id,
                // Codex names the turn the prompt starts (`turn_id`), as its rollout does.
                prompt_id: text("prompt_id").or_else(|| text("turn_id")),
                ..crate::delivery::prompt::fingerprint(prompt)
            })
        }
        "Stop" => Kind::Stop(Stop {
            session_id,
            prompt_id: text("prompt_id"),
            stop_hook_active: flag("stop_hook_active"),
            last_assistant_message: text("last_assistant_message"),
            detector: None,
        }),
        // Gemini CLI's AfterAgent ends each turn, with the reply as `prompt_response`.
        "AfterAgent" => Kind::Stop(Stop {
            session_id,
            stop_hook_active: flag("stop_hook_active"),
            last_assistant_message: text("prompt_response"),
            ..Stop::default()
        }),
        "StopFailure" => Kind::StopFailure(StopFailure {
            session_id,
            prompt_id: text("prompt_id"),
            error: payload.get("error").cloned(),
            last_assistant_message: text("last_assistant_message"),
            until_ms: None,
        }),
        "Notification" => Kind::Notification(Notification {
            session_id,
            message: text("message"),
            // Gemini CLI's `ToolPermission`: it waits for the user to approve a tool.
            notification_type: match text("notification_type").as_deref() {
                Some("ToolPermission") => Some("permission_prompt".into()),
                _ => text("notification_type"),
            },
        }),
        "PermissionRequest" => Kind::PermissionRequest(PermissionRequest {
            session_id,
            tool_name: text("tool_name"),
            tool_input: payload.get("tool_input").cloned(),
        }),
        "SessionEnd" => Kind::SessionEnd(SessionEnd {
            session_id,
            reason: text("reason"),
        }),
        other => Kind::Other(Other {
            session_id,
            hook_event_name: Some(other.to_string()),
        }),
    }
}

struct FileIndex<'a>(&'a Store);

impl Index for FileIndex<'_> {
    fn by_session(&self, session_id: &str) -> Option<String> {
        self.0.session_owner(session_id)
    }
    fn by_pane(&self, socket_path: &str, server_pid: Option<&str>, pane: &str) -> Option<String> {
        self.0.pane_owner(socket_path, server_pid, pane)
    }
    fn exists(&self, id: &str) -> bool {
        orch_store::paths::valid_id(id) && self.0.worker_dir(id).is_dir()
    }
    fn has_session(&self, id: &str) -> bool {
        // An unreadable meta.json counts as having one: adopt nothing on a doubt.
        self.0.meta(id).map_or(true, |m| m.session_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The line a hook input becomes in the log (seq and times aside): `event` and fields.
    fn line(kind: Kind) -> Value {
        let event = orch_store::Event {
            seq: 1,
            ts: String::new(),
            ts_ms: 0,
            kind,
            relay: None,
        };
        event.to_json()
    }

    /// The events in a worker's folder.
    fn logged(state: &Store, id: &str) -> Vec<Value> {
        state
            .worker(id)
            .unwrap()
            .events_after(0)
            .unwrap()
            .iter()
            .map(orch_store::Event::to_json)
            .collect()
    }

    #[test]
    fn stop_keeps_the_last_message_and_prompt_keeps_only_a_hash() {
        let f = line(event_of(
            "Stop",
            &json!({"session_id":"s","hook_event_name":"Stop","stop_hook_active":false,
                    "last_assistant_message":"done","background_tasks":[]}),
        ));
        assert_eq!(f["event"], "stop");
        assert_eq!(f["last_assistant_message"], "done");
        assert!(f.get("background_tasks").is_none());
        let f = line(event_of(
            "UserPromptSubmit",
            &json!({"prompt":"secret plan"}),
        ));
        assert_eq!(f["event"], "prompt");
        assert_eq!(f["prompt_len"], 11);
        assert!(!f.as_object().unwrap().values().any(|v| v == "secret plan"));
    }

    #[test]
    fn plugin_hook_defers_to_orchs_settings_entry_for_the_same_event() {
        let settings = json!({"hooks": {
            "Stop": [{"hooks": [{"type": "command", "command": "true"},
                                {"type": "command", "command": "'/a b/orch-hook'"}]}],
            "Notification": [{"matcher": "idle_prompt",
                              "hooks": [{"type": "command", "command": "/bin/orch-hook"}]}],
            "SessionStart": [{"matcher": "*",
                              "hooks": [{"type": "command", "command": "/bin/orch-hook"}]}],
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "my-hook"}]}],
            "SessionEnd": {"not": "an array"}
        }})
        .to_string();
        let dup = |event| is_plugin_duplicate(Some(&settings), event);
        assert!(dup("Stop"));
        assert!(dup("SessionStart"));
        assert!(
            !dup("Notification"),
            "a matcher may skip some notifications"
        );
        assert!(!dup("UserPromptSubmit"), "not orch's command");
        assert!(!dup("SessionEnd"));
        assert!(!dup("PermissionRequest"), "no entry");
        assert!(!is_plugin_duplicate(None, "Stop"), "no settings file");
        assert!(!is_plugin_duplicate(Some("{not json"), "Stop"));
        assert!(!is_plugin_duplicate(Some(""), "Stop"));
        let plugin_copy = json!({"hooks": {"Stop": [{"hooks": [{"type": "command",
            "command": "${CLAUDE_PLUGIN_ROOT}/hooks/orch-hook.sh"}]}]}});
        assert!(!is_plugin_duplicate(Some(&plugin_copy.to_string()), "Stop"));
    }

    /// Payloads the real Gemini CLI 0.61 handed its hook, verbatim (as its hook saw them on
    /// stdin).
    fn gemini_payload(event: &str) -> Value {
        let text = match event {
            "SessionStart" => {
                r#"{"session_id":"c03e45f7-efb1-4071-9a17-a3d676f6d651","transcript_path":"$LAB/home-gemini/.gemini/tmp/work-gemini/chats/session-2026-11-23T07-44-c03e45f7.jsonl","cwd":"$LAB/work-gemini","hook_event_name":"SessionStart","timestamp":"2026-11-23T07:44:18.416Z","source":"startup"}"#
            }
            "BeforeAgent" => {
                r#"{"session_id":"c03e45f7-efb1-4071-9a17-a3d676f6d651","transcript_path":"$LAB/home-gemini/.gemini/tmp/work-gemini/chats/session-2026-11-23T07-44-c03e45f7.jsonl","cwd":"$LAB/work-gemini","hook_event_name":"BeforeAgent","timestamp":"2026-11-23T07:44:24.593Z","prompt":"trial 1 first prompt line one\nline two END"}"#
            }
            "AfterAgent" => {
                r#"{"session_id":"c03e45f7-efb1-4071-9a17-a3d676f6d651","transcript_path":"$LAB/home-gemini/.gemini/tmp/work-gemini/chats/session-2026-11-23T07-44-c03e45f7.jsonl","cwd":"$LAB/work-gemini","hook_event_name":"AfterAgent","timestamp":"2026-11-23T07:44:24.696Z","prompt":"trial 1 first prompt line one\nline two END","prompt_response":"MOCK-REPLY-12: you said [ial 1 first prompt line one line two END]","stop_hook_active":false}"#
            }
            "SessionEnd" => {
                r#"{"session_id":"c03e45f7-efb1-4071-9a17-a3d676f6d651","transcript_path":"$LAB/home-gemini/.gemini/tmp/work-gemini/chats/session-2026-11-23T07-44-c03e45f7.jsonl","cwd":"$LAB/work-gemini","hook_event_name":"SessionEnd","timestamp":"2026-11-23T07:44:29.607Z","reason":"exit"}"#
            }
            other => panic!("no {other} payload"),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn gemini_events_map_onto_orchs_kinds() {
        let start = gemini_payload("SessionStart");
        let f = line(event_of("SessionStart", &start));
        assert_eq!(f["event"], "session_start");
        assert_eq!(f["source"], "startup");
        assert_eq!(f["session_id"], "c03e45f7-efb1-4071-9a17-a3d676f6d651");

        let before = gemini_payload("BeforeAgent");
        let prompt = before["prompt"].as_str().unwrap();
        let f = line(event_of("BeforeAgent", &before));
        assert_eq!(f["event"], "prompt");
        assert_eq!(f["prompt_hash"], crate::delivery::prompt::hash(prompt));
        assert_eq!(f["prompt_len"], prompt.chars().count());
        assert!(!f.as_object().unwrap().values().any(|v| v == prompt));

        let after = gemini_payload("AfterAgent");
        let f = line(event_of("AfterAgent", &after));
        assert_eq!(f["event"], "stop");
        assert_eq!(f["last_assistant_message"], after["prompt_response"]);
        assert_eq!(f["stop_hook_active"], false);
        assert!(f.get("prompt").is_none());

        let end = gemini_payload("SessionEnd");
        let f = line(event_of("SessionEnd", &end));
        assert_eq!(f["event"], "session_end");
        assert_eq!(f["reason"], "exit");

        // Quoted in observed.md (no dump file): a tool waiting for approval.
        let notification = json!({"session_id":"3c3397a4","hook_event_name":"Notification",
            "notification_type":"ToolPermission",
            "message":"Tool Confirm Shell Command requires execution",
            "details":{"type":"exec","title":"Confirm Shell Command","command":"echo hi"}});
        let f = line(event_of("Notification", &notification));
        assert_eq!(f["event"], "notification");
        assert_eq!(f["notification_type"], "permission_prompt");
        assert!(f.get("details").is_none());
        let status = crate::fleet::status::after(&orch_store::Event::from_json(f).unwrap());
        assert_eq!(status, Some(crate::fleet::status::Status::NeedsInput));
    }

    #[test]
    fn permission_request_records_tool_and_input() {
        let f = line(event_of(
            "PermissionRequest",
            &json!({"tool_name":"Bash","tool_input":{"command":"rm -rf x"}}),
        ));
        assert_eq!(f["event"], "permission_request");
        assert_eq!(f["tool_input"]["command"], "rm -rf x");
    }

    #[test]
    fn records_for_a_worker_and_ignores_strangers() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        let (id, _) = state.new_worker().unwrap();
        state
            .index(&state.session_index("s1").unwrap(), &id)
            .unwrap();
        let env = HookEnv {
            orch_worker: Some(id.clone()),
            ..HookEnv::default()
        };
        publish_input(
            &state,
            &env,
            &json!({"hook_event_name":"Stop","session_id":"s1",
            "last_assistant_message":"hi"}),
        )
        .unwrap();
        publish_input(
            &state,
            &HookEnv::default(),
            &json!({"hook_event_name":"Stop",
            "session_id":"stranger"}),
        )
        .unwrap();
        let events = logged(&state, &id);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["last_assistant_message"], "hi");
    }

    #[test]
    fn a_claude_inside_a_command_worker_records_nothing_there() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        let (id, _) = state.new_worker().unwrap();
        let mut meta = orch_store::Meta::new(&id, "worker", "operator");
        meta.harness = crate::harness::Harness::Command;
        state.write_meta(&meta).unwrap();
        let env = HookEnv {
            orch_worker: Some(id.clone()),
            ..HookEnv::default()
        };
        let start = json!({"hook_event_name":"SessionStart","session_id":"inner",
            "source":"startup"});
        publish_input(&state, &env, &start).unwrap();
        assert!(logged(&state, &id).is_empty());
        // Without ORCH_WORKER (unset in that shell), found by its pane.
        meta.socket_path = Some("/tmp/s".into());
        meta.pane = Some("%9".into());
        state.write_meta(&meta).unwrap();
        state.index(&state.pane_index("/tmp/s", "%9"), &id).unwrap();
        let by_pane = HookEnv {
            tmux: Some("/tmp/s,1,0".into()),
            tmux_pane: Some("%9".into()),
            ..HookEnv::default()
        };
        publish_input(&state, &by_pane, &start).unwrap();
        assert!(logged(&state, &id).is_empty());
        assert_eq!(state.meta(&id).unwrap().session_id, None, "not adopted");
        assert!(state.session_index("inner").is_none_or(|p| !p.exists()));
    }

    #[test]
    fn a_session_end_from_the_pane_a_worker_lost_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        let (id, _) = state.new_worker().unwrap();
        let mut meta = orch_store::Meta::new(&id, "worker", "operator");
        meta.pane = Some("%1".into());
        meta.server_pid = Some("200".into());
        state.write_meta(&meta).unwrap();
        state
            .index(&state.session_index("s1").unwrap(), &id)
            .unwrap();
        let end = json!({"hook_event_name":"SessionEnd","session_id":"s1","reason":"other"});
        let from = |pid: &str, pane: &str| HookEnv {
            orch_worker: Some(id.clone()),
            tmux: Some(format!("/tmp/s,{pid},0")),
            tmux_pane: Some(pane.into()),
        };
        // The agent of the dead server's %1 (pid 100), and of its %3, after the resume.
        publish_input(&state, &from("100", "%1"), &end).unwrap();
        publish_input(&state, &from("200", "%3"), &end).unwrap();
        assert!(logged(&state, &id).is_empty());
        publish_input(&state, &from("200", "%1"), &end).unwrap();
        assert_eq!(logged(&state, &id).len(), 1);
    }
}
