//! Waking on file changes without a polling loop: a notify watcher on a folder (never on the
//! file: editors and renames replace files), with notify's poll watcher as the fallback on file
//! systems without native events.
//!
//! The watcher runs in a helper process (`orch __watch DIR`) that reports each change as one
//! byte on a pipe. Closing an inotify instance waits for the kernel's SRCU grace period (often
//! 5-20 ms), and a process that holds one pays that on exit; with the watcher in a helper, a
//! `listen` that has found its event exits at once and the helper pays it in the background,
//! noticing through its stdin that its parent is done. Where the helper cannot start, the
//! watcher runs in this process.

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// The hidden subcommand that runs a watcher helper.
pub const HELPER: &str = "__watch";

/// A watch on one folder; [`Watch::wait`] returns when anything in it changed.
pub struct Watch {
    rx: Receiver<()>,
    _source: Source,
}

enum Source {
    /// A helper process; dropping its stdin tells it to exit.
    Helper { _child: Child, _stdin: ChildStdin },
    /// A watcher in this process.
    Local { _watcher: Box<dyn Watcher + Send> },
}

impl Watch {
    /// Starts watching `dir` (not recursive) and returns once the watch is set: set it before
    /// reading what it guards, so that no change can fall between the read and the wait.
    pub fn folder(dir: &Path) -> Result<Watch> {
        if let Some(watch) = Watch::helper(dir) {
            return Ok(watch);
        }
        let (tx, rx) = channel();
        Ok(Watch {
            rx,
            _source: Source::Local {
                _watcher: local(dir, tx)?,
            },
        })
    }

    /// A watch served by `orch __watch DIR`; `None` when the helper cannot start or watch.
    fn helper(dir: &Path) -> Option<Watch> {
        let exe = crate::paths::sibling_exe("orch").ok()?;
        let mut child = Command::new(exe)
            .arg(HELPER)
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let mut stdout = child.stdout.take()?;
        let mut ready = [0u8; 1];
        if stdout.read_exact(&mut ready).is_err() || ready[0] != b'r' {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            while matches!(stdout.read(&mut buf), Ok(n) if n > 0) {
                if tx.send(()).is_err() {
                    break;
                }
            }
        });
        Some(Watch {
            rx,
            _source: Source::Helper {
                _child: child,
                _stdin: stdin,
            },
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

/// A notify watcher on `dir` in this process that sends `()` on each change.
fn local(dir: &Path, tx: Sender<()>) -> Result<Box<dyn Watcher + Send>> {
    watcher(&[(dir, false)], move |_| {
        let _ = tx.send(());
    })
}

/// A notify watcher in this process on `folders` (each with whether to watch it recursively)
/// that calls `changed` with the paths of each change (a write, a create, a rename, a
/// removal; never a mere read). Native where the system has it, else notify's poll watcher
/// (every 100 ms). More folders can be added with [`Watcher::watch`].
///
/// Errors: neither watcher can start or watch a folder.
pub fn watcher(
    folders: &[(&Path, bool)],
    changed: impl Fn(Vec<std::path::PathBuf>) + Send + Clone + 'static,
) -> Result<Box<dyn Watcher + Send>> {
    // Reads are events too (inotify's IN_OPEN, IN_ACCESS): only changes wake the waiter, or
    // a reader would wake itself by reading.
    let handler = move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if !matches!(event.kind, notify::EventKind::Access(_)) {
                changed(event.paths);
            }
        }
    };
    let mode = |recursive: bool| match recursive {
        true => RecursiveMode::Recursive,
        false => RecursiveMode::NonRecursive,
    };
    let native = notify::recommended_watcher(handler.clone()).and_then(|mut w| {
        for (dir, recursive) in folders {
            w.watch(dir, mode(*recursive))?;
        }
        Ok(Box::new(w) as Box<dyn Watcher + Send>)
    });
    match native {
        Ok(w) => Ok(w),
        Err(err) => {
            if let notify::ErrorKind::MaxFilesWatch = err.kind {
                eprintln!(
                    "orch: too many inotify watches (raise fs.inotify.max_user_watches); polling instead"
                );
            }
            let config = notify::Config::default().with_poll_interval(Duration::from_millis(100));
            let mut w =
                notify::PollWatcher::new(handler, config).context("cannot start a file watcher")?;
            for (dir, recursive) in folders {
                w.watch(dir, mode(*recursive))
                    .with_context(|| format!("cannot watch `{}`", dir.display()))?;
            }
            Ok(Box::new(w))
        }
    }
}

/// Runs the watcher helper, `orch __watch DIR`: writes `r` once the watch on DIR is set, then
/// one byte per change, and returns when its stdin closes (its parent is done: the process
/// exits at once) or its stdout does.
///
/// Errors: the watch cannot be set, or the first byte cannot be written.
pub fn serve(dir: &Path) -> Result<()> {
    let (tx, rx) = channel();
    let _watcher = local(dir, tx)?;
    let mut out = std::io::stdout().lock();
    out.write_all(b"r")
        .and_then(|()| out.flush())
        .context("cannot tell the waiter that the watch is set")?;
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        std::process::exit(0);
    });
    while rx.recv().is_ok() {
        while rx.try_recv().is_ok() {}
        if out.write_all(b"c").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_watcher_wakes_on_a_write_and_not_on_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("events.jsonl");
        std::fs::write(&file, "one\n").unwrap();
        let (tx, rx) = channel();
        let watch = Watch {
            rx,
            _source: Source::Local {
                _watcher: local(dir.path(), tx).unwrap(),
            },
        };
        std::fs::read_to_string(&file).unwrap();
        assert!(
            !watch.wait(Duration::from_millis(200)),
            "a read is no change"
        );
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(b"two\n").unwrap();
        assert!(
            watch.wait(Duration::from_secs(5)),
            "an append wakes the watch"
        );
    }
}
