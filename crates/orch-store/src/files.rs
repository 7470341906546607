//! Safe file changes: an advisory lock on a sibling lock file, a timestamped backup, and writes
//! through a temp file in the same folder renamed over the target, so a reader never sees a
//! half-written file and a crash loses nothing.
//!
//! Nothing orch writes for itself (its state folder, its data folder) goes through a symbolic
//! link: files are opened with `O_NOFOLLOW` (and `O_NONBLOCK`, so a FIFO planted there cannot
//! hang a hook) and must turn out to be regular files; an atomic write renames over a link
//! instead of writing into its target. Only a user's own files that orch edits in place
//! (Claude Code's `settings.json` and `.claude.json`, an outfit `orch outfit new` writes) are
//! followed through a link, which a user may keep in a dotfiles checkout ([`write_following`]).

use anyhow::{Context, Result};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Opens `path` with `opts` (which the caller sets up to read, write, append or create, with
/// a mode) without following a symbolic link at it and without blocking on a FIFO, and
/// checks that it is a regular file.
///
/// Errors, each naming the path and the fix: a symbolic link is there (orch never writes
/// through one), something that is not a regular file is there, or the open fails.
pub fn open_nofollow(opts: &mut OpenOptions, path: &Path) -> Result<File> {
    use rustix::fs::OFlags;
    let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK;
    let file = match opts.custom_flags(flags.bits() as i32).open(path) {
        Ok(file) => file,
        Err(err) => {
            let is_link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                anyhow::bail!(
                    "`{}` is a symbolic link: orch never writes through one; remove it (`rm {}`) \
                     and try again",
                    path.display(),
                    path.display()
                );
            }
            return Err(err).with_context(|| format!("cannot open `{}`", path.display()));
        }
    };
    let kind = file
        .metadata()
        .with_context(|| format!("cannot inspect `{}`", path.display()))?
        .file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_dir() {
            "a folder"
        } else {
            "not a regular file"
        };
        anyhow::bail!(
            "`{}` is {what}: orch writes only regular files there; move it away and try again",
            path.display()
        );
    }
    Ok(file)
}

/// Opens the log file `path` to read and append, created 0600 when missing, never through a
/// symbolic link ([`open_nofollow`]).
pub fn open_log(path: &Path) -> Result<File> {
    open_nofollow(
        OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .mode(0o600),
        path,
    )
}

/// Appends `bytes` to the file `path` (created with `mode` when missing) in one write, never
/// through a symbolic link ([`open_nofollow`]).
pub fn append_private(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = open_nofollow(
        OpenOptions::new().create(true).append(true).mode(mode),
        path,
    )?;
    file.write_all(bytes)
        .with_context(|| format!("cannot append to `{}`", path.display()))
}

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

/// Opens (creates, 0600) the lock file `path`, never through a symbolic link.
fn open_lock_file(path: &Path) -> Result<File> {
    open_nofollow(
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600),
        path,
    )
    .context("cannot take a lock")
}

impl Lock {
    /// The note its holder keeps in the lock file (empty when none): what a holder that
    /// died left behind, readable by the next holder, since the lock is free only once its
    /// holder is gone.
    pub fn note(&self) -> String {
        use std::io::Read;
        let mut text = String::new();
        let _ = (&self.file).read_to_string(&mut text);
        text
    }

    /// Replaces the note in the lock file ([`Lock::note`]).
    ///
    /// Errors: the file cannot be written.
    pub fn set_note(&self, text: &str) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all_at(text.as_bytes(), 0))
            .context("cannot write a note into a lock file")
    }
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
///
/// orch takes it only while it holds its own lock (`<target>.orch-lock`, [`own_lock_path`]),
/// and notes in that lock file which directory it made (device and inode). An orch killed
/// while it held the directory leaves the note behind; the next orch, holding the same lock
/// (free only because that orch is gone), finds the directory its note names and removes it
/// at once instead of waiting for it to go stale. A directory Claude Code made carries no
/// such note and is respected as proper-lockfile expects.
pub struct DirLock<'a> {
    path: PathBuf,
    /// orch's own lock, whose note is cleared when the directory is gone.
    ours: &'a Lock,
}

impl<'a> DirLock<'a> {
    /// Creates `<target>.lock` while `ours` (orch's lock on `<target>.orch-lock`) is held,
    /// waiting while another program holds it, up to `timeout`. A lock directory a dead orch
    /// left (its note in `ours`) is removed at once; one older than [`DIR_LOCK_STALE`] was left
    /// by a process that died and is taken over; an empty regular file there is the lock file
    /// an older orch left (it would keep Claude Code from ever taking its lock) and is removed.
    ///
    /// Errors: the lock is still held after `timeout` (the message names the folder and what
    /// to do), or the folder cannot be created.
    pub fn acquire(
        target: &Path,
        timeout: std::time::Duration,
        ours: &'a Lock,
    ) -> Result<DirLock<'a>> {
        let path = lock_path(target);
        let note = ours.note();
        if let Some(made) = note.strip_prefix("made ") {
            let ours_there = fs::symlink_metadata(&path)
                .is_ok_and(|m| m.is_dir() && identity(&m) == made.trim());
            if ours_there {
                let _ = fs::remove_dir(&path);
            }
            ours.set_note("")?;
        }
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match fs::create_dir(&path) {
                Ok(()) => {
                    let made = fs::symlink_metadata(&path)
                        .with_context(|| format!("cannot inspect `{}`", path.display()))?;
                    ours.set_note(&format!("made {}\n", identity(&made)))?;
                    return Ok(DirLock { path, ours });
                }
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

/// Which directory this is, even after it was removed and another made in its place: device,
/// inode and (where the file system keeps it) creation time.
fn identity(meta: &fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let born = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{} {} {born}", meta.dev(), meta.ino())
}

impl Drop for DirLock<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.path);
        let _ = self.ours.set_note("");
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
/// the file it replaces, else `mode`), fsync, then rename. A symbolic link at `path` is
/// replaced, never written through, and a folder that is a link is refused. Creates missing
/// parent folders, with `mode`'s read bits
/// as their search bits too (0600 makes 0700 folders, 0644 makes 0755), whatever the umask.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let linked = fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink());
        anyhow::ensure!(
            !linked,
            "`{}` is a symbolic link: orch never writes through one; move it away",
            dir.display()
        );
    }
    let keep = fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| m.permissions());
    replace(path, bytes, mode, keep)
}

/// [`write_atomic`] for a user's own file that orch edits in place (Claude Code's
/// `settings.json`, `.claude.json`): a symbolic link at `path` is followed and its target
/// replaced, so a link into a dotfiles checkout stays a link.
pub fn write_following(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let path = resolve_symlinks(path)?;
    let keep = fs::metadata(&path).ok().map(|m| m.permissions());
    replace(&path, bytes, mode, keep)
}

/// The mode of a folder orch creates for files of `mode`: its read bits become search bits.
pub fn dir_mode(mode: u32) -> u32 {
    (mode | ((mode & 0o444) >> 2)) & 0o777
}

fn replace(path: &Path, bytes: &[u8], mode: u32, keep: Option<fs::Permissions>) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir_mode(dir, dir_mode(mode))?;
    let perms = keep.unwrap_or_else(|| fs::Permissions::from_mode(mode));
    let mut tmp = tempfile::Builder::new()
        .prefix(".orch-tmp-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temp file in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write a temp file in `{}`", dir.display()))?;
    fs::set_permissions(tmp.path(), perms)
        .with_context(|| format!("cannot set permissions in `{}`", dir.display()))?;
    tmp.persist(path)
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

/// The stems of the `*.json` files in `folder` (`e3` for `e3.json`), in no order; none when
/// the folder is missing.
///
/// Errors: the folder cannot be listed (the message names it).
pub fn json_stems(folder: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", folder.display())),
    };
    Ok(entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_string)
        })
        .collect())
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
        Ok(_) => match fs::read_link(path) {
            Ok(target) => {
                let parent = path.parent().unwrap_or(Path::new("/"));
                Ok(Some(Some(parent.join(target))))
            }
            // Removed in between (another `orch down`): nothing there.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("cannot read link `{}`", path.display())),
        },
    }
}

/// A mode [`restrict_modes`] changed: the path, its old and its new permission bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restricted {
    pub path: PathBuf,
    pub was: u32,
    pub now: u32,
}

/// Takes away the permission bits outside `files` from every regular file, and outside
/// `dirs` from every folder, in the tree at `root` (itself included), never following a
/// symbolic link and skipping what `skip` names (with all below it). Returns what changed.
///
/// Errors: a folder cannot be listed or a mode cannot be set (named).
pub fn restrict_modes(
    root: &Path,
    files: u32,
    dirs: u32,
    skip: &dyn Fn(&Path) -> bool,
) -> Result<Vec<Restricted>> {
    let mut changed = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(path) = todo.pop() {
        if skip(&path) {
            continue;
        }
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => {
                return Err(err).with_context(|| format!("cannot inspect `{}`", path.display()))
            }
        };
        let allowed = if meta.is_dir() {
            dirs
        } else if meta.is_file() {
            files
        } else {
            continue;
        };
        let was = meta.permissions().mode() & 0o7777;
        let now = was & allowed;
        // Files come and go meanwhile (a hook's temp file renamed into place): gone is fine.
        let gone = |err: &std::io::Error| err.kind() == std::io::ErrorKind::NotFound;
        if now != was {
            match fs::set_permissions(&path, fs::Permissions::from_mode(now)) {
                Ok(()) => changed.push(Restricted {
                    path: path.clone(),
                    was,
                    now,
                }),
                Err(err) if gone(&err) => continue,
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("cannot change the mode of `{}`", path.display()))
                }
            }
        }
        if meta.is_dir() {
            match fs::read_dir(&path) {
                Ok(entries) => todo.extend(entries.filter_map(|e| e.ok()).map(|e| e.path())),
                Err(err) if gone(&err) => {}
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot list `{}`", path.display()))
                }
            }
        }
    }
    changed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(changed)
}

/// Creates `dir` and its parents with mode 0700 where they are new.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    create_dir_mode(dir, 0o700)
}

/// Creates `dir` and its parents with `mode` where they are new (the umask can only take
/// bits away from it).
pub fn create_dir_mode(dir: &Path, mode: u32) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .with_context(|| format!("cannot create `{}`", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_a_link_and_never_writes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "theirs").unwrap();
        let link = dir.path().join("meta.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"ours", 0o600).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "theirs");
        // Nor into a folder that is a link.
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("sessions")).unwrap();
        let err = write_atomic(&dir.path().join("sessions/s1"), b"w1", 0o600).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        let meta = fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn nofollow_opens_refuse_links_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("root-only");
        fs::write(&target, "x").unwrap();
        let link = dir.path().join("events.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = append_private(&link, b"line\n", 0o600).unwrap_err();
        assert!(format!("{err:#}").contains("symbolic link"), "{err:#}");
        let dangling = dir.path().join("hook.log");
        std::os::unix::fs::symlink(dir.path().join("created"), &dangling).unwrap();
        assert!(append_private(&dangling, b"x", 0o600).is_err());
        assert!(
            !dir.path().join("created").exists(),
            "no file made at the target"
        );
        assert!(Lock::at(&link).is_err());
        assert_eq!(fs::read_to_string(&target).unwrap(), "x");
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let err = Lock::at(&fifo).err().unwrap();
        assert!(format!("{err:#}").contains("FIFO"), "{err:#}");
    }

    #[test]
    fn modes_are_restricted_without_following_links_or_entering_skipped_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        fs::create_dir_all(root.join("workers/w1")).unwrap();
        fs::create_dir_all(root.join("worktrees/w1")).unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, "").unwrap();
        for (path, mode) in [
            (root.join("hook.log"), 0o666),
            (root.join("workers/w1/events.jsonl"), 0o644),
            (root.join("worktrees/w1/run.sh"), 0o755),
            (outside.clone(), 0o644),
        ] {
            fs::write(&path, "").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
        fs::set_permissions(root.join("workers"), fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("workers/w1/auth.json")).unwrap();
        let skip = |p: &Path| p.ends_with("worktrees");
        let changed = restrict_modes(&root, 0o600, 0o700, &skip).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root.join("hook.log")), 0o600);
        assert_eq!(mode(&root.join("workers")), 0o700);
        assert_eq!(mode(&root.join("workers/w1/events.jsonl")), 0o600);
        assert_eq!(mode(&root.join("worktrees/w1/run.sh")), 0o755, "skipped");
        assert_eq!(mode(&outside), 0o644, "a link is not followed");
        assert!(changed.iter().any(|c| c.was == 0o666 && c.now == 0o600));
        assert!(restrict_modes(&root, 0o600, 0o700, &skip)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn folders_made_for_files_get_search_bits_from_read_bits() {
        assert_eq!(dir_mode(0o600), 0o700);
        assert_eq!(dir_mode(0o644), 0o755);
    }

    #[test]
    fn following_write_follows_symlink_and_keeps_mode() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        fs::write(&real, "old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_following(&link, b"new", 0o600).unwrap();
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
        let ours = Lock::at(&own_lock_path(&file)).unwrap();
        {
            let _held = DirLock::acquire(&file, Duration::from_secs(1), &ours).unwrap();
            assert!(lock.is_dir());
        }
        assert!(!lock.exists(), "released on drop");
        assert_eq!(ours.note(), "", "the note goes with the directory");
        // Claude Code holds it (no note of orch's): waited for, then refused.
        fs::create_dir(&lock).unwrap();
        let err = DirLock::acquire(&file, Duration::from_millis(100), &ours)
            .err()
            .unwrap();
        assert!(
            format!("{err:#}").contains("held by another program"),
            "{err:#}"
        );
        fs::remove_dir(&lock).unwrap();
        // An empty lock file of an older orch is cleared.
        fs::write(&lock, "").unwrap();
        drop(DirLock::acquire(&file, Duration::from_secs(1), &ours).unwrap());
        assert!(!lock.exists());
        // A lock directory whose holder stopped refreshing it is taken over.
        fs::create_dir(&lock).unwrap();
        let old = std::time::SystemTime::now() - Duration::from_secs(60);
        fs::File::open(&lock).unwrap().set_modified(old).unwrap();
        drop(DirLock::acquire(&file, Duration::from_secs(1), &ours).unwrap());
        assert!(!lock.exists());
    }

    #[test]
    fn a_lock_directory_a_dead_orch_left_is_removed_at_once() {
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        let lock = dir.path().join("settings.json.lock");
        // An orch that dies holding both: its directory stays, its own lock is freed.
        let dying = Lock::at(&own_lock_path(&file)).unwrap();
        std::mem::forget(DirLock::acquire(&file, Duration::from_secs(1), &dying).unwrap());
        drop(dying);
        assert!(lock.is_dir());
        let next = Lock::at(&own_lock_path(&file)).unwrap();
        let start = Instant::now();
        let held = DirLock::acquire(&file, Duration::from_secs(5), &next).unwrap();
        assert!(start.elapsed() < Duration::from_secs(1), "not waited out");
        drop(held);
        drop(next);
        assert!(!lock.exists());
        // A note naming a directory that is gone, with Claude Code's own in its place, is not
        // taken for it (the old one kept aside, so the new one cannot reuse its inode).
        let other = Lock::at(&own_lock_path(&file)).unwrap();
        std::mem::forget(DirLock::acquire(&file, Duration::from_secs(1), &other).unwrap());
        drop(other);
        fs::rename(&lock, dir.path().join("aside")).unwrap();
        fs::create_dir(&lock).unwrap();
        let again = Lock::at(&own_lock_path(&file)).unwrap();
        assert!(DirLock::acquire(&file, Duration::from_millis(200), &again).is_err());
        assert!(lock.is_dir(), "Claude Code's lock is respected");
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
