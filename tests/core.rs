//! The core commands end to end on real tmux with the `sim` harness: up, spawn, tell, listen,
//! ps, events, interrupt, kill, demo, and the hook writing nothing for strangers.

use crate::util::{
    expect_success, json, output_with_stdin, run_ok, spawn_with_stdin, stderr, wait_for, World,
};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// Runs `orch ARGS` with `input` on stdin.
fn orch_stdin(world: &World, args: &[&str], input: &str) -> Output {
    output_with_stdin(world.cmd("orch").args(args), input.as_bytes())
}

#[test]
fn spawn_tell_listen_round_trip_with_a_long_multiline_prompt() {
    let world = World::installed();
    let w = world.spawn_sim("alpha");
    assert_eq!(w["harness"], "sim");
    assert_eq!(w["role"], "worker");
    let pane = w["pane"].as_str().unwrap().to_string();
    let tmux = world.tmux.as_ref().unwrap();
    assert_eq!(
        tmux.run(&[
            "display-message",
            "-p",
            "-t",
            &pane,
            "#{@orch_id} #{@orch_role} #{@orch_name}"
        ])
        .trim(),
        "w1 worker alpha"
    );

    let filler = "lorem ipsum 'quoted' \"double\" $HOME `id` $(date) ; | & > < \\ ".repeat(20);
    let prompt = format!("first line\n{filler}\nlast line [[say: REPLY-ONE]]");
    assert!(prompt.len() > 1024);
    let mut tell = world.cmd("orch");
    tell.args(["--json", "tell", "alpha"]);
    let told = json(&run_ok(&mut tell, Some(prompt.as_bytes()), String::new));
    assert_eq!(told["acknowledged"], true);
    let cursor = told["cursor"].as_u64().unwrap();

    let stop = json(&world.ok(&["listen", "alpha", "--timeout", "30"]));
    assert_eq!(stop["event"], "stop");
    assert_eq!(stop["last_assistant_message"], "REPLY-ONE");
    assert!(stop["seq"].as_u64().unwrap() > cursor);

    let events = world.ok(&["events", "w1"]);
    let kinds: Vec<String> = events
        .lines()
        .map(|l| json(l)["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["spawned", "session_start", "prompt", "stop"]);
    let prompt_event = json(events.lines().nth(2).unwrap());
    assert_eq!(prompt_event["prompt_len"], prompt.chars().count());
    assert!(
        !events.contains("first line"),
        "prompt text is not recorded"
    );

    let row = world.ps_row("w1");
    assert_eq!(row["status"], "idle");
    assert_eq!(row["last_message"], "REPLY-ONE");
}

#[test]
fn spawn_with_prompt_and_listen_on_name_and_pane() {
    let world = World::installed();
    let w = json(&world.ok(&[
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        "beta",
        "--prompt",
        "hello [[say: FIRST]]",
    ]));
    let pane = w["pane"].as_str().unwrap();
    let stop = json(&world.ok(&["listen", pane, "--after", &w["cursor"].to_string()]));
    assert_eq!(stop["last_assistant_message"], "FIRST");
}

#[test]
fn tell_neutralises_a_leading_bang_so_it_stays_a_prompt() {
    let world = World::installed();
    world.spawn_sim("gamma");
    world.ok(&["tell", "gamma", "!rm -rf /tmp/nothing"]);
    let stop = json(&world.ok(&["listen", "gamma", "--timeout", "30"]));
    assert_eq!(
        stop["last_assistant_message"],
        "SIM: you said:  !rm -rf /tmp/nothing"
    );
}

/// A harness that expands tabs (as Claude Code does) still acknowledges the prompt at the first
/// Enter, and tell says what changed.
#[test]
fn tell_acknowledges_a_prompt_the_harness_rewrote_and_says_how() {
    let world = World::installed();
    world.spawn_sim_with("tabs", &["--tab-width", "4"]);
    let prompt = "fix\tthe build [[say: FIXED]]";
    let told = json(&world.ok(&["--json", "tell", "tabs", prompt]));
    assert_eq!(told["acknowledged"], true, "{told}");
    assert_eq!(told["enters"], 1, "{told}");
    assert_eq!(told["rewritten"], true, "{told}");
    assert_eq!(told["changes"], serde_json::json!(["tabs-expanded"]));
    let stop = json(&world.ok(&["listen", "tabs", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "FIXED");
    // Without --json the cursor goes to stdout and the change to stderr.
    let out = world.orch(&["tell", "tabs", "again\there [[say: AGAIN]]"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rewritten by orch-sim: tabs became 4 spaces"),
        "{}",
        stderr(&out)
    );
    let audit = String::from_utf8(world.orch(&["audit", "--json"]).stdout).unwrap();
    assert!(audit.contains("\"rewritten\":true"), "{audit}");
}

/// Regression: a harness that changed a prompt beyond recognition got four more Enters, each
/// of which could answer a dialog of the turn the prompt had started. Now tell presses Enter
/// once, sees a prompt event that is not its text, and fails saying so without pressing again.
#[test]
fn tell_presses_enter_no_more_once_another_prompt_arrived() {
    let world = World::installed();
    world.spawn_sim_with("prefixed", &["--prompt-prefix", "NOTE FROM THE HARNESS: "]);
    let out = world.orch(&["--json", "tell", "prefixed", "do it [[say: DONE]]"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("after 1 Enter presses"), "{err}");
    assert!(err.contains("a different prompt"), "{err}");
    let events = String::from_utf8(world.orch(&["events", "prefixed"]).stdout).unwrap();
    let prompts = events
        .lines()
        .filter(|l| json(l)["event"] == "prompt")
        .count();
    assert_eq!(prompts, 1, "{events}");
}

/// `tell` to an idle worker decides from one read of its event log: the cursor to acknowledge
/// after and the status it waits on come from the same read, so strace sees `events.jsonl`
/// opened once before the `paste-buffer` (and the reads after it are the acknowledgement's).
#[test]
fn tell_reads_the_log_once_before_the_paste() {
    let world = World::installed();
    let id = world.spawn_sim("once")["id"].as_str().unwrap().to_string();
    world.ok(&["tell", "once", "warm up [[say: A]]"]);
    world.ok(&["listen", "once", "--timeout", "30"]);
    let trace = world.root().join("tell.strace");
    let strace = Command::new("strace")
        .env_clear()
        .envs(world.env())
        .current_dir(world.work())
        .args(["-f", "-qq", "-s", "200", "-e", "trace=openat,execve", "-o"])
        .arg(&trace)
        .arg(crate::util::exe("orch"))
        .args(["tell", "once", "hello [[say: B]]"])
        .output()
        .expect("strace runs (install/test-deps.sh installs it)");
    expect_success("strace orch tell", strace, String::new);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let log = format!("/workers/{id}/events.jsonl\"");
    let mut opens_before = 0;
    let mut pasted = false;
    for line in trace.lines() {
        if line.contains("execve(") && line.contains("\"paste-buffer\"") {
            pasted = true;
            break;
        }
        if line.contains("openat(") && line.contains(&log) {
            opens_before += 1;
        }
    }
    assert!(pasted, "no paste-buffer in the trace:\n{trace}");
    assert_eq!(opens_before, 1, "opens of {log} before the paste:\n{trace}");
}

#[test]
fn two_tells_in_a_row_wait_for_the_turn_to_end() {
    let world = World::installed();
    world.spawn_sim("delta");
    world.ok(&["tell", "delta", "one [[sleep: 1]] [[say: ONE]]"]);
    // The worker is busy: this tell waits for the Stop of the first turn, then delivers.
    let second: u64 = world
        .ok(&["tell", "delta", "two [[say: TWO]]"])
        .trim()
        .parse()
        .unwrap();
    let stop = json(&world.ok(&["listen", "delta", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "TWO");
    assert!(stop["seq"].as_u64().unwrap() > second);
    let first_stop = json(&world.ok(&["listen", "delta", "--after", "0"]));
    assert_eq!(first_stop["last_assistant_message"], "ONE");
}

#[test]
fn tells_at_the_same_moment_type_one_after_the_other() {
    let world = World::installed();
    world.spawn_sim("echo");
    // Three callers at once (the operator, a peer, an inbox notice): each prompt arrives
    // whole, as a turn of its own.
    let tells: Vec<_> = (1..=3)
        .map(|n| {
            world
                .cmd("orch")
                .args(["--json", "tell", "echo", &format!("say [[say: SAID-{n}]]")])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for tell in tells {
        let told = json(&expect_success(
            "orch --json tell echo",
            tell.wait_with_output().unwrap(),
            String::new,
        ));
        assert_eq!(told["acknowledged"], true, "{told}");
    }
    let stops = wait_for("three turns", WAIT, || {
        let events = String::from_utf8(world.orch(&["events", "echo"]).stdout).unwrap();
        let said: Vec<String> = events
            .lines()
            .map(json)
            .filter(|e| e["event"] == "stop")
            .map(|e| {
                e["last_assistant_message"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        (said.len() >= 3).then_some(said)
    });
    let mut said = stops;
    said.sort();
    assert_eq!(said, ["SAID-1", "SAID-2", "SAID-3"]);
}

#[test]
fn listen_times_out_with_exit_3() {
    let world = World::installed();
    world.spawn_sim("idle");
    let out = world.orch(&["listen", "idle", "--timeout", "0.3"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
}

#[test]
fn stop_failure_ends_a_stop_wait_with_exit_5() {
    let world = World::installed();
    world.spawn_sim("failing");
    world.ok(&["tell", "failing", "boom [[error: 500]]"]);
    let out = world.orch(&["listen", "failing", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(
        json(&String::from_utf8_lossy(&out.stdout))["event"],
        "stop_failure"
    );
    assert_eq!(world.ps_row("w1")["status"], "error");
}

#[test]
fn kill_ends_a_waiting_listen_with_exit_4() {
    let world = World::installed();
    world.spawn_sim("victim");
    world.ok(&["tell", "victim", "long [[sleep: 60]]"]);
    let listen = world
        .cmd("orch")
        .args(["listen", "victim", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    world.ok(&["kill", "victim"]);
    let out = listen.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let why = stderr(&out);
    assert!(why.contains("killed") || why.contains("gone"), "{why}");
    assert_eq!(world.ps_row("w1")["status"], "dead");
    // Listening again on the dead worker returns at once, still exit 4.
    let again = world.orch(&["listen", "victim", "--timeout", "60"]);
    assert_eq!(again.status.code(), Some(4));
}

#[test]
fn a_pane_that_dies_by_itself_ends_listen_with_exit_4() {
    let world = World::installed();
    let w = world.spawn_sim("fragile");
    let pane = w["pane"].as_str().unwrap();
    let mut listen = world
        .cmd("orch")
        .args([
            "listen",
            "fragile",
            "--event",
            "any",
            "--after",
            "100",
            "--timeout",
            "60",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    world.tmux.as_ref().unwrap().run(&["kill-pane", "-t", pane]);
    let status = listen.wait().unwrap();
    assert_eq!(status.code(), Some(4));
    let out = world.orch(&["tell", "fragile", "anyone there?"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

#[test]
fn interrupt_records_an_event_and_the_worker_takes_prompts_again() {
    let world = World::installed();
    world.spawn_sim("busy");
    world.ok(&["tell", "busy", "slow [[sleep: 60]]"]);
    wait_for("busy status", WAIT, || {
        (world.ps_row("w1")["status"] == "busy").then_some(())
    });
    world.ok(&["interrupt", "busy"]);
    assert_eq!(world.ps_row("w1")["status"], "idle");
    let events = world.ok(&["events", "busy"]);
    assert!(events.lines().any(|l| json(l)["event"] == "interrupted"));
    assert!(!events.lines().any(|l| json(l)["event"] == "stop"));
    // The interrupted prompt was cleared from the box: the next prompt arrives alone.
    world.ok(&["tell", "busy", "next [[say: AFTER]]"]);
    let stop = json(&world.ok(&["listen", "busy", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "AFTER");
}

#[test]
fn unknown_worker_is_a_clear_error() {
    let world = World::installed();
    let out = world.orch(&["tell", "nobody", "hi"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown worker `nobody`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn spawn_inside_tmux_splits_the_callers_window() {
    let world = World::installed();
    let tmux = world.tmux.as_ref().unwrap();
    let caller = tmux.run(&["display-message", "-p", "-t", "main:", "#{pane_id}"]);
    let caller = caller.trim();
    let mut spawn = world.cmd("orch");
    spawn.args(["--json", "spawn", "--harness", "sim", "--name", "split"]);
    let w = json(&run_ok(
        world.in_pane(&mut spawn, caller),
        None,
        String::new,
    ));
    assert_eq!(w["parent"], format!("operator:{caller}"));
    let pane = w["pane"].as_str().unwrap();
    let window_of = |p: &str| tmux.run(&["display-message", "-p", "-t", p, "#{window_id}"]);
    assert_eq!(window_of(pane), window_of(caller));
}

#[test]
fn hook_writes_nothing_for_sessions_orch_does_not_manage() {
    let world = World::new();
    let payload = r#"{"session_id":"x","hook_event_name":"Stop","last_assistant_message":"m"}"#;
    let out = output_with_stdin(&mut world.cmd("orch-hook"), payload.as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_dir(world.state()).unwrap().count(), 0);
    // Garbage in: still exit 0, nothing printed.
    let out = orch_stdin(&world, &["hook"], "not json at all");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn concurrent_hooks_give_contiguous_sequences() {
    let world = World::installed();
    world.spawn_sim("fan");
    let before = world.ok(&["events", "fan"]).lines().count();
    let children: Vec<_> = (0..32)
        .map(|i| {
            let payload = format!(
                r#"{{"hook_event_name":"Notification","notification_type":"n{i}","message":"{}"}}"#,
                "z".repeat(i * 300)
            );
            spawn_with_stdin(
                world.cmd("orch-hook").env("ORCH_WORKER", "w1"),
                payload.as_bytes(),
            )
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let events = world.ok(&["events", "fan"]);
    let seqs: Vec<u64> = events
        .lines()
        .map(|l| json(l)["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.len(), before + 32);
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[test]
fn demo_runs_two_workers_and_cleans_up() {
    let world = World::new();
    let report = json(&world.ok(&["--json", "demo"]));
    let workers = report["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 2);
    assert!(workers[0]["stop"]["last_assistant_message"]
        .as_str()
        .unwrap()
        .contains("dead-letter queue"));
    assert!(workers[1]["stop"]["last_assistant_message"]
        .as_str()
        .unwrap()
        .contains("plan from work"));
    let socket = report["socket"].as_str().unwrap();
    let alive = Command::new("tmux")
        .args(["-L", socket, "has-session"])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "the demo's tmux server is gone");
    let socket_path = report["socket_path"].as_str().unwrap();
    assert!(
        socket_path.ends_with(socket) && !std::path::Path::new(socket_path).exists(),
        "its socket file {socket_path} is gone too"
    );
}

#[test]
fn spawn_and_tell_work_without_a_utf8_locale() {
    // Under cron or a cleared environment LANG is unset: tmux would print a format's tabs and
    // the TUI's `❯` as `_` unless orch asks it for UTF-8.
    let world = World::installed();
    let out = world
        .cmd("orch")
        .env_remove("LANG")
        .args(["--json", "spawn", "--harness", "sim", "--name", "c-locale"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let w = crate::util::json(&world.expect_ok(&["spawn"], out, "LANG unset"));
    assert!(w["pane"].as_str().unwrap().starts_with('%'), "{w}");
    let out = world
        .cmd("orch")
        .env_remove("LANG")
        .args(["--json", "tell", "c-locale", "[[say: fine]]"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let told = crate::util::json(&world.expect_ok(&["tell"], out, "LANG unset"));
    assert_eq!(told["acknowledged"], true, "{told}");
}
