//! `spawn --worktree` on a real git repository: a branch `orch/<name>` and a worktree per
//! worker, `ps` shows branch and dirty state, `orch diff` the change, `kill` removes a clean
//! worktree and keeps a dirty one.

use crate::util::{json, run_ok, World};
use std::path::Path;
use std::process::Command;

/// Makes `dir` a git repository on branch `main` with one commit (a README).
pub fn init_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    std::fs::write(dir.join("README.md"), "hello\n").unwrap();
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "first"]);
}

/// Runs git in `dir` (as a test user); returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let mut git = Command::new("git");
    git.arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args);
    run_ok(&mut git, None, String::new)
}

#[test]
fn worktree_lifecycle_clean_and_dirty() {
    let world = World::installed();
    let repo = world.work();
    init_repo(&repo);

    let a = json(&world.ok(&[
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        "alpha",
        "--worktree",
    ]));
    let b = json(&world.ok(&[
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        "beta",
        "--worktree",
    ]));
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    assert!(git(&repo, &["branch", "--list"]).contains("orch/alpha"));
    let ra = world.ps_row(a);
    assert_eq!(ra["worktree"]["branch"], "orch/alpha");
    assert_eq!(
        ra["worktree"]["base_branch"], "main",
        "the branch it was based on"
    );
    assert_eq!(ra["worktree"]["dirty"], false);
    let path = ra["worktree"]["path"].as_str().unwrap().to_string();
    assert_eq!(ra["cwd"], path.as_str(), "the worker runs in its worktree");

    // The worker edits a file (its Bash tool would): dirty, and diff shows it.
    std::fs::write(Path::new(&path).join("README.md"), "hello\nchanged\n").unwrap();
    assert_eq!(world.ps_row(a)["worktree"]["dirty"], true);
    let diff = world.ok(&["diff", "alpha"]);
    assert!(
        diff.contains("README.md") && diff.contains("1 insertion"),
        "{diff}"
    );

    // Dirty: kept, and said so. Clean: removed with its branch.
    let out = world.orch(&["kill", "alpha"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncommitted work"));
    assert!(Path::new(&path).exists());
    let beta_path = world.ps_row(b)["worktree"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    world.ok(&["kill", "beta"]);
    assert!(!Path::new(&beta_path).exists());
    assert!(!git(&repo, &["branch", "--list"]).contains("orch/beta"));

    // From a detached HEAD: the commit is kept, no branch (a land must then name its target).
    let head = git(&repo, &["rev-parse", "HEAD"]);
    git(&repo, &["checkout", "-q", "--detach", head.trim()]);
    let c = json(&world.ok(&[
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        "gamma",
        "--worktree",
    ]));
    let rc = world.ps_row(c["id"].as_str().unwrap());
    assert_eq!(rc["worktree"]["base_branch"], serde_json::Value::Null);

    let outside = World::installed();
    let err = outside.orch(&["spawn", "--harness", "sim", "--worktree"]);
    assert!(String::from_utf8_lossy(&err.stderr).contains("needs a git repository"));
}
