//! Permission dialogs answered from outside their pane: from the phone (a channel's reply
//! topic, `notify::reply`) or by `orch decide` on the escalation the hook raised for the
//! request. The answer goes through the harness's own permission path, never keystrokes:
//! Claude Code draws its dialog while its PermissionRequest hooks run and takes a hook's
//! `allow` or `deny` decision as the answer (docs/observed.md, 2.6).
//!
//! So orch's hook, for a request in its worker's own pane ([`in_own_pane`]), takes the worker's
//! `answer.lock` as soon as it recorded the request, before it escalates it or wakes the
//! notifier, noting the request's seq (what [`awaits`] reads): [`claim`]. An answer can only
//! be asked for once the request is recorded, so none comes before the hook can take it. When
//! the request can be answered that way ([`answerable`]) the hook stays running
//! ([`Claim::await_answer`]) and waits for a `permission_answer` event for that seq ([`answer`]
//! publishes it), then prints the decision ([`hook_output`]). It
//! gives up and prints nothing, leaving the dialog to the person at the pane, as soon as the
//! worker moves on (a later event that settles the dialog: the turn's end, a newer request,
//! an interrupt), its agent is gone, or [`WAIT`] has passed. Claude Code 2.1.332 also ends the
//! hook itself when the dialog is answered in the pane; 2.1.197 lets it run and ignores a late
//! decision.

use crate::fleet::status::{self, Status};
use anyhow::{bail, Result};
use orch_store::event::PermissionAnswer;
use orch_store::worker::File;
use orch_store::{Event, Harness, Kind, Store, WorkerDir};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The options a permission dialog is answered with from the phone, in order (1 and 2).
pub const OPTIONS: [&str; 2] = ["allow once", "deny"];

/// How long the hook waits on one dialog at most: a minute inside the timeout `orch up` gives
/// orch's PermissionRequest hook, so it ends by itself before Claude Code would kill it.
pub const WAIT: Duration =
    Duration::from_secs(crate::claude::settings::PERMISSION_HOOK_TIMEOUT_SECS - 60);

/// How often a waiting hook looks whether its agent still runs, when nothing changed.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// How long a new request's hook waits for the hook of an older request to let go of
/// `answer.lock` (it does at once when it sees the new request).
const TAKE_OVER: Duration = Duration::from_secs(2);

/// An answer to a permission dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Run the tool this once.
    Allow,
    /// Refuse it; the agent is told and goes on.
    Deny,
}

impl Behavior {
    /// Its name in the event and in Claude Code's decision: `allow` or `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Behavior::Allow => "allow",
            Behavior::Deny => "deny",
        }
    }

    /// The answer named by option `n` (1-based) of [`OPTIONS`].
    pub fn of_option(n: usize) -> Option<Behavior> {
        match n {
            1 => Some(Behavior::Allow),
            2 => Some(Behavior::Deny),
            _ => None,
        }
    }

    /// The answer an escalation's decision text means: `allow` (or `allow once`, `yes`) is
    /// [`Behavior::Allow`], anything else [`Behavior::Deny`].
    pub fn of_decision(text: &str) -> Behavior {
        let text = text.trim().to_ascii_lowercase();
        if ["allow", "allow once", "yes", "y"].contains(&text.as_str()) {
            Behavior::Allow
        } else {
            Behavior::Deny
        }
    }
}

/// Whether `harness` takes a PermissionRequest hook's decision as its dialog's answer: Claude
/// Code, and orch's simulator, which plays it.
pub fn decided_by_hook(harness: Harness) -> bool {
    matches!(harness, Harness::Claude | Harness::Sim)
}

/// Whether a permission request of the worker of `dir`, whose hook runs in tmux pane
/// `hook_pane` (its `TMUX_PANE`), can be answered from outside its pane: the hook runs in the
/// worker's own pane (so an agent drew a dialog there), its harness takes a hook's decision
/// ([`decided_by_hook`]), and someone may answer: a channel of orch's configuration follows a
/// reply topic, or the hook escalated the request (`escalated`), so `orch decide` may.
pub fn answerable(dir: &WorkerDir, hook_pane: Option<&str>, escalated: bool) -> bool {
    in_own_pane(dir, hook_pane)
        && (escalated
            || orch_store::config::load()
                .is_ok_and(|c| c.notify.channels.iter().any(|ch| ch.reply.is_some())))
}

/// Whether a PermissionRequest hook run in `hook_pane` (its `TMUX_PANE`) runs in the pane of
/// the worker of `dir`, whose harness takes a hook's decision ([`decided_by_hook`]): the first
/// half of [`answerable`], known before the request is escalated.
pub fn in_own_pane(dir: &WorkerDir, hook_pane: Option<&str>) -> bool {
    dir.meta().is_ok_and(|m| {
        decided_by_hook(m.harness) && hook_pane.is_some() && m.pane.as_deref() == hook_pane
    })
}

/// Whether a hook waits now on an answer to the permission request `request` (its seq) of the
/// worker of `dir`.
pub fn awaits(dir: &WorkerDir, request: u64) -> bool {
    let path = dir.file(File::Answer);
    if !path.exists() {
        return false;
    }
    match dir.try_lock(File::Answer) {
        // Free: nobody waits (the lock is let go at once).
        Ok(Some(_)) | Err(_) => false,
        Ok(None) => std::fs::read_to_string(&path).is_ok_and(|n| n.trim() == request.to_string()),
    }
}

/// Answers permission request `request` (its seq) of worker `worker` with `behavior`, as `by`
/// through `via` (`reply`, `decide`): publishes the `permission_answer` event that the waiting
/// hook hands to the harness.
///
/// Errors: no hook waits on that request (answered in the pane, a newer request came, the
/// worker moved on or its harness has no such path), or the event cannot be written.
pub fn answer(
    store: &Store,
    worker: &str,
    request: u64,
    behavior: Behavior,
    by: &str,
    via: &str,
) -> Result<Event> {
    let dir = store.worker(worker)?;
    if !awaits(&dir, request) {
        bail!(
            "worker `{worker}`: no hook waits on its permission request {request} (answered in \
             its pane, or it moved on): look with `orch capture {worker}`"
        );
    }
    crate::coordination::inbox::publish_in(
        &dir,
        Kind::PermissionAnswer(PermissionAnswer {
            request: Some(request),
            behavior: Some(behavior.name().into()),
            by: Some(by.into()),
            via: Some(via.into()),
        }),
    )
}

/// What the hook prints to answer: Claude Code's PermissionRequest decision, as documented in
/// its hooks reference: `{"hookSpecificOutput": {"hookEventName": "PermissionRequest",
/// "decision": {"behavior": "allow"|"deny", "message"?}}}` (a deny's message is what the
/// agent is told).
pub fn hook_output(behavior: Behavior, by: &str) -> Value {
    let mut decision = json!({"behavior": behavior.name()});
    if behavior == Behavior::Deny {
        let who = if by == "person" { "The person" } else { by };
        decision["message"] = json!(format!(
            "{who} denied this from outside the terminal, through orch."
        ));
    }
    json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}})
}

/// How a wait on a dialog's answer ended, when it ended without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The worker moved on: the event that says so.
    MovedOn(String),
    /// The hook's parent (the agent) is gone.
    AgentGone,
    /// [`WAIT`] passed.
    TimedOut,
}

/// A hook's hold on the answer to one permission request: `answer.lock` taken, noting the
/// request's seq, a watch on the worker's folder set before the lock was (so no answer
/// published after the claim is missed), and the hook's agent, found while it surely lived (an
/// agent gone before the wait began would leave its shell, adopted by init, to stand for it).
/// Let go when dropped.
pub struct Claim {
    request: u64,
    lock: orch_store::files::Lock,
    watch: orch_store::watch::Watch,
    agent: Option<Agent>,
}

/// In the hook, right after permission request `request` (its seq) of the worker of `dir` was
/// recorded: takes `answer.lock` for it, waiting up to [`TAKE_OVER`] for the hook of an older
/// request to let go (it does as soon as it sees this request). `None` when it stays taken.
///
/// Errors: the worker's folder cannot be watched, or the lock file opened or written.
pub fn claim(dir: &WorkerDir, request: u64) -> Result<Option<Claim>> {
    let agent = Agent::of_hook();
    let watch = orch_store::watch::Watch::folder(dir.path())?;
    let until = Instant::now() + TAKE_OVER;
    let lock = loop {
        if let Some(lock) = dir.try_lock(File::Answer)? {
            break lock;
        }
        if Instant::now() >= until {
            return Ok(None);
        }
        watch.wait(Duration::from_millis(50));
    };
    lock.set_note(&request.to_string())?;
    Ok(Some(Claim {
        request,
        lock,
        watch,
        agent,
    }))
}

impl Claim {
    /// Waits up to `wait` on the answer to the claimed request, holding the claim meanwhile.
    /// `Ok(Ok((behavior, by)))` when it came; `Ok(Err(why))` when the wait ended without one.
    ///
    /// Errors: the worker's log cannot be read.
    pub fn await_answer(
        self,
        dir: &WorkerDir,
        wait: Duration,
    ) -> Result<std::result::Result<(Behavior, String), Settled>> {
        let deadline = Instant::now() + wait;
        let mut cursor = self.request;
        loop {
            for event in dir.events_after(cursor)? {
                cursor = event.seq;
                if let Some(found) = ends_wait(&event, self.request) {
                    drop(self.lock);
                    return Ok(found);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Err(Settled::TimedOut));
            }
            if !self.agent.as_ref().is_none_or(Agent::alive) || !dir.path().is_dir() {
                return Ok(Err(Settled::AgentGone));
            }
            self.watch.wait(LOOK_EVERY.min(deadline - now));
        }
    }
}

/// Whether `event`, after permission request `request`, ends the wait on its answer: with the
/// answer, or because it settled the dialog some other way.
fn ends_wait(
    event: &Event,
    request: u64,
) -> Option<std::result::Result<(Behavior, String), Settled>> {
    match &event.kind {
        Kind::PermissionAnswer(a) if a.request == Some(request) => {
            let behavior = match a.behavior.as_deref() {
                Some("allow") => Behavior::Allow,
                _ => Behavior::Deny,
            };
            Some(Ok((
                behavior,
                a.by.clone().unwrap_or_else(|| "person".into()),
            )))
        }
        // An answer to another (older) request says nothing of this one.
        Kind::PermissionAnswer(_) => None,
        // A newer dialog: this one was answered.
        Kind::PermissionRequest(_) => Some(Err(Settled::MovedOn(event.kind.name().into()))),
        // The dialog's own notice, ~6 s after the request, says it is still open.
        _ => match status::after(event) {
            Some(Status::NeedsInput) | None => None,
            Some(_) => Some(Err(Settled::MovedOn(event.kind.name().into()))),
        },
    }
}

/// The agent that runs the hook: the nearest ancestor of this process that is not a shell
/// (Claude Code runs a hook as `/bin/sh -c COMMAND`, and a shell outlives the agent that
/// started it), told apart from a later process with its pid by its start time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Agent {
    pid: u32,
    started: String,
}

impl Agent {
    /// The hook's agent, if `/proc` tells it.
    fn of_hook() -> Option<Agent> {
        let mut pid = std::os::unix::process::parent_id();
        for _ in 0..4 {
            let stat = Stat::of(pid)?;
            if !["sh", "dash", "bash", "zsh"].contains(&stat.comm.as_str()) || stat.ppid <= 1 {
                return Some(Agent {
                    pid,
                    started: stat.started,
                });
            }
            pid = stat.ppid;
        }
        None
    }

    /// Whether it still runs: its pid lives, with the same start time, and is not a zombie.
    fn alive(&self) -> bool {
        Stat::of(self.pid).is_some_and(|s| s.started == self.started && s.state != "Z")
    }
}

/// What orch reads of `/proc/PID/stat` (proc(5)): the command's name, the state, the parent's
/// pid and the start time (in clock ticks after boot, kept as text).
struct Stat {
    comm: String,
    state: String,
    ppid: u32,
    started: String,
}

impl Stat {
    fn of(pid: u32) -> Option<Stat> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        // After `pid (comm)`: state is field 3, ppid field 4, starttime field 22.
        let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
        Some(Stat {
            comm,
            state: rest.first()?.to_string(),
            ppid: rest.get(1)?.parse().ok()?,
            started: rest.get(19)?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_store::event::{Notification, Stop};

    fn event(seq: u64, kind: Kind) -> Event {
        Event {
            seq,
            ts: String::new(),
            ts_ms: 0,
            kind,
            relay: None,
        }
    }

    fn answered(request: u64, behavior: &str) -> Kind {
        Kind::PermissionAnswer(PermissionAnswer {
            request: Some(request),
            behavior: Some(behavior.into()),
            by: Some("person".into()),
            via: Some("reply".into()),
        })
    }

    #[test]
    fn only_its_own_answer_or_a_settling_event_ends_the_wait() {
        let notice = Kind::Notification(Notification {
            notification_type: Some("permission_prompt".into()),
            ..Notification::default()
        });
        assert_eq!(ends_wait(&event(5, notice), 4), None, "the dialog's notice");
        assert_eq!(ends_wait(&event(5, answered(3, "allow")), 4), None);
        assert_eq!(
            ends_wait(&event(5, answered(4, "allow")), 4),
            Some(Ok((Behavior::Allow, "person".into())))
        );
        assert_eq!(
            ends_wait(&event(5, answered(4, "deny")), 4),
            Some(Ok((Behavior::Deny, "person".into())))
        );
        assert!(matches!(
            ends_wait(&event(5, Kind::Stop(Stop::default())), 4),
            Some(Err(Settled::MovedOn(_)))
        ));
    }

    #[test]
    fn decisions_and_options_map_to_allow_or_deny() {
        assert_eq!(Behavior::of_option(1), Some(Behavior::Allow));
        assert_eq!(Behavior::of_option(2), Some(Behavior::Deny));
        assert_eq!(Behavior::of_option(3), None);
        assert_eq!(Behavior::of_decision(" Allow "), Behavior::Allow);
        assert_eq!(Behavior::of_decision("deny"), Behavior::Deny);
        assert_eq!(Behavior::of_decision("maybe later"), Behavior::Deny);
    }

    #[test]
    fn the_hook_output_is_claude_codes_decision() {
        let allow = hook_output(Behavior::Allow, "person");
        assert_eq!(
            allow,
            json!({"hookSpecificOutput": {"hookEventName": "PermissionRequest",
                   "decision": {"behavior": "allow"}}})
        );
        let deny = hook_output(Behavior::Deny, "person");
        assert_eq!(deny["hookSpecificOutput"]["decision"]["behavior"], "deny");
        assert!(deny["hookSpecificOutput"]["decision"]["message"]
            .as_str()
            .unwrap()
            .contains("denied"));
    }

    #[test]
    fn the_agent_is_the_nearest_ancestor_that_is_no_shell_and_lives() {
        let agent = Agent::of_hook().expect("/proc tells the test's parent");
        assert!(agent.alive());
        // The test runs under cargo, no shell: its parent is the agent.
        assert_eq!(agent.pid, std::os::unix::process::parent_id());
        let gone = Agent {
            pid: agent.pid,
            started: "0".into(),
        };
        assert!(!gone.alive(), "another start time: another process");
    }

    #[test]
    fn a_hook_holding_the_lock_for_a_request_is_what_awaits_means() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path().to_path_buf());
        std::fs::create_dir_all(tmp.path().join("workers/w1")).unwrap();
        let dir = store.worker("w1").unwrap();
        assert!(!awaits(&dir, 4), "no lock file");
        let lock = dir.try_lock(File::Answer).unwrap().unwrap();
        lock.set_note("4").unwrap();
        // The lock is per open file: another open of it in this process sees it taken.
        assert!(awaits(&dir, 4));
        assert!(!awaits(&dir, 5), "another request");
        drop(lock);
        assert!(!awaits(&dir, 4), "let go");
    }

    #[test]
    fn an_answer_given_between_the_claim_and_the_wait_is_the_one_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path().to_path_buf());
        std::fs::create_dir_all(tmp.path().join("workers/w1")).unwrap();
        let dir = store.worker("w1").unwrap();
        let request = crate::coordination::inbox::publish_in(
            &dir,
            Kind::PermissionRequest(Default::default()),
        )
        .unwrap()
        .seq;
        assert!(answer(&store, "w1", request, Behavior::Allow, "person", "reply").is_err());
        let held = claim(&dir, request).unwrap().expect("a free lock");
        assert!(
            claim(&dir, request).unwrap().is_none(),
            "held by another hook"
        );
        answer(&store, "w1", request, Behavior::Deny, "person", "reply").unwrap();
        let got = held.await_answer(&dir, Duration::from_secs(5)).unwrap();
        assert_eq!(got, Ok((Behavior::Deny, "person".into())));
        assert!(!awaits(&dir, request), "let go once answered");
    }
}
