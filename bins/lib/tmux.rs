//! The one place that runs tmux: `tmux [-L name | -S path] ARGS` with argv (never a shell),
//! tmux's own stderr in every error.

use anyhow::{anyhow, bail, Context, Result};
pub use orch_store::TmuxServer;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The pane a command runs in, from `$TMUX` (`<socket path>,<pid>,<session>`) and `$TMUX_PANE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub socket_path: String,
    /// The server's pid, from `$TMUX`: with the socket path it names one server's life.
    pub server_pid: Option<String>,
    pub pane: String,
}

impl Caller {
    /// The caller's pane, when this process runs inside tmux.
    pub fn from_env() -> Option<Caller> {
        let tmux = std::env::var("TMUX").ok().filter(|v| !v.is_empty())?;
        let pane = std::env::var("TMUX_PANE").ok().filter(|v| !v.is_empty())?;
        Some(Caller {
            socket_path: socket_of(&tmux)?.to_string(),
            server_pid: server_pid_of(&tmux).map(str::to_string),
            pane,
        })
    }
}

/// The socket path in a `$TMUX` value (`/tmp/tmux-0/default,1234,0` → `/tmp/tmux-0/default`).
pub fn socket_of(tmux_env: &str) -> Option<&str> {
    let path = tmux_env.rsplitn(3, ',').nth(2)?;
    (!path.is_empty()).then_some(path)
}

/// The server pid in a `$TMUX` value (`/tmp/tmux-0/default,1234,0` → `1234`).
pub fn server_pid_of(tmux_env: &str) -> Option<&str> {
    let pid = tmux_env.rsplit(',').nth(1)?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(pid)
}

/// What orch does with a tmux server ([`TmuxServer`], as a worker's record keeps it): every tmux
/// call goes through here, with argv (never a shell) and tmux's own stderr in every error.
pub trait Tmux {
    /// The server every command uses: `-L $ORCH_TMUX_SOCKET` if set, else the server of
    /// `$TMUX` (by its socket path), else the default server.
    fn from_env() -> TmuxServer;

    /// A `tmux` command aimed at this server, with `TMUX` removed from its environment. `-u`:
    /// without a UTF-8 locale (`LANG` unset, as under cron or a cleared environment) tmux
    /// prints a tab in a format as `_` and every non-ASCII character of a captured screen
    /// (Claude Code's `❯` and `─`) as `_`.
    fn command(&self) -> Command;

    /// How a person attaches to this server: `tmux`, `tmux -L name` or `tmux -S path`.
    fn describe(&self) -> String;

    /// Runs tmux with `args`; returns stdout. Errors carry tmux's stderr.
    fn run(&self, args: &[&str]) -> Result<String>;

    /// Runs tmux with `args`, writing `input` to its stdin (e.g. `load-buffer -`).
    fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<String>;

    /// The server's socket path (`#{socket_path}`), asked of the running server.
    fn socket_path(&self) -> Result<String>;

    /// The `@orch_id` option of `pane` (empty when unset), or `None` when there is no such
    /// pane (or no server). A pane id alone names no pane for good: a new server after a
    /// crash hands out `%0`, `%1`... again.
    fn pane_tag(&self, pane: &str) -> Option<String>;

    /// Every pane on this server with its `@orch_id` option (empty when unset); empty when no
    /// server runs.
    fn live_panes(&self) -> HashMap<String, String>;

    /// Whether a session of that name exists.
    fn has_session(&self, name: &str) -> bool;

    /// The visible text of a pane.
    fn capture(&self, pane: &str) -> Result<String>;

    /// Kills the server, and removes its socket file (`kill-server` leaves it behind in tmux's
    /// folder). Nothing to do when no server runs.
    fn kill_server(&self);

    /// The pid of the process tmux started in `pane` (`#{pane_pid}`), if the pane exists.
    fn pane_pid(&self, pane: &str) -> Option<u32>;

    /// Kills a pane.
    fn kill_pane(&self, pane: &str) -> Result<()>;

    /// Starts `command` (argv) in `cwd` in place of whatever runs in `pane` (killed first); the
    /// pane keeps its id and options.
    fn respawn(&self, pane: &str, cwd: &Path, command: &[String]) -> Result<()>;

    /// Opens a pane in `cwd` running `command` (argv): a split of the caller's window when the
    /// caller is in a pane of this server (a new window beside it when the window has no room),
    /// else a window in the detached session `orch` (created when missing, 200x50).
    fn place(&self, cwd: &Path, command: &[String]) -> Result<Placed>;

    /// Sets pane options (`@orch_id`...) on `pane` and its title.
    fn tag_pane(&self, pane: &str, options: &[(&str, &str)], title: &str) -> Result<()>;
}

impl Tmux for TmuxServer {
    fn from_env() -> TmuxServer {
        if let Some(name) = std::env::var("ORCH_TMUX_SOCKET")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return TmuxServer {
                socket_name: Some(name),
                socket_path: None,
            };
        }
        let path = std::env::var("TMUX")
            .ok()
            .and_then(|t| socket_of(&t).map(str::to_string));
        TmuxServer {
            socket_name: None,
            socket_path: path,
        }
    }

    fn command(&self) -> Command {
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

    fn describe(&self) -> String {
        match (&self.socket_path, &self.socket_name) {
            (Some(path), _) => format!("tmux -S {path}"),
            (None, Some(name)) => format!("tmux -L {name}"),
            (None, None) => "tmux".into(),
        }
    }

    fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with_input(args, None)
    }

    fn run_with_input(&self, args: &[&str], input: Option<&[u8]>) -> Result<String> {
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

    fn socket_path(&self) -> Result<String> {
        Ok(self
            .run(&["display-message", "-p", "#{socket_path}"])?
            .trim()
            .to_string())
    }

    fn pane_tag(&self, pane: &str) -> Option<String> {
        let out = self
            .run(&[
                "display-message",
                "-p",
                "-t",
                pane,
                "#{pane_id}\t#{@orch_id}",
            ])
            .ok()?;
        let (id, tag) = out.trim_end_matches('\n').split_once('\t')?;
        (id == pane).then(|| tag.to_string())
    }

    fn live_panes(&self) -> HashMap<String, String> {
        self.run(&["list-panes", "-a", "-F", "#{pane_id}\t#{@orch_id}"])
            .map(|out| {
                out.lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(p, t)| (p.to_string(), t.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn has_session(&self, name: &str) -> bool {
        self.run(&["has-session", "-t", &format!("={name}")])
            .is_ok()
    }

    fn capture(&self, pane: &str) -> Result<String> {
        self.run(&["capture-pane", "-p", "-t", pane])
    }

    fn kill_server(&self) {
        let socket = self.socket_path().ok();
        let _ = self.run(&["kill-server"]);
        if let Some(path) = socket.filter(|p| !p.is_empty()) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn pane_pid(&self, pane: &str) -> Option<u32> {
        self.run(&["display-message", "-p", "-t", pane, "#{pane_pid}"])
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn kill_pane(&self, pane: &str) -> Result<()> {
        self.run(&["kill-pane", "-t", pane]).map(|_| ())
    }

    fn respawn(&self, pane: &str, cwd: &Path, command: &[String]) -> Result<()> {
        let cwd = cwd.display().to_string();
        let mut args = vec!["respawn-pane", "-k", "-t", pane, "-c", &cwd];
        args.extend(command.iter().map(String::as_str));
        self.run(&args).map(|_| ())
    }

    fn place(&self, cwd: &Path, command: &[String]) -> Result<Placed> {
        let cwd = cwd.display().to_string();
        let caller = Caller::from_env().filter(|c| {
            self.socket_path.as_deref() == Some(c.socket_path.as_str())
                || self.socket_path().ok().as_deref() == Some(c.socket_path.as_str())
        });
        let launch = |head: &[&str]| -> Result<Placed> {
            let mut args: Vec<&str> = head.to_vec();
            args.extend(["-P", "-F", PLACED_FORMAT, "-c", &cwd]);
            args.extend(command.iter().map(String::as_str));
            let out = self.run(&args)?;
            Placed::parse(&out)
        };
        if let Some(caller) = caller {
            return launch(&["split-window", "-d", "-t", &caller.pane]).or_else(|err| {
                if format!("{err:#}").contains("no space") {
                    launch(&["new-window", "-d", "-a", "-t", &caller.pane])
                } else {
                    Err(err)
                }
            });
        }
        if !self.has_session("orch") {
            match launch(&["new-session", "-d", "-s", "orch", "-x", "200", "-y", "50"]) {
                Ok(placed) => return Ok(placed),
                Err(err) if format!("{err:#}").contains("duplicate session") => {}
                Err(err) => return Err(err),
            }
        }
        launch(&["new-window", "-d", "-t", "orch:"])
    }

    fn tag_pane(&self, pane: &str, options: &[(&str, &str)], title: &str) -> Result<()> {
        for (option, value) in options {
            self.run(&["set-option", "-p", "-t", pane, option, value])?;
        }
        let _ = self.run(&["select-pane", "-t", pane, "-T", title]);
        Ok(())
    }
}

/// Where a new pane went: tmux's answer to [`TmuxServer::place`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub pane: String,
    pub session: String,
    pub window: String,
    pub socket_path: String,
    /// The server's pid (tmux's `#{pid}`).
    pub server_pid: String,
    /// The pid of the process started in the pane (`#{pane_pid}`).
    pub pane_pid: Option<u32>,
}

const PLACED_FORMAT: &str =
    "#{pane_id}\t#{session_name}\t#{window_id}\t#{socket_path}\t#{pid}\t#{pane_pid}";

impl Placed {
    fn parse(out: &str) -> Result<Placed> {
        let mut parts = out.trim_end_matches('\n').split('\t');
        let mut next = || parts.next().map(str::to_string).filter(|s| !s.is_empty());
        match (next(), next(), next(), next(), next()) {
            (Some(pane), Some(session), Some(window), Some(socket_path), Some(server_pid)) => {
                Ok(Placed {
                    pane,
                    session,
                    window,
                    socket_path,
                    server_pid,
                    pane_pid: next().and_then(|pid| pid.parse().ok()),
                })
            }
            _ => bail!(
                "cannot read the new pane from tmux's answer `{}`",
                out.trim()
            ),
        }
    }
}

/// The oldest tmux orch works with, as (major, minor).
pub const MIN_VERSION: (u32, u32) = (3, 0);

/// Checks that `tmux -V` reports tmux 3.0 or newer ([`MIN_VERSION`]); returns what it printed
/// (`tmux 3.3a`).
///
/// Errors: tmux is missing, fails, prints a version orch cannot read, or is too old; each
/// message says to install tmux 3.0 or newer.
pub fn check_version() -> Result<String> {
    let out = match Command::new("tmux").arg("-V").output() {
        Ok(out) => out,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => bail!(
            "`tmux` is not installed or not on PATH: install tmux 3.0 or newer \
             (`apt install tmux`, `dnf install tmux`, `brew install tmux`)"
        ),
        Err(err) => return Err(err).context("cannot run `tmux -V`"),
    };
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        bail!(
            "`tmux -V` failed: {}: install tmux 3.0 or newer",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let version = parse_version(&text).ok_or_else(|| {
        anyhow!(
            "cannot read the version in `{text}` (from `tmux -V`): orch needs tmux 3.0 or newer"
        )
    })?;
    if version < MIN_VERSION {
        bail!("`{text}` is too old: orch needs tmux 3.0 or newer, install a newer tmux");
    }
    Ok(text)
}

/// The (major, minor) version in the output of `tmux -V`: `tmux 3.3a` is (3, 3), `tmux 3.0` is
/// (3, 0), `tmux next-3.6` is (3, 6), `tmux 3.4-rc` is (3, 4). `tmux master` (a build from the
/// development branch) counts as newer than any release: `(u32::MAX, u32::MAX)`. Other
/// prefixes before a `-` are skipped the same way as `next-`. `None` when there is no version.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let version = text.trim().strip_prefix("tmux ")?.trim();
    if version == "master" {
        return Some((u32::MAX, u32::MAX));
    }
    let number = version
        .split('-')
        .find(|part| part.starts_with(|c: char| c.is_ascii_digit()))?;
    let (major, rest) = number.split_once('.').unwrap_or((number, ""));
    let major = major.parse().ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major, digits.parse().unwrap_or(0)))
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
        assert_eq!(server_pid_of("/tmp/a,b/sock,1234,2"), Some("1234"));
        assert_eq!(server_pid_of("/tmp/sock,,2"), None);
        assert_eq!(server_pid_of("garbage"), None);
    }

    #[test]
    fn reads_tmux_versions() {
        assert_eq!(parse_version("tmux 3.3a\n"), Some((3, 3)));
        assert_eq!(parse_version("tmux 3.0"), Some((3, 0)));
        assert_eq!(parse_version("tmux 2.9a"), Some((2, 9)));
        assert_eq!(parse_version("tmux next-3.6"), Some((3, 6)));
        assert_eq!(parse_version("tmux 3.4-rc"), Some((3, 4)));
        assert_eq!(parse_version("tmux 10.1"), Some((10, 1)));
        assert!(parse_version("tmux master").unwrap() >= MIN_VERSION);
        assert!(parse_version("tmux 2.9a").unwrap() < MIN_VERSION);
        assert!(parse_version("tmux 3.0a").unwrap() >= MIN_VERSION);
        assert_eq!(parse_version("tmux"), None);
        assert_eq!(parse_version("screen 4.0"), None);
        assert_eq!(parse_version("tmux abc"), None);
    }

    #[test]
    fn placed_parses_tmux_answer() {
        let p = Placed::parse("%4\torch\t@2\t/tmp/tmux-0/x\t77\n").unwrap();
        assert_eq!((p.pane.as_str(), p.window.as_str()), ("%4", "@2"));
        assert_eq!(p.server_pid, "77");
        assert!(Placed::parse("junk").is_err());
    }
}
