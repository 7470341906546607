//! `orch audit` over a state directory written with the library: `--since` and `--worker`
//! filters, text and JSON output, refusals, and writers in several processes at once.

use crate::util::{json, wait_for, World};
use orch::coordination::audit::{self, Entry, Outcome};
use orch::coordination::rights::{self, Action, Target, Who};
use orch_store::{Meta, Store};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const HOUR_MS: u64 = 3_600_000;

fn state(world: &World) -> Store {
    Store {
        root: world.state(),
    }
}

/// Records worker `id` named `name`, spawned by `parent`.
fn add_worker(state: &Store, id: &str, name: &str, parent: &str) {
    std::fs::create_dir_all(state.worker_dir(id)).unwrap();
    state
        .write_meta(&Meta {
            name: name.into(),
            ..Meta::new(id, "worker", parent)
        })
        .unwrap();
}

/// The `action` of each entry of `orch --json audit ARGS`.
fn actions(world: &World, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["--json", "audit"];
    argv.extend_from_slice(args);
    json(&world.ok(&argv))
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn audit_filters_by_since_and_by_worker_id_or_name() {
    let world = World::new();
    let state = state(&world);
    add_worker(&state, "w2", "alpha", "operator:%0");
    let now = orch_store::clock::now_ms();
    let entries = [
        Entry::new("operator:%0", "spawn")
            .target("w1")
            .at(now - 3 * HOUR_MS),
        Entry::new("operator:%0", "spawn")
            .target("w2")
            .at(now - 2 * HOUR_MS),
        Entry::new("operator:%0", "tell")
            .target("w2")
            .cursor(7)
            .prompt("secret plan")
            .at(now - 30 * 60_000),
        Entry::new("w2", "escalate").target("e1").at(now - 60_000),
        Entry::new("w1", "kill")
            .target("w3")
            .outcome(Outcome::Error),
    ];
    for entry in &entries {
        audit::append(&state, entry).unwrap();
    }
    assert_eq!(
        actions(&world, &[]),
        ["spawn", "spawn", "tell", "escalate", "kill"]
    );
    assert_eq!(
        actions(&world, &["--since", "1h"]),
        ["tell", "escalate", "kill"]
    );
    assert_eq!(
        actions(&world, &["--since", "2h30m"]),
        ["spawn", "tell", "escalate", "kill"]
    );
    assert_eq!(actions(&world, &["--since", "45s"]), ["kill"]);
    assert_eq!(
        actions(&world, &["--worker", "w2"]),
        ["spawn", "tell", "escalate"],
        "actor or target"
    );
    assert_eq!(
        actions(&world, &["--worker", "alpha"]),
        ["spawn", "tell", "escalate"],
        "a name resolves to its id"
    );
    assert_eq!(actions(&world, &["--worker", "e1"]), ["escalate"]);
    assert_eq!(actions(&world, &["--worker", "w1"]), ["spawn", "kill"]);
    assert_eq!(
        actions(&world, &["--worker", "alpha", "--since", "1h"]),
        ["tell", "escalate"]
    );
    assert_eq!(
        actions(&world, &["--worker", "nobody"]),
        Vec::<String>::new()
    );

    let all = json(&world.ok(&["audit", "--json"]));
    let tell = &all[2];
    assert_eq!(tell["cursor"], 7);
    assert_eq!(tell["prompt_len"], 11);
    assert!(tell["prompt_sha"].is_string());
    let log = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap();
    assert!(!log.contains("secret plan"), "never the prompt's text");
}

#[test]
fn audit_prints_one_line_per_entry_oldest_first() {
    let world = World::new();
    let state = state(&world);
    // 2026-11-23T10:15:00.123Z
    let at = 1_795_428_900_123;
    audit::append(
        &state,
        &Entry::new("operator", "tell").target("w2").cursor(7).at(at),
    )
    .unwrap();
    audit::append(
        &state,
        &Entry::new("w3", "spawn").target("w4").at(at + 1_000),
    )
    .unwrap();
    let text = world.ok(&["audit"]);
    assert_eq!(
        text,
        "2026-11-23T10:15:00.123Z operator tell w2 ok cursor=7\n\
         2026-11-23T10:15:01.123Z w3 spawn w4 ok\n"
    );
}

#[test]
fn audit_of_an_empty_state_prints_nothing() {
    let world = World::new();
    assert_eq!(world.ok(&["audit"]), "");
    assert_eq!(json(&world.ok(&["--json", "audit"])), Value::Array(vec![]));
}

#[test]
fn audit_rejects_a_bad_since_with_a_usage_error() {
    let world = World::new();
    let out = world.orch(&["audit", "--since", "90"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("`90` has no unit"), "{stderr}");
    assert!(stderr.contains("`1h30m`"), "{stderr}");
}

#[test]
fn refusals_show_in_the_audit_with_their_rule() {
    let world = World::new();
    let state = state(&world);
    add_worker(&state, "w1", "lead", "operator");
    add_worker(&state, "w2", "helper", "operator");
    let who = Who::Worker {
        id: "w1".into(),
        role: "worker".into(),
        peers: vec![],
    };
    let target = Target::of(&state.meta("w2").unwrap());
    let err = rights::require(&state, &who, Action::Tell, Some(&target)).unwrap_err();
    assert_eq!(orch::error::exit_of(&err), orch::error::Exit::Refused);
    let text = world.ok(&["audit", "--worker", "helper"]);
    let line = text.trim_end();
    assert!(
        line.ends_with(" w1 refused w2 refused rule=worker-may-only-tell-its-children wanted=tell"),
        "{text}"
    );
}

/// Entries each writer process appends.
const PER_WRITER: usize = 100;

/// Not a test on its own: the writer process of
/// [`eight_writer_processes_lose_nothing`], run by re-executing this test binary with
/// `ORCH_TEST_AUDIT_WRITER=<state dir>|<writer number>`. Without that variable it does nothing.
#[test]
#[ignore = "a helper process of eight_writer_processes_lose_nothing"]
fn audit_writer_process() {
    let Ok(spec) = std::env::var("ORCH_TEST_AUDIT_WRITER") else {
        return;
    };
    let (root, n) = spec.rsplit_once('|').unwrap();
    let state = Store { root: root.into() };
    for i in 0..PER_WRITER {
        let pad = "p".repeat(500 * (i % 11));
        let entry = Entry::new(format!("w{n}"), "tell")
            .cursor(i as u64)
            .field("pad", pad);
        audit::append(&state, &entry).unwrap();
    }
}

#[test]
fn eight_writer_processes_lose_nothing() {
    let world = World::new();
    let exe = std::env::current_exe().unwrap();
    let mut writers: Vec<_> = (0..8)
        .map(|n| {
            Command::new(&exe)
                .args(["audit::audit_writer_process", "--exact", "--ignored"])
                .args(["--nocapture", "--test-threads=1"])
                .env(
                    "ORCH_TEST_AUDIT_WRITER",
                    format!("{}|{n}", world.state().display()),
                )
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Readers meanwhile: every read parses and the log only grows.
    let mut last = 0;
    let total = 8 * PER_WRITER;
    wait_for("the writers to finish", Duration::from_secs(60), || {
        for writer in &mut writers {
            if let Some(status) = writer.try_wait().unwrap() {
                assert!(status.success(), "a writer process failed: {status}");
            }
        }
        let seen = json(&world.ok(&["--json", "audit"]))
            .as_array()
            .unwrap()
            .len();
        assert!(seen >= last, "the log shrank from {last} to {seen}");
        last = seen;
        (seen == total).then_some(())
    });
    for writer in writers {
        let out = writer.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "writer failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = std::fs::read_to_string(world.state().join("audit.jsonl")).unwrap();
    let mut seen: Vec<(String, u64)> = log
        .lines()
        .map(|line| {
            let e: Value = serde_json::from_str(line).expect("whole JSON lines only");
            (
                e["actor"].as_str().unwrap().to_string(),
                e["cursor"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen.len(), total);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), total, "each append exactly once");
}
