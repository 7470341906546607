//! `orch subscribe PUBLISHER`: copy a worker's events into a subscriber's inbox from now on
//! (pushed to the subscriber unless `--mode inbox`), or with `--follow` stream them to stdout.

use super::Ctx;
use crate::coordination::inbox;
use crate::fleet::worker::{Waited, Worker};
use anyhow::{bail, Result};
use orch_store::Role;
use orch_store::{Store, Subscription, SubscriptionMode};
use serde_json::json;

/// `--mode`: how the subscriber hears about items.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    /// Pushed: a Stop block when mid-turn, a notice typed into the pane when idle.
    Push,
    /// Only kept in the inbox, for `orch inbox`.
    Inbox,
}

impl From<ModeArg> for SubscriptionMode {
    fn from(mode: ModeArg) -> SubscriptionMode {
        match mode {
            ModeArg::Push => SubscriptionMode::Push,
            ModeArg::Inbox => SubscriptionMode::Inbox,
        }
    }
}

/// The event kinds a subscription copies by default.
pub const DEFAULT_EVENTS: &str =
    "stop,stop_failure,notification,permission_request,escalation,session_end,killed";

/// Flags of `orch subscribe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker whose events to hear: its id, `--name` or pane id.
    pub publisher: String,
    /// Who hears them: a worker, or `operator`; default: the caller (the worker running this,
    /// else the operator's pane).
    #[arg(long)]
    pub to: Option<String>,
    /// Comma-separated event kinds to copy (`any` for all).
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_EVENTS)]
    pub events: Vec<String>,
    /// `push`: delivered into the subscriber (Stop hook when busy, a typed notice when idle);
    /// `inbox`: only kept for `orch inbox`.
    #[arg(long, value_enum, default_value_t = ModeArg::Push)]
    pub mode: ModeArg,
    /// Stream the matching events to stdout as JSON lines until interrupted or the publisher
    /// is gone, instead of subscribing.
    #[arg(long)]
    pub follow: bool,
    /// Start after this cursor of the publisher instead of its current one (for `--follow`:
    /// also stream what happened since then; for a subscription: copy from there on).
    #[arg(long, value_name = "SEQ")]
    pub after: Option<u64>,
}

/// Runs `orch subscribe`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let publisher = Worker::resolve(&args.publisher)?;
    let who = crate::coordination::rights::allow(
        publisher.store(),
        crate::coordination::rights::Action::Subscribe,
        Some(&publisher.meta),
    )?;
    let events: Vec<String> = args
        .events
        .iter()
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    let from = match args.after {
        Some(seq) => seq,
        None => publisher.cursor()?,
    };
    if args.follow {
        return follow(&publisher, &events, from);
    }
    let state = publisher.store().clone();
    let subscriber = subscriber_id(&state, args.to.as_deref())?;
    if subscriber == publisher.meta.id {
        bail!("a worker cannot subscribe to itself: `orch listen` waits on its own events");
    }
    let sub = Subscription {
        subscriber: subscriber.clone(),
        events: if events.iter().any(|e| e == "any") {
            Vec::new()
        } else {
            events
        },
        mode: args.mode.into(),
        since: from,
    };
    // Subscribing someone else pushes into their pane: that takes the right to tell them.
    let own = match &who {
        crate::coordination::rights::Who::Worker { id, .. } => *id == subscriber,
        crate::coordination::rights::Who::Operator => {
            state.meta(&subscriber)?.role == Role::Operator
        }
    };
    if !own {
        let target = state.meta(&subscriber)?;
        crate::coordination::rights::require(
            &state,
            &who,
            crate::coordination::rights::Action::Tell,
            Some(&crate::coordination::rights::Target::of(&target)),
        )?;
        // The operator pointing a worker at a peer lets it read that peer from now on.
        if who == crate::coordination::rights::Who::Operator && target.role != Role::Operator {
            crate::coordination::rights::add_peer(&state, &subscriber, &publisher.meta.id)?;
        }
    }
    let changed = inbox::subscribe(&state, &publisher.meta.id, sub.clone())?;
    super::audit(
        &state,
        super::entry("subscribe")
            .target(&publisher.meta.id)
            .field("subscriber", subscriber.clone())
            .field("events", sub.events.join(","))
            .cursor(sub.since),
    );
    let out = inbox::subscription_json(&publisher.meta.id, &sub);
    if ctx.json {
        let mut out = out;
        out["changed"] = json!(changed);
        super::print_json(&out)
    } else {
        println!(
            "{subscriber} hears {} ({}) from cursor {}, mode {}",
            publisher.meta.id,
            if sub.events.is_empty() {
                "any".to_string()
            } else {
                sub.events.join(",")
            },
            sub.since,
            format!("{:?}", sub.mode).to_lowercase()
        );
        Ok(())
    }
}

/// The record id of a subscriber named on the command line, or of the caller.
pub fn subscriber_id(state: &Store, to: Option<&str>) -> Result<String> {
    match to {
        Some("operator") => inbox::parent_record(state, "operator", None),
        Some(spec) => Ok(state.resolve(spec)?.id),
        None => match crate::coordination::roles::Actor::from_env() {
            crate::coordination::roles::Actor::Worker(id) => Ok(id),
            crate::coordination::roles::Actor::Operator { .. } => inbox::operator_record(state),
        },
    }
}

/// Streams `publisher`'s events of the kinds in `events` (all when empty or `any`) after
/// cursor `from` as JSON lines, until it is gone.
fn follow(publisher: &Worker, events: &[String], from: u64) -> Result<()> {
    let all = events.is_empty() || events.iter().any(|e| e == "any");
    let mut cursor = from;
    loop {
        let waited = publisher.wait(cursor, None, |e| {
            let kind = e.kind.name();
            (all || events.iter().any(|k| k == kind)).then_some(())
        })?;
        match waited {
            Waited::Found((), event) => {
                cursor = event.seq;
                super::print_json(&event.to_json())?;
            }
            Waited::TimedOut => {}
            Waited::Gone(why) => {
                eprintln!("orch: {why}");
                return Ok(());
            }
        }
    }
}
