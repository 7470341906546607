//! Who is who: attributing a hook event to a worker, and identifying the caller of a command
//! (a worker from `ORCH_WORKER`, else the operator, by its tmux pane when it has one).

use crate::tmux::{server_pid_of, socket_of};

/// The parts of a hook's environment that attribution reads.
#[derive(Debug, Clone, Default)]
pub struct HookEnv {
    /// `$ORCH_WORKER`, set by `orch spawn` in every worker pane.
    pub orch_worker: Option<String>,
    /// `$TMUX` (`<socket path>,<pid>,<session>`), inherited by Claude Code and its hooks.
    pub tmux: Option<String>,
    /// `$TMUX_PANE`, e.g. `%3`.
    pub tmux_pane: Option<String>,
}

impl HookEnv {
    /// Reads the variables from this process's environment; empty values count as unset, and
    /// an `ORCH_WORKER` that is no valid id ([`orch_store::paths::valid_id`]: `..`, a path) too.
    pub fn from_env() -> HookEnv {
        let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        HookEnv {
            orch_worker: get("ORCH_WORKER").filter(|id| orch_store::paths::valid_id(id)),
            tmux: get("TMUX"),
            tmux_pane: get("TMUX_PANE"),
        }
    }
}

/// What attribution may look up in the state directory.
pub trait Index {
    /// The worker that owns agent session `session_id`, if indexed.
    fn by_session(&self, session_id: &str) -> Option<String>;
    /// The worker in `pane` on the server at `socket_path` with pid `server_pid`, if indexed
    /// (for that server: an index left by a dead server on the same socket does not count).
    fn by_pane(&self, socket_path: &str, server_pid: Option<&str>, pane: &str) -> Option<String>;
    /// Whether a worker with this id exists.
    fn exists(&self, id: &str) -> bool;
    /// Whether worker `id` has an agent session id yet (a Codex worker has none until its
    /// first SessionStart).
    fn has_session(&self, id: &str) -> bool;
}

/// How a hook event was attributed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// The event belongs to this worker.
    Worker(String),
    /// `ORCH_WORKER` names a worker but the event comes from another agent session started
    /// inside it (e.g. `claude -p` run by its Bash tool), or from its own session after a
    /// `/clear` or, for a worker with no session id yet (Codex picks its own), from its first
    /// session (`adopt` is then true: the new session id should be indexed).
    Session { id: String, adopt: bool },
    /// Not a session orch manages: the hook writes nothing.
    Unknown,
}

/// Attributes one hook event: `ORCH_WORKER` first (checked against the worker's session id,
/// so that nested agent sessions are not taken for the worker), else the `TMUX` + `TMUX_PANE`
/// pair, else the payload's session id.
///
/// `session_id` is the payload's `session_id`; `renewed` is true for a SessionStart whose
/// `source` is not `startup` (after `/clear`, `/resume` or a compaction the id changes but the
/// pane and the worker stay). A worker with no session id yet adopts the first one it sees.
pub fn attribute(
    env: &HookEnv,
    session_id: Option<&str>,
    renewed: bool,
    index: &impl Index,
) -> Attribution {
    let named = env.orch_worker.as_deref();
    if let Some(id) = named.filter(|id| orch_store::paths::valid_id(id) && index.exists(id)) {
        let owner = session_id.and_then(|s| index.by_session(s));
        return match owner {
            Some(owner) if owner == id => Attribution::Worker(id.to_string()),
            _ if session_id.is_none() => Attribution::Worker(id.to_string()),
            _ if renewed || !index.has_session(id) => Attribution::Session {
                id: id.to_string(),
                adopt: true,
            },
            _ => Attribution::Unknown,
        };
    }
    if let (Some(tmux), Some(pane)) = (env.tmux.as_deref(), env.tmux_pane.as_deref()) {
        let pid = server_pid_of(tmux);
        if let Some(id) = socket_of(tmux).and_then(|sock| index.by_pane(sock, pid, pane)) {
            return Attribution::Worker(id);
        }
    }
    match session_id.and_then(|s| index.by_session(s)) {
        Some(id) => Attribution::Worker(id),
        None => Attribution::Unknown,
    }
}

/// Who runs an orch command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A worker (from `$ORCH_WORKER`).
    Worker(String),
    /// The operator: a person or the operator's Claude session, in `pane` when inside tmux.
    Operator { pane: Option<String> },
}

impl Actor {
    /// The caller of this process.
    pub fn from_env() -> Actor {
        let env = HookEnv::from_env();
        match env.orch_worker {
            Some(id) => Actor::Worker(id),
            None => Actor::Operator {
                pane: env.tmux_pane,
            },
        }
    }

    /// The `parent` recorded for a worker this actor spawns: the worker id, `operator:<pane>`
    /// or `operator`.
    pub fn as_parent(&self) -> String {
        match self {
            Actor::Worker(id) => id.clone(),
            Actor::Operator { pane: Some(pane) } => format!("operator:{pane}"),
            Actor::Operator { pane: None } => "operator".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        sessions: HashMap<String, String>,
        panes: HashMap<(String, String), String>,
        workers: Vec<String>,
        sessionless: Vec<String>,
    }

    impl Index for Fake {
        fn by_session(&self, s: &str) -> Option<String> {
            self.sessions.get(s).cloned()
        }
        fn by_pane(&self, sock: &str, _pid: Option<&str>, pane: &str) -> Option<String> {
            self.panes.get(&(sock.into(), pane.into())).cloned()
        }
        fn exists(&self, id: &str) -> bool {
            self.workers.iter().any(|w| w == id)
        }
        fn has_session(&self, id: &str) -> bool {
            !self.sessionless.iter().any(|w| w == id)
        }
    }

    fn fake() -> Fake {
        let mut f = Fake {
            workers: vec!["w1".into(), "w2".into()],
            ..Fake::default()
        };
        f.sessions.insert("s1".into(), "w1".into());
        f.sessions.insert("s2".into(), "w2".into());
        f.panes
            .insert(("/tmp/tmux-0/default".into(), "%7".into()), "w2".into());
        f
    }

    fn env(worker: Option<&str>, tmux: Option<&str>, pane: Option<&str>) -> HookEnv {
        HookEnv {
            orch_worker: worker.map(Into::into),
            tmux: tmux.map(Into::into),
            tmux_pane: pane.map(Into::into),
        }
    }

    #[test]
    fn orch_worker_wins_when_the_session_is_its_own() {
        let got = attribute(&env(Some("w1"), None, None), Some("s1"), false, &fake());
        assert_eq!(got, Attribution::Worker("w1".into()));
    }

    #[test]
    fn nested_session_inside_a_worker_is_not_the_worker() {
        let got = attribute(&env(Some("w1"), None, None), Some("other"), false, &fake());
        assert_eq!(got, Attribution::Unknown);
    }

    #[test]
    fn clear_gives_a_new_session_that_is_adopted() {
        let got = attribute(&env(Some("w1"), None, None), Some("new"), true, &fake());
        assert_eq!(
            got,
            Attribution::Session {
                id: "w1".into(),
                adopt: true
            }
        );
    }

    #[test]
    fn a_worker_without_a_session_adopts_its_first_one() {
        let mut f = fake();
        f.workers.push("w3".into());
        f.sessionless.push("w3".into());
        let got = attribute(&env(Some("w3"), None, None), Some("thread"), false, &f);
        assert_eq!(
            got,
            Attribution::Session {
                id: "w3".into(),
                adopt: true
            }
        );
        f.sessionless.clear();
        f.sessions.insert("thread".into(), "w3".into());
        let got = attribute(&env(Some("w3"), None, None), Some("other"), false, &f);
        assert_eq!(
            got,
            Attribution::Unknown,
            "once it has one, others are nested"
        );
    }

    #[test]
    fn tmux_pane_attributes_without_orch_worker() {
        let e = env(None, Some("/tmp/tmux-0/default,99,0"), Some("%7"));
        assert_eq!(
            attribute(&e, Some("zzz"), false, &fake()),
            Attribution::Worker("w2".into())
        );
        let other_server = env(None, Some("/tmp/tmux-0/other,99,0"), Some("%7"));
        assert_eq!(
            attribute(&other_server, Some("zzz"), false, &fake()),
            Attribution::Unknown
        );
    }

    #[test]
    fn session_id_is_the_last_resort() {
        assert_eq!(
            attribute(&env(None, None, None), Some("s2"), false, &fake()),
            Attribution::Worker("w2".into())
        );
    }

    #[test]
    fn unknown_sessions_are_unknown() {
        assert_eq!(
            attribute(&env(None, None, None), Some("nope"), false, &fake()),
            Attribution::Unknown
        );
        assert_eq!(
            attribute(&env(Some("w9"), None, None), Some("nope"), false, &fake()),
            Attribution::Unknown
        );
    }

    #[test]
    fn caller_parent_names() {
        assert_eq!(Actor::Worker("w3".into()).as_parent(), "w3");
        assert_eq!(
            Actor::Operator {
                pane: Some("%0".into())
            }
            .as_parent(),
            "operator:%0"
        );
    }
}
