//! `orch spawn`: open a pane, start a harness in it as a worker, wait until its agent is up
//! ([`crate::fleet::spawn`]), then deliver the first prompt like `tell` ([`crate::delivery`]).

use super::Ctx;
use crate::delivery;
use crate::fleet::spawn::{parse_env, resolve_cwd, SpawnRequest};
use crate::harness::Harness;
use anyhow::Result;
use orch_store::Role;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// The role `--role` gives a worker ([`orch_store::Role`]): what it may do to other panes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleArg {
    /// May tell, interrupt and kill the workers it spawned.
    Worker,
    /// May read, listen and subscribe, never type into another pane.
    Observer,
}

impl From<RoleArg> for Role {
    fn from(arg: RoleArg) -> Role {
        match arg {
            RoleArg::Worker => Role::Worker,
            RoleArg::Observer => Role::Observer,
        }
    }
}

/// Flags of `orch spawn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A name to address the worker by (letters, digits, `-`, `_`, `.`); default: its id.
    #[arg(long)]
    pub name: Option<String>,
    /// The agent CLI to run (default: the outfit's, else `claude`).
    #[arg(long, value_parser = harness_names())]
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
    /// The credentials to spend on: an account named in orch's configuration (`accounts:` in
    /// config.yaml), or `auto` for the first one no usage limit holds (default: the outfit's,
    /// else the caller's own).
    #[arg(long, value_name = "NAME|auto")]
    pub account: Option<String>,
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
    /// Its budget in USD (from its harness's transcript and the price list): at 80% an event,
    /// at 100% an escalation on reversibility to its parent.
    #[arg(long, value_name = "USD")]
    pub budget_usd: Option<f64>,
    /// Its budget in tokens (input, output and cache together), as `--budget-usd`.
    #[arg(long, value_name = "N")]
    pub budget_tokens: Option<u64>,
    /// When the budget is spent, stop its turn and refuse new prompts until it is raised
    /// (`orch budget`).
    #[arg(long)]
    pub budget_interrupt: bool,
    /// Run the worker on another machine, through ssh: any destination `ssh` accepts (your
    /// ~/.ssh/config applies; `ORCH_SSH` overrides the command). The host needs this orch
    /// version (`orch doctor --host DEST` checks); `--cwd` is a folder there.
    #[arg(long, value_name = "DEST")]
    pub host: Option<String>,
    /// Arguments for the harness itself, after `--` (e.g. `-- --model sonnet`).
    #[arg(last = true, value_name = "HARNESS ARGS")]
    pub harness_args: Vec<String>,
}

impl Args {
    /// The flags for the host's `orch spawn` (all but `--host`).
    fn for_host(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                out.push(format!("--{name}"));
                out.push(value);
            }
        };
        flag("name", self.name.clone());
        flag("harness", self.harness.clone());
        flag("cwd", self.cwd.as_ref().map(|p| p.display().to_string()));
        flag("role", self.role.map(|r| Role::from(r).to_string()));
        flag("outfit", self.outfit.clone());
        flag("account", self.account.clone());
        flag("task", self.task.clone());
        flag("prompt", self.prompt.clone());
        flag("quiet", self.quiet.map(|q| q.to_string()));
        flag("prompt-regex", self.prompt_regex.clone());
        flag("ready-timeout", Some(self.ready_timeout.to_string()));
        flag("budget-usd", self.budget_usd.map(|v| v.to_string()));
        flag("budget-tokens", self.budget_tokens.map(|v| v.to_string()));
        for var in &self.vars {
            flag("var", Some(var.clone()));
        }
        for var in &self.env {
            flag("env", Some(var.clone()));
        }
        if self.worktree {
            out.push("--worktree".into());
        }
        if self.budget_interrupt {
            out.push("--budget-interrupt".into());
        }
        if self.trust {
            out.push("--trust".into());
        }
        if !self.harness_args.is_empty() {
            out.push("--".into());
            out.extend(self.harness_args.iter().cloned());
        }
        out
    }
}

/// `orch spawn --host DEST`: the host's orch spawns the worker; here a record mirrors it
/// ([`crate::remote::relay`]). Rights are checked here, on the caller's side.
fn spawn_remote(ctx: &Ctx, args: &Args, dest: &str) -> Result<()> {
    let state = orch_store::Store::from_env()?;
    crate::coordination::rights::allow(&state, crate::coordination::rights::Action::Spawn, None)?;
    let host = crate::remote::host::Host::new(dest)?;
    let ready = Duration::from_secs_f64(args.ready_timeout.max(0.0));
    let request = crate::remote::relay::RemoteSpawn {
        host: &host,
        args: args.for_host(),
        parent: crate::coordination::roles::Actor::from_env().as_parent(),
        timeout: ready + Duration::from_secs(30),
    };
    let (worker, there) = crate::remote::relay::spawn(&state, &request)?;
    let m = &worker.meta;
    super::audit(
        &state,
        super::entry("spawn")
            .target(&m.id)
            .field("harness", m.harness.name())
            .field("host", dest.to_string())
            .field(
                "remote_id",
                there["id"].as_str().unwrap_or_default().to_string(),
            ),
    );
    if ctx.json {
        super::print_json(&json!({
            "id": m.id, "name": m.name, "pane": m.pane, "harness": m.harness,
            "role": m.role, "cursor": there["cursor"], "session": m.session,
            "parent": m.parent, "host": dest, "remote_id": there["id"],
        }))?;
    } else {
        println!("{}", m.id);
    }
    Ok(())
}

/// `--harness`'s possible values: every harness's name.
fn harness_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(Harness::names())
}

/// Runs `orch spawn`; prints the worker id (with `--json`: id, name, pane, harness, role,
/// cursor).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if let Some(dest) = &args.host {
        return spawn_remote(ctx, &args, dest);
    }
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
    let ready_timeout = Duration::from_secs_f64(args.ready_timeout.max(0.0));
    let request = SpawnRequest {
        name: args.name.clone(),
        harness: args.harness.as_deref().map(Harness::parse).transpose()?,
        cwd: args.cwd.clone(),
        role: args.role.map(Role::from),
        outfit: args.outfit.clone(),
        env: parse_env(&args.env)?,
        account: args.account.clone(),
        worktree: args.worktree,
        budget: (args.budget_usd.is_some() || args.budget_tokens.is_some()).then_some(
            orch_store::Budget {
                usd: args.budget_usd,
                tokens: args.budget_tokens,
                interrupt: args.budget_interrupt,
            },
        ),
        trust: args.trust,
        quiet: args.quiet,
        prompt_regex: args.prompt_regex.clone(),
        ready_timeout,
        harness_args: args.harness_args.clone(),
    };
    let spawned = crate::fleet::spawn::spawn(&request)?;
    for warning in &spawned.warnings {
        eprintln!("orch: warning: {warning}");
    }
    let worker = spawned.worker;
    super::audit(
        worker.store(),
        super::entry("spawn")
            .target(&worker.meta.id)
            .field("harness", worker.meta.harness.name())
            .field("role", worker.meta.role.as_str())
            .field("pane", worker.meta.pane.clone().unwrap_or_default())
            .field("outfit", worker.meta.outfit.clone().unwrap_or_default()),
    );
    let mut cursor = worker.cursor()?;
    if let Some(text) = prompt {
        let opts = delivery::DeliveryOptions {
            held: false,
            command: false,
            now: false,
            ready_timeout,
        };
        cursor = match delivery::deliver(&worker, &text, opts) {
            Ok(told) => told.cursor,
            // Spawned on a held account: the first prompt waits in its queue like a tell.
            Err(err) if crate::error::exit_of(&err) == crate::error::Exit::Limited => {
                crate::spend::limit::queue(&worker, &text)?.cursor
            }
            Err(err) => return Err(err),
        };
        super::audit(
            worker.store(),
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
