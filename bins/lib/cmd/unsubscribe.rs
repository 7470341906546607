//! `orch unsubscribe`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch unsubscribe`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch unsubscribe`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch unsubscribe` is not available yet")
}
