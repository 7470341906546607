//! End to end on the real pi CLI (`@mariozechner/pi-coding-agent`, installed by
//! `install/test-deps.sh` into `<cache>/pi`), talking to the Chat Completions mock on
//! 127.0.0.1: spawn a pi worker, tell, listen, ps, kill; the user's `~/.pi` stays as it was;
//! an outfit's prompt, skills and tool rules reach pi, and its denied command is refused.

use crate::harness_driver::{probe_skill, Driver};
use crate::mock_pi::{last_user_text, MockChat};
use crate::util::json;
use serde_json::Value;
use std::path::{Path, PathBuf};
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

/// A driver for pi with the user's `models.json` and settings in its HOME.
pub fn pi() -> Driver<MockChat> {
    let p = Driver::new(
        MockChat::start(),
        &[
            ("ORCH_PI_BIN", pi_bin().display().to_string()),
            ("MOCK_PI_KEY", "mock-key".into()),
            // No download of fd and ripgrep at startup (the test has no network).
            ("PI_OFFLINE", "1".into()),
        ],
    );
    let user_dir = p.world.home().join(".pi").join("agent");
    std::fs::create_dir_all(&user_dir).unwrap();
    std::fs::write(user_dir.join("models.json"), user_models(&p.mock)).unwrap();
    std::fs::write(user_dir.join("settings.json"), USER_SETTINGS).unwrap();
    p
}

#[test]
fn pi_worker_round_trip_then_kill() {
    let p = pi();
    let before = snapshot(&p.world.home().join(".pi"));

    let (spawned, _) = p.spawn("pw", &["--harness", "pi"]);
    assert_eq!(spawned["harness"], "pi");

    let (_, stop) = p.tell("pw", "hi [[say: PI-OK]]");
    assert_eq!(stop["last_assistant_message"], "PI-OK", "{stop}");
    let request = p.mock.wait_request(
        |b| last_user_text(b).contains("PI-OK"),
        Duration::from_secs(5),
    );
    assert_eq!(request["stream"], true);

    // A second prompt: same session, still attributed to the worker.
    let (_, two) = p.tell("pw", "again [[say: PI-TWO]]");
    assert_eq!(two["last_assistant_message"], "PI-TWO", "{two}");
    assert_eq!(two["session_id"], stop["session_id"]);

    let rows = json(&p.ok(&["--json", "ps"]));
    assert_eq!(rows[0]["name"], "pw");
    assert_eq!(rows[0]["harness"], "pi");
    assert_eq!(rows[0]["status"], "idle", "{rows}");
    // The worker adopted pi's own session id from its extension.
    let meta = p.meta(spawned["id"].as_str().unwrap());
    assert!(stop["session_id"].is_string(), "{stop}");
    assert_eq!(meta["session_id"], stop["session_id"], "{meta}");

    assert_eq!(
        snapshot(&p.world.home().join(".pi")),
        before,
        "the user's ~/.pi is untouched"
    );

    p.kill("pw", &two);
}

/// The system message of a Chat Completions request.
fn system_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "system" || m["role"] == "developer")
        .filter_map(|m| m["content"].as_str())
        .collect()
}

#[test]
fn pi_outfit_prompt_skills_and_denied_tools_reach_pi() {
    let p = pi();
    let outfits = p.outfit(
        "pw-outfit",
        "name: pw-outfit\nharness: pi\n\
         system_prompt: You are OUTFIT-PI-7; answer tersely.\n\
         permission_mode: bypassPermissions\n\
         tools:\n  deny: [Write, \"Bash(git push --force*)\"]\n  allow: [Read]\n\
         skills: [probe-skill]\n\
         hooks: {Stop: [{hooks: [{type: command, command: \"touch OUTFIT-HOOK-FIRED\"}]}]}\n",
    );
    probe_skill(&outfits);
    let before = snapshot(&p.world.home().join(".pi"));

    let (_, stderr) = p.spawn("pwo", &["--outfit", "pw-outfit"]);
    assert!(!stderr.contains("warning"), "{stderr}");
    let (_, stop) = p.tell("pwo", "hi [[say: PI-OUTFIT]]");
    assert_eq!(stop["last_assistant_message"], "PI-OUTFIT", "{stop}");
    // The outfit's Stop hook ran through orch's extension, in the worker's folder.
    p.wait_hook_fired();
    let request = p.mock.wait_request(
        |b| last_user_text(b).contains("PI-OUTFIT"),
        Duration::from_secs(5),
    );
    let system = system_text(&request);
    // Appended to pi's own prompt; the skill is listed.
    let outfit_at = system.find("You are OUTFIT-PI-7; answer tersely.");
    assert!(
        outfit_at.is_some() && system.find("Available tools") < outfit_at,
        "{system}"
    );
    assert!(system.contains("OUTFIT-SKILL-DESC"), "{system}");
    // The denied tool is not offered; the others are.
    let tools: Vec<&str> = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    assert!(!tools.contains(&"write"), "{tools:?}");
    assert!(
        tools.contains(&"bash") && tools.contains(&"edit"),
        "{tools:?}"
    );

    // The denied command is refused by the guard and the model is told why; an allowed one runs.
    let (said, refused) = p.run_tool("pwo", "git push --force origin main");
    assert!(
        said.contains("denied by orch outfit `pw-outfit` (tools.deny `Bash(git push --force*)`)"),
        "{refused}"
    );
    let (said, ran) = p.run_tool("pwo", "echo GUARD-LETS-THIS-RUN");
    assert!(said.contains("GUARD-LETS-THIS-RUN"), "{ran}");
    assert!(!said.contains("denied"), "{ran}");

    assert_eq!(snapshot(&p.world.home().join(".pi")), before);
    p.kill("pwo", &ran);
}

#[test]
fn pi_outfit_with_a_permission_mode_pi_lacks_is_refused() {
    pi().refused(
        "pw-ask",
        "name: pw-ask\nharness: pi\npermission_mode: acceptEdits\n",
        &["outfit `pw-ask` on pi: permission_mode `acceptEdits` has no pi equivalent"],
    );
}

#[test]
fn pi_takes_every_prompt_shape_once() {
    let p = pi();
    p.spawn("shapes", &["--harness", "pi"]);
    p.tell_corpus("shapes", last_user_text);
}

#[test]
fn pi_worker_resumes_on_its_session_after_a_crash() {
    pi().survives_a_crash("pw", "pi");
}
