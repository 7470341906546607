//! End to end on the real Codex CLI (installed by `install/test-deps.sh` into
//! `<cache>/codex`), talking to the Responses API mock on 127.0.0.1: spawn a codex worker,
//! tell, listen, ps, kill; the user's `~/.codex` stays as it was; an outfit's prompt, tools,
//! permission mode, skills and hooks reach Codex.

use crate::harness_driver::{probe_skill, Driver};
use crate::mock_openai::{last_user_text, MockOpenAi};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
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

/// A driver for Codex with the user's config in its HOME.
pub fn codex() -> Driver<MockOpenAi> {
    let mock = MockOpenAi::start();
    let c = Driver::new(
        mock,
        &[
            ("ORCH_CODEX_BIN", codex_bin().display().to_string()),
            ("MOCK_API_KEY", "mock-key".into()),
        ],
    );
    let user_dir = c.world.home().join(".codex");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(user_dir.join("config.toml"), user_config(&c.mock)).unwrap();
    c
}

#[test]
fn codex_worker_round_trip_then_kill() {
    let c = codex();
    // A git repo: Codex would ask "Trust this folder?" unless orch trusts it for the worker.
    let git = Command::new("git")
        .args(["init", "-q"])
        .current_dir(c.world.work())
        .status()
        .unwrap();
    assert!(git.success());
    let user_dir = c.world.home().join(".codex");
    let config = std::fs::read_to_string(user_dir.join("config.toml")).unwrap();

    let (spawned, _) = c.spawn("cx", &["--harness", "codex"]);
    assert_eq!(spawned["harness"], "codex");

    let (_, stop) = c.tell("cx", "hi [[say: CODEX-OK]]");
    assert_eq!(stop["last_assistant_message"], "CODEX-OK");
    let request = c.mock.wait_request(
        |b| last_user_text(b).contains("CODEX-OK"),
        Duration::from_secs(5),
    );
    assert_eq!(request["stream"], true);

    // A second prompt: same thread, no new SessionStart, still attributed to the worker.
    let (_, two) = c.tell("cx", "again [[say: CODEX-TWO]]");
    assert_eq!(two["last_assistant_message"], "CODEX-TWO");
    assert_eq!(two["session_id"], stop["session_id"]);

    let rows = crate::util::json(&c.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "cx");
    assert_eq!(rows[0]["harness"], "codex");
    assert_eq!(rows[0]["status"], "idle", "{rows}");
    // The worker adopted Codex's own thread id from its hooks.
    let meta = c.meta(spawned["id"].as_str().unwrap());
    assert_eq!(meta["session_id"], stop["session_id"], "{meta}");

    assert_eq!(
        std::fs::read_to_string(user_dir.join("config.toml")).unwrap(),
        config,
        "the user's config.toml is untouched"
    );
    assert!(!user_dir.join("hooks.json").exists());

    c.kill("cx", &two);
}

/// The texts of a Responses request's `developer` messages, joined.
fn developer_text(body: &Value) -> String {
    body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["role"] == "developer")
        .flat_map(|item| item["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|part| part["text"].as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn codex_outfit_prompt_tools_permission_skills_and_hooks_reach_codex() {
    let c = codex();
    let marker = c.world.root().join("outfit-stop-hook-ran");
    let outfits = c.outfit(
        "cx-outfit",
        &format!(
            "name: cx-outfit\nharness: codex\n\
             system_prompt: You are OUTFIT-CODEX-7; answer tersely.\n\
             permission_mode: acceptEdits\n\
             tools:\n  deny: [WebSearch, \"Bash(git push *)\"]\n  allow: [\"Bash(git status *)\"]\n\
             skills: [probe-skill]\n\
             hooks: {{Stop: [{{hooks: [{{type: command, command: \"touch {}\"}}]}}]}}\n",
            marker.display()
        ),
    );
    probe_skill(&outfits);

    let (spawned, stderr) = c.spawn("cxo", &["--outfit", "cx-outfit"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let (_, stop) = c.tell("cxo", "hi [[say: CODEX-OUTFIT]]");
    assert_eq!(stop["last_assistant_message"], "CODEX-OUTFIT");
    let request = c.mock.wait_request(
        |b| last_user_text(b).contains("CODEX-OUTFIT"),
        Duration::from_secs(5),
    );
    let developer = developer_text(&request);
    // The system prompt arrives as developer instructions, after Codex's own instructions.
    let outfit_at = developer.find("You are OUTFIT-CODEX-7; answer tersely.");
    assert!(outfit_at.is_some(), "{developer}");
    assert!(developer.find("Codex CLI") < outfit_at, "{developer}");
    // The skill is listed, the allow rule approved, the sandbox and approval policy set.
    assert!(developer.contains("OUTFIT-SKILL-DESC"), "{developer}");
    assert!(developer.contains("[\"git\", \"status\"]"), "{developer}");
    assert!(
        developer.contains("`sandbox_mode` is `workspace-write`"),
        "{developer}"
    );
    let argv = c.meta(spawned["id"].as_str().unwrap())["argv"].to_string();
    assert!(
        argv.contains("\"--sandbox\",\"workspace-write\",\"--ask-for-approval\",\"on-request\""),
        "{argv}"
    );
    // The denied web search is not offered; the shell still is.
    let tools: Vec<&str> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str().or(t["type"].as_str()))
        .collect();
    assert!(!tools.contains(&"web_search"), "{tools:?}");
    assert!(tools.contains(&"exec_command"), "{tools:?}");
    // The outfit's Stop hook ran beside orch's.
    crate::util::wait_for("the outfit's Stop hook", Duration::from_secs(10), || {
        marker.exists().then_some(())
    });
    let rules = c
        .worker_dir(spawned["id"].as_str().unwrap())
        .join("codex-home/rules/orch-outfit.rules");
    let rules = std::fs::read_to_string(rules).unwrap();
    assert!(
        rules.contains("pattern=[\"git\", \"push\"], decision=\"forbidden\""),
        "{rules}"
    );

    // Codex refuses the denied command and tells the model why.
    let (said, refused) = c.run_tool("cxo", "git push --force origin main");
    assert!(said.contains("tools.deny `Bash(git push *)`"), "{refused}");

    c.kill("cxo", &refused);
}

#[test]
fn codex_outfit_that_cannot_be_enforced_is_refused() {
    codex().refused(
        "cx-bad",
        "name: cx-bad\nharness: codex\ntools: {deny: [\"Bash(git push --force*)\"]}\n",
        &[
            "outfit `cx-bad` on codex: tools.deny `Bash(git push --force*)`",
            "`Bash(git push --force *)`",
        ],
    );
}

#[test]
fn codex_takes_every_prompt_shape_once() {
    let c = codex();
    c.spawn("shapes", &["--harness", "codex"]);
    c.tell_corpus("shapes", last_user_text);
}
