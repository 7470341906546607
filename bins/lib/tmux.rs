//! The one place that runs tmux: `tmux [-L name | -S path] ARGS` with argv (never a shell),
//! tmux's own stderr in every error.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

/// Which tmux server to talk to.
///
/// `socket_name` is a `-L` name, `socket_path` a `-S` path; with neither it is the default
/// server. Stored in each worker's metadata so every later command finds the worker's server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Server {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket_path: Option<String>,
}

/// The pane a command runs in, from `$TMUX` (`<socket path>,<pid>,<session>`) and `$TMUX_PANE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub socket_path: String,
    pub pane: String,
}

impl Caller {
    /// The caller's pane, when this process runs inside tmux.
    pub fn from_env() -> Option<Caller> {
        let tmux = std::env::var("TMUX").ok().filter(|v| !v.is_empty())?;
        let pane = std::env::var("TMUX_PANE").ok().filter(|v| !v.is_empty())?;
        Some(Caller {
            socket_path: socket_of(&tmux)?.to_string(),
            pane,
        })
    }
}

/// The socket path in a `$TMUX` value (`/tmp/tmux-0/default,1234,0` → `/tmp/tmux-0/default`).
pub fn socket_of(tmux_env: &str) -> Option<&str> {
    let path = tmux_env.rsplitn(3, ',').nth(2)?;
    (!path.is_empty()).then_some(path)
}

impl Server {
    /// The server every command uses: `-L $ORCH_TMUX_SOCKET` if set, else the server of
    /// `$TMUX` (by its socket path), else the default server.
    pub fn from_env() -> Server {
        if let Some(name) = std::env::var("ORCH_TMUX_SOCKET")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return Server {
                socket_name: Some(name),
                socket_path: None,
            };
        }
        let path = std::env::var("TMUX")
            .ok()
            .and_then(|t| socket_of(&t).map(str::to_string));
        Server {
            socket_name: None,
            socket_path: path,
        }
    }

    /// A `tmux` command aimed at this server, with `TMUX` removed from its environment. `-u`:
    /// without a UTF-8 locale (`LANG` unset, as under cron or a cleared environment) tmux
    /// prints a tab in a format as `_` and every non-ASCII character of a captured screen
    /// (Claude Code's `❯` and `─`) as `_`.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-u");
        if let Some(path) = &self.socket_path {
            cmd.arg("-S").arg(path);
        } else if let Some(name) = &self.socket_name {
            cmd.arg("-L").arg(name);
        }
        cmd.env_remove("TMUX");
        cmd
    }

    /// How a person attaches to this server: `tmux`, `tmux -L name` or `tmux -S path`.
    pub fn describe(&self) -> String {
        match (&self.socket_path, &self.socket_name) {
            (Some(path), _) => format!("tmux -S {path}"),
            (None, Some(name)) => format!("tmux -L {name}"),
            (None, None) => "tmux".into(),
        }
    }

    /// Runs tmux with `args`; returns stdout. Errors carry tmux's stderr.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with_input(args, None)
    }

    /// Runs tmux with `args`, writing `input` to its stdin (e.g. `load-buffer -`).
    pub fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<String> {
        let mut cmd = self.command();
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                anyhow::anyhow!("`tmux` is not installed or not on PATH: install tmux 3.0 or newer")
            } else {
                anyhow::Error::new(e).context("cannot run `tmux`")
            }
        })?;
        if let Some(bytes) = input {
            let mut stdin = child.stdin.take().context("tmux has no stdin")?;
            stdin
                .write_all(bytes)
                .context("cannot write to `tmux` stdin")?;
        }
        let out = child.wait_with_output().context("cannot wait for `tmux`")?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            bail!(
                "`{} {}` failed: {}",
                self.describe(),
                args.first().copied().unwrap_or(""),
                err.trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The server's socket path (`#{socket_path}`), asked of the running server.
    pub fn socket_path(&self) -> Result<String> {
        Ok(self
            .run(&["display-message", "-p", "#{socket_path}"])?
            .trim()
            .to_string())
    }

    /// Whether the pane exists on this server (false too when the server is gone).
    pub fn pane_alive(&self, pane: &str) -> bool {
        self.run(&["display-message", "-p", "-t", pane, "#{pane_id}"])
            .map(|out| out.trim() == pane)
            .unwrap_or(false)
    }

    /// The ids of every pane on this server; empty when no server runs.
    pub fn live_panes(&self) -> HashSet<String> {
        self.run(&["list-panes", "-a", "-F", "#{pane_id}"])
            .map(|out| out.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Whether a session of that name exists.
    pub fn has_session(&self, name: &str) -> bool {
        self.run(&["has-session", "-t", &format!("={name}")])
            .is_ok()
    }

    /// The visible text of a pane.
    pub fn capture(&self, pane: &str) -> Result<String> {
        self.run(&["capture-pane", "-p", "-t", pane])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_from_tmux_env() {
        assert_eq!(
            socket_of("/tmp/tmux-0/default,9360,0"),
            Some("/tmp/tmux-0/default")
        );
        assert_eq!(socket_of("/tmp/a,b/sock,1,2"), Some("/tmp/a,b/sock"));
        assert_eq!(socket_of("garbage"), None);
    }
}
