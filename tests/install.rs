//! `install/install.sh` then `install/uninstall.sh` in a temp prefix and HOME: executables in
//! place, hooks registered, a second run changes nothing, `--dry-run` changes nothing, and the
//! uninstall leaves settings.json as it was.

use crate::util::{exe, run_ok, World};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("install")
        .join(name)
}

/// Runs `bash install/NAME ARGS` in `world` and asserts success; returns stdout.
fn run(world: &World, name: &str, args: &[&str]) -> String {
    let mut bash = Command::new("bash");
    bash.arg(script(name))
        .args(args)
        .env_clear()
        .envs(world.env())
        .stdin(Stdio::null());
    run_ok(&mut bash, None, String::new)
}

fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                all.extend(tree(&p));
            } else {
                all.push((p.clone(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    all.sort();
    all
}

#[test]
fn install_then_uninstall_in_a_temp_prefix() {
    let world = World::new();
    let prefix = world.root().join("prefix");
    let prefix_s = prefix.to_str().unwrap();
    let built = exe("orch").parent().unwrap().to_path_buf();
    let from = built.to_str().unwrap();
    let original = r#"{"theme": "dark", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}"#;
    std::fs::create_dir_all(world.claude_dir()).unwrap();
    std::fs::write(world.settings(), original).unwrap();

    // --dry-run changes nothing.
    let before = tree(world.root());
    let dry = run(
        &world,
        "install.sh",
        &["--prefix", prefix_s, "--from", from, "--dry-run"],
    );
    assert!(dry.contains("would copy"));
    assert_eq!(tree(world.root()), before);

    run(
        &world,
        "install.sh",
        &["--prefix", prefix_s, "--from", from],
    );
    for name in ["orch", "orch-hook", "orch-up", "orch-sim"] {
        assert!(prefix.join("bin").join(name).is_file(), "{name} installed");
    }
    // Completions where bash-completion, zsh and fish look; a man page per command.
    let data = world.home().join(".local/share");
    for file in [
        data.join("bash-completion/completions/orch"),
        data.join("zsh/site-functions/_orch"),
        world.home().join(".config/fish/completions/orch.fish"),
        prefix.join("share/man/man1/orch.1"),
        prefix.join("share/man/man1/orch-spawn.1"),
    ] {
        assert!(file.is_file(), "{} installed", file.display());
    }
    let settings = std::fs::read_to_string(world.settings()).unwrap();
    let hook = prefix.join("bin/orch-hook");
    assert!(settings.contains(hook.to_str().unwrap()), "{settings}");

    // Idempotent: nothing changes the second time (no new backup either).
    let once = tree(world.root());
    let again = run(
        &world,
        "install.sh",
        &["--prefix", prefix_s, "--from", from],
    );
    assert!(!again.contains("copied"));
    assert_eq!(tree(world.root()), once);

    run(&world, "uninstall.sh", &["--prefix", prefix_s]);
    assert!(!prefix.join("bin/orch").exists());
    // Nothing of orch's is left but the settings backup `orch up` made.
    let left: Vec<PathBuf> = tree(world.root())
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| !before.iter().any(|(b, _)| b == p))
        .filter(|p| !p.to_string_lossy().contains("settings.json"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.settings()).unwrap()).unwrap();
    assert_eq!(
        after,
        serde_json::from_str::<serde_json::Value>(original).unwrap()
    );
    // A second uninstall is a no-op.
    let twice = run(&world, "uninstall.sh", &["--prefix", prefix_s]);
    assert!(twice.contains("nothing to undo"));
}
