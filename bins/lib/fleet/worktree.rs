//! Git worktrees for workers: `spawn --worktree` gives a worker a fresh worktree on a new
//! branch `orch/<name>`, under the state directory and based on the caller's HEAD (the commit
//! and the branch checked out there), so parallel workers never edit the same checkout. `kill` removes a clean worktree and keeps a dirty one.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use orch_store::Worktree;

/// Runs `git -C dir ARGS`; returns stdout trimmed. Errors carry git's stderr.
pub fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run `git`: is git installed?")?;
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
    })
}

/// Whether the worktree has uncommitted changes (untracked files count).
pub fn dirty(wt: &Worktree) -> Result<bool> {
    Ok(!git(&wt.path, &["status", "--porcelain"])?.is_empty())
}

/// `git diff --stat` of the worktree (commits and uncommitted changes) against its base.
pub fn diff_stat(wt: &Worktree) -> Result<String> {
    git(&wt.path, &["diff", "--stat", &wt.base])
}

/// What happened to a worktree when its worker was killed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Removed; the branch too when it had no commits of its own.
    Removed { branch_kept: bool },
    /// Kept because it has uncommitted work.
    KeptDirty,
    /// The folder was gone already.
    Gone,
}

/// Removes a clean worktree (and its branch when it holds no new commits); keeps a dirty one.
pub fn remove(wt: &Worktree) -> Result<Removal> {
    if !wt.path.exists() {
        let _ = git(&wt.repo, &["worktree", "prune"]);
        return Ok(Removal::Gone);
    }
    if dirty(wt)? {
        return Ok(Removal::KeptDirty);
    }
    let head = git(&wt.path, &["rev-parse", "HEAD"])?;
    git(
        &wt.repo,
        &["worktree", "remove", &wt.path.display().to_string()],
    )?;
    let branch_kept = head != wt.base;
    if !branch_kept {
        git(&wt.repo, &["branch", "-D", &wt.branch])?;
    }
    Ok(Removal::Removed { branch_kept })
}
