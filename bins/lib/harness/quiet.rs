//! The settings of the command harness's quiet detector ([`crate::fleet::detect`]): how long a screen
//! must stay unchanged for a turn to end, and the program's prompt, kept in the worker's
//! `meta.json`.

use crate::outfit::Outfit;
use anyhow::{bail, Context, Result};
use orch_store::meta::DEFAULT_QUIET_MS;
pub use orch_store::Detector;
use std::time::Duration;

/// How a [`Detector`]'s settings are made and read: what its quiet time and prompt mean.
pub trait Quiet {
    /// Checks an outfit's `quiet` and `prompt_regex`, if it sets them. Errors name its file.
    fn of_outfit(outfit: &Outfit) -> Result<Option<Detector>>;

    /// A detector from a quiet time in seconds (default [`DEFAULT_QUIET_MS`]) and a prompt
    /// regex. Errors: a quiet time outside 0.05-3600 s, or a regex that does not compile (the
    /// message names the flag or field `what`).
    fn checked(quiet_secs: Option<f64>, prompt: Option<String>, what: &str) -> Result<Detector>;

    /// The short name `orch ps` shows: `quiet`, or `quiet+prompt` with a prompt regex.
    fn kind(&self) -> &'static str;

    /// In words: `quiet 1.5 s`, `quiet 1.5 s and prompt /^>>> $/`.
    fn describe(&self) -> String;

    /// The quiet time.
    fn quiet(&self) -> Duration;

    /// Whether `screen` shows the program's prompt: always without a prompt regex, else when
    /// its last non-empty line matches. tmux drops a line's trailing spaces when it captures
    /// it, so the line is tried as captured and with one space after it: `^>>> $` matches
    /// Python's `>>> ` prompt.
    fn at_prompt(&self, screen: &str) -> bool;

    /// Where the prompt starts in `line` (a byte offset), when the prompt regex matches it as
    /// [`Detector::at_prompt`] says.
    fn prompt_at(&self, line: &str) -> Option<usize>;
}

impl Quiet for Detector {
    fn of_outfit(outfit: &Outfit) -> Result<Option<Detector>> {
        if outfit.quiet.is_none() && outfit.prompt_regex.is_none() {
            return Ok(None);
        }
        Detector::checked(outfit.quiet, outfit.prompt_regex.clone(), &outfit.origin).map(Some)
    }

    fn checked(quiet_secs: Option<f64>, prompt: Option<String>, what: &str) -> Result<Detector> {
        let quiet_ms = match quiet_secs {
            None => DEFAULT_QUIET_MS,
            Some(secs) if (0.05..=3600.0).contains(&secs) => (secs * 1000.0).round() as u64,
            Some(secs) => {
                bail!("{what}: quiet time {secs} s is out of range: give 0.05 to 3600 seconds")
            }
        };
        if let Some(re) = &prompt {
            regex_lite::Regex::new(re)
                .with_context(|| format!("{what}: prompt regex `{re}` does not compile"))?;
        }
        Ok(Detector { quiet_ms, prompt })
    }

    fn kind(&self) -> &'static str {
        if self.prompt.is_some() {
            "quiet+prompt"
        } else {
            "quiet"
        }
    }

    fn describe(&self) -> String {
        let quiet = format!("quiet {} s", self.quiet_ms as f64 / 1000.0);
        match &self.prompt {
            Some(re) => format!("{quiet} and prompt /{re}/"),
            None => quiet,
        }
    }

    fn quiet(&self) -> Duration {
        Duration::from_millis(self.quiet_ms)
    }

    fn at_prompt(&self, screen: &str) -> bool {
        if self.prompt.is_none() {
            return true;
        }
        last_line(screen).is_some_and(|line| self.prompt_at(line).is_some())
    }

    fn prompt_at(&self, line: &str) -> Option<usize> {
        let re = regex_lite::Regex::new(self.prompt.as_deref()?).ok()?;
        let line = line.trim_end();
        if let Some(found) = re.find(line) {
            return Some(found.start());
        }
        let spaced = format!("{line} ");
        re.find(&spaced).map(|found| found.start().min(line.len()))
    }
}

/// The last line of `screen` with something on it.
fn last_line(screen: &str) -> Option<&str> {
    screen.lines().rev().find(|l| !l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_checks_its_settings() {
        let d = Detector::checked(None, None, "--quiet").unwrap();
        assert_eq!((d.quiet_ms, d.kind()), (DEFAULT_QUIET_MS, "quiet"));
        let d = Detector::checked(Some(0.3), Some(r"^>>> $".into()), "--quiet").unwrap();
        assert_eq!((d.quiet_ms, d.kind()), (300, "quiet+prompt"));
        assert_eq!(d.describe(), "quiet 0.3 s and prompt /^>>> $/");
        let err = Detector::checked(Some(0.0), None, "--quiet").unwrap_err();
        assert!(format!("{err:#}").contains("0.05 to 3600"), "{err:#}");
        let err = Detector::checked(None, Some("(".into()), "--prompt-regex").unwrap_err();
        assert!(
            format!("{err:#}").contains("--prompt-regex: prompt regex `(`"),
            "{err:#}"
        );
    }

    #[test]
    fn prompt_is_read_on_the_last_non_empty_line() {
        let d = Detector::checked(None, Some(r"^\$ $".into()), "x").unwrap();
        assert!(d.at_prompt("ls\na b\n$ \n\n\n"));
        assert!(d.at_prompt("ls\n$\n"), "tmux drops the trailing space");
        assert!(!d.at_prompt("$ \nsleeping...\n"));
        assert!(!d.at_prompt(""));
        assert!(Detector::default().at_prompt("anything"));
    }
}
