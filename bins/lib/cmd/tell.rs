//! `orch tell`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch tell`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch tell`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
