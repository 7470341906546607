//! `orch-sim` in a real tmux pane of a private server: keys go in through tmux the way
//! `orch tell` sends them, and the hook payloads come out through a dump hook that appends
//! each one as a line to `events.jsonl`.

use crate::util::{exe, wait_for, World};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

use orch::claude::settings::EVENTS;

/// A running sim in its own pane.
struct Sim {
    world: World,
    pane: String,
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn name(event: &Value) -> &str {
    event["hook_event_name"].as_str().unwrap_or("")
}

impl Sim {
    /// Starts `orch-sim --settings <dump hooks> ARGS` in a new window; `extra` adds hooks as
    /// (event, command) pairs to the same settings file.
    fn start(extra: &[(&str, &str)], args: &[&str]) -> Sim {
        Sim::start_in(World::with_tmux(), extra, args)
    }

    fn start_in(world: World, extra: &[(&str, &str)], args: &[&str]) -> Sim {
        let dump = world.root().join("dump.sh");
        script(
            &dump,
            "payload=$(cat)\nprintf '%s\\n' \"$payload\" >> \"$(dirname \"$0\")/events.jsonl\"",
        );
        let mut hooks = serde_json::Map::new();
        let entry = |command: &str| serde_json::json!({"type": "command", "command": command});
        for event in EVENTS {
            hooks.insert(
                event.into(),
                serde_json::json!([{"hooks": [entry(dump.to_str().unwrap())]}]),
            );
        }
        for (event, command) in extra {
            hooks
                .entry(event.to_string())
                .or_insert_with(|| serde_json::json!([]))
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({"matcher": "", "hooks": [entry(command)]}));
        }
        let settings = world.root().join("sim-settings.json");
        std::fs::write(&settings, serde_json::json!({ "hooks": hooks }).to_string()).unwrap();

        let mut argv: Vec<String> = ["new-window", "-d", "-P", "-F", "#{pane_id}", "-c"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        argv.push(world.work().display().to_string());
        argv.extend(["--".into(), "env".into(), "-i".into()]);
        for (key, value) in world.env() {
            argv.push(format!("{key}={value}"));
        }
        argv.push(format!(
            "CLAUDE_CONFIG_DIR={}",
            world.claude_dir().display()
        ));
        argv.push(exe("orch-sim").display().to_string());
        argv.push("--settings".into());
        argv.push(settings.display().to_string());
        argv.extend(args.iter().map(|s| s.to_string()));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let pane = world.tmux.as_ref().unwrap().run(&argv).trim().to_string();
        assert!(pane.starts_with('%'), "no pane id: {pane:?}");
        Sim { world, pane }
    }

    fn tmux(&self, args: &[&str]) -> String {
        self.world.tmux.as_ref().unwrap().run(args)
    }

    fn capture(&self) -> String {
        self.world.tmux.as_ref().unwrap().capture(&self.pane)
    }

    /// `send-keys -t PANE KEYS...` (tmux key names, e.g. `Enter`, `Escape`, `C-u`).
    fn keys(&self, keys: &[&str]) {
        let mut argv = vec!["send-keys", "-t", &self.pane];
        argv.extend(keys);
        self.tmux(&argv);
    }

    /// Pastes `text` as `orch tell` does: `load-buffer` from stdin, then `paste-buffer -p -d`.
    fn paste(&self, text: &str) {
        let socket = &self.world.tmux.as_ref().unwrap().socket;
        let buffer = crate::util::unique("sim-paste");
        let out = crate::util::output_with_stdin(
            Command::new("tmux")
                .args(["-L", socket, "load-buffer", "-b", &buffer, "-"])
                .env_remove("TMUX"),
            text.as_bytes(),
        );
        assert!(out.status.success(), "load-buffer failed");
        self.tmux(&["paste-buffer", "-p", "-d", "-b", &buffer, "-t", &self.pane]);
    }

    /// Pastes `text`, presses Enter in a separate call, and waits for its UserPromptSubmit.
    fn tell(&self, text: &str) -> Value {
        self.paste(text);
        self.keys(&["Enter"]);
        self.wait_event("UserPromptSubmit with the prompt", |e| {
            name(e) == "UserPromptSubmit" && e["prompt"] == text
        })
    }

    fn events_file(&self) -> PathBuf {
        self.world.root().join("events.jsonl")
    }

    /// The payloads written so far (complete lines only).
    fn events(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.events_file()).unwrap_or_default();
        let complete = text.rsplit_once('\n').map_or("", |(done, _)| done);
        complete
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    /// Waits until `check` holds for the list of payloads, and returns it.
    fn wait_events(&self, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        wait_for(what, WAIT, || {
            let events = self.events();
            check(&events).then_some(events)
        })
    }

    /// Waits for the first payload matching `check`.
    fn wait_event(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        wait_for(what, WAIT, || self.events().into_iter().find(|e| check(e)))
    }

    fn wait_started(&self) -> Value {
        self.wait_event("SessionStart", |e| name(e) == "SessionStart")
    }

    fn stops(&self) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| name(e) == "Stop")
            .collect()
    }

    /// The last non-empty line of the screen (the input box).
    fn box_line(&self) -> String {
        let screen = self.capture();
        let last = screen.lines().rev().find(|l| !l.trim().is_empty());
        last.unwrap_or("").trim_end().to_string()
    }
}

#[test]
fn sim_session_start_fires_with_claude_payload_and_env() {
    let world = World::with_tmux();
    let env_file = world.root().join("env.txt");
    let env_hook = format!(
        "printf '%s|%s|%s\\n' \"$CLAUDE_CODE_SESSION_ID\" \"$CLAUDECODE\" \"$CLAUDE_PROJECT_DIR\" > '{}'",
        env_file.display()
    );
    let sid = "11111111-2222-4333-8444-555555555555";
    let sim = Sim::start_in(
        world,
        &[("SessionStart", &env_hook)],
        &[
            "--session-id",
            sid,
            "--name",
            "w1",
            "--model",
            "m1",
            "--verbose",
        ],
    );
    let start = sim.wait_started();
    let work = sim.world.work().display().to_string();
    assert_eq!(start["session_id"], sid);
    assert_eq!(start["cwd"], work.as_str());
    assert_eq!(start["source"], "startup");
    assert_eq!(start["model"], "m1");
    assert!(start.get("prompt_id").is_none());
    let transcript = start["transcript_path"].as_str().unwrap();
    assert!(
        transcript.ends_with(&format!("/projects/sim/{sid}.jsonl")),
        "{transcript}"
    );
    let env = wait_for("the env hook's file", WAIT, || {
        std::fs::read_to_string(&env_file)
            .ok()
            .filter(|t| t.ends_with('\n'))
    });
    assert_eq!(env.trim_end(), format!("{sid}|1|{work}"));
    let screen = wait_for("the banner and the note", WAIT, || {
        let screen = sim.capture();
        (screen.contains(&format!("orch sim w1 · session {sid}"))
            && screen.contains("ignoring arguments: --verbose"))
        .then_some(screen)
    });
    assert!(screen.contains("❯"), "{screen}");
}

#[test]
fn sim_bracketed_paste_then_enter_submits_the_exact_text() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    let mut text =
        String::from("first line with \"double\" and 'single' quotes, $(date) and `id`\n");
    text.push_str("tab\there, backslash \\n, unicode ❯ é 中\n\n");
    for i in 0..30 {
        text.push_str(&format!(
            "filler line {i:02} to get past one kilobyte of prompt text\n"
        ));
    }
    text.push_str("last line [[say: PASTE-REPLY]]");
    assert!(text.len() > 1024);

    let submit = sim.tell(&text);
    assert_eq!(submit["prompt"], text.as_str());
    assert_eq!(submit["permission_mode"], "default");
    let stop = sim.wait_event("Stop", |e| name(e) == "Stop");
    assert_eq!(stop["last_assistant_message"], "PASTE-REPLY");
    assert_eq!(stop["stop_hook_active"], false);
    assert_eq!(stop["prompt_id"], submit["prompt_id"]);
    assert_eq!(stop["session_id"], submit["session_id"]);
    assert_eq!(stop["background_tasks"], serde_json::json!([]));
}

#[test]
fn sim_enter_on_empty_box_fires_nothing() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    sim.keys(&["Enter"]);
    sim.keys(&["Enter"]);
    // The prompt's keys come after both Enters: had an Enter submitted anything, its
    // UserPromptSubmit would be in the file before this prompt's Stop.
    sim.tell("after empty enters [[say: AFTER]]");
    let events = sim.wait_events("the Stop", |events| {
        events.iter().any(|e| name(e) == "Stop")
    });
    let names: Vec<&str> = events.iter().map(name).collect();
    assert_eq!(names, ["SessionStart", "UserPromptSubmit", "Stop"]);
    assert_eq!(events[2]["last_assistant_message"], "AFTER");
}

#[test]
fn sim_escape_during_sleep_fires_no_stop_and_puts_the_prompt_back() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    let slow = "slow [[sleep: 5]] [[say: SLOW]]";
    sim.tell(slow);
    sim.keys(&["Escape"]);
    wait_for("the prompt back in the box", WAIT, || {
        (sim.box_line() == format!("❯ {slow}")).then_some(())
    });
    sim.keys(&["C-u"]);
    wait_for("an empty box", WAIT, || {
        (sim.box_line() == "❯").then_some(())
    });
    // Were the slow turn still running, this prompt would be queued behind it and its Stop
    // would come after SLOW's.
    sim.tell("fast [[say: FAST]]");
    sim.wait_event("FAST's Stop", |e| name(e) == "Stop");
    let stops = sim.stops();
    assert_eq!(stops.len(), 1, "{stops:?}");
    assert_eq!(stops[0]["last_assistant_message"], "FAST");
}

#[test]
fn sim_blocking_stop_hook_runs_another_turn() {
    let world = World::with_tmux();
    let block = world.root().join("block.sh");
    script(
        &block,
        "if grep -q '\"last_assistant_message\":\"FIRST\"'; then\n  \
         printf '{\"decision\":\"block\",\"reason\":\"[[say: SECOND]] keep going\"}\\n'\nfi",
    );
    let sim = Sim::start_in(world, &[("Stop", block.to_str().unwrap())], &[]);
    sim.wait_started();
    let submit = sim.tell("first [[say: FIRST]]");
    let events = sim.wait_events("two Stops", |events| {
        events.iter().filter(|e| name(e) == "Stop").count() >= 2
    });
    let stops: Vec<&Value> = events.iter().filter(|e| name(e) == "Stop").collect();
    assert_eq!(stops[0]["stop_hook_active"], false);
    assert_eq!(stops[0]["last_assistant_message"], "FIRST");
    assert_eq!(stops[1]["stop_hook_active"], true);
    assert_eq!(stops[1]["last_assistant_message"], "SECOND");
    assert_eq!(stops[1]["prompt_id"], submit["prompt_id"]);
    // The hook let SECOND's Stop through: the next prompt is not queued behind more turns.
    sim.tell("third [[say: THIRD]]");
    sim.wait_event("THIRD's Stop", |e| e["last_assistant_message"] == "THIRD");
    assert_eq!(sim.stops().len(), 3);
}

#[test]
fn sim_stop_hook_exit_2_blocks_with_its_stderr() {
    let world = World::with_tmux();
    let block = world.root().join("block.sh");
    script(
        &block,
        "if grep -q '\"stop_hook_active\":false'; then echo '[[say: AGAIN]]' >&2; exit 2; fi",
    );
    let sim = Sim::start_in(world, &[("Stop", block.to_str().unwrap())], &[]);
    sim.wait_started();
    sim.tell("go [[say: ONCE]]");
    let events = sim.wait_events("two Stops", |events| {
        events.iter().filter(|e| name(e) == "Stop").count() >= 2
    });
    let stops: Vec<&Value> = events.iter().filter(|e| name(e) == "Stop").collect();
    assert_eq!(stops[0]["last_assistant_message"], "ONCE");
    assert_eq!(stops[1]["last_assistant_message"], "AGAIN");
    assert_eq!(stops[1]["stop_hook_active"], true);
}

#[test]
fn sim_prompt_during_a_turn_is_queued_until_its_stop() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    sim.tell("one [[sleep: 1]] [[say: ONE]]");
    sim.paste("two [[say: TWO]]");
    sim.keys(&["Enter"]);
    let events = sim.wait_events("two Stops", |events| {
        events.iter().filter(|e| name(e) == "Stop").count() >= 2
    });
    let seen: Vec<String> = events
        .iter()
        .map(|e| match name(e) {
            "UserPromptSubmit" => format!("submit {}", e["prompt"].as_str().unwrap()),
            "Stop" => format!("stop {}", e["last_assistant_message"].as_str().unwrap()),
            other => other.to_string(),
        })
        .collect();
    assert_eq!(
        seen,
        [
            "SessionStart",
            "submit one [[sleep: 1]] [[say: ONE]]",
            "stop ONE",
            "submit two [[say: TWO]]",
            "stop TWO"
        ]
    );
}

#[test]
fn sim_permission_prompt_waits_for_approval() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    let submit = sim.tell(r#"[[permission: Bash {"command":"ls"}]] [[say: ALLOWED]]"#);
    let notification = sim.wait_event("the permission notification", |e| name(e) == "Notification");
    assert_eq!(notification["notification_type"], "permission_prompt");
    assert_eq!(notification["prompt_id"], submit["prompt_id"]);
    let request = sim.wait_event("PermissionRequest", |e| name(e) == "PermissionRequest");
    assert_eq!(request["tool_name"], "Bash");
    assert_eq!(request["tool_input"]["command"], "ls");
    assert!(sim.stops().is_empty());
    sim.keys(&["1"]);
    let stop = sim.wait_event("Stop", |e| name(e) == "Stop");
    assert_eq!(stop["last_assistant_message"], "ALLOWED");
}

#[test]
fn sim_error_directive_fires_stop_failure_instead_of_stop() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    sim.tell("boom [[error: 500]]");
    sim.tell("next [[say: NEXT]]");
    let events = sim.wait_events("NEXT's Stop", |events| {
        events.iter().any(|e| e["last_assistant_message"] == "NEXT")
    });
    let names: Vec<&str> = events.iter().map(name).collect();
    assert_eq!(
        names,
        [
            "SessionStart",
            "UserPromptSubmit",
            "StopFailure",
            "UserPromptSubmit",
            "Stop"
        ]
    );
    assert_eq!(events[2]["error"], "server_error");
}

#[test]
fn sim_killing_the_pane_fires_session_end_other() {
    let sim = Sim::start(&[], &[]);
    sim.wait_started();
    let submit = sim.tell("hello");
    let stop = sim.wait_event("Stop", |e| name(e) == "Stop");
    assert_eq!(stop["last_assistant_message"], "SIM: you said: hello");
    sim.tmux(&["kill-pane", "-t", &sim.pane]);
    let end = sim.wait_event("SessionEnd", |e| name(e) == "SessionEnd");
    assert_eq!(end["reason"], "other");
    assert_eq!(end["prompt_id"], submit["prompt_id"]);
}

#[test]
fn sim_ctrl_d_exits_with_prompt_input_exit() {
    let sim = Sim::start(&[], &["--reply", "unused"]);
    sim.wait_started();
    sim.keys(&["C-d"]);
    let end = sim.wait_event("SessionEnd", |e| name(e) == "SessionEnd");
    assert_eq!(end["reason"], "prompt_input_exit");
    assert!(end.get("prompt_id").is_none());
}

#[test]
fn sim_invalid_user_settings_show_an_error_and_the_rest_still_fires() {
    let world = World::with_tmux();
    std::fs::create_dir_all(world.claude_dir()).unwrap();
    std::fs::write(world.settings(), "{ not json").unwrap();
    let sim = Sim::start_in(world, &[], &["--reply", "DEFAULT"]);
    sim.wait_started();
    wait_for("the settings error on screen", WAIT, || {
        sim.capture().contains("Settings Error").then_some(())
    });
    sim.tell("anything");
    let stop = sim.wait_event("Stop", |e| name(e) == "Stop");
    assert_eq!(stop["last_assistant_message"], "DEFAULT");
}
