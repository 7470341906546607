//! `orch doctor`'s checks: each looks at one thing orch needs (tmux, the hooks in Claude Code's
//! settings.json, the skills, the state directory, Claude Code itself, `TMUX_PANE` reaching a
//! hook) and returns a [`Check`]. Nothing here changes the user's files.
//!
//! The checks are grouped by what they look at: the install (`install`: tmux, hooks, skills,
//! plugin), the state folder (`state`: owner and mode, lost panes, event logs), the agent
//! CLIs (`clis`: each one's version against the releases orch was verified on) and the live
//! probe (`probe`: `TMUX_PANE` reaching a hook), and the prices spend is weighed with
//! (`prices`).

mod check;
mod clis;
mod install;
mod prices;
mod probe;
mod state;

pub use check::{Check, Verdict};
use clis::claude_program;
pub use clis::{claude, harnesses};
pub use install::{hooks, plugin, skills, tmux};
pub use prices::prices;
pub use probe::probe;
pub use state::{logs, lost_panes, notify, state, workers};

use crate::claude::settings;
use serde_json::Value;
use std::time::Duration;

/// What `orch doctor` may skip.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoctorOptions {
    /// Do not start Claude Code for the live `TMUX_PANE` probe.
    pub skip_probe: bool,
}

/// Runs every check, in the order they are printed.
pub fn run_all(options: DoctorOptions) -> Vec<Check> {
    let tmux = tmux();
    let settings = crate::claude::claude_settings().and_then(|p| Ok((settings::read(&p)?, p)));
    let claude = claude();
    let probe = if options.skip_probe {
        Check::new("probe", Verdict::Skipped, "not run (--skip-probe)")
    } else if tmux.status != Verdict::Ok {
        Check::new("probe", Verdict::Skipped, "not run: tmux is not usable")
    } else {
        match claude_program() {
            Some(bin) => probe(&bin, Duration::from_secs(15)),
            None => Check::new(
                "probe",
                Verdict::Skipped,
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
        prices(),
        notify(),
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
            Some("ok") => Verdict::Ok,
            Some("warn") => Verdict::Warn,
            Some("fail") => Verdict::Fail,
            _ => Verdict::Skipped,
        };
        let mut check = Check::new("", status, text("detail"));
        check.name = text("name").into();
        check.fix = item["fix"].as_str().map(str::to_string);
        checks.push(mark(check));
    }
    checks
}

#[cfg(test)]
mod tests;
