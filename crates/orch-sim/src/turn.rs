//! One turn of the sim: the reply a prompt asks for through `[[...]]` directives
//! ([`crate::directive`], the language of orch's test mock models too), and the hook sequence
//! around it (UserPromptSubmit, then Stop or StopFailure, with Stop hooks that may block and ask
//! for more turns).
//!
//! Turns run on a worker thread; the input thread steers them through a [`Control`] (Escape,
//! permission answers).

use super::directive::{default_message, Directive, Directives};
use super::event::Event;
use super::hooks::{self, Runner};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many Stop-hook blocks in a row the sim honours (Claude Code's cap).
pub const MAX_STOP_BLOCKS: usize = 8;

/// The reply to a prompt without `say` or `bash`: `SIM: you said: <first line, 80 chars>`.
pub fn echo(prompt: &str) -> String {
    let first = prompt.lines().next().unwrap_or("");
    let cut: String = first.chars().take(80).collect();
    format!("SIM: you said: {cut}")
}

/// Claude Code's `error` field for an `[[error: CODE]]`: observed `server_error` for 500 and
/// `unknown` for 400; a code that is not a number is used as it is.
pub fn error_kind(code: &str) -> String {
    match code.parse::<u16>() {
        Ok(429) => "rate_limit".into(),
        Ok(401 | 403) => "authentication_failed".into(),
        Ok(500..=599) => "server_error".into(),
        Ok(_) => "unknown".into(),
        Err(_) if code.is_empty() => "unknown".into(),
        Err(_) => code.to_string(),
    }
}

/// How a turn's worker and the input thread share its state.
#[derive(Debug, Default)]
pub struct Control {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    interrupted: bool,
    /// Stop is being fired: too late to interrupt.
    finishing: bool,
    /// The user's answer to the open permission dialog.
    answer: Option<bool>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Escape: interrupts the turn unless its Stop is already being fired. True when it did.
    pub fn interrupt(&self) -> bool {
        let mut state = self.lock();
        if state.finishing {
            return false;
        }
        state.interrupted = true;
        self.changed.notify_all();
        true
    }

    /// Whether the turn was interrupted.
    pub fn interrupted(&self) -> bool {
        self.lock().interrupted
    }

    /// Answers the open permission dialog (true: approve).
    pub fn answer(&self, approve: bool) {
        self.lock().answer = Some(approve);
        self.changed.notify_all();
    }

    /// Waits `duration` unless interrupted first; false when interrupted.
    pub fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now() + duration;
        let mut state = self.lock();
        loop {
            if state.interrupted {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits for the permission answer, the person's or one a hook sends on `hooks` (`Some`:
    /// its decision, `None`: it decided nothing); `None` when interrupted instead.
    fn wait_answer(&self, hooks: &mpsc::Receiver<Option<bool>>) -> Option<Decided> {
        let mut hooks_done = false;
        let mut state = self.lock();
        loop {
            if state.interrupted {
                return None;
            }
            if let Some(answer) = state.answer.take() {
                return Some(Decided::Person(answer));
            }
            if !hooks_done {
                match hooks.try_recv() {
                    Ok(Some(decision)) => return Some(Decided::Hook(decision)),
                    Ok(None) | Err(mpsc::TryRecvError::Disconnected) => hooks_done = true,
                    Err(mpsc::TryRecvError::Empty) => {}
                }
            }
            state = if hooks_done {
                self.changed.wait(state).unwrap_or_else(|e| e.into_inner())
            } else {
                self.changed
                    .wait_timeout(state, Duration::from_millis(20))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            };
        }
    }

    /// Marks the turn as finishing (Stop is next); false when it was interrupted before.
    fn finish(&self) -> bool {
        let mut state = self.lock();
        if state.interrupted {
            return false;
        }
        state.finishing = true;
        true
    }

    /// After a Stop hook blocked: the next turn can be interrupted again.
    fn resume(&self) {
        self.lock().finishing = false;
    }
}

/// What a turn tells the screen while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// A transcript line (reply, hook error, ...).
    Line(String),
    /// A permission dialog opened (`Some(question)`) or closed (`None`).
    Dialog(Option<String>),
}

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Stop (or StopFailure) fired and its hooks finished.
    Done,
    /// Escape: nothing more fired.
    Interrupted,
    /// A UserPromptSubmit hook blocked the prompt: no turn ran.
    Blocked,
}

/// What every turn of a session shares.
#[derive(Debug, Clone)]
pub struct Turns {
    /// Fires the hooks.
    pub runner: Runner,
    /// `--reply`: the reply when the prompt asks for nothing in particular.
    pub reply: Option<String>,
    /// `--delay-ms`: waited before each reply.
    pub delay: Duration,
    /// `--limit-file`: while it exists, every prompt fails as a usage limit.
    pub limit_file: Option<PathBuf>,
    /// Environment added for `[[bash: ...]]` commands.
    pub bash_env: Vec<(String, String)>,
    /// Environment removed for them.
    pub bash_env_remove: Vec<String>,
    /// Their working directory.
    pub cwd: PathBuf,
}

/// Who answered a permission dialog, and how (true: allow).
enum Decided {
    Person(bool),
    Hook(bool),
}

/// How long the PermissionRequest hooks get before the dialog's Notification fires (Claude
/// Code sends it about 6 s after them): a hook that answers at once answers before it.
const HOOKS_BEFORE_NOTICE: Duration = Duration::from_millis(500);

/// What the model part of a turn produced.
enum Answer {
    Reply(String),
    /// An API error: its HTTP status (or kind), and what the provider said (`None`: the
    /// sim's own words).
    Failure {
        code: String,
        message: Option<String>,
    },
}

impl Turns {
    /// Runs one submitted prompt to its end: UserPromptSubmit, the reply, Stop (again after
    /// each blocking Stop hook, up to [`MAX_STOP_BLOCKS`] times) or StopFailure.
    pub fn run(&self, prompt_id: &str, prompt: &str, ctl: &Control, note: &dyn Fn(Note)) -> Ending {
        let submit = Event::UserPromptSubmit {
            prompt_id: prompt_id.into(),
            prompt: prompt.into(),
        };
        let outcomes = self.fire(&submit, note);
        if let Some(reason) = hooks::blocked(&outcomes) {
            note(Note::Line(format!(
                "UserPromptSubmit operation blocked by hook:\n{reason}"
            )));
            return Ending::Blocked;
        }
        let mut input = prompt.to_string();
        let mut blocks = 0;
        loop {
            let Some(answer) = self.answer(prompt_id, &input, ctl, note) else {
                return Ending::Interrupted;
            };
            // From here on Escape is too late: the reply is out and Stop will fire.
            if !ctl.finish() {
                return Ending::Interrupted;
            }
            let text = match answer {
                Answer::Failure { code, message } => {
                    let message = match message {
                        Some(said) => format!("API Error: {code} {said}"),
                        None => format!("API Error: {code} simulated error"),
                    };
                    note(Note::Line(format!("● {message}")));
                    self.fire(
                        &Event::StopFailure {
                            prompt_id: prompt_id.into(),
                            error: error_kind(&code),
                            last_assistant_message: message,
                        },
                        note,
                    );
                    return Ending::Done;
                }
                Answer::Reply(text) => text,
            };
            note(Note::Line(format!("● {text}")));
            let outcomes = self.fire(
                &Event::Stop {
                    prompt_id: prompt_id.into(),
                    stop_hook_active: blocks > 0,
                    last_assistant_message: text,
                },
                note,
            );
            match hooks::blocked(&outcomes) {
                Some(reason) if blocks < MAX_STOP_BLOCKS => {
                    blocks += 1;
                    note(Note::Line(format!("  ⎿ Stop hook feedback: {reason}")));
                    input = format!("Stop hook feedback:\n{reason}");
                    ctl.resume();
                }
                _ => return Ending::Done,
            }
        }
    }

    /// Fires `event` on a thread of its own, which is left to end by itself; the receiver gets
    /// the hooks' permission decision once they ended (`None`: none decided). A hook still
    /// running once the dialog is answered is not waited for (Claude Code 2.1.197 lets it run).
    fn fire_detached(&self, event: Event) -> mpsc::Receiver<Option<bool>> {
        let (tx, rx) = mpsc::channel();
        let runner = self.runner.clone();
        std::thread::spawn(move || {
            let outcomes = runner.fire(&event);
            let _ = tx.send(hooks::permission_decision(&outcomes));
        });
        rx
    }

    /// Fires `event` and puts each hook failure on the screen.
    fn fire(&self, event: &Event, note: &dyn Fn(Note)) -> Vec<hooks::Outcome> {
        let outcomes = self.runner.fire(event);
        for problem in outcomes.iter().filter_map(|o| o.problem(event.name())) {
            note(Note::Line(format!("  ⎿ {problem}")));
        }
        outcomes
    }

    /// Follows the directives of `input` and works out the reply; `None` when Escape
    /// interrupted it.
    fn answer(
        &self,
        prompt_id: &str,
        input: &str,
        ctl: &Control,
        note: &dyn Fn(Note),
    ) -> Option<Answer> {
        let mut say = None;
        let mut bash = None;
        let mut error = None;
        for directive in Directives::parse(input) {
            match directive {
                Directive::Say(text) => say = Some(text),
                Directive::Error(code) => error = Some(code),
                Directive::Sleep(duration) => {
                    if !ctl.sleep(duration) {
                        return None;
                    }
                }
                Directive::Bash(cmd) => {
                    note(Note::Line(format!("● Bash({cmd})")));
                    let out = self.bash(&cmd, ctl)?;
                    bash = Some(format!("SIM: bash finished: {}", out.trim()));
                }
                Directive::Notify { kind, message } => {
                    self.fire(
                        &Event::Notification {
                            prompt_id: Some(prompt_id.into()),
                            message,
                            notification_type: kind,
                        },
                        note,
                    );
                }
                Directive::Permission { tool, input } => {
                    let question = format!("Permission: {tool} {input} · 1/Enter allow · Esc deny");
                    let request = Event::PermissionRequest {
                        prompt_id: prompt_id.into(),
                        tool_name: tool,
                        tool_input: input,
                    };
                    // Forget any earlier answer before the dialog shows: an answer given as soon
                    // as it shows must not be wiped.
                    ctl.lock().answer = None;
                    // As Claude Code: the dialog shows while the PermissionRequest hooks run,
                    // and a hook's decision answers it as the person's keys do.
                    note(Note::Dialog(Some(question)));
                    let decided = self.fire_detached(request);
                    let early = decided.recv_timeout(HOOKS_BEFORE_NOTICE).ok();
                    self.fire(
                        &Event::Notification {
                            prompt_id: Some(prompt_id.into()),
                            message: default_message("permission_prompt").into(),
                            notification_type: "permission_prompt".into(),
                        },
                        note,
                    );
                    let answer = match early.flatten() {
                        Some(hook) => Some(Decided::Hook(hook)),
                        None => ctl.wait_answer(&decided),
                    };
                    note(Note::Dialog(None));
                    match answer {
                        Some(Decided::Person(true)) => {}
                        Some(Decided::Hook(true)) => {
                            note(Note::Line("  ⎿ Allowed by PermissionRequest hook".into()));
                        }
                        // The tool does not run; the turn goes on without it.
                        Some(Decided::Hook(false)) => {
                            note(Note::Line("  ⎿ Denied by PermissionRequest hook".into()));
                            bash = Some("SIM: permission denied".into());
                        }
                        Some(Decided::Person(false)) | None => return None,
                    }
                }
                // Kinds for the mock model servers only.
                Directive::Tool { .. } | Directive::Usage(_) => {}
            }
        }
        if !self.delay.is_zero() && !ctl.sleep(self.delay) {
            return None;
        }
        if let Some(limit) = self.limit_file.as_deref() {
            if let Ok(text) = std::fs::read_to_string(limit) {
                return Some(Answer::Failure {
                    code: "429".into(),
                    message: Some(text.trim().to_string()),
                });
            }
        }
        if let Some(code) = error {
            return Some(Answer::Failure {
                code,
                message: None,
            });
        }
        Some(Answer::Reply(
            say.or(bash)
                .or_else(|| self.reply.clone())
                .unwrap_or_else(|| echo(input)),
        ))
    }

    /// Runs `sh -c cmd` and returns its stdout; `None` when Escape interrupted it (it is
    /// killed with its process group).
    fn bash(&self, cmd: &str, ctl: &Control) -> Option<String> {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(cmd);
        hooks::prepare(
            &mut command,
            &self.cwd,
            &self.bash_env,
            &self.bash_env_remove,
        );
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(err) => return Some(format!("cannot run sh: {err}")),
        };
        let stdout = hooks::read_in_thread(child.stdout.take());
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().is_ok());
        });
        loop {
            if rx.recv_timeout(Duration::from_millis(20)).is_ok() {
                return Some(stdout.recv().unwrap_or_default());
            }
            if ctl.interrupted() {
                hooks::kill_group(pid);
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Session;
    use serde_json::Value;
    use std::sync::Arc;

    #[test]
    fn echo_uses_the_first_line_cut_to_80() {
        assert_eq!(echo("one\ntwo"), "SIM: you said: one");
        let long = "é".repeat(100);
        assert_eq!(echo(&long), format!("SIM: you said: {}", "é".repeat(80)));
        assert_eq!(echo(""), "SIM: you said: ");
    }

    #[test]
    fn error_kinds() {
        assert_eq!(error_kind("500"), "server_error");
        assert_eq!(error_kind("400"), "unknown");
        assert_eq!(error_kind("429"), "rate_limit");
        assert_eq!(error_kind("overloaded"), "overloaded");
    }

    #[test]
    fn interrupt_wakes_a_sleep() {
        let ctl = Arc::new(Control::default());
        let other = Arc::clone(&ctl);
        let start = Instant::now();
        let sleeper = std::thread::spawn(move || other.sleep(Duration::from_secs(10)));
        while !ctl.interrupt() {}
        assert!(!sleeper.join().unwrap());
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(!ctl.sleep(Duration::ZERO));
    }

    #[test]
    fn finishing_turn_cannot_be_interrupted() {
        let ctl = Control::default();
        assert!(ctl.finish());
        assert!(!ctl.interrupt());
        ctl.resume();
        assert!(ctl.interrupt());
        assert!(!ctl.finish());
    }

    fn turns(dir: &std::path::Path, hooks: Vec<hooks::Hook>) -> Turns {
        Turns {
            runner: Runner {
                hooks,
                session: Session {
                    id: "s".into(),
                    transcript_path: "/t".into(),
                    cwd: dir.display().to_string(),
                    model: "sim".into(),
                },
                env: vec![],
                env_remove: vec![],
                cwd: dir.to_path_buf(),
            },
            reply: None,
            delay: Duration::ZERO,
            limit_file: None,
            bash_env: vec![],
            bash_env_remove: vec![],
            cwd: dir.to_path_buf(),
        }
    }

    fn dump_hook(event: &str, file: &std::path::Path) -> hooks::Hook {
        hooks::Hook {
            event: event.into(),
            matcher: None,
            command: format!("{{ cat; echo; }} >> '{}'", file.display()),
            timeout: hooks::DEFAULT_TIMEOUT,
        }
    }

    fn events(file: &std::path::Path) -> Vec<Value> {
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn turn_fires_submit_then_stop_with_the_reply() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let turns = turns(
            dir.path(),
            vec![dump_hook("UserPromptSubmit", &log), dump_hook("Stop", &log)],
        );
        let notes = Mutex::new(Vec::new());
        let ending = turns.run(
            "p1",
            "run [[bash: echo hi there]]",
            &Control::default(),
            &|n| notes.lock().unwrap().push(n),
        );
        assert_eq!(ending, Ending::Done);
        let seen = events(&log);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0]["prompt"], "run [[bash: echo hi there]]");
        assert_eq!(
            seen[1]["last_assistant_message"],
            "SIM: bash finished: hi there"
        );
        assert!(notes
            .lock()
            .unwrap()
            .contains(&Note::Line("● SIM: bash finished: hi there".into())));
    }

    #[test]
    fn reply_and_delay_apply_without_say() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let mut turns = turns(dir.path(), vec![dump_hook("Stop", &log)]);
        turns.reply = Some("fixed reply".into());
        turns.delay = Duration::from_millis(200);
        let start = Instant::now();
        turns.run("p", "hello", &Control::default(), &|_| {});
        assert!(start.elapsed() >= Duration::from_millis(200));
        turns.run("p2", "[[say: said]]", &Control::default(), &|_| {});
        let seen = events(&log);
        assert_eq!(seen[0]["last_assistant_message"], "fixed reply");
        assert_eq!(seen[1]["last_assistant_message"], "said");
    }

    #[test]
    fn error_directive_fires_stop_failure_only() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let turns = turns(
            dir.path(),
            vec![dump_hook("Stop", &log), dump_hook("StopFailure", &log)],
        );
        let ending = turns.run("p", "[[error: 500]]", &Control::default(), &|_| {});
        assert_eq!(ending, Ending::Done);
        let seen = events(&log);
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["hook_event_name"], "StopFailure");
        assert_eq!(seen[0]["error"], "server_error");
    }

    #[test]
    fn stop_blocks_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let mut block = dump_hook("Stop", &log);
        block.command = format!(
            "{{ cat; echo; }} >> '{}'; echo '{{\"decision\":\"block\",\"reason\":\"more\"}}'",
            log.display()
        );
        let turns = turns(dir.path(), vec![block]);
        let ending = turns.run("p", "go", &Control::default(), &|_| {});
        assert_eq!(ending, Ending::Done);
        let seen = events(&log);
        assert_eq!(seen.len(), MAX_STOP_BLOCKS + 1);
        assert_eq!(seen[0]["stop_hook_active"], false);
        assert_eq!(seen[0]["last_assistant_message"], "SIM: you said: go");
        assert_eq!(seen[1]["stop_hook_active"], true);
        assert_eq!(
            seen[1]["last_assistant_message"],
            "SIM: you said: Stop hook feedback:"
        );
    }

    #[test]
    fn submit_hook_exit_2_blocks_the_turn() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let mut refuse = dump_hook("UserPromptSubmit", &log);
        refuse.command = "echo no >&2; exit 2".into();
        let turns = turns(dir.path(), vec![refuse, dump_hook("Stop", &log)]);
        let notes = Mutex::new(Vec::new());
        let ending = turns.run("p", "hi", &Control::default(), &|n| {
            notes.lock().unwrap().push(n)
        });
        assert_eq!(ending, Ending::Blocked);
        assert!(events(&log).is_empty());
        let notes = notes.lock().unwrap();
        assert!(matches!(&notes[0], Note::Line(l) if l.contains("no")));
    }

    #[test]
    fn permission_waits_for_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("events.jsonl");
        let turns = turns(
            dir.path(),
            vec![
                dump_hook("PermissionRequest", &log),
                dump_hook("Notification", &log),
                dump_hook("Stop", &log),
            ],
        );
        let ctl = Arc::new(Control::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = {
            let ctl = Arc::clone(&ctl);
            std::thread::spawn(move || {
                turns.run("p", "[[permission: Bash ls]] [[say: ok]]", &ctl, &|n| {
                    let _ = tx.send(n);
                })
            })
        };
        loop {
            if let Note::Dialog(Some(_)) = rx.recv().unwrap() {
                break;
            }
        }
        ctl.answer(true);
        assert_eq!(worker.join().unwrap(), Ending::Done);
        let names: Vec<Value> = events(&log)
            .iter()
            .map(|e| e["hook_event_name"].clone())
            .collect();
        assert_eq!(names, ["PermissionRequest", "Notification", "Stop"]);
    }

    #[test]
    fn escape_kills_a_running_bash() {
        let dir = tempfile::tempdir().unwrap();
        let turns = turns(dir.path(), vec![]);
        let ctl = Arc::new(Control::default());
        let start = Instant::now();
        let worker = {
            let ctl = Arc::clone(&ctl);
            std::thread::spawn(move || turns.run("p", "[[bash: sleep 30]]", &ctl, &|_| {}))
        };
        assert!(ctl.interrupt());
        assert_eq!(worker.join().unwrap(), Ending::Interrupted);
        assert!(start.elapsed() < Duration::from_secs(10));
    }
}
