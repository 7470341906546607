//! Harnesses: the agent CLIs a worker can run, one file each behind one interface,
//! [`Adapter`]: how to start it ([`Adapter::prepare`]: the command line, its environment, the
//! files in the worker's folder, the outfit applied), which of the caller's variables it needs,
//! how it reports a turn end, how to read its screens (first-run screens, the input box) and
//! how a prompt must look to arrive as one. [`Harness`] names them; adding a harness is one
//! file here and one line in the `harnesses!` list below.
//!
//! Nothing here reads or writes the state directory's records: the spawn pipeline
//! ([`crate::fleet::spawn`]) does, with what an adapter returns.

pub mod adapter;
pub mod claude;
pub mod codex;
pub mod command;
pub mod gemini;
pub mod pi;
pub mod quiet;
pub mod sim;

pub use adapter::{input_box, Adapter, Blocker, Launch, Spawn, Verified, Version, CLEAR_HINT};
pub use orch_store::Harness;

use crate::harness::quiet::Quiet;
use crate::outfit::Outfit;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// The adapter of each [`Harness`] (the kinds the store keeps): one line per harness, and the
/// compiler names a kind left without one.
macro_rules! harnesses {
    ($($(#[$doc:meta])* $variant:ident => $adapter:path,)*) => {
        /// The adapter that drives harness `h`.
        fn adapter_of(h: Harness) -> &'static dyn Adapter {
            match h {
                $(Harness::$variant => &$adapter,)*
            }
        }
    };
}

harnesses! {
    /// Claude Code: `${ORCH_CLAUDE_BIN:-claude} --session-id <uuid> [args]`.
    Claude => claude::Claude,
    /// OpenAI's Codex CLI, with a per-worker `CODEX_HOME` ([`codex`]).
    Codex => codex::Codex,
    /// Google's Gemini CLI, with a per-worker `GEMINI_CLI_HOME` ([`gemini`]).
    Gemini => gemini::Gemini,
    /// pi (`@mariozechner/pi-coding-agent`), driven by orch's extension ([`pi`]).
    Pi => pi::Pi,
    /// Any program, its turns read off the pane by a quiet detector ([`command`]).
    Command => command::Command,
    /// orch's own simulated agent (`orch-sim`), for the demo and fast tests ([`sim`]).
    Sim => sim::Sim,
}

/// The names of the environment variables that hold or point at a harness's credentials, and
/// the folder under `HOME` where it keeps a login.
fn credentials(harness: Harness) -> Option<(&'static [&'static str], &'static str)> {
    Some(match harness {
        Harness::Claude | Harness::Sim => (
            &[
                "CLAUDE_CONFIG_DIR",
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "ANTHROPIC_BASE_URL",
            ],
            ".claude",
        ),
        Harness::Codex => (&["OPENAI_API_KEY", "OPENAI_BASE_URL"], ".codex"),
        Harness::Gemini => (
            &["GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL"],
            ".gemini",
        ),
        Harness::Pi => (
            &["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY"],
            ".pi",
        ),
        Harness::Command => return None,
    })
}

/// The account a worker of `harness` started with `env` (its whole environment) spends on:
/// `<harness>-<8 hex>`, a hash of where its credentials are and what they are (never the
/// secret itself). Workers with the same login or key share it. `None` for the `command`
/// harness (no model of its own).
pub fn account_of(harness: Harness, env: &[(String, String)]) -> Option<String> {
    let (vars, home_folder) = credentials(harness)?;
    let get = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut key = format!("{}/{home_folder}", get("HOME").unwrap_or(""));
    for var in vars {
        key.push('\0');
        key.push_str(get(var).unwrap_or(""));
    }
    let family = match harness {
        Harness::Sim => "claude",
        other => other.name(),
    };
    Some(format!(
        "{family}-{}",
        &crate::delivery::prompt::hash(&key)[..8]
    ))
}

/// What each [`Harness`] does, through its adapter (import it to call these on a harness).
pub trait HarnessExt {
    /// Its adapter.
    fn adapter(self) -> &'static dyn Adapter;

    /// Its product name: [`Adapter::title`].
    fn title(self) -> &'static str;

    /// How its turn ends are learnt: [`Adapter::detector`].
    fn detector(self) -> &'static str;

    /// [`Adapter::sets_session_id`].
    fn sets_session_id(self) -> bool;

    /// [`Adapter::starts_on_first_prompt`].
    fn starts_on_first_prompt(self) -> bool;

    /// [`Adapter::ready_screen`].
    fn ready_screen(self, screen: &str) -> bool;

    /// [`Adapter::blocker`].
    fn blocker(self, screen: &str, cwd: &str) -> Option<Blocker>;

    /// [`Adapter::input_ready`].
    fn input_ready(self, screen: &str) -> Option<bool>;

    /// [`Adapter::limit_dialog`].
    fn limit_dialog(self, screen: &str) -> bool;

    /// [`Adapter::limit_dialog_keys`].
    fn limit_dialog_keys(self) -> &'static [&'static str];

    /// [`Adapter::keeps_failed_prompt`].
    fn keeps_failed_prompt(self) -> bool;

    /// [`Adapter::prompt_guard`].
    fn prompt_guard(self) -> &'static str;

    /// [`Adapter::prompt_text`].
    fn prompt_text(self, text: &str, slash: bool) -> (&'static str, String);

    /// [`Adapter::has_slash_commands`].
    fn has_slash_commands(self) -> bool;

    /// [`Adapter::submitting`].
    fn submitting(
        self,
        server: &crate::tmux::TmuxServer,
        pane: &str,
        dir: &orch_store::WorkerDir,
        text: &str,
    ) -> Result<()>;

    /// [`Adapter::silence`].
    fn silence(self) -> &'static str;

    /// [`Adapter::interrupt_key`].
    fn interrupt_key(self) -> &'static str;

    /// [`Adapter::verified`].
    fn verified(self) -> Option<Verified>;

    /// [`Adapter::trust`].
    fn trust(self, cwd: &Path) -> Result<()>;

    /// [`Adapter::resumes`].
    fn resumes(self) -> bool;

    /// [`Adapter::usage_format`].
    fn usage_format(self) -> Option<adapter::UsageFormat>;

    /// [`Adapter::transcript`].
    fn transcript(self, dir: &Path, session_id: &str) -> Option<std::path::PathBuf>;

    /// [`Adapter::holds_conversation`].
    fn holds_conversation(self, path: &Path) -> bool;

    /// [`Adapter::placed`].
    fn placed(
        self,
        server: &crate::tmux::TmuxServer,
        pane: &str,
        state: &Path,
        id: &str,
    ) -> Result<()>;

    /// The variable that overrides its program (`ORCH_CODEX_BIN`), if it has a CLI of its own.
    fn program_var(self) -> Option<&'static str>;

    /// The program orch starts for it: `$ORCH_<NAME>_BIN` when set (e.g. `ORCH_CODEX_BIN`),
    /// else its usual name on PATH; `None` for the command and the sim.
    fn program(self) -> Option<String>;

    /// Whether the harness needs the caller's variable `key`: `HOME`, `PATH`, locale, XDG
    /// folders, `ORCH_*` settings, and its own ([`Adapter::passes`]); never orch's
    /// `ORCH_WORKER` nor the per-session variables Claude Code sets for its children.
    fn passes(self, key: &str) -> bool;

    /// Sets a worker up ([`Adapter::prepare`]). Errors: `--quiet` or `--prompt-regex` for a
    /// harness that reports its turns itself, or what the adapter says.
    fn prepare(self, spawn: &Spawn) -> Result<Launch>;

    /// The harness an outfit names, checked with what it sets for it (a command's detector
    /// settings); `None` when it names none. Errors name the outfit's file.
    fn of_outfit(outfit: &Outfit) -> Result<Option<Harness>>;
}

impl HarnessExt for Harness {
    fn adapter(self) -> &'static dyn Adapter {
        adapter_of(self)
    }

    fn title(self) -> &'static str {
        self.adapter().title()
    }

    fn detector(self) -> &'static str {
        self.adapter().detector()
    }

    fn sets_session_id(self) -> bool {
        self.adapter().sets_session_id()
    }

    fn starts_on_first_prompt(self) -> bool {
        self.adapter().starts_on_first_prompt()
    }

    fn ready_screen(self, screen: &str) -> bool {
        self.adapter().ready_screen(screen)
    }

    fn blocker(self, screen: &str, cwd: &str) -> Option<Blocker> {
        self.adapter().blocker(screen, cwd)
    }

    fn input_ready(self, screen: &str) -> Option<bool> {
        self.adapter().input_ready(screen)
    }

    fn limit_dialog(self, screen: &str) -> bool {
        self.adapter().limit_dialog(screen)
    }

    fn limit_dialog_keys(self) -> &'static [&'static str] {
        self.adapter().limit_dialog_keys()
    }

    fn keeps_failed_prompt(self) -> bool {
        self.adapter().keeps_failed_prompt()
    }

    fn prompt_guard(self) -> &'static str {
        self.adapter().prompt_guard()
    }

    fn prompt_text(self, text: &str, slash: bool) -> (&'static str, String) {
        self.adapter().prompt_text(text, slash)
    }

    fn has_slash_commands(self) -> bool {
        self.adapter().has_slash_commands()
    }

    fn submitting(
        self,
        server: &crate::tmux::TmuxServer,
        pane: &str,
        dir: &orch_store::WorkerDir,
        text: &str,
    ) -> Result<()> {
        self.adapter().submitting(server, pane, dir, text)
    }

    fn silence(self) -> &'static str {
        self.adapter().silence()
    }

    fn interrupt_key(self) -> &'static str {
        self.adapter().interrupt_key()
    }

    fn verified(self) -> Option<Verified> {
        self.adapter().verified()
    }

    fn trust(self, cwd: &Path) -> Result<()> {
        self.adapter().trust(cwd)
    }

    fn resumes(self) -> bool {
        self.adapter().resumes()
    }

    fn usage_format(self) -> Option<adapter::UsageFormat> {
        self.adapter().usage_format()
    }

    fn transcript(self, dir: &Path, session_id: &str) -> Option<std::path::PathBuf> {
        self.adapter().transcript(dir, session_id)
    }

    fn holds_conversation(self, path: &Path) -> bool {
        self.adapter().holds_conversation(path)
    }

    fn placed(
        self,
        server: &crate::tmux::TmuxServer,
        pane: &str,
        state: &Path,
        id: &str,
    ) -> Result<()> {
        self.adapter().placed(server, pane, state, id)
    }

    fn program_var(self) -> Option<&'static str> {
        self.adapter().program_var().map(|(var, _)| var)
    }

    fn program(self) -> Option<String> {
        let (var, default) = self.adapter().program_var()?;
        Some(adapter::program(var, default))
    }

    fn passes(self, key: &str) -> bool {
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
        self.adapter().passes(key)
            || key.starts_with("XDG_")
            || key.starts_with("LC_")
            || key.starts_with("ORCH_")
            || matches!(
                key,
                "HOME" | "PATH" | "LANG" | "USER" | "LOGNAME" | "SHELL" | "TMPDIR" | "IS_SANDBOX"
            )
    }

    fn prepare(self, spawn: &Spawn) -> Result<Launch> {
        if self.detector() != "quiet" && (spawn.quiet.is_some() || spawn.prompt_regex.is_some()) {
            bail!(
                "`--quiet` and `--prompt-regex` set the quiet detector of `--harness command`; \
                 the {} harness reports its turns itself",
                self.name()
            );
        }
        self.adapter().prepare(spawn)
    }

    fn of_outfit(outfit: &Outfit) -> Result<Option<Harness>> {
        let origin = &outfit.origin;
        let Some(name) = &outfit.harness else {
            quiet::Detector::of_outfit(outfit)?;
            return Ok(None);
        };
        let harness = Harness::parse(name).with_context(|| origin.to_string())?;
        quiet::Detector::of_outfit(outfit)?;
        Ok(Some(harness))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outfit_names_a_harness_and_its_detector_settings_are_checked() {
        let check = |yaml: &str| {
            let outfit = crate::outfit::parse(yaml, "f.yaml").unwrap();
            Harness::of_outfit(&outfit).map_err(|e| format!("{e:#}"))
        };
        assert_eq!(check("name: x\nharness: codex\n"), Ok(Some(Harness::Codex)));
        assert_eq!(check("name: x\n"), Ok(None));
        let cases = [
            ("name: x\nharness: emacs\n", "unknown harness `emacs`"),
            ("name: x\nprompt_regex: '('\n", "f.yaml: prompt regex `(`"),
            (
                "name: x\nquiet: 0\n",
                "f.yaml: quiet time 0 s is out of range",
            ),
        ];
        for (yaml, want) in cases {
            let err = check(yaml).unwrap_err();
            assert!(err.contains(want), "{yaml:?} gave {err}");
        }
    }

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
        let dir = tempfile::tempdir().unwrap();
        fn spawn<'a>(dir: &'a Path, args: &'a [String]) -> Spawn<'a> {
            Spawn {
                id: "w1",
                name: "n",
                dir,
                cwd: dir,
                session_id: None,
                resume: false,
                outfit: None,
                args,
                env: &[],
                quiet: None,
                prompt_regex: None,
                hook: Path::new("/orch-hook"),
            }
        }
        let err = h.prepare(&spawn(dir.path(), &[])).unwrap_err();
        assert!(format!("{err:#}").contains("after `--`"), "{err:#}");
        let launch = h
            .prepare(&spawn(dir.path(), &["python3".into(), "-q".into()]))
            .unwrap();
        assert_eq!(launch.argv, ["python3", "-q"]);
        assert_eq!(launch.detector.unwrap().kind(), "quiet");
        let err = Harness::Sim
            .prepare(&Spawn {
                quiet: Some(1.0),
                ..spawn(dir.path(), &[])
            })
            .unwrap_err();
        assert!(format!("{err:#}").contains("--harness command"), "{err:#}");
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
    fn workers_with_the_same_credentials_share_an_account() {
        let env = |key: &str| {
            vec![
                ("HOME".to_string(), "/home/a".to_string()),
                ("ANTHROPIC_API_KEY".to_string(), key.to_string()),
            ]
        };
        let a = account_of(Harness::Claude, &env("k1")).unwrap();
        assert!(a.starts_with("claude-") && a.len() == 15, "{a}");
        assert_eq!(account_of(Harness::Claude, &env("k1")), Some(a.clone()));
        assert_ne!(account_of(Harness::Claude, &env("k2")), Some(a.clone()));
        assert!(!a.contains("k1"));
        assert_eq!(account_of(Harness::Command, &env("k1")), None);
    }
}
