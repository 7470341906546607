//! Detached helpers: what must outlive the command or hook that needs it (a remote worker's
//! relay, a budget's follower, an account's limit waiter, the notifier) runs as a hidden `orch __VERB KEY`
//! process, one per key. The pattern, in one place:
//!
//! - started on demand: whoever finds work for it ([`Helper::ensure`]: a hook, a command)
//!   starts it when its lock file is free, and goes on at once;
//! - one per key: the helper holds its lock for as long as it runs ([`Helper::claim`]); a
//!   second one started in a race finds it taken and exits;
//! - gone when idle: the helper returns when nothing is left to do, and the next command or
//!   hook that finds work starts it again (so a reboot loses nothing that is on disk). It lets
//!   go of its lock first and then looks once more ([`Helper::let_go`]): work recorded while
//!   it was deciding to go, by a waker that found it still running, is not left behind.

use crate::files::Lock;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// One kind of helper for one key: the hidden subcommand it runs as and the lock file that
/// makes it one per key.
#[derive(Debug, Clone)]
pub struct Helper {
    /// The hidden subcommand (`__relay`, `__budget`, `__limits`).
    pub verb: &'static str,
    /// The key it serves (a worker id, an account): its argument.
    pub key: String,
    /// The lock file it holds while it runs (created 0600, never through a link).
    pub lock: PathBuf,
}

impl Helper {
    /// A helper running `orch VERB KEY` that holds `lock`.
    pub fn new(verb: &'static str, key: impl Into<String>, lock: impl Into<PathBuf>) -> Helper {
        Helper {
            verb,
            key: key.into(),
            lock: lock.into(),
        }
    }

    /// Starts the helper, detached from the caller ([`crate::paths::orch_detached`]) in the
    /// state folder `state_root`, unless one runs (its lock is taken). Returns whether it
    /// started one; never waits for it.
    ///
    /// Errors: the lock file cannot be opened, or `orch` cannot be found or started.
    pub fn ensure(&self, state_root: &Path) -> Result<bool> {
        // Free now: none runs (a racing start finds the lock taken by the one that won).
        if Lock::try_at(&self.lock)?.is_none() {
            return Ok(false);
        }
        crate::paths::orch_detached(state_root)?
            .arg(self.verb)
            .arg(&self.key)
            .spawn()
            .with_context(|| format!("cannot start `orch {} {}`", self.verb, self.key))?;
        Ok(true)
    }

    /// In the helper itself: its lock, held until dropped, or `None` when another helper for
    /// the key holds it (this one should then exit at once).
    ///
    /// Errors: the lock file cannot be opened.
    pub fn claim(&self) -> Result<Option<Lock>> {
        Lock::try_at(&self.lock)
    }

    /// In the helper, when it found nothing left to do: lets go of `lock`, then asks `more`
    /// whether work came meanwhile. `Some(lock)` (taken again) when it did and no other helper
    /// took the key over: the helper goes on; `None`: it exits. Whoever records work and then
    /// calls [`Helper::ensure`] either starts a new helper (the lock was free) or found it
    /// taken before this let go, so `more` sees the work.
    ///
    /// Errors: `more` fails, or the lock file cannot be opened.
    pub fn let_go(&self, lock: Lock, more: impl FnOnce() -> Result<bool>) -> Result<Option<Lock>> {
        drop(lock);
        if !more()? {
            return Ok(None);
        }
        self.claim()
    }

    /// Whether one runs now (its lock is taken).
    ///
    /// Errors: the lock file cannot be opened.
    pub fn running(&self) -> Result<bool> {
        Ok(Lock::try_at(&self.lock)?.is_none())
    }
}

/// The machine's notifier, `orch __notify all` (one per state folder: its lock is
/// `notify/notifier.lock`), which tells the person what waits for them.
pub fn notifier(state_root: &Path) -> Helper {
    Helper::new(
        "__notify",
        "all",
        state_root.join("notify").join("notifier.lock"),
    )
}

/// Starts the notifier ([`notifier`]) when orch's configuration names a notification channel
/// and none runs; returns at once, never waiting on it nor on the network. What calls it:
/// the hook when a worker comes to need the person, and the commands that find something
/// waiting. Returns whether it started one.
///
/// Errors: the configuration is not valid, or the notifier cannot be started.
pub fn wake_notifier(state_root: &Path) -> Result<bool> {
    if crate::config::load()?.notify.channels.is_empty() {
        return Ok(false);
    }
    crate::files::create_dir_mode(&state_root.join("notify"), 0o700)?;
    notifier(state_root).ensure(state_root)
}

#[cfg(test)]
mod tests {
    use super::Helper;

    #[test]
    fn one_claim_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let helper = Helper::new("__test", "k", dir.path().join("k.lock"));
        assert!(!helper.running().unwrap());
        let held = helper.claim().unwrap().expect("the first claim wins");
        assert!(helper.running().unwrap());
        assert!(
            helper.claim().unwrap().is_none(),
            "a second helper must exit"
        );
        drop(held);
        assert!(!helper.running().unwrap());
        assert!(helper.claim().unwrap().is_some());
    }

    #[test]
    fn a_helper_letting_go_goes_on_when_work_came_and_nobody_took_over() {
        let dir = tempfile::tempdir().unwrap();
        let helper = Helper::new("__test", "k", dir.path().join("k.lock"));
        let held = helper.claim().unwrap().unwrap();
        let held = helper
            .let_go(held, || Ok(true))
            .unwrap()
            .expect("work came");
        assert!(helper.running().unwrap());
        let mut other = None;
        let went = helper
            .let_go(held, || {
                other = helper.claim()?;
                Ok(true)
            })
            .unwrap();
        assert!(went.is_none(), "another helper took the key over");
        drop(other);
        assert!(helper
            .let_go(helper.claim().unwrap().unwrap(), || Ok(false))
            .unwrap()
            .is_none());
        assert!(!helper.running().unwrap());
    }
}
