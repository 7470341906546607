//! Folder trust in `.claude.json`.
