//! The `orch` command line: parses argv with clap and runs one subcommand. Each subcommand's
//! flags and `run` live in its own module under `cmd/`.

use crate::cmd;
use crate::error::{code_of, Exit};
use clap::{CommandFactory, Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;

/// orch: run a team of agent CLIs in tmux panes, tell them things, wait on what they do.
#[derive(Parser, Debug)]
#[command(name = "orch", version, about, long_about = None)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Colour the text output: `auto` (when stdout is a terminal and `NO_COLOR` is not set),
    /// `always` or `never`.
    #[arg(long, global = true, value_enum, default_value_t)]
    pub color: crate::views::paint::Choice,

    #[command(subcommand)]
    pub command: Command,
}

/// One `orch` subcommand.
#[derive(Subcommand, Debug)]
// Parsed once per process: the size of spawn's flags costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Install: merge orch's hooks into Claude Code's settings.json and link the skills.
    Up(cmd::up::Args),
    /// Uninstall: remove exactly what `orch up` added, and the state directory.
    Down(cmd::down::Args),
    /// Record one Claude Code hook event read from stdin (what the registered hook runs).
    Hook,
    /// Open a pane and start a worker in it.
    Spawn(cmd::spawn::Args),
    /// Deliver a prompt to a worker and wait until it is submitted.
    Tell(cmd::tell::Args),
    /// Wait for a worker's next event after a cursor.
    Listen(cmd::listen::Args),
    /// List the workers with their status.
    Ps(cmd::ps::Args),
    /// A live view of every worker: status, last message, spend, inbox, escalations; keys to
    /// attach, tell, interrupt and decide.
    Top(cmd::top::Args),
    /// Tokens and cost per worker, from the harness's own records.
    Usage(cmd::usage::Args),
    /// Show or change what a worker may spend.
    Budget(cmd::budget::Args),
    /// Press Escape in a worker's pane and record an `interrupted` event.
    Interrupt(cmd::interrupt::Args),
    /// Kill a worker's pane and record a `killed` event.
    Kill(cmd::kill::Args),
    /// Start workers whose tmux server died again, on their recorded conversations.
    Resume(cmd::resume::Args),
    /// Print a worker's recorded events.
    Events(cmd::events::Args),
    /// Run two simulated workers in a private tmux server and show what happened.
    Demo(cmd::demo::Args),
    /// Check that orch can work here and say how to fix what is wrong; changes nothing.
    Doctor(cmd::doctor::Args),
    /// List the other machines orch reached over ssh, with the state of their connection.
    Hosts(cmd::hosts::Args),
    /// Subscribe a worker or the operator pane to another worker's events.
    Subscribe(cmd::subscribe::Args),
    /// End a subscription.
    Unsubscribe(cmd::unsubscribe::Args),
    /// List subscriptions.
    Subscriptions(cmd::subscriptions::Args),
    /// Show (and acknowledge) the items pushed to a worker's or the operator's inbox.
    Inbox(cmd::inbox::Args),
    /// Print the visible text of a worker's pane.
    Capture(cmd::capture::Args),
    /// Raise a decision to the parent on the four axes (from a worker).
    Escalate(cmd::escalate::Args),
    /// List escalations.
    Escalations(cmd::escalations::Args),
    /// Record the decision on an escalation and tell it to the worker.
    Decide(cmd::decide::Args),
    /// Print which of the four axes a command or permission message trips.
    Classify(cmd::classify::Args),
    /// Read the audit log.
    Audit(cmd::audit::Args),
    /// List, show, validate or create outfits.
    Outfit(cmd::outfit::Args),
    /// `git diff --stat` of a worker's worktree against its base.
    Diff(cmd::diff::Args),
    /// Land workers' branches one at a time onto a target branch: each brought onto it in a
    /// scratch worktree and tested; the target moves only when green; a refused branch's
    /// owner is prompted with its conflict or its failed test.
    Land(cmd::land::Args),
    /// The accounts a usage limit holds, their workers and queued prompts; release or hold one.
    Limits(cmd::limits::Args),
    /// Tell the person, wherever they are, what waits for them: channels to add, list,
    /// remove, test.
    Notify(cmd::notify::Args),
    /// A short count of what waits for the person, for tmux's `status-right`.
    StatusLine(cmd::status_line::Args),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::Args),
    /// Each worker's id and name, one per line (internal: for the completion scripts).
    #[command(name = "__workers", hide = true)]
    Workers,
    /// Write a man page per command into DIR (internal: run by the install and pack scripts).
    #[command(name = "__man", hide = true)]
    Man {
        /// The folder to write `orch.1` and `orch-<command>.1` into.
        dir: std::path::PathBuf,
    },
    /// Type a subscriber's new inbox items into its pane once it is idle (internal: started
    /// detached by the hook).
    #[command(name = "__deliver", hide = true)]
    Deliver {
        /// The subscribers' ids.
        ids: Vec<String>,
    },
    /// The quiet detector of a `command` worker: reads its pane's output, piped in by tmux,
    /// and records its turns (internal: started by spawn with `tmux pipe-pane`).
    #[command(name = "__detect", hide = true)]
    Detect {
        /// The worker's id.
        id: String,
    },
    /// Mirrors a remote worker's events from its host (internal: started detached by spawn
    /// --host and by any command that reads the worker while none runs).
    #[command(name = "__relay", hide = true)]
    Relay {
        /// The worker's local id.
        id: String,
    },
    /// Follows a worker's spend against its budget while it works (internal: started detached
    /// by its hook when a turn begins or ends).
    #[command(name = "__budget", hide = true)]
    BudgetCheck {
        /// The worker's id.
        id: String,
    },
    /// Follows a Codex worker's rollout for the end of a turn no hook reports (internal:
    /// started detached by its hook when a turn begins).
    #[command(name = "__rollout", hide = true)]
    RolloutFollower {
        /// The worker's id.
        id: String,
    },
    /// Checks a repository's worker branches for conflicts after a Stop (internal: started
    /// detached by the hook, one per repository).
    #[command(name = "__conflicts", hide = true)]
    ConflictCheck {
        /// A worker of the repository (the one whose Stop started it).
        id: String,
    },
    /// Waits out the usage limit on an account, then continues its workers (internal: started
    /// detached by the hook that saw the limit, and by any command that finds it missing).
    #[command(name = "__limits", hide = true)]
    LimitWaiter {
        /// The account.
        account: String,
    },
    /// Sends what waits for the person to the notification channels (internal: started
    /// detached by the hook and the commands that find something waiting; one per machine).
    #[command(name = "__notify", hide = true)]
    Notifier {
        /// Always `all`: the notifier serves the whole state folder.
        key: String,
    },
    /// The file-watcher helper that waits run (internal).
    #[command(name = "__watch", hide = true)]
    Watch {
        /// The folder to watch.
        dir: std::path::PathBuf,
    },
}

/// Runs `orch` with `argv` (the program name first) and returns the process exit code.
///
/// `fixed` names a subcommand to insert after the program name, for the `orch-<sub>` executables.
pub fn main(argv: Vec<OsString>, fixed: Option<&str>) -> u8 {
    let mut argv = argv;
    if let Some(sub) = fixed {
        argv.insert(1.min(argv.len()), sub.into());
    }
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Ok.code()
            };
        }
    };
    let ctx = cmd::Ctx {
        json: cli.json,
        color: crate::views::paint::enabled(cli.color),
    };
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(&ctx, args),
        Command::Down(args) => cmd::down::run(&ctx, args),
        Command::Hook => return crate::hook::main(),
        Command::Spawn(args) => cmd::spawn::run(&ctx, args),
        Command::Tell(args) => cmd::tell::run(&ctx, args),
        Command::Listen(args) => cmd::listen::run(&ctx, args),
        Command::Ps(args) => cmd::ps::run(&ctx, args),
        Command::Interrupt(args) => cmd::interrupt::run(&ctx, args),
        Command::Kill(args) => cmd::kill::run(&ctx, args),
        Command::Resume(args) => cmd::resume::run(&ctx, args),
        Command::Events(args) => cmd::events::run(&ctx, args),
        Command::Demo(args) => cmd::demo::run(&ctx, args),
        Command::Doctor(args) => cmd::doctor::run(&ctx, args),
        Command::Usage(args) => cmd::usage::run(&ctx, args),
        Command::Top(args) => cmd::top::run(&ctx, args),
        Command::Budget(args) => cmd::budget::run(&ctx, args),
        Command::Hosts(args) => cmd::hosts::run(&ctx, args),
        Command::Subscribe(args) => cmd::subscribe::run(&ctx, args),
        Command::Unsubscribe(args) => cmd::unsubscribe::run(&ctx, args),
        Command::Subscriptions(args) => cmd::subscriptions::run(&ctx, args),
        Command::Inbox(args) => cmd::inbox::run(&ctx, args),
        Command::Capture(args) => cmd::capture::run(&ctx, args),
        Command::Escalate(args) => cmd::escalate::run(&ctx, args),
        Command::Escalations(args) => cmd::escalations::run(&ctx, args),
        Command::Decide(args) => cmd::decide::run(&ctx, args),
        Command::Classify(args) => cmd::classify::run(&ctx, args),
        Command::Audit(args) => cmd::audit::run(&ctx, args),
        Command::Outfit(args) => cmd::outfit::run(&ctx, args),
        Command::Diff(args) => cmd::diff::run(&ctx, args),
        Command::Land(args) => cmd::land::run(&ctx, args),
        Command::Limits(args) => cmd::limits::run(&ctx, args),
        Command::Notify(args) => cmd::notify::run(&ctx, args),
        Command::StatusLine(args) => cmd::status_line::run(&ctx, args),
        Command::Completions(args) => cmd::completions::run(&ctx, args, Cli::command()),
        Command::Workers => cmd::completions::workers(),
        Command::Man { dir } => cmd::manual::run(&dir, Cli::command()),
        Command::Watch { dir } => {
            return match orch_store::watch::serve(&dir) {
                Ok(()) => Exit::Ok.code(),
                Err(_) => Exit::Error.code(),
            }
        }
        Command::Detect { id } => {
            // tmux drops the detector's output: its errors go to the state's log.
            if let Err(err) = crate::fleet::detect::serve(&id) {
                orch_store::store::log_unattended(&format!("detector of `{id}`: {err:#}"));
            }
            return Exit::Ok.code();
        }
        // The detached helpers: their output goes nowhere, so errors go to the state's log.
        Command::ConflictCheck { id } => {
            return unattended(format!("conflict check for `{id}`"), |state| {
                crate::fleet::conflict::check(state, &id)
            })
        }
        Command::BudgetCheck { id } => {
            return unattended(format!("budget of `{id}`"), |state| {
                crate::spend::budget::follow(state, &id)
            })
        }
        Command::RolloutFollower { id } => {
            return unattended(format!("rollout of `{id}`"), |state| {
                crate::fleet::rollout::follow(state, &id)
            })
        }
        Command::LimitWaiter { account } => {
            return unattended(format!("limits of `{account}`"), |state| {
                crate::spend::limit::wait(state, &account)
            })
        }
        Command::Notifier { key: _ } => {
            return unattended("notifier".into(), crate::notify::notifier::serve)
        }
        Command::Relay { id } => {
            return unattended(format!("relay of `{id}`"), |state| {
                crate::remote::relay::relay(state, &id)
            })
        }
        Command::Deliver { ids } => {
            return unattended(format!("delivery to {}", ids.join(", ")), |state| {
                crate::coordination::inbox::deliver_all(state, &ids)
            })
        }
    };
    match result {
        Ok(()) => Exit::Ok.code(),
        Err(err) if is_broken_pipe(&err) => Exit::Ok.code(),
        Err(err) => {
            let _ = std::io::stdout().flush();
            eprintln!("orch: {err:#}");
            code_of(&err)
        }
    }
}

/// Runs a detached helper's `work` in this environment's state folder and returns its exit
/// code; an error is written to the log of the unattended processes (`hook.log`), prefixed
/// with `what`, since nobody reads the helper's output.
fn unattended(what: String, work: impl FnOnce(&orch_store::Store) -> anyhow::Result<()>) -> u8 {
    match orch_store::Store::from_env().and_then(|state| work(&state)) {
        Ok(()) => Exit::Ok.code(),
        Err(err) => {
            orch_store::store::log_unattended(&format!("{what}: {err:#}"));
            Exit::Error.code()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
