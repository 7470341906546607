//! The per-worker Gemini CLI folder of a worker (`GEMINI_CLI_HOME`, under which Gemini reads
//! `.gemini/settings.json`): the user's settings with orch's hook added and update checks and
//! nudges turned off, and links to everything else in the user's `~/.gemini` (credentials,
//! `GEMINI.md`, extensions, history). The user's own settings file is only read.
//!
//! Not `GEMINI_CLI_SYSTEM_SETTINGS_PATH`: Gemini skips a system settings file that has a
//! group- or world-writable folder above it (`/tmp`, so any state folder there).
//!
//! [`dress`] applies an outfit with Gemini CLI's own mechanisms (0.61): the system prompt as a
//! global context file, `--approval-mode`, tool rules as a `--policy` file, skills in the
//! per-worker `~/.agents/skills`.

use super::adapter::{
    dressed, find_transcript, program, session_argv, Adapter, Blocker, Launch, Spawn, Verified,
    Version,
};
use crate::outfit::{backticked, CommandRule, Dress, Outfit, ToolRule};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The hook events orch registers for Gemini CLI (all seen to fire in 0.61).
pub const HOOK_EVENTS: [&str; 5] = [
    "SessionStart",
    "BeforeAgent",
    "AfterAgent",
    "Notification",
    "SessionEnd",
];

/// Hook timeout, in milliseconds (Gemini's unit).
pub const HOOK_TIMEOUT_MS: u64 = 30_000;

/// Where [`dress`] leaves an outfit's hooks, already in Gemini's format ([`outfit_hooks`]), for
/// [`prepare`] to add to the worker's settings after orch's own.
pub const OUTFIT_HOOKS: &str = "outfit-hooks.json";

/// Claude Code's hook events and the Gemini CLI events that stand for them (Gemini CLI's hooks
/// reference): BeforeAgent comes with each prompt, AfterAgent ends each turn, BeforeTool and
/// AfterTool wrap each tool call, PreCompress comes before a compression.
pub const HOOK_EVENT_NAMES: [(&str, &str); 8] = [
    ("SessionStart", "SessionStart"),
    ("SessionEnd", "SessionEnd"),
    ("UserPromptSubmit", "BeforeAgent"),
    ("Stop", "AfterAgent"),
    ("PreToolUse", "BeforeTool"),
    ("PostToolUse", "AfterTool"),
    ("Notification", "Notification"),
    ("PreCompact", "PreCompress"),
];

/// Gemini CLI's own hook events, taken as they are when an outfit names them.
pub const GEMINI_HOOK_EVENTS: [&str; 11] = [
    "SessionStart",
    "SessionEnd",
    "BeforeAgent",
    "AfterAgent",
    "BeforeModel",
    "AfterModel",
    "BeforeToolSelection",
    "BeforeTool",
    "AfterTool",
    "Notification",
    "PreCompress",
];

/// An outfit's `hooks` (Claude Code's settings format: `{"Stop": [{"matcher": "...", "hooks":
/// [{"type": "command", "command": "...", "timeout": 10}]}]}`) in Gemini CLI's: each event
/// renamed ([`HOOK_EVENT_NAMES`]; Gemini's own names pass as they are), `timeout` seconds made
/// milliseconds, a matcher that names one of Claude Code's tools renamed to Gemini's
/// ([`tool_names`]). Returns them and the events Gemini has nothing for. The hooks get
/// Gemini's payloads, not Claude Code's. Errors: `hooks` is not a map of lists.
pub fn outfit_hooks(hooks: &Value) -> Result<(Value, Vec<String>)> {
    let Some(events) = hooks.as_object() else {
        bail!("hooks: expected a map of event names to entries");
    };
    let mut out = serde_json::Map::new();
    let mut unknown = Vec::new();
    for (event, entries) in events {
        let gemini = HOOK_EVENT_NAMES
            .iter()
            .find(|(claude, _)| claude == event)
            .map(|(_, gemini)| *gemini)
            .or_else(|| GEMINI_HOOK_EVENTS.iter().copied().find(|e| e == event));
        let Some(gemini) = gemini else {
            unknown.push(event.clone());
            continue;
        };
        let Some(entries) = entries.as_array() else {
            bail!("hooks.{event}: expected a list of entries");
        };
        let list = out.entry(gemini).or_insert_with(|| json!([]));
        for entry in entries {
            let mut entry = entry.clone();
            if let Some(matcher) = entry.get("matcher").and_then(Value::as_str) {
                if let Some(names) = tool_names(matcher).filter(|n| !n.is_empty()) {
                    entry["matcher"] = names.join("|").into();
                }
            }
            for hook in entry
                .get_mut("hooks")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(secs) = hook.get("timeout").and_then(Value::as_f64) {
                    hook["timeout"] = ((secs * 1000.0).round() as u64).into();
                }
            }
            if let Some(list) = list.as_array_mut() {
                list.push(entry);
            }
        }
    }
    Ok((Value::Object(out), unknown))
}

/// The user's Gemini folder: `$GEMINI_CLI_HOME/.gemini` if that variable is set and non-empty,
/// else `~/.gemini`.
pub fn user_dir() -> Result<PathBuf> {
    let home = match std::env::var_os("GEMINI_CLI_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => orch_store::paths::home()?,
    };
    Ok(home.join(".gemini"))
}

/// The worker's `GEMINI_CLI_HOME` under its state folder `dir`.
pub fn home(dir: &Path) -> PathBuf {
    dir.join("gemini-home")
}

/// The context file [`dress`] writes in the worker's `GEMINI_CLI_HOME/.gemini/` with the
/// outfit's system prompt; [`prepare`] adds its name to `context.fileName` when it is there.
pub const OUTFIT_CONTEXT: &str = "ORCH-OUTFIT.md";

/// Creates `<dir>/gemini-home` for a worker and returns it, to hand to Gemini as
/// `GEMINI_CLI_HOME`. `hook` is the absolute path of `orch-hook`; `api_key` says whether the
/// worker gets `GEMINI_API_KEY`. What [`dress`] put there before (the outfit's context file,
/// skills) stays.
pub fn prepare(dir: &Path, hook: &Path, api_key: bool) -> Result<PathBuf> {
    let user = user_dir()?;
    let home = home(dir);
    let own = home.join(".gemini");
    orch_store::files::create_private_dir(&home)?;
    orch_store::files::create_private_dir(&own)?;
    let path = user.join("settings.json");
    let settings = match std::fs::read_to_string(&path) {
        Ok(text) => parse_jsonc(&text).unwrap_or(Value::Null),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Value::Null,
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    if let Ok(entries) = std::fs::read_dir(&user) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let link = own.join(&name);
            if name == "settings.json" || std::fs::symlink_metadata(&link).is_ok() {
                continue;
            }
            std::os::unix::fs::symlink(entry.path(), &link)
                .with_context(|| format!("cannot link `{}`", entry.path().display()))?;
        }
    }
    let command = crate::claude::settings::hook_command(hook)?;
    let outfit_context = own.join(OUTFIT_CONTEXT).is_file();
    let mut settings = settings_json(&command, settings, api_key, outfit_context);
    if let Some(extra) = orch_store::files::read_json(&dir.join(OUTFIT_HOOKS))? {
        if let Some(hooks) = settings["hooks"].as_object_mut() {
            crate::outfit::append_hooks(hooks, &extra);
        }
    }
    orch_store::files::write_json(&own.join("settings.json"), &settings)?;
    Ok(home)
}

/// The worker's settings: the user's `user` plus orch's hook for each of [`HOOK_EVENTS`] (after
/// the user's own), no update checks or IDE nudge, when the user chose no auth method but
/// `GEMINI_API_KEY` is set (`api_key`), the API-key method (else Gemini asks on a first-run
/// screen), and with `outfit_context`, [`OUTFIT_CONTEXT`] after the user's context file names
/// in `context.fileName` (the first name stays the one Gemini's memory tool writes to).
pub fn settings_json(command: &str, user: Value, api_key: bool, outfit_context: bool) -> Value {
    let mut settings = match user {
        Value::Object(map) => Value::Object(map),
        _ => json!({}),
    };
    let chosen = settings.pointer("/security/auth/selectedType").is_some();
    let set = |settings: &mut Value, section: &str, key: &str, value: Value| {
        if !settings[section].is_object() {
            settings[section] = json!({});
        }
        settings[section][key] = value;
    };
    set(&mut settings, "general", "enableAutoUpdate", false.into());
    set(
        &mut settings,
        "general",
        "enableAutoUpdateNotification",
        false.into(),
    );
    set(&mut settings, "ide", "hasSeenNudge", true.into());
    if api_key && !chosen {
        set(
            &mut settings,
            "security",
            "auth",
            json!({"selectedType": "gemini-api-key"}),
        );
    }
    if outfit_context {
        let mut names = match settings.pointer("/context/fileName") {
            Some(Value::String(name)) => vec![Value::String(name.clone())],
            Some(Value::Array(names)) if !names.is_empty() => names.clone(),
            _ => vec!["GEMINI.md".into()],
        };
        if !names.iter().any(|n| n == OUTFIT_CONTEXT) {
            names.push(OUTFIT_CONTEXT.into());
        }
        set(&mut settings, "context", "fileName", Value::Array(names));
    }
    let entry = json!({"hooks": [{"name": "orch", "type": "command", "command": command,
                                   "timeout": HOOK_TIMEOUT_MS}]});
    for event in HOOK_EVENTS {
        match settings["hooks"][event].as_array_mut() {
            Some(entries) => entries.push(entry.clone()),
            None => set(&mut settings, "hooks", event, json!([entry.clone()])),
        }
    }
    settings
}

/// The policy file [`dress`] writes in the worker's state folder and passes with `--policy`.
pub const POLICY_FILE: &str = "outfit-policy.toml";

/// Priorities of the outfit's rules in the user tier of Gemini's policy engine
/// (`docs/reference/policy-engine.md`: 0-999, highest wins): a deny wins over every other user
/// rule, an allow loses to all of them.
const DENY_PRIORITY: u32 = 999;
const ALLOW_PRIORITY: u32 = 0;

/// Maps an outfit's `permission_mode` to `--approval-mode` (Gemini CLI 0.61 `--help`):
/// `default`, `acceptEdits` (`auto_edit`), `plan` (`plan`, read-only), `bypassPermissions`
/// (`yolo`), or Gemini's own `auto_edit` and `yolo`. `auto` and `dontAsk` have no equivalent:
/// an error listing these.
pub fn approval_mode(mode: &str) -> Result<&'static str> {
    Ok(match mode {
        "default" => "default",
        "acceptEdits" | "auto_edit" => "auto_edit",
        "plan" => "plan",
        "bypassPermissions" | "yolo" => "yolo",
        other => anyhow::bail!(
            "permission_mode `{other}` has no Gemini CLI equivalent: use default, acceptEdits, \
             plan, bypassPermissions, or Gemini's auto_edit, yolo"
        ),
    })
}

/// Gemini CLI's names for one of Claude Code's tools (`docs/reference/tools.md`): `Some(&[])`
/// for a tool Gemini does not have, `None` for a name this table does not know.
pub fn tool_names(claude: &str) -> Option<&'static [&'static str]> {
    Some(match claude {
        "Read" => &["read_file", "read_many_files"],
        "Write" => &["write_file"],
        "Edit" | "MultiEdit" => &["replace"],
        "Glob" => &["glob"],
        "Grep" => &["grep_search"],
        "LS" => &["list_directory"],
        "Bash" => &["run_shell_command"],
        "WebFetch" => &["web_fetch"],
        "WebSearch" => &["google_web_search"],
        "TodoWrite" => &["write_todos"],
        "NotebookEdit" => &[],
        _ => return None,
    })
}

/// `text` as it appears inside the JSON of a tool call's arguments, escaped for a regular
/// expression (Gemini matches `commandRegex` against `"command":"<regex>` in that JSON).
fn json_regex(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_default();
    let inner = &json[1..json.len().saturating_sub(1)];
    let mut out = String::new();
    for c in inner.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The match part of a policy rule for a `Bash(...)` pattern: `commandPrefix` for words
/// (Gemini matches them as whole words), else `commandRegex`: a prefix, an exact command
/// (closed by the JSON string's quote), or a glob whose `*` is `any` (`.*` for a deny, which
/// may match more, `[^"]*` for an allow, which may match less).
fn command_match(rule: &CommandRule, any: &str) -> (&'static str, String) {
    match rule {
        CommandRule::Words(words) => ("commandPrefix", words.clone()),
        CommandRule::Prefix(prefix) => ("commandRegex", json_regex(prefix)),
        CommandRule::Exact(command) => ("commandRegex", format!("{}\"", json_regex(command))),
        CommandRule::Glob(glob) => {
            let mut regex: String = glob
                .split('*')
                .map(json_regex)
                .collect::<Vec<_>>()
                .join(any);
            if !glob.ends_with('*') {
                regex.push('"');
            }
            ("commandRegex", regex)
        }
    }
}

/// One `[[rule]]` of a policy file.
fn policy_rule(tool: &[&str], matcher: Option<(&str, String)>, deny: bool, why: &str) -> String {
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let tools: Vec<String> = tool.iter().map(|t| quote(t)).collect();
    let mut rule = format!("\n[[rule]]\ntoolName = [{}]\n", tools.join(", "));
    if let Some((key, value)) = matcher {
        rule.push_str(&format!("{key} = {}\n", quote(&value)));
    }
    let (decision, priority) = if deny {
        ("deny", DENY_PRIORITY)
    } else {
        ("allow", ALLOW_PRIORITY)
    };
    rule.push_str(&format!(
        "decision = \"{decision}\"\npriority = {priority}\n"
    ));
    if deny {
        rule.push_str(&format!("denyMessage = {}\n", quote(why)));
    }
    rule
}

/// The policy rules for an outfit's tool lists, and the allow entries it cannot express.
/// Claude Code's tool names go through [`tool_names`]; other names are Gemini's own.
pub fn policy(outfit: &Outfit) -> Result<(String, Vec<String>)> {
    let tools = outfit.tools.clone().unwrap_or_default();
    let mut rules = String::new();
    let mut not_applied = Vec::new();
    for (entries, deny) in [(&tools.deny, true), (&tools.allow, false)] {
        for entry in entries {
            let field = if deny { "tools.deny" } else { "tools.allow" };
            let why = format!("{field} `{entry}` of outfit `{}`", outfit.name);
            let refuse = |msg: &str| anyhow!("{field} `{entry}`: {msg}");
            match ToolRule::parse(entry) {
                ToolRule::Tool(tool) if crate::outfit::is_claude_name(&tool) => {
                    match tool_names(&tool) {
                        Some([]) => {}
                        Some(names) => rules.push_str(&policy_rule(names, None, deny, &why)),
                        None if deny => {
                            return Err(refuse(
                                "Gemini CLI has no tool by that name: use Gemini's own name \
                                 (`docs/reference/tools.md`)",
                            ))
                        }
                        None => not_applied.push(entry.clone()),
                    }
                }
                ToolRule::Tool(tool) => rules.push_str(&policy_rule(&[&tool], None, deny, &why)),
                ToolRule::Command(command) => {
                    let any = if deny { ".*" } else { "[^\"]*" };
                    let matcher = command_match(&command, any);
                    rules.push_str(&policy_rule(
                        &["run_shell_command"],
                        Some(matcher),
                        deny,
                        &why,
                    ));
                }
                ToolRule::Scoped { .. } if deny => {
                    return Err(refuse(
                        "orch does not map per-path or per-domain rules to Gemini CLI: deny the \
                         whole tool, or write a policy rule with `argsPattern` and pass it with \
                         `-- --policy FILE`",
                    ))
                }
                ToolRule::Scoped { .. } => not_applied.push(entry.clone()),
            }
        }
    }
    Ok((rules, not_applied))
}

/// The `--policy` paths that keep the user's own policies: `policyPaths` from their settings,
/// else their `~/.gemini/policies` folder when there is one (`--policy` replaces both).
fn user_policy_paths() -> Result<Vec<String>> {
    let user = user_dir()?;
    let settings = std::fs::read_to_string(user.join("settings.json"))
        .ok()
        .and_then(|text| parse_jsonc(&text))
        .unwrap_or(Value::Null);
    if let Some(paths) = settings["policyPaths"].as_array() {
        return Ok(paths
            .iter()
            .filter_map(Value::as_str)
            .map(|p| shellexpand::tilde(p).into_owned())
            .collect());
    }
    let dir = user.join("policies");
    Ok(if dir.is_dir() {
        vec![dir.display().to_string()]
    } else {
        Vec::new()
    })
}

/// Applies `outfit` to a Gemini CLI worker whose state folder is `dir` (its `GEMINI_CLI_HOME`
/// is [`home`]`(dir)`, which [`prepare`] completes afterwards):
/// - `model`: `--model`;
/// - the system prompt: `GEMINI_CLI_HOME/.gemini/`[`OUTFIT_CONTEXT`], a global context file,
///   which Gemini appends to its own system prompt (in `<loaded_context>`; the user's
///   `GEMINI.md` stays theirs). `GEMINI_SYSTEM_MD` is not used: it replaces Gemini's prompt;
/// - `permission_mode`: `--approval-mode`, see [`approval_mode`];
/// - `tools`: rules in `<dir>/`[`POLICY_FILE`] ([`policy`]) passed with `--policy` after the
///   user's own policy paths. A deny without arguments also takes the tool out of what the
///   model is offered;
/// - `skills`: linked into `GEMINI_CLI_HOME/.agents/skills/` (Gemini's user skills);
/// - `hooks`: in Gemini's format ([`outfit_hooks`]) in `<dir>/`[`OUTFIT_HOOKS`], added to the
///   worker's settings by [`prepare`]; events Gemini has nothing for are warned about.
pub fn dress(outfit: &Outfit, dir: &Path) -> Result<Dress> {
    let mut dress = Dress::default();
    let on_gemini = || format!("outfit `{}` on gemini", outfit.name);
    if let Some(model) = &outfit.model {
        dress.arg("--model", model);
    }
    let home = home(dir);
    if let Some(prompt) = outfit.system_prompt_text()? {
        orch_store::files::write_atomic(
            &home.join(".gemini").join(OUTFIT_CONTEXT),
            prompt.as_bytes(),
            0o600,
        )?;
    }
    if let Some(mode) = &outfit.permission_mode {
        dress.arg(
            "--approval-mode",
            approval_mode(mode).with_context(on_gemini)?,
        );
    }
    let (rules, not_applied) = policy(outfit).with_context(on_gemini)?;
    if !rules.is_empty() {
        let file = dir.join(POLICY_FILE);
        let text = format!(
            "# Written by orch for this worker from outfit `{}`.\n{rules}",
            outfit.name
        );
        orch_store::files::write_atomic(&file, text.as_bytes(), 0o600)?;
        for path in user_policy_paths()? {
            dress.arg("--policy", path);
        }
        dress.arg("--policy", file.display().to_string());
    }
    if !not_applied.is_empty() {
        dress.warn(
            outfit,
            &format!("tools.allow {}", backticked(&not_applied)),
            "gemini",
            "no Gemini CLI tool or rule for it; it still asks",
        );
    }
    crate::outfit::link_skills(outfit, &home.join(".agents").join("skills"))?;
    if let Some(hooks) = &outfit.hooks {
        let (hooks, unknown) = outfit_hooks(hooks).with_context(on_gemini)?;
        if !unknown.is_empty() {
            dress.warn(
                outfit,
                &format!("hooks for {}", crate::outfit::backticked(&unknown)),
                "gemini",
                "Gemini CLI has no such hook event",
            );
        }
        orch_store::files::write_json(&dir.join(OUTFIT_HOOKS), &hooks)?;
    }
    Ok(dress)
}

/// Parses a settings file that may hold `//` comments (Gemini accepts them).
fn parse_jsonc(text: &str) -> Option<Value> {
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == '/' && chars.peek() == Some(&'/') {
            for c in chars.by_ref() {
                if c == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    serde_json::from_str(&out).ok()
}

/// The Gemini CLI adapter: `${ORCH_GEMINI_BIN:-gemini} --session-id <uuid> [outfit flags]
/// [args]` with the worker's own `GEMINI_CLI_HOME` ([`prepare`]) and its folder trusted for the
/// session (`GEMINI_CLI_TRUST_WORKSPACE`, as `--trust` does for Claude Code).
pub struct Gemini;

impl Adapter for Gemini {
    fn title(&self) -> &'static str {
        "Gemini CLI"
    }

    fn blocker(&self, screen: &str, cwd: &str) -> Option<Blocker> {
        blocker(screen, cwd)
    }

    /// Gemini CLI 0.61 at a quota it cannot wait out (a daily one): `Usage limit reached for
    /// <model>.` above `1. Keep trying` / `2. Stop` (docs/observed.md, 4.2).
    fn limit_dialog(&self, screen: &str) -> bool {
        limit_dialog(screen)
    }

    /// `Stop` (from `Keep trying`, where the dialog opens): the turn ends with an empty
    /// AfterAgent.
    fn limit_dialog_keys(&self) -> &'static [&'static str] {
        &["Down", "Enter"]
    }

    /// Gemini CLI 0.61 drops the prompt a quota failed: the next request does not carry it.
    fn keeps_failed_prompt(&self) -> bool {
        false
    }

    /// `GEMINI_*` and `GOOGLE_*` but not `GEMINI_CLI_HOME` (orch sets its own) nor the
    /// variables Gemini CLI sets for its hooks.
    fn passes(&self, key: &str) -> bool {
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

    fn input_ready(&self, screen: &str) -> Option<bool> {
        Some(input_ready(screen))
    }

    fn resumes(&self) -> bool {
        true
    }

    fn usage_format(&self) -> Option<super::adapter::UsageFormat> {
        Some(super::adapter::UsageFormat::GeminiSession)
    }

    /// `.gemini/tmp/<project>/chats/session-<time>-<first 8 of the id>.jsonl` in the worker's
    /// `GEMINI_CLI_HOME`.
    fn transcript(&self, dir: &Path, session_id: &str) -> Option<PathBuf> {
        let tmp = home(dir).join(".gemini").join("tmp");
        let short: String = session_id.chars().take(8).collect();
        find_transcript(&tmp, 2, "session-", &short)
    }

    fn verified(&self) -> Option<Verified> {
        Some(Verified {
            package: "@google/gemini-cli",
            oldest: Version(0, 61, 0),
            newest: Version(0, 61, 0),
            date: "2026-12-02",
        })
    }

    fn program_var(&self) -> Option<(&'static str, &'static str)> {
        Some(("ORCH_GEMINI_BIN", "gemini"))
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let dress = dressed(spawn.outfit, |o| dress(o, spawn.dir))?;
        // `--resume <id>` keeps the session id: its SessionStart says `source: resume`.
        let argv = session_argv(program("ORCH_GEMINI_BIN", "gemini"), spawn, &dress);
        let api_key = spawn
            .env
            .iter()
            .any(|(k, v)| k == "GEMINI_API_KEY" && !v.is_empty());
        let home = prepare(spawn.dir, spawn.hook, api_key)?;
        let mut launch = Launch::new(argv, dress);
        launch
            .env
            .push(("GEMINI_CLI_HOME".into(), home.display().to_string()));
        launch
            .env
            .push(("GEMINI_CLI_TRUST_WORKSPACE".into(), "true".into()));
        Ok(launch)
    }
}

/// Whether a Gemini CLI screen takes input: its input box is drawn (a border line of `─`,
/// then ` > `) and the status line above the box shows no busy mark. A resumed session
/// (0.61) fires SessionStart, then for seconds shows `Resuming session...` and `Executing
/// Hook: ...` above a box that is drawn but drops what is typed into it.
fn input_ready(screen: &str) -> bool {
    let lines: Vec<&str> = screen.lines().collect();
    let border = |l: &str| l.trim().len() > 2 && l.trim().chars().all(|c| c == '─');
    let Some(top) = lines.iter().rposition(|l| border(l)) else {
        return false;
    };
    let boxed = lines[top + 1..]
        .iter()
        .take(3)
        .any(|l| l.trim_start().starts_with('>'));
    let status = lines[..top].iter().rev().take(2);
    let busy = status
        .clone()
        .any(|l| l.contains("Executing Hook") || l.contains("Resuming session"));
    boxed && !busy
}

/// Whether a Gemini CLI screen shows its quota dialog (`ProQuotaDialog` when the model has no
/// fallback: `Keep trying` / `Stop`).
fn limit_dialog(screen: &str) -> bool {
    screen.contains("Usage limit reached for")
        && screen.contains("Keep trying")
        && screen.lines().any(|l| l.contains("2. Stop"))
}

/// Reads a Gemini CLI screen for the first-run screens that come before its SessionStart.
fn blocker(screen: &str, cwd: &str) -> Option<Blocker> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_run_orchs_hook_with_millisecond_timeouts() {
        let user = json!({"hooks": {"AfterAgent": [{"hooks": [{"type": "command",
            "command": "mine"}]}]}, "model": {"name": "m"}});
        let s = settings_json("/bin/orch-hook", user, true, false);
        assert_eq!(s["model"]["name"], "m");
        assert_eq!(s["hooks"]["AfterAgent"][0]["hooks"][0]["command"], "mine");
        assert_eq!(
            s["hooks"]["AfterAgent"][1]["hooks"][0]["command"],
            "/bin/orch-hook"
        );
        for event in HOOK_EVENTS {
            let hook = &s["hooks"][event].as_array().unwrap().last().unwrap()["hooks"][0];
            assert_eq!(hook["command"], "/bin/orch-hook");
            assert_eq!(hook["timeout"], 30_000);
        }
        assert_eq!(s["security"]["auth"]["selectedType"], "gemini-api-key");
    }

    #[test]
    fn outfit_hooks_take_geminis_events_matchers_and_milliseconds() {
        let claude = json!({
            "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "a",
                                                       "timeout": 5}]}],
            "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "b"}]}],
            "BeforeModel": [{"hooks": [{"type": "command", "command": "c"}]}],
            "SubagentStop": [],
        });
        let (hooks, unknown) = outfit_hooks(&claude).unwrap();
        assert_eq!(unknown, ["SubagentStop"]);
        assert_eq!(hooks["BeforeTool"][0]["matcher"], "run_shell_command");
        assert_eq!(hooks["BeforeTool"][0]["hooks"][0]["timeout"], 5000);
        assert_eq!(hooks["BeforeAgent"][0]["hooks"][0]["command"], "b");
        assert_eq!(hooks["BeforeModel"][0]["hooks"][0]["command"], "c");
        assert!(outfit_hooks(&json!(["Stop"])).is_err());
        assert!(outfit_hooks(&json!({"Stop": "x"})).is_err());
    }

    #[test]
    fn the_users_auth_choice_is_kept() {
        let user = parse_jsonc(
            "{\n // mine\n \"security\": {\"auth\": {\"selectedType\": \"oauth-personal\"}},\n \
             \"x\": \"a//b\"}",
        )
        .unwrap();
        assert_eq!(user["x"], "a//b");
        let s = settings_json("h", user, true, false);
        assert_eq!(s["security"]["auth"]["selectedType"], "oauth-personal");
        assert!(settings_json("h", Value::Null, false, false)
            .get("security")
            .is_none());
    }

    fn outfit(yaml: &str, dir: &Path) -> Outfit {
        let file = dir.join("x.yaml");
        std::fs::write(&file, yaml).unwrap();
        crate::outfit::parse(yaml, &file.display().to_string()).unwrap()
    }

    #[test]
    fn the_outfit_context_file_follows_the_users_names() {
        let cases = [
            (json!({}), json!(["GEMINI.md", OUTFIT_CONTEXT])),
            (
                json!({"context": {"fileName": "AGENTS.md"}}),
                json!(["AGENTS.md", OUTFIT_CONTEXT]),
            ),
            (
                json!({"context": {"fileName": ["A.md", "B.md"]}}),
                json!(["A.md", "B.md", OUTFIT_CONTEXT]),
            ),
        ];
        for (user, want) in cases {
            let s = settings_json("h", user, false, true);
            assert_eq!(s["context"]["fileName"], want);
        }
        assert!(settings_json("h", json!({}), false, false)
            .get("context")
            .is_none());
    }

    #[test]
    fn input_is_ready_only_when_no_hook_or_resume_runs_above_the_box() {
        let screen = |status: &str| {
            format!(
                "\u{2726} BEFORE\n{status}   ? for shortcuts\n{}\n Shift+Tab to accept edits\n \
                 >   Type your message or @path/to/file\n workspace\n",
                "\u{2500}".repeat(40)
            )
        };
        assert!(input_ready(&screen("")));
        assert!(!input_ready(&screen("  Executing Hook: orch")));
        assert!(!input_ready(&screen("\u{280b} Resuming session...")));
        assert!(!input_ready("Gemini CLI v0.61.0\nloading\n"));
        // A reply that mentions a hook is history, not the status line.
        let old = format!("Executing Hook: x\nok\n{}", screen(""));
        assert!(input_ready(&old));
    }

    #[test]
    fn the_daily_quota_dialog_is_a_limit_dialog() {
        let dialog = "\u{256d}\u{2500}\u{256e}\n\u{2502} Usage limit reached for gemini-2.5-flash. \
                      \u{2502}\n\u{2502} /model to switch models. \u{2502}\n\u{2502} \u{25cf} 1. Keep \
                      trying \u{2502}\n\u{2502}   2. Stop \u{2502}\n";
        assert!(limit_dialog(dialog));
        assert!(!limit_dialog(" > Keep trying to stop\n"));
        let after = "\u{2715} [API Error: You have exhausted your daily quota on this model.]\n";
        assert!(!limit_dialog(after));
    }

    #[test]
    fn permission_modes_map_to_approval_modes() {
        for (mode, want) in [
            ("default", "default"),
            ("acceptEdits", "auto_edit"),
            ("auto_edit", "auto_edit"),
            ("plan", "plan"),
            ("bypassPermissions", "yolo"),
            ("yolo", "yolo"),
        ] {
            assert_eq!(approval_mode(mode).unwrap(), want, "{mode}");
        }
        for mode in ["auto", "dontAsk"] {
            let err = format!("{:#}", approval_mode(mode).unwrap_err());
            assert!(err.contains("no Gemini CLI equivalent"), "{err}");
        }
    }

    #[test]
    fn tool_lists_become_policy_rules() {
        let dir = tempfile::tempdir().unwrap();
        let o = outfit(
            "name: x\ntools:\n  deny: [Write, Edit, NotebookEdit, \"Bash(git push --force*)\", \
             \"Bash(rm -rf *)\", \"Bash(cat \\\"a b\\\")\"]\n  allow: [Read, \"Bash(git *)\", \
             \"Bash(git * main)\", Task, \"WebFetch(domain:x.org)\", mcp_docs_search]\n",
            dir.path(),
        );
        let (rules, not_applied) = policy(&o).unwrap();
        let parsed: Vec<&str> = rules.split("\n[[rule]]\n").skip(1).collect();
        assert_eq!(parsed.len(), 9, "{rules}");
        assert!(parsed[0]
            .starts_with("toolName = [\"write_file\"]\ndecision = \"deny\"\npriority = 999\n"));
        assert!(parsed[0].contains("denyMessage = \"tools.deny `Write` of outfit `x`\""));
        assert!(parsed[1].starts_with("toolName = [\"replace\"]\n"));
        assert!(
            parsed[2].contains("commandRegex = \"git push --force\"\ndecision = \"deny\""),
            "{}",
            parsed[2]
        );
        assert!(parsed[3].contains("commandPrefix = \"rm -rf\""));
        // The JSON of the arguments escapes the quotes; the regex escapes the backslashes.
        assert!(
            parsed[4].contains(r#"commandRegex = "cat \\\\\"a b\\\\\"\"""#),
            "{}",
            parsed[4]
        );
        assert!(parsed[5].starts_with(
            "toolName = [\"read_file\", \"read_many_files\"]\ndecision = \"allow\"\npriority = 0\n"
        ));
        assert!(parsed[6].contains("commandPrefix = \"git\"\ndecision = \"allow\""));
        assert!(
            parsed[7].contains(r#"commandRegex = "git [^\"]* main\"""#),
            "{}",
            parsed[7]
        );
        assert!(rules.contains("toolName = [\"mcp_docs_search\"]"));
        assert_eq!(not_applied, ["Task", "WebFetch(domain:x.org)"]);
    }

    #[test]
    fn denies_gemini_cannot_enforce_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (yaml, want) in [
            ("tools: {deny: [Task]}", "no tool by that name"),
            ("tools: {deny: [\"Read(./secrets/**)\"]}", "per-path"),
            ("permission_mode: dontAsk", "no Gemini CLI equivalent"),
        ] {
            let o = outfit(&format!("name: x\n{yaml}\n"), dir.path());
            let e = format!("{:#}", dress(&o, dir.path()).unwrap_err());
            assert!(e.starts_with("outfit `x` on gemini: "), "{e}");
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }

    #[test]
    fn the_shipped_gemini_engineer_maps_the_engineers_lists() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = crate::outfit::load("gemini-engineer", dir.path()).unwrap();
        o.skills.clear();
        let d = dress(&o, dir.path()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert!(d.args.join(" ").contains("--approval-mode auto_edit"));
        let policy = std::fs::read_to_string(dir.path().join(POLICY_FILE)).unwrap();
        assert!(policy.contains("commandRegex = \"git push --force\"\ndecision = \"deny\""));
        assert!(policy.contains("commandPrefix = \"git\"\ndecision = \"allow\""));
        let context = home(dir.path()).join(".gemini").join(OUTFIT_CONTEXT);
        assert!(std::fs::read_to_string(context)
            .unwrap()
            .contains("orch worker"));
    }

    #[test]
    fn dress_writes_the_context_file_policy_and_skills() {
        let dir = tempfile::tempdir().unwrap();
        let skill = dir.path().join("my-skill");
        std::fs::create_dir_all(&skill).unwrap();
        std::fs::write(skill.join("SKILL.md"), "---\nname: my-skill\n---\n").unwrap();
        let o = outfit(
            "name: x\nmodel: gemini-x\nsystem_prompt: Be brief.\npermission_mode: plan\n\
             tools: {deny: [Write]}\nskills: [my-skill]\n\
             hooks: {Stop: [{hooks: [{type: command, command: mine}]}], SubagentStop: []}\n",
            dir.path(),
        );
        let d = dress(&o, dir.path()).unwrap();
        assert_eq!(
            &d.args[..4],
            ["--model", "gemini-x", "--approval-mode", "plan"]
        );
        let policy = dir.path().join(POLICY_FILE);
        assert_eq!(
            d.args[d.args.len() - 2..],
            ["--policy".to_string(), policy.display().to_string()]
        );
        assert!(std::fs::read_to_string(policy)
            .unwrap()
            .contains("\"write_file\""));
        let own = home(dir.path()).join(".gemini");
        assert_eq!(
            std::fs::read_to_string(own.join(OUTFIT_CONTEXT)).unwrap(),
            "Be brief."
        );
        let link = home(dir.path()).join(".agents/skills/my-skill");
        assert_eq!(std::fs::read_link(link).unwrap(), skill);
        assert_eq!(d.warnings.len(), 1);
        assert!(
            d.warnings[0].contains("hooks for `SubagentStop` not applied on gemini"),
            "{:?}",
            d.warnings
        );
        let hooks = std::fs::read_to_string(dir.path().join(OUTFIT_HOOKS)).unwrap();
        let hooks: Value = serde_json::from_str(&hooks).unwrap();
        assert_eq!(hooks["AfterAgent"][0]["hooks"][0]["command"], "mine");
    }
}
