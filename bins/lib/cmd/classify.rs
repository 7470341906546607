//! `orch classify`: which of the four axes a command, a permission message or a tool call trips
//! under the policy in force (shipped, user's and project's files).

use super::Ctx;
use crate::coordination::classify::{Input, Policy};
use anyhow::{Context, Result};
use std::io::Read;
use std::path::PathBuf;

/// Flags of `orch classify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The text to classify; `-` or nothing reads it from stdin.
    pub text: Option<String>,

    /// What the text is: a Bash command, a permission-prompt message, or a tool call as JSON
    /// `{"tool_name": ..., "tool_input": ...}` (a PermissionRequest hook payload; other fields
    /// are ignored).
    #[arg(long, value_enum, default_value_t = InputKind::Command)]
    pub kind: InputKind,

    /// Look for the project's `.orch/policy.yaml` from DIR upward instead of the current folder.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
}

/// What `orch classify` reads.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A shell command line.
    Command,
    /// A permission-prompt message or other prose.
    Message,
    /// A tool call as JSON.
    Tool,
}

/// Runs `orch classify`: prints one line per rule that hit (`AXIS: RULE (WHY) matched "TEXT"`)
/// or `no axis`; with `--json`, the classification as one JSON object. Exits 0 either way.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let text = match args.text.as_deref() {
        Some(text) if text != "-" => text.to_owned(),
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read stdin")?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let input = match args.kind {
        InputKind::Command => Input::Command(text),
        InputKind::Message => Input::Message(text),
        InputKind::Tool => tool_input(&text)?,
    };
    let cwd = match args.cwd {
        Some(dir) => dir,
        None => std::env::current_dir().context("cannot find the current folder")?,
    };
    let policy = Policy::load(&cwd)?;
    for warning in policy.warnings() {
        eprintln!("orch: warning: {warning}");
    }
    let classification = policy.classify(&input);
    if ctx.json {
        return super::print_json(&serde_json::to_value(&classification)?);
    }
    if classification.is_empty() {
        println!("no axis");
    }
    for hit in &classification.hits {
        println!("{hit}");
    }
    Ok(())
}

/// A tool call from `{"tool_name": ..., "tool_input": ...}`.
fn tool_input(text: &str) -> Result<Input> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("`--kind tool` reads a JSON object")?;
    Input::from_payload(&value)
        .filter(|input| matches!(input, Input::Tool { .. }))
        .context("`--kind tool` reads a JSON object with a string `tool_name` and a `tool_input`")
}
