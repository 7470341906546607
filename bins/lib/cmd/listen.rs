//! `orch listen`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch listen`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch listen`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
