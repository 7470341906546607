//! `orch doctor` in a temp world: what it reports before and after `orch up`, for a stale hook
//! path, an open state directory and a broken settings.json, and the live `TMUX_PANE` probe on
//! the real Claude Code.

use crate::util::{json, World};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Instant;

/// Runs `orch doctor --json ARGS` in `world` with `env` added; returns the output and the report.
fn doctor(world: &World, args: &[&str], env: &[(&str, &str)]) -> (Output, Value) {
    let out = world
        .cmd("orch")
        .args(["--json", "doctor"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let report = json(&String::from_utf8_lossy(&out.stdout));
    (out, report)
}

/// The check named `name` in a report.
fn check<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check `{name}` in {report}"))
}

/// Makes the world's state dir private, as orch creates it (and the test world does).
fn private_state(world: &World) {
    fs::set_permissions(world.state(), fs::Permissions::from_mode(0o700)).unwrap();
}

const REQUIRED: [&str; 4] = ["tmux", "hooks", "skills", "state"];

fn assert_all_required_ok(report: &Value) {
    for name in REQUIRED {
        assert_eq!(check(report, name)["status"], "ok", "{name}: {report}");
    }
    for c in report["checks"].as_array().unwrap() {
        assert_ne!(c["status"], "fail", "{report}");
    }
}

#[test]
fn doctor_fails_before_up_and_passes_after() {
    let world = World::with_tmux();
    private_state(&world);
    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert_eq!(report["ok"], false);
    for name in ["hooks", "skills"] {
        let c = check(&report, name);
        assert_eq!(c["status"], "fail", "{c}");
        assert_eq!(c["fix"], "orch up", "{c}");
    }
    assert_eq!(check(&report, "probe")["status"], "skipped");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 required checks failed"), "{stderr}");

    world.ok(&["up"]);
    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["ok"], true);
    assert_all_required_ok(&report);
}

#[test]
fn doctor_text_output_has_one_line_per_check_and_fixes() {
    let world = World::with_tmux();
    let out = world.orch(&["doctor", "--skip-probe"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.starts_with("FAIL  hooks: ")),
        "{text}"
    );
    assert!(text.lines().any(|l| l.trim() == "fix: orch up"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("ok    tmux: tmux ")),
        "{text}"
    );
}

#[test]
fn doctor_names_a_stale_hook_path_until_up_rewrites_it() {
    let world = World::installed();
    private_state(&world);
    let text = fs::read_to_string(world.settings()).unwrap();
    let ours = crate::util::exe("orch-hook").display().to_string();
    assert!(text.contains(&ours), "{text}");
    fs::write(
        world.settings(),
        text.replace(&ours, "/nonexistent/orch-hook"),
    )
    .unwrap();

    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let hooks = check(&report, "hooks");
    assert_eq!(hooks["status"], "fail");
    assert!(
        hooks["detail"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/orch-hook"),
        "{hooks}"
    );
    assert_eq!(hooks["fix"], "orch up");

    world.ok(&["up"]);
    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_all_required_ok(&report);
}

#[test]
fn doctor_fails_on_a_state_dir_others_can_read() {
    let world = World::installed();
    fs::set_permissions(world.state(), fs::Permissions::from_mode(0o755)).unwrap();
    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let state = check(&report, "state");
    assert_eq!(state["status"], "fail", "{state}");
    assert!(
        state["detail"].as_str().unwrap().contains("0755"),
        "{state}"
    );
    let fix = state["fix"].as_str().unwrap();
    assert!(fix.starts_with("chmod 700 "), "{fix}");
    assert!(fix.contains(&world.state().display().to_string()), "{fix}");

    fs::remove_dir(world.state()).unwrap();
    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(0), "{report}");
    let state = check(&report, "state");
    assert!(state["detail"]
        .as_str()
        .unwrap()
        .contains("created on first spawn"));
}

#[test]
fn doctor_reports_invalid_settings_json_by_line_and_column_and_changes_nothing() {
    let world = World::installed();
    private_state(&world);
    let broken = "{\n  \"hooks\": {\n    \"Stop\": [,]\n  }\n}\n";
    fs::write(world.settings(), broken).unwrap();
    let listing = || {
        let mut names: Vec<_> = fs::read_dir(world.claude_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();

    let (out, report) = doctor(&world, &["--skip-probe"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let hooks = check(&report, "hooks");
    assert_eq!(hooks["status"], "fail");
    let detail = hooks["detail"].as_str().unwrap();
    assert!(detail.contains("line 3, column 14"), "{detail}");
    assert_eq!(fs::read_to_string(world.settings()).unwrap(), broken);
    assert_eq!(listing(), before);
}

#[test]
fn doctor_probe_sees_tmux_pane_in_a_real_claude_code_hook() {
    let world = World::installed();
    private_state(&world);
    let claude = crate::claude::claude_bin();
    let claude = claude.display().to_string();
    let started = Instant::now();
    let (out, report) = doctor(&world, &[], &[("ORCH_CLAUDE_BIN", &claude)]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(check(&report, "claude")["status"], "ok", "{report}");
    let probe = check(&report, "probe");
    assert_eq!(probe["status"], "ok", "{probe}");
    assert!(
        probe["detail"].as_str().unwrap().contains("TMUX_PANE=%"),
        "{probe}"
    );
    eprintln!(
        "orch doctor with the probe took {took:?}: {}",
        probe["detail"]
    );
}

/// Writes an executable script `name` in the world that prints `line` to `--version` (on
/// stderr when `stderr`, as pi does when its stdout is not a terminal).
fn fake_cli(world: &World, name: &str, line: &str, stderr: bool) -> String {
    let path = world.root().join(name);
    let redirect = if stderr { " >&2" } else { "" };
    fs::write(&path, format!("#!/bin/sh\necho '{line}'{redirect}\n")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[test]
fn doctor_weighs_each_harness_version_against_the_verified_range() {
    let world = World::installed();
    private_state(&world);
    let claude = fake_cli(&world, "claude", "2.1.332 (Claude Code)", false);
    let codex = fake_cli(&world, "codex", "codex-cli 0.99.0", false);
    let gemini = fake_cli(&world, "gemini", "9.0.0", false);
    let pi = fake_cli(&world, "pi", "0.73.1", true);
    let (out, report) = doctor(
        &world,
        &["--skip-probe"],
        &[
            ("ORCH_CLAUDE_BIN", &claude),
            ("ORCH_CODEX_BIN", &codex),
            ("ORCH_GEMINI_BIN", &gemini),
            ("ORCH_PI_BIN", &pi),
        ],
    );
    // Versions only warn: orch may well work on them.
    assert_eq!(out.status.code(), Some(0), "{report}");
    let claude = check(&report, "claude");
    assert_eq!(claude["status"], "ok", "{claude}");
    assert_eq!(claude["version"], "2.1.332");
    assert_eq!(claude["verified"]["oldest"], "2.1.197");
    let pi = check(&report, "pi");
    assert_eq!(pi["status"], "ok", "{pi}");
    assert_eq!(pi["version"], "0.73.1");
    let codex = check(&report, "codex");
    assert_eq!(codex["status"], "warn", "{codex}");
    let detail = codex["detail"].as_str().unwrap();
    assert!(
        detail.contains("0.99.0") && detail.contains("older than"),
        "{detail}"
    );
    let fix = codex["fix"].as_str().unwrap();
    assert!(
        fix.contains("npm install -g @openai/codex@0.169.0"),
        "{fix}"
    );
    let gemini = check(&report, "gemini");
    assert_eq!(gemini["status"], "warn", "{gemini}");
    assert!(gemini["detail"].as_str().unwrap().contains("newer than"));
    assert!(gemini["fix"]
        .as_str()
        .unwrap()
        .contains("ORCH_TEST_CLI=latest"));
}

/// README's Compatibility table lists what `orch doctor` checks against, row for row.
#[test]
fn readme_compatibility_table_matches_the_verified_ranges() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Compatibility"))
        .expect("README.md has a `## Compatibility` section");
    for h in ["claude", "codex", "gemini", "pi"] {
        use orch::harness::HarnessExt;
        let harness = orch::harness::Harness::parse(h).unwrap();
        let v = harness.verified().unwrap();
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{h}` |")))
            .unwrap_or_else(|| panic!("no Compatibility row for `{h}` in README.md"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[2], format!("`{}`", v.package), "{row}");
        assert_eq!(cells[3], v.oldest.to_string(), "{row}");
        assert_eq!(cells[4], v.newest.to_string(), "{row}");
        assert_eq!(cells[5], v.date, "{row}");
    }
}
