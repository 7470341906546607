//! Support for driving the real Claude Code CLI (pinned by `install/test-deps.sh`) against the
//! mock model: where the binary is, a HOME that skips the first-run screens, the environment
//! that keeps it on loopback, and tests that the whole chain works in `-p` and in the TUI.

use crate::mock_model::{last_user_text, MockModel};
use crate::util::{expect_success, World};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The API key Claude Code gets in tests: a dummy that only the mock ever sees.
pub const DUMMY_API_KEY: &str = "sk-ant-api03-orch-test-dummy-0123456789abcdef";

/// The Claude Code executable: `$ORCH_TEST_CLAUDE_BIN` if set, else the copy that
/// `install/test-deps.sh` puts in
/// `${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orch-test}/claude-code`.
pub fn claude_bin() -> PathBuf {
    crate::util::cached_cli(
        "ORCH_TEST_CLAUDE_BIN",
        "claude-code/node_modules/.bin/claude",
        "Claude Code CLI",
    )
}

/// The version of [`claude_bin`] as `claude --version` prints it (e.g. `2.1.197`), asked once.
pub fn claude_version() -> String {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let bin = claude_bin();
            let out = Command::new(&bin)
                .arg("--version")
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run `{} --version`: {e}", bin.display()));
            let stdout = String::from_utf8_lossy(&out.stdout);
            match stdout.split_whitespace().next() {
                Some(version) if out.status.success() => version.to_owned(),
                _ => panic!(
                    "`{} --version` failed ({}): {stdout}{}",
                    bin.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
        })
        .clone()
}

/// Writes `home/.claude.json` so that the interactive TUI goes straight to its prompt: see
/// [`prepare_claude_json`].
///
/// When `CLAUDE_CONFIG_DIR` is set, Claude Code ignores this file and reads
/// `$CLAUDE_CONFIG_DIR/.claude.json`: prepare that one with [`prepare_claude_json`] instead.
pub fn prepare_home(home: &Path, api_key: &str, trusted: &[&Path]) {
    prepare_claude_json(&home.join(".claude.json"), api_key, trusted);
}

/// Writes Claude Code's global config `file` (`.claude.json`) pre-answering the first-run
/// screens: onboarding done for the installed version, `api_key` approved (Claude Code remembers
/// its last 20 characters) and every folder in `trusted` (and so everything below it) trusted.
/// Other keys already in the file are kept.
pub fn prepare_claude_json(file: &Path, api_key: &str, trusted: &[&Path]) {
    let mut config = match std::fs::read_to_string(file) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("`{}` is not JSON: {e}", file.display())),
        Err(_) => json!({}),
    };
    let key_suffix: String = {
        let chars: Vec<char> = api_key.chars().collect();
        chars[chars.len().saturating_sub(20)..].iter().collect()
    };
    config["hasCompletedOnboarding"] = json!(true);
    config["lastOnboardingVersion"] = json!(claude_version());
    config["theme"] = json!("dark");
    if config.get("numStartups").is_none() {
        config["numStartups"] = json!(1);
    }
    let responses = &mut config["customApiKeyResponses"];
    if !responses["approved"].is_array() {
        *responses = json!({"approved": [], "rejected": []});
    }
    let approved = responses["approved"].as_array_mut().unwrap();
    if !approved.contains(&json!(key_suffix)) {
        approved.push(json!(key_suffix));
    }
    if !config["projects"].is_object() {
        config["projects"] = json!({});
    }
    for folder in trusted {
        // Claude Code keys projects by the real path of its working folder.
        let mut keys = vec![folder.to_path_buf()];
        if let Ok(real) = folder.canonicalize() {
            if real != *folder {
                keys.push(real);
            }
        }
        for key in keys {
            config["projects"][key.display().to_string()] = json!({
                "hasTrustDialogAccepted": true,
                "hasCompletedProjectOnboarding": true,
                "allowedTools": [],
            });
        }
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let text = serde_json::to_string_pretty(&config).unwrap();
    std::fs::write(file, text).unwrap_or_else(|e| panic!("write `{}`: {e}", file.display()));
}

/// The environment that points Claude Code at `mock` and keeps it off the network: no telemetry,
/// no auto-update, no marketplace clone.
pub fn claude_env(mock: &MockModel) -> Vec<(String, String)> {
    [
        ("ANTHROPIC_BASE_URL", mock.base_url()),
        ("ANTHROPIC_API_KEY", DUMMY_API_KEY.to_owned()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
        (
            "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL",
            "1".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `claude` in `world`: cleared environment plus the world's and [`claude_env`], cwd = the
/// world's work folder.
pub fn claude_cmd(world: &World, mock: &MockModel) -> Command {
    let mut cmd = Command::new(claude_bin());
    cmd.env_clear()
        .envs(world.env())
        .envs(claude_env(mock))
        .current_dir(world.work());
    cmd
}

/// Runs `cmd` with empty stdin and collects its output; kills it and panics (with what it
/// printed so far) if it is still running after `timeout`.
pub fn output_within(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Readers append to shared buffers so that a timeout can still show the partial output
    // (grandchildren may keep the pipes open after a kill).
    let collect = |pipe: Option<Box<dyn Read + Send>>| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        (buf, reader)
    };
    let (stdout, out_reader) = collect(child.stdout.take().map(|p| Box::new(p) as _));
    let (stderr, err_reader) = collect(child.stderr.take().map(|p| Box::new(p) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} still running after {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&stdout.lock().unwrap()),
                String::from_utf8_lossy(&stderr.lock().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = out_reader.join();
    let _ = err_reader.join();
    let take = |buf: Arc<Mutex<Vec<u8>>>| std::mem::take(&mut *buf.lock().unwrap());
    Output {
        status,
        stdout: take(stdout),
        stderr: take(stderr),
    }
}

/// The session file Claude Code keeps for session `sid` in `world`
/// (`projects/<folder>/<sid>.jsonl` in its folder), if there is one.
pub fn session_file(world: &World, sid: &str) -> Option<PathBuf> {
    std::fs::read_dir(world.claude_dir().join("projects"))
        .ok()?
        .flatten()
        .map(|folder| folder.path().join(format!("{sid}.jsonl")))
        .find(|file| file.is_file())
}

/// Waits until Claude Code has written the first turn of session `sid`, whose prompt contains
/// `needle`, to its file: the prompt (a `user` line) and the reply (an `assistant` line), in
/// either order. It writes a turn there about 100-200 ms after its Stop hook, after `orch
/// listen` has returned: a tmux server that dies before then may take the turn, or a part of
/// it, with it (docs/observed.md, 1.8).
pub fn wait_turn_written(world: &World, sid: &str, needle: &str) {
    crate::util::wait_for(
        &format!("Claude Code to write the turn of {needle:?} to session {sid}"),
        Duration::from_secs(10),
        || {
            let text = std::fs::read_to_string(session_file(world, sid)?).ok()?;
            let kind = |line: &str| {
                let v: Value = serde_json::from_str(line).ok()?;
                v["type"].as_str().map(str::to_string)
            };
            let prompt = text
                .lines()
                .any(|l| l.contains(needle) && kind(l).as_deref() == Some("user"));
            let reply = text
                .lines()
                .any(|l| kind(l).as_deref() == Some("assistant"));
            (prompt && reply).then_some(())
        },
    );
}

/// Runs `claude -p PROMPT` in `world` against `mock` and asserts it succeeded; returns stdout.
pub fn claude_print(world: &World, mock: &MockModel, prompt: &str) -> String {
    let out = output_within(
        claude_cmd(world, mock).args(["-p", prompt]),
        Duration::from_secs(60),
    );
    expect_success(&format!("claude -p {prompt:?}"), out, String::new)
}

/// Whether a request body's last user message carries a `tool_result` whose text contains
/// `needle`.
fn has_tool_result(body: &Value, needle: &str) -> bool {
    body["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_array())
        .is_some_and(|blocks| {
            blocks
                .iter()
                .any(|b| b["type"] == "tool_result" && b["content"].to_string().contains(needle))
        })
}

#[test]
fn prepare_home_pre_answers_first_run_screens_and_keeps_other_keys() {
    let world = World::new();
    let file = world.home().join(".claude.json");
    std::fs::write(
        &file,
        r#"{"userID": "u1", "projects": {"/elsewhere": {"x": 1}}}"#,
    )
    .unwrap();
    let other = world.root().join("other");
    prepare_home(
        &world.home(),
        "0123456789abcdefghijKLMNOPQRSTUVWXYZ",
        &[&world.work()],
    );
    prepare_home(
        &world.home(),
        "0123456789abcdefghijKLMNOPQRSTUVWXYZ",
        &[&other],
    );
    let config = crate::util::json(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(config["userID"], "u1");
    assert_eq!(config["hasCompletedOnboarding"], true);
    assert_eq!(config["lastOnboardingVersion"], claude_version());
    assert_eq!(
        config["customApiKeyResponses"]["approved"],
        json!(["ghijKLMNOPQRSTUVWXYZ"])
    );
    assert_eq!(config["projects"]["/elsewhere"]["x"], 1);
    for folder in [world.work(), other] {
        let entry = &config["projects"][folder.display().to_string()];
        assert_eq!(entry["hasTrustDialogAccepted"], true, "{folder:?}");
    }
}

#[test]
fn claude_print_talks_to_mock() {
    let world = World::new();
    let mock = MockModel::start();
    let stdout = claude_print(&world, &mock, "hi [[say: PONG-42]]");
    assert_eq!(stdout.trim(), "PONG-42");
    let request = mock.wait_request(
        |r| last_user_text(r).contains("hi [[say: PONG-42]]"),
        Duration::from_secs(5),
    );
    assert!(request["tools"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(mock.requests().len(), 1);
}

#[test]
fn claude_print_runs_bash_tool() {
    let world = World::new();
    let mock = MockModel::start();
    let stdout = claude_print(&world, &mock, "run it [[bash: echo HI]]");
    assert_eq!(stdout.trim(), "MOCK: bash finished: HI");
    let requests = mock.requests();
    assert_eq!(
        requests.len(),
        2,
        "one turn asking for the tool, one after it"
    );
    assert!(has_tool_result(&requests[1], "HI"));
}

/// Starts the interactive TUI in a new window of the world's tmux server, with the same clean
/// environment as [`claude_cmd`]; returns the pane id.
pub fn start_tui(world: &World, mock: &MockModel, args: &[&str]) -> String {
    let tmux = world
        .tmux
        .as_ref()
        .expect("start_tui needs World::with_tmux");
    let work = world.work().display().to_string();
    let bin = claude_bin().display().to_string();
    let env: Vec<String> = world
        .env()
        .into_iter()
        .chain(claude_env(mock))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut argv = vec!["new-window", "-d", "-P", "-F", "#{pane_id}", "-c", &work];
    argv.extend(["--", "env", "-i"]);
    argv.extend(env.iter().map(String::as_str));
    argv.push(&bin);
    argv.extend(args);
    tmux.run(&argv).trim().to_owned()
}

/// Waits until the screen of `pane` satisfies `check` and returns it; panics with `what` and
/// the last screen after `timeout`.
pub fn wait_screen(
    world: &World,
    pane: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&str) -> bool,
) -> String {
    let tmux = world
        .tmux
        .as_ref()
        .expect("wait_screen needs World::with_tmux");
    let deadline = Instant::now() + timeout;
    loop {
        let screen = tmux.capture(pane);
        if check(&screen) {
            return screen;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the TUI in `pane` shows its ready prompt (an empty input box with its idle
/// footer below: "? for shortcuts" in Claude Code 2.1.197, "auto mode on (shift+tab to cycle)"
/// in 2.1.332, where auto mode became the default permission mode; not "esc to interrupt",
/// which it shows while a turn runs) and returns the screen.
pub fn wait_tui_ready(world: &World, pane: &str, timeout: Duration) -> String {
    wait_screen(world, pane, "the TUI's ready prompt", timeout, |screen| {
        (screen.contains("? for shortcuts") || screen.contains("(shift+tab to cycle)"))
            && !screen.contains("esc to interrupt")
            && input_box(screen).is_some_and(|t| t.is_empty())
    })
}

/// Waits until the TUI in `pane` shows an empty input box and no running turn ("esc to
/// interrupt", in the footer while a turn runs). Unlike [`wait_tui_ready`] it does not need the
/// footer: in a pane split small by its workers the footer may be cut off.
pub fn wait_tui_idle(world: &World, pane: &str, timeout: Duration) -> String {
    wait_screen(world, pane, "the TUI to be idle", timeout, |screen| {
        !screen.contains("esc to interrupt") && input_box(screen).is_some_and(|t| t.is_empty())
    })
}

/// The text in the TUI's input box (the `❯` line right below a `───` rule), if the screen shows
/// one; `Some("")` when the box is empty.
pub fn input_box(screen: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    lines.windows(2).rev().find_map(|pair| {
        let rest = pair[1].strip_prefix('❯')?;
        pair[0].starts_with('─').then(|| rest.trim().to_owned())
    })
}

/// Submits `text` to the TUI in `pane`: one bracketed paste (`load-buffer` + `paste-buffer
/// -p`), then Enter as a separate key 100 ms later. Until `delivered` says the prompt arrived,
/// Enter is pressed again every second while the input box still holds text. Returns how many
/// times Enter was pressed; panics with the screen after `timeout`.
///
/// The retry is needed: an Enter that comes within ~150 ms of the prompt's first appearance is
/// sometimes lost (1 in 10 runs here), leaving the text in the input box.
pub fn submit_prompt(
    world: &World,
    pane: &str,
    text: &str,
    timeout: Duration,
    delivered: impl Fn() -> bool,
) -> usize {
    let tmux = world
        .tmux
        .as_ref()
        .expect("submit_prompt needs World::with_tmux");
    let buffer = crate::util::unique("orch-prompt");
    let mut load = Command::new("tmux")
        .args(["-L", &tmux.socket, "load-buffer", "-b", &buffer, "-"])
        .env_remove("TMUX")
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot run tmux load-buffer");
    load.stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(load.wait().unwrap().success(), "tmux load-buffer failed");
    tmux.run(&["paste-buffer", "-p", "-d", "-b", &buffer, "-t", pane]);
    std::thread::sleep(Duration::from_millis(100));
    tmux.run(&["send-keys", "-t", pane, "Enter"]);
    let mut enters = 1;
    let deadline = Instant::now() + timeout;
    let mut retry_at = Instant::now() + Duration::from_secs(1);
    while !delivered() {
        let now = Instant::now();
        if now >= deadline {
            panic!(
                "prompt {text:?} not delivered within {timeout:?} ({enters} Enters); screen:\n{}",
                tmux.capture(pane)
            );
        }
        if now >= retry_at {
            retry_at = now + Duration::from_secs(1);
            if input_box(&tmux.capture(pane)).is_some_and(|t| !t.is_empty()) {
                tmux.run(&["send-keys", "-t", pane, "Enter"]);
                enters += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    enters
}

#[test]
fn claude_tui_answers_pasted_prompts() {
    let world = World::with_tmux();
    let mock = MockModel::start();
    prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
    let pane = start_tui(&world, &mock, &[]);
    wait_tui_ready(&world, &pane, Duration::from_secs(30));
    let turn = |prompt: &str, reply: &str| {
        submit_prompt(&world, &pane, prompt, Duration::from_secs(20), || {
            mock.requests()
                .iter()
                .any(|r| last_user_text(r).contains(prompt))
        });
        let shown = format!("● {reply}");
        wait_screen(&world, &pane, &shown, Duration::from_secs(20), |screen| {
            screen.contains(&shown)
        });
    };
    turn("hello tui [[say: TUI-PONG-7]]", "TUI-PONG-7");
    mock.push_reply("QUEUED-REPLY-9");
    turn("a prompt without directive", "QUEUED-REPLY-9");
    turn("run [[bash: echo TUI-HI]]", "MOCK: bash finished: TUI-HI");
    // One main request per prompt, and one more with the tool's result. Side requests (the
    // session title, which 2.1.197 asks for on nearly every TUI prompt and 2.1.332 did not in
    // these turns) never count as turns: they carry no tools.
    assert_eq!(mock.requests().len(), 4);
    assert!(mock
        .side_requests()
        .iter()
        .all(|r| r["tools"].as_array().is_none_or(|t| t.is_empty())));
}
