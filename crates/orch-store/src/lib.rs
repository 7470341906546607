//! orch's state folder and what it is made of, at the bottom of the workspace: nothing here
//! knows the command line, tmux or an agent CLI, and the compiler refuses an import from
//! above.
//!
//! - [`files`]: safe file changes (locks, atomic writes, backups, no write through a link);
//! - [`store`]: the state directory, its worker records and indexes;
//! - [`worker`]: a worker's folder, the one owner of its files: its record, its events
//!   (published, fanned out to subscribers), its inbox;
//! - [`event`]: what happened to a worker, typed;
//! - [`subscription`]: who hears a worker's events;
//! - [`meta`]: a worker's record, the plain data it is made of;
//! - [`journal`]: a file of numbered JSON lines (a worker's event log, an inbox);
//! - [`repos`]: the locks and journals of what orch does to a repository's branches;
//! - [`paths`]: where orch's folders and its executables are, and what a record id may be;
//! - [`watch`]: waking on file changes without polling;
//! - [`clock`]: milliseconds, RFC 3339 and stamps.

pub mod clock;
pub mod config;
pub mod event;
pub mod files;
pub mod helper;
pub mod journal;
pub mod limits;
pub mod meta;
pub mod paths;
pub mod repos;
pub mod store;
pub mod subscription;
pub mod watch;
pub mod worker;

pub use event::{Event, Kind};
pub use meta::{
    Axis, Budget, Detector, Harness, Meta, Relaunch, Remote, Role, TmuxServer, Worktree,
};
pub use store::{Refused, Store};
pub use subscription::{Subscription, SubscriptionMode};
pub use worker::WorkerDir;
