//! Notifications: telling the person, wherever they are, what waits for them (a worker at a
//! permission dialog or a question, an open escalation, a budget spent, a usage limit, a worker
//! stuck, a conflict), through the channels of orch's configuration (`notify:`; terminal,
//! desktop, ntfy, webhook, Slack).
//!
//! Nothing here runs in the hook: the hook only starts the detached notifier
//! ([`orch_store::helper::wake_notifier`]), which reads what waits ([`need`]), sends it
//! ([`channel`]) and keeps the timers, the de-duplication and the retries ([`notifier`]); it
//! also takes the person's answers to escalations from a reply topic ([`reply`]).

pub mod channel;
pub mod need;
pub mod notifier;
pub mod reply;
