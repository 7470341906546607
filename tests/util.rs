//! Test support: a temp world per test (HOME, CLAUDE_CONFIG_DIR, XDG dirs and ORCH_HOME inside
//! one temp folder), a private tmux server per test, and deadline waits.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique name for this test process: `orch-test-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// The path of one of orch's executables, as built by cargo for this test run.
pub fn exe(name: &str) -> PathBuf {
    let orch = PathBuf::from(env!("CARGO_BIN_EXE_orch"));
    orch.with_file_name(name)
}

/// A temp world: HOME and every config/state folder live inside `root`.
pub struct World {
    pub dir: tempfile::TempDir,
    /// tmux socket name (`-L`) for this world, if a server was started.
    pub tmux: Option<Tmux>,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::Builder::new()
            .prefix("orch-test-")
            .tempdir()
            .unwrap();
        for sub in ["home", "state", "work"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        // As orch creates it: its own, 0700.
        let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700);
        std::fs::set_permissions(dir.path().join("state"), private).unwrap();
        World { dir, tmux: None }
    }

    /// A world with its own tmux server and orch installed (`orch up`: hooks in its
    /// settings.json).
    pub fn installed() -> World {
        let world = World::with_tmux();
        world.ok(&["up"]);
        world
    }

    /// Spawns a sim worker named `name`; returns its `spawn --json` record.
    pub fn spawn_sim(&self, name: &str) -> serde_json::Value {
        self.spawn_sim_with(name, &[])
    }

    /// Spawns a sim worker named `name` with `args` for `orch-sim`; returns its `spawn --json`
    /// record.
    pub fn spawn_sim_with(&self, name: &str, args: &[&str]) -> serde_json::Value {
        let mut argv = vec!["--json", "spawn", "--harness", "sim", "--name", name, "--"];
        argv.extend(args);
        json(&self.ok(&argv))
    }

    /// A world with its own tmux server running.
    pub fn with_tmux() -> World {
        let mut world = World::new();
        world.tmux = Some(Tmux::start());
        world
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }
    pub fn claude_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }
    pub fn settings(&self) -> PathBuf {
        self.claude_dir().join("settings.json")
    }
    pub fn state(&self) -> PathBuf {
        self.root().join("state")
    }
    pub fn work(&self) -> PathBuf {
        self.root().join("work")
    }

    /// The environment every command in this world gets (on top of a cleared one).
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".into(), self.home().display().to_string()),
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("ORCH_HOME".into(), self.state().display().to_string()),
            (
                "XDG_STATE_HOME".into(),
                self.home().join(".local/state").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                self.home().join(".local/share").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                self.home().join(".config").display().to_string(),
            ),
            ("TERM".into(), "xterm-256color".into()),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        if let Ok(v) = std::env::var("IS_SANDBOX") {
            env.push(("IS_SANDBOX".into(), v));
        }
        if let Some(tmux) = &self.tmux {
            env.push(("ORCH_TMUX_SOCKET".into(), tmux.socket.clone()));
        }
        env
    }

    /// A command for one of orch's executables in this world: cleared environment plus
    /// [`World::env`], cwd = the world's work folder.
    pub fn cmd(&self, exe_name: &str) -> Command {
        let mut cmd = Command::new(exe(exe_name));
        cmd.env_clear().envs(self.env()).current_dir(self.work());
        cmd
    }

    /// Makes `cmd` run as if typed in `pane` of this world's tmux server: `TMUX` and
    /// `TMUX_PANE` set as tmux sets them, `ORCH_TMUX_SOCKET` removed.
    pub fn in_pane<'c>(&self, cmd: &'c mut Command, pane: &str) -> &'c mut Command {
        let tmux = self.tmux.as_ref().expect("in_pane needs World::with_tmux");
        cmd.env_remove("ORCH_TMUX_SOCKET")
            .env("TMUX", format!("{},{},0", tmux.socket_path, tmux.pid()))
            .env("TMUX_PANE", pane)
            .stdin(Stdio::null())
    }

    /// Every pane's visible text on this world's tmux server, for failure messages.
    pub fn screens(&self) -> String {
        let Some(tmux) = &self.tmux else {
            return String::new();
        };
        let panes = tmux.run(&["list-panes", "-a", "-F", "#{pane_id}"]);
        panes
            .lines()
            .map(|p| format!("--- pane {p} ---\n{}", tmux.capture(p)))
            .collect()
    }

    /// [`expect_success`] for `out` of `orch ARGS`, with `context` and every pane's screen in
    /// the panic; returns stdout.
    pub fn expect_ok(&self, args: &[&str], out: Output, context: &str) -> String {
        expect_success(&format!("orch {args:?}"), out, || {
            format!("{context}\n{}", self.screens())
        })
    }

    /// Runs `orch ARGS` to completion with empty stdin.
    pub fn orch(&self, args: &[&str]) -> Output {
        self.cmd("orch")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The `orch ps --all --json` row of worker `id`, or null when it has none.
    pub fn ps_row(&self, id: &str) -> serde_json::Value {
        let rows = json(&self.ok(&["--json", "ps", "--all"]));
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }

    /// Runs `orch ARGS` and asserts success ([`expect_success`]); returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        expect_success(&format!("orch {args:?}"), self.orch(args), String::new)
    }
}

/// Asserts that `out`, the output of `what` (e.g. `orch ["up"]`), succeeded; otherwise panics
/// with its exit code, stdout, stderr and `explain()` (state worth reading, computed only
/// then). Returns stdout, which must be UTF-8.
pub fn expect_success(what: &str, out: Output, explain: impl FnOnce() -> String) -> String {
    if !out.status.success() {
        panic!(
            "{what} failed ({:?}):\nstdout: {}\nstderr: {}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            explain()
        );
    }
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{what}: stdout is not UTF-8: {e}"))
}

/// Runs `cmd` to completion, with `stdin` written to its input (`None`: no input), and
/// asserts success ([`expect_success`], naming it `PROGRAM [ARGS...]`); returns stdout.
pub fn run_ok(cmd: &mut Command, stdin: Option<&[u8]>, explain: impl FnOnce() -> String) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let what = format!("{program} {:?}", cmd.get_args().collect::<Vec<_>>());
    let out = match stdin {
        Some(input) => output_with_stdin(cmd, input),
        None => cmd.output().unwrap(),
    };
    expect_success(&what, out, explain)
}

/// A private tmux server (`tmux -L orch-test-<pid>-<n>`), killed on drop.
pub struct Tmux {
    pub socket: String,
    /// The server's socket file, removed on drop (`kill-server` leaves it behind).
    pub socket_path: String,
}

impl Tmux {
    pub fn start() -> Tmux {
        let socket = unique("orch-test");
        let status = Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", "main", "-x", "200", "-y", "50"])
            .env_remove("TMUX")
            .status()
            .expect("tmux must be installed");
        assert!(status.success(), "cannot start tmux server {socket}");
        let mut tmux = Tmux {
            socket,
            socket_path: String::new(),
        };
        tmux.socket_path = tmux
            .run(&["display-message", "-p", "#{socket_path}"])
            .trim()
            .into();
        tmux
    }

    /// Runs `tmux -L <socket> ARGS` and returns stdout (panics on failure).
    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The server's pid, as tmux puts it in `$TMUX`.
    pub fn pid(&self) -> String {
        self.run(&["display-message", "-p", "#{pid}"])
            .trim()
            .to_string()
    }

    /// Kills the server (as a crash would: no pane is closed first) and waits until it is
    /// gone.
    pub fn kill_server(&self) {
        self.run(&["kill-server"]);
        wait_for("the tmux server to die", Duration::from_secs(10), || {
            let alive = Command::new("tmux")
                .args(["-L", &self.socket, "list-sessions"])
                .stderr(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            (!alive).then_some(())
        });
    }

    /// The visible text of a pane.
    pub fn capture(&self, pane: &str) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", pane])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Some agents outlive their pane's server (Gemini CLI 0.61 ignores the hang-up): stop
        // every pane's process group first, so no test leaves one behind.
        let panes = Command::new("tmux")
            .args(["-L", &self.socket, "list-panes", "-a", "-F", "#{pane_pid}"])
            .stderr(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in panes.lines().filter(|p| !p.is_empty()) {
            kill_group(pid);
        }
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        if !self.socket_path.is_empty() {
            let _ = std::fs::remove_file(&self.socket_path);
        }
    }
}

/// Starts `cmd` with `input` written to its stdin (then closed); stdout and stderr piped.
pub fn spawn_with_stdin(cmd: &mut Command, input: &[u8]) -> std::process::Child {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    // A program may exit without reading all of its input: that is its business.
    let _ = std::io::Write::write_all(&mut pipe, input);
    child
}

/// Runs `cmd` to completion with `input` on its stdin.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    spawn_with_stdin(cmd, input).wait_with_output().unwrap()
}

/// An agent CLI the tests drive: `$OVERRIDE` if set, else `rel` inside the test cache
/// `${ORCH_TEST_CACHE:-${XDG_CACHE_HOME:-~/.cache}/orch-test}` where `install/test-deps.sh`
/// puts it, or inside its `latest/` folder when `ORCH_TEST_CLI=latest` (`test-deps.sh
/// --latest`). Panics, naming `what` and the fix, when it is not there.
pub fn cached_cli(override_var: &str, rel: &str, what: &str) -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let latest = match var("ORCH_TEST_CLI").as_deref().and_then(|v| v.to_str()) {
        None | Some("pinned") => false,
        Some("latest") => true,
        Some(other) => panic!("ORCH_TEST_CLI={other}: expected `pinned` or `latest`"),
    };
    let bin = match var(override_var) {
        Some(bin) => PathBuf::from(bin),
        None => {
            let cache = var("ORCH_TEST_CACHE")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    var("XDG_CACHE_HOME")
                        .map(PathBuf::from)
                        .unwrap_or_else(|| {
                            PathBuf::from(var("HOME").expect("HOME is not set")).join(".cache")
                        })
                        .join("orch-test")
                });
            if latest {
                cache.join("latest").join(rel)
            } else {
                cache.join(rel)
            }
        }
    };
    let fix = if latest {
        "install/test-deps.sh --latest"
    } else {
        "install/test-deps.sh"
    };
    assert!(
        bin.is_file(),
        "{what} not found at `{}`: run `{fix}` (or set {override_var})",
        bin.display()
    );
    bin
}

/// Waits until `check` returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    wait_or_explain(what, timeout, check, String::new)
}

/// [`wait_for`], with `explain()` (state worth reading: logs, events, screens) in the panic.
pub fn wait_or_explain<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    explain: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("timed out waiting for {what}\n{}", explain());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl World {
    /// What to read when a wait on workers fails: every worker's events, the hook's log and
    /// every pane's screen.
    pub fn explain(&self) -> String {
        let mut text = String::new();
        let workers = self.state().join("workers");
        if let Ok(entries) = std::fs::read_dir(&workers) {
            for entry in entries.flatten() {
                let events = std::fs::read_to_string(entry.path().join("events.jsonl"));
                text.push_str(&format!(
                    "--- events of {} ---\n{}\n",
                    entry.file_name().to_string_lossy(),
                    events.unwrap_or_default()
                ));
            }
        }
        for file in ["hook.log", "audit.jsonl"] {
            let log = std::fs::read_to_string(self.state().join(file)).unwrap_or_default();
            text.push_str(&format!("--- {file} ---\n{log}\n"));
        }
        text + &self.screens()
    }
}

/// Parses stdout as one JSON value.
pub fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// A command's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Sends SIGKILL to the process group led by `pid`, with the shell's own `kill` (procps may
/// not be installed).
pub fn kill_group(pid: &str) {
    let _ = Command::new("sh")
        .args(["-c", "kill -KILL \"-$1\"", "sh", pid])
        .stderr(Stdio::null())
        .status();
}

/// The pids of the processes whose parent is `parent` (read from `/proc`).
pub fn children_of(parent: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, ppid, _)| *ppid == parent)
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Whether process `pid` runs (exists and is no zombie waiting to be reaped).
pub fn alive(pid: u32) -> bool {
    processes().iter().any(|(p, _, _)| *p == pid)
}

/// The pids of the processes whose command line contains `needle` (read from `/proc`).
pub fn pids_running(needle: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, _, cmdline)| cmdline.contains(needle))
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Every live process as (pid, parent pid, command line with spaces for NULs).
fn processes() -> Vec<(u32, u32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) S ppid ...`: fields after the last `)`.
        let mut rest = stat
            .rsplit_once(')')
            .map_or("", |(_, r)| r)
            .split_whitespace();
        let state = rest.next().unwrap_or("");
        let ppid = rest.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if state == "Z" {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        found.push((pid, ppid, cmdline));
    }
    found
}
