//! Folder trust in Claude Code's own state file (`.claude.json`): marking a folder trusted so a
//! worker started there skips the "Do you trust the files in this folder?" dialog.
//!
//! The key is `projects[<absolute folder>].hasTrustDialogAccepted`, as observed with Claude Code
//! 2.1.197 (docs/observed.md, 2.4). Claude Code rewrites this file
//! itself, so everything orch does not set is kept as it is.

use super::settings;
use anyhow::{anyhow, Context, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Marks `dir` trusted in [`crate::claude::claude_json`] (`~/.claude.json`, or
/// `$CLAUDE_CONFIG_DIR/.claude.json`): sets `projects[<dir>].hasTrustDialogAccepted` to `true`,
/// where `<dir>` is `dir` made absolute with symlinks resolved (the folder Claude Code sees as
/// its cwd). Uses [`settings::update`]: lock, backup, atomic write, nothing else changed; a
/// missing file is created.
///
/// Returns whether the file changed (`false` when the folder was trusted already).
///
/// Errors: the file is not valid JSON, `projects` or the folder's entry is not an object, or an
/// I/O step fails; the file is then left as it was.
pub fn trust_folder(dir: &Path) -> Result<bool> {
    trust_folder_in(&crate::claude::claude_json()?, dir)
}

/// [`trust_folder`] with the state file given: marks `dir` trusted in `state_file`.
pub fn trust_folder_in(state_file: &Path, dir: &Path) -> Result<bool> {
    let key = folder_key(dir)?;
    let updated = settings::update(state_file, |state| mark_trusted(state, &key))?;
    Ok(updated.changed)
}

/// `dir` as Claude Code names it in `projects`: absolute, symlinks resolved when it exists.
fn folder_key(dir: &Path) -> Result<String> {
    let abs: PathBuf = match dir.canonicalize() {
        Ok(real) => real,
        Err(_) => std::path::absolute(dir)
            .with_context(|| format!("cannot make `{}` absolute", dir.display()))?,
    };
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the path `{}` is not valid UTF-8", abs.display()))
}

/// Returns `state` (the content of `.claude.json`) with `projects[key].hasTrustDialogAccepted`
/// set to `true`, creating `projects` and the entry (appended at the end) if missing.
///
/// Errors: `state`, `projects` or `projects[key]` is not an object; the message names the key.
pub fn mark_trusted(state: &Value, key: &str) -> Result<Value> {
    let mut out = state.clone();
    let root = out
        .as_object_mut()
        .ok_or_else(|| anyhow!("the file does not hold an object at the top level"))?;
    let projects = root
        .entry("projects")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| anyhow!("`projects` is not an object: fix or remove it"))?;
    let entry = projects
        .entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| anyhow!("`projects.{key}` is not an object: fix or remove it"))?;
    entry.insert("hasTrustDialogAccepted".into(), Value::Bool(true));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_folder_and_keeps_the_rest() {
        let before = json!({
            "numStartups": 4,
            "projects": {"/a": {"allowedTools": [], "hasTrustDialogAccepted": false, "x": 1}},
            "theme": "dark"
        });
        let out = mark_trusted(&before, "/a").unwrap();
        assert_eq!(
            serde_json::to_string(&out).unwrap(),
            r#"{"numStartups":4,"projects":{"/a":{"allowedTools":[],"hasTrustDialogAccepted":true,"x":1}},"theme":"dark"}"#
        );
        let out = mark_trusted(&out, "/b").unwrap();
        assert_eq!(
            out["projects"]["/b"],
            json!({"hasTrustDialogAccepted": true})
        );
        assert_eq!(mark_trusted(&out, "/b").unwrap(), out);
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = mark_trusted(&json!({"projects": []}), "/a").unwrap_err();
        assert!(err.to_string().contains("`projects` is not an object"));
        let err = mark_trusted(&json!({"projects": {"/a": true}}), "/a").unwrap_err();
        assert!(err.to_string().contains("`projects./a` is not an object"));
    }

    #[test]
    fn trusting_writes_once_with_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".claude.json");
        let work = dir.path().canonicalize().unwrap().join("work");
        std::fs::create_dir(&work).unwrap();
        std::fs::write(&file, "{\"theme\": \"dark\", \"numStartups\": 2}").unwrap();
        assert!(trust_folder_in(&file, &work).unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["theme"], "dark");
        assert_eq!(
            value["projects"][work.to_str().unwrap()]["hasTrustDialogAccepted"],
            true
        );
        let backups = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| {
                    let name = e.as_ref().unwrap().file_name();
                    name.to_string_lossy().starts_with(".claude.json.bak.")
                })
                .count()
        };
        assert_eq!(backups(), 1);
        assert!(!trust_folder_in(&file, &work).unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        assert_eq!(backups(), 1);
    }

    #[test]
    fn invalid_state_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".claude.json");
        std::fs::write(&file, "{\"projects\": ").unwrap();
        let err = trust_folder_in(&file, dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("line 1, column 13"), "{err:#}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"projects\": ");
    }

    #[test]
    fn folder_keys_are_absolute_and_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(folder_key(&link).unwrap(), real.to_str().unwrap());
        assert!(folder_key(Path::new("not/there")).unwrap().starts_with('/'));
    }
}
