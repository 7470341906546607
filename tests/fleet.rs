//! A world where Claude Code and Codex workers run side by side, each CLI talking to its mock
//! model, `orch up` done: for tests that need both (resume, usage).

use crate::claude::{claude_bin, claude_env, prepare_home, DUMMY_API_KEY};
use crate::mock_model::MockModel;
use crate::mock_openai::MockOpenAi;
use crate::util::{json, World};
use std::process::{Output, Stdio};

/// A world with Claude Code and Codex both talking to their mocks, `orch up` done.
pub struct Fleet {
    pub world: World,
    pub claude: MockModel,
    pub codex: MockOpenAi,
}

impl Fleet {
    pub fn new() -> Fleet {
        let world = World::with_tmux();
        let claude = MockModel::start();
        let codex = MockOpenAi::start();
        prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
        let codex_dir = world.home().join(".codex");
        std::fs::create_dir_all(&codex_dir).unwrap();
        std::fs::write(
            codex_dir.join("config.toml"),
            format!(
                "model = \"mock-model\"\nmodel_provider = \"mock\"\n\n[model_providers.mock]\n\
                 name = \"Mock\"\nbase_url = \"{}\"\nwire_api = \"responses\"\n\
                 env_key = \"MOCK_API_KEY\"\nsupports_websockets = false\n\
                 request_max_retries = 0\nstream_max_retries = 0\n",
                codex.base_url()
            ),
        )
        .unwrap();
        let fleet = Fleet {
            world,
            claude,
            codex,
        };
        fleet.ok(&["up"]);
        fleet
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.world
            .cmd("orch")
            .args(args)
            .envs(claude_env(&self.claude))
            .env("ORCH_CLAUDE_BIN", claude_bin())
            .env("ORCH_CODEX_BIN", crate::codex::codex_bin())
            .env("MOCK_API_KEY", "mock-key")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let context = format!(
            "claude mock: {} requests\ncodex mock: {:?}\n{}",
            self.claude.requests().len(),
            self.codex.log(),
            self.world.explain()
        );
        self.world.expect_ok(args, self.run(args), &context)
    }

    /// Tells `name` `text` and waits for its Stop; returns the stop's message.
    pub fn turn(&self, name: &str, text: &str) -> String {
        let told = json(&self.ok(&["--json", "tell", name, text]));
        assert_eq!(told["acknowledged"], true, "{told}");
        let stop = json(&self.ok(&["listen", name, "--timeout", "60"]));
        stop["last_assistant_message"].as_str().unwrap().to_string()
    }
}
