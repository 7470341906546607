//! Spawning a worker, as a straight pipeline: settle what to start (outfit, harness, role,
//! name), check the caller may, create the worker's record, let its harness prepare the launch
//! ([`crate::harness::HarnessExt::prepare`]), open and tag its pane, and wait until its agent is
//! up (SessionStart, or for a harness that fires it with the first prompt, its input prompt on
//! screen), reading the screen meanwhile for first-run screens that hold hooks back. Whatever
//! fails before the pane is up leaves nothing behind.

use crate::coordination::roles::Actor;
use crate::error::Error;
use crate::fleet::status::Status;
use crate::fleet::worker::{Waited, Worker};
use crate::harness::quiet::Quiet;
use crate::harness::HarnessExt;
use crate::harness::{Harness, Launch, Spawn};
use crate::outfit::Outfit;
use crate::tmux::Tmux;
use crate::tmux::TmuxServer;
use anyhow::{bail, Context, Result};
use orch_store::event::{Ready, Resumed as ResumedEvent, Spawned as SpawnedEvent};
use orch_store::Kind;
use orch_store::Role;
use orch_store::{Meta, Relaunch, Store};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What to spawn, as `orch spawn`'s flags say it.
#[derive(Debug, Clone, Default)]
pub struct SpawnRequest {
    /// `--budget-usd`/`--budget-tokens`/`--budget-interrupt`; default: the outfit's.
    pub budget: Option<orch_store::Budget>,
    /// `--name`; default: the worker's id.
    pub name: Option<String>,
    /// `--harness`; default: the outfit's, else Claude Code.
    pub harness: Option<Harness>,
    /// `--cwd`; default: the current folder.
    pub cwd: Option<PathBuf>,
    /// `--role`; default: the outfit's, else `worker`.
    pub role: Option<Role>,
    /// `--outfit`.
    pub outfit: Option<String>,
    /// `--env`, after the outfit's `env` (so they win).
    pub env: Vec<(String, String)>,
    /// `--account` (a name in orch's configuration, or `auto`); default: the outfit's.
    pub account: Option<String>,
    /// `--worktree` (or the outfit's `worktree: true`).
    pub worktree: bool,
    /// `--trust`.
    pub trust: bool,
    /// `--quiet` and `--prompt-regex`, for the command harness.
    pub quiet: Option<f64>,
    pub prompt_regex: Option<String>,
    /// How long to wait for the agent to be up.
    pub ready_timeout: Duration,
    /// The arguments after `--`.
    pub harness_args: Vec<String>,
}

/// A spawned worker, and the outfit fields its harness could not apply (one line each).
#[derive(Debug)]
pub struct Spawned {
    pub worker: Worker,
    pub warnings: Vec<String>,
}

/// The working folder, absolute and existing (`~` expanded). Errors: no such folder.
pub fn resolve_cwd(cwd: Option<&Path>) -> Result<PathBuf> {
    let dir = match cwd {
        Some(dir) => PathBuf::from(shellexpand::tilde(&dir.to_string_lossy()).as_ref()),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    dir.canonicalize()
        .with_context(|| format!("`--cwd {}`: no such folder", dir.display()))
}

/// Spawns a worker as `req` says and waits until its agent is up. Errors: a bad name, an
/// outfit or harness that does not load or apply, a refused caller (exit 6), a harness program
/// not found, a pane that dies before it starts (exit 4), or a start that takes longer than
/// `ready_timeout` or stops at a first-run screen (exit 3, naming the screen and the fix).
pub fn spawn(req: &SpawnRequest) -> Result<Spawned> {
    let cwd = resolve_cwd(req.cwd.as_deref())?;
    let outfit = match &req.outfit {
        Some(name) => Some(crate::outfit::load(name, &cwd)?),
        None => None,
    };
    let worn = outfit
        .as_ref()
        .map(Harness::of_outfit)
        .transpose()?
        .flatten();
    let harness = req.harness.or(worn).unwrap_or(Harness::Claude);
    let role = match (&req.role, outfit.as_ref().and_then(|o| o.role.as_ref())) {
        (Some(Role::Observer), _) | (None, Some(Role::Observer)) => Role::Observer,
        _ => Role::Worker,
    };
    let state = Store::from_env()?;
    state.ensure()?;
    crate::coordination::rights::allow(&state, crate::coordination::rights::Action::Spawn, None)?;
    if let Some(name) = &req.name {
        check_name(name)?;
        check_name_free(&state, name)?;
    }
    let mut extra_env: Vec<(String, String)> = outfit
        .as_ref()
        .map(|o| o.env.clone().into_iter().collect())
        .unwrap_or_default();
    extra_env.extend(req.env.iter().cloned());
    if req.trust {
        harness.trust(&cwd)?;
    }

    let (id, dir) = state.new_worker()?;
    let name = req.name.clone().unwrap_or_else(|| id.clone());
    // From here on a failure removes what was made for the worker.
    let cleanup = |err: anyhow::Error| {
        let _ = std::fs::remove_dir_all(&dir);
        err
    };
    let worktree = if req.worktree || outfit.as_ref().and_then(|o| o.worktree) == Some(true) {
        Some(
            crate::fleet::worktree::create(&cwd, &state.root.join("worktrees"), &id, &name)
                .map(|wt| orch_store::Worktree {
                    commit_required: outfit.as_ref().and_then(|o| o.commit)
                        == Some(crate::outfit::Commit::Required),
                    test: outfit.as_ref().and_then(|o| o.test.clone()),
                    ..wt
                })
                .map_err(cleanup)?,
        )
    } else {
        None
    };
    let cwd = worktree.as_ref().map_or(cwd, |wt| wt.path.clone());
    if req.trust && worktree.is_some() {
        harness.trust(&cwd)?;
    }
    let session_id = harness.sets_session_id().then(new_uuid);
    let state_root = absolute(&state.root)?;
    let mut warnings = Vec::new();
    let account = match req
        .account
        .as_deref()
        .or_else(|| outfit.as_ref().and_then(|o| o.account.as_deref()))
    {
        Some(asked) => {
            let own: Vec<(String, String)> = std::env::vars().chain(extra_env.clone()).collect();
            let own = crate::harness::account_of(harness, &own);
            crate::spend::account::choose(&state, harness, asked, own.as_deref(), &mut warnings)
                .map_err(cleanup)?
        }
        None => None,
    };
    let relaunch = Relaunch {
        args: req.harness_args.clone(),
        env: extra_env,
        account,
    };
    let (launch, env) = launch(
        harness,
        &PrepareFor {
            id: &id,
            name: &name,
            dir: &absolute(&dir)?,
            cwd: &cwd,
            session_id: session_id.as_deref(),
            resume: false,
            outfit: outfit.as_ref(),
            relaunch: &relaunch,
            quiet: req.quiet,
            prompt_regex: req.prompt_regex.as_deref(),
        },
        &state_root,
    )
    .map_err(cleanup)?;

    let meta = Meta {
        account: match &relaunch.account {
            Some(name) => Some(crate::spend::account::key(harness, name)),
            None => crate::harness::account_of(harness, &env),
        },
        name,
        role,
        harness,
        server: TmuxServer::from_env(),
        cwd: cwd.clone(),
        session_id: session_id.clone(),
        argv: launch.argv.clone(),
        outfit: outfit.as_ref().map(|o| o.name.clone()),
        worktree: worktree.clone(),
        detector: launch.detector.clone(),
        budget: req
            .budget
            .clone()
            .or_else(|| outfit.as_ref().and_then(|o| o.budget.clone())),
        relaunch,
        ..Meta::new(&id, "worker", &Actor::from_env().as_parent())
    };
    state.write_meta(&meta)?;
    if meta.budget.is_some() {
        crate::spend::budget::start(&state, &id)?;
    }
    if let Some(sid) = session_id.as_deref() {
        state.index_session(sid, &id)?;
    }
    let spawned = SpawnedEvent {
        name: Some(meta.name.clone()),
        role: Some(meta.role.to_string()),
        harness: Some(meta.harness.name().into()),
        outfit: meta.outfit.clone(),
        cwd: Some(cwd.display().to_string()),
        parent: Some(meta.parent.clone()),
        session_id: session_id.clone(),
    };
    let spawned = crate::coordination::inbox::publish(&state, &id, Kind::Spawned(spawned))?.seq;
    let worker = open_pane(&state, meta, &launch, &env, None).map_err(cleanup)?;
    wait_started(&worker, harness, spawned, req.ready_timeout)?;
    warnings.extend(launch.dress.warnings);
    Ok(Spawned { worker, warnings })
}

/// Who a launch is prepared for, and how.
struct PrepareFor<'a> {
    id: &'a str,
    name: &'a str,
    dir: &'a Path,
    cwd: &'a Path,
    session_id: Option<&'a str>,
    resume: bool,
    outfit: Option<&'a Outfit>,
    relaunch: &'a Relaunch,
    quiet: Option<f64>,
    prompt_regex: Option<&'a str>,
}

/// Asks the harness to set the worker up, and makes the worker's environment: the caller's
/// variables its harness needs, then what the harness sets for itself, orch's `ORCH_WORKER`
/// and `ORCH_HOME`, then the outfit's dress, then its `env` and `--env` (which win). Errors:
/// what the harness says, or a program not found on the PATH the worker will have.
fn launch(
    harness: Harness,
    who: &PrepareFor,
    state_root: &Path,
) -> Result<(Launch, Vec<(String, String)>)> {
    // A named account's variables over the caller's: the harness reads its credentials (and
    // makes the worker's own home) from them.
    let account = match &who.relaunch.account {
        Some(name) => crate::spend::account::env_for(harness, name)?,
        None => Vec::new(),
    };
    let caller: Vec<(String, String)> = std::env::vars().chain(account.clone()).collect();
    let hook = orch_store::paths::sibling_exe("orch-hook")?;
    let launch = harness.prepare(&Spawn {
        id: who.id,
        name: who.name,
        dir: who.dir,
        cwd: who.cwd,
        session_id: who.session_id,
        resume: who.resume,
        outfit: who.outfit,
        args: &who.relaunch.args,
        env: &caller,
        quiet: who.quiet,
        prompt_regex: who.prompt_regex,
        hook: &hook,
    })?;
    let mut env: Vec<(String, String)> = caller
        .into_iter()
        .filter(|(k, _)| {
            harness.passes(k) || launch.pass.contains(k) || account.iter().any(|(a, _)| a == k)
        })
        .collect();
    env.extend(launch.env.iter().cloned());
    env.push(("ORCH_WORKER".into(), who.id.into()));
    env.push(("ORCH_HOME".into(), state_root.display().to_string()));
    env.extend(launch.dress.env.iter().cloned());
    env.extend(who.relaunch.env.iter().cloned());
    check_program(harness, &launch.argv[0], &env)?;
    Ok((launch, env))
}

/// What runs in a held pane before its harness starts ([`open_pane`]).
type First<'a> = dyn Fn(&Meta) -> Result<()> + 'a;

/// Opens the worker's pane on the server its metadata names and starts `launch` there with
/// `env`: tags the pane (`@orch_id`, `@orch_role`, `@orch_name`, its title), records and
/// indexes it, and runs the harness's [`crate::harness::Adapter::placed`]. Returns the worker.
/// With `first`, the pane opens holding (a `sleep`), `first` runs with the pane known (in the
/// worker's meta), and only then does the harness start in it: nothing the harness records
/// can come before what `first` records.
fn open_pane(
    state: &Store,
    meta: Meta,
    launch: &Launch,
    env: &[(String, String)],
    first: Option<&First>,
) -> Result<Worker> {
    // A worker is an interactive agent in a pane: `CI` (inherited from the tmux server's
    // environment when orch runs under CI) turns some CLIs non-interactive (Gemini CLI exits
    // on its first prompt), so the pane never gets it.
    let mut command = vec!["/usr/bin/env".to_string(), "-u".into(), "CI".into()];
    command.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    command.extend(launch.argv.iter().cloned());
    let server = meta.server.clone();
    let hold = ["sleep".to_string(), "2147483647".into()];
    let placed = server.place(&meta.cwd, if first.is_some() { &hold } else { &command })?;
    let pane = placed.pane.clone();
    server.tag_pane(
        &pane,
        &[
            ("@orch_id", meta.id.as_str()),
            ("@orch_role", meta.role.as_str()),
            ("@orch_name", meta.name.as_str()),
        ],
        &meta.name,
    )?;
    let meta = state.update_meta(&meta.id, |m| {
        m.pane = Some(placed.pane.clone());
        m.server_pid = Some(placed.server_pid.clone());
        m.session = Some(placed.session.clone());
        m.window = Some(placed.window.clone());
        m.socket_path = Some(placed.socket_path.clone());
        m.pane_pid = placed.pane_pid;
    })?;
    state.index_pane(
        &placed.socket_path,
        Some(&placed.server_pid),
        &pane,
        &meta.id,
    )?;
    let meta = match first {
        Some(first) => {
            if let Err(err) = first(&meta).and_then(|()| server.respawn(&pane, &meta.cwd, &command))
            {
                let _ = server.kill_pane(&pane);
                return Err(err);
            }
            // Another process now: the harness, not the `sleep` that held the pane.
            let pid = server.pane_pid(&pane);
            state.update_meta(&meta.id, |m| m.pane_pid = pid)?
        }
        None => meta,
    };
    let state_root = absolute(&state.root)?;
    if let Err(err) = meta.harness.placed(&server, &pane, &state_root, &meta.id) {
        let _ = server.kill_pane(&pane);
        return Err(err);
    }
    Worker::of(state, meta)
}

/// What `orch resume` did for one worker.
#[derive(Debug)]
pub struct Resumed {
    /// The worker, in its new pane.
    pub worker: Worker,
    /// Why it started on a new conversation instead of its recorded one, when it did.
    pub fresh: Option<String>,
    /// The outfit fields its harness could not apply (one line each).
    pub warnings: Vec<String>,
}

/// Starts a worker whose pane is gone ([`Status::Resumable`]: its tmux server died, nobody
/// ended it) again in a new pane, as it was spawned: same id, name, role, parent, outfit,
/// working folder (its worktree), arguments and extra environment, on its recorded
/// conversation when its harness can resume one and the conversation is still there
/// ([`crate::harness::Adapter::transcript`]) with something in it
/// ([`crate::harness::Adapter::holds_conversation`]), else on a new one ([`Resumed::fresh`]
/// says why). Its events go on in the same log after a `resumed` event naming the new pane; its
/// cursors, subscriptions, inbox, escalations and peers stay as they were.
///
/// Errors, with nothing changed: the worker is alive, was ended for good (killed, `/exit`), is
/// an operator's record, its folder or worktree is gone, its outfit no longer loads, or the
/// caller may not (exit 6); then, as for a spawn, the harness program is missing, the pane
/// dies before it starts (exit 4) or it does not start in `ready_timeout` (exit 3).
pub fn resume(worker: &Worker, ready_timeout: Duration) -> Result<Resumed> {
    let meta = &worker.meta;
    let id = &meta.id;
    let state = worker.store();
    match worker.status()? {
        Status::Resumable => {}
        Status::Dead if meta.role == Role::Operator => bail!(
            "`{id}` is the record of an operator's pane, which orch did not start: the operator \
             takes it back by going on with its conversation (`claude --resume`) in a new pane, \
             or by running `orch resume {id}` there"
        ),
        Status::Dead => bail!(
            "worker `{id}` ({}) was ended for good (killed, or exited on its own): nothing to \
             resume; spawn a new one",
            meta.name
        ),
        live => bail!(
            "worker `{id}` ({}) is {} in pane {}: nothing to resume",
            meta.name,
            live.as_str(),
            meta.pane.as_deref().unwrap_or("?")
        ),
    }
    crate::coordination::rights::allow(
        state,
        crate::coordination::rights::Action::Kill,
        Some(meta),
    )?;
    if !meta.cwd.is_dir() {
        let what = match &meta.worktree {
            Some(wt) if wt.path == meta.cwd => format!(
                "its worktree `{}` (branch `{}`) is gone: restore it with `git worktree add {} \
                 {}` in the repository",
                wt.path.display(),
                wt.branch,
                wt.path.display(),
                wt.branch
            ),
            _ => format!(
                "its folder `{}` is gone: restore it (or create it) first",
                meta.cwd.display()
            ),
        };
        bail!(
            "cannot resume worker `{id}` ({}): {what}; nothing was changed",
            meta.name
        );
    }
    let outfit = match &meta.outfit {
        Some(name) => Some(crate::outfit::load(name, &meta.cwd).with_context(|| {
            format!(
                "cannot resume worker `{id}`: its outfit `{name}` does not load; nothing was \
                 changed"
            )
        })?),
        None => None,
    };
    let harness = meta.harness;
    let dir = absolute(worker.dir.path())?;
    let state_root = absolute(&state.root)?;
    // An agent that lost its terminal writes the rest of its transcript as it exits: it is
    // read once that agent has ended (or its grace is over, and it is stopped below).
    let outlived = leftover(meta, &state_root).filter(|pid| !ends_alone(*pid));
    let transcript = meta
        .session_id
        .as_deref()
        .filter(|_| harness.resumes())
        .and_then(|sid| harness.transcript(&dir, sid));
    // Its agent may have ended before it wrote a message there (Claude Code does when its
    // tmux server dies right after a turn): resuming that would exit at once.
    let empty = transcript
        .as_deref()
        .is_some_and(|path| !harness.holds_conversation(path));
    let kept = meta
        .session_id
        .clone()
        .filter(|_| transcript.is_some() && !empty);
    let fresh = match (&kept, &meta.session_id) {
        (Some(_), _) => None,
        _ if !harness.resumes() => Some(format!(
            "the {} harness keeps no conversation: it starts afresh",
            harness.name()
        )),
        (None, None) => Some("it had no conversation yet: it starts afresh".to_string()),
        (None, Some(sid)) if empty => Some(format!(
            "its conversation `{sid}` has no message in {}'s records (its agent ended before \
             it wrote one): it starts on a new one",
            harness.title()
        )),
        (None, Some(sid)) => Some(format!(
            "its conversation `{sid}` is no longer in {}'s records: it starts on a new one",
            harness.title()
        )),
    };
    // A harness that picks its own session id gets a new one, adopted at its SessionStart. One
    // that takes it from orch keeps its old id, unless a session file of it is left (Claude
    // Code refuses `--session-id` for an id it has a file of).
    let session_id = match &kept {
        Some(sid) => Some(sid.clone()),
        None if harness.sets_session_id() && !empty => {
            meta.session_id.clone().or_else(|| Some(new_uuid()))
        }
        None if harness.sets_session_id() => Some(new_uuid()),
        None => None,
    };
    let (launch, env) = launch(
        harness,
        &PrepareFor {
            id,
            name: &meta.name,
            dir: &dir,
            cwd: &meta.cwd,
            session_id: session_id.as_deref(),
            resume: kept.is_some(),
            outfit: outfit.as_ref(),
            relaunch: &meta.relaunch,
            // A command worker's detector reads its settings from its record (kept).
            quiet: None,
            prompt_regex: None,
        },
        &state_root,
    )?;
    // An agent may outlive its pane's server (Gemini CLI 0.61 does): two agents on one
    // conversation would both write it, so the old one is stopped first.
    let mut warnings = Vec::new();
    if let Some(pid) = outlived {
        if stop_group(pid) {
            warnings.push(format!(
                "`{id}`: its agent outlived its pane (pid {pid}, no terminal): stopped it"
            ));
        }
    }
    let server = TmuxServer::from_env();
    let old_pane = meta.pane.clone();
    let meta = state.update_meta(id, |m| {
        m.server = server.clone();
        m.session_id = session_id.clone();
        m.argv = launch.argv.clone();
    })?;
    if let Some(sid) = session_id.as_deref() {
        state.index_session(sid, id)?;
    }
    let before = std::cell::Cell::new(0);
    let record = |meta: &Meta| -> Result<()> {
        let resumed = ResumedEvent {
            pane: meta.pane.clone(),
            was: old_pane.clone(),
            session_id: session_id.clone(),
            conversation: Some(kept.is_some()),
            fresh: fresh.clone(),
        };
        let seq = crate::coordination::inbox::publish(state, id, Kind::Resumed(resumed))?.seq;
        before.set(seq);
        Ok(())
    };
    let worker = open_pane(state, meta, &launch, &env, Some(&record))?;
    let deadline = Instant::now() + ready_timeout;
    wait_started(&worker, harness, before.get(), ready_timeout)?;
    if kept.is_some() {
        settle_input(&worker, deadline)?;
    }
    warnings.extend(launch.dress.warnings);
    Ok(Resumed {
        worker,
        fresh,
        warnings,
    })
}

/// How long the input prompt of a harness that starts on its first prompt must stay on screen
/// before it counts: Codex draws it first and its first-run screens (login, folder trust)
/// about a second later.
const SETTLE: Duration = Duration::from_millis(2000);

/// Waits for the worker's SessionStart after cursor `after` (for a harness that fires it only
/// with the first prompt, for its input prompt on screen, then records `ready`), reading its
/// screen meanwhile for first-run screens that hold hooks back, and failing fast when the pane
/// dies.
fn wait_started(worker: &Worker, harness: Harness, after: u64, timeout: Duration) -> Result<()> {
    let id = &worker.meta.id;
    let on_screen = harness.starts_on_first_prompt();
    let mut ready_since: Option<Instant> = None;
    let pane = worker.pane()?.to_string();
    let server = &worker.meta.server;
    let deadline = Instant::now() + timeout;
    let mut screen = String::new();
    loop {
        let step =
            Duration::from_millis(500).min(deadline.saturating_duration_since(Instant::now()));
        let waited = worker.wait(after, Some(step), |e| {
            (!on_screen && matches!(e.kind, Kind::SessionStart(_))).then_some(())
        })?;
        match waited {
            Waited::Found((), _) => return Ok(()),
            Waited::Gone(_) => bail!(Error::Gone(format!(
                "worker `{id}`: the {} harness exited before it started{}",
                harness.name(),
                last_lines(&screen)
            ))),
            Waited::TimedOut => {}
        }
        if let Ok(now) = server.capture(&pane) {
            screen = now;
        }
        let ready = on_screen && harness.ready_screen(&screen);
        if !ready {
            ready_since = None;
        } else if ready_since.get_or_insert_with(Instant::now).elapsed() >= SETTLE {
            let ready = Ready {
                harness: Some(harness.name().into()),
            };
            crate::coordination::inbox::publish_in(&worker.dir, Kind::Ready(ready))?;
            return Ok(());
        }
        if let Some(blocker) = harness.blocker(&screen, &worker.meta.cwd.display().to_string()) {
            bail!(Error::Timeout(format!(
                "worker `{id}` is stuck at {}'s {} screen in pane {pane}: {}. \
                     To look: `{} attach -t {}`",
                harness.title(),
                blocker.kind,
                blocker.fix,
                server.describe(),
                worker.meta.session.as_deref().unwrap_or("")
            )));
        }
        if Instant::now() >= deadline {
            bail!(Error::Timeout(format!(
                "worker `{id}` did not start within {:.0} s ({}). Its pane {pane} shows:{}",
                timeout.as_secs_f64(),
                if on_screen {
                    "its input prompt never showed".to_string()
                } else if let Some(detector) = &worker.meta.detector {
                    format!(
                        "its screen never settled ({}): give a longer `--ready-timeout`, \
                             or check `--prompt-regex` against the last line below",
                        detector.describe()
                    )
                } else {
                    "no SessionStart hook event: is `orch up` done, so that Claude Code runs \
                         orch-hook?"
                        .to_string()
                },
                last_lines(&screen)
            )));
        }
    }
}

/// The pid of the worker's agent from a pane that is gone, if it still runs: the process tmux
/// started in the pane ([`Meta::pane_pid`]), when its environment names this worker
/// (`ORCH_WORKER`) in this state folder (`ORCH_HOME`), so a reused pid is never taken for it.
/// Linux only (it reads `/proc`); `None` elsewhere.
fn leftover(meta: &Meta, state_root: &Path) -> Option<u32> {
    let pid = meta.pane_pid.filter(|pid| running(*pid))?;
    let environ = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    let has = |want: String| vars.contains(&want.as_bytes());
    let ours = has(format!("ORCH_WORKER={}", meta.id))
        && has(format!("ORCH_HOME={}", state_root.display()));
    ours.then_some(pid)
}

/// Whether process `pid` exists and is not a zombie (`/proc/<pid>/stat`; an exited child
/// nobody reaped yet counts as gone).
fn running(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) S ...`: the state follows the last `)`, as comm may hold one.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// Whether process `pid` ends on its own within [`EXIT_GRACE`]: an agent whose terminal went
/// away usually does, after its own SessionEnd hooks (Claude Code takes a moment).
fn ends_alone(pid: u32) -> bool {
    gone_within(pid, EXIT_GRACE)
}

/// Whether process `pid` is gone within `wait` (looked at every 20 ms: no event says so for
/// a process that is not our child).
fn gone_within(pid: u32, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if !running(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long an agent that lost its terminal gets to end by itself before resume stops it.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// Stops the process group led by `pid`: SIGTERM, then SIGKILL after 3 s. Returns whether
/// `pid` is gone.
fn stop_group(pid: u32) -> bool {
    ["-TERM", "-KILL"].into_iter().any(|signal| {
        // The shell's own `kill` (procps may not be installed): `-PID` is the group.
        let _ = std::process::Command::new("sh")
            .args(["-c", "kill \"$1\" \"-$2\"", "sh", signal, &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
        gone_within(pid, Duration::from_secs(3))
    })
}

/// How long a resumed agent's input box must stay ready on screen before it counts.
const RESUME_SETTLE: Duration = Duration::from_millis(1000);

/// Waits until a resumed agent's screen has shown its input box ready
/// ([`Harness::input_ready`]) for [`RESUME_SETTLE`] without a break, up to `deadline`. An
/// agent may fire SessionStart before it loads the conversation: Gemini CLI 0.61 clears the
/// screen, redraws the chat and runs its hooks for seconds after, under an input box that
/// drops what is typed. A harness whose box orch cannot read is taken as ready.
fn settle_input(worker: &Worker, deadline: Instant) -> Result<()> {
    let Some(screen) = worker.await_input_box(RESUME_SETTLE, deadline)? else {
        return Ok(());
    };
    bail!(Error::Timeout(format!(
        "worker `{}` resumed but its input box did not settle in pane {}: look with `{} \
             attach`{}",
        worker.meta.id,
        worker.pane()?,
        worker.meta.server.describe(),
        last_lines(&screen)
    )))
}

/// The last non-empty lines of a screen, indented, for an error message.
fn last_lines(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(8)..];
    if tail.is_empty() {
        return String::new();
    }
    format!("\n  {}", tail.join("\n  "))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir()?.join(path))
}

/// Names: 1 to 64 of letters, digits, `-`, `_`, `.`; not shaped like an id (`w12`) or a pane
/// (`%3`), so that a WORKER argument always means one thing.
pub fn check_name(name: &str) -> Result<()> {
    let good_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let id_like =
        name.len() > 1 && name.starts_with('w') && name[1..].chars().all(|c| c.is_ascii_digit());
    if name.is_empty() || name.len() > 64 || !good_chars || name == "." || name == ".." || id_like {
        bail!(
            "invalid worker name `{name}`: use 1-64 letters, digits, `-`, `_` or `.`, not of the \
             form `w<number>`"
        );
    }
    Ok(())
}

fn check_name_free(state: &Store, name: &str) -> Result<()> {
    for meta in state.workers()? {
        if meta.name == name {
            let worker = Worker::of(state, meta)?;
            if worker.alive() {
                bail!(
                    "a live worker is already named `{name}` ({}): pick another `--name` or \
                     `orch kill {name}` first",
                    worker.meta.id
                );
            }
        }
    }
    Ok(())
}

/// `KEY=VALUE` pairs (`--env`, `--var`). Errors name the pair that is not one.
pub fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                Ok((k.to_string(), v.to_string()))
            }
            _ => bail!("`--env {pair}`: expected KEY=VALUE"),
        })
        .collect()
}

/// Fails early, with the fix, when the harness program cannot be found on the PATH the
/// worker will have.
fn check_program(harness: Harness, program: &str, env: &[(String, String)]) -> Result<()> {
    if program.contains('/') {
        if Path::new(program).is_file() {
            return Ok(());
        }
        bail!("cannot find the harness program `{program}`");
    }
    let path = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join(program).is_file()) {
        return Ok(());
    }
    let install = harness
        .verified()
        .map(|v| format!("`npm install -g {}`", v.package))
        .unwrap_or_else(|| "install it".into());
    let point = harness
        .program_var()
        .map(|var| format!(", or point {var} at it"))
        .unwrap_or_default();
    bail!(
        "cannot find `{program}` on PATH: {install} ({}){point}",
        harness.title()
    )
}

/// A fresh random version-4 UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`), e.g. for
/// `claude --session-id`.
pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_look_like_v4() {
        let a = new_uuid();
        assert_ne!(a, new_uuid());
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
    }

    #[test]
    fn names_are_checked() {
        for good in ["backend", "auth-flow.2", "A_b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "w12", "%3", "a b", "..", "x/y"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn env_pairs_parse() {
        let got = parse_env(&["A=1".into(), "B=x=y".into()]).unwrap();
        assert_eq!(got, [("A".into(), "1".into()), ("B".into(), "x=y".into())]);
        assert!(parse_env(&["=v".into()]).is_err());
        assert!(parse_env(&["novalue".into()]).is_err());
    }
}
