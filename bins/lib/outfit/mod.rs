//! Outfits: versioned YAML bundles that dress a worker (harness, model, role, system prompt,
//! tool allow/deny lists, permission mode, skills, extra hooks, env, first prompt), looked up in
//! `./.orch/outfits/`, then the user's `dirs::config_dir()/orch/outfits/`, then the outfits
//! shipped in `outfits/` (embedded in the binary). An outfit may `extends` another and override
//! its fields. serde_yaml stays behind this module.
//!
//! Fields are written as Claude Code spells them; each harness ([`crate::harness`]) turns them
//! into what its CLI supports ([`Dress`]), warns about what it cannot apply and refuses a
//! `tools.deny` or `permission_mode` it cannot enforce.

pub mod bundle;

use anyhow::{bail, Context, Result};
use orch_store::Budget;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_with::skip_serializing_none;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tool lists, in Claude Code's permission-rule syntax (`Bash(git *)`, `Read`, `Edit`...).
/// On Claude Code `allow` pre-approves (no permission prompt) and `deny` forbids. The other
/// harnesses map Claude Code's tool names to their own (see [`ToolRule`] and each harness's
/// `dress`); a name that is not Claude Code's is taken as the harness spells it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    /// Tools, or `Bash(...)` commands, that run without asking.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Tools, or `Bash(...)` commands, that never run.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// An outfit's `commit:` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Commit {
    /// Each turn ends with the work committed.
    Required,
}

/// One outfit file as written (every field optional but `name`, so that `extends` can fill
/// the rest; an optional field left unset is left out of [`Outfit::to_yaml`]).
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outfit {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// `claude`, `codex`, `gemini`, `pi`, `command` or `sim`.
    pub harness: Option<String>,
    pub model: Option<String>,
    /// `worker` or `observer`.
    pub role: Option<orch_store::Role>,
    /// Text added to the harness's own system prompt: Claude Code's `--append-system-prompt`,
    /// Codex's `developer_instructions`, a Gemini CLI context file, pi's
    /// `--append-system-prompt`.
    pub system_prompt: Option<String>,
    /// A file holding the system prompt, relative to the outfit's file.
    pub system_prompt_file: Option<PathBuf>,
    pub tools: Option<Tools>,
    /// Claude Code's `--permission-mode` (acceptEdits, auto, default, dontAsk, plan,
    /// bypassPermissions), mapped to Codex's sandbox and approval policy, Gemini CLI's
    /// `--approval-mode` and pi's tool set; each harness also takes its own values (Codex:
    /// `read-only`, `workspace-write`, `danger-full-access`, `on-request`, `never`; Gemini CLI:
    /// `auto_edit`, `yolo`). A mode a harness cannot honour is an error.
    pub permission_mode: Option<String>,
    /// Skills by name (orch's shipped skills) or folder (relative to the outfit's file), each a
    /// folder holding a SKILL.md. Claude Code gets them in a generated plugin, Codex in its
    /// per-worker `CODEX_HOME/skills`, Gemini CLI in its per-worker `~/.agents/skills`, pi with
    /// `--skill`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    /// Extra hook entries for this worker only, in Claude Code's settings format
    /// (`{"Stop": [{"hooks": [{"type": "command", "command": "..."}]}]}`). Codex takes the same
    /// format in its per-worker `hooks.json`; Gemini CLI gets them mapped onto its own events
    /// ([`crate::harness::gemini::outfit_hooks`]); pi runs them through orch's extension
    /// ([`crate::harness::pi::outfit_hooks`]).
    pub hooks: Option<Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    pub worktree: Option<bool>,
    /// `required`: a worker in a worktree must end each turn with its work committed; one
    /// whose turn ends with uncommitted changes is prompted once to commit them, naming the
    /// files.
    pub commit: Option<Commit>,
    /// The command `orch land` runs (with `sh -c`, in the branch brought onto the target) to
    /// test a worker's branch before it lands (a `--test` flag takes its place; the
    /// repository's `git config orch.test` is used when neither gives one).
    pub test: Option<String>,
    /// The first prompt, with `{{task}}` and `{{var}}` filled from `--task` and `--var k=v`.
    pub prompt_template: Option<String>,
    /// The program of the `command` harness and its arguments, e.g. `[python3, -q]` (a
    /// command line after `orch spawn --` takes its place).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// For the `command` harness: seconds the screen must stay unchanged for a turn to end
    /// (default 1.5).
    pub quiet: Option<f64>,
    /// For the `command` harness: a regex the last non-empty screen line must match for a turn
    /// to end (the program's prompt, e.g. `^>>> $`).
    pub prompt_regex: Option<String>,
    /// What a worker in it may spend: `{usd: 2.5, tokens: 500000, interrupt: true}` (a
    /// `--budget-*` flag of spawn takes its place).
    pub budget: Option<Budget>,
    /// The account its workers spend on: a name under `accounts:` in orch's configuration, or
    /// `auto` (a `--account` flag of spawn takes its place).
    pub account: Option<String>,
    /// The outfit this one extends (its fields apply first).
    pub extends: Option<String>,
    /// Where it was loaded from (`shipped:NAME` or a file path); not written in YAML.
    #[serde(skip)]
    pub origin: String,
}

/// Where outfits are looked up, first hit wins.
pub fn search_dirs(cwd: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![cwd.join(".orch").join("outfits")];
    if let Some(config) = dirs::config_dir() {
        dirs.push(config.join("orch").join("outfits"));
    }
    dirs
}

/// Checks an outfit name: 1-64 of letters, digits, `-`, `_`, `.`, not `.` or `..`.
pub fn check_name(name: &str) -> Result<()> {
    let good = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !good {
        bail!("invalid outfit name `{name}`: use 1-64 letters, digits, `-`, `_` or `.`");
    }
    Ok(())
}

/// Parses one outfit from YAML; `origin` names it in errors (serde_yaml's errors carry the
/// line and column).
pub fn parse(text: &str, origin: &str) -> Result<Outfit> {
    let mut outfit: Outfit = serde_yaml::from_str(text).map_err(|e| match e.location() {
        Some(at) => anyhow::anyhow!(
            "{origin}:{}:{}: {}",
            at.line(),
            at.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
        ),
        None => anyhow::anyhow!("{origin}: {e}"),
    })?;
    check_name(&outfit.name).with_context(|| origin.to_string())?;
    outfit.origin = origin.to_string();
    let base = origin_dir(origin);
    // Paths and variables are expanded once, at load.
    if let Some(file) = &outfit.system_prompt_file {
        outfit.system_prompt_file = Some(expand_path(file, base.as_deref())?);
    }
    for value in outfit.env.values_mut() {
        *value = shellexpand::full(value)
            .with_context(|| format!("{origin}: env value `{value}`"))?
            .into_owned();
    }
    if let Some(role) = &outfit.role {
        if !matches!(role, orch_store::Role::Worker | orch_store::Role::Observer) {
            bail!("{origin}: role `{role}`: expected `worker` or `observer`");
        }
    }
    for (i, word) in outfit.command.iter_mut().enumerate() {
        let expanded = shellexpand::full(word)
            .with_context(|| format!("{origin}: command word `{word}`"))?
            .into_owned();
        // A program named by a relative path is found next to the outfit's file.
        *word = if i == 0 && expanded.contains('/') {
            expand_path(Path::new(&expanded), base.as_deref())?
                .display()
                .to_string()
        } else {
            expanded
        };
    }
    Ok(outfit)
}

fn origin_dir(origin: &str) -> Option<PathBuf> {
    if origin.starts_with("shipped:") {
        return None;
    }
    Path::new(origin).parent().map(Path::to_path_buf)
}

fn expand_path(path: &Path, base: Option<&Path>) -> Result<PathBuf> {
    let text = shellexpand::full(&path.to_string_lossy())
        .with_context(|| format!("cannot expand `{}`", path.display()))?
        .into_owned();
    let expanded = PathBuf::from(text);
    Ok(match base {
        Some(base) if expanded.is_relative() => base.join(expanded),
        _ => expanded,
    })
}

/// Loads the outfit file `NAME.yaml` (or `.yml`) from the search folders, else the shipped one.
fn load_one(name: &str, cwd: &Path) -> Result<Outfit> {
    check_name(name)?;
    for dir in search_dirs(cwd) {
        for ext in ["yaml", "yml"] {
            let path = dir.join(format!("{name}.{ext}"));
            if path.is_file() {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                return parse(&text, &path.display().to_string());
            }
        }
    }
    match crate::outfit::bundle::OUTFITS.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => parse(text, &format!("shipped:{n}")),
        None => bail!(
            "unknown outfit `{name}`: `orch outfit list` shows them; add `.orch/outfits/{name}.yaml` \
             to make one"
        ),
    }
}

/// Loads an outfit by name and resolves `extends` (the chain applies base first; a cycle is an
/// error naming it).
pub fn load(name: &str, cwd: &Path) -> Result<Outfit> {
    let mut chain = vec![load_one(name, cwd)?];
    while let Some(parent) = chain.last().and_then(|o| o.extends.clone()) {
        if chain.iter().any(|o| o.name == parent) || parent == name {
            let names: Vec<&str> = chain.iter().map(|o| o.name.as_str()).collect();
            bail!(
                "outfit `{name}`: `extends` makes a cycle: {} -> {parent}",
                names.join(" -> ")
            );
        }
        chain.push(
            load_one(&parent, cwd)
                .with_context(|| format!("outfit `{name}` extends `{parent}`"))?,
        );
    }
    let mut resolved = chain.pop().unwrap_or_default();
    while let Some(child) = chain.pop() {
        resolved = merge(resolved, child);
    }
    resolved.extends = None;
    Ok(resolved)
}

/// `child` over `base`: every field the child sets wins; env maps merge.
fn merge(base: Outfit, child: Outfit) -> Outfit {
    let mut env = base.env;
    env.extend(child.env);
    // A child's prompt, inline or from a file, replaces the base's whichever form either uses.
    let (system_prompt, system_prompt_file) =
        if child.system_prompt.is_some() || child.system_prompt_file.is_some() {
            (child.system_prompt, child.system_prompt_file)
        } else {
            (base.system_prompt, base.system_prompt_file)
        };
    Outfit {
        name: child.name,
        version: child.version.or(base.version),
        description: child.description.or(base.description),
        harness: child.harness.or(base.harness),
        model: child.model.or(base.model),
        role: child.role.or(base.role),
        system_prompt,
        system_prompt_file,
        tools: child.tools.or(base.tools),
        permission_mode: child.permission_mode.or(base.permission_mode),
        skills: if child.skills.is_empty() {
            base.skills
        } else {
            child.skills
        },
        hooks: child.hooks.or(base.hooks),
        env,
        worktree: child.worktree.or(base.worktree),
        commit: child.commit.or(base.commit),
        test: child.test.or(base.test),
        prompt_template: child.prompt_template.or(base.prompt_template),
        command: if child.command.is_empty() {
            base.command
        } else {
            child.command
        },
        quiet: child.quiet.or(base.quiet),
        prompt_regex: child.prompt_regex.or(base.prompt_regex),
        budget: child.budget.or(base.budget),
        account: child.account.or(base.account),
        extends: child.extends,
        origin: child.origin,
    }
}

/// Appends the hook entries of `extra` (`{"Stop": [entry, ...], ...}`, Claude Code's settings
/// format, which Codex and Gemini CLI share) to `hooks`, event by event, after the entries
/// already there.
pub fn append_hooks(hooks: &mut serde_json::Map<String, Value>, extra: &Value) {
    for (event, entries) in extra.as_object().into_iter().flatten() {
        let list = hooks
            .entry(event.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let (Some(list), Some(entries)) = (list.as_array_mut(), entries.as_array()) {
            list.extend(entries.iter().cloned());
        }
    }
}

/// Every outfit name visible from `cwd`, with where it comes from (first hit wins).
pub fn list(cwd: &Path) -> Vec<(String, String)> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for dir in search_dirs(cwd) {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let p = e.path();
                let ext = p.extension().and_then(|x| x.to_str());
                if matches!(ext, Some("yaml") | Some("yml")) {
                    if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                        seen.entry(stem.to_string())
                            .or_insert_with(|| p.display().to_string());
                    }
                }
            }
        }
    }
    for (name, _) in crate::outfit::bundle::OUTFITS {
        seen.entry(name.to_string())
            .or_insert_with(|| format!("shipped:{name}"));
    }
    seen.into_iter().collect()
}

impl Outfit {
    /// The system prompt text (inline, or read from `system_prompt_file`).
    pub fn system_prompt_text(&self) -> Result<Option<String>> {
        if let Some(text) = &self.system_prompt {
            return Ok(Some(text.clone()));
        }
        match &self.system_prompt_file {
            Some(path) => Ok(Some(std::fs::read_to_string(path).with_context(|| {
                format!(
                    "outfit `{}`: cannot read system_prompt_file `{}`",
                    self.name,
                    path.display()
                )
            })?)),
            None => Ok(None),
        }
    }

    /// The first prompt from `prompt_template`, `{{task}}` and `{{k}}` filled; an unfilled
    /// variable is an error naming it.
    pub fn first_prompt(
        &self,
        task: Option<&str>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Option<String>> {
        let Some(template) = &self.prompt_template else {
            return Ok(task.map(str::to_string));
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                bail!(
                    "outfit `{}`: `{{{{` without `}}}}` in prompt_template",
                    self.name
                );
            };
            let key = after[..end].trim();
            let value = match (key, task) {
                ("task", Some(t)) => t.to_string(),
                _ => vars.get(key).cloned().with_context(|| {
                    format!(
                        "outfit `{}` needs `{key}`: pass {}",
                        self.name,
                        if key == "task" {
                            "--task TEXT".to_string()
                        } else {
                            format!("--var {key}=...")
                        }
                    )
                })?,
            };
            out.push_str(&value);
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        Ok(Some(out))
    }

    /// The folders of its skills: orch's shipped skills by name (materialised under
    /// `data_dir/skills` by `orch up`, else written there now), or folders relative to the
    /// outfit's file.
    pub fn skill_dirs(&self) -> Result<Vec<PathBuf>> {
        let base = origin_dir(&self.origin);
        let mut dirs = Vec::new();
        for skill in &self.skills {
            if let Some((name, body)) = crate::outfit::bundle::SKILLS
                .iter()
                .find(|(n, _)| *n == skill)
            {
                let dir = orch_store::paths::data_dir()?.join("skills").join(name);
                let file = dir.join("SKILL.md");
                if std::fs::read_to_string(&file).ok().as_deref() != Some(*body) {
                    orch_store::files::write_atomic(&file, body.as_bytes(), 0o644)?;
                }
                dirs.push(dir);
                continue;
            }
            let dir = expand_path(Path::new(skill), base.as_deref())?;
            if !dir.join("SKILL.md").is_file() {
                bail!(
                    "outfit `{}`: skill `{skill}` is neither one of orch's skills nor a folder with a \
                     SKILL.md (looked at `{}`)",
                    self.name,
                    dir.display()
                );
            }
            dirs.push(dir);
        }
        Ok(dirs)
    }

    /// The outfit as YAML (after `extends`).
    pub fn to_yaml(&self) -> Result<String> {
        Ok(serde_yaml::to_string(self)?)
    }
}

/// What dressing a worker in an outfit adds to its launch, as a harness module's `dress`
/// returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dress {
    /// Arguments for the harness, after orch's own.
    pub args: Vec<String>,
    /// Variables for the worker (the outfit's `env` and `--env` come after them and win).
    pub env: Vec<(String, String)>,
    /// One line per field the harness cannot apply, for `orch: warning: ...` on stderr.
    pub warnings: Vec<String>,
}

impl Dress {
    /// Adds `--flag value`.
    pub fn arg(&mut self, flag: &str, value: impl Into<String>) {
        self.args.push(flag.to_string());
        self.args.push(value.into());
    }

    /// Warns that `what` (e.g. ``tools.allow `Read` ``) of `outfit` is not applied on `harness`,
    /// and why.
    pub fn warn(&mut self, outfit: &Outfit, what: &str, harness: &str, why: &str) {
        self.warnings.push(format!(
            "outfit `{}`: {what} not applied on {harness}: {why}",
            outfit.name
        ));
    }
}

/// One entry of `tools.allow` or `tools.deny`, read in Claude Code's permission-rule syntax
/// (<https://code.claude.com/docs/en/permissions>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolRule {
    /// A whole tool: `Read`, `Bash`, `Bash(*)`, or a harness's own name (`write_file`).
    Tool(String),
    /// `Bash(PATTERN)`: the shell commands the pattern matches.
    Command(CommandRule),
    /// Another tool with a specifier (`Read(./secrets/**)`, `WebFetch(domain:example.com)`).
    Scoped {
        /// The tool.
        tool: String,
        /// What is inside the parentheses.
        spec: String,
    },
}

/// The pattern of a `Bash(...)` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandRule {
    /// `Bash(git status)`: that command and nothing else.
    Exact(String),
    /// `Bash(git push *)` or `Bash(git push:*)`: these words, alone or followed by arguments.
    Words(String),
    /// `Bash(git push --force*)`: every command that starts with this text.
    Prefix(String),
    /// Any other pattern with `*` (`Bash(git * main)`), `*` matching any text.
    Glob(String),
}

impl ToolRule {
    /// Reads one entry.
    pub fn parse(entry: &str) -> ToolRule {
        let entry = entry.trim();
        let Some((tool, rest)) = entry.split_once('(') else {
            return ToolRule::Tool(entry.to_string());
        };
        let Some(spec) = rest.strip_suffix(')') else {
            return ToolRule::Tool(entry.to_string());
        };
        let (tool, spec) = (tool.trim(), spec.trim());
        if tool != "Bash" {
            return ToolRule::Scoped {
                tool: tool.into(),
                spec: spec.into(),
            };
        }
        if spec.is_empty() || spec == "*" {
            return ToolRule::Tool("Bash".into());
        }
        let words = spec
            .strip_suffix(":*")
            .or_else(|| spec.strip_suffix(" *"))
            .map(str::trim_end);
        let rule = match (words, spec.strip_suffix('*')) {
            (Some(words), _) if !words.contains('*') => CommandRule::Words(words.into()),
            (_, Some(prefix)) if !prefix.contains('*') => CommandRule::Prefix(prefix.into()),
            _ if spec.contains('*') => CommandRule::Glob(spec.into()),
            _ => CommandRule::Exact(spec.into()),
        };
        ToolRule::Command(rule)
    }
}

/// Names as a list for a message: `` `a`, `b` ``.
pub fn backticked(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `name` looks like one of Claude Code's tool names (`Read`, `WebFetch`), which other
/// harnesses must map, rather than a harness's own (`read_file`, `bash`).
pub fn is_claude_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase())
}

/// Links each of the outfit's skill folders ([`Outfit::skill_dirs`]) into `into` under its
/// own name, creating `into` (0700); a link already there is kept.
pub fn link_skills(outfit: &Outfit, into: &Path) -> Result<()> {
    let skills = outfit.skill_dirs()?;
    if skills.is_empty() {
        return Ok(());
    }
    orch_store::files::create_private_dir(into)?;
    for skill in skills {
        let link = into.join(skill.file_name().unwrap_or_default());
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(&skill, &link)
                .with_context(|| format!("cannot link skill `{}`", skill.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_outfit_parses() {
        for (name, text) in crate::outfit::bundle::OUTFITS {
            let o = parse(text, &format!("shipped:{name}")).unwrap();
            assert_eq!(o.name, name);
            assert!(o.description.is_some(), "{name} has a description");
        }
    }

    #[test]
    fn broken_outfits_say_where_and_what() {
        let cases = [
            ("name: x\nmodle: opus\n", "unknown field `modle`"),
            ("name: x\ntools: [Read]\n", "tools"),
            ("name: x\nrole: boss\n", "role `boss`"),
            ("name: 'a b'\n", "invalid outfit name"),
            ("name: x\ncommand: python3\n", "command"),
        ];
        for (yaml, want) in cases {
            let err = format!("{:#}", parse(yaml, "f.yaml").unwrap_err());
            assert!(err.contains(want), "{yaml:?} gave {err}");
        }
        let err = format!(
            "{:#}",
            parse("name: x\nmodle: opus\n", "f.yaml").unwrap_err()
        );
        assert!(err.starts_with("f.yaml:2:1"), "{err}");
    }

    #[test]
    fn command_fields_expand_and_resolve_next_to_the_file() {
        let o = parse(
            "name: x\nharness: command\ncommand: [./run.sh, '~/in']\nquiet: 0.5\n",
            "/o/x.yaml",
        )
        .unwrap();
        let home = dirs::home_dir().unwrap().display().to_string();
        assert_eq!(o.command, ["/o/./run.sh".to_string(), format!("{home}/in")]);
        assert_eq!(o.quiet, Some(0.5));
        let child = parse("name: y\nextends: x\nprompt_regex: '^> $'\n", "/o/y.yaml").unwrap();
        let merged = merge(o, child);
        assert_eq!((merged.command.len(), merged.quiet), (2, Some(0.5)));
        assert_eq!(merged.prompt_regex.as_deref(), Some("^> $"));
    }

    #[test]
    fn extends_merges_and_cycles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outfits = dir.path().join(".orch/outfits");
        std::fs::create_dir_all(&outfits).unwrap();
        std::fs::write(
            outfits.join("base.yaml"),
            "name: base\nmodel: opus\nenv: {A: '1', B: '2'}\ntools: {allow: [Read]}\n",
        )
        .unwrap();
        std::fs::write(
            outfits.join("child.yaml"),
            "name: child\nextends: base\nmodel: sonnet\nenv: {B: '3'}\n",
        )
        .unwrap();
        let o = load("child", dir.path()).unwrap();
        assert_eq!(o.model.as_deref(), Some("sonnet"));
        assert_eq!(o.env.get("A").map(String::as_str), Some("1"));
        assert_eq!(o.env.get("B").map(String::as_str), Some("3"));
        assert_eq!(o.tools.unwrap().allow, ["Read"]);
        std::fs::write(outfits.join("a.yaml"), "name: a\nextends: b\n").unwrap();
        std::fs::write(outfits.join("b.yaml"), "name: b\nextends: a\n").unwrap();
        let err = format!("{:#}", load("a", dir.path()).unwrap_err());
        assert!(err.contains("cycle"), "{err}");
        let err = format!("{:#}", load("nope", dir.path()).unwrap_err());
        assert!(err.contains("unknown outfit `nope`"), "{err}");
    }

    #[test]
    fn prompt_template_fills_task_and_vars() {
        let o = Outfit {
            name: "t".into(),
            prompt_template: Some("Do {{ task }} in {{repo}}.".into()),
            ..Outfit::default()
        };
        let vars = BTreeMap::from([("repo".to_string(), "app".to_string())]);
        assert_eq!(
            o.first_prompt(Some("auth"), &vars).unwrap().unwrap(),
            "Do auth in app."
        );
        let err = format!("{:#}", o.first_prompt(None, &vars).unwrap_err());
        assert!(err.contains("--task"), "{err}");
    }

    #[test]
    fn tool_rules_read_claude_codes_syntax() {
        use CommandRule::*;
        let cases = [
            ("Read", ToolRule::Tool("Read".into())),
            ("Bash(*)", ToolRule::Tool("Bash".into())),
            ("Bash(git *)", ToolRule::Command(Words("git".into()))),
            (
                "Bash(npm run test:*)",
                ToolRule::Command(Words("npm run test".into())),
            ),
            (
                "Bash(git push --force*)",
                ToolRule::Command(Prefix("git push --force".into())),
            ),
            (
                "Bash(git * main)",
                ToolRule::Command(Glob("git * main".into())),
            ),
            (
                "Bash(git status)",
                ToolRule::Command(Exact("git status".into())),
            ),
            (
                "Read(./secrets/**)",
                ToolRule::Scoped {
                    tool: "Read".into(),
                    spec: "./secrets/**".into(),
                },
            ),
            ("write_file", ToolRule::Tool("write_file".into())),
        ];
        for (entry, want) in cases {
            assert_eq!(ToolRule::parse(entry), want, "{entry}");
        }
        assert!(is_claude_name("WebFetch") && !is_claude_name("web_fetch"));
    }
}
