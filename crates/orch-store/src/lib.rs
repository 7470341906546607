//! orch's state folder and what it is made of, at the bottom of the workspace: nothing here
//! knows the command line, tmux or an agent CLI, and the compiler refuses an import from
//! above.
//!
//! - [`files`]: safe file changes (locks, atomic writes, backups, no write through a link);
//! - [`store`]: the state directory, its worker records and indexes;
//! - [`meta`]: a worker's record, the plain data it is made of;
//! - [`journal`]: a file of numbered JSON lines (a worker's event log, an inbox);
//! - [`paths`]: where orch's folders and its executables are, and what a record id may be;
//! - [`watch`]: waking on file changes without polling;
//! - [`clock`]: milliseconds, RFC 3339 and stamps.

pub mod clock;
pub mod files;
pub mod journal;
pub mod meta;
pub mod paths;
pub mod store;
pub mod watch;

pub use meta::{Budget, Detector, Harness, Meta, Relaunch, Remote, Role, TmuxServer, Worktree};
pub use store::{Refused, Store};
