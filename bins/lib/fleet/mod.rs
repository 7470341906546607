//! The workers as orch handles them: a worker's handle and waits, its status, its worktree
//! and its branch's conflicts, landing branches, the spawn and resume pipeline, the command
//! harness's turn detector, and the follower that reads a Codex turn's failed end off its
//! rollout.

pub(crate) mod conflict;
pub(crate) mod detect;
pub(crate) mod land;
pub(crate) mod rollout;
pub(crate) mod spawn;
pub(crate) mod status;
pub(crate) mod worker;
pub(crate) mod worktree;
