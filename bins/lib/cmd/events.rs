//! `orch events`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch events`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch events`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
