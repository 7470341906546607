//! One module per `orch` subcommand, each with its clap `Args` and a `run`.

pub mod audit;
pub mod capture;
pub mod classify;
pub mod decide;
pub mod demo;
pub mod down;
pub mod escalate;
pub mod escalations;
pub mod events;
pub mod inbox;
pub mod interrupt;
pub mod kill;
pub mod listen;
pub mod ps;
pub mod spawn;
pub mod subscribe;
pub mod subscriptions;
pub mod tell;
pub mod unsubscribe;
pub mod up;

use std::io::Write;

/// What every subcommand gets besides its own flags.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    /// `--json`: print JSON instead of text.
    pub json: bool,
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
