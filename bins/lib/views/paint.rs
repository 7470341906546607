//! Colours in what orch prints for a person (`ps`, `doctor`, `top`), by the conventions of
//! command-line tools: `--color never`, `NO_COLOR` set to anything but the empty string, or an
//! output that is not a terminal mean none; `--color always` means colour even into a pipe.
//! Escape codes come from `anstyle` (the styling crate clap itself uses).

use crate::fleet::status::Status;
use anstyle::{AnsiColor, Style};
use std::io::IsTerminal;

/// `--color`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Choice {
    /// Colour when stdout is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Whether to colour stdout, by `choice`, `NO_COLOR` and whether stdout is a terminal.
pub fn enabled(choice: Choice) -> bool {
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// The colour a worker's status is shown in (the same in `ps` and `top`).
pub fn status_color(status: Status) -> AnsiColor {
    match status {
        Status::Busy => AnsiColor::Yellow,
        Status::Idle => AnsiColor::Green,
        Status::NeedsInput => AnsiColor::Magenta,
        Status::Error => AnsiColor::Red,
        Status::Limited => AnsiColor::BrightRed,
        Status::Starting => AnsiColor::Cyan,
        Status::Resumable => AnsiColor::Blue,
        Status::Dead => AnsiColor::BrightBlack,
    }
}

/// `text` in `color` when `on`, else as it is. Pad before painting: the escape codes have no
/// width on screen but count in `format!`'s.
pub fn paint(text: &str, color: AnsiColor, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    let style = Style::new().fg_color(Some(color.into()));
    format!("{style}{text}{style:#}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_only_when_on() {
        assert_eq!(paint("idle", AnsiColor::Green, false), "idle");
        let on = paint("idle", AnsiColor::Green, true);
        assert!(
            on.starts_with('\u{1b}') && on.contains("idle") && on.ends_with('m'),
            "{on:?}"
        );
        assert!(!enabled(Choice::Never) && enabled(Choice::Always));
    }
}
