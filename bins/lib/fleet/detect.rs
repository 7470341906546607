//! The quiet detector of a `command` worker at work: `orch __detect WORKER` reads the pane's
//! output (tmux's `pipe-pane -O`, started by [`crate::harness::command::start`]) until the pane
//! closes and records the events a hook would (the settings and the pending prompt are the
//! command harness's, [`crate::harness::command`]).

use crate::fleet::worker::Worker;
use crate::harness::command::take_pending;
use crate::harness::quiet::Quiet;
use crate::tmux::Tmux;
use crate::tmux::TmuxServer;
use anyhow::{bail, Context, Result};
use orch_store::event::{Prompt as PromptEvent, SessionEnd, SessionStart, Stop};
use orch_store::worker::File;
use orch_store::Detector;
use orch_store::Kind;
use orch_store::Store;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest reply kept in a `stop` event, in characters (the end is kept).
const MAX_REPLY: usize = 8000;

/// Where the worker is, as the detector sees it.
enum Phase {
    /// Before its first settled screen.
    Starting,
    /// Settled; waiting for a prompt.
    Idle,
    /// In a turn whose output starts below `line` (of the history, see [`crate::harness::command::Pending::line`]).
    Busy { line: Option<i64> },
}

/// `orch __detect WORKER`: reads the pane's output on stdin until it closes and records the
/// worker's events (see the module's description). Errors: no such worker or no pane.
pub fn serve(id: &str) -> Result<()> {
    let worker = Worker::load(&Store::from_env()?, id)?;
    let detector = worker.meta.detector.clone().unwrap_or_default();
    let pane = worker.pane()?.to_string();
    let pending_file = worker.dir.file(File::Pending);
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
                    if let Some(pending) = take_pending(&pending_file) {
                        let prompt = PromptEvent {
                            prompt_hash: Some(pending.prompt_hash),
                            prompt_len: Some(pending.prompt_len as u64),
                            ..PromptEvent::default()
                        };
                        crate::coordination::inbox::publish_in(&worker.dir, Kind::Prompt(prompt))?;
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
                let start = SessionStart {
                    source: Some("startup".into()),
                    detector: Some(detector.describe()),
                    ..SessionStart::default()
                };
                crate::coordination::inbox::publish_in(&worker.dir, Kind::SessionStart(start))?;
                phase = Phase::Idle;
            }
            Phase::Busy { line } => {
                let reply = turn_output(&worker.meta.server, &pane, line, &detector)
                    .unwrap_or_else(|_| screen.trim_end().to_string());
                let stop = Stop {
                    last_assistant_message: Some(reply),
                    detector: Some(detector.kind().into()),
                    ..Stop::default()
                };
                crate::coordination::inbox::publish_in(&worker.dir, Kind::Stop(stop))?;
                phase = Phase::Idle;
            }
            Phase::Idle => {}
        }
    }
}

/// Records `session_end` when the pane closed (not after `orch kill` or a session end already
/// recorded): reason `exit` when the tmux server lives on (the program ended, and its pane
/// with it), reason `other` when the server is gone too (a crash took the pane: the worker is
/// resumable). A pipe closed on a pane that lives on (someone
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
    let tail = worker.dir.events_back_to(|_| true)?;
    let ended = tail
        .last()
        .is_some_and(|e| matches!(e.kind, Kind::Killed(_) | Kind::SessionEnd(_)));
    if !ended {
        let server_lives = worker
            .meta
            .server
            .run(&["display-message", "-p", "#{pid}"])
            .is_ok();
        let reason = if server_lives { "exit" } else { "other" };
        let end = SessionEnd {
            reason: Some(reason.into()),
            ..SessionEnd::default()
        };
        crate::coordination::inbox::publish_in(&worker.dir, Kind::SessionEnd(end))?;
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
    server: &TmuxServer,
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
    fn reply_drops_the_prompt_line_and_keeps_the_end() {
        let d = Detector::checked(None, Some(r"^>>> $".into()), "x").unwrap();
        assert_eq!(reply_of("4\n>>> \n\n", &d), "4");
        let shell = Detector::checked(None, Some(r"\$ $".into()), "x").unwrap();
        assert_eq!(reply_of("partial$ \n", &shell), "partial");
        assert_eq!(reply_of("a\nb\n$\n", &shell), "a\nb");
        assert_eq!(reply_of("4\n>>> \n", &Detector::default()), "4\n>>>");
        let long = "x".repeat(MAX_REPLY + 10);
        assert_eq!(reply_of(&long, &d).chars().count(), MAX_REPLY);
    }
}
