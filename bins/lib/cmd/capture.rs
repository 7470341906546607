//! `orch capture`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch capture`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch capture`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch capture` is not available yet")
}
