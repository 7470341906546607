//! `orch doctor`: checks that orch can work here (tmux, hooks, skills, state directory, Claude
//! Code, `TMUX_PANE` reaching a hook) and says how to fix what is wrong. Changes nothing.

use super::Ctx;
use crate::error::Error;
use crate::views::doctor::{self, Verdict};
use anyhow::Result;
use serde_json::json;

/// Flags of `orch doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Skip the live probe that starts Claude Code in a private tmux server to see whether a
    /// hook gets `TMUX_PANE` (it takes about a second, at most 15).
    #[arg(long)]
    pub skip_probe: bool,
    /// Check another machine instead, over ssh: any destination `ssh` accepts (`ORCH_SSH`
    /// overrides the ssh command). Checks that orch is there, in this version, and the host's
    /// own `orch doctor`.
    #[arg(long, value_name = "DEST")]
    pub host: Option<String>,
}

/// Runs `orch doctor`: prints one line per check (`ok|warn|FAIL  <name>: <detail>`, then a
/// `fix:` line when it is not ok), or with `--json` one object `{"ok", "checks"}`.
///
/// Errors: a required check failed (exit 1, saying how many).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let checks = match &args.host {
        Some(dest) => doctor::remote(dest),
        None => doctor::run_all(doctor::DoctorOptions {
            skip_probe: args.skip_probe,
        }),
    };
    let failed = checks.iter().filter(|c| c.status == Verdict::Fail).count();
    if ctx.json {
        let list: Vec<_> = checks.iter().map(doctor::Check::to_json).collect();
        super::print_json(&json!({"ok": failed == 0, "checks": list}))?;
    } else {
        for check in &checks {
            let on = check
                .host
                .as_deref()
                .map_or(String::new(), |h| format!(" on {h}"));
            let verdict = format!("{:<4}", check.status.to_string());
            let color = match check.status {
                Verdict::Ok => anstyle::AnsiColor::Green,
                Verdict::Warn => anstyle::AnsiColor::Yellow,
                Verdict::Fail => anstyle::AnsiColor::Red,
                Verdict::Skipped => anstyle::AnsiColor::BrightBlack,
            };
            println!(
                "{}  {}{on}: {}",
                crate::views::paint::paint(&verdict, color, ctx.color),
                check.name,
                check.detail
            );
            if check.status != Verdict::Ok {
                if let Some(fix) = &check.fix {
                    println!("      fix: {fix}");
                }
            }
        }
    }
    if failed > 0 {
        let s = if failed == 1 { "" } else { "s" };
        return Err(Error::Failed(format!("{failed} required check{s} failed")).into());
    }
    Ok(())
}
