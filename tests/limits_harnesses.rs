//! Usage limits on the real Codex CLI and pi, against mocks that answer their provider's limit
//! for a time window ([`crate::mock_http::MockServer::limit`]): the turn that meets it ends a
//! `listen` with exit 7, the account is held (`limited`), a tell is queued, and when the limit
//! lifts the turn is continued once and the queued prompt delivered once, in order.

use crate::harness_driver::Driver;
use crate::mock_http::{MockServer, Response};
use crate::util::{json, stderr};
use serde_json::Value;
use std::ops::Deref;
use std::time::Duration;

/// How the limit lifts: at the reset time the harness gave, or by a probe (no reset time).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Lifted {
    Reset,
    Probe,
}

/// One fleet of two workers, `one` and `two`, on `harness`, riding out a limit `window` long
/// answered with `answer`; `user_text` reads the last user text of a request body. Returns the
/// mock's requests after the limit.
fn ride_out<M: Deref<Target = MockServer>>(
    d: &Driver<M>,
    harness: &str,
    window: Duration,
    answer: fn(Duration) -> Response,
    lifted: Lifted,
    user_text: fn(&Value) -> String,
) -> Vec<Value> {
    crate::limits::probe_fast(&d.world.home(), 1.0);
    d.spawn("one", &["--harness", harness]);
    d.spawn("two", &["--harness", harness]);
    d.mock.limit(window, answer);

    // The turn that meets the limit: listen exits 7 with the failure.
    let told = json(&d.ok(&["--json", "tell", "one", "task one [[say: ONE-DONE]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let out = d.run(&["listen", "one", "--timeout", "90"]);
    let screen = d.run(&["capture", "one"]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}\n{}\nscreen:\n{}",
        stderr(&out),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&screen.stdout)
    );
    let failed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(failed["event"], "stop_failure", "{failed}");

    // The whole account is held, a tell to the other worker queued.
    let rows = json(&d.ok(&["--json", "ps"]));
    for row in rows.as_array().unwrap() {
        assert_eq!(row["status"], "limited", "{rows}");
    }
    let limits = json(&d.ok(&["--json", "limits"]));
    let account = &limits["accounts"][0];
    assert_eq!(
        account["source"],
        format!("{harness}:rate_limit"),
        "{limits}"
    );
    assert_eq!(
        account["until_ms"].is_u64(),
        lifted == Lifted::Reset,
        "{limits}"
    );
    let queued = json(&d.ok(&["--json", "tell", "two", "task two [[say: TWO-DONE]]"]));
    assert_eq!(queued["queued"], true, "{queued}");

    // The limit lifts: the queued prompt is answered, the failed turn continued.
    let stop = json(&d.ok(&[
        "listen",
        "two",
        "--after",
        &queued["cursor"].to_string(),
        "--timeout",
        "120",
    ]));
    assert_eq!(stop["last_assistant_message"], "TWO-DONE", "{stop}");
    // As the listen's exit 7 says: listen on from the failure, past the probes that met the
    // limit again, to the continued turn's Stop.
    let mut cursor = failed["seq"].to_string();
    loop {
        let out = d.run(&["listen", "one", "--after", &cursor, "--timeout", "120"]);
        let event = json(&String::from_utf8_lossy(&out.stdout));
        match out.status.code() {
            Some(7) => cursor = event["seq"].to_string(),
            Some(0) => {
                assert_eq!(event["event"], "stop", "{event}");
                break;
            }
            other => panic!("listen exited {other:?}: {}", stderr(&out)),
        }
    }
    let events: Vec<Value> = d.ok(&["events", "one"]).lines().map(json).collect();
    let released = events.iter().find(|e| e["event"] == "released").unwrap();
    let by = if lifted == Lifted::Reset {
        "reset"
    } else {
        "probe"
    };
    assert_eq!(released["by"], by, "{released}");

    // Each task reached the model once as a new prompt: two's after the limit, one's before it
    // (answered with the limit, so not recorded) and never again; one got one continue.
    let requests = d.mock.requests();
    let asked = |needle: &str| {
        requests
            .iter()
            .filter(|r| user_text(r).contains(needle))
            .count()
    };
    assert_eq!(asked("task two"), 1, "{:?}", d.mock.log());
    let texts: Vec<String> = requests.iter().map(user_text).collect();
    // Gemini CLI dropped the failed task: it is sent again, once, instead of a continue.
    let resent = usize::from(harness == "gemini");
    assert_eq!(
        asked("task one"),
        resent,
        "the failed task was sent again only if dropped: {texts:?}"
    );
    // The task, then continues only: one at the reset, or the probes (the last got through).
    let prompts: Vec<&Value> = events.iter().filter(|e| e["event"] == "prompt").collect();
    assert_eq!(
        prompts[0]["prompt_hash"],
        told_hash(&events, &told),
        "{events:?}"
    );
    if lifted == Lifted::Reset {
        assert_eq!(prompts.len(), 2, "the task and one continue: {events:?}");
    }
    let again = prompts[1..]
        .iter()
        .filter(|p| p["prompt_hash"] == prompts[0]["prompt_hash"])
        .count();
    // Gemini CLI's probes are the dropped task itself: typed again at each probe, of which
    // only the last got through (the model saw it once, above).
    let failed_probes = events
        .iter()
        .filter(|e| e["event"] == "stop_failure")
        .count()
        .saturating_sub(1);
    assert_eq!(
        again,
        resent * (1 + failed_probes),
        "the task was typed once, or again at each probe once dropped: {events:?}"
    );
    let during = d.mock.limited();
    // At most the first turn and three probes: Codex asks for a title beside a turn's
    // request (retries off); pi retries each turn 3 times itself.
    let per_turn = if harness == "pi" { 4 } else { 2 };
    assert!(
        during >= 1 && during <= 4 * per_turn,
        "{during} requests met the limit: {events:?}"
    );
    requests
}

/// The hash of the prompt event that acknowledged the tell `told`.
fn told_hash(events: &[Value], told: &Value) -> Value {
    events
        .iter()
        .find(|e| e["seq"] == told["cursor"])
        .map(|e| e["prompt_hash"].clone())
        .unwrap_or_default()
}

/// The number of user messages holding `needle` in a request body (its whole history).
fn in_history(body: &Value, needle: &str) -> usize {
    let text = body.to_string();
    text.matches(needle).count()
}

#[test]
fn codex_workers_ride_out_a_plan_limit_until_its_reset() {
    let c = crate::codex::codex();
    let requests = ride_out(
        &c,
        "codex",
        Duration::from_secs(8),
        crate::mock_openai::usage_limit,
        Lifted::Reset,
        crate::mock_openai::last_user_text,
    );
    // The failed prompt stayed in the thread: the continue's request carries it once.
    let continued = requests
        .iter()
        .find(|r| in_history(r, "task one") > 0)
        .expect("the continue carries the failed task");
    assert_eq!(in_history(continued, "task one [[say"), 1, "{continued}");
}

#[test]
fn codex_workers_ride_out_a_keys_rate_limit_by_probing() {
    let c = crate::codex::codex();
    ride_out(
        &c,
        "codex",
        Duration::from_secs(5),
        crate::mock_openai::rate_limit,
        Lifted::Probe,
        crate::mock_openai::last_user_text,
    );
}

#[test]
fn pi_workers_ride_out_a_rate_limit_until_the_time_it_names() {
    let p = crate::pi_harness::pi();
    // pi retries a 429 3 times by itself, 2, 4 and 8 s apart by default: here sooner, and all
    // within the limit's window, as they are within a real limit's.
    let settings = p.world.home().join(".pi/agent/settings.json");
    let mut user: Value = json(&std::fs::read_to_string(&settings).unwrap());
    user["retry"] = serde_json::json!({"baseDelayMs": 20});
    std::fs::write(&settings, user.to_string()).unwrap();
    ride_out(
        &p,
        "pi",
        Duration::from_secs(12),
        crate::mock_openai::rate_limit,
        Lifted::Reset,
        crate::mock_pi::last_user_text,
    );
}

/// Gemini CLI 0.61 waits out a per-minute quota by itself (the `RetryInfo` delay) and no hook
/// says so: the turn only takes longer, is answered once, and orch types nothing more.
#[test]
fn a_gemini_worker_waits_out_a_per_minute_quota_by_itself() {
    let g = crate::gemini::gemini(crate::gemini::SETTINGS);
    g.spawn("gm", &["--harness", "gemini"]);
    g.mock
        .limit(Duration::from_secs(6), crate::mock_gemini::quota);
    let (told, stop) = g.tell("gm", "minute task [[say: MIN-DONE]]");
    assert_eq!(stop["last_assistant_message"], "MIN-DONE", "{stop}");
    let events: Vec<Value> = g.ok(&["events", "gm"]).lines().map(json).collect();
    let prompts: Vec<&Value> = events.iter().filter(|e| e["event"] == "prompt").collect();
    assert_eq!(prompts.len(), 1, "nothing typed but the task: {events:?}");
    assert_eq!(prompts[0]["seq"], told["cursor"], "{events:?}");
    assert!(
        !events.iter().any(|e| e["event"] == "limit"),
        "no hook reports the quota: {events:?}"
    );
    let asked = g
        .mock
        .requests()
        .iter()
        .filter(|r| crate::mock_gemini::last_user_text(r).contains("minute task"))
        .count();
    assert_eq!(asked, 1, "{:?}", g.mock.log());
    // One request met the quota; Gemini waited its retry delay before the next.
    assert!(g.mock.limited() <= 2, "{} met the quota", g.mock.limited());
}

#[test]
fn gemini_workers_ride_out_a_daily_quota_by_probing_with_the_dropped_task() {
    let g = crate::gemini::gemini(crate::gemini::SETTINGS);
    ride_out(
        &g,
        "gemini",
        Duration::from_secs(5),
        crate::mock_gemini::daily_quota,
        Lifted::Probe,
        crate::mock_gemini::last_user_text,
    );
}

/// A fleet of three Claude Code workers and one Codex worker, two accounts each meeting its
/// limit (Claude Code's key answered with 429s until the test lifts it; Codex's plan with a
/// reset 8 s ahead): every worker shows `limited`, the two turns the limits ended are
/// continued, every prompt told before and during the limits is answered once and in order
/// (each task reaches its model once as a new prompt), and the model calls during a limit
/// stay a few probes per account.
#[test]
fn a_mixed_fleet_rides_out_its_accounts_limits() {
    let f = crate::fleet::Fleet::new();
    crate::limits::probe_fast(&f.world.home(), 1.0);
    for (name, harness) in [
        ("c1", "claude"),
        ("c2", "claude"),
        ("c3", "claude"),
        ("cx", "codex"),
    ] {
        f.ok(&[
            "spawn",
            "--name",
            name,
            "--harness",
            harness,
            "--ready-timeout",
            "60",
        ]);
    }
    // Before the limits: a turn each for two of them.
    assert_eq!(f.turn("c1", "c1 before [[say: C1-A]]"), "C1-A");
    assert_eq!(f.turn("cx", "cx before [[say: CX-A]]"), "CX-A");

    f.claude.limit(Some(
        "This request would exceed your account's rate limit. Please try again later.",
    ));
    f.codex
        .limit(Duration::from_secs(8), crate::mock_openai::usage_limit);
    let mut failed = Vec::new();
    for (name, task) in [
        ("c1", "c1 task [[say: C1-B]]"),
        ("cx", "cx task [[say: CX-B]]"),
    ] {
        let told = json(&f.ok(&["--json", "tell", name, task]));
        assert_eq!(told["acknowledged"], true, "{told}");
        let out = f.run(&[
            "listen",
            name,
            "--after",
            &told["cursor"].to_string(),
            "--timeout",
            "90",
        ]);
        assert_eq!(out.status.code(), Some(7), "{name}: {}", stderr(&out));
        failed.push(json(&String::from_utf8_lossy(&out.stdout))["seq"].clone());
    }
    let rows = json(&f.ok(&["--json", "ps"]));
    for row in rows.as_array().unwrap() {
        assert_eq!(row["status"], "limited", "{rows}");
    }
    let accounts = json(&f.ok(&["--json", "limits"]))["accounts"].clone();
    assert_eq!(accounts.as_array().unwrap().len(), 2, "{accounts}");
    // During the limits: tells are queued, in order.
    let mut queued = Vec::new();
    for (name, task) in [
        ("c2", "c2 task [[say: C2-B]]"),
        ("c3", "c3 task [[say: C3-B]]"),
        ("c3", "c3 second [[say: C3-C]]"),
        ("cx", "cx second [[say: CX-C]]"),
    ] {
        let told = json(&f.ok(&["--json", "tell", name, task]));
        assert_eq!(told["queued"], true, "{told}");
        queued.push((name, told["cursor"].clone(), task));
    }
    let claude_during = f.claude.limited();
    f.claude.limit(None);

    // Each queued prompt's own turn, in the order told.
    for (name, cursor, task) in &queued {
        let stop = json(&f.ok(&[
            "listen",
            name,
            "--after",
            &cursor.to_string(),
            "--timeout",
            "120",
        ]));
        let said = task.split("[[say: ").nth(1).unwrap().trim_end_matches("]]");
        assert_eq!(stop["last_assistant_message"], said, "{name}: {stop}");
    }
    // The turns the limits ended were continued: listen on past probes that met it again.
    for (name, seq) in [("c1", &failed[0]), ("cx", &failed[1])] {
        let mut cursor = seq.to_string();
        loop {
            let out = f.run(&["listen", name, "--after", &cursor, "--timeout", "120"]);
            let event = json(&String::from_utf8_lossy(&out.stdout));
            match out.status.code() {
                Some(7) => cursor = event["seq"].to_string(),
                Some(0) => break,
                other => panic!("{name}: listen exited {other:?}: {}", stderr(&out)),
            }
        }
    }
    // Each task reached its model once as a new prompt.
    let claude: Vec<String> = f
        .claude
        .requests()
        .iter()
        .map(crate::mock_model::last_user_text)
        .collect();
    for task in ["c1 before", "c1 task", "c2 task", "c3 task", "c3 second"] {
        let n = claude.iter().filter(|t| t.contains(task)).count();
        assert_eq!(n, 1, "{task}: {claude:?}");
    }
    let codex: Vec<String> = f
        .codex
        .requests()
        .iter()
        .map(crate::mock_openai::last_user_text)
        .collect();
    for (task, times) in [("cx before", 1), ("cx task", 0), ("cx second", 1)] {
        let n = codex.iter().filter(|t| t.contains(task)).count();
        assert_eq!(n, times, "{task}: {codex:?}");
    }
    // c3's two prompts in the order told.
    let c3: Vec<usize> = ["c3 task", "c3 second"]
        .iter()
        .map(|t| claude.iter().position(|c| c.contains(t)).unwrap())
        .collect();
    assert!(c3[0] < c3[1], "{claude:?}");
    // Model calls during the limit: the turn that met it and a few probes, one account at a
    // time, never one per worker.
    assert!(
        claude_during <= 4,
        "{claude_during} Claude requests met the limit"
    );
    let codex_during = f.codex.limited();
    assert!(
        codex_during <= 4,
        "{codex_during} Codex requests met the limit"
    );
}
