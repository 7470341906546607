//! The per-worker home of a Codex CLI worker (`CODEX_HOME`): a copy of the user's
//! `config.toml` with the worker folder trusted, links to the user's `auth.json`, `AGENTS.md`
//! and each of their rules, skills and prompts, and a `hooks.json` that runs orch's hook. The user's own Codex folder is only read.
//!
//! [`dress`] applies an outfit with Codex's own mechanisms (Codex 0.169): `-c
//! developer_instructions=...`, `--sandbox` / `--ask-for-approval`, `--disable shell_tool`,
//! execpolicy rules in `CODEX_HOME/rules/`, skills in `CODEX_HOME/skills/` and the outfit's
//! hooks in `hooks.json`.

use super::adapter::{
    dressed, find_transcript, program, Adapter, Blocker, Launch, Spawn, Verified, Version,
};
use crate::outfit::{CommandRule, Dress, Outfit, ToolRule};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The hook events orch registers for Codex (the ones seen to fire with Claude-shaped payloads).
pub const HOOK_EVENTS: [&str; 3] = ["SessionStart", "UserPromptSubmit", "Stop"];

/// The user's Codex folder in the environment `env` (the caller's, with a named account's
/// variables over it): `$CODEX_HOME` if set and non-empty, else `~/.codex`.
///
/// Errors: no home folder is known.
pub fn user_home(env: &[(String, String)]) -> Result<PathBuf> {
    let set = env.iter().rev().find(|(k, _)| k == "CODEX_HOME");
    if let Some((_, dir)) = set.filter(|(_, v)| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(orch_store::paths::home()?.join(".codex"))
}

/// What [`prepare`] made.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The worker's `CODEX_HOME`.
    pub home: PathBuf,
    /// Variables the user's providers read their key from (`env_key`), to pass to the worker.
    pub env_keys: Vec<String>,
}

/// The worker's `CODEX_HOME` under its state folder `dir`.
pub fn home(dir: &Path) -> PathBuf {
    dir.join("codex-home")
}

/// Where [`dress`] leaves an outfit's hooks (Claude Code's format) for [`prepare`] to add to
/// `hooks.json`.
pub const OUTFIT_HOOKS: &str = "outfit-hooks.json";

/// Creates `<dir>/codex-home` for a worker that runs in `cwd`, made from the user's Codex folder
/// `user` ([`user_home`]): `config.toml` from the user's
/// (see [`config_text`]), `auth.json` linked to the user's when there is one, and `hooks.json`
/// with `hook` (the absolute path of `orch-hook`) for [`HOOK_EVENTS`], then the hooks an outfit
/// left in `<dir>/`[`OUTFIT_HOOKS`]. What [`dress`] put in the folder before (skills, rules)
/// stays.
pub fn prepare(dir: &Path, cwd: &Path, hook: &Path, user: &Path) -> Result<Prepared> {
    let user = user.to_path_buf();
    let home = home(dir);
    orch_store::files::create_private_dir(&home)?;
    let user_config = user.join("config.toml");
    let text = match std::fs::read_to_string(&user_config) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read `{}`", user_config.display()))
        }
    };
    let config = config_text(&text, &cwd.display().to_string());
    orch_store::files::write_atomic(&home.join("config.toml"), config.as_bytes(), 0o600)?;
    let auth = user.join("auth.json");
    let link = home.join("auth.json");
    if auth.is_file() && std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(&auth, &link)
            .with_context(|| format!("cannot link `{}`", auth.display()))?;
    }
    link_user_files(&user, &home)?;
    let command = crate::claude::settings::hook_command(hook)?;
    let outfit_hooks = orch_store::files::read_json(&dir.join(OUTFIT_HOOKS))?;
    orch_store::files::write_json(
        &home.join("hooks.json"),
        &hooks_json(&command, outfit_hooks.as_ref()),
    )?;
    Ok(Prepared {
        home,
        env_keys: env_keys(&text),
    })
}

/// Links into the worker's `home` what the user's Codex folder `user` gives every session:
/// `AGENTS.md` and `AGENTS.override.md` (the user's global instructions), and each entry of
/// `rules/`, `skills/` and `prompts/`. The folders themselves are the worker's own, so an
/// outfit's rules and skills ([`dress`], which runs first and wins on a name) never land in the
/// user's folder.
fn link_user_files(user: &Path, home: &Path) -> Result<()> {
    let link = |from: &Path, to: &Path| -> Result<()> {
        if std::fs::symlink_metadata(to).is_err() {
            std::os::unix::fs::symlink(from, to)
                .with_context(|| format!("cannot link `{}`", from.display()))?;
        }
        Ok(())
    };
    for file in ["AGENTS.md", "AGENTS.override.md"] {
        if user.join(file).is_file() {
            link(&user.join(file), &home.join(file))?;
        }
    }
    for folder in ["rules", "skills", "prompts"] {
        let Ok(entries) = std::fs::read_dir(user.join(folder)) else {
            continue;
        };
        let own = home.join(folder);
        orch_store::files::create_private_dir(&own)?;
        for entry in entries.flatten() {
            link(&entry.path(), &own.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// The worker's `config.toml`: the user's text unchanged, then a `[projects."<cwd>"]` table
/// that trusts `cwd` (Codex asks "Trust this folder?" in a git repo otherwise), unless the
/// user's text already has that table.
pub fn config_text(user: &str, cwd: &str) -> String {
    let header = format!("[projects.{}]", toml_string(cwd));
    let mut text = user.to_string();
    if user.lines().any(|line| line.trim() == header) {
        return text;
    }
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n# Added by orch for this worker.\n{header}\ntrust_level = \"trusted\"\n"
    ));
    text
}

/// `hooks.json` that runs `command` for each of [`HOOK_EVENTS`], then an outfit's entries
/// (`{"Stop": [{"hooks": [...]}], ...}`, Claude Code's format, which Codex shares) after
/// orch's.
pub fn hooks_json(command: &str, outfit: Option<&Value>) -> Value {
    let mut hooks = serde_json::Map::new();
    for event in HOOK_EVENTS {
        hooks.insert(
            event.into(),
            json!([{"hooks": [{"type": "command", "command": command, "timeout": 30}]}]),
        );
    }
    if let Some(outfit) = outfit {
        crate::outfit::append_hooks(&mut hooks, outfit);
    }
    json!({ "hooks": hooks })
}

/// The variable names given as `env_key = "NAME"` in a Codex `config.toml`.
pub fn env_keys(config: &str) -> Vec<String> {
    let re = regex_lite::Regex::new(r#"(?m)^\s*env_key\s*=\s*"([A-Za-z_][A-Za-z0-9_]*)""#)
        .expect("valid regex");
    let mut keys: Vec<String> = re.captures_iter(config).map(|c| c[1].to_string()).collect();
    keys.dedup();
    keys
}

/// The hook events Codex knows in `hooks.json` (Claude Code's names); an outfit's hooks for
/// other events are left out with a warning.
pub const OUTFIT_HOOK_EVENTS: [&str; 11] = [
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "PreToolUse",
    "PostToolUse",
    "PermissionRequest",
    "PreCompact",
    "PostCompact",
    "SessionEnd",
    "SubagentStart",
    "SubagentStop",
];

/// The execpolicy file [`dress`] writes in the worker's `CODEX_HOME/rules/` (Codex loads every
/// `*.rules` file there).
pub const RULES_FILE: &str = "orch-outfit.rules";

/// What a `permission_mode` becomes on Codex: its flags, and whether the sandbox is read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `--sandbox ...`, `--ask-for-approval ...` and the like.
    pub args: Vec<String>,
    /// Whether the model cannot write files (the `read-only` sandbox).
    pub read_only: bool,
}

/// Maps an outfit's `permission_mode` to Codex 0.169's flags (`codex --help`):
/// `default` (Codex's own defaults), `acceptEdits` (`--sandbox workspace-write
/// --ask-for-approval on-request`), `plan` (`--sandbox read-only --ask-for-approval
/// on-request`: Codex has no plan mode to start in, its read-only sandbox keeps the model from
/// writing), `auto` (`--approve-for-me`: approvals go to Codex's automatic reviewer),
/// `dontAsk` (`--sandbox workspace-write --ask-for-approval never`), `bypassPermissions`
/// (`--dangerously-bypass-approvals-and-sandbox`); Codex's own sandbox modes (`read-only`,
/// `workspace-write`, `danger-full-access`) and approval policies (`on-request`, `never`) are
/// passed as they are. Anything else is an error listing these.
pub fn permission(mode: Option<&str>) -> Result<Permission> {
    let flags = |pairs: &[(&str, &str)]| -> Vec<String> {
        pairs
            .iter()
            .flat_map(|(k, v)| [k.to_string(), v.to_string()])
            .collect()
    };
    let sandbox = |mode: &str| flags(&[("--sandbox", mode)]);
    let (args, read_only) = match mode.unwrap_or("default") {
        "default" => (Vec::new(), false),
        "acceptEdits" => (
            flags(&[
                ("--sandbox", "workspace-write"),
                ("--ask-for-approval", "on-request"),
            ]),
            false,
        ),
        "plan" => (
            flags(&[
                ("--sandbox", "read-only"),
                ("--ask-for-approval", "on-request"),
            ]),
            true,
        ),
        "auto" => (vec!["--approve-for-me".to_string()], false),
        "dontAsk" => (
            flags(&[
                ("--sandbox", "workspace-write"),
                ("--ask-for-approval", "never"),
            ]),
            false,
        ),
        "bypassPermissions" => (
            vec!["--dangerously-bypass-approvals-and-sandbox".to_string()],
            false,
        ),
        "read-only" => (sandbox("read-only"), true),
        mode @ ("workspace-write" | "danger-full-access") => (sandbox(mode), false),
        mode @ ("on-request" | "never") => (flags(&[("--ask-for-approval", mode)]), false),
        other => bail!(
            "permission_mode `{other}` has no Codex equivalent: use default, acceptEdits, plan, \
             auto, dontAsk, bypassPermissions, or Codex's read-only, workspace-write, \
             danger-full-access, on-request, never"
        ),
    };
    Ok(Permission { args, read_only })
}

/// Whether a `config.toml` sets `developer_instructions` at its top level (before its first
/// table).
pub fn sets_developer_instructions(config: &str) -> bool {
    config
        .lines()
        .map(str::trim_start)
        .take_while(|line| !line.starts_with('['))
        .any(|line| {
            line.strip_prefix("developer_instructions")
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
}

/// The words of a command pattern as an execpolicy prefix (`["git", "push"]`), when each word
/// is a plain word (no quotes, globs, variables or shell operators).
fn rule_words(words: &str) -> Option<Vec<String>> {
    let words: Vec<String> = words.split_whitespace().map(str::to_string).collect();
    let plain = |w: &String| {
        !w.chars().any(|c| {
            matches!(
                c,
                '\'' | '"'
                    | '`'
                    | '$'
                    | '*'
                    | '?'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '('
                    | ')'
                    | '<'
                    | '>'
                    | '|'
                    | ';'
                    | '&'
                    | '\\'
                    | '~'
                    | '='
            )
        })
    };
    (!words.is_empty() && words.iter().all(plain)).then_some(words)
}

/// One execpolicy rule (Starlark, <https://developers.openai.com/codex/rules>): `prefix_rule(
/// pattern=[...], decision="forbidden"|"allow", justification="...")`.
fn prefix_rule(words: &[String], decision: &str, why: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let pattern: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!(
        "prefix_rule(pattern=[{}], decision={}, justification={})\n",
        pattern.join(", "),
        quote(decision),
        quote(why)
    )
}

/// Applies `outfit` to a Codex worker whose state folder is `dir` (its `CODEX_HOME` is
/// [`home`]`(dir)`, which [`prepare`] completes afterwards):
/// - `model`: `--model`;
/// - the system prompt: `-c developer_instructions="..."`, which Codex sends as a developer
///   message after its own instructions;
/// - `permission_mode`: see [`permission`];
/// - `tools.deny`: `Bash` turns the shell tool off (`--disable shell_tool`), `WebSearch` sets
///   `web_search="disabled"`, `Bash(WORDS *)`, `Bash(WORDS:*)` and `Bash(WORDS)` become
///   `forbidden` execpolicy prefix rules in `CODEX_HOME/rules/`[`RULES_FILE`] (Codex matches
///   whole words, on each part of a compound command), `Edit`/`Write` need the read-only
///   sandbox; `WebFetch` and `NotebookEdit` have nothing to deny (Codex has no such tool).
///   Any other entry is an error: Codex could not enforce it;
/// - `tools.allow`: `Bash(WORDS ...)` becomes an `allow` prefix rule (the command runs without
///   asking, outside the sandbox, as Codex runs an approved prefix); reads, web search and, out
///   of the read-only sandbox, edits need no approval on Codex; other entries are warned
///   about;
/// - `skills`: linked into `CODEX_HOME/skills/`;
/// - `hooks`: written to `<dir>/`[`OUTFIT_HOOKS`] for [`prepare`] to add to `hooks.json`
///   (Codex's hooks take Claude Code's format); events Codex does not have are warned about.
pub fn dress(outfit: &Outfit, dir: &Path, user_home: &Path) -> Result<Dress> {
    let user = std::fs::read_to_string(user_home.join("config.toml")).unwrap_or_default();
    dress_over(outfit, dir, &user)
}

/// [`dress`] for a user whose `config.toml` is `user`.
fn dress_over(outfit: &Outfit, dir: &Path, user: &str) -> Result<Dress> {
    let mut dress = Dress::default();
    let fail = |e: anyhow::Error| e.context(format!("outfit `{}` on codex", outfit.name));
    if let Some(model) = &outfit.model {
        dress.arg("--model", model);
    }
    if let Some(prompt) = outfit.system_prompt_text()? {
        dress.arg(
            "-c",
            format!("developer_instructions={}", toml_string(&prompt)),
        );
        if sets_developer_instructions(user) {
            dress.warnings.push(format!(
                "outfit `{}`: its system prompt replaces the `developer_instructions` of your \
                 Codex config.toml for this worker (Codex takes one value)",
                outfit.name
            ));
        }
    }
    let permission = permission(outfit.permission_mode.as_deref()).map_err(fail)?;
    dress.args.extend(permission.args.iter().cloned());

    let mut rules = String::new();
    let tools = outfit.tools.clone().unwrap_or_default();
    let mut disable_shell = false;
    let mut no_web_search = false;
    for entry in &tools.deny {
        let why = format!("denied by outfit `{}` (tools.deny `{entry}`)", outfit.name);
        let refuse = |msg: &str| Err(fail(anyhow::anyhow!("tools.deny `{entry}`: {msg}")));
        match ToolRule::parse(entry) {
            ToolRule::Tool(tool) => match tool.as_str() {
                "Bash" | "shell" | "exec_command" => disable_shell = true,
                "WebSearch" | "web_search" => no_web_search = true,
                "WebFetch" | "NotebookEdit" => {}
                "Edit" | "Write" | "MultiEdit" | "apply_patch" if permission.read_only => {}
                "Edit" | "Write" | "MultiEdit" | "apply_patch" => {
                    return refuse(
                        "Codex edits through its shell and `apply_patch`, which only its \
                         read-only sandbox stops: set `permission_mode: plan` (or `read-only`)",
                    )
                }
                _ => {
                    return refuse(
                        "Codex cannot remove that tool (it reads and searches through its \
                         shell): deny `Bash`, or `Bash(COMMAND *)` for commands, or use another \
                         harness",
                    )
                }
            },
            ToolRule::Command(CommandRule::Words(words) | CommandRule::Exact(words)) => {
                match rule_words(&words) {
                    Some(words) => rules.push_str(&prefix_rule(&words, "forbidden", &why)),
                    None => return refuse("Codex rules match plain words only"),
                }
            }
            ToolRule::Command(CommandRule::Prefix(_) | CommandRule::Glob(_)) => {
                return refuse(
                    "Codex rules match whole words, not `*` inside or at the end of a word: \
                     write `Bash(WORDS *)`, one entry per spelling (e.g. \
                     `Bash(git push --force *)`, `Bash(git push -f *)`)",
                )
            }
            ToolRule::Scoped { .. } => {
                return refuse("Codex has no per-path or per-domain tool rules")
            }
        }
    }
    if disable_shell {
        dress.arg("--disable", "shell_tool");
    }
    if no_web_search {
        dress.arg("-c", "web_search=\"disabled\"");
    }
    let mut not_applied = Vec::new();
    for entry in &tools.allow {
        let why = format!(
            "allowed by outfit `{}` (tools.allow `{entry}`)",
            outfit.name
        );
        match ToolRule::parse(entry) {
            ToolRule::Command(CommandRule::Words(words)) => match rule_words(&words) {
                Some(words) => rules.push_str(&prefix_rule(&words, "allow", &why)),
                None => not_applied.push(entry.clone()),
            },
            ToolRule::Tool(tool)
                if matches!(tool.as_str(), "Read" | "Glob" | "Grep" | "LS" | "WebSearch")
                    || (matches!(tool.as_str(), "Edit" | "Write" | "MultiEdit")
                        && !permission.read_only) => {}
            _ => not_applied.push(entry.clone()),
        }
    }
    if !not_applied.is_empty() {
        dress.warn(
            outfit,
            &format!("tools.allow {}", crate::outfit::backticked(&not_applied)),
            "codex",
            "Codex pre-approves only `Bash(WORDS *)` commands (as execpolicy rules); these still \
             follow its sandbox and approval policy",
        );
    }
    let home = home(dir);
    if !rules.is_empty() {
        let text = format!(
            "# Written by orch for this worker from outfit `{}`.\n{rules}",
            outfit.name
        );
        orch_store::files::write_atomic(
            &home.join("rules").join(RULES_FILE),
            text.as_bytes(),
            0o600,
        )?;
    }
    crate::outfit::link_skills(outfit, &home.join("skills"))?;
    if let Some(hooks) = &outfit.hooks {
        let Some(events) = hooks.as_object() else {
            return Err(fail(anyhow::anyhow!(
                "hooks: expected a map of event names to entries"
            )));
        };
        let (known, unknown): (Vec<_>, Vec<_>) = events
            .iter()
            .partition(|(event, _)| OUTFIT_HOOK_EVENTS.contains(&event.as_str()));
        if !unknown.is_empty() {
            let names: Vec<String> = unknown.iter().map(|(e, _)| e.to_string()).collect();
            dress.warn(
                outfit,
                &format!("hooks for {}", crate::outfit::backticked(&names)),
                "codex",
                "Codex has no such hook event",
            );
        }
        let known: serde_json::Map<String, Value> = known
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        orch_store::files::write_json(&dir.join(OUTFIT_HOOKS), &known)?;
    }
    Ok(dress)
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Codex adapter: `${ORCH_CODEX_BIN:-codex} --no-daemon --dangerously-bypass-hook-trust
/// [outfit flags] [args]` with the worker's own `CODEX_HOME` ([`prepare`]). It has no
/// `--session-id`: the worker adopts the thread id of its first SessionStart, which Codex fires
/// with the first prompt, not at launch, so a spawn waits for its input prompt on screen.
pub struct Codex;

impl Adapter for Codex {
    fn title(&self) -> &'static str {
        "Codex"
    }

    fn sets_session_id(&self) -> bool {
        false
    }

    fn starts_on_first_prompt(&self) -> bool {
        true
    }

    /// Codex 0.169 and 0.171 draw a `›` line above a footer with `? for shortcuts`.
    fn ready_screen(&self, screen: &str) -> bool {
        screen.contains("for shortcuts") && screen.lines().any(|l| l.trim_start().starts_with('›'))
    }

    fn blocker(&self, screen: &str, cwd: &str) -> Option<Blocker> {
        blocker(screen, cwd)
    }

    /// Codex 0.169 and 0.171 at a plan's usage limit: `Approaching rate limits` / `Switch to
    /// <model> for lower credit usage?` with `1. Switch to <model>`, `2. Keep current model`
    /// (docs/observed.md, 4.1).
    fn limit_dialog(&self, screen: &str) -> bool {
        screen.contains("Keep current model") && screen.contains("Switch to ")
    }

    /// Escape keeps the current model and closes the dialog (Enter would switch the model).
    fn limit_dialog_keys(&self) -> &'static [&'static str] {
        &["Escape"]
    }

    /// `OPENAI_*` and `CODEX_*` but not `CODEX_HOME` (orch sets its own).
    fn passes(&self, key: &str) -> bool {
        key != "CODEX_HOME" && (key.starts_with("OPENAI_") || key.starts_with("CODEX_"))
    }

    fn resumes(&self) -> bool {
        true
    }

    fn usage_format(&self) -> Option<super::adapter::UsageFormat> {
        Some(super::adapter::UsageFormat::CodexRollout)
    }

    /// `sessions/<year>/<month>/<day>/rollout-<time>-<thread id>.jsonl` in the worker's
    /// `CODEX_HOME`.
    fn transcript(&self, dir: &Path, session_id: &str) -> Option<PathBuf> {
        find_transcript(&home(dir).join("sessions"), 3, "rollout-", session_id)
    }

    fn verified(&self) -> Option<Verified> {
        Some(Verified {
            package: "@openai/codex",
            oldest: Version(0, 169, 0),
            newest: Version(0, 171, 0),
            date: "2026-12-02",
        })
    }

    fn program_var(&self) -> Option<(&'static str, &'static str)> {
        Some(("ORCH_CODEX_BIN", "codex"))
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let user = user_home(spawn.env)?;
        let dress = dressed(spawn.outfit, |o| dress(o, spawn.dir, &user))?;
        // No shared app-server daemon (it would run the hooks with another pane's environment
        // and outlive the pane); the hooks are orch's own, in the per-worker CODEX_HOME, so
        // they need no trust review.
        let mut argv = vec![
            program("ORCH_CODEX_BIN", "codex"),
            "--no-daemon".into(),
            "--dangerously-bypass-hook-trust".into(),
            "-c".into(),
            "check_for_update_on_startup=false".into(),
        ];
        argv.extend(dress.args.iter().cloned());
        argv.extend(spawn.args.iter().cloned());
        if spawn.resume {
            // The thread id stays; its SessionStart (with the first prompt) says `resume`.
            argv.extend(["resume".into(), spawn.session_id.unwrap_or_default().into()]);
        }
        let prepared = prepare(spawn.dir, spawn.cwd, spawn.hook, &user)?;
        let mut launch = Launch::new(argv, dress);
        launch
            .env
            .push(("CODEX_HOME".into(), prepared.home.display().to_string()));
        launch.pass = prepared.env_keys;
        Ok(launch)
    }
}

/// Reads a Codex screen for the first-run screens that keep it from its input prompt.
fn blocker(screen: &str, cwd: &str) -> Option<Blocker> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_instructions_rules_and_skills_are_linked_and_orchs_win() {
        let t = tempfile::tempdir().unwrap();
        let (user, home) = (t.path().join("user"), t.path().join("home"));
        for dir in ["rules", "skills/mine", "skills/shared"] {
            std::fs::create_dir_all(user.join(dir)).unwrap();
        }
        std::fs::write(user.join("AGENTS.md"), "be brief").unwrap();
        std::fs::write(user.join("rules/default.rules"), "").unwrap();
        std::fs::create_dir_all(home.join("skills/shared")).unwrap();
        link_user_files(&user, &home).unwrap();
        let read = |p: &str| std::fs::read_to_string(home.join(p)).unwrap();
        assert_eq!(read("AGENTS.md"), "be brief");
        assert!(home.join("rules/default.rules").is_file());
        assert!(std::fs::symlink_metadata(home.join("skills/mine"))
            .unwrap()
            .is_symlink());
        assert!(!std::fs::symlink_metadata(home.join("skills/shared"))
            .unwrap()
            .is_symlink());
        assert!(!std::fs::symlink_metadata(home.join("rules"))
            .unwrap()
            .is_symlink());
        link_user_files(&user, &home).unwrap();
    }

    #[test]
    fn config_keeps_the_users_text_and_trusts_the_folder_once() {
        let user = "model = \"m\"\n[model_providers.mock]\nenv_key = \"MOCK_KEY\"";
        let got = config_text(user, "/w/a \"b\"");
        assert!(got.starts_with(user));
        assert!(got.contains("\n[projects.\"/w/a \\\"b\\\"\"]\ntrust_level = \"trusted\"\n"));
        assert_eq!(config_text(&got, "/w/a \"b\""), got, "idempotent");
        assert_eq!(env_keys(user), ["MOCK_KEY"]);
        assert!(config_text("", "/w").starts_with("\n# Added by orch"));
    }

    #[test]
    fn hooks_run_orchs_hook_for_each_event() {
        let hooks = hooks_json("/bin/orch-hook", None);
        for event in HOOK_EVENTS {
            assert_eq!(
                hooks["hooks"][event][0]["hooks"][0]["command"],
                "/bin/orch-hook"
            );
        }
    }

    fn outfit(yaml: &str, dir: &Path) -> Outfit {
        let file = dir.join("x.yaml");
        std::fs::write(&file, yaml).unwrap();
        crate::outfit::parse(yaml, &file.display().to_string()).unwrap()
    }

    fn err(outfit: &Outfit, dir: &Path) -> String {
        format!("{:#}", dress_over(outfit, dir, "").unwrap_err())
    }

    #[test]
    fn permission_modes_map_to_sandbox_and_approval() {
        let cases: [(&str, &[&str], bool); 10] = [
            ("default", &[], false),
            (
                "acceptEdits",
                &[
                    "--sandbox",
                    "workspace-write",
                    "--ask-for-approval",
                    "on-request",
                ],
                false,
            ),
            (
                "plan",
                &["--sandbox", "read-only", "--ask-for-approval", "on-request"],
                true,
            ),
            ("auto", &["--approve-for-me"], false),
            (
                "dontAsk",
                &[
                    "--sandbox",
                    "workspace-write",
                    "--ask-for-approval",
                    "never",
                ],
                false,
            ),
            (
                "bypassPermissions",
                &["--dangerously-bypass-approvals-and-sandbox"],
                false,
            ),
            ("read-only", &["--sandbox", "read-only"], true),
            (
                "danger-full-access",
                &["--sandbox", "danger-full-access"],
                false,
            ),
            ("never", &["--ask-for-approval", "never"], false),
            ("on-request", &["--ask-for-approval", "on-request"], false),
        ];
        for (mode, args, read_only) in cases {
            let got = permission(Some(mode)).unwrap();
            assert_eq!(got.args, args, "{mode}");
            assert_eq!(got.read_only, read_only, "{mode}");
        }
        assert_eq!(permission(None).unwrap().args, Vec::<String>::new());
        let err = format!("{:#}", permission(Some("yolo")).unwrap_err());
        assert!(err.contains("`yolo` has no Codex equivalent"), "{err}");
    }

    #[test]
    fn dress_maps_prompt_model_permission_and_tools() {
        let dir = tempfile::tempdir().unwrap();
        let o = outfit(
            "name: x\nmodel: gpt-x\npermission_mode: plan\nsystem_prompt: \"Be \\\"brief\\\".\\nTwo.\"\n\
             tools:\n  deny: [Bash(git push *), \"Bash(rm -rf:*)\", WebSearch, Edit, WebFetch]\n  \
             allow: [\"Bash(git status *)\", Read, Edit, \"Bash(ls)\"]\n",
            dir.path(),
        );
        let d = dress_over(&o, dir.path(), "").unwrap();
        let args = d.args.join(" ");
        assert!(
            args.starts_with(
                "--model gpt-x -c developer_instructions=\"Be \\\"brief\\\".\\u000ATwo.\""
            ),
            "{args}"
        );
        assert!(
            args.contains("--sandbox read-only --ask-for-approval on-request"),
            "{args}"
        );
        assert!(args.contains("-c web_search=\"disabled\""), "{args}");
        assert!(!args.contains("shell_tool"), "{args}");
        let rules =
            std::fs::read_to_string(home(dir.path()).join("rules").join(RULES_FILE)).unwrap();
        assert!(
            rules.contains(
                "prefix_rule(pattern=[\"git\", \"push\"], decision=\"forbidden\", justification=\
             \"denied by outfit `x` (tools.deny `Bash(git push *)`)\")"
            ),
            "{rules}"
        );
        assert!(
            rules.contains("pattern=[\"rm\", \"-rf\"], decision=\"forbidden\""),
            "{rules}"
        );
        assert!(
            rules.contains("pattern=[\"git\", \"status\"], decision=\"allow\""),
            "{rules}"
        );
        // Edits need approval in the read-only sandbox; an exact command is no Codex prefix.
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("tools.allow `Edit`, `Bash(ls)` not applied on codex"));
        assert!(d.env.is_empty());
    }

    #[test]
    fn replacing_the_users_developer_instructions_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        let o = outfit("name: x\nsystem_prompt: Be brief.\n", dir.path());
        let d = dress_over(&o, dir.path(), "developer_instructions = 'mine'\n").unwrap();
        assert_eq!(d.warnings.len(), 1);
        assert!(d.warnings[0].contains("replaces the `developer_instructions` of your Codex"));
    }

    #[test]
    fn the_users_developer_instructions_are_noticed() {
        assert!(sets_developer_instructions(
            "model = \"m\"\ndeveloper_instructions = \"\"\"\nBe kind.\n\"\"\"\n[x]\n"
        ));
        assert!(!sets_developer_instructions(
            "model = \"m\"\n[profiles.a]\ndeveloper_instructions = \"x\"\n"
        ));
        assert!(!sets_developer_instructions(
            "developer_instructions_file = 1\n"
        ));
    }

    #[test]
    fn the_shipped_codex_engineer_dresses_without_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = crate::outfit::load("codex-engineer", dir.path()).unwrap();
        o.skills.clear();
        let d = dress_over(&o, dir.path(), "").unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let rules =
            std::fs::read_to_string(home(dir.path()).join("rules").join(RULES_FILE)).unwrap();
        assert!(rules.contains("pattern=[\"git\", \"push\", \"--force\"], decision=\"forbidden\""));
        assert!(rules.contains("pattern=[\"orch\"], decision=\"allow\""));
        // The engineer's own lists, written for Claude Code, are refused on Codex.
        let mut engineer = crate::outfit::load("engineer", dir.path()).unwrap();
        engineer.skills.clear();
        assert!(err(&engineer, dir.path()).contains("`Bash(git push --force*)`"));
    }

    #[test]
    fn denying_the_shell_turns_it_off() {
        let dir = tempfile::tempdir().unwrap();
        let o = outfit("name: x\ntools: {deny: [Bash]}\n", dir.path());
        let d = dress_over(&o, dir.path(), "").unwrap();
        assert_eq!(d.args, ["--disable", "shell_tool"]);
        assert!(!home(dir.path()).join("rules").exists());
    }

    #[test]
    fn denies_codex_cannot_enforce_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("tools: {deny: [Read]}", "Codex cannot remove that tool"),
            ("tools: {deny: [Edit]}", "permission_mode: plan"),
            (
                "permission_mode: acceptEdits\ntools: {deny: [Write]}",
                "read-only sandbox",
            ),
            (
                "tools: {deny: [\"Bash(git push --force*)\"]}",
                "`Bash(git push --force *)`",
            ),
            ("tools: {deny: [\"Bash(git * main)\"]}", "whole words"),
            ("tools: {deny: [\"Bash(echo $HOME)\"]}", "plain words"),
            ("tools: {deny: [\"Read(./secrets/**)\"]}", "per-path"),
            (
                "permission_mode: sometimes",
                "`sometimes` has no Codex equivalent",
            ),
        ];
        for (yaml, want) in cases {
            let o = outfit(&format!("name: x\n{yaml}\n"), dir.path());
            let e = err(&o, dir.path());
            assert!(e.starts_with("outfit `x` on codex: "), "{e}");
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }

    #[test]
    fn skills_and_hooks_go_to_the_workers_codex_home() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("my-skill");
        std::fs::create_dir_all(&skill).unwrap();
        std::fs::write(skill.join("SKILL.md"), "---\nname: my-skill\n---\n").unwrap();
        let o = outfit(
            "name: x\nskills: [my-skill]\nhooks:\n  Stop: [{hooks: [{type: command, command: mine}]}]\n  \
             Notification: [{hooks: [{type: command, command: other}]}]\n",
            dir.path(),
        );
        let d = dress_over(&o, dir.path(), "").unwrap();
        let link = home(dir.path()).join("skills").join("my-skill");
        assert_eq!(std::fs::read_link(link).unwrap(), skill);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(d.warnings[0].contains("hooks for `Notification` not applied on codex"));
        let extra: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(OUTFIT_HOOKS)).unwrap())
                .unwrap();
        let hooks = hooks_json("/bin/orch-hook", Some(&extra));
        assert_eq!(
            hooks["hooks"]["Stop"][0]["hooks"][0]["command"],
            "/bin/orch-hook"
        );
        assert_eq!(hooks["hooks"]["Stop"][1]["hooks"][0]["command"], "mine");
        assert!(hooks["hooks"].get("Notification").is_none());
    }
}
