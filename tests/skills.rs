//! The shipped skills (`skills/*/SKILL.md`): a lint (front matter, names, descriptions, every
//! `orch` command line in a code block parses with today's CLI, so a renamed flag breaks the
//! build) and the real Claude Code listing them and loading one through its Skill tool.

use crate::claude::{claude_cmd, claude_print, output_within, prepare_home, DUMMY_API_KEY};
use crate::mock_model::MockModel;
use crate::util::{expect_success, World};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

/// The words every description must contain: descriptions say *when* to use the skill, since
/// that is all Claude Code reads before deciding to load it.
const WHEN: &str = "Use when";

/// A code-block line carrying this comment is a template with placeholders and is not parsed.
/// Keep such lines rare: concrete example values are checked, placeholders are not.
const PLACEHOLDER: &str = "# (placeholder)";

/// The front matter of a `SKILL.md`, as Claude Code reads it.
#[derive(Deserialize, Debug)]
struct FrontMatter {
    name: String,
    description: String,
    #[serde(rename = "allowed-tools")]
    #[allow(dead_code)]
    allowed_tools: Option<serde_yaml::Value>,
}

struct Skill {
    folder: String,
    meta: FrontMatter,
    body: String,
}

fn skills_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("skills")
}

/// Every `skills/<folder>/SKILL.md`, parsed; panics on a file without front matter.
fn skills() -> Vec<Skill> {
    let mut folders: Vec<String> = std::fs::read_dir(skills_dir())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("SKILL.md").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    folders
        .into_iter()
        .map(|folder| {
            let path = skills_dir().join(&folder).join("SKILL.md");
            let text = std::fs::read_to_string(&path).unwrap();
            let (yaml, body) = split_front_matter(&text)
                .unwrap_or_else(|| panic!("`{}`: no `---` front matter", path.display()));
            let meta: FrontMatter = serde_yaml::from_str(yaml)
                .unwrap_or_else(|e| panic!("`{}`: front matter: {e}", path.display()));
            Skill {
                folder,
                meta,
                body: body.to_owned(),
            }
        })
        .collect()
}

/// (YAML between the leading `---` lines, the rest).
fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("---\n")?;
    let end = rest.find("\n---\n")?;
    Some((&rest[..end + 1], &rest[end + 5..]))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A shell token: a word (quotes removed) or an operator (`&&`, `|`, `>`, `<<`, ...).
#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Op(String),
}

/// Splits one command line like a POSIX shell would, for what skills use: single and double
/// quotes, backslash escapes, `#` comments, and the operators `| || & && ; < << > >> 2>`.
/// Variables and `$(...)` stay literal text.
fn split_shell(line: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    toks.push(Tok::Word(w));
                }
            }
            '#' if word.is_none() => break,
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed ' in {line:?}")),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') if matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                            w.push(chars.next().unwrap())
                        }
                        Some(c) => w.push(c),
                        None => return Err(format!("unclosed \" in {line:?}")),
                    }
                }
            }
            '\\' => {
                if let Some(c) = chars.next() {
                    word.get_or_insert_with(String::new).push(c);
                }
            }
            '|' | '&' | ';' | '<' | '>' => {
                let mut op = String::new();
                if c == '>' && matches!(word.as_deref(), Some("1" | "2")) {
                    op = word.take().unwrap();
                }
                if let Some(w) = word.take() {
                    toks.push(Tok::Word(w));
                }
                op.push(c);
                if c != ';' && chars.peek() == Some(&c) {
                    op.push(chars.next().unwrap());
                }
                toks.push(Tok::Op(op));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(w) = word {
        toks.push(Tok::Word(w));
    }
    Ok(toks)
}

/// The `orch` invocations of one command line, as argv: the line is cut at `&&`, `||`, `;`,
/// `|` and `&`; redirections and their targets and leading `VAR=value` words are dropped.
/// Also returns the delimiter of a here-document the line opens.
fn orch_argvs(line: &str) -> Result<(Vec<Vec<String>>, Option<String>), String> {
    let mut argvs = Vec::new();
    let mut heredoc = None;
    let mut segment: Vec<String> = Vec::new();
    let mut toks = split_shell(line)?.into_iter();
    let mut finish = |segment: &mut Vec<String>| {
        let start = segment
            .iter()
            .position(|w| !(w.contains('=') && w.starts_with(|c: char| c.is_ascii_uppercase())))
            .unwrap_or(segment.len());
        if segment.get(start).is_some_and(|w| w == "orch") {
            argvs.push(segment[start..].to_vec());
        }
        segment.clear();
    };
    while let Some(tok) = toks.next() {
        match tok {
            Tok::Word(w) => segment.push(w),
            Tok::Op(op) if ["&&", "||", ";", "|", "&"].contains(&op.as_str()) => {
                finish(&mut segment)
            }
            Tok::Op(op) => {
                let target = match toks.next() {
                    Some(Tok::Word(w)) => w,
                    _ => return Err(format!("`{op}` without a target in {line:?}")),
                };
                if op == "<<" {
                    heredoc = Some(target);
                }
            }
        }
    }
    finish(&mut segment);
    Ok((argvs, heredoc))
}

/// Every `orch` command in the fenced code blocks of `body`, with its line number, as argv.
/// Lines starting with `orch ` (after spaces and an optional `$ `) count; backslash-newline
/// continuations are joined; here-document bodies and [`PLACEHOLDER`] lines are skipped.
fn code_commands(body: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut in_code = false;
    let mut heredoc: Option<String> = None;
    let mut lines = body.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            continue;
        }
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        let mut full = line.trim_start().to_owned();
        while full.ends_with('\\') {
            full.pop();
            match lines.next() {
                Some((_, next)) => full.push_str(next),
                None => break,
            }
        }
        let full = full.strip_prefix("$ ").unwrap_or(&full);
        let starts_with_env = full
            .split_whitespace()
            .find(|w| !(w.contains('=') && w.starts_with(|c: char| c.is_ascii_uppercase())))
            == Some("orch");
        if !(full.starts_with("orch ") || starts_with_env) || full.contains(PLACEHOLDER) {
            continue;
        }
        let (argvs, opens) = orch_argvs(full).map_err(|e| format!("line {}: {e}", n + 1))?;
        heredoc = opens;
        out.extend(argvs.into_iter().map(|argv| (n + 1, argv)));
    }
    Ok(out)
}

/// Whether `argv` parses with today's `orch` CLI (a `--help` counts as parsed).
fn parses(argv: &[String]) -> Result<(), String> {
    use clap::error::ErrorKind;
    use clap::Parser;
    match orch::cli::Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

fn argv(line: &str) -> Vec<Vec<String>> {
    orch_argvs(line).unwrap().0
}

#[test]
fn splitter_handles_quotes_operators_redirections_and_comments() {
    assert_eq!(
        argv(r#"orch tell w1 "a \"b\" c" 'd e' && orch kill w1 | jq . > out.txt # done"#),
        vec![
            vec!["orch", "tell", "w1", r#"a "b" c"#, "d e"],
            vec!["orch", "kill", "w1"],
        ]
    );
    assert_eq!(
        argv("ORCH_TMUX_SOCKET=work orch ps --json 2>/dev/null &"),
        vec![vec!["orch", "ps", "--json"]]
    );
    assert_eq!(
        orch_argvs("orch tell w1 - <<'EOF'").unwrap(),
        (
            vec![vec!["orch".into(), "tell".into(), "w1".into(), "-".into()]],
            Some("EOF".into())
        )
    );
    let commands = code_commands(
        "text\n```sh\n$ orch escalate --axis taste \\\n    --summary \"x\"\norch tell w1 - <<EOF\norch not-a-command\nEOF\norch spawn --name NAME --bogus # (placeholder)\n```\norch outside code\n",
    )
    .unwrap();
    let found: Vec<_> = commands.iter().map(|(n, a)| (*n, a.join(" "))).collect();
    assert_eq!(
        found,
        vec![
            (3, "orch escalate --axis taste --summary x".to_owned()),
            (5, "orch tell w1 -".to_owned()),
        ]
    );
}

/// The lint catches a renamed or misspelled flag: this is what would fail the skills test.
#[test]
fn a_misspelled_flag_does_not_parse() {
    assert!(parses(&argv("orch listen w1 --after 3")[0]).is_ok());
    assert!(parses(&argv("orch listen w1 --afer 3")[0]).is_err());
    assert!(parses(&argv("orch listen w1 --after CURSOR")[0]).is_err());
    assert!(parses(&argv("orch spwan --name x")[0]).is_err());
}

#[test]
fn skills_lint_front_matter_names_descriptions_and_commands() {
    let skills = skills();
    assert!(skills.len() >= 7, "{} skills", skills.len());
    let shipped: BTreeSet<&str> = orch::outfit::bundle::SKILLS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut names = BTreeSet::new();
    let mut problems = Vec::new();
    for skill in &skills {
        let (folder, meta) = (&skill.folder, &skill.meta);
        if !names.insert(meta.name.clone()) {
            problems.push(format!("{folder}: name `{}` used twice", meta.name));
        }
        if !valid_name(&meta.name) {
            problems.push(format!("{folder}: invalid name `{}`", meta.name));
        }
        if meta.name != *folder {
            problems.push(format!("{folder}: name `{}` is not the folder", meta.name));
        }
        let len = meta.description.chars().count();
        if len > 1024 {
            problems.push(format!(
                "{folder}: description has {len} characters (> 1024)"
            ));
        }
        if !meta.description.contains(WHEN) {
            problems.push(format!("{folder}: description does not say `{WHEN}`"));
        }
        if !shipped.contains(folder.as_str()) {
            problems.push(format!("{folder}: not in `SKILLS` (bins/lib/cmd/up.rs)"));
        }
        match code_commands(&skill.body) {
            Err(e) => problems.push(format!("{folder}/SKILL.md: {e}")),
            Ok(commands) => {
                for (line, argv) in commands {
                    if let Err(e) = parses(&argv) {
                        let first = e.lines().next().unwrap_or("").to_owned();
                        problems.push(format!(
                            "{folder}/SKILL.md body line {line}: `{}`: {first}",
                            argv.join(" ")
                        ));
                    }
                }
            }
        }
    }
    for name in &shipped {
        if !names.contains(*name) {
            problems.push(format!(
                "`SKILLS` names `{name}`, which has no skills/{name}/SKILL.md"
            ));
        }
    }
    for (name, embedded) in orch::outfit::bundle::SKILLS {
        let on_disk = std::fs::read_to_string(skills_dir().join(name).join("SKILL.md"));
        if on_disk.ok().as_deref() != Some(embedded) {
            problems.push(format!(
                "`SKILLS` entry `{name}` does not embed skills/{name}/SKILL.md"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "skill problems:\n{}",
        problems.join("\n")
    );
}

/// A world with orch installed (`orch up`: hooks and skill links in its `~/.claude`) and Claude
/// Code's first-run screens answered, plus a mock model.
fn installed_claude() -> (World, MockModel) {
    let world = World::new();
    world.ok(&["up"]);
    prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
    (world, MockModel::start())
}

/// The whole request body as text, with JSON string escapes undone enough to find lines.
fn body_text(body: &serde_json::Value) -> String {
    body.to_string().replace("\\n", "\n").replace("\\\"", "\"")
}

/// Claude Code lists skills in `messages` ([`crate::mock_model::message_texts`]): "The
/// following skills are available for use with the Skill tool:" then one
/// `- <name>: <description>` line per skill (see tests/plugin.rs).
#[test]
fn claude_code_lists_every_orch_skill_with_its_description() {
    let (world, mock) = installed_claude();
    assert_eq!(claude_print(&world, &mock, "hi [[say: ok]]").trim(), "ok");
    let requests = mock.requests();
    let request = requests.last().expect("no main request");
    let listing = crate::mock_model::message_texts(request)
        .into_iter()
        .find(|text| text.contains("skills are available for use with the Skill tool"))
        .unwrap_or_else(|| panic!("no skill listing in the request: {request:#}"));
    for skill in skills() {
        let line = format!("- {}: {}", skill.meta.name, skill.meta.description);
        assert!(
            listing.lines().any(|l| l == line),
            "the listing lacks `{line}`:\n{listing}"
        );
    }
}

#[test]
fn claude_code_loads_a_skill_body_through_the_skill_tool() {
    let (world, mock) = installed_claude();
    let prompt = r#"recipes please [[tool: Skill {"skill": "orch-recipes"}]]"#;
    let out = output_within(
        claude_cmd(&world, &mock).args(["-p", prompt]),
        Duration::from_secs(90),
    );
    expect_success(&format!("claude -p {prompt:?}"), out, String::new);
    let distinctive = "land the branches in dependency order";
    let requests = mock.requests();
    let loaded = requests
        .iter()
        .map(body_text)
        .find(|b| b.contains("Base directory for this skill") && b.contains(distinctive));
    assert!(
        loaded.is_some(),
        "no request carries the orch-recipes body; last request:\n{}",
        requests.last().map(body_text).unwrap_or_default()
    );
}

/// A recipe end to end on the real CLI in `-p` mode: the mock plays the operator and runs the
/// spawn line the orch-spawn skill teaches for a dry run; the worker exists and the audit log
/// holds the spawn.
#[test]
fn operator_claude_runs_a_spawn_recipe_through_bash() {
    let world = World::with_tmux();
    world.ok(&["up"]);
    prepare_home(&world.home(), DUMMY_API_KEY, &[&world.work()]);
    let mock = MockModel::start();
    let path = path_with_orch();
    let prompt = "dry run please [[bash: orch spawn --harness sim --name r1 --prompt hello]]";
    let out = output_within(
        claude_cmd(&world, &mock).env("PATH", path).args([
            "-p",
            prompt,
            "--allowedTools",
            "Bash(orch *)",
        ]),
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("MOCK: bash finished"),
        "claude -p failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let ps = crate::util::json(&world.ok(&["--json", "ps"]));
    let id = ps
        .as_array()
        .and_then(|workers| workers.iter().find(|w| w["name"] == "r1"))
        .unwrap_or_else(|| panic!("no worker r1 in `orch ps`: {ps}"))["id"]
        .clone();
    let audit = crate::util::json(&world.ok(&["--json", "audit"]));
    assert!(
        audit.as_array().is_some_and(|entries| entries
            .iter()
            .any(|e| e["action"] == "spawn" && e["target"] == id && e["outcome"] == "ok")),
        "no spawn of r1 ({id}) in the audit log: {audit}"
    );
    world.ok(&["kill", "r1"]);
}

/// Subcommands no skill teaches, each for a reason: what the operator would never run.
const UNTAUGHT: &[(&str, &str)] = &[
    (
        "hook",
        "what the hook registered in settings.json runs, never typed",
    ),
    (
        "top",
        "for the person: it waits for keys (the skill names `top --popup` for them)",
    ),
    (
        "demo",
        "for a person trying orch in a terminal, not for the operator",
    ),
];

/// `spawn` flags no skill needs to show, each for a reason.
const UNTAUGHT_SPAWN: &[(&str, &str)] = &[
    ("help", "clap's own"),
    ("json", "global: shown with every command"),
    ("color", "global, for a person's terminal"),
    (
        "ready_timeout",
        "a tuning knob: the default fits every harness orch knows",
    ),
    (
        "harness_args",
        "the arguments after `--` (shown in the command harness's examples)",
    ),
];

/// Each `orch` command of every skill code block, as clap parses it: its subcommand and the
/// ids of the arguments it gives on the command line.
fn taught() -> Vec<(String, Vec<String>)> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    for skill in skills() {
        for (_, argv) in code_commands(&skill.body).unwrap() {
            let Ok(matches) = orch::cli::Cli::command().try_get_matches_from(&argv) else {
                continue;
            };
            let Some((name, sub)) = matches.subcommand() else {
                continue;
            };
            let given = sub
                .ids()
                .filter(|id| {
                    sub.value_source(id.as_str()) == Some(clap::parser::ValueSource::CommandLine)
                })
                .map(|id| id.as_str().to_string())
                .collect();
            out.push((name.to_string(), given));
        }
    }
    out
}

/// What a person can ask for has a path from plain words to a command: every visible
/// subcommand, and every flag of `spawn`, appears in at least one skill code block, but the
/// deliberate exceptions above.
#[test]
fn every_subcommand_and_spawn_flag_is_taught_in_a_skill() {
    use clap::CommandFactory;
    let taught = taught();
    let cli = orch::cli::Cli::command();
    let mut missing = Vec::new();
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_name();
        if UNTAUGHT.iter().any(|(n, _)| *n == name) {
            continue;
        }
        if !taught.iter().any(|(n, _)| n == name) {
            missing.push(format!("`orch {name}`"));
        }
    }
    let spawn = cli.find_subcommand("spawn").unwrap();
    for arg in spawn.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if UNTAUGHT_SPAWN.iter().any(|(n, _)| *n == id) {
            continue;
        }
        let shown = taught
            .iter()
            .any(|(n, given)| n == "spawn" && given.iter().any(|g| g == id));
        if !shown {
            missing.push(format!("`orch spawn --{}`", arg.get_long().unwrap_or(id)));
        }
    }
    assert!(
        missing.is_empty(),
        "not in any skill's code blocks (teach each where the operator would look, or add it \
         to the exceptions with a reason): {}",
        missing.join(", ")
    );
}

/// Every exit code of the code's one table (`orch::error::Exit`) is named in the operator's
/// skill, so a new code cannot go untaught.
#[test]
fn every_exit_code_is_taught() {
    let text = std::fs::read_to_string(skills_dir().join("orch/SKILL.md")).unwrap();
    for exit in orch::error::Exit::ALL {
        let code = exit.code();
        assert!(
            text.contains(&format!("`{code}`")),
            "skills/orch/SKILL.md never names exit code {code} ({exit:?})"
        );
    }
}

/// The `orch` lines of the first code block under the orch-recipes heading that contains
/// `title`, as written.
fn recipe(title: &str) -> Vec<String> {
    let text = std::fs::read_to_string(skills_dir().join("orch-recipes/SKILL.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.lines().next().is_some_and(|h| h.contains(title)))
        .unwrap_or_else(|| panic!("no recipe {title:?} in orch-recipes"));
    let block = section.split("```").nth(1).expect("a code block");
    block
        .lines()
        .map(|l| l.split(" #").next().unwrap().trim().to_string())
        .filter(|l| l.starts_with("orch "))
        .collect()
}

/// The crash recipe as written, run by the real Claude Code as the operator (the mock model
/// plays it and runs the recipe's lines through its Bash tool): the tmux server dies under a
/// Claude Code worker; after the recipe the worker answers again, with its conversation, and
/// the recipe's listen from the cursor taken before the crash gets the new turn's Stop.
#[test]
fn operator_claude_brings_the_fleet_back_by_the_crash_recipe() {
    let f = crate::fleet::Fleet::new();
    f.ok(&["spawn", "--name", "auth-backend", "--ready-timeout", "60"]);
    assert_eq!(f.turn("auth-backend", "remember FIRST-31 [[say: A]]"), "A");
    let cursor = crate::util::json(&f.ok(&["--json", "ps"]))[0]["cursor"]
        .as_u64()
        .unwrap();
    // The crash comes once Claude Code has the turn on disk: one that lands before it does
    // may take the turn, or its prompt, with it (the resume then starts afresh, or on a
    // conversation without FIRST-31).
    let meta = std::fs::read_to_string(f.world.state().join("workers/w1/meta.json")).unwrap();
    let sid = crate::util::json(&meta)["session_id"].clone();
    crate::claude::wait_turn_written(&f.world, sid.as_str().unwrap(), "FIRST-31");
    f.world.tmux.as_ref().unwrap().kill_server();

    let lines = recipe("tmux server crashed");
    assert_eq!(lines[0], "orch ps --json");
    assert_eq!(lines[1], "orch resume --all");
    let path = path_with_orch();
    let prompt = format!(
        "the tmux server crashed, bring everyone back [[bash: {} && {}]]",
        lines[0], lines[1]
    );
    let out = output_within(
        claude_cmd(&f.world, &f.claude)
            .env("PATH", path)
            .env("ORCH_CLAUDE_BIN", crate::claude::claude_bin())
            .args(["-p", &prompt, "--allowedTools", "Bash(orch *)"]),
        Duration::from_secs(180),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("MOCK: bash finished")
            && stdout.contains("auth-backend"),
        "the operator's claude -p failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    let rows = crate::util::json(&String::from_utf8_lossy(&f.run(&["--json", "ps"]).stdout));
    assert_eq!(
        rows[0]["status"], "idle",
        "{rows}\nthe operator's run: {stdout}"
    );

    // The recipe's listen, from the cursor taken before the crash, gets the next turn's Stop.
    let listen: Vec<String> = lines[2]
        .split_whitespace()
        .map(|w| {
            if w == "41" {
                cursor.to_string()
            } else {
                w.to_string()
            }
        })
        .skip(1)
        .collect();
    let listen: Vec<&str> = listen.iter().map(String::as_str).collect();
    let waiting = f
        .world
        .cmd("orch")
        .args(&listen)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let told = crate::util::json(&f.ok(&["--json", "tell", "auth-backend", "again [[say: B]]"]));
    assert_eq!(told["acknowledged"], true, "{told}");
    let stop = crate::util::json(&String::from_utf8_lossy(
        &waiting.wait_with_output().unwrap().stdout,
    ));
    assert_eq!(stop["last_assistant_message"], "B", "{stop}");
    // The request of the prompt after the resume carries the first turn (a bare "again" is in
    // Claude Code's own system text, so the first request would match it too).
    let request = f.claude.wait_request(
        |b| {
            let text = b.to_string();
            text.contains("FIRST-31") && text.contains("again [[say: B]]")
        },
        Duration::from_secs(30),
    );
    assert!(request.to_string().contains("FIRST-31"));
    f.ok(&["kill", "auth-backend"]);
}

/// The recipes that need no model nor other machine, run as written against sim workers named
/// as the recipes name them: each line succeeds (`orch doctor` may find a check failing in a
/// test HOME; it must still run and name the fix).
#[test]
fn recipes_run_as_written_against_sim_workers() {
    let world = World::installed();
    world.spawn_sim("research");
    world.spawn_sim("auth-backend");
    let path = path_with_orch();
    let run = |line: &str| {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(line)
            .env_clear()
            .envs(world.env())
            .env("PATH", &path)
            .current_dir(world.work())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let code = out.status.code();
        let said = format!(
            "`{line}` exited {code:?}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (code, said)
    };
    for title in [
        "What did the fleet cost",
        "Cap the researcher",
        "We hit the usage limit",
        "Stop what the researcher is doing",
        "Is orch set up right",
    ] {
        for line in recipe(title) {
            // A cursor from an earlier answer, which this fleet does not have.
            if line.contains("--after 41") {
                continue;
            }
            let (code, said) = run(&line);
            match line.as_str() {
                "orch doctor" => assert!(
                    code == Some(0) || (code == Some(1) && said.contains("fix:")),
                    "{said}"
                ),
                _ => assert_eq!(code, Some(0), "{said}"),
            }
        }
    }
}

/// `$PATH` with orch's executables of this build first, for a shell or a Claude Code that
/// runs `orch` by name.
fn path_with_orch() -> String {
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_orch"))
        .parent()
        .unwrap()
        .to_path_buf();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}
