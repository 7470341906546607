//! The npm packages: `npm/pack.sh` with the executables this test run built, `npm install -g`
//! into a temp prefix from the two local tarballs only (no registry), orch run through the
//! Node shims as a user would, `orch down`, `npm uninstall`, and nothing left in HOME; plus the
//! shim's lookup order and its pass-through of stdio, exit codes and signals.

use crate::util::{exe, expect_success, json, run_ok, World};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A user's settings.json before orch: a key and a hook of their own.
const USER_SETTINGS: &str = r#"{
  "model": "opus",
  "hooks": {
    "Stop": [ { "matcher": "", "hooks": [ { "type": "command", "command": "notify-send done" } ] } ]
  }
}
"#;

/// The commands the wrapper package puts on PATH.
const COMMANDS: [&str; 7] = [
    "orch",
    "orch-up",
    "orch-down",
    "orch-spawn",
    "orch-listen",
    "orch-subscribe",
    "orch-hook",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// This machine as npm names it: `linux-x64`, `darwin-arm64`, ...
fn platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        arch => arch,
    };
    format!("{os}-{arch}")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A world for npm: the world's environment without ORCH_HOME (a fresh machine uses the
/// default state folder, inside HOME), npm's cache and TMPDIR inside the world but outside
/// HOME, and `prefix/bin` first on PATH.
struct NpmWorld {
    world: World,
    prefix: PathBuf,
}

impl NpmWorld {
    fn new() -> NpmWorld {
        let world = World::new();
        let prefix = world.root().join("prefix");
        fs::create_dir_all(world.root().join("tmp")).unwrap();
        NpmWorld { world, prefix }
    }

    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        let path = format!(
            "{}:{}",
            self.prefix.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env_clear()
            .envs(
                self.world
                    .env()
                    .into_iter()
                    .filter(|(k, _)| k != "ORCH_HOME"),
            )
            .env("PATH", path)
            .env("TMPDIR", self.world.root().join("tmp"))
            .env("npm_config_cache", self.world.root().join("npm-cache"))
            .env("npm_config_update_notifier", "false")
            .current_dir(self.world.work())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `program ARGS` and asserts success; returns stdout.
    fn ok(&self, program: &str, args: &[&str]) -> String {
        run_ok(self.cmd(program).args(args), None, String::new)
    }

    fn npm(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd("npm");
        cmd.args(args).arg("--prefix").arg(&self.prefix).args([
            "--offline",
            "--no-audit",
            "--no-fund",
        ]);
        cmd
    }

    fn home(&self) -> PathBuf {
        self.world.home()
    }
}

/// The two tarballs `npm/pack.sh` made from this test run's executables, in `out`.
struct Packed {
    wrapper: PathBuf,
    platform: PathBuf,
}

fn pack(w: &NpmWorld, out: &Path) -> Packed {
    let bin_dir = exe("orch").parent().unwrap().to_path_buf();
    let started = Instant::now();
    let stdout = w.ok(
        repo().join("npm/pack.sh").to_str().unwrap(),
        &[bin_dir.to_str().unwrap(), out.to_str().unwrap()],
    );
    eprintln!("npm/pack.sh took {:.1?}", started.elapsed());
    let mut tarballs = stdout.lines().map(|line| {
        let (path, size) = line.split_once('\t').expect("pack.sh prints PATH<TAB>SIZE");
        eprintln!("tarball {path}: {size} bytes");
        PathBuf::from(path)
    });
    let platform = tarballs.next().expect("the platform tarball");
    let wrapper = tarballs.next().expect("the wrapper tarball");
    assert!(
        platform.to_str().unwrap().contains(&platform_name()),
        "{stdout}"
    );
    Packed { wrapper, platform }
}

fn platform_name() -> String {
    format!("orch-{}", platform())
}

/// How the packages are installed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scripts {
    /// postinstall runs, told to run `orch up --yes` (ORCH_POSTINSTALL_UP=1).
    UpAtInstall,
    /// `--ignore-scripts`: nothing runs at install.
    Ignored,
}

/// Every path under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            found.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() && !path.is_symlink() {
                walk(root, &path, found);
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

fn hook_commands(settings: &Value) -> Vec<String> {
    settings["hooks"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|entries| entries.as_array().unwrap())
        .flat_map(|entry| entry["hooks"].as_array().unwrap())
        .map(|hook| hook["command"].as_str().unwrap().to_string())
        .collect()
}

fn install_use_and_uninstall(packed: &Packed, scripts: Scripts) {
    let w = NpmWorld::new();
    let settings_path = w.world.settings();
    fs::create_dir_all(w.world.claude_dir()).unwrap();
    fs::write(&settings_path, USER_SETTINGS).unwrap();
    // An XDG base folder every desktop HOME has: `orch up` puts its skills below it, and
    // `orch down` removes only its own `orch` folder there.
    fs::create_dir_all(w.home().join(".local/share")).unwrap();
    let original: Value = serde_json::from_str(USER_SETTINGS).unwrap();

    // Both tarballs in one command: the wrapper's optional dependency on the platform package
    // is satisfied by the platform tarball installed beside it, so npm fetches nothing.
    let mut install = w.npm(&["install", "-g"]);
    match scripts {
        Scripts::UpAtInstall => {
            install
                .env("ORCH_POSTINSTALL_UP", "1")
                .arg("--allow-scripts=@agent-ops/orch");
        }
        Scripts::Ignored => {
            install.arg("--ignore-scripts");
        }
    }
    install.arg(&packed.platform).arg(&packed.wrapper);
    let started = Instant::now();
    let out = install.output().unwrap();
    eprintln!(
        "npm install -g ({scripts:?}) took {:.1?}",
        started.elapsed()
    );
    expect_success(&format!("npm install ({scripts:?})"), out, String::new);

    let native_bin = w
        .prefix
        .join("lib/node_modules/@agent-ops")
        .join(platform_name())
        .join("bin")
        .canonicalize()
        .unwrap();
    let native_hook = native_bin.join("orch-hook").display().to_string();
    let after_install = fs::read_to_string(&settings_path).unwrap();
    match scripts {
        Scripts::UpAtInstall => assert!(
            hook_commands(&serde_json::from_str(&after_install).unwrap()).contains(&native_hook),
            "postinstall with ORCH_POSTINSTALL_UP=1 did not run `orch up`: {after_install}"
        ),
        Scripts::Ignored => assert_eq!(after_install, USER_SETTINGS),
    }

    // Through the Node shims on PATH.
    for command in COMMANDS {
        assert!(
            w.prefix.join("bin").join(command).exists(),
            "npm did not link `{command}`"
        );
    }
    let version = w.ok("orch", &["--version"]);
    assert_eq!(
        version.trim(),
        format!("orch {}", env!("CARGO_PKG_VERSION"))
    );
    w.ok("orch-listen", &["--help"]);
    w.ok("orch", &["up", "--yes"]);
    // npm links the wrapper's man pages where man finds them beside its bin folder.
    let man = w.prefix.join("share/man/man1");
    for page in ["orch.1", "orch-spawn.1", "orch-completions.1"] {
        assert!(man.join(page).exists(), "npm did not link {page}");
    }

    // The hook is the native executable inside the platform package, never a Node shim.
    let settings: Value = serde_json::from_str(&fs::read_to_string(&settings_path).unwrap())
        .expect("settings.json parses after `orch up`");
    let ours: Vec<String> = hook_commands(&settings)
        .into_iter()
        .filter(|c| c != "notify-send done")
        .collect();
    assert!(!ours.is_empty(), "{settings}");
    for command in &ours {
        assert_eq!(command, &native_hook, "{settings}");
        assert!(!command.ends_with(".js"));
    }

    // `orch doctor` is optional: check it prints JSON when this build has it.
    let has_doctor = w
        .cmd("orch")
        .args(["doctor", "--help"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    if has_doctor {
        let out = w.cmd("orch").args(["doctor", "--json"]).output().unwrap();
        json(&text(&out.stdout));
    }

    let started = Instant::now();
    w.ok("orch", &["demo"]);
    eprintln!("orch demo through the shim took {:.1?}", started.elapsed());
    w.ok("orch", &["down", "--yes"]);

    let out = w
        .npm(&["uninstall", "-g", "@agent-ops/orch"])
        .arg(format!("@agent-ops/{}", platform_name()))
        .output()
        .unwrap();
    expect_success("npm uninstall", out, String::new);
    let left: Vec<String> = fs::read_dir(w.prefix.join("bin"))
        .map(|dir| {
            dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "npm uninstall left {left:?}");
    assert!(
        !man.join("orch.1").exists(),
        "npm uninstall left the man pages"
    );

    // HOME holds what the user had, the backups and orch's lock file beside settings.json.
    let unexpected: Vec<String> = tree(&w.home())
        .into_iter()
        .filter(|p| {
            !(p == ".claude"
                || p == ".local"
                || p == ".local/share"
                || p == ".claude/settings.json"
                || p == ".claude/settings.json.orch-lock"
                || p.starts_with(".claude/settings.json.bak."))
        })
        .collect();
    assert!(
        unexpected.is_empty(),
        "left in HOME after `orch down` and `npm uninstall` ({scripts:?}): {unexpected:?}"
    );
    let settings: Value =
        serde_json::from_str(&fs::read_to_string(&settings_path).unwrap()).unwrap();
    assert_eq!(settings, original);
}

#[test]
fn npm_install_from_local_tarballs_runs_the_native_orch_and_uninstalls_cleanly() {
    let packing = NpmWorld::new();
    let packed = pack(&packing, &packing.world.root().join("out"));
    install_use_and_uninstall(&packed, Scripts::UpAtInstall);
    install_use_and_uninstall(&packed, Scripts::Ignored);
}

#[test]
fn npm_package_version_and_platforms_match_the_crate() {
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(repo().join("npm/package.json")).unwrap())
            .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(manifest["version"], version);
    let optional = manifest["optionalDependencies"].as_object().unwrap();
    for plat in ["linux-x64", "linux-arm64", "darwin-x64", "darwin-arm64"] {
        assert_eq!(optional[&format!("@agent-ops/orch-{plat}")], version);
    }
    let bins: Vec<&String> = manifest["bin"].as_object().unwrap().keys().collect();
    assert_eq!(bins, COMMANDS);
}

/// A stand-in for the native `orch`: prints its name and arguments and exits 7; `cat` copies
/// stdin; `term` kills itself with SIGTERM.
const FAKE_ORCH: &str = r#"#!/bin/sh
case "$1" in
  cat) exec cat ;;
  term) kill -TERM $$ ;;
esac
echo "ran $(basename "$0") $*"
exit 7
"#;

fn shim(w: &World, script: &Path, env: &[(&str, &Path)]) -> Command {
    let mut node = Command::new("node");
    node.arg(script)
        .env_clear()
        .envs(w.env())
        .current_dir(w.work())
        .stdin(Stdio::null());
    for (key, value) in env {
        node.env(key, value);
    }
    node
}

#[test]
fn shim_prefers_orch_binary_and_passes_io_exit_codes_and_signals_through() {
    let w = World::new();
    let bin = repo().join("npm/bin");
    let fake_dir = w.root().join("fake");
    fs::create_dir_all(&fake_dir).unwrap();
    let fake = fake_dir.join("orch");
    fs::write(&fake, FAKE_ORCH).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();

    // The real native orch through ORCH_BINARY.
    let version = run_ok(
        shim(&w, &bin.join("orch.js"), &[("ORCH_BINARY", &exe("orch"))]).arg("--version"),
        None,
        String::new,
    );
    assert_eq!(
        version.trim(),
        format!("orch {}", env!("CARGO_PKG_VERSION"))
    );

    // `orch-up` without a native `orch-up` beside ORCH_BINARY runs `orch up`; exit code kept.
    let out = shim(&w, &bin.join("orch-up.js"), &[("ORCH_BINARY", &fake)])
        .args(["--yes", "two words"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran orch up --yes two words\n");

    // stdin reaches the native process.
    let mut cmd = shim(&w, &bin.join("orch.js"), &[("ORCH_BINARY", &fake)]);
    let cat = run_ok(cmd.arg("cat"), Some(b"prompt text\n"), String::new);
    assert_eq!(cat, "prompt text\n");

    // A native process killed by a signal: the shim dies of the same signal.
    let status = shim(&w, &bin.join("orch.js"), &[("ORCH_BINARY", &fake)])
        .arg("term")
        .status()
        .unwrap();
    assert_eq!(status.signal(), Some(15), "{status:?}");

    // ORCH_BINARY naming no file is an error that says so.
    let missing = w.root().join("nowhere/orch");
    let out = shim(&w, &bin.join("orch.js"), &[("ORCH_BINARY", &missing)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ORCH_BINARY"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn shim_without_a_native_orch_names_the_platform_and_the_fix() {
    // The shims outside any checkout, with no platform package: nothing to find.
    let w = World::new();
    let package = w.root().join("package");
    for sub in ["bin", "lib"] {
        fs::create_dir_all(package.join(sub)).unwrap();
        for entry in fs::read_dir(repo().join("npm").join(sub)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), package.join(sub).join(entry.file_name())).unwrap();
        }
    }
    let out = shim(&w, &package.join("bin/orch.js"), &[])
        .arg("--version")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("no native orch for {}", platform())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("@agent-ops/{}", platform_name())),
        "{stderr}"
    );
    assert!(stderr.contains("ORCH_BINARY"), "{stderr}");
}
