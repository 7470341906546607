//! orch: spawn agent CLIs (Claude Code and others) in tmux panes, deliver prompts that always
//! arrive, and wait on what they do through Claude Code hooks, with no daemon.
//!
//! The executables under `bins/` are thin: each hands its argv to [`cli::main`] (or, for the
//! hook, to [`hook::main`]) and exits with the code it returns.

pub mod audit;
pub mod bundle;
pub mod classify;
pub mod claude;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod delivery;
pub mod detect;
pub mod doctor;
pub mod error;
pub mod escalation;
pub mod events;
pub mod fsutil;
pub mod harness;
pub mod hook;
pub mod inbox;
pub mod outfit;
pub mod paths;
pub mod prompt;
pub mod rights;
pub mod roles;
pub mod sim;
pub mod spawn;
pub mod state;
pub mod status;
pub mod tmux;
pub mod watch;
pub mod worker;
pub mod worktree;
