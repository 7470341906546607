//! The `[[name: value]]` directives with which a prompt scripts its answer: one language, and
//! one parser, for the sim and for the mock model servers of orch's tests. Of each kind the
//! first well-formed directive counts; later ones of that kind are ignored.

use serde_json::{json, Value};
use std::mem::discriminant;
use std::time::Duration;

/// One `[[name: value]]` instruction in a prompt. Names are matched regardless of case and
/// values are trimmed. Each reader acts on the kinds it knows and passes over the others (the
/// sim has no `tool` nor `usage`, the mock model servers no `notify` nor `permission`).
#[derive(Debug, Clone, PartialEq)]
pub enum Directive {
    /// `[[say: TEXT]]`: reply TEXT.
    Say(String),
    /// `[[sleep: SECS]]`: wait SECS seconds (a float, not negative) before replying.
    Sleep(Duration),
    /// `[[bash: CMD]]`: run CMD with the agent's shell tool.
    Bash(String),
    /// `[[error: CODE]]`: fail the turn with CODE, an HTTP status (or, in the sim, an error
    /// kind such as `overloaded`). Any value is well-formed: a reader that needs a status
    /// checks it.
    Error(String),
    /// `[[notify: TYPE MESSAGE]]`: fire a Notification of TYPE first; MESSAGE defaults to
    /// Claude Code's message for TYPE ([`default_message`]).
    Notify { kind: String, message: String },
    /// `[[permission: TOOL JSON]]`: ask permission to run TOOL with input JSON (`{}` when
    /// missing; a value that is not JSON becomes `{"command": VALUE}`). TOOL must be there.
    Permission { tool: String, input: Value },
    /// `[[tool: NAME JSON]]`: call the tool NAME with input JSON (`{}` when missing; a value
    /// that is not JSON makes the directive malformed).
    Tool { name: String, input: Value },
    /// `[[usage: IN OUT CACHE_READ CACHE_WRITE [CACHE_WRITE_1H]]]`: the token usage to
    /// report, as `[IN, OUT, CACHE_READ, CACHE_WRITE, CACHE_WRITE_1H]`: the input not read
    /// from a cache, the output, the cache reads, the cache writes, and of those the part
    /// written for 1 hour (0 when left out; more than CACHE_WRITE makes it malformed). Four or
    /// five whole numbers.
    Usage([u64; 5]),
}

/// The directives of a prompt, in the order they stand in its text, with at most one of each
/// kind: the first well-formed one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Directives(Vec<Directive>);

impl Directives {
    /// Finds the directives in `text`. A directive runs from `[[` to the first `]]` after it:
    /// its name up to the first `:`, its value after. What is not a well-formed directive (no
    /// `:`, an unknown name, a value that does not parse) is skipped, and the search goes on
    /// just after its `[[`; an `[[` without a `]]` after it ends the search. A well-formed
    /// directive of a kind already found is skipped whole.
    pub fn parse(text: &str) -> Directives {
        let mut found: Vec<Directive> = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("[[") {
            let after = &rest[start + 2..];
            let Some(end) = after.find("]]") else { break };
            let parsed = after[..end]
                .split_once(':')
                .and_then(|(name, value)| directive(name.trim(), value.trim()));
            let Some(parsed) = parsed else {
                rest = after;
                continue;
            };
            if !found
                .iter()
                .any(|d| discriminant(d) == discriminant(&parsed))
            {
                found.push(parsed);
            }
            rest = &after[end + 2..];
        }
        Directives(found)
    }

    /// The directives, in the order they stand in the text.
    pub fn iter(&self) -> std::slice::Iter<'_, Directive> {
        self.0.iter()
    }

    /// TEXT of `[[say: TEXT]]`.
    pub fn say(&self) -> Option<&str> {
        self.find(|d| match d {
            Directive::Say(text) => Some(text.as_str()),
            _ => None,
        })
    }

    /// CMD of `[[bash: CMD]]`.
    pub fn bash(&self) -> Option<&str> {
        self.find(|d| match d {
            Directive::Bash(command) => Some(command.as_str()),
            _ => None,
        })
    }

    /// How long `[[sleep: SECS]]` waits.
    pub fn sleep(&self) -> Option<Duration> {
        self.find(|d| match d {
            Directive::Sleep(duration) => Some(*duration),
            _ => None,
        })
    }

    /// CODE of `[[error: CODE]]`, as written.
    pub fn error(&self) -> Option<&str> {
        self.find(|d| match d {
            Directive::Error(code) => Some(code.as_str()),
            _ => None,
        })
    }

    /// NAME and input of `[[tool: NAME JSON]]`.
    pub fn tool(&self) -> Option<(&str, &Value)> {
        self.find(|d| match d {
            Directive::Tool { name, input } => Some((name.as_str(), input)),
            _ => None,
        })
    }

    /// `[IN, OUT, CACHE_READ, CACHE_WRITE]` of `[[usage: ...]]`.
    pub fn usage(&self) -> Option<[u64; 4]> {
        self.find(|d| match d {
            Directive::Usage([i, o, r, w, _]) => Some([*i, *o, *r, *w]),
            _ => None,
        })
    }

    /// The 1-hour part of `[[usage: ...]]`'s CACHE_WRITE (0 when it names none).
    pub fn cache_write_1h(&self) -> u64 {
        self.find(|d| match d {
            Directive::Usage(usage) => Some(usage[4]),
            _ => None,
        })
        .unwrap_or(0)
    }

    fn find<'a, T>(&'a self, pick: impl Fn(&'a Directive) -> Option<T>) -> Option<T> {
        self.0.iter().find_map(pick)
    }
}

impl IntoIterator for Directives {
    type Item = Directive;
    type IntoIter = std::vec::IntoIter<Directive>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The directive `name` with `value` (both trimmed), or `None` for an unknown name or a
/// malformed value.
fn directive(name: &str, value: &str) -> Option<Directive> {
    Some(match name.to_ascii_lowercase().as_str() {
        "say" => Directive::Say(value.to_string()),
        "sleep" => {
            let secs: f64 = value.parse().ok()?;
            Directive::Sleep(Duration::try_from_secs_f64(secs).ok()?)
        }
        "bash" => Directive::Bash(value.to_string()),
        "error" => Directive::Error(value.to_string()),
        "notify" => {
            let (kind, message) = split_word(value);
            let message = if message.is_empty() {
                default_message(kind).to_string()
            } else {
                message.to_string()
            };
            Directive::Notify {
                kind: kind.to_string(),
                message,
            }
        }
        "permission" => {
            let (tool, input) = split_word(value);
            if tool.is_empty() {
                return None;
            }
            let input = if input.is_empty() {
                json!({})
            } else {
                serde_json::from_str(input).unwrap_or_else(|_| json!({ "command": input }))
            };
            Directive::Permission {
                tool: tool.to_string(),
                input,
            }
        }
        "tool" => {
            let (name, input) = split_word(value);
            let input = if input.is_empty() {
                json!({})
            } else {
                serde_json::from_str(input).ok()?
            };
            Directive::Tool {
                name: name.to_string(),
                input,
            }
        }
        "usage" => {
            let numbers: Vec<u64> = value
                .split_whitespace()
                .map(|n| n.parse().ok())
                .collect::<Option<_>>()?;
            let usage = match numbers[..] {
                [i, o, r, w] => [i, o, r, w, 0],
                [i, o, r, w, h] if h <= w => [i, o, r, w, h],
                _ => return None,
            };
            Directive::Usage(usage)
        }
        _ => return None,
    })
}

/// The first word of `value` and the rest, trimmed.
fn split_word(value: &str) -> (&str, &str) {
    match value.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (value, ""),
    }
}

/// The message Claude Code sends with a notification type (`""` for a type it has none for).
pub fn default_message(kind: &str) -> &'static str {
    match kind {
        "permission_prompt" => "Claude needs your permission",
        "idle_prompt" => "Claude is waiting for your input",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Directive> {
        Directives::parse(text).into_iter().collect()
    }

    #[test]
    fn parses_directives_in_order() {
        let found = parse(
            "hi [[notify: idle_prompt]] [[sleep: 0.5]] [[bash: echo \"a b\"]] \
             [[say: done here]] [[unknown: x]] [[sleep: nope]] [[error: 500]]",
        );
        assert_eq!(
            found,
            vec![
                Directive::Notify {
                    kind: "idle_prompt".into(),
                    message: "Claude is waiting for your input".into()
                },
                Directive::Sleep(Duration::from_millis(500)),
                Directive::Bash("echo \"a b\"".into()),
                Directive::Say("done here".into()),
                Directive::Error("500".into()),
            ]
        );
    }

    #[test]
    fn repeated_directives_keep_the_first_of_each_kind() {
        let found = Directives::parse(
            "a [[say: one]] [[nope]] [[other: x]] [[say: two]] [[sleep: 1.5]] \
             [[bash: echo [x] ]] [[tool: Skill {\"skill\": \"orch\"}]] [[error: boom]] \
             [[error: 500]] [[usage: 1 2 3 4]] [[usage: 9 9 9 9]] [[bash: echo no]] \
             [[sleep: 9]] [[unterminated",
        );
        assert_eq!(found.say(), Some("one"));
        assert_eq!(found.bash(), Some("echo [x]"));
        assert_eq!(found.tool(), Some(("Skill", &json!({"skill": "orch"}))));
        assert_eq!(found.sleep(), Some(Duration::from_millis(1500)));
        assert_eq!(found.error(), Some("boom"));
        assert_eq!(found.usage(), Some([1, 2, 3, 4]));
        assert_eq!(found.iter().count(), 6, "{found:?}");
    }

    #[test]
    fn a_malformed_directive_does_not_hide_a_later_one_of_its_kind() {
        let found = Directives::parse(
            "[[sleep: nope]] [[sleep: 2]] [[tool: Skill {oops]] [[tool: Read]] \
             [[usage: 1 2 3]] [[usage: 1 2 3 x]] [[usage: 5 6 7 8]] [[permission: ]] \
             [[permission: Bash ls]]",
        );
        assert_eq!(found.sleep(), Some(Duration::from_secs(2)));
        assert_eq!(found.tool(), Some(("Read", &json!({}))));
        assert_eq!(found.usage(), Some([5, 6, 7, 8]));
        assert!(found.iter().any(|d| *d
            == Directive::Permission {
                tool: "Bash".into(),
                input: json!({"command": "ls"})
            }));
    }

    #[test]
    fn names_ignore_case_and_text_inside_an_unknown_one_is_searched() {
        let found = Directives::parse("[[SAY: loud]] [[note [[bash: ls]]");
        assert_eq!(found.say(), Some("loud"));
        assert_eq!(found.bash(), Some("ls"));
    }

    #[test]
    fn usage_takes_four_whole_numbers_and_a_one_hour_part() {
        let usage = |text: &str| Directives::parse(text).usage();
        assert_eq!(usage("x [[usage: 1 2 3 4]] [[say: Y]]"), Some([1, 2, 3, 4]));
        assert_eq!(usage("x [[usage: 1 2 3]]"), None);
        assert_eq!(usage("x [[usage: 1 2 3 x]]"), None);
        assert_eq!(usage("x [[usage: 1 2 3 4 5 6]]"), None);
        assert_eq!(
            usage("x [[usage: 1 2 3 4 5]]"),
            None,
            "1h part above the total"
        );
        let parsed = Directives::parse("x [[usage: 1 2 3 40 30]]");
        assert_eq!(
            (parsed.usage(), parsed.cache_write_1h()),
            (Some([1, 2, 3, 40]), 30)
        );
        assert_eq!(
            Directives::parse("x [[usage: 1 2 3 4]]").cache_write_1h(),
            0
        );
        assert_eq!(usage("x"), None);
    }

    #[test]
    fn parses_notify_and_permission_values() {
        assert_eq!(
            parse("[[notify: custom something happened]]"),
            vec![Directive::Notify {
                kind: "custom".into(),
                message: "something happened".into()
            }]
        );
        assert_eq!(
            parse(r#"[[permission: Bash {"command": "ls -l"}]]"#),
            vec![Directive::Permission {
                tool: "Bash".into(),
                input: json!({"command": "ls -l"})
            }]
        );
        assert_eq!(
            parse("[[permission: Bash rm -rf x]]"),
            vec![Directive::Permission {
                tool: "Bash".into(),
                input: json!({"command": "rm -rf x"})
            }]
        );
    }

    #[test]
    fn unterminated_and_negative_are_skipped() {
        assert_eq!(parse("[[sleep: -1]] [[say: x"), vec![]);
        assert_eq!(
            parse("[[nocolon]] [[say:]]"),
            vec![Directive::Say("".into())]
        );
    }
}
