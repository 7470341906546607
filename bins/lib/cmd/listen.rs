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
/// the pane is gone or the session ended, 5 when a stop wait ends in a StopFailure, 7 when
/// that StopFailure is a usage limit (orch continues the turn when it lifts).
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
    let after = match filter {
        EventFilter::Stop => delivered_from(&worker, after, timeout)?,
        _ => after,
    };
    let waited = worker.wait(after, timeout, |e| matches(filter, e))?;
    match waited {
        Waited::Found(failed, event) => {
            super::print_json(&event.to_json())?;
            let now = orch_store::clock::now_ms();
            if failed
                && crate::spend::limit::detect(worker.meta.harness, &event.kind, now).is_some()
            {
                let hold = match worker.meta.account.as_deref() {
                    Some(account) => orch_store::limits::read(worker.store(), account)?,
                    None => None,
                };
                let when = hold.as_ref().map(crate::spend::limit::until_text);
                bail!(Error::Limited(format!(
                    "worker `{id}`: a usage limit paused the turn{}; `orch listen {id} --after {}` \
                     returns the continued turn's Stop",
                    when.unwrap_or_default(),
                    event.seq,
                    id = worker.meta.id,
                )));
            }
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

/// Where a stop wait from `after` starts: `after` itself, unless it is the cursor of a prompt
/// `tell` queued while a usage limit held the worker. Then the wait is for the turn that
/// prompt starts: first until it is delivered (its `dequeued` event), then from its `prompt`
/// event on, so no earlier turn's Stop ends it.
///
/// Errors: the prompt was dropped (`orch limits --drop`), the wait timed out or the worker is
/// gone.
fn delivered_from(worker: &Worker, after: u64, timeout: Option<Duration>) -> Result<u64> {
    let at = worker.dir.events_after(after.saturating_sub(1))?;
    let Some(Kind::Queued(queued)) = at.first().filter(|e| e.seq == after).map(|e| &e.kind) else {
        return Ok(after);
    };
    let id = queued.queued.clone().unwrap_or_default();
    let waited = worker.wait(after, timeout, |e| match &e.kind {
        Kind::Dequeued(d) if d.queued.as_deref() == Some(id.as_str()) => Some(d.cursor),
        _ => None,
    })?;
    match waited {
        Waited::Found(Some(cursor), _) => Ok(cursor),
        Waited::Found(None, _) => bail!(
            "the prompt queued as {id} for `{}` was dropped (`orch limits --drop`): no turn \
             will answer it",
            worker.meta.id
        ),
        Waited::TimedOut => bail!(Error::Timeout(format!(
            "timed out: the prompt queued as {id} for `{}` is not delivered yet (its account is \
             held: `orch limits`)",
            worker.meta.id
        ))),
        Waited::Gone(why) => bail!(Error::Gone(why)),
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
