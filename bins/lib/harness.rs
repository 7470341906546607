//! Harnesses: the agent CLIs a worker can run, and what orch knows about each: how to start
//! it, which of the caller's variables it needs, and how to read a screen where it stopped
//! before its first hook (Claude Code holds hooks back until first-run screens are answered).

use anyhow::{bail, Result};

/// An agent CLI orch can start in a pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Harness {
    /// Claude Code: `${ORCH_CLAUDE_BIN:-claude} --session-id <uuid> [args]`.
    Claude,
    /// OpenAI's Codex CLI: `${ORCH_CODEX_BIN:-codex} --no-daemon --dangerously-bypass-hook-trust
    /// [args]`, with a per-worker `CODEX_HOME` ([`crate::codex`]). It has no `--session-id`:
    /// the worker adopts the thread id of its first SessionStart, which Codex fires with the
    /// first prompt, not at launch.
    Codex,
    /// Google's Gemini CLI: `${ORCH_GEMINI_BIN:-gemini} --session-id <uuid> [args]`, with a
    /// per-worker `GEMINI_CLI_HOME` ([`crate::gemini`]).
    Gemini,
    /// pi (`@mariozechner/pi-coding-agent`): `${ORCH_PI_BIN:-pi} -e <orch-extension.ts>
    /// [args]`, with a per-worker `PI_CODING_AGENT_DIR` ([`crate::pi`]). pi has no shell hooks:
    /// orch's extension runs orch-hook. It has no `--session-id` either: the worker adopts the
    /// session id of its first SessionStart, which pi fires at launch.
    Pi,
    /// Any program, given after `--` (or as an outfit's `command`), started as it is. It has
    /// no hooks: its turns are read off the pane by a quiet detector ([`crate::command`]).
    Command,
    /// orch's own simulated agent (`orch-sim`), for the demo and fast tests.
    Sim,
}

/// A harness CLI's version, `major.minor.patch` (a pre-release or build suffix is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u64, pub u64, pub u64);

impl Version {
    /// The first `X.Y.Z` in `text`, as the CLIs print it to `--version`: `2.1.332 (Claude
    /// Code)`, `codex-cli 0.171.0`, `0.61.0`. `None` when there is none.
    pub fn find(text: &str) -> Option<Version> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find_map(|word| {
                let mut parts = word.split('.').map(|p| p.parse::<u64>().ok());
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(Some(a)), Some(Some(b)), Some(Some(c))) => Some(Version(a, b, c)),
                    _ => None,
                }
            })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The releases of a harness's CLI that orch's whole test suite passed on (`install/test-deps.sh`
/// pins the oldest; `--latest` fetched the newest on the date), as README's Compatibility
/// table lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The npm package the CLI ships in.
    pub package: &'static str,
    /// The oldest and newest release verified.
    pub oldest: Version,
    pub newest: Version,
    /// When the newest was verified, `YYYY-MM-DD`.
    pub date: &'static str,
}

impl Verified {
    /// Whether `version` lies between the oldest and the newest verified release.
    pub fn covers(&self, version: Version) -> bool {
        self.oldest <= version && version <= self.newest
    }

    /// `2.1.197 to 2.1.332`, or `0.61.0` when both ends are one release.
    pub fn range(&self) -> String {
        if self.oldest == self.newest {
            self.oldest.to_string()
        } else {
            format!("{} to {}", self.oldest, self.newest)
        }
    }
}

/// The releases each agent CLI was verified on, as README's Compatibility table lists them (a
/// test checks that they agree).
const VERIFIED: [(Harness, Verified); 4] = [
    (
        Harness::Claude,
        Verified {
            package: "@anthropic-ai/claude-code",
            oldest: Version(2, 1, 197),
            newest: Version(2, 1, 332),
            date: "2026-12-02",
        },
    ),
    (
        Harness::Codex,
        Verified {
            package: "@openai/codex",
            oldest: Version(0, 169, 0),
            newest: Version(0, 171, 0),
            date: "2026-12-02",
        },
    ),
    (
        Harness::Gemini,
        Verified {
            package: "@google/gemini-cli",
            oldest: Version(0, 61, 0),
            newest: Version(0, 61, 0),
            date: "2026-12-02",
        },
    ),
    (
        Harness::Pi,
        Verified {
            package: "@mariozechner/pi-coding-agent",
            oldest: Version(0, 73, 1),
            newest: Version(0, 73, 1),
            date: "2026-12-02",
        },
    ),
];

/// Why a harness is stuck before its first hook, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// Short name: `folder-trust`, `onboarding`, `api-key`, `settings-error`.
    pub kind: &'static str,
    /// What to do about it, in a sentence.
    pub fix: String,
}

impl Harness {
    /// Parses `claude`, `codex`, `gemini`, `pi`, `command` or `sim`.
    pub fn parse(name: &str) -> Result<Harness> {
        match name {
            "claude" => Ok(Harness::Claude),
            "codex" => Ok(Harness::Codex),
            "gemini" => Ok(Harness::Gemini),
            "pi" => Ok(Harness::Pi),
            "command" => Ok(Harness::Command),
            "sim" => Ok(Harness::Sim),
            other => bail!(
                "unknown harness `{other}`: use `claude`, `codex`, `gemini`, `pi`, `command` or \
                 `sim`"
            ),
        }
    }

    /// Its product name, for messages: `Claude Code`, `Codex`, `orch-sim`.
    pub fn title(self) -> &'static str {
        match self {
            Harness::Claude => "Claude Code",
            Harness::Codex => "Codex",
            Harness::Gemini => "Gemini CLI",
            Harness::Pi => "pi",
            Harness::Command => "the command",
            Harness::Sim => "orch-sim",
        }
    }

    /// The CLI releases orch was verified on (README: Compatibility), or `None` for the
    /// command and the sim (no CLI of their own to drift).
    pub fn verified(self) -> Option<Verified> {
        VERIFIED.iter().find(|(h, _)| *h == self).map(|(_, v)| *v)
    }

    /// The program orch starts for it: `$ORCH_<NAME>_BIN` when set (e.g. `ORCH_CODEX_BIN`),
    /// else its usual name on PATH; `None` for the command and the sim.
    pub fn program(self) -> Option<String> {
        let (var, default) = match self {
            Harness::Claude => ("ORCH_CLAUDE_BIN", "claude"),
            Harness::Codex => ("ORCH_CODEX_BIN", "codex"),
            Harness::Gemini => ("ORCH_GEMINI_BIN", "gemini"),
            Harness::Pi => ("ORCH_PI_BIN", "pi"),
            Harness::Command | Harness::Sim => return None,
        };
        Some(
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.into()),
        )
    }

    /// Its name as given to `--harness`.
    pub fn name(self) -> &'static str {
        match self {
            Harness::Claude => "claude",
            Harness::Codex => "codex",
            Harness::Gemini => "gemini",
            Harness::Pi => "pi",
            Harness::Command => "command",
            Harness::Sim => "sim",
        }
    }

    /// How orch learns that a turn ended, as `orch ps` shows it: `hooks` (the CLI runs
    /// orch-hook), `extension` (pi, through orch's extension) or `quiet` (the command
    /// harness's detector; [`crate::command::Detector::kind`] says more).
    pub fn detector(self) -> &'static str {
        match self {
            Harness::Claude | Harness::Codex | Harness::Gemini | Harness::Sim => "hooks",
            Harness::Pi => "extension",
            Harness::Command => "quiet",
        }
    }

    /// Whether orch chooses the agent's session id (`--session-id`); Codex and pi pick their
    /// own, and a command has none.
    pub fn sets_session_id(self) -> bool {
        !matches!(self, Harness::Codex | Harness::Pi | Harness::Command)
    }

    /// Whether the agent fires SessionStart only with its first prompt (Codex), so that a
    /// spawn waits for its input prompt on screen ([`Harness::ready_screen`]) instead.
    pub fn starts_on_first_prompt(self) -> bool {
        self == Harness::Codex
    }

    /// Whether a captured screen shows the harness waiting at its input prompt. Codex 0.169
    /// draws a `›` line above a footer with `? for shortcuts`.
    pub fn ready_screen(self, screen: &str) -> bool {
        match self {
            Harness::Codex => {
                screen.contains("for shortcuts")
                    && screen.lines().any(|l| l.trim_start().starts_with('›'))
            }
            Harness::Claude | Harness::Gemini | Harness::Pi | Harness::Command | Harness::Sim => {
                false
            }
        }
    }

    /// What `tell` puts in front of a prompt that starts with `!` or `/`, so that the harness
    /// takes it as a prompt and not as a shell command or a slash command: a backslash, which
    /// the agent CLIs pass on as text (and a model reads as an escape). A space is not enough:
    /// Claude Code 2.1.332, Gemini CLI 0.61 and pi 0.73 trim the input before they look for a
    /// command, and Claude Code and Gemini CLI strip zero-width characters too. The sim keeps
    /// a leading space; a command gets nothing.
    pub fn prompt_guard(self) -> &'static str {
        match self {
            Harness::Claude | Harness::Codex | Harness::Gemini | Harness::Pi => "\\",
            Harness::Sim => " ",
            Harness::Command => "",
        }
    }

    /// Whether a captured screen shows its input box ready for a paste, or `None` when orch
    /// cannot tell for this harness. Claude Code 2.1.332 fires SessionStart about 100 ms
    /// before it turns on bracketed paste (and before it draws its box): a multi-line paste in
    /// that window arrives as keys, and each line break submits a prompt of its own.
    pub fn input_ready(self, screen: &str) -> Option<bool> {
        match self {
            Harness::Claude | Harness::Sim => Some(input_box(screen).is_some()),
            Harness::Codex | Harness::Gemini | Harness::Pi | Harness::Command => None,
        }
    }

    /// The command line that starts it with agent session id `session_id` (ignored by Codex
    /// and pi), then `extra`. pi's extension is passed by the caller (`-e <file>` in `extra`).
    /// For a command, `extra` is the whole command line; it must not be empty.
    pub fn argv(self, session_id: &str, name: &str, extra: &[String]) -> Result<Vec<String>> {
        let mut argv = match self {
            Harness::Command => {
                if extra.is_empty() {
                    bail!(
                        "the command harness needs the program to run: give it after `--` \
                         (`orch spawn --harness command -- python3 -q`) or as the outfit's \
                         `command`"
                    );
                }
                Vec::new()
            }
            Harness::Codex => {
                let bin = self.program().unwrap_or_default();
                // No shared app-server daemon (it would run the hooks with another pane's
                // environment and outlive the pane); the hooks are orch's own, in the
                // per-worker CODEX_HOME, so they need no trust review.
                vec![
                    bin,
                    "--no-daemon".into(),
                    "--dangerously-bypass-hook-trust".into(),
                    "-c".into(),
                    "check_for_update_on_startup=false".into(),
                ]
            }
            Harness::Gemini => {
                let bin = self.program().unwrap_or_default();
                vec![bin, "--session-id".into(), session_id.into()]
            }
            Harness::Pi => {
                let bin = self.program().unwrap_or_default();
                vec![bin]
            }
            Harness::Claude => {
                let bin = self.program().unwrap_or_default();
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

    /// Whether the harness needs the caller's variable `key`: `HOME`, `PATH`, locale, XDG
    /// folders, `ORCH_*` settings, and for Claude Code (and the sim) `ANTHROPIC_*`, `CLAUDE_*`
    /// but not the per-session ones Claude Code sets for its own children, for Codex `OPENAI_*`
    /// and `CODEX_*` but not `CODEX_HOME` (orch sets its own), for Gemini CLI `GEMINI_*` and
    /// `GOOGLE_*` but not `GEMINI_CLI_HOME` (orch sets its own) nor the variables it sets for its
    /// hooks, for pi `PI_*` but not `PI_CODING_AGENT_DIR`, and for a command everything but the
    /// per-session ones.
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
        let own = match self {
            Harness::Codex => {
                key != "CODEX_HOME" && (key.starts_with("OPENAI_") || key.starts_with("CODEX_"))
            }
            Harness::Gemini => {
                const OWN: [&str; 6] = [
                    "GEMINI_CLI_HOME",
                    "GEMINI_SESSION_ID",
                    "GEMINI_PROJECT_DIR",
                    "GEMINI_CWD",
                    "GEMINI_PLANS_DIR",
                    "GEMINI_CLI_NO_RELAUNCH",
                ];
                !OWN.contains(&key) && (key.starts_with("GEMINI_") || key.starts_with("GOOGLE_"))
            }
            // pi's own settings (`PI_OFFLINE`, ...) but not its agent folder (orch sets its
            // own); keys named in `models.json` are passed by the caller.
            Harness::Pi => key != "PI_CODING_AGENT_DIR" && key.starts_with("PI_"),
            Harness::Claude | Harness::Sim => {
                key.starts_with("ANTHROPIC_") || key.starts_with("CLAUDE_")
            }
            // A command is whatever the caller would run in their own shell: it gets all of
            // the caller's environment but orch's and Claude Code's per-session variables.
            Harness::Command => true,
        };
        own || key.starts_with("XDG_")
            || key.starts_with("LC_")
            || key.starts_with("ORCH_")
            || matches!(
                key,
                "HOME" | "PATH" | "LANG" | "USER" | "LOGNAME" | "SHELL" | "TMPDIR" | "IS_SANDBOX"
            )
    }

    /// Reads a captured screen of a harness that has not fired SessionStart yet.
    pub fn blocker(self, screen: &str, cwd: &str) -> Option<Blocker> {
        match self {
            Harness::Claude => {}
            Harness::Codex => return codex_blocker(screen, cwd),
            Harness::Gemini => return gemini_blocker(screen, cwd),
            Harness::Pi => return pi_blocker(screen),
            Harness::Command | Harness::Sim => return None,
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

/// Reads a Codex screen for the first-run screens that keep it from its input prompt.
fn codex_blocker(screen: &str, cwd: &str) -> Option<Blocker> {
    let has = |s: &str| screen.contains(s);
    // "Trust this folder?" for an unknown folder, "Open restricted" for one marked untrusted.
    if has("Trust this folder?") || has("Folder access") {
        return Some(Blocker {
            kind: "folder-trust",
            fix: format!(
                "Codex asks about trusting `{cwd}`, which your `~/.codex/config.toml` marks \
                 (orch trusts only folders it does not mention): set its `trust_level = \
                 \"trusted\"` there, or attach to the pane and answer"
            ),
        });
    }
    if has("Hooks need review") {
        return Some(Blocker {
            kind: "hook-trust",
            fix: "Codex asks to review hooks: attach to the pane and choose \"Trust all and \
                  continue\""
                .into(),
        });
    }
    if has("Sign in with ChatGPT") || has("Sign in with Device Code") {
        return Some(Blocker {
            kind: "login",
            fix: "Codex is not logged in: run `codex login` once, or configure a model provider \
                  with an `env_key` in `~/.codex/config.toml`"
                .into(),
        });
    }
    None
}

/// Reads a Gemini CLI screen for the first-run screens that come before its SessionStart.
fn gemini_blocker(screen: &str, cwd: &str) -> Option<Blocker> {
    let has = |s: &str| screen.contains(s);
    if has("Do you trust the files in this folder") || has("Do you trust this folder") {
        return Some(Blocker {
            kind: "folder-trust",
            fix: format!(
                "Gemini CLI asks whether to trust `{cwd}` (orch sets GEMINI_CLI_TRUST_WORKSPACE; \
                 a setting may override it): attach to the pane and choose \"Trust folder\""
            ),
        });
    }
    if has("How would you like to authenticate") || has("Enter Gemini API Key") {
        return Some(Blocker {
            kind: "auth",
            fix: "Gemini CLI asks how to authenticate: set GEMINI_API_KEY for orch, or run \
                  `gemini` once by hand and sign in (`security.auth.selectedType` in \
                  `~/.gemini/settings.json`)"
                .into(),
        });
    }
    None
}

/// Reads a pi screen for what keeps it from starting. pi 0.73 has no blocking first-run
/// screen; with no model configured it starts with a warning (and still fires SessionStart),
/// and an extension that fails to load is reported on screen.
fn pi_blocker(screen: &str) -> Option<Blocker> {
    let has = |s: &str| screen.contains(s);
    if has("No models available") {
        return Some(Blocker {
            kind: "login",
            fix: "pi has no model: run `pi` and `/login` once, or add a provider to \
                  `~/.pi/agent/models.json`"
                .into(),
        });
    }
    if has("Failed to load extension") {
        return Some(Blocker {
            kind: "extension",
            fix: "pi cannot load orch's extension: attach to the pane to read why".into(),
        });
    }
    None
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
    fn codex_passes_its_own_vars_and_reads_its_screens() {
        let h = Harness::Codex;
        assert!(h.passes("OPENAI_API_KEY") && h.passes("CODEX_SANDBOX"));
        assert!(!h.passes("CODEX_HOME") && !h.passes("ANTHROPIC_API_KEY"));
        assert!(h.passes("HOME"));
        let ready =
            "  >_ OpenAI Codex (v0.169.0)\n› Ask Codex to do anything\n\n  ? for shortcuts\n";
        assert!(h.ready_screen(ready));
        assert_eq!(h.blocker(ready, "/w"), None);
        let hooks = "  Hooks need review\n› 1. Review hooks\n  2. Trust all and continue\n";
        assert_eq!(h.blocker(hooks, "/w").unwrap().kind, "hook-trust");
        assert!(!h.ready_screen(hooks));
        let trust =
            "  Folder access\n  Trust this folder? Codex can read\n› 1. Trust and continue\n";
        assert_eq!(h.blocker(trust, "/w").unwrap().kind, "folder-trust");
        let untrusted = "  Folder access\n  /w\n› 1. Open restricted\n";
        assert_eq!(h.blocker(untrusted, "/w").unwrap().kind, "folder-trust");
        assert!(!Harness::Claude.ready_screen(ready));
    }

    #[test]
    fn gemini_passes_its_own_vars_and_reads_its_screens() {
        let h = Harness::Gemini;
        assert!(h.passes("GEMINI_API_KEY") && h.passes("GOOGLE_GEMINI_BASE_URL"));
        assert!(!h.passes("GEMINI_CLI_HOME") && !h.passes("GEMINI_SESSION_ID"));
        assert!(!h.passes("ANTHROPIC_API_KEY") && !h.passes("OPENAI_API_KEY"));
        assert!(h.sets_session_id() && !h.starts_on_first_prompt());
        let trust = " Do you trust the files in this folder?\n ● 1. Trust folder (w)\n";
        assert_eq!(h.blocker(trust, "/w").unwrap().kind, "folder-trust");
        let auth = " How would you like to authenticate for this project?\n";
        assert_eq!(h.blocker(auth, "/w").unwrap().kind, "auth");
        assert_eq!(h.blocker(" > Type your message", "/w"), None);
    }

    #[test]
    fn pi_passes_its_own_vars_and_reads_its_screens() {
        let h = Harness::parse("pi").unwrap();
        assert_eq!((h.name(), h.title()), ("pi", "pi"));
        assert!(!h.sets_session_id() && !h.starts_on_first_prompt());
        assert!(h.passes("PI_OFFLINE") && h.passes("HOME"));
        assert!(!h.passes("PI_CODING_AGENT_DIR") && !h.passes("ANTHROPIC_API_KEY"));
        let warn = "Warning: No models available. Use /login or set an API key\n";
        assert_eq!(h.blocker(warn, "/w").unwrap().kind, "login");
        assert_eq!(h.blocker(" pi v0.73.1\n> \n", "/w"), None);
        assert!(!h.ready_screen(warn));
    }

    #[test]
    fn command_passes_everything_but_session_vars_and_needs_a_program() {
        let h = Harness::parse("command").unwrap();
        assert!(h.passes("OPENAI_API_KEY") && h.passes("TMUX") && h.passes("MY_VAR"));
        assert!(!h.passes("ORCH_WORKER") && !h.passes("CLAUDE_CODE_SESSION_ID"));
        assert!(!h.sets_session_id() && !h.starts_on_first_prompt());
        assert_eq!(h.detector(), "quiet");
        assert_eq!(Harness::Pi.detector(), "extension");
        let err = h.argv("", "n", &[]).unwrap_err();
        assert!(format!("{err:#}").contains("after `--`"), "{err:#}");
        let argv = h.argv("", "n", &["python3".into(), "-q".into()]).unwrap();
        assert_eq!(argv, ["python3", "-q"]);
        assert_eq!(h.blocker("anything", "/w"), None);
    }

    #[test]
    fn versions_are_found_as_each_cli_prints_them() {
        assert_eq!(
            Version::find("2.1.332 (Claude Code)"),
            Some(Version(2, 1, 332))
        );
        assert_eq!(Version::find("codex-cli 0.171.0"), Some(Version(0, 171, 0)));
        assert_eq!(Version::find("0.61.0\n"), Some(Version(0, 61, 0)));
        assert_eq!(Version::find("v1.2.3-beta.4"), Some(Version(1, 2, 3)));
        assert_eq!(Version::find("no version here 1.2"), None);
        let claude = Harness::Claude.verified().unwrap();
        assert!(claude.covers(Version(2, 1, 197)) && claude.covers(Version(2, 1, 300)));
        assert!(!claude.covers(Version(2, 1, 333)) && !claude.covers(Version(2, 0, 9)));
        assert_eq!(claude.range(), "2.1.197 to 2.1.332");
        assert_eq!(Harness::Gemini.verified().unwrap().range(), "0.61.0");
        assert!(Harness::Sim.verified().is_none() && Harness::Command.program().is_none());
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
