//! `orch spawn`: open a pane, start a harness in it as a worker, wait until its agent is up
//! (SessionStart), then deliver the first prompt like `tell`.

use super::Ctx;
use crate::error::{Exit, Fail};
use crate::events::fields;
use crate::harness::Harness;
use crate::roles::{Actor, Role};
use crate::state::{new_uuid, Meta, State};
use crate::tmux::{Caller, Server};
use crate::worker::{Waited, Worker};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The role `--role` gives a worker ([`crate::roles::Role`]): what it may do to other panes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleArg {
    /// May tell, interrupt and kill the workers it spawned.
    Worker,
    /// May read, listen and subscribe, never type into another pane.
    Observer,
}

/// Flags of `orch spawn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A name to address the worker by (letters, digits, `-`, `_`, `.`); default: its id.
    #[arg(long)]
    pub name: Option<String>,
    /// The agent CLI to run (default: the outfit's, else `claude`).
    #[arg(long, value_parser = ["claude", "codex", "gemini", "pi", "command", "sim"])]
    pub harness: Option<String>,
    /// Working folder of the worker (default: the current one).
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// The worker's role (default: the outfit's, else `worker`).
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Dress the worker in an outfit (`orch outfit list`): its harness, model, role, system
    /// prompt, tools, permission mode, skills, hooks, env and first prompt.
    #[arg(long)]
    pub outfit: Option<String>,
    /// The task for the outfit's `prompt_template` (`{{task}}`).
    #[arg(long)]
    pub task: Option<String>,
    /// A variable for the outfit's `prompt_template` (`{{K}}`), repeatable.
    #[arg(long = "var", value_name = "K=V")]
    pub vars: Vec<String>,
    /// A first prompt, delivered like `orch tell` once the worker is up.
    #[arg(long)]
    pub prompt: Option<String>,
    /// An extra environment variable for the worker (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Run the worker in a fresh git worktree on a new branch `orch/<name>` (under the state
    /// directory, from the current HEAD); also set by an outfit's `worktree: true`.
    #[arg(long)]
    pub worktree: bool,
    /// Pre-accept Claude Code's folder-trust question for `--cwd` in its `.claude.json`
    /// (backed up, locked, written atomically).
    #[arg(long)]
    pub trust: bool,
    /// For `--harness command`: seconds the pane must stay unchanged for a turn to end
    /// (default: the outfit's `quiet`, else 1.5).
    #[arg(long, value_name = "SECS")]
    pub quiet: Option<f64>,
    /// For `--harness command`: a regex the last non-empty line of the pane must match for a
    /// turn to end, the program's prompt (e.g. `'^>>> $'` for Python; default: the outfit's
    /// `prompt_regex`, else none).
    #[arg(long, value_name = "REGEX")]
    pub prompt_regex: Option<String>,
    /// Seconds to wait for the agent's SessionStart.
    #[arg(long, default_value_t = 30.0, value_name = "SECS")]
    pub ready_timeout: f64,
    /// Arguments for the harness itself, after `--` (e.g. `-- --model sonnet`).
    #[arg(last = true, value_name = "HARNESS ARGS")]
    pub harness_args: Vec<String>,
}

/// Runs `orch spawn`; prints the worker id (with `--json`: id, name, pane, harness, role,
/// cursor).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    // The first prompt is settled before anything starts, so a missing variable spawns nothing.
    // An outfit's template needs `--task`: without it the worker starts with no prompt.
    let prompt = match (&args.prompt, &args.outfit, &args.task) {
        (Some(text), _, _) => Some(text.clone()),
        (None, Some(name), Some(task)) => {
            let cwd = resolve_cwd(args.cwd.as_deref())?;
            let outfit = crate::outfit::load(name, &cwd)?;
            let vars = parse_env(&args.vars)?.into_iter().collect();
            outfit.first_prompt(Some(task), &vars)?
        }
        (None, _, task) => task.clone(),
    };
    let worker = spawn(&args)?;
    super::audit(
        &worker.state,
        super::entry("spawn")
            .target(&worker.meta.id)
            .field("harness", worker.meta.harness.clone())
            .field("role", worker.meta.role.as_str())
            .field("pane", worker.meta.pane.clone().unwrap_or_default())
            .field("outfit", worker.meta.outfit.clone().unwrap_or_default()),
    );
    let mut cursor = worker.cursor()?;
    if let Some(text) = prompt {
        let opts = super::tell::Options {
            command: false,
            now: false,
            ready_timeout: Duration::from_secs_f64(args.ready_timeout.max(0.0)),
        };
        cursor = super::tell::deliver(&worker, &text, opts)?.cursor;
        super::audit(
            &worker.state,
            super::entry("tell")
                .target(&worker.meta.id)
                .prompt(&text)
                .cursor(cursor),
        );
    }
    let m = &worker.meta;
    if ctx.json {
        super::print_json(&json!({
            "id": m.id, "name": m.name, "pane": m.pane, "harness": m.harness,
            "role": m.role, "cursor": cursor, "session": m.session,
            "socket": m.socket_path, "parent": m.parent,
        }))?;
    } else {
        println!("{}", m.id);
    }
    Ok(())
}

/// Spawns a worker as `args` say and waits for its SessionStart. Returns it with its pane.
pub fn spawn(args: &Args) -> Result<Worker> {
    let cwd = resolve_cwd(args.cwd.as_deref())?;
    let outfit = match &args.outfit {
        Some(name) => Some(crate::outfit::load(name, &cwd)?),
        None => None,
    };
    let harness_name = args
        .harness
        .clone()
        .or_else(|| outfit.as_ref().and_then(|o| o.harness.clone()))
        .unwrap_or_else(|| "claude".into());
    let harness = Harness::parse(&harness_name)?;
    let detector = match harness {
        Harness::Command => Some(crate::command::Detector::new(
            args.quiet.or(outfit.as_ref().and_then(|o| o.quiet)),
            args.prompt_regex
                .clone()
                .or_else(|| outfit.as_ref().and_then(|o| o.prompt_regex.clone())),
            "`--quiet`/`--prompt-regex`",
        )?),
        _ if args.quiet.is_some() || args.prompt_regex.is_some() => bail!(
            "`--quiet` and `--prompt-regex` set the quiet detector of `--harness command`; the \
             {} harness reports its turns itself",
            harness.name()
        ),
        _ => None,
    };
    let role = match (args.role, outfit.as_ref().and_then(|o| o.role.as_ref())) {
        (Some(RoleArg::Observer), _) | (None, Some(Role::Observer)) => Role::Observer,
        _ => Role::Worker,
    };
    let state = State::from_env()?;
    state.ensure()?;
    super::allow(&state, crate::rights::Action::Spawn, None)?;
    let name = match &args.name {
        Some(name) => {
            check_name(name)?;
            check_name_free(&state, name)?;
            Some(name.clone())
        }
        None => None,
    };
    let mut extra_env: Vec<(String, String)> = outfit
        .as_ref()
        .map(|o| o.env.clone().into_iter().collect())
        .unwrap_or_default();
    extra_env.extend(parse_env(&args.env)?);
    if args.trust && harness == Harness::Claude {
        crate::claude::trust::trust_folder(&cwd)?;
    }

    let (id, dir) = state.new_worker()?;
    let name = name.unwrap_or_else(|| id.clone());
    let worktree = if args.worktree || outfit.as_ref().and_then(|o| o.worktree) == Some(true) {
        let wt = crate::worktree::create(&cwd, &state.root.join("worktrees"), &id, &name);
        match wt {
            Ok(wt) => Some(wt),
            Err(err) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(err);
            }
        }
    } else {
        None
    };
    let cwd = worktree.as_ref().map_or(cwd, |wt| wt.path.clone());
    if args.trust && harness == Harness::Claude && worktree.is_some() {
        crate::claude::trust::trust_folder(&cwd)?;
    }
    // Codex picks its own thread id: the worker adopts it at its first SessionStart.
    let session_id = harness.sets_session_id().then(new_uuid);
    let dressed = match outfit.as_ref().map(|o| dress(o, harness, &dir, &cwd)) {
        Some(Ok(dressed)) => dressed,
        Some(Err(err)) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(err);
        }
        None => crate::outfit::Dress::default(),
    };
    for warning in &dressed.warnings {
        eprintln!("orch: warning: {warning}");
    }
    let mut harness_args = dressed.args;
    extra_env.splice(0..0, dressed.env);
    let pi = match harness {
        Harness::Pi => Some(crate::pi::prepare(&dir)?),
        Harness::Claude | Harness::Codex | Harness::Gemini | Harness::Command | Harness::Sim => {
            None
        }
    };
    if let Some(pi) = &pi {
        harness_args.insert(0, pi.extension.display().to_string());
        harness_args.insert(0, "-e".into());
    }
    match (&outfit, harness) {
        (Some(outfit), Harness::Command) if args.harness_args.is_empty() => {
            harness_args.extend(outfit.command.iter().cloned())
        }
        _ => harness_args.extend(args.harness_args.iter().cloned()),
    }
    let argv = harness.argv(
        session_id.as_deref().unwrap_or_default(),
        &name,
        &harness_args,
    )?;
    let codex = match harness {
        Harness::Codex => Some(crate::codex::prepare(
            &dir,
            &cwd,
            &crate::paths::sibling_exe("orch-hook")?,
        )?),
        Harness::Claude | Harness::Gemini | Harness::Pi | Harness::Command | Harness::Sim => None,
    };
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            harness.passes(k)
                || codex.as_ref().is_some_and(|c| c.env_keys.contains(k))
                || pi.as_ref().is_some_and(|p| p.env_keys.contains(k))
        })
        .collect();
    if let Some(codex) = &codex {
        env.push(("CODEX_HOME".into(), codex.home.display().to_string()));
    }
    if harness == Harness::Gemini {
        let api_key = env
            .iter()
            .any(|(k, v)| k == "GEMINI_API_KEY" && !v.is_empty());
        let hook = crate::paths::sibling_exe("orch-hook")?;
        let home = crate::gemini::prepare(&dir, &hook, api_key)?;
        env.push(("GEMINI_CLI_HOME".into(), home.display().to_string()));
        // Trusts the worker's folder for this session only, as `--trust` does for Claude Code.
        env.push(("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into()));
    }
    if let Some(pi) = &pi {
        env.push((
            "PI_CODING_AGENT_DIR".into(),
            absolute(&pi.agent_dir)?.display().to_string(),
        ));
        env.push((
            "ORCH_HOOK".into(),
            crate::paths::sibling_exe("orch-hook")?
                .display()
                .to_string(),
        ));
    }
    env.push(("ORCH_WORKER".into(), id.clone()));
    env.push((
        "ORCH_HOME".into(),
        absolute(&state.root)?.display().to_string(),
    ));
    env.extend(extra_env);
    check_program(&argv[0], &env)?;

    let server = Server::from_env();
    let meta = Meta {
        id: id.clone(),
        name,
        role,
        harness: harness.name().into(),
        server: server.clone(),
        socket_path: None,
        pane: None,
        session: None,
        window: None,
        cwd: cwd.clone(),
        parent: Actor::from_env().as_parent(),
        session_id: session_id.clone(),
        created_ms: crate::clock::now_ms(),
        argv: argv.clone(),
        outfit: outfit.as_ref().map(|o| o.name.clone()),
        worktree: worktree.clone(),
        detector,
    };
    state.write_meta(&meta)?;
    if let Some(path) = session_id.as_deref().and_then(|s| state.session_index(s)) {
        state.index(&path, &id)?;
    }
    let spawned = crate::events::append(
        &dir,
        "spawned",
        fields(json!({
            "name": meta.name, "role": meta.role, "harness": meta.harness,
            "outfit": outfit.as_ref().map(|o| o.name.clone()),
            "cwd": cwd, "parent": meta.parent, "session_id": session_id,
        })),
    )?;

    // A worker is an interactive agent in a pane: `CI` (inherited from the tmux server's
    // environment when orch runs under CI) turns some CLIs non-interactive (Gemini CLI exits
    // on its first prompt), so the pane never gets it.
    let mut command = vec!["/usr/bin/env".to_string(), "-u".into(), "CI".into()];
    command.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
    command.extend(argv);
    let placed = match place(&server, &cwd, &command) {
        Ok(placed) => placed,
        Err(err) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(err);
        }
    };
    let pane = placed.pane.clone();
    for (option, value) in [
        ("@orch_id", id.as_str()),
        ("@orch_role", meta.role.as_str()),
        ("@orch_name", meta.name.as_str()),
    ] {
        server.run(&["set-option", "-p", "-t", &pane, option, value])?;
    }
    let _ = server.run(&["select-pane", "-t", &pane, "-T", &meta.name]);
    let meta = state.update_meta(&id, |m| {
        m.pane = Some(placed.pane.clone());
        m.session = Some(placed.session.clone());
        m.window = Some(placed.window.clone());
        m.socket_path = Some(placed.socket_path.clone());
    })?;
    state.index(&state.pane_index(&placed.socket_path, &pane), &id)?;
    if harness == Harness::Command {
        // As soon as the detector can read its pane from the metadata; what the program drew
        // before it is read off the screen.
        if let Err(err) = crate::command::start(&server, &pane, &absolute(&state.root)?, &id) {
            let _ = server.run(&["kill-pane", "-t", &pane]);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(err);
        }
    }
    let worker = Worker { state, meta };
    wait_started(
        &worker,
        harness,
        spawned,
        Duration::from_secs_f64(args.ready_timeout.max(0.0)),
    )?;
    Ok(worker)
}

/// What applies an outfit to a worker whose state folder is `dir` and working folder `cwd`:
/// harness arguments, environment and warnings. For Claude Code: `--append-system-prompt`,
/// `--allowedTools`, `--disallowedTools`, `--model`, `--permission-mode`, a per-worker
/// `--settings` file with the outfit's hooks, and a generated plugin folder with its skills for
/// `--plugin-dir`. Codex, Gemini CLI and pi map what their CLIs support
/// ([`crate::codex::dress`], [`crate::gemini::dress`], [`crate::pi::dress`]); the sim takes
/// only `--model`. Nothing touches the user's global settings.
fn dress(
    outfit: &crate::outfit::Outfit,
    harness: Harness,
    dir: &Path,
    cwd: &Path,
) -> Result<crate::outfit::Dress> {
    let dir = absolute(dir)?;
    let mut args = Vec::new();
    match harness {
        Harness::Codex => return crate::codex::dress(outfit, &dir),
        Harness::Gemini => return crate::gemini::dress(outfit, &dir),
        Harness::Pi => return crate::pi::dress(outfit, &dir, cwd),
        Harness::Command => return dress_command(outfit),
        Harness::Sim => {
            if let Some(model) = &outfit.model {
                args.extend(["--model".to_string(), model.clone()]);
            }
            return Ok(crate::outfit::Dress {
                args,
                ..Default::default()
            });
        }
        Harness::Claude => {}
    }
    if let Some(prompt) = outfit.system_prompt_text()? {
        args.extend(["--append-system-prompt".to_string(), prompt]);
    }
    if let Some(tools) = &outfit.tools {
        if !tools.allow.is_empty() {
            args.extend(["--allowedTools".to_string(), tools.allow.join(",")]);
        }
        if !tools.deny.is_empty() {
            args.extend(["--disallowedTools".to_string(), tools.deny.join(",")]);
        }
    }
    if let Some(model) = &outfit.model {
        args.extend(["--model".to_string(), model.clone()]);
    }
    if let Some(mode) = &outfit.permission_mode {
        args.extend(["--permission-mode".to_string(), mode.clone()]);
    }
    if let Some(hooks) = &outfit.hooks {
        let file = dir.join("outfit-settings.json");
        crate::fsutil::write_json(&file, &json!({ "hooks": hooks }))?;
        args.extend(["--settings".to_string(), file.display().to_string()]);
    }
    let skills = outfit.skill_dirs()?;
    if !skills.is_empty() {
        let plugin = dir.join("outfit-plugin");
        let manifest = json!({
            "name": format!("outfit-{}", outfit.name),
            "version": outfit.version.clone().unwrap_or_else(|| "0".into()),
            "description": format!("skills of the orch outfit `{}`", outfit.name),
        });
        crate::fsutil::write_json(&plugin.join(".claude-plugin/plugin.json"), &manifest)?;
        let skills_dir = plugin.join("skills");
        crate::fsutil::create_private_dir(&skills_dir)?;
        for skill in skills {
            let name = skill.file_name().unwrap_or_default();
            let link = skills_dir.join(name);
            if !link.exists() {
                std::os::unix::fs::symlink(&skill, &link)
                    .with_context(|| format!("cannot link skill `{}`", skill.display()))?;
            }
        }
        args.extend(["--plugin-dir".to_string(), plugin.display().to_string()]);
    }
    Ok(crate::outfit::Dress {
        args,
        ..Default::default()
    })
}

/// A command is no agent: it takes none of an agent's dress. What would only add (a model, a
/// system prompt, allowed tools, skills, hooks) is reported and left out; what would restrict
/// it (`tools.deny`, `permission_mode`) cannot be enforced, so the spawn is refused.
fn dress_command(outfit: &crate::outfit::Outfit) -> Result<crate::outfit::Dress> {
    let denies = outfit.tools.as_ref().is_some_and(|t| !t.deny.is_empty());
    if denies || outfit.permission_mode.is_some() {
        bail!(
            "outfit `{}`: the command harness cannot enforce `tools.deny` or `permission_mode` \
             (a command is no agent with tools): drop them from the outfit, or run it on an \
             agent harness",
            outfit.name
        );
    }
    let mut dress = crate::outfit::Dress::default();
    let why = "a command is no agent";
    let unused = [
        ("model", outfit.model.is_some()),
        (
            "system_prompt",
            outfit.system_prompt.is_some() || outfit.system_prompt_file.is_some(),
        ),
        ("tools.allow", outfit.tools.is_some()),
        ("skills", !outfit.skills.is_empty()),
        ("hooks", outfit.hooks.is_some()),
    ];
    for (field, set) in unused {
        if set {
            dress.warn(outfit, field, "command", why);
        }
    }
    Ok(dress)
}

/// Where the new pane went.
struct Placed {
    pane: String,
    session: String,
    window: String,
    socket_path: String,
}

const FORMAT: &str = "#{pane_id}\t#{session_name}\t#{window_id}\t#{socket_path}";

/// Opens the pane: a split of the caller's window when the caller is in a pane of this
/// server (a new window beside it when the window has no room), else a window in the detached
/// session `orch` (created when missing).
fn place(server: &Server, cwd: &Path, command: &[String]) -> Result<Placed> {
    let cwd = cwd.display().to_string();
    let caller = Caller::from_env().filter(|c| {
        server.socket_path.as_deref() == Some(c.socket_path.as_str())
            || server.socket_path().ok().as_deref() == Some(c.socket_path.as_str())
    });
    let launch = |head: &[&str]| -> Result<Placed> {
        let mut args: Vec<&str> = head.to_vec();
        args.extend(["-P", "-F", FORMAT, "-c", &cwd]);
        args.extend(command.iter().map(String::as_str));
        let out = server.run(&args)?;
        parse_placed(&out)
    };
    if let Some(caller) = caller {
        return launch(&["split-window", "-d", "-t", &caller.pane]).or_else(|err| {
            if format!("{err:#}").contains("no space") {
                launch(&["new-window", "-d", "-a", "-t", &caller.pane])
            } else {
                Err(err)
            }
        });
    }
    if !server.has_session("orch") {
        match launch(&["new-session", "-d", "-s", "orch", "-x", "200", "-y", "50"]) {
            Ok(placed) => return Ok(placed),
            Err(err) if format!("{err:#}").contains("duplicate session") => {}
            Err(err) => return Err(err),
        }
    }
    launch(&["new-window", "-d", "-t", "orch:"])
}

fn parse_placed(out: &str) -> Result<Placed> {
    let mut parts = out.trim_end_matches('\n').split('\t');
    let mut next = || parts.next().map(str::to_string).filter(|s| !s.is_empty());
    match (next(), next(), next(), next()) {
        (Some(pane), Some(session), Some(window), Some(socket_path)) => Ok(Placed {
            pane,
            session,
            window,
            socket_path,
        }),
        _ => bail!(
            "cannot read the new pane from tmux's answer `{}`",
            out.trim()
        ),
    }
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
            (!on_screen && e["event"].as_str() == Some("session_start")).then_some(())
        })?;
        match waited {
            Waited::Found((), _) => return Ok(()),
            Waited::Gone(_) => bail!(Fail::new(
                Exit::Gone,
                format!(
                    "worker `{id}`: the {} harness exited before it started{}",
                    harness.name(),
                    last_lines(&screen)
                )
            )),
            Waited::TimedOut => {}
        }
        if let Ok(now) = server.capture(&pane) {
            screen = now;
        }
        let ready = on_screen && harness.ready_screen(&screen);
        if !ready {
            ready_since = None;
        } else if ready_since.get_or_insert_with(Instant::now).elapsed() >= SETTLE {
            crate::events::append(
                &worker.dir(),
                "ready",
                fields(json!({"harness": harness.name()})),
            )?;
            return Ok(());
        }
        if let Some(blocker) = harness.blocker(&screen, &worker.meta.cwd.display().to_string()) {
            bail!(Fail::new(
                Exit::Timeout,
                format!(
                    "worker `{id}` is stuck at {}'s {} screen in pane {pane}: {}. \
                     To look: `{} attach -t {}`",
                    harness.title(),
                    blocker.kind,
                    blocker.fix,
                    server.describe(),
                    worker.meta.session.as_deref().unwrap_or("")
                )
            ));
        }
        if Instant::now() >= deadline {
            bail!(Fail::new(
                Exit::Timeout,
                format!(
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
                )
            ));
        }
    }
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

/// The working folder, absolute and existing.
fn resolve_cwd(cwd: Option<&Path>) -> Result<PathBuf> {
    let dir = match cwd {
        Some(dir) => PathBuf::from(shellexpand::tilde(&dir.to_string_lossy()).as_ref()),
        None => std::env::current_dir().context("cannot read the current folder")?,
    };
    dir.canonicalize()
        .with_context(|| format!("`--cwd {}`: no such folder", dir.display()))
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

fn check_name_free(state: &State, name: &str) -> Result<()> {
    for meta in state.workers()? {
        if meta.name == name {
            let worker = Worker {
                state: state.clone(),
                meta,
            };
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

fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>> {
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
fn check_program(program: &str, env: &[(String, String)]) -> Result<()> {
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
    bail!(
        "cannot find `{program}` on PATH: install it (Claude Code: `npm install -g \
         @anthropic-ai/claude-code`, Codex: `npm install -g @openai/codex`, Gemini CLI: `npm \
         install -g @google/gemini-cli`, pi: `npm install -g @mariozechner/pi-coding-agent`) or \
         point ORCH_CLAUDE_BIN, ORCH_CODEX_BIN, ORCH_GEMINI_BIN or ORCH_PI_BIN at it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn placed_parses_tmux_answer() {
        let p = parse_placed("%4\torch\t@2\t/tmp/tmux-0/x\n").unwrap();
        assert_eq!((p.pane.as_str(), p.window.as_str()), ("%4", "@2"));
        assert!(parse_placed("junk").is_err());
    }
}
