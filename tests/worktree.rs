//! `spawn --worktree` on a real git repository: a branch `orch/<name>` and a worktree per
//! worker, `ps` shows branch and dirty state, `orch diff` the change, `kill` removes a clean
//! worktree and keeps a dirty one.

use crate::util::{json, run_ok, wait_or_explain, World};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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

/// Writes `text` into `file` of worktree `path` and commits it there, as the worker's own
/// Bash tool would.
pub fn commit(path: &Path, file: &str, text: &str) {
    std::fs::write(path.join(file), text).unwrap();
    git(path, &["add", file]);
    git(path, &["commit", "-q", "-m", &format!("edit {file}")]);
}

/// Spawns a sim worker `name` in a worktree of the world's work folder; returns its id and
/// worktree path.
pub fn spawn_in_worktree(world: &World, name: &str, extra: &[&str]) -> (String, PathBuf) {
    let mut argv = vec![
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        name,
        "--worktree",
    ];
    argv.extend(extra);
    let id = json(&world.ok(&argv))["id"].as_str().unwrap().to_string();
    let path = world.ps_row(&id)["worktree"]["path"]
        .as_str()
        .unwrap()
        .into();
    (id, path)
}

/// One turn of sim worker `id` (`tell` waits for its prompt event); returns once the
/// conflict check has looked at the Stop that ended it.
pub fn turn(world: &World, id: &str) {
    let cursor: u64 = world
        .ok(&["tell", id, "[[say: done]]"])
        .trim()
        .parse()
        .unwrap();
    let stop = json(&world.ok(&[
        "listen",
        id,
        "--after",
        &cursor.to_string(),
        "--timeout",
        "20",
    ]));
    let stop = stop["seq"].as_u64().unwrap();
    wait_or_explain(
        &format!("the conflict check of {id}'s stop {stop}"),
        Duration::from_secs(20),
        || (world.ps_row(id)["worktree"]["checked"].as_u64() >= Some(stop)).then_some(()),
        || world.explain(),
    );
}

/// The items `orch --json ARGS` prints (an array, or one object a line).
fn items(world: &World, args: &[&str]) -> Vec<Value> {
    let mut argv = vec!["--json"];
    argv.extend(args);
    world
        .ok(&argv)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .flat_map(|v| match v {
            Value::Array(items) => items,
            one => vec![one],
        })
        .collect()
}

/// The items `orch --json ARGS` prints whose `key` is `value`.
fn items_where(world: &World, args: &[&str], key: &str, value: &str) -> Vec<Value> {
    let mut all = items(world, args);
    all.retain(|e| e[key] == value);
    all
}

/// The events of worker `id` named `kind`.
pub fn events_named(world: &World, id: &str, kind: &str) -> Vec<Value> {
    items_where(world, &["events", id], "event", kind)
}

#[test]
fn a_conflict_is_seen_on_both_sides_after_the_turn_that_makes_it() {
    let world = World::installed();
    let repo = world.work();
    init_repo(&repo);
    commit(&repo, "shared.txt", "one\ntwo\nthree\n");
    let (alpha, alpha_wt) = spawn_in_worktree(&world, "alpha", &[]);
    let (beta, beta_wt) = spawn_in_worktree(&world, "beta", &[]);
    let (gamma, gamma_wt) = spawn_in_worktree(&world, "gamma", &[]);

    // alpha edits a line: nothing to conflict with yet.
    commit(&alpha_wt, "shared.txt", "one\ntwo by alpha\nthree\n");
    turn(&world, &alpha);
    assert!(events_named(&world, &alpha, "conflict").is_empty());

    // beta edits the same line: its turn makes the conflict, seen on both sides.
    commit(&beta_wt, "shared.txt", "one\ntwo by beta\nthree\n");
    turn(&world, &beta);
    let on_beta = events_named(&world, &beta, "conflict");
    let on_alpha = events_named(&world, &alpha, "conflict");
    assert_eq!(on_beta.len(), 1, "{on_beta:?}");
    assert_eq!(on_alpha.len(), 1, "{on_alpha:?}");
    assert_eq!(on_beta[0]["with"], alpha.as_str());
    assert_eq!(on_beta[0]["with_branch"], "orch/alpha");
    assert_eq!(on_beta[0]["files"], serde_json::json!(["shared.txt"]));
    assert_eq!(on_alpha[0]["with"], beta.as_str());
    let row = world.ps_row(&beta);
    assert_eq!(row["worktree"]["conflicts"][0]["with"], alpha.as_str());
    assert_eq!(row["worktree"]["mark"], format!("conflict {alpha}"));
    let table = world.ok(&["ps"]);
    assert!(
        table.contains("GIT") && table.contains(&format!("conflict {beta}")),
        "{table}"
    );
    // The parent (the operator here) has it in its inbox, once for the pair.
    let inbox = world.ok(&["--json", "inbox"]);
    assert_eq!(inbox.matches("\"conflict\"").count(), 1, "{inbox}");

    // gamma edits another file: no conflict; an uncommitted file shows as dirty.
    commit(&gamma_wt, "other.txt", "gamma\n");
    std::fs::write(gamma_wt.join("notes.txt"), "not committed\n").unwrap();
    turn(&world, &gamma);
    assert!(events_named(&world, &gamma, "conflict").is_empty());
    let row = world.ps_row(&gamma);
    assert_eq!(row["worktree"]["mark"], "dirty");
    assert_eq!(
        row["worktree"]["dirty_at_stop"],
        serde_json::json!(["notes.txt"])
    );

    // beta takes alpha's line: the conflict clears on both sides.
    commit(&beta_wt, "shared.txt", "one\ntwo by alpha\nthree\n");
    turn(&world, &beta);
    assert_eq!(events_named(&world, &beta, "conflict_cleared").len(), 1);
    assert_eq!(events_named(&world, &alpha, "conflict_cleared").len(), 1);
    assert_eq!(
        world.ps_row(&alpha)["worktree"]["conflicts"],
        serde_json::json!([])
    );
}

#[test]
fn commit_required_prompts_once_naming_the_files() {
    let world = World::installed();
    let repo = world.work();
    init_repo(&repo);
    let outfits = repo.join(".orch/outfits");
    std::fs::create_dir_all(&outfits).unwrap();
    std::fs::write(
        outfits.join("committer.yaml"),
        "name: committer\nharness: sim\nworktree: true\ncommit: required\n",
    )
    .unwrap();
    let (id, wt) = spawn_in_worktree(&world, "c", &["--outfit", "committer"]);
    std::fs::write(wt.join("draft.txt"), "draft\n").unwrap();
    turn(&world, &id);
    let prompts = || {
        world
            .ok(&["--json", "audit"])
            .matches("commit_prompt")
            .count()
    };
    wait_or_explain(
        "the commit prompt",
        Duration::from_secs(20),
        || (prompts() == 1).then_some(()),
        || world.explain(),
    );
    let log = world.ok(&["audit"]);
    assert!(log.contains("commit_prompt"), "{log}");
    // Another turn with the same files uncommitted: no second prompt.
    turn(&world, &id);
    turn(&world, &id);
    assert_eq!(prompts(), 1);
}

/// The `orch --json land ARGS` outcomes (whatever its exit status) and whether it succeeded.
fn land(world: &World, args: &[&str]) -> (Vec<Value>, bool) {
    let mut argv = vec!["--json", "land"];
    argv.extend(args);
    let out = world.orch(&argv);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcomes = serde_json::from_str::<Value>(&stdout).unwrap_or_else(|_| {
        panic!(
            "orch land printed no outcomes: {stdout}\n{}",
            crate::util::stderr(&out)
        )
    });
    (outcomes.as_array().unwrap().clone(), out.status.success())
}

/// A world with orch installed, its work folder a repository ([`init_repo`]), and a sim
/// worker in a worktree for each of `names`, each with one commit of a file of its own: the
/// first letter of its name, `.txt`, holding that letter and a newline (`a.txt`: `a\n`).
/// Returns the world, the repository, and each worker's id and worktree.
fn landing_world(names: &[&str]) -> (World, PathBuf, Vec<(String, PathBuf)>) {
    let world = World::installed();
    let repo = world.work();
    init_repo(&repo);
    let workers = names
        .iter()
        .map(|name| {
            let (id, wt) = spawn_in_worktree(&world, name, &[]);
            let letter = &name[..1];
            commit(&wt, &format!("{letter}.txt"), &format!("{letter}\n"));
            (id, wt)
        })
        .collect();
    (world, repo, workers)
}

/// The audit entries of `action` on `target`.
fn audited(world: &World, action: &str, target: &str) -> usize {
    items(world, &["audit"])
        .iter()
        .filter(|e| e["action"] == action && e["target"] == target)
        .count()
}

#[test]
fn land_in_order_keeps_exactly_the_green_work() {
    let world = World::installed();
    let repo = world.work();
    init_repo(&repo);
    commit(&repo, "shared.txt", "one\ntwo\nthree\n");
    let (alpha, alpha_wt) = spawn_in_worktree(&world, "alpha", &[]);
    let (beta, beta_wt) = spawn_in_worktree(&world, "beta", &[]);
    let (gamma, gamma_wt) = spawn_in_worktree(&world, "gamma", &[]);
    commit(&alpha_wt, "shared.txt", "one\ntwo by alpha\nthree\n");
    commit(&alpha_wt, "a.txt", "a\n");
    commit(&beta_wt, "b.txt", "FAIL\n");
    commit(&gamma_wt, "shared.txt", "one\ntwo by gamma\nthree\n");
    let heads: Vec<String> = ["alpha", "beta", "gamma"]
        .iter()
        .map(|n| {
            git(&repo, &["rev-parse", &format!("orch/{n}")])
                .trim()
                .to_string()
        })
        .collect();
    // The person works on another branch meanwhile, with changes of its own.
    git(&repo, &["checkout", "-q", "-b", "mine"]);
    std::fs::write(repo.join("README.md"), "hello\nmine\n").unwrap();
    std::fs::write(repo.join("untracked.txt"), "mine\n").unwrap();
    let status = git(&repo, &["status"]);

    let (outcomes, ok) = land(
        &world,
        &[
            &alpha,
            &beta,
            &gamma,
            "--test",
            "! grep -q FAIL b.txt 2>/dev/null",
        ],
    );
    assert!(!ok, "two branches were refused: exit 1");
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["landed", "test_failed", "conflict"], "{outcomes:?}");
    assert_eq!(outcomes[2]["files"], serde_json::json!(["shared.txt"]));

    // main holds exactly alpha's work on top of where it was.
    assert_eq!(
        git(&repo, &["show", "main:shared.txt"]),
        "one\ntwo by alpha\nthree\n"
    );
    assert_eq!(git(&repo, &["show", "main:a.txt"]), "a\n");
    assert!(git(&repo, &["ls-tree", "--name-only", "main"])
        .lines()
        .all(|f| f != "b.txt"));
    // No commit lost: every worker's commit is on main or still on its branch.
    for (name, head) in ["alpha", "beta", "gamma"].iter().zip(&heads) {
        assert_eq!(
            git(&repo, &["rev-parse", &format!("orch/{name}")]).trim(),
            head
        );
    }
    // The refused owners were told once each, the landed one not at all.
    assert_eq!(audited(&world, "land_prompt", &beta), 1);
    assert_eq!(audited(&world, "land_prompt", &gamma), 1);
    assert_eq!(audited(&world, "land_prompt", &alpha), 0);
    assert_eq!(
        events_named(&world, &beta, "prompt").len(),
        1,
        "delivered to beta"
    );
    assert_eq!(
        events_named(&world, &gamma, "prompt").len(),
        1,
        "delivered to gamma"
    );
    assert_eq!(audited(&world, "land", &alpha), 1);
    assert_eq!(events_named(&world, &alpha, "land")[0]["outcome"], "landed");
    // The person's checkout is as it was.
    assert_eq!(git(&repo, &["status"]), status);
    assert_eq!(
        git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "mine"
    );
    assert!(
        git(&repo, &["worktree", "list"]).lines().count() == 4,
        "no scratch left"
    );
}

#[test]
fn land_refuses_bad_input_and_survives_a_moving_target() {
    let (world, repo, workers) = landing_world(&["alpha", "beta"]);
    let [(alpha, _), (beta, beta_wt)] = <[_; 2]>::try_from(workers).unwrap();
    git(&repo, &["checkout", "-q", "-b", "mine"]);

    // The target moves while alpha's test runs: tried again on the new target, nothing lost.
    let marker = world.root().join("moved");
    let test = format!(
        "if [ ! -f {m} ]; then touch {m}; c=$(git -C {r} -c user.name=t -c user.email=t@e \
         commit-tree -p main -m moved 'main^{{tree}}'); git -C {r} update-ref refs/heads/main $c; fi",
        m = marker.display(),
        r = repo.display()
    );
    let (outcomes, ok) = land(&world, &[&alpha, "--test", &test]);
    assert!(ok, "{outcomes:?}");
    assert_eq!(outcomes[0]["outcome"], "landed");
    assert_eq!(outcomes[0]["retries"], 1);
    let log = git(&repo, &["log", "--format=%s", "main"]);
    assert!(log.starts_with("edit a.txt\nmoved\n"), "{log}");

    // A worktree deleted by hand: its committed branch still lands.
    std::fs::remove_dir_all(&beta_wt).unwrap();
    let (outcomes, ok) = land(&world, &[&beta, "--strategy", "merge"]);
    assert!(ok, "{outcomes:?}");
    assert_eq!(git(&repo, &["show", "main:b.txt"]), "b\n");

    // A worker spawned on a detached HEAD has no base branch: --into is asked for.
    git(&repo, &["checkout", "-q", "--detach"]);
    let (gamma, _) = spawn_in_worktree(&world, "gamma", &[]);
    let out = world.orch(&["land", &gamma]);
    assert!(!out.status.success());
    assert!(crate::util::stderr(&out).contains("--into BRANCH"));

    // Not a git repository any more.
    std::fs::rename(repo.join(".git"), world.root().join("git-moved")).unwrap();
    let out = world.orch(&["land", &alpha]);
    assert!(!out.status.success());
    assert!(
        crate::util::stderr(&out).contains("is not a git repository"),
        "{}",
        crate::util::stderr(&out)
    );
}

/// `orch land ARGS` cut as a crash would at `point` (`ORCH_TEST_LAND_CRASH`): asserts it died
/// by SIGKILL there.
fn land_cut_at(world: &World, point: &str, args: &[&str]) {
    use std::os::unix::process::ExitStatusExt;
    let out = world
        .cmd("orch")
        .arg("land")
        .args(args)
        .env("ORCH_TEST_LAND_CRASH", point)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the land was not cut at `{point}`: {}",
        crate::util::stderr(&out)
    );
}

/// The audit entries named `action`, oldest first.
fn audit_of(world: &World, action: &str) -> Vec<Value> {
    items_where(world, &["audit"], "action", action)
}

#[test]
fn a_land_cut_by_a_crash_is_finished_or_undone_by_the_next() {
    let (world, repo, workers) = landing_world(&["alpha", "beta"]);
    let [(alpha, _), (beta, _)] = <[_; 2]>::try_from(workers).unwrap();
    let rev = |r: &str| git(&repo, &["rev-parse", r]).trim().to_string();
    let heads = [rev("orch/alpha"), rev("orch/beta")];
    let before = rev("main");
    let scratch_free = || git(&repo, &["worktree", "list"]).lines().count() == 3;

    // Cut after main moved: main holds alpha's work, the person's checkout (main, clean)
    // lags behind it and the scratch worktree is left over.
    land_cut_at(&world, "moved", &[&alpha]);
    let moved = rev("main");
    assert_ne!(moved, before);
    assert_eq!(git(&repo, &["show", "main:a.txt"]), "a\n");
    assert!(!git(&repo, &["status", "--porcelain"]).is_empty());
    assert!(!scratch_free());

    // The next land finishes it (the checkout follows), then is itself cut before moving.
    land_cut_at(&world, "tested", &[&beta]);
    let recovered = audit_of(&world, "land_recovered");
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert_eq!(recovered[0]["target"], alpha.as_str());
    assert_eq!(recovered[0]["finished"], true);
    assert_eq!(recovered[0]["checkout"], "fast-forwarded");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "a\n");
    assert_eq!(rev("main"), moved, "beta's cut land moved nothing");

    // The next one undoes beta's (nothing had moved) and lands it.
    let (outcomes, ok) = land(&world, &[&beta]);
    assert!(ok, "{outcomes:?}");
    let recovered = audit_of(&world, "land_recovered");
    assert_eq!(recovered.len(), 2, "{recovered:?}");
    assert_eq!(recovered[1]["target"], beta.as_str());
    assert_eq!(recovered[1]["finished"], false);
    assert_eq!(git(&repo, &["show", "main:b.txt"]), "b\n");
    assert_eq!(git(&repo, &["show", "main:a.txt"]), "a\n");
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert!(scratch_free(), "{}", git(&repo, &["worktree", "list"]));
    // No commit lost: both branches as they were, main built on where it started.
    assert_eq!([rev("orch/alpha"), rev("orch/beta")], heads);
    git(&repo, &["merge-base", "--is-ancestor", &before, "main"]);
}

#[test]
fn a_test_that_outlives_its_timeout_is_killed_and_the_branch_refused() {
    let (world, repo, workers) = landing_world(&["alpha"]);
    let [(alpha, _)] = <[_; 1]>::try_from(workers).unwrap();
    let before = git(&repo, &["rev-parse", "main"]);
    // The shell and a child it started in the background: both are in the test's group.
    let pids = world.root().join("pids");
    let test = format!(
        "sleep 120 & echo $$ $! > {}; echo still testing; wait",
        pids.display()
    );
    let started = std::time::Instant::now();
    let (outcomes, ok) = land(&world, &[&alpha, "--test", &test, "--timeout", "1"]);
    assert!(!ok);
    assert!(started.elapsed() < Duration::from_secs(60), "not cut short");
    assert_eq!(outcomes[0]["outcome"], "test_failed", "{outcomes:?}");
    let note = outcomes[0]["note"].as_str().unwrap();
    assert!(
        note.starts_with("(timed out after 1s)") && note.contains("still testing"),
        "{note}"
    );
    assert_eq!(git(&repo, &["rev-parse", "main"]), before, "nothing moved");
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 2);
    for pid in pids {
        crate::util::wait_for(
            &format!("the test's process {pid} to be killed"),
            Duration::from_secs(10),
            || (!crate::util::alive(pid)).then_some(()),
        );
    }
    assert_eq!(audited(&world, "land_prompt", &alpha), 1);
    assert_eq!(events_named(&world, &alpha, "prompt").len(), 1);
    let land_event = &events_named(&world, &alpha, "land")[0];
    assert_eq!(land_event["outcome"], "test_failed");
    assert_eq!(land_event["test"], test.as_str());
}

#[test]
fn landing_into_the_checked_out_branch_moves_a_clean_checkout_and_refuses_a_dirty_one() {
    let (world, repo, workers) = landing_world(&["alpha", "beta"]);
    let [(alpha, _), (beta, _)] = <[_; 2]>::try_from(workers).unwrap();

    // Clean: main moves and the checkout with it, its status clean.
    let (outcomes, ok) = land(&world, &[&alpha]);
    assert!(ok, "{outcomes:?}");
    assert_eq!(outcomes[0]["outcome"], "landed");
    let note = outcomes[0]["note"].as_str().unwrap();
    assert!(
        note.contains("checked out") && note.contains("fast-forwarded"),
        "{note}"
    );
    assert_eq!(git(&repo, &["status", "--porcelain"]), "");
    assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "a\n");
    assert_eq!(
        git(&repo, &["rev-parse", "HEAD"]),
        git(&repo, &["rev-parse", "main"])
    );

    // Dirty: refused, nothing moves, the person's change stays, and it says why.
    std::fs::write(repo.join("README.md"), "hello\nmine\n").unwrap();
    let status = git(&repo, &["status"]);
    let main = git(&repo, &["rev-parse", "main"]);
    let (outcomes, ok) = land(&world, &[&beta]);
    assert!(!ok);
    assert_eq!(outcomes[0]["outcome"], "error", "{outcomes:?}");
    let note = outcomes[0]["note"].as_str().unwrap();
    assert!(
        note.contains("checked out")
            && note.contains("uncommitted changes")
            && note.contains("nothing moved"),
        "{note}"
    );
    assert_eq!(git(&repo, &["rev-parse", "main"]), main);
    assert_eq!(git(&repo, &["status"]), status);
    assert!(!repo.join("b.txt").exists());
    assert_eq!(
        audited(&world, "land_prompt", &beta),
        0,
        "not the worker's fault"
    );
}

#[test]
fn a_claude_workers_branch_conflicts_after_its_stop_and_its_refused_land_comes_back_to_it() {
    use crate::claude::{claude_bin, claude_env, prepare_home, DUMMY_API_KEY};
    use crate::mock_model::{last_user_text, MockModel};
    const WAIT: Duration = Duration::from_secs(90);
    let world = World::installed();
    let mock = MockModel::start();
    // The worktrees live under the state folder: trusted with everything below the root.
    prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work(), world.root()]);
    let repo = world.work();
    init_repo(&repo);
    commit(&repo, "shared.txt", "one\ntwo\nthree\n");

    // A sim worker edits line two and ends its turn: nothing to conflict with yet.
    let (sim, sim_wt) = spawn_in_worktree(&world, "sim", &[]);
    commit(&sim_wt, "shared.txt", "one\ntwo by sim\nthree\n");
    turn(&world, &sim);
    assert!(events_named(&world, &sim, "conflict").is_empty());

    // A real Claude Code worker edits the same line with its Bash tool and commits.
    let mut spawn = world.cmd("orch");
    spawn
        .args([
            "--json",
            "spawn",
            "--name",
            "claude",
            "--worktree",
            "--",
            // Claude Code 2.1.332 starts in `auto` mode, whose server-side check cannot pass
            // through the mock: it asks about every command (docs/observed.md 1.7).
            "--permission-mode",
            "default",
            "--allowedTools",
            "Bash",
        ])
        .envs(claude_env(&mock))
        .env("ORCH_CLAUDE_BIN", claude_bin());
    let spawned = crate::util::run_ok(&mut spawn, None, || world.explain());
    let claude = json(&spawned)["id"].as_str().unwrap().to_string();
    let row = world.ps_row(&claude);
    assert_eq!(row["harness"], "claude");
    assert_eq!(row["worktree"]["branch"], "orch/claude");
    world.ok(&[
        "tell",
        &claude,
        "edit [[bash: sed -i 's/^two$/two by claude/' shared.txt && git -c user.name=c \
         -c user.email=c@example.com commit -qam claude-edit]]",
    ]);
    let listen = ["listen", claude.as_str(), "--timeout", "90"];
    let stop = json(&world.expect_ok(&listen, world.orch(&listen), "the Claude worker's turn"));
    assert_eq!(stop["event"], "stop", "{stop}");
    assert_eq!(
        git(&repo, &["show", "orch/claude:shared.txt"]),
        "one\ntwo by claude\nthree\n",
        "the worker committed its edit"
    );

    // Its Stop leads to a conflict against the sim's branch, on both sides.
    let conflict = wait_or_explain(
        "a conflict event on the Claude worker",
        WAIT,
        || events_named(&world, &claude, "conflict").pop(),
        || format!("{}\nmock: {:?}", world.explain(), mock.log()),
    );
    assert_eq!(conflict["with"], sim.as_str());
    assert_eq!(conflict["files"], serde_json::json!(["shared.txt"]));
    // The check records the other side next.
    let on_sim = wait_or_explain(
        "the conflict event on the sim worker",
        WAIT,
        || events_named(&world, &sim, "conflict").pop(),
        || world.explain(),
    );
    assert_eq!(on_sim["with"], claude.as_str());

    // Landing both: the sim's lands, Claude's conflicts and goes back to it as a prompt.
    let (outcomes, ok) = land(&world, &[&sim, &claude]);
    assert!(!ok);
    let kinds: Vec<&str> = outcomes
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["landed", "conflict"], "{outcomes:?}");
    let request = mock.wait_request(|b| last_user_text(b).contains("orch land:"), WAIT);
    let text = last_user_text(&request);
    // Claude Code 2.1.332 sends a long paste wrapped in `<pasted_content id="...">`.
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.starts_with("<pasted_content"))
        .unwrap_or_default();
    assert!(
        first.starts_with("orch land:")
            && first.contains("orch/claude")
            && first.contains("shared.txt"),
        "{text}"
    );
    assert_eq!(audited(&world, "land_prompt", &claude), 1);
    assert_eq!(audited(&world, "land_prompt", &sim), 0);
}

#[test]
fn kill_removes_a_branch_that_landed_and_keeps_one_with_work_not_landed() {
    let (world, repo, workers) = landing_world(&["alpha", "beta", "gamma", "delta"]);
    let [(alpha, _), (beta, beta_wt), (gamma, _), (delta, delta_wt)] =
        <[_; 4]>::try_from(workers).unwrap();
    git(&repo, &["checkout", "-q", "-b", "mine"]);
    // Rebased onto main (new commits there): only the record of the land says alpha's landed.
    let (outcomes, ok) = land(&world, &[&alpha, &beta, &delta]);
    assert!(ok, "{outcomes:?}");
    assert_ne!(
        git(&repo, &["rev-parse", "main"]),
        git(&repo, &["rev-parse", "orch/delta"])
    );
    // beta commits again after its land; delta's worktree is deleted by hand.
    commit(&beta_wt, "b2.txt", "b2\n");
    std::fs::remove_dir_all(&delta_wt).unwrap();
    let branches = || git(&repo, &["branch", "--list", "orch/*"]);

    let out = world.orch(&["kill", &alpha]);
    assert!(out.status.success());
    assert!(
        crate::util::stderr(&out).contains("its branch removed"),
        "{}",
        crate::util::stderr(&out)
    );
    assert!(!branches().contains("orch/alpha"), "{}", branches());
    world.ok(&["kill", &delta]);
    assert!(!branches().contains("orch/delta"), "{}", branches());
    // A commit not on any target: kept, landed before or never.
    for (id, name) in [(&beta, "orch/beta"), (&gamma, "orch/gamma")] {
        let out = world.orch(&["kill", id]);
        assert!(
            crate::util::stderr(&out).contains("kept (it has commits not landed)"),
            "{}",
            crate::util::stderr(&out)
        );
        assert!(branches().contains(name), "{}", branches());
    }
    assert_eq!(git(&repo, &["show", "orch/beta:b2.txt"]), "b2\n");
}
