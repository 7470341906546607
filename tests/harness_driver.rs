//! The steps the end-to-end tests of the Codex, Gemini CLI and pi harnesses share: a world with
//! its own tmux server and `orch up` done, `orch` commands with the CLI's variables that show
//! the mock's request log when they fail, spawn, acknowledged tell + listen, and kill.

use crate::mock_http::MockServer;
use crate::util::{json, World};
use serde_json::Value;
use std::ops::Deref;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// A world driving one harness whose model API is the mock `M`.
pub struct Driver<M: Deref<Target = MockServer>> {
    pub world: World,
    pub mock: M,
    env: Vec<(String, String)>,
}

impl<M: Deref<Target = MockServer>> Driver<M> {
    /// A world with tmux and orch installed; every `orch` command gets `env` on top of the
    /// world's.
    pub fn new(mock: M, env: &[(&str, String)]) -> Driver<M> {
        let driver = Driver {
            world: World::with_tmux(),
            mock,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        };
        driver.ok(&["up"]);
        driver
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.world.cmd("orch");
        cmd.args(args).envs(self.env.clone()).stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Runs `orch ARGS` with `stdin` as its input (none: empty).
    pub fn run_input(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = self.cmd(args);
        crate::util::output_with_stdin(&mut cmd, stdin.unwrap_or("").as_bytes())
    }

    /// Tells `name` every prompt shape of [`crate::fidelity::corpus`] and checks that each is
    /// acknowledged, answered and seen by the mock once; `user_text` reads a request body of
    /// this harness's mock.
    pub fn tell_corpus(
        &self,
        name: &str,
        user_text: fn(&Value) -> String,
    ) -> Vec<(&'static str, Value)> {
        crate::fidelity::tell_corpus(name, &|args, stdin| self.run_input(args, stdin), &|| {
            self.mock.requests().iter().map(user_text).collect()
        })
    }

    /// Runs `orch ARGS`, asserts success (showing the mock's log and the panes otherwise) and
    /// returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let context = format!("mock: {:?}", self.mock.log());
        self.world.expect_ok(args, self.run(args), &context)
    }

    /// Writes `<work>/.orch/outfits/NAME.yaml`; returns its folder.
    pub fn outfit(&self, name: &str, yaml: &str) -> PathBuf {
        let dir = self.world.work().join(".orch").join("outfits");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.yaml")), yaml).unwrap();
        dir
    }

    /// `orch --json spawn --name NAME --ready-timeout 60 EXTRA...`: its record and stderr,
    /// after checking that `orch ps` shows the worker idle, with its harness's detector.
    pub fn spawn(&self, name: &str, extra: &[&str]) -> (Value, String) {
        let mut args = vec!["--json", "spawn", "--name", name, "--ready-timeout", "60"];
        args.extend(extra);
        let out = self.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let context = format!("mock: {:?}", self.mock.log());
        let spawned = json(&self.world.expect_ok(&args, out, &context));
        let rows = json(&self.ok(&["--json", "ps"]));
        let row = rows.as_array().unwrap().iter().find(|r| r["name"] == name);
        let row = row.unwrap();
        assert_eq!(row["status"], "idle", "{rows}");
        // How its turn ends are learnt: pi through orch's extension, the others by hooks.
        let detector = if row["harness"] == "pi" {
            "extension"
        } else {
            "hooks"
        };
        assert_eq!(row["detector"], detector, "{rows}");
        (spawned, stderr)
    }

    /// Tells `name` the prompt `text` (acknowledged) and waits for the turn's end: the tell's
    /// record and the stop event.
    pub fn tell(&self, name: &str, text: &str) -> (Value, Value) {
        let told = json(&self.ok(&["--json", "tell", name, text]));
        assert_eq!(told["acknowledged"], true, "{told}");
        let stop = json(&self.ok(&["listen", name, "--timeout", "60"]));
        assert_eq!(stop["event"], "stop", "{stop}");
        assert!(stop["seq"].as_u64() > told["cursor"].as_u64());
        (told, stop)
    }

    /// Tells `name` a prompt that makes the mock call its shell tool with `command`; returns
    /// what the tool said (the mock's reply after `tool said: `) and the stop event.
    pub fn run_tool(&self, name: &str, command: &str) -> (String, Value) {
        let (_, stop) = self.tell(name, &format!("run it [[bash: {command}]]"));
        let said = stop["last_assistant_message"].as_str().unwrap_or_default();
        assert!(said.starts_with("tool said: "), "{stop}");
        (said.to_string(), stop)
    }

    /// Writes outfit `name` from `yaml`, spawns with it, and checks that the spawn is refused
    /// with each of `wants` in its error and nothing spawned.
    pub fn refused(&self, name: &str, yaml: &str, wants: &[&str]) {
        self.outfit(name, yaml);
        let out = self.run(&["spawn", "--outfit", name]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        for want in wants {
            assert!(stderr.contains(want), "{want:?} missing from: {stderr}");
        }
        let rows = json(&self.ok(&["--json", "ps", "--all"]));
        assert_eq!(rows, serde_json::json!([]), "nothing was spawned");
    }

    /// Waits until an outfit hook `touch OUTFIT-HOOK-FIRED` has run in the worker's folder (the
    /// world's work folder), up to 10 s.
    pub fn wait_hook_fired(&self) {
        let fired = self.world.work().join("OUTFIT-HOOK-FIRED");
        crate::util::wait_for(
            "the outfit's hook",
            std::time::Duration::from_secs(10),
            || fired.exists().then_some(()),
        );
    }

    /// The worker's state folder.
    pub fn worker_dir(&self, id: &str) -> PathBuf {
        self.world.state().join("workers").join(id)
    }

    /// The worker's `meta.json`.
    pub fn meta(&self, id: &str) -> Value {
        json(&std::fs::read_to_string(self.worker_dir(id).join("meta.json")).unwrap())
    }

    /// Spawns `name` on `harness`, tells it a first prompt, kills the tmux server (a crash),
    /// resumes it and tells it a second prompt: checks that it went on with its conversation
    /// (the mock's request for the second prompt carries the first) and that its new
    /// SessionStart names the same session.
    pub fn survives_a_crash(&self, name: &str, harness: &str) {
        self.spawn(name, &["--harness", harness]);
        let (_, first) = self.tell(name, "remember CRASH-FIRST-9 [[say: BEFORE-CRASH]]");
        let before = first["seq"].to_string();
        self.world.tmux.as_ref().unwrap().kill_server();
        let rows = json(&self.ok(&["--json", "ps"]));
        assert_eq!(rows[0]["status"], "resumable", "{rows}");
        let resumed = json(&self.ok(&["--json", "resume", name, "--ready-timeout", "60"]));
        assert_eq!(resumed[0]["conversation"], true, "{resumed}");
        let told = json(&self.ok(&["--json", "tell", name, "again [[say: AFTER-CRASH]]"]));
        assert_eq!(told["acknowledged"], true, "{told}");
        // From the cursor of before the crash: the first Stop after the resume.
        let stop = json(&self.ok(&["listen", name, "--after", &before, "--timeout", "60"]));
        assert_eq!(stop["last_assistant_message"], "AFTER-CRASH", "{stop}");
        let request = self
            .mock
            .requests()
            .into_iter()
            .find(|b| b.to_string().contains("AFTER-CRASH"))
            .expect("the second prompt reached the mock");
        let text = request.to_string();
        assert!(
            text.contains("CRASH-FIRST-9") && text.contains("BEFORE-CRASH"),
            "the first turn is not in the second request: {text}"
        );
        let events: Vec<Value> = self.ok(&["events", name]).lines().map(json).collect();
        let mark = events.iter().position(|e| e["event"] == "resumed").unwrap();
        let start = events[mark..]
            .iter()
            .find(|e| e["event"] == "session_start")
            .unwrap();
        assert_eq!(start["session_id"], events[mark]["session_id"], "{start}");
        // Killed, the resumed agent is gone with its pane: no process of its session is left.
        self.kill(name, &stop);
        let session = events[mark]["session_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        crate::util::wait_for(
            "the resumed agent's processes to end",
            Duration::from_secs(10),
            || crate::util::pids_running(&session).is_empty().then_some(()),
        );
    }

    /// Kills `name`, then checks that listening after `last` (the last event seen) says the
    /// worker is gone (exit 4).
    pub fn kill(&self, name: &str, last: &Value) {
        self.ok(&["kill", name]);
        let after = last["seq"].to_string();
        let out = self.run(&["listen", name, "--after", &after, "--timeout", "10"]);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A skill folder `probe-skill` beside the outfits in `outfits` (so `skills: [probe-skill]`
/// finds it), whose description carries `OUTFIT-SKILL-DESC`.
pub fn probe_skill(outfits: &std::path::Path) {
    let skill = outfits.join("probe-skill");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("SKILL.md"),
        "---\nname: probe-skill\ndescription: OUTFIT-SKILL-DESC probes whether skills arrive\n\
         ---\nSay hello.\n",
    )
    .unwrap();
}
