//! Claude Code settings.json: merging and removing orch hook entries.
