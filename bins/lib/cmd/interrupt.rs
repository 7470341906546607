//! `orch interrupt`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch interrupt`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch interrupt`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
