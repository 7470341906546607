//! Who hears a worker's events: its subscriptions, kept in the publisher's
//! `subscribers.json` (`[{"subscriber": "w3", "events": ["stop"], "mode": "push", "since":
//! 7}]`). The publisher's folder ([`crate::worker::WorkerDir::publish`]) copies each matching
//! event into each subscriber's inbox, in the order of its log.

use serde::{Deserialize, Serialize};

/// How a subscriber hears about items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriptionMode {
    /// Pushed: a Stop block when mid-turn, a notice typed into the pane when idle.
    Push,
    /// Only kept in the inbox, for `orch inbox`.
    Inbox,
}

/// One subscription, as kept in the publisher's `subscribers.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The subscriber's id (a worker or an operator record).
    pub subscriber: String,
    /// Event kinds copied (`stop`, `notification`, `escalation`...); empty means all.
    pub events: Vec<String>,
    pub mode: SubscriptionMode,
    /// The publisher's cursor when the subscription began: older events are not copied.
    pub since: u64,
}

impl Subscription {
    /// Whether an event of kind `kind` (its name, [`crate::event::Kind::name`]) is copied.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == kind || e == "any")
    }
}
