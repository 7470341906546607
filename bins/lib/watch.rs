//! Waking on file changes without a polling loop: a notify watcher on a folder (never on the
//! file: editors and renames replace files), with notify's poll watcher as the fallback on file
//! systems without native events.

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

/// A watch on one folder; [`Watch::wait`] returns when anything in it changed.
pub struct Watch {
    rx: Receiver<()>,
    _watcher: Box<dyn Watcher + Send>,
}

impl Watch {
    /// Starts watching `dir` (not recursive). Set the watch before reading what it guards, so
    /// no change can fall between the read and the wait.
    pub fn folder(dir: &Path) -> Result<Watch> {
        let (tx, rx) = channel();
        // Reads are events too (inotify's IN_OPEN, IN_ACCESS): only changes wake the waiter,
        // or a reader would wake itself by reading.
        let handler = move |res: notify::Result<notify::Event>| {
            if res.is_ok_and(|e| !matches!(e.kind, notify::EventKind::Access(_))) {
                let _ = tx.send(());
            }
        };
        let native = notify::recommended_watcher(handler.clone()).and_then(|mut w| {
            w.watch(dir, RecursiveMode::NonRecursive)?;
            Ok(Box::new(w) as Box<dyn Watcher + Send>)
        });
        let watcher = match native {
            Ok(w) => w,
            Err(err) => {
                if let notify::ErrorKind::MaxFilesWatch = err.kind {
                    eprintln!(
                        "orch: too many inotify watches (raise fs.inotify.max_user_watches); polling instead"
                    );
                }
                let config =
                    notify::Config::default().with_poll_interval(Duration::from_millis(100));
                let mut w = notify::PollWatcher::new(handler, config)
                    .context("cannot start a file watcher")?;
                w.watch(dir, RecursiveMode::NonRecursive)
                    .with_context(|| format!("cannot watch `{}`", dir.display()))?;
                Box::new(w)
            }
        };
        Ok(Watch {
            rx,
            _watcher: watcher,
        })
    }

    /// Waits up to `timeout` for a change; true when one came. Drains queued notices so one
    /// burst of writes wakes the caller once.
    pub fn wait(&self, timeout: Duration) -> bool {
        let woke = match self.rx.recv_timeout(timeout) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                false
            }
        };
        while self.rx.try_recv().is_ok() {}
        woke
    }
}
