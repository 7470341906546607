//! Escalations: a decision a worker may not take alone because it trips one of the four axes
//! (taste, architecture, ethics, reversibility). Raised by `orch escalate` or, for a permission
//! request whose tool input the classifier maps onto an axis, by the hook; answered by `orch
//! decide`, which tells the worker (a permission request's, by answering its dialog while
//! orch's hook waits on it: `coordination::permission`).
//!
//! Each is `$ORCH_HOME/escalations/<id>.json` (ids `e1`, `e2`...), written atomically. Raising
//! one appends an `escalation` event to the worker's log (so its subscribers hear it) and puts
//! it into the parent's inbox; deciding appends a `decision` event and puts the decision into
//! the worker's inbox, both pushed like any inbox item.

use crate::coordination::{inbox, permission};
use anyhow::{bail, Context, Result};
use orch_store::event::{Decision as DecisionEvent, Escalation as EscalationEvent};
use orch_store::files::{create_private_dir, write_atomic, Lock};
use orch_store::{Axis, Event, Kind, WorkerDir};
use orch_store::{Meta, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// One escalation, as kept in `escalations/<id>.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Escalation {
    /// `e1`, `e2`...
    pub id: String,
    /// The escalating worker's id.
    pub worker: String,
    /// The record whose inbox got it: the parent worker, or an operator record.
    pub parent: String,
    /// Axes tripped.
    pub axes: Vec<Axis>,
    pub summary: String,
    #[serde(default)]
    pub options: Vec<String>,
    /// The text of `--detail FILE`, if given.
    #[serde(default)]
    pub detail: Option<String>,
    /// `worker` (orch escalate) or `permission` (raised by the hook from a permission request).
    pub source: String,
    /// For a `permission` escalation: the seq of its `permission_request` event. Deciding it
    /// answers that dialog while orch's hook waits on it (`allow` runs the tool once, any other
    /// decision denies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
    /// `open` or `decided`.
    pub status: String,
    #[serde(default)]
    pub decision: Option<String>,
    /// Who decided: `person`, `operator`, an operator record or a worker id.
    #[serde(default)]
    pub decided_by: Option<String>,
    /// Decided by the operator without the person (`orch decide --self`).
    #[serde(default)]
    pub self_decided: bool,
    #[serde(default)]
    pub why: Option<String>,
    pub created_ms: u64,
    #[serde(default)]
    pub decided_ms: Option<u64>,
    /// The seq of the `escalation` event in the worker's log.
    #[serde(default)]
    pub cursor: u64,
    /// For an escalation of a worker on another host: the host and the escalation's id there
    /// (deciding it here decides it there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<orch_store::Remote>,
}

impl Escalation {
    /// A new open escalation `id` of `worker` to `parent`, as `ask` says.
    fn open(id: String, worker: &Meta, parent: String, ask: Ask) -> Escalation {
        Escalation {
            id,
            worker: worker.id.clone(),
            parent,
            axes: ask.axes,
            summary: ask.summary,
            options: ask.options,
            detail: ask.detail,
            source: ask.source,
            request: ask.request,
            status: "open".into(),
            decision: None,
            decided_by: None,
            self_decided: false,
            why: None,
            created_ms: orch_store::clock::now_ms(),
            decided_ms: None,
            cursor: 0,
            remote: None,
        }
    }
}

/// The folder of the escalation files, `$ORCH_HOME/escalations`.
pub fn folder(state: &Store) -> PathBuf {
    state.root.join("escalations")
}

fn path(state: &Store, id: &str) -> PathBuf {
    folder(state).join(format!("{id}.json"))
}

/// Checks that an escalation names at least one axis.
pub fn check_axes(axes: &[Axis]) -> Result<()> {
    if axes.is_empty() {
        bail!("name at least one axis: --axis taste|architecture|ethics|reversibility");
    }
    Ok(())
}

/// What an escalation asks, before it has an id.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub axes: Vec<Axis>,
    pub summary: String,
    pub options: Vec<String>,
    pub detail: Option<String>,
    pub source: String,
    /// The seq of the permission request it is about ([`Escalation::request`]).
    pub request: Option<u64>,
}

/// Raises an escalation for `worker`: writes it, records the `escalation` event, and puts it
/// into the parent's inbox (pushed). Returns it.
pub fn raise(dir: &WorkerDir, ask: Ask) -> Result<Escalation> {
    let (state, worker) = (dir.store(), dir.meta()?);
    check_axes(&ask.axes)?;
    if ask.summary.trim().is_empty() {
        bail!("an escalation needs a `--summary`");
    }
    let parent = inbox::parent_record(state, &worker.parent, worker.socket_path.as_deref())?;
    let mut esc = Escalation::open(next_id(state)?, worker, parent, ask);
    write(state, &esc)?;
    esc.cursor = inbox::publish_in(dir, event(&esc))?.seq;
    write(state, &esc)?;
    tell_parent(state, worker, &esc)?;
    // The person hears of it through the notifier (when channels are set), in its own process.
    if let Err(err) = orch_store::helper::wake_notifier(&state.root) {
        orch_store::store::log_unattended(&format!("notifier: {err:#}"));
    }
    Ok(esc)
}

/// The `escalation` event and inbox item: its id, axes, summary, options and source.
fn event(esc: &Escalation) -> Kind {
    Kind::Escalation(EscalationEvent {
        escalation: Some(esc.id.clone()),
        axes: esc.axes.clone(),
        summary: Some(esc.summary.clone()),
        options: esc.options.clone(),
        source: Some(esc.source.clone()),
    })
}

/// The next escalation id, `e1`, `e2`... (a counter under a lock).
fn next_id(state: &Store) -> Result<String> {
    create_private_dir(&folder(state))?;
    let counter = folder(state).join("next-id");
    let _lock = Lock::acquire(&counter)?;
    let n: u64 = std::fs::read_to_string(&counter)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    write_atomic(&counter, format!("{}\n", n + 1).as_bytes(), 0o600)?;
    Ok(format!("e{n}"))
}

/// Puts the escalation into its parent's inbox and pushes it, unless the parent already hears
/// the worker's escalations through a subscription.
fn tell_parent(state: &Store, worker: &Meta, esc: &Escalation) -> Result<()> {
    inbox::tell_parent(state, worker, &esc.parent, event(esc), esc.cursor)
}

/// Makes an escalation here for one a worker on another host raised there (`event`: its
/// `escalation` event, mirrored into the worker's log here): it goes to the worker's parent
/// here, as a local one would, and deciding it here decides it on the host.
pub fn mirror(state: &Store, worker: &Meta, event: &Event) -> Result<Escalation> {
    let remote = worker
        .remote
        .as_ref()
        .with_context(|| format!("`{}` is no remote worker", worker.id))?;
    let Kind::Escalation(raised) = &event.kind else {
        bail!("event {} of `{}` is no escalation", event.seq, worker.id);
    };
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let ask = Ask {
        axes: raised.axes.clone(),
        summary: text(&raised.summary),
        options: raised.options.clone(),
        detail: None,
        source: text(&raised.source),
        request: None,
    };
    let parent = inbox::parent_record(state, &worker.parent, None)?;
    let mut esc = Escalation::open(next_id(state)?, worker, parent, ask);
    esc.cursor = event.seq;
    esc.remote = Some(orch_store::Remote {
        dest: remote.dest.clone(),
        id: text(&raised.escalation),
    });
    write(state, &esc)?;
    tell_parent(state, worker, &esc)?;
    Ok(esc)
}

/// Reads one escalation.
pub fn load(state: &Store, id: &str) -> Result<Escalation> {
    let p = path(state, id);
    if !id.starts_with('e') || id.contains('/') || !p.is_file() {
        bail!("unknown escalation `{id}`: `orch escalations` lists them");
    }
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read `{}`", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("`{}` is not valid", p.display()))
}

fn write(state: &Store, esc: &Escalation) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(esc)?;
    bytes.push(b'\n');
    write_atomic(&path(state, &esc.id), &bytes, 0o600)
}

/// Every escalation, oldest first; only the open ones with `open_only`.
pub fn list(state: &Store, open_only: bool) -> Result<Vec<Escalation>> {
    let mut all: Vec<Escalation> = orch_store::files::json_stems(&folder(state))?
        .iter()
        .filter_map(|id| load(state, id).ok())
        .filter(|e| !open_only || e.status == "open")
        .collect();
    all.sort_by_key(|e| (e.created_ms, e.id.clone()));
    Ok(all)
}

/// How a decision was taken.
#[derive(Debug, Clone)]
pub struct Decision {
    pub text: String,
    /// Who decides (see [`Escalation::decided_by`]).
    pub by: String,
    /// The operator decided without the person.
    pub self_decided: bool,
    pub why: Option<String>,
}

/// Records the decision on escalation `id`, appends a `decision` event to the worker's log and
/// puts the decision into the worker's inbox (pushed: typed into its pane when idle, handed
/// over by its Stop hook when mid-turn). Errors when it was decided already.
pub fn decide(state: &Store, id: &str, decision: Decision) -> Result<Escalation> {
    let lock_path = path(state, id);
    let _lock = Lock::acquire(&lock_path)?;
    let mut esc = load(state, id)?;
    if esc.status != "open" {
        bail!(
            "escalation `{id}` was decided already ({}): `orch escalations` shows it",
            esc.decision.as_deref().unwrap_or("")
        );
    }
    esc.status = "decided".into();
    esc.decision = Some(decision.text.clone());
    esc.decided_by = Some(decision.by);
    esc.self_decided = decision.self_decided;
    esc.why = decision.why;
    esc.decided_ms = Some(orch_store::clock::now_ms());
    if let Some(remote) = &esc.remote {
        // The host decides it, records the decision in the worker's log (mirrored here) and
        // hands it to the worker there.
        let host = crate::remote::host::Host::new(&remote.dest)?;
        let mut argv = vec!["decide", remote.id.as_str(), decision.text.as_str()];
        if let (true, Some(why)) = (esc.self_decided, esc.why.as_deref()) {
            argv.extend(["--self", "--why", why]);
        }
        host.orch(state, &argv, None)?;
    }
    write(state, &esc)?;
    if esc.remote.is_some() {
        return Ok(esc);
    }
    let decided = Kind::Decision(DecisionEvent {
        escalation: Some(id.to_string()),
        decision: Some(decision.text.clone()),
        by_self: Some(esc.self_decided),
        axes: esc.axes.clone(),
    });
    inbox::publish(state, &esc.worker, decided.clone())?;
    // A permission request's escalation answers its dialog while orch's hook waits on it: the
    // worker gets the answer there, not as a notice typed after its turn.
    if let Some(request) = esc.request.filter(|_| esc.source == "permission") {
        let dir = state.worker(&esc.worker)?;
        if permission::awaits(&dir, request) {
            let behavior = permission::Behavior::of_decision(&decision.text);
            let by = esc.decided_by.clone().unwrap_or_default();
            permission::answer(state, &esc.worker, request, behavior, &by, "decide")?;
            return Ok(esc);
        }
    }
    inbox::put(state, &esc.worker, decided, None)?;
    inbox::push(state, &esc.worker)?;
    Ok(esc)
}

/// The escalation as JSON (for `--json` output).
pub fn to_json(esc: &Escalation) -> Value {
    serde_json::to_value(esc).unwrap_or(Value::Null)
}
