//! Folder trust in `.claude.json` (written by helper).

use anyhow::Result;
use std::path::Path;

/// Placeholder until the trust helper lands.
pub fn trust_folder(_dir: &Path) -> Result<bool> {
    anyhow::bail!("not yet")
}
