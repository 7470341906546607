//! Policy files: parsing (serde_yaml), compiling the patterns, layering the shipped, user and
//! project files, and matching an input against the rules: a [`Classification`] of its hits.

use super::input::{Input, Kind, Texts};
use anyhow::{bail, Context, Result};
use orch_store::Axis;
use regex_lite::Regex;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// The shipped default policy.
const SHIPPED: &str = include_str!("../../../../hooks/policy.yaml");
/// How the shipped policy is named in errors and warnings.
const SHIPPED_ORIGIN: &str = "shipped hooks/policy.yaml";
/// The longest `matched` text kept in a hit, in characters.
const MATCHED_MAX: usize = 120;

/// The result of classifying one input: the axes it trips and the rules that hit.
///
/// As JSON (`orch classify --json`):
/// `{"axes": ["reversibility"], "hits": [{"rule_id": "force-push", "axis": "reversibility",
/// "why": "...", "matched": "git push --force"}]}`; `axes` is empty when no rule hit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The axes of the hits, sorted (taste, architecture, ethics, reversibility), no repeats.
    pub axes: Vec<Axis>,
    /// One per rule that hit, in policy order.
    pub hits: Vec<Hit>,
}

impl Classification {
    /// True when no rule hit.
    pub fn is_empty(&self) -> bool {
        self.hits.is_empty()
    }
}

/// One rule that hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// The rule's `id`.
    pub rule_id: String,
    /// The rule's axis.
    pub axis: Axis,
    /// The rule's `why`.
    pub why: String,
    /// The text the pattern matched, trimmed, cut to 120 characters (`…` marks a cut).
    pub matched: String,
}

impl fmt::Display for Hit {
    /// `reversibility: force-push (rewrites published history) matched "git push --force"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({}) matched {:?}",
            self.axis, self.rule_id, self.why, self.matched
        )
    }
}

/// One policy file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    axis: Axis,
    pattern: String,
    why: String,
    #[serde(default)]
    applies_to: Option<Vec<Kind>>,
    #[serde(default)]
    unless: Option<String>,
    #[serde(default)]
    file: Option<String>,
}

/// A compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    id: String,
    axis: Axis,
    why: String,
    pattern: Regex,
    unless: Option<Regex>,
    file: Option<Regex>,
    /// The kinds of text it looks at; empty means every kind.
    kinds: Vec<Kind>,
}

impl Rule {
    fn compile(raw: RawRule) -> Result<Rule> {
        if raw.id.is_empty()
            || !raw
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!(
                "rule `{}`: an id is letters, digits, `-`, `_` and `.`",
                raw.id
            );
        }
        let id = raw.id;
        if raw.why.trim().is_empty() {
            bail!("rule `{id}`: `why` is empty");
        }
        let regex = |field: &str, text: &str| {
            Regex::new(text).with_context(|| format!("rule `{id}`: bad {field} `{text}`"))
        };
        let pattern = regex("pattern", &raw.pattern)?;
        let unless = raw
            .unless
            .as_deref()
            .map(|u| regex("unless", u))
            .transpose()?;
        let file = raw.file.as_deref().map(|f| regex("file", f)).transpose()?;
        let kinds = match raw.applies_to {
            None => Vec::new(),
            Some(kinds) if kinds.is_empty() => bail!("rule `{id}`: `applies_to` is empty"),
            Some(kinds) if kinds.contains(&Kind::Any) => Vec::new(),
            Some(kinds) => kinds,
        };
        Ok(Rule {
            id,
            axis: raw.axis,
            why: raw.why.trim().to_owned(),
            pattern,
            unless,
            file,
            kinds,
        })
    }

    /// The first text of `texts` this rule hits, as the matched substring.
    fn hit<'t>(&self, texts: &'t Texts) -> Option<&'t str> {
        if let Some(file_re) = &self.file {
            if !texts.file.as_deref().is_some_and(|f| file_re.is_match(f)) {
                return None;
            }
        }
        texts
            .parts
            .iter()
            .filter(|(kind, _)| self.kinds.is_empty() || self.kinds.contains(kind))
            .filter(|(_, text)| !self.unless.as_ref().is_some_and(|u| u.is_match(text)))
            .find_map(|(_, text)| self.pattern.find(text).map(|m| m.as_str()))
    }
}

/// A set of classification rules, compiled: the shipped default policy with the user's and
/// the project's files layered on top.
///
/// Each file may `disable` rules read before it (by id), and its rules are added in order; a
/// rule whose id an earlier file used replaces that rule in place.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: Vec<Rule>,
    warnings: Vec<String>,
}

impl Policy {
    /// The shipped default policy (`hooks/policy.yaml`, embedded in the binary).
    ///
    /// # Panics
    /// Never in a released build: a unit test compiles the shipped file.
    pub fn shipped() -> Policy {
        Policy::from_yaml(SHIPPED, SHIPPED_ORIGIN).expect("the shipped policy is valid")
    }

    /// A policy made of one file's rules, nothing shipped. `origin` names the file in errors.
    ///
    /// Errors: invalid YAML, an unknown field (`deny_unknown_fields`), an unknown axis or kind,
    /// a version other than 1, a repeated or malformed rule id, an empty `why` or
    /// `applies_to`, or a pattern regex-lite cannot compile (the error names the rule and the
    /// pattern).
    pub fn from_yaml(text: &str, origin: &str) -> Result<Policy> {
        let mut policy = Policy::default();
        policy.add_yaml(text, origin)?;
        Ok(policy)
    }

    /// Layers one more policy file on top: first its `disable` list, then its rules. On error
    /// (the same as [`Policy::from_yaml`]'s) the policy is unchanged. A disabled id that no
    /// earlier file defines is not an error (a shipped rule may be renamed in a later release)
    /// but leaves a warning, see [`Policy::warnings`].
    pub fn add_yaml(&mut self, text: &str, origin: &str) -> Result<()> {
        let file = parse(text).with_context(|| format!("invalid policy `{origin}`"))?;
        let mut seen = BTreeSet::new();
        let mut rules = Vec::with_capacity(file.rules.len());
        for raw in file.rules {
            if !seen.insert(raw.id.clone()) {
                bail!(
                    "invalid policy `{origin}`: rule id `{}` appears twice",
                    raw.id
                );
            }
            rules.push(Rule::compile(raw).with_context(|| format!("invalid policy `{origin}`"))?);
        }
        for id in &file.disable {
            let before = self.rules.len();
            self.rules.retain(|r| &r.id != id);
            if self.rules.len() == before {
                self.warnings.push(format!(
                    "policy `{origin}` disables `{id}`, which no earlier policy file defines"
                ));
            }
        }
        for rule in rules {
            match self.rules.iter_mut().find(|r| r.id == rule.id) {
                Some(slot) => *slot = rule,
                None => self.rules.push(rule),
            }
        }
        Ok(())
    }

    /// Reads a policy file and layers it on top (see [`Policy::add_yaml`]). A missing file is
    /// skipped unless `required`; any other read error is an error naming the path.
    pub fn add_file(&mut self, path: &Path, required: bool) -> Result<()> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        self.add_yaml(&text, &path.display().to_string())
    }

    /// The policy in force for work in `cwd`: the shipped one, then the user's file
    /// ([`user_file`], skipped when missing), then the file `$ORCH_POLICY` names (if set and
    /// non-empty; it must exist), then the project's [`project_file`] found from `cwd` upward.
    ///
    /// Errors: a file that cannot be read or is not a valid policy (see
    /// [`Policy::from_yaml`]), named by its path.
    pub fn load(cwd: &Path) -> Result<Policy> {
        let explicit = std::env::var_os("ORCH_POLICY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Policy::load_layers(user_file().as_deref(), explicit.as_deref(), cwd)
    }

    /// [`Policy::load`] with the user's and the explicit file given rather than taken from the
    /// environment.
    pub fn load_layers(user: Option<&Path>, explicit: Option<&Path>, cwd: &Path) -> Result<Policy> {
        let mut policy = Policy::shipped();
        if let Some(path) = user {
            policy.add_file(path, false)?;
        }
        if let Some(path) = explicit {
            policy.add_file(path, true)?;
        }
        if let Some(path) = project_file(cwd) {
            policy.add_file(&path, true)?;
        }
        Ok(policy)
    }

    /// Classifies one input: every rule whose pattern matches one of the input's texts of a
    /// kind it applies to (and whose `unless` does not match that text, and whose `file`
    /// condition, if any, matches the path the tool call writes).
    pub fn classify(&self, input: &Input) -> Classification {
        let texts = input.texts();
        let hits: Vec<Hit> = self
            .rules
            .iter()
            .filter_map(|rule| {
                rule.hit(&texts).map(|matched| Hit {
                    rule_id: rule.id.clone(),
                    axis: rule.axis,
                    why: rule.why.clone(),
                    matched: shorten(tidy(matched)),
                })
            })
            .collect();
        let axes: BTreeSet<Axis> = hits.iter().map(|h| h.axis).collect();
        Classification {
            axes: axes.into_iter().collect(),
            hits,
        }
    }

    #[cfg(test)]
    /// The ids of the rules in force, in order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.id.as_str())
    }

    /// What loading noticed without failing, e.g. a `disable` of an id no earlier file defines.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// Parses one file; an empty file (or one of comments only) is a policy with no rules.
fn parse(text: &str) -> Result<File> {
    let file: Option<File> = serde_yaml::from_str(text)?;
    let file = file.unwrap_or(File {
        version: None,
        disable: Vec::new(),
        rules: Vec::new(),
    });
    if let Some(version) = file.version.filter(|v| *v != 1) {
        bail!("version {version} is not supported: this orch reads version 1");
    }
    Ok(file)
}

/// The user's policy file: `dirs::config_dir()/orch/policy.yaml`, i.e.
/// `$XDG_CONFIG_HOME/orch/policy.yaml` or `~/.config/orch/policy.yaml` on Linux.
pub fn user_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("orch").join("policy.yaml"))
}

/// The project's policy file: the first `.orch/policy.yaml` found in `cwd` or a folder above
/// it (a relative `cwd` is taken from the current folder).
pub fn project_file(cwd: &Path) -> Option<PathBuf> {
    let cwd = if cwd.is_absolute() {
        cwd.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(cwd)
    };
    cwd.ancestors()
        .map(|dir| dir.join(".orch").join("policy.yaml"))
        .find(|path| path.is_file())
}

/// A match without the separators that patterns consume around a word (`& rm -rf`, `"DROP`).
fn tidy(matched: &str) -> &str {
    matched
        .trim_start_matches(|c: char| c.is_whitespace() || ";&|({`\"'".contains(c))
        .trim_end_matches(|c: char| c.is_whitespace() || ";`\"'".contains(c))
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(MATCHED_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
