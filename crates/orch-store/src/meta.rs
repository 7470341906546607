//! A worker's record, `workers/<id>/meta.json`: the plain data it is made of (who it is, where
//! its pane is, what it runs, what it may spend), as orch writes it and a person reads it with
//! `jq`. What the data means in action (launching a harness, driving tmux, weighing a budget)
//! lives above this crate.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use std::fmt;
use std::path::PathBuf;

/// A worker's metadata, `workers/<id>/meta.json`. An optional field it lacks reads as
/// `None`; one that is `None` is left out of the file, but for those marked
/// `#[serialize_always]`, which records have always written as `null`.
#[skip_serializing_none]
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// Short id, `w1`, `w2`... unique in this state directory.
    pub id: String,
    /// The `--name` given at spawn, else the id.
    pub name: String,
    /// `worker` or `observer` (`operator` for an operator's record).
    pub role: Role,
    /// The harness it runs, stored by name: `claude`, `codex`, `gemini`, `pi`, `command` or
    /// `sim`.
    pub harness: Harness,
    /// The tmux server its pane lives on.
    #[serde(default)]
    pub server: TmuxServer,
    /// The server's socket path (`#{socket_path}`), the key the hook sees in `$TMUX`.
    #[serialize_always]
    pub socket_path: Option<String>,
    /// Its pane id, e.g. `%3`; `None` until the pane is open.
    #[serialize_always]
    pub pane: Option<String>,
    /// The pid of the tmux server its pane is on (`#{pid}`, as in `$TMUX`): with the pane id
    /// it names the pane for that server's life only.
    pub server_pid: Option<String>,
    /// The pid of the process tmux started in its pane (`#{pane_pid}`: the harness, the
    /// leader of its process group), to stop an agent that outlived its pane.
    pub pane_pid: Option<u32>,
    /// The tmux session and window that hold the pane.
    #[serialize_always]
    pub session: Option<String>,
    #[serialize_always]
    pub window: Option<String>,
    /// Working folder of the harness (absolute).
    pub cwd: PathBuf,
    /// Who spawned it: a worker id, `operator:<pane>` or `operator`.
    pub parent: String,
    /// The agent's session id (given with `--session-id`, updated by SessionStart after /clear).
    #[serialize_always]
    pub session_id: Option<String>,
    /// Unix milliseconds of the spawn.
    pub created_ms: u64,
    /// The harness command line as started.
    #[serde(default)]
    pub argv: Vec<String>,
    /// The outfit it was spawned in, if any.
    pub outfit: Option<String>,
    /// The account it spends on: the credentials its harness uses, as a name (`claude-1a2b3c4d`,
    /// a hash of where they are and what they are, never the secret itself). A usage limit
    /// one worker hits holds every worker of its account. `None` for a record made before
    /// orch knew accounts, and for the `command` harness.
    pub account: Option<String>,
    /// Its git worktree (`spawn --worktree`), if any.
    pub worktree: Option<Worktree>,
    /// How a `command` worker's turn end is read off its pane; `None` for the harnesses with
    /// hooks.
    pub detector: Option<Detector>,
    /// For a worker on another machine (`spawn --host`): the host and its id there; its pane,
    /// harness and events are the host's, mirrored here.
    pub remote: Option<Remote>,
    /// What it may spend (`spawn --budget-usd/--budget-tokens`, or its outfit's `budget`).
    pub budget: Option<Budget>,
    /// What `orch resume` needs to start it again as it was spawned.
    #[serde(default, skip_serializing_if = "Relaunch::is_empty")]
    pub relaunch: Relaunch,
}

impl Meta {
    /// Whether it runs the `command` harness: no hooks, its turns read off the pane by its
    /// detector, and no text typed into it but what `tell` is given.
    pub fn is_command(&self) -> bool {
        self.harness == Harness::Command
    }

    /// A record with `id` as its name, the given role and parent, no pane and no session yet
    /// (spawn and the operator's registration fill in the rest).
    pub fn new(id: &str, role: &str, parent: &str) -> Meta {
        Meta {
            id: id.into(),
            name: id.into(),
            role: Role::parse(role),
            harness: Harness::Sim,
            server: TmuxServer::default(),
            socket_path: None,
            pane: None,
            server_pid: None,
            pane_pid: None,
            session: None,
            window: None,
            cwd: "/".into(),
            parent: parent.into(),
            session_id: None,
            created_ms: crate::clock::now_ms(),
            argv: Vec::new(),
            outfit: None,
            account: None,
            worktree: None,
            detector: None,
            remote: None,
            budget: None,
            relaunch: Relaunch::default(),
        }
    }
}

/// What a pane may do to other panes (the roles table of orch's design), as `meta.json`
/// records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// The person's Claude Code session (or a person at a shell): may do anything.
    Operator,
    /// May tell, interrupt and kill the workers it spawned.
    Worker,
    /// May read, listen and subscribe, never type into another pane.
    Observer,
    /// A role orch does not know (a hand-edited `meta.json`): it may do nothing.
    Unknown(String),
}

impl Role {
    /// `operator`, `worker`, `observer`, else [`Role::Unknown`] with the text.
    pub fn parse(text: &str) -> Role {
        match text {
            "operator" => Role::Operator,
            "worker" => Role::Worker,
            "observer" => Role::Observer,
            other => Role::Unknown(other.to_string()),
        }
    }

    /// Its name, as `meta.json` and `orch ps` show it.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Operator => "operator",
            Role::Worker => "worker",
            Role::Observer => "observer",
            Role::Unknown(other) => other,
        }
    }
}

impl From<&str> for Role {
    fn from(text: &str) -> Role {
        Role::parse(text)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Role, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Role::parse(&text))
    }
}

/// An agent CLI a worker runs, by the name `--harness` takes and `meta.json` keeps. What each
/// one means in action is its adapter's (orch's `harness` module, one file each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Harness {
    /// Claude Code.
    Claude,
    /// OpenAI's Codex CLI.
    Codex,
    /// Google's Gemini CLI.
    Gemini,
    /// pi (`@mariozechner/pi-coding-agent`).
    Pi,
    /// Any program, its turns read off the pane.
    Command,
    /// orch's own simulated agent (`orch-sim`).
    Sim,
}

impl Harness {
    /// Every harness, in the order `--harness` lists them.
    pub const ALL: &'static [Harness] = &[
        Harness::Claude,
        Harness::Codex,
        Harness::Gemini,
        Harness::Pi,
        Harness::Command,
        Harness::Sim,
    ];

    /// Its name: `claude`, `codex`, `gemini`, `pi`, `command`, `sim`.
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

    /// The names of every harness, for `--harness`'s possible values.
    pub fn names() -> Vec<&'static str> {
        Harness::ALL.iter().map(|h| h.name()).collect()
    }

    /// Parses a harness name.
    ///
    /// Errors: an unknown name, with the known ones.
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
}

impl fmt::Display for Harness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Harness {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Harness {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Harness, D::Error> {
        let name = String::deserialize(deserializer)?;
        Harness::parse(&name).map_err(|e| serde::de::Error::custom(format!("{e:#}")))
    }
}

/// Which tmux server a pane is on: `socket_name` is a `-L` name, `socket_path` a `-S` path;
/// with neither it is the default server. orch's `tmux` module talks to it.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TmuxServer {
    pub socket_name: Option<String>,
    pub socket_path: Option<String>,
}

/// A worker's git worktree (`spawn --worktree`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    /// The repository the worktree belongs to (its top folder).
    pub repo: PathBuf,
    /// The worktree's folder (the worker's cwd).
    pub path: PathBuf,
    /// The branch, `orch/<worker name>`.
    pub branch: String,
    /// The commit it started from (the caller's HEAD).
    pub base: String,
    /// The branch the caller had checked out when it started (`main`, without `refs/heads/`),
    /// where its work is to land by default; `None` when it started from a detached HEAD (and
    /// for a record made before orch kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// Its outfit said `commit: required`: a turn that ends with uncommitted changes gets
    /// one prompt back asking to commit them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub commit_required: bool,
    /// Its outfit's `test:` command, which `orch land` runs on its branch when no `--test` is
    /// given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
}

/// The quiet time a `command` worker's detector uses when neither `--quiet` nor the outfit
/// gives one, in milliseconds.
pub const DEFAULT_QUIET_MS: u64 = 1500;

/// How a `command` worker's turn end is read off its pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detector {
    /// Milliseconds the screen must stay unchanged for a turn to end.
    pub quiet_ms: u64,
    /// A regular expression (regex-lite syntax) the last non-empty line of the screen must
    /// match for a turn to end: the program's own prompt, e.g. `^>>> $` for Python.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

impl Default for Detector {
    fn default() -> Detector {
        Detector {
            quiet_ms: DEFAULT_QUIET_MS,
            prompt: None,
        }
    }
}

/// A worker's budget: a cost in USD, a token count, or both (the first one reached counts);
/// `interrupt`: stop its turn when it is spent.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub usd: Option<f64>,
    pub tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupt: bool,
}

/// Where a remote worker lives: an ssh destination and the worker's id in that host's orch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    pub dest: String,
    pub id: String,
}

/// How a worker was started beyond its metadata: the arguments after `--` and the variables
/// its outfit's `env` and `--env` set (the caller's own environment is the caller's again at
/// resume; orch's and the harness's variables are made anew).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relaunch {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// The named account it was spawned on (orch's configuration, `accounts:`): its variables
    /// are read again at each start, so a resume spends on the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl Relaunch {
    /// Whether there is nothing to remember.
    pub fn is_empty(&self) -> bool {
        self.args.is_empty() && self.env.is_empty() && self.account.is_none()
    }
}

/// One of the four axes an escalation is raised on (taste, architecture, ethics,
/// reversibility). Ordered as listed; serialized lowercase, as escalation files, events and
/// policy files spell them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// Naming, wording users read, how the product looks.
    Taste,
    /// Dependencies, public interfaces, schemas, CI: the project's structure and contracts.
    Architecture,
    /// Licences, personal data, secrets, switched-off security controls.
    Ethics,
    /// What cannot be undone: deleted data, rewritten history, published releases.
    Reversibility,
}

impl Axis {
    /// All four, in order.
    pub const ALL: [Axis; 4] = [
        Axis::Taste,
        Axis::Architecture,
        Axis::Ethics,
        Axis::Reversibility,
    ];

    /// The lowercase name, as in the policy files and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Taste => "taste",
            Axis::Architecture => "architecture",
            Axis::Ethics => "ethics",
            Axis::Reversibility => "reversibility",
        }
    }

    /// Several axes as one word joined by `+` (`taste+ethics`), as escalation messages and
    /// `orch escalate`'s output spell them.
    pub fn joined(axes: &[Axis]) -> String {
        let names: Vec<&str> = axes.iter().map(|a| a.as_str()).collect();
        names.join("+")
    }
}

impl std::fmt::Display for Axis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Axis {
    type Err = anyhow::Error;

    /// Parses a lowercase axis name (any case accepted). Errors name the four axes.
    fn from_str(s: &str) -> anyhow::Result<Axis> {
        Axis::ALL
            .into_iter()
            .find(|axis| axis.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown axis `{s}`: expected taste, architecture, ethics or reversibility"
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_names_parse_back_and_unknown_ones_are_named() {
        for h in Harness::ALL {
            assert_eq!(Harness::parse(h.name()).unwrap(), *h);
            assert_eq!(serde_json::to_value(h).unwrap(), h.name());
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
    }

    #[test]
    fn roles_keep_unknown_names() {
        assert_eq!(Role::parse("worker"), Role::Worker);
        let odd: Role = serde_json::from_str("\"admin\"").unwrap();
        assert_eq!(odd, Role::Unknown("admin".into()));
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"admin\"");
    }
}
