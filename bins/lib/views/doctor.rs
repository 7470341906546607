//! `orch doctor`'s checks: each looks at one thing orch needs (tmux, the hooks in Claude Code's
//! settings.json, the skills, the state directory, Claude Code itself, `TMUX_PANE` reaching a
//! hook) and returns a [`Check`]. Nothing here changes the user's files.

use crate::claude::settings;
use crate::harness::HarnessExt;
use crate::harness::{Harness, Version};
use crate::tmux::Tmux;
use orch_store::paths;
use orch_store::worker::File;
use serde_json::{json, Value};
use std::fmt;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// All good.
    Ok,
    /// Worth a look, but orch works.
    Warn,
    /// orch does not work until this is fixed (only required checks fail).
    Fail,
    /// The check could not run; the detail says why.
    Skipped,
}

impl Status {
    /// The lowercase name used in JSON: `ok`, `warn`, `fail`, `skipped`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Status::Fail => "FAIL",
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
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// What to do about it, when it is not ok.
    pub fix: Option<String>,
    /// More for `--json`: fields added to the check's object (a harness's `version` and
    /// `verified` range).
    pub facts: Option<Value>,
}

impl Check {
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            host: None,
            status,
            detail: detail.into(),
            fix: None,
            facts: None,
        }
    }

    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check::new(name, Status::Ok, detail)
    }

    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Fail, detail).with_fix(fix)
    }

    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::new(name, Status::Warn, detail).with_fix(fix)
    }

    fn with_fix(mut self, fix: impl Into<String>) -> Check {
        self.fix = Some(fix.into());
        self
    }

    fn with_facts(mut self, facts: Value) -> Check {
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

/// What `orch doctor` may skip.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Do not start Claude Code for the live `TMUX_PANE` probe.
    pub skip_probe: bool,
}

/// Runs every check, in the order they are printed.
pub fn run_all(options: Options) -> Vec<Check> {
    let tmux = tmux();
    let settings = crate::claude::claude_settings().and_then(|p| Ok((settings::read(&p)?, p)));
    let claude = claude();
    let probe = if options.skip_probe {
        Check::new("probe", Status::Skipped, "not run (--skip-probe)")
    } else if tmux.status != Status::Ok {
        Check::new("probe", Status::Skipped, "not run: tmux is not usable")
    } else {
        match claude_program() {
            Some(bin) => probe(&bin, Duration::from_secs(15)),
            None => Check::new(
                "probe",
                Status::Skipped,
                "not run: Claude Code is not found",
            ),
        }
    };
    [
        tmux,
        hooks(&settings),
        skills(),
        plugin(&settings),
        state(),
        workers(),
        logs(),
        claude,
        probe,
    ]
    .into_iter()
    .chain(harnesses())
    .collect()
}

/// The checks of `orch doctor --host DEST`, each marked with the host: `ssh` (reached in
/// batch mode through the shared connection), `orch` (installed there, the same version as
/// here), then the remote `orch doctor --skip-probe`'s own checks (tmux, hooks, skills, state,
/// the harnesses...). A check that cannot run because an earlier one failed is not listed.
pub fn remote(dest: &str) -> Vec<Check> {
    let mark = |mut check: Check| {
        check.host = Some(dest.to_string());
        check
    };
    let host = match crate::remote::host::Host::new(dest) {
        Ok(host) => host,
        Err(err) => return vec![mark(Check::fail("ssh", format!("{err:#}"), "fix the name"))],
    };
    let state = match orch_store::Store::from_env() {
        Ok(state) => state,
        Err(err) => {
            return vec![mark(Check::fail(
                "state",
                format!("{err:#}"),
                "set ORCH_HOME",
            ))]
        }
    };
    let here = env!("CARGO_PKG_VERSION");
    let answer = host.run(&state, &["sh", "-c", "orch --version 2>/dev/null; true"]);
    let answer = match answer {
        Ok(answer) => answer,
        Err(err) => {
            return vec![mark(Check::fail(
                "ssh",
                format!("{err:#}"),
                format!("`ssh {dest} true` must work without a prompt; ORCH_SSH sets the command"),
            ))]
        }
    };
    let mut checks = vec![mark(Check::ok(
        "ssh",
        format!("reached `{dest}` (shared connection, batch mode)"),
    ))];
    let there = crate::remote::host::orch_version(&answer).map(str::to_string);
    let _ = host.remember(&state, there.as_deref());
    let install = format!(
        "install orch {here} on `{dest}` (`npm install -g @agent-ops/orch@{here}`, or          `install/install.sh` from a checkout) so that `orch` is on the PATH of its ssh sessions"
    );
    match there.as_deref() {
        None => {
            checks.push(mark(Check::fail(
                "orch",
                "`orch` is not found on the host",
                install,
            )));
            return checks;
        }
        Some(v) if v != here => {
            checks.push(mark(Check::fail(
                "orch",
                format!("orch {v} there, {here} here"),
                install,
            )));
            return checks;
        }
        Some(v) => checks.push(mark(Check::ok("orch", format!("orch {v}, as here")))),
    }
    let out = host.output(&state, &["orch", "--json", "doctor", "--skip-probe"]);
    let listed = out
        .ok()
        .and_then(|o| serde_json::from_slice::<Value>(&o.stdout).ok())
        .and_then(|v| v["checks"].as_array().cloned());
    let Some(listed) = listed else {
        checks.push(mark(Check::fail(
            "doctor",
            "the host's `orch doctor --json` gave no answer",
            format!("run `ssh {dest} orch doctor` to see why"),
        )));
        return checks;
    };
    for item in listed {
        let text = |k: &str| item[k].as_str().unwrap_or_default().to_string();
        let status = match item["status"].as_str() {
            Some("ok") => Status::Ok,
            Some("warn") => Status::Warn,
            Some("fail") => Status::Fail,
            _ => Status::Skipped,
        };
        let mut check = Check::new("", status, text("detail"));
        check.name = text("name").into();
        check.fix = item["fix"].as_str().map(str::to_string);
        checks.push(mark(check));
    }
    checks
}

/// `tmux`: installed and at least [`crate::tmux::MIN_VERSION`].
pub fn tmux() -> Check {
    match crate::tmux::check_version() {
        Err(err) => Check::fail(
            "tmux",
            format!("{err:#}"),
            "install tmux 3.0 or newer (`apt install tmux`, `dnf install tmux`, `brew install tmux`)",
        ),
        Ok(version) => Check::ok("tmux", version),
    }
}

/// What reading settings.json gave: the value (`None` when the file is missing) and its path.
pub type Settings = anyhow::Result<(Option<Value>, PathBuf)>;

/// The orch hook commands registered on each of [`settings::EVENTS`] in `settings`, in order.
/// An event with no orch hook (or a `hooks` of the wrong shape) has an empty list.
pub fn orch_hooks(settings: &Value) -> Vec<(&'static str, Vec<String>)> {
    settings::EVENTS
        .iter()
        .map(|&event| {
            let commands = settings["hooks"][event]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|entry| entry["hooks"].as_array().into_iter().flatten())
                .filter_map(|hook| hook["command"].as_str())
                .filter(|command| settings::is_orch_command(command))
                .map(str::to_string)
                .collect();
            (event, commands)
        })
        .collect()
}

/// The program a hook command runs: its first `/bin/sh` word, for the forms
/// [`settings::hook_command`] writes (a plain word, or one single-quoted word with `'\''`).
pub fn hook_program(command: &str) -> String {
    let command = command.trim_start();
    let Some(mut rest) = command.strip_prefix('\'') else {
        return command
            .split(char::is_whitespace)
            .next()
            .unwrap_or("")
            .to_string();
    };
    let mut word = String::new();
    while let Some(end) = rest.find('\'') {
        word.push_str(&rest[..end]);
        rest = &rest[end + 1..];
        match rest.strip_prefix("\\''") {
            Some(more) => {
                word.push('\'');
                rest = more;
            }
            None => return word,
        }
    }
    word.push_str(rest);
    word
}

/// `hooks`: every event orch needs has orch's hook, and it runs this installation's `orch-hook`.
pub fn hooks(settings: &Settings) -> Check {
    const NAME: &str = "hooks";
    let (value, path) = match settings {
        Err(err) => {
            return Check::fail(
                NAME,
                format!("{err:#}"),
                "fix the file at that line and column (or move it away), then run `orch up`",
            )
        }
        Ok(found) => found,
    };
    let Some(value) = value else {
        return Check::fail(
            NAME,
            format!(
                "`{}` does not exist: no hooks are registered",
                path.display()
            ),
            "orch up",
        );
    };
    let expected = match paths::sibling_exe(settings::HOOK_PROGRAM) {
        Ok(exe) => exe.canonicalize().unwrap_or(exe),
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "reinstall orch"),
    };
    judge_hooks(value, path, &expected)
}

/// The `hooks` verdict for the settings `value` read from `path`, when this installation's
/// hook program is `expected` (canonical).
pub fn judge_hooks(value: &Value, path: &Path, expected: &Path) -> Check {
    const NAME: &str = "hooks";
    let found = orch_hooks(value);
    let missing: Vec<&str> = found
        .iter()
        .filter(|(_, commands)| commands.is_empty())
        .map(|(event, _)| *event)
        .collect();
    if !missing.is_empty() {
        return Check::fail(
            NAME,
            format!(
                "`{}` has no orch hook on {}",
                path.display(),
                missing.join(", ")
            ),
            "orch up",
        );
    }
    for (event, commands) in &found {
        for command in commands {
            let program = hook_program(command);
            if !is_executable(Path::new(&program)) {
                return Check::fail(
                    NAME,
                    format!("the {event} hook runs `{program}`, which is not an executable file"),
                    "orch up",
                );
            }
            let canonical = Path::new(&program)
                .canonicalize()
                .unwrap_or_else(|_| PathBuf::from(&program));
            if canonical != expected {
                return Check::fail(
                    NAME,
                    format!(
                        "the {event} hook runs `{program}`, another orch installation's hook \
                         (this one is `{}`)",
                        expected.display()
                    ),
                    "orch up",
                );
            }
        }
    }
    Check::ok(
        NAME,
        format!(
            "all {} events run `{}`",
            settings::EVENTS.len(),
            expected.display()
        ),
    )
}

/// Whether `path` is a file with an execute bit.
fn is_executable(path: &Path) -> bool {
    path.is_absolute()
        && fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `skills`: each shipped skill is linked in `<claude dir>/skills/<name>` and the link resolves.
pub fn skills() -> Check {
    const NAME: &str = "skills";
    let dir = match crate::claude::claude_dir() {
        Ok(dir) => dir.join("skills"),
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "set HOME"),
    };
    let mut problems = Vec::new();
    let mut foreign = false;
    for (name, _) in crate::outfit::bundle::SKILLS {
        let link = dir.join(name);
        match orch_store::files::link_target(&link) {
            Ok(None) => problems.push(format!("`{}` is missing", link.display())),
            Ok(Some(None)) => {
                foreign = true;
                problems.push(format!("`{}` is not a link (not orch's)", link.display()));
            }
            Ok(Some(Some(target))) if !target.join("SKILL.md").is_file() => problems.push(format!(
                "`{}` points at `{}`, which has no SKILL.md",
                link.display(),
                target.display()
            )),
            Ok(Some(Some(_))) => {}
            Err(err) => problems.push(format!("{err:#}")),
        }
    }
    if problems.is_empty() {
        let names: Vec<&str> = crate::outfit::bundle::SKILLS
            .iter()
            .map(|(name, _)| *name)
            .collect();
        return Check::ok(
            NAME,
            format!("{} linked in `{}`", names.join(", "), dir.display()),
        );
    }
    let fix = if foreign {
        "move the folder that is not orch's away, then run `orch up`"
    } else {
        "orch up"
    };
    Check::fail(NAME, problems.join("; "), fix)
}

/// Whether `settings` enables orch as a plugin (`enabledPlugins` has `orch@...: true`).
pub fn plugin_enabled(settings: &Value) -> bool {
    settings["enabledPlugins"]
        .as_object()
        .is_some_and(|plugins| {
            plugins
                .iter()
                .any(|(key, on)| key.starts_with("orch@") && on.as_bool() == Some(true))
        })
}

/// `plugin`: warns when orch is active both as a plugin and through settings.json's hooks.
pub fn plugin(settings: &Settings) -> Check {
    const NAME: &str = "plugin";
    let Ok((Some(value), _)) = settings else {
        return Check::new(NAME, Status::Skipped, "not run: no readable settings.json");
    };
    let plugin = plugin_enabled(value);
    let hooks = orch_hooks(value).iter().any(|(_, c)| !c.is_empty());
    match (plugin, hooks) {
        (true, true) => Check::warn(
            NAME,
            "orch is enabled both as a plugin and through settings.json's hooks: the hook \
             records each event once, but remove one of them",
            "disable the plugin (`claude plugin disable orch`) or run `orch down`",
        ),
        (true, false) => Check::ok(NAME, "orch runs as a Claude Code plugin"),
        (false, _) => Check::ok(NAME, "not installed as a plugin"),
    }
}

/// The `state` verdict for a state dir with permission bits `mode` owned by `owner`, when the
/// current user is `me`.
pub fn judge_state(dir: &Path, mode: u32, owner: u32, me: u32) -> Check {
    const NAME: &str = "state";
    let shown = dir.display();
    if owner != me {
        return Check::fail(
            NAME,
            format!("`{shown}` belongs to uid {owner}, not to you (uid {me})"),
            format!("sudo chown -R {me} '{shown}'"),
        );
    }
    let mode = mode & 0o7777;
    if mode != 0o700 {
        return Check::fail(
            NAME,
            format!(
                "`{shown}` has mode {mode:04o}, expected 0700 (others could read or forge events)"
            ),
            format!("chmod 700 '{shown}'"),
        );
    }
    Check::ok(NAME, format!("`{shown}` is yours, mode 0700"))
}

/// `state`: the state dir, if it exists, is the current user's and mode 0700.
pub fn state() -> Check {
    const NAME: &str = "state";
    let dir = match paths::state_dir() {
        Ok(dir) => dir,
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "set ORCH_HOME"),
    };
    let meta = match fs::metadata(&dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Check::ok(
                NAME,
                format!(
                    "`{}` does not exist yet (created on first spawn)",
                    dir.display()
                ),
            )
        }
        Err(err) => {
            return Check::fail(
                NAME,
                format!("cannot inspect `{}`: {err}", dir.display()),
                "check the folder's permissions",
            )
        }
        Ok(meta) => meta,
    };
    judge_state(
        &dir,
        meta.mode(),
        meta.uid(),
        orch_store::store::current_uid(),
    )
}

/// `workers`: warns about workers whose pane is gone though nobody ended them (their tmux
/// server died); `orch resume --all` starts them again.
pub fn workers() -> Check {
    const NAME: &str = "workers";
    let lost = orch_store::Store::from_env().and_then(|s| crate::views::summary::resumable(&s));
    match lost {
        Err(err) => Check::new(NAME, Status::Skipped, format!("not run: {err:#}")),
        Ok(lost) if lost.is_empty() => Check::ok(NAME, "none lost its pane"),
        Ok(lost) => Check::warn(NAME, lost_panes(&lost), "orch resume --all")
            .with_facts(json!({"resumable": lost.iter().map(|w| &w.meta.id).collect::<Vec<_>>()})),
    }
}

/// `logs`: warns about lines in the workers' event logs and inboxes that are not events (a
/// crash in the middle of a write, a stray echo): every reader skips them and the sequence
/// goes on after the newest valid event, but they are worth a look.
pub fn logs() -> Check {
    const NAME: &str = "logs";
    let state = match orch_store::Store::from_env() {
        Ok(state) => state,
        Err(err) => return Check::new(NAME, Status::Skipped, format!("not run: {err:#}")),
    };
    let Ok(entries) = fs::read_dir(state.root.join("workers")) else {
        return Check::ok(NAME, "no worker logs yet");
    };
    let mut found = Vec::new();
    let mut files = 0;
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    for dir in ids.iter().filter_map(|id| state.worker(id).ok()) {
        for file in [File::Events, File::Inbox] {
            let path = dir.file(file);
            let Ok(health) = orch_store::journal::scan(&path) else {
                continue;
            };
            files += 1;
            if !health.bad_lines.is_empty() {
                let lines: Vec<String> = health.bad_lines.iter().map(u64::to_string).collect();
                found.push((path, lines.join(", ")));
            }
        }
    }
    if found.is_empty() {
        return Check::ok(NAME, format!("{files} logs hold only events"));
    }
    let detail: Vec<String> = found
        .iter()
        .map(|(path, lines)| format!("`{}` line {lines}", path.display()))
        .collect();
    Check::warn(
        NAME,
        format!(
            "lines that are not events (skipped by every reader, the sequence goes on): {}",
            detail.join("; ")
        ),
        format!(
            "look at them (`sed -n '{}p' '{}'`); delete them by hand when no worker writes",
            found[0].1.split(", ").next().unwrap_or("1"),
            found[0].0.display()
        ),
    )
    .with_facts(json!({"bad_lines": found.iter().map(|(p, l)| json!({"file": p, "lines": l})).collect::<Vec<_>>()}))
}

/// `2 workers lost their panes (their tmux server is gone): w1 (api), w3 (docs)`.
pub fn lost_panes(lost: &[crate::fleet::worker::Worker]) -> String {
    let names: Vec<String> = lost
        .iter()
        .map(|w| format!("{} ({})", w.meta.id, w.meta.name))
        .collect();
    let count = match lost.len() {
        1 => "1 worker lost its pane".to_string(),
        n => format!("{n} workers lost their panes"),
    };
    format!("{count} (their tmux server is gone): {}", names.join(", "))
}

/// Where `name` is: itself when it holds a `/` and is a file, else the first match on PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// The Claude Code program orch starts: `${ORCH_CLAUDE_BIN:-claude}`, found.
fn claude_program() -> Option<PathBuf> {
    find_program(&Harness::Claude.program()?)
}

/// Runs `program --version` with a deadline; its first line of output, or why there is none.
fn version_of(program: &Path, timeout: Duration) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{} --version`: {e}", program.display()))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{} --version` did not answer within {} s",
                    program.display(),
                    timeout.as_secs()
                ));
            }
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("cannot read `{} --version`: {e}", program.display()))?;
    // pi 0.73 prints its version on stderr when stdout is not a terminal.
    let text = if out.stdout.iter().all(u8::is_ascii_whitespace) {
        String::from_utf8_lossy(&out.stderr)
    } else {
        String::from_utf8_lossy(&out.stdout)
    };
    let line = text.lines().next().unwrap_or("").trim().to_string();
    if !out.status.success() || line.is_empty() {
        return Err(format!("`{} --version` failed", program.display()));
    }
    Ok(line)
}

/// `claude`: `${ORCH_CLAUDE_BIN:-claude}` is found, answers `--version`, and is a release
/// orch was verified on ([`Harness::verified`]); a warning otherwise, never a failure.
pub fn claude() -> Check {
    harness(Harness::Claude, Duration::from_secs(5)).unwrap_or_else(|| {
        Check::warn(
            "claude",
            format!(
                "`{}` is not found (on PATH)",
                Harness::Claude.program().unwrap_or_default()
            ),
            "install Claude Code (`npm install -g @anthropic-ai/claude-code`) or point \
             ORCH_CLAUDE_BIN at it",
        )
    })
}

/// `codex`, `gemini`, `pi`: the other agent CLIs (every harness with a program of its own
/// but Claude Code; `$ORCH_<NAME>_BIN`, else on PATH), each with its version against the
/// verified range. They are optional: one that is not installed is
/// fine, one outside the range or not answering a warning.
pub fn harnesses() -> Vec<Check> {
    let check = |h: Harness| {
        // Node CLIs take seconds to start on a busy machine (Gemini CLI starts twice).
        harness(h, Duration::from_secs(10)).unwrap_or_else(|| {
            Check::ok(
                h.name(),
                format!(
                    "`{}` is not installed (optional)",
                    h.program().unwrap_or_default()
                ),
            )
        })
    };
    std::thread::scope(|scope| {
        let running: Vec<_> = Harness::ALL
            .iter()
            .copied()
            .filter(|h| *h != Harness::Claude && h.program().is_some())
            .map(|h| (h, scope.spawn(move || check(h))))
            .collect();
        running
            .into_iter()
            .map(|(h, thread)| {
                thread.join().unwrap_or_else(|_| {
                    Check::warn(h.name(), "the check panicked", "run `orch doctor` again")
                })
            })
            .collect()
    })
}

/// The check of one harness's CLI, or `None` when it is not found: its version, and whether
/// it lies in the range orch was verified on. The JSON gains `version` and `verified`.
fn harness(h: Harness, timeout: Duration) -> Option<Check> {
    let program = find_program(&h.program()?)?;
    let name = h.name();
    let line = match version_of(&program, timeout) {
        Ok(line) => line,
        Err(why) => return Some(Check::warn(name, why, format!("reinstall {}", h.title()))),
    };
    let Some(verified) = h.verified() else {
        return Some(Check::ok(name, line));
    };
    let at = program.display();
    let Some(version) = Version::find(&line) else {
        return Some(Check::warn(
            name,
            format!("`{at} --version` printed `{line}`, which holds no version"),
            format!("reinstall {}", h.title()),
        ));
    };
    let facts = json!({
        "version": version.to_string(),
        "verified": {"oldest": verified.oldest.to_string(), "newest": verified.newest.to_string(),
                     "date": verified.date},
    });
    let range = verified.range();
    let check = if verified.covers(version) {
        Check::ok(name, format!("{version} (`{at}`), verified: {range}"))
    } else {
        let (side, pin) = if version > verified.newest {
            ("newer than", verified.newest)
        } else {
            ("older than", verified.oldest)
        };
        Check::warn(
            name,
            format!(
                "{version} (`{at}`) is {side} the releases orch was verified on ({range}, {}): \
                 prompts, hooks or screens may differ",
                verified.date
            ),
            format!(
                "use a verified release (`npm install -g {}@{pin}`), or check this one with \
                 orch's tests (`install/test-deps.sh --latest && ORCH_TEST_CLI=latest cargo \
                 test`)",
                verified.package
            ),
        )
    };
    Some(check.with_facts(facts))
}

/// A private tmux server for the probe and its temp folder: on drop the server is killed, the
/// Claude Code it ran is killed and given a moment to go (it writes into its HOME until it
/// does), then the folder and the server's socket are removed.
struct ProbeServer {
    server: crate::tmux::TmuxServer,
    socket_path: Option<String>,
    /// The pid of the process in the probe's pane.
    pid: Option<String>,
    tmp: tempfile::TempDir,
}

impl Drop for ProbeServer {
    fn drop(&mut self) {
        // A throwaway Claude Code in a temp HOME: no need for its slow graceful exit.
        if let Some(pid) = &self.pid {
            let _ = Command::new("kill")
                .args(["-KILL", pid])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.server.run(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = fs::remove_file(path);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        // Alive and not yet a zombie (a killed child of the gone server waits to be reaped).
        let alive = |pid: &str| {
            Command::new("ps")
                .args(["-o", "stat=", "-p", pid])
                .stderr(Stdio::null())
                .output()
                .is_ok_and(|o| {
                    let stat = String::from_utf8_lossy(&o.stdout);
                    !stat.trim().is_empty() && !stat.trim_start().starts_with('Z')
                })
        };
        if let Some(pid) = &self.pid {
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        loop {
            match fs::remove_dir_all(self.tmp.path()) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {}
                _ => break,
            }
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `probe`: starts `claude -p` in a private tmux server with an inline SessionStart hook that
/// writes `$TMUX_PANE` to a file, and compares what the hook saw with the pane's id. Claude Code
/// gets a temp HOME, a closed port as its API (the hook fires before any model call) and no
/// network; everything is removed afterwards.
pub fn probe(claude: &Path, timeout: Duration) -> Check {
    const NAME: &str = "probe";
    let started = Instant::now();
    let result = run_probe(claude, timeout);
    let took = format!("{:.1} s", started.elapsed().as_secs_f64());
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    match result {
        Ok((pane, seen, hook)) if pane == seen => Check::ok(
            NAME,
            format!(
                "a SessionStart hook saw TMUX_PANE={seen}, its pane (hook after {}, {took} in all)",
                secs(hook)
            ),
        ),
        Ok((pane, seen, _)) => Check::warn(
            NAME,
            format!("a SessionStart hook saw TMUX_PANE=`{seen}` in pane {pane} ({took})"),
            "start Claude Code so that it keeps tmux's environment (no `env -i` wrapper)",
        ),
        Err(why) => Check::warn(
            NAME,
            format!("{why} ({took})"),
            "run `claude -p hi` inside tmux to see what goes wrong",
        ),
    }
}

/// Runs the probe: `(pane id, what the hook wrote, how long the hook took to run)`, or why it did not get that far.
fn run_probe(claude: &Path, timeout: Duration) -> Result<(String, String, Duration), String> {
    let begun = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("orch-doctor-")
        .tempdir()
        .map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let (home, work) = (tmp.path().join("home"), tmp.path().join("work"));
    for dir in [&home, &work] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create `{}`: {e}", dir.display()))?;
    }
    let out = tmp.path().join("pane");
    let part = tmp.path().join("pane.part");
    let quote = |p: &Path| settings::shell_quote(&p.display().to_string());
    let hook = format!(
        "printf %s \"$TMUX_PANE\" > {part} && mv {part} {out}",
        part = quote(&part),
        out = quote(&out)
    );
    let inline =
        json!({"hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": hook}]}]}});
    let claude_path = claude.display().to_string();
    let work_path = work.display().to_string();
    let inline = inline.to_string();

    let mut guard = ProbeServer {
        server: crate::tmux::TmuxServer {
            socket_name: Some(format!("orch-doctor-{}", std::process::id())),
            socket_path: None,
        },
        socket_path: None,
        pid: None,
        tmp,
    };
    let mut cmd = guard.server.command();
    cmd.args(["-f", "/dev/null", "start-server", ";"])
        .args(["set-option", "-g", "remain-on-exit", "on", ";"])
        .args([
            "new-session",
            "-d",
            "-P",
            "-F",
            "#{pane_id}",
            "-x",
            "120",
            "-y",
            "30",
        ])
        .args(["-c", &work_path, "--", &claude_path, "-p", "probe"])
        .args(["--settings", &inline])
        .env_remove("TMUX_PANE")
        .env("HOME", &home)
        .env("CLAUDE_CONFIG_DIR", home.join(".claude"))
        .env("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
        .env("ANTHROPIC_API_KEY", "probe")
        .env_remove("ANTHROPIC_AUTH_TOKEN")
        .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
        .env("CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL", "1")
        .stdin(Stdio::null());
    let started = cmd
        .output()
        .map_err(|e| format!("cannot run `tmux`: {e}"))?;
    if !started.status.success() {
        return Err(format!(
            "cannot start a private tmux server: {}",
            String::from_utf8_lossy(&started.stderr).trim()
        ));
    }
    guard.socket_path = guard.server.socket_path().ok();
    let pane = String::from_utf8_lossy(&started.stdout).trim().to_string();
    guard.pid = guard
        .server
        .run(&["display-message", "-p", "-t", &pane, "#{pane_pid}"])
        .ok()
        .map(|pid| pid.trim().to_string())
        .filter(|pid| !pid.is_empty());

    let deadline = Instant::now() + timeout;
    let mut dead_seen = false;
    loop {
        if let Ok(seen) = fs::read_to_string(&out) {
            return Ok((pane, seen, begun.elapsed()));
        }
        let dead = guard
            .server
            .run(&["display-message", "-p", "-t", &pane, "#{pane_dead}"])
            .map(|s| s.trim() == "1")
            .unwrap_or(true);
        if dead && dead_seen {
            let screen = guard.server.capture(&pane).unwrap_or_default();
            let last = screen
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty() && !l.starts_with("Pane is dead"))
                .map_or("no output".to_string(), |l| format!("last output: `{l}`"));
            return Err(format!(
                "Claude Code exited without running the SessionStart hook ({last})"
            ));
        }
        // One more look at the file after the pane died: the hook may have just finished.
        dead_seen = dead;
        if Instant::now() >= deadline {
            return Err(format!(
                "no SessionStart hook ran within {} s",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(command: &str) -> Value {
        json!([{"hooks": [{"type": "command", "command": command}]}])
    }

    fn all_events(command: &str) -> Value {
        let mut hooks = serde_json::Map::new();
        for event in settings::EVENTS {
            hooks.insert(event.into(), entry(command));
        }
        json!({ "hooks": hooks })
    }

    #[test]
    fn finds_missing_events() {
        let mut value = all_events("/x/orch-hook");
        value["hooks"]["Stop"] = entry("my-own-hook");
        value["hooks"].as_object_mut().unwrap().remove("SessionEnd");
        let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("Stop, SessionEnd"),
            "{}",
            check.detail
        );
        assert_eq!(check.fix.as_deref(), Some("orch up"));
    }

    #[test]
    fn a_stale_hook_path_fails_naming_it() {
        let value = all_events("/nonexistent/orch-hook");
        let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("`/nonexistent/orch-hook`"),
            "{}",
            check.detail
        );
    }

    #[test]
    fn another_installations_hook_fails() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("orch-hook");
        fs::write(&other, "").unwrap();
        fs::set_permissions(&other, fs::Permissions::from_mode(0o755)).unwrap();
        let value = all_events(&other.display().to_string());
        let check = judge_hooks(&value, Path::new("s.json"), Path::new("/x/orch-hook"));
        assert_eq!(check.status, Status::Fail);
        assert!(
            check.detail.contains("another orch installation"),
            "{}",
            check.detail
        );
        let me = other.canonicalize().unwrap();
        assert_eq!(
            judge_hooks(&value, Path::new("s.json"), &me).status,
            Status::Ok
        );
    }

    #[test]
    fn wrong_shapes_count_as_missing() {
        let value = json!({"hooks": {"Stop": {"not": "an array"}}});
        assert!(orch_hooks(&value).iter().all(|(_, c)| c.is_empty()));
        assert!(orch_hooks(&json!([])).iter().all(|(_, c)| c.is_empty()));
    }

    #[test]
    fn hook_programs_are_unquoted() {
        assert_eq!(hook_program("/a/orch-hook"), "/a/orch-hook");
        assert_eq!(hook_program("/a/orch-hook --x"), "/a/orch-hook");
        assert_eq!(hook_program("'/my dir/orch-hook'"), "/my dir/orch-hook");
        assert_eq!(hook_program(r"'/it'\''s/orch-hook'"), "/it's/orch-hook");
        let quoted = settings::hook_command(Path::new("/a b/it's/orch-hook")).unwrap();
        assert_eq!(hook_program(&quoted), "/a b/it's/orch-hook");
    }

    #[test]
    fn plugin_and_settings_together_warn() {
        let mut value = all_events("/x/orch-hook");
        value["enabledPlugins"] = json!({"orch@market": true, "other@m": true});
        let settings: Settings = Ok((Some(value.clone()), "s.json".into()));
        assert_eq!(plugin(&settings).status, Status::Warn);
        value["enabledPlugins"]["orch@market"] = json!(false);
        assert!(!plugin_enabled(&value));
        let settings: Settings = Ok((Some(value), "s.json".into()));
        assert_eq!(plugin(&settings).status, Status::Ok);
        assert!(plugin_enabled(&json!({"enabledPlugins": {"orch@x": true}})));
        assert!(!plugin_enabled(
            &json!({"enabledPlugins": {"orchestra@x": true}})
        ));
    }

    #[test]
    fn state_mode_and_owner() {
        let dir = Path::new("/s");
        assert_eq!(judge_state(dir, 0o40700, 5, 5).status, Status::Ok);
        let open = judge_state(dir, 0o40755, 5, 5);
        assert_eq!(open.status, Status::Fail);
        assert!(open.detail.contains("0755"));
        assert_eq!(open.fix.as_deref(), Some("chmod 700 '/s'"));
        let theirs = judge_state(dir, 0o40700, 0, 5);
        assert_eq!(theirs.status, Status::Fail);
        assert!(theirs.detail.contains("uid 0"));
    }

    #[test]
    fn statuses_print_and_serialise() {
        assert_eq!(Status::Fail.to_string(), "FAIL");
        assert_eq!(Status::Warn.to_string(), "warn");
        let check = Check::ok("x", "fine");
        assert_eq!(
            check.to_json(),
            json!({"name": "x", "status": "ok", "detail": "fine", "fix": null})
        );
    }
}
