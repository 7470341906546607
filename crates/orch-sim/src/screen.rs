//! The sim's terminal: raw mode and bracketed paste on and off (raw mode through `stty`, as the
//! crate has no libc), and a whole-screen redraw of banner, transcript, status and input box,
//! laid out so that `tmux capture-pane` reads like Claude Code's screen (`❯ ` box, `● ` replies).

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Turns on the terminal's bracketed paste mode.
const PASTE_ON: &str = "\x1b[?2004h";
/// Turns it off.
const PASTE_OFF: &str = "\x1b[?2004l";
/// How long a measured terminal size is trusted (there is no SIGWINCH without libc).
const SIZE_TTL: Duration = Duration::from_millis(500);

/// Runs `stty ARGS` on the controlling terminal and returns its stdout.
fn stty(args: &[&str]) -> Result<String> {
    let tty = std::fs::File::open("/dev/tty").context("cannot open `/dev/tty`")?;
    let out = Command::new("stty")
        .args(args)
        .stdin(tty)
        .stderr(Stdio::piped())
        .output()
        .context("cannot run `stty`")?;
    if !out.status.success() {
        bail!(
            "`stty {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes to the terminal, ignoring errors: the terminal may be gone (pane killed).
pub fn write_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The terminal in raw mode with bracketed paste on; [`Terminal::leave`] (or drop) restores it.
#[derive(Debug)]
pub struct Terminal {
    active: bool,
}

impl Terminal {
    /// `stty raw -echo`, then bracketed paste on and a cleared screen.
    pub fn enter() -> Result<Terminal> {
        stty(&["raw", "-echo"]).context("cannot put the terminal in raw mode")?;
        write_out(&format!("{PASTE_ON}\x1b[H\x1b[2J"));
        Ok(Terminal { active: true })
    }

    /// Bracketed paste off, `stty sane`. Errors are ignored: the terminal may be gone.
    pub fn leave(&mut self) {
        if std::mem::take(&mut self.active) {
            write_out(&format!("{PASTE_OFF}\r\n"));
            let _ = stty(&["sane"]);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        self.leave();
    }
}

/// What one redraw shows, top to bottom.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The first row.
    pub banner: &'a str,
    /// Transcript lines, oldest first; each may hold newlines.
    pub log: &'a [String],
    /// A line above the box (e.g. `✻ Working…`).
    pub status: Option<&'a str>,
    /// A permission question above the box.
    pub dialog: Option<&'a str>,
    /// The input box's text.
    pub input: &'a str,
}

/// The screen rows for `view` on a `rows` × `cols` terminal: the banner, as much of the end of
/// the transcript as fits, then status, dialog, a rule and the box (`❯ ` before its first line).
/// Rows are cut one column short of `cols`, so that erasing to the end of a row never eats its
/// last character.
pub fn render(view: &View, rows: usize, cols: usize) -> Vec<String> {
    let width = cols.saturating_sub(1).max(10);
    let rows = rows.max(3);
    let mut bottom = Vec::new();
    for extra in [view.status, view.dialog].into_iter().flatten() {
        bottom.extend(wrap_text(extra, "", width));
    }
    bottom.push("─".repeat(width));
    for (i, line) in view.input.split('\n').enumerate() {
        let prefix = if i == 0 { "❯ " } else { "  " };
        bottom.extend(wrap(&format!("{prefix}{}", clean(line)), width));
    }
    let mut screen = vec![cut(&clean(view.banner), width)];
    let room = rows - 1;
    if bottom.len() >= room {
        screen.extend(bottom.split_off(bottom.len() - room));
        return screen;
    }
    // Wrap from the newest line back, only as far as the rows left.
    let fit = room - bottom.len();
    let mut log: Vec<String> = Vec::new();
    for line in view.log.iter().rev() {
        if log.len() >= fit {
            break;
        }
        let mut rows = wrap_text(line, "  ", width);
        rows.reverse();
        log.extend(rows);
    }
    log.truncate(fit);
    screen.extend(log.into_iter().rev());
    screen.extend(bottom);
    screen
}

/// Splits `text` on newlines (later lines indented by `indent`) and wraps each to `width`.
fn wrap_text(text: &str, indent: &str, width: usize) -> Vec<String> {
    text.split('\n')
        .enumerate()
        .flat_map(|(i, line)| {
            let line = clean(line);
            wrap(
                &if i == 0 {
                    line
                } else {
                    format!("{indent}{line}")
                },
                width,
            )
        })
        .collect()
}

/// Cuts `line` into pieces of at most `width` characters (one empty piece for an empty line).
fn wrap(line: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

fn cut(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

/// Makes text safe to print: a tab becomes a space, other control characters `?`.
fn clean(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// Draws [`View`]s, measuring the terminal now and then.
#[derive(Debug, Default)]
pub struct Screen {
    size: Option<(usize, usize)>,
    measured: Option<Instant>,
}

impl Screen {
    /// Redraws the whole screen; the cursor ends after the box's text.
    pub fn draw(&mut self, view: &View) {
        let (rows, cols) = self.size();
        let lines = render(view, rows, cols);
        write_out(&format!("\x1b[H{}\x1b[K\x1b[J", lines.join("\x1b[K\r\n")));
    }

    /// Rows and columns (`stty size`), else `$LINES`/`$COLUMNS`, else 24 × 80.
    fn size(&mut self) -> (usize, usize) {
        let fresh = self.measured.is_some_and(|t| t.elapsed() < SIZE_TTL);
        if let (Some(size), true) = (self.size, fresh) {
            return size;
        }
        let measured = stty(&["size"]).ok().and_then(|out| {
            let mut parts = out.split_whitespace().map(str::parse::<usize>);
            match (parts.next(), parts.next()) {
                (Some(Ok(rows)), Some(Ok(cols))) if rows > 0 && cols > 0 => Some((rows, cols)),
                _ => None,
            }
        });
        let size = measured.or(self.size).unwrap_or_else(|| {
            let var = |name: &str, default| {
                std::env::var(name)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(default)
            };
            (var("LINES", 24), var("COLUMNS", 80))
        });
        self.size = Some(size);
        self.measured = Some(Instant::now());
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(log: &'a [String], input: &'a str) -> View<'a> {
        View {
            banner: "orch sim w1 · session s",
            log,
            status: None,
            dialog: None,
            input,
        }
    }

    #[test]
    fn box_follows_the_transcript() {
        let log = vec!["> hi".to_string(), "● hello\nworld".to_string()];
        let rows = render(&view(&log, "typing"), 24, 21);
        assert_eq!(
            rows,
            vec![
                "orch sim w1 · sessio",
                "> hi",
                "● hello",
                "  world",
                &"─".repeat(20),
                "❯ typing",
            ]
        );
    }

    #[test]
    fn long_lines_wrap_and_old_lines_scroll_away() {
        let log: Vec<String> = (0..10).map(|i| format!("line {i}")).collect();
        let rows = render(&view(&log, "a\nbcdefghijklmnop"), 6, 11);
        assert_eq!(
            rows,
            vec![
                "orch sim w",
                "line 9",
                "──────────",
                "❯ a",
                "  bcdefghi",
                "jklmnop"
            ]
        );
    }

    #[test]
    fn a_huge_box_shows_its_end() {
        let input = (0..50)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let rows = render(&view(&[], &input), 5, 80);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[4], "  49");
    }

    #[test]
    fn status_and_controls() {
        let mut v = view(&[], "a\tb\x07");
        v.status = Some("✻ Working…");
        let rows = render(&v, 10, 40);
        assert_eq!(rows[1], "✻ Working…");
        assert_eq!(rows[3], "❯ a b?");
    }
}
