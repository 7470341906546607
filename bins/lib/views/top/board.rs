//! `orch top`'s board: every worker's row and the open escalations, read from the state
//! folder and kept current from its file notifications (only the rows a change touched are
//! read again).

use crate::coordination::escalation::Escalation;
use crate::fleet::status::Status;
use crate::spend::hosted;
use crate::spend::usage::{Tally, Usage};
use crate::views::summary::{self, Panes, Summary};
use anyhow::Result;
use orch_store::worker::{Counter, File};
use orch_store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A worker busy with no event for this long is drawn as possibly stuck (its age in red).
pub const STUCK_MS: u64 = 10 * 60 * 1000;

/// The files of a worker's folder whose change can change its row (`usage.host.json`: a
/// remote worker's spend read on its host); the others (usage.json, lock files, temp files of
/// atomic writes) are passed over, so that reading a row (which may write `usage.json`) never
/// wakes the board.
const WATCHED: [&str; 7] = [
    File::Events.name(),
    File::UsageHost.name(),
    File::Meta.name(),
    File::Inbox.name(),
    File::InboxAcked.name(),
    File::Budget.name(),
    File::RelayGone.name(),
];

/// The folders whose changes move the board: the workers' folders (watched recursively), the
/// escalations folder and the usage limits' holds. They exist once this returns.
///
/// Errors: a folder cannot be created.
pub fn folders(state: &Store) -> Result<Vec<PathBuf>> {
    let dirs = vec![
        state.root.join("workers"),
        crate::coordination::escalation::folder(state),
        state.root.join("limits"),
    ];
    for dir in &dirs {
        orch_store::files::create_private_dir(dir)?;
    }
    Ok(dirs)
}

/// One worker's row.
#[derive(Debug, Clone)]
pub struct WorkerRow {
    pub glance: Summary,
    /// Every token its transcript records, `None` when its harness keeps no record orch reads.
    pub tokens: Option<u64>,
    /// Their cost in USD, `None` when unknown (no record, or a model with no price).
    pub cost_usd: Option<f64>,
    /// Why a remote worker's spend is unknown (its host could not be read), else `None`.
    pub spend_error: Option<String>,
    /// Inbox items not acknowledged yet (`orch inbox --ack`).
    pub unread: u64,
    /// While a usage limit holds it: when orch expects to continue it (the reset, else the
    /// next probe), Unix ms.
    pub resumes_ms: Option<u64>,
    /// Its branch at a glance ([`crate::fleet::worktree::mark`]: `conflict w2`, `dirty`),
    /// shown after its status.
    pub git: Option<String>,
}

impl WorkerRow {
    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.glance.meta.id
    }
}

/// Every worker's row and the open escalations, as the state folder has them.
pub struct Board {
    pub(super) state: Store,
    /// Oldest first, dead ones included ([`Board::visible`] filters).
    pub entries: Vec<WorkerRow>,
    /// The open escalations, oldest first.
    pub escalations: Vec<Escalation>,
    /// Show dead workers too.
    pub show_dead: bool,
    pub(super) tallies: HashMap<String, Tally>,
    pub(super) panes: Panes,
    /// Each known transcript and whose it is, so that its growth updates that row's spend.
    pub(super) transcripts: HashMap<PathBuf, String>,
}

/// What a batch of changed paths touched.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Worker ids whose rows were read again.
    pub workers: Vec<String>,
    /// The escalations were read again.
    pub escalations: bool,
}

impl Touched {
    /// Whether anything was read again (the board needs a redraw).
    pub fn any(&self) -> bool {
        !self.workers.is_empty() || self.escalations
    }
}

impl Board {
    /// Reads every worker and the open escalations.
    ///
    /// Errors: the state folder cannot be read.
    pub fn load(state: &Store) -> Result<Board> {
        let mut board = Board {
            state: state.clone(),
            entries: Vec::new(),
            escalations: Vec::new(),
            show_dead: false,
            tallies: HashMap::new(),
            panes: Panes::default(),
            transcripts: HashMap::new(),
        };
        for meta in state.workers()? {
            board.read(meta)?;
        }
        board.escalations = crate::coordination::escalation::list(state, true)?;
        Ok(board)
    }

    /// The folders of the transcripts found so far (watched for spend as it grows).
    pub fn transcript_folders(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .transcripts
            .keys()
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// The rows shown: dead workers only with [`Board::show_dead`].
    pub fn visible(&self) -> Vec<&WorkerRow> {
        self.entries
            .iter()
            .filter(|e| self.show_dead || e.glance.status != Status::Dead)
            .collect()
    }

    /// Reads again what `paths` (from the file watcher) changed: a worker's row when a file of
    /// its folder that matters changed (or the folder appeared), the escalations when one of
    /// their files did, a worker's spend when its transcript grew. Anything else is passed
    /// over.
    ///
    /// Errors: a changed worker's files cannot be read.
    pub fn apply(&mut self, paths: &[PathBuf]) -> Result<Touched> {
        let workers = self.state.root.join("workers");
        let escalations = crate::coordination::escalation::folder(&self.state);
        let limits = self.state.root.join("limits");
        let mut touched = Touched::default();
        for path in paths {
            // A hold changed: the rows of its account's workers (their countdown).
            if path.parent() == Some(limits.as_path())
                && path.extension().is_some_and(|e| e == "json")
            {
                let account = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                for entry in &self.entries {
                    if entry.glance.meta.account == account
                        && !touched.workers.contains(&entry.glance.meta.id)
                    {
                        touched.workers.push(entry.glance.meta.id.clone());
                    }
                }
                continue;
            }
            if let Some(id) = self.transcripts.get(path) {
                if !touched.workers.contains(id) {
                    touched.workers.push(id.clone());
                }
            } else if let Ok(rest) = path.strip_prefix(&workers) {
                let mut parts = rest.components().map(|c| c.as_os_str().to_string_lossy());
                let Some(id) = parts.next().map(|p| p.into_owned()) else {
                    continue;
                };
                let relevant = match parts.next() {
                    None => true,
                    Some(file) => WATCHED.contains(&file.as_ref()),
                };
                if relevant && !touched.workers.contains(&id) {
                    touched.workers.push(id);
                }
            } else if path.starts_with(&escalations)
                && path
                    .file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            {
                touched.escalations = true;
            }
        }
        for id in &touched.workers {
            self.refresh(id)?;
        }
        if touched.escalations {
            self.escalations = crate::coordination::escalation::list(&self.state, true)?;
        }
        Ok(touched)
    }

    /// Reads worker `id`'s row again (asking tmux afresh whether its pane lives); a folder
    /// without readable metadata yet is passed over.
    ///
    /// Errors: its event log cannot be read.
    pub fn refresh(&mut self, id: &str) -> Result<()> {
        let Ok(meta) = self.state.meta(id) else {
            return Ok(());
        };
        self.panes.forget(&meta.server);
        self.read(meta)
    }

    /// Asks tmux again which panes live (a pane can die with no file written: its server
    /// killed) and reads again each row whose pane came or went; also picks up workers whose
    /// folder appeared unnoticed. Returns whether a row changed.
    ///
    /// Errors: a changed worker's files cannot be read.
    pub fn check_panes(&mut self) -> Result<bool> {
        self.panes.forget_all();
        let mut changed = Vec::new();
        for entry in &self.entries {
            let meta = &entry.glance.meta;
            if self.panes.alive(&self.state, meta) != entry.glance.alive {
                changed.push(meta.id.clone());
            }
        }
        if let Ok(folders) = std::fs::read_dir(self.state.root.join("workers")) {
            for folder in folders.flatten() {
                let id = folder.file_name().to_string_lossy().into_owned();
                if !self.entries.iter().any(|e| e.id() == id) {
                    changed.push(id);
                }
            }
        }
        for id in &changed {
            self.refresh(id)?;
        }
        Ok(!changed.is_empty())
    }

    /// Each remote worker's record and whether it is between turns: what reads their spend
    /// on their hosts ([`hosted::of`]) away from the board, on the clock. What that writes
    /// (`usage.host.json`) wakes the board, which reads it ([`hosted::kept`]).
    pub fn remote_workers(&self) -> Vec<(orch_store::Meta, bool)> {
        self.entries
            .iter()
            .filter(|e| e.glance.meta.remote.is_some())
            .map(|e| (e.glance.meta.clone(), !e.glance.status.in_turn()))
            .collect()
    }

    /// Reads `meta`'s row and puts it in place (new rows go last: workers come oldest first).
    fn read(&mut self, meta: orch_store::Meta) -> Result<()> {
        let worker = crate::fleet::worker::Worker::of(&self.state, meta)?;
        crate::remote::relay::ensure_relay(&worker)?;
        let id = worker.meta.id.clone();
        let unread = worker
            .dir
            .inbox_cursor()?
            .saturating_sub(worker.dir.counter(Counter::Acked));
        let git = match worker.meta.worktree {
            Some(_) => crate::fleet::worktree::mark(&worker.dir.git_state()),
            None => None,
        };
        let glance = summary::of(&self.state, worker.meta.clone(), &mut self.panes)?;
        // A remote worker's spend as last read on its host (never a round trip here: the
        // board must not wait on ssh), the others' from their transcript, kept in memory.
        let (used, spend_error) = match hosted::kept(&worker) {
            Some(spent) => (spent.usage, spent.error),
            None => {
                let tally = self.tallies.entry(id.clone()).or_default();
                let used = tally.read(&worker).ok().flatten();
                if let Some(path) = tally.transcript() {
                    self.transcripts.insert(path.to_path_buf(), id.clone());
                }
                (used, None)
            }
        };
        let resumes_ms = match (glance.status, glance.meta.account.as_deref()) {
            (Status::Limited, Some(account)) => orch_store::limits::read(&self.state, account)?
                .and_then(|hold| hold.until_ms.or(hold.next_ms)),
            _ => None,
        };
        let (tokens, cost_usd) = totals(used.as_ref());
        let entry = WorkerRow {
            glance,
            tokens,
            cost_usd,
            spend_error,
            unread,
            resumes_ms,
            git,
        };
        match self.entries.iter_mut().find(|e| e.id() == id) {
            Some(old) => *old = entry,
            None => self.entries.push(entry),
        }
        Ok(())
    }
}

/// A row's TOKENS and COST: every token of `used` and their cost.
fn totals(used: Option<&Usage>) -> (Option<u64>, Option<f64>) {
    (used.map(|u| u.total.total()), used.and_then(|u| u.cost_usd))
}
