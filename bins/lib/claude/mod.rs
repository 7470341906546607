//! Claude Code's files and formats: its settings.json (hook registrations) and its own state
//! file `.claude.json` (folder trust).

pub mod settings;
pub mod trust;
