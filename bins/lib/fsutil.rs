//! Safe file changes: an advisory lock on a sibling lock file, a timestamped backup, and writes
//! through a temp file in the same folder renamed over the target, so a reader never sees a
//! half-written file and a crash loses nothing.

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// An exclusive lock held until dropped.
///
/// The lock is an fs2 (flock) lock on `<file>.lock` beside the file, never on the file itself,
/// so renaming a new version over the file does not drop it.
pub struct Lock {
    file: File,
}

impl Lock {
    /// Blocks until the lock on `<target>.lock` is held. Creates the lock file (0600).
    pub fn acquire(target: &Path) -> Result<Lock> {
        Lock::at(&lock_path(target))
    }

    /// Blocks until the lock on the lock file `path` itself is held. Creates it (0600).
    pub fn at(path: &Path) -> Result<Lock> {
        let file = open_lock_file(path)?;
        fs2::FileExt::lock_exclusive(&file)
            .with_context(|| format!("cannot lock `{}`", path.display()))?;
        Ok(Lock { file })
    }

    /// The lock on the lock file `path` if nobody holds it now, else `None` (never blocks).
    pub fn try_at(path: &Path) -> Result<Option<Lock>> {
        let file = open_lock_file(path)?;
        match fs2::FileExt::try_lock_exclusive(&file) {
            Ok(()) => Ok(Some(Lock { file })),
            Err(_) => Ok(None),
        }
    }
}

/// Opens (creates, 0600) the lock file `path`.
fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot open lock file `{}`", path.display()))
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs2::FileExt::unlock(&self.file);
    }
}

/// The lock file that guards `target`: `<target>.lock`.
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    target.with_file_name(name)
}

/// orch's own lock file beside a file another program owns and may lock as `<target>.lock`
/// (Claude Code's `settings.json` and `.claude.json`): `<target>.orch-lock`.
pub fn own_lock_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".orch-lock");
    target.with_file_name(name)
}

/// How old a lock directory's mtime may be before its holder counts as dead: the default of
/// proper-lockfile, whose holders refresh the mtime every half of it.
pub const DIR_LOCK_STALE: std::time::Duration = std::time::Duration::from_secs(10);

/// A lock taken the way the npm package proper-lockfile takes one, which Claude Code 2.1.332
/// uses when it writes `.claude.json`: the directory `<target>.lock`, created by an atomic
/// `mkdir` and removed when this is dropped. Taking it while orch changes such a file means
/// neither overwrites the other's change.
pub struct DirLock {
    path: PathBuf,
}

impl DirLock {
    /// Creates `<target>.lock`, waiting while another process holds it, up to `timeout`. A
    /// lock directory older than [`DIR_LOCK_STALE`] was left by a process that died and is
    /// taken over; an empty regular file there is the lock file an older orch left (it would
    /// keep Claude Code from ever taking its lock) and is removed.
    ///
    /// Errors: the lock is still held after `timeout` (the message names the folder and what
    /// to do), or the folder cannot be created.
    pub fn acquire(target: &Path, timeout: std::time::Duration) -> Result<DirLock> {
        let path = lock_path(target);
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match fs::create_dir(&path) {
                Ok(()) => return Ok(DirLock { path }),
                Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(err)
                        .with_context(|| format!("cannot create the lock `{}`", path.display()));
                }
                Err(_) => {}
            }
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_file() && meta.len() == 0 {
                let _ = fs::remove_file(&path);
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default();
            if meta.is_dir() && age > DIR_LOCK_STALE {
                let _ = fs::remove_dir(&path);
                continue;
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "`{}` is held by another program (Claude Code takes it while it writes the \
                     file) for more than {} s: try again, or remove it if no Claude Code runs",
                    path.display(),
                    timeout.as_secs()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
    }
}

/// The file a path finally names: `path` itself, or the target of a symlink chain (relative
/// links resolved against their folder). A missing target is fine: it is where to write.
pub fn resolve_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = fs::read_link(&current)
                    .with_context(|| format!("cannot read link `{}`", current.display()))?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    anyhow::bail!("too many levels of symbolic links at `{}`", path.display())
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder (same permissions as
/// the file it replaces, else `mode`), fsync, then rename. A symlink at `path` is followed and
/// its target replaced, so the link stays a link. Creates missing parent folders.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let path = resolve_symlinks(path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let perms = match fs::metadata(&path) {
        Ok(meta) => meta.permissions(),
        Err(_) => fs::Permissions::from_mode(mode),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".orch-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temp file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temp file in `{}`", dir.display()))?;
    fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("cannot set permissions in `{}`", dir.display()))?;
    tmp.persist(&path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace `{}`", path.display()))?;
    Ok(())
}

/// Writes `value` as pretty-printed JSON to `path` with [`write_atomic`] (mode 0600 for a new
/// file).
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot serialise JSON")?;
    write_atomic(path, text.as_bytes(), 0o600)
}

/// Reads the JSON file `path`, or `None` when there is none. Errors: the file cannot be read, or
/// is not JSON (the message names it).
pub fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    match fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("cannot parse `{}`", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Copies `path` to `<path>.bak.<stamp>` beside it (`-1`, `-2`... if taken) and returns the
/// backup's path, or `None` when `path` does not exist. A symlink is followed: the backup holds
/// the content.
pub fn backup(path: &Path, now_ms: u64) -> Result<Option<PathBuf>> {
    if !path.exists() {
        return Ok(None);
    }
    let real = resolve_symlinks(path)?;
    let base = format!(
        "{}.bak.{}",
        real.file_name().unwrap_or_default().to_string_lossy(),
        crate::clock::stamp(now_ms)
    );
    let mut candidate = real.with_file_name(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = real.with_file_name(format!("{base}-{n}"));
        n += 1;
    }
    let bytes = fs::read(&real).with_context(|| format!("cannot read `{}`", real.display()))?;
    let mode = fs::metadata(&real).map_or(0o600, |m| m.permissions().mode());
    write_atomic(&candidate, &bytes, mode & 0o777)?;
    Ok(Some(candidate))
}

/// What is at `path`: `None` nothing, `Some(None)` something that is not a symlink,
/// `Some(Some(target))` a symlink and its target (made absolute against the link's folder).
pub fn link_target(path: &Path) -> Result<Option<Option<PathBuf>>> {
    match fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot inspect `{}`", path.display())),
        Ok(meta) if !meta.file_type().is_symlink() => Ok(Some(None)),
        Ok(_) => {
            let target = fs::read_link(path)
                .with_context(|| format!("cannot read link `{}`", path.display()))?;
            let parent = path.parent().unwrap_or(Path::new("/"));
            Ok(Some(Some(parent.join(target))))
        }
    }
}

/// Creates `dir` and its parents with mode 0700 where they are new.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))
}

use std::os::unix::fs::DirBuilderExt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_follows_symlink_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomic(&link, b"new", 0o600).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(
            fs::metadata(&real).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn dir_lock_waits_takes_over_stale_locks_and_clears_old_lock_files() {
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".claude.json");
        let lock = dir.path().join(".claude.json.lock");
        {
            let _held = DirLock::acquire(&file, Duration::from_secs(1)).unwrap();
            assert!(lock.is_dir());
            let err = DirLock::acquire(&file, Duration::from_millis(100))
                .err()
                .unwrap();
            assert!(
                format!("{err:#}").contains("held by another program"),
                "{err:#}"
            );
        }
        assert!(!lock.exists(), "released on drop");
        // An empty lock file of an older orch is cleared.
        fs::write(&lock, "").unwrap();
        drop(DirLock::acquire(&file, Duration::from_secs(1)).unwrap());
        assert!(!lock.exists());
        // A lock directory whose holder stopped refreshing it is taken over.
        fs::create_dir(&lock).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        fs::File::open(&lock).unwrap().set_modified(old).unwrap();
        drop(DirLock::acquire(&file, Duration::from_secs(1)).unwrap());
        assert!(!lock.exists());
    }

    #[test]
    fn backups_never_overwrite_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        assert!(backup(&file, 0).unwrap().is_none());
        fs::write(&file, "one").unwrap();
        let a = backup(&file, 5).unwrap().unwrap();
        fs::write(&file, "two").unwrap();
        let b = backup(&file, 5).unwrap().unwrap();
        assert_ne!(a, b);
        assert!(a.to_string_lossy().contains(".bak.19700101T000000Z"));
        assert_eq!(fs::read_to_string(a).unwrap(), "one");
        assert_eq!(fs::read_to_string(b).unwrap(), "two");
    }
}
