//! The state directory: one folder per worker with its metadata (`meta.json`, [`Meta`]), its
//! event log (`events.jsonl`, see [`crate::journal`]) and the cursor of the last prompt told to
//! it (`told`); indexes that map a tmux pane or an agent session id to a worker; the hook's
//! error log. Everything is plain JSON; folders are 0700 and files 0600.
//!
//! ```text
//! $ORCH_HOME/
//!   workers/<id>/meta.json  events.jsonl  told
//!   panes/<socket path with / as %>@<pane id>     -> worker id, then the server pid
//!   sessions/<session id>                        -> worker id
//!   hook.log                                     the hook's errors, one line each
//! ```

use crate::files::{create_private_dir, write_atomic, Lock};
use crate::meta::Meta;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    pub root: PathBuf,
}

impl Store {
    /// The state directory from the environment (see [`crate::paths::state_dir`]), checked
    /// ([`Store::check`]); not created.
    ///
    /// Errors: no state directory can be named, or it is refused (the message has the fix).
    pub fn from_env() -> Result<Store> {
        let state = Store::at(crate::paths::state_dir()?);
        state.check()?;
        Ok(state)
    }

    /// The state directory at `root`, unchecked (the hook checks it only once it knows the
    /// event is a worker's).
    pub fn at(root: PathBuf) -> Store {
        Store { root }
    }

    /// Refuses a state directory that another user could change: one not owned by the user
    /// running orch, or one its group or others may write (they could plant links that make
    /// orch write elsewhere, or forge events). A missing one is fine: orch creates it 0700.
    ///
    /// Errors: [`Refused`], naming the folder, its owner or mode, and the fix.
    pub fn check(&self) -> Result<()> {
        match std::fs::metadata(&self.root) {
            Ok(meta) => match refusal(&self.root, &meta) {
                Some(why) => bail!(Refused(why)),
                None => Ok(()),
            },
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => {
                Err(err).with_context(|| format!("cannot inspect `{}`", self.root.display()))
            }
        }
    }

    /// Whether the state directory belongs to the user running orch (a folder that is not
    /// there yet counts as theirs).
    pub fn owned(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(&self.root).map_or(true, |m| m.uid() == current_uid())
    }

    /// Creates the state directory and its folders (0700) if missing.
    pub fn ensure(&self) -> Result<()> {
        for sub in ["workers", "panes", "sessions"] {
            create_private_dir(&self.root.join(sub))?;
        }
        Ok(())
    }

    /// `workers/<id>`.
    pub fn worker_dir(&self, id: &str) -> PathBuf {
        self.root.join("workers").join(id)
    }

    /// `workers/<id>`, checked before anything is written there: `id` is a valid record id
    /// ([`crate::paths::valid_id`]: never `.`, `..` or a path), and `workers` and the record's
    /// folder are real folders, not symbolic links (that could point anywhere).
    ///
    /// Errors: each names the folder and the fix; a missing folder says the record is unknown.
    pub fn folder(&self, id: &str) -> Result<PathBuf> {
        anyhow::ensure!(
            crate::paths::valid_id(id),
            "`{id}` is not a worker id (ids are letters, digits, `-` and `_`)"
        );
        let workers = self.root.join("workers");
        let dir = workers.join(id);
        for folder in [&workers, &dir] {
            match std::fs::symlink_metadata(folder) {
                Ok(meta) if meta.file_type().is_dir() => {}
                Ok(_) => bail!(
                    "`{}` is not a real folder (a symbolic link or a file): orch never writes \
                     through one; move it away",
                    folder.display()
                ),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    bail!("unknown worker `{id}`: `{}` does not exist", dir.display())
                }
                Err(err) => {
                    return Err(err)
                        .with_context(|| format!("cannot inspect `{}`", folder.display()))
                }
            }
        }
        Ok(dir)
    }

    /// Allocates the next worker id (`w1`, `w2`...) under a lock and creates its folder.
    pub fn new_worker(&self) -> Result<(String, PathBuf)> {
        self.new_record("w")
    }

    /// Allocates the next id with `prefix` (`w` for workers, `op` for operator panes, `e` for
    /// escalations share one counter) under a lock and creates its folder under `workers/`.
    pub fn new_record(&self, prefix: &str) -> Result<(String, PathBuf)> {
        self.ensure()?;
        let counter = self.root.join("next-id");
        let _lock = Lock::acquire(&counter)?;
        let mut next: u64 = std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1);
        loop {
            let id = format!("{prefix}{next}");
            let dir = self.worker_dir(&id);
            next += 1;
            if !dir.exists() {
                create_private_dir(&dir)?;
                write_atomic(&counter, format!("{next}\n").as_bytes(), 0o600)?;
                return Ok((id, dir));
            }
        }
    }

    /// Reads a worker's metadata, from a checked folder ([`Store::folder`]).
    pub fn meta(&self, id: &str) -> Result<Meta> {
        let path = self.folder(id)?.join("meta.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("`{}` is not valid", path.display()))
    }

    /// Writes a worker's metadata atomically (under the metadata lock).
    pub fn write_meta(&self, meta: &Meta) -> Result<()> {
        let path = self.worker_dir(&meta.id).join("meta.json");
        let _lock = Lock::acquire(&path)?;
        let mut bytes = serde_json::to_vec_pretty(meta)?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o600)
    }

    /// Changes a worker's metadata with `edit` under the metadata lock.
    pub fn update_meta(&self, id: &str, edit: impl FnOnce(&mut Meta)) -> Result<Meta> {
        let path = self.worker_dir(id).join("meta.json");
        let _lock = Lock::acquire(&path)?;
        let mut meta = self.meta(id)?;
        edit(&mut meta);
        let mut bytes = serde_json::to_vec_pretty(&meta)?;
        bytes.push(b'\n');
        write_atomic(&path, &bytes, 0o600)?;
        Ok(meta)
    }

    /// Every worker's metadata, oldest first. Folders without readable metadata are skipped.
    pub fn workers(&self) -> Result<Vec<Meta>> {
        let dir = self.root.join("workers");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dir.display())),
        };
        let mut all: Vec<Meta> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| self.meta(&e.file_name().to_string_lossy()).ok())
            .collect();
        all.sort_by_key(|m| (m.created_ms, m.id.clone()));
        Ok(all)
    }

    /// Finds a worker by id, `--name` or pane id (`%N`). A name shared by several workers means
    /// the newest. Errors name what was looked for and how to list workers.
    pub fn resolve(&self, spec: &str) -> Result<Meta> {
        if crate::paths::valid_id(spec) && self.worker_dir(spec).join("meta.json").is_file() {
            return self.meta(spec);
        }
        let all = self.workers()?;
        let found = all
            .iter()
            .rev()
            .find(|m| m.name == spec)
            .or_else(|| all.iter().rev().find(|m| m.pane.as_deref() == Some(spec)));
        match found {
            Some(meta) => Ok(meta.clone()),
            None => bail!(
                "unknown worker `{spec}`: give a worker id, name or pane id (`orch ps` lists them)"
            ),
        }
    }

    /// The index file that maps a pane on a server to a worker.
    pub fn pane_index(&self, socket_path: &str, pane: &str) -> PathBuf {
        let key = format!("{}@{}", socket_path.replace('/', "%"), pane);
        self.root.join("panes").join(key)
    }

    /// Records that `id` is in `pane` on the server at `socket_path` whose pid is `server_pid`
    /// (file `<id>\n<pid>\n`): a pane id names a pane only for one server's life.
    pub fn index_pane(
        &self,
        socket_path: &str,
        server_pid: Option<&str>,
        pane: &str,
        id: &str,
    ) -> Result<()> {
        let body = match server_pid {
            Some(pid) => format!("{id}\n{pid}\n"),
            None => format!("{id}\n"),
        };
        write_atomic(&self.pane_index(socket_path, pane), body.as_bytes(), 0o600)
    }

    /// Who is in `pane` on the server at `socket_path` (pid `server_pid`), by the pane index;
    /// `None` when nobody is, or the index was written for an earlier server on that socket
    /// (one that died: its pane ids are handed out again).
    pub fn pane_owner(
        &self,
        socket_path: &str,
        server_pid: Option<&str>,
        pane: &str,
    ) -> Option<String> {
        let text = std::fs::read_to_string(self.pane_index(socket_path, pane)).ok()?;
        let mut lines = text.lines().map(str::trim);
        let id = lines.next().filter(|id| crate::paths::valid_id(id))?;
        match (lines.next().filter(|p| !p.is_empty()), server_pid) {
            (Some(was), Some(now)) if was != now => None,
            _ => Some(id.to_string()),
        }
    }

    /// The index file that maps an agent session id to a worker.
    pub fn session_index(&self, session_id: &str) -> Option<PathBuf> {
        let ok = !session_id.is_empty()
            && session_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        ok.then(|| self.root.join("sessions").join(session_id))
    }

    /// The record session `session_id` is indexed to, if any (an index naming no valid id
    /// counts as none).
    pub fn session_owner(&self, session_id: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.session_index(session_id)?).ok()?;
        let id = text.lines().next()?.trim();
        crate::paths::valid_id(id).then(|| id.to_string())
    }

    /// Indexes agent session `session_id` to record `id` (nothing for an id that cannot be a
    /// file name).
    pub fn index_session(&self, session_id: &str, id: &str) -> Result<()> {
        match self.session_index(session_id) {
            Some(path) => self.index(&path, id),
            None => Ok(()),
        }
    }

    /// Makes `session_id` record `id`'s agent session: indexed to it and kept in its metadata
    /// (a worker's after `/clear` or a Codex worker's first; an operator's own).
    pub fn adopt_session(&self, id: &str, session_id: &str) -> Result<()> {
        self.index_session(session_id, id)?;
        self.update_meta(id, |m| m.session_id = Some(session_id.to_string()))?;
        Ok(())
    }

    /// Records that `id` is in the pane / has the session (index files, atomic).
    pub fn index(&self, path: &Path, id: &str) -> Result<()> {
        write_atomic(path, id.as_bytes(), 0o600)
    }
}

/// A state directory another user could change, refused ([`Store::check`]): orch ends with
/// its "refused" exit code (6) on it.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Why a state directory with metadata `meta` (followed through a link) at `root` is refused
/// ([`Store::check`]), or `None` when it is the user's own and nobody else may write it.
pub fn refusal(root: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let shown = root.display();
    let me = current_uid();
    if meta.uid() != me {
        return Some(format!(
            "the state folder `{shown}` belongs to uid {}, not to you (uid {me}): another user \
             could make orch write where they want; use a folder of your own (unset ORCH_HOME \
             for the default, or point it at a new folder)",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_dir() {
        return Some(format!(
            "the state folder `{shown}` is not a folder: move it away"
        ));
    }
    if mode & 0o022 != 0 {
        return Some(format!(
            "the state folder `{shown}` can be written by others (mode {mode:04o}): run \
             `chmod 700 '{shown}'`"
        ));
    }
    None
}

/// Appends one line, stamped with the time, to `hook.log` in this environment's state
/// directory (0600, never through a link), if that directory exists and is the user's own: the
/// log of the processes nobody watches (the hook, a command worker's detector, the detached
/// helpers). Nothing is reported when it cannot be written: there is nobody to tell.
pub fn log_unattended(msg: &str) {
    let Ok(root) = crate::paths::state_dir() else {
        return;
    };
    let state = Store::at(root);
    if !state.root.is_dir() || !state.owned() {
        return;
    }
    let line = format!("{} {msg}\n", crate::clock::rfc3339(crate::clock::now_ms()));
    let _ = crate::files::append_private(&state.root.join("hook.log"), line.as_bytes(), 0o600);
}

/// The effective uid of this process.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str, name: &str, pane: &str, created_ms: u64) -> Meta {
        Meta {
            name: name.into(),
            pane: Some(pane.into()),
            created_ms,
            ..Meta::new(id, "worker", "operator")
        }
    }

    #[test]
    fn a_pane_index_holds_for_its_server_only() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        state.ensure().unwrap();
        state.index_pane("/tmp/s", Some("100"), "%1", "w1").unwrap();
        assert_eq!(
            state.pane_owner("/tmp/s", Some("100"), "%1").as_deref(),
            Some("w1")
        );
        assert_eq!(
            state.pane_owner("/tmp/s", None, "%1").as_deref(),
            Some("w1")
        );
        // A later server on the same socket hands out %1 again: not w1's.
        assert_eq!(state.pane_owner("/tmp/s", Some("200"), "%1"), None);
        assert_eq!(state.pane_owner("/tmp/s", Some("100"), "%2"), None);
        // An index written before the pid was kept still counts.
        state
            .index(&state.pane_index("/tmp/s", "%3"), "w3")
            .unwrap();
        assert_eq!(
            state.pane_owner("/tmp/s", Some("200"), "%3").as_deref(),
            Some("w3")
        );
    }

    #[test]
    fn ids_count_up_and_resolve_by_id_name_or_pane() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        let (a, _) = state.new_worker().unwrap();
        let (b, _) = state.new_worker().unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("w1", "w2"));
        state.write_meta(&meta("w1", "alpha", "%1", 1)).unwrap();
        state.write_meta(&meta("w2", "alpha", "%2", 2)).unwrap();
        assert_eq!(state.resolve("w1").unwrap().id, "w1");
        assert_eq!(state.resolve("alpha").unwrap().id, "w2", "newest of a name");
        assert_eq!(state.resolve("%1").unwrap().id, "w1");
        let err = state.resolve("nobody").unwrap_err().to_string();
        assert!(err.contains("unknown worker `nobody`"), "{err}");
    }
}
