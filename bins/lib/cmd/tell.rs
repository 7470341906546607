//! `orch tell WORKER [TEXT]`: deliver a prompt so that it always arrives and is submitted
//! ([`crate::delivery`], where the protocol is described), audit it and print the cursor to
//! listen after.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::delivery::prompt::Change;
use crate::delivery::{deliver, DeliveryOptions};
use crate::fleet::worker::Worker;
use crate::harness::HarnessExt;
use anyhow::{Context, Result};
use serde_json::json;
use std::io::Read;
use std::time::Duration;

/// Flags of `orch tell`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
    /// The prompt; read from stdin when absent or `-`.
    pub text: Option<String>,
    /// Send the text as typed, e.g. a slash command (`/clear`), instead of as a prompt. Without
    /// it, a leading `!` or `/` (which Claude Code would take as bash mode or a slash command)
    /// gets a backslash in front so the text arrives as a plain prompt. Control characters
    /// are removed either way.
    #[arg(long)]
    pub command: bool,
    /// Deliver at once even if the worker is mid-turn (Claude Code then folds the text into the
    /// running turn: no UserPromptSubmit, no Stop of its own).
    #[arg(long)]
    pub now: bool,
    /// Seconds to wait for the worker to be ready (idle) before delivering.
    #[arg(long, default_value_t = 600.0, value_name = "SECS")]
    pub wait: f64,
}

/// Runs `orch tell`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let text = match args.text.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the prompt from stdin")?;
            s
        }
        Some(t) => t.to_string(),
    };
    let Some(worker) = super::acting_on(ctx, &args.worker, Action::Tell, OnHost::Stay)? else {
        return Ok(());
    };
    if let Some(why) = crate::spend::budget::refusal(worker.store(), &worker.meta) {
        anyhow::bail!(crate::error::Error::Refused(why));
    }
    if worker.meta.remote.is_some() {
        return tell_remote(ctx, &args, &worker, &text);
    }
    let opts = DeliveryOptions {
        held: false,
        command: args.command,
        now: args.now,
        ready_timeout: Duration::from_secs_f64(args.wait.max(0.0)),
    };
    let held = |err: &anyhow::Error| crate::error::exit_of(err) == crate::error::Exit::Limited;
    let done = match deliver(&worker, &text, opts) {
        // Held, not failed: the prompt waits in the worker's queue (a slash command is typed
        // or not at all: it is not queued).
        Err(err) if held(&err) && !args.command => return queued(ctx, &worker, &text),
        done => done,
    };
    let mut note = super::entry("tell").target(&worker.meta.id).prompt(&text);
    note = match &done {
        Ok(d) => note
            .cursor(d.cursor)
            .field("acknowledged", d.acknowledged)
            .field("rewritten", d.rewritten())
            .field("controls_removed", d.controls_removed()),
        Err(err) => note
            .outcome(crate::coordination::audit::Outcome::Error)
            .field("error", format!("{err:#}")),
    };
    super::audit(worker.store(), note);
    let done = done?;
    // A turn began: the notifier watches it for a worker stuck (busy and silent `stuck_s`).
    // Started here, not in the hook: a prompt's hook never pays for reading the config.
    if let Err(err) = orch_store::helper::wake_notifier(&worker.store().root) {
        eprintln!("orch: cannot start the notifier: {err:#}");
    }
    if ctx.json {
        super::print_json(&json!({
            "worker": worker.meta.id,
            "cursor": done.cursor,
            "acknowledged": done.acknowledged,
            "enters": done.enters,
            "rewritten": done.rewritten(),
            "changes": done.changes.iter().map(Change::code).collect::<Vec<_>>(),
        }))?;
    } else {
        println!("{}", done.cursor);
        if done.controls_removed() {
            eprintln!(
                "orch: control characters (terminal escapes and other control codes) were \
                 removed from the prompt before it was pasted; the rest arrived as text"
            );
        }
        if done.rewritten() {
            let how: Vec<String> = done
                .changes
                .iter()
                .filter(|c| !matches!(c, Change::ControlsRemoved))
                .map(Change::describe)
                .collect();
            eprintln!(
                "orch: `{}` took the prompt, rewritten by {}: {}",
                worker.meta.id,
                worker.meta.harness.title(),
                how.join("; ")
            );
        }
        if !done.acknowledged && !opts.command {
            eprintln!(
                "orch: `{}` was mid-turn: the text was folded into the running turn",
                worker.meta.id
            );
        }
    }
    Ok(())
}

/// `tell` to a worker a usage limit holds: queues the text ([`crate::spend::limit::queue`]) and
/// prints the cursor of its `queued` event (`--json`: `{worker, cursor, queued: true, id}`);
/// `listen` from that cursor waits for the turn the prompt starts once it is delivered.
fn queued(ctx: &Ctx, worker: &Worker, text: &str) -> Result<()> {
    let item = crate::spend::limit::queue(worker, text)?;
    super::audit(
        worker.store(),
        super::entry("tell")
            .target(&worker.meta.id)
            .prompt(text)
            .cursor(item.cursor)
            .field("queued", item.id.clone()),
    );
    if ctx.json {
        return super::print_json(&json!({
            "worker": worker.meta.id, "cursor": item.cursor, "queued": true, "id": item.id,
        }));
    }
    println!("{}", item.cursor);
    eprintln!(
        "orch: `{}` is held by a usage limit: the prompt is queued as {} and delivered when the \
         limit lifts (`orch limits`)",
        worker.meta.id, item.id
    );
    Ok(())
}

/// `tell` for a worker on another host: the host's orch delivers it (`orch --json tell ID -`,
/// the text on stdin, through the shared ssh connection); its cursor is the same here, where
/// the worker's events are mirrored.
fn tell_remote(ctx: &Ctx, args: &Args, worker: &Worker, text: &str) -> Result<()> {
    crate::remote::relay::ensure_relay(worker)?;
    let remote_id = worker.meta.remote.as_ref().map(|r| r.id.clone());
    let remote_id = remote_id.unwrap_or_default();
    let wait = args.wait.to_string();
    let mut argv = vec![
        "--json",
        "tell",
        remote_id.as_str(),
        "-",
        "--wait",
        wait.as_str(),
    ];
    if args.command {
        argv.push("--command");
    }
    if args.now {
        argv.push("--now");
    }
    let done =
        crate::remote::relay::forward(worker, &argv, Some(text.as_bytes())).and_then(|out| {
            serde_json::from_str::<serde_json::Value>(out.trim())
                .with_context(|| format!("the host's tell answered no record: {out}"))
        });
    let mut note = super::entry("tell").target(&worker.meta.id).prompt(text);
    note = match &done {
        Ok(d) => note
            .cursor(d["cursor"].as_u64().unwrap_or(0))
            .field("acknowledged", d["acknowledged"].as_bool().unwrap_or(false))
            .field("host", worker.meta.remote.as_ref().map(|r| r.dest.clone())),
        Err(err) => note
            .outcome(crate::coordination::audit::Outcome::Error)
            .field("error", format!("{err:#}")),
    };
    super::audit(worker.store(), note);
    let mut done = done?;
    let cursor = done["cursor"].as_u64().unwrap_or(0);
    worker.dir.set_told(cursor)?;
    if ctx.json {
        done["worker"] = json!(worker.meta.id);
        super::print_json(&done)?;
    } else {
        println!("{cursor}");
    }
    Ok(())
}
