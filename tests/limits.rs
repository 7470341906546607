//! Usage limits on real tmux with the `sim` harness, whose `--limit-file` makes every prompt
//! fail as a usage limit (a StopFailure `rate_limit`, as Claude Code reports a 429) while the
//! file exists: the account held, tells queued, the turn continued and the queue delivered
//! once the limit lifts, with a reset time and without one (probes).

use crate::util::{json, stderr, wait_for, World};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A world whose limit waiter probes fast: first after `first_probe_s`, then twice as long.
fn world(first_probe_s: f64) -> World {
    let world = World::installed();
    probe_fast(&world.home(), first_probe_s);
    world
}

/// Writes orch's config file under `home`: the limit waiter probes first after
/// `first_probe_s`, then twice as long each time up to 4 s, and continues workers 0.2 s apart.
pub fn probe_fast(home: &Path, first_probe_s: f64) {
    write_config(
        home,
        &format!("limits:\n  first_probe_s: {first_probe_s}\n  max_probe_s: 4\n  stagger_s: 0.2\n"),
    );
}

/// Writes `config` as orch's configuration file under `home`.
pub fn write_config(home: &Path, config: &str) {
    let folder = home.join(".config/orch");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("config.yaml"), config).unwrap();
}

/// An installed world whose orch configuration file holds `config`.
fn world_with(config: &str) -> World {
    let world = World::installed();
    write_config(&world.home(), config);
    world
}

/// Now, Unix seconds.
fn now_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The one held account's `orch limits --json` entry (null when none is held).
fn held(world: &World) -> Value {
    json(&world.ok(&["--json", "limits"]))["accounts"][0].clone()
}

/// The open escalations raised for a usage limit.
fn limit_escalations(world: &World) -> Vec<Value> {
    json(&world.ok(&["--json", "escalations", "--open"]))
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "limit")
        .cloned()
        .collect()
}

/// The events of worker `name`, parsed.
fn events(world: &World, name: &str) -> Vec<Value> {
    world.ok(&["events", name]).lines().map(json).collect()
}

/// The status `orch ps --json` gives worker `name`.
fn status(world: &World, name: &str) -> String {
    let rows = json(&world.ok(&["--json", "ps"]));
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .cloned()
        .unwrap_or_default();
    row["status"].as_str().unwrap_or("").to_string()
}

fn spawn_two(world: &World, limit: &Path) {
    for name in ["one", "two"] {
        world.spawn_sim_with(name, &["--limit-file", limit.to_str().unwrap()]);
    }
}

#[test]
fn a_limit_holds_the_account_queues_tells_and_a_probe_continues_the_fleet() {
    let world = world(1.5);
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    std::fs::write(&limit, "rate limited").unwrap();

    // The turn that meets the limit: listen exits 7 and says orch continues it.
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let failed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(failed["event"], "stop_failure");
    assert!(stderr(&out).contains("usage limit"), "{}", stderr(&out));

    // The whole account is held: both workers limited, a tell to the other one queued.
    assert_eq!(status(&world, "one"), "limited");
    assert_eq!(status(&world, "two"), "limited");
    let told = json(&world.ok(&["--json", "tell", "two", "task two [[say: TWO]]"]));
    assert_eq!(told["queued"], true, "{told}");
    let queued_at = told["cursor"].as_u64().unwrap();
    let limits = json(&world.ok(&["--json", "limits"]));
    let accounts = limits["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{limits}");
    assert_eq!(
        accounts[0]["workers"].as_array().unwrap().len(),
        2,
        "{limits}"
    );
    assert!(
        accounts[0]["until_ms"].is_null(),
        "no reset time was given: {limits}"
    );
    assert!(limits.to_string().contains(told["id"].as_str().unwrap()));

    // The limit lifts; the waiter's probe gets through and the fleet goes on.
    std::fs::remove_file(&limit).unwrap();
    let stop = json(&world.ok(&[
        "listen",
        "two",
        "--after",
        &queued_at.to_string(),
        "--timeout",
        "60",
    ]));
    assert_eq!(stop["last_assistant_message"], "TWO", "{stop}");
    let continued = json(&world.ok(&[
        "listen",
        "one",
        "--after",
        &failed["seq"].to_string(),
        "--timeout",
        "30",
    ]));
    assert_eq!(continued["event"], "stop", "{continued}");
    wait_for("the hold gone", WAIT, || {
        let limits = json(&world.ok(&["--json", "limits"]));
        limits["accounts"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
    assert_eq!(status(&world, "two"), "idle");

    // Each prompt reached its worker once: two's task once and only after the release, one's
    // task once; one got continue prompts only (the probes), none of them before the limit.
    let two = events(&world, "two");
    let prompts: Vec<&Value> = two.iter().filter(|e| e["event"] == "prompt").collect();
    assert_eq!(prompts.len(), 1, "{two:?}");
    let released = two
        .iter()
        .position(|e| e["event"] == "released")
        .expect("two was released");
    let prompt = two.iter().position(|e| e["event"] == "prompt").unwrap();
    assert!(prompt > released, "{two:?}");
    assert!(two.iter().any(|e| e["event"] == "dequeued"));
    let one = events(&world, "one");
    let stops: Vec<&Value> = one.iter().filter(|e| e["event"] == "stop").collect();
    assert_eq!(stops.len(), 1, "one turn went through: {one:?}");
    let released_one = one.iter().find(|e| e["event"] == "released").unwrap();
    assert_eq!(released_one["by"], "probe", "{released_one}");
}

#[test]
fn a_limit_with_a_reset_time_waits_for_it_without_probing() {
    let world = world(1.0);
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    let reset_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 4;
    std::fs::write(&limit, format!("Claude AI usage limit reached|{reset_s}")).unwrap();
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let limits = json(&world.ok(&["--json", "limits"]));
    assert_eq!(
        limits["accounts"][0]["until_ms"].as_u64(),
        Some(reset_s * 1000),
        "{limits}"
    );
    std::fs::remove_file(&limit).unwrap();
    // No probe before the reset: after the first probe time, still no prompt but the task.
    std::thread::sleep(Duration::from_millis(1500));
    let prompts = |name: &str| {
        events(&world, name)
            .iter()
            .filter(|e| e["event"] == "prompt")
            .count()
    };
    assert_eq!(prompts("one"), 1);
    let told = json(&world.ok(&["--json", "tell", "two", "after the reset [[say: AFTER]]"]));
    assert_eq!(told["queued"], true, "{told}");
    let stop = json(&world.ok(&["listen", "two", "--timeout", "60"]));
    assert_eq!(stop["last_assistant_message"], "AFTER");
    let released = events(&world, "one")
        .into_iter()
        .find(|e| e["event"] == "released")
        .unwrap();
    assert_eq!(released["by"], "reset");
    assert!(
        released["ts_ms"].as_u64().unwrap() >= reset_s * 1000,
        "{released}"
    );
    assert_eq!(prompts("one"), 2, "the task and one continue");
}

#[test]
fn an_account_held_by_hand_takes_no_prompt_until_released() {
    let world = world(1.0);
    let limit = world.root().join("never");
    spawn_two(&world, &limit);
    // The account's name, from a hold anyone can see once it is made.
    world.ok(&["tell", "one", "warm [[say: W]]"]);
    world.ok(&["listen", "one", "--timeout", "30"]);
    let limits = json(&world.ok(&["--json", "limits"]));
    assert!(limits["accounts"].as_array().unwrap().is_empty());
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(world.state().join("workers/w1/meta.json")).unwrap(),
    )
    .unwrap();
    let account = meta["account"].as_str().unwrap().to_string();
    assert!(account.starts_with("claude-"), "{meta}");

    world.ok(&["limits", "--hold", &account]);
    assert_eq!(status(&world, "one"), "limited");
    let told = json(&world.ok(&["--json", "tell", "one", "held [[say: HELD]]"]));
    assert_eq!(told["queued"], true);
    let dropped = json(&world.ok(&["--json", "tell", "one", "drop me [[say: NO]]"]));
    world.ok(&["limits", "--drop", "one", dropped["id"].as_str().unwrap()]);
    // Held by hand: no probe lifts it.
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(status(&world, "one"), "limited");
    world.ok(&["limits", "--release", &account]);
    let stop = json(&world.ok(&[
        "listen",
        "one",
        "--after",
        &told["cursor"].to_string(),
        "--timeout",
        "30",
    ]));
    assert_eq!(stop["last_assistant_message"], "HELD");
    let out = world.orch(&[
        "listen",
        "one",
        "--after",
        &dropped["cursor"].to_string(),
        "--timeout",
        "5",
    ]);
    assert!(stderr(&out).contains("dropped"), "{}", stderr(&out));
    let said: Vec<String> = events(&world, "one")
        .iter()
        .filter_map(|e| e["last_assistant_message"].as_str().map(String::from))
        .collect();
    assert!(!said.iter().any(|s| s == "NO"), "{said:?}");
}

/// Claude Code 2.1.332 on a plan login continues by itself after the reset and says so with a
/// Notification `quota_auto_resume_fired`: the hold lifts then, whatever reset time it had, and
/// the queued prompts follow.
#[test]
fn the_harness_saying_it_resumed_lifts_the_hold() {
    let world = world(600.0);
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    std::fs::write(
        &limit,
        "You've hit your 5-hour limit · resets 10:40pm (UTC)",
    )
    .unwrap();
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let limits = json(&world.ok(&["--json", "limits"]));
    let until = limits["accounts"][0]["until_ms"]
        .as_u64()
        .expect("a reset time");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(until > now && until <= now + 86_400_000, "{limits}");
    let told = json(&world.ok(&["--json", "tell", "two", "queued [[say: Q]]"]));
    assert_eq!(told["queued"], true);
    std::fs::remove_file(&limit).unwrap();

    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(world.state().join("workers/w1/meta.json")).unwrap(),
    )
    .unwrap();
    let payload = serde_json::json!({
        "hook_event_name": "Notification",
        "session_id": meta["session_id"],
        "notification_type": "quota_auto_resume_fired",
        "message": "Usage limit reset — Claude is continuing your task",
    });
    let hook = crate::util::output_with_stdin(
        world.cmd("orch-hook").env("ORCH_WORKER", "w1"),
        payload.to_string().as_bytes(),
    );
    assert!(hook.status.success());
    let stop = json(&world.ok(&[
        "listen",
        "two",
        "--after",
        &told["cursor"].to_string(),
        "--timeout",
        "30",
    ]));
    assert_eq!(stop["last_assistant_message"], "Q");
    assert!(json(&world.ok(&["--json", "limits"]))["accounts"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Accounts by name: `--account NAME` spends on the credentials orch's configuration names
/// (a Claude config folder of its own gets its hooks from there), `--account auto` on the
/// first one no limit holds, and bad names fail before anything starts.
#[test]
fn workers_spawn_on_named_accounts_and_auto_picks_one_not_held() {
    let world = world_with(
        "accounts:\n  - name: work\n    harness: claude\n    env:\n      \
         CLAUDE_CONFIG_DIR: ~/.claude-work\n  - name: spare\n    harness: claude\n    \
         env:\n      ANTHROPIC_API_KEY: sk-spare\n  - name: cx\n    harness: codex\n",
    );
    let work_dir = world.home().join(".claude-work");
    let spawn = |name: &str, account: &str| {
        world.orch(&[
            "--json",
            "spawn",
            "--harness",
            "sim",
            "--name",
            name,
            "--account",
            account,
        ])
    };
    let account_of = |name: &str| {
        json(&world.ok(&["--json", "ps"]))
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["account"].as_str().unwrap_or("").to_string())
            .unwrap()
    };

    // Bad input: a name not in the file, an account of another harness, a config folder
    // without orch's hooks. Nothing is spawned.
    let out = spawn("x", "nope");
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("no account `nope`"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("work, spare, cx"), "{}", stderr(&out));
    let out = spawn("x", "cx");
    assert!(
        stderr(&out).contains("serves codex workers"),
        "{}",
        stderr(&out)
    );
    let out = spawn("x", "work");
    assert!(
        stderr(&out).contains(&format!("CLAUDE_CONFIG_DIR={} orch up", work_dir.display())),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&world.ok(&["--json", "ps", "--all"])), json("[]"));

    // With orch's hooks in the account's folder, its worker reports through them.
    let mut up = world.cmd("orch");
    up.env("CLAUDE_CONFIG_DIR", &work_dir).arg("up");
    crate::util::run_ok(&mut up, None, String::new);
    let out = spawn("w", "work");
    world.expect_ok(&["spawn", "w"], out, "spawn on work");
    assert_eq!(account_of("w"), "claude-work");
    world.ok(&["tell", "w", "on work [[say: WORK]]"]);
    let stop = json(&world.ok(&["listen", "w", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "WORK");

    // auto: the caller's own credentials first, then the file's accounts in order, the
    // first not held.
    world.spawn_sim("own");
    let own = account_of("own");
    assert!(own.starts_with("claude-") && own != "claude-work", "{own}");
    world.ok(&["limits", "--hold", &own]);
    let out = spawn("a", "auto");
    world.expect_ok(&["spawn", "a"], out, "spawn auto");
    assert_eq!(account_of("a"), "claude-work");
    world.ok(&["limits", "--hold", "claude-work"]);
    let out = spawn("b", "auto");
    world.expect_ok(&["spawn", "b"], out, "spawn auto");
    assert_eq!(account_of("b"), "claude-spare");
    // Every one held: spawned all the same, with a warning, its prompt to wait.
    world.ok(&["limits", "--hold", "claude-spare"]);
    let out = spawn("c", "auto");
    let warned = stderr(&out);
    world.expect_ok(&["spawn", "c"], out, "spawn auto, all held");
    assert!(warned.contains("every account"), "{warned}");
    assert_eq!(account_of("c"), own);
    assert_eq!(
        status(&world, "c"),
        "limited",
        "{}",
        world.ok(&["--json", "limits"])
    );
}

/// A limit that lasts longer than `escalate_after_s` (or names a reset further off) is
/// escalated to the parent on reversibility, once; a reset time already past is no reset
/// time (the waiter probes instead of continuing into the limit again).
#[test]
fn a_long_limit_is_escalated_once_and_a_past_reset_time_is_probed() {
    let world =
        world_with("limits:\n  first_probe_s: 0.3\n  max_probe_s: 0.6\n  escalate_after_s: 1.5\n");
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    let past = now_s() - 600;
    std::fs::write(&limit, format!("Claude AI usage limit reached|{past}")).unwrap();
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let hold = held(&world);
    assert!(
        hold["until_ms"].is_null(),
        "a past reset is no reset: {hold}"
    );
    assert!(hold["next_ms"].as_u64().is_some(), "{hold}");

    let raised = wait_for("the limit's escalation", WAIT, || {
        let open = limit_escalations(&world);
        (!open.is_empty()).then_some(open)
    });
    assert_eq!(raised.len(), 1, "{raised:?}");
    let summary = raised[0]["summary"].as_str().unwrap();
    assert!(
        summary.contains(hold["account"].as_str().unwrap()) && summary.contains("no reset time"),
        "{summary}"
    );
    assert!(raised[0]["axes"].to_string().contains("reversibility"));
    // Probes go on; no second escalation for the same hold.
    let probes = hold["probes"].as_u64().unwrap_or(0);
    wait_for("two more probes", WAIT, || {
        (held(&world)["probes"].as_u64().unwrap_or(0) >= probes + 2).then_some(())
    });
    assert_eq!(limit_escalations(&world).len(), 1);
    assert_eq!(held(&world)["escalation"], raised[0]["id"]);
}

/// A reset time days away is escalated at once (nobody should wait days unasked).
#[test]
fn a_reset_days_away_is_escalated_at_once() {
    let world = world_with("limits:\n  escalate_after_s: 3600\n");
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    let reset = now_s() + 3 * 86_400;
    std::fs::write(&limit, format!("Claude AI usage limit reached|{reset}")).unwrap();
    world.ok(&["tell", "one", "task [[say: T]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(held(&world)["until_ms"].as_u64(), Some(reset * 1000));
    let raised = wait_for("the limit's escalation", WAIT, || {
        let open = limit_escalations(&world);
        (!open.is_empty()).then_some(open)
    });
    assert!(
        raised[0]["summary"]
            .as_str()
            .unwrap()
            .contains("(in 2d 23h)"),
        "{raised:?}"
    );
}

/// A worker killed while held: its queued prompt goes with it, the others continue, and the
/// waiter leaves once the account is free.
#[test]
fn a_worker_killed_while_held_is_passed_over() {
    let world = world(0.5);
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    std::fs::write(&limit, "rate limited").unwrap();
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let told = json(&world.ok(&["--json", "tell", "two", "never [[say: NEVER]]"]));
    assert_eq!(told["queued"], true);
    world.ok(&["kill", "two"]);
    std::fs::remove_file(&limit).unwrap();
    // One's turn continued (the sim answers the continue prompt itself).
    wait_for("one continued", WAIT, || {
        events(&world, "one")
            .into_iter()
            .find(|e| e["event"] == "stop")
    });
    wait_for("the hold gone", WAIT, || {
        held(&world).is_null().then_some(())
    });
    let two = events(&world, "two");
    assert!(
        !two.iter()
            .any(|e| e["event"] == "prompt" || e["event"] == "released"),
        "{two:?}"
    );
}

/// The operator that spends on the held account hears, once the limit lifts, what orch
/// continued.
#[test]
fn the_operator_on_the_account_hears_what_continued() {
    let world = world(0.5);
    let limit = world.root().join("limit");
    spawn_two(&world, &limit);
    // The operator: an orch command run from a pane of its own makes its record.
    let tmux = world.tmux.as_ref().unwrap();
    let pane = tmux
        .run(&["new-window", "-d", "-P", "-F", "#{pane_id}", "cat"])
        .trim()
        .to_string();
    let inbox = || {
        let mut cmd = world.cmd("orch");
        world.in_pane(&mut cmd, &pane).args(["--json", "inbox"]);
        json(&crate::util::run_ok(&mut cmd, None, String::new))
    };
    assert_eq!(inbox(), json("[]"));
    std::fs::write(&limit, "rate limited").unwrap();
    world.ok(&["tell", "one", "task one [[say: ONE]]"]);
    let out = world.orch(&["listen", "one", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    std::fs::remove_file(&limit).unwrap();
    let item = wait_for("the operator's item", WAIT, || {
        inbox()
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["event"] == "released")
            .cloned()
    });
    assert_eq!(item["continued"], serde_json::json!(["w1"]), "{item}");
    assert_eq!(item["workers"], serde_json::json!(["w1", "w2"]), "{item}");
}
