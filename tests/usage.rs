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
                           "cache_write": 60, "cache_write_1h": 0, "total": 3815}),
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
    assert!(text.contains("litellm"), "the table's source: {text}");
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

/// Every file under `dir`, at any depth.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Every `.jsonl` file under `dir` with its content, for a failure's message.
fn transcripts(dir: &Path) -> String {
    let mut out = String::new();
    for path in files_under(dir) {
        if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            out += &format!("--- {}\n{text}", path.display());
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
                           "cache_write": write, "cache_write_1h": 0}),
        "{row}"
    );
    let total = 3800 + 76 + 500 + write;
    assert_eq!(
        row["tokens"],
        serde_json::json!({"input": 3800, "output": 76, "cache_read": 500,
                           "cache_write": write, "cache_write_1h": 0, "total": total}),
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
    let cost = row["cost_usd"].as_f64().unwrap();
    assert!((cost - want).abs() < 1e-9, "{row}");
    // ccusage on the same session (`GEMINI_DATA_DIR`: the `.gemini` folder).
    let session = transcript_of(g.world.root(), "/chats/");
    let theirs = ccusage("gemini", "GEMINI_DATA_DIR", &data_dir(&session, "tmp"));
    assert_eq!(orch_tokens(&row), mapped(&theirs), "{theirs}");
    within_1_percent(cost, ccusage_cost(&theirs), "gemini-2.5-flash");
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
    // ccusage on the same session (`PI_AGENT_DIR`: the folder above `sessions`). It takes
    // the cost pi recorded (0 from the mock's provider) rather than a price: tokens only.
    let session = transcript_of(p.world.root(), "/sessions/");
    let theirs = ccusage("pi", "PI_AGENT_DIR", &data_dir(&session, "sessions"));
    assert_eq!(orch_tokens(&row), mapped(&theirs), "{theirs}");

    // The unknown model is named with the lines that price it; filled in, they do.
    let text = p.ok(&["usage"]);
    let at = text
        .find("no price for `mock-model`")
        .unwrap_or_else(|| panic!("{text}"));
    let fix: Vec<&str> = text[at..].lines().skip(1).take(2).collect();
    assert_eq!(fix[0], "prices:", "{text}");
    let config = p.world.home().join(".config/orch/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, fix.join("\n").replace(": 0", ": 1")).unwrap();
    let priced = json(&p.ok(&["--json", "usage", "pu"]));
    let total = row["tokens"]["total"].as_f64().unwrap();
    assert_eq!(
        priced[0]["cost_usd"].as_f64(),
        Some(total / 1e6),
        "{priced}"
    );
    assert_eq!(
        priced[0]["prices"]["unpriced"],
        serde_json::json!([]),
        "{priced}"
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

/// ccusage, the usage reader Claude Code users run (`install/test-deps.sh` puts it in the test
/// cache; `ORCH_TEST_CCUSAGE` names another).
fn ccusage_bin() -> std::path::PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let bin = var("ORCH_TEST_CCUSAGE").map_or_else(
        || {
            var("ORCH_TEST_CACHE")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    var("XDG_CACHE_HOME").map_or_else(
                        || std::path::PathBuf::from(var("HOME").unwrap()).join(".cache"),
                        std::path::PathBuf::from,
                    )
                })
                .join("orch-test/ccusage/node_modules/.bin/ccusage")
        },
        std::path::PathBuf::from,
    );
    assert!(
        bin.is_file(),
        "ccusage not found at `{}`: run `install/test-deps.sh`",
        bin.display()
    );
    bin
}

/// The transcript orch read for the worker whose `usage.json` path contains `marker`, found
/// under `root`.
fn transcript_of(root: &Path, marker: &str) -> std::path::PathBuf {
    files_under(root)
        .iter()
        .filter(|path| path.file_name().is_some_and(|n| n == "usage.json"))
        .map(|path| json(&std::fs::read_to_string(path).unwrap())["path"].clone())
        .find_map(|read| read.as_str().filter(|p| p.contains(marker)).map(Into::into))
        .unwrap_or_else(|| {
            panic!(
                "no usage.json under {} read a `{marker}` transcript",
                root.display()
            )
        })
}

/// The parent of `path`'s nearest ancestor named `name`: the data folder ccusage is given.
fn data_dir(path: &Path, name: &str) -> std::path::PathBuf {
    path.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == name))
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("no `{name}` above {}", path.display()))
        .to_path_buf()
}

/// `ccusage CLI session --offline --json` with only `var` pointing at the data (HOME is an
/// empty folder: nothing of the person running the tests is read, and nothing is fetched);
/// the one session it found.
fn ccusage(cli: &str, var: &str, dir: &Path) -> Value {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(ccusage_bin())
        .args([cli, "session", "--offline", "--json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env(var, dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ccusage {cli}: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&text);
    let sessions = report["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        1,
        "ccusage {cli} on {}: {report}",
        dir.display()
    );
    sessions[0].clone()
}

/// ccusage's session in orch's terms. The conventions: both count input without the cached
/// part (`inputTokens`), cache reads (`cacheReadTokens`) and cache writes of any lifetime
/// (`cacheCreationTokens`, Claude Code's and pi's; 0 for Codex and Gemini CLI) alike. orch's
/// output includes thinking: Claude Code, Codex (`reasoningOutputTokens` is a part of
/// `outputTokens`) and pi record it inside the output, and ccusage's `totalTokens` is the sum
/// of the four; Gemini CLI records its `thoughts` apart, ccusage leaves them out of
/// `outputTokens` but in `totalTokens` (Gemini's own total) and prices them as output, so
/// orch's output is `totalTokens` less the other three there.
fn mapped(session: &Value) -> (u64, u64, u64, u64) {
    let n = |k: &str| {
        session[k]
            .as_u64()
            .unwrap_or_else(|| panic!("{k} in {session}"))
    };
    let input = n("inputTokens");
    let read = n("cacheReadTokens");
    let write = n("cacheCreationTokens");
    (input, n("totalTokens") - input - read - write, read, write)
}

/// The same of orch's `--json usage` row.
fn orch_tokens(row: &Value) -> (u64, u64, u64, u64) {
    let t = &row["tokens"];
    let n = |k: &str| t[k].as_u64().unwrap();
    (n("input"), n("output"), n("cache_read"), n("cache_write"))
}

/// ccusage's cost of `session` (`totalCost`; Codex's report names it `costUSD`).
fn ccusage_cost(session: &Value) -> f64 {
    session["totalCost"]
        .as_f64()
        .or_else(|| session["costUSD"].as_f64())
        .unwrap_or_else(|| panic!("no cost in {session}"))
}

fn within_1_percent(orch: f64, ccusage: f64, what: &str) {
    assert!(
        ccusage > 0.0 && (orch - ccusage).abs() <= ccusage / 100.0,
        "{what}: orch ${orch} vs ccusage ${ccusage}"
    );
}

#[test]
fn orch_and_ccusage_agree_on_claude_code_and_codex_transcripts() {
    let b = Fleet::new();
    let spawn = |name: &str, extra: &[&str]| {
        let mut args = vec!["spawn", "--name", name, "--ready-timeout", "60"];
        args.extend(extra);
        b.ok(&args);
    };
    // The default model of Claude Code 2.1.197, which the old table did not know.
    spawn("cl", &["--", "--model", "claude-opus-4-8"]);
    spawn("cx", &["--harness", "codex", "--", "-m", "gpt-5"]);
    // A cache write of 3000 tokens, 1000 of them for an hour; then a call whose prompt is
    // 210k tokens (claude-opus-4-8 lists no long-context tier: the same rates).
    b.turn("cl", "one [[usage: 1200 34 500 3000 1000]] [[say: CL-1]]");
    b.turn("cl", "two [[usage: 150000 40 60000 0]] [[say: CL-2]]");
    b.turn("cx", "one [[say: CX-1]]");
    let usage = json(&b.ok(&["--json", "usage"]));

    let cl = row_of(&usage, "cl");
    assert_eq!(
        cl["tokens"],
        serde_json::json!({"input": 151_200, "output": 74, "cache_read": 60_500,
                           "cache_write": 3000, "cache_write_1h": 1000, "total": 214_774}),
        "{cl}"
    );
    // claude-opus-4-8: 5 in, 25 out, 0.5 read, 6.25 for 5 minutes, 10 for an hour.
    let want =
        (151_200.0 * 5.0 + 74.0 * 25.0 + 60_500.0 * 0.5 + 2000.0 * 6.25 + 1000.0 * 10.0) / 1e6;
    let cost = cl["cost_usd"].as_f64().unwrap();
    assert!((cost - want).abs() < 1e-9, "{cl}");
    assert_eq!(cl["prices"]["package"], "litellm", "{cl}");
    let claude = transcript_of(b.world.root(), "/projects/");
    let theirs = ccusage(
        "claude",
        "CLAUDE_CONFIG_DIR",
        &data_dir(&claude, "projects"),
    );
    assert_eq!(orch_tokens(cl), mapped(&theirs), "{theirs}");
    within_1_percent(cost, ccusage_cost(&theirs), "claude-opus-4-8");

    let cx = row_of(&usage, "cx");
    assert_eq!(cx["model"], "gpt-5", "{cx}");
    let rollout = transcript_of(b.world.root(), "rollout-");
    let theirs = ccusage("codex", "CODEX_HOME", &data_dir(&rollout, "sessions"));
    assert_eq!(orch_tokens(cx), mapped(&theirs), "{theirs}");
    within_1_percent(
        cx["cost_usd"].as_f64().unwrap(),
        ccusage_cost(&theirs),
        "gpt-5",
    );

    // A price of the user's own comes first: in the configuration, then in `ORCH_PRICES`.
    let config = b.world.home().join(".config/orch/config.yaml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "prices:\n  claude-opus-4-8: {input: 1, output: 1, cache_read: 1, cache_write: 1, \
         cache_write_1h: 1}\n",
    )
    .unwrap();
    let cost_of = |rows: &Value| row_of(rows, "cl")["cost_usd"].as_f64().unwrap();
    let mine = json(&b.ok(&["--json", "usage"]));
    assert!((cost_of(&mine) - 214_774.0 / 1e6).abs() < 1e-9, "{mine}");
    let file = b.world.root().join("prices.yaml");
    std::fs::write(
        &file,
        "prices:\n  claude-opus-4-8: {input: 2, output: 2, cache_read: 2, cache_write: 2, \
         cache_write_1h: 2}\n",
    )
    .unwrap();
    let out = b
        .world
        .cmd("orch")
        .args(["--json", "usage"])
        .env("ORCH_PRICES", &file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let filed = json(&String::from_utf8_lossy(&out.stdout));
    assert!(
        (cost_of(&filed) - 2.0 * 214_774.0 / 1e6).abs() < 1e-9,
        "{filed}"
    );
    // A broken price is an error naming the file and the field, not a silent `-`.
    std::fs::write(&file, "prices:\n  m: {input: 1, output: 1, cached: 1}\n").unwrap();
    let out = b
        .world
        .cmd("orch")
        .args(["usage"])
        .env("ORCH_PRICES", &file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("prices.yaml") && err.contains("cached"),
        "{err}"
    );
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
