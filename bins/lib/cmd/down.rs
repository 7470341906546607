//! `orch down`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch down`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch down`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
