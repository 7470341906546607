//! The `command` harness on real programs (bash, python3, cat) in a private tmux server: no
//! hooks, only the quiet detector that tmux feeds with the pane's output. spawn, acknowledged
//! tell, listen with the turn's output, ps with the detector, interrupt, exit and kill.

use crate::util::{json, stderr, World};
use serde_json::Value;
use std::time::Duration;

/// bash with a fixed prompt and nothing from the user's rc files.
const BASH: [&str; 6] = ["env", "PS1=$ ", "bash", "--norc", "--noprofile", "-i"];

/// The turn's output a stop event carries.
fn reply(stop: &Value) -> &str {
    stop["last_assistant_message"].as_str().unwrap_or_default()
}

/// Spawns a command worker with `flags`, then `--` and `argv`; returns its spawn record.
fn spawn(world: &World, flags: &[&str], argv: &[&str]) -> Value {
    let mut args = vec!["--json", "spawn", "--harness", "command"];
    args.extend(flags);
    args.push("--");
    args.extend(argv);
    let out = world.orch(&args);
    json(&world.expect_ok(&args, out, ""))
}

/// Tells `text` and listens for the end of that turn; returns (tell's cursor, the stop event).
fn turn(world: &World, id: &str, text: &str) -> (u64, Value) {
    let cursor = world.ok(&["tell", id, text]).trim().parse::<u64>().unwrap();
    let after = cursor.to_string();
    let out = world.orch(&["--json", "listen", id, "--after", &after, "--timeout", "30"]);
    let stop = json(&world.expect_ok(&["listen", id], out, ""));
    (cursor, stop)
}

#[test]
fn bash_worker_round_trip_with_a_prompt_regex() {
    let world = World::with_tmux();
    let w = spawn(
        &world,
        &["--name", "sh", "--quiet", "0.4", "--prompt-regex", r"^\$ $"],
        &BASH,
    );
    let id = w["id"].as_str().unwrap();
    let row = world.ps_row(id);
    assert_eq!(row["status"], "idle", "{row}");
    assert_eq!(row["detector"], "quiet+prompt", "{row}");
    assert_eq!(row["detector_settings"]["quiet_ms"], 400, "{row}");
    let table = world.ok(&["ps"]);
    assert!(
        table.contains("DETECTOR") && table.contains("quiet+prompt"),
        "{table}"
    );

    // The prompt event is the acknowledgement: tell's cursor points at it, with the text's hash.
    let (cursor, stop) = turn(&world, id, "echo one; sleep 1; echo two");
    let events = json(&world.ok(&["--json", "events", id]));
    let prompt = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["seq"] == cursor)
        .cloned()
        .unwrap();
    assert_eq!(prompt["event"], "prompt", "{events}");
    assert_eq!(
        prompt["prompt_hash"],
        orch::delivery::prompt::hash("echo one; sleep 1; echo two")
    );
    // The turn waited out the silent second and kept only the output: no command line, no
    // trailing prompt.
    assert_eq!(stop["event"], "stop", "{stop}");
    assert_eq!(stop["last_assistant_message"], "one\ntwo", "{stop}");

    // A leading `/` is a path to a shell, sent as it is; a second turn works the same.
    let (_, stop) = turn(&world, id, "/bin/echo three");
    assert_eq!(stop["last_assistant_message"], "three", "{stop}");
    assert_eq!(world.ps_row(id)["last_message"], "three");
}

#[test]
fn python_repl_from_an_outfit() {
    let world = World::with_tmux();
    let outfits = world.work().join(".orch/outfits");
    std::fs::create_dir_all(&outfits).unwrap();
    std::fs::write(
        outfits.join("py.yaml"),
        "name: py\nharness: command\ncommand: [python3, -q]\nquiet: 0.4\n\
         prompt_regex: '^>>> $'\nprompt_template: 'print({{task}})'\n",
    )
    .unwrap();
    let out = world.orch(&["--json", "spawn", "--outfit", "py", "--task", "6*7"]);
    let w = json(&world.expect_ok(&["spawn", "--outfit", "py"], out, ""));
    let id = w["id"].as_str().unwrap();
    assert_eq!(w["harness"], "command");
    let out = world.orch(&["--json", "listen", id, "--timeout", "30"]);
    let stop = json(&world.expect_ok(&["listen"], out, ""));
    assert_eq!(stop["last_assistant_message"], "42", "{stop}");
    // Sent as it is but for one trailing newline: the empty line that ends the block stays.
    let (_, stop) = turn(&world, id, "for i in range(3):\n    print(i)\n\n");
    assert!(reply(&stop).ends_with("0\n1\n2"), "{stop}");
    let row = world.ps_row(id);
    assert_eq!(
        (row["outfit"].as_str(), row["detector"].as_str()),
        (Some("py"), Some("quiet+prompt"))
    );
}

#[test]
fn quiet_alone_ends_a_turn_and_a_steady_redraw_counts_as_quiet() {
    let world = World::with_tmux();
    let w = spawn(&world, &["--quiet", "0.5"], &BASH);
    let id = w["id"].as_str().unwrap();
    assert_eq!(world.ps_row(id)["detector"], "quiet");
    let (_, stop) = turn(&world, id, "echo plain");
    assert!(reply(&stop).starts_with("plain"), "{stop}");
    // Output keeps coming, ten writes a second, but the screen stays the same: the turn ends
    // on the unchanged screen while the loop still runs.
    let (_, stop) = turn(
        &world,
        id,
        "while :; do printf '\\r[working]'; sleep 0.1; done",
    );
    assert!(reply(&stop).contains("[working]"), "{stop}");
    assert_eq!(world.ps_row(id)["status"], "idle");
    // Ctrl-C stops the loop; the shell takes prompts again.
    world.ok(&["interrupt", id]);
    let (_, stop) = turn(&world, id, "echo after");
    assert!(reply(&stop).starts_with("after"), "{stop}");
}

#[test]
fn interrupt_sends_ctrl_c_to_a_busy_command() {
    let world = World::with_tmux();
    let w = spawn(
        &world,
        &["--quiet", "0.4", "--prompt-regex", r"^\$ $"],
        &BASH,
    );
    let id = w["id"].as_str().unwrap();
    let cursor = world.ok(&["tell", id, "echo start; sleep 60"]);
    // Busy: the prompt never comes back while sleep runs, whatever the silence.
    let out = world.orch(&["listen", id, "--after", cursor.trim(), "--timeout", "1.5"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(world.ps_row(id)["status"], "busy");
    let interrupted = world.ok(&["interrupt", id]);
    let out = world.orch(&[
        "--json",
        "listen",
        id,
        "--after",
        interrupted.trim(),
        "--timeout",
        "30",
    ]);
    let stop = json(&world.expect_ok(&["listen"], out, ""));
    assert_eq!(stop["event"], "stop", "{stop}");
    let (_, stop) = turn(&world, id, "echo again");
    assert_eq!(stop["last_assistant_message"], "again", "{stop}");
}

#[test]
fn a_command_that_exits_ends_listen_and_kill_cleans_up() {
    let world = World::with_tmux();
    let a = spawn(&world, &["--quiet", "0.3"], &BASH);
    let a = a["id"].as_str().unwrap();
    let cursor = world.ok(&["tell", a, "exit"]);
    let out = world.orch(&["listen", a, "--after", cursor.trim(), "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(world.ps_row(a)["status"], "dead");

    // `cat` echoes each line: quiet alone ends each turn; kill ends it for good.
    let b = spawn(&world, &["--quiet", "0.3"], &["cat"]);
    let b = b["id"].as_str().unwrap();
    let (_, stop) = turn(&world, b, "ping");
    assert_eq!(stop["last_assistant_message"], "ping", "{stop}");
    world.ok(&["kill", b]);
    assert_eq!(world.ps_row(b)["status"], "dead");
    let log = world.state().join("hook.log");
    assert!(!log.exists(), "{}", std::fs::read_to_string(&log).unwrap());
}

#[test]
fn command_spawn_errors_name_the_fix() {
    let world = World::with_tmux();
    let out = world.orch(&["spawn", "--harness", "command"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("after `--`"), "{}", stderr(&out));
    let out = world.orch(&[
        "spawn",
        "--harness",
        "command",
        "--prompt-regex",
        "(",
        "--",
        "sh",
    ]);
    assert!(
        stderr(&out).contains("prompt regex `(`"),
        "{}",
        stderr(&out)
    );
    let out = world.orch(&["spawn", "--harness", "sim", "--quiet", "1"]);
    assert!(
        stderr(&out).contains("--harness command"),
        "{}",
        stderr(&out)
    );
    // An outfit whose restrictions a command cannot enforce is refused before anything starts.
    let out = world.orch(&[
        "spawn",
        "--outfit",
        "reviewer",
        "--harness",
        "command",
        "--",
        "sh",
    ]);
    assert!(stderr(&out).contains("cannot enforce"), "{}", stderr(&out));
    let rows = json(&world.ok(&["--json", "ps", "--all"]));
    assert_eq!(rows.as_array().unwrap().len(), 0, "{rows}");
}

#[test]
fn a_closed_pipe_on_a_live_pane_is_logged_not_taken_for_an_exit() {
    let world = World::with_tmux();
    let w = spawn(&world, &["--quiet", "0.3"], &BASH);
    let (id, pane) = (w["id"].as_str().unwrap(), w["pane"].as_str().unwrap());
    // `pipe-pane` without a command closes the pane's pipe: the detector reads its end.
    world.tmux.as_ref().unwrap().run(&["pipe-pane", "-t", pane]);
    let log = world.state().join("hook.log");
    let line = crate::util::wait_for("the detector's log line", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).ok().filter(|t| !t.is_empty())
    });
    assert!(line.contains("pipe closed while pane"), "{line}");
    assert_eq!(world.ps_row(id)["status"], "idle");
    // Without its detector nothing acknowledges a prompt: tell says so and why.
    let out = world.orch(&["tell", id, "echo lost"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("#{pane_pipe}"), "{}", stderr(&out));
}

#[test]
fn the_shipped_shell_outfit_waits_for_its_prompt() {
    let world = World::with_tmux();
    let out = world.orch(&[
        "--json",
        "spawn",
        "--outfit",
        "shell",
        "--task",
        "printf partial",
    ]);
    let w = json(&world.expect_ok(&["spawn", "--outfit", "shell"], out, ""));
    let id = w["id"].as_str().unwrap();
    // Output without a final newline leaves bash's prompt at the end of that line: the turn
    // still ends there.
    let out = world.orch(&["--json", "listen", id, "--timeout", "30"]);
    let stop = json(&world.expect_ok(&["listen"], out, ""));
    assert!(reply(&stop).starts_with("partial"), "{stop}");
    // Two silent seconds are longer than its quiet time, but the prompt is not back yet.
    let (_, stop) = turn(&world, id, "echo a; sleep 2.5; echo b");
    assert_eq!(reply(&stop), "a\nb", "{stop}");
    let row = world.ps_row(id);
    assert_eq!(
        (row["outfit"].as_str(), row["detector"].as_str()),
        (Some("shell"), Some("quiet+prompt"))
    );
}

#[test]
fn a_command_publishes_to_subscribers_and_is_never_typed_into() {
    let world = World::with_tmux();
    let flags = ["--quiet", "0.3", "--prompt-regex", r"^\$ $"];
    let publisher = spawn(&world, &flags, &BASH);
    let publisher = publisher["id"].as_str().unwrap();
    let listener = spawn(&world, &flags, &BASH);
    let listener = listener["id"].as_str().unwrap();
    // Push mode, as between agents: the listener is a shell, so its items wait in its inbox.
    world.ok(&["subscribe", publisher, "--to", listener]);
    let (_, stop) = turn(&world, publisher, "echo news");
    assert_eq!(reply(&stop), "news", "{stop}");
    let items = crate::util::wait_for("the stop in the inbox", Duration::from_secs(10), || {
        let items = json(&world.ok(&["--json", "inbox", listener]));
        (!items.as_array().unwrap().is_empty()).then_some(items)
    });
    assert_eq!(items[0]["event"], "stop", "{items}");
    assert_eq!(items[0]["from"], publisher, "{items}");
    let events = json(&world.ok(&["--json", "events", listener]));
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["spawned", "session_start"],
        "nothing typed: {events}"
    );
}
