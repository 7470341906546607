//! Harnesses: the agent CLIs a worker can run, and what orch knows about each: how to start
//! it, which of the caller's variables it needs, and how to read a screen where it stopped
//! before its first hook (Claude Code holds hooks back until first-run screens are answered).

use anyhow::{bail, Result};

/// An agent CLI orch can start in a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// Claude Code: `${ORCH_CLAUDE_BIN:-claude} --session-id <uuid> [args]`.
    Claude,
    /// orch's own simulated agent (`orch-sim`), for the demo and fast tests.
    Sim,
}

/// Why a harness is stuck before its first hook, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// Short name: `folder-trust`, `onboarding`, `api-key`, `settings-error`.
    pub kind: &'static str,
    /// What to do about it, in a sentence.
    pub fix: String,
}

impl Harness {
    /// Parses `claude` or `sim`.
    pub fn parse(name: &str) -> Result<Harness> {
        match name {
            "claude" => Ok(Harness::Claude),
            "sim" => Ok(Harness::Sim),
            other => bail!("unknown harness `{other}`: use `claude` or `sim`"),
        }
    }

    /// Its name as given to `--harness`.
    pub fn name(self) -> &'static str {
        match self {
            Harness::Claude => "claude",
            Harness::Sim => "sim",
        }
    }

    /// The command line that starts it with agent session id `session_id`, then `extra`.
    pub fn argv(self, session_id: &str, name: &str, extra: &[String]) -> Result<Vec<String>> {
        let mut argv = match self {
            Harness::Claude => {
                let bin = std::env::var("ORCH_CLAUDE_BIN")
                    .ok()
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "claude".into());
                vec![bin, "--session-id".into(), session_id.into()]
            }
            Harness::Sim => {
                let bin = crate::paths::sibling_exe("orch-sim")?;
                vec![
                    bin.display().to_string(),
                    "--session-id".into(),
                    session_id.into(),
                    "--name".into(),
                    name.into(),
                ]
            }
        };
        argv.extend(extra.iter().cloned());
        Ok(argv)
    }

    /// Whether the harness needs the caller's variable `key` (`ANTHROPIC_*`, `CLAUDE_*` but not
    /// the per-session ones Claude Code sets for its own children, `HOME`, `PATH`, locale,
    /// XDG folders, `ORCH_*` settings).
    pub fn passes(self, key: &str) -> bool {
        const PER_SESSION: [&str; 9] = [
            "CLAUDE_CODE_SESSION_ID",
            "CLAUDE_CODE_CHILD_SESSION",
            "CLAUDE_CODE_ENTRYPOINT",
            "CLAUDE_CODE_EXECPATH",
            "CLAUDE_PROJECT_DIR",
            "CLAUDE_ENV_FILE",
            "CLAUDE_EFFORT",
            "CLAUDE_PLUGIN_ROOT",
            "CLAUDE_PLUGIN_DATA",
        ];
        if PER_SESSION.contains(&key) || key == "ORCH_WORKER" {
            return false;
        }
        key.starts_with("ANTHROPIC_")
            || key.starts_with("CLAUDE_")
            || key.starts_with("XDG_")
            || key.starts_with("LC_")
            || key.starts_with("ORCH_")
            || matches!(
                key,
                "HOME" | "PATH" | "LANG" | "USER" | "LOGNAME" | "SHELL" | "TMPDIR" | "IS_SANDBOX"
            )
    }

    /// Reads a captured screen of a harness that has not fired SessionStart yet.
    pub fn blocker(self, screen: &str, cwd: &str) -> Option<Blocker> {
        if self != Harness::Claude {
            return None;
        }
        let has = |s: &str| screen.contains(s);
        if has("trust this folder") || has("Accessing workspace") || has("Do you trust") {
            return Some(Blocker {
                kind: "folder-trust",
                fix: format!(
                    "Claude Code asks whether to trust `{cwd}` and holds its hooks back until \
                     it is answered: re-run with `--trust` (records the trust in Claude Code's \
                     `.claude.json`), or attach to the pane and choose \"Yes, I trust this folder\""
                ),
            });
        }
        if has("Unable to connect to Anthropic services")
            || has("Select login method")
            || has("Choose the text style")
        {
            return Some(Blocker {
                kind: "onboarding",
                fix:
                    "Claude Code is at its first-run screens: run `claude` once by hand to finish \
                      onboarding (or set `hasCompletedOnboarding` in `~/.claude.json`)"
                        .into(),
            });
        }
        if has("Detected a custom API key") {
            return Some(Blocker {
                kind: "api-key",
                fix:
                    "Claude Code asks whether to use ANTHROPIC_API_KEY: attach and answer \"Yes\" \
                      once, or use ANTHROPIC_AUTH_TOKEN"
                        .into(),
            });
        }
        if has("Settings Error") {
            return Some(Blocker {
                kind: "settings-error",
                fix: "Claude Code rejects a settings file: attach to the pane to read which, fix it, \
                      then spawn again"
                    .into(),
            });
        }
        None
    }
}

/// What Claude Code (and the sim) show after an Escape on an idle input box that has text; a
/// second Escape then clears the box.
pub const CLEAR_HINT: &str = "Esc again to clear";

/// The text in the input box of a captured TUI screen, or `None` when no box is seen.
///
/// The box is the `❯ ` line right under a horizontal rule (a line of `─`), with the lines that
/// follow it up to the next rule or the end of the screen. That is how Claude Code 2.1 draws it
/// (shared/reference/claude-code/payloads/screens.md) and how the sim draws it.
pub fn input_box(screen: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let is_rule = |l: &str| {
        let t = l.trim();
        t.chars().count() >= 10 && t.chars().all(|c| c == '─')
    };
    let start = (1..lines.len())
        .rev()
        .find(|&i| is_rule(lines[i - 1]) && lines[i].trim_start().starts_with('❯'))?;
    let mut text = vec![lines[start].trim_start().trim_start_matches('❯').trim()];
    for line in &lines[start + 1..] {
        if is_rule(line) {
            break;
        }
        text.push(line.trim());
    }
    Some(text.join("\n").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_what_claude_needs_and_not_its_session_vars() {
        let h = Harness::Claude;
        assert!(h.passes("ANTHROPIC_BASE_URL"));
        assert!(h.passes("CLAUDE_CONFIG_DIR"));
        assert!(h.passes("HOME") && h.passes("PATH"));
        assert!(!h.passes("CLAUDE_CODE_SESSION_ID"));
        assert!(!h.passes("ORCH_WORKER"));
        assert!(!h.passes("TMUX"));
    }

    #[test]
    fn input_box_is_read_between_rules() {
        let rule = "─".repeat(40);
        let claude =
            format!("❯ old prompt\n● reply\n{rule}\n❯ !echo hi\n{rule}\n  ? for shortcuts\n");
        assert_eq!(input_box(&claude).as_deref(), Some("!echo hi"));
        let empty = format!("● reply\n{rule}\n❯ \n{rule}\n  ? for shortcuts\n");
        assert_eq!(input_box(&empty).as_deref(), Some(""));
        let sim = format!("banner\n{rule}\n❯ line one\n  line two\n");
        assert_eq!(input_box(&sim).as_deref(), Some("line one\nline two"));
        assert_eq!(input_box("no box here"), None);
    }

    #[test]
    fn trust_screen_is_recognised() {
        let screen = " Accessing workspace:\n /tmp/x\n ❯ 1. Yes, I trust this folder\n";
        let b = Harness::Claude.blocker(screen, "/tmp/x").unwrap();
        assert_eq!(b.kind, "folder-trust");
        assert!(b.fix.contains("--trust"));
        assert_eq!(Harness::Claude.blocker("❯ ", "/"), None);
    }
}
