//! The per-worker agent folder of a pi worker (`PI_CODING_AGENT_DIR`) and orch's pi extension.
//!
//! pi (`@mariozechner/pi-coding-agent`) has no shell hooks: orch ships a TypeScript extension
//! ([`EXTENSION`]), written into the worker's folder and passed with `-e`, that runs
//! `$ORCH_HOOK` (the absolute path of `orch-hook`) with Claude-shaped hook inputs on
//! SessionStart, UserPromptSubmit and Stop. The worker's agent folder links the user's
//! `models.json`, `auth.json` and other resources and copies `settings.json`, so that pi's own
//! writes (settings, sessions) stay out of the user's `~/.pi/agent`, which is only read.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The extension's source (`hooks/pi/orch-extension.ts`).
pub const EXTENSION: &str = include_str!("../../hooks/pi/orch-extension.ts");

/// The user's pi agent folder: `$PI_CODING_AGENT_DIR` if set and non-empty, else
/// `~/.pi/agent`.
pub fn user_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PI_CODING_AGENT_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(
            shellexpand::tilde(&dir.to_string_lossy()).as_ref(),
        ));
    }
    Ok(crate::paths::home()?.join(".pi").join("agent"))
}

/// What [`prepare`] made.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The worker's `PI_CODING_AGENT_DIR`.
    pub agent_dir: PathBuf,
    /// The extension file to pass with `-e`.
    pub extension: PathBuf,
    /// Variables the user's `models.json` names as API keys, to pass to the worker.
    pub env_keys: Vec<String>,
}

/// Entries of the user's agent folder that are not linked into a worker's: `settings.json` is
/// copied (pi writes to it), sessions stay per worker.
const NOT_LINKED: [&str; 2] = ["settings.json", "sessions"];

/// Creates `<dir>/pi-agent` (the user's agent folder's entries linked, `settings.json` copied)
/// and `<dir>/orch-extension.ts`.
pub fn prepare(dir: &Path) -> Result<Prepared> {
    let user = user_dir()?;
    let agent_dir = dir.join("pi-agent");
    crate::fsutil::create_private_dir(&agent_dir)?;
    if let Ok(entries) = std::fs::read_dir(&user) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if NOT_LINKED.iter().any(|n| name == *n) {
                continue;
            }
            let link = agent_dir.join(&name);
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(entry.path(), &link)
                    .with_context(|| format!("cannot link `{}`", entry.path().display()))?;
            }
        }
    }
    let settings = user.join("settings.json");
    match std::fs::read(&settings) {
        Ok(bytes) => crate::fsutil::write_atomic(&agent_dir.join("settings.json"), &bytes, 0o600)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read `{}`", settings.display()))
        }
    }
    let extension = dir.join("orch-extension.ts");
    crate::fsutil::write_atomic(&extension, EXTENSION.as_bytes(), 0o600)?;
    let models = std::fs::read_to_string(user.join("models.json")).unwrap_or_default();
    Ok(Prepared {
        agent_dir,
        extension,
        env_keys: env_keys(&models),
    })
}

/// The `apiKey` values of a `models.json` that name an environment variable (pi reads the key
/// from the variable when one by that name is set).
pub fn env_keys(models: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(models) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = value["providers"]
        .as_object()
        .into_iter()
        .flat_map(|providers| providers.values())
        .filter_map(|p| p["apiKey"].as_str())
        .filter(|k| {
            let mut chars = k.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keys_are_the_variable_shaped_api_keys() {
        let models = r#"{"providers":{"a":{"apiKey":"dummy"},"b":{"apiKey":"MOCK_KEY"},
            "c":{"apiKey":"MOCK_KEY"},"d":{}}}"#;
        assert_eq!(env_keys(models), ["MOCK_KEY"]);
        assert!(env_keys("not json").is_empty());
    }

    #[test]
    fn the_extension_runs_orch_hook_for_the_three_events() {
        for s in [
            "ORCH_HOOK",
            "SessionStart",
            "UserPromptSubmit",
            "\"Stop\"",
            "agent_end",
        ] {
            assert!(EXTENSION.contains(s), "{s}");
        }
    }
}
