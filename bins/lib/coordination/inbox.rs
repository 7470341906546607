//! Subscriptions and inboxes: a worker (or the operator's pane) subscribes to another worker's
//! events; the publisher's folder copies each matching event into the subscriber's inbox,
//! once and in the publisher's order ([`orch_store::WorkerDir::publish`]), and this module
//! pushes it: through the subscriber's own Stop hook when it is mid-turn (a `block` whose
//! reason is the digest), or typed into its pane as a one-line notice when it is idle (by a
//! detached `orch __deliver` child, so the publisher's hook returns at once).

use crate::fleet::status::Status;
use crate::tmux::Tmux;
use anyhow::{Context, Result};
use orch_store::event::{Moved, Relay};
use orch_store::worker::{Counter, File};
use orch_store::{Event, Kind, Meta, Store, Subscription, WorkerDir};
use serde_json::{json, Value};

/// How many Stops in a row orch blocks to deliver news, well under Claude Code's own cap of 8
/// consecutive blocks.
pub const MAX_BLOCKS: u64 = 3;

/// Adds or replaces `sub` among the subscriptions to `publisher`. Returns false when the same
/// subscription already existed.
///
/// Errors: the publisher is unknown, or its subscriptions cannot be read or written.
pub fn subscribe(state: &Store, publisher: &str, sub: Subscription) -> Result<bool> {
    state.worker(publisher)?.edit_subscriptions(|subs| {
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
///
/// Errors: the publisher is unknown, or its subscriptions cannot be read or written.
pub fn unsubscribe(state: &Store, publisher: &str, subscriber: &str) -> Result<bool> {
    state.worker(publisher)?.edit_subscriptions(|subs| {
        let before = subs.len();
        subs.retain(|s| s.subscriber != subscriber);
        subs.len() != before
    })
}

/// Records an event of `kind` in worker `id`'s log, copies it into its subscribers' inboxes
/// (in order) and pushes it to those that are not mid-turn. Returns it. Every event orch or a
/// hook records goes this way.
///
/// Errors: the worker is unknown, or its log or a subscriber's inbox cannot be written.
pub fn publish(state: &Store, id: &str, kind: Kind) -> Result<Event> {
    publish_in(&state.worker(id)?, kind)
}

/// [`publish`] in a folder the caller holds.
///
/// Errors: as [`publish`].
pub fn publish_in(dir: &WorkerDir, kind: Kind) -> Result<Event> {
    let published = dir.publish(kind)?;
    push_all(dir.store(), &published.push)?;
    Ok(published.event)
}

/// [`publish`] for an event mirrored from a remote worker's log, kept with its own `seq`.
/// Returns whether it was new here.
///
/// Errors: it would leave a gap, or the log cannot be written.
pub fn publish_copy(state: &Store, id: &str, event: &Event) -> Result<bool> {
    match state.worker(id)?.publish_copy(event)? {
        Some(published) => {
            push_all(state, &published.push)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Pushes `id`'s new inbox items unless it is mid-turn (then its own Stop hook delivers them).
///
/// Errors: the detached delivery cannot start.
pub fn push(state: &Store, id: &str) -> Result<()> {
    push_all(state, &[id.to_string()])
}

/// Pushes to each of `ids` that can take a notice now (its status, as every command reads it),
/// with one detached child for all of them; one mid-turn gets its items through its own Stop
/// hook.
///
/// Errors: the detached delivery cannot start.
pub fn push_all(state: &Store, ids: &[String]) -> Result<()> {
    let idle: Vec<&String> = ids
        .iter()
        .filter(|id| {
            // Its pane is taken to be alive: a tmux call per subscriber would slow the hook.
            let status = state
                .worker(id)
                .and_then(|dir| crate::fleet::status::read(&dir, true));
            !matches!(status, Ok(Status::Busy | Status::NeedsInput))
        })
        .collect();
    if idle.is_empty() {
        return Ok(());
    }
    push_detached(state, &idle)
}

/// Puts one item of `kind` straight into `id`'s inbox (an escalation for a parent, a decision
/// for a worker), from `relay` when it says where from. Returns its seq.
///
/// Errors: the record is unknown, or its inbox cannot be written.
pub fn put(state: &Store, id: &str, kind: Kind, relay: Option<Relay>) -> Result<u64> {
    Ok(state.worker(id)?.put(kind, relay)?.seq)
}

/// What the hook answers to a subscriber's own Stop: `Some(reason)` to block the stop and hand
/// the model its unread items, at most [`MAX_BLOCKS`] Stops in a row and never twice for the
/// same items; `None` to let it stop.
///
/// Errors: its inbox or counters cannot be read or written.
pub fn on_stop(dir: &WorkerDir) -> Result<Option<String>> {
    let blocks = dir.counter(Counter::Blocks);
    if blocks >= MAX_BLOCKS {
        dir.set_counter(Counter::Blocks, 0)?;
        return Ok(None);
    }
    let items = dir.claim()?;
    if items.is_empty() {
        if blocks > 0 {
            dir.set_counter(Counter::Blocks, 0)?;
        }
        return Ok(None);
    }
    dir.set_counter(Counter::Blocks, blocks + 1)?;
    Ok(Some(digest(&items)))
}

/// One item in a line of text, with no control character in it ([`crate::delivery::controls::strip`]):
/// its texts come from other workers and are typed into panes (a notice) or handed to a
/// model (a Stop block's digest).
pub fn describe(item: &Event) -> String {
    let text = render(item);
    crate::delivery::controls::strip(&text).0.into_owned()
}

fn render(item: &Event) -> String {
    let from = match &item.relay {
        Some(r) if !r.from.is_empty() && (r.from_name.is_empty() || r.from_name == r.from) => {
            r.from.clone()
        }
        Some(r) if !r.from.is_empty() => format!("{} ({})", r.from, r.from_name),
        _ => "orch".to_string(),
    };
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    match &item.kind {
        Kind::Stop(stop) => format!(
            "{from} finished a turn: {}",
            quote(&text(&stop.last_assistant_message), 300)
        ),
        Kind::StopFailure(failed) => format!(
            "{from} failed: {}",
            quote(&text(&failed.last_assistant_message), 200)
        ),
        Kind::Notification(n) => format!("{from} needs attention: {}", text(&n.message)),
        Kind::PermissionRequest(p) => format!(
            "{from} asks permission for {}: {}",
            text(&p.tool_name),
            quote(
                &p.tool_input
                    .as_ref()
                    .map(Value::to_string)
                    .unwrap_or_default(),
                200
            )
        ),
        Kind::Escalation(esc) => {
            let id = text(&esc.escalation);
            let options = match esc.options.is_empty() {
                true => String::new(),
                false => format!(" (options: {})", esc.options.join(" | ")),
            };
            format!(
                "escalation {id} from {from} on {}: {}{options}. Decide with `orch decide {id} TEXT`",
                orch_store::Axis::joined(&esc.axes),
                text(&esc.summary),
            )
        }
        Kind::Decision(d) => format!(
            "decision on your escalation {}: {}",
            text(&d.escalation),
            text(&d.decision)
        ),
        Kind::SessionEnd(end) => format!("{from} ended ({})", text(&end.reason)),
        Kind::Killed(_) => format!("{from} was killed"),
        Kind::Released(r) => {
            let ids = |list: &Option<Vec<String>>| match list.as_deref().unwrap_or_default() {
                [] => "none".to_string(),
                ids => ids.join(" "),
            };
            format!(
                "the usage limit on account {} lifted ({}): continued {}; released {}",
                text(&r.account),
                text(&r.by),
                ids(&r.continued),
                ids(&r.workers)
            )
        }
        Kind::Conflict(c) | Kind::ConflictCleared(c) => {
            let side = match text(&c.with).as_str() {
                "" => format!("its base branch {}", text(&c.with_branch)),
                with => format!("{with}'s {}", text(&c.with_branch)),
            };
            match &item.kind {
                Kind::Conflict(_) => format!(
                    "{from}'s {} conflicts with {side} in {}",
                    text(&c.branch),
                    c.files.as_deref().unwrap_or_default().join(", ")
                ),
                _ => format!(
                    "{from}'s {} no longer conflicts with {side}",
                    text(&c.branch)
                ),
            }
        }
        Kind::Land(land) => match land.outcome.as_deref() {
            Some("landed") => format!(
                "{from}'s {} landed on {} ({})",
                text(&land.branch),
                text(&land.into),
                text(&land.commit)
            ),
            outcome => format!(
                "{from}'s {} did not land on {}: {}",
                text(&land.branch),
                text(&land.into),
                outcome.unwrap_or("refused")
            ),
        },
        other => format!("{from}: {}", other.name()),
    }
}

/// Puts `kind` (an event published in `worker`'s log, seq `cursor`) into the inbox of
/// `parent` (its parent's record, [`parent_record`]) and pushes it, unless the parent already
/// hears that kind of the worker's through a subscription.
///
/// Errors: the worker is unknown, or the parent's inbox cannot be written.
pub fn tell_parent(
    state: &Store,
    worker: &Meta,
    parent: &str,
    kind: Kind,
    cursor: u64,
) -> Result<()> {
    let subscribed = state
        .worker(&worker.id)?
        .subscriptions()?
        .iter()
        .any(|s| s.subscriber == parent && s.wants(kind.name()));
    if !subscribed {
        let relay = Relay {
            from: worker.id.clone(),
            from_name: worker.name.clone(),
            from_seq: Some(cursor),
            push: true,
        };
        put(state, parent, kind, Some(relay))?;
        push(state, parent)?;
    }
    Ok(())
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
pub fn digest(items: &[Event]) -> String {
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
pub fn notice(items: &[Event]) -> String {
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
    let worker = crate::fleet::worker::Worker::load(state, id)?;
    // A command worker (a shell, a REPL) would run a typed notice as input: its items wait in
    // its inbox for `orch inbox`.
    if worker.meta.pane.is_none() || !worker.alive() || worker.meta.is_command() {
        return Ok(());
    }
    // Nothing is typed into a worker a usage limit holds: its items wait in the inbox, and the
    // limit's waiter pushes them when it lifts.
    if worker.held()? {
        return Ok(());
    }
    if let Some(remote) = worker.meta.remote.clone() {
        return deliver_remote(state, &worker.dir, &remote);
    }
    let opts = crate::delivery::DeliveryOptions {
        held: false,
        command: false,
        now: false,
        ready_timeout: std::time::Duration::from_secs(600),
    };
    crate::delivery::wait_ready(&worker, opts.ready_timeout)?;
    let _turn = worker.dir.lock(File::Deliver)?;
    let items = worker.dir.claim()?;
    if items.is_empty() {
        return Ok(());
    }
    if let Err(err) = crate::delivery::deliver(&worker, &notice(&items), opts) {
        worker.dir.unclaim(&items)?;
        return Err(err);
    }
    Ok(())
}

/// [`deliver`] to a subscriber on another host: the host's orch types the notice
/// (`orch tell ID -`, which waits there until the worker is idle).
fn deliver_remote(state: &Store, dir: &WorkerDir, remote: &orch_store::Remote) -> Result<()> {
    let _turn = dir.lock(File::Deliver)?;
    let items = dir.claim()?;
    if items.is_empty() {
        return Ok(());
    }
    let host = crate::remote::host::Host::new(&remote.dest)?;
    let argv = ["--json", "tell", &remote.id, "-", "--wait", "600"];
    let text = notice(&items);
    if let Err(err) = host.orch(state, &argv, Some(text.as_bytes())) {
        dir.unclaim(&items)?;
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
            // The operator's own credentials: a usage limit on them holds it too, and it
            // hears when that limit lifts.
            let env: Vec<(String, String)> = std::env::vars().collect();
            let meta = Meta {
                account: crate::harness::account_of(crate::harness::Harness::Claude, &env),
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
    let moved = Moved {
        pane: Some(pane.into()),
        was: old.pane.clone(),
        socket_path: Some(socket_path.into()),
    };
    publish(state, id, Kind::Moved(moved))?;
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
    if crate::fleet::worker::alive(&meta) {
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
/// pane with the same id on a later tmux server ([`crate::fleet::worker::owns`]). Best effort.
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
