//! The state folder's checks: its owner and mode, workers that lost their panes, and lines of
//! the event logs that are not events.

use super::check::{Check, Verdict};
use orch_store::paths;
use orch_store::worker::File;
use serde_json::json;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The `state` verdict for a state dir with permission bits `mode` owned by `owner`, when the
/// current user is `me`.
pub fn judge_state(dir: &Path, mode: u32, owner: u32, me: u32) -> Check {
    const NAME: &str = "state";
    let shown = dir.display();
    if owner != me {
        return Check::fail(
            NAME,
            format!("`{shown}` belongs to uid {owner}, not to you (uid {me})"),
            format!("sudo chown -R {me} '{shown}'"),
        );
    }
    let mode = mode & 0o7777;
    if mode != 0o700 {
        return Check::fail(
            NAME,
            format!(
                "`{shown}` has mode {mode:04o}, expected 0700 (others could read or forge events)"
            ),
            format!("chmod 700 '{shown}'"),
        );
    }
    Check::ok(NAME, format!("`{shown}` is yours, mode 0700"))
}

/// `state`: the state dir, if it exists, is the current user's and mode 0700.
pub fn state() -> Check {
    const NAME: &str = "state";
    let dir = match paths::state_dir() {
        Ok(dir) => dir,
        Err(err) => return Check::fail(NAME, format!("{err:#}"), "set ORCH_HOME"),
    };
    let meta = match fs::metadata(&dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Check::ok(
                NAME,
                format!(
                    "`{}` does not exist yet (created on first spawn)",
                    dir.display()
                ),
            )
        }
        Err(err) => {
            return Check::fail(
                NAME,
                format!("cannot inspect `{}`: {err}", dir.display()),
                "check the folder's permissions",
            )
        }
        Ok(meta) => meta,
    };
    judge_state(
        &dir,
        meta.mode(),
        meta.uid(),
        orch_store::store::current_uid(),
    )
}

/// `workers`: warns about workers whose pane is gone though nobody ended them (their tmux
/// server died); `orch resume --all` starts them again.
pub fn workers() -> Check {
    const NAME: &str = "workers";
    let lost = orch_store::Store::from_env().and_then(|s| crate::views::summary::resumable(&s));
    match lost {
        Err(err) => Check::new(NAME, Verdict::Skipped, format!("not run: {err:#}")),
        Ok(lost) if lost.is_empty() => Check::ok(NAME, "none lost its pane"),
        Ok(lost) => Check::warn(NAME, lost_panes(&lost), "orch resume --all")
            .with_facts(json!({"resumable": lost.iter().map(|w| &w.meta.id).collect::<Vec<_>>()})),
    }
}

/// `logs`: warns about lines in the workers' event logs and inboxes that are not events (a
/// crash in the middle of a write, a stray echo): every reader skips them and the sequence
/// goes on after the newest valid event, but they are worth a look.
pub fn logs() -> Check {
    const NAME: &str = "logs";
    let state = match orch_store::Store::from_env() {
        Ok(state) => state,
        Err(err) => return Check::new(NAME, Verdict::Skipped, format!("not run: {err:#}")),
    };
    let Ok(entries) = fs::read_dir(state.root.join("workers")) else {
        return Check::ok(NAME, "no worker logs yet");
    };
    let mut found = Vec::new();
    let mut files = 0;
    let mut ids: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    for dir in ids.iter().filter_map(|id| state.worker(id).ok()) {
        for file in [File::Events, File::Inbox] {
            let path = dir.file(file);
            let Ok(health) = orch_store::journal::scan(&path) else {
                continue;
            };
            files += 1;
            if !health.bad_lines.is_empty() {
                let lines: Vec<String> = health.bad_lines.iter().map(u64::to_string).collect();
                found.push((path, lines.join(", ")));
            }
        }
    }
    if found.is_empty() {
        return Check::ok(NAME, format!("{files} logs hold only events"));
    }
    let detail: Vec<String> = found
        .iter()
        .map(|(path, lines)| format!("`{}` line {lines}", path.display()))
        .collect();
    Check::warn(
        NAME,
        format!(
            "lines that are not events (skipped by every reader, the sequence goes on): {}",
            detail.join("; ")
        ),
        format!(
            "look at them (`sed -n '{}p' '{}'`); delete them by hand when no worker writes",
            found[0].1.split(", ").next().unwrap_or("1"),
            found[0].0.display()
        ),
    )
    .with_facts(json!({"bad_lines": found.iter().map(|(p, l)| json!({"file": p, "lines": l})).collect::<Vec<_>>()}))
}

/// `notify`: the notification channels (orch's configuration) and whether the notifier's last
/// send to each went through; a channel failing since its last success is a warning naming
/// its error (never its URL or token). Skipped when none is set.
pub fn notify() -> Check {
    const NAME: &str = "notify";
    let settings = match orch_store::config::load() {
        Ok(config) => config.notify,
        Err(err) => return Check::warn(NAME, format!("{err:#}"), "fix orch's configuration"),
    };
    if settings.channels.is_empty() {
        return Check::new(
            NAME,
            Verdict::Skipped,
            "no notification channel (`orch notify add`)",
        );
    }
    let state = orch_store::Store::from_env()
        .and_then(|store| crate::notify::notifier::read_state(&store))
        .unwrap_or_default();
    let failing: Vec<(String, crate::notify::notifier::Health)> = settings
        .channels
        .iter()
        .filter_map(|c| {
            let health = state.channels.get(&c.name)?;
            health
                .failing_since_ms
                .map(|_| (c.name.clone(), health.clone()))
        })
        .collect();
    if failing.is_empty() {
        return Check::ok(
            NAME,
            format!("{} channel(s), none failing", settings.channels.len()),
        );
    }
    let detail: Vec<String> = failing
        .iter()
        .map(|(name, h)| {
            format!(
                "`{name}` failing for {} ({} tries): {}",
                orch_store::clock::age(
                    orch_store::clock::now_ms()
                        .saturating_sub(h.failing_since_ms.unwrap_or_default())
                ),
                h.failures,
                h.last_error.as_deref().unwrap_or("")
            )
        })
        .collect();
    Check::warn(
        NAME,
        detail.join("; "),
        format!(
            "check it with `orch notify test {}`; orch keeps retrying, nothing is dropped",
            failing[0].0
        ),
    )
    .with_facts(json!({"failing": failing.iter().map(|(n, _)| n).collect::<Vec<_>>()}))
}

/// `2 workers lost their panes (their tmux server is gone): w1 (api), w3 (docs)`.
pub fn lost_panes(lost: &[crate::fleet::worker::Worker]) -> String {
    let names: Vec<String> = lost
        .iter()
        .map(|w| format!("{} ({})", w.meta.id, w.meta.name))
        .collect();
    let count = match lost.len() {
        1 => "1 worker lost its pane".to_string(),
        n => format!("{n} workers lost their panes"),
    };
    format!("{count} (their tmux server is gone): {}", names.join(", "))
}
