//! orch: spawn agent CLIs (Claude Code and others) in tmux panes, deliver prompts that always
//! arrive, and wait on what they do through Claude Code hooks, with no daemon.
//!
//! The executables under `bins/` are thin: each hands its argv to [`cli::main`] (or, for the
//! hook, to [`hook::main`]) and exits with the code it returns.
//!
//! Layers (README: Layout): `cli` -> `cmd/` -> domain modules -> storage and `tmux`, imports one
//! way, no cycles (tests/layers.rs checks). Only what the executables and the integration tests
//! use is `pub`; the rest is `pub(crate)`, documented with `cargo doc --document-private-items`,
//! so public docs may link to crate-private items.

#![allow(rustdoc::private_intra_doc_links)]

pub mod audit;
pub(crate) mod budget;
pub mod bundle;
pub(crate) mod classify;
pub mod claude;
pub mod cli;
pub(crate) mod cmd;
pub mod controls;
pub(crate) mod delivery;
pub(crate) mod detect;
pub(crate) mod doctor;
pub mod error;
pub(crate) mod escalation;
pub mod harness;
pub mod hook;
pub(crate) mod host;
pub mod inbox;
pub(crate) mod interrupt;
pub(crate) mod outfit;
pub mod prompt;
pub(crate) mod remote;
pub mod rights;
pub(crate) mod roles;
pub(crate) mod spawn;
pub(crate) mod status;
pub(crate) mod summary;
pub(crate) mod tmux;
pub(crate) mod top;
pub(crate) mod usage;
pub(crate) mod worker;
pub(crate) mod worktree;
