//! `orch up` and `orch down` on real files in a temp HOME: what they write, what they keep, and
//! that they touch nothing when they refuse.

use crate::util::{exe, json, stderr, World};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use orch::claude::settings::EVENTS;

/// A user's settings.json with their own hooks (one on an event orch uses), unknown keys and a
/// key order that is not alphabetical, in a layout serde_json would not produce.
const USER_SETTINGS: &str = r#"{
    "model": "opus",
    "hooks": {
        "Stop": [ { "matcher": "", "hooks": [ { "type": "command", "command": "notify-send done" } ] } ],
        "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/local/bin/guard" } ] } ]
    },
    "zzz_unknown": { "b": 2, "a": [1, 2, 3] },
    "alwaysThinkingEnabled": true
}
"#;

/// The absolute path of the orch-hook this test run built, as `orch up` registers it.
fn hook_path() -> String {
    exe("orch-hook")
        .canonicalize()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Serialised with key order, so equal strings mean equal values in the same order.
fn ordered(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

/// The backups of `file` beside it.
fn backups(file: &Path) -> Vec<PathBuf> {
    let prefix = format!("{}.bak.", file.file_name().unwrap().to_str().unwrap());
    let mut found: Vec<PathBuf> = fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&prefix)
        })
        .collect();
    found.sort();
    found
}

fn commands(settings: &Value, event: &str) -> Vec<String> {
    settings["hooks"][event]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|entry| entry["hooks"].as_array().unwrap())
        .map(|hook| hook["command"].as_str().unwrap().to_string())
        .collect()
}

fn skill_link(w: &World, name: &str) -> PathBuf {
    w.claude_dir().join("skills").join(name)
}

fn data_skills(w: &World) -> PathBuf {
    w.home().join(".local/share/orch/skills")
}

fn write_user_settings(w: &World) {
    fs::create_dir_all(w.claude_dir()).unwrap();
    fs::write(w.settings(), USER_SETTINGS).unwrap();
}

#[test]
fn up_creates_a_missing_settings_file_with_the_seven_events() {
    let w = World::new();
    let out = w.ok(&["up"]);
    assert!(out.contains("add hook Stop:"), "{out}");
    let settings = read_json(&w.settings());
    let events: Vec<&String> = settings["hooks"].as_object().unwrap().keys().collect();
    assert_eq!(events, EVENTS);
    for event in EVENTS {
        // The PermissionRequest hook may wait on an answer from the phone while the dialog
        // shows: a day.
        let timeout = if event == "PermissionRequest" {
            86_400
        } else {
            10
        };
        assert_eq!(
            settings["hooks"][event],
            serde_json::json!([{"hooks": [{"type": "command", "command": hook_path(), "timeout": timeout}]}])
        );
    }
    assert!(backups(&w.settings()).is_empty());
}

#[test]
fn up_keeps_the_users_settings_and_backs_them_up_once() {
    let w = World::new();
    write_user_settings(&w);
    let out = w.ok(&["up"]);
    let backup = backups(&w.settings());
    assert_eq!(backup.len(), 1, "{backup:?}");
    assert_eq!(fs::read_to_string(&backup[0]).unwrap(), USER_SETTINGS);
    assert!(out.contains(backup[0].to_str().unwrap()), "{out}");

    let before: Value = serde_json::from_str(USER_SETTINGS).unwrap();
    let after = read_json(&w.settings());
    let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["model", "hooks", "zzz_unknown", "alwaysThinkingEnabled"]
    );
    assert_eq!(
        ordered(&after["zzz_unknown"]),
        ordered(&before["zzz_unknown"])
    );
    assert_eq!(commands(&after, "Stop"), ["notify-send done", &hook_path()]);
    assert_eq!(after["hooks"]["Stop"][0], before["hooks"]["Stop"][0]);
    assert_eq!(after["hooks"]["PreToolUse"], before["hooks"]["PreToolUse"]);
}

#[test]
fn second_up_changes_nothing_and_makes_no_backup() {
    let w = World::new();
    write_user_settings(&w);
    w.ok(&["up"]);
    let bytes = fs::read(w.settings()).unwrap();
    let out = w.ok(&["up"]);
    assert!(out.contains("nothing changed"), "{out}");
    assert_eq!(fs::read(w.settings()).unwrap(), bytes);
    assert_eq!(backups(&w.settings()).len(), 1);
}

#[test]
fn up_updates_an_older_install_in_place() {
    let w = World::new();
    fs::create_dir_all(w.claude_dir()).unwrap();
    let old = r#"{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/old/bin/orch-hook", "timeout": 10}]}]}}"#;
    fs::write(w.settings(), old).unwrap();
    let out = w.ok(&["up"]);
    assert!(
        out.contains(&format!(
            "update hook Stop: /old/bin/orch-hook -> {}",
            hook_path()
        )),
        "{out}"
    );
    assert_eq!(commands(&read_json(&w.settings()), "Stop"), [hook_path()]);
}

#[test]
fn up_refuses_invalid_json_and_touches_nothing() {
    let w = World::new();
    fs::create_dir_all(w.claude_dir()).unwrap();
    let broken = "{\n  \"model\": \"opus\",\n  \"hooks\": {,\n}\n";
    fs::write(w.settings(), broken).unwrap();
    let out = w.orch(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(w.settings().to_str().unwrap()), "{err}");
    assert!(err.contains("line 3, column 13"), "{err}");
    assert!(err.contains("fix the file"), "{err}");
    assert_eq!(fs::read_to_string(w.settings()).unwrap(), broken);
    assert!(backups(&w.settings()).is_empty());
    assert!(!w.claude_dir().join("skills").exists());
    assert!(!data_skills(&w).exists());
}

#[test]
fn up_names_a_key_of_the_wrong_type() {
    let w = World::new();
    fs::create_dir_all(w.claude_dir()).unwrap();
    fs::write(w.settings(), r#"{"hooks": []}"#).unwrap();
    let out = w.orch(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`hooks` is an array"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(w.settings()).unwrap(),
        r#"{"hooks": []}"#
    );
}

#[test]
fn up_honours_claude_config_dir() {
    let w = World::new();
    let config = w.root().join("config");
    let out = w
        .cmd("orch")
        .arg("up")
        .env("CLAUDE_CONFIG_DIR", &config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        commands(&read_json(&config.join("settings.json")), "Stop"),
        [hook_path()]
    );
    assert!(config.join("skills/orch/SKILL.md").is_file());
    assert!(!w.claude_dir().exists());
}

#[test]
fn symlinked_settings_stay_a_symlink() {
    let w = World::new();
    let dotfiles = w.root().join("dotfiles");
    fs::create_dir_all(&dotfiles).unwrap();
    fs::write(dotfiles.join("settings.json"), USER_SETTINGS).unwrap();
    fs::create_dir_all(w.claude_dir()).unwrap();
    std::os::unix::fs::symlink(dotfiles.join("settings.json"), w.settings()).unwrap();
    w.ok(&["up"]);
    let meta = fs::symlink_metadata(w.settings()).unwrap();
    assert!(meta.file_type().is_symlink());
    let target = read_json(&dotfiles.join("settings.json"));
    assert_eq!(commands(&target, "SessionEnd"), [hook_path()]);
    assert_eq!(backups(&dotfiles.join("settings.json")).len(), 1);
    w.ok(&["down", "--yes"]);
    assert!(fs::symlink_metadata(w.settings())
        .unwrap()
        .file_type()
        .is_symlink());
    let back = read_json(&dotfiles.join("settings.json"));
    assert_eq!(
        ordered(&back),
        ordered(&serde_json::from_str(USER_SETTINGS).unwrap())
    );
}

#[test]
fn skills_are_linked_and_removed() {
    let w = World::new();
    let mine = w.claude_dir().join("skills/mine");
    fs::create_dir_all(&mine).unwrap();
    fs::write(mine.join("SKILL.md"), "---\nname: mine\n---\n").unwrap();
    w.ok(&["up"]);
    for name in ["orch", "orch-worker"] {
        let link = skill_link(&w, name);
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), data_skills(&w).join(name));
        let body = fs::read_to_string(link.join("SKILL.md")).unwrap();
        assert!(body.contains(&format!("name: {name}\n")), "{body}");
    }
    w.ok(&["down", "--yes"]);
    assert!(fs::symlink_metadata(skill_link(&w, "orch")).is_err());
    assert!(fs::symlink_metadata(skill_link(&w, "orch-worker")).is_err());
    assert!(!data_skills(&w).exists());
    assert!(mine.join("SKILL.md").is_file());
}

#[test]
fn up_refuses_to_replace_a_users_skill_of_the_same_name() {
    let w = World::new();
    let theirs = skill_link(&w, "orch");
    fs::create_dir_all(&theirs).unwrap();
    let out = w.orch(&["up"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not orch's"), "{}", stderr(&out));
    assert!(theirs.is_dir());
    assert!(!w.settings().exists());
}

#[test]
fn down_gives_back_the_settings_as_they_were_and_removes_the_state() {
    let w = World::new();
    write_user_settings(&w);
    fs::write(w.state().join("audit.jsonl"), "{}\n").unwrap();
    w.ok(&["up"]);
    let out = w.ok(&["down", "--yes"]);
    assert!(out.contains("remove hook Stop:"), "{out}");
    let before: Value = serde_json::from_str(USER_SETTINGS).unwrap();
    let after = read_json(&w.settings());
    assert_eq!(after, before);
    assert_eq!(ordered(&after), ordered(&before));
    assert!(!w.state().exists());
    assert_eq!(backups(&w.settings()).len(), 2);
}

#[test]
fn down_after_up_on_a_missing_file_leaves_an_empty_object() {
    let w = World::new();
    w.ok(&["up"]);
    w.ok(&["down", "--yes"]);
    assert_eq!(read_json(&w.settings()), serde_json::json!({}));
}

#[test]
fn down_keep_state_keeps_the_state_directory() {
    let w = World::new();
    fs::write(w.state().join("audit.jsonl"), "{}\n").unwrap();
    w.ok(&["up"]);
    w.ok(&["down", "--yes", "--keep-state"]);
    assert!(w.state().join("audit.jsonl").is_file());
    assert!(commands_or_none(&w).is_none());
}

/// orch's Stop commands, or `None` when settings.json has no hooks at all.
fn commands_or_none(w: &World) -> Option<Vec<String>> {
    let settings = read_json(&w.settings());
    settings.get("hooks").map(|_| commands(&settings, "Stop"))
}

#[test]
fn down_without_yes_and_without_a_terminal_refuses() {
    let w = World::new();
    write_user_settings(&w);
    w.ok(&["up"]);
    let bytes = fs::read(w.settings()).unwrap();
    let out = w.orch(&["down"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(fs::read(w.settings()).unwrap(), bytes);
    assert_eq!(backups(&w.settings()).len(), 1);
    assert!(skill_link(&w, "orch").exists());
    assert!(w.state().exists());
}

#[test]
fn dry_runs_change_nothing() {
    let w = World::new();
    write_user_settings(&w);
    let out = w.ok(&["up", "--dry-run"]);
    assert!(
        out.contains(&format!("add hook Stop: {}", hook_path())),
        "{out}"
    );
    assert!(out.contains("link skill orch:"), "{out}");
    assert_eq!(fs::read_to_string(w.settings()).unwrap(), USER_SETTINGS);
    assert!(backups(&w.settings()).is_empty());
    assert!(!w.claude_dir().join("skills").exists());
    assert!(!data_skills(&w).exists());

    w.ok(&["up"]);
    let bytes = fs::read(w.settings()).unwrap();
    let out = w.ok(&["down", "--dry-run"]);
    assert!(out.contains("remove hook SessionStart:"), "{out}");
    assert!(out.contains("remove state directory"), "{out}");
    assert_eq!(fs::read(w.settings()).unwrap(), bytes);
    assert_eq!(backups(&w.settings()).len(), 1);
    assert!(skill_link(&w, "orch").exists());
    assert!(w.state().exists());
}

#[test]
fn up_json_reports_settings_backup_changes_and_skills() {
    let w = World::new();
    write_user_settings(&w);
    let report = json(&w.ok(&["up", "--json"]));
    assert_eq!(report["settings"], w.settings().to_str().unwrap());
    assert_eq!(
        report["backup"],
        backups(&w.settings())[0].to_str().unwrap()
    );
    // 7 hook entries, then two lines (folder, link) per shipped skill.
    let skills = orch::outfit::bundle::SKILLS.len();
    assert_eq!(report["changes"].as_array().unwrap().len(), 7 + 2 * skills);
    assert_eq!(report["skills"][0]["name"], "orch");
    let again = json(&w.ok(&["up", "--json"]));
    assert_eq!(again["changes"], serde_json::json!([]));
    assert_eq!(again["backup"], Value::Null);
}

#[test]
fn up_without_tmux_fails_clearly() {
    let w = World::new();
    let empty = w.root().join("empty-bin");
    fs::create_dir_all(&empty).unwrap();
    let out = w
        .cmd("orch")
        .arg("up")
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`tmux` is not installed"),
        "{}",
        stderr(&out)
    );
    assert!(!w.settings().exists());
}

#[test]
fn up_with_an_old_tmux_fails_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new();
    let bin = w.root().join("old-bin");
    fs::create_dir_all(&bin).unwrap();
    fs::write(bin.join("tmux"), "#!/bin/sh\necho 'tmux 2.9a'\n").unwrap();
    fs::set_permissions(bin.join("tmux"), fs::Permissions::from_mode(0o755)).unwrap();
    let out = w
        .cmd("orch")
        .arg("up")
        .env("PATH", &bin)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`tmux 2.9a` is too old"),
        "{}",
        stderr(&out)
    );
    assert!(!w.settings().exists());
}
