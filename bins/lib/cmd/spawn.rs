//! `orch spawn`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch spawn`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch spawn`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
