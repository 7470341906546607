//! Hook registrations read from Claude Code settings (`settings.json` and `--settings`), and
//! running them the way Claude Code does: `/bin/sh -c <command>` with the payload on stdin, all
//! hooks of one event in parallel, each killed when its `timeout` runs out.
//!
//! The settings format is Claude Code's: `{"hooks": {"<Event>": [{"matcher": "...",
//! "hooks": [{"type": "command", "command": "...", "timeout": <seconds>}]}]}}`
//! (orch's `docs/observed.md`, 1.4 and 1.5).

use super::event::{Event, Session};
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a hook may run when its entry has no `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One registered command hook.
#[derive(Debug, Clone, PartialEq)]
pub struct Hook {
    /// The event name it is registered under, e.g. `Stop`.
    pub event: String,
    /// The group's `matcher`; `None`, `""` and `"*"` match everything.
    pub matcher: Option<String>,
    /// The shell command.
    pub command: String,
    /// When to kill it.
    pub timeout: Duration,
}

#[derive(Deserialize)]
struct Settings {
    #[serde(default)]
    hooks: BTreeMap<String, Vec<Group>>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    matcher: Option<String>,
    hooks: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    command: Option<String>,
    /// Seconds.
    #[serde(default)]
    timeout: Option<f64>,
}

/// The command hooks in one settings document. Entries of another `type` (e.g. `prompt`) are
/// skipped; a malformed document is an error as a whole, as Claude Code skips the whole file.
pub fn parse_settings(text: &str) -> Result<Vec<Hook>> {
    let settings: Settings = serde_json::from_str(text)?;
    let mut hooks = Vec::new();
    for (event, groups) in settings.hooks {
        for group in groups {
            for entry in group.hooks {
                let Some(command) = entry.command.filter(|_| entry.kind == "command") else {
                    continue;
                };
                let timeout = match entry.timeout {
                    Some(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
                    _ => DEFAULT_TIMEOUT,
                };
                hooks.push(Hook {
                    event: event.clone(),
                    matcher: group.matcher.clone(),
                    command,
                    timeout,
                });
            }
        }
    }
    Ok(hooks)
}

/// Reads the user's settings file: no file is no hooks.
pub fn load_file(path: &Path) -> Result<Vec<Hook>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read `{}`", path.display()));
        }
    };
    parse_settings(&text).with_context(|| format!("invalid settings in `{}`", path.display()))
}

/// Reads one `--settings` value: inline JSON when it starts with `{`, else a file that must
/// exist (like Claude Code's `--settings <file-or-json>`).
pub fn load_arg(arg: &str) -> Result<Vec<Hook>> {
    if arg.trim_start().starts_with('{') {
        return parse_settings(arg).context("invalid inline `--settings` JSON");
    }
    let text = std::fs::read_to_string(arg)
        .with_context(|| format!("cannot read `--settings` file `{arg}`"))?;
    parse_settings(&text).with_context(|| format!("invalid settings in `{arg}`"))
}

/// Whether a group's matcher selects an event whose matcher target is `target`. Missing, `""`
/// and `"*"` match all; events without a target (all but Notification) ignore matchers, as
/// Claude Code does for Stop; otherwise the matcher is a `|`-separated list of exact names.
pub fn matches(matcher: Option<&str>, target: Option<&str>) -> bool {
    match (matcher, target) {
        (None | Some("" | "*"), _) | (_, None) => true,
        (Some(matcher), Some(target)) => matcher.split('|').any(|alt| alt.trim() == target),
    }
}

/// How one hook run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The hook's command, as registered.
    pub command: String,
    /// The exit code; `None` when it was killed, timed out or did not start.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Killed because its timeout ran out.
    pub timed_out: bool,
    /// Why it could not be started, if it could not.
    pub spawn_error: Option<String>,
}

impl Outcome {
    /// A line for the screen when the hook failed without blocking anything, else `None`.
    pub fn problem(&self, event: &str) -> Option<String> {
        if let Some(err) = &self.spawn_error {
            return Some(format!(
                "{event} hook [{}] failed to start: {err}",
                self.command
            ));
        }
        if self.timed_out {
            return Some(format!(
                "{event} hook [{}] timed out and was killed",
                self.command
            ));
        }
        match self.code {
            Some(0) | Some(2) => None,
            Some(code) => Some(format!(
                "{event} hook error: Failed with non-blocking status code {code}: {}",
                self.stderr.trim()
            )),
            None => Some(format!("{event} hook [{}] was killed", self.command)),
        }
    }

    /// The reason this hook blocks the action, if it does: exit 2 (reason `[command]: stderr`,
    /// as Claude Code words it) or exit 0 with `{"decision": "block", "reason": R}` on stdout.
    pub fn block_reason(&self) -> Option<String> {
        match self.code {
            Some(2) => Some(format!("[{}]: {}", self.command, self.stderr.trim())),
            Some(0) => {
                let value: Value = serde_json::from_str(self.stdout.trim()).ok()?;
                if value.get("decision")?.as_str()? != "block" {
                    return None;
                }
                let reason = value.get("reason").and_then(Value::as_str).unwrap_or("");
                Some(reason.to_string())
            }
            _ => None,
        }
    }
}

/// The permission decision of PermissionRequest hooks that ended as `outcomes`, as Claude
/// Code's hooks reference documents it (`{"hookSpecificOutput": {"hookEventName":
/// "PermissionRequest", "decision": {"behavior": "allow"|"deny"}}}` on stdout, exit 0): any
/// deny wins, then an allow (true); `None` when none decided.
pub fn permission_decision(outcomes: &[Outcome]) -> Option<bool> {
    let decisions: Vec<bool> = outcomes
        .iter()
        .filter(|o| o.code == Some(0))
        .filter_map(|o| serde_json::from_str::<Value>(o.stdout.trim()).ok())
        .filter_map(|v| {
            match v
                .pointer("/hookSpecificOutput/decision/behavior")?
                .as_str()?
            {
                "allow" => Some(true),
                "deny" => Some(false),
                _ => None,
            }
        })
        .collect();
    if decisions.contains(&false) {
        Some(false)
    } else {
        decisions.first().copied()
    }
}

/// The reasons of every blocking outcome joined by newlines, or `None` when none blocks.
pub fn blocked(outcomes: &[Outcome]) -> Option<String> {
    let reasons: Vec<String> = outcomes.iter().filter_map(Outcome::block_reason).collect();
    if reasons.is_empty() {
        None
    } else {
        Some(reasons.join("\n"))
    }
}

/// Everything needed to fire hooks for one session.
#[derive(Debug, Clone)]
pub struct Runner {
    /// All registered hooks, from every settings source.
    pub hooks: Vec<Hook>,
    /// The session the payloads describe.
    pub session: Session,
    /// Variables added to the sim's own environment for hook processes.
    pub env: Vec<(String, String)>,
    /// Variables removed from it (the sim's own bookkeeping).
    pub env_remove: Vec<String>,
    /// The hooks' working directory.
    pub cwd: PathBuf,
}

impl Runner {
    /// Fires `event`: runs every matching hook in parallel, waits for all, returns how each
    /// ended in registration order.
    pub fn fire(&self, event: &Event) -> Vec<Outcome> {
        let name = event.name();
        let target = event.matcher_target();
        let selected: Vec<&Hook> = self
            .hooks
            .iter()
            .filter(|h| h.event == name && matches(h.matcher.as_deref(), target))
            .collect();
        if selected.is_empty() {
            return Vec::new();
        }
        let payload = event.payload(&self.session).to_string();
        std::thread::scope(|scope| {
            let handles: Vec<_> = selected
                .iter()
                .map(|hook| scope.spawn(|| self.run(hook, &payload)))
                .collect();
            handles
                .into_iter()
                .zip(&selected)
                .map(|(handle, hook)| {
                    handle.join().unwrap_or_else(|_| Outcome {
                        command: hook.command.clone(),
                        spawn_error: Some("the hook thread panicked".into()),
                        ..Outcome::default()
                    })
                })
                .collect()
        })
    }

    fn run(&self, hook: &Hook, payload: &str) -> Outcome {
        let mut outcome = Outcome {
            command: hook.command.clone(),
            ..Outcome::default()
        };
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(&hook.command);
        prepare(&mut cmd, &self.cwd, &self.env, &self.env_remove);
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => {
                outcome.spawn_error = Some(err.to_string());
                return outcome;
            }
        };
        if let Some(mut stdin) = child.stdin.take() {
            let payload = payload.to_string();
            // A hook that never reads its stdin must not block us: write from a thread, and
            // ignore a broken pipe.
            std::thread::spawn(move || {
                let _ = stdin.write_all(payload.as_bytes());
            });
        }
        let stdout = read_in_thread(child.stdout.take());
        let stderr = read_in_thread(child.stderr.take());
        let status = wait_with_timeout(child, hook.timeout);
        match status {
            Waited::Exited(status) => outcome.code = status.code(),
            Waited::TimedOut => outcome.timed_out = true,
            Waited::Failed(err) => outcome.spawn_error = Some(err),
        }
        // After an exit or a kill the pipes close soon; a leftover grandchild that escaped the
        // process group could hold them open, so never wait long.
        let grace = Duration::from_millis(500);
        outcome.stdout = stdout.recv_timeout(grace).unwrap_or_default();
        outcome.stderr = stderr.recv_timeout(grace).unwrap_or_default();
        outcome
    }
}

/// Sets what every child the sim starts shares: cwd, environment, and its own process group,
/// so that killing it on timeout or Escape also kills what it started.
pub fn prepare(cmd: &mut Command, cwd: &Path, env: &[(String, String)], remove: &[String]) {
    cmd.current_dir(cwd).process_group(0);
    for key in remove {
        cmd.env_remove(key);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
}

/// Reads a pipe to its end on a thread; the text arrives on the returned channel.
pub fn read_in_thread<R: Read + Send + 'static>(pipe: Option<R>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = tx.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    rx
}

/// How waiting for a child ended.
pub enum Waited {
    Exited(ExitStatus),
    TimedOut,
    Failed(String),
}

/// Waits for `child` at most `timeout`; on timeout kills its process group and reaps it.
pub fn wait_with_timeout(child: std::process::Child, timeout: Duration) -> Waited {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    let mut child = child;
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(status)) => Waited::Exited(status),
        Ok(Err(err)) => Waited::Failed(err.to_string()),
        Err(_) => {
            kill_group(pid);
            let _ = rx.recv_timeout(Duration::from_secs(2));
            Waited::TimedOut
        }
    }
}

/// Sends SIGKILL to the process group `pgid` (a child started with [`prepare`]). No libc in
/// this crate, so it goes through the shell's `kill` builtin.
pub fn kill_group(pgid: u32) {
    let _ = Command::new("/bin/sh")
        .args(["-c", "kill -s KILL -- \"-$1\" 2>/dev/null", "sh"])
        .arg(pgid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn runner(hooks: Vec<Hook>, dir: &Path) -> Runner {
        Runner {
            hooks,
            session: Session {
                id: "sid-1".into(),
                transcript_path: "/t.jsonl".into(),
                cwd: dir.display().to_string(),
                model: "sim".into(),
            },
            env: vec![("CLAUDE_CODE_SESSION_ID".into(), "sid-1".into())],
            env_remove: vec![],
            cwd: dir.to_path_buf(),
        }
    }

    fn hook(event: &str, command: &str) -> Hook {
        Hook {
            event: event.into(),
            matcher: None,
            command: command.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn parses_claude_settings() {
        let hooks = parse_settings(
            r#"{"model": "x", "hooks": {
                "Stop": [{"hooks": [{"type": "command", "command": "a", "timeout": 2}]}],
                "Notification": [{"matcher": "idle_prompt|permission_prompt",
                                  "hooks": [{"type": "command", "command": "b"},
                                            {"type": "prompt", "prompt": "ignored"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(
            hooks,
            vec![
                Hook {
                    event: "Notification".into(),
                    matcher: Some("idle_prompt|permission_prompt".into()),
                    command: "b".into(),
                    timeout: DEFAULT_TIMEOUT,
                },
                Hook {
                    event: "Stop".into(),
                    matcher: None,
                    command: "a".into(),
                    timeout: Duration::from_secs(2),
                },
            ]
        );
    }

    #[test]
    fn settings_without_hooks_are_fine() {
        assert!(parse_settings("{}").unwrap().is_empty());
        assert!(parse_settings(r#"{"hooks": {}}"#).unwrap().is_empty());
    }

    #[test]
    fn flat_hook_list_is_invalid() {
        let err = parse_settings(r#"{"hooks": {"Stop": [{"type": "command", "command": "x"}]}}"#)
            .unwrap_err();
        assert!(err.to_string().contains("hooks"), "{err}");
        assert!(parse_settings("{not json").is_err());
    }

    #[test]
    fn missing_user_file_is_no_hooks() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_file(&dir.path().join("nope.json")).unwrap().is_empty());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{").unwrap();
        let err = format!("{:#}", load_file(&bad).unwrap_err());
        assert!(err.contains("bad.json"), "{err}");
    }

    #[test]
    fn settings_arg_is_inline_json_or_a_file() {
        let inline = r#" {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "x"}]}]}}"#;
        assert_eq!(load_arg(inline).unwrap().len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.json");
        std::fs::write(&file, inline).unwrap();
        assert_eq!(load_arg(file.to_str().unwrap()).unwrap().len(), 1);
        assert!(load_arg("/does/not/exist.json").is_err());
    }

    #[test]
    fn matchers() {
        assert!(matches(None, Some("idle_prompt")));
        assert!(matches(Some(""), Some("idle_prompt")));
        assert!(matches(Some("*"), Some("idle_prompt")));
        assert!(matches(
            Some("idle_prompt|permission_prompt"),
            Some("permission_prompt")
        ));
        assert!(!matches(Some("idle_prompt"), Some("permission_prompt")));
        assert!(!matches(Some("idle"), Some("idle_prompt")));
        // Stop and the others ignore matchers.
        assert!(matches(Some("nomatch"), None));
    }

    #[test]
    fn block_reasons() {
        let json = Outcome {
            command: "c".into(),
            code: Some(0),
            stdout: r#"{"decision":"block","reason":"more"}"#.into(),
            ..Outcome::default()
        };
        assert_eq!(json.block_reason().as_deref(), Some("more"));
        let exit2 = Outcome {
            command: "c".into(),
            code: Some(2),
            stderr: "go on\n".into(),
            ..Outcome::default()
        };
        assert_eq!(exit2.block_reason().as_deref(), Some("[c]: go on"));
        let fine = Outcome {
            code: Some(0),
            stdout: "not json".into(),
            ..Outcome::default()
        };
        assert_eq!(fine.block_reason(), None);
        let approve = Outcome {
            code: Some(0),
            stdout: r#"{"decision":"approve"}"#.into(),
            ..Outcome::default()
        };
        assert_eq!(approve.block_reason(), None);
        let exit1 = Outcome {
            code: Some(1),
            stdout: r#"{"decision":"block","reason":"no"}"#.into(),
            stderr: "oops".into(),
            ..Outcome::default()
        };
        assert_eq!(exit1.block_reason(), None);
        assert!(exit1.problem("Stop").unwrap().contains("oops"));
        assert_eq!(
            blocked(&[fine, json, exit2]).as_deref(),
            Some("more\n[c]: go on")
        );
    }

    #[test]
    fn fire_passes_payload_env_and_cwd() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let cmd = format!(
            "{{ cat; echo; echo \"$CLAUDE_CODE_SESSION_ID\"; pwd; }} > '{}'",
            out.display()
        );
        let runner = runner(
            vec![hook("SessionStart", &cmd), hook("Stop", "exit 9")],
            dir.path(),
        );
        let outcomes = runner.fire(&Event::SessionStart);
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].code, Some(0));
        let text = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let payload: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(payload["hook_event_name"], "SessionStart");
        assert_eq!(lines[1], "sid-1");
        let cwd = dir.path().canonicalize().unwrap();
        assert_eq!(Path::new(lines[2]).canonicalize().unwrap(), cwd);
    }

    #[test]
    fn hooks_of_one_event_run_in_parallel() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = (0..3).map(|_| hook("Stop", "sleep 0.5")).collect();
        let runner = runner(hooks, dir.path());
        let start = Instant::now();
        let outcomes = runner.fire(&Event::Stop {
            prompt_id: "p".into(),
            stop_hook_active: false,
            last_assistant_message: "m".into(),
        });
        assert_eq!(outcomes.len(), 3);
        assert!(start.elapsed() < Duration::from_millis(1400));
    }

    #[test]
    fn timeout_kills_the_hook_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let mut slow = hook("SessionStart", "sleep 30; echo late");
        slow.timeout = Duration::from_millis(300);
        let runner = runner(vec![slow], dir.path());
        let start = Instant::now();
        let outcomes = runner.fire(&Event::SessionStart);
        assert!(outcomes[0].timed_out);
        assert_eq!(outcomes[0].stdout, "");
        // Regression: a kill that missed the group left `sleep` holding the pipes (3.3 s).
        assert!(start.elapsed() < Duration::from_millis(2500));
    }

    #[test]
    fn hook_that_ignores_stdin_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let runner = runner(vec![hook("UserPromptSubmit", "echo ok")], dir.path());
        let outcomes = runner.fire(&Event::UserPromptSubmit {
            prompt_id: "p".into(),
            prompt: "x".repeat(1 << 20),
        });
        assert_eq!(outcomes[0].code, Some(0));
        assert_eq!(outcomes[0].stdout, "ok\n");
    }

    #[test]
    fn notification_matcher_selects_hooks() {
        let dir = tempfile::tempdir().unwrap();
        let mut only_idle = hook("Notification", "echo idle");
        only_idle.matcher = Some("idle_prompt".into());
        let runner = runner(
            vec![only_idle, hook("Notification", "echo all")],
            dir.path(),
        );
        let outcomes = runner.fire(&Event::Notification {
            prompt_id: None,
            message: "m".into(),
            notification_type: "permission_prompt".into(),
        });
        assert_eq!(outcomes.len(), 1);
        assert_eq!(outcomes[0].stdout, "all\n");
    }
}
