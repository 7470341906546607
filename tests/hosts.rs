//! Other machines over OpenSSH, against a private sshd on 127.0.0.1 whose sessions have their
//! own HOME and ORCH_HOME: `orch doctor --host` (reached in batch mode, the same orch there,
//! the host's own checks), `orch hosts` with the shared connection, and the errors that name
//! the fix.

use crate::sshd::Sshd;
use crate::util::{exe, json, stderr, World};
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

    let up = remote_orch(&sshd, &["up"]);
    assert!(up.status.success(), "{}", stderr(&up));
    let (checks, ok) = doctor(&world, &ssh);
    assert!(ok, "{checks:#?}");
    assert_eq!(check(&checks, "hooks")["status"], "ok");
    assert!(sshd.remote_home().join(".claude/settings.json").is_file());
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
    let text = orch(&world, &ssh, &["hosts", "--disconnect", "127.0.0.1"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let line = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        line.contains("127.0.0.1") && line.contains("idle"),
        "{line}"
    );
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
