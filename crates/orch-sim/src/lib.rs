//! `orch-sim`: a small agent program that behaves like the Claude Code TUI where orch can see
//! it: the keys tmux sends (bracketed paste, Enter, Escape), the screen `capture-pane` reads,
//! and the hooks it fires (same settings format, payloads, environment and exit-code rules).
//! orch's demo and fast tests run it in panes instead of Claude Code.
//!
//! Threads: one reads the terminal, one runs the current turn, and the main thread owns the
//! input box, the prompt queue and the screen; they talk through one channel of [`Msg`]s.

pub mod directive;
pub mod event;
pub mod hooks;
pub mod input;
pub mod screen;
pub mod turn;

use anyhow::{bail, Context, Result};
use event::{Event, Session};
use input::{Action, Input};
use screen::{Screen, Terminal, View};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;
use turn::{Control, Ending, Note, Turns};

/// The exit code for bad arguments (as clap's, and `orch`'s).
const USAGE_ERROR: u8 = 2;

/// Claude Code's folder, as Claude Code finds it: `$CLAUDE_CONFIG_DIR` if set and not empty,
/// else `$HOME/.claude`, else `.claude`.
fn claude_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    match (var("CLAUDE_CONFIG_DIR"), var("HOME")) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, Some(home)) => PathBuf::from(home).join(".claude"),
        (None, None) => PathBuf::from(".claude"),
    }
}

/// A random (version 4) UUID, for session and prompt ids.
fn uuid4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Set in the environment once the sim has re-executed itself with SIGHUP ignored.
const HUP_IGNORED: &str = "ORCH_SIM_HUP_IGNORED";
/// Transcript lines kept for the screen.
const MAX_LOG: usize = 2000;
/// Longest first line of a prompt echoed into the transcript.
const MAX_ECHO: usize = 300;

const USAGE: &str = "\
usage: orch-sim [--session-id UUID] [--settings FILE|JSON]... [--reply TEXT] [--delay-ms N]
                [--name NAME] [--model MODEL] [--tab-width N] [--prompt-prefix TEXT]
                [--limit-file FILE]

A stand-in for the Claude Code TUI: type or paste a prompt, Enter submits, Escape interrupts,
Ctrl-D on an empty box exits. Hooks come from $CLAUDE_CONFIG_DIR/settings.json (default
~/.claude/settings.json) and every --settings. Prompts may hold directives (the first of each
kind counts): [[say: TEXT]], [[sleep: SECS]], [[bash: CMD]], [[error: CODE]],
[[notify: TYPE MESSAGE]], [[permission: TOOL JSON]]. --tab-width turns each tab of a prompt
into N spaces, as Claude Code does; --prompt-prefix puts TEXT in front of each prompt, as a
harness that rewrites prompts beyond recognition would. While --limit-file exists, every
prompt fails as a usage limit (a 429, StopFailure `rate_limit`) whose message ends with the
file's text. Other arguments are ignored.
";

/// The sim's command line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// `--session-id`: the session id; a random UUID when missing.
    pub session_id: Option<String>,
    /// `--settings` (repeatable): a settings file, or inline JSON, as for `claude --settings`.
    pub settings: Vec<String>,
    /// `--reply`: the reply to prompts without `say`/`bash` directives (default: an echo).
    pub reply: Option<String>,
    /// `--delay-ms`: milliseconds waited before each reply.
    pub delay_ms: u64,
    /// `--name`: shown in the banner.
    pub name: Option<String>,
    /// `--model`: reported by SessionStart (default `sim`).
    pub model: String,
    /// `--tab-width`: each tab of a submitted prompt becomes this many spaces.
    pub tab_width: Option<usize>,
    /// `--prompt-prefix`: put in front of each submitted prompt.
    pub prompt_prefix: Option<String>,
    /// `--limit-file`: while this file exists, every prompt fails as a usage limit.
    pub limit_file: Option<PathBuf>,
    /// Arguments the sim does not know (orch passes harness arguments through): ignored.
    pub ignored: Vec<String>,
    /// `-h` / `--help`.
    pub help: bool,
}

/// Parses the arguments after `argv[0]`. Flags take their value as the next argument or after
/// `=`; unknown arguments are collected in [`Args::ignored`].
pub fn parse_args(args: &[String]) -> Result<Args> {
    let mut parsed = Args {
        model: "sim".into(),
        ..Args::default()
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value.to_string())),
            _ => (arg.as_str(), None),
        };
        let takes_value = matches!(
            flag,
            "--session-id"
                | "--settings"
                | "--reply"
                | "--delay-ms"
                | "--name"
                | "--model"
                | "--tab-width"
                | "--prompt-prefix"
                | "--limit-file"
        );
        if !takes_value {
            match arg.as_str() {
                "-h" | "--help" => parsed.help = true,
                _ => parsed.ignored.push(arg.clone()),
            }
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => match rest.next() {
                Some(value) => value.clone(),
                None => bail!("`{flag}` needs a value"),
            },
        };
        match flag {
            "--session-id" => parsed.session_id = Some(value),
            "--settings" => parsed.settings.push(value),
            "--reply" => parsed.reply = Some(value),
            "--delay-ms" => {
                parsed.delay_ms = value
                    .parse()
                    .with_context(|| format!("`--delay-ms` wants milliseconds, not `{value}`"))?;
            }
            "--name" => parsed.name = Some(value),
            "--tab-width" => {
                parsed.tab_width = Some(
                    value
                        .parse()
                        .with_context(|| format!("`--tab-width` wants a number, not `{value}`"))?,
                );
            }
            "--prompt-prefix" => parsed.prompt_prefix = Some(value),
            "--limit-file" => parsed.limit_file = Some(PathBuf::from(value)),
            _ => parsed.model = value,
        }
    }
    Ok(parsed)
}

/// Runs the sim with `argv` (`argv[0]` included) in the current terminal; returns the exit code.
pub fn main(argv: Vec<OsString>) -> u8 {
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let parsed = match parse_args(&args) {
        Ok(parsed) => parsed,
        Err(err) => {
            eprintln!("orch-sim: {err:#}\n\n{USAGE}");
            return USAGE_ERROR;
        }
    };
    if parsed.help {
        print!("{USAGE}");
        return 0;
    }
    let mut notes = Vec::new();
    if let Some(note) = ignore_hangup(&argv) {
        notes.push(note);
    }
    match run(parsed, notes) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("orch-sim: {err:#}");
            1
        }
    }
}

/// Makes the process ignore SIGHUP, so that when its pane is killed it sees the terminal go
/// away (a read returning 0 or EIO) and can fire SessionEnd, instead of dying at once. Without
/// libc this means re-executing itself through `sh -c "trap '' HUP; exec ..."` (an ignored
/// signal stays ignored across exec; the pid stays the same). Returns only when that was
/// already done or failed, with a note for the screen on failure.
fn ignore_hangup(argv: &[OsString]) -> Option<String> {
    if std::env::var_os(HUP_IGNORED).is_some() {
        return None;
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => return Some(format!("note: cannot find my executable ({err})")),
    };
    let err = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("trap '' HUP; exec \"$0\" \"$@\"")
        .arg(exe)
        .args(argv.iter().skip(1))
        .env(HUP_IGNORED, "1")
        .exec();
    Some(format!(
        "note: cannot ignore SIGHUP ({err}): killing the pane may skip SessionEnd"
    ))
}

/// What the main thread hears.
#[derive(Debug)]
pub enum Msg {
    /// One read from the terminal.
    Keys(Vec<u8>),
    /// The terminal is gone (read returned 0 or an error).
    Gone,
    /// Something turn number `.0` wants on the screen.
    Note(u64, Note),
    /// Turn number `.0` ended.
    Ended(u64, Ending),
}

/// The turn in progress.
struct Running {
    seq: u64,
    ctl: Arc<Control>,
    /// The prompt as submitted, put back into the box on Escape.
    prompt: String,
}

/// The main thread's state.
struct App {
    turns: Arc<Turns>,
    banner: String,
    log: Vec<String>,
    input: Input,
    /// Prompts submitted while a turn ran, submitted in order after its Stop.
    queue: VecDeque<String>,
    running: Option<Running>,
    dialog: Option<String>,
    /// An Escape on an idle box with text armed "Esc again to clear" (as Claude Code does).
    clear_armed: bool,
    seq: u64,
    last_prompt_id: Option<String>,
    screen: Screen,
    tx: Sender<Msg>,
    /// `--tab-width` and `--prompt-prefix`.
    tab_width: Option<usize>,
    prompt_prefix: Option<String>,
}

fn run(args: Args, mut notes: Vec<String>) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let session_id = args.session_id.clone().unwrap_or_else(uuid4);
    let claude_dir = claude_dir();
    let transcript = claude_dir
        .join("projects")
        .join("sim")
        .join(format!("{session_id}.jsonl"));
    if !args.ignored.is_empty() {
        notes.push(format!(
            "note: ignoring arguments: {}",
            args.ignored.join(" ")
        ));
    }
    let mut all_hooks = Vec::new();
    let sources = std::iter::once(hooks::load_file(&claude_dir.join("settings.json")))
        .chain(args.settings.iter().map(|s| hooks::load_arg(s)));
    for loaded in sources {
        match loaded {
            Ok(found) => all_hooks.extend(found),
            Err(err) => notes.push(format!("Settings Error: {err:#} (file skipped)")),
        }
    }
    let cwd_text = cwd.display().to_string();
    let session = Session {
        id: session_id.clone(),
        transcript_path: transcript.display().to_string(),
        cwd: cwd_text.clone(),
        model: args.model.clone(),
    };
    let bash_env = vec![
        ("CLAUDECODE".to_string(), "1".to_string()),
        ("CLAUDE_CODE_SESSION_ID".to_string(), session_id.clone()),
    ];
    let mut hook_env = bash_env.clone();
    hook_env.push(("CLAUDE_PROJECT_DIR".into(), cwd_text));
    let turns = Turns {
        runner: hooks::Runner {
            hooks: all_hooks,
            session,
            env: hook_env,
            env_remove: vec![HUP_IGNORED.into()],
            cwd: cwd.clone(),
        },
        reply: args.reply.clone(),
        delay: Duration::from_millis(args.delay_ms),
        limit_file: args.limit_file.clone(),
        bash_env,
        bash_env_remove: vec![HUP_IGNORED.into()],
        cwd,
    };
    let banner = match &args.name {
        Some(name) => format!("orch sim {name} · session {session_id}"),
        None => format!("orch sim · session {session_id}"),
    };

    let mut terminal = Terminal::enter()?;
    let (tx, rx) = mpsc::channel();
    let mut app = App {
        turns: Arc::new(turns),
        banner,
        log: notes,
        input: Input::new(),
        queue: VecDeque::new(),
        running: None,
        dialog: None,
        clear_armed: false,
        seq: 0,
        last_prompt_id: None,
        screen: Screen::default(),
        tx: tx.clone(),
        tab_width: args.tab_width,
        prompt_prefix: args.prompt_prefix.clone(),
    };
    app.draw();
    std::thread::spawn(move || read_keys(&tx));
    app.fire(&Event::SessionStart);
    app.draw();
    let reason = app.serve(&rx);
    if let Some(running) = app.running.take() {
        running.ctl.interrupt();
    }
    app.fire(&Event::SessionEnd {
        prompt_id: app.last_prompt_id.clone(),
        reason: reason.into(),
    });
    app.draw();
    terminal.leave();
    Ok(())
}

/// Sends each read of the terminal to the main thread, then [`Msg::Gone`] at its end.
fn read_keys(tx: &Sender<Msg>) {
    let mut stdin = std::io::stdin().lock();
    // Larger than std's stdin buffer, so each read is one read(2): a lone ESC stays alone.
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if tx.send(Msg::Keys(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let _ = tx.send(Msg::Gone);
}

impl App {
    /// Handles messages until the user exits or the terminal goes away; returns SessionEnd's
    /// reason.
    fn serve(&mut self, rx: &Receiver<Msg>) -> &'static str {
        while let Ok(first) = rx.recv() {
            let mut next = Some(first);
            while let Some(msg) = next {
                if let Some(reason) = self.handle(msg) {
                    return reason;
                }
                next = rx.try_recv().ok();
            }
            self.draw();
        }
        "other"
    }

    fn handle(&mut self, msg: Msg) -> Option<&'static str> {
        match msg {
            Msg::Gone => return Some("other"),
            Msg::Keys(keys) => {
                if self.dialog.is_some() {
                    match input::dialog_answer(&keys) {
                        Some(true) => {
                            if let Some(running) = &self.running {
                                running.ctl.answer(true);
                            }
                        }
                        Some(false) => self.escape(),
                        None => {}
                    }
                    return None;
                }
                let lone_escape = keys == [0x1b];
                if !lone_escape {
                    self.clear_armed = false;
                }
                for action in self.input.feed(&keys) {
                    match action {
                        Action::Submit(text) => self.submit(text),
                        Action::Escape => self.escape(),
                        Action::Exit => return Some("prompt_input_exit"),
                    }
                }
            }
            Msg::Note(seq, Note::Dialog(question)) => {
                if self.running.as_ref().is_some_and(|r| r.seq == seq) {
                    self.dialog = question;
                }
            }
            Msg::Note(_, Note::Line(line)) => self.say(line),
            Msg::Ended(seq, _) => {
                if self.running.as_ref().is_some_and(|r| r.seq == seq) {
                    self.running = None;
                    self.dialog = None;
                    if let Some(next) = self.queue.pop_front() {
                        self.start(next);
                    }
                }
            }
        }
        None
    }

    /// Enter: start the prompt now, or after the running turn's Stop.
    fn submit(&mut self, mut prompt: String) {
        if let Some(width) = self.tab_width {
            prompt = prompt.replace('\t', &" ".repeat(width));
        }
        if let Some(prefix) = &self.prompt_prefix {
            prompt = format!("{prefix}{prompt}");
        }
        if self.running.is_some() {
            self.queue.push_back(prompt);
        } else {
            self.start(prompt);
        }
    }

    /// Starts a turn on a worker thread.
    fn start(&mut self, prompt: String) {
        self.seq += 1;
        let seq = self.seq;
        let prompt_id = uuid4();
        self.last_prompt_id = Some(prompt_id.clone());
        self.say(echo_line(&prompt));
        let ctl = Arc::new(Control::default());
        self.running = Some(Running {
            seq,
            ctl: Arc::clone(&ctl),
            prompt: prompt.clone(),
        });
        let turns = Arc::clone(&self.turns);
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let note = |n| {
                let _ = tx.send(Msg::Note(seq, n));
            };
            let ending = turns.run(&prompt_id, &prompt, &ctl, &note);
            let _ = tx.send(Msg::Ended(seq, ending));
        });
    }

    /// Escape: interrupt the running turn (unless its Stop already fired) and put its prompt,
    /// and any queued ones, back into the box before what is typed there.
    fn escape(&mut self) {
        let Some(running) = &self.running else {
            // Idle: the first Escape on a box with text arms, the second clears it.
            if self.clear_armed {
                self.input.set_text("");
                self.clear_armed = false;
            } else {
                self.clear_armed = !self.input.is_empty();
            }
            return;
        };
        if !running.ctl.interrupt() {
            return;
        }
        let Some(running) = self.running.take() else {
            return;
        };
        self.dialog = None;
        let mut parts = vec![running.prompt];
        parts.extend(self.queue.drain(..));
        if !self.input.is_empty() {
            parts.push(self.input.text());
        }
        self.input.set_text(&parts.join("\n"));
        self.say("  ⎿ Interrupted by user".into());
    }

    /// Fires `event` on this thread and shows hook failures.
    fn fire(&mut self, event: &Event) {
        let outcomes = self.turns.runner.fire(event);
        for problem in outcomes.iter().filter_map(|o| o.problem(event.name())) {
            self.say(format!("  ⎿ {problem}"));
        }
    }

    fn say(&mut self, line: String) {
        self.log.push(line);
        if self.log.len() > MAX_LOG {
            self.log.drain(..self.log.len() - MAX_LOG);
        }
    }

    fn draw(&mut self) {
        let status = match (&self.running, self.clear_armed) {
            (Some(_), _) => Some(match self.queue.len() {
                0 => "✻ Working… (esc to interrupt)".to_string(),
                n => format!("✻ Working… (esc to interrupt) · {n} queued"),
            }),
            (None, true) => Some("Esc again to clear".to_string()),
            (None, false) => None,
        };
        let input = self.input.text();
        let view = View {
            banner: &self.banner,
            log: &self.log,
            status: status.as_deref(),
            dialog: self.dialog.as_deref(),
            input: &input,
        };
        self.screen.draw(&view);
    }
}

/// The transcript line for a submitted prompt: `> ` and its first line, with a count of the
/// others.
fn echo_line(prompt: &str) -> String {
    let mut lines = prompt.lines();
    let first: String = lines.next().unwrap_or("").chars().take(MAX_ECHO).collect();
    match lines.count() {
        0 => format!("> {first}"),
        more => format!("> {first} [+{more} lines]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_known_flags() {
        let parsed = parse_args(&args(&[
            "--session-id",
            "abc",
            "--settings",
            "a.json",
            "--settings={\"hooks\":{}}",
            "--reply",
            "hi there",
            "--delay-ms=250",
            "--name",
            "w1",
            "--model",
            "m",
        ]))
        .unwrap();
        assert_eq!(
            parsed,
            Args {
                session_id: Some("abc".into()),
                settings: vec!["a.json".into(), "{\"hooks\":{}}".into()],
                reply: Some("hi there".into()),
                delay_ms: 250,
                name: Some("w1".into()),
                model: "m".into(),
                tab_width: None,
                prompt_prefix: None,
                limit_file: None,
                ignored: vec![],
                help: false,
            }
        );
    }

    #[test]
    fn defaults_and_unknown_arguments() {
        let parsed = parse_args(&args(&["--dangerously-skip-permissions", "extra", "-h"])).unwrap();
        assert_eq!(parsed.model, "sim");
        assert_eq!(parsed.delay_ms, 0);
        assert!(parsed.help);
        assert_eq!(parsed.ignored, ["--dangerously-skip-permissions", "extra"]);
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse_args(&args(&["--delay-ms", "soon"])).is_err());
        let err = parse_args(&args(&["--reply"])).unwrap_err();
        assert!(err.to_string().contains("--reply"), "{err}");
    }

    #[test]
    fn echo_lines() {
        assert_eq!(echo_line("hi"), "> hi");
        assert_eq!(echo_line("a\nb\nc"), "> a [+2 lines]");
    }
}
