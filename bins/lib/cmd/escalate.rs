//! `orch escalate`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch escalate`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch escalate`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch escalate` is not available yet")
}
