//! `orch top`'s board, view and drawing, on ratatui's `TestBackend`.

use super::board::*;
use super::draw::*;
use super::view::*;
use crate::coordination::escalation::Escalation;
use crate::fleet::status::Status;
use crate::views::summary::Panes;
use crate::views::summary::Summary;
use orch_store::Meta;
use orch_store::Store;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;

const NOW: u64 = 1_796_200_000_000;

/// A worker's record on a tmux socket no server listens on (a test never asks the
/// person's own server).
fn meta(id: &str, name: &str) -> Meta {
    let mut meta = Meta::new(id, "worker", "operator");
    meta.name = name.into();
    meta.server.socket_name = Some(format!("orch-unit-none-{}", std::process::id()));
    meta
}

fn entry(meta: Meta, status: Status, age_ms: u64, message: &str) -> WorkerRow {
    WorkerRow {
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
        spend_error: None,
        unread: 0,
        resumes_ms: None,
        git: None,
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

fn board(root: &Path, entries: Vec<WorkerRow>, escalations: Vec<Escalation>) -> Board {
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
fn a_remote_workers_row_is_marked_with_its_host_and_says_why_its_spend_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut far = meta("w4", "trainer");
    far.remote = Some(orch_store::meta::Remote {
        dest: "gpu-box".into(),
        id: "w1".into(),
    });
    let mut down = entry(far, Status::Idle, 1_000, "trained");
    down.spend_error = Some("cannot reach host `gpu-box` over ssh: refused".into());
    let board = board(dir.path(), vec![down], Vec::new());
    let mut view = View::default();
    view.settle(&board);
    let shown = screen(&board, &view);
    let row = line_of(&shown, "trainer@gpu-box");
    assert!(
        row.contains("-         (spend unknown: cannot reach host `gpu-box`"),
        "the reason before its last message: {row}"
    );
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

fn press(view: &mut View, board: &mut Board, keys: &str) -> Option<KeyAction> {
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
        Some(KeyAction::Attach("w1".into()))
    );
    assert_eq!(
        press(&mut view, &mut board, "tship itx\x08\n"),
        Some(KeyAction::Tell("w1".into(), "ship it".into()))
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
        Some(KeyAction::Interrupt("w1".into()))
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
        Some(KeyAction::Decide("e1".into(), "no".into())),
        "a number picks that option"
    );
    // From the escalations pane: its worker, its escalation, free text.
    press(&mut view, &mut board, "k\t");
    assert_eq!(view.focus, Focus::Escalations);
    assert_eq!(
        press(&mut view, &mut board, "a"),
        Some(KeyAction::Attach("w2".into()))
    );
    assert_eq!(
        press(&mut view, &mut board, "dkeep the table\n"),
        Some(KeyAction::Decide("e1".into(), "keep the table".into()))
    );
    assert_eq!(press(&mut view, &mut board, "q"), Some(KeyAction::Quit));
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    view.mode = InputMode::Tell {
        worker: "w1".into(),
        text: "half".into(),
    };
    assert_eq!(view.key(&mut board, ctrl_c), Some(KeyAction::Quit));
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
    // A hold on w2's account changes: w2's row (its countdown), not w1's.
    let mut held = state.meta("w2").unwrap();
    held.account = Some("claude-work".into());
    state.write_meta(&held).unwrap();
    board.refresh("w2").unwrap();
    let limits = state.root.join("limits");
    let touched = board
        .apply(&[
            limits.join("claude-work.json"),
            limits.join("claude-work.lock"),
        ])
        .unwrap();
    assert_eq!(touched.workers, ["w2"]);
}

#[test]
fn a_limited_worker_counts_down_to_its_accounts_reset() {
    let dir = tempfile::tempdir().unwrap();
    let mut held = entry(meta("w1", "backend"), Status::Limited, 5_000, "");
    held.resumes_ms = Some(NOW + 12 * 60_000 + 500);
    let board = board(dir.path(), vec![held], Vec::new());
    let screen = screen(&board, &View::default());
    assert!(
        line_of(&screen, "backend").contains("limited 12m"),
        "{screen}"
    );
}

#[test]
fn a_plain_view_draws_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let board = fleet(dir.path());
    let colours = |view: &View| {
        let mut terminal = Terminal::new(TestBackend::new(140, 16)).unwrap();
        terminal
            .draw(|frame| draw(frame, &board, view, NOW))
            .unwrap();
        let buffer = terminal.backend().buffer();
        buffer
            .content
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count()
    };
    assert!(colours(&View::default()) > 0);
    let plain = View {
        plain: true,
        ..View::default()
    };
    assert_eq!(colours(&plain), 0);
}
