//! Per-repository files, `$ORCH_HOME/repos/<key>.*`, for what orch does to the git repository
//! that workers' worktrees share (its key: [`key`], a hash of the repository's top folder):
//!
//! ```text
//! <key>.check           the conflict check's lock (one `orch __conflicts` per repository)
//! <key>.land-<hash>     the lock of a land onto one target branch (one land at a time)
//! <key>.land-<hash>.json   that land's journal while a branch is being landed (LandJournal)
//! ```
//!
//! The journal is written whole (temp file and rename) and removed when the branch has its
//! outcome: one that is left says a land was cut (a crash), for the next land to finish or
//! undo.

use crate::files::{create_private_dir, write_json};
use crate::store::Store;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The folder of the per-repository files.
pub fn folder(store: &Store) -> PathBuf {
    store.root.join("repos")
}

/// A repository's key: 16 hex digits of FNV-1a over its top folder's path (stable across
/// builds and machines, unlike std's hasher).
pub fn key(repo: &Path) -> String {
    fnv(repo.as_os_str().as_encoded_bytes())
}

/// FNV-1a, 64 bits, in hex.
fn fnv(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The lock file of `repo`'s conflict check (a [`crate::helper::Helper`]'s); its folder is
/// created.
///
/// Errors: the folder cannot be created.
pub fn check_lock(store: &Store, repo: &Path) -> Result<PathBuf> {
    create_private_dir(&folder(store))?;
    Ok(folder(store).join(format!("{}.check", key(repo))))
}

/// The lock file of a land onto `target` (a branch name) in `repo`; its folder is created.
///
/// Errors: the folder cannot be created.
pub fn land_lock(store: &Store, repo: &Path, target: &str) -> Result<PathBuf> {
    create_private_dir(&folder(store))?;
    Ok(folder(store).join(format!("{}.land-{}", key(repo), fnv(target.as_bytes()))))
}

/// What a land is doing to one target, kept while a branch is being landed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LandJournal {
    /// The worker whose branch is being landed.
    pub worker: String,
    /// The worker's branch commit being landed (empty in a journal written before orch kept
    /// it).
    #[serde(default)]
    pub head: String,
    /// The target branch (`main`).
    pub target: String,
    /// The target's commit when the branch was brought onto it.
    pub from: String,
    /// The commit the target is being moved to (empty until it is tested).
    #[serde(default)]
    pub to: String,
    /// The scratch worktree the branch is brought onto the target in.
    pub scratch: PathBuf,
}

/// The journal file next to a land lock.
fn journal_path(lock: &Path) -> PathBuf {
    lock.with_extension("json")
}

/// The journal left by a land onto the target of `lock`, if one was cut.
///
/// Errors: it exists but cannot be read or parsed.
pub fn journal(lock: &Path) -> Result<Option<LandJournal>> {
    let path = journal_path(lock);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| {
            format!("cannot read the land journal `{}`", path.display())
        })?)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Writes the journal of the land holding `lock` (whole, by rename).
///
/// Errors: it cannot be written.
pub fn write_journal(lock: &Path, journal: &LandJournal) -> Result<()> {
    write_json(&journal_path(lock), journal)
}

/// Removes the journal of the land holding `lock` (none is fine).
///
/// Errors: it exists and cannot be removed.
pub fn clear_journal(lock: &Path) -> Result<()> {
    match std::fs::remove_file(journal_path(lock)) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
            Err(err).context("cannot remove the land journal")
        }
        _ => Ok(()),
    }
}

/// A worker's worktree as the last conflict check saw it (`git.json` in its folder).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GitState {
    /// The seq of the Stop the last check looked at.
    #[serde(default)]
    pub checked: u64,
    /// The files its working tree had uncommitted (`git status --porcelain` paths) when that
    /// turn ended; empty when clean.
    #[serde(default)]
    pub dirty: Vec<String>,
    /// Whether the worker was prompted to commit those same files already (once per set).
    #[serde(default)]
    pub prompted: bool,
    /// Its branch's conflicts now, one per other side.
    #[serde(default)]
    pub conflicts: Vec<Clash>,
}

/// One conflict of a worker's branch with another side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clash {
    /// The other worker's id, or empty for the base branch.
    pub with: String,
    /// The other side's branch.
    pub branch: String,
    /// The conflicting files.
    pub files: Vec<String>,
    /// When a check first found it, Unix ms (0 in a file an older orch wrote).
    #[serde(default)]
    pub since_ms: u64,
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(super::fnv(b""), "cbf29ce484222325");
        assert_ne!(
            super::key("/a/repo".as_ref()),
            super::key("/b/repo".as_ref())
        );
    }
}
