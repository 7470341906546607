//! `orch usage` and ps's TOKENS and COST on the real CLIs: the numbers the mock model reports
//! come back exactly, read from Claude Code's transcript and Codex's rollout.

use crate::fleet::Fleet;
use crate::util::json;
use serde_json::Value;

fn row<'r>(rows: &'r Value, name: &str) -> &'r Value {
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
    b.turn("cl", "one [[usage: 1200 34 500 60]] [[say: CL-1]]");
    b.turn("cl", "two [[usage: 1300 21 700 0]] [[say: CL-2]]");
    b.turn("cx", "one [[say: CX-1]]");

    let usage = json(&b.ok(&["--json", "usage"]));
    let cl = row(&usage, "cl");
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
    let cx = row(&usage, "cx");
    assert_eq!(cx["tokens"]["input"], 10 * responses, "{cx}");
    assert_eq!(cx["tokens"]["output"], 5 * responses, "{cx}");
    assert_eq!(cx["model"], "mock-model");
    assert_eq!(cx["cost_usd"], Value::Null, "no price for the mock's model");

    let detail = json(&b.ok(&["--json", "usage", "cl"]));
    let calls = detail[0]["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{detail}");
    assert_eq!(calls[1]["tokens"]["input"], 1300);

    let ps = json(&b.ok(&["--json", "ps"]));
    assert_eq!(row(&ps, "cl")["tokens"], 3815);
    assert_eq!(row(&ps, "cx")["tokens"], 15 * responses);
    let table = b.ok(&["ps"]);
    assert!(
        table.contains("TOKENS") && table.contains("3.8k"),
        "{table}"
    );
    let text = b.ok(&["usage"]);
    assert!(text.contains("prices (2025-11)"), "{text}");
}
