//! End to end on the real pi CLI (`@mariozechner/pi-coding-agent`, installed by
//! `install/test-deps.sh` into `<cache>/pi`), talking to the Chat Completions mock on
//! 127.0.0.1: spawn a pi worker, tell, listen, ps, kill; the user's `~/.pi` stays as it was.

use crate::mock_pi::{last_user_text, MockChat};
use crate::util::{json, World};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The pi CLI: `$ORCH_TEST_PI_BIN`, else
/// `${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-~/.cache}/orch-test}/pi/node_modules/.bin/pi`.
pub fn pi_bin() -> PathBuf {
    crate::util::cached_cli("ORCH_TEST_PI_BIN", "pi/node_modules/.bin/pi", "pi CLI")
}

/// The user's pi `models.json`: a mock provider speaking Chat Completions, its key read from
/// `MOCK_PI_KEY` (a name orch passes only because `models.json` names it).
fn user_models(mock: &MockChat) -> String {
    serde_json::json!({"providers": {"mock": {
        "baseUrl": mock.base_url(), "api": "openai-completions", "apiKey": "MOCK_PI_KEY",
        "compat": {"supportsDeveloperRole": false, "supportsReasoningEffort": false},
        "models": [{"id": "mock-model", "name": "Mock Model", "reasoning": false}]}}})
    .to_string()
}

const USER_SETTINGS: &str = r#"{"defaultProvider":"mock","defaultModel":"mock-model","quietStartup":true,"enableInstallTelemetry":false}"#;

struct Pi {
    world: World,
    mock: MockChat,
}

impl Pi {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args)
            .env("ORCH_PI_BIN", pi_bin())
            .env("MOCK_PI_KEY", "mock-key")
            // No download of fd and ripgrep at startup (the test has no network).
            .env("PI_OFFLINE", "1")
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let context = format!("mock: {:?}", self.mock.log());
        self.world.expect_ok(args, self.run(args), &context)
    }
}

/// Every file under `dir` with its content, sorted (symlinks as their target).
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_symlink() {
                out.push((path.clone(), format!("-> {:?}", std::fs::read_link(&path))));
            } else {
                out.push((
                    path.clone(),
                    std::fs::read_to_string(&path).unwrap_or_default(),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn pi_worker_round_trip_then_kill() {
    let p = Pi {
        world: World::with_tmux(),
        mock: MockChat::start(),
    };
    p.ok(&["up"]);
    let user_dir = p.world.home().join(".pi").join("agent");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(user_dir.join("models.json"), user_models(&p.mock)).unwrap();
    std::fs::write(user_dir.join("settings.json"), USER_SETTINGS).unwrap();
    let before = snapshot(&p.world.home().join(".pi"));

    let spawned = json(&p.ok(&[
        "--json",
        "spawn",
        "--harness",
        "pi",
        "--name",
        "pw",
        "--ready-timeout",
        "60",
    ]));
    assert_eq!(spawned["harness"], "pi");
    let rows = json(&p.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "idle", "{rows}");

    let told = json(&p.ok(&["--json", "tell", "pw", "hi [[say: PI-OK]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let stop = json(&p.ok(&["listen", "pw", "--timeout", "60"]));
    assert_eq!(stop["event"], "stop", "{stop}");
    assert_eq!(stop["last_assistant_message"], "PI-OK", "{stop}");
    assert!(stop["seq"].as_u64() > told["cursor"].as_u64());
    let request = p.mock.wait_request(
        |b| last_user_text(b).contains("PI-OK"),
        Duration::from_secs(5),
    );
    assert_eq!(request["stream"], true);

    // A second prompt: same session, still attributed to the worker.
    let again = json(&p.ok(&["--json", "tell", "pw", "again [[say: PI-TWO]]"]));
    assert_eq!(again["acknowledged"], true, "{again}");
    let two = json(&p.ok(&["listen", "pw", "--timeout", "60"]));
    assert_eq!(two["last_assistant_message"], "PI-TWO", "{two}");
    assert_eq!(two["session_id"], stop["session_id"]);

    let rows = json(&p.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "pw");
    assert_eq!(rows[0]["harness"], "pi");
    assert_eq!(rows[0]["status"], "idle", "{rows}");
    // The worker adopted pi's own session id from its extension.
    let id = spawned["id"].as_str().unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.world.state().join("workers").join(id).join("meta.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(stop["session_id"].is_string(), "{stop}");
    assert_eq!(meta["session_id"], stop["session_id"], "{meta}");

    assert_eq!(
        snapshot(&p.world.home().join(".pi")),
        before,
        "the user's ~/.pi is untouched"
    );

    p.ok(&["kill", "pw"]);
    let after = two["seq"].to_string();
    let out = p.run(&["listen", "pw", "--after", &after, "--timeout", "10"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
