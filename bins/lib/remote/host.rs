//! Other machines, reached through the user's own OpenSSH: a host is any destination `ssh`
//! accepts (`box`, `me@gpu.lan`, an alias of `~/.ssh/config` with its keys and jump hosts).
//!
//! Every command to a host goes through one shared connection per host (OpenSSH's
//! ControlMaster, socket `$ORCH_HOME/ssh/<%C>`, kept 10 minutes after its last use) and in
//! batch mode: ssh never asks for a password, a host that needs one fails with the fix.
//! `ORCH_SSH` replaces the `ssh` command (split at whitespace, e.g. `ssh -p 2222 -i key`); the
//! one in use when a host was reached is kept with it, for processes started without it.
//!
//! Known hosts are recorded in `$ORCH_HOME/hosts/<dest>.json` (`{"dest", "added_ms",
//! "seen_ms", "orch"}`) when orch first reaches them.

use crate::error::{Error, Exit};
use crate::shell;
use anyhow::{bail, Context, Result};
use orch_store::files::write_atomic;
use orch_store::Store;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// How long a shared connection outlives its last use, in seconds.
pub const PERSIST_SECS: u32 = 600;

/// A remote machine by its ssh destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub dest: String,
}

/// What orch keeps about a host it reached: `$ORCH_HOME/hosts/<dest>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownHost {
    pub dest: String,
    /// When orch first reached it (ms since the Unix epoch).
    pub added_ms: u64,
    /// When orch last reached it.
    pub seen_ms: u64,
    /// The remote `orch --version` last seen (`0.1.0`), if orch runs there.
    #[serde(default)]
    pub orch: Option<String>,
    /// `ORCH_SSH` as it was when orch last reached the host with it set: what processes
    /// started without it (a relay, a delivery started by a hook) use for this host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh: Option<String>,
}

/// Whether the shared connection to a host is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A master connection is open: commands start without a new handshake.
    Connected,
    /// None is open (the next command opens one).
    Idle,
}

impl Link {
    /// `connected` or `idle`.
    pub fn as_str(self) -> &'static str {
        match self {
            Link::Connected => "connected",
            Link::Idle => "idle",
        }
    }
}

impl Host {
    /// A host by its ssh destination.
    ///
    /// Errors: empty, with whitespace or a control character, or starting with `-` (ssh would
    /// take it for an option).
    pub fn new(dest: &str) -> Result<Host> {
        let bad = dest.is_empty()
            || dest.starts_with('-')
            || dest.chars().any(|c| c.is_whitespace() || c.is_control());
        if bad {
            bail!(
                "`{dest}` is no ssh destination: give a host name, `user@host` or an alias of \
                 ~/.ssh/config"
            );
        }
        Ok(Host { dest: dest.into() })
    }

    /// `ssh` and its options for this host: `$ORCH_SSH` (or `ssh`), then the shared
    /// connection and batch mode.
    fn ssh(&self, state: &Store) -> Result<Command> {
        let configured = orch_ssh()
            .or_else(|| read_known(&known_path(state, &self.dest)).and_then(|r| r.ssh))
            .unwrap_or_default();
        let mut words = configured.split_whitespace();
        let program = words.next().unwrap_or("ssh");
        let sockets = state.root.join("ssh");
        orch_store::files::create_private_dir(&sockets)?;
        let mut cmd = Command::new(program);
        cmd.args(words)
            .arg("-o")
            .arg("ControlMaster=auto")
            .arg("-o")
            .arg(format!("ControlPath={}/%C", sockets.display()))
            .arg("-o")
            .arg(format!("ControlPersist={PERSIST_SECS}"))
            .arg("-o")
            .arg("BatchMode=yes")
            .stdin(Stdio::null());
        Ok(cmd)
    }

    /// Runs `argv` on the host (each word quoted for the remote shell) and returns what it
    /// printed.
    ///
    /// Errors: ssh could not start, could not connect (exit 255: the message names the host,
    /// ssh's words and the fix), or the command failed (its stderr).
    pub fn run(&self, state: &Store, argv: &[&str]) -> Result<String> {
        let out = self.output(state, argv)?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let said = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.code() == Some(255) {
            bail!(
                "cannot reach host `{}` over ssh: {said}. Make `ssh {}` work without a prompt \
                 (a key in ssh-agent or an IdentityFile in ~/.ssh/config), or set ORCH_SSH",
                self.dest,
                self.dest
            );
        }
        bail!(
            "`{}` on host `{}` failed ({}): {said}",
            argv.join(" "),
            self.dest,
            out.status
        )
    }

    /// Runs `orch ARGS` on the host (with `input` on its stdin) and returns what it printed;
    /// what it said on stderr (warnings) goes to ours. Its failure keeps its exit code and
    /// message; ssh's own failure (exit 255) says the host cannot be reached.
    pub fn orch(&self, state: &Store, args: &[&str], input: Option<&[u8]>) -> Result<String> {
        let (out, said) = self.orch_quiet(state, args, input)?;
        eprint!("{said}");
        Ok(out)
    }

    /// [`Host::orch`], giving back what the host's orch said on stderr beside what it printed
    /// instead of passing it on: for a caller whose stderr is no place for it (a thread of
    /// `orch top`, which owns the terminal).
    ///
    /// Errors: as [`Host::orch`].
    pub fn orch_quiet(
        &self,
        state: &Store,
        args: &[&str],
        input: Option<&[u8]>,
    ) -> Result<(String, String)> {
        let mut argv = vec!["orch"];
        argv.extend(args);
        let out = self.output_with(state, &argv, input)?;
        let said = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            let printed = String::from_utf8_lossy(&out.stdout).into_owned();
            return Ok((printed, said.into_owned()));
        }
        let said = said.trim().trim_start_matches("orch: ");
        let code = out.status.code().unwrap_or(1);
        let message = if code == 255 {
            format!(
                "cannot reach host `{}` over ssh: {said}; `orch doctor --host {}` says why",
                self.dest, self.dest
            )
        } else {
            format!("on host `{}`: {said}", self.dest)
        };
        bail!(Error::Remote {
            exit: Exit::from_code(code),
            message
        })
    }

    /// Runs `argv` on the host and returns its raw output, whatever its exit status.
    pub fn output(&self, state: &Store, argv: &[&str]) -> Result<Output> {
        self.output_with(state, argv, None)
    }

    /// [`Host::output`] with `input` written to the remote command's stdin.
    pub fn output_with(
        &self,
        state: &Store,
        argv: &[&str],
        input: Option<&[u8]>,
    ) -> Result<Output> {
        let mut cmd = self.command(state, argv)?;
        let Some(input) = input else {
            return cmd
                .output()
                .context("cannot run ssh (is OpenSSH installed, or ORCH_SSH right?)");
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run ssh (is OpenSSH installed, or ORCH_SSH right?)")?;
        if let Some(mut pipe) = child.stdin.take() {
            use std::io::Write;
            // The command may end without reading it all: its exit status says how it went.
            let _ = pipe.write_all(input);
        }
        Ok(child.wait_with_output()?)
    }

    /// The `ssh` command that runs `argv` on the host (each word quoted for the remote
    /// shell), not started: for a caller that reads its output as it comes.
    pub fn command(&self, state: &Store, argv: &[&str]) -> Result<Command> {
        let remote: Vec<String> = argv.iter().map(|w| shell::quote(w)).collect();
        let mut cmd = self.ssh(state)?;
        cmd.arg("--").arg(&self.dest).arg(remote.join(" "));
        Ok(cmd)
    }

    /// Whether a shared connection is open now (`ssh -O check`).
    pub fn link(&self, state: &Store) -> Link {
        let checked = self.ssh(state).and_then(|mut cmd| {
            cmd.args(["-O", "check", "--", &self.dest])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(Into::into)
        });
        match checked {
            Ok(status) if status.success() => Link::Connected,
            _ => Link::Idle,
        }
    }

    /// Closes the shared connection, if one is open (`ssh -O exit`).
    pub fn disconnect(&self, state: &Store) {
        if let Ok(mut cmd) = self.ssh(state) {
            let _ = cmd
                .args(["-O", "exit", "--", &self.dest])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Records that orch reached the host now, and the remote orch version if known.
    pub fn remember(&self, state: &Store, orch: Option<&str>) -> Result<KnownHost> {
        let now = orch_store::clock::now_ms();
        let path = known_path(state, &self.dest);
        let old = read_known(&path);
        let record = KnownHost {
            dest: self.dest.clone(),
            added_ms: old.as_ref().map_or(now, |r| r.added_ms),
            seen_ms: now,
            orch: orch
                .map(str::to_string)
                .or_else(|| old.as_ref().and_then(|r| r.orch.clone())),
            ssh: orch_ssh().or_else(|| old.and_then(|r| r.ssh)),
        };
        orch_store::files::create_private_dir(&state.root.join("hosts"))?;
        let text = serde_json::to_string_pretty(&record)? + "\n";
        write_atomic(&path, text.as_bytes(), 0o600)?;
        Ok(record)
    }
}

/// `$ORCH_SSH` when set to something.
fn orch_ssh() -> Option<String> {
    std::env::var("ORCH_SSH")
        .ok()
        .filter(|v| !v.trim().is_empty())
}

/// Every host orch has reached, by destination.
pub fn known(state: &Store) -> Result<Vec<KnownHost>> {
    let dir = state.root.join("hosts");
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(err) => return Err(err).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            if let Some(record) = read_known(&path) {
                found.push(record);
            }
        }
    }
    found.sort_by(|a, b| a.dest.cmp(&b.dest));
    Ok(found)
}

/// `$ORCH_HOME/hosts/<dest>.json`, with `/` in the destination made `%`.
fn known_path(state: &Store, dest: &str) -> PathBuf {
    state
        .root
        .join("hosts")
        .join(format!("{}.json", dest.replace('/', "%")))
}

fn read_known(path: &std::path::Path) -> Option<KnownHost> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The version in `orch --version`'s answer (`orch 0.1.0` → `0.1.0`).
pub fn orch_version(answer: &str) -> Option<&str> {
    let mut words = answer.split_whitespace();
    (words.next()? == "orch").then(|| words.next()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_that_ssh_would_misread_are_refused() {
        assert!(Host::new("gpu-box").is_ok());
        assert!(Host::new("me@10.0.0.2").is_ok());
        for bad in ["", "-oProxyCommand=x", "a b", "a\nb"] {
            let err = Host::new(bad).unwrap_err().to_string();
            assert!(err.contains("no ssh destination"), "{err}");
        }
    }

    #[test]
    fn reads_orch_versions() {
        assert_eq!(orch_version("orch 0.1.0\n"), Some("0.1.0"));
        assert_eq!(orch_version("bash: orch: command not found"), None);
        assert_eq!(orch_version(""), None);
    }

    #[test]
    fn records_a_host_once_and_keeps_when_it_was_added() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        let host = Host::new("box").unwrap();
        let first = host.remember(&state, Some("0.1.0")).unwrap();
        let again = host.remember(&state, None).unwrap();
        assert_eq!(again.added_ms, first.added_ms);
        assert_eq!(again.orch.as_deref(), Some("0.1.0"));
        assert_eq!(known(&state).unwrap(), vec![again]);
    }
}
