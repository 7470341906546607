//! The sim's keyboard: a pure state machine from the bytes a terminal sends (in raw mode, with
//! bracketed paste on) to edits of the input box and to actions. No I/O, so every rule is tested.
//!
//! The rules copy what Claude Code's TUI does with the keys tmux sends (see
//! orch's `docs/observed.md`, 2.1): CR submits, LF is a newline, a bracketed paste is
//! literal text, a read that is just ESC is the Escape key.

const ESC: u8 = 0x1b;
/// What a terminal sends before pasted text when bracketed paste mode (`\x1b[?2004h`) is on.
const PASTE_START: &[u8] = b"\x1b[200~";
/// What a terminal sends after pasted text.
const PASTE_END: &[u8] = b"\x1b[201~";
/// Longest escape sequence kept while waiting for its end; longer ones are dropped.
const MAX_SEQUENCE: usize = 32;

/// Something the input box asks the program to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Enter on a non-empty box: the box's text, exactly (the box is now empty).
    Submit(String),
    /// The Escape key: interrupt the running turn.
    Escape,
    /// Ctrl-C or Ctrl-D on an empty box: leave the program.
    Exit,
}

/// The input box and the parser state between reads.
#[derive(Debug, Default)]
pub struct Input {
    /// The box's text as raw bytes (UTF-8 that may be cut mid-character between reads).
    text: Vec<u8>,
    /// An escape sequence whose end has not arrived yet, ESC included.
    pending: Vec<u8>,
    /// Between `\x1b[200~` and `\x1b[201~`.
    in_paste: bool,
    /// The last pasted byte was a CR (stored as LF): an LF right after it is dropped.
    paste_cr: bool,
}

impl Input {
    /// An empty box.
    pub fn new() -> Input {
        Input::default()
    }

    /// The box's text (invalid UTF-8 shown as U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }

    /// Replaces the box's text (used to put an interrupted prompt back).
    pub fn set_text(&mut self, text: &str) {
        self.text = text.as_bytes().to_vec();
    }

    /// Whether the box is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Feeds one read's worth of bytes and returns the actions they trigger, in order.
    ///
    /// A read that is exactly one ESC byte is the Escape key (a terminal sends the other keys
    /// that start with ESC as one write); inside a paste it is only the start of the end marker.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Action> {
        let mut actions = Vec::new();
        if chunk == [ESC] && !self.in_paste {
            self.pending.clear();
            actions.push(Action::Escape);
            return actions;
        }
        for &byte in chunk {
            self.byte(byte, &mut actions);
        }
        actions
    }

    fn byte(&mut self, byte: u8, out: &mut Vec<Action>) {
        if byte == ESC || !self.pending.is_empty() {
            self.sequence_byte(byte, out);
        } else if self.in_paste {
            self.paste_byte(byte);
        } else {
            self.key(byte, out);
        }
    }

    /// One byte typed outside a paste.
    fn key(&mut self, byte: u8, out: &mut Vec<Action>) {
        match byte {
            b'\r' => {
                if !self.text.is_empty() {
                    let text = self.text();
                    self.text.clear();
                    out.push(Action::Submit(text));
                }
            }
            b'\n' => self.text.push(b'\n'),
            0x7f | 0x08 => self.backspace(),
            // Ctrl-U
            0x15 => self.text.clear(),
            // Ctrl-C
            0x03 if self.text.is_empty() => out.push(Action::Exit),
            0x03 => self.text.clear(),
            // Ctrl-D
            0x04 if self.text.is_empty() => out.push(Action::Exit),
            // Tab and the other control keys do nothing here.
            0x00..=0x1f => {}
            _ => self.text.push(byte),
        }
    }

    /// One byte inside a bracketed paste: literal, with CR LF and lone CR made LF (tmux
    /// `paste-buffer` turns each LF into CR unless given `-r`).
    fn paste_byte(&mut self, byte: u8) {
        match byte {
            b'\r' => {
                self.text.push(b'\n');
                self.paste_cr = true;
                return;
            }
            b'\n' if self.paste_cr => {}
            _ => self.text.push(byte),
        }
        self.paste_cr = false;
    }

    /// One byte of an escape sequence (the first is ESC).
    fn sequence_byte(&mut self, byte: u8, out: &mut Vec<Action>) {
        self.pending.push(byte);
        if self.in_paste {
            if PASTE_END.starts_with(&self.pending) {
                if self.pending.len() == PASTE_END.len() {
                    self.pending.clear();
                    self.in_paste = false;
                    self.paste_cr = false;
                }
                return;
            }
            // Not the end marker: drop the ESC (it would garble the screen), keep the rest as
            // pasted text. The rest may hold another ESC, so it goes through `byte` again.
            let rest = self.pending.split_off(1);
            self.pending.clear();
            for byte in rest {
                self.byte(byte, out);
            }
            return;
        }
        if self.pending == PASTE_START {
            self.pending.clear();
            self.in_paste = true;
            self.paste_cr = false;
            return;
        }
        match sequence_state(&self.pending) {
            Sequence::Partial => {}
            Sequence::Done => self.pending.clear(),
            Sequence::Broken => {
                // A control byte cut the sequence short: drop the sequence, keep the byte.
                self.pending.clear();
                self.byte(byte, out);
            }
        }
        if self.pending.len() > MAX_SEQUENCE {
            self.pending.clear();
        }
    }

    /// Deletes the last character (all bytes of a UTF-8 sequence).
    fn backspace(&mut self) {
        while let Some(byte) = self.text.pop() {
            if byte & 0xc0 != 0x80 {
                break;
            }
        }
    }
}

/// How far an escape sequence (starting with ESC) has got.
#[derive(Debug, PartialEq, Eq)]
enum Sequence {
    /// More bytes are needed.
    Partial,
    /// Complete: CSI (`ESC [ params final`), SS3 (`ESC O x`) or `ESC x` (Alt-x).
    Done,
    /// The last byte is a control byte that cannot be part of the sequence.
    Broken,
}

fn sequence_state(seq: &[u8]) -> Sequence {
    let last = seq[seq.len() - 1];
    if seq.len() > 1 && last < 0x20 {
        return Sequence::Broken;
    }
    match seq {
        [_] | [_, b'['] | [_, b'O'] => Sequence::Partial,
        [_, b'[', .., last] if !(0x40..=0x7e).contains(last) => Sequence::Partial,
        _ => Sequence::Done,
    }
}

/// The answer to a permission dialog in one read: `Some(true)` for `1` or Enter (approve),
/// `Some(false)` for Escape (deny), `None` for anything else.
pub fn dialog_answer(chunk: &[u8]) -> Option<bool> {
    if chunk == [ESC] {
        return Some(false);
    }
    if chunk.iter().any(|&b| b == b'1' || b == b'\r') {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(text: &str) -> Action {
        Action::Submit(text.to_string())
    }

    #[test]
    fn typed_text_then_cr_submits() {
        let mut input = Input::new();
        assert_eq!(input.feed(b"hello"), vec![]);
        assert_eq!(input.text(), "hello");
        assert_eq!(input.feed(b"\r"), vec![submit("hello")]);
        assert!(input.is_empty());
    }

    #[test]
    fn cr_on_empty_box_does_nothing() {
        let mut input = Input::new();
        assert_eq!(input.feed(b"\r"), vec![]);
        assert_eq!(input.feed(b"\r\r"), vec![]);
    }

    #[test]
    fn lf_outside_paste_is_a_newline() {
        let mut input = Input::new();
        assert_eq!(input.feed(b"a\nb\r"), vec![submit("a\nb")]);
    }

    #[test]
    fn paste_is_literal_and_normalises_cr() {
        let mut input = Input::new();
        let actions = input.feed(b"\x1b[200~one\rtwo\r\nthree\nfour \"$(date)\"\x1b[201~");
        assert_eq!(actions, vec![]);
        assert_eq!(input.text(), "one\ntwo\nthree\nfour \"$(date)\"");
        assert_eq!(
            input.feed(b"\r"),
            vec![submit("one\ntwo\nthree\nfour \"$(date)\"")]
        );
    }

    #[test]
    fn paste_markers_split_across_reads() {
        let mut input = Input::new();
        for chunk in [&b"\x1b[20"[..], b"0~a\r", b"\nb\x1b", b"[201", b"~\r"] {
            let actions = input.feed(chunk);
            if chunk == b"~\r" {
                assert_eq!(actions, vec![submit("a\nb")]);
            } else {
                assert_eq!(actions, vec![], "chunk {chunk:?}");
            }
        }
    }

    #[test]
    fn lone_esc_inside_paste_is_not_escape() {
        let mut input = Input::new();
        input.feed(b"\x1b[200~abc");
        assert_eq!(input.feed(b"\x1b"), vec![]);
        assert_eq!(input.feed(b"[201~"), vec![]);
        assert_eq!(input.text(), "abc");
    }

    #[test]
    fn other_esc_inside_paste_is_dropped() {
        let mut input = Input::new();
        input.feed(b"\x1b[200~a\x1b[31mb\x1b\x1b[201~");
        assert_eq!(input.text(), "a[31mb");
    }

    #[test]
    fn lone_esc_is_escape_and_keeps_the_box() {
        let mut input = Input::new();
        input.feed(b"typed");
        assert_eq!(input.feed(b"\x1b"), vec![Action::Escape]);
        assert_eq!(input.text(), "typed");
    }

    #[test]
    fn arrows_and_alt_keys_are_ignored() {
        let mut input = Input::new();
        assert_eq!(input.feed(b"a\x1b[A\x1b[1;5Cb\x1bOPc\x1bxd"), vec![]);
        assert_eq!(input.text(), "abcd");
    }

    #[test]
    fn sequence_split_across_reads_is_ignored() {
        let mut input = Input::new();
        input.feed(b"a\x1b[");
        input.feed(b"Bb");
        assert_eq!(input.text(), "ab");
    }

    #[test]
    fn control_byte_breaks_a_sequence() {
        let mut input = Input::new();
        assert_eq!(input.feed(b"x\x1b[\r"), vec![submit("x")]);
    }

    #[test]
    fn backspace_deletes_whole_characters() {
        let mut input = Input::new();
        input.feed("aé❯".as_bytes());
        input.feed(b"\x7f");
        assert_eq!(input.text(), "aé");
        input.feed(b"\x08");
        assert_eq!(input.text(), "a");
        input.feed(b"\x7f\x7f");
        assert_eq!(input.text(), "");
    }

    #[test]
    fn utf8_cut_between_reads_survives() {
        let mut input = Input::new();
        let bytes = "❯".as_bytes();
        input.feed(&bytes[..1]);
        input.feed(&bytes[1..]);
        assert_eq!(input.text(), "❯");
    }

    #[test]
    fn ctrl_u_clears() {
        let mut input = Input::new();
        input.feed(b"some text\x15");
        assert!(input.is_empty());
    }

    #[test]
    fn ctrl_c_clears_then_exits() {
        let mut input = Input::new();
        input.feed(b"text");
        assert_eq!(input.feed(b"\x03"), vec![]);
        assert!(input.is_empty());
        assert_eq!(input.feed(b"\x03"), vec![Action::Exit]);
    }

    #[test]
    fn ctrl_d_exits_only_when_empty() {
        let mut input = Input::new();
        input.feed(b"text");
        assert_eq!(input.feed(b"\x04"), vec![]);
        assert_eq!(input.text(), "text");
        input.feed(b"\x15");
        assert_eq!(input.feed(b"\x04"), vec![Action::Exit]);
    }

    #[test]
    fn tab_and_other_controls_are_ignored() {
        let mut input = Input::new();
        input.feed(b"a\tb\x01\x02c");
        assert_eq!(input.text(), "abc");
    }

    #[test]
    fn tab_inside_paste_is_kept() {
        let mut input = Input::new();
        input.feed(b"\x1b[200~a\tb\x1b[201~");
        assert_eq!(input.text(), "a\tb");
    }

    #[test]
    fn several_submits_in_one_read() {
        let mut input = Input::new();
        assert_eq!(
            input.feed(b"one\rtwo\r"),
            vec![submit("one"), submit("two")]
        );
    }

    #[test]
    fn set_text_puts_a_prompt_back() {
        let mut input = Input::new();
        input.set_text("back\nagain");
        input.feed(b"!");
        assert_eq!(input.feed(b"\r"), vec![submit("back\nagain!")]);
    }

    #[test]
    fn dialog_answers() {
        assert_eq!(dialog_answer(b"1"), Some(true));
        assert_eq!(dialog_answer(b"\r"), Some(true));
        assert_eq!(dialog_answer(b"\x1b"), Some(false));
        assert_eq!(dialog_answer(b"x"), None);
        assert_eq!(dialog_answer(b"\x1b[A"), None);
    }
}
