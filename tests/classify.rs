//! `orch classify` end to end: the built binary with the shipped policy, a user policy under
//! `XDG_CONFIG_HOME` and a project policy in the world's work folder.

use crate::util::{json, output_with_stdin, run_ok, World};
use std::path::Path;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn hit_ids(value: &serde_json::Value) -> Vec<String> {
    value["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn classify_a_command_with_the_shipped_policy() {
    let world = World::new();
    let got = json(&world.ok(&["--json", "classify", "git push --force origin main"]));
    assert_eq!(got["axes"], serde_json::json!(["reversibility"]));
    assert_eq!(got["hits"][0]["rule_id"], "force-push");
    assert_eq!(got["hits"][0]["matched"], "git push --force");

    let text = world.ok(&["classify", "git push --force origin main"]);
    assert!(
        text.starts_with("reversibility: force-push (")
            && text.contains("matched \"git push --force\""),
        "{text}"
    );
    assert_eq!(world.ok(&["classify", "ls -la"]), "no axis\n");
    let quiet = json(&world.ok(&["--json", "classify", "cargo test"]));
    assert_eq!(quiet["axes"], serde_json::json!([]));
}

#[test]
fn classify_layers_the_user_and_project_policies() {
    let world = World::new();
    write(
        &world.home().join(".config/orch/policy.yaml"),
        "disable: [rm-recursive]\n",
    );
    write(
        &world.work().join(".orch/policy.yaml"),
        "rules:\n  - id: deploy-prod\n    axis: reversibility\n    pattern: '\\bdeploy\\.sh\\s+prod\\b'\n    why: deploys to production\n",
    );
    std::fs::create_dir_all(world.work().join("sub")).unwrap();

    let cmd = "rm -rf build && ./deploy.sh prod";
    let got = json(&world.ok(&["--json", "classify", cmd]));
    assert_eq!(hit_ids(&got), ["deploy-prod"]);

    // --cwd elsewhere: no project file, only the user's.
    let elsewhere = world.home().display().to_string();
    let got = json(&world.ok(&["--json", "classify", "--cwd", &elsewhere, cmd]));
    assert!(hit_ids(&got).is_empty(), "{got}");

    // From a subfolder the project file is found upward.
    let out = run_ok(
        world
            .cmd("orch")
            .args(["--json", "classify", "-"])
            .current_dir(world.work().join("sub")),
        Some(format!("{cmd}\n").as_bytes()),
        String::new,
    );
    assert_eq!(hit_ids(&json(&out)), ["deploy-prod"]);
}

#[test]
fn classify_a_permission_request_payload() {
    let world = World::new();
    let payload = serde_json::json!({
        "session_id": "s1", "hook_event_name": "PermissionRequest", "cwd": "/tmp",
        "tool_name": "Write",
        "tool_input": {"file_path": "/w/app/LICENSE", "content": "MIT License"},
        "permission_suggestions": []
    });
    let got = json(&run_ok(
        world
            .cmd("orch")
            .args(["--json", "classify", "--kind", "tool"]),
        Some(payload.to_string().as_bytes()),
        String::new,
    ));
    assert_eq!(got["axes"], serde_json::json!(["ethics"]));
    assert_eq!(hit_ids(&got), ["license-file"]);

    let out = output_with_stdin(
        world.cmd("orch").args(["classify", "--kind", "tool"]),
        b"{\"command\": \"ls\"}",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`tool_name`"));
}

#[test]
fn classify_refuses_a_broken_policy_naming_it() {
    let world = World::new();
    let file = world.work().join(".orch/policy.yaml");
    write(
        &file,
        "rules:\n  - {id: broken, axis: taste, pattern: 'a(', why: x}\n",
    );
    let out = world.orch(&["classify", "ls"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(err.contains("rule `broken`: bad pattern `a(`"), "{err}");
}
