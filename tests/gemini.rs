//! End to end on the real Gemini CLI (installed by `install/test-deps.sh` into
//! `<cache>/gemini`), talking to the Gemini API mock on 127.0.0.1: spawn a gemini worker,
//! tell, listen, ps, kill; the user's `~/.gemini` settings stay as they were.

use crate::mock_gemini::{last_user_text, MockGemini};
use crate::util::{json, World};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The Gemini CLI: `$ORCH_TEST_GEMINI_BIN`, else
/// `${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-~/.cache}/orch-test}/gemini/node_modules/.bin/gemini`.
pub fn gemini_bin() -> PathBuf {
    crate::util::cached_cli(
        "ORCH_TEST_GEMINI_BIN",
        "gemini/node_modules/.bin/gemini",
        "Gemini CLI",
    )
}

struct Gemini {
    world: World,
    mock: MockGemini,
}

impl Gemini {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args)
            .env("ORCH_GEMINI_BIN", gemini_bin())
            .env("GOOGLE_GEMINI_BASE_URL", self.mock.base_url())
            .env("GEMINI_API_KEY", "mock-key")
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
fn gemini_worker_round_trip_then_kill() {
    let g = Gemini {
        world: World::with_tmux(),
        mock: MockGemini::start(),
    };
    g.ok(&["up"]);
    // The user's own settings: a model, no auth method chosen (orch picks the API key for the
    // worker since GEMINI_API_KEY is set), no hooks.
    let user_dir = g.world.home().join(".gemini");
    std::fs::create_dir_all(&user_dir).unwrap();
    let settings = "{\n  \"model\": {\"name\": \"gemini-2.5-flash\"},\n  \
                    \"privacy\": {\"usageStatisticsEnabled\": false}\n}\n";
    std::fs::write(user_dir.join("settings.json"), settings).unwrap();

    let spawned = json(&g.ok(&[
        "--json",
        "spawn",
        "--harness",
        "gemini",
        "--name",
        "gm",
        "--ready-timeout",
        "60",
    ]));
    assert_eq!(spawned["harness"], "gemini");
    let rows = json(&g.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["status"], "idle", "{rows}");

    let told = json(&g.ok(&["--json", "tell", "gm", "hi [[say: GEMINI-OK]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let stop = json(&g.ok(&["listen", "gm", "--timeout", "60"]));
    assert_eq!(stop["event"], "stop", "{stop}");
    assert_eq!(stop["last_assistant_message"], "GEMINI-OK");
    assert!(stop["seq"].as_u64() > told["cursor"].as_u64());
    g.mock.wait_request(
        |b| last_user_text(b).contains("GEMINI-OK"),
        Duration::from_secs(5),
    );
    // orch chose the session id (`--session-id`) and the hooks report it.
    let id = spawned["id"].as_str().unwrap();
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(g.world.state().join("workers").join(id).join("meta.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(meta["argv"].to_string().contains("--session-id"), "{meta}");
    assert_eq!(stop["session_id"], meta["session_id"], "{meta}");

    let rows = json(&g.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "gm");
    assert_eq!(rows[0]["harness"], "gemini");
    assert_eq!(rows[0]["status"], "idle", "{rows}");

    assert_eq!(
        std::fs::read_to_string(user_dir.join("settings.json")).unwrap(),
        settings,
        "the user's settings.json is untouched"
    );
    let worker_settings = g
        .world
        .state()
        .join("workers")
        .join(id)
        .join("gemini-home/.gemini/settings.json");
    let worker_settings = json(&std::fs::read_to_string(worker_settings).unwrap());
    assert_eq!(worker_settings["model"]["name"], "gemini-2.5-flash");
    assert_eq!(
        worker_settings["hooks"]["AfterAgent"][0]["hooks"][0]["timeout"],
        30000
    );

    g.ok(&["kill", "gm"]);
    let after = stop["seq"].to_string();
    let out = g.run(&["listen", "gm", "--after", &after, "--timeout", "10"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
