//! Git worktrees for workers: `spawn --worktree` gives a worker a fresh worktree on a new
//! branch `orch/<name>`, under the state directory and based on the caller's HEAD (the commit
//! and the branch checked out there), so parallel workers never edit the same checkout. `kill` removes a clean worktree and keeps a dirty one; it removes the branch once
//! nothing on it is left to land.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use orch_store::Worktree;

/// Runs `git -C dir ARGS` and returns its output, whatever its exit status.
///
/// Errors: git cannot be started.
pub fn git_output(dir: &Path, args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run `git`: is git installed?")
}

/// Runs `git -C dir ARGS`; returns stdout trimmed. Errors carry git's stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = git_output(dir, args)?;
    if !out.status.success() {
        bail!(
            "`git {}` in `{}` failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates the worktree `<root>/<id>` on a new branch `orch/<name>` from the HEAD of the
/// repository that holds `cwd`.
pub fn create(cwd: &Path, root: &Path, id: &str, name: &str) -> Result<Worktree> {
    let repo = PathBuf::from(
        git(cwd, &["rev-parse", "--show-toplevel"]).with_context(|| {
            format!(
                "`--worktree` needs a git repository: `{}` is not in one",
                cwd.display()
            )
        })?,
    );
    let base = git(&repo, &["rev-parse", "HEAD"])
        .context("`--worktree` needs a commit to start from (the repository has none)")?;
    // The branch checked out there, if any: a detached HEAD has none (`land` then needs
    // `--into`).
    let base_branch = git(&repo, &["symbolic-ref", "--quiet", "--short", "HEAD"]).ok();
    orch_store::files::create_private_dir(root)?;
    let path = root.join(id);
    let branch = format!("orch/{name}");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-b",
            &branch,
            &path.display().to_string(),
            &base,
        ],
    )?;
    Ok(Worktree {
        repo,
        path,
        branch,
        base,
        base_branch,
        commit_required: false,
        test: None,
    })
}

/// Whether the worktree has uncommitted changes (untracked files count).
pub fn dirty(wt: &Worktree) -> Result<bool> {
    Ok(!git(&wt.path, &["status", "--porcelain"])?.is_empty())
}

/// The paths `git status --porcelain` lists in the worktree (uncommitted changes, untracked
/// files included), in its order.
///
/// Errors: git fails there (the folder is gone, or is no worktree).
pub fn dirty_files(wt: &Worktree) -> Result<Vec<String>> {
    let out = git(
        &wt.path,
        &["status", "--porcelain", "-z", "--untracked-files=all"],
    )?;
    // `XY path\0`, and a rename's source as one more `path\0` after it.
    let mut files = Vec::new();
    let mut entries = out.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let Some(path) = entry.get(3..) else { continue };
        files.push(path.to_string());
        if entry.starts_with('R') || entry.starts_with('C') {
            entries.next();
        }
    }
    Ok(files)
}

/// The files that conflict when `ours` and `theirs` (commits or branch names) are merged,
/// found by `git merge-tree --write-tree` in `repo` (no working tree or index touched; git
/// 2.38 or later); empty when they merge cleanly.
///
/// Errors: git fails for another reason (an unknown branch, a git older than 2.38).
pub fn conflicts(repo: &Path, ours: &str, theirs: &str) -> Result<Vec<String>> {
    let args = [
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        ours,
        theirs,
    ];
    let out = git_output(repo, &args)?;
    match out.status.code() {
        Some(0) => Ok(Vec::new()),
        // The first line is the tree written, the conflicted files follow.
        Some(1) => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()),
        _ => bail!(
            "`git {}` in `{}` failed: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// A worker's branch at a glance, from what the last conflict check saw (`git_state`): `conflict
/// w2,main` (the other workers' ids, or the base branch), `dirty` (its last turn ended with
/// uncommitted changes), both joined by a space, or `None` when neither.
pub fn mark(git_state: &orch_store::repos::GitState) -> Option<String> {
    let mut marks = Vec::new();
    if !git_state.conflicts.is_empty() {
        let with: Vec<&str> = git_state
            .conflicts
            .iter()
            .map(|c| match c.with.as_str() {
                "" => c.branch.as_str(),
                id => id,
            })
            .collect();
        marks.push(format!("conflict {}", with.join(",")));
    }
    if !git_state.dirty.is_empty() {
        marks.push("dirty".to_string());
    }
    (!marks.is_empty()).then(|| marks.join(" "))
}

/// `git diff --stat` of the worktree (commits and uncommitted changes) against its base.
pub fn diff_stat(wt: &Worktree) -> Result<String> {
    git(&wt.path, &["diff", "--stat", &wt.base])
}

/// What happened to a worktree when its worker was killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Removed; its branch too unless `branch_kept` (it has commits that landed nowhere).
    Removed { branch_kept: bool },
    /// Kept because it has uncommitted work.
    KeptDirty,
    /// The folder was gone already; its branch removed unless `branch_kept`, as above.
    Gone { branch_kept: bool },
}

/// Removes a clean worktree (or forgets one deleted by hand) and its branch when the branch
/// holds nothing that has not landed: no commit of its own, a head among `landed` (the
/// branch commits `orch land` landed, whatever the strategy), or a head already on its base
/// branch. Keeps a dirty worktree, and a branch with other commits.
///
/// Errors: git fails on the worktree or the branch.
pub fn remove(wt: &Worktree, landed: &[String]) -> Result<Removal> {
    let gone = !wt.path.exists();
    if gone {
        let _ = git(&wt.repo, &["worktree", "prune"]);
    } else if dirty(wt)? {
        return Ok(Removal::KeptDirty);
    } else {
        git(
            &wt.repo,
            &["worktree", "remove", &wt.path.display().to_string()],
        )?;
    }
    let branch_ref = format!("refs/heads/{}", wt.branch);
    let branch_kept = match git(&wt.repo, &["rev-parse", "--verify", "--quiet", &branch_ref]) {
        // Deleted by hand already.
        Err(_) => false,
        Ok(head) => {
            let on_base = || {
                wt.base_branch.as_ref().is_some_and(|base| {
                    let base = format!("refs/heads/{base}");
                    git(&wt.repo, &["merge-base", "--is-ancestor", &head, &base]).is_ok()
                })
            };
            let landed = head == wt.base || landed.contains(&head) || on_base();
            if landed {
                git(&wt.repo, &["branch", "-D", &wt.branch])?;
            }
            !landed
        }
    };
    Ok(if gone {
        Removal::Gone { branch_kept }
    } else {
        Removal::Removed { branch_kept }
    })
}
