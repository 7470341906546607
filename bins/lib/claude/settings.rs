//! Claude Code's `settings.json`: parsing it with errors that say where, merging orch's hook
//! entries into it or taking them out again as pure functions on `serde_json::Value`, and
//! [`update`], the one safe way orch rewrites a Claude Code JSON file (lock, backup, atomic write).
//!
//! The shape is Claude Code's settings.json hooks format, as documented in its hooks reference
//! and observed (docs/observed.md, 1.5):
//! `{"hooks": {"<Event>": [{"matcher": "...", "hooks": [{"type": "command", "command": "..."}]}]}}`,
//! where `matcher` is optional. The flat form `"Stop": [{"type": "command", ...}]` makes Claude
//! Code skip the whole file, so orch always writes the nested form.

use anyhow::{anyhow, bail, Context, Result};
use orch_store::{clock, files as fsutil};
use serde_json::{json, Map, Value};
use std::fmt;
use std::path::{Path, PathBuf};

/// The Claude Code hook events orch registers, in the order `orch up` adds them.
pub const EVENTS: [&str; 7] = [
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "Notification",
    "PermissionRequest",
    "SessionEnd",
];

/// The program name that marks a hook as orch's: a hook whose command runs a program with this
/// basename belongs to orch, wherever it is installed.
pub const HOOK_PROGRAM: &str = "orch-hook";

/// Seconds Claude Code gives orch's hook before it kills it (its default is over 70 s).
pub const HOOK_TIMEOUT_SECS: u64 = 10;

/// Seconds Claude Code gives orch's PermissionRequest hook: a day, since the hook may wait
/// that long on an answer from the phone while the dialog is open (the dialog shows and takes
/// the person's keys meanwhile: nothing waits on the hook; `coordination::permission`).
pub const PERMISSION_HOOK_TIMEOUT_SECS: u64 = 86_400;

/// The timeout of orch's hook on `event`, in seconds.
pub fn hook_timeout(event: &str) -> u64 {
    if event == "PermissionRequest" {
        PERMISSION_HOOK_TIMEOUT_SECS
    } else {
        HOOK_TIMEOUT_SECS
    }
}

/// One change to the hook registrations, as `orch up` and `orch down` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookChange {
    /// A new entry on `event` that runs `command`.
    Add { event: String, command: String },
    /// orch's hook on `event` was brought up to date in place: it ran `from` (an older install,
    /// or the same command with another type or timeout) and now runs `to`.
    Update {
        event: String,
        from: String,
        to: String,
    },
    /// orch's hook on `event` that ran `command` was taken out.
    Remove { event: String, command: String },
}

impl fmt::Display for HookChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HookChange::Add { event, command } => write!(f, "add hook {event}: {command}"),
            HookChange::Update { event, from, to } if from == to => {
                write!(f, "update hook {event}: {to} (type and timeout)")
            }
            HookChange::Update { event, from, to } => {
                write!(f, "update hook {event}: {from} -> {to}")
            }
            HookChange::Remove { event, command } => write!(f, "remove hook {event}: {command}"),
        }
    }
}

/// Parses the text of a JSON file that must hold an object (Claude Code's `settings.json` or
/// `.claude.json`). Text that is empty or only white space counts as `{}`; a leading UTF-8 byte
/// order mark is ignored.
///
/// Errors: invalid JSON, naming `path`, the line and the column and saying how to fix it; a top
/// level that is not an object.
pub fn parse(text: &str, path: &Path) -> Result<Value> {
    let text = text.trim_start_matches('\u{feff}');
    if text.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_str(text).map_err(|err| {
        let full = err.to_string();
        let what = full.split(" at line ").next().unwrap_or(&full);
        anyhow!(
            "`{}` is not valid JSON: {what} at line {}, column {}: fix the file at that spot \
             (or move it away) and run the command again; nothing was changed",
            path.display(),
            err.line(),
            err.column()
        )
    })?;
    if !value.is_object() {
        bail!(
            "`{}` holds {} at the top level, expected an object: make it an object such as \
             `{{}}` and run the command again; nothing was changed",
            path.display(),
            kind(&value)
        );
    }
    Ok(value)
}

/// Reads a JSON object file with [`parse`]; `None` when it does not exist (a dangling symlink
/// counts as missing: writing creates its target).
///
/// Errors: the file cannot be read, or [`parse`] refuses it.
pub fn read(path: &Path) -> Result<Option<Value>> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text, path).map(Some),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// Whether the file was written.
    pub changed: bool,
    /// The backup of the previous content, when there was a file to back up.
    pub backup: Option<PathBuf>,
}

/// How long [`update`] waits for Claude Code's lock on the file it changes.
const CLAUDE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Rewrites the JSON object file at `path` with `change` applied, safely: holds orch's fs2 lock
/// on `<path>.orch-lock` and Claude Code's own lock directory `<path>.lock`
/// ([`fsutil::DirLock`], waiting up to 15 s for a Claude Code that writes the file), reads the
/// file (missing = `{}`), and only when `change` returns a different
/// value makes a timestamped backup beside the file (`<name>.bak.<stamp>`) and writes the new
/// value (pretty-printed, two-space indent, final newline) through a temp file renamed over it.
/// A symlink at `path` stays a symlink and its target is replaced; a new file gets mode 0600 and
/// missing folders are created (0700).
///
/// Errors: the file is not valid JSON or not an object (nothing is touched), `change` fails
/// (nothing is touched), or an I/O step fails (named with its path).
pub fn update(path: &Path, change: impl FnOnce(&Value) -> Result<Value>) -> Result<Updated> {
    let ours = lock(path)?;
    update_held(&ours, path, change)
}

/// orch's lock on the file at `path` (`<path>.orch-lock`), creating its folder (0700) when
/// missing. `orch up` and `orch down` hold it over their whole run, the skill links included,
/// so concurrent runs take turns and each leaves a whole install.
///
/// Errors: the folder or the lock file cannot be made.
pub fn lock(path: &Path) -> Result<fsutil::Lock> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fsutil::create_private_dir(dir)?;
    }
    fsutil::Lock::at(&fsutil::own_lock_path(path))
}

/// [`update`] for a caller that already holds `ours`, orch's lock on the file ([`lock`]).
pub fn update_held(
    ours: &fsutil::Lock,
    path: &Path,
    change: impl FnOnce(&Value) -> Result<Value>,
) -> Result<Updated> {
    let _claudes = fsutil::DirLock::acquire(path, CLAUDE_LOCK_WAIT, ours)?;
    let before = read(path)?;
    let old = before.unwrap_or_else(|| Value::Object(Map::new()));
    let new = change(&old).with_context(|| format!("cannot update `{}`", path.display()))?;
    if new == old {
        return Ok(Updated {
            changed: false,
            backup: None,
        });
    }
    let backup = fsutil::backup(path, clock::now_ms())?;
    let mut text = serde_json::to_string_pretty(&new).context("cannot serialise JSON")?;
    text.push('\n');
    fsutil::write_following(path, text.as_bytes(), 0o600)?;
    Ok(Updated {
        changed: true,
        backup,
    })
}

/// The command line Claude Code runs (through `/bin/sh -c`) for orch's hook: `exe`, single-quoted
/// for the shell when it holds characters that need it.
///
/// Errors: `exe` is not valid UTF-8 (settings.json is JSON text).
pub fn hook_command(exe: &Path) -> Result<String> {
    let text = exe
        .to_str()
        .ok_or_else(|| anyhow!("the path `{}` is not valid UTF-8", exe.display()))?;
    Ok(crate::shell::quote(text))
}

/// Whether a hook command is orch's: the program it runs (its first shell word, quotes
/// removed) has the basename `orch-hook`.
pub fn is_orch_command(command: &str) -> bool {
    first_word(command).rsplit('/').next() == Some(HOOK_PROGRAM)
}

/// The orch hook commands registered on each of [`EVENTS`] in `settings` (a settings.json
/// value), in order. An event with no orch hook (or a `hooks` of the wrong shape) has an empty
/// list.
pub fn orch_hooks(settings: &Value) -> Vec<(&'static str, Vec<String>)> {
    EVENTS
        .iter()
        .map(|&event| {
            let commands = settings["hooks"][event]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|entry| entry["hooks"].as_array().into_iter().flatten())
                .filter_map(|hook| hook["command"].as_str())
                .filter(|command| is_orch_command(command))
                .map(str::to_string)
                .collect();
            (event, commands)
        })
        .collect()
}

/// Whether `settings` registers orch's hook on any of [`EVENTS`] ([`orch_hooks`]).
pub fn has_orch_hooks(settings: &Value) -> bool {
    orch_hooks(settings).iter().any(|(_, c)| !c.is_empty())
}

/// The first word of a `/bin/sh` command line with single quotes, double quotes and backslashes
/// taken out, as the shell would see it (no expansions).
fn first_word(command: &str) -> String {
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = command.trim_start().chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() || ";&|<>()".contains(c) => break,
            (None, '\'' | '"') => quote = Some(c),
            (None, '\\') => word.extend(chars.next()),
            (Some(q), c) if q == c => quote = None,
            (Some('"'), '\\') => match chars.next() {
                Some(n @ ('"' | '\\' | '$' | '`')) => word.push(n),
                Some(n) => word.extend(['\\', n]),
                None => word.push('\\'),
            },
            (_, c) => word.push(c),
        }
    }
    word
}

/// orch's hook on `event` as Claude Code runs it: `{"type":"command","command":C,"timeout":T}`
/// ([`hook_timeout`]).
fn hook_value(event: &str, command: &str) -> Value {
    json!({"type": "command", "command": command, "timeout": hook_timeout(event)})
}

/// Returns `settings` with orch's hook registered on every event in [`EVENTS`], and what changed.
///
/// Everything else is kept in its order: other keys, the user's own hooks (also on the same
/// events), matchers. A missing `hooks` object or event array is created (appended at the end).
/// Where orch's hook is already there (see [`is_orch_command`]) it is updated in place: its
/// `type`, `command` and `timeout` are set to orch's (other keys of it stay), and further copies
/// of it on the same event are removed. Calling this again on the result changes nothing.
///
/// Errors: `settings` is not an object, `hooks` is not an object, or `hooks.<Event>` is not an
/// array; the message names the key and says how to fix it.
pub fn add_orch_hooks(settings: &Value, command: &str) -> Result<(Value, Vec<HookChange>)> {
    let mut out = settings.clone();
    let mut changes = Vec::new();
    let root = root_object(&mut out)?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks_object(hooks)?;
    for event in EVENTS {
        let list = hooks.entry(event).or_insert_with(|| json!([]));
        let list = event_array(list, event)?;
        let found = orch_hooks_in(list);
        let Some((&(e, h), extra)) = found.split_first() else {
            list.push(json!({ "hooks": [hook_value(event, command)] }));
            changes.push(HookChange::Add {
                event: event.into(),
                command: command.into(),
            });
            continue;
        };
        for &(e, h) in extra.iter().rev() {
            let removed = remove_hook(list, e, h);
            changes.push(HookChange::Remove {
                event: event.into(),
                command: removed,
            });
        }
        let hook = list[e]["hooks"][h]
            .as_object_mut()
            .expect("orch_hooks_in only finds objects");
        let before = Value::Object(hook.clone());
        if let Value::Object(ours) = hook_value(event, command) {
            hook.extend(ours);
        }
        if Value::Object(hook.clone()) != before {
            changes.push(HookChange::Update {
                event: event.into(),
                from: before["command"].as_str().unwrap_or_default().into(),
                to: command.into(),
            });
        }
    }
    Ok((out, changes))
}

/// Returns `settings` with every orch hook (see [`is_orch_command`]) taken out, on any event,
/// and what changed.
///
/// Only orch's hooks go: in an entry that also holds the user's hooks, those stay with the
/// entry's matcher. An entry, an event array or the `hooks` object that this removal leaves
/// empty is removed too, so that after `add_orch_hooks` then `remove_orch_hooks` the value equals
/// the original unless the original already held an empty `hooks` object or event array (those
/// go as well; Claude Code reads them the same as absent ones). Event values that are not arrays
/// and entries of unknown shape are left alone: they hold nothing of orch's.
///
/// Errors: `settings` is not an object, or `hooks` is not an object.
pub fn remove_orch_hooks(settings: &Value) -> Result<(Value, Vec<HookChange>)> {
    let mut out = settings.clone();
    let mut changes = Vec::new();
    let root = root_object(&mut out)?;
    let Some(hooks) = root.get_mut("hooks") else {
        return Ok((out, changes));
    };
    let hooks = hooks_object(hooks)?;
    let mut emptied = Vec::new();
    for (event, list) in hooks.iter_mut() {
        let Some(list) = list.as_array_mut() else {
            continue;
        };
        let found = orch_hooks_in(list);
        let mut removed: Vec<HookChange> = found
            .iter()
            .rev()
            .map(|&(e, h)| HookChange::Remove {
                event: event.clone(),
                command: remove_hook(list, e, h),
            })
            .collect();
        removed.reverse();
        changes.extend(removed);
        if !found.is_empty() && list.is_empty() {
            emptied.push(event.clone());
        }
    }
    for event in emptied {
        hooks.shift_remove(&event);
    }
    if !changes.is_empty() && hooks.is_empty() {
        root.shift_remove("hooks");
    }
    Ok((out, changes))
}

/// The positions `(entry, hook)` of orch's hooks in an event's array, in document order.
fn orch_hooks_in(list: &[Value]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (e, entry) in list.iter().enumerate() {
        let Some(hooks) = entry.get("hooks").and_then(Value::as_array) else {
            continue;
        };
        for (h, hook) in hooks.iter().enumerate() {
            let command = hook.get("command").and_then(Value::as_str);
            if hook.is_object() && command.is_some_and(is_orch_command) {
                found.push((e, h));
            }
        }
    }
    found
}

/// Removes hook `h` of entry `e` (found by [`orch_hooks_in`]), and the entry if that emptied it;
/// returns the hook's command.
fn remove_hook(list: &mut Vec<Value>, e: usize, h: usize) -> String {
    let hooks = list[e]["hooks"]
        .as_array_mut()
        .expect("orch_hooks_in only finds hooks in arrays");
    let hook = hooks.remove(h);
    if hooks.is_empty() {
        list.remove(e);
    }
    hook["command"].as_str().unwrap_or_default().to_string()
}

fn root_object(value: &mut Value) -> Result<&mut Map<String, Value>> {
    let what = kind(value);
    value.as_object_mut().ok_or_else(|| {
        anyhow!("the file holds {what} at the top level, expected an object: make it an object such as `{{}}`")
    })
}

fn hooks_object(value: &mut Value) -> Result<&mut Map<String, Value>> {
    let what = kind(value);
    value.as_object_mut().ok_or_else(|| {
        anyhow!(
            "`hooks` is {what}, expected an object keyed by event name: make it an object such \
             as `{{\"Stop\": [...]}}` (or remove it) and run the command again"
        )
    })
}

fn event_array<'a>(value: &'a mut Value, event: &str) -> Result<&'a mut Vec<Value>> {
    let what = kind(value);
    value.as_array_mut().ok_or_else(|| {
        anyhow!(
            "`hooks.{event}` is {what}, expected an array of entries such as \
             `[{{\"hooks\": [{{\"type\": \"command\", \"command\": \"...\"}}]}}]`: fix it and run \
             the command again"
        )
    })
}

/// "an object", "an array", ...: a JSON value's type for error messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMD: &str = "/opt/orch/bin/orch-hook";

    fn user_settings() -> Value {
        serde_json::from_str(
            r#"{
              "zeta": 1,
              "hooks": {
                "Stop": [{"matcher": "", "hooks": [{"type": "command", "command": "notify-send done"}]}],
                "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "/usr/bin/guard"}]}]
              },
              "alpha": {"nested": [3, 2, 1]},
              "model": "opus"
            }"#,
        )
        .unwrap()
    }

    fn commands(settings: &Value, event: &str) -> Vec<String> {
        settings["hooks"][event]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|entry| entry["hooks"].as_array().unwrap())
            .map(|hook| hook["command"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn adds_every_event_to_an_empty_object() {
        let (out, changes) = add_orch_hooks(&json!({}), CMD).unwrap();
        assert_eq!(changes.len(), 7);
        let events: Vec<&String> = out["hooks"].as_object().unwrap().keys().collect();
        assert_eq!(events, EVENTS);
        assert_eq!(
            out["hooks"]["Stop"],
            json!([{"hooks": [{"type": "command", "command": CMD, "timeout": 10}]}])
        );
        assert_eq!(changes[2].to_string(), format!("add hook Stop: {CMD}"));
    }

    #[test]
    fn keeps_user_hooks_unknown_keys_and_key_order() {
        let before = user_settings();
        let (out, _) = add_orch_hooks(&before, CMD).unwrap();
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["zeta", "hooks", "alpha", "model"]);
        let events: Vec<&String> = out["hooks"].as_object().unwrap().keys().collect();
        assert_eq!(events[..2], ["Stop", "PreToolUse"]);
        assert_eq!(commands(&out, "Stop"), ["notify-send done", CMD]);
        assert_eq!(commands(&out, "PreToolUse"), ["/usr/bin/guard"]);
        assert_eq!(out["alpha"], before["alpha"]);
        assert_eq!(out["hooks"]["Stop"][0], before["hooks"]["Stop"][0]);
    }

    #[test]
    fn second_add_changes_nothing() {
        let (once, _) = add_orch_hooks(&user_settings(), CMD).unwrap();
        let (twice, changes) = add_orch_hooks(&once, CMD).unwrap();
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            serde_json::to_string(&twice).unwrap(),
            serde_json::to_string(&once).unwrap()
        );
    }

    #[test]
    fn older_install_is_updated_in_place_not_duplicated() {
        let (old, _) = add_orch_hooks(&user_settings(), "/old/place/orch-hook").unwrap();
        let (new, changes) = add_orch_hooks(&old, CMD).unwrap();
        assert_eq!(changes.len(), 7);
        assert_eq!(
            changes[2].to_string(),
            format!("update hook Stop: /old/place/orch-hook -> {CMD}")
        );
        assert_eq!(commands(&new, "Stop"), ["notify-send done", CMD]);
        assert_eq!(commands(&new, "SessionEnd"), [CMD]);
    }

    #[test]
    fn update_keeps_the_entry_and_extra_keys_and_drops_copies() {
        let before = json!({"hooks": {"Stop": [
            {"matcher": "*", "hooks": [
                {"type": "command", "command": "'/a b/orch-hook'", "statusMessage": "x"},
                {"type": "command", "command": "user-thing"}
            ]},
            {"hooks": [{"type": "command", "command": "orch-hook", "timeout": 10}]}
        ]}});
        let (out, changes) = add_orch_hooks(&before, CMD).unwrap();
        assert_eq!(
            out["hooks"]["Stop"],
            json!([{"matcher": "*", "hooks": [
                {"type": "command", "command": CMD, "statusMessage": "x", "timeout": 10},
                {"type": "command", "command": "user-thing"}
            ]}])
        );
        assert!(changes.contains(&HookChange::Remove {
            event: "Stop".into(),
            command: "orch-hook".into()
        }));
    }

    #[test]
    fn missing_timeout_is_restored() {
        let before = json!({"hooks": {"Stop": [{"hooks": [{"type": "command", "command": CMD}]}]}});
        let (_, changes) = add_orch_hooks(&before, CMD).unwrap();
        assert_eq!(
            changes[2].to_string(),
            format!("update hook Stop: {CMD} (type and timeout)")
        );
    }

    #[test]
    fn add_then_remove_gives_back_the_original() {
        for before in [
            json!({}),
            user_settings(),
            json!({"hooks": {"Stop": []}, "x": 1}),
        ] {
            let (added, _) = add_orch_hooks(&before, CMD).unwrap();
            let (removed, changes) = remove_orch_hooks(&added).unwrap();
            assert_eq!(changes.len(), 7);
            if before["hooks"]["Stop"] == json!([]) {
                // An event array that was already empty goes too (documented).
                assert_eq!(removed, json!({"x": 1}));
            } else {
                assert_eq!(
                    serde_json::to_string(&removed).unwrap(),
                    serde_json::to_string(&before).unwrap()
                );
            }
        }
    }

    #[test]
    fn remove_takes_only_orchs_hook_from_a_mixed_entry() {
        let before = json!({"hooks": {"Notification": [
            {"matcher": "", "hooks": [
                {"type": "command", "command": "say hi"},
                {"type": "command", "command": "\"/x y/orch-hook\" --flag"}
            ]}
        ], "Custom": [{"hooks": [{"type": "command", "command": "orch-hook"}]}]}});
        let (out, changes) = remove_orch_hooks(&before).unwrap();
        assert_eq!(
            out,
            json!({"hooks": {"Notification": [
                {"matcher": "", "hooks": [{"type": "command", "command": "say hi"}]}
            ]}})
        );
        assert_eq!(changes.len(), 2);
        assert_eq!(
            changes[0].to_string(),
            "remove hook Notification: \"/x y/orch-hook\" --flag"
        );
    }

    #[test]
    fn remove_without_orch_hooks_changes_nothing() {
        for before in [json!({}), json!({"hooks": {}}), user_settings()] {
            let (out, changes) = remove_orch_hooks(&before).unwrap();
            assert!(changes.is_empty());
            assert_eq!(out, before);
        }
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = add_orch_hooks(&json!({"hooks": []}), CMD).unwrap_err();
        assert!(err
            .to_string()
            .contains("`hooks` is an array, expected an object"));
        let err = add_orch_hooks(&json!({"hooks": {"Stop": {"a": 1}}}), CMD).unwrap_err();
        assert!(err
            .to_string()
            .contains("`hooks.Stop` is an object, expected an array"));
        let err = remove_orch_hooks(&json!({"hooks": "x"})).unwrap_err();
        assert!(err.to_string().contains("`hooks` is a string"));
        let err = add_orch_hooks(&json!([1]), CMD).unwrap_err();
        assert!(err.to_string().contains("an array at the top level"));
    }

    #[test]
    fn invalid_json_names_file_line_and_column() {
        let path = Path::new("/home/u/.claude/settings.json");
        let err = parse("{\n  \"a\": 1,\n  \"b\": ]\n}\n", path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`/home/u/.claude/settings.json`"), "{msg}");
        assert!(msg.contains("line 3, column 8"), "{msg}");
        assert!(msg.contains("fix the file"), "{msg}");
        let err = parse("[]", path).unwrap_err();
        assert!(err.to_string().contains("an array at the top level"));
    }

    #[test]
    fn empty_text_is_an_empty_object() {
        let path = Path::new("s.json");
        assert_eq!(parse("", path).unwrap(), json!({}));
        assert_eq!(parse(" \n", path).unwrap(), json!({}));
        assert_eq!(parse("\u{feff}{\"a\":1}", path).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn recognises_orchs_command_in_any_quoting() {
        for yes in [
            "orch-hook",
            "/usr/local/bin/orch-hook",
            "'/Users/Jo Doe/bin/orch-hook'",
            "\"/a b/orch-hook\" arg",
            "/a\\ b/orch-hook",
            "  orch-hook;true",
        ] {
            assert!(is_orch_command(yes), "{yes}");
        }
        for no in [
            "orch hook",
            "/bin/orch-hook-old",
            "echo orch-hook",
            "my-orch-hook",
            "",
        ] {
            assert!(!is_orch_command(no), "{no}");
        }
    }

    #[test]
    fn quotes_paths_that_need_it() {
        for path in ["/a b/orch-hook", "/it's/orch-hook", "/$x/orch-hook"] {
            assert_eq!(first_word(&crate::shell::quote(path)), path);
            assert!(is_orch_command(&crate::shell::quote(path)));
        }
    }

    #[test]
    fn plugin_hooks_json_registers_the_same_events() {
        let plugin: Value =
            serde_json::from_str(include_str!("../../../hooks/hooks.json")).unwrap();
        let command = "${CLAUDE_PLUGIN_ROOT}/hooks/orch-hook.sh";
        let (ours, _) = add_orch_hooks(&json!({}), command).unwrap();
        assert_eq!(plugin["hooks"], ours["hooks"]);
        // The plugin's launcher is not mistaken for a settings.json entry of orch's.
        assert!(!is_orch_command(command));
    }
}
