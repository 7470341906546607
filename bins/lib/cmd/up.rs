//! `orch up`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch up`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch up`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
