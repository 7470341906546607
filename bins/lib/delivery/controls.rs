//! Text that orch types into a pane, made inert: every terminal control character removed
//! before anything else looks at the text.
//!
//! A prompt relayed by orch may come from anywhere (a web page a researcher quoted, another
//! worker's answer). Pasted into a pane, a control character is a key, not text: the
//! bracketed paste's end code `ESC [ 2 0 1 ~` ends the paste early, after which every CR
//! submits a prompt of its own (outside `tell`'s `!`/`/` guard), and other escapes move the
//! cursor, switch modes or answer dialogs. So `tell`, `spawn --prompt` and every inbox or
//! decision notice pass their text through [`strip`] first, and only then add the guard, so a
//! removed byte can never uncover a leading `!` or `/` behind it.

use std::borrow::Cow;

/// `text` with every C0 and C1 control character removed but LF and tab, a CR (or CR LF)
/// made one LF, and each terminal escape sequence removed whole (not just its ESC, so that
/// `ESC[31m` leaves no `[31m` behind): CSI (`ESC [` or U+009B, parameters, intermediates, a
/// final byte), the string sequences OSC, DCS, SOS, PM and APC (`ESC ]`, `P`, `X`, `^`, `_`
/// up to BEL or ST; an unterminated one loses only its introducer), and the two- and
/// three-byte escapes (`ESC 7`, `ESC ( B`). DEL (0x7F) counts as a control.
///
/// Returns the text and whether anything but a CR was removed; borrowed when nothing changed.
pub fn strip(text: &str) -> (Cow<'_, str>, bool) {
    if !text
        .chars()
        .any(|c| is_control(c) && c != '\n' && c != '\t')
    {
        return (Cow::Borrowed(text), false);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut removed = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\n' | '\t' => {
                out.push(c);
                i += 1;
            }
            '\r' => {
                out.push('\n');
                i += if chars.get(i + 1) == Some(&'\n') {
                    2
                } else {
                    1
                };
            }
            '\u{1b}' => {
                removed = true;
                i += escape_len(&chars[i + 1..]) + 1;
            }
            '\u{9b}' => {
                removed = true;
                i += csi_len(&chars[i + 1..]) + 1;
            }
            c if is_control(c) => {
                removed = true;
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    (Cow::Owned(out), removed)
}

/// Whether `c` is a C0 or C1 control character or DEL.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// How many characters after an ESC belong to its sequence.
fn escape_len(rest: &[char]) -> usize {
    match rest.first() {
        None => 0,
        Some('[') => 1 + csi_len(&rest[1..]),
        Some(']' | 'P' | 'X' | '^' | '_') => 1 + string_len(&rest[1..]),
        // Intermediates, then a final byte: `ESC ( B`, `ESC # 8`.
        Some('\u{20}'..='\u{2f}') => {
            let n = rest
                .iter()
                .take_while(|c| matches!(c, '\u{20}'..='\u{2f}'))
                .count();
            match rest.get(n) {
                Some('\u{30}'..='\u{7e}') => n + 1,
                _ => n,
            }
        }
        // A two-byte escape: `ESC 7`, `ESC c`, `ESC M`.
        Some('\u{30}'..='\u{7e}') => 1,
        Some(_) => 0,
    }
}

/// How many characters after a CSI introducer belong to it: parameters (0x30-0x3F),
/// intermediates (0x20-0x2F), then one final byte (0x40-0x7E) when there is one.
fn csi_len(rest: &[char]) -> usize {
    let n = rest
        .iter()
        .take_while(|c| matches!(c, '\u{20}'..='\u{3f}'))
        .count();
    match rest.get(n) {
        Some('\u{40}'..='\u{7e}') => n + 1,
        _ => n,
    }
}

/// How many characters after a string introducer belong to it: up to and including BEL, ST
/// (`ESC \`) or C1 ST; none when it is never terminated (only the introducer goes then, so
/// a stray `ESC ]` cannot swallow the rest of a prompt).
fn string_len(rest: &[char]) -> usize {
    for (i, c) in rest.iter().enumerate() {
        match c {
            '\u{7}' | '\u{9c}' => return i + 1,
            '\u{1b}' if rest.get(i + 1) == Some(&'\\') => return i + 2,
            _ => {}
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(text: &str) -> (String, bool) {
        let (out, removed) = strip(text);
        (out.into_owned(), removed)
    }

    #[test]
    fn the_end_of_paste_code_cannot_split_a_prompt() {
        let (out, removed) = clean("question\x1b[201~\r!touch /tmp/x\r/clear\r");
        assert!(removed);
        assert_eq!(out, "question\n!touch /tmp/x\n/clear\n");
        assert!(!out.contains('\x1b') && !out.contains('\r'));
    }

    #[test]
    fn plain_text_is_borrowed_and_unchanged() {
        let text = "fix the\tbuild\nthen say done 🚀";
        let (out, removed) = strip(text);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert!(!removed);
        assert_eq!(out, text);
    }

    #[test]
    fn cr_becomes_lf_and_is_no_removal() {
        assert_eq!(clean("a\r\nb\rc"), ("a\nb\nc".into(), false));
    }

    #[test]
    fn colour_and_cursor_sequences_go_whole() {
        assert_eq!(clean("\x1b[1;31mred\x1b[0m"), ("red".into(), true));
        assert_eq!(clean("a\x1b[2Jb\x1b[?2004lc"), ("abc".into(), true));
        assert_eq!(clean("\u{9b}31mx"), ("x".into(), true));
        assert_eq!(clean("x\x1b7y\x1b(Bz"), ("xyz".into(), true));
    }

    #[test]
    fn string_sequences_go_to_their_terminator() {
        assert_eq!(
            clean("a\x1b]0;title\x07b\x1b]8;;http://x\x1b\\c"),
            ("abc".into(), true)
        );
        assert_eq!(clean("a\x1bPq#0\x1b\\b"), ("ab".into(), true));
        // Unterminated: only the introducer goes, the text stays.
        assert_eq!(clean("a\x1b]not closed"), ("anot closed".into(), true));
    }

    #[test]
    fn every_other_control_goes() {
        for c in (0u32..0x20).chain(0x7f..0xa0) {
            let c = char::from_u32(c).unwrap();
            // LF, tab and CR are kept (CR as LF); ESC and CSI start sequences (above).
            if matches!(c, '\n' | '\t' | '\r' | '\u{1b}' | '\u{9b}') {
                continue;
            }
            let (out, removed) = clean(&format!("a{c}b"));
            assert!(removed, "{:#x}", c as u32);
            assert!(
                out.starts_with('a') && out.ends_with('b'),
                "{:#x}: {out:?}",
                c as u32
            );
            assert!(!out.chars().any(is_control), "{:#x}: {out:?}", c as u32);
        }
        assert_eq!(clean("a\x00b\x7fc\x08d"), ("abcd".into(), true));
        assert_eq!(clean("trailing\x1b"), ("trailing".into(), true));
    }

    #[test]
    fn a_removed_sequence_can_uncover_a_bang_for_the_guard_to_see() {
        // Cleaning comes first: the guard then sees the `!` that was hidden behind it.
        let (out, _) = clean("\x1b[0m!rm -rf /");
        assert!(out.starts_with('!'));
    }
}
