//! Landing workers' branches (`orch land`): one at a time, in the order given, each brought
//! onto the current target in a scratch worktree, tested, and the target moved only when
//! green, by compare-and-swap of its ref (`git update-ref NEW OLD`): a target that moved
//! meanwhile is tried again, never overwritten. On a conflict or a red test nothing moves and
//! the owner worker gets one prompt. Two lands on one target never interleave (a lock per
//! repository and target), and a land cut by a crash (its journal,
//! [`orch_store::repos::LandJournal`]) is finished or undone by the next one.

use crate::coordination::audit::{self, Entry};
use crate::coordination::inbox;
use crate::fleet::worktree::{git, git_output};
use anyhow::{bail, Context, Result};
use orch_store::event::Land;
use orch_store::files::Lock;
use orch_store::repos::{self, LandJournal};
use orch_store::{Kind, Meta, Store, Worktree};
use serde::Serialize;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// How a branch is brought onto the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Strategy {
    /// Its commits replayed one by one onto the target (a straight history).
    Rebase,
    /// A merge commit of the branch into the target.
    Merge,
    /// One commit with the branch's whole change.
    Squash,
}

/// What to land and how.
#[derive(Debug, Clone)]
pub struct Request {
    /// The target branch; `None`: each worker's base branch.
    pub into: Option<String>,
    /// The test command (`sh -c`); `None`: the worker's outfit's, else `git config orch.test`.
    pub test: Option<String>,
    pub strategy: Strategy,
    /// Bring onto the target and test, but move nothing and prompt nobody.
    pub dry_run: bool,
    /// How long the test command may run before it counts as failed.
    pub timeout: Duration,
}

/// What happened to one worker's branch (`orch land --json` lists them).
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub worker: String,
    pub branch: String,
    /// The branch's commit that was brought onto the target (none when the branch is gone).
    pub head: Option<String>,
    pub into: String,
    /// `landed`, `would_land` (`--dry-run`), `nothing` (no commit to land), `conflict`,
    /// `test_failed` or `error`.
    pub outcome: String,
    /// The target's new commit (landed, would_land).
    pub commit: Option<String>,
    /// The conflicting files (conflict).
    pub files: Vec<String>,
    /// The test command run, if any.
    pub test: Option<String>,
    /// How many times the target moved under the land and the branch was tried again.
    pub retries: u32,
    /// What else to know: the error, the checkout that was updated, a prompt not delivered.
    pub note: Option<String>,
}

/// How many times a branch is tried again on a target that keeps moving.
const MAX_TRIES: u32 = 5;
/// The lines of test output a failure prompt ends with.
const TAIL_LINES: usize = 40;
/// The characters of conflict hunks a conflict prompt ends with.
const HUNK_CHARS: usize = 4000;

/// Lands `worker`'s branch as `req` says, in a scratch worktree of `scratches`; returns its
/// outcome (a refused branch is an outcome, not an error).
///
/// Errors: bad input, named with its fix: no worktree, no target (a detached HEAD), not a
/// git repository, an unknown target branch.
pub fn land(state: &Store, scratches: &Scratches, worker: &Meta, req: &Request) -> Result<Outcome> {
    let Some(wt) = &worker.worktree else {
        bail!(
            "worker `{}` has no worktree of its own: only `spawn --worktree` workers can land",
            worker.id
        );
    };
    if git(&wt.repo, &["rev-parse", "--git-dir"]).is_err() {
        bail!(
            "`{}`, the repository of worker `{}`, is not a git repository any more",
            wt.repo.display(),
            worker.id
        );
    }
    let Some(target) = req.into.clone().or_else(|| wt.base_branch.clone()) else {
        bail!(
            "worker `{}` was spawned on a detached HEAD, so it has no base branch: name the \
             target with `--into BRANCH`",
            worker.id
        );
    };
    let target_ref = format!("refs/heads/{target}");
    if git(&wt.repo, &["rev-parse", "--verify", "--quiet", &target_ref]).is_err() {
        bail!(
            "`{target}` is no branch of `{}`: name an existing one with `--into`",
            wt.repo.display()
        );
    }
    let mut out = Outcome {
        worker: worker.id.clone(),
        branch: wt.branch.clone(),
        head: None,
        into: target.clone(),
        outcome: String::new(),
        commit: None,
        files: Vec::new(),
        test: None,
        retries: 0,
        note: None,
    };
    // Resolved once: commits the worker makes meanwhile are not this land's.
    let branch_ref = format!("refs/heads/{}", wt.branch);
    let Ok(head) = git(&wt.repo, &["rev-parse", "--verify", "--quiet", &branch_ref]) else {
        out.outcome = "error".into();
        out.note = Some(format!("its branch `{}` is gone", wt.branch));
        return Ok(out);
    };
    out.head = Some(head.clone());
    let test = req
        .test
        .clone()
        .or_else(|| wt.test.clone())
        .or_else(|| git(&wt.repo, &["config", "--get", "orch.test"]).ok())
        .filter(|t| !t.trim().is_empty());
    out.test = test.clone();
    let lock_path = repos::land_lock(state, &wt.repo, &target)?;
    let _lock = Lock::at(&lock_path)?;
    recover(state, &wt.repo, &lock_path)?;
    loop {
        let step = attempt(
            state,
            scratches,
            &worker.id,
            wt,
            &head,
            &target,
            test.as_deref(),
            req,
            &lock_path,
        )?;
        match step {
            Step::Moved if out.retries + 1 < MAX_TRIES => out.retries += 1,
            Step::Moved => {
                out.outcome = "error".into();
                out.note = Some(format!("`{target}` kept moving: tried {MAX_TRIES} times"));
                return Ok(out);
            }
            Step::Done(outcome) => {
                let Outcome {
                    outcome,
                    commit,
                    files,
                    note,
                    ..
                } = *outcome;
                (out.outcome, out.commit, out.files, out.note) = (outcome, commit, files, note);
                break;
            }
        }
    }
    // A prompt that could not be delivered (the owner ended) is said, not fatal.
    if let Err(err) = report(state, worker, &out) {
        out.note = Some(match out.note.take() {
            Some(note) => format!("{note}\n(the prompt to `{}` failed: {err:#})", worker.id),
            None => format!("the prompt to `{}` failed: {err:#}", worker.id),
        });
    }
    Ok(out)
}

/// One try of a branch on the target as it is now.
enum Step {
    /// The target moved between the try's start and its compare-and-swap.
    Moved,
    Done(Box<Outcome>),
}

/// Brings `wt`'s branch, at commit `head`, onto `target` in a scratch worktree of
/// `scratches`, tests it, and moves the target by compare-and-swap; clears the journal
/// whatever happens.
#[allow(clippy::too_many_arguments)]
fn attempt(
    state: &Store,
    scratches: &Scratches,
    id: &str,
    wt: &Worktree,
    head: &str,
    target: &str,
    test: Option<&str>,
    req: &Request,
    lock: &Path,
) -> Result<Step> {
    let repo = &wt.repo;
    let target_ref = format!("refs/heads/{target}");
    let from = git(repo, &["rev-parse", &target_ref])?;
    let scratch = scratches.at(state, repo, &from)?;
    let mut journal = LandJournal {
        worker: id.to_string(),
        head: head.to_string(),
        target: target.to_string(),
        from: from.clone(),
        to: String::new(),
        scratch: scratch.clone(),
    };
    repos::write_journal(lock, &journal)?;
    let result = (|| -> Result<Step> {
        let done = |outcome: &str| Outcome {
            worker: String::new(),
            branch: wt.branch.clone(),
            head: None,
            into: target.to_string(),
            outcome: outcome.into(),
            commit: None,
            files: Vec::new(),
            test: None,
            retries: 0,
            note: None,
        };
        if let Some((files, hunks)) = bring(&scratch, &wt.branch, head, &from, req.strategy)? {
            return Ok(Step::Done(Box::new(Outcome {
                files,
                note: Some(hunks),
                ..done("conflict")
            })));
        }
        let to = git(&scratch, &["rev-parse", "HEAD"])?;
        if to == from {
            return Ok(Step::Done(Box::new(done("nothing"))));
        }
        if let Some(cmd) = test {
            if let Some(tail) = run_test(&scratch, cmd, req.timeout)? {
                return Ok(Step::Done(Box::new(Outcome {
                    note: Some(tail),
                    ..done("test_failed")
                })));
            }
        }
        if req.dry_run {
            return Ok(Step::Done(Box::new(Outcome {
                commit: Some(to),
                ..done("would_land")
            })));
        }
        journal.to = to.clone();
        repos::write_journal(lock, &journal)?;
        crash_point("tested");
        let checkout = checked_out(repo, &target_ref)?;
        if let Some(path) = &checkout {
            if !git(path, &["status", "--porcelain"])?.is_empty() {
                return Ok(Step::Done(Box::new(Outcome {
                    note: Some(format!(
                        "`{target}` is checked out at `{}` with uncommitted changes: nothing \
                         moved; commit or stash there, or land `--into` another branch",
                        path.display()
                    )),
                    ..done("error")
                })));
            }
        }
        // The compare-and-swap: git moves the ref only if it still holds `from`.
        let message = format!("orch land {} onto {target}", wt.branch);
        let cas = git_output(
            repo,
            &["update-ref", "-m", &message, &target_ref, &to, &from],
        )?;
        if !cas.status.success() {
            return Ok(Step::Moved);
        }
        crash_point("moved");
        let mut outcome = Outcome {
            commit: Some(to.clone()),
            ..done("landed")
        };
        if let Some(path) = checkout {
            // The person's clean checkout follows its branch (a fast-forward: `to` is built on
            // `from`), its index and files updated from the one tree to the other.
            git(path.as_path(), &["read-tree", "-m", "-u", &from, &to])?;
            outcome.note = Some(format!(
                "`{target}` is checked out at `{}`: it was clean, and was fast-forwarded",
                path.display()
            ));
        }
        Ok(Step::Done(Box::new(outcome)))
    })();
    repos::clear_journal(lock)?;
    result
}

/// The scratch worktrees of one `orch land`, one per repository (`scratch-<repo key>-<pid>`
/// in the state's repository folder), reused from branch to branch: only the files that
/// differ are checked out again, where a new worktree would check out the whole tree for each
/// branch. Removed when dropped; one a killed land left behind is removed by the next land of
/// its repository ([`Scratches::at`]).
#[derive(Default)]
pub struct Scratches {
    made: std::cell::RefCell<Vec<(PathBuf, PathBuf)>>,
}

impl Scratches {
    /// None made yet.
    pub fn new() -> Scratches {
        Scratches::default()
    }

    /// This land's scratch worktree of `repo`, detached at `from` with nothing else in it.
    ///
    /// Errors: git cannot add the worktree.
    fn at(&self, state: &Store, repo: &Path, from: &str) -> Result<PathBuf> {
        let folder = repos::folder(state);
        let prefix = format!("scratch-{}-", repos::key(repo));
        let scratch = folder.join(format!("{prefix}{}", std::process::id()));
        if self.made.borrow().iter().any(|(_, s)| s == &scratch) {
            let reset = git(&scratch, &["reset", "--hard", "--quiet"])
                .and_then(|_| {
                    git(
                        &scratch,
                        &["checkout", "--detach", "--force", "--quiet", from],
                    )
                })
                .and_then(|_| git(&scratch, &["clean", "-fdxq"]));
            if reset.is_ok() {
                return Ok(scratch);
            }
            remove_worktree(repo, &scratch);
            self.made.borrow_mut().retain(|(_, s)| s != &scratch);
        } else {
            // Left by a land that was killed (its process is gone): removed first.
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let pid = name
                    .strip_prefix(&prefix)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|pid| !process_alive(pid)) {
                    remove_worktree(repo, &entry.path());
                }
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let path = scratch.display().to_string();
        git(
            repo,
            &["worktree", "add", "--detach", "--quiet", &path, from],
        )?;
        self.made
            .borrow_mut()
            .push((repo.to_path_buf(), scratch.clone()));
        Ok(scratch)
    }
}

impl Drop for Scratches {
    fn drop(&mut self) {
        for (repo, scratch) in self.made.borrow().iter() {
            remove_worktree(repo, scratch);
        }
    }
}

/// Removes the worktree at `path` of `repo` (whatever it holds), and its folder.
fn remove_worktree(repo: &Path, path: &Path) {
    let _ = git(
        repo,
        &["worktree", "remove", "--force", &path.display().to_string()],
    );
    let _ = std::fs::remove_dir_all(path);
    let _ = git(repo, &["worktree", "prune"]);
}

/// Whether process `pid` runs (a signal 0 reaches it, or it exists but is another user's).
fn process_alive(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(pid) => !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        ),
        None => false,
    }
}

/// The variable that cuts a land as a crash would, for the tests: `tested` (the journal holds
/// the tested commit, the target not moved yet) or `moved` (the target moved, the person's
/// checkout not updated, the journal and the scratch worktree still there).
const CRASH_VAR: &str = "ORCH_TEST_LAND_CRASH";

/// Kills this process with SIGKILL (no cleanup runs) when [`CRASH_VAR`] names `point`.
fn crash_point(point: &str) {
    if std::env::var_os(CRASH_VAR).is_some_and(|v| v == point) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
}

/// Brings `branch`, at commit `head`, onto the scratch worktree's HEAD (`from`) by
/// `strategy`. Returns the conflicting files and the conflict hunks (the operation aborted),
/// or `None` when clean.
fn bring(
    scratch: &Path,
    branch: &str,
    head: &str,
    from: &str,
    strategy: Strategy,
) -> Result<Option<(Vec<String>, String)>> {
    let id = identity(scratch);
    let with_id = |args: &[&str]| -> Vec<String> {
        id.iter()
            .map(String::as_str)
            .chain(args.iter().copied())
            .map(str::to_string)
            .collect()
    };
    let message = format!("Land {branch}");
    let range = format!("{from}..{head}");
    let (args, abort): (Vec<String>, &[&str]) = match strategy {
        Strategy::Merge => (
            with_id(&["merge", "--no-ff", "--no-edit", "-m", &message, head]),
            &["merge", "--abort"],
        ),
        Strategy::Squash => (
            with_id(&["merge", "--squash", head]),
            &["reset", "--hard", "--quiet"],
        ),
        Strategy::Rebase => (
            with_id(&["cherry-pick", "--allow-empty", &range]),
            &["cherry-pick", "--abort"],
        ),
    };
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = git_output(scratch, &args)?;
    let files: Vec<String> = git(scratch, &["diff", "--name-only", "--diff-filter=U"])?
        .lines()
        .map(str::to_string)
        .collect();
    if !files.is_empty() {
        let hunks: String = git(scratch, &["diff"])?.chars().take(HUNK_CHARS).collect();
        let _ = git(scratch, abort);
        return Ok(Some((files, hunks)));
    }
    if !out.status.success() {
        bail!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    if strategy == Strategy::Squash && git(scratch, &["diff", "--cached", "--quiet"]).is_err() {
        let args = with_id(&["commit", "--quiet", "-m", &format!("{branch} (squashed)")]);
        git(
            scratch,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        )?;
    }
    Ok(None)
}

/// `-c user.name=orch -c user.email=orch@localhost` when the repository has no identity to
/// commit the merge with, else nothing.
fn identity(dir: &Path) -> Vec<String> {
    match git(dir, &["config", "user.email"]) {
        Ok(email) if !email.is_empty() => Vec::new(),
        _ => ["-c", "user.name=orch", "-c", "user.email=orch@localhost"]
            .map(str::to_string)
            .to_vec(),
    }
}

/// Runs `cmd` with `sh -c` in `dir` for at most `timeout`. Returns `None` when it passed,
/// else the tail of its output (stdout and stderr together) with how it ended.
///
/// Errors: the shell cannot be started, or its output cannot be read.
fn run_test(dir: &Path, cmd: &str, timeout: Duration) -> Result<Option<String>> {
    let log = tempfile::NamedTempFile::new().context("cannot make a file for the test output")?;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.reopen()?)
        .stderr(log.reopen()?)
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run the test command `{cmd}`"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let ended = match rx.recv_timeout(timeout) {
        Ok(status) => status.context("cannot wait for the test command")?,
        Err(_) => {
            // Its whole process group: the shell and what it started.
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            let _ = waiter.join();
            let tail = tail(&std::fs::read_to_string(log.path()).unwrap_or_default());
            return Ok(Some(format!(
                "(timed out after {}s)\n{tail}",
                timeout.as_secs()
            )));
        }
    };
    let _ = waiter.join();
    if ended.success() {
        return Ok(None);
    }
    let output = std::fs::read_to_string(log.path()).unwrap_or_default();
    Ok(Some(format!("({ended})\n{}", tail(&output))))
}

/// The last [`TAIL_LINES`] lines of `text`.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

/// The worktree (not orch's scratch ones) that has `target_ref` checked out, if any: the
/// person's own checkout.
fn checked_out(repo: &Path, target_ref: &str) -> Result<Option<PathBuf>> {
    let list = git(repo, &["worktree", "list", "--porcelain"])?;
    let mut path = None;
    for line in list.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if line.strip_prefix("branch ") == Some(target_ref) {
            return Ok(path);
        }
    }
    Ok(None)
}

/// Finishes or undoes a land cut by a crash (its journal left behind): the target already
/// moved to the tested commit is kept and audited; otherwise nothing had moved. Its scratch
/// worktree goes either way.
fn recover(state: &Store, repo: &Path, lock: &Path) -> Result<()> {
    let Some(journal) = repos::journal(lock)? else {
        return Ok(());
    };
    let _ = git(
        repo,
        &[
            "worktree",
            "remove",
            "--force",
            &journal.scratch.display().to_string(),
        ],
    );
    let _ = git(repo, &["worktree", "prune"]);
    let target_ref = format!("refs/heads/{}", journal.target);
    let now = git(repo, &["rev-parse", &target_ref])?;
    let finished = !journal.to.is_empty() && now == journal.to;
    let mut entry = Entry::new("orch", "land_recovered")
        .target(&journal.worker)
        .field("into", journal.target.clone())
        .field("from", journal.from.clone())
        .field("finished", finished);
    if finished && !journal.head.is_empty() {
        entry = entry.field("head", journal.head.clone());
    }
    if finished {
        if let Some(path) = checked_out(repo, &target_ref)? {
            entry = entry.field("checkout", follow(&path, &journal.from, &journal.to));
        }
    }
    audit::append(state, &entry)?;
    repos::clear_journal(lock)
}

/// Brings the person's checkout at `path`, whose branch a land cut by a crash moved from
/// `from` to `to`, along: only when its index and files are still exactly `from`'s (what the
/// land saw clean), else it is left as it is. Returns what was done, for the audit.
fn follow(path: &Path, from: &str, to: &str) -> String {
    let at_from = git(path, &["diff", "--quiet"]).is_ok()
        && git(path, &["diff", "--cached", "--quiet", from]).is_ok();
    if !at_from {
        return "left: it has changes of its own".into();
    }
    match git(path, &["read-tree", "-m", "-u", from, to]) {
        Ok(_) => "fast-forwarded".into(),
        Err(err) => format!("left: {err:#}"),
    }
}

/// Records a branch's outcome: audited always; published on the worker and told to its
/// parent; a refused branch's owner gets one prompt (not on a dry run).
fn report(state: &Store, worker: &Meta, out: &Outcome) -> Result<()> {
    let mut entry = Entry::new(audit::actor(), "land")
        .target(&worker.id)
        .field("branch", out.branch.clone())
        .field("into", out.into.clone())
        // Not `outcome`: the audit's own key (how the action ended) would shadow it.
        .field("result", out.outcome.clone())
        .field("retries", out.retries);
    if let Some(head) = &out.head {
        entry = entry.field("head", head.clone());
    }
    if let Some(commit) = &out.commit {
        entry = entry.field("commit", commit.clone());
    }
    audit::append(state, &entry)?;
    if !matches!(out.outcome.as_str(), "landed" | "conflict" | "test_failed") {
        return Ok(());
    }
    let kind = Kind::Land(Land {
        outcome: Some(out.outcome.clone()),
        branch: Some(out.branch.clone()),
        into: Some(out.into.clone()),
        commit: out.commit.clone(),
        files: (!out.files.is_empty()).then(|| out.files.clone()),
        test: out.test.clone().filter(|_| out.outcome == "test_failed"),
    });
    let event = inbox::publish(state, &worker.id, kind.clone())?;
    let parent = inbox::parent_record(state, &worker.parent, worker.socket_path.as_deref())?;
    inbox::tell_parent(state, worker, &parent, kind, event.seq)?;
    if out.outcome != "landed" {
        let text = prompt(out);
        crate::fleet::conflict::prompt_owner(state, &worker.id, &text, "land_prompt")?;
    }
    Ok(())
}

/// The commits of worker `id`'s branch that landed: its `land` audit entries that landed, and
/// the lands cut by a crash that the next one finished. A branch whose head is one of them
/// holds nothing that has not landed.
///
/// Errors: the audit log cannot be read.
pub fn landed_heads(state: &Store, id: &str) -> Result<Vec<String>> {
    let filter = audit::Filter {
        since_ms: None,
        worker: Some(id.to_string()),
    };
    Ok(audit::read(state, &filter)?
        .into_iter()
        .filter(|e| {
            e["target"] == id
                && ((e["action"] == "land" && e["result"] == "landed")
                    || (e["action"] == "land_recovered" && e["finished"] == true))
        })
        .filter_map(|e| e["head"].as_str().map(str::to_string))
        .collect())
}

/// The prompt to the owner of a branch that did not land: its first line names the branch and
/// the conflicting files or the failed test command; the hunks or the test output's tail
/// follow.
pub fn prompt(out: &Outcome) -> String {
    let detail = out.note.as_deref().unwrap_or_default();
    match out.outcome.as_str() {
        "conflict" => format!(
            "orch land: your branch {} conflicts with {} in {}. Bring {} into your branch, \
             resolve, commit, and say when done.\n\n{detail}",
            out.branch,
            out.into,
            out.files.join(", "),
            out.into
        ),
        _ => format!(
            "orch land: the test `{}` failed on your branch {} brought onto {}. Fix it, commit, \
             and say when done.\n\n{detail}",
            out.test.as_deref().unwrap_or_default(),
            out.branch,
            out.into
        ),
    }
}
