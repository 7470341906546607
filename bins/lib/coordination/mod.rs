//! How workers work together: subscriptions and inboxes, escalations on the four axes, who
//! may do what to whom (roles and rights), the audit log, and the classifier that maps a
//! command onto the axes, and permission dialogs answered from outside their pane.

pub mod audit;
pub(crate) mod classify;
pub(crate) mod escalation;
pub mod inbox;
pub mod permission;
pub mod rights;
pub(crate) mod roles;
