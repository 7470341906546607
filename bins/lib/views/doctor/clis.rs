//! The agent CLIs' checks: each one found, and its version against the releases orch was
//! verified on (README: Compatibility).

use super::check::Check;
use super::install::is_executable;
use crate::harness::HarnessExt;
use crate::harness::{Harness, Version};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
pub(super) fn claude_program() -> Option<PathBuf> {
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
