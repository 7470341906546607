//! `orch escalate`: from a worker, raise a decision on the four axes to its parent.

use super::Ctx;
use crate::coordination::escalation::{self, Ask};
use crate::error::Error;
use crate::fleet::worker::{Waited, Worker};
use anyhow::{bail, Context, Result};
use orch_store::Kind;

use std::path::PathBuf;
use std::time::Duration;

/// Flags of `orch escalate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// An axis the decision trips (repeatable): taste, architecture, ethics, reversibility.
    #[arg(long = "axis", required = true, value_parser = parse_axis)]
    pub axes: Vec<orch_store::Axis>,
    /// What is to be decided, in a sentence.
    #[arg(long)]
    pub summary: String,
    /// An option to choose from (repeatable).
    #[arg(long = "option")]
    pub options: Vec<String>,
    /// A file with the details (its text is kept with the escalation).
    #[arg(long)]
    pub detail: Option<PathBuf>,
    /// Block until it is decided and print the decision.
    #[arg(long)]
    pub wait: bool,
    /// With `--wait`: give up after this many seconds (exit 3).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

/// Runs `orch escalate`: prints the escalation id (with `--wait`, then the decision).
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let crate::coordination::roles::Actor::Worker(id) =
        crate::coordination::roles::Actor::from_env()
    else {
        bail!(
            "`orch escalate` runs inside a worker (ORCH_WORKER is not set): the operator takes \
             decisions to the person directly"
        );
    };
    let worker = Worker::resolve(&id)?;
    let detail = match &args.detail {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read `--detail {}`", path.display()))?,
        ),
        None => None,
    };
    let esc = escalation::raise(
        &worker.dir,
        Ask {
            axes: args.axes,
            summary: args.summary,
            options: args.options,
            detail,
            source: "worker".into(),
            request: None,
        },
    )?;
    super::audit(
        worker.store(),
        super::entry("escalate")
            .target(&esc.id)
            .field("axes", orch_store::Axis::joined(&esc.axes))
            .field("parent", esc.parent.clone())
            .cursor(esc.cursor),
    );
    if !args.wait {
        if ctx.json {
            return super::print_json(&escalation::to_json(&esc));
        }
        println!("{}", esc.id);
        return Ok(());
    }
    if !ctx.json {
        eprintln!(
            "orch: {} raised to {}; waiting for the decision",
            esc.id, esc.parent
        );
    }
    let timeout = args.timeout.map(|s| Duration::from_secs_f64(s.max(0.0)));
    let wanted = esc.id.clone();
    let waited = worker.wait(esc.cursor, timeout, |e| {
        matches!(&e.kind, Kind::Decision(d) if d.escalation.as_deref() == Some(wanted.as_str()))
            .then_some(())
    })?;
    match waited {
        Waited::Found((), _) => {
            let esc = escalation::load(worker.store(), &esc.id)?;
            // The answer is printed here: the inbox need not push it again.
            worker.dir.claim()?;
            if ctx.json {
                super::print_json(&escalation::to_json(&esc))
            } else {
                println!("{}", esc.decision.unwrap_or_default());
                Ok(())
            }
        }
        Waited::TimedOut => bail!(Error::Timeout(format!(
            "escalation {} is still open: `orch escalations --open`",
            esc.id
        ))),
        Waited::Gone(why) => bail!(Error::Gone(why)),
    }
}

/// The text form of one escalation, for listings.
pub fn line(esc: &crate::coordination::escalation::Escalation) -> String {
    let state = if esc.status == "open" {
        "open".to_string()
    } else {
        format!(
            "decided by {}{}: {}",
            esc.decided_by.as_deref().unwrap_or("?"),
            if esc.self_decided { " (self)" } else { "" },
            esc.decision.as_deref().unwrap_or("")
        )
    };
    format!(
        "{} {} -> {} [{}] {}{} — {}",
        esc.id,
        esc.worker,
        esc.parent,
        orch_store::Axis::joined(&esc.axes),
        esc.summary,
        if esc.options.is_empty() {
            String::new()
        } else {
            format!(" (options: {})", esc.options.join(" | "))
        },
        state
    )
}

/// `--axis`: one of the four axes, by name.
fn parse_axis(name: &str) -> Result<orch_store::Axis> {
    name.parse()
}
