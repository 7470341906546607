//! The workers as orch handles them: a worker's handle and waits, its status, its worktree
//! and its branch's conflicts, landing branches, the spawn and resume pipeline, and the command harness's turn detector.

pub(crate) mod conflict;
pub(crate) mod detect;
pub(crate) mod land;
pub(crate) mod spawn;
pub(crate) mod status;
pub(crate) mod worker;
pub(crate) mod worktree;
