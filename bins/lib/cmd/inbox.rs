//! `orch inbox`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch inbox`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch inbox`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch inbox` is not available yet")
}
