//! `orch kill`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch kill`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch kill`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
