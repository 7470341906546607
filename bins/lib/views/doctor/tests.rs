//! `orch doctor`'s checks, judged on settings, modes and versions made up for each case.

use super::install::*;
use super::state::*;
use super::*;
use crate::claude::settings;
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn entry(command: &str) -> Value {
    json!([{"hooks": [{"type": "command", "command": command}]}])
}

fn all_events(command: &str) -> Value {
    let mut hooks = serde_json::Map::new();
    for event in settings::EVENTS {
        hooks.insert(event.into(), entry(command));
    }
    json!({ "hooks": hooks })
}

#[test]
fn finds_missing_events() {
    let mut value = all_events("/x/orch-hook");
    value["hooks"]["Stop"] = entry("my-own-hook");
    value["hooks"].as_object_mut().unwrap().remove("SessionEnd");
    let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
    assert_eq!(check.status, Verdict::Fail);
    assert!(
        check.detail.contains("Stop, SessionEnd"),
        "{}",
        check.detail
    );
    assert_eq!(check.fix.as_deref(), Some("orch up"));
}

#[test]
fn a_stale_hook_path_fails_naming_it() {
    let value = all_events("/nonexistent/orch-hook");
    let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
    assert_eq!(check.status, Verdict::Fail);
    assert!(
        check.detail.contains("`/nonexistent/orch-hook`"),
        "{}",
        check.detail
    );
}

#[test]
fn another_installations_hook_fails() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("orch-hook");
    fs::write(&other, "").unwrap();
    fs::set_permissions(&other, fs::Permissions::from_mode(0o755)).unwrap();
    let value = all_events(&other.display().to_string());
    let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
    assert_eq!(check.status, Verdict::Fail);
    assert!(
        check.detail.contains("another orch installation"),
        "{}",
        check.detail
    );
    let me = other.canonicalize().unwrap();
    assert_eq!(
        judge_hooks(&value, Path::new("s.json"), &me).status,
        Verdict::Ok
    );
}

#[test]
fn wrong_shapes_count_as_missing() {
    let value = json!({"hooks": {"Stop": {"not": "an array"}}});
    assert!(settings::orch_hooks(&value)
        .iter()
        .all(|(_, c)| c.is_empty()));
    assert!(settings::orch_hooks(&json!([]))
        .iter()
        .all(|(_, c)| c.is_empty()));
}

#[test]
fn hook_programs_are_unquoted() {
    assert_eq!(hook_program("/a/orch-hook"), "/a/orch-hook");
    assert_eq!(hook_program("/a/orch-hook --x"), "/a/orch-hook");
    assert_eq!(hook_program("'/my dir/orch-hook'"), "/my dir/orch-hook");
    assert_eq!(hook_program(r"'/it'\''s/orch-hook'"), "/it's/orch-hook");
    let quoted = settings::hook_command(Path::new("/a b/it's/orch-hook")).unwrap();
    assert_eq!(hook_program(&quoted), "/a b/it's/orch-hook");
}

#[test]
fn plugin_and_settings_together_warn() {
    let mut value = all_events("/x/orch-hook");
    value["enabledPlugins"] = json!({"orch@market": true, "other@m": true});
    let settings: Settings = Ok((Some(value.clone()), "s.json".into()));
    assert_eq!(plugin(&settings).status, Verdict::Warn);
    value["enabledPlugins"]["orch@market"] = json!(false);
    assert!(!plugin_enabled(&value));
    let settings: Settings = Ok((Some(value), "s.json".into()));
    assert_eq!(plugin(&settings).status, Verdict::Ok);
    assert!(plugin_enabled(&json!({"enabledPlugins": {"orch@x": true}})));
    assert!(!plugin_enabled(
        &json!({"enabledPlugins": {"orchestra@x": true}})
    ));
}

#[test]
fn state_mode_and_owner() {
    let dir = Path::new("/s");
    assert_eq!(judge_state(dir, 0o40700, 5, 5).status, Verdict::Ok);
    let open = judge_state(dir, 0o40755, 5, 5);
    assert_eq!(open.status, Verdict::Fail);
    assert!(open.detail.contains("0755"));
    assert_eq!(open.fix.as_deref(), Some("chmod 700 '/s'"));
    let theirs = judge_state(dir, 0o40700, 0, 5);
    assert_eq!(theirs.status, Verdict::Fail);
    assert!(theirs.detail.contains("uid 0"));
}

#[test]
fn statuses_print_and_serialise() {
    assert_eq!(Verdict::Fail.to_string(), "FAIL");
    assert_eq!(Verdict::Warn.to_string(), "warn");
    let check = Check::ok("x", "fine");
    assert_eq!(
        check.to_json(),
        json!({"name": "x", "status": "ok", "detail": "fine", "fix": null})
    );
}

#[test]
fn a_price_table_older_than_90_days_warns() {
    let table = crate::spend::prices::Prices::shipped().table;
    let day = 86_400_000;
    let dated = orch_store::clock::parse_rfc3339(&format!("{}T00:00:00Z", table.date)).unwrap();
    let fresh = super::prices::judge_prices(&table, dated + 90 * day);
    assert_eq!(fresh.status, Verdict::Ok, "{fresh:?}");
    let stale = super::prices::judge_prices(&table, dated + 91 * day);
    assert_eq!(stale.status, Verdict::Warn, "{stale:?}");
    assert!(stale.detail.contains("91 days old"), "{stale:?}");
    assert!(stale.fix.unwrap().contains("prices:"));
}
