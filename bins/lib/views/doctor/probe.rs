//! The live probe: a Claude Code run in a private tmux pane whose hook must see `TMUX_PANE`.

use super::check::Check;
use crate::tmux::Tmux;
use serde_json::json;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private tmux server for the probe and its temp folder: on drop the server is killed, the
/// Claude Code it ran is killed and given a moment to go (it writes into its HOME until it
/// does), then the folder and the server's socket are removed.
struct ProbeServer {
    server: crate::tmux::TmuxServer,
    socket_path: Option<String>,
    /// The pid of the process in the probe's pane.
    pid: Option<String>,
    tmp: tempfile::TempDir,
}

impl Drop for ProbeServer {
    fn drop(&mut self) {
        // A throwaway Claude Code in a temp HOME: no need for its slow graceful exit.
        if let Some(pid) = &self.pid {
            let _ = Command::new("kill")
                .args(["-KILL", pid])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.server.run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = fs::remove_file(path);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        // Alive and not yet a zombie (a killed child of the gone server waits to be reaped).
        let alive = |pid: &str| {
            Command::new("ps")
                .args(["-o", "stat=", "-p", pid])
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|o| {
                    let stat = String::from_utf8_lossy(&o.stdout);
                    !stat.trim().is_empty() && !stat.trim_start().starts_with('Z')
                })
        };
        if let Some(pid) = &self.pid {
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        loop {
            match fs::remove_dir_all(self.tmp.path()) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {}
                _ => break,
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `probe`: starts `claude -p` in a private tmux server with an inline SessionStart hook that
/// writes `$TMUX_PANE` to a file, and compares what the hook saw with the pane's id. Claude Code
/// gets a temp HOME, a closed port as its API (the hook fires before any model call) and no
/// network; everything is removed afterwards.
pub fn probe(claude: &Path, timeout: Duration) -> Check {
    const NAME: &str = "probe";
    let started = Instant::now();
    let result = run_probe(claude, timeout);
    let took = format!("{:.1} s", started.elapsed().as_secs_f64());
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    match result {
        Ok((pane, seen, hook)) if pane == seen => Check::ok(
            NAME,
            format!(
                "a SessionStart hook saw TMUX_PANE={seen}, its pane (hook after {}, {took} in all)",
                secs(hook)
            ),
        ),
        Ok((pane, seen, _)) => Check::warn(
            NAME,
            format!("a SessionStart hook saw TMUX_PANE=`{seen}` in pane {pane} ({took})"),
            "start Claude Code so that it keeps tmux's environment (no `env -i` wrapper)",
        ),
        Err(why) => Check::warn(
            NAME,
            format!("{why} ({took})"),
            "run `claude -p hi` inside tmux to see what goes wrong",
        ),
    }
}

/// Runs the probe: `(pane id, what the hook wrote, how long the hook took to run)`, or why it did not get that far.
fn run_probe(claude: &Path, timeout: Duration) -> Result<(String, String, Duration), String> {
    let begun = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("orch-doctor-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let (home, work) = (tmp.path().join("home"), tmp.path().join("work"));
    for dir in [&home, &work] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let out = tmp.path().join("pane");
    let part = tmp.path().join("pane.part");
    let quote = |p: &Path| crate::shell::quote(&p.display().to_string());
    let hook = format!(
        "printf %s \"$TMUX_PANE\" > {part} && mv {part} {out}",
        part = quote(&part),
        out = quote(&out)
    );
    let inline =
        json!({"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": hook}]}]}});
    let claude_path = claude.display().to_string();
    let work_path = work.display().to_string();
    let inline = inline.to_string();

    let mut guard = ProbeServer {
        server: crate::tmux::TmuxServer {
            socket_name: Some(format!("orch-doctor-{}", std::process::id())),
            socket_path: None,
        },
        socket_path: None,
        pid: None,
        tmp,
    };
    let mut cmd = guard.server.command();
    cmd.args(["-f", "/dev/null", "start-server", ";"])
        .args(["set-option", "-g", "remain-on-exit", "on", ";"])
        .args([
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-x",
            "120",
            "-y",
            "30",
        ])
        .args(["-c", &work_path, "--", &claude_path, "-p", "probe"])
        .args(["--settings", &inline])
        .env_remove("TMUX_PANE")
        .env("HOME", &home)
        .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
        .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .env("ANTHROPIC_API_KEY", "probe")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1")
        .stdin(Stdio::null());
    let started = cmd
        .output()
        .map_err(|e| format!("cannot run `tmux`: {e}"))?;
    if !started.status.success() {
        return Err(format!(
            "cannot start a private tmux server: {}",
            String::from_utf8_lossy(&started.stderr).trim()
        ));
    }
    guard.socket_path = guard.server.socket_path().ok();
    let pane = String::from_utf8_lossy(&started.stdout).trim().to_string();
    guard.pid = guard
        .server
        .run(&["display-message", "-p", "-t", &pane, "#{pane_pid}"])
        .ok()
        .map(|pid| pid.trim().to_string())
        .filter(|pid| !pid.is_empty());

    let deadline = Instant::now() + timeout;
    let mut dead_seen = false;
    loop {
        if let Ok(seen) = fs::read_to_string(&out) {
            return Ok((pane, seen, begun.elapsed()));
        }
        let dead = guard
            .server
            .run(&["display-message", "-p", "-t", &pane, "#{pane_dead}"])
            .map(|s| s.trim() == "1")
            .unwrap_or(true);
        if dead && dead_seen {
            let screen = guard.server.capture(&pane).unwrap_or_default();
            let last = screen
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty() && !l.starts_with("Pane is dead"))
                .map_or("no output".to_string(), |l| format!("last output: `{l}`"));
            return Err(format!(
                "Claude Code exited without running the SessionStart hook ({last})"
            ));
        }
        // One more look at the file after the pane died: the hook may have just finished.
        dead_seen = dead;
        if Instant::now() >= deadline {
            return Err(format!(
                "no SessionStart hook ran within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
