//! `orch decide`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch decide`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch decide`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch decide` is not available yet")
}
