//! `orch ps`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch ps`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch ps`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
