//! End to end on the real Claude Code CLI (installed by `install/test-deps.sh`), talking to the
//! mock model server on 127.0.0.1: `orch up`, spawn two claude workers, tell, listen, ps, kill,
//! `orch down`; folder trust; permission requests; API errors; `/clear`.

use crate::claude::{claude_bin, claude_env, prepare_home, DUMMY_API_KEY};
use crate::mock_model::{last_user_text, MockModel};
use crate::util::{json, output_with_stdin, run_ok, stderr, World};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A world with its own tmux server, a mock model, Claude Code's first-run screens answered
/// for the work folder, and the user's own settings.json (a key and a hook orch must keep).
struct Claude {
    world: World,
    mock: MockModel,
    user_settings: Value,
}

impl Claude {
    fn new() -> Claude {
        let world = World::with_tmux();
        let mock = MockModel::start();
        prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
        let user_settings = serde_json::json!({
            "env": {"ORCH_E2E_USER_KEY": "kept"},
            "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]},
            "includeCoAuthoredBy": false
        });
        std::fs::create_dir_all(world.claude_dir()).unwrap();
        std::fs::write(
            world.settings(),
            serde_json::to_string_pretty(&user_settings).unwrap(),
        )
        .unwrap();
        Claude {
            world,
            mock,
            user_settings,
        }
    }

    /// `orch ARGS` with the world's environment plus what Claude Code needs.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args)
            .envs(claude_env(&self.mock))
            .env("ORCH_CLAUDE_BIN", claude_bin());
        cmd
    }

    /// Runs `orch ARGS` with `stdin` as its input (none: empty).
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        output_with_stdin(&mut self.cmd(args), stdin.unwrap_or("").as_bytes())
    }

    fn ok(&self, args: &[&str]) -> String {
        self.ok_stdin(args, None)
    }

    fn ok_stdin(&self, args: &[&str], stdin: Option<&str>) -> String {
        self.world.expect_ok(args, self.run(args, stdin), "")
    }

    fn spawn(&self, name: &str) -> Value {
        json(&self.ok(&["--json", "spawn", "--name", name]))
    }
}

#[test]
fn two_claude_workers_round_trip_then_kill_and_down() {
    let c = Claude::new();
    let before_up = c.user_settings.clone();
    c.ok(&["up"]);

    let one = c.spawn("one");
    let two = c.spawn("two");
    assert_eq!(one["harness"], "claude");
    assert_ne!(one["pane"], two["pane"]);

    let filler = "Keep $(date) and `id` and $HOME literal; 'single' \"double\" \\ | & ; < > * ?\n";
    let long = format!(
        "Task for two, line one.\n{}last line [[say: REPLY-TWO]]",
        filler.repeat(16)
    );
    assert!(long.len() > 1024 && long.lines().count() > 10);
    let told_one = json(&c.ok(&["--json", "tell", "one", "short task [[say: REPLY-ONE]]"]));
    let told_two = json(&c.ok_stdin(&["--json", "tell", "two", "-"], Some(&long)));
    assert_eq!(told_one["acknowledged"], true);
    assert_eq!(told_two["acknowledged"], true);

    let stop_one = json(&c.ok(&["listen", "one", "--timeout", "60"]));
    let stop_two = json(&c.ok(&["listen", "two", "--timeout", "60"]));
    assert_eq!(stop_one["event"], "stop");
    assert_eq!(stop_one["last_assistant_message"], "REPLY-ONE");
    assert_eq!(stop_two["last_assistant_message"], "REPLY-TWO");
    assert!(stop_two["seq"].as_u64() > told_two["cursor"].as_u64());

    // The long prompt reached the model whole: metacharacters literal, newlines kept.
    let request = c
        .mock
        .wait_request(|body| last_user_text(body).contains("REPLY-TWO"), WAIT);
    let text = last_user_text(&request);
    assert!(
        text.contains(&filler.repeat(16)),
        "prompt arrived altered:\n{text}"
    );

    let rows = json(&c.ok(&["--json", "ps"]));
    let status: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(status, [("one", "idle"), ("two", "idle")]);

    // A listen waiting on a busy worker ends with exit 4 when the worker is killed.
    c.ok(&["tell", "one", "slow [[sleep: 30]] [[say: TOO-LATE]]"]);
    let listen = c
        .cmd(&["listen", "one", "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.ok(&["kill", "one"]);
    let out = listen.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let rows = json(&c.ok(&["--json", "ps", "--all"]));
    assert_eq!(rows[0]["status"], "dead");

    c.ok(&["kill", "two"]);
    c.ok(&["down", "--yes"]);
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(c.world.settings()).unwrap()).unwrap();
    assert_eq!(after, before_up);
    assert!(!c.world.state().exists(), "down removes the state dir");
}

#[test]
fn untrusted_folder_is_reported_fast_and_trust_fixes_it() {
    let c = Claude::new();
    c.ok(&["up"]);
    let untrusted = c.world.root().join("elsewhere");
    std::fs::create_dir_all(&untrusted).unwrap();
    let dir = untrusted.to_str().unwrap();
    let out = c.run(&["spawn", "--name", "stuck", "--cwd", dir], None);
    assert!(!out.status.success());
    let why = stderr(&out);
    assert!(
        why.contains("folder-trust") && why.contains("--trust"),
        "{why}"
    );
    c.ok(&["kill", "stuck"]);

    let w = json(&c.ok(&[
        "--json", "spawn", "--name", "trusted", "--cwd", dir, "--trust",
    ]));
    assert_eq!(w["name"], "trusted");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(c.world.home().join(".claude.json")).unwrap(),
    )
    .unwrap();
    let real = Path::new(dir).canonicalize().unwrap();
    assert_eq!(
        config["projects"][real.to_str().unwrap()]["hasTrustDialogAccepted"],
        true
    );
    c.ok(&["tell", "trusted", "hello [[say: TRUSTED]]"]);
    let stop = json(&c.ok(&["listen", "trusted", "--timeout", "60"]));
    assert_eq!(stop["last_assistant_message"], "TRUSTED");
}

#[test]
fn claude_takes_every_prompt_shape_once() {
    let c = Claude::new();
    c.ok(&["up"]);
    c.spawn("shapes");
    let told = crate::fidelity::tell_corpus("shapes", &|args, stdin| c.run(args, stdin), &|| {
        c.mock.requests().iter().map(last_user_text).collect()
    });
    // What Claude Code does to a paste (2.1.197 and 2.1.332 alike): tabs become 4 spaces,
    // Unicode becomes NFC; tell acknowledged each all the same and says so.
    let changes = |label| crate::fidelity::changes_of(&told, label);
    assert!(changes("a tab inside a line").contains(&"tabs-expanded".to_string()));
    assert!(changes("decomposed Unicode").contains(&"unicode-nfc".to_string()));
    assert!(changes("quotes and shell metacharacters").is_empty());
}

#[test]
fn permission_request_error_and_clear_are_recorded() {
    let c = Claude::new();
    c.ok(&["up"]);
    // Claude Code's own permission dialog: the default mode up to 2.1.197; 2.1.332 starts in
    // auto mode unless told otherwise (see the next test).
    c.ok(&[
        "spawn",
        "--name",
        "perm",
        "--",
        "--permission-mode",
        "default",
    ]);

    // A command that needs approval: PermissionRequest arrives at once with the tool input,
    // and since it trips reversibility the hook escalates it to the parent.
    c.ok(&[
        "tell",
        "perm",
        "ship it [[bash: git push --force origin main]]",
    ]);
    let asked = json(&c.ok(&[
        "listen",
        "perm",
        "--event",
        "notification",
        "--timeout",
        "60",
    ]));
    assert_eq!(asked["event"], "permission_request");
    assert_eq!(asked["tool_name"], "Bash");
    assert_eq!(
        asked["tool_input"]["command"],
        "git push --force origin main"
    );
    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "needs-input");
    let open = crate::util::wait_for("the permission escalation", WAIT, || {
        let open = json(&c.ok(&["--json", "escalations", "--open"]));
        (!open.as_array().unwrap().is_empty()).then_some(open)
    });
    assert_eq!(open[0]["source"], "permission");
    assert_eq!(open[0]["axes"], serde_json::json!(["reversibility"]));
    c.ok(&["interrupt", "perm"]);

    // An API error ends the stop wait with exit 5.
    c.ok(&["tell", "perm", "fail now [[error: 500]]"]);
    let out = c.run(&["listen", "perm", "--timeout", "60"], None);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}\n{}",
        stderr(&out),
        c.world.screens()
    );

    // /clear starts a new session in the same pane; orch follows it.
    let cleared = json(&c.ok(&["--json", "tell", "perm", "--command", "/clear"]));
    let cursor = cleared["cursor"].as_u64().unwrap();
    let started = json(&c.ok(&[
        "listen",
        "perm",
        "--event",
        "any",
        "--after",
        &cursor.to_string(),
        "--timeout",
        "60",
    ]));
    let started = if started["event"] == "session_start" {
        started
    } else {
        json(&c.ok(&[
            "listen",
            "perm",
            "--event",
            "any",
            "--after",
            &started["seq"].to_string(),
            "--timeout",
            "60",
        ]))
    };
    assert_eq!(started["event"], "session_start");
    assert_eq!(started["source"], "clear");
    c.ok(&["tell", "perm", "after clear [[say: FRESH]]"]);
    let stop = json(&c.ok(&["listen", "perm", "--timeout", "60"]));
    assert_eq!(stop["last_assistant_message"], "FRESH");
}

/// In its default permission mode a worker that waits for the person is `needs-input`: up to
/// Claude Code 2.1.197 a permission dialog (PermissionRequest), from 2.1.332 auto mode, which
/// cannot reach its server-side check through the mock and asks the person what to do (a
/// Notification `agent_needs_input`, no PermissionRequest).
#[test]
fn a_worker_asking_the_person_is_needs_input_in_the_default_mode() {
    let c = Claude::new();
    c.ok(&["up"]);
    c.spawn("asks");
    c.ok(&[
        "tell",
        "asks",
        "ship it [[bash: git push --force origin main]]",
    ]);
    let asked = json(&c.ok(&[
        "listen",
        "asks",
        "--event",
        "notification",
        "--timeout",
        "60",
    ]));
    match asked["event"].as_str() {
        Some("permission_request") => assert_eq!(asked["tool_name"], "Bash"),
        Some("notification") => assert_eq!(asked["notification_type"], "agent_needs_input"),
        _ => panic!("neither a permission request nor a notice: {asked}"),
    }
    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "needs-input", "{rows}");
    c.ok(&["interrupt", "asks"]);
    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "idle", "{rows}");
}

/// Single-quotes `s` for /bin/sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Claude {
    /// Starts an interactive Claude Code that orch did not spawn, as a person's operator
    /// session: its own tmux window, a clean environment that keeps `TMUX` and `TMUX_PANE`
    /// (as a real operator pane has them). Returns its pane once its prompt shows.
    fn start_operator(&self) -> String {
        self.start_operator_with(&[])
    }

    /// [`Claude::start_operator`] with extra arguments for `claude`, and orch's executables on
    /// its PATH (as after an install) so that its Bash tool can run `orch`.
    fn start_operator_with(&self, args: &[&str]) -> String {
        let tmux = self.world.tmux.as_ref().unwrap();
        let bin_dir = crate::util::exe("orch")
            .parent()
            .unwrap()
            .display()
            .to_string();
        let mut vars: Vec<String> = self
            .world
            .env()
            .into_iter()
            .chain(claude_env(&self.mock))
            .filter(|(k, _)| k != "ORCH_TMUX_SOCKET")
            .map(|(k, v)| match k.as_str() {
                "PATH" => (k, format!("{bin_dir}:{v}")),
                _ => (k, v),
            })
            .map(|(k, v)| sh_quote(&format!("{k}={v}")))
            .collect();
        vars.push(r#"TMUX="$TMUX""#.into());
        vars.push(r#"TMUX_PANE="$TMUX_PANE""#.into());
        let extra: Vec<String> = args.iter().map(|a| sh_quote(a)).collect();
        let script = format!(
            "exec env -i {} {} {}",
            vars.join(" "),
            sh_quote(&claude_bin().display().to_string()),
            extra.join(" ")
        );
        let work = self.world.work().display().to_string();
        let pane = tmux
            .run(&[
                "new-window",
                "-d",
                "-P",
                "-F",
                "#{pane_id}",
                "-c",
                &work,
                &script,
            ])
            .trim()
            .to_string();
        crate::claude::wait_tui_ready(&self.world, &pane, WAIT);
        pane
    }

    /// Runs `orch ARGS` as typed in `pane` by its agent (with that pane's `TMUX`/`TMUX_PANE`).
    fn ok_in_pane(&self, pane: &str, args: &[&str]) -> String {
        run_ok(self.world.in_pane(&mut self.cmd(args), pane), None, || {
            format!("in {pane}")
        })
    }
}

#[test]
fn subscribed_claude_workers_hear_a_stop_mid_turn_and_when_idle() {
    let c = Claude::new();
    c.ok(&["up"]);
    c.spawn("publisher");
    c.spawn("busy");
    c.spawn("idle");
    c.ok(&["subscribe", "publisher", "--to", "busy", "--events", "stop"]);
    c.ok(&["subscribe", "publisher", "--to", "idle", "--events", "stop"]);

    // `busy` is mid-turn (the model takes 8 s) when the publisher stops.
    c.ok(&["tell", "busy", "long job [[sleep: 8]] [[say: BUSY-DONE]]"]);
    c.ok(&["tell", "publisher", "quick [[say: PUBLISHED-NEWS]]"]);
    let published = json(&c.ok(&["listen", "publisher", "--timeout", "60"]));
    assert_eq!(published["last_assistant_message"], "PUBLISHED-NEWS");

    // The idle one gets a notice typed into its pane: its next request carries it.
    let to_idle = c.mock.wait_request(
        |b| {
            let t = last_user_text(b);
            t.contains("[orch inbox]") && t.contains("PUBLISHED-NEWS")
        },
        WAIT,
    );
    assert!(last_user_text(&to_idle).contains("publisher) finished a turn"));

    // The busy one's Stop is blocked with the digest; the model's next request carries it.
    let stop = json(&c.ok(&["listen", "busy", "--timeout", "60"]));
    assert_eq!(
        stop["stop_hook_active"],
        true,
        "{stop}\n{}",
        c.world.screens()
    );
    let to_busy = c.mock.wait_request(
        |b| {
            let t = last_user_text(b);
            t.contains("Stop hook feedback") && t.contains("PUBLISHED-NEWS")
        },
        WAIT,
    );
    assert!(last_user_text(&to_busy).contains("1 new item"));
    let busy_events = c.ok(&["events", "busy"]);
    assert_eq!(busy_events.matches("\"stop_blocked\"").count(), 1);
}

#[test]
fn operator_pane_is_woken_and_escalations_round_trip() {
    let c = Claude::new();
    c.ok(&["up"]);
    let operator = c.start_operator();
    let worker = c.spawn("engineer");
    let id = worker["id"].as_str().unwrap();
    let sub = json(&c.ok_in_pane(&operator, &["--json", "subscribe", "engineer"]));
    let op = sub["subscriber"].as_str().unwrap().to_string();

    // A worker's Stop wakes the operator's own Claude session: a notice is typed into it.
    c.ok(&["tell", "engineer", "build it [[say: ENGINEER-READY]]"]);
    let woke = c.mock.wait_request(
        |b| {
            let t = last_user_text(b);
            t.contains("[orch inbox]") && t.contains("ENGINEER-READY")
        },
        WAIT,
    );
    assert!(last_user_text(&woke).contains("engineer) finished a turn"));
    // The operator's session is now attributed by its pane: its turn is recorded.
    crate::util::wait_for("the operator's stop", WAIT, || {
        c.ok(&["events", &op]).contains("\"stop\"").then_some(())
    });

    // The worker escalates (as its Bash tool would run it); the operator hears of it.
    let mut escalate = c.cmd(&[
        "escalate",
        "--axis",
        "reversibility",
        "--summary",
        "drop the users table?",
        "--option",
        "yes",
        "--option",
        "no",
    ]);
    let esc = run_ok(escalate.env("ORCH_WORKER", id), None, String::new)
        .trim()
        .to_string();
    let inbox = json(&c.ok(&["--json", "inbox", "operator"]));
    assert!(
        inbox
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["escalation"] == esc.as_str()),
        "{inbox}"
    );

    // The decision is told to the worker: its next model request contains it.
    c.ok(&["decide", &esc, "no: archive it instead"]);
    c.mock.wait_request(
        |b| last_user_text(b).contains("no: archive it instead"),
        WAIT,
    );
    let listed = json(&c.ok(&["--json", "escalations"]));
    assert_eq!(listed[0]["status"], "decided");
}

#[test]
fn an_outfit_reaches_the_model_and_leaves_global_settings_alone() {
    let c = Claude::new();
    c.ok(&["up"]);
    let before = std::fs::read(c.world.settings()).unwrap();
    let outfits = c.world.work().join(".orch/outfits");
    let skill = outfits.join("skills/probe");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: outfit-probe\ndescription: Use when the task mentions OUTFIT-PROBE-SKILL.\n---\nSay OUTFIT-PROBE-BODY.\n",
    )
    .unwrap();
    let fired = c.world.root().join("outfit-hook-fired");
    std::fs::write(
        outfits.join("tester.yaml"),
        format!(
            "name: tester\nversion: \"2\"\nharness: claude\nmodel: claude-sonnet-4-5-20250929\n\
             system_prompt: You are OUTFIT-SYSTEM-PROMPT-MARKER.\n\
             tools: {{allow: [\"Bash(echo *)\"], deny: [WebFetch]}}\n\
             skills: [skills/probe]\n\
             hooks: {{Stop: [{{hooks: [{{type: command, command: \"touch {}\"}}]}}]}}\n\
             env: {{OUTFIT_VAR: from-outfit}}\n\
             prompt_template: \"{{{{task}}}} [[say: OUTFIT-DONE]]\"\n",
            fired.display()
        ),
    )
    .unwrap();
    let w = json(&c.ok(&[
        "--json", "spawn", "--name", "dressed", "--outfit", "tester", "--task", "greet",
    ]));
    assert_eq!(w["name"], "dressed");
    let stop = json(&c.ok(&["listen", "dressed", "--timeout", "60"]));
    assert_eq!(stop["last_assistant_message"], "OUTFIT-DONE");

    let request = c
        .mock
        .wait_request(|b| last_user_text(b).contains("greet"), WAIT);
    assert_eq!(request["model"], "claude-sonnet-4-5-20250929");
    assert!(
        request["system"]
            .to_string()
            .contains("OUTFIT-SYSTEM-PROMPT-MARKER"),
        "system prompt missing"
    );
    let tools: Vec<&str> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(
        tools.contains(&"Bash") && !tools.contains(&"WebFetch"),
        "{tools:?}"
    );
    assert!(
        request.to_string().contains("OUTFIT-PROBE-SKILL"),
        "skill not listed"
    );
    crate::util::wait_for("the outfit's Stop hook", WAIT, || {
        fired.exists().then_some(())
    });
    assert_eq!(
        std::fs::read(c.world.settings()).unwrap(),
        before,
        "global settings untouched"
    );
    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["outfit"], "tester");
}

/// The operator, a real Claude Code in its own pane, runs two recipes from the orch-recipes
/// skill; the mock plays the operator's model and emits the Bash tool calls the recipes
/// prescribe. The workers exist in the right outfits, a worker's Stop wakes the operator, a
/// researcher's brief reaches the planner, and the audit log holds the whole story.
#[test]
fn the_operator_runs_two_recipes_and_is_woken_by_a_workers_stop() {
    let c = Claude::new();
    c.ok(&["up"]);
    let operator = c.start_operator_with(&["--allowedTools", "Bash(orch *)"]);
    let step = |n: usize, command: &str| {
        // Regression: a step typed while the operator still ran a turn (the previous step's,
        // or one its Stop hook had extended to hand it inbox news) was queued or folded into
        // that turn, came back into the input box and went again with the next step. A person
        // waits for the turn to end: so does the test, by the operator's screen (no running
        // turn, empty box) and, once orch knows its pane, by its own events.
        crate::claude::wait_tui_idle(&c.world, &operator, WAIT);
        crate::util::wait_for("the operator to end its turn", WAIT, || {
            let out = c.run(&["events", &operator], None);
            let text = String::from_utf8_lossy(&out.stdout);
            let last = text.lines().rev().map(json).find(|e| {
                matches!(
                    e["event"].as_str(),
                    Some("prompt" | "stop" | "stop_blocked" | "stop_failure")
                )
            });
            let idle = !out.status.success()
                || last
                    .is_none_or(|e| matches!(e["event"].as_str(), Some("stop" | "stop_failure")));
            idle.then_some(())
        });
        let marker = format!("STEP-{n}");
        let text = format!("{marker} [[bash: {command}]]");
        crate::claude::submit_prompt(&c.world, &operator, &text, WAIT, || {
            c.mock
                .requests()
                .iter()
                .any(|b| last_user_text(b).contains(&marker))
        });
        // The tool ran and its result went back to the model (a request whose last user
        // message holds no text of the person's): the step is done.
        c.mock.wait_request(
            |b| b["messages"].to_string().contains(&marker) && last_user_text(b).is_empty(),
            WAIT,
        );
    };

    // "Fire a reviewer on the last commit": spawn, subscribe, then give it the task.
    step(
        1,
        "orch spawn --outfit reviewer --harness sim --name review-head",
    );
    step(2, "orch subscribe review-head --events stop");
    step(
        3,
        "orch tell review-head 'Review the last commit: git show HEAD'",
    );
    let woke = c.mock.wait_request(
        |b| {
            // Typed as a notice when the operator is idle, or handed over by its Stop hook
            // when the news arrives mid-turn: either way its next request carries it.
            let t = last_user_text(b);
            (t.contains("[orch inbox]") || t.contains("new item in your inbox"))
                && t.contains("review-head) finished a turn")
        },
        WAIT,
    );
    assert!(last_user_text(&woke).contains("Review the last commit"));

    // "Have a researcher dig into X and brief the planner".
    step(
        4,
        "orch spawn --outfit planner --harness sim --name planner",
    );
    step(
        5,
        "orch spawn --outfit researcher --harness sim --name researcher",
    );
    step(6, "orch subscribe researcher --to planner --events stop");
    step(
        7,
        "orch tell researcher 'Research how Stripe retries webhooks'",
    );
    crate::util::wait_or_explain(
        "the planner to hear the researcher",
        WAIT,
        || {
            let events = c.ok(&["events", "planner"]);
            events
                .lines()
                .any(|l| l.contains("\"stop\"") && l.contains("researcher) finished a turn"))
                .then_some(())
        },
        || {
            // What each step's command printed, as the operator's Bash tool returned it.
            let results: Vec<String> = c
                .mock
                .requests()
                .iter()
                .filter_map(|b| {
                    let text = b["messages"].to_string();
                    text.contains("tool_result").then(|| {
                        let at = text.rfind("tool_result").unwrap_or(0);
                        text[at..].chars().take(400).collect()
                    })
                })
                .collect();
            format!("tool results: {results:#?}\n{}", c.world.explain())
        },
    );

    let rows = json(&c.ok(&["--json", "ps"]));
    let outfit_of = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["outfit"].clone())
            .unwrap_or_default()
    };
    assert_eq!(outfit_of("review-head"), "reviewer");
    assert_eq!(outfit_of("planner"), "planner");
    assert_eq!(outfit_of("researcher"), "researcher");
    let audit = json(&c.ok(&["--json", "audit"]));
    let count = |action: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == "ok")
            .count()
    };
    assert_eq!(count("spawn"), 3, "{audit}");
    assert_eq!(count("subscribe"), 2, "{audit}");
    assert!(count("tell") >= 2, "{audit}");
}

/// Two Claude Code workers on one account meet a usage limit (the mock answers every request
/// with a 429 `rate_limit_error` while it is on): the turn that meets it ends in a StopFailure
/// `rate_limit`, `listen` exits 7, both workers are limited, a tell to the other is queued;
/// once the limit is off, the probe continues the first turn and the queued prompt reaches the
/// model once, after the limit.
#[test]
fn claude_workers_ride_out_a_usage_limit() {
    let c = Claude::new();
    crate::limits::probe_fast(&c.world.home(), 1.0);
    c.ok(&["up"]);
    c.spawn("one");
    c.spawn("two");
    c.mock.limit(Some(
        "This request would exceed your account's rate limit. Please try again later.",
    ));
    c.ok(&["tell", "one", "task one [[say: ONE-DONE]]"]);
    let out = c.run(&["listen", "one", "--timeout", "120"], None);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    let failed = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(failed["error"], "rate_limit", "{failed}");
    let rows = json(&c.ok(&["--json", "ps"]));
    let statuses: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["limited", "limited"], "{rows}");
    let queued = json(&c.ok(&["--json", "tell", "two", "task two [[say: TWO-DONE]]"]));
    assert_eq!(queued["queued"], true, "{queued}");
    let during = c.mock.limited();
    c.mock.limit(None);

    let stop = json(&c.ok(&[
        "listen",
        "two",
        "--after",
        &queued["cursor"].to_string(),
        "--timeout",
        "120",
    ]));
    assert_eq!(stop["last_assistant_message"], "TWO-DONE", "{stop}");
    let continued = json(&c.ok(&[
        "listen",
        "one",
        "--after",
        &failed["seq"].to_string(),
        "--timeout",
        "120",
    ]));
    // Claude Code kept the failed prompt in its conversation: the continue went to the model
    // in the same user message, whose directive answers it.
    assert_eq!(
        continued["last_assistant_message"], "ONE-DONE",
        "{continued}"
    );
    let asked = |needle: &str| {
        c.mock
            .requests()
            .iter()
            .filter(|r| last_user_text(r).contains(needle))
            .count()
    };
    assert_eq!(
        asked("task two"),
        1,
        "the queued task reached the model once"
    );
    assert_eq!(
        asked("task one"),
        1,
        "the first task reached the model once, continued"
    );
    assert!(
        during <= 4,
        "{during} requests met the limit before it lifted"
    );
}

/// A permission dialog of the real Claude Code answered from the phone: the page carries
/// `allow once` and `deny` buttons, the answer published to the reply topic reaches the
/// dialog through orch's PermissionRequest hook (the tool runs, or the model is told it was
/// denied), a forged or replayed answer is refused, and a dialog answered in the pane lets the
/// waiting hook go.
#[test]
fn a_permission_dialog_is_answered_from_the_phone_through_the_hook() {
    use crate::notify::{
        configure_text, hook_waits, page_with_buttons, publish_answer, refusals, stops_after, Push,
    };
    let c = Claude::new();
    let push = Push::start();
    let reply = format!("      reply: {}\n", push.url("/answers"));
    configure_text(&c.world.home(), &push, "  grace_s: 0\n", "", &reply);
    c.ok(&["up"]);
    let spawned = json(&c.ok(&[
        "--json",
        "spawn",
        "--name",
        "perm",
        "--",
        "--permission-mode",
        "default",
    ]));
    let asked_at = |after: usize| {
        page_with_buttons(&push, "perm needs you", after)["body"]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["body"].as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    let waits = || {
        crate::util::wait_or_explain(
            "orch's hook to wait on the answer",
            WAIT,
            || hook_waits(&c.world, "w1").then_some(()),
            || c.world.screens(),
        )
    };

    // Allow once: the tool runs.
    c.ok(&["tell", "perm", "run it [[bash: python3 -c \"print(6*7)\"]]"]);
    let buttons = asked_at(0);
    assert_eq!(buttons.len(), 2);
    waits();
    publish_answer(
        &push,
        buttons[0]
            .split(' ')
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
            .as_str(),
    );
    crate::util::wait_for("the forged answer's refusal", WAIT, || {
        (!refusals(&c.world).is_empty()).then_some(())
    });
    assert!(
        hook_waits(&c.world, "w1"),
        "a forged answer answers nothing"
    );
    publish_answer(&push, &buttons[0]);
    let stop = crate::util::wait_or_explain(
        "the allowed turn's end",
        WAIT,
        || stops_after(&c.world, "perm", 0).into_iter().next(),
        || c.world.screens(),
    );
    assert_eq!(stop["last_assistant_message"], "MOCK: bash finished: 42");
    publish_answer(&push, &buttons[0]);

    // Deny: the tool does not run and the model is told why.
    let sent = push.requests().len();
    c.ok(&[
        "tell",
        "perm",
        "run that [[bash: python3 -c \"print(7*8)\"]]",
    ]);
    let buttons = asked_at(sent);
    waits();
    publish_answer(&push, &buttons[1]);
    let cursor = stop["seq"].as_u64().unwrap();
    let stop = crate::util::wait_or_explain(
        "the denied turn's end",
        WAIT,
        || stops_after(&c.world, "perm", cursor).into_iter().next(),
        || c.world.screens(),
    );
    let said = stop["last_assistant_message"].as_str().unwrap();
    assert!(
        said.contains("denied this from outside the terminal"),
        "{said}"
    );
    assert!(!said.contains("56"), "the tool ran: {said}");
    // The replayed allow of the first dialog was refused too.
    assert!(refusals(&c.world).len() >= 2, "{:?}", refusals(&c.world));

    // Answered in the pane: the hook lets go (Claude Code 2.1.332 ends it, with 2.1.197 it
    // sees the turn end).
    c.ok(&[
        "tell",
        "perm",
        "and this [[bash: python3 -c \"print(2*3)\"]]",
    ]);
    waits();
    let pane = spawned["pane"].as_str().unwrap();
    crate::util::wait_for("the dialog on screen", WAIT, || {
        let screen = c.world.tmux.as_ref().unwrap().capture(pane);
        screen.contains("Do you want to proceed?").then_some(())
    });
    // A dialog takes keys only a moment after it shows (Claude Code 2.1.332 drops an Enter
    // that comes at once): Enter is pressed until the turn goes on.
    let cursor = stop["seq"].as_u64().unwrap();
    let mut pressed = std::time::Instant::now() - WAIT;
    let stop = crate::util::wait_or_explain(
        "the turn answered in the pane to end",
        WAIT,
        || {
            let screen = c.world.tmux.as_ref().unwrap().capture(pane);
            if screen.contains("Do you want to proceed?")
                && pressed.elapsed() > Duration::from_secs(1)
            {
                c.world
                    .tmux
                    .as_ref()
                    .unwrap()
                    .run(&["send-keys", "-t", pane, "Enter"]);
                pressed = std::time::Instant::now();
            }
            stops_after(&c.world, "perm", cursor).into_iter().next()
        },
        || c.world.screens(),
    );
    assert_eq!(stop["last_assistant_message"], "MOCK: bash finished: 6");
    crate::util::wait_for("the hook to let go", WAIT, || {
        (!hook_waits(&c.world, "w1")).then_some(())
    });
    let answers = c.ok(&["events", "perm"]);
    assert_eq!(answers.matches("permission_answer").count(), 2, "{answers}");
}
