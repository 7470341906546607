//! How `orch top` draws its board: a summary line, the workers' table, the open escalations
//! and the bottom line, into any ratatui frame.

use crate::fleet::status::Status;
use crate::views::summary::{self};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::board::{Board, STUCK_MS};
use super::view::{Focus, InputMode, View};

/// Below this many columns the table leaves out ROLE and HARNESS.
const NARROW: u16 = 110;

/// The color a status is drawn in: [`crate::views::paint::status_color`], as `ps` prints it.
fn status_style(status: Status) -> Style {
    use anstyle::AnsiColor as A;
    let color = match crate::views::paint::status_color(status) {
        A::Black => Color::Black,
        A::Red => Color::Red,
        A::Green => Color::Green,
        A::Yellow => Color::Yellow,
        A::Blue => Color::Blue,
        A::Magenta => Color::Magenta,
        A::Cyan => Color::Cyan,
        A::White => Color::Gray,
        A::BrightBlack => Color::DarkGray,
        A::BrightRed => Color::LightRed,
        A::BrightGreen => Color::LightGreen,
        A::BrightYellow => Color::LightYellow,
        A::BrightBlue => Color::LightBlue,
        A::BrightMagenta => Color::LightMagenta,
        A::BrightCyan => Color::LightCyan,
        A::BrightWhite => Color::White,
    };
    Style::new().fg(color)
}

/// Takes every colour out of a drawn frame (`NO_COLOR`, `--color never`): what is bold stays
/// bold, what was red is plain.
fn without_color(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        cell.set_fg(Color::Reset).set_bg(Color::Reset);
    }
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
                Cell::from({
                    let status = match e.resumes_ms {
                        // The countdown to the reset (or the next probe) of its account's limit.
                        Some(at) => format!(
                            "{} {}",
                            e.glance.status.as_str(),
                            orch_store::clock::age(at.saturating_sub(now_ms))
                        ),
                        None => e.glance.status.as_str().to_string(),
                    };
                    // Its branch's conflicts and uncommitted work follow.
                    match &e.git {
                        Some(git) => format!("{status} {git}"),
                        None => status,
                    }
                })
                .style(status_style(e.glance.status)),
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
                // A remote worker whose host could not say: `-` in yellow, and why.
                Cell::from(e.tokens.map_or_else(dash, compact)).style(match e.spend_error {
                    Some(_) => Style::new().fg(Color::Yellow),
                    None => Style::new(),
                }),
                Cell::from(cost),
                Cell::from(match &e.spend_error {
                    Some(error) => format!(
                        "(spend unknown: {}) {}",
                        summary::first_line(error),
                        summary::first_line(&e.glance.message)
                    ),
                    None => summary::first_line(&e.glance.message).to_string(),
                }),
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
                    Cell::from(orch_store::Axis::joined(&x.axes).replace('+', ",")),
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
    if view.plain {
        without_color(frame.buffer_mut());
    }
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
        InputMode::Tell { worker, text } => prompt(format!("tell {worker}> "), text),
        InputMode::Decide { escalation, text } => {
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
        InputMode::Confirm { worker } => Line::from(Span::styled(
            format!("interrupt {worker}? y/n"),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )),
        InputMode::Browse => match &view.note {
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
