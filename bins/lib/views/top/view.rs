//! What the person looks at in `orch top` (the selection, which list has the focus, the bottom
//! line) and what each key asks for.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::board::Board;

/// Which list the arrow keys move in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Workers,
    Escalations,
}

/// What the bottom line is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum InputMode {
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
pub enum KeyAction {
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
    pub mode: InputMode,
    /// A word on the last action (shown until the next key).
    pub note: Option<String>,
    /// Draw without colours (`NO_COLOR`, `--color never`).
    pub plain: bool,
}

impl Default for View {
    fn default() -> View {
        View {
            worker: None,
            escalation: None,
            focus: Focus::Workers,
            mode: InputMode::Browse,
            note: None,
            plain: false,
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
    pub fn key(&mut self, board: &mut Board, key: KeyEvent) -> Option<KeyAction> {
        self.settle(board);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return Some(KeyAction::Quit);
        }
        self.note = None;
        match std::mem::replace(&mut self.mode, InputMode::Browse) {
            InputMode::Browse => self.browse(board, key),
            InputMode::Confirm { worker } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(KeyAction::Interrupt(worker)),
                _ => {
                    self.note = Some("not interrupted".into());
                    None
                }
            },
            InputMode::Tell { worker, mut text } => {
                match edit(&mut text, key, ctrl) {
                    Edit::Typing => self.mode = InputMode::Tell { worker, text },
                    Edit::Cancel => self.note = Some("nothing told".into()),
                    Edit::Done if text.trim().is_empty() => {
                        self.note = Some("nothing told: the prompt was empty".into())
                    }
                    Edit::Done => return Some(KeyAction::Tell(worker, text)),
                }
                None
            }
            InputMode::Decide {
                escalation,
                mut text,
            } => {
                match edit(&mut text, key, ctrl) {
                    Edit::Typing => self.mode = InputMode::Decide { escalation, text },
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
                            return Some(KeyAction::Decide(escalation, text));
                        }
                    }
                }
                None
            }
        }
    }

    fn browse(&mut self, board: &mut Board, key: KeyEvent) -> Option<KeyAction> {
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
            KeyCode::Char('q') | KeyCode::Esc => return Some(KeyAction::Quit),
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
                Some(id) => return Some(KeyAction::Attach(id)),
                None => self.note = Some(need("attach to")),
            },
            KeyCode::Char('t') => match target {
                Some(worker) => {
                    self.mode = InputMode::Tell {
                        worker,
                        text: String::new(),
                    }
                }
                None => self.note = Some(need("tell")),
            },
            KeyCode::Char('i') => match target {
                Some(worker) => self.mode = InputMode::Confirm { worker },
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
                        self.mode = InputMode::Decide {
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
