//! Usage limits held per account: `$ORCH_HOME/limits/<account>.json`, one [`Hold`] per
//! account a limit holds, gone when it lifts. An account is the credentials workers share (see
//! [`crate::Meta::account`]); a limit one worker hit holds every worker of its account.
//!
//! The file is written whole (temp file and rename) under `limits/<account>.lock`, by the hook
//! that sees a limit, by `orch limits`, and by the account's waiter (`orch __limits ACCOUNT`,
//! a [`crate::helper::Helper`] holding `limits/<account>.waiter`).

use crate::files::{create_private_dir, write_json, Lock};
use crate::store::Store;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What holds an account.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Hold {
    /// The account (`claude-1a2b3c4d`).
    pub account: String,
    /// When the limit was first seen, Unix ms.
    pub since_ms: u64,
    /// When it resets, Unix ms, if the harness said (or the hand that held it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
    /// What reported it: `claude:rate_limit`, `codex:usage_limit_reached`, `hand`...
    pub source: String,
    /// The harness's own words, for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The worker whose turn reported it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Held by `orch limits --hold`: only `--release` lifts it (no probe).
    #[serde(default)]
    pub by_hand: bool,
    /// Probes made since it was first seen (a continue sent to one worker to see whether the
    /// limit lifted).
    #[serde(default)]
    pub probes: u32,
    /// When the next probe (or, with a reset time, the continuation) is due, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_ms: Option<u64>,
    /// The escalation raised because it held too long (`e4`), once per hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<String>,
}

/// `limits/`.
fn folder(store: &Store) -> PathBuf {
    store.root.join("limits")
}

/// The hold file of `account`.
fn file(store: &Store, account: &str) -> PathBuf {
    folder(store).join(format!("{account}.json"))
}

/// The lock file of the account's waiter ([`crate::helper::Helper`]).
pub fn waiter_lock(store: &Store, account: &str) -> PathBuf {
    folder(store).join(format!("{account}.waiter"))
}

/// Whether `account` is a name orch can use as a file name (as worker ids).
fn valid(account: &str) -> bool {
    crate::paths::valid_id(account)
}

/// The hold on `account`, if one.
///
/// Errors: the file is there but cannot be read or parsed.
pub fn read(store: &Store, account: &str) -> Result<Option<Hold>> {
    if !valid(account) {
        return Ok(None);
    }
    match crate::files::read_json(&file(store, account))? {
        None => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .with_context(|| format!("cannot read the hold of account `{account}`")),
    }
}

/// Every hold, by account.
///
/// Errors: `limits/` cannot be listed.
pub fn all(store: &Store) -> Result<Vec<Hold>> {
    let mut holds: Vec<Hold> = crate::files::json_stems(&folder(store))?
        .iter()
        .filter_map(|account| read(store, account).ok().flatten())
        .collect();
    holds.sort_by(|a, b| a.account.cmp(&b.account));
    Ok(holds)
}

/// Changes the hold on `account` under its lock: `edit` gets what is there (`None`: not held)
/// and returns what should be (`None`: not held). Returns the new hold.
///
/// Errors: `account` is not a valid name, or the files cannot be read or written.
pub fn update(
    store: &Store,
    account: &str,
    edit: impl FnOnce(Option<Hold>) -> Option<Hold>,
) -> Result<Option<Hold>> {
    anyhow::ensure!(
        valid(account),
        "`{account}` is not an account name (letters, digits, `-` and `_`)"
    );
    create_private_dir(&folder(store))?;
    let path = file(store, account);
    let _lock = Lock::acquire(&path)?;
    let now = read(store, account)?;
    let next = edit(now);
    match &next {
        Some(hold) => write_json(&path, hold)?,
        None => match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove `{}`", path.display())),
        },
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_is_written_read_listed_and_lifted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        assert_eq!(read(&store, "claude-1").unwrap(), None);
        let hold = Hold {
            account: "claude-1".into(),
            since_ms: 5,
            source: "claude:rate_limit".into(),
            ..Hold::default()
        };
        update(&store, "claude-1", |_| Some(hold.clone())).unwrap();
        assert_eq!(read(&store, "claude-1").unwrap(), Some(hold.clone()));
        assert_eq!(all(&store).unwrap(), vec![hold]);
        update(&store, "claude-1", |_| None).unwrap();
        assert!(all(&store).unwrap().is_empty());
        assert!(update(&store, "../x", |h| h).is_err());
        assert_eq!(read(&store, "../x").unwrap(), None);
    }
}
