//! `orch outfit` and `orch spawn --outfit` on real tmux with the sim: lookup order, `extends`,
//! validation errors with positions, the first prompt from the template, env and role.

use crate::util::{json, World};

#[test]
fn outfit_commands_and_a_sim_worker_dressed_in_one() {
    let world = World::installed();
    let dir = world.work().join(".orch/outfits");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("watcher.yaml"),
        "name: watcher\nextends: spy\nharness: sim\nenv: {WATCH_MODE: strict}\n\
         prompt_template: \"Watch {{task}} in {{repo}} [[bash: echo $WATCH_MODE]]\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.yaml"),
        "name: broken\ntools:\n  alow: [Read]\n",
    )
    .unwrap();

    let list = json(&world.ok(&["--json", "outfit", "list"]));
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for name in [
        "engineer",
        "reviewer",
        "researcher",
        "planner",
        "spy",
        "watcher",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let shown = json(&world.ok(&["--json", "outfit", "show", "watcher"]));
    assert_eq!(shown["role"], "observer", "inherited from spy");
    assert_eq!(shown["harness"], "sim");

    let bad = world.orch(&["outfit", "validate", ".orch/outfits/broken.yaml"]);
    assert!(!bad.status.success());
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(
        text.contains("broken.yaml:3:3") && text.contains("unknown field `alow`"),
        "{text}"
    );
    world.ok(&["outfit", "validate", ".orch/outfits/watcher.yaml"]);

    let made = world.ok(&["outfit", "new", "mine", "--from", "reviewer"]);
    assert!(made.trim().ends_with(".orch/outfits/mine.yaml"));
    let mine = json(&world.ok(&["--json", "outfit", "show", "mine"]));
    assert_eq!(mine["tools"]["deny"][0], "Edit");

    let missing = world.orch(&["spawn", "--outfit", "watcher", "--task", "w9"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--var repo="));
    assert_eq!(
        json(&world.ok(&["--json", "ps", "--all"])),
        serde_json::json!([]),
        "a missing variable spawns nothing"
    );
    // Without --task the worker starts with no first prompt.
    let bare = json(&world.ok(&["--json", "spawn", "--outfit", "watcher", "--name", "bare"]));
    assert_eq!(bare["cursor"], 2, "spawned and session_start only");
    world.ok(&["kill", "bare"]);
    let w = json(&world.ok(&[
        "--json", "spawn", "--outfit", "watcher", "--task", "w9", "--var", "repo=app",
    ]));
    assert_eq!(w["role"], "observer");
    assert_eq!(w["harness"], "sim");
    let stop = json(&world.ok(&["listen", w["id"].as_str().unwrap(), "--after", "0"]));
    assert_eq!(stop["last_assistant_message"], "SIM: bash finished: strict");
}
