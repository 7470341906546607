//! Harnesses: the agent CLIs a worker can run, one file each behind one interface,
//! [`Adapter`]: how to start it ([`Adapter::prepare`]: the command line, its environment, the
//! files in the worker's folder, the outfit applied), which of the caller's variables it needs,
//! how it reports a turn end, how to read its screens (first-run screens, the input box) and
//! how a prompt must look to arrive as one. [`Harness`] names them; adding a harness is one
//! file here and one line in the `harnesses!` list below.
//!
//! Nothing here reads or writes the state directory's records: the spawn pipeline
//! ([`crate::spawn`]) does, with what an adapter returns.

pub mod adapter;
pub mod claude;
pub mod codex;
pub mod command;
pub mod gemini;
pub mod pi;
pub mod quiet;
pub mod sim;

pub use adapter::{input_box, Adapter, Blocker, Launch, Spawn, Verified, Version, CLEAR_HINT};

use crate::outfit::Outfit;
use anyhow::{bail, Context, Result};
use std::fmt;
use std::path::Path;

/// Declares [`Harness`] with one variant per adapter, in the order `--harness` lists them.
macro_rules! harnesses {
    ($($(#[$doc:meta])* $variant:ident => $adapter:path,)*) => {
        /// An agent CLI orch can start in a pane.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Harness {
            $($(#[$doc])* $variant,)*
        }

        impl Harness {
            /// Every harness, in the order `--harness` lists them.
            pub const ALL: &'static [Harness] = &[$(Harness::$variant,)*];

            /// Its adapter.
            fn adapter(self) -> &'static dyn Adapter {
                match self {
                    $(Harness::$variant => &$adapter,)*
                }
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

impl Harness {
    /// Parses a harness name (`claude`, `codex`, `gemini`, `pi`, `command`, `sim`).
    pub fn parse(name: &str) -> Result<Harness> {
        match Harness::ALL.iter().find(|h| h.name() == name) {
            Some(h) => Ok(*h),
            None => {
                let names: Vec<String> = Harness::ALL
                    .iter()
                    .map(|h| format!("`{}`", h.name()))
                    .collect();
                let (last, rest) = names.split_last().expect("there are harnesses");
                bail!(
                    "unknown harness `{name}`: use {} or {last}",
                    rest.join(", ")
                )
            }
        }
    }

    /// The names of every harness, for `--harness`'s possible values.
    pub fn names() -> Vec<&'static str> {
        Harness::ALL.iter().map(|h| h.name()).collect()
    }

    /// Its name for `--harness`: [`Adapter::name`].
    pub fn name(self) -> &'static str {
        self.adapter().name()
    }

    /// Its product name: [`Adapter::title`].
    pub fn title(self) -> &'static str {
        self.adapter().title()
    }

    /// How its turn ends are learnt: [`Adapter::detector`].
    pub fn detector(self) -> &'static str {
        self.adapter().detector()
    }

    /// [`Adapter::sets_session_id`].
    pub fn sets_session_id(self) -> bool {
        self.adapter().sets_session_id()
    }

    /// [`Adapter::starts_on_first_prompt`].
    pub fn starts_on_first_prompt(self) -> bool {
        self.adapter().starts_on_first_prompt()
    }

    /// [`Adapter::ready_screen`].
    pub fn ready_screen(self, screen: &str) -> bool {
        self.adapter().ready_screen(screen)
    }

    /// [`Adapter::blocker`].
    pub fn blocker(self, screen: &str, cwd: &str) -> Option<Blocker> {
        self.adapter().blocker(screen, cwd)
    }

    /// [`Adapter::input_ready`].
    pub fn input_ready(self, screen: &str) -> Option<bool> {
        self.adapter().input_ready(screen)
    }

    /// [`Adapter::prompt_guard`].
    pub fn prompt_guard(self) -> &'static str {
        self.adapter().prompt_guard()
    }

    /// [`Adapter::prompt_text`].
    pub fn prompt_text(self, text: &str, slash: bool) -> (&'static str, String) {
        self.adapter().prompt_text(text, slash)
    }

    /// [`Adapter::has_slash_commands`].
    pub fn has_slash_commands(self) -> bool {
        self.adapter().has_slash_commands()
    }

    /// [`Adapter::submitting`].
    pub fn submitting(
        self,
        server: &crate::tmux::Server,
        pane: &str,
        dir: &Path,
        text: &str,
    ) -> Result<()> {
        self.adapter().submitting(server, pane, dir, text)
    }

    /// [`Adapter::silence`].
    pub fn silence(self) -> &'static str {
        self.adapter().silence()
    }

    /// [`Adapter::interrupt_key`].
    pub fn interrupt_key(self) -> &'static str {
        self.adapter().interrupt_key()
    }

    /// [`Adapter::verified`].
    pub fn verified(self) -> Option<Verified> {
        self.adapter().verified()
    }

    /// [`Adapter::trust`].
    pub fn trust(self, cwd: &Path) -> Result<()> {
        self.adapter().trust(cwd)
    }

    /// [`Adapter::resumes`].
    pub fn resumes(self) -> bool {
        self.adapter().resumes()
    }

    /// [`Adapter::usage_format`].
    pub fn usage_format(self) -> Option<adapter::UsageFormat> {
        self.adapter().usage_format()
    }

    /// [`Adapter::transcript`].
    pub fn transcript(self, dir: &Path, session_id: &str) -> Option<std::path::PathBuf> {
        self.adapter().transcript(dir, session_id)
    }

    /// [`Adapter::placed`].
    pub fn placed(
        self,
        server: &crate::tmux::Server,
        pane: &str,
        state: &Path,
        id: &str,
    ) -> Result<()> {
        self.adapter().placed(server, pane, state, id)
    }

    /// The variable that overrides its program (`ORCH_CODEX_BIN`), if it has a CLI of its own.
    pub fn program_var(self) -> Option<&'static str> {
        self.adapter().program_var().map(|(var, _)| var)
    }

    /// The program orch starts for it: `$ORCH_<NAME>_BIN` when set (e.g. `ORCH_CODEX_BIN`),
    /// else its usual name on PATH; `None` for the command and the sim.
    pub fn program(self) -> Option<String> {
        let (var, default) = self.adapter().program_var()?;
        Some(adapter::program(var, default))
    }

    /// Whether the harness needs the caller's variable `key`: `HOME`, `PATH`, locale, XDG
    /// folders, `ORCH_*` settings, and its own ([`Adapter::passes`]); never orch's
    /// `ORCH_WORKER` nor the per-session variables Claude Code sets for its children.
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
        self.adapter().passes(key)
            || key.starts_with("XDG_")
            || key.starts_with("LC_")
            || key.starts_with("ORCH_")
            || matches!(
                key,
                "HOME" | "PATH" | "LANG" | "USER" | "LOGNAME" | "SHELL" | "TMPDIR" | "IS_SANDBOX"
            )
    }

    /// Sets a worker up ([`Adapter::prepare`]). Errors: `--quiet` or `--prompt-regex` for a
    /// harness that reports its turns itself, or what the adapter says.
    pub fn prepare(self, spawn: &Spawn) -> Result<Launch> {
        if self.detector() != "quiet" && (spawn.quiet.is_some() || spawn.prompt_regex.is_some()) {
            bail!(
                "`--quiet` and `--prompt-regex` set the quiet detector of `--harness command`; \
                 the {} harness reports its turns itself",
                self.name()
            );
        }
        self.adapter().prepare(spawn)
    }

    /// The harness an outfit names, checked with what it sets for it (a command's detector
    /// settings); `None` when it names none. Errors name the outfit's file.
    pub fn of_outfit(outfit: &Outfit) -> Result<Option<Harness>> {
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

impl fmt::Display for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Harness {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Harness {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Harness, D::Error> {
        let name = String::deserialize(deserializer)?;
        Harness::parse(&name).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_unknown_ones_are_named() {
        for h in Harness::ALL {
            assert_eq!(Harness::parse(h.name()).unwrap(), *h);
        }
        assert_eq!(
            Harness::names(),
            ["claude", "codex", "gemini", "pi", "command", "sim"]
        );
        let err = Harness::parse("emacs").unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown harness `emacs`: use `claude`, `codex`, `gemini`, `pi`, `command` or `sim`"
        );
        let json = serde_json::to_string(&Harness::Codex).unwrap();
        assert_eq!(json, "\"codex\"");
        assert_eq!(
            serde_json::from_str::<Harness>(&json).unwrap(),
            Harness::Codex
        );
    }

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
}
