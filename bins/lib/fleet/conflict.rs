//! Conflicts seen early: after each Stop of a worker in a worktree, the hook starts `orch
//! __conflicts ID` (a detached [`Helper`], one per repository), which checks the branch of
//! every worker whose turn ended since its last check against its base branch and against
//! every other live worker's branch of the same repository, with `git merge-tree
//! --write-tree` (no working tree touched). A new conflict is a `conflict` event on both
//! workers and an inbox item for their parents; one that went away a `conflict_cleared`.
//! The same check notes a turn that ended with uncommitted changes (`dirty`) and prompts a
//! worker whose outfit says `commit: required` once to commit them.

use crate::coordination::inbox;
use crate::fleet::worker::Worker;
use crate::fleet::worktree;
use anyhow::Result;
use orch_store::event::Conflict;
use orch_store::helper::Helper;
use orch_store::repos::{Clash, GitState};
use orch_store::{Kind, Meta, Store, WorkerDir};
use std::collections::BTreeMap;
use std::path::Path;

/// Run by the hook after a Stop of worker `dir` (its record `meta`): starts the repository's
/// check when the worker has a worktree and no check runs; returns at once (no git here).
///
/// Errors: the lock file cannot be opened, or `orch` cannot be started.
pub fn after_stop(dir: &WorkerDir, meta: &Meta) -> Result<()> {
    let Some(wt) = &meta.worktree else {
        return Ok(());
    };
    checker(dir.store(), &wt.repo, dir.id())?.ensure(&dir.store().root)?;
    Ok(())
}

/// The check of `repo`, `orch __conflicts ID` (ID: a worker of the repository).
fn checker(state: &Store, repo: &Path, id: &str) -> Result<Helper> {
    Ok(Helper::new(
        "__conflicts",
        id,
        orch_store::repos::check_lock(state, repo)?,
    ))
}

/// The check of the repository of worker `id` (`orch __conflicts ID`, see the module's text):
/// returns at once when another one holds the repository's lock, else when no worker of the
/// repository has a Stop it has not checked.
///
/// Errors: the worker's record cannot be read, or the lock cannot be taken.
pub fn check(state: &Store, id: &str) -> Result<()> {
    let Some(wt) = state.meta(id)?.worktree else {
        return Ok(());
    };
    let helper = checker(state, &wt.repo, id)?;
    let Some(mut lock) = helper.claim()? else {
        return Ok(());
    };
    loop {
        let mut prompts = Vec::new();
        while round(state, &wt.repo, &mut prompts)? {}
        // The prompts go out with the lock let go; a Stop published after the last round
        // found the lock taken: it is checked too.
        let more = || {
            for (id, text) in prompts {
                if let Err(err) = prompt_owner(state, &id, &text, "commit_prompt") {
                    orch_store::store::log_unattended(&format!("commit prompt to `{id}`: {err:#}"));
                }
            }
            Ok(live(state, &wt.repo)?
                .iter()
                .any(|w| w.stop > w.dir.git_state().checked))
        };
        match helper.let_go(lock, more)? {
            Some(again) => lock = again,
            None => return Ok(()),
        }
    }
}

/// A live worker of a repository, as the check sees it.
struct Live {
    meta: Meta,
    dir: WorkerDir,
    /// The seq of its last Stop (0: none since it started).
    stop: u64,
}

impl Live {
    fn branch(&self) -> &str {
        self.meta
            .worktree
            .as_ref()
            .map_or("", |wt| wt.branch.as_str())
    }
}

/// The workers of `repo` that are alive (not killed nor ended for good, their worktree still
/// there), with their last Stop.
fn live(state: &Store, repo: &Path) -> Result<Vec<Live>> {
    let mut out = Vec::new();
    for meta in state.workers()? {
        let Some(wt) = &meta.worktree else { continue };
        if wt.repo != repo || !wt.path.is_dir() {
            continue;
        }
        let dir = state.worker_of(meta.clone())?;
        let back = dir.events_back_to(|e| {
            matches!(e.kind, Kind::Stop(_) | Kind::StopBlocked(_))
                || e.kind.ends_for_good()
                || e.kind.starts()
        })?;
        let stop = match back.first() {
            Some(e) if e.kind.ends_for_good() => continue,
            Some(e) if matches!(e.kind, Kind::Stop(_) | Kind::StopBlocked(_)) => e.seq,
            _ => 0,
        };
        out.push(Live { meta, dir, stop });
    }
    Ok(out)
}

/// One round: checks every live worker of `repo` whose last Stop is newer than its last
/// check; adds the commit prompts due to `prompts`. Returns whether it checked any.
fn round(state: &Store, repo: &Path, prompts: &mut Vec<(String, String)>) -> Result<bool> {
    let workers = live(state, repo)?;
    let mut states: BTreeMap<String, GitState> = workers
        .iter()
        .map(|w| (w.meta.id.clone(), w.dir.git_state()))
        .collect();
    let before = states.clone();
    let due: Vec<&Live> = workers
        .iter()
        .filter(|w| w.stop > states[&w.meta.id].checked)
        .collect();
    // Each pair is merged once a round, whichever of the two is due.
    let mut merged: Vec<(&str, &str)> = Vec::new();
    for w in &due {
        let wt = w
            .meta
            .worktree
            .as_ref()
            .expect("a live worker has a worktree");
        let dirty = worktree::dirty_files(wt).unwrap_or_default();
        let own = states.get_mut(&w.meta.id).expect("every live worker");
        own.checked = w.stop;
        if own.dirty != dirty {
            own.prompted = false;
            own.dirty = dirty;
        }
        if wt.commit_required && !own.dirty.is_empty() && !own.prompted {
            own.prompted = true;
            prompts.push((w.meta.id.clone(), commit_prompt(&wt.branch, &own.dirty)));
        }
        // A side that ended or lost its worktree conflicts no more.
        let gone: Vec<Clash> = own
            .conflicts
            .iter()
            .filter(|c| !c.with.is_empty() && !workers.iter().any(|o| o.meta.id == c.with))
            .cloned()
            .collect();
        for clash in gone {
            let side = Side {
                name: clash.with.clone(),
                id: clash.with,
                branch: clash.branch,
                live: None,
            };
            settle(state, &mut states, w, side, Vec::new())?;
        }
        if let Some(base) = &wt.base_branch {
            let files = conflicts_or_log(repo, &wt.branch, base);
            settle(state, &mut states, w, Side::base(base), files)?;
        }
        for other in workers.iter().filter(|o| o.meta.id != w.meta.id) {
            if merged.contains(&(other.meta.id.as_str(), w.meta.id.as_str())) {
                continue;
            }
            merged.push((w.meta.id.as_str(), other.meta.id.as_str()));
            let files = conflicts_or_log(repo, &wt.branch, other.branch());
            settle(state, &mut states, w, Side::worker(other), files)?;
        }
    }
    let mut conflicted = false;
    for w in &workers {
        let now = &states[&w.meta.id];
        let was = &before[&w.meta.id];
        if *now != *was {
            w.dir.set_git_state(now)?;
            conflicted |= now.conflicts.iter().any(|c| !was.conflicts.contains(c));
        }
    }
    if conflicted {
        // A conflict is the person's to know of: the notifier (woken once it is written down,
        // so it finds it) pages it. This check runs detached, never in the hook.
        if let Err(err) = orch_store::helper::wake_notifier(&state.root) {
            orch_store::store::log_unattended(&format!("notifier: {err:#}"));
        }
    }
    Ok(!due.is_empty())
}

/// The conflicting files of `ours` against `theirs`; none (and a line in hook.log) when git
/// cannot tell (a branch deleted by hand).
fn conflicts_or_log(repo: &Path, ours: &str, theirs: &str) -> Vec<String> {
    worktree::conflicts(repo, ours, theirs).unwrap_or_else(|err| {
        orch_store::store::log_unattended(&format!("conflict check: {err:#}"));
        Vec::new()
    })
}

/// The other side of a check: a live worker, the base branch (no id), or a worker gone since.
struct Side<'a> {
    /// A worker's id, or empty for the base branch.
    id: String,
    name: String,
    branch: String,
    /// The worker, when it lives (it then records the conflict too).
    live: Option<&'a Live>,
}

impl<'a> Side<'a> {
    fn base(branch: &str) -> Side<'a> {
        Side {
            id: String::new(),
            name: String::new(),
            branch: branch.to_string(),
            live: None,
        }
    }

    fn worker(live: &'a Live) -> Side<'a> {
        Side {
            id: live.meta.id.clone(),
            name: live.meta.name.clone(),
            branch: live.branch().to_string(),
            live: Some(live),
        }
    }
}

/// Records what the check found between `w` and `side` (`files`: the conflicting ones): a
/// new conflict or a cleared one is published on both workers and told to their parents (once
/// to a parent of both); a conflict whose files changed is only noted.
fn settle(
    state: &Store,
    states: &mut BTreeMap<String, GitState>,
    w: &Live,
    side: Side,
    files: Vec<String>,
) -> Result<()> {
    let had = states[&w.meta.id]
        .conflicts
        .iter()
        .any(|c| c.with == side.id && c.branch == side.branch);
    // Each record that keeps it: (the worker, the other side's id, name and branch).
    let mut records = vec![(w, side.id.clone(), side.name.clone(), side.branch.clone())];
    if let Some(other) = side.live {
        records.push((
            other,
            w.meta.id.clone(),
            w.meta.name.clone(),
            w.branch().to_string(),
        ));
    }
    for (record, with, _, branch) in &records {
        let st = states.get_mut(&record.meta.id).expect("every live worker");
        let since = st
            .conflicts
            .iter()
            .find(|c| c.with == *with && c.branch == *branch)
            .map_or_else(orch_store::clock::now_ms, |c| c.since_ms);
        st.conflicts
            .retain(|c| !(c.with == *with && c.branch == *branch));
        if !files.is_empty() {
            st.conflicts.push(Clash {
                with: with.clone(),
                branch: branch.clone(),
                files: files.clone(),
                since_ms: since,
            });
        }
    }
    // Nothing changed sides: it conflicted and still does, or neither.
    if had != files.is_empty() {
        return Ok(());
    }
    let mut told = Vec::new();
    for (record, with, with_name, with_branch) in records {
        let fields = Conflict {
            branch: Some(record.branch().to_string()),
            with: Some(with),
            with_name: Some(with_name),
            with_branch: Some(with_branch),
            files: Some(files.clone()),
        };
        let kind = match files.is_empty() {
            true => Kind::ConflictCleared(fields),
            false => Kind::Conflict(fields),
        };
        let event = inbox::publish_in(&record.dir, kind.clone())?;
        let meta = &record.meta;
        let parent = inbox::parent_record(state, &meta.parent, meta.socket_path.as_deref())?;
        if !told.contains(&parent) {
            inbox::tell_parent(state, meta, &parent, kind, event.seq)?;
            told.push(parent);
        }
    }
    Ok(())
}

/// The prompt to a worker whose turn ended with `files` uncommitted on `branch`.
fn commit_prompt(branch: &str, files: &[String]) -> String {
    format!(
        "Your turn ended with uncommitted changes on {branch}: {}. Commit them (git add, git \
         commit) before you report done: only committed work can land.",
        files.join(", ")
    )
}

/// Delivers `text` to worker `id` as `orch tell` would, and audits it as `action` (actor
/// `orch`): the prompts orch itself sends a worker about its branch.
///
/// Errors: the worker is unknown or the delivery failed (also audited).
pub fn prompt_owner(state: &Store, id: &str, text: &str, action: &str) -> Result<u64> {
    use crate::coordination::audit::{self, Entry, Outcome};
    let worker = Worker::load(state, id)?;
    let opts = crate::delivery::DeliveryOptions {
        command: false,
        now: false,
        ready_timeout: std::time::Duration::from_secs(30),
        held: false,
    };
    let done = crate::delivery::deliver(&worker, text, opts);
    let entry = Entry::new("orch", action).target(id).prompt(text);
    let entry = match &done {
        Ok(d) => entry.cursor(d.cursor),
        Err(err) => entry
            .outcome(Outcome::Error)
            .field("error", format!("{err:#}")),
    };
    audit::append(state, &entry)?;
    Ok(done?.cursor)
}
