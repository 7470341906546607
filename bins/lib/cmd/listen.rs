//! `orch listen WORKER`: block until the worker's next matching event after a cursor, woken by
//! file notifications (no polling of the log), and return promptly when the worker is gone.

use super::{Ctx, OnHost};
use crate::coordination::rights::Action;
use crate::error::Error;
use crate::fleet::worker::{Waited, Worker};
use anyhow::{bail, Result};
use orch_store::{Event, Kind};
use std::time::Duration;

/// Which events end a wait.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFilter {
    /// A Stop (the turn ended); a StopFailure ends the wait too, with exit 5.
    Stop,
    /// A Notification or a PermissionRequest (the worker needs attention).
    Notification,
    /// Any event.
    Any,
}

/// Flags of `orch listen`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker: its id, `--name` or pane id.
    pub worker: String,
    /// Wait for an event after this sequence number (default: the cursor printed by the last
    /// `tell`, else the worker's current cursor).
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
    /// Which events to wait for.
    #[arg(long, value_enum, default_value_t = EventFilter::Stop)]
    pub event: EventFilter,
    /// Give up after this many seconds (exit 3). Default: wait as long as the worker lives.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
}

/// Runs `orch listen`: prints the event as one JSON object (exit 0); exit 3 on timeout, 4 when
/// the pane is gone or the session ended, 5 when a stop wait ends in a StopFailure.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let Some(worker) = super::acting_on(ctx, &args.worker, Action::Listen, OnHost::Stay)? else {
        return Ok(());
    };
    crate::remote::relay::ensure_relay(&worker)?;
    let after = match args.after {
        Some(seq) => seq,
        None => match worker.dir.told() {
            Some(seq) => seq,
            None => worker.cursor()?,
        },
    };
    let timeout = args.timeout.map(|s| Duration::from_secs_f64(s.max(0.0)));
    let filter = args.event;
    let waited = worker.wait(after, timeout, |e| matches(filter, e))?;
    match waited {
        Waited::Found(failed, event) => {
            super::print_json(&event.to_json())?;
            if failed {
                let error = match &event.kind {
                    Kind::StopFailure(f) => f.error.as_ref().and_then(|e| e.as_str()),
                    _ => None,
                };
                bail!(Error::StopFailure(format!(
                    "worker `{}`: the turn failed: {}",
                    worker.meta.id,
                    event.kind.message().or(error).unwrap_or("stop failure")
                )));
            }
            Ok(())
        }
        Waited::TimedOut => bail!(Error::Timeout(format!(
            "timed out after {} s waiting for a {} event of `{}` after cursor {after}",
            args.timeout.unwrap_or_default(),
            format!("{filter:?}").to_lowercase(),
            worker.meta.id
        ))),
        Waited::Gone(why) => {
            // A pane lost with its tmux server can come back: say how, and that the cursor
            // still holds.
            // (Not when its folder went: there is nothing left to read.)
            let again = Worker::resolve(&worker.meta.id).and_then(|w| w.status());
            let hint = match again {
                Ok(crate::fleet::status::Status::Resumable) => format!(
                    "; it can be resumed: `orch resume {id}`, then `orch listen {id} --after \
                     {after}` misses nothing",
                    id = worker.meta.id
                ),
                _ => String::new(),
            };
            bail!(Error::Gone(format!("{why}{hint}")))
        }
    }
}

/// Whether `event` ends a wait with `filter`: `Some(false)` for a match, `Some(true)` for a
/// StopFailure ending a stop wait, `None` to keep waiting.
fn matches(filter: EventFilter, event: &Event) -> Option<bool> {
    match (filter, &event.kind) {
        (EventFilter::Any, _) => Some(false),
        (EventFilter::Stop, Kind::Stop(_)) => Some(false),
        (EventFilter::Stop, Kind::StopFailure(_)) => Some(true),
        (EventFilter::Notification, Kind::Notification(_) | Kind::PermissionRequest(_)) => {
            Some(false)
        }
        _ => None,
    }
}
