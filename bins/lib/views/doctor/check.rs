//! One doctor check's result: its [`Verdict`] and what it found ([`Check`]), the shape every
//! check returns and `orch doctor --json` prints.

use serde_json::{json, Value};
use std::fmt;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// All good.
    Ok,
    /// Worth a look, but orch works.
    Warn,
    /// orch does not work until this is fixed (only required checks fail).
    Fail,
    /// The check could not run; the detail says why.
    Skipped,
}

impl Verdict {
    /// The lowercase name used in JSON: `ok`, `warn`, `fail`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Fail => "FAIL",
            other => other.as_str(),
        })
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The check's name (`tmux`, `hooks`, ...).
    pub name: std::borrow::Cow<'static, str>,
    /// The host it ran on (`orch doctor --host`), `None` for this machine.
    pub host: Option<String>,
    /// How it came out.
    pub status: Verdict,
    /// What was found.
    pub detail: String,
    /// What to do about it, when it is not ok.
    pub fix: Option<String>,
    /// More for `--json`: fields added to the check's object (a harness's `version` and
    /// `verified` range).
    pub facts: Option<Value>,
}

impl Check {
    pub(super) fn new(name: &'static str, status: Verdict, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            host: None,
            status,
            detail: detail.into(),
            fix: None,
            facts: None,
        }
    }

    pub(super) fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check::new(name, Verdict::Ok, detail)
    }

    pub(super) fn fail(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Verdict::Fail, detail).with_fix(fix)
    }

    pub(super) fn warn(
        name: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, Verdict::Warn, detail).with_fix(fix)
    }

    pub(super) fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    pub(super) fn with_facts(mut self, facts: Value) -> Check {
        self.facts = Some(facts);
        self
    }

    /// The check as `{"name","status","detail","fix"}` (`fix` is null when there is none),
    /// plus its [`Check::facts`].
    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "name": self.name,
            "status": self.status.as_str(),
            "detail": self.detail,
            "fix": self.fix,
        });
        if let (Some(Value::Object(facts)), Value::Object(map)) = (&self.facts, &mut value) {
            map.extend(facts.clone());
        }
        if let (Some(host), Value::Object(map)) = (&self.host, &mut value) {
            map.insert("host".into(), json!(host));
        }
        value
    }
}
