//! The per-worker settings of a Gemini CLI worker: a `settings.json` in the worker's folder that
//! Gemini reads through `GEMINI_CLI_SYSTEM_SETTINGS_PATH` (the "system" layer, which takes
//! precedence over the user's `~/.gemini/settings.json` and the project's). It registers orch's
//! hook and turns off update checks and nudges; the user's own Gemini folder is only read.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The hook events orch registers for Gemini CLI (all seen to fire in 0.61).
pub const HOOK_EVENTS: [&str; 5] = [
    "SessionStart",
    "BeforeAgent",
    "AfterAgent",
    "Notification",
    "SessionEnd",
];

/// Hook timeout, in milliseconds (Gemini's unit).
pub const HOOK_TIMEOUT_MS: u64 = 30_000;

/// The user's Gemini settings: `$GEMINI_CLI_HOME/.gemini/settings.json` if that variable is set
/// and non-empty, else `~/.gemini/settings.json`.
pub fn user_settings() -> Result<PathBuf> {
    let home = match std::env::var_os("GEMINI_CLI_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => crate::paths::home()?,
    };
    Ok(home.join(".gemini").join("settings.json"))
}

/// Writes `<dir>/gemini-settings.json` for a worker and returns its path, to hand to Gemini
/// as `GEMINI_CLI_SYSTEM_SETTINGS_PATH`. `hook` is the absolute path of `orch-hook`;
/// `api_key` says whether the worker gets `GEMINI_API_KEY`.
pub fn prepare(dir: &Path, hook: &Path, api_key: bool) -> Result<PathBuf> {
    let path = user_settings()?;
    let user = match std::fs::read_to_string(&path) {
        Ok(text) => parse_jsonc(&text).unwrap_or(Value::Null),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    let command = crate::claude::settings::hook_command(hook)?;
    let settings = settings_json(&command, &user, api_key);
    let out = dir.join("gemini-settings.json");
    let text = serde_json::to_string_pretty(&settings)?;
    crate::fsutil::write_atomic(&out, text.as_bytes(), 0o600)?;
    Ok(out)
}

/// The worker's settings: orch's hook for each of [`HOOK_EVENTS`], no update checks, usage
/// statistics or IDE nudge, and, when the user chose no auth method but `GEMINI_API_KEY` is
/// set (`api_key`), the API-key method (else Gemini asks on a first-run screen).
pub fn settings_json(command: &str, user: &Value, api_key: bool) -> Value {
    let mut hooks = serde_json::Map::new();
    for event in HOOK_EVENTS {
        hooks.insert(
            event.into(),
            json!([{"hooks": [{"name": "orch", "type": "command", "command": command,
                               "timeout": HOOK_TIMEOUT_MS}]}]),
        );
    }
    let mut settings = json!({
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
        "ide": {"hasSeenNudge": true},
        "hooks": hooks,
    });
    let chosen = user.pointer("/security/auth/selectedType").is_some();
    if api_key && !chosen {
        settings["security"] = json!({"auth": {"selectedType": "gemini-api-key"}});
    }
    settings
}

/// Parses a settings file that may hold `//` comments (Gemini accepts them).
fn parse_jsonc(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    serde_json::from_str(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_run_orchs_hook_with_millisecond_timeouts() {
        let s = settings_json("/bin/orch-hook", &Value::Null, true);
        for event in HOOK_EVENTS {
            let hook = &s["hooks"][event][0]["hooks"][0];
            assert_eq!(hook["command"], "/bin/orch-hook");
            assert_eq!(hook["timeout"], 30_000);
        }
        assert_eq!(s["security"]["auth"]["selectedType"], "gemini-api-key");
    }

    #[test]
    fn the_users_auth_choice_is_kept() {
        let user = parse_jsonc(
            "{\n // mine\n \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}},\n \
             \"x\": \"a//b\"}",
        )
        .unwrap();
        assert_eq!(user["x"], "a//b");
        let s = settings_json("h", &user, true);
        assert!(s.get("security").is_none());
        assert!(settings_json("h", &Value::Null, false)
            .get("security")
            .is_none());
    }
}
