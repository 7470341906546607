//! orch loaded as a Claude Code plugin (`claude --plugin-dir <repo root>`) on the real Claude
//! Code CLI against the mock model: the plugin's hooks record a worker's events without
//! `orch up`, its skills reach the model, and with `orch up`'s hooks active too each event is
//! recorded once. `orch up --plugin` only prints.

use crate::claude::{claude_bin, claude_env, prepare_home, DUMMY_API_KEY};
use crate::mock_model::{last_user_text, MockModel};
use crate::util::{exe, json, World};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// The plugin folder: the repository root, which holds `.claude-plugin/plugin.json`.
const PLUGIN_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// A world with its own tmux server, a mock model and Claude Code's first-run screens answered.
struct Plugin {
    world: World,
    mock: MockModel,
}

impl Plugin {
    fn new() -> Plugin {
        let world = World::with_tmux();
        let mock = MockModel::start();
        prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
        Plugin { world, mock }
    }

    /// `orch ARGS` with the world's environment, what Claude Code needs, and `ORCH_BINARY` so
    /// that the plugin's launcher finds this build's `orch-hook`.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args)
            .envs(claude_env(&self.mock))
            .env("ORCH_CLAUDE_BIN", claude_bin())
            .env("ORCH_BINARY", exe("orch"))
            .stdin(Stdio::null());
        cmd
    }

    fn ok(&self, args: &[&str]) -> String {
        self.world
            .expect_ok(args, self.cmd(args).output().unwrap(), "")
    }

    /// Spawns a claude worker `name` with orch's plugin loaded.
    fn spawn_with_plugin(&self, name: &str) -> Value {
        json(&self.ok(&[
            "--json",
            "spawn",
            "--name",
            name,
            "--",
            "--plugin-dir",
            PLUGIN_DIR,
        ]))
    }

    /// Tells `name` to answer `reply` and waits for the Stop; returns it.
    fn turn(&self, name: &str, reply: &str) -> Value {
        self.ok(&["tell", name, &format!("go [[say: {reply}]]")]);
        json(&self.ok(&["listen", name, "--timeout", "60"]))
    }

    /// The kinds of `name`'s recorded events so far, in order. A second hook run could still be
    /// writing when `listen` returns, so this tells `name` once more and keeps what came before
    /// that prompt: Claude Code submits it only after the last turn's hooks have ended.
    fn kinds_before_next_turn(&self, name: &str) -> Vec<String> {
        let next = json(&self.ok(&["--json", "tell", name, "again [[say: AGAIN]]"]));
        let cursor = next["cursor"].as_u64().unwrap();
        self.ok(&["events", name])
            .lines()
            .map(json)
            .filter(|e| e["seq"].as_u64().unwrap() < cursor)
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect()
    }
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[test]
fn plugin_hooks_record_a_worker_without_orch_up_and_its_skills_reach_the_model() {
    let p = Plugin::new();
    p.spawn_with_plugin("p");
    let stop = p.turn("p", "PLUGIN-OK");
    assert_eq!(stop["event"], "stop");
    assert_eq!(stop["last_assistant_message"], "PLUGIN-OK");
    assert!(
        !p.world.settings().exists(),
        "settings.json stays untouched"
    );
    let kinds = p.kinds_before_next_turn("p");
    assert_eq!(count(&kinds, "session_start"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "prompt"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "stop"), 1, "{kinds:?}");

    let request = p
        .mock
        .wait_request(|body| last_user_text(body).contains("PLUGIN-OK"), WAIT);
    // Claude Code lists skills in `messages` (not in the top-level `system` prompt): "The
    // following skills are available for use with the Skill tool:" then one
    // "- <plugin>:<skill>: <description>" line per skill.
    let listing = crate::mock_model::message_texts(&request)
        .into_iter()
        .find(|text| text.contains("skills are available for use with the Skill tool"))
        .unwrap_or_else(|| panic!("no skill listing in the request: {request:#}"));
    for skill in ["orch:orch", "orch:orch-worker"] {
        assert!(
            listing
                .lines()
                .any(|l| l.starts_with(&format!("- {skill}: "))),
            "no `{skill}` in the skill listing:\n{listing}"
        );
    }
}

#[test]
fn plugin_and_orch_up_together_record_each_event_once() {
    let p = Plugin::new();
    p.ok(&["up"]);
    p.spawn_with_plugin("both");
    let stop = p.turn("both", "ONCE");
    assert_eq!(stop["last_assistant_message"], "ONCE");
    let kinds = p.kinds_before_next_turn("both");
    assert_eq!(count(&kinds, "session_start"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "prompt"), 1, "{kinds:?}");
    assert_eq!(count(&kinds, "stop"), 1, "{kinds:?}");
}

#[test]
fn up_plugin_prints_the_plugin_dir_and_changes_nothing() {
    let p = Plugin::new();
    let out = p.ok(&["up", "--plugin"]);
    assert!(out.contains("claude --plugin-dir "), "{out}");
    assert!(!p.world.settings().exists(), "{out}");
    assert!(!p.world.claude_dir().join("skills").exists(), "{out}");

    p.ok(&["up"]);
    let before = std::fs::read(p.world.settings()).unwrap();
    let out = p.ok(&["up", "--plugin"]);
    assert!(out.contains("claude --plugin-dir "), "{out}");
    assert!(out.contains("warning: "), "{out}");
    assert_eq!(std::fs::read(p.world.settings()).unwrap(), before);
}
