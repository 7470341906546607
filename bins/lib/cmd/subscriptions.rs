//! `orch subscriptions`.

use super::Ctx;
use anyhow::Result;

/// Flags of `orch subscriptions`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `orch subscriptions`.
pub fn run(_ctx: &Ctx, _args: Args) -> Result<()> {
    anyhow::bail!("`orch subscriptions` is not available yet")
}
