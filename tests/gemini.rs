//! End to end on the real Gemini CLI (installed by `install/test-deps.sh` into
//! `<cache>/gemini`), talking to the Gemini API mock on 127.0.0.1: spawn a gemini worker,
//! tell, listen, ps, kill; the user's `~/.gemini` settings stay as they were; an outfit's
//! prompt, tools, approval mode and skills reach Gemini CLI.

use crate::harness_driver::{probe_skill, Driver};
use crate::mock_gemini::{last_user_text, MockGemini};
use crate::util::json;
use serde_json::Value;
use std::path::PathBuf;
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

/// A driver for Gemini CLI with the user's settings (`settings`) in its HOME.
pub fn gemini(settings: &str) -> Driver<MockGemini> {
    let mock = MockGemini::start();
    let base_url = mock.base_url();
    let g = Driver::new(
        mock,
        &[
            ("ORCH_GEMINI_BIN", gemini_bin().display().to_string()),
            ("GOOGLE_GEMINI_BASE_URL", base_url),
            ("GEMINI_API_KEY", "mock-key".into()),
        ],
    );
    let user_dir = g.world.home().join(".gemini");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(user_dir.join("settings.json"), settings).unwrap();
    g
}

/// The user's own settings: a model, no auth method chosen (orch picks the API key for the
/// worker since GEMINI_API_KEY is set), no hooks.
pub const SETTINGS: &str = "{\n  \"model\": {\"name\": \"gemini-2.5-flash\"},\n  \
                        \"privacy\": {\"usageStatisticsEnabled\": false}\n}\n";

#[test]
fn gemini_worker_round_trip_then_kill() {
    let g = gemini(SETTINGS);
    let user_dir = g.world.home().join(".gemini");

    let (spawned, _) = g.spawn("gm", &["--harness", "gemini"]);
    assert_eq!(spawned["harness"], "gemini");

    let (_, stop) = g.tell("gm", "hi [[say: GEMINI-OK]]");
    assert_eq!(stop["last_assistant_message"], "GEMINI-OK");
    g.mock.wait_request(
        |b| last_user_text(b).contains("GEMINI-OK"),
        Duration::from_secs(5),
    );
    // orch chose the session id (`--session-id`) and the hooks report it.
    let id = spawned["id"].as_str().unwrap();
    let meta = g.meta(id);
    assert!(meta["argv"].to_string().contains("--session-id"), "{meta}");
    assert_eq!(stop["session_id"], meta["session_id"], "{meta}");

    let rows = json(&g.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "gm");
    assert_eq!(rows[0]["harness"], "gemini");
    assert_eq!(rows[0]["status"], "idle", "{rows}");

    assert_eq!(
        std::fs::read_to_string(user_dir.join("settings.json")).unwrap(),
        SETTINGS,
        "the user's settings.json is untouched"
    );
    let worker_settings = g.worker_dir(id).join("gemini-home/.gemini/settings.json");
    let worker_settings = json(&std::fs::read_to_string(worker_settings).unwrap());
    assert_eq!(worker_settings["model"]["name"], "gemini-2.5-flash");
    assert_eq!(
        worker_settings["hooks"]["AfterAgent"][0]["hooks"][0]["timeout"],
        30000
    );
    assert!(
        worker_settings.get("context").is_none(),
        "{worker_settings}"
    );

    g.kill("gm", &stop);
}

/// The text of a Gemini request's `systemInstruction`.
fn system_text(body: &Value) -> String {
    body["systemInstruction"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect()
}

#[test]
fn gemini_outfit_prompt_tools_approval_mode_and_skills_reach_gemini() {
    let g = gemini(SETTINGS);
    // The user's own GEMINI.md still loads, before the outfit's prompt.
    std::fs::write(
        g.world.home().join(".gemini/GEMINI.md"),
        "USER-MEMORY-3 stays.\n",
    )
    .unwrap();
    let outfits = g.outfit(
        "gm-outfit",
        "name: gm-outfit\nharness: gemini\n\
         system_prompt: You are OUTFIT-GEMINI-7; answer tersely.\n\
         permission_mode: acceptEdits\n\
         tools:\n  deny: [Write, \"Bash(git push --force*)\"]\n  allow: [Read, \"Bash(git status *)\"]\n\
         skills: [probe-skill]\n\
         hooks: {Stop: [{hooks: [{type: command, command: \"touch OUTFIT-HOOK-FIRED\"}]}]}\n",
    );
    probe_skill(&outfits);

    let (spawned, stderr) = g.spawn("gmo", &["--outfit", "gm-outfit"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let (_, stop) = g.tell("gmo", "hi [[say: GEMINI-OUTFIT]]");
    assert_eq!(stop["last_assistant_message"], "GEMINI-OUTFIT");
    // The outfit's Stop hook ran as Gemini's AfterAgent, in the worker's folder.
    g.wait_hook_fired();
    let request = g.mock.wait_request(
        |b| last_user_text(b).contains("GEMINI-OUTFIT"),
        Duration::from_secs(5),
    );
    let system = system_text(&request);
    // Appended to Gemini's own prompt, after the user's GEMINI.md.
    let outfit_at = system.find("You are OUTFIT-GEMINI-7; answer tersely.");
    let user_at = system.find("USER-MEMORY-3 stays.");
    assert!(outfit_at.is_some() && user_at < outfit_at, "{system}");
    assert!(system.find("Gemini CLI") < outfit_at, "{system}");
    assert!(system.contains("OUTFIT-SKILL-DESC"), "{system}");
    // The denied tool is not offered; the others are.
    let tools: Vec<String> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| {
            t["functionDeclarations"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|f| f["name"].as_str().map(str::to_string))
        .collect();
    let offered = |name: &str| tools.iter().any(|t| t == name);
    assert!(!offered("write_file"), "{tools:?}");
    assert!(
        offered("replace") && offered("run_shell_command"),
        "{tools:?}"
    );
    let meta = g.meta(spawned["id"].as_str().unwrap());
    let argv = meta["argv"].to_string();
    assert!(argv.contains("\"--approval-mode\",\"auto_edit\""), "{argv}");
    assert!(argv.contains("outfit-policy.toml"), "{argv}");

    // Gemini's policy engine refuses the denied command and tells the model why.
    let (said, refused) = g.run_tool("gmo", "git push --force-with-lease origin");
    assert!(
        said.contains("tools.deny `Bash(git push --force*)`"),
        "{refused}"
    );

    g.kill("gmo", &refused);
}

#[test]
fn gemini_takes_every_prompt_shape_once() {
    let g = gemini(SETTINGS);
    g.spawn("shapes", &["--harness", "gemini"]);
    g.tell_corpus("shapes", last_user_text);
}

#[test]
fn gemini_worker_resumes_on_its_chat_after_a_crash() {
    gemini(SETTINGS).survives_a_crash("gm", "gemini");
}
