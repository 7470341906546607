//! The notifier, `orch __notify all`: the one detached process per state folder
//! ([`orch_store::helper::notifier`]) that tells the person what waits for them. Started on
//! demand (the hook when a worker comes to need the person, an escalation raised, the commands
//! that find something waiting); it lives while something is open, a worker is busy (stuck
//! detection) or a send is due, and leaves when nothing is.
//!
//! Each round (every [`ROUND`]) it reads what waits ([`need::open`]) and, per need and
//! channel: waits out the grace delay from when the need began, holds it through quiet hours,
//! sends it once, again after `resend_s` if still open, and forgets it when it is cleared.
//! A send that fails is retried with a doubling backoff ([`backoff`]) until it goes through or
//! the need clears; the channel is reported failing (`orch doctor`) from its first failure to
//! its next success. A channel at its hourly cap waits for room. While an escalation paged
//! with a reply topic is open, it follows that topic and takes the person's answers
//! ([`reply`]). What it knows is kept in `notify/state.json` ([`State`]), so a restart sends
//! nothing twice and loses nothing.

use crate::notify::channel;
use crate::notify::need::{self, Liveness, Need};
use crate::notify::reply;
use anyhow::{Context, Result};
use orch_store::config::{Channel, NotifySettings};
use orch_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How often the notifier looks at the store while it runs: also the most a new need waits
/// to be seen once its grace delay is over, when that delay is shorter.
pub const ROUND: Duration = Duration::from_millis(200);

/// The longest wait between two tries of a failing channel.
const MAX_BACKOFF_MS: u64 = 300_000;

/// What the notifier keeps between rounds and restarts (`notify/state.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The open needs it has seen, by [`Need::key`].
    pub needs: BTreeMap<String, Seen>,
    /// Each channel's health, by name.
    pub channels: BTreeMap<String, Health>,
    /// The answers awaited from a reply topic, by question id (an escalation's, `w3-p12` for a
    /// permission dialog).
    pub replies: BTreeMap<String, reply::Pending>,
    /// Per channel name: the id of the last message read off its reply topic.
    pub reply_since: BTreeMap<String, String>,
}

/// One open need as the notifier tracks it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Seen {
    /// Its kind ([`Need::kind`]).
    pub kind: String,
    /// When it began, Unix ms.
    pub since_ms: u64,
    /// Per channel name: what was sent and what is due.
    pub sends: BTreeMap<String, Send>,
}

/// One need on one channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Send {
    /// When it last went through, Unix ms.
    pub sent_ms: Option<u64>,
    /// Failed tries since it last went through.
    pub failures: u32,
    /// Not before this, Unix ms (a retry's backoff).
    pub next_ms: u64,
}

/// A channel's health, for `orch doctor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    /// When its current run of failures began, Unix ms; `None` when its last send went
    /// through.
    pub failing_since_ms: Option<u64>,
    /// Failed sends in that run.
    pub failures: u32,
    /// The last failure, without URL or token.
    pub last_error: Option<String>,
    /// When a send last went through, Unix ms.
    pub last_ok_ms: Option<u64>,
    /// When its sends of the last hour went out, Unix ms (the hourly cap).
    pub recent: Vec<u64>,
}

/// `notify/state.json` of `store`.
fn state_path(store: &Store) -> PathBuf {
    store.root.join("notify").join("state.json")
}

/// What the notifier last wrote (empty when it never ran).
///
/// Errors: the file cannot be read or is not valid.
pub fn read_state(store: &Store) -> Result<State> {
    match orch_store::files::read_json(&state_path(store))? {
        Some(value) => serde_json::from_value(value).context("`notify/state.json` is not valid"),
        None => Ok(State::default()),
    }
}

/// The wait before try `failures + 1` of a failing send: 2 s doubled per failure, at most
/// five minutes.
pub fn backoff(failures: u32) -> u64 {
    (2_000u64 << failures.min(20)).min(MAX_BACKOFF_MS)
}

/// Whether channel `channel` is sent needs of `kind` (its `only:` filter).
fn wants(channel: &Channel, kind: &str) -> bool {
    channel.only.is_empty() || channel.only.iter().any(|k| k == kind)
}

/// The local time's offset from UTC in minutes, as `date +%z` says (quiet hours are local);
/// 0 when it cannot be told.
fn local_offset_minutes() -> i64 {
    let out = std::process::Command::new("date").arg("+%z").output();
    let text = out
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let (sign, digits) = match text.split_at_checked(1) {
        Some(("-", d)) => (-1, d),
        Some(("+", d)) => (1, d),
        _ => return 0,
    };
    match (digits.get(..2), digits.get(2..4)) {
        (Some(h), Some(m)) => {
            sign * (h.parse::<i64>().unwrap_or(0) * 60 + m.parse::<i64>().unwrap_or(0))
        }
        _ => 0,
    }
}

/// When the quiet hours `(from, to)` (minutes after local midnight) that hold `now_ms` end,
/// Unix ms; `None` when `now_ms` is outside them.
pub fn quiet_until(quiet: (u32, u32), offset_min: i64, now_ms: u64) -> Option<u64> {
    let (from, to) = (i64::from(quiet.0), i64::from(quiet.1));
    let local_ms = now_ms as i64 + offset_min * 60_000;
    let minute = local_ms.rem_euclid(86_400_000) / 60_000;
    let inside = if from <= to {
        minute >= from && minute < to
    } else {
        minute >= from || minute < to
    };
    if !inside || from == to {
        return None;
    }
    let left = (to - minute).rem_euclid(24 * 60);
    let start_of_minute = now_ms - (local_ms.rem_euclid(60_000)) as u64;
    Some(start_of_minute + left as u64 * 60_000)
}

/// The notifier itself (`orch __notify all`): returns at once when another one runs, and when
/// nothing is open, no worker is busy and no send is due.
///
/// Errors: the store cannot be read, or orch's configuration is not valid.
pub fn serve(store: &Store) -> Result<()> {
    let helper = orch_store::helper::notifier(&store.root);
    let Some(mut lock) = helper.claim()? else {
        return Ok(());
    };
    let offset = local_offset_minutes();
    let mut state = read_state(store)?;
    let mut live = Liveness::default();
    let (tx, rx) = std::sync::mpsc::channel::<reply::Message>();
    let mut following: Vec<String> = Vec::new();
    let mut answers: Vec<reply::Message> = Vec::new();
    loop {
        let settings = orch_store::config::load()?.notify;
        if settings.channels.is_empty() {
            return Ok(());
        }
        answers.extend(rx.try_iter());
        if !answers.is_empty() {
            take_answers(store, &settings, &mut state, std::mem::take(&mut answers))?;
        }
        let now = orch_store::clock::now_ms();
        let stuck_ms = (settings.stuck_s * 1000.0) as u64;
        let (needs, busy) = need::open(store, stuck_ms, now, &mut live)?;
        let before = state.clone();
        let next = round(store, &settings, &needs, &mut state, offset, now);
        if state != before {
            orch_store::files::write_json(&state_path(store), &state)?;
        }
        let watches_stuck = settings.channels.iter().any(|c| wants(c, "stuck"));
        if needs.is_empty() && !(busy > 0 && watches_stuck) {
            // What a hook recorded while this decided to go (its wake found this running)
            // is looked at once more after the lock is let go.
            let more = || {
                let now = orch_store::clock::now_ms();
                let (needs, busy) = need::open(store, stuck_ms, now, &mut live)?;
                Ok(!needs.is_empty() || (busy > 0 && watches_stuck))
            };
            match helper.let_go(lock, more)? {
                Some(again) => {
                    lock = again;
                    state = read_state(store)?;
                    continue;
                }
                None => return Ok(()),
            }
        }
        // Answers awaited: their reply topics are followed (one thread each, for as long as
        // this runs).
        for channel in &settings.channels {
            let awaited = state.replies.values().filter(|p| p.channel == channel.name);
            let Some(first) = awaited.map(|p| p.issued_ms).min() else {
                continue;
            };
            if channel.reply.is_none() || following.contains(&channel.name) {
                continue;
            }
            let since = state
                .reply_since
                .get(&channel.name)
                .cloned()
                .unwrap_or_else(|| (first / 1000).to_string());
            reply::follow(channel.clone(), since, tx.clone());
            following.push(channel.name.clone());
        }
        let now = orch_store::clock::now_ms();
        let wait = next.map_or(ROUND, |at| {
            Duration::from_millis(at.saturating_sub(now)).min(ROUND)
        });
        // An answer ends the wait at once.
        if let Ok(message) = rx.recv_timeout(wait) {
            answers.push(message);
        }
    }
}

/// Takes the answers read off the reply topics ([`reply::take`]) and keeps where each topic
/// was read to.
///
/// Errors: `notify/state.json` cannot be written.
fn take_answers(
    store: &Store,
    settings: &NotifySettings,
    state: &mut State,
    answers: Vec<reply::Message>,
) -> Result<()> {
    for message in answers {
        if settings.channel(&message.channel).is_err() {
            continue;
        }
        match reply::take(store, &mut state.replies, &message) {
            Ok(reply::Answered::Decided(id, _)) => {
                orch_store::store::log_unattended(&format!("notify: {id} answered by reply"));
            }
            Ok(reply::Answered::Refused(_)) => {}
            Err(err) => orch_store::store::log_unattended(&format!("notify: answer: {err:#}")),
        }
        if !message.id.is_empty() {
            state.reply_since.insert(message.channel, message.id);
        }
    }
    orch_store::files::write_json(&state_path(store), state)
}

/// One round at `now_ms`: forgets the needs that cleared, sends what is due to each channel,
/// and returns when the next send is due (`None`: nothing is).
pub fn round(
    store: &Store,
    settings: &NotifySettings,
    needs: &[Need],
    state: &mut State,
    offset_min: i64,
    now_ms: u64,
) -> Option<u64> {
    state
        .needs
        .retain(|key, _| needs.iter().any(|n| &n.key == key));
    let names: Vec<&str> = settings.channels.iter().map(|c| c.name.as_str()).collect();
    state
        .channels
        .retain(|name, _| names.contains(&name.as_str()));
    state.replies.retain(|id, _| {
        needs
            .iter()
            .any(|n| n.question.as_ref().is_some_and(|q| &q.id == id))
    });
    for health in state.channels.values_mut() {
        health
            .recent
            .retain(|t| now_ms.saturating_sub(*t) < 3_600_000);
    }
    let grace_ms = (settings.grace_s * 1000.0) as u64;
    let resend_ms = (settings.resend_s * 1000.0) as u64;
    let quiet = settings
        .quiet_minutes()
        .ok()
        .flatten()
        .and_then(|q| quiet_until(q, offset_min, now_ms));
    let mut next: Option<u64> = None;
    let mut due_at = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
    for need in needs {
        let seen = state.needs.entry(need.key.clone()).or_insert_with(|| Seen {
            kind: need.kind.to_string(),
            since_ms: need.since_ms,
            sends: BTreeMap::new(),
        });
        let ripe = need.since_ms + grace_ms;
        if now_ms < ripe {
            due_at(ripe);
            continue;
        }
        if let Some(end) = quiet {
            due_at(end);
            continue;
        }
        for channel in settings.channels.iter().filter(|c| wants(c, need.kind)) {
            let send = seen.sends.entry(channel.name.clone()).or_default();
            let due = match send.sent_ms {
                None => send.next_ms,
                Some(_) if resend_ms == 0 => continue,
                Some(sent) => (sent + resend_ms).max(send.next_ms),
            };
            if now_ms < due {
                due_at(due);
                continue;
            }
            let health = state.channels.entry(channel.name.clone()).or_default();
            if settings.max_per_hour > 0 && health.recent.len() >= settings.max_per_hour as usize {
                due_at(health.recent.iter().min().copied().unwrap_or(now_ms) + 3_600_000);
                continue;
            }
            let resent = send.sent_ms.is_some();
            // A question (an escalation, a permission dialog) paged to a channel with a reply
            // topic awaits its answer there, with a token of this page's own (an older page's
            // is refused from now on).
            let answer = need
                .question
                .as_ref()
                .filter(|_| channel.reply.is_some())
                .map(|q| (q, reply::issue()));
            let token = answer.as_ref().map(|(_, (token, _))| token.as_str());
            match channel::send(channel, need, now_ms, resent, token) {
                Ok(()) => {
                    if let Some((question, (_, digest))) = answer {
                        let pending = reply::Pending {
                            channel: channel.name.clone(),
                            digest,
                            issued_ms: now_ms,
                            permission: question.permission.clone(),
                        };
                        state.replies.insert(question.id.clone(), pending);
                    }
                    *send = Send {
                        sent_ms: Some(now_ms),
                        ..Send::default()
                    };
                    health.failing_since_ms = None;
                    health.failures = 0;
                    health.last_ok_ms = Some(now_ms);
                    health.recent.push(now_ms);
                    // Names only: never the channel's URL or token, nor the text sent.
                    let entry = crate::coordination::audit::Entry::new("notifier", "notify")
                        .target(need.worker.clone().unwrap_or_default())
                        .field("channel", channel.name.clone())
                        .field("need", need.key.clone())
                        .field("resent", resent);
                    if let Err(err) = crate::coordination::audit::append(store, &entry) {
                        orch_store::store::log_unattended(&format!("notify: audit: {err:#}"));
                    }
                }
                Err(err) => {
                    send.failures += 1;
                    send.next_ms = now_ms + backoff(send.failures - 1);
                    due_at(send.next_ms);
                    health.failing_since_ms.get_or_insert(now_ms);
                    health.failures += 1;
                    health.last_error = Some(format!("{err:#}"));
                    orch_store::store::log_unattended(&format!("notify: {err:#}"));
                }
            }
            if let Some(sent) = send.sent_ms.filter(|_| resend_ms > 0) {
                due_at(sent + resend_ms);
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(now: u64) -> Need {
        Need {
            key: "input:w1:3".into(),
            kind: "needs-input",
            worker: Some("w1".into()),
            name: Some("w".into()),
            since_ms: now - 60_000,
            title: "w needs you".into(),
            text: "question".into(),
            escalation: None,
            question: None,
        }
    }

    /// Settings with one webhook channel on a port nothing listens on: a send would fail and
    /// be recorded in the channel's health.
    fn settings(quiet: Option<&str>, max_per_hour: u32) -> NotifySettings {
        NotifySettings {
            quiet: quiet.map(str::to_string),
            max_per_hour,
            channels: vec![Channel {
                name: "hook".into(),
                kind: orch_store::config::ChannelKind::Webhook,
                target: Some("http://127.0.0.1:9/x".into()),
                token: None,
                only: Vec::new(),
                reply: None,
            }],
            ..NotifySettings::default()
        }
    }

    #[test]
    fn quiet_hours_hold_a_need_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        let now = 86_400_000u64 * 20_000 + 3 * 3_600_000; // 03:00 UTC
        let mut state = State::default();
        let next = round(
            &store,
            &settings(Some("22:00-07:00"), 0),
            &[need(now)],
            &mut state,
            0,
            now,
        );
        assert_eq!(next, Some(now + 4 * 3_600_000), "at 07:00");
        assert!(state.needs["input:w1:3"].sends.is_empty(), "nothing tried");
        assert!(state.channels.is_empty());
    }

    #[test]
    fn a_channel_at_its_hourly_cap_waits_for_room() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_path_buf());
        let now = 86_400_000u64 * 20_000;
        let mut state = State::default();
        state.channels.insert(
            "hook".into(),
            Health {
                recent: vec![now - 1_000],
                ..Health::default()
            },
        );
        let next = round(&store, &settings(None, 1), &[need(now)], &mut state, 0, now);
        assert_eq!(next, Some(now - 1_000 + 3_600_000));
        assert_eq!(state.channels["hook"].failures, 0, "nothing tried");
        // With room, it is tried (and fails here: nothing listens), then retried later.
        let next = round(&store, &settings(None, 0), &[need(now)], &mut state, 0, now);
        assert_eq!(state.channels["hook"].failures, 1);
        assert_eq!(next, Some(now + backoff(0)));
        // Cleared: forgotten.
        round(&store, &settings(None, 0), &[], &mut state, 0, now);
        assert!(state.needs.is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(0), 2_000);
        assert_eq!(backoff(1), 4_000);
        assert_eq!(backoff(30), MAX_BACKOFF_MS);
    }

    #[test]
    fn quiet_hours_span_midnight_and_end_on_time() {
        let day = 86_400_000u64 * 20_000;
        let at = |h: u64, m: u64| day + (h * 60 + m) * 60_000;
        let q = (22 * 60, 7 * 60);
        assert_eq!(quiet_until(q, 0, at(23, 0)), Some(at(24 + 7, 0)));
        assert_eq!(quiet_until(q, 0, at(3, 30)), Some(at(7, 0)));
        assert_eq!(quiet_until(q, 0, at(12, 0)), None);
        // 12:00 UTC is 22:00 at +10:00.
        assert_eq!(quiet_until(q, 600, at(12, 0)), Some(at(21, 0)));
        assert_eq!(
            quiet_until((9 * 60, 17 * 60), 0, at(10, 0)),
            Some(at(17, 0))
        );
    }
}
