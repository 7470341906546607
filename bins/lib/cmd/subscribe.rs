//! `orch subscribe`: peer subscription between panes. Not yet: it arrives with the
//! coordination issue (inboxes, push delivery through the Stop hook, roles).

use super::Ctx;
use anyhow::{bail, Result};

/// Flags of `orch subscribe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker whose events to hear.
    pub publisher: String,
    /// Everything else the coming command will take (`--to`, `--events`, `--mode`, `--follow`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

/// Runs `orch subscribe`: says it is not there yet and what to use meanwhile.
pub fn run(_ctx: &Ctx, args: Args) -> Result<()> {
    bail!(
        "`orch subscribe {}` is not available yet (peer subscription comes with the coordination \
         work): meanwhile wait on a worker with `orch listen {}`",
        args.publisher,
        args.publisher
    )
}
