//! Other machines over OpenSSH, against a private sshd on 127.0.0.1 whose sessions have their
//! own HOME and ORCH_HOME: `orch doctor --host` (reached in batch mode, the same orch there,
//! the host's own checks), `orch hosts` with the shared connection, and the errors that name
//! the fix.

use crate::sshd::Sshd;
use crate::util::{exe, expect_success, json, stderr, World};
use serde_json::Value;
use std::process::{Command, Output, Stdio};

/// `orch ARGS` in `world` with `ORCH_SSH` set to `ssh`.
fn orch(world: &World, ssh: &str, args: &[&str]) -> Output {
    world
        .cmd("orch")
        .args(args)
        .env("ORCH_SSH", ssh)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `orch ARGS` (with `ORCH_SSH` = `ssh`) and asserts success; returns stdout.
fn ok_in(world: &World, ssh: &str, args: &[&str]) -> String {
    expect_success(&format!("orch {args:?}"), orch(world, ssh, args), || {
        world.explain()
    })
}

/// The checks of `orch --json doctor --host 127.0.0.1`, and whether it passed.
fn doctor(world: &World, ssh: &str) -> (Vec<Value>, bool) {
    let out = orch(world, ssh, &["--json", "doctor", "--host", "127.0.0.1"]);
    let report = json(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(report["ok"], out.status.success(), "{report}");
    (
        report["checks"].as_array().unwrap().clone(),
        out.status.success(),
    )
}

fn check<'c>(checks: &'c [Value], name: &str) -> &'c Value {
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {checks:?}"))
}

/// Runs `orch ARGS` on the remote side of `sshd` (as its sessions get it).
fn remote_orch(sshd: &Sshd, args: &[&str]) -> Output {
    let ssh = sshd.ssh_command();
    let mut words = ssh.split_whitespace();
    Command::new(words.next().unwrap())
        .args(words)
        .args(["-o", "BatchMode=yes", "127.0.0.1", "orch"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn doctor_checks_a_host_over_ssh_and_hosts_lists_it() {
    let world = World::new();
    let bin = exe("orch");
    let sshd = Sshd::start(&[bin.parent().unwrap()]);
    let ssh = sshd.ssh_command();

    // orch is there, the same version; its own doctor finds no hooks yet.
    let (checks, ok) = doctor(&world, &ssh);
    assert_eq!(
        check(&checks, "ssh")["status"],
        "ok",
        "{checks:?}\n{}",
        sshd.log()
    );
    assert_eq!(check(&checks, "orch")["status"], "ok", "{checks:?}");
    let hooks = check(&checks, "hooks");
    assert_eq!(hooks["status"], "fail", "{hooks}");
    assert_eq!(hooks["host"], "127.0.0.1");
    assert!(!ok);
    // The host's checks ran there: its HOME, not ours.
    let remote_home = sshd.remote_home().display().to_string();
    assert!(
        hooks["detail"].as_str().unwrap().contains(&remote_home)
            || hooks["fix"].as_str().unwrap_or("").contains("orch up"),
        "{hooks}"
    );

    // `orch up --host`: the host's own settings.json gets orch's hooks, ours is untouched.
    let remote_settings = sshd.remote_home().join(".claude/settings.json");
    std::fs::create_dir_all(remote_settings.parent().unwrap()).unwrap();
    let theirs = serde_json::json!({"env": {"KEEP": "1"}, "hooks": {"Stop": [
        {"hooks": [{"type": "command", "command": "true"}]}]}});
    std::fs::write(&remote_settings, theirs.to_string()).unwrap();
    let up = ok_in(&world, &ssh, &["up", "--host", "127.0.0.1"]);
    assert!(up.contains("orch up changed"));
    let (checks, ok) = doctor(&world, &ssh);
    assert!(ok, "{checks:#?}");
    assert_eq!(check(&checks, "hooks")["status"], "ok");
    assert!(
        !world.home().join(".claude/settings.json").exists(),
        "ours untouched"
    );

    // Remembered, with the shared connection still open.
    let hosts = json(&String::from_utf8_lossy(
        &orch(&world, &ssh, &["--json", "hosts"]).stdout,
    ));
    assert_eq!(hosts[0]["dest"], "127.0.0.1", "{hosts}");
    assert_eq!(hosts[0]["link"], "connected", "{hosts}");
    assert_eq!(hosts[0]["orch"], env!("CARGO_PKG_VERSION"));
    let line = ok_in(&world, &ssh, &["hosts", "--disconnect", "127.0.0.1"]);
    assert!(
        line.contains("127.0.0.1") && line.contains("idle"),
        "{line}"
    );

    // `orch down --host` cannot ask there: it wants --yes, then undoes exactly.
    let asked = orch(&world, &ssh, &["down", "--host", "127.0.0.1"]);
    assert!(!asked.status.success());
    assert!(
        stderr(&asked).contains("give `--yes`"),
        "{}",
        stderr(&asked)
    );
    let down = orch(&world, &ssh, &["down", "--host", "127.0.0.1", "--yes"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&remote_settings).unwrap()).unwrap();
    assert_eq!(after, theirs);
}

#[test]
fn doctor_host_names_the_fix_when_the_host_cannot_serve() {
    let world = World::new();
    // A key the server does not know: batch mode fails at once, never a password prompt.
    let sshd = Sshd::start(&[]);
    let stranger = world.root().join("stranger_key");
    let keygen = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stranger)
        .status()
        .unwrap();
    assert!(keygen.success());
    let wrong = sshd.ssh_command().replace(
        &sshd.dir.path().join("user_key").display().to_string(),
        &stranger.display().to_string(),
    );
    let (checks, ok) = doctor(&world, &wrong);
    assert!(!ok);
    assert_eq!(checks.len(), 1, "{checks:?}");
    let ssh = check(&checks, "ssh");
    assert_eq!(ssh["status"], "fail");
    assert!(
        ssh["detail"]
            .as_str()
            .unwrap()
            .contains("cannot reach host `127.0.0.1` over ssh"),
        "{ssh}"
    );
    assert!(
        ssh["fix"].as_str().unwrap().contains("without a prompt"),
        "{ssh}"
    );

    // Reached, but no orch on its PATH; then an orch of another version.
    let (checks, ok) = doctor(&world, &sshd.ssh_command());
    assert!(!ok);
    let orch_check = check(&checks, "orch");
    assert_eq!(orch_check["status"], "fail");
    assert!(
        orch_check["fix"].as_str().unwrap().contains("install orch"),
        "{orch_check}"
    );
    let fake = world.root().join("fakebin");
    std::fs::create_dir_all(&fake).unwrap();
    std::fs::write(fake.join("orch"), "#!/bin/sh\necho orch 0.0.1\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(fake.join("orch"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let older = Sshd::start(&[&fake]);
    let (checks, _) = doctor(&world, &older.ssh_command());
    let orch_check = check(&checks, "orch");
    assert!(
        orch_check["detail"].as_str().unwrap().contains(&format!(
            "orch 0.0.1 there, {} here",
            env!("CARGO_PKG_VERSION")
        )),
        "{orch_check}"
    );

    let bad = orch(&world, "ssh", &["doctor", "--host=-oProxyCommand=x"]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("no ssh destination"),
        "{}",
        String::from_utf8_lossy(&bad.stdout)
    );
}

/// The events of `name` as the host's orch has them.
fn remote_events(sshd: &Sshd, id: &str) -> Vec<Value> {
    let out = remote_orch(sshd, &["events", id]);
    expect_success("orch events (remote)", out, String::new)
        .lines()
        .map(json)
        .collect()
}

#[test]
fn remote_sim_worker_round_trip_and_a_dropped_connection_loses_nothing() {
    let world = World::installed();
    let bin = exe("orch");
    let mut sshd = Sshd::start(&[bin.parent().unwrap()]);
    let ssh = sshd.ssh_command();
    let up = remote_orch(&sshd, &["up"]);
    assert!(up.status.success(), "{}", stderr(&up));
    let ok = |args: &[&str]| ok_in(&world, &ssh, args);
    let listen_after = |cursor: u64| {
        let after = cursor.to_string();
        json(&ok(&[
            "listen",
            "far",
            "--after",
            &after,
            "--timeout",
            "30",
        ]))
    };

    let spawned = json(&ok(&[
        "--json",
        "spawn",
        "--host",
        "127.0.0.1",
        "--harness",
        "sim",
        "--name",
        "far",
    ]));
    assert_eq!(spawned["host"], "127.0.0.1");
    assert_eq!(spawned["remote_id"], "w1");
    let id = spawned["id"].as_str().unwrap().to_string();
    // The worker is the host's: its pane is on the host's tmux, not ours.
    let told = json(&ok(&["--json", "tell", "far", "hello [[say: FAR-1]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    assert_eq!(told["worker"], id.as_str());
    let stop = json(&ok(&["listen", "far", "--timeout", "30"]));
    assert_eq!(stop["last_assistant_message"], "FAR-1");
    let rows = json(&ok(&["--json", "ps"]));
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "far")
        .unwrap();
    assert_eq!(row["status"], "idle", "{rows}");
    assert_eq!(row["host"], "127.0.0.1");
    let table = ok(&["ps"]);
    assert!(table.contains("@127.0.0.1"), "{table}");
    let screen = ok(&["capture", "far"]);
    assert!(screen.contains("FAR-1"), "{screen}");

    // A local subscriber hears the remote worker's Stop.
    world.spawn_sim("near");
    ok(&["subscribe", "far", "--to", "near", "--events", "stop"]);
    ok(&["tell", "far", "again [[say: FAR-2]]"]);
    let seen = crate::coord::wait_stop_containing(&world, "near", "FAR-2");
    assert!(seen.contains("[orch inbox]"), "{seen}");

    // And the reverse: the remote worker subscribes to a local one; the host types the
    // notice into it.
    ok(&["subscribe", "near", "--to", "far", "--events", "stop"]);
    ok(&["tell", "near", "local news [[say: NEAR-1]]"]);
    let heard = crate::util::wait_or_explain(
        "far to hear of near's Stop",
        std::time::Duration::from_secs(30),
        || {
            let events: Vec<Value> = ok(&["events", "far"]).lines().map(json).collect();
            events
                .iter()
                .filter_map(|e| e["last_assistant_message"].as_str())
                .find(|m| m.contains("NEAR-1"))
                .map(str::to_string)
        },
        || world.explain(),
    );
    assert!(heard.contains("[orch inbox]"), "{heard}");
    ok(&["unsubscribe", "near", "--to", "far"]);

    // The connection drops mid-turn: the Stop still arrives, once.
    let cursor = json(&ok(&[
        "--json",
        "tell",
        "far",
        "slow [[sleep: 1.5]] [[say: FAR-3]]",
    ]))["cursor"]
        .as_u64()
        .unwrap();
    let logins = || sshd.log().matches("Accepted publickey").count();
    let before = logins();
    ok(&["hosts", "--disconnect", "127.0.0.1"]);
    let stop = listen_after(cursor);
    assert_eq!(stop["last_assistant_message"], "FAR-3");
    assert!(
        logins() > before,
        "the relay connected again:\n{}",
        sshd.log()
    );
    let here: Vec<Value> = ok(&["events", "far"]).lines().map(json).collect();
    let there = remote_events(&sshd, "w1");
    let seqs: Vec<u64> = here.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "contiguous, once each"
    );
    assert_eq!(
        here,
        there[..here.len()].to_vec(),
        "the same events, same numbers"
    );
    let threes = here
        .iter()
        .filter(|e| e["last_assistant_message"] == "FAR-3")
        .count();
    assert_eq!(threes, 1);

    // A real outage: the host unreachable while the turn ends there (the turn lasts 3 s, so
    // the outage surely starts first); once it is back, the Stop arrives here, once.
    let cursor = json(&ok(&[
        "--json",
        "tell",
        "far",
        "long [[sleep: 3]] [[say: FAR-4]]",
    ]))["cursor"]
        .as_u64()
        .unwrap();
    sshd.stop();
    let host_log = sshd.dir.path().join("remote/state/workers/w1/events.jsonl");
    crate::util::wait_for(
        "the Stop on the host",
        std::time::Duration::from_secs(30),
        || {
            std::fs::read_to_string(&host_log)
                .unwrap_or_default()
                .contains("FAR-4")
                .then_some(())
        },
    );
    let mirrored = |needle: &str| -> usize {
        let text =
            std::fs::read_to_string(world.state().join("workers").join(&id).join("events.jsonl"));
        text.unwrap_or_default().matches(needle).count()
    };
    assert_eq!(
        mirrored("FAR-4"),
        0,
        "not here while the host is unreachable"
    );
    sshd.restart();
    let stop = listen_after(cursor);
    assert_eq!(stop["last_assistant_message"], "FAR-4");
    assert_eq!(mirrored("\"FAR-4\""), 1, "once");

    // An escalation raised on the host reaches the operator here; deciding it here
    // answers the worker there.
    let asked = json(&ok(&[
        "--json",
        "tell",
        "far",
        "ask [[bash: orch escalate --axis reversibility --summary drop-the-table \
         --option yes --option no --wait --timeout 30]]",
    ]));
    let open = crate::util::wait_or_explain(
        "the host's escalation here",
        std::time::Duration::from_secs(30),
        || {
            let open = json(&ok(&["--json", "escalations", "--open"]));
            open.as_array().and_then(|a| a.first().cloned())
        },
        || world.explain(),
    );
    assert_eq!(open["summary"], "drop-the-table");
    assert_eq!(open["worker"], id.as_str());
    assert_eq!(open["remote"]["id"], "e1");
    let inbox = ok(&["inbox", "operator"]);
    assert!(inbox.contains("drop-the-table"), "{inbox}");
    ok(&["decide", open["id"].as_str().unwrap(), "no"]);
    ok(&[
        "listen",
        "far",
        "--after",
        &asked["cursor"].to_string(),
        "--timeout",
        "30",
    ]);
    // `escalate --wait` printed the decision (the turn's end; the decision also came into
    // the worker's inbox there, so its Stop hook hands it over as well).
    let after: Vec<Value> = ok(&["events", "far", "--after", &asked["cursor"].to_string()])
        .lines()
        .map(json)
        .collect();
    assert!(
        after
            .iter()
            .any(|e| e["last_assistant_message"] == "SIM: bash finished: no"),
        "{after:#?}"
    );
    assert!(after.iter().any(|e| e["event"] == "decision"), "{after:#?}");

    // Interrupted through the host: Escape there, `interrupted` mirrored here.
    let busy = json(&ok(&[
        "--json",
        "tell",
        "far",
        "wait [[sleep: 20]] [[say: NEVER]]",
    ]));
    ok(&["interrupt", "far"]);
    let after = busy["cursor"].as_u64().unwrap().to_string();
    let stopped = json(&ok(&[
        "listen",
        "far",
        "--after",
        &after,
        "--event",
        "any",
        "--timeout",
        "30",
    ]));
    assert_eq!(stopped["event"], "interrupted", "{stopped}");
    let here: Vec<Value> = ok(&["events", "far"]).lines().map(json).collect();

    // Killed through the host; a listen here ends with exit 4.
    let last = here.last().unwrap()["seq"].to_string();
    ok(&["kill", "far"]);
    let out = orch(
        &world,
        &ssh,
        &["listen", "far", "--after", &last, "--timeout", "30"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

#[test]
fn remote_claude_code_worker_takes_a_prompt_and_its_stop_comes_back() {
    use crate::claude::{claude_bin, claude_env, prepare_home, DUMMY_API_KEY};
    // A tmux server here for `orch top`.
    let world = World::with_tmux();
    let mock = crate::mock_model::MockModel::start();
    let mut env = claude_env(&mock);
    env.push(("ORCH_CLAUDE_BIN".into(), claude_bin().display().to_string()));
    let bin = exe("orch");
    let sshd = Sshd::start_with(&[bin.parent().unwrap()], &env);
    let work = sshd.dir.path().join("remote/work");
    std::fs::create_dir_all(&work).unwrap();
    prepare_home(&sshd.remote_home(), DUMMY_API_KEY, &[&work]);
    let up = remote_orch(&sshd, &["up"]);
    assert!(up.status.success(), "{}", stderr(&up));
    let ssh = sshd.ssh_command();
    let ok = |args: &[&str]| ok_in(&world, &ssh, args);
    let work_text = work.display().to_string();
    let spawned = json(&ok(&[
        "--json",
        "spawn",
        "--host",
        "127.0.0.1",
        "--name",
        "rc",
        "--cwd",
        &work_text,
        "--ready-timeout",
        "60",
    ]));
    assert_eq!(spawned["harness"], "claude");
    let id = spawned["id"].as_str().unwrap().to_string();
    let told = json(&ok(&[
        "--json",
        "tell",
        "rc",
        "hi [[usage: 1200 34 500 60]] [[say: REMOTE-CLAUDE]]",
    ]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let stop = json(&ok(&["listen", "rc", "--timeout", "60"]));
    assert_eq!(stop["last_assistant_message"], "REMOTE-CLAUDE");
    let request = mock.wait_request(
        |b| crate::mock_model::last_user_text(b).contains("REMOTE-CLAUDE"),
        std::time::Duration::from_secs(10),
    );
    assert!(!request.is_null());
    // Its session started on the host, under the host's HOME.
    let events: Vec<Value> = ok(&["events", "rc"]).lines().map(json).collect();
    let start = events
        .iter()
        .find(|e| e["event"] == "session_start")
        .unwrap();
    assert_eq!(start["source"], "startup");
    // Its spend is read on the host (its transcript is there) and is the host's own.
    let there = remote_orch(&sshd, &["--json", "usage"]);
    let there = json(&expect_success("orch usage (remote)", there, String::new));
    assert_eq!(there[0]["tokens"]["total"], 1794, "{there}");
    let ps = json(&ok(&["--json", "ps"]));
    assert_eq!(ps[0]["tokens"], 1794, "{ps}");
    assert_eq!(ps[0]["cost_usd"], there[0]["cost_usd"], "{ps}");
    assert_eq!(ps[0]["spend_error"], Value::Null, "{ps}");
    let here = json(&ok(&["--json", "usage", "--totals"]));
    let row = &here["workers"][0];
    assert_eq!(row["host"], "127.0.0.1", "{here}");
    for key in ["model", "tokens", "cost_usd"] {
        assert_eq!(row[key], there[0][key], "{key}: {here}");
    }
    assert_eq!(here["totals"]["tokens"], there[0]["tokens"], "{here}");
    assert_eq!(here["totals"]["unknown"], serde_json::json!([]), "{here}");
    let calls = json(&ok(&["--json", "usage", "rc"]))[0]["calls"].clone();
    assert_eq!(calls.as_array().map(Vec::len), Some(1), "{calls}");
    let table = ok(&["usage"]);
    assert!(table.contains(&format!("{id}@127.0.0.1")), "{table}");

    // A host that cannot be reached: unknown, with why, and ps still lists the worker.
    let reading = world
        .state()
        .join("workers")
        .join(&id)
        .join("usage.host.json");
    std::fs::remove_file(&reading).unwrap();
    // Nothing listens on port 1: a connection of its own (the socket's name has the port).
    let nowhere = ssh.replacen(&format!("-p {}", sshd.port), "-p 1", 1);
    let out = orch(&world, &nowhere, &["--json", "ps"]);
    let ps = json(&expect_success("orch ps (host down)", out, String::new));
    assert_eq!(ps[0]["tokens"], Value::Null, "{ps}");
    let why = ps[0]["spend_error"].as_str().unwrap_or_default();
    assert!(why.contains("cannot reach host `127.0.0.1`"), "{ps}");
    let table = ok_in(&world, &nowhere, &["ps"]);
    assert!(
        table.contains("spend is unknown: cannot reach host"),
        "{table}"
    );
    std::fs::remove_file(&reading).unwrap();
    // top reads it on the host on its clock (no reading is kept here now).
    let top = crate::top::Top::start(&world, &[]);
    crate::util::wait_or_explain(
        "orch top showing the remote worker's 1794 tokens",
        std::time::Duration::from_secs(20),
        || {
            top.trace()
                .into_iter()
                .find(|t| t["tokens"][id.as_str()].as_u64() == Some(1794))
        },
        || format!("{:#?}", top.trace()),
    );
    ok(&["kill", "rc"]);
}
