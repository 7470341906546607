//! `orch resume` after the tmux server died: sim workers (fast: ps, doctor, up, listen across
//! the resume, a subscription, pane ids handed out again), bad input that changes nothing, an
//! operator pane that comes back, and two Claude Code workers and a Codex worker that go on
//! with their conversations (the mock model sees the first prompt in the second's request).

use crate::coord::{events, wait_stop_containing};
use crate::fleet::Fleet;
use crate::util::{expect_success, json, stderr, wait_for, World};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// The `ps --all --json` status of each of `names`, in that order.
fn statuses(world: &World, names: &[&str]) -> Vec<String> {
    let rows = json(&world.ok(&["--json", "ps", "--all"]));
    names
        .iter()
        .map(|name| {
            let row = rows.as_array().unwrap().iter().find(|r| r["name"] == *name);
            row.map_or("missing".into(), |r| r["status"].as_str().unwrap().into())
        })
        .collect()
}

/// The newest sequence number of `who`'s log.
fn cursor(world: &World, who: &str) -> u64 {
    events(world, who).last().unwrap()["seq"].as_u64().unwrap()
}

/// Starts `orch listen NAME --after AFTER --timeout 60` in the background, output piped.
fn listen_from(world: &World, name: &str, after: u64) -> std::process::Child {
    world
        .cmd("orch")
        .args([
            "listen",
            name,
            "--after",
            &after.to_string(),
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Starts the world's tmux server again (as a person would after a reboot), with a few panes
/// of their own, so that the pane ids the dead server gave the workers exist again.
fn restart_tmux(world: &World, panes: usize) {
    let tmux = world.tmux.as_ref().unwrap();
    // The dead server may still be letting go of its socket: a new one starts once it has.
    crate::util::wait_for("a new tmux server", Duration::from_secs(10), || {
        Command::new("tmux")
            .args(["-L", &tmux.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "main", "-x", "200", "-y", "50"])
            .env_remove("TMUX")
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
            .then_some(())
    });
    for _ in 1..panes {
        tmux.run(&["new-window", "-d"]);
    }
}

#[test]
fn sim_fleet_resumes_after_its_tmux_server_dies() {
    let world = World::installed();
    let one = world.spawn_sim("one");
    world.spawn_sim("two");
    world.ok(&["tell", "one", "first [[say: ONE-A]]"]);
    let stop = json(&world.ok(&["listen", "one", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "ONE-A");
    world.ok(&["subscribe", "one", "--to", "two", "--events", "stop"]);
    let before = cursor(&world, "one");
    // A listen that is waiting when the server dies: it returns, saying how to go on.
    let waiting = listen_from(&world, "one", before);

    world.tmux.as_ref().unwrap().kill_server();
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "`orch resume w1`, then `orch listen w1 --after {before}`"
        )),
        "{said}"
    );
    // A new server hands out the dead one's pane ids again: they are not the workers'.
    restart_tmux(&world, 4);
    let old_pane = one["pane"].as_str().unwrap();
    let tmux = world.tmux.as_ref().unwrap();
    assert!(tmux
        .run(&["list-panes", "-a", "-F", "#{pane_id}"])
        .contains(old_pane));
    assert_eq!(
        statuses(&world, &["one", "two"]),
        ["resumable", "resumable"]
    );
    // (The test world's state folder is not 0700: doctor fails on that, not on the workers.)
    let doctor = world.orch(&["--json", "doctor", "--skip-probe"]);
    let doctor = json(&String::from_utf8_lossy(&doctor.stdout));
    let check = doctor["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "workers")
        .cloned()
        .unwrap();
    assert_eq!(check["status"], "warn", "{check}");
    assert_eq!(check["resumable"], serde_json::json!(["w1", "w2"]));
    assert_eq!(check["fix"], "orch resume --all");
    let up = world.orch(&["up"]);
    assert!(
        stderr(&up).contains("2 workers lost their panes") && stderr(&up).contains("--all"),
        "{}",
        stderr(&up)
    );

    let out = world.orch(&["--json", "resume", "--all"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let resumed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(resumed.as_array().unwrap().len(), 2, "{resumed}");
    assert_eq!(resumed[0]["conversation"], false);
    assert!(stderr(&out).contains("the sim harness keeps no conversation: it starts afresh"));
    assert_eq!(statuses(&world, &["one", "two"]), ["idle", "idle"]);
    let log = events(&world, "one");
    let mark = log.iter().find(|e| e["event"] == "resumed").unwrap();
    assert_eq!(mark["was"], old_pane);
    assert_eq!(mark["pane"], world.ps_row("w1")["pane"]);

    // A listen from the cursor taken before the crash gets the first Stop after the resume.
    let listen = listen_from(&world, "one", before);
    world.ok(&["tell", "one", "second [[say: ONE-B]]"]);
    let out = listen.wait_with_output().unwrap();
    let stop = json(&expect_success("orch listen one", out, String::new));
    assert_eq!(stop["last_assistant_message"], "ONE-B");
    // The subscription made before the crash reaches `two` in its new pane.
    let seen = wait_stop_containing(&world, "two", "ONE-B");
    assert!(
        seen.contains("[orch inbox] w1 (one) finished a turn"),
        "{seen}"
    );
    // Nothing left to resume.
    let again = world.orch(&["resume", "one"]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("is idle in pane"),
        "{}",
        stderr(&again)
    );
}

/// `orch resume ARGS` fails, saying each of `wants`, and changes no worker's files.
fn refused(world: &World, args: &[&str], wants: &[&str]) {
    let snapshot = || {
        let mut files = Vec::new();
        for entry in walk(&world.state().join("workers")) {
            let bytes = std::fs::read(&entry).unwrap_or_default();
            files.push((entry, bytes));
        }
        files.sort();
        files
    };
    let before = snapshot();
    let mut full = vec!["resume"];
    full.extend(args);
    let out = world.orch(&full);
    assert!(!out.status.success(), "orch {full:?} succeeded");
    for want in wants {
        assert!(
            stderr(&out).contains(want),
            "{want:?} not in: {}",
            stderr(&out)
        );
    }
    let after = snapshot();
    let changed: Vec<_> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|(path, bytes)| format!("{}: {}", path.display(), String::from_utf8_lossy(bytes)))
        .collect();
    assert!(changed.is_empty(), "orch {full:?} changed: {changed:#?}");
}

/// Every file under `dir`, recursively.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn resume_refuses_bad_input_and_changes_nothing() {
    let world = World::installed();
    crate::worktree::init_repo(&world.work());
    let elsewhere = world.root().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let spawn = |name: &str, extra: &[&str]| {
        let mut args = vec!["--json", "spawn", "--harness", "sim", "--name", name];
        args.extend(extra);
        json(&world.ok(&args))
    };
    spawn("live", &[]);
    spawn("gone", &[]);
    spawn("moved", &["--cwd", elsewhere.to_str().unwrap()]);
    let tree = spawn("tree", &["--worktree"]);

    refused(&world, &["live"], &["worker `w1` (live) is idle in pane"]);
    refused(&world, &["nobody"], &["unknown worker `nobody`"]);
    refused(
        &world,
        &[],
        &["name the workers to resume, or give `--all`"],
    );
    world.ok(&["kill", "gone"]);
    // The killed sim reports its session's end after the `killed` event: let it land first.
    wait_for("gone's session end", WAIT, || {
        let log = events(&world, "gone");
        log.iter()
            .any(|e| e["event"] == "session_end")
            .then_some(())
    });
    refused(
        &world,
        &["gone"],
        &["was ended for good", "spawn a new one"],
    );

    world.tmux.as_ref().unwrap().kill_server();
    // Each sim reports its session's end as its terminal goes: let those land before the
    // snapshots that check resume writes nothing.
    for name in ["live", "moved", "tree"] {
        wait_for(&format!("{name}'s session end"), WAIT, || {
            let log = events(&world, name);
            log.iter()
                .any(|e| e["event"] == "session_end")
                .then_some(())
        });
    }
    std::fs::remove_dir_all(&elsewhere).unwrap();
    let tree_path = tree["worktree"]["path"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| world.ps_row("w4")["cwd"].as_str().unwrap().to_string());
    std::fs::remove_dir_all(&tree_path).unwrap();
    refused(
        &world,
        &["moved"],
        &[
            &format!("its folder `{}` is gone", elsewhere.display()),
            "nothing was changed",
        ],
    );
    refused(
        &world,
        &["tree"],
        &["its worktree", "is gone: restore it with `git worktree add"],
    );
    assert_eq!(
        statuses(&world, &["live", "gone", "moved", "tree"]),
        ["resumable", "dead", "resumable", "resumable"]
    );
    // `--all` resumes what it can and names what it could not.
    let out = world.orch(&["--json", "resume", "--all"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("2 of 3 workers were not resumed: w3, w4"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        statuses(&world, &["live", "moved", "tree"]),
        ["idle", "resumable", "resumable"]
    );
}

#[test]
fn operator_pane_that_comes_back_is_registered_again() {
    let world = World::installed();
    world.spawn_sim("pub");
    let tmux = world.tmux.as_ref().unwrap();
    // The operator: a sim (the stand-in for Claude Code) in a pane of its own, on session
    // `op-session`, whose `orch subscribe` runs with that session's id as Claude Code gives it.
    let operator_pane = |tmux: &crate::util::Tmux| {
        let sim = crate::util::exe("orch-sim");
        let mut args: Vec<String> = ["new-window", "-d", "-P", "-F", "#{pane_id}", "/usr/bin/env"]
            .map(String::from)
            .to_vec();
        args.extend(
            world
                .env()
                .into_iter()
                .filter(|(k, _)| k != "ORCH_TMUX_SOCKET")
                .map(|(k, v)| format!("{k}={v}")),
        );
        args.extend([
            sim.display().to_string(),
            "--session-id".into(),
            "op-session".into(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let pane = tmux.run(&args).trim().to_string();
        wait_for("the operator's prompt", WAIT, || {
            tmux.capture(&pane).contains('❯').then_some(())
        });
        pane
    };
    let pane = operator_pane(tmux);
    let out = world
        .in_pane(
            world.cmd("orch").args(["--json", "subscribe", "pub"]),
            &pane,
        )
        .env("CLAUDE_CODE_SESSION_ID", "op-session")
        .output()
        .unwrap();
    let op = json(&expect_success("orch subscribe pub", out, String::new))["subscriber"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(world.ps_row(&op)["status"], "idle");

    tmux.kill_server();
    restart_tmux(&world, 3);
    assert_eq!(world.ps_row(&op)["status"], "dead");
    let out = world.orch(&["resume", &op]);
    assert!(stderr(&out).contains("claude --resume"), "{}", stderr(&out));
    world.ok(&["resume", "pub"]);
    // The operator goes on with its conversation in a new pane: its SessionStart moves the
    // record there, and what it subscribed to reaches it.
    let new_pane = operator_pane(tmux);
    // (The record moves as its SessionStart hook starts; the event lands just after.)
    wait_for("the operator record to move, idle", WAIT, || {
        let row = world.ps_row(&op);
        (row["pane"] == new_pane.as_str() && row["status"] == "idle").then_some(())
    });
    world.ok(&["tell", "pub", "report [[say: PUB-AFTER]]"]);
    let seen = wait_stop_containing(&world, &op, "PUB-AFTER");
    assert!(seen.contains("[orch inbox]"), "{seen}");
    let moved = events(&world, &op);
    assert!(moved
        .iter()
        .any(|e| e["event"] == "moved" && e["pane"] == new_pane.as_str()));

    // An operator on a new conversation takes its record back by hand.
    tmux.kill_server();
    restart_tmux(&world, 1);
    let third = tmux.run(&["new-window", "-d", "-P", "-F", "#{pane_id}"]);
    let third = third.trim();
    let out = world
        .in_pane(world.cmd("orch").args(["resume", &op]), third)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(world.ps_row(&op)["pane"], third);
}

#[test]
fn claude_and_codex_workers_resume_on_their_conversations() {
    let f = Fleet::new();
    for (name, harness) in [("one", "claude"), ("two", "claude"), ("cx", "codex")] {
        f.ok(&[
            "--json",
            "spawn",
            "--name",
            name,
            "--harness",
            harness,
            "--ready-timeout",
            "60",
        ]);
    }
    let first = |name: &str| format!("remember FIRST-{name}-7 [[say: {name}-A]]");
    for name in ["one", "two", "cx"] {
        assert_eq!(f.turn(name, &first(name)), format!("{name}-A"));
    }
    f.ok(&["subscribe", "one", "--to", "two", "--events", "stop"]);
    let cursors: Vec<u64> = ["one", "two", "cx"]
        .iter()
        .map(|n| cursor(&f.world, n))
        .collect();

    f.world.tmux.as_ref().unwrap().kill_server();
    assert_eq!(
        statuses(&f.world, &["one", "two", "cx"]),
        ["resumable", "resumable", "resumable"]
    );
    let out = f.run(&["--json", "resume", "--all", "--ready-timeout", "60"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        stderr(&out),
        f.world.explain()
    );
    let resumed = json(&String::from_utf8_lossy(&out.stdout));
    for row in resumed.as_array().unwrap() {
        assert_eq!(row["conversation"], true, "{resumed}");
    }
    assert_eq!(resumed.as_array().unwrap().len(), 3);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert_eq!(
        statuses(&f.world, &["one", "two", "cx"]),
        ["idle", "idle", "idle"]
    );

    // Listens from the cursors taken before the crash, waiting across the resume.
    let listens: Vec<std::process::Child> = ["one", "two", "cx"]
        .iter()
        .zip(&cursors)
        .map(|(name, after)| listen_from(&f.world, name, *after))
        .collect();
    for name in ["one", "cx"] {
        let told = json(&f.ok(&["--json", "tell", name, &format!("again [[say: {name}-B]]")]));
        assert_eq!(told["acknowledged"], true, "{told}");
    }
    // `two` hears of one's Stop through the subscription, in its new pane, and takes a turn.
    let seen = wait_stop_containing(&f.world, "two", "one-B");
    assert!(seen.contains("[orch inbox]"), "{seen}");
    for (child, name) in listens.into_iter().zip(["one", "two", "cx"]) {
        let out = child.wait_with_output().unwrap();
        let stop: Value = json(&expect_success(
            &format!("orch listen {name}"),
            out,
            String::new,
        ));
        assert_eq!(stop["event"], "stop", "{name}: {stop}");
        if name != "two" {
            assert_eq!(stop["last_assistant_message"], format!("{name}-B"));
        }
    }

    // Context restored: each second request carries the first prompt.
    for name in ["one", "two"] {
        let request = f.claude.wait_request(
            |b| {
                let text = b.to_string();
                text.contains(&format!("FIRST-{name}-7"))
                    && (text.contains(&format!("{name}-B")) || text.contains("[orch inbox]"))
            },
            WAIT,
        );
        assert!(request.to_string().contains(&format!("{name}-A")));
    }
    let request = f.codex.wait_request(
        |b| {
            let text = b.to_string();
            text.contains("FIRST-cx-7") && text.contains("cx-B")
        },
        WAIT,
    );
    assert!(request.to_string().contains("cx-A"));
    // The agents went on with their own sessions.
    for name in ["one", "two", "cx"] {
        let log = events(&f.world, name);
        let resumed = log.iter().find(|e| e["event"] == "resumed").unwrap();
        assert_eq!(resumed["conversation"], true);
        let start = log
            .iter()
            .skip_while(|e| e["event"] != "resumed")
            .find(|e| e["event"] == "session_start")
            .unwrap();
        assert_eq!(start["source"], "resume", "{name}: {start}");
        assert_eq!(start["session_id"], resumed["session_id"], "{name}");
    }
}

/// A Claude Code worker whose tmux server died before Claude Code wrote its turn down: its
/// session file holds the session's metadata and no message (what Claude Code 2.1.197 left
/// when the crash came right after a Stop), and `claude --resume` on it says "No
/// conversation found" and exits. Its resume starts it on a new conversation, under a new
/// session id (Claude Code refuses the old one for a new session), and says why.
#[test]
fn claude_worker_whose_crash_left_no_message_resumes_on_a_new_conversation() {
    let f = Fleet::new();
    f.ok(&["spawn", "--name", "one", "--ready-timeout", "60"]);
    assert_eq!(f.turn("one", "remember LOST-5 [[say: one-A]]"), "one-A");
    let meta =
        json(&std::fs::read_to_string(f.world.state().join("workers/w1/meta.json")).unwrap());
    let sid = meta["session_id"].as_str().unwrap().to_string();
    crate::claude::wait_turn_written(&f.world, &sid, "LOST-5");
    let pid = meta["pane_pid"].as_u64().unwrap() as u32;
    f.world.tmux.as_ref().unwrap().kill_server();
    wait_for("the crashed Claude Code to end", WAIT, || {
        (!crate::util::alive(pid)).then_some(())
    });
    let file = crate::claude::session_file(&f.world, &sid).unwrap();
    // What Claude Code left in the flaky runs: the session's metadata lines only.
    let line = |kind: &str, key: &str, value: &str| {
        let mut line = serde_json::json!({"type": kind, "sessionId": sid});
        line[key] = value.into();
        format!("{line}\n")
    };
    let left = [
        line("ai-title", "aiTitle", "Mock session"),
        line("last-prompt", "lastPrompt", "remember LOST-5"),
        line("mode", "mode", "normal"),
        line("permission-mode", "permissionMode", "default"),
    ]
    .concat();
    std::fs::write(&file, left).unwrap();

    let out = f.run(&["--json", "resume", "one", "--ready-timeout", "60"]);
    assert!(
        out.status.success(),
        "{}\n{}",
        stderr(&out),
        f.world.explain()
    );
    let resumed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(resumed[0]["conversation"], false, "{resumed}");
    assert!(
        stderr(&out).contains(&format!(
            "its conversation `{sid}` has no message in Claude Code's records"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(statuses(&f.world, &["one"]), ["idle"]);
    let log = events(&f.world, "one");
    let mark = log.iter().position(|e| e["event"] == "resumed").unwrap();
    let new_sid = log[mark]["session_id"].clone();
    assert_ne!(new_sid, sid.as_str(), "{}", log[mark]);
    let start = log[mark..]
        .iter()
        .find(|e| e["event"] == "session_start")
        .unwrap();
    assert_eq!(start["source"], "startup", "{start}");
    assert_eq!(start["session_id"], new_sid, "{start}");
    assert_eq!(f.turn("one", "again [[say: one-B]]"), "one-B");
    f.ok(&["kill", "one"]);
}

#[test]
fn resume_stops_an_agent_that_outlived_its_pane() {
    let world = World::installed();
    // A program that ignores SIGHUP, as Gemini CLI 0.61 does: it outlives the tmux server.
    let spawned = json(&world.ok(&[
        "--json",
        "spawn",
        "--harness",
        "command",
        "--name",
        "stubborn",
        "--",
        "sh",
        "-c",
        "trap '' HUP; echo ready; while :; do sleep 1; done",
    ]));
    let id = spawned["id"].as_str().unwrap();
    let meta = json(
        &std::fs::read_to_string(world.state().join("workers").join(id).join("meta.json")).unwrap(),
    );
    let pid = meta["pane_pid"].as_u64().expect("the pane's pid is kept");
    world.tmux.as_ref().unwrap().kill_server();
    assert!(
        crate::util::alive(pid as u32),
        "the program outlived its pane"
    );
    let out = world.orch(&["resume", "stubborn"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("its agent outlived its pane (pid {pid}")),
        "{}",
        stderr(&out)
    );
    assert!(
        !crate::util::alive(pid as u32),
        "stopped before the new pane started"
    );
    assert_eq!(world.ps_row(id)["status"], "idle");
    world.ok(&["kill", "stubborn"]);
}
