//! `orch audit`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch audit`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch audit`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch audit` is not available yet")
}
