//! `orch top`: the live view of every worker ([`crate::views::top`]) in this terminal, or with
//! `--popup` in a tmux popup over the current pane.
//!
//! It wakes on the file notifications of the state folder (the workers' folders, the
//! escalations, the transcripts whose growth is spend) and redraws the rows they touched; a
//! clock once a second moves the ages and asks tmux which panes live (a pane can die with no
//! file written, when its server is killed). The keys' actions run `orch tell`, `orch
//! interrupt` and `orch decide` as child processes, so rights, audit and delivery are the
//! commands' own, and the view never blocks while a prompt is delivered.
//!
//! `ORCH_TOP_TRACE=FILE` appends one JSON line per redraw (`ms` and `us`: Unix milli- and
//! microseconds after the frame was written, `cause`: `start`, `change`, `tick` or `key`,
//! `cursors` and `tokens`: each shown worker's newest seq and token total): what the tests and
//! the benchmark read.

use super::Ctx;
use crate::error::Error;
use crate::tmux::Tmux;
use crate::tmux::{Caller, TmuxServer};
use crate::views::top::{Board, KeyAction, View};
use anyhow::{bail, Context, Result};
use orch_store::Store;
use ratatui::crossterm::event::{self, Event, KeyEvent, KeyEventKind};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the ages move and tmux is asked which panes live.
const TICK: Duration = Duration::from_secs(1);

/// Flags of `orch top`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Open in a tmux popup over the current pane (inside tmux; q closes it).
    #[arg(long)]
    pub popup: bool,
    /// Show dead workers too (`D` toggles).
    #[arg(long, short)]
    pub all: bool,
    /// The tmux client to switch when attaching (given by `--popup` to the view it opens).
    #[arg(long, hide = true)]
    pub client: Option<String>,
}

/// What wakes the loop.
enum Wake {
    Key(KeyEvent),
    Resize,
    /// Paths the file watcher saw change.
    Changed(Vec<PathBuf>),
    /// A child `orch` finished: what to say about it.
    Done(String),
}

/// Runs `orch top` until `q`; with `--popup`, opens it in a tmux popup and returns when the
/// popup closes.
///
/// Errors: `--json` (a live view has no JSON; `orch --json ps` has the rows), no terminal,
/// `--popup` outside tmux or with a tmux older than 3.3, the state folder unreadable.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    if ctx.json {
        bail!(Error::Usage(
            "`orch top` is a live view with no JSON: `orch --json ps` prints the same rows once"
                .into()
        ));
    }
    if args.popup {
        return popup(args.all);
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(Error::Usage(
            "`orch top` needs a terminal: run it in a pane (or `orch top --popup` inside tmux); \
             `orch ps` prints the rows once"
                .into()
        ));
    }
    let state = Store::from_env()?;
    state.ensure()?;
    let (tx, rx) = channel();
    // The watch is set before the first read: no change can fall between them.
    let folders = crate::views::top::folders(&state)?;
    let changes = tx.clone();
    let roots: Vec<(&Path, bool)> = folders.iter().map(|d| (d.as_path(), true)).collect();
    let mut watcher = orch_store::watch::watcher(&roots, move |paths| {
        let _ = changes.send(Wake::Changed(paths));
    })?;
    let mut board = Board::load(&state)?;
    board.show_dead = args.all;
    let mut watched: Vec<PathBuf> = Vec::new();
    watch_transcripts(&board, watcher.as_mut(), &mut watched);
    let mut view = View {
        plain: !ctx.color,
        ..View::default()
    };
    loop {
        // Keys are read by a thread that stops before the terminal is handed to `tmux
        // attach`, so that it takes none of the person's keys there.
        let stop = Arc::new(AtomicBool::new(false));
        let keys = {
            let (tx, stop) = (tx.clone(), stop.clone());
            std::thread::spawn(move || read_keys(tx, &stop))
        };
        let mut terminal = ratatui::init();
        let outcome = looped(
            &mut terminal,
            &mut board,
            &mut view,
            &rx,
            &tx,
            &mut |board: &Board| watch_transcripts(board, watcher.as_mut(), &mut watched),
            args.client.as_deref(),
        );
        stop.store(true, Ordering::Relaxed);
        let _ = keys.join();
        ratatui::restore();
        match outcome? {
            // Back to the view when the person detaches.
            Some(id) => {
                if let Err(err) = attach(&state, &id) {
                    view.note = Some(format!("{err:#}"));
                }
            }
            None => return Ok(()),
        }
    }
}

/// Reads keys and resizes until `stop` is set or the terminal goes (looking at `stop` every
/// 50 ms between keys).
fn read_keys(tx: Sender<Wake>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match event::poll(Duration::from_millis(50)) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(_) => return,
        }
        let wake = match event::read() {
            Ok(Event::Key(key)) if key.kind == KeyEventKind::Press => Wake::Key(key),
            Ok(Event::Resize(..)) => Wake::Resize,
            Ok(_) => continue,
            Err(_) => return,
        };
        if tx.send(wake).is_err() {
            return;
        }
    }
}

/// Adds a watch on each transcript folder not watched yet; a folder that cannot be watched is
/// left (the row's spend then moves with its events).
fn watch_transcripts(board: &Board, watcher: &mut dyn notify::Watcher, watched: &mut Vec<PathBuf>) {
    for dir in board.transcript_folders() {
        if !watched.contains(&dir)
            && watcher
                .watch(&dir, notify::RecursiveMode::NonRecursive)
                .is_ok()
        {
            watched.push(dir);
        }
    }
}

/// The loop: redraws after each batch of wakes; returns the worker to attach to after the
/// terminal is given back, if a key asked for one that this client cannot switch to.
fn looped(
    terminal: &mut ratatui::DefaultTerminal,
    board: &mut Board,
    view: &mut View,
    rx: &std::sync::mpsc::Receiver<Wake>,
    tx: &Sender<Wake>,
    watch_more: &mut dyn FnMut(&Board),
    client: Option<&str>,
) -> Result<Option<String>> {
    let trace = std::env::var_os("ORCH_TOP_TRACE").map(PathBuf::from);
    let mut cause = "start";
    let mut dirty = true;
    let mut tick = Instant::now() + TICK;
    let reading_hosts = Arc::new(AtomicBool::new(false));
    loop {
        if dirty {
            view.settle(board);
            let now = orch_store::clock::now_ms();
            terminal
                .draw(|frame| crate::views::top::draw(frame, board, view, now))
                .context("cannot draw on the terminal")?;
            if let Some(path) = &trace {
                traced(path, board, cause);
            }
        }
        // The clock, also when changes come faster than it (a busy transcript).
        if Instant::now() >= tick {
            tick = Instant::now() + TICK;
            board.check_panes()?;
            read_hosts(board, &reading_hosts);
            (cause, dirty) = ("tick", true);
            continue;
        }
        let first = match rx.recv_timeout(tick.saturating_duration_since(Instant::now())) {
            Ok(wake) => wake,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        };
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let mut paths = Vec::new();
        cause = "change";
        dirty = false;
        for wake in batch {
            match wake {
                Wake::Changed(more) => paths.extend(more),
                Wake::Resize => (cause, dirty) = ("key", true),
                Wake::Done(note) => (view.note, dirty) = (Some(note), true),
                Wake::Key(key) => {
                    (cause, dirty) = ("key", true);
                    match view.key(board, key) {
                        None => {}
                        Some(KeyAction::Quit) => return Ok(None),
                        Some(KeyAction::Attach(id)) => match switch(board, &id, client)? {
                            Switched::Here => {
                                if client.is_some() {
                                    // In a popup: close it, the client shows the pane.
                                    return Ok(None);
                                }
                                view.note = Some(format!("switched to `{id}`"));
                            }
                            Switched::Elsewhere(note) => view.note = Some(note),
                            Switched::Leave => return Ok(Some(id)),
                        },
                        Some(action) => {
                            view.note = Some(start(action, tx.clone())?);
                        }
                    }
                }
            }
        }
        if !paths.is_empty() && board.apply(&paths)?.any() {
            dirty = true;
            watch_more(board);
        }
    }
}

/// Reads the spend of the remote workers on their hosts in a thread of its own (one at a
/// time: `running`), so that the view never waits on ssh; each reading it makes is written to
/// the worker's folder, which wakes the board. [`crate::spend::hosted::of`] reuses a reading
/// that stands, so a worker costs at most one round trip per
/// [`crate::spend::hosted::FRESH_MS`], and none between turns once read.
fn read_hosts(board: &Board, running: &Arc<AtomicBool>) {
    let remote = board.remote_workers();
    if remote.is_empty() || running.swap(true, Ordering::AcqRel) {
        return;
    }
    let running = running.clone();
    std::thread::spawn(move || {
        if let Ok(state) = Store::from_env() {
            for (meta, settled) in remote {
                if let Ok(worker) = crate::fleet::worker::Worker::of(&state, meta) {
                    crate::spend::hosted::of(&state, &worker, settled);
                }
            }
        }
        running.store(false, Ordering::Release);
    });
}

/// Appends one trace line: when the frame was written, why, and each shown worker's cursor
/// and tokens.
fn traced(path: &Path, board: &Board, cause: &str) {
    let rows = board.visible();
    let cursors: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|e| (e.id().to_string(), e.glance.cursor().into()))
        .collect();
    let tokens: serde_json::Map<String, serde_json::Value> = rows
        .iter()
        .map(|e| (e.id().to_string(), e.tokens.into()))
        .collect();
    let us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let line = serde_json::json!({
        "ms": us / 1000, "us": us, "cause": cause, "cursors": cursors, "tokens": tokens,
    });
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// Runs the `orch` command an action stands for in a thread; what it answered comes back as
/// [`Wake::Done`]. Returns the note to show meanwhile.
fn start(action: KeyAction, tx: Sender<Wake>) -> Result<String> {
    let (args, doing, done): (Vec<String>, String, String) = match action {
        KeyAction::Tell(id, text) => (
            vec!["tell".into(), id.clone(), text],
            format!("telling `{id}`..."),
            format!("told `{id}`"),
        ),
        KeyAction::Interrupt(id) => (
            vec!["interrupt".into(), id.clone()],
            format!("interrupting `{id}`..."),
            format!("interrupted `{id}`"),
        ),
        KeyAction::Decide(esc, text) => (
            vec!["decide".into(), esc.clone(), text],
            format!("deciding `{esc}`..."),
            format!("decided `{esc}`"),
        ),
        KeyAction::Attach(_) | KeyAction::Quit => return Ok(String::new()),
    };
    let exe = orch_store::paths::sibling_exe("orch")?;
    std::thread::spawn(move || {
        let note = match std::process::Command::new(exe)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => done,
            Ok(out) => String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("failed")
                .to_string(),
            Err(err) => format!("orch: cannot run `orch {}`: {err}", args[0]),
        };
        let _ = tx.send(Wake::Done(note));
    });
    Ok(doing)
}

/// Where an attach went.
enum Switched {
    /// This tmux client now shows the worker's pane.
    Here,
    /// Nothing to switch to here: why, and how to get there.
    Elsewhere(String),
    /// Leave the view and attach in this terminal.
    Leave,
}

/// Shows worker `id`'s pane: switches this tmux client to it when the view runs inside tmux
/// on the worker's server; a worker on another host gets the ssh command to reach it.
fn switch(board: &Board, id: &str, client: Option<&str>) -> Result<Switched> {
    let Some(entry) = board.entries.iter().find(|e| e.id() == id) else {
        return Ok(Switched::Elsewhere(format!("no worker `{id}`")));
    };
    let meta = &entry.glance.meta;
    if let Some(remote) = &meta.remote {
        return Ok(Switched::Elsewhere(format!(
            "`{id}` runs on `{}`: `ssh -t {} tmux attach` shows it there",
            remote.dest, remote.dest
        )));
    }
    if !entry.glance.alive {
        return Ok(Switched::Elsewhere(format!(
            "`{id}` has no pane ({})",
            entry.glance.status.as_str()
        )));
    }
    let Some(pane) = meta.pane.as_deref() else {
        return Ok(Switched::Elsewhere(format!("`{id}` has no pane")));
    };
    // A popup has `$TMUX` but no pane of its own (`$TMUX_PANE`): its server is the socket
    // in `$TMUX`, its client the one `--popup` named.
    let socket = std::env::var("TMUX")
        .ok()
        .and_then(|t| crate::tmux::socket_of(&t).map(str::to_string));
    if socket.is_none() || socket != meta.socket_path {
        return Ok(Switched::Leave);
    }
    let client = match client {
        Some(name) => name.to_string(),
        None => this_client(
            &meta.server,
            Caller::from_env().as_ref().map(|c| c.pane.as_str()),
        ),
    };
    if client.is_empty() {
        return Ok(Switched::Leave);
    }
    meta.server
        .run(&["switch-client", "-c", &client, "-t", pane])
        .with_context(|| format!("cannot switch tmux client `{client}` to `{id}`"))?;
    Ok(Switched::Here)
}

/// The tmux client showing `pane` (the view's own), empty when none does.
fn this_client(server: &TmuxServer, pane: Option<&str>) -> String {
    let Some(pane) = pane else {
        return String::new();
    };
    server
        .run(&["display-message", "-p", "-t", pane, "#{client_name}"])
        .map(|out| out.trim().to_string())
        .unwrap_or_default()
}

/// Attaches this terminal to worker `id`'s tmux session at its pane (after the view gave the
/// terminal back); returns when the person detaches.
fn attach(state: &Store, id: &str) -> Result<()> {
    let meta = state.meta(id)?;
    let pane = meta.pane.clone().unwrap_or_default();
    let status = meta
        .server
        .command()
        .args(["select-window", "-t", &pane, ";"])
        .args(["select-pane", "-t", &pane, ";"])
        .args(["attach-session", "-t", &pane])
        .status()
        .context("cannot run `tmux attach-session`")?;
    if !status.success() {
        bail!(
            "cannot attach to `{id}`'s pane {pane}: `{} attach -t {pane}` failed",
            meta.server.describe()
        );
    }
    Ok(())
}

/// Opens `orch top` in a tmux popup over the caller's pane, with orch's environment, and
/// waits for it to close.
fn popup(all: bool) -> Result<()> {
    let Some(caller) = Caller::from_env() else {
        bail!(Error::Usage(
            "`orch top --popup` opens a tmux popup: run it inside tmux, or `orch top` in any \
             terminal"
                .into()
        ));
    };
    let version = crate::tmux::check_version()?;
    if crate::tmux::parse_version(&version).is_some_and(|v| v < (3, 3)) {
        bail!("`{version}` has no popups with an environment: `orch top --popup` needs tmux 3.3 or newer (`orch top` works in a pane)");
    }
    let server = TmuxServer {
        socket_name: None,
        socket_path: Some(caller.socket_path.clone()),
    };
    let client = this_client(&server, Some(&caller.pane));
    let exe = orch_store::paths::sibling_exe("orch")?;
    let mut command = format!("exec {} top", crate::shell::quote(&exe.to_string_lossy()));
    if all {
        command.push_str(" --all");
    }
    if !client.is_empty() {
        command.push_str(&format!(" --client {}", crate::shell::quote(&client)));
    }
    let mut argv: Vec<String> = [
        "display-popup",
        "-E",
        "-w",
        "90%",
        "-h",
        "80%",
        "-T",
        " orch top ",
    ]
    .map(String::from)
    .to_vec();
    if !client.is_empty() {
        argv.extend(["-c".into(), client.clone()]);
    }
    for var in [
        "ORCH_HOME",
        "ORCH_TMUX_SOCKET",
        "ORCH_SSH",
        "CLAUDE_CONFIG_DIR",
        "HOME",
        "PATH",
        "ORCH_TOP_TRACE",
    ] {
        if let Some(value) = std::env::var_os(var) {
            argv.extend(["-e".into(), format!("{var}={}", value.to_string_lossy())]);
        }
    }
    argv.push(command);
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    server
        .run(&args)
        .context("cannot open the popup (`tmux display-popup`)")?;
    Ok(())
}
