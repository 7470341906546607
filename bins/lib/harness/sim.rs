//! orch's own simulated agent, `orch-sim` (beside the `orch` executable): it draws Claude
//! Code's input box and fires the same hooks, for the demo and fast tests. An outfit gives it
//! only `--model`.

use super::adapter::{dressed, input_box, Adapter, Launch, Spawn};
use crate::outfit::Dress;
use anyhow::Result;

/// The sim adapter.
pub struct Sim;

impl Adapter for Sim {
    fn title(&self) -> &'static str {
        "orch-sim"
    }

    /// What Claude Code would get: `ANTHROPIC_*` and `CLAUDE_*`.
    fn passes(&self, key: &str) -> bool {
        key.starts_with("ANTHROPIC_") || key.starts_with("CLAUDE_")
    }

    fn input_ready(&self, screen: &str) -> Option<bool> {
        Some(input_box(screen).is_some())
    }

    /// The sim keeps a leading space, so a space is enough.
    fn prompt_guard(&self) -> &'static str {
        " "
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let dress = dressed(spawn.outfit, |outfit| {
            let mut dress = Dress::default();
            if let Some(model) = &outfit.model {
                dress.arg("--model", model);
            }
            Ok(dress)
        })?;
        let mut argv = vec![
            orch_store::paths::sibling_exe("orch-sim")?
                .display()
                .to_string(),
            "--session-id".into(),
            spawn.session_id.unwrap_or_default().into(),
            "--name".into(),
            spawn.name.into(),
        ];
        argv.extend(dress.args.iter().cloned());
        argv.extend(spawn.args.iter().cloned());
        Ok(Launch::new(argv, dress))
    }
}
