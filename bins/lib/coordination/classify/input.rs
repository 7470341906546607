//! What the classifier reads: a command, a message or a tool call, and the texts in it that
//! a rule matches, each with its kind.

use serde::Deserialize;

/// What to classify.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A shell command line, as Claude Code's Bash tool would run it.
    Command(String),
    /// A permission-prompt message or other prose, e.g. an escalation's summary.
    Message(String),
    /// A tool call: the `tool_name` and `tool_input` of a PermissionRequest or PreToolUse hook
    /// payload. Bash is classified by its `command`; Write, Edit, MultiEdit and NotebookEdit by
    /// the path they write (a `file` text) and what they write (`content`); WebFetch by its
    /// `url`; any other tool by its name and JSON input (a `command` text).
    Tool {
        /// The tool's name, e.g. `Bash`, `Edit` or `mcp__github__delete_repository`.
        name: String,
        /// The tool's input object.
        input: serde_json::Value,
    },
}

impl Input {
    /// The input a hook payload describes: a tool call when it has a string `tool_name` (its
    /// `tool_input` taken as is, null when absent), else a message when it has a string
    /// `message` (a Notification). Other fields are ignored; `None` when it has neither.
    pub fn from_payload(payload: &serde_json::Value) -> Option<Input> {
        if let Some(name) = payload.get("tool_name").and_then(|v| v.as_str()) {
            let input = payload
                .get("tool_input")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            return Some(Input::Tool {
                name: name.to_owned(),
                input,
            });
        }
        payload
            .get("message")
            .and_then(|v| v.as_str())
            .map(|m| Input::Message(m.to_owned()))
    }
}

/// What kind of text a rule looks at (`applies_to` in a policy file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Kind {
    Command,
    Message,
    File,
    Content,
    Any,
}

/// The texts one input is matched on: each with its kind, plus the path a tool call writes
/// (what a rule's `file` condition looks at).
pub(super) struct Texts {
    pub file: Option<String>,
    pub parts: Vec<(Kind, String)>,
}

impl Input {
    /// Turns the input into the texts the rules match.
    pub(super) fn texts(&self) -> Texts {
        let one = |kind, text: &str| Texts {
            file: None,
            parts: vec![(kind, text.to_owned())],
        };
        match self {
            Input::Command(text) => one(Kind::Command, text),
            Input::Message(text) => one(Kind::Message, text),
            Input::Tool { name, input } => tool_texts(name, input),
        }
    }
}

fn tool_texts(name: &str, input: &serde_json::Value) -> Texts {
    let str_of = |key: &str| input.get(key).and_then(|v| v.as_str());
    let path_key = match name {
        "Write" | "Edit" | "MultiEdit" => Some("file_path"),
        "NotebookEdit" => Some("notebook_path"),
        _ => None,
    };
    if let Some(path) = path_key.and_then(str_of) {
        let content = match name {
            "Write" => str_of("content").unwrap_or_default().to_owned(),
            "Edit" => str_of("new_string").unwrap_or_default().to_owned(),
            "NotebookEdit" => str_of("new_source").unwrap_or_default().to_owned(),
            _ => input
                .get("edits")
                .and_then(|e| e.as_array())
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("new_string").and_then(|s| s.as_str()))
                .collect::<Vec<_>>()
                .join("\n"),
        };
        return Texts {
            file: Some(path.to_owned()),
            parts: vec![(Kind::File, path.to_owned()), (Kind::Content, content)],
        };
    }
    let command = match (name, str_of("command"), str_of("url")) {
        ("Bash", Some(command), _) => command.to_owned(),
        ("WebFetch", _, Some(url)) => url.to_owned(),
        _ => format!("{name} {input}"),
    };
    Texts {
        file: None,
        parts: vec![(Kind::Command, command)],
    }
}
