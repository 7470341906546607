//! Subscriptions and inboxes: a worker (or the operator's pane) subscribes to another worker's
//! events; the hook copies each matching event into the subscriber's inbox, once and in the
//! publisher's order, and pushes it: through the subscriber's own Stop hook when it is mid-turn
//! (a `block` whose reason is the digest), or typed into its pane as a one-line notice when it
//! is idle (by a detached `orch __deliver` child, so the publisher's hook returns at once).
//!
//! Files, beside the worker's `events.jsonl`:
//! ```text
//! subscribers.json   [{"subscriber": "w3", "events": ["stop"], "mode": "push", "since": 7}]
//! inbox.jsonl        items, same line format as events: {"seq", "event", "ts", "from", ...}
//! inbox.delivered    seq of the last item pushed (by a Stop block or a notice)
//! inbox.acked        seq of the last item acknowledged with `orch inbox --ack`
//! inbox.blocks       consecutive Stop blocks (reset when a Stop passes)
//! ```

use crate::status::{self, Status};
use crate::tmux::Tmux;
use anyhow::{Context, Result};
use orch_store::files::{write_atomic, Lock};
use orch_store::journal as events;
use orch_store::{Meta, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// How many Stops in a row orch blocks to deliver news, well under Claude Code's own cap of 8
/// consecutive blocks.
pub const MAX_BLOCKS: u64 = 3;

/// How a subscriber hears about items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Pushed: a Stop block when mid-turn, a notice typed into the pane when idle.
    Push,
    /// Only kept in the inbox, for `orch inbox`.
    Inbox,
}

/// One subscription, as kept in the publisher's `subscribers.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The subscriber's id (a worker or an operator record).
    pub subscriber: String,
    /// Event kinds copied (`stop`, `notification`, `escalation`...); empty means all.
    pub events: Vec<String>,
    pub mode: Mode,
    /// The publisher's cursor when the subscription began: older events are not copied.
    pub since: u64,
}

impl Subscription {
    /// Whether an event of `kind` is copied.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind || e == "any")
    }
}

fn subscribers_path(state: &Store, publisher: &str) -> PathBuf {
    state.worker_dir(publisher).join("subscribers.json")
}

/// The inbox file of a worker or operator record.
pub fn inbox_path(state: &Store, id: &str) -> PathBuf {
    state.worker_dir(id).join("inbox.jsonl")
}

/// The subscriptions to `publisher` (empty when none).
pub fn subscriptions(state: &Store, publisher: &str) -> Result<Vec<Subscription>> {
    let path = subscribers_path(state, publisher);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("`{}` is not valid", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Adds or replaces `sub` among the subscriptions to `publisher`. Returns false when the same
/// subscription already existed.
pub fn subscribe(state: &Store, publisher: &str, sub: Subscription) -> Result<bool> {
    edit_subscriptions(state, publisher, |subs| {
        if let Some(old) = subs.iter_mut().find(|s| s.subscriber == sub.subscriber) {
            if old.events == sub.events && old.mode == sub.mode {
                return false;
            }
            *old = sub;
        } else {
            subs.push(sub);
        }
        true
    })
}

/// Removes `subscriber`'s subscription to `publisher`; false when there was none.
pub fn unsubscribe(state: &Store, publisher: &str, subscriber: &str) -> Result<bool> {
    edit_subscriptions(state, publisher, |subs| {
        let before = subs.len();
        subs.retain(|s| s.subscriber != subscriber);
        subs.len() != before
    })
}

fn edit_subscriptions(
    state: &Store,
    publisher: &str,
    edit: impl FnOnce(&mut Vec<Subscription>) -> bool,
) -> Result<bool> {
    let path = subscribers_path(state, publisher);
    let _lock = Lock::acquire(&path)?;
    let mut subs = subscriptions(state, publisher)?;
    let changed = edit(&mut subs);
    if changed {
        write_atomic(&path, &serde_json::to_vec_pretty(&subs)?, 0o600)?;
    }
    Ok(changed)
}

/// Copies a publisher's `event` into the inbox of each subscriber that wants it; called by the
/// hook while it holds the publisher's event lock, so inboxes get items in the publisher's
/// order. Returns the subscribers to push to.
pub fn fan_out(state: &Store, publisher: &Meta, event: &Value) -> Result<Vec<String>> {
    let subs = subscriptions(state, &publisher.id)?;
    if subs.is_empty() {
        return Ok(Vec::new());
    }
    let kind = event["event"].as_str().unwrap_or("");
    let seq = event["seq"].as_u64().unwrap_or(0);
    let mut push = Vec::new();
    for sub in subs.iter().filter(|s| s.wants(kind) && seq > s.since) {
        // A subscriber gone, or whose folder is not a real one: nothing is written for it.
        if state.folder(&sub.subscriber).is_err() {
            continue;
        }
        let mut item = Map::new();
        item.insert("from".into(), publisher.id.clone().into());
        item.insert("from_name".into(), publisher.name.clone().into());
        item.insert("from_seq".into(), seq.into());
        if sub.mode == Mode::Inbox {
            item.insert("push".into(), false.into());
        }
        for (k, v) in event.as_object().into_iter().flatten() {
            if !matches!(k.as_str(), "seq" | "event" | "ts" | "ts_ms") {
                item.insert(k.clone(), v.clone());
            }
        }
        put(state, &sub.subscriber, kind, item)?;
        if sub.mode == Mode::Push {
            push.push(sub.subscriber.clone());
        }
    }
    Ok(push)
}

/// Appends an event to worker `id`'s log, copies it into its subscribers' inboxes (under the
/// log's lock, so in order) and pushes it to those that are not mid-turn. Returns its seq.
/// The hook records every Claude Code event this way; orch's own events (escalation,
/// decision, interrupted, killed) too.
pub fn record(state: &Store, id: &str, kind: &str, fields: Map<String, Value>) -> Result<u64> {
    publish(state, id, |path, then| {
        events::append_to(path, kind, fields, then)
    })
}

/// Writes to `id`'s log with `write(log path, then)`, where `then` copies the event written to
/// the subscribers' inboxes under the log's lock; then pushes to them.
fn publish<T>(
    state: &Store,
    id: &str,
    write: impl FnOnce(&std::path::Path, &mut dyn FnMut(&Value) -> Result<()>) -> Result<T>,
) -> Result<T> {
    let dir = state.worker_dir(id);
    let mut pushes = Vec::new();
    let published = dir.join("subscribers.json").exists();
    let written = write(&events::log_path(&dir), &mut |event| {
        if published {
            let meta = state.meta(id)?;
            pushes = fan_out(state, &meta, event)?;
        }
        Ok(())
    })?;
    push_all(state, &pushes)?;
    Ok(written)
}

/// [`record`] for an event mirrored from a remote worker's log ([`events::append_copy`]): kept
/// with its own `seq`, copied to the local subscribers. Returns whether it was new here.
pub fn record_copy(state: &Store, id: &str, event: &Value) -> Result<bool> {
    publish(state, id, |path, then| {
        events::append_copy(path, event, then)
    })
}

/// Pushes `id`'s new inbox items unless it is mid-turn (then its own Stop hook delivers them).
pub fn push(state: &Store, id: &str) -> Result<()> {
    push_all(state, &[id.to_string()])
}

/// Pushes to each of `ids` that is not mid-turn, with one detached child for all of them.
pub fn push_all(state: &Store, ids: &[String]) -> Result<()> {
    let idle: Vec<&String> = ids
        .iter()
        .filter(|id| {
            let tail =
                events::read_back_to(&state.worker_dir(id), status::boundary).unwrap_or_default();
            !matches!(
                status::derive(&tail, true),
                Status::Busy | Status::NeedsInput
            )
        })
        .collect();
    if idle.is_empty() {
        return Ok(());
    }
    push_detached(state, &idle)
}

/// Puts one item of `kind` straight into `id`'s inbox (an escalation for a parent, a decision
/// for a worker). Returns its seq.
pub fn put(state: &Store, id: &str, kind: &str, fields: Map<String, Value>) -> Result<u64> {
    let dir = state.folder(id)?;
    events::append_to(&dir.join("inbox.jsonl"), kind, fields, |_| Ok(()))
}

fn counter(state: &Store, id: &str, name: &str) -> u64 {
    std::fs::read_to_string(state.worker_dir(id).join(name))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn set_counter(state: &Store, id: &str, name: &str, value: u64) -> Result<()> {
    write_atomic(
        &state.worker_dir(id).join(name),
        format!("{value}\n").as_bytes(),
        0o600,
    )
}

/// The inbox items of `id` after `after`, oldest first.
pub fn items_after(state: &Store, id: &str, after: u64) -> Result<Vec<Value>> {
    events::read_after_in(&inbox_path(state, id), after)
}

/// The cursor of the last item acknowledged with `orch inbox --ack`.
pub fn acked(state: &Store, id: &str) -> u64 {
    counter(state, id, "inbox.acked")
}

/// Acknowledges items up to `upto`.
pub fn ack(state: &Store, id: &str, upto: u64) -> Result<()> {
    let path = inbox_path(state, id);
    let _lock = Lock::acquire(&path)?;
    if upto > acked(state, id) {
        set_counter(state, id, "inbox.acked", upto)?;
    }
    Ok(())
}

/// Takes the items not yet pushed to `id` (marking them pushed, under the inbox lock, so two
/// deliverers never push the same item). Items of `--mode inbox` subscriptions are passed
/// over. Empty when there is nothing new.
pub fn claim(state: &Store, id: &str) -> Result<Vec<Value>> {
    let path = inbox_path(state, id);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let _lock = Lock::acquire(&path)?;
    let delivered = counter(state, id, "inbox.delivered");
    let items = events::read_after_in(&path, delivered)?;
    if let Some(last) = items.last().and_then(|i| i["seq"].as_u64()) {
        set_counter(state, id, "inbox.delivered", last)?;
    }
    Ok(items.into_iter().filter(|i| i["push"] != false).collect())
}

/// Gives back claimed items whose delivery failed (only when nothing was claimed since).
pub fn unclaim(state: &Store, id: &str, items: &[Value]) -> Result<()> {
    let (Some(first), Some(last)) = (
        items.first().and_then(|i| i["seq"].as_u64()),
        items.last().and_then(|i| i["seq"].as_u64()),
    ) else {
        return Ok(());
    };
    let _lock = Lock::acquire(&inbox_path(state, id))?;
    if counter(state, id, "inbox.delivered") == last {
        set_counter(state, id, "inbox.delivered", first - 1)?;
    }
    Ok(())
}

/// What the hook answers to a subscriber's own Stop: `Some(reason)` to block the stop and hand
/// the model its unread items, at most [`MAX_BLOCKS`] Stops in a row and never twice for the
/// same items; `None` to let it stop.
pub fn on_stop(state: &Store, id: &str) -> Result<Option<String>> {
    let blocks = counter(state, id, "inbox.blocks");
    if blocks >= MAX_BLOCKS {
        set_counter(state, id, "inbox.blocks", 0)?;
        return Ok(None);
    }
    let items = claim(state, id)?;
    if items.is_empty() {
        if blocks > 0 {
            set_counter(state, id, "inbox.blocks", 0)?;
        }
        return Ok(None);
    }
    set_counter(state, id, "inbox.blocks", blocks + 1)?;
    Ok(Some(digest(&items)))
}

/// One item in a line of text, with no control character in it ([`crate::controls::strip`]):
/// its texts come from other workers and are typed into panes (a notice) or handed to a
/// model (a Stop block's digest).
pub fn describe(item: &Value) -> String {
    let text = render(item);
    crate::controls::strip(&text).0.into_owned()
}

fn render(item: &Value) -> String {
    let s = |k: &str| item[k].as_str().unwrap_or("").to_string();
    let from = match (s("from").as_str(), s("from_name").as_str()) {
        ("", _) => "orch".to_string(),
        (id, name) if name.is_empty() || name == id => id.to_string(),
        (id, name) => format!("{id} ({name})"),
    };
    match item["event"].as_str().unwrap_or("") {
        "stop" => format!(
            "{from} finished a turn: {}",
            quote(&s("last_assistant_message"), 300)
        ),
        "stop_failure" => format!(
            "{from} failed: {}",
            quote(&s("last_assistant_message"), 200)
        ),
        "notification" => format!("{from} needs attention: {}", s("message")),
        "permission_request" => format!(
            "{from} asks permission for {}: {}",
            s("tool_name"),
            quote(&item["tool_input"].to_string(), 200)
        ),
        "escalation" => format!(
            "escalation {} from {from} on {}: {}{}. Decide with `orch decide {} TEXT`",
            s("escalation"),
            axes_text(item),
            s("summary"),
            options_text(item),
            s("escalation")
        ),
        "decision" => format!(
            "decision on your escalation {}: {}",
            s("escalation"),
            s("decision")
        ),
        "session_end" | "killed" => format!("{from} ended ({})", s("reason")),
        other => format!("{from}: {other}"),
    }
}

fn axes_text(item: &Value) -> String {
    let axes: Vec<&str> = item["axes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    axes.join("+")
}

fn options_text(item: &Value) -> String {
    let options: Vec<&str> = item["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if options.is_empty() {
        String::new()
    } else {
        format!(" (options: {})", options.join(" | "))
    }
}

fn quote(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = flat.chars().take(max).collect();
    if cut.len() < flat.len() {
        format!("\"{cut}…\"")
    } else {
        format!("\"{cut}\"")
    }
}

/// The digest a Stop block hands the model: one line per item.
pub fn digest(items: &[Value]) -> String {
    let mut text = format!(
        "orch: {} new item{} in your inbox while you worked:\n",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    for item in items {
        text.push_str("- ");
        text.push_str(&describe(item));
        text.push('\n');
    }
    text.push_str("Take them into account, then go on. (`orch inbox` shows them again.)");
    text
}

/// The one-line notice typed into an idle subscriber's pane.
pub fn notice(items: &[Value]) -> String {
    let lines: Vec<String> = items.iter().map(describe).collect();
    format!("[orch inbox] {}", lines.join(" | "))
}

/// Starts one detached `orch __deliver ID...` that types the news into idle subscribers'
/// panes; returns at once (the child is in its own process group and outlives the caller).
pub fn push_detached(state: &Store, ids: &[&String]) -> Result<()> {
    orch_store::paths::orch_detached(&state.root)?
        .arg("__deliver")
        .args(ids)
        .env_remove("ORCH_WORKER")
        .spawn()
        .context("cannot start the inbox delivery")?;
    Ok(())
}

/// The detached delivery (`orch __deliver ID...`): delivers to each subscriber at once, in a
/// thread each (see [`deliver`]); returns the first error.
pub fn deliver_all(state: &Store, ids: &[String]) -> Result<()> {
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|id| scope.spawn(move || deliver(state, id)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("delivery panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Delivers to one subscriber: waits until it is idle, takes the items nobody pushed yet, and
/// types them as one notice through the acknowledged `tell` path. Items its Stop hook
/// delivered meanwhile are not typed again.
pub fn deliver(state: &Store, id: &str) -> Result<()> {
    let meta = state.meta(id)?;
    let worker = crate::worker::Worker {
        state: state.clone(),
        meta,
    };
    // A command worker (a shell, a REPL) would run a typed notice as input: its items wait in
    // its inbox for `orch inbox`.
    if worker.meta.pane.is_none() || !worker.alive() || worker.meta.is_command() {
        return Ok(());
    }
    if let Some(remote) = worker.meta.remote.clone() {
        return deliver_remote(state, id, &remote);
    }
    let opts = crate::delivery::Options {
        command: false,
        now: false,
        ready_timeout: std::time::Duration::from_secs(600),
    };
    crate::delivery::wait_ready(&worker, opts.ready_timeout)?;
    let _turn = Lock::acquire(&state.worker_dir(id).join("deliver"))?;
    let items = claim(state, id)?;
    if items.is_empty() {
        return Ok(());
    }
    if let Err(err) = crate::delivery::deliver(&worker, &notice(&items), opts) {
        unclaim(state, id, &items)?;
        return Err(err);
    }
    Ok(())
}

/// [`deliver`] to a subscriber on another host: the host's orch types the notice
/// (`orch tell ID -`, which waits there until the worker is idle).
fn deliver_remote(state: &Store, id: &str, remote: &orch_store::Remote) -> Result<()> {
    let _turn = Lock::acquire(&state.worker_dir(id).join("deliver"))?;
    let items = claim(state, id)?;
    if items.is_empty() {
        return Ok(());
    }
    let host = crate::host::Host::new(&remote.dest)?;
    let argv = ["--json", "tell", &remote.id, "-", "--wait", "600"];
    let text = notice(&items);
    if let Err(err) = host.orch(state, &argv, Some(text.as_bytes())) {
        unclaim(state, id, &items)?;
        return Err(err);
    }
    Ok(())
}

/// The record that stands for the operator in this environment: the operator's tmux pane
/// (its Claude Code session's hooks are attributed to it by that pane), or, outside tmux, the
/// person's own record `operator`. Created on first use.
pub fn operator_record(state: &Store) -> Result<String> {
    // The caller is the operator: its Claude Code session id is the record's.
    let session_id = std::env::var("CLAUDE_CODE_SESSION_ID").ok();
    match crate::tmux::Caller::from_env() {
        Some(caller) => ensure_operator(
            state,
            Some((
                &caller.socket_path,
                caller.server_pid.as_deref(),
                &caller.pane,
            )),
            session_id.as_deref(),
        ),
        None => ensure_operator(state, None, None),
    }
}

/// The record id for a `parent` as stored in metadata: a worker id, `operator:%N` (that pane's
/// operator record, created when missing) or `operator`.
pub fn parent_record(state: &Store, parent: &str, socket_path: Option<&str>) -> Result<String> {
    match (parent.strip_prefix("operator:"), socket_path) {
        // The caller here is a worker (or its hook): its session is not the operator's.
        (Some(pane), Some(sock)) => ensure_operator(state, Some((sock, None, pane)), None),
        _ if parent.is_empty() || parent.starts_with("operator") => {
            ensure_operator(state, None, None)
        }
        _ => Ok(parent.to_string()),
    }
}

/// The operator record of a pane (`(socket path, pane id)`), indexed by that pane so the hook
/// attributes the operator's session to it; or, with no pane, the record `operator`.
///
/// The operator's Claude Code session id (`session_id`: `CLAUDE_CODE_SESSION_ID` when the
/// operator itself runs orch, set for the commands its Bash tool runs) is kept and indexed
/// too: an operator that comes back in a new pane on the same conversation (`claude
/// --resume`, after its tmux server died) is the same record, moved to its new pane
/// ([`move_operator`]), so what it subscribed to still reaches it.
///
/// `pane` is `(socket path, server pid if known, pane id)`.
fn ensure_operator(
    state: &Store,
    pane: Option<(&str, Option<&str>, &str)>,
    session_id: Option<&str>,
) -> Result<String> {
    state.ensure()?;
    let Some((socket_path, server_pid, pane)) = pane else {
        let id = "operator";
        if !exists(state, id) {
            orch_store::files::create_private_dir(&state.worker_dir(id))?;
            state.write_meta(&Meta::new(id, "operator", "person"))?;
        }
        return Ok(id.into());
    };
    let by_pane = state
        .pane_owner(socket_path, server_pid, pane)
        .filter(|id| exists(state, id));
    let by_session = session_id
        .and_then(|sid| state.session_owner(sid))
        .filter(|id| {
            state
                .meta(id)
                .is_ok_and(|m| m.role == orch_store::Role::Operator)
        });
    let id = match (by_pane, by_session) {
        (Some(id), _) => {
            // Registered before orch tagged operator panes, or tagged by a dead server.
            if let Ok(meta) = state.meta(&id) {
                tag_operator_pane(&meta);
            }
            id
        }
        (None, Some(id)) => {
            move_operator(state, &id, socket_path, server_pid, pane)?;
            id
        }
        (None, None) => {
            let (id, _) = state.new_record("op")?;
            let meta = Meta {
                harness: crate::harness::Harness::Claude,
                server: crate::tmux::TmuxServer {
                    socket_name: None,
                    socket_path: Some(socket_path.into()),
                },
                socket_path: Some(socket_path.into()),
                pane: Some(pane.into()),
                server_pid: server_pid.map(str::to_string),
                cwd: std::env::current_dir().unwrap_or_default(),
                ..Meta::new(&id, "operator", "person")
            };
            state.write_meta(&meta)?;
            state.index_pane(socket_path, server_pid, pane, &id)?;
            tag_operator_pane(&meta);
            id
        }
    };
    if let Some(sid) = session_id {
        claim_session(state, &id, sid)?;
    }
    Ok(id)
}

/// Keeps `sid` as operator record `id`'s session, indexed to it unless a worker has it.
fn claim_session(state: &Store, id: &str, sid: &str) -> Result<()> {
    if state.session_index(sid).is_none() {
        return Ok(());
    }
    match state.session_owner(sid) {
        Some(owner) if owner == id => Ok(()),
        Some(owner) if exists(state, &owner) => Ok(()),
        _ => state.adopt_session(id, sid),
    }
}

/// Moves operator record `id` to `pane` on the server at `socket_path` (its old pane is gone:
/// the operator came back in a new one), indexing the new pane. Its subscriptions, inbox and
/// escalations are the record's, so they follow.
pub fn move_operator(
    state: &Store,
    id: &str,
    socket_path: &str,
    server_pid: Option<&str>,
    pane: &str,
) -> Result<Meta> {
    let old = state.meta(id)?;
    let meta = state.update_meta(id, |m| {
        m.server = crate::tmux::TmuxServer {
            socket_name: None,
            socket_path: Some(socket_path.into()),
        };
        m.socket_path = Some(socket_path.into());
        m.pane = Some(pane.into());
        m.server_pid = server_pid.map(str::to_string);
    })?;
    if let (Some(sock), Some(was)) = (&old.socket_path, &old.pane) {
        let stale = state.pane_index(sock, was);
        if read_id(&stale).as_deref() == Some(id) {
            let _ = std::fs::remove_file(stale);
        }
    }
    state.index_pane(socket_path, server_pid, pane, id)?;
    tag_operator_pane(&meta);
    events::append(
        &state.worker_dir(id),
        "moved",
        events::fields(json!({"pane": pane, "was": old.pane, "socket_path": socket_path})),
    )?;
    Ok(meta)
}

/// `orch resume opN` run in the operator's new pane: operator record `id`, whose pane is gone,
/// becomes this pane's (subscriptions, inbox and escalations follow), whatever conversation
/// runs here now.
///
/// Errors: not run in a tmux pane, run by a worker, `id` not an operator record, or its pane
/// still there (nothing is changed then).
pub fn reclaim_operator(state: &Store, id: &str) -> Result<Meta> {
    let meta = state.meta(id)?;
    anyhow::ensure!(
        meta.role == orch_store::Role::Operator,
        "`{id}` is no operator record"
    );
    if std::env::var("ORCH_WORKER").is_ok_and(|w| !w.is_empty()) {
        anyhow::bail!("a worker cannot take over operator record `{id}`");
    }
    let Some(caller) = crate::tmux::Caller::from_env() else {
        anyhow::bail!(
            "`{id}` is the record of an operator's pane: the operator takes it back by going on \
             with its conversation (`claude --resume`) in a new tmux pane, or by running `orch \
             resume {id}` there"
        );
    };
    if crate::worker::alive(&meta) {
        anyhow::bail!(
            "operator record `{id}` is live in pane {}: nothing to resume",
            meta.pane.as_deref().unwrap_or("?")
        );
    }
    let pid = caller.server_pid.as_deref();
    let meta = move_operator(state, id, &caller.socket_path, pid, &caller.pane)?;
    if let Ok(sid) = std::env::var("CLAUDE_CODE_SESSION_ID") {
        claim_session(state, id, &sid)?;
    }
    Ok(meta)
}

/// Tags an operator's pane with its record (`@orch_id`, `@orch_role`): what tells it from a
/// pane with the same id on a later tmux server ([`crate::worker::owns`]). Best effort.
fn tag_operator_pane(meta: &Meta) {
    if let Some(pane) = &meta.pane {
        let id = meta.id.as_str();
        let set = ["set-option", "-p", "-t", pane];
        let mut args = set.to_vec();
        args.extend(["@orch_id", id, ";"]);
        args.extend(set);
        args.extend(["@orch_role", "operator"]);
        let _ = meta.server.run(&args);
    }
}

/// The id an index file holds (its first line), if it holds one.
fn read_id(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.lines().next()?.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// Whether `id` names an existing worker or operator record.
pub fn exists(state: &Store, id: &str) -> bool {
    state.worker_dir(id).join("meta.json").is_file()
}

/// A JSON summary of one subscription for `orch subscriptions`.
pub fn subscription_json(publisher: &str, sub: &Subscription) -> Value {
    json!({
        "publisher": publisher,
        "subscriber": sub.subscriber,
        "events": sub.events,
        "mode": sub.mode,
        "since": sub.since,
    })
}
