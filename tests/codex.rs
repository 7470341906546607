//! End to end on the real Codex CLI (installed by `install/test-deps.sh` into
//! `<cache>/codex`), talking to the Responses API mock on 127.0.0.1: spawn a codex worker,
//! tell, listen, ps, kill; the user's `~/.codex` stays as it was.

use crate::mock_openai::{last_user_text, MockOpenAi};
use crate::util::{json, World};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The Codex CLI: `$ORCH_TEST_CODEX_BIN`, else
/// `${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-~/.cache}/orch-test}/codex/node_modules/.bin/codex`.
pub fn codex_bin() -> PathBuf {
    crate::util::cached_cli(
        "ORCH_TEST_CODEX_BIN",
        "codex/node_modules/.bin/codex",
        "Codex CLI",
    )
}

/// The user's Codex config in the test HOME: a mock provider whose key comes from
/// `MOCK_API_KEY` (a name orch passes only because the config names it as `env_key`).
fn user_config(mock: &MockOpenAi) -> String {
    format!(
        "model = \"mock-model\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\n\
         name = \"Mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\nenv_key = \"MOCK_API_KEY\"\n\
         supports_websockets = false\nrequest_max_retries = 0\nstream_max_retries = 0\n",
        mock.base_url()
    )
}

struct Codex {
    world: World,
    mock: MockOpenAi,
}

impl Codex {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args)
            .env("ORCH_CODEX_BIN", codex_bin())
            .env("MOCK_API_KEY", "mock-key")
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

#[test]
fn codex_worker_round_trip_then_kill() {
    let c = Codex {
        world: World::with_tmux(),
        mock: MockOpenAi::start(),
    };
    c.ok(&["up"]);
    // A git repo: Codex would ask "Trust this folder?" unless orch trusts it for the worker.
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(c.world.work())
        .status()
        .unwrap();
    assert!(git.success());
    let user_dir = c.world.home().join(".codex");
    std::fs::create_dir_all(&user_dir).unwrap();
    let config = user_config(&c.mock);
    std::fs::write(user_dir.join("config.toml"), &config).unwrap();

    let spawned = json(&c.ok(&[
        "--json",
        "spawn",
        "--harness",
        "codex",
        "--name",
        "cx",
        "--ready-timeout",
        "60",
    ]));
    assert_eq!(spawned["harness"], "codex");
    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "idle", "{rows}");

    let told = json(&c.ok(&["--json", "tell", "cx", "hi [[say: CODEX-OK]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let stop = json(&c.ok(&["listen", "cx", "--timeout", "60"]));
    assert_eq!(stop["event"], "stop");
    assert_eq!(stop["last_assistant_message"], "CODEX-OK");
    assert!(stop["seq"].as_u64() > told["cursor"].as_u64());
    let request = c.mock.wait_request(
        |b| last_user_text(b).contains("CODEX-OK"),
        Duration::from_secs(5),
    );
    assert_eq!(request["stream"], true);

    // A second prompt: same thread, no new SessionStart, still attributed to the worker.
    let again = json(&c.ok(&["--json", "tell", "cx", "again [[say: CODEX-TWO]]"]));
    assert_eq!(again["acknowledged"], true, "{again}");
    let two = json(&c.ok(&["listen", "cx", "--timeout", "60"]));
    assert_eq!(two["last_assistant_message"], "CODEX-TWO");
    assert_eq!(two["session_id"], stop["session_id"]);

    let rows = json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "cx");
    assert_eq!(rows[0]["harness"], "codex");
    assert_eq!(rows[0]["status"], "idle", "{rows}");
    // The worker adopted Codex's own thread id from its hooks.
    let id = spawned["id"].as_str().unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(c.world.state().join("workers").join(id).join("meta.json"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["session_id"], stop["session_id"], "{meta}");

    assert_eq!(
        std::fs::read_to_string(user_dir.join("config.toml")).unwrap(),
        config,
        "the user's config.toml is untouched"
    );
    assert!(!user_dir.join("hooks.json").exists());

    c.ok(&["kill", "cx"]);
    let after = two["seq"].to_string();
    let out = c.run(&["listen", "cx", "--after", &after, "--timeout", "10"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
