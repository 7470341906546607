//! The interface every harness implements ([`Adapter`]), what it is given ([`Spawn`]) and
//! returns ([`Launch`]), and what they share: versions, first-run blockers, Claude Code's input
//! box. It refers to no harness: [`super`] lists them.

use crate::outfit::{Dress, Outfit};
use anyhow::Result;
use std::fmt;
use std::path::Path;

/// What an adapter knows about its CLI. Every method but
/// [`Adapter::title`], [`Adapter::passes`] and [`Adapter::prepare`] has the answer most
/// harnesses give.
pub trait Adapter: Sync {
    /// Its product name, for messages: `Claude Code`, `Codex`, `orch-sim`.
    fn title(&self) -> &'static str;

    /// How orch learns that a turn ended, as `orch ps` shows it: `hooks` (the CLI runs
    /// orch-hook), `extension` (orch's extension runs it) or `quiet` (the command harness's
    /// detector).
    fn detector(&self) -> &'static str {
        "hooks"
    }

    /// Whether orch chooses the agent's session id (`--session-id`); Codex and pi pick their
    /// own, and a command has none.
    fn sets_session_id(&self) -> bool {
        true
    }

    /// Whether the agent fires SessionStart only with its first prompt (Codex), so that a
    /// spawn waits for its input prompt on screen ([`Adapter::ready_screen`]) instead.
    fn starts_on_first_prompt(&self) -> bool {
        false
    }

    /// Whether a captured screen shows it waiting at its input prompt (for
    /// [`Adapter::starts_on_first_prompt`]).
    fn ready_screen(&self, _screen: &str) -> bool {
        false
    }

    /// Why a captured screen of a harness that has not fired SessionStart yet shows it stuck,
    /// with the fix; `cwd` is the worker's folder.
    fn blocker(&self, _screen: &str, _cwd: &str) -> Option<Blocker> {
        None
    }

    /// Whether a captured screen shows its input box ready for a paste, or `None` when orch
    /// cannot tell for this harness.
    fn input_ready(&self, _screen: &str) -> Option<bool> {
        None
    }

    /// Whether a captured screen shows a dialog the CLI opened when a usage limit ended a
    /// turn (Codex offers a cheaper model, and Enter there would switch the worker's model; Gemini
    /// CLI offers to keep trying). The limit's waiter closes it before it continues the turn
    /// ([`Adapter::limit_dialog_keys`]).
    fn limit_dialog(&self, _screen: &str) -> bool {
        false
    }

    /// The keys that close [`Adapter::limit_dialog`] and leave the turn ended: Escape (Codex);
    /// Gemini CLI's dialog takes `Stop`, its second item. None for a harness without such a
    /// dialog (delivery then never looks for one).
    fn limit_dialog_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether the failed prompt of a turn a usage limit ended stays in the conversation, so
    /// that a short `continue` goes on with it (Claude Code, Codex, pi). Gemini CLI drops it:
    /// its task is sent again instead (docs/observed.md, 4.2).
    fn keeps_failed_prompt(&self) -> bool {
        true
    }

    /// What `tell` puts in front of a prompt that starts with `!` or `/`, so that the harness
    /// takes it as a prompt and not as a shell command or a slash command: a backslash, which
    /// the agent CLIs pass on as text (and a model reads as an escape). A space is not enough:
    /// Claude Code 2.1.332, Gemini CLI 0.61 and pi 0.73 trim the input before they look for a
    /// command, and Claude Code and Gemini CLI strip zero-width characters too.
    fn prompt_guard(&self) -> &'static str {
        "\\"
    }

    /// The text `tell` pastes for `text`, as the guard it put in front and the rest: by
    /// default [`neutralise`]d. `slash` is `tell --command`: the text goes as typed.
    fn prompt_text(&self, text: &str, slash: bool) -> (&'static str, String) {
        neutralise(text, slash, self.prompt_guard())
    }

    /// Whether `tell --command` means anything here: the CLI has slash commands, which may
    /// fire no prompt event at all (`/help`), so such a delivery is not waited for.
    fn has_slash_commands(&self) -> bool {
        true
    }

    /// Runs after the paste, right before Enter (the command harness notes the prompt for its
    /// detector, which acknowledges it).
    fn submitting(
        &self,
        _server: &crate::tmux::TmuxServer,
        _pane: &str,
        _dir: &orch_store::WorkerDir,
        _text: &str,
    ) -> Result<()> {
        Ok(())
    }

    /// Why a prompt got no acknowledgement after the last Enter, for the error.
    fn silence(&self) -> &'static str {
        "the text may still sit in its input box"
    }

    /// The key `orch interrupt` sends: Escape, which ends an agent's turn and puts the prompt
    /// back into its input box (orch then clears it).
    fn interrupt_key(&self) -> &'static str {
        "Escape"
    }

    /// Whether the harness needs the caller's variable `key`, beyond what every harness gets
    /// ([`super::HarnessExt::passes`]).
    fn passes(&self, key: &str) -> bool;

    /// The CLI releases orch was verified on (README: Compatibility), if it has a CLI of its
    /// own.
    fn verified(&self) -> Option<Verified> {
        None
    }

    /// The variable that overrides its program and the program's usual name
    /// (`("ORCH_CODEX_BIN", "codex")`), if it has a CLI of its own.
    fn program_var(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Marks the worker's folder `cwd` trusted before it starts (`spawn --trust`); nothing
    /// for a harness without such a question.
    fn trust(&self, _cwd: &Path) -> Result<()> {
        Ok(())
    }

    /// Sets the worker up: writes what it needs into its state folder, applies the outfit,
    /// and returns how to start it.
    fn prepare(&self, spawn: &Spawn) -> Result<Launch>;

    /// Whether it can start again on a recorded conversation (`orch resume`): its
    /// [`Adapter::prepare`] honours [`Spawn::resume`].
    fn resumes(&self) -> bool {
        false
    }

    /// How its transcript records token usage, if it does ([`crate::spend::usage`] reads it).
    fn usage_format(&self) -> Option<UsageFormat> {
        None
    }

    /// The file that holds conversation `session_id` of the worker whose state folder is
    /// `dir`, if it is there (a resume needs it).
    fn transcript(&self, _dir: &Path, _session_id: &str) -> Option<std::path::PathBuf> {
        None
    }

    /// Whether its transcript at `path` ([`Adapter::transcript`]) holds a conversation it can
    /// go on with: the file alone, unless the harness needs more in it.
    fn holds_conversation(&self, _path: &Path) -> bool {
        true
    }

    /// Runs once the worker's pane exists (the command harness starts its detector there).
    fn placed(
        &self,
        _server: &crate::tmux::TmuxServer,
        _pane: &str,
        _state: &Path,
        _id: &str,
    ) -> Result<()> {
        Ok(())
    }
}

/// What a harness is given to set a worker up.
#[derive(Debug, Clone)]
pub struct Spawn<'a> {
    /// The worker's id (`w3`) and name.
    pub id: &'a str,
    pub name: &'a str,
    /// The worker's state folder (absolute): where its per-worker config goes.
    pub dir: &'a Path,
    /// The folder it works in.
    pub cwd: &'a Path,
    /// The agent session id orch chose, for a harness that takes one; with `resume`, the
    /// conversation to continue.
    pub session_id: Option<&'a str>,
    /// Start on the recorded conversation `session_id` (`orch resume`) instead of a new one.
    pub resume: bool,
    /// The outfit it wears, if any.
    pub outfit: Option<&'a Outfit>,
    /// The arguments given after `--`.
    pub args: &'a [String],
    /// The caller's environment (the harness picks what it needs, [`super::HarnessExt::passes`]).
    pub env: &'a [(String, String)],
    /// `--quiet` and `--prompt-regex`, for the command harness's detector.
    pub quiet: Option<f64>,
    pub prompt_regex: Option<&'a str>,
    /// The absolute path of `orch-hook`.
    pub hook: &'a Path,
}

/// How to start a worker, as its adapter prepared it.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// The command line.
    pub argv: Vec<String>,
    /// Variables the harness sets for itself (`CODEX_HOME`...), after the caller's it passes.
    pub env: Vec<(String, String)>,
    /// More of the caller's variables to pass (those the user's config names for API keys).
    pub pass: Vec<String>,
    /// What the outfit added: variables (before the outfit's `env` and `--env`, which win)
    /// and warnings about fields the harness cannot apply.
    pub dress: Dress,
    /// The command harness's detector settings, for `meta.json`.
    pub detector: Option<super::quiet::Detector>,
}

impl Launch {
    /// A launch of `argv` dressed as `dress`.
    pub fn new(argv: Vec<String>, dress: Dress) -> Launch {
        Launch {
            argv,
            dress,
            ..Launch::default()
        }
    }
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

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The releases of a harness's CLI that orch's whole test suite passed on (`install/test-deps.sh`
/// pins the oldest; `--latest` fetched the newest on the date), as README's Compatibility
/// table lists them (a test checks that they agree).
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

/// Why a harness is stuck before its first hook, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocker {
    /// Short name: `folder-trust`, `onboarding`, `api-key`, `settings-error`.
    pub kind: &'static str,
    /// What to do about it, in a sentence.
    pub fix: String,
}

/// What Claude Code (and the sim) show after an Escape on an idle input box that has text; a
/// second Escape then clears the box.
pub const CLEAR_HINT: &str = "Esc again to clear";

/// The text in the input box of a captured TUI screen, or `None` when no box is seen.
///
/// The box is the `❯ ` line right under a horizontal rule (a line of `─`), with the lines that
/// follow it up to the next rule or the end of the screen. That is how Claude Code 2.1 draws it
/// (docs/observed.md, 2.5) and how the sim draws it.
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

/// The text as it will be pasted into an agent's input box, and the guard put in front of it:
/// line ends made LF (inside a bracketed paste Claude Code takes a CR as a line break of its
/// own, so CR LF became a blank line), the trailing line ends dropped, and a leading `!` or `/`
/// given `guard` ([`Adapter::prompt_guard`]) unless `slash`.
pub fn neutralise(text: &str, slash: bool, guard: &'static str) -> (&'static str, String) {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim_end_matches('\n');
    if !slash && (text.starts_with('!') || text.starts_with('/')) {
        (guard, text.to_string())
    } else {
        ("", text.to_string())
    }
}

/// The first file below `root` (at most `depth` folders down) whose name `wanted` accepts.
pub fn find_file(
    root: &Path,
    depth: usize,
    wanted: &dyn Fn(&str) -> bool,
) -> Option<std::path::PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    let mut folders = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => folders.push(path),
            Ok(_) if wanted(&name.to_string_lossy()) => return Some(path),
            _ => {}
        }
    }
    if depth == 0 {
        return None;
    }
    folders
        .iter()
        .find_map(|folder| find_file(folder, depth - 1, wanted))
}

/// The first file below `root` (at most `depth` folders down) named `<prefix><time>-<id>.jsonl`,
/// as Codex (`rollout-`, the thread id) and Gemini CLI (`session-`, the session id's first 8
/// characters) name a conversation's transcript.
pub fn find_transcript(
    root: &Path,
    depth: usize,
    prefix: &str,
    id: &str,
) -> Option<std::path::PathBuf> {
    let tail = format!("-{id}.jsonl");
    find_file(root, depth, &|file| {
        file.starts_with(prefix) && file.ends_with(&tail)
    })
}

/// The program behind `var` (e.g. `ORCH_CODEX_BIN`) when it is set and not empty, else
/// `default` (found on PATH when the pane starts).
pub fn program(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

/// `PROGRAM --session-id <id>` for a new conversation, `PROGRAM --resume <id>` to go on with
/// one (Claude Code and Gemini CLI take both flags alike), then the dress's arguments and the
/// ones after `--`.
pub fn session_argv(program: String, spawn: &Spawn, dress: &Dress) -> Vec<String> {
    let flag = if spawn.resume {
        "--resume"
    } else {
        "--session-id"
    };
    let mut argv = vec![
        program,
        flag.into(),
        spawn.session_id.unwrap_or_default().into(),
    ];
    argv.extend(dress.args.iter().cloned());
    argv.extend(spawn.args.iter().cloned());
    argv
}

/// The outfit's dress on `harness` from `dress` (a harness's own `dress` function), or nothing
/// when the worker wears no outfit.
pub fn dressed(
    outfit: Option<&Outfit>,
    dress: impl FnOnce(&Outfit) -> Result<Dress>,
) -> Result<Dress> {
    outfit.map_or_else(|| Ok(Dress::default()), dress)
}

/// How a harness's transcript records what each model call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageFormat {
    /// Claude Code's session JSONL: each `assistant` line carries `message.id`,
    /// `message.model` and `message.usage` (`input_tokens`, `output_tokens`,
    /// `cache_read_input_tokens`, `cache_creation_input_tokens`); the lines of one message
    /// repeat its id.
    ClaudeTranscript,
    /// Codex's rollout JSONL: `turn_context` lines name the model; `event_msg` lines of
    /// payload type `token_count` carry the session's running totals in
    /// `info.total_token_usage` (`input_tokens` with `cached_input_tokens` among them,
    /// `output_tokens`).
    CodexRollout,
    /// Gemini CLI's session JSONL (0.61): each `gemini` line (`type: "gemini"`) carries its
    /// `id`, `model` and `tokens`, the `usageMetadata` of the model call that produced it:
    /// `input` (the prompt, cached tokens among them), `output` (the candidates), `cached`,
    /// `thoughts`, `tool` (tool-use prompt tokens), `total`. A message is appended again,
    /// whole, when it changes (its tool calls' results), so an id repeats; a `$rewindTo`
    /// line drops messages from the conversation but not from what was spent. Only the
    /// conversation's own calls are there, not the CLI's side requests (e.g. its loop check).
    GeminiSession,
    /// pi's session JSONL (0.73): each `message` entry whose `message.role` is `assistant`
    /// carries the entry's `id`, `message.provider`, `message.model` and `message.usage` as pi
    /// normalises it for every provider: `input` (not read from a cache), `output` (reasoning
    /// tokens among them), `cacheRead`, `cacheWrite`, `totalTokens` and pi's own `cost`. The
    /// calls that write its compaction and branch summaries are not recorded.
    PiSession,
}
