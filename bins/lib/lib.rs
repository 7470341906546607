//! orch: spawn agent CLIs (Claude Code and others) in tmux panes, deliver prompts that always
//! arrive, and wait on what they do through Claude Code hooks, with no daemon.
//!
//! The executables under `bins/` are thin: each hands its argv to [`cli::main`] (or, for the
//! hook, to [`hook::main`]) and exits with the code it returns.
//!
//! Layers (README: Layout): `cli` -> `cmd/` -> the domain's folders (views, fleet, remote,
//! spend, coordination, delivery, harness, outfit) -> `claude`, `tmux` -> the `orch-store`
//! crate; imports one way, no cycles (tests/layers.rs checks them against the README's
//! drawing). Only what the executables and the integration tests
//! use is `pub`; the rest is `pub(crate)`, documented with `cargo doc --document-private-items`,
//! so public docs may link to crate-private items.

#![allow(rustdoc::private_intra_doc_links)]

pub mod claude;
pub mod cli;
pub(crate) mod cmd;
pub mod coordination;
pub mod delivery;
pub mod error;
pub mod fleet;
pub mod harness;
pub mod hook;
pub(crate) mod notify;
pub mod outfit;
pub(crate) mod remote;
pub(crate) mod shell;
pub(crate) mod spend;
pub(crate) mod tmux;
pub(crate) mod views;
