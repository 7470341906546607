//! The per-worker agent folder of a pi worker (`PI_CODING_AGENT_DIR`) and orch's pi extension.
//!
//! pi (`@mariozechner/pi-coding-agent`) has no shell hooks: orch ships a TypeScript extension
//! ([`EXTENSION`]), written into the worker's folder and passed with `-e`, that runs
//! `$ORCH_HOOK` (the absolute path of `orch-hook`) with Claude-shaped hook inputs on
//! SessionStart, UserPromptSubmit and Stop. The worker's agent folder links the user's
//! `models.json`, `auth.json` and other resources and copies `settings.json`, so that pi's own
//! writes (settings, sessions) stay out of the user's `~/.pi/agent`, which is only read.
//!
//! [`dress`] applies an outfit with pi's own flags (0.73: `--append-system-prompt`, `--skill`)
//! and, for the tool rules pi does not have, orch's guard extension ([`GUARD`]); the outfit's
//! hooks run through orch's extension ([`outfit_hooks`]).

use super::adapter::{
    dressed, find_file, program, Adapter, Blocker, Launch, Spawn, Verified, Version,
};
use crate::outfit::{CommandRule, Dress, Outfit, ToolRule};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The extension's source (`hooks/pi/orch-extension.ts`).
pub const EXTENSION: &str = include_str!("../../../hooks/pi/orch-extension.ts");

/// The outfit guard's source (`hooks/pi/outfit-guard.ts`): it takes denied tools out of the
/// active set and refuses denied tools and bash commands at `tool_call`, with the rules read
/// from the JSON file named by `$ORCH_PI_GUARD` (shape in the file's header).
pub const GUARD: &str = include_str!("../../../hooks/pi/outfit-guard.ts");

/// pi's read-only tools, the whole tool set of a `plan` worker.
pub const READ_ONLY_TOOLS: [&str; 4] = ["read", "grep", "find", "ls"];

/// The user's pi agent folder: `$PI_CODING_AGENT_DIR` if set and non-empty, else
/// `~/.pi/agent`.
pub fn user_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PI_CODING_AGENT_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(
            shellexpand::tilde(&dir.to_string_lossy()).as_ref(),
        ));
    }
    Ok(orch_store::paths::home()?.join(".pi").join("agent"))
}

/// What [`prepare`] made.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The worker's `PI_CODING_AGENT_DIR`.
    pub agent_dir: PathBuf,
    /// The extension file to pass with `-e`.
    pub extension: PathBuf,
    /// Variables the user's `models.json` names as API keys, to pass to the worker.
    pub env_keys: Vec<String>,
}

/// Entries of the user's agent folder that are not linked into a worker's: `settings.json` is
/// copied (pi writes to it), sessions stay per worker.
const NOT_LINKED: [&str; 2] = ["settings.json", "sessions"];

/// The agent folder of the worker whose state folder is `dir` (pi's `PI_CODING_AGENT_DIR`).
pub fn agent_dir(dir: &Path) -> PathBuf {
    dir.join("pi-agent")
}

/// Creates `<dir>/pi-agent` (the user's agent folder's entries linked, `settings.json` copied)
/// and `<dir>/orch-extension.ts`.
pub fn prepare(dir: &Path) -> Result<Prepared> {
    let user = user_dir()?;
    let agent_dir = agent_dir(dir);
    orch_store::files::create_private_dir(&agent_dir)?;
    if let Ok(entries) = std::fs::read_dir(&user) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            if NOT_LINKED.iter().any(|n| name == *n) {
                continue;
            }
            let link = agent_dir.join(&name);
            if std::fs::symlink_metadata(&link).is_err() {
                std::os::unix::fs::symlink(entry.path(), &link)
                    .with_context(|| format!("cannot link `{}`", entry.path().display()))?;
            }
        }
    }
    let settings = user.join("settings.json");
    match std::fs::read(&settings) {
        Ok(bytes) => {
            orch_store::files::write_atomic(&agent_dir.join("settings.json"), &bytes, 0o600)?
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read `{}`", settings.display()))
        }
    }
    let extension = dir.join("orch-extension.ts");
    orch_store::files::write_atomic(&extension, EXTENSION.as_bytes(), 0o600)?;
    let models = std::fs::read_to_string(user.join("models.json")).unwrap_or_default();
    Ok(Prepared {
        agent_dir,
        extension,
        env_keys: env_keys(&models),
    })
}

/// The `apiKey` values of a `models.json` that name an environment variable (pi reads the key
/// from the variable when one by that name is set).
pub fn env_keys(models: &str) -> Vec<String> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(models) else {
        return Vec::new();
    };
    let mut keys: Vec<String> = value["providers"]
        .as_object()
        .into_iter()
        .flat_map(|providers| providers.values())
        .filter_map(|p| p["apiKey"].as_str())
        .filter(|k| {
            let mut chars = k.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
                && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// pi's name for one of Claude Code's tools (`docs/usage.md`: read, bash, edit, write, grep,
/// find, ls): `Some(None)` for a tool pi does not have, `None` for a name this table does not
/// know.
pub fn tool_name(claude: &str) -> Option<Option<&'static str>> {
    Some(Some(match claude {
        "Read" => "read",
        "Bash" => "bash",
        "Edit" | "MultiEdit" => "edit",
        "Write" => "write",
        "Grep" => "grep",
        "Glob" => "find",
        "LS" => "ls",
        "NotebookEdit" | "WebFetch" | "WebSearch" | "TodoWrite" => return Some(None),
        _ => return None,
    }))
}

/// The guard's rules for an outfit (the JSON [`GUARD`] reads), or `None` when it needs none:
/// `remove` from `tools.deny` tools ([`tool_name`]; other names are pi's own), `only`
/// [`READ_ONLY_TOOLS`] for `permission_mode: plan`, `commands` from `Bash(...)` denies.
/// `permission_mode` must be `plan` or `bypassPermissions` (what pi does anyway): pi cannot
/// ask before a tool runs, so any other mode is an error, as is a per-path deny.
pub fn guard_rules(outfit: &Outfit) -> Result<Option<serde_json::Value>> {
    let only = match outfit.permission_mode.as_deref() {
        None | Some("bypassPermissions") => None,
        Some("plan") => Some(READ_ONLY_TOOLS.to_vec()),
        Some(other) => anyhow::bail!(
            "permission_mode `{other}` has no pi equivalent: pi runs every tool without asking; \
             use `bypassPermissions` to accept that, or `plan` for its read-only tools, and \
             `tools.deny` for what must never run"
        ),
    };
    let mut remove: Vec<String> = Vec::new();
    let mut commands = Vec::new();
    for entry in outfit.tools.iter().flat_map(|t| &t.deny) {
        let refuse = |msg: &str| anyhow!("tools.deny `{entry}`: {msg}");
        match ToolRule::parse(entry) {
            ToolRule::Tool(tool) if crate::outfit::is_claude_name(&tool) => {
                match tool_name(&tool) {
                    Some(Some(name)) => remove.push(name.into()),
                    Some(None) => {}
                    None => {
                        return Err(refuse(
                            "pi has no tool by that name: use pi's own (read, bash, edit, write, \
                         grep, find, ls, or an extension's)",
                        ))
                    }
                }
            }
            ToolRule::Tool(tool) => remove.push(tool),
            ToolRule::Command(rule) => {
                let (kind, pattern) = match rule {
                    CommandRule::Words(p) => ("words", p),
                    CommandRule::Prefix(p) => ("prefix", p),
                    CommandRule::Exact(p) => ("exact", p),
                    CommandRule::Glob(p) => ("glob", p),
                };
                commands.push(json!({"kind": kind, "pattern": pattern, "entry": entry}));
            }
            ToolRule::Scoped { .. } => {
                return Err(refuse(
                    "orch's pi guard has no per-path or per-domain rules: deny the whole tool",
                ))
            }
        }
    }
    remove.sort();
    remove.dedup();
    if only.is_none() && remove.is_empty() && commands.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "outfit": outfit.name, "remove": remove, "only": only, "commands": commands,
    })))
}

/// The `APPEND_SYSTEM.md` pi would load for a worker in `cwd` (`.pi/APPEND_SYSTEM.md` there,
/// else the user's agent folder's) and skips once `--append-system-prompt` is given.
fn discovered_append(cwd: &Path) -> Result<Option<PathBuf>> {
    let project = cwd.join(".pi").join("APPEND_SYSTEM.md");
    if project.is_file() {
        return Ok(Some(project));
    }
    let user = user_dir()?.join("APPEND_SYSTEM.md");
    Ok(user.is_file().then_some(user))
}

/// Applies `outfit` to a pi worker whose state folder is `dir` and working folder `cwd`:
/// - `model`: `--model`;
/// - the system prompt: written to `<dir>/outfit-system-prompt.md` and passed with
///   `--append-system-prompt` (pi appends it to its own prompt), after the `APPEND_SYSTEM.md`
///   pi would otherwise have loaded;
/// - `permission_mode` and `tools.deny`: [`guard_rules`], written to
///   `<dir>/outfit-guard.json` for [`GUARD`] (`<dir>/outfit-guard.ts`, passed with `-e`,
///   `ORCH_PI_GUARD` set). A denied tool is not offered to the model;
/// - `tools.allow`: nothing to do (pi asks before nothing);
/// - `skills`: `--skill <folder>` each;
/// - `hooks`: [`outfit_hooks`], written to `<dir>/outfit-hooks.json` and named by
///   `ORCH_PI_HOOKS`; orch's extension runs them on the events it turns into hook inputs.
pub fn dress(outfit: &Outfit, dir: &Path, cwd: &Path) -> Result<Dress> {
    let mut dress = Dress::default();
    let on_pi = || format!("outfit `{}` on pi", outfit.name);
    if let Some(model) = &outfit.model {
        dress.arg("--model", model);
    }
    if let Some(prompt) = outfit.system_prompt_text()? {
        if let Some(append) = discovered_append(cwd)? {
            dress.arg("--append-system-prompt", append.display().to_string());
        }
        let file = dir.join("outfit-system-prompt.md");
        orch_store::files::write_atomic(&file, prompt.as_bytes(), 0o600)?;
        dress.arg("--append-system-prompt", file.display().to_string());
    }
    if let Some(rules) = guard_rules(outfit).with_context(on_pi)? {
        let file = dir.join("outfit-guard.json");
        orch_store::files::write_json(&file, &rules)?;
        let guard = dir.join("outfit-guard.ts");
        orch_store::files::write_atomic(&guard, GUARD.as_bytes(), 0o600)?;
        dress.arg("-e", guard.display().to_string());
        dress
            .env
            .push(("ORCH_PI_GUARD".into(), file.display().to_string()));
    }
    for skill in outfit.skill_dirs()? {
        dress.arg("--skill", skill.display().to_string());
    }
    if let Some(hooks) = &outfit.hooks {
        let (hooks, not_applied) = outfit_hooks(hooks).with_context(on_pi)?;
        for (what, why) in not_applied {
            dress.warn(outfit, &what, "pi", why);
        }
        let file = dir.join("outfit-hooks.json");
        orch_store::files::write_json(&file, &hooks)?;
        dress
            .env
            .push(("ORCH_PI_HOOKS".into(), file.display().to_string()));
    }
    Ok(dress)
}

/// The hook events orch's extension ([`EXTENSION`]) turns pi's events into, and so the ones an
/// outfit's hooks can run on.
pub const OUTFIT_HOOK_EVENTS: [&str; 4] =
    ["SessionStart", "UserPromptSubmit", "Stop", "StopFailure"];

/// An outfit's `hooks` (Claude Code's settings format) as the extension reads them from
/// `$ORCH_PI_HOOKS`: `{"Stop": [{"command": "...", "timeout_ms": 30000}], ...}`, each command
/// run by `/bin/sh -c` with the event's Claude-shaped input on stdin, after orch's hook. Returns
/// them and what pi cannot apply, with why: events the extension does not fire ([`OUTFIT_HOOK_EVENTS`]), matchers
/// and hooks that are not commands. Errors: `hooks` is not a map of lists.
pub fn outfit_hooks(hooks: &Value) -> Result<(Value, Vec<(String, &'static str)>)> {
    let Some(events) = hooks.as_object() else {
        bail!("hooks: expected a map of event names to entries");
    };
    let mut out = serde_json::Map::new();
    let mut not_applied = Vec::new();
    for (event, entries) in events {
        if !OUTFIT_HOOK_EVENTS.contains(&event.as_str()) {
            not_applied.push((
                format!("hooks for `{event}`"),
                "orch's pi extension fires SessionStart, UserPromptSubmit, Stop and StopFailure only",
            ));
            continue;
        }
        let Some(entries) = entries.as_array() else {
            bail!("hooks.{event}: expected a list of entries");
        };
        let mut commands = Vec::new();
        for entry in entries {
            if entry
                .get("matcher")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty() && m != "*")
            {
                not_applied.push((
                    format!("the matcher of a `{event}` hook"),
                    "its hooks run on every such event",
                ));
            }
            for hook in entry
                .get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match (hook["type"].as_str(), hook["command"].as_str()) {
                    (Some("command") | None, Some(command)) => {
                        let secs = hook["timeout"].as_f64().unwrap_or(60.0);
                        commands.push(json!({
                            "command": command,
                            "timeout_ms": (secs * 1000.0).round() as u64,
                        }));
                    }
                    _ => not_applied.push((
                        format!("a `{event}` hook that is not a command"),
                        "only command hooks run",
                    )),
                }
            }
        }
        out.insert(event.clone(), Value::Array(commands));
    }
    Ok((Value::Object(out), not_applied))
}

/// The pi adapter: `${ORCH_PI_BIN:-pi} -e <orch-extension.ts> [outfit flags] [args]` with the
/// worker's own `PI_CODING_AGENT_DIR` ([`prepare`]). pi has no shell hooks: orch's extension
/// runs orch-hook. It has no `--session-id` either: the worker adopts the session id of its
/// first SessionStart, which pi fires at launch.
pub struct Pi;

impl Adapter for Pi {
    fn title(&self) -> &'static str {
        "pi"
    }

    fn detector(&self) -> &'static str {
        "extension"
    }

    fn sets_session_id(&self) -> bool {
        false
    }

    fn blocker(&self, screen: &str, _cwd: &str) -> Option<Blocker> {
        blocker(screen)
    }

    /// pi's own settings (`PI_OFFLINE`, ...) but not its agent folder (orch sets its own);
    /// keys named in `models.json` are passed too ([`Launch::pass`]).
    fn passes(&self, key: &str) -> bool {
        key != "PI_CODING_AGENT_DIR" && key.starts_with("PI_")
    }

    fn resumes(&self) -> bool {
        true
    }

    fn usage_format(&self) -> Option<super::adapter::UsageFormat> {
        Some(super::adapter::UsageFormat::PiSession)
    }

    /// `sessions/<folder>/<time>_<session id>.jsonl` in the worker's `PI_CODING_AGENT_DIR`.
    fn transcript(&self, dir: &Path, session_id: &str) -> Option<PathBuf> {
        let tail = format!("_{session_id}.jsonl");
        find_file(&agent_dir(dir).join("sessions"), 1, &|file| {
            file.ends_with(&tail)
        })
    }

    fn verified(&self) -> Option<Verified> {
        Some(Verified {
            package: "@mariozechner/pi-coding-agent",
            oldest: Version(0, 73, 1),
            newest: Version(0, 73, 1),
            date: "2026-12-02",
        })
    }

    fn program_var(&self) -> Option<(&'static str, &'static str)> {
        Some(("ORCH_PI_BIN", "pi"))
    }

    fn prepare(&self, spawn: &Spawn) -> Result<Launch> {
        let dress = dressed(spawn.outfit, |o| dress(o, spawn.dir, spawn.cwd))?;
        let prepared = prepare(spawn.dir)?;
        let mut argv = vec![
            program("ORCH_PI_BIN", "pi"),
            "-e".into(),
            prepared.extension.display().to_string(),
        ];
        argv.extend(dress.args.iter().cloned());
        argv.extend(spawn.args.iter().cloned());
        if spawn.resume {
            // pi keeps the session id; orch's extension reports its SessionStart as `startup`.
            argv.extend([
                "--session".into(),
                spawn.session_id.unwrap_or_default().into(),
            ]);
        }
        let mut launch = Launch::new(argv, dress);
        launch.env.push((
            "PI_CODING_AGENT_DIR".into(),
            prepared.agent_dir.display().to_string(),
        ));
        launch
            .env
            .push(("ORCH_HOOK".into(), spawn.hook.display().to_string()));
        launch.pass = prepared.env_keys;
        Ok(launch)
    }
}

/// Reads a pi screen for what keeps it from starting. pi 0.73 has no blocking first-run
/// screen; with no model configured it starts with a warning (and still fires SessionStart),
/// and an extension that fails to load is reported on screen.
fn blocker(screen: &str) -> Option<Blocker> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_keys_are_the_variable_shaped_api_keys() {
        let models = r#"{"providers":{"a":{"apiKey":"dummy"},"b":{"apiKey":"MOCK_KEY"},
            "c":{"apiKey":"MOCK_KEY"},"d":{}}}"#;
        assert_eq!(env_keys(models), ["MOCK_KEY"]);
        assert!(env_keys("not json").is_empty());
    }

    #[test]
    fn the_extension_runs_orch_hook_for_the_three_events() {
        for s in [
            "ORCH_HOOK",
            "SessionStart",
            "UserPromptSubmit",
            "\"Stop\"",
            "agent_end",
        ] {
            assert!(EXTENSION.contains(s), "{s}");
        }
    }

    fn outfit(yaml: &str, dir: &Path) -> Outfit {
        let file = dir.join("x.yaml");
        std::fs::write(&file, yaml).unwrap();
        crate::outfit::parse(yaml, &file.display().to_string()).unwrap()
    }

    #[test]
    fn guard_rules_map_denies_and_plan_mode() {
        let dir = tempfile::tempdir().unwrap();
        let o = outfit(
            "name: x\npermission_mode: plan\ntools:\n  deny: [Edit, MultiEdit, WebFetch, \
             my_tool, \"Bash(git push --force*)\", \"Bash(rm -rf *)\", \"Bash(git * main)\", \
             \"Bash(ls)\"]\n  allow: [Read]\n",
            dir.path(),
        );
        let rules = guard_rules(&o).unwrap().unwrap();
        assert_eq!(
            rules,
            json!({"outfit": "x", "remove": ["edit", "my_tool"], "only": READ_ONLY_TOOLS,
            "commands": [
                {"kind": "prefix", "pattern": "git push --force", "entry": "Bash(git push --force*)"},
                {"kind": "words", "pattern": "rm -rf", "entry": "Bash(rm -rf *)"},
                {"kind": "glob", "pattern": "git * main", "entry": "Bash(git * main)"},
                {"kind": "exact", "pattern": "ls", "entry": "Bash(ls)"},
            ]})
        );
        let none = outfit(
            "name: x\npermission_mode: bypassPermissions\ntools: {allow: [Edit]}\n",
            dir.path(),
        );
        assert_eq!(guard_rules(&none).unwrap(), None);
        for (yaml, want) in [
            (
                "permission_mode: acceptEdits",
                "pi runs every tool without asking",
            ),
            ("permission_mode: default", "`bypassPermissions`"),
            ("tools: {deny: [Task]}", "no tool by that name"),
            ("tools: {deny: [\"Edit(src/**)\"]}", "per-path"),
        ] {
            let o = outfit(&format!("name: x\n{yaml}\n"), dir.path());
            let e = format!("{:#}", dress(&o, dir.path(), dir.path()).unwrap_err());
            assert!(e.starts_with("outfit `x` on pi: "), "{e}");
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }

    #[test]
    fn the_shipped_pi_engineer_guards_the_engineers_denied_commands() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = crate::outfit::load("pi-engineer", dir.path()).unwrap();
        o.skills.clear();
        let d = dress(&o, dir.path(), dir.path()).unwrap();
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let rules = guard_rules(&o).unwrap().unwrap();
        assert_eq!(rules["only"], serde_json::Value::Null);
        assert_eq!(rules["commands"][0]["pattern"], "git push --force");
        assert_eq!(rules["commands"][1]["pattern"], "rm -rf");
        // The engineer's acceptEdits is refused on pi.
        let engineer = crate::outfit::load("engineer", dir.path()).unwrap();
        assert!(format!("{:#}", guard_rules(&engineer).unwrap_err()).contains("acceptEdits"));
    }

    #[test]
    fn dress_appends_the_prompt_and_loads_the_guard_and_skills() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("work");
        std::fs::create_dir_all(cwd.join(".pi")).unwrap();
        std::fs::write(cwd.join(".pi/APPEND_SYSTEM.md"), "project append").unwrap();
        let skill = dir.path().join("my-skill");
        std::fs::create_dir_all(&skill).unwrap();
        std::fs::write(skill.join("SKILL.md"), "---\nname: my-skill\n---\n").unwrap();
        let o = outfit(
            "name: x\nmodel: mock-model\nsystem_prompt: Be brief.\ntools: {deny: [Write]}\n\
             skills: [my-skill]\n\
             hooks: {Stop: [{hooks: [{type: command, command: mine, timeout: 5}]}], PreToolUse: []}\n",
            dir.path(),
        );
        let d = dress(&o, dir.path(), &cwd).unwrap();
        let at = |p: &str| dir.path().join(p).display().to_string();
        let project = cwd.join(".pi/APPEND_SYSTEM.md").display().to_string();
        let skill = skill.display().to_string();
        assert_eq!(
            d.args,
            [
                "--model",
                "mock-model",
                "--append-system-prompt",
                &project,
                "--append-system-prompt",
                &at("outfit-system-prompt.md"),
                "-e",
                &at("outfit-guard.ts"),
                "--skill",
                &skill,
            ]
        );
        assert_eq!(
            d.env,
            [
                ("ORCH_PI_GUARD".to_string(), at("outfit-guard.json")),
                ("ORCH_PI_HOOKS".to_string(), at("outfit-hooks.json"))
            ]
        );
        let hooks: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(at("outfit-hooks.json")).unwrap())
                .unwrap();
        assert_eq!(
            hooks,
            json!({"Stop": [{"command": "mine", "timeout_ms": 5000}]})
        );
        assert_eq!(
            std::fs::read_to_string(at("outfit-system-prompt.md")).unwrap(),
            "Be brief."
        );
        assert_eq!(
            std::fs::read_to_string(at("outfit-guard.ts")).unwrap(),
            GUARD
        );
        let rules: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(at("outfit-guard.json")).unwrap())
                .unwrap();
        assert_eq!(rules["remove"], json!(["write"]));
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].contains("hooks for `PreToolUse` not applied on pi"),
            "{:?}",
            d.warnings
        );
    }

    #[test]
    fn outfit_hooks_say_what_pi_cannot_run() {
        let (hooks, not_applied) = outfit_hooks(&json!({
            "SessionStart": [{"matcher": "startup", "hooks": [{"type": "command", "command": "a"}]}],
            "Stop": [{"hooks": [{"type": "prompt", "prompt": "judge"}]}],
        }))
        .unwrap();
        assert_eq!(hooks["SessionStart"][0]["command"], "a");
        assert_eq!(hooks["SessionStart"][0]["timeout_ms"], 60000);
        let what: Vec<&str> = not_applied.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(
            what,
            [
                "the matcher of a `SessionStart` hook",
                "a `Stop` hook that is not a command"
            ]
        );
        assert!(outfit_hooks(&json!([])).is_err());
    }

    #[test]
    fn the_extension_runs_the_outfits_hooks_after_orchs() {
        for s in ["ORCH_PI_HOOKS", "\"/bin/sh\", \"-c\"", "timeout_ms"] {
            assert!(EXTENSION.contains(s), "{s}");
        }
    }

    #[test]
    fn the_guard_reads_its_rules_from_orch_pi_guard_and_fails_closed() {
        for s in [
            "ORCH_PI_GUARD",
            "setActiveTools",
            "tool_call",
            "block: true",
            "every tool is refused",
        ] {
            assert!(GUARD.contains(s), "{s}");
        }
    }
}
