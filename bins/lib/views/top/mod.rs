//! `orch top`'s board, view and drawing: every worker at a glance (status, age of its newest
//! event, last message, tokens and cost, unread inbox items, open escalations) and the open
//! escalations, kept current from the state folder's file notifications (`board`); what the
//! person looks at and what each key asks for (`view`); how it is drawn (`draw`). The
//! terminal, the loop and the actions themselves are `cmd::top`'s.
//!
//! Nothing here touches a terminal: [`draw()`] renders into any ratatui frame (a test's
//! `TestBackend` as well as crossterm's), and [`View::key`] turns a key into a [`KeyAction`].

mod board;
mod draw;
mod view;

pub use board::{folders, Board};
pub use draw::{compact, draw};
pub use view::{KeyAction, View};

#[cfg(test)]
mod tests;
