//! `orch subscribe`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch subscribe`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch subscribe`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
