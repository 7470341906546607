//! The per-worker home of a Codex CLI worker (`CODEX_HOME`): a copy of the user's
//! `config.toml` with the worker folder trusted, a link to the user's `auth.json`, and a
//! `hooks.json` that runs orch's hook. The user's own Codex folder is only read.

use anyhow::{Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The hook events orch registers for Codex (the ones seen to fire with Claude-shaped payloads).
pub const HOOK_EVENTS: [&str; 3] = ["SessionStart", "UserPromptSubmit", "Stop"];

/// The user's Codex folder: `$CODEX_HOME` if set and non-empty, else `~/.codex`.
pub fn user_home() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CODEX_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(crate::paths::home()?.join(".codex"))
}

/// What [`prepare`] made.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The worker's `CODEX_HOME`.
    pub home: PathBuf,
    /// Variables the user's providers read their key from (`env_key`), to pass to the worker.
    pub env_keys: Vec<String>,
}

/// Creates `<dir>/codex-home` for a worker that runs in `cwd`: `config.toml` from the user's
/// (see [`config_text`]), `auth.json` linked to the user's when there is one, and `hooks.json`
/// with `hook` (the absolute path of `orch-hook`) for [`HOOK_EVENTS`].
pub fn prepare(dir: &Path, cwd: &Path, hook: &Path) -> Result<Prepared> {
    let user = user_home()?;
    let home = dir.join("codex-home");
    crate::fsutil::create_private_dir(&home)?;
    let user_config = user.join("config.toml");
    let text = match std::fs::read_to_string(&user_config) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read `{}`", user_config.display()))
        }
    };
    let config = config_text(&text, &cwd.display().to_string());
    crate::fsutil::write_atomic(&home.join("config.toml"), config.as_bytes(), 0o600)?;
    let auth = user.join("auth.json");
    let link = home.join("auth.json");
    if auth.is_file() && std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(&auth, &link)
            .with_context(|| format!("cannot link `{}`", auth.display()))?;
    }
    let command = crate::claude::settings::hook_command(hook)?;
    let hooks = serde_json::to_string_pretty(&hooks_json(&command))?;
    crate::fsutil::write_atomic(&home.join("hooks.json"), hooks.as_bytes(), 0o600)?;
    Ok(Prepared {
        home,
        env_keys: env_keys(&text),
    })
}

/// The worker's `config.toml`: the user's text unchanged, then a `[projects."<cwd>"]` table
/// that trusts `cwd` (Codex asks "Trust this folder?" in a git repo otherwise), unless the
/// user's text already has that table.
pub fn config_text(user: &str, cwd: &str) -> String {
    let header = format!("[projects.{}]", toml_string(cwd));
    let mut text = user.to_string();
    if user.lines().any(|line| line.trim() == header) {
        return text;
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# Added by orch for this worker.\n{header}\ntrust_level = \"trusted\"\n"
    ));
    text
}

/// `hooks.json` that runs `command` for each of [`HOOK_EVENTS`].
pub fn hooks_json(command: &str) -> serde_json::Value {
    let mut hooks = serde_json::Map::new();
    for event in HOOK_EVENTS {
        hooks.insert(
            event.into(),
            json!([{"hooks": [{"type": "command", "command": command, "timeout": 30}]}]),
        );
    }
    json!({ "hooks": hooks })
}

/// The variable names given as `env_key = "NAME"` in a Codex `config.toml`.
pub fn env_keys(config: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r#"(?m)^\s*env_key\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)""#)
        .expect("valid regex");
    let mut keys: Vec<String> = re.captures_iter(config).map(|c| c[1].to_string()).collect();
    keys.dedup();
    keys
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keeps_the_users_text_and_trusts_the_folder_once() {
        let user = "model = \"m\"\n[model_providers.mock]\nenv_key = \"MOCK_KEY\"";
        let got = config_text(user, "/w/a \"b\"");
        assert!(got.starts_with(user));
        assert!(got.contains("\n[projects.\"/w/a \\\"b\\\"\"]\ntrust_level = \"trusted\"\n"));
        assert_eq!(config_text(&got, "/w/a \"b\""), got, "idempotent");
        assert_eq!(env_keys(user), ["MOCK_KEY"]);
        assert!(config_text("", "/w").starts_with("\n# Added by orch"));
    }

    #[test]
    fn hooks_run_orchs_hook_for_each_event() {
        let hooks = hooks_json("/bin/orch-hook");
        for event in HOOK_EVENTS {
            assert_eq!(
                hooks["hooks"][event][0]["hooks"][0]["command"],
                "/bin/orch-hook"
            );
        }
    }
}
