//! `orch classify`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch classify`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch classify`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch classify` is not available yet")
}
