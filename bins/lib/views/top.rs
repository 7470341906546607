//! `orch top`'s board, drawing and keys: every worker at a glance (status, age of its newest
//! event, last message, tokens and cost, unread inbox items, open escalations) and the open
//! escalations, kept current from the state folder's file notifications; what each key asks
//! for. The terminal, the loop and the actions themselves are `cmd::top`'s.
//!
//! Nothing here touches a terminal: [`draw`] renders into any ratatui frame (a test's
//! `TestBackend` as well as crossterm's), and [`View::key`] turns a key into an [`Action`].

use crate::coordination::escalation::Escalation;
use crate::fleet::status::Status;
use crate::spend::usage::Tally;
use crate::views::summary::{self, Panes, Summary};
use anyhow::Result;
use orch_store::worker::{Counter, File};
use orch_store::Store;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Below this many columns the table leaves out ROLE and HARNESS.
const NARROW: u16 = 110;

/// A worker busy with no event for this long is drawn as possibly stuck (its age in red).
pub const STUCK_MS: u64 = 10 * 60 * 1000;

/// The files of a worker's folder whose change can change its row; the others (usage.json,
/// lock files, temp files of atomic writes) are passed over, so that reading a row (which may
/// write `usage.json`) never wakes the board.
const WATCHED: [&str; 6] = [
    File::Events.name(),
    File::Meta.name(),
    File::Inbox.name(),
    File::InboxAcked.name(),
    File::Budget.name(),
    File::RelayGone.name(),
];

/// The folders whose changes move the board: the workers' folders (watched recursively) and
/// the escalations folder. Both exist once this returns.
///
/// Errors: a folder cannot be created.
pub fn folders(state: &Store) -> Result<Vec<PathBuf>> {
    let dirs = vec![
        state.root.join("workers"),
        crate::coordination::escalation::folder(state),
    ];
    for dir in &dirs {
        orch_store::files::create_private_dir(dir)?;
    }
    Ok(dirs)
}

/// One worker's row.
#[derive(Debug, Clone)]
pub struct Entry {
    pub glance: Summary,
    /// Every token its transcript records, `None` when its harness keeps no record orch reads.
    pub tokens: Option<u64>,
    /// Their cost in USD, `None` when unknown (no record, or a model with no price).
    pub cost_usd: Option<f64>,
    /// Inbox items not acknowledged yet (`orch inbox --ack`).
    pub unread: u64,
}

impl Entry {
    /// The worker's id.
    pub fn id(&self) -> &str {
        &self.glance.meta.id
    }
}

/// Every worker's row and the open escalations, as the state folder has them.
pub struct Board {
    state: Store,
    /// Oldest first, dead ones included ([`Board::visible`] filters).
    pub entries: Vec<Entry>,
    /// The open escalations, oldest first.
    pub escalations: Vec<Escalation>,
    /// Show dead workers too.
    pub show_dead: bool,
    tallies: HashMap<String, Tally>,
    panes: Panes,
    /// Each known transcript and whose it is, so that its growth updates that row's spend.
    transcripts: HashMap<PathBuf, String>,
}

/// What a batch of changed paths touched.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touched {
    /// Worker ids whose rows were read again.
    pub workers: Vec<String>,
    /// The escalations were read again.
    pub escalations: bool,
}

impl Touched {
    /// Whether anything was read again (the board needs a redraw).
    pub fn any(&self) -> bool {
        !self.workers.is_empty() || self.escalations
    }
}

impl Board {
    /// Reads every worker and the open escalations.
    ///
    /// Errors: the state folder cannot be read.
    pub fn load(state: &Store) -> Result<Board> {
        let mut board = Board {
            state: state.clone(),
            entries: Vec::new(),
            escalations: Vec::new(),
            show_dead: false,
            tallies: HashMap::new(),
            panes: Panes::default(),
            transcripts: HashMap::new(),
        };
        for meta in state.workers()? {
            board.read(meta)?;
        }
        board.escalations = crate::coordination::escalation::list(state, true)?;
        Ok(board)
    }

    /// The folders of the transcripts found so far (watched for spend as it grows).
    pub fn transcript_folders(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self
            .transcripts
            .keys()
            .filter_map(|p| p.parent().map(Path::to_path_buf))
            .collect();
        dirs.sort();
        dirs.dedup();
        dirs
    }

    /// The rows shown: dead workers only with [`Board::show_dead`].
    pub fn visible(&self) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| self.show_dead || e.glance.status != Status::Dead)
            .collect()
    }

    /// Reads again what `paths` (from the file watcher) changed: a worker's row when a file of
    /// its folder that matters changed (or the folder appeared), the escalations when one of
    /// their files did, a worker's spend when its transcript grew. Anything else is passed
    /// over.
    ///
    /// Errors: a changed worker's files cannot be read.
    pub fn apply(&mut self, paths: &[PathBuf]) -> Result<Touched> {
        let workers = self.state.root.join("workers");
        let escalations = crate::coordination::escalation::folder(&self.state);
        let mut touched = Touched::default();
        for path in paths {
            if let Some(id) = self.transcripts.get(path) {
                if !touched.workers.contains(id) {
                    touched.workers.push(id.clone());
                }
            } else if let Ok(rest) = path.strip_prefix(&workers) {
                let mut parts = rest.components().map(|c| c.as_os_str().to_string_lossy());
                let Some(id) = parts.next().map(|p| p.into_owned()) else {
                    continue;
                };
                let relevant = match parts.next() {
                    None => true,
                    Some(file) => WATCHED.contains(&file.as_ref()),
                };
                if relevant && !touched.workers.contains(&id) {
                    touched.workers.push(id);
                }
            } else if path.starts_with(&escalations)
                && path
                    .file_name()
                    .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
            {
                touched.escalations = true;
            }
        }
        for id in &touched.workers {
            self.refresh(id)?;
        }
        if touched.escalations {
            self.escalations = crate::coordination::escalation::list(&self.state, true)?;
        }
        Ok(touched)
    }

    /// Reads worker `id`'s row again (asking tmux afresh whether its pane lives); a folder
    /// without readable metadata yet is passed over.
    ///
    /// Errors: its event log cannot be read.
    pub fn refresh(&mut self, id: &str) -> Result<()> {
        let Ok(meta) = self.state.meta(id) else {
            return Ok(());
        };
        self.panes.forget(&meta.server);
        self.read(meta)
    }

    /// Asks tmux again which panes live (a pane can die with no file written: its server
    /// killed) and reads again each row whose pane came or went; also picks up workers whose
    /// folder appeared unnoticed. Returns whether a row changed.
    ///
    /// Errors: a changed worker's files cannot be read.
    pub fn check_panes(&mut self) -> Result<bool> {
        self.panes.forget_all();
        let mut changed = Vec::new();
        for entry in &self.entries {
            let meta = &entry.glance.meta;
            if self.panes.alive(&self.state, meta) != entry.glance.alive {
                changed.push(meta.id.clone());
            }
        }
        if let Ok(folders) = std::fs::read_dir(self.state.root.join("workers")) {
            for folder in folders.flatten() {
                let id = folder.file_name().to_string_lossy().into_owned();
                if !self.entries.iter().any(|e| e.id() == id) {
                    changed.push(id);
                }
            }
        }
        for id in &changed {
            self.refresh(id)?;
        }
        Ok(!changed.is_empty())
    }

    /// Reads `meta`'s row and puts it in place (new rows go last: workers come oldest first).
    fn read(&mut self, meta: orch_store::Meta) -> Result<()> {
        let worker = crate::fleet::worker::Worker::of(&self.state, meta)?;
        crate::remote::relay::ensure_relay(&worker)?;
        let tally = self.tallies.entry(worker.meta.id.clone()).or_default();
        let used = tally.read(&worker).ok().flatten();
        if let Some(path) = tally.transcript() {
            self.transcripts
                .insert(path.to_path_buf(), worker.meta.id.clone());
        }
        let id = worker.meta.id.clone();
        let unread = worker
            .dir
            .inbox_cursor()?
            .saturating_sub(worker.dir.counter(Counter::Acked));
        let glance = summary::of(&self.state, worker.meta, &mut self.panes)?;
        let entry = Entry {
            glance,
            tokens: used.as_ref().map(|u| u.total.total()),
            cost_usd: used.as_ref().and_then(|u| u.cost_usd),
            unread,
        };
        match self.entries.iter_mut().find(|e| e.id() == id) {
            Some(old) => *old = entry,
            None => self.entries.push(entry),
        }
        Ok(())
    }
}

/// Which list the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Workers,
    Escalations,
}

/// What the bottom line is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Keys act on the selection.
    Browse,
    /// Typing a prompt for a worker.
    Tell { worker: String, text: String },
    /// Typing the decision on an escalation (a bare number picks that option).
    Decide { escalation: String, text: String },
    /// Asking before an interrupt.
    Confirm { worker: String },
}

/// What a key asks `cmd::top` to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Show the worker's pane.
    Attach(String),
    /// `orch tell WORKER TEXT`.
    Tell(String, String),
    /// `orch interrupt WORKER`.
    Interrupt(String),
    /// `orch decide ESCALATION TEXT`.
    Decide(String, String),
    Quit,
}

/// What the person looks at: the selection, the focus, the bottom line.
#[derive(Debug, Clone)]
pub struct View {
    /// The selected worker's id.
    pub worker: Option<String>,
    /// The selected escalation's id.
    pub escalation: Option<String>,
    pub focus: Focus,
    pub mode: Mode,
    /// A word on the last action (shown until the next key).
    pub note: Option<String>,
}

impl Default for View {
    fn default() -> View {
        View {
            worker: None,
            escalation: None,
            focus: Focus::Workers,
            mode: Mode::Browse,
            note: None,
        }
    }
}

impl View {
    /// Keeps the selection on rows that exist: the first row when none (or a vanished one) is
    /// selected.
    pub fn settle(&mut self, board: &Board) {
        let rows = board.visible();
        if !rows.iter().any(|e| Some(e.id()) == self.worker.as_deref()) {
            self.worker = rows.first().map(|e| e.id().to_string());
        }
        if !board
            .escalations
            .iter()
            .any(|e| Some(e.id.as_str()) == self.escalation.as_deref())
        {
            self.escalation = board.escalations.first().map(|e| e.id.clone());
        }
        if board.escalations.is_empty() {
            self.focus = Focus::Workers;
        }
    }

    /// Handles one key; returns what it asks for, if anything.
    pub fn key(&mut self, board: &mut Board, key: KeyEvent) -> Option<Action> {
        self.settle(board);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        self.note = None;
        match std::mem::replace(&mut self.mode, Mode::Browse) {
            Mode::Browse => self.browse(board, key),
            Mode::Confirm { worker } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Interrupt(worker)),
                _ => {
                    self.note = Some("not interrupted".into());
                    None
                }
            },
            Mode::Tell { worker, mut text } => {
                match edit(&mut text, key, ctrl) {
                    Edit::Typing => self.mode = Mode::Tell { worker, text },
                    Edit::Cancel => self.note = Some("nothing told".into()),
                    Edit::Done if text.trim().is_empty() => {
                        self.note = Some("nothing told: the prompt was empty".into())
                    }
                    Edit::Done => return Some(Action::Tell(worker, text)),
                }
                None
            }
            Mode::Decide {
                escalation,
                mut text,
            } => {
                match edit(&mut text, key, ctrl) {
                    Edit::Typing => self.mode = Mode::Decide { escalation, text },
                    Edit::Cancel => self.note = Some("not decided".into()),
                    Edit::Done => {
                        let options = board
                            .escalations
                            .iter()
                            .find(|e| e.id == escalation)
                            .map(|e| e.options.clone())
                            .unwrap_or_default();
                        let picked = text
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|n| options.get(n.wrapping_sub(1)).cloned());
                        let text = picked.unwrap_or(text);
                        if text.trim().is_empty() {
                            self.note = Some("not decided: the decision was empty".into());
                        } else {
                            return Some(Action::Decide(escalation, text));
                        }
                    }
                }
                None
            }
        }
    }

    fn browse(&mut self, board: &mut Board, key: KeyEvent) -> Option<Action> {
        let worker = self.worker.clone();
        // The escalations pane acts on the selected escalation's worker.
        let target = match self.focus {
            Focus::Workers => worker,
            Focus::Escalations => self
                .escalation
                .as_ref()
                .and_then(|id| board.escalations.iter().find(|e| &e.id == id))
                .map(|e| e.worker.clone()),
        };
        let need = |what: &str| format!("no worker selected to {what}");
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => return Some(Action::Quit),
            KeyCode::Up | KeyCode::Char('k') => self.step(board, -1),
            KeyCode::Down | KeyCode::Char('j') => self.step(board, 1),
            KeyCode::Tab | KeyCode::BackTab => {
                self.focus = match self.focus {
                    Focus::Workers if !board.escalations.is_empty() => Focus::Escalations,
                    Focus::Workers => {
                        self.note = Some("no open escalations".into());
                        Focus::Workers
                    }
                    Focus::Escalations => Focus::Workers,
                }
            }
            KeyCode::Char('D') => {
                board.show_dead = !board.show_dead;
                self.settle(board);
            }
            KeyCode::Enter | KeyCode::Char('a') => match target {
                Some(id) => return Some(Action::Attach(id)),
                None => self.note = Some(need("attach to")),
            },
            KeyCode::Char('t') => match target {
                Some(worker) => {
                    self.mode = Mode::Tell {
                        worker,
                        text: String::new(),
                    }
                }
                None => self.note = Some(need("tell")),
            },
            KeyCode::Char('i') => match target {
                Some(worker) => self.mode = Mode::Confirm { worker },
                None => self.note = Some(need("interrupt")),
            },
            KeyCode::Char('d') => {
                let open = match self.focus {
                    Focus::Escalations => self.escalation.clone(),
                    Focus::Workers => target.as_ref().and_then(|id| {
                        board
                            .escalations
                            .iter()
                            .find(|e| &e.worker == id)
                            .map(|e| e.id.clone())
                    }),
                };
                match open {
                    Some(escalation) => {
                        self.mode = Mode::Decide {
                            escalation,
                            text: String::new(),
                        }
                    }
                    None => {
                        self.note = Some(match target {
                            Some(id) => format!("`{id}` has no open escalation"),
                            None => "no open escalations".into(),
                        })
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// Moves the selection of the focused list by `by` rows, stopping at its ends.
    fn step(&mut self, board: &Board, by: isize) {
        let (ids, selected): (Vec<String>, &mut Option<String>) = match self.focus {
            Focus::Workers => (
                board.visible().iter().map(|e| e.id().to_string()).collect(),
                &mut self.worker,
            ),
            Focus::Escalations => (
                board.escalations.iter().map(|e| e.id.clone()).collect(),
                &mut self.escalation,
            ),
        };
        let at = ids
            .iter()
            .position(|id| Some(id) == selected.as_ref())
            .unwrap_or(0);
        let to = at
            .saturating_add_signed(by)
            .min(ids.len().saturating_sub(1));
        *selected = ids.get(to).cloned();
    }
}

enum Edit {
    Typing,
    Cancel,
    Done,
}

/// One key of a line being typed: characters, Backspace, Ctrl-U (clear); Enter ends it,
/// Escape cancels it.
fn edit(text: &mut String, key: KeyEvent, ctrl: bool) -> Edit {
    match key.code {
        KeyCode::Enter => return Edit::Done,
        KeyCode::Esc => return Edit::Cancel,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => {}
    }
    Edit::Typing
}

/// The color a status is drawn in.
fn status_style(status: Status) -> Style {
    let color = match status {
        Status::Busy => Color::Yellow,
        Status::Idle => Color::Green,
        Status::NeedsInput => Color::Magenta,
        Status::Error => Color::Red,
        Status::Starting => Color::Cyan,
        Status::Resumable => Color::Blue,
        Status::Dead => Color::DarkGray,
    };
    Style::new().fg(color)
}

/// Draws the board at `now_ms` (Unix milliseconds, for the ages): a summary line, the
/// workers' table, the open escalations, and the bottom line (keys, what is being typed, or
/// the last action's note).
pub fn draw(frame: &mut Frame, board: &Board, view: &View, now_ms: u64) {
    let rows = board.visible();
    let esc_height = match board.escalations.len() {
        0 => 0,
        n => (n as u16).min(6) + 2,
    };
    let [head, table, escalations, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(esc_height),
        Constraint::Length(1),
    ])
    .areas(frame.area());

    frame.render_widget(Paragraph::new(headline(board, now_ms)), head);

    // A narrow terminal (a popup, a side pane) drops ROLE and HARNESS for the last message.
    let narrow = frame.area().width < NARROW;
    let header = Row::new(columns(
        narrow,
        [
            "ID",
            "NAME",
            "ROLE",
            "HARNESS",
            "STATUS",
            "AGE",
            "INBOX",
            "ESC",
            "TOKENS",
            "COST",
            "LAST MESSAGE",
        ],
    ))
    .style(Style::new().add_modifier(Modifier::BOLD));
    let lines: Vec<Row> = rows
        .iter()
        .map(|e| {
            let meta = &e.glance.meta;
            let age = e.glance.last_ms().map(|ms| now_ms.saturating_sub(ms));
            let stuck = e.glance.status == Status::Busy && age.is_some_and(|a| a >= STUCK_MS);
            let open = board
                .escalations
                .iter()
                .filter(|x| x.worker == meta.id)
                .count();
            let dash = || "-".to_string();
            let cost = match (e.cost_usd, meta.budget.as_ref().and_then(|b| b.usd)) {
                (Some(c), Some(b)) => format!("${c:.2}/{b}"),
                (Some(c), None) => format!("${c:.2}"),
                (None, _) => dash(),
            };
            let name = match &meta.remote {
                Some(r) => format!("{}@{}", meta.name, r.dest),
                None => meta.name.clone(),
            };
            let cells = [
                Cell::from(meta.id.clone()),
                Cell::from(name),
                Cell::from(meta.role.to_string()),
                Cell::from(meta.harness.to_string()),
                Cell::from(e.glance.status.as_str()).style(status_style(e.glance.status)),
                Cell::from(age.map_or_else(dash, orch_store::clock::age)).style(if stuck {
                    Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                }),
                Cell::from(match e.unread {
                    0 => dash(),
                    n => n.to_string(),
                }),
                Cell::from(match open {
                    0 => dash(),
                    n => n.to_string(),
                })
                .style(if open > 0 {
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD)
                } else {
                    Style::new()
                }),
                Cell::from(e.tokens.map_or_else(dash, compact)),
                Cell::from(cost),
                Cell::from(summary::first_line(&e.glance.message).to_string()),
            ];
            Row::new(columns(narrow, cells))
        })
        .collect();
    let widths = columns(
        narrow,
        [
            Constraint::Length(5),
            Constraint::Length(16),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(11),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Fill(1),
        ],
    );
    let selected = rows
        .iter()
        .position(|e| Some(e.id()) == view.worker.as_deref());
    let focused = |f: Focus| match view.focus == f {
        true => Style::new().add_modifier(Modifier::REVERSED),
        false => Style::new().add_modifier(Modifier::UNDERLINED),
    };
    let empty = rows.is_empty();
    let table_widget = Table::new(lines, widths)
        .header(header)
        .row_highlight_style(focused(Focus::Workers))
        .block(Block::new().borders(Borders::TOP).title(match empty {
            true => " no workers (spawn one with `orch spawn`) ".to_string(),
            false => format!(" workers ({}) ", rows.len()),
        }));
    let mut state = TableState::default().with_selected(selected);
    frame.render_stateful_widget(table_widget, table, &mut state);

    if esc_height > 0 {
        let lines: Vec<Row> = board
            .escalations
            .iter()
            .map(|x| {
                let options = x
                    .options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| format!("{}) {o}", i + 1))
                    .collect::<Vec<_>>()
                    .join("  ");
                Row::new([
                    Cell::from(x.id.clone()),
                    Cell::from(x.worker.clone()),
                    Cell::from(x.axes.join(",")),
                    Cell::from(orch_store::clock::age(now_ms.saturating_sub(x.created_ms))),
                    Cell::from(match options.is_empty() {
                        true => summary::first_line(&x.summary).to_string(),
                        false => format!("{}  [{options}]", summary::first_line(&x.summary)),
                    }),
                ])
            })
            .collect();
        let selected = board
            .escalations
            .iter()
            .position(|x| Some(&x.id) == view.escalation.as_ref());
        let widths = [
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(26),
            Constraint::Length(5),
            Constraint::Fill(1),
        ];
        let widget = Table::new(lines, widths)
            .row_highlight_style(focused(Focus::Escalations))
            .block(
                Block::new()
                    .borders(Borders::TOP)
                    .title(format!(" open escalations ({}) ", board.escalations.len()))
                    .title_style(Style::new().fg(Color::Magenta)),
            );
        let mut state = TableState::default().with_selected(selected);
        frame.render_stateful_widget(widget, escalations, &mut state);
    }

    frame.render_widget(Paragraph::new(bottom_line(board, view)), foot);
}

/// The workers' table's columns as shown: all, or without ROLE and HARNESS (the third and
/// fourth) when `narrow`.
fn columns<T>(narrow: bool, all: [T; 11]) -> Vec<T> {
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| !(narrow && (*i == 2 || *i == 3)))
        .map(|(_, c)| c)
        .collect()
}

/// The summary line: how many workers in each status, open escalations, spend, the time.
fn headline(board: &Board, now_ms: u64) -> Line<'static> {
    let rows = board.visible();
    let mut counts: Vec<(Status, usize)> = Vec::new();
    for e in &rows {
        match counts.iter_mut().find(|(s, _)| *s == e.glance.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.glance.status, 1)),
        }
    }
    let mut spans = vec![Span::styled(
        "orch top",
        Style::new().add_modifier(Modifier::BOLD),
    )];
    spans.push(Span::raw(format!("  {} workers", rows.len())));
    for (status, n) in counts {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(
            format!("{n} {}", status.as_str()),
            status_style(status),
        ));
    }
    if !board.escalations.is_empty() {
        spans.push(Span::styled(
            format!("  {} to decide", board.escalations.len()),
            Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
        ));
    }
    let spent: Option<f64> = board
        .entries
        .iter()
        .filter_map(|e| e.cost_usd)
        .reduce(|a, b| a + b);
    if let Some(usd) = spent {
        spans.push(Span::raw(format!("  ${usd:.2} spent")));
    }
    let secs = (now_ms / 1000) % 86_400;
    spans.push(Span::raw(format!(
        "  {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )));
    Line::from(spans)
}

/// The bottom line: what is being typed, else the last note, else the keys.
fn bottom_line(board: &Board, view: &View) -> Line<'static> {
    let prompt = |label: String, text: &str| {
        Line::from(vec![
            Span::styled(label, Style::new().add_modifier(Modifier::BOLD)),
            Span::raw(text.to_string()),
            Span::styled("_", Style::new().add_modifier(Modifier::SLOW_BLINK)),
        ])
    };
    match &view.mode {
        Mode::Tell { worker, text } => prompt(format!("tell {worker}> "), text),
        Mode::Decide { escalation, text } => {
            let options = board
                .escalations
                .iter()
                .find(|e| &e.id == escalation)
                .map(|e| e.options.len())
                .unwrap_or(0);
            let hint = match options {
                0 => String::new(),
                n => format!(" (1-{n} picks an option)"),
            };
            prompt(format!("decide {escalation}{hint}> "), text)
        }
        Mode::Confirm { worker } => Line::from(Span::styled(
            format!("interrupt {worker}? y/n"),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )),
        Mode::Browse => match &view.note {
            Some(note) => Line::from(note.clone()),
            None => Line::from(Span::styled(
                "enter attach  t tell  i interrupt  d decide  tab escalations  j/k move  \
                 D dead  q quit",
                Style::new().fg(Color::DarkGray),
            )),
        },
    }
}

/// A token count in a few characters: `950`, `19.1k`, `2.4M`.
pub fn compact(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_store::Meta;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use serde_json::json;

    const NOW: u64 = 1_796_200_000_000;

    /// A worker's record on a tmux socket no server listens on (a test never asks the
    /// person's own server).
    fn meta(id: &str, name: &str) -> Meta {
        let mut meta = Meta::new(id, "worker", "operator");
        meta.name = name.into();
        meta.server.socket_name = Some(format!("orch-unit-none-{}", std::process::id()));
        meta
    }

    fn entry(meta: Meta, status: Status, age_ms: u64, message: &str) -> Entry {
        Entry {
            glance: Summary {
                meta,
                alive: status != Status::Dead,
                status,
                last: orch_store::Event::from_json(
                    json!({"seq": 4, "event": "stop", "ts_ms": NOW - age_ms}),
                ),
                message: message.into(),
            },
            tokens: None,
            cost_usd: None,
            unread: 0,
        }
    }

    fn escalation(id: &str, worker: &str, options: &[&str]) -> Escalation {
        serde_json::from_value(json!({
            "id": id, "worker": worker, "parent": "operator", "axes": ["reversibility"],
            "summary": "Drop the users table?\nIt holds 3 rows.", "options": options,
            "source": "worker", "status": "open", "created_ms": NOW - 90_000,
        }))
        .unwrap()
    }

    fn board(root: &Path, entries: Vec<Entry>, escalations: Vec<Escalation>) -> Board {
        Board {
            state: Store {
                root: root.to_path_buf(),
            },
            entries,
            escalations,
            show_dead: false,
            tallies: HashMap::new(),
            panes: Panes::default(),
            transcripts: HashMap::new(),
        }
    }

    /// Three workers: a busy one that spent, an idle one with news, a dead one.
    fn fleet(root: &Path) -> Board {
        let mut busy = meta("w1", "backend");
        busy.budget = Some(orch_store::Budget {
            usd: Some(5.0),
            tokens: None,
            interrupt: false,
        });
        let mut w1 = entry(busy, Status::Busy, STUCK_MS + 1, "");
        w1.tokens = Some(19_140);
        w1.cost_usd = Some(0.4217);
        let mut w2 = entry(
            meta("w2", "researcher"),
            Status::Idle,
            3_000,
            "\nFound 3 callers of the old API.\nDetails follow.",
        );
        w2.unread = 2;
        let w3 = entry(meta("w3", "gone"), Status::Dead, 60_000, "bye");
        board(
            root,
            vec![w1, w2, w3],
            vec![escalation("e1", "w2", &["yes", "no"])],
        )
    }

    fn screen(board: &Board, view: &View) -> String {
        screen_of(board, view, 140)
    }

    fn screen_of(board: &Board, view: &View, width: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, 16)).unwrap();
        terminal
            .draw(|frame| draw(frame, board, view, NOW))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn line_of<'s>(screen: &'s str, needle: &str) -> &'s str {
        screen
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{screen}"))
    }

    #[test]
    fn draws_each_workers_status_spend_news_and_the_open_escalations() {
        let dir = tempfile::tempdir().unwrap();
        let mut board = fleet(dir.path());
        let mut view = View::default();
        view.settle(&board);
        let shown = screen(&board, &view);
        let head = line_of(&shown, "orch top");
        assert!(head.contains("2 workers"), "{head}");
        assert!(head.contains("1 busy") && head.contains("1 idle"), "{head}");
        assert!(
            head.contains("1 to decide") && head.contains("$0.42 spent"),
            "{head}"
        );
        let w1 = line_of(&shown, "backend");
        for want in ["w1", "busy", "10m", "19.1k", "$0.42/5"] {
            assert!(w1.contains(want), "{want} missing: {w1}");
        }
        let w2 = line_of(&shown, "researcher");
        assert!(w2.contains("Found 3 callers of the old API."), "{w2}");
        assert!(
            !shown.contains("Details follow"),
            "only the first line: {shown}"
        );
        assert!(
            w2.contains(" 2 ") && w2.contains(" 1 "),
            "inbox 2, escalation 1: {w2}"
        );
        assert!(!shown.contains("gone"), "dead workers are hidden: {shown}");
        let esc = line_of(&shown, "e1 ");
        assert!(esc.contains("reversibility") && esc.contains("1m"), "{esc}");
        assert!(
            esc.contains("Drop the users table?  [1) yes  2) no]"),
            "{esc}"
        );
        assert!(line_of(&shown, "q quit").contains("t tell"));

        // The busy worker's age is drawn as stuck: red.
        let mut terminal = Terminal::new(TestBackend::new(140, 16)).unwrap();
        terminal
            .draw(|frame| draw(frame, &board, &view, NOW))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        let y = (0..16)
            .find(|y| {
                (0..140)
                    .map(|x| buffer[(x, *y)].symbol())
                    .collect::<String>()
                    .contains("backend")
            })
            .unwrap();
        let x = (0..140)
            .find(|x| buffer[(*x, y)].symbol() == "1" && buffer[(*x + 1, y)].symbol() == "0")
            .unwrap();
        assert_eq!(buffer[(x, y)].fg, Color::Red);

        board.show_dead = true;
        view.settle(&board);
        assert!(line_of(&screen(&board, &view), "gone").contains("dead"));

        // 80 columns (a popup over a small window): no ROLE and HARNESS, the message stays.
        let narrow = screen_of(&board, &view, 80);
        assert!(
            !narrow.contains("HARNESS") && !narrow.contains("ROLE"),
            "{narrow}"
        );
        let w2 = line_of(&narrow, "researcher");
        assert!(w2.contains("idle") && w2.contains("Found 3 cal"), "{w2}");
    }

    #[test]
    fn an_empty_board_says_how_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let board = board(dir.path(), Vec::new(), Vec::new());
        let shown = screen(&board, &View::default());
        assert!(
            shown.contains("no workers (spawn one with `orch spawn`)"),
            "{shown}"
        );
    }

    fn press(view: &mut View, board: &mut Board, keys: &str) -> Option<Action> {
        let mut last = None;
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                '\x1b' => KeyCode::Esc,
                '\x08' => KeyCode::Backspace,
                c => KeyCode::Char(c),
            };
            last = view.key(board, KeyEvent::new(code, KeyModifiers::NONE));
        }
        last
    }

    #[test]
    fn keys_ask_for_attach_tell_interrupt_and_decide() {
        let dir = tempfile::tempdir().unwrap();
        let mut board = fleet(dir.path());
        let mut view = View::default();
        assert_eq!(
            press(&mut view, &mut board, "\n"),
            Some(Action::Attach("w1".into()))
        );
        assert_eq!(
            press(&mut view, &mut board, "tship itx\x08\n"),
            Some(Action::Tell("w1".into(), "ship it".into()))
        );
        assert_eq!(press(&mut view, &mut board, "t\x1b"), None);
        assert_eq!(view.note.as_deref(), Some("nothing told"));
        assert_eq!(
            press(&mut view, &mut board, "t  \n"),
            None,
            "an empty prompt is no tell"
        );
        assert_eq!(press(&mut view, &mut board, "in"), None);
        assert_eq!(view.note.as_deref(), Some("not interrupted"));
        assert_eq!(
            press(&mut view, &mut board, "iy"),
            Some(Action::Interrupt("w1".into()))
        );
        // w1 has no escalation; w2 (one down, w3 is dead and hidden) has e1.
        assert_eq!(press(&mut view, &mut board, "d"), None);
        assert_eq!(view.note.as_deref(), Some("`w1` has no open escalation"));
        assert_eq!(press(&mut view, &mut board, "jj"), None);
        assert_eq!(
            view.worker.as_deref(),
            Some("w2"),
            "stops at the last shown row"
        );
        assert_eq!(
            press(&mut view, &mut board, "d2\n"),
            Some(Action::Decide("e1".into(), "no".into())),
            "a number picks that option"
        );
        // From the escalations pane: its worker, its escalation, free text.
        press(&mut view, &mut board, "k\t");
        assert_eq!(view.focus, Focus::Escalations);
        assert_eq!(
            press(&mut view, &mut board, "a"),
            Some(Action::Attach("w2".into()))
        );
        assert_eq!(
            press(&mut view, &mut board, "dkeep the table\n"),
            Some(Action::Decide("e1".into(), "keep the table".into()))
        );
        assert_eq!(press(&mut view, &mut board, "q"), Some(Action::Quit));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        view.mode = Mode::Tell {
            worker: "w1".into(),
            text: "half".into(),
        };
        assert_eq!(view.key(&mut board, ctrl_c), Some(Action::Quit));
    }

    #[test]
    fn only_the_files_that_move_a_row_wake_the_board() {
        let dir = tempfile::tempdir().unwrap();
        let state = Store {
            root: dir.path().to_path_buf(),
        };
        state.ensure().unwrap();
        let write = |meta: Meta| {
            std::fs::create_dir_all(state.worker_dir(&meta.id)).unwrap();
            state.write_meta(&meta).unwrap();
        };
        write(meta("w1", "backend"));
        let mut board = Board::load(&state).unwrap();
        assert_eq!(board.entries.len(), 1);
        let w1 = state.worker_dir("w1");
        let quiet = [
            w1.join("usage.json"),
            w1.join("meta.json.lock"),
            w1.join(".orch-tmp-x1"),
            crate::coordination::escalation::folder(&state).join(".orch-tmp-x2"),
        ];
        assert_eq!(board.apply(&quiet).unwrap(), Touched::default());
        let touched = board
            .apply(&[w1.join("events.jsonl"), w1.join("inbox.jsonl")])
            .unwrap();
        assert_eq!(touched.workers, ["w1"]);
        assert!(!touched.escalations);
        // A new worker's folder appears: its row is read and added.
        write(meta("w2", "researcher"));
        let touched = board.apply(&[state.worker_dir("w2")]).unwrap();
        assert_eq!(touched.workers, ["w2"]);
        assert_eq!(board.entries.len(), 2);
        let touched = board
            .apply(&[crate::coordination::escalation::folder(&state).join("e1.json")])
            .unwrap();
        assert!(touched.escalations && touched.workers.is_empty());
    }
}
