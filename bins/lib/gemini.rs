//! The per-worker Gemini CLI folder of a worker (`GEMINI_CLI_HOME`, under which Gemini reads
//! `.gemini/settings.json`): the user's settings with orch's hook added and update checks and
//! nudges turned off, and links to everything else in the user's `~/.gemini` (credentials,
//! `GEMINI.md`, extensions, history). The user's own settings file is only read.
//!
//! Not `GEMINI_CLI_SYSTEM_SETTINGS_PATH`: Gemini skips a system settings file that has a
//! group- or world-writable folder above it (`/tmp`, so any state folder there).

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

/// The user's Gemini folder: `$GEMINI_CLI_HOME/.gemini` if that variable is set and non-empty,
/// else `~/.gemini`.
pub fn user_dir() -> Result<PathBuf> {
    let home = match std::env::var_os("GEMINI_CLI_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => crate::paths::home()?,
    };
    Ok(home.join(".gemini"))
}

/// Creates `<dir>/gemini-home` for a worker and returns it, to hand to Gemini as
/// `GEMINI_CLI_HOME`. `hook` is the absolute path of `orch-hook`; `api_key` says whether the
/// worker gets `GEMINI_API_KEY`.
pub fn prepare(dir: &Path, hook: &Path, api_key: bool) -> Result<PathBuf> {
    let user = user_dir()?;
    let home = dir.join("gemini-home");
    let own = home.join(".gemini");
    crate::fsutil::create_private_dir(&home)?;
    crate::fsutil::create_private_dir(&own)?;
    let path = user.join("settings.json");
    let settings = match std::fs::read_to_string(&path) {
        Ok(text) => parse_jsonc(&text).unwrap_or(Value::Null),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    if let Ok(entries) = std::fs::read_dir(&user) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = own.join(&name);
            if name == "settings.json" || std::fs::symlink_metadata(&link).is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), &link)
                .with_context(|| format!("cannot link `{}`", entry.path().display()))?;
        }
    }
    let command = crate::claude::settings::hook_command(hook)?;
    let settings = settings_json(&command, settings, api_key);
    let text = serde_json::to_string_pretty(&settings)?;
    crate::fsutil::write_atomic(&own.join("settings.json"), text.as_bytes(), 0o600)?;
    Ok(home)
}

/// The worker's settings: the user's `user` plus orch's hook for each of [`HOOK_EVENTS`] (after
/// the user's own), no update checks or IDE nudge, and, when the user chose no auth method but
/// `GEMINI_API_KEY` is set (`api_key`), the API-key method (else Gemini asks on a first-run
/// screen).
pub fn settings_json(command: &str, user: Value, api_key: bool) -> Value {
    let mut settings = match user {
        Value::Object(map) => Value::Object(map),
        _ => json!({}),
    };
    let chosen = settings.pointer("/security/auth/selectedType").is_some();
    let set = |settings: &mut Value, section: &str, key: &str, value: Value| {
        if !settings[section].is_object() {
            settings[section] = json!({});
        }
        settings[section][key] = value;
    };
    set(&mut settings, "general", "enableAutoUpdate", false.into());
    set(
        &mut settings,
        "general",
        "enableAutoUpdateNotification",
        false.into(),
    );
    set(&mut settings, "ide", "hasSeenNudge", true.into());
    if api_key && !chosen {
        set(
            &mut settings,
            "security",
            "auth",
            json!({"selectedType": "gemini-api-key"}),
        );
    }
    let entry = json!({"hooks": [{"name": "orch", "type": "command", "command": command,
                                   "timeout": HOOK_TIMEOUT_MS}]});
    for event in HOOK_EVENTS {
        match settings["hooks"][event].as_array_mut() {
            Some(entries) => entries.push(entry.clone()),
            None => set(&mut settings, "hooks", event, json!([entry.clone()])),
        }
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
        let user = json!({"hooks": {"AfterAgent": [{"hooks": [{"type": "command",
            "command": "mine"}]}]}, "model": {"name": "m"}});
        let s = settings_json("/bin/orch-hook", user, true);
        assert_eq!(s["model"]["name"], "m");
        assert_eq!(s["hooks"]["AfterAgent"][0]["hooks"][0]["command"], "mine");
        assert_eq!(
            s["hooks"]["AfterAgent"][1]["hooks"][0]["command"],
            "/bin/orch-hook"
        );
        for event in HOOK_EVENTS {
            let hook = &s["hooks"][event].as_array().unwrap().last().unwrap()["hooks"][0];
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
        let s = settings_json("h", user, true);
        assert_eq!(s["security"]["auth"]["selectedType"], "oauth-personal");
        assert!(settings_json("h", Value::Null, false)
            .get("security")
            .is_none());
    }
}
