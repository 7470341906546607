//! Who may do what to whom: the role table of the design as a pure function ([`check`]), the
//! caller's identity it needs ([`who`]), and the refusal that exits 6 and lands in the audit
//! log ([`refuse`]).
//!
//! | actor    | tell / interrupt / kill  | read, listen, subscribe, capture     | spawn | decide                    |
//! | -------- | ------------------------ | ------------------------------------ | ----- | ------------------------- |
//! | operator | any worker or observer   | any                                  | yes   | any escalation            |
//! | worker   | the workers it spawned   | itself, its children, its peers      | yes   | its children's escalations |
//! | observer | nobody                   | any                                  | no    | none                      |
//!
//! A worker's peers are the workers the operator pointed it at with
//! `orch subscribe PEER --to WORKER` (kept in `workers/<id>/peers.json`, see [`add_peer`]).

use crate::coordination::audit::{self, Entry, Outcome};
use crate::coordination::roles::Actor;
use crate::error::Error;
use anyhow::{bail, Context, Result};
use orch_store::files::{write_atomic, Lock};
use orch_store::worker::File;
use orch_store::Role;
use orch_store::{Meta, Store};
use std::fmt;

/// Something an actor may want to do to a worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Type a prompt into a worker's pane (`orch tell`).
    Tell,
    /// Press Escape in a worker's pane (`orch interrupt`).
    Interrupt,
    /// Kill a worker's pane (`orch kill`).
    Kill,
    /// Read a worker's events, inbox or metadata (a "read" right).
    Read,
    /// Wait on a worker's events (`orch listen`, a "read" right).
    Listen,
    /// Hear a worker's events through a subscription (`orch subscribe`, a "read" right).
    Subscribe,
    /// Spawn a new worker (`orch spawn`); takes no target.
    Spawn,
    /// Answer an escalation (`orch decide`); the target is the worker that escalated.
    Decide,
    /// Print a worker's pane (`orch capture`, a "read" right).
    Capture,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 9] = [
        Action::Tell,
        Action::Interrupt,
        Action::Kill,
        Action::Read,
        Action::Listen,
        Action::Subscribe,
        Action::Spawn,
        Action::Decide,
        Action::Capture,
    ];

    /// The action's name as logged (`wanted` in the audit log): `tell`, `kill`...
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Tell => "tell",
            Action::Interrupt => "interrupt",
            Action::Kill => "kill",
            Action::Read => "read",
            Action::Listen => "listen",
            Action::Subscribe => "subscribe",
            Action::Spawn => "spawn",
            Action::Decide => "decide",
            Action::Capture => "capture",
        }
    }

    /// Whether this is a "read" right (read, listen, subscribe, capture).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Action::Read | Action::Listen | Action::Subscribe | Action::Capture
        )
    }

    /// Whether this types into or ends a worker (tell, interrupt, kill).
    pub fn is_command(self) -> bool {
        matches!(self, Action::Tell | Action::Interrupt | Action::Kill)
    }

    /// The verb with its preposition, for messages: `tell`, `listen to`, `spawn workers`...
    fn phrase(self) -> &'static str {
        match self {
            Action::Listen => "listen to",
            Action::Subscribe => "subscribe to",
            Action::Spawn => "spawn workers",
            Action::Decide => "decide the escalation of",
            other => other.as_str(),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is acting, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The operator (a person, or the operator's Claude session), in any pane.
    Operator,
    /// A worker or observer.
    Worker {
        /// Its id (`w3`).
        id: String,
        /// `worker` or `observer`, from its metadata; anything else is refused everything.
        role: Role,
        /// The workers it was pointed at: the operator ran `orch subscribe PEER --to <id>`
        /// (read from `workers/<id>/peers.json`, written by [`add_peer`]).
        peers: Vec<String>,
    },
}

impl Who {
    /// Its name in the audit log's `actor`: `operator` or the worker id.
    pub fn label(&self) -> &str {
        match self {
            Who::Operator => "operator",
            Who::Worker { id, .. } => id,
        }
    }
}

/// The worker an action is aimed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its id.
    pub id: String,
    /// Who spawned it: `operator`, `operator:<pane>` or a worker id ([`Meta::parent`]).
    pub parent: String,
}

impl Target {
    /// A target with this id and parent.
    pub fn new(id: impl Into<String>, parent: impl Into<String>) -> Target {
        Target {
            id: id.into(),
            parent: parent.into(),
        }
    }

    /// The target a worker's metadata describes.
    pub fn of(meta: &Meta) -> Target {
        Target::new(&meta.id, &meta.parent)
    }
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// A short stable id of the rule, e.g. `worker-may-only-tell-its-children`.
    pub rule: String,
    /// Who wanted what to whom, the rule that forbids it, and what to do instead.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

/// Whether `who` may do `action` to `target` (`None`: no particular worker, e.g. a spawn, or
/// reading every worker). Pure: the caller supplies the identities.
pub fn check(who: &Who, action: Action, target: Option<&Target>) -> Result<(), Refusal> {
    let Who::Worker { id, role, peers } = who else {
        return Ok(());
    };
    let whom = match target {
        Some(t) => format!(" `{}`", t.id),
        None if action == Action::Spawn => String::new(),
        None => " any worker without naming it".into(),
    };
    let wants = format!("{role} `{id}` may not {}{whom}", action.phrase());
    let refusal = |rule: String, why: String, instead: String| Refusal {
        message: format!("{wants}: {why} (rule `{rule}`); {instead}"),
        rule,
    };
    let spawned_by = |t: Option<&Target>| match t {
        Some(t) => format!(", and `{}` was spawned by {}", t.id, parent_name(&t.parent)),
        None => String::new(),
    };
    match role {
        Role::Worker => {
            let is_child = target.is_some_and(|t| t.parent == *id);
            if action.is_command() && !is_child {
                return Err(refusal(
                    format!("worker-may-only-{action}-its-children"),
                    format!(
                        "a worker may tell, interrupt or kill only the workers it spawned{}",
                        spawned_by(target)
                    ),
                    "ask your parent to do it, or raise it with `orch escalate`".into(),
                ));
            }
            let is_self_or_peer = target.is_some_and(|t| t.id == *id || peers.contains(&t.id));
            if action.is_read() && !is_child && !is_self_or_peer {
                return Err(refusal(
                    "worker-may-only-read-self-children-peers".into(),
                    "a worker may read, listen to, subscribe to and capture only itself, the \
                     workers it spawned and the peers the operator pointed it at"
                        .into(),
                    format!(
                        "name one of those, or ask the operator to point you at it with \
                         `orch subscribe {} --to {id}`",
                        target.map_or("PEER", |t| &t.id)
                    ),
                ));
            }
            if action == Action::Decide && !is_child {
                return Err(refusal(
                    "worker-may-only-decide-for-its-children".into(),
                    format!(
                        "a worker decides only the escalations of the workers it spawned{}",
                        spawned_by(target)
                    ),
                    match target {
                        Some(t) => format!("leave it to {}", parent_name(&t.parent)),
                        None => "name the escalating worker".into(),
                    },
                ));
            }
            Ok(())
        }
        Role::Observer => {
            if action.is_read() {
                return Ok(());
            }
            let (why, instead) = match action {
                Action::Spawn => (
                    "an observer only reads and never spawns workers",
                    "ask your parent to spawn it".to_string(),
                ),
                Action::Decide => (
                    "an observer decides no escalations",
                    match target {
                        Some(t) => format!("leave it to {}", parent_name(&t.parent)),
                        None => "leave it to the escalating worker's parent".into(),
                    },
                ),
                _ => (
                    "an observer may read any worker but never tell, interrupt or kill one",
                    "ask your parent to do it, or raise it with `orch escalate`".to_string(),
                ),
            };
            Err(refusal(
                format!("observer-may-not-{action}"),
                why.into(),
                instead,
            ))
        }
        other @ (Role::Operator | Role::Unknown(_)) => Err(Refusal {
            rule: "unknown-role".into(),
            message: format!(
                "`{id}` may not {}{whom}: its role `{other}` is neither `worker` nor `observer`, \
                 and an unknown role may do nothing (rule `unknown-role`); respawn it with a \
                 known role",
                action.phrase()
            ),
        }),
    }
}

/// A parent as a phrase: `the operator` or `` `w1` ``.
fn parent_name(parent: &str) -> String {
    if parent == "operator" || parent.starts_with("operator:") {
        "the operator".into()
    } else {
        format!("`{parent}`")
    }
}

/// Checks that the caller of this process ([`who`]) may do `action` to `target` (the rights
/// table in README, Roles; `None`: no particular worker). A refusal is written to the audit log and
/// ends the process with exit 6. Returns who the caller is.
pub fn allow(state: &Store, action: Action, target: Option<&Meta>) -> Result<Who> {
    let who = who(state)?;
    let target = target.map(Target::of);
    require(state, &who, action, target.as_ref())?;
    Ok(who)
}

/// [`check`], and on a refusal, [`refuse`]: `Ok` when allowed, else the error to return.
pub fn require(state: &Store, who: &Who, action: Action, target: Option<&Target>) -> Result<()> {
    match check(who, action, target) {
        Ok(()) => Ok(()),
        Err(refusal) => Err(refuse(
            state,
            who,
            action,
            target.map(|t| t.id.as_str()),
            &refusal,
        )),
    }
}

/// Records a refusal in the audit log (action `refused`, outcome `refused`, with `rule` and
/// `wanted`) and returns the error that ends the process with [`crate::error::Exit::Refused`] (6); its message
/// names the rule. A failure to write the log is added to the message, never hides the refusal.
pub fn refuse(
    state: &Store,
    who: &Who,
    action: Action,
    target: Option<&str>,
    refusal: &Refusal,
) -> anyhow::Error {
    let actor = match (who, Actor::from_env()) {
        (Who::Operator, operator @ Actor::Operator { .. }) => operator.as_parent(),
        _ => who.label().to_string(),
    };
    let mut entry = Entry::new(actor, "refused")
        .outcome(Outcome::Refused)
        .field("rule", refusal.rule.as_str())
        .field("wanted", action.as_str());
    entry.target = target.map(Into::into);
    let message = match audit::append(state, &entry) {
        Ok(()) => refusal.message.clone(),
        Err(err) => format!(
            "{} (and the refusal could not be written to the audit log: {err:#})",
            refusal.message
        ),
    };
    Error::Refused(message).into()
}

/// The caller of this process (`$ORCH_WORKER`, else the operator) as the rules see it.
pub fn who(state: &Store) -> Result<Who> {
    who_for(state, &Actor::from_env())
}

/// `actor` as the rules see it: a worker's role from its metadata and its peers from
/// `peers.json`. A worker whose metadata cannot be read is an error, not the operator.
pub fn who_for(state: &Store, actor: &Actor) -> Result<Who> {
    match actor {
        Actor::Operator { .. } => Ok(Who::Operator),
        Actor::Worker(id) => {
            let meta = state
                .meta(id)
                .with_context(|| format!("`ORCH_WORKER` names worker `{id}`, which is unknown"))?;
            Ok(Who::Worker {
                id: meta.id,
                role: meta.role,
                peers: peers(state, id)?,
            })
        }
    }
}

/// The peers a worker was pointed at (a missing file means none).
pub fn peers(state: &Store, worker: &str) -> Result<Vec<String>> {
    let path = state.worker(worker)?.file(File::Peers);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("`{}` is not a JSON array of worker ids", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Points `worker` at `peer`: adds `peer` to `workers/<worker>/peers.json` (under its lock,
/// written atomically; already there is fine). `orch subscribe PEER --to WORKER` calls it.
pub fn add_peer(state: &Store, worker: &str, peer: &str) -> Result<()> {
    edit_peers(state, worker, |peers| {
        if !peers.iter().any(|p| p == peer) {
            peers.push(peer.to_string());
        }
    })
}

/// Stops pointing `worker` at `peer` (absent is fine), e.g. when the subscription ends.
pub fn remove_peer(state: &Store, worker: &str, peer: &str) -> Result<()> {
    edit_peers(state, worker, |peers| peers.retain(|p| p != peer))
}

fn edit_peers(state: &Store, worker: &str, edit: impl FnOnce(&mut Vec<String>)) -> Result<()> {
    let Ok(dir) = state.worker(worker) else {
        bail!("unknown worker `{worker}`: `orch ps` lists them");
    };
    let path = dir.file(File::Peers);
    let _lock = Lock::acquire(&path)?;
    let mut list = peers(state, worker)?;
    edit(&mut list);
    let mut bytes = serde_json::to_vec_pretty(&list)?;
    bytes.push(b'\n');
    write_atomic(&path, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actors of the matrix: the operator, `w1` (parent of `w2`, grandparent of `w6`),
    /// `w2` (child of `w1`: acts on itself), `w9` (unrelated), `w3` (pointed at peer `w5`),
    /// and observer `o1`.
    fn actor(kind: &str) -> Who {
        let worker = |id: &str, role: &str, peers: &[&str]| Who::Worker {
            id: id.into(),
            role: role.into(),
            peers: peers.iter().map(|p| p.to_string()).collect(),
        };
        match kind {
            "operator" => Who::Operator,
            "parent" => worker("w1", "worker", &[]),
            "self" => worker("w2", "worker", &[]),
            "unrelated" => worker("w9", "worker", &[]),
            "peered" => worker("w3", "worker", &["w5"]),
            "observer" => worker("o1", "observer", &[]),
            _ => unreachable!("{kind}"),
        }
    }

    /// The targets: `w2` (child of `w1`), `w1` (spawned by the operator in pane %0), `w5`
    /// (the operator's, peer of `w3`), `w6` (child of `w2`), or none.
    fn target(kind: &str) -> Option<Target> {
        match kind {
            "w2" => Some(Target::new("w2", "w1")),
            "w1" => Some(Target::new("w1", "operator:%0")),
            "w5" => Some(Target::new("w5", "operator")),
            "w6" => Some(Target::new("w6", "w2")),
            "none" => None,
            _ => unreachable!("{kind}"),
        }
    }

    const OK: &str = "ok";
    const KIDS_TELL: &str = "worker-may-only-tell-its-children";
    const KIDS_INT: &str = "worker-may-only-interrupt-its-children";
    const KIDS_KILL: &str = "worker-may-only-kill-its-children";
    const READ: &str = "worker-may-only-read-self-children-peers";
    const KIDS_DEC: &str = "worker-may-only-decide-for-its-children";
    const OBS_TELL: &str = "observer-may-not-tell";
    const OBS_INT: &str = "observer-may-not-interrupt";
    const OBS_KILL: &str = "observer-may-not-kill";
    const OBS_SPAWN: &str = "observer-may-not-spawn";
    const OBS_DEC: &str = "observer-may-not-decide";

    /// Actor, target, then the outcome of each action in [`Action::ALL`] order:
    /// tell, interrupt, kill, read, listen, subscribe, spawn, decide, capture.
    #[rustfmt::skip]
    const MATRIX: [(&str, &str, [&str; 9]); 30] = [
        // The operator may do anything to anyone.
        ("operator", "w2",   [OK; 9]),
        ("operator", "w1",   [OK; 9]),
        ("operator", "w5",   [OK; 9]),
        ("operator", "w6",   [OK; 9]),
        ("operator", "none", [OK; 9]),
        // w1 on its child w2: everything.
        ("parent", "w2",   [OK, OK, OK, OK, OK, OK, OK, OK, OK]),
        // w1 on itself: reads only.
        ("parent", "w1",   [KIDS_TELL, KIDS_INT, KIDS_KILL, OK, OK, OK, OK, KIDS_DEC, OK]),
        // w1 on a worker that is not its child: nothing but spawn.
        ("parent", "w5",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w1 on its grandchild w6: children only, not descendants.
        ("parent", "w6",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w1 naming nobody: spawn only.
        ("parent", "none", [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w2 on itself: reads only, never tells or decides for itself.
        ("self", "w2",   [KIDS_TELL, KIDS_INT, KIDS_KILL, OK, OK, OK, OK, KIDS_DEC, OK]),
        // w2 on its parent: nothing but spawn.
        ("self", "w1",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("self", "w5",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w2 on its child w6: everything.
        ("self", "w6",   [OK; 9]),
        ("self", "none", [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w9 is related to no one.
        ("unrelated", "w2",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("unrelated", "w1",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("unrelated", "w5",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("unrelated", "w6",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("unrelated", "none", [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // w3 may read its peer w5, but a peer is not a child: no tell, no decide.
        ("peered", "w5",   [KIDS_TELL, KIDS_INT, KIDS_KILL, OK, OK, OK, OK, KIDS_DEC, OK]),
        ("peered", "w2",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("peered", "w1",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("peered", "w6",   [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        ("peered", "none", [KIDS_TELL, KIDS_INT, KIDS_KILL, READ, READ, READ, OK, KIDS_DEC, READ]),
        // The observer reads anyone, with or without a target, and does nothing else.
        ("observer", "w2",   [OBS_TELL, OBS_INT, OBS_KILL, OK, OK, OK, OBS_SPAWN, OBS_DEC, OK]),
        ("observer", "w1",   [OBS_TELL, OBS_INT, OBS_KILL, OK, OK, OK, OBS_SPAWN, OBS_DEC, OK]),
        ("observer", "w5",   [OBS_TELL, OBS_INT, OBS_KILL, OK, OK, OK, OBS_SPAWN, OBS_DEC, OK]),
        ("observer", "w6",   [OBS_TELL, OBS_INT, OBS_KILL, OK, OK, OK, OBS_SPAWN, OBS_DEC, OK]),
        ("observer", "none", [OBS_TELL, OBS_INT, OBS_KILL, OK, OK, OK, OBS_SPAWN, OBS_DEC, OK]),
    ];

    #[test]
    fn the_matrix_covers_every_actor_target_and_action() {
        let actors = [
            "operator",
            "parent",
            "self",
            "unrelated",
            "peered",
            "observer",
        ];
        let targets = ["w2", "w1", "w5", "w6", "none"];
        for a in actors {
            for t in targets {
                let rows = MATRIX.iter().filter(|r| r.0 == a && r.1 == t).count();
                assert_eq!(rows, 1, "({a}, {t}) must appear exactly once");
            }
        }
        assert_eq!(MATRIX.len(), actors.len() * targets.len());
    }

    #[test]
    fn rights_follow_the_role_table() {
        let mut failures = Vec::new();
        for (a, t, expected) in MATRIX {
            let who = actor(a);
            let target = target(t);
            for (action, want) in Action::ALL.into_iter().zip(expected) {
                let got = match check(&who, action, target.as_ref()) {
                    Ok(()) => OK.to_string(),
                    Err(refusal) => {
                        assert!(
                            refusal
                                .message
                                .contains(&format!("(rule `{}`)", refusal.rule)),
                            "message names the rule: {}",
                            refusal.message
                        );
                        refusal.rule
                    }
                };
                if got != want {
                    failures.push(format!("{a} {action} {t}: want {want}, got {got}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn refusals_say_who_what_whom_and_what_instead() {
        let msg = |a: &str, action, t: &str| {
            check(&actor(a), action, target(t).as_ref())
                .unwrap_err()
                .message
        };
        assert_eq!(
            msg("unrelated", Action::Tell, "w2"),
            "worker `w9` may not tell `w2`: a worker may tell, interrupt or kill only the \
             workers it spawned, and `w2` was spawned by `w1` (rule \
             `worker-may-only-tell-its-children`); ask your parent to do it, or raise it with \
             `orch escalate`"
        );
        let read = msg("peered", Action::Listen, "w1");
        assert!(
            read.starts_with("worker `w3` may not listen to `w1`: "),
            "{read}"
        );
        assert!(read.contains("`orch subscribe w1 --to w3`"), "{read}");
        let all = msg("parent", Action::Read, "none");
        assert!(all.starts_with("worker `w1` may not read any worker without naming it"));
        let decide = msg("parent", Action::Decide, "w6");
        assert!(decide.contains("spawned by `w2`"), "{decide}");
        assert!(decide.ends_with("leave it to `w2`"), "{decide}");
        let by_operator = msg("unrelated", Action::Kill, "w1");
        assert!(
            by_operator.contains("spawned by the operator"),
            "{by_operator}"
        );
        let spawn = msg("observer", Action::Spawn, "none");
        assert!(
            spawn.starts_with("observer `o1` may not spawn workers: "),
            "{spawn}"
        );
        assert!(spawn.ends_with("ask your parent to spawn it"), "{spawn}");
    }

    #[test]
    fn unknown_roles_may_do_nothing() {
        let who = Who::Worker {
            id: "w4".into(),
            role: "spy".into(),
            peers: vec![],
        };
        for action in Action::ALL {
            let refusal = check(&who, action, Some(&Target::new("w5", "w4"))).unwrap_err();
            assert_eq!(refusal.rule, "unknown-role");
            assert!(
                refusal.message.contains("role `spy`"),
                "{}",
                refusal.message
            );
        }
    }

    fn state() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        (dir, state)
    }

    fn meta(id: &str, role: &str, parent: &str) -> Meta {
        Meta {
            name: format!("{id}-name"),
            ..Meta::new(id, role, parent)
        }
    }

    #[test]
    fn refusals_exit_6_and_are_audited() {
        let (_dir, state) = state();
        let who = actor("observer");
        let t = Target::new("w2", "w1");
        let err = require(&state, &who, Action::Kill, Some(&t)).unwrap_err();
        assert_eq!(crate::error::exit_of(&err), crate::error::Exit::Refused);
        assert!(err.to_string().contains("observer-may-not-kill"), "{err}");
        require(&state, &who, Action::Capture, Some(&t)).unwrap();
        let log = audit::read(&state, &audit::Filter::default()).unwrap();
        assert_eq!(log.len(), 1, "allowed actions are the caller's to log");
        let e = &log[0];
        assert_eq!(e["actor"], "o1");
        assert_eq!(e["target"], "w2");
        assert_eq!(e["action"], "refused");
        assert_eq!(e["outcome"], "refused");
        assert_eq!(e["rule"], "observer-may-not-kill");
        assert_eq!(e["wanted"], "kill");
        assert_eq!(e["cursor"], serde_json::Value::Null);
    }

    #[test]
    fn a_refusal_survives_an_unwritable_audit_log() {
        let (dir, _) = state();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        let state = Store { root: file };
        let refusal = check(&actor("observer"), Action::Spawn, None).unwrap_err();
        let err = refuse(&state, &actor("observer"), Action::Spawn, None, &refusal);
        assert_eq!(crate::error::exit_of(&err), crate::error::Exit::Refused);
        let text = err.to_string();
        assert!(text.starts_with(&refusal.message), "{text}");
        assert!(
            text.contains("could not be written to the audit log"),
            "{text}"
        );
    }

    #[test]
    fn who_reads_role_and_peers_from_the_state() {
        let (_dir, state) = state();
        for (id, role) in [("w1", "worker"), ("w2", "observer")] {
            std::fs::create_dir_all(state.worker_dir(id)).unwrap();
            state.write_meta(&meta(id, role, "operator")).unwrap();
        }
        let operator = Actor::Operator {
            pane: Some("%0".into()),
        };
        assert_eq!(who_for(&state, &operator).unwrap(), Who::Operator);
        let w1 = Actor::Worker("w1".into());
        assert_eq!(
            who_for(&state, &w1).unwrap(),
            Who::Worker {
                id: "w1".into(),
                role: Role::Worker,
                peers: vec![]
            }
        );
        add_peer(&state, "w1", "w2").unwrap();
        add_peer(&state, "w1", "w7").unwrap();
        add_peer(&state, "w1", "w2").unwrap();
        let Who::Worker { peers, .. } = who_for(&state, &w1).unwrap() else {
            panic!("a worker");
        };
        assert_eq!(peers, ["w2", "w7"], "added once each, in order");
        remove_peer(&state, "w1", "w2").unwrap();
        remove_peer(&state, "w1", "w2").unwrap();
        assert_eq!(super::peers(&state, "w1").unwrap(), ["w7"]);
        let observer = who_for(&state, &Actor::Worker("w2".into())).unwrap();
        assert!(matches!(observer, Who::Worker { ref role, .. } if *role == Role::Observer));
        let err = who_for(&state, &Actor::Worker("w8".into())).unwrap_err();
        assert!(format!("{err:#}").contains("names worker `w8`"), "{err:#}");
        let err = add_peer(&state, "w8", "w1").unwrap_err().to_string();
        assert!(err.contains("unknown worker `w8`"), "{err}");
        std::fs::write(state.worker("w1").unwrap().file(File::Peers), "{").unwrap();
        let err = format!("{:#}", who_for(&state, &w1).unwrap_err());
        assert!(err.contains("not a JSON array"), "{err}");
    }

    #[test]
    fn concurrent_add_peer_keeps_every_peer() {
        let (_dir, state) = state();
        std::fs::create_dir_all(state.worker_dir("w1")).unwrap();
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let state = state.clone();
                std::thread::spawn(move || add_peer(&state, "w1", &format!("p{n}")).unwrap())
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut got = peers(&state, "w1").unwrap();
        got.sort();
        assert_eq!(got, (0..8).map(|n| format!("p{n}")).collect::<Vec<_>>());
    }
}
