//! `orch escalations`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch escalations`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch escalations`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch escalations` is not available yet")
}
