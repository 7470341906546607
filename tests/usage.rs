//! `orch usage` and ps's TOKENS and COST on the real CLIs: the numbers the mock model reports
//! come back exactly, read from Claude Code's transcript, Codex's rollout and Gemini CLI's and
//! pi's sessions.

use crate::fleet::Fleet;
use crate::util::json;
use serde_json::Value;
use std::path::Path;

fn row_of<'r>(rows: &'r Value, name: &str) -> &'r Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows}"))
}

#[test]
fn the_mock_models_usage_comes_back_exactly() {
    let b = Fleet::new();
    b.ok(&[
        "spawn",
        "--name",
        "cl",
        "--ready-timeout",
        "60",
        "--",
        "--model",
        "claude-sonnet-4-5",
    ]);
    b.ok(&[
        "spawn",
        "--name",
        "cx",
        "--harness",
        "codex",
        "--ready-timeout",
        "60",
    ]);
    // `orch top` watches: its rows follow the transcripts.
    let top = crate::top::Top::start(&b.world, &[]);
    let cl_id = b.world.ps_row("w1")["name"].clone();
    assert_eq!(cl_id, "cl");
    let drawn = |tokens: u64| {
        crate::util::wait_or_explain(
            &format!("orch top showing cl's {tokens} tokens"),
            std::time::Duration::from_secs(20),
            || {
                top.trace()
                    .into_iter()
                    .find(|t| t["tokens"]["w1"].as_u64() == Some(tokens))
            },
            || format!("{:#?}", top.trace()),
        )
    };
    b.turn("cl", "one [[usage: 1200 34 500 60]] [[say: CL-1]]");
    drawn(1794);
    // `--since` on Claude Code's own stamps: the first turn's call was made before `first`,
    // the second's two seconds after it at least (a window's bound is whole seconds).
    let first = orch_store::clock::now_ms();
    crate::util::wait_for("two seconds", std::time::Duration::from_secs(5), || {
        (orch_store::clock::now_ms() >= first + 2000).then_some(())
    });
    b.turn("cl", "two [[usage: 1300 21 700 0]] [[say: CL-2]]");
    drawn(3815);
    let secs = (orch_store::clock::now_ms() - first) / 1000;
    let window = json(&b.ok(&["--json", "usage", "cl", "--since", &format!("{secs}s")]));
    let calls = window[0]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "only the second turn's call: {window}");
    assert_eq!(calls[0]["tokens"]["input"], 1300, "{window}");
    assert!(calls[0]["at_ms"].as_u64() > Some(first), "{window}");
    let hour = json(&b.ok(&["--json", "usage", "cl", "--since", "1h"]));
    assert_eq!(
        hour[0]["tokens"]["total"], 3815,
        "both turns within the hour: {hour}"
    );
    b.turn("cx", "one [[say: CX-1]]");

    let usage = json(&b.ok(&["--json", "usage"]));
    let cl = row_of(&usage, "cl");
    assert_eq!(cl["model"], "claude-sonnet-4-5", "{cl}");
    assert_eq!(
        cl["tokens"],
        serde_json::json!({"input": 2500, "output": 55, "cache_read": 1200,
                           "cache_write": 60, "total": 3815}),
        "{cl}"
    );
    let want = (2500.0 * 3.0 + 55.0 * 15.0 + 1200.0 * 0.3 + 60.0 * 3.75) / 1e6;
    assert!(
        (cl["cost_usd"].as_f64().unwrap() - want).abs() < 1e-9,
        "{cl}"
    );

    // Codex: each response of the mock reports 10 input and 5 output tokens.
    let responses = b.codex.requests().len() as u64;
    assert!(responses >= 1);
    let cx = row_of(&usage, "cx");
    let cx_turns = json(&b.ok(&["--json", "usage", "cx"]))[0]["turns"].clone();
    assert_eq!(cx_turns.as_array().map(Vec::len), Some(1), "{cx_turns}");
    assert!(
        cx_turns[0]["prompt_seq"].is_u64(),
        "timed calls: {cx_turns}"
    );
    assert_eq!(cx["tokens"]["input"], 10 * responses, "{cx}");
    assert_eq!(cx["tokens"]["output"], 5 * responses, "{cx}");
    assert_eq!(cx["model"], "mock-model");
    assert_eq!(cx["cost_usd"], Value::Null, "no price for the mock's model");

    let detail = json(&b.ok(&["--json", "usage", "cl"]));
    let calls = detail[0]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{detail}");
    assert_eq!(calls[1]["tokens"]["input"], 1300);
    // Per turn: each call under the prompt that asked for it.
    let prompts: Vec<Value> = b
        .ok(&["events", "cl"])
        .lines()
        .map(json)
        .filter(|e| e["event"] == "prompt")
        .collect();
    let turns = detail[0]["turns"].as_array().unwrap();
    assert_eq!(turns.len(), 2, "{detail}");
    for (turn, (prompt, input)) in turns.iter().zip(prompts.iter().zip([1200, 1300])) {
        assert_eq!(turn["prompt_seq"], prompt["seq"], "{turn}");
        assert_eq!(turn["calls"], 1, "{turn}");
        assert_eq!(turn["tokens"]["input"], input, "{turn}");
    }
    let text = b.ok(&["usage", "cl"]);
    assert!(text.contains("TURN") && text.contains("1 call"), "{text}");

    let ps = json(&b.ok(&["--json", "ps"]));
    assert_eq!(row_of(&ps, "cl")["tokens"], 3815);
    assert_eq!(row_of(&ps, "cx")["tokens"], 15 * responses);
    let table = b.ok(&["ps"]);
    assert!(
        table.contains("TOKENS") && table.contains("3.8k"),
        "{table}"
    );
    let text = b.ok(&["usage"]);
    assert!(text.contains("prices (2025-11)"), "{text}");
    let shown = top.wait_screen("cl's spend and cx's tokens", |s| {
        crate::top::row(s, "cl").contains("3.8k")
            && crate::top::row(s, "cx").contains(&(15 * responses).to_string())
    });
    assert!(crate::top::row(&shown, "cl").contains("$0.01"), "{shown}");
}

/// A fleet with one Claude Code worker `name` on claude-sonnet-4-5, whose budget is $0.01 and
/// stops it.
fn budgeted(name: &str) -> Fleet {
    let b = Fleet::new();
    b.ok(&[
        "spawn",
        "--name",
        name,
        "--ready-timeout",
        "60",
        "--budget-usd",
        "0.01",
        "--budget-interrupt",
        "--",
        "--model",
        "claude-sonnet-4-5",
    ]);
    b
}

#[test]
fn a_spent_budget_warns_at_80_escalates_once_at_100_and_stops_new_prompts() {
    let b = budgeted("cb");
    let budget_events = || -> Vec<Value> {
        b.ok(&["events", "cb"])
            .lines()
            .map(json)
            .filter(|e| e["event"] == "budget")
            .collect()
    };
    // The budget is weighed once the transcript holds the turn: its event comes after the Stop.
    let wait_budget = |n: usize| {
        crate::util::wait_or_explain(
            &format!("{n} budget events"),
            std::time::Duration::from_secs(10),
            || {
                let seen = budget_events();
                (seen.len() >= n).then_some(seen)
            },
            || b.world.explain(),
        )
    };
    // 3000 input tokens at $3 per million: $0.009, 90% of $0.01.
    b.turn("cb", "one [[usage: 3000 0 0 0]] [[say: CB-1]]");
    let seen = wait_budget(1);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0]["level"], 80);
    assert_eq!(
        json(&b.ok(&["--json", "escalations", "--open"])),
        serde_json::json!([])
    );
    // 1000 more: $0.012, spent.
    b.turn("cb", "two [[usage: 1000 0 0 0]] [[say: CB-2]]");
    let seen = wait_budget(2);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1]["level"], 100);
    let open = json(&b.ok(&["--json", "escalations", "--open"]));
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["axes"], serde_json::json!(["reversibility"]));
    assert_eq!(open[0]["source"], "budget");
    // No new prompt while it is spent; raising the budget lets them in again.
    let refused = b.run(&["tell", "cb", "three [[say: CB-3]]"]);
    assert_eq!(
        refused.status.code(),
        Some(6),
        "{}",
        crate::util::stderr(&refused)
    );
    assert!(crate::util::stderr(&refused).contains("spent its budget ($0.01)"));
    let raised = json(&b.ok(&["--json", "budget", "cb", "--usd", "1"]));
    assert_eq!(raised["budget"]["usd"], 1.0);
    assert!(
        raised["spent"]["percent"].as_f64().unwrap() < 2.0,
        "{raised}"
    );
    b.turn("cb", "three [[usage: 10 0 0 0]] [[say: CB-3]]");
    // Once that turn was weighed (its check saw 3 calls), nothing new was said.
    let state = b.world.state().join("workers/w1/budget.json");
    crate::util::wait_for(
        "the third turn weighed",
        std::time::Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(&state).unwrap_or_default();
            (json(&text)["calls"] == 3).then_some(())
        },
    );
    assert_eq!(
        budget_events().len(),
        2,
        "nothing new under the raised budget"
    );
    assert_eq!(
        json(&b.ok(&["--json", "escalations"]))
            .as_array()
            .unwrap()
            .len(),
        1,
        "one escalation"
    );
}

/// Every `.jsonl` file under `dir` with its content, for a failure's message.
fn transcripts(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out += &format!("--- {}\n{text}", path.display());
            }
        }
    }
    out
}

/// Runs `orch --json usage NAME` (`usage` runs it with the driver's variables) until the
/// worker's transcript holds `calls` model calls; returns its row. Shows the transcripts when
/// it times out.
fn wait_calls(usage: &dyn Fn() -> String, calls: usize, dir: &Path) -> Value {
    crate::util::wait_or_explain(
        &format!("{calls} model calls in the transcript"),
        std::time::Duration::from_secs(10),
        || {
            let rows = json(&usage());
            let got = rows[0]["calls"].as_array().map_or(0, Vec::len);
            (got >= calls).then(|| rows[0].clone())
        },
        || transcripts(dir),
    )
}

/// Two turns of worker `name` (spawned with `harness`) with the mock's exact usage: the first
/// answers, the second runs a tool then answers (three calls, 1200/34/500/60 then twice
/// 1300/21/0/0). Checks the first call, the totals (no cache write where the harness records
/// none), and ps; returns the usage row for the harness's own checks.
fn two_turns<M: std::ops::Deref<Target = crate::mock_http::MockServer>>(
    d: &crate::harness_driver::Driver<M>,
    harness: &str,
    name: &str,
    cache_write: bool,
) -> Value {
    let (spawned, _) = d.spawn(name, &["--harness", harness]);
    let dir = d.worker_dir(spawned["id"].as_str().unwrap());
    d.tell(name, "one [[usage: 1200 34 500 60]] [[say: U-1]]");
    // Two calls (the tool's, then the answer), each with this usage; Gemini CLI records the
    // first message twice (again with its tool's result).
    d.tell(name, "two [[usage: 1300 21 0 0]] [[bash: echo hi]]");

    let row = wait_calls(&|| d.ok(&["--json", "usage", name]), 3, &dir);
    let calls = row["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 3, "{row}\n{}", transcripts(&dir));
    let write = if cache_write { 60 } else { 0 };
    assert_eq!(
        calls[0]["tokens"],
        serde_json::json!({"input": 1200, "output": 34, "cache_read": 500,
                           "cache_write": write}),
        "{row}"
    );
    let total = 3800 + 76 + 500 + write;
    assert_eq!(
        row["tokens"],
        serde_json::json!({"input": 3800, "output": 76, "cache_read": 500,
                           "cache_write": write, "total": total}),
        "{row}"
    );
    let ps = json(&d.ok(&["--json", "ps"]));
    assert_eq!(row_of(&ps, name)["tokens"], total, "{ps}");
    // Per turn: one call, then the tool's and the answer's.
    let turns: Vec<(bool, u64, u64)> = row["turns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let calls = t["calls"].as_u64().unwrap();
            (
                t["prompt_seq"].is_u64(),
                calls,
                t["tokens"]["input"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(turns, [(true, 1, 1200), (true, 2, 2600)], "{row}");
    row
}

#[test]
fn gemini_cli_usage_comes_back_exactly() {
    let g = crate::gemini::gemini(crate::gemini::SETTINGS);
    // Gemini's usageMetadata has no cache write: the mock leaves it out.
    let row = two_turns(&g, "gemini", "gu", false);
    assert_eq!(row["model"], "gemini-2.5-flash");
    let want = (3800.0 * 0.3 + 76.0 * 2.5 + 500.0 * 0.03) / 1e6;
    assert!(
        (row["cost_usd"].as_f64().unwrap() - want).abs() < 1e-9,
        "{row}"
    );
}

#[test]
fn pi_usage_comes_back_exactly() {
    let p = crate::pi_harness::pi();
    let row = two_turns(&p, "pi", "pu", true);
    assert_eq!(row["model"], "mock-model");
    assert_eq!(
        row["cost_usd"],
        Value::Null,
        "no price for the mock's model"
    );
}

#[test]
fn a_budget_spent_in_the_middle_of_a_turn_stops_it_there() {
    let b = budgeted("cm");
    // The first reply costs $0.012 (4000 input tokens at $3 per million) and asks to run a
    // command, which waits on a permission dialog: the turn is weighed there, not at its end,
    // and Escape ends it. (Not `sleep 60`, which 2.1.197 runs unasked: Claude Code 2.1.332
    // refuses a standalone sleep as a tool call, and the turn ends at once.)
    let told = json(&b.ok(&[
        "--json",
        "tell",
        "cm",
        "long [[usage: 4000 0 0 0]] [[bash: timeout 60 tail -f /dev/null]]",
    ]));
    let after = told["cursor"].as_u64().unwrap();
    // The level-100 `budget` event is written last, once the escalation and the interrupt
    // are done.
    let events = crate::util::wait_or_explain(
        "the budget spent",
        std::time::Duration::from_secs(30),
        || {
            let events: Vec<Value> = b.ok(&["events", "cm"]).lines().map(json).collect();
            events
                .iter()
                .any(|e| e["event"] == "budget" && e["level"] == 100)
                .then_some(events)
        },
        || b.world.explain(),
    );
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "interrupted" && e["by"] == "budget"),
        "{events:?}"
    );
    let turn: Vec<&Value> = events
        .iter()
        .filter(|e| e["seq"].as_u64() > Some(after))
        .collect();
    let kinds: Vec<&str> = turn.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(
        !kinds.contains(&"stop"),
        "stopped mid-turn, not at its end: {kinds:?}"
    );
    let levels: Vec<&Value> = turn
        .iter()
        .filter(|e| e["event"] == "budget")
        .map(|e| &e["level"])
        .collect();
    assert_eq!(levels, [80, 100], "both crossed by one call: {kinds:?}");
    let open = json(&b.ok(&["--json", "escalations", "--open"]));
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["source"], "budget");
}

/// Claude Code worker `id` (session `sid`) recorded by hand, with a transcript of `calls`:
/// each a model, its input tokens and how long ago it was made (ms), stamped as Claude Code
/// stamps its lines.
fn recorded_worker(world: &crate::util::World, id: &str, calls: &[(&str, u64, u64)]) {
    let now = orch_store::clock::now_ms();
    let sid = format!("session-{id}");
    let meta = serde_json::json!({"id": id, "name": format!("by-hand-{id}"), "role": "worker",
        "harness": "claude", "cwd": "/", "parent": "operator", "created_ms": 1,
        "session_id": sid, "pane": "%999", "server": {"socket_name": "none"}});
    let dir = world.state().join("workers").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    let project = world.claude_dir().join("projects/-by-hand");
    std::fs::create_dir_all(&project).unwrap();
    let lines: String = calls
        .iter()
        .enumerate()
        .map(|(i, (model, input, ago_ms))| {
            let line = serde_json::json!({"type": "assistant",
                "timestamp": orch_store::clock::rfc3339(now - ago_ms),
                "message": {"id": format!("msg_{id}_{i}"), "model": model, "role": "assistant",
                    "usage": {"input_tokens": input, "output_tokens": 1}}});
            format!("{line}\n")
        })
        .collect();
    std::fs::write(project.join(format!("{sid}.jsonl")), lines).unwrap();
}

#[test]
fn usage_since_keeps_the_calls_of_the_window_and_totals_each_model_across_the_fleet() {
    let world = crate::util::World::new();
    const MIN: u64 = 60_000;
    recorded_worker(
        &world,
        "w1",
        &[
            ("claude-sonnet-4-5", 1, 3 * 60 * MIN),
            ("claude-sonnet-4-5", 10, 30 * MIN),
            ("claude-sonnet-4-5", 100, MIN),
        ],
    );
    recorded_worker(
        &world,
        "w2",
        &[
            ("claude-haiku-4-5", 1000, 2 * 24 * 60 * MIN),
            ("claude-haiku-4-5", 10_000, 10 * MIN),
        ],
    );
    let totals = |since: &[&str]| {
        let mut args = vec!["--json", "usage", "--totals"];
        args.extend(since);
        json(&world.ok(&args))
    };

    let hour = totals(&["--since", "1h"]);
    let since_ms = hour["since_ms"].as_u64().unwrap();
    let now = orch_store::clock::now_ms();
    assert!(
        since_ms <= now - 60 * MIN && since_ms > now - 61 * MIN,
        "{hour}"
    );
    let inputs: Vec<&Value> = hour["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| &w["tokens"]["input"])
        .collect();
    assert_eq!(inputs, [110, 10_000], "{hour}");
    let by_model = &hour["totals"]["by_model"];
    assert_eq!(by_model["claude-sonnet-4-5"]["calls"], 2, "{hour}");
    assert_eq!(by_model["claude-sonnet-4-5"]["tokens"]["input"], 110);
    assert_eq!(by_model["claude-haiku-4-5"]["calls"], 1, "{hour}");
    assert_eq!(by_model["claude-haiku-4-5"]["tokens"]["total"], 10_001);
    // Sonnet: 110 input at $3 and 2 output at $15; haiku: 10000 at $1 and 1 at $5 (per
    // million).
    let sonnet = (110.0 * 3.0 + 2.0 * 15.0) / 1e6;
    let haiku = (10_000.0 + 5.0) / 1e6;
    let cost = |v: &Value| v.as_f64().unwrap();
    assert!((cost(&by_model["claude-sonnet-4-5"]["cost_usd"]) - sonnet).abs() < 1e-12);
    assert!((cost(&hour["totals"]["cost_usd"]) - (sonnet + haiku)).abs() < 1e-12);
    assert_eq!(hour["totals"]["calls"], 3);
    assert_eq!(hour["totals"]["tokens"]["input"], 10_110);

    // A day holds all of w1's calls and one of w2's; no window holds them all.
    let day = totals(&["--since", "1d"]);
    assert_eq!(day["totals"]["tokens"]["input"], 10_111, "{day}");
    let all = totals(&[]);
    assert_eq!(all["since_ms"], Value::Null);
    assert_eq!(all["totals"]["tokens"]["input"], 11_111, "{all}");
    // Without --totals the rows are the array they were.
    let rows = json(&world.ok(&["--json", "usage", "--since", "30s"]));
    assert_eq!(rows[0]["tokens"]["total"], 0, "{rows}");

    let table = world.ok(&["usage", "--since", "1h"]);
    assert!(table.contains("the fleet's calls since "), "{table}");
    let line = |start: &str| {
        table
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start} in:\n{table}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("claude-sonnet-4-5")[1..4],
        ["2", "110", "2"],
        "{table}"
    );
    assert_eq!(line("claude-haiku-4-5")[1..3], ["1", "10000"], "{table}");
    assert_eq!(line("all")[1..3], ["3", "10110"], "{table}");
    let bad = world.orch(&["usage", "--since", "1 hour"]);
    assert_eq!(bad.status.code(), Some(2), "{}", crate::util::stderr(&bad));
}
