//! The `command` harness: any program in a pane (a shell, a REPL, an agent CLI orch has no
//! adapter for). It fires no hooks, so orch reads its turns off the pane. At spawn, tmux pipes
//! the pane's output (`pipe-pane -O`) into `orch __detect WORKER` ([`serve`]), a child of the
//! tmux server that lives exactly as long as the pane (tmux closes the pipe when the pane goes)
//! and records the events a hook would, so `listen`, `subscribe`, `tell`'s acknowledgement and
//! `ps` work as for any harness:
//!
//! - `session_start` once the program's first screen has settled;
//! - `prompt`, with the hash of the prompt `tell` is submitting ([`mark_pending`]), on the first
//!   output after tell pressed Enter;
//! - `stop` when the screen settles again, with the turn's output as `last_assistant_message`;
//! - `session_end` (reason `exit`) when the pane closes on its own.
//!
//! A screen has settled when no output came for the detector's quiet time, or when output kept
//! coming but left the screen's text unchanged for that long (a redraw of the same thing); with
//! a prompt regex, its last non-empty line must also match it.

use crate::events::fields;
use crate::state::State;
use crate::tmux::Server;
use crate::worker::Worker;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The quiet time used when neither `--quiet` nor the outfit gives one, in milliseconds.
pub const DEFAULT_QUIET_MS: u64 = 1500;

/// The longest reply kept in a `stop` event, in characters (the end is kept).
const MAX_REPLY: usize = 8000;

/// How a `command` worker's turn end is detected; kept in its `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detector {
    /// Milliseconds the screen must stay unchanged for a turn to end.
    pub quiet_ms: u64,
    /// A regular expression (regex-lite syntax) the last non-empty line of the screen must
    /// match for a turn to end: the program's own prompt, e.g. `^>>> $` for Python (see
    /// [`Detector::at_prompt`] on trailing spaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector {
            quiet_ms: DEFAULT_QUIET_MS,
            prompt: None,
        }
    }
}

impl Detector {
    /// A detector from a quiet time in seconds (default [`DEFAULT_QUIET_MS`]) and a prompt
    /// regex. Errors: a quiet time outside 0.05-3600 s, or a regex that does not compile (the
    /// message names the flag or field `what`).
    pub fn new(quiet_secs: Option<f64>, prompt: Option<String>, what: &str) -> Result<Detector> {
        let quiet_ms = match quiet_secs {
            None => DEFAULT_QUIET_MS,
            Some(secs) if (0.05..=3600.0).contains(&secs) => (secs * 1000.0).round() as u64,
            Some(secs) => {
                bail!("{what}: quiet time {secs} s is out of range: give 0.05 to 3600 seconds")
            }
        };
        if let Some(re) = &prompt {
            regex_lite::Regex::new(re)
                .with_context(|| format!("{what}: prompt regex `{re}` does not compile"))?;
        }
        Ok(Detector { quiet_ms, prompt })
    }

    /// The short name `orch ps` shows: `quiet`, or `quiet+prompt` with a prompt regex.
    pub fn kind(&self) -> &'static str {
        if self.prompt.is_some() {
            "quiet+prompt"
        } else {
            "quiet"
        }
    }

    /// In words: `quiet 1.5 s`, `quiet 1.5 s and prompt /^>>> $/`.
    pub fn describe(&self) -> String {
        let quiet = format!("quiet {} s", self.quiet_ms as f64 / 1000.0);
        match &self.prompt {
            Some(re) => format!("{quiet} and prompt /{re}/"),
            None => quiet,
        }
    }

    fn quiet(&self) -> Duration {
        Duration::from_millis(self.quiet_ms)
    }

    /// Whether `screen` shows the program's prompt: always without a prompt regex, else when
    /// its last non-empty line matches. tmux drops a line's trailing spaces when it captures
    /// it, so the line is tried as captured and with one space after it: `^>>> $` matches
    /// Python's `>>> ` prompt.
    pub fn at_prompt(&self, screen: &str) -> bool {
        if self.prompt.is_none() {
            return true;
        }
        last_line(screen).is_some_and(|line| self.prompt_at(line).is_some())
    }

    /// Where the prompt starts in `line` (a byte offset), when the prompt regex matches it as
    /// [`Detector::at_prompt`] says.
    fn prompt_at(&self, line: &str) -> Option<usize> {
        let re = regex_lite::Regex::new(self.prompt.as_deref()?).ok()?;
        let line = line.trim_end();
        if let Some(found) = re.find(line) {
            return Some(found.start());
        }
        let spaced = format!("{line} ");
        re.find(&spaced).map(|found| found.start().min(line.len()))
    }
}

/// The last line of `screen` with something on it.
fn last_line(screen: &str) -> Option<&str> {
    screen.lines().rev().find(|l| !l.trim().is_empty())
}

/// A prompt `tell` is about to submit to a command worker: `workers/<id>/pending.json`, taken
/// by the detector with the first output that follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// [`crate::prompt::hash`] of the text.
    pub prompt_hash: String,
    /// Its length in characters.
    pub prompt_len: usize,
    /// The line the cursor was on when Enter was pressed, counted from the top of the pane's
    /// history (`#{history_size}` + `#{cursor_y}`): the turn's output starts below it.
    #[serde(default)]
    pub line: Option<i64>,
}

fn pending_path(dir: &Path) -> PathBuf {
    dir.join("pending.json")
}

/// Records that `text` is about to be submitted to the command worker (call it after the
/// paste, right before Enter). Errors: the state folder cannot be written.
pub fn mark_pending(worker: &Worker, text: &str) -> Result<()> {
    let server = &worker.meta.server;
    let pane = worker.pane()?;
    let line = server
        .run(&[
            "display-message",
            "-p",
            "-t",
            pane,
            "#{history_size} #{cursor_y}",
        ])
        .ok()
        .and_then(|out| {
            let mut parts = out.split_whitespace().map(|p| p.parse::<i64>().ok());
            Some(parts.next()?? + parts.next()??)
        });
    let pending = Pending {
        prompt_hash: crate::prompt::hash(text),
        prompt_len: text.chars().count(),
        line,
    };
    crate::fsutil::write_json(&pending_path(&worker.dir()), &pending)
}

/// Takes the pending prompt, if there is one.
fn take_pending(dir: &Path) -> Option<Pending> {
    let path = pending_path(dir);
    let text = std::fs::read_to_string(&path).ok()?;
    let _ = std::fs::remove_file(&path);
    serde_json::from_str(&text).ok()
}

/// Starts the detector of the command worker `id` on its pane: `tmux pipe-pane -O` with
/// `orch __detect` (tmux runs it with its own environment, so the state folder is passed in
/// `ORCH_HOME`). Errors: the orch executable is not found, or tmux refuses.
pub fn start(server: &Server, pane: &str, state_root: &Path, id: &str) -> Result<()> {
    use crate::claude::settings::shell_quote;
    let orch = crate::paths::sibling_exe("orch")?;
    let line = format!(
        "exec env ORCH_HOME={} {} __detect {}",
        shell_quote(&state_root.display().to_string()),
        shell_quote(&orch.display().to_string()),
        shell_quote(id)
    );
    server
        .run(&["pipe-pane", "-O", "-t", pane, &line])
        .with_context(|| format!("cannot start the quiet detector on pane {pane}"))?;
    Ok(())
}

/// Where the worker is, as the detector sees it.
enum Phase {
    /// Before its first settled screen.
    Starting,
    /// Settled; waiting for a prompt.
    Idle,
    /// In a turn whose output starts below `line` (of the history, see [`Pending::line`]).
    Busy { line: Option<i64> },
}

/// `orch __detect WORKER`: reads the pane's output on stdin until it closes and records the
/// worker's events (see the module's description). Errors: no such worker or no pane.
pub fn serve(id: &str) -> Result<()> {
    let state = State::from_env()?;
    let meta = state.meta(id)?;
    let detector = meta.detector.clone().unwrap_or_default();
    let worker = Worker { state, meta };
    let pane = worker.pane()?.to_string();
    let dir = worker.dir();
    let quiet = detector.quiet();

    // Output arrives on a thread so that silence can be timed: `true` per chunk, `false` at
    // the end.
    let (tx, rx) = mpsc::channel::<bool>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => {
                    let _ = tx.send(false);
                    return;
                }
                Ok(_) => {
                    if tx.send(true).is_err() {
                        return;
                    }
                }
            }
        }
    });

    let mut phase = Phase::Starting;
    // The program may have drawn its first screen before the pipe was attached: starting
    // counts as output.
    let mut dirty = true;
    let mut last_output = Instant::now();
    // The screen's hash and since when it has been that, sampled while output keeps coming.
    let mut sample: Option<(u64, Instant)> = None;
    let mut next_sample = Instant::now() + quiet / 2;
    loop {
        let received = if dirty {
            let left = quiet.saturating_sub(last_output.elapsed());
            let left = left.min(next_sample.saturating_duration_since(Instant::now()));
            rx.recv_timeout(left)
        } else {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        };
        let now = Instant::now();
        match received {
            Ok(true) => {
                last_output = now;
                if let Phase::Idle = phase {
                    if let Some(pending) = take_pending(&dir) {
                        worker.record(
                            "prompt",
                            fields(json!({
                                "prompt_hash": pending.prompt_hash,
                                "prompt_len": pending.prompt_len,
                            })),
                        )?;
                        phase = Phase::Busy { line: pending.line };
                        sample = None;
                        next_sample = now + quiet / 2;
                    }
                }
                dirty = !matches!(phase, Phase::Idle);
                if !dirty || now < next_sample {
                    continue;
                }
            }
            Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return exited(&worker);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        // A check: silent for the quiet time, or time to sample the screen.
        next_sample = now + quiet / 2;
        let Ok(screen) = worker.meta.server.capture(&pane) else {
            continue;
        };
        let hash = hash_of(&screen);
        let since = match sample {
            Some((h, since)) if h == hash => since,
            _ => now,
        };
        sample = Some((hash, since));
        let settled = last_output.elapsed() >= quiet || now.duration_since(since) >= quiet;
        if !settled {
            continue;
        }
        // Judged on this settled screen; the next check waits for new output.
        dirty = false;
        if !detector.at_prompt(&screen) {
            continue;
        }
        match phase {
            Phase::Starting => {
                worker.record(
                    "session_start",
                    fields(json!({"source": "startup", "detector": detector.describe()})),
                )?;
                phase = Phase::Idle;
            }
            Phase::Busy { line } => {
                let reply = turn_output(&worker.meta.server, &pane, line, &detector)
                    .unwrap_or_else(|_| screen.trim_end().to_string());
                worker.record(
                    "stop",
                    fields(json!({
                        "last_assistant_message": reply,
                        "detector": detector.kind(),
                    })),
                )?;
                phase = Phase::Idle;
            }
            Phase::Idle => {}
        }
    }
}

/// Records `session_end` (reason `exit`) when the pane closed on its own (not after `orch
/// kill` or a session end already recorded). A pipe closed on a pane that lives on (someone
/// ran `tmux pipe-pane` on it) records nothing: the detector is gone, the worker is not.
fn exited(worker: &Worker) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(1);
    while worker.alive() {
        if Instant::now() >= deadline {
            bail!(
                "its output pipe closed while pane {} lives on (another `tmux pipe-pane` on \
                 it?): its turns are no longer detected",
                worker.meta.pane.as_deref().unwrap_or("?")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let tail = crate::events::read_back_to(&worker.dir(), |_| true)?;
    let last = tail.last().and_then(|e| e["event"].as_str()).unwrap_or("");
    if last != "killed" && last != "session_end" {
        worker.record("session_end", fields(json!({"reason": "exit"})))?;
    }
    Ok(())
}

fn hash_of(screen: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    screen.hash(&mut hasher);
    hasher.finish()
}

/// The output of the turn that started below history line `line`: the pane's lines from the
/// next one to the end, wrapped lines joined, without the trailing prompt line (when a prompt
/// regex says which it is), cut to the last [`MAX_REPLY`] characters.
fn turn_output(
    server: &Server,
    pane: &str,
    line: Option<i64>,
    detector: &Detector,
) -> Result<String> {
    let start = match line {
        Some(line) => {
            let history: i64 = server
                .run(&["display-message", "-p", "-t", pane, "#{history_size}"])?
                .trim()
                .parse()
                .context("tmux gave no history size")?;
            line - history + 1
        }
        None => 0,
    };
    let text = server.run(&[
        "capture-pane",
        "-p",
        "-J",
        "-t",
        pane,
        "-S",
        &start.to_string(),
        "-E",
        "-",
    ])?;
    Ok(reply_of(&text, detector))
}

/// The reply in captured `text`: trailing blank lines and, with a prompt regex, the prompt
/// dropped (what came before it on its line, output without a final newline, stays); the last
/// [`MAX_REPLY`] characters.
fn reply_of(text: &str, detector: &Detector) -> String {
    let mut lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if let Some(last) = lines.pop() {
        match detector.prompt_at(last) {
            Some(0) => {}
            Some(start) => lines.push(&last[..start]),
            None => lines.push(last),
        }
    }
    let reply = lines.join("\n");
    let count = reply.chars().count();
    if count <= MAX_REPLY {
        return reply;
    }
    reply.chars().skip(count - MAX_REPLY).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_checks_its_settings() {
        let d = Detector::new(None, None, "--quiet").unwrap();
        assert_eq!((d.quiet_ms, d.kind()), (DEFAULT_QUIET_MS, "quiet"));
        let d = Detector::new(Some(0.3), Some(r"^>>> $".into()), "--quiet").unwrap();
        assert_eq!((d.quiet_ms, d.kind()), (300, "quiet+prompt"));
        assert_eq!(d.describe(), "quiet 0.3 s and prompt /^>>> $/");
        let err = Detector::new(Some(0.0), None, "--quiet").unwrap_err();
        assert!(format!("{err:#}").contains("0.05 to 3600"), "{err:#}");
        let err = Detector::new(None, Some("(".into()), "--prompt-regex").unwrap_err();
        assert!(
            format!("{err:#}").contains("--prompt-regex: prompt regex `(`"),
            "{err:#}"
        );
    }

    #[test]
    fn prompt_is_read_on_the_last_non_empty_line() {
        let d = Detector::new(None, Some(r"^\$ $".into()), "x").unwrap();
        assert!(d.at_prompt("ls\na b\n$ \n\n\n"));
        assert!(d.at_prompt("ls\n$\n"), "tmux drops the trailing space");
        assert!(!d.at_prompt("$ \nsleeping...\n"));
        assert!(!d.at_prompt(""));
        assert!(Detector::default().at_prompt("anything"));
    }

    #[test]
    fn reply_drops_the_prompt_line_and_keeps_the_end() {
        let d = Detector::new(None, Some(r"^>>> $".into()), "x").unwrap();
        assert_eq!(reply_of("4\n>>> \n\n", &d), "4");
        let shell = Detector::new(None, Some(r"\$ $".into()), "x").unwrap();
        assert_eq!(reply_of("partial$ \n", &shell), "partial");
        assert_eq!(reply_of("a\nb\n$\n", &shell), "a\nb");
        assert_eq!(reply_of("4\n>>> \n", &Detector::default()), "4\n>>>");
        let long = "x".repeat(MAX_REPLY + 10);
        assert_eq!(reply_of(&long, &d).chars().count(), MAX_REPLY);
    }

    #[test]
    fn pending_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let pending = Pending {
            prompt_hash: "h".into(),
            prompt_len: 1,
            line: Some(3),
        };
        std::fs::write(
            pending_path(dir.path()),
            serde_json::to_string(&pending).unwrap(),
        )
        .unwrap();
        assert_eq!(take_pending(dir.path()), Some(pending));
        assert_eq!(take_pending(dir.path()), None);
    }
}
