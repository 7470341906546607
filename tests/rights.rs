//! The rights table through the real command line: operator, a worker and its child, an
//! unrelated worker and an observer, every action on a child and on a stranger. Allowed
//! actions succeed; refused ones exit 6, name the rule and are in the audit log.

use crate::util::{expect_success, json, World};
use std::process::{Output, Stdio};

/// Runs `orch ARGS` as `actor` (`None`: the operator).
fn run_as(world: &World, actor: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = world.cmd("orch");
    cmd.args(args).stdin(Stdio::null());
    if let Some(id) = actor {
        cmd.env("ORCH_WORKER", id);
    }
    cmd.output().unwrap()
}

/// Runs `orch ARGS` as `actor` and asserts success; returns stdout.
fn ok_as(world: &World, actor: Option<&str>, args: &[&str]) -> String {
    let what = format!("orch {args:?} as {actor:?}");
    expect_success(&what, run_as(world, actor, args), String::new)
}

fn spawn_as(world: &World, actor: Option<&str>, name: &str, role: &str) -> String {
    let args = [
        "--json",
        "spawn",
        "--harness",
        "sim",
        "--name",
        name,
        "--role",
        role,
    ];
    json(&ok_as(world, actor, &args))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn rights_matrix_allows_and_refuses_as_the_table_says() {
    let world = World::installed();
    let lead = spawn_as(&world, None, "lead", "worker");
    let obs = spawn_as(&world, None, "obs", "observer");
    let kid = spawn_as(&world, Some(&lead), "kid", "worker");
    let other = spawn_as(&world, None, "other", "worker");

    // (actor, args, allowed)
    let op = None;
    let l = Some(lead.as_str());
    let o = Some(obs.as_str());
    let x = Some(other.as_str());
    let mut cases: Vec<(Option<&str>, Vec<String>, bool)> = Vec::new();
    let v = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<String>>();
    for (verb, extra) in [("tell", vec!["hello [[say: ok]]"]), ("interrupt", vec![])] {
        let with = |target: &str| {
            let mut args = v(&[verb, target]);
            args.extend(extra.iter().map(|e| e.to_string()));
            args
        };
        cases.push((op, with(&kid), true));
        cases.push((l, with(&kid), true));
        cases.push((l, with(&other), false));
        cases.push((o, with(&kid), false));
        cases.push((x, with(&kid), false));
        cases.push((l, with(&lead), false));
    }
    for verb in ["events", "capture"] {
        cases.push((op, v(&[verb, &other]), true));
        cases.push((l, v(&[verb, &kid]), true));
        cases.push((l, v(&[verb, &other]), false));
        cases.push((o, v(&[verb, &kid]), true));
        cases.push((o, v(&[verb, &other]), true));
        cases.push((x, v(&[verb, &kid]), false));
    }
    let sub = |target: &str| v(&["subscribe", target, "--mode", "inbox"]);
    let sub_kid = sub(&kid);
    let sub_other = sub(&other);
    cases.push((op, sub_other.clone(), true));
    cases.push((l, sub_kid.clone(), true));
    cases.push((l, sub_other.clone(), false));
    cases.push((o, sub_kid.clone(), true));
    cases.push((x, sub_kid.clone(), false));
    let listen = |target: &str| v(&["listen", target, "--event", "any", "--after", "0"]);
    let listen_kid = listen(&kid);
    let listen_other = listen(&other);
    cases.push((op, listen_kid.clone(), true));
    cases.push((l, listen_kid.clone(), true));
    cases.push((o, listen_other.clone(), true));
    cases.push((l, listen_other.clone(), false));
    cases.push((x, listen_kid.clone(), false));
    let spawn = v(&["spawn", "--harness", "sim"]);
    cases.push((o, spawn.clone(), false));
    cases.push((x, spawn.clone(), true));

    let mut refused = 0;
    for (actor, args, allowed) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_as(&world, *actor, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        if *allowed {
            assert!(
                out.status.success(),
                "{actor:?} {args:?} should succeed: {err}"
            );
        } else {
            refused += 1;
            assert_eq!(
                out.status.code(),
                Some(6),
                "{actor:?} {args:?} should be refused: {err}"
            );
            assert!(err.contains("rule `"), "{actor:?} {args:?}: {err}");
        }
    }

    // Decide: a worker decides its children's escalations, the operator any, others none.
    let esc = |actor: &str| {
        let args = ["escalate", "--axis", "taste", "--summary", "name it?"];
        ok_as(&world, Some(actor), &args).trim().to_string()
    };
    let by_kid = esc(&kid);
    let by_other = esc(&other);
    for (actor, id, allowed) in [
        (o, &by_kid, false),
        (x, &by_kid, false),
        (l, &by_other, false),
        (l, &by_kid, true),
        (op, &by_other, true),
    ] {
        let out = run_as(&world, actor, &["decide", id, "call it orch"]);
        if allowed {
            assert!(out.status.success(), "{actor:?} decide {id}");
        } else {
            refused += 1;
            assert_eq!(out.status.code(), Some(6), "{actor:?} decide {id}");
        }
    }

    // Kill last: refused first, then the allowed ones.
    for (actor, target, allowed) in [
        (o, &kid, false),
        (x, &kid, false),
        (l, &other, false),
        (l, &kid, true),
        (op, &other, true),
    ] {
        let out = run_as(&world, actor, &["kill", target]);
        if allowed {
            assert!(out.status.success(), "{actor:?} kill {target}");
        } else {
            refused += 1;
            assert_eq!(out.status.code(), Some(6), "{actor:?} kill {target}");
        }
    }

    let audit = json(&world.ok(&["--json", "audit"]));
    let entries = audit.as_array().unwrap();
    let refusals: Vec<_> = entries
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .collect();
    assert_eq!(refusals.len(), refused, "every refusal is audited");
    assert!(refusals.iter().all(|e| e["rule"].is_string()));
    for action in [
        "spawn",
        "tell",
        "interrupt",
        "kill",
        "subscribe",
        "escalate",
        "decide",
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == action && e["outcome"] == "ok"),
            "no audited {action}"
        );
    }
    let tells: Vec<_> = entries.iter().filter(|e| e["action"] == "tell").collect();
    assert!(tells
        .iter()
        .all(|e| e["prompt_len"].is_u64() && e.get("prompt").is_none()));
}
