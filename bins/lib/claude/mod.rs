//! Claude Code's files and formats: where they are, its settings.json (hook registrations)
//! and its own state file `.claude.json` (folder trust).

pub mod settings;
pub mod trust;

use anyhow::Result;
use std::path::PathBuf;

/// Claude Code's config folder: `$CLAUDE_CONFIG_DIR` if set and non-empty, else `~/.claude`.
pub fn claude_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(orch_store::paths::home()?.join(".claude"))
}

/// Claude Code's user settings file: `<claude_dir>/settings.json`.
pub fn claude_settings() -> Result<PathBuf> {
    Ok(claude_dir()?.join("settings.json"))
}

/// Claude Code's own state file, where folder trust is kept: `$CLAUDE_CONFIG_DIR/.claude.json`
/// when that variable is set, else `~/.claude.json`.
pub fn claude_json() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir).join(".claude.json"));
    }
    Ok(orch_store::paths::home()?.join(".claude.json"))
}
