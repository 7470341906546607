//! Coordination on real tmux with the `sim` harness: subscriptions and push delivery (idle
//! notice, Stop block mid-turn, the operator's pane), inboxes, `--follow`, escalations, and
//! 32 publishers x 4 subscribers firing at once.

use crate::util::{expect_success, json, run_ok, spawn_with_stdin, wait_for, World};
use serde_json::Value;
use std::io::BufRead;
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

pub fn events(world: &World, who: &str) -> Vec<Value> {
    world.ok(&["events", who]).lines().map(json).collect()
}

/// Waits for a Stop of `who` whose message contains `needle`; returns that message.
pub fn wait_stop_containing(world: &World, who: &str, needle: &str) -> String {
    wait_for(&format!("a stop of {who} with {needle:?}"), WAIT, || {
        events(world, who)
            .iter()
            .filter(|e| e["event"] == "stop")
            .filter_map(|e| e["last_assistant_message"].as_str())
            .find(|m| m.contains(needle))
            .map(str::to_string)
    })
}

#[test]
fn idle_subscriber_gets_a_notice_typed_into_its_pane() {
    let world = World::installed();
    world.spawn_sim("pub");
    world.spawn_sim("sub");
    let sub = json(&world.ok(&["--json", "subscribe", "pub", "--to", "sub"]));
    assert_eq!(sub["subscriber"], "w2");
    world.ok(&["tell", "pub", "work [[say: PUB-DONE]]"]);
    world.ok(&["listen", "pub"]);
    let seen = wait_stop_containing(&world, "sub", "PUB-DONE");
    assert!(
        seen.contains("[orch inbox] w1 (pub) finished a turn"),
        "{seen}"
    );
    // Delivered once: no second notice for the same item.
    let prompts = events(&world, "sub")
        .iter()
        .filter(|e| e["event"] == "prompt")
        .count();
    assert_eq!(prompts, 1);

    let unread = json(&world.ok(&["--json", "inbox", "sub", "--unread", "--ack"]));
    assert_eq!(unread.as_array().unwrap().len(), 1);
    assert_eq!(unread[0]["from"], "w1");
    assert_eq!(unread[0]["last_assistant_message"], "PUB-DONE");
    let again = json(&world.ok(&["--json", "inbox", "sub", "--unread"]));
    assert_eq!(again, serde_json::json!([]));

    let subs = json(&world.ok(&["--json", "subscriptions", "pub"]));
    assert_eq!(subs.as_array().unwrap().len(), 1);
    world.ok(&["unsubscribe", "pub", "--to", "sub"]);
    assert_eq!(
        json(&world.ok(&["--json", "subscriptions"])),
        serde_json::json!([])
    );
}

#[test]
fn busy_subscriber_gets_the_digest_through_its_stop_hook() {
    let world = World::installed();
    world.spawn_sim("pub");
    world.spawn_sim("sub");
    world.ok(&["subscribe", "pub", "--to", "sub", "--events", "stop"]);
    world.ok(&["tell", "sub", "long task [[sleep: 4]] [[say: SUB-DONE]]"]);
    world.ok(&["tell", "pub", "quick [[say: PUB-NEWS]]"]);
    world.ok(&["listen", "pub"]);
    // The sub's first Stop is blocked with the digest; it runs one more turn and stops.
    let stop = json(&world.ok(&["listen", "sub", "--timeout", "30"]));
    assert_eq!(stop["stop_hook_active"], true, "{stop}");
    let evs = events(&world, "sub");
    let blocked: Vec<&Value> = evs
        .iter()
        .filter(|e| e["event"] == "stop_blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "one block for one item");
    assert_eq!(blocked[0]["last_assistant_message"], "SUB-DONE");
    // No notice was typed as well: the item was delivered once.
    assert_eq!(evs.iter().filter(|e| e["event"] == "prompt").count(), 1);
}

#[test]
fn operator_pane_is_woken_by_a_workers_stop() {
    let world = World::installed();
    world.spawn_sim("pub");
    let tmux = world.tmux.as_ref().unwrap();
    // The operator: an agent in a pane orch did not spawn (no ORCH_WORKER).
    let sim = crate::util::exe("orch-sim");
    let mut env: Vec<String> = world
        .env()
        .iter()
        .filter(|(k, _)| k != "ORCH_TMUX_SOCKET")
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    env.insert(0, "/usr/bin/env".into());
    env.push(sim.display().to_string());
    let mut args = vec!["new-window", "-d", "-P", "-F", "#{pane_id}"];
    args.extend(env.iter().map(String::as_str));
    let pane = tmux.run(&args).trim().to_string();
    wait_for("the operator's prompt", WAIT, || {
        tmux.capture(&pane).contains('❯').then_some(())
    });
    // `orch subscribe` as run by the operator in that pane.
    let mut subscribe = world.cmd("orch");
    subscribe.args(["--json", "subscribe", "pub"]);
    let op = json(&run_ok(
        world.in_pane(&mut subscribe, &pane),
        None,
        String::new,
    ))["subscriber"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(op.starts_with("op"), "{op}");
    world.ok(&["tell", "pub", "report [[say: PUB-REPORT]]"]);
    let seen = wait_stop_containing(&world, &op, "PUB-REPORT");
    assert!(seen.contains("[orch inbox]"), "{seen}");
    let kill = world.orch(&["kill", &op]);
    assert!(!kill.status.success());
    assert!(String::from_utf8_lossy(&kill.stderr).contains("operator's own pane"));
    assert!(tmux
        .run(&["list-panes", "-a", "-F", "#{pane_id}"])
        .contains(&pane));
}

#[test]
fn follow_streams_events_until_the_publisher_dies() {
    let world = World::installed();
    world.spawn_sim("pub");
    let cursor = events(&world, "pub").len().to_string();
    let mut follow = world
        .cmd("orch")
        .args(["subscribe", "pub", "--follow", "--events", "stop,killed"])
        .args(["--after", &cursor])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    // `--after` the cursor from before the tell: the stream cannot miss its Stop.
    world.ok(&["tell", "pub", "one [[say: F1]]"]);
    let first = json(&lines.next().unwrap().unwrap());
    assert_eq!(first["last_assistant_message"], "F1");
    world.ok(&["kill", "pub"]);
    let last = json(&lines.next().unwrap().unwrap());
    assert_eq!(last["event"], "killed");
    assert!(follow.wait().unwrap().success());
}

#[test]
fn escalation_round_trip_between_sim_workers() {
    let world = World::installed();
    world.spawn_sim("lead");
    let kid = run_ok(
        world
            .cmd("orch")
            .args(["--json", "spawn", "--harness", "sim", "--name", "kid"])
            .env("ORCH_WORKER", "w1")
            .stdin(Stdio::null()),
        None,
        String::new,
    );
    assert_eq!(json(&kid)["parent"], "w1");
    let waiting = world
        .cmd("orch")
        .args([
            "escalate",
            "--axis",
            "reversibility",
            "--summary",
            "force-push main?",
            "--option",
            "yes",
            "--option",
            "no",
            "--wait",
            "--timeout",
            "30",
        ])
        .env("ORCH_WORKER", "w2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = wait_stop_containing(&world, "lead", "force-push main?");
    assert!(
        seen.contains("escalation e1 from w2 (kid) on reversibility"),
        "{seen}"
    );
    let open = json(&world.ok(&["--json", "escalations", "--open"]));
    assert_eq!(open[0]["id"], "e1");
    assert_eq!(open[0]["parent"], "w1");
    world.ok(&["decide", "e1", "no: open a pull request"]);
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(
        expect_success("orch escalate --wait", out, String::new).trim(),
        "no: open a pull request"
    );
    let decided = json(&world.ok(&["--json", "escalations"]));
    assert_eq!(decided[0]["status"], "decided");
    assert_eq!(decided[0]["decided_by"], "person");
    let again = world.orch(&["decide", "e1", "yes"]);
    assert!(!again.status.success(), "a decision is taken once");
}

#[test]
fn thirty_two_publishers_four_subscribers_every_item_once_in_order() {
    let world = World::new();
    let state = orch_store::Store {
        root: world.state(),
    };
    let meta = |id: &str| orch_store::Meta {
        session_id: Some(format!("s-{id}")),
        ..orch_store::Meta::new(id, "worker", "operator")
    };
    let mut publishers = Vec::new();
    let mut subscribers = Vec::new();
    for _ in 0..32 {
        let (id, _) = state.new_worker().unwrap();
        state.write_meta(&meta(&id)).unwrap();
        state
            .index(&state.session_index(&format!("s-{id}")).unwrap(), &id)
            .unwrap();
        publishers.push(id);
    }
    for _ in 0..4 {
        let (id, _) = state.new_worker().unwrap();
        state.write_meta(&meta(&id)).unwrap();
        subscribers.push(id);
    }
    for p in &publishers {
        for s in &subscribers {
            let sub = orch_store::Subscription {
                subscriber: s.clone(),
                events: vec!["stop".into()],
                mode: orch_store::SubscriptionMode::Inbox,
                since: 0,
            };
            orch::coordination::inbox::subscribe(&state, p, sub).unwrap();
        }
    }
    const PER: usize = 3;
    let children: Vec<_> = publishers
        .iter()
        .flat_map(|p| (0..PER).map(move |n| (p.clone(), n)))
        .map(|(p, n)| {
            let payload = format!(
                r#"{{"session_id":"s-{p}","hook_event_name":"Stop","last_assistant_message":"{p}-{n}"}}"#
            );
            spawn_with_stdin(world.cmd("orch-hook").env("ORCH_WORKER", &p), payload.as_bytes())
        })
        .collect();
    for child in children {
        assert!(child.wait_with_output().unwrap().status.success());
    }
    for s in &subscribers {
        let items = json(&world.ok(&["--json", "inbox", s]));
        let items = items.as_array().unwrap();
        assert_eq!(items.len(), 32 * PER, "inbox of {s}");
        for p in &publishers {
            let seqs: Vec<u64> = items
                .iter()
                .filter(|i| i["from"] == p.as_str())
                .map(|i| i["from_seq"].as_u64().unwrap())
                .collect();
            assert_eq!(seqs, (1..=PER as u64).collect::<Vec<_>>(), "{p} in {s}");
        }
    }
}

#[test]
fn inbox_mode_keeps_items_without_pushing_them() {
    let world = World::installed();
    world.spawn_sim("pub");
    world.spawn_sim("quiet");
    world.ok(&["subscribe", "pub", "--to", "quiet", "--mode", "inbox"]);
    world.ok(&["tell", "quiet", "long [[sleep: 3]] [[say: QUIET-DONE]]"]);
    world.ok(&["tell", "pub", "news [[say: NEWS]]"]);
    world.ok(&["listen", "pub"]);
    let stop = json(&world.ok(&["listen", "quiet", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "QUIET-DONE");
    assert_eq!(
        stop["stop_hook_active"], false,
        "no Stop block for inbox mode"
    );
    let items = json(&world.ok(&["--json", "inbox", "quiet"]));
    assert_eq!(items[0]["last_assistant_message"], "NEWS");
}

#[test]
fn a_permission_request_that_trips_an_axis_is_escalated_to_the_parent() {
    let world = World::installed();
    world.spawn_sim("careful");
    // A harmless request first: it raises nothing.
    world.ok(&[
        "tell",
        "careful",
        r#"look [[permission: Bash {"command": "ls -la", "description": "list"}]]"#,
    ]);
    world.ok(&[
        "listen",
        "careful",
        "--event",
        "notification",
        "--timeout",
        "30",
    ]);
    world.ok(&["interrupt", "careful"]);
    // Then one that trips reversibility.
    world.ok(&[
        "tell",
        "careful",
        r#"clean up [[permission: Bash {"command": "rm -rf build", "description": "clean"}]]"#,
    ]);
    let asked = json(&world.ok(&[
        "listen",
        "careful",
        "--event",
        "notification",
        "--timeout",
        "30",
    ]));
    assert_eq!(asked["tool_input"]["command"], "rm -rf build");
    let open = wait_for("the permission escalation", WAIT, || {
        let open = json(&world.ok(&["--json", "escalations", "--open"]));
        (!open.as_array().unwrap().is_empty()).then_some(open)
    });
    assert_eq!(
        open.as_array().unwrap().len(),
        1,
        "only the risky request: {open}"
    );
    assert_eq!(open[0]["source"], "permission");
    assert_eq!(open[0]["axes"], serde_json::json!(["reversibility"]));
    assert!(open[0]["summary"]
        .as_str()
        .unwrap()
        .contains("rm -rf build"));
    let inbox = json(&world.ok(&["--json", "inbox", "operator"]));
    assert_eq!(inbox[0]["escalation"], open[0]["id"]);
}
