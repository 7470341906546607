//! `orch demo`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch demo`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch demo`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("not yet")
}
