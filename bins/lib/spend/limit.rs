//! Usage limits: a fleet held, not failed, when the account its workers share hits its plan's or
//! its key's limit, and continued by itself when the limit lifts.
//!
//! - Seen: the hook hands every event to [`before_event`]; [`detect`] reads a limit off what the
//!   harness reported (Claude Code and the sim: a StopFailure `rate_limit`). The worker's
//!   account ([`crate::harness::account_of`], kept in its record) is then held
//!   ([`orch_store::limits::Hold`]): every worker of it gets a `limit` event and shows
//!   `limited`; nothing is typed into them (a tell is queued, a notice waits in the inbox).
//! - Waited out: one waiter per account (`orch __limits ACCOUNT`, a detached
//!   [`orch_store::helper::Helper`] that the hook, `orch limits` and `orch ps` start when they
//!   find a held account without one) sleeps until the reset time the harness gave, or probes
//!   the account by continuing one worker after 1, 2, 4... minutes (capped, see
//!   [`orch_store::config::LimitSettings`]), never one probe per worker.
//! - Continued: at the reset (or when a probe got through, or `orch limits --release`) every
//!   worker gets a `released` event, each turn the limit ended is continued once with a short
//!   prompt (the failed prompt is still in the conversation), staggered, then each worker's
//!   queued prompts are delivered in order, each once, and the inboxes are pushed.

use crate::delivery::{deliver, DeliveryOptions};
use crate::fleet::worker::{Waited, Worker};
use crate::harness::HarnessExt;
use crate::tmux::Tmux;
use anyhow::Result;
use orch_store::config::LimitSettings;
use orch_store::event::{Limit, Released};
use orch_store::helper::Helper;
use orch_store::limits::{self, Hold};
use orch_store::{Harness, Kind, Meta, Store, WorkerDir};
use std::time::Duration;

/// A limit as a harness reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// What reported it: `<harness>:rate_limit` (`claude:rate_limit`, `codex:rate_limit`,
    /// `pi:rate_limit`).
    pub source: String,
    /// When it resets, Unix ms, when the report says.
    pub until_ms: Option<u64>,
    /// The harness's own words.
    pub message: Option<String>,
}

/// The limit `kind` reports for a worker of `harness`, if it reports one (docs/observed.md,
/// 1.1 and 4). Each ends the turn with a StopFailure:
/// - Claude Code (and the sim, which answers as it does): `error` `rate_limit`; its message
///   may carry the reset time ([`reset_in_message`]);
/// - Codex, as orch reads it off its rollout ([`crate::fleet::rollout`]): `error`
///   `rate_limit`, the reset time in `until_ms` when Codex had one;
/// - Gemini CLI, as orch reads its quota dialog off the screen ([`quota_dialog`]): `error`
///   `rate_limit`, no reset time (the dialog names none: the waiter probes);
/// - pi, through orch's extension: `error` is pi's `errorMessage`, a limit when it names a
///   429 or a rate limit (`429 Rate limit reached ... Please try again in 20s.`); the reset
///   is what that message says.
pub fn detect(harness: Harness, kind: &Kind, now_ms: u64) -> Option<Seen> {
    let Kind::StopFailure(failure) = kind else {
        return None;
    };
    let error = failure.error.as_ref()?;
    let code = error
        .as_str()
        .or_else(|| error.get("type").and_then(|t| t.as_str()))?;
    let (limited, said) = match harness {
        Harness::Claude | Harness::Sim | Harness::Codex | Harness::Gemini => (
            code == "rate_limit",
            failure.last_assistant_message.as_deref(),
        ),
        Harness::Pi => {
            let lower = code.to_ascii_lowercase();
            let limited = lower.contains("429")
                || lower.contains("rate limit")
                || lower.contains("too many requests");
            (limited, Some(code))
        }
        _ => (false, None),
    };
    limited.then(|| Seen {
        source: format!("{}:rate_limit", harness.name()),
        until_ms: failure
            .until_ms
            .or_else(|| said.and_then(|m| reset_in_message(m, now_ms))),
        message: said.map(str::to_string),
    })
}

/// A reset time in a limit message, Unix ms: Claude Code's `resets 10:40pm (UTC)` (a plan
/// login's limit, docs/observed.md 1.6: the next such time of day), the `|<unix seconds>`
/// older releases put after "usage limit reached", or "retry after N seconds" / "try again in
/// N s". `None` when the message names none, or a time in a zone other than UTC (orch knows no
/// zone table): the waiter then probes.
pub fn reset_in_message(message: &str, now_ms: u64) -> Option<u64> {
    if let Some(at) = clock_reset(message, now_ms) {
        return Some(at);
    }
    if let Some((_, tail)) = message.rsplit_once('|') {
        let digits: String = tail
            .trim()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if digits.len() >= 9 {
            return digits.parse::<u64>().ok().map(|s| s * 1000);
        }
    }
    let lower = message.to_ascii_lowercase();
    for lead in ["retry after ", "try again in ", "resets in "] {
        if let Some(at) = lower.find(lead) {
            let rest = &lower[at + lead.len()..];
            let number: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let Ok(value) = number.parse::<f64>() else {
                continue;
            };
            let unit = rest[number.len()..].trim_start();
            let seconds = if unit.starts_with('m') && !unit.starts_with("ms") {
                value * 60.0
            } else if unit.starts_with('h') {
                value * 3600.0
            } else if unit.starts_with("ms") {
                value / 1000.0
            } else {
                value
            };
            return Some(now_ms + (seconds * 1000.0) as u64);
        }
    }
    None
}

/// `resets H[:MM]am|pm (UTC)`: the next time of day it names after `now_ms`, in Unix ms.
fn clock_reset(message: &str, now_ms: u64) -> Option<u64> {
    let lower = message.to_ascii_lowercase();
    let rest = &lower[lower.find("resets ")? + "resets ".len()..];
    let (clock, zone) = rest.split_once(' ')?;
    if !zone.starts_with("(utc)") {
        return None;
    }
    let (clock, pm) = match (clock.strip_suffix("pm"), clock.strip_suffix("am")) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        _ => return None,
    };
    let (hour, minute) = match clock.split_once(':') {
        Some((h, m)) => (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?),
        None => (clock.parse::<u64>().ok()?, 0),
    };
    if !(1..=12).contains(&hour) || minute > 59 {
        return None;
    }
    let hour = hour % 12 + if pm { 12 } else { 0 };
    const DAY: u64 = 86_400_000;
    let midnight = now_ms - now_ms % DAY;
    let at = midnight + (hour * 3600 + minute * 60) * 1000;
    Some(if at <= now_ms { at + DAY } else { at })
}

/// The account's waiter, `orch __limits ACCOUNT`.
fn waiter(store: &Store, account: &str) -> Helper {
    Helper::new("__limits", account, limits::waiter_lock(store, account))
}

/// Whether the waiter of `account` runs now.
///
/// Errors: its lock file cannot be opened.
pub fn waiter_running(store: &Store, account: &str) -> Result<bool> {
    waiter(store, account).running()
}

/// Starts the waiter of every held account that has none (run by `orch ps`, `orch limits`).
///
/// Errors: the holds cannot be listed, or a waiter cannot start.
pub fn ensure_waiters(store: &Store) -> Result<()> {
    for hold in limits::all(store)? {
        waiter(store, &hold.account).ensure(&store.root)?;
    }
    Ok(())
}

/// Publishes `kind` for the worker of `dir` as the hook does for what a harness reported: a
/// usage limit it reports holds the worker's account before the event wakes anyone, and is
/// announced after it ([`before_event`], [`after_event`];
/// a problem with the limit only goes to the log). Used by the hook and by the followers that
/// read a turn's end where no hook reports it (Codex's rollout). Returns the event.
///
/// Errors: the event cannot be written.
pub fn publish(dir: &WorkerDir, kind: Kind) -> Result<orch_store::Event> {
    let meta = dir.meta().ok();
    let limit_err = |err: anyhow::Error| {
        orch_store::store::log_unattended(&format!("usage limit of `{}`: {err:#}", dir.id()));
    };
    let held = meta.and_then(|meta| {
        before_event(dir.store(), meta, &kind)
            .map_err(limit_err)
            .ok()
            .flatten()
    });
    let event = crate::coordination::inbox::publish_in(dir, kind)?;
    if let Some(meta) = meta {
        if let Err(err) = after_event(dir.store(), meta, &event.kind, held) {
            limit_err(err);
        }
    }
    Ok(event)
}

/// The message of the StopFailure [`quota_dialog`] records.
const QUOTA_DIALOG: &str = "Usage limit reached (Gemini CLI's quota dialog; orch chose Stop)";

/// A Gemini CLI turn its quota dialog holds open (`Keep trying` / `Stop`, docs/observed.md
/// 4.2), seen on `worker`'s screen by its follower ([`crate::fleet::rollout`]): the failed
/// prompt is queued first to be sent again (Gemini drops it; its text is taken from Gemini's
/// transcript, and only when it matches the prompt event's hash), a StopFailure `rate_limit`
/// is recorded ([`publish`]: the account is held, the turn's `listen` exits 7), then the
/// dialog's Stop is chosen. The empty AfterAgent that follows is not the turn's end
/// ([`ended_by_limit`]).
///
/// Errors: the events or the queue cannot be written, or the pane cannot be typed into.
pub fn quota_dialog(worker: &Worker) -> Result<()> {
    let tail = worker
        .dir
        .events_back_to(|e| matches!(e.kind, Kind::Prompt(_)))?;
    if let Some(Kind::Prompt(prompt)) = tail.first().map(|e| &e.kind) {
        let text = prompt
            .prompt_hash
            .as_deref()
            .and_then(|hash| failed_prompt(worker, hash));
        match (text, prompt.prompt_hash.clone()) {
            (Some(text), Some(hash)) => {
                let len = text.chars().count() as u64;
                worker.dir.enqueue_first(&text, (hash, len))?;
            }
            _ => orch_store::store::log_unattended(&format!(
                "limits: the prompt Gemini CLI dropped at `{}`'s quota is not in its \
                 transcript: it is not sent again",
                worker.meta.id
            )),
        }
    }
    publish(
        &worker.dir,
        Kind::StopFailure(orch_store::event::StopFailure {
            session_id: worker.meta.session_id.clone(),
            error: Some("rate_limit".into()),
            last_assistant_message: Some(QUOTA_DIALOG.into()),
            ..Default::default()
        }),
    )?;
    let pane = worker.pane()?;
    let mut argv = vec!["send-keys", "-t", pane];
    argv.extend(worker.meta.harness.limit_dialog_keys());
    worker.meta.server.run(&argv)?;
    Ok(())
}

/// The text of the last user message in `worker`'s Gemini transcript whose hash is `hash`:
/// its `displayContent` (what was typed) or one of its `content` parts' texts.
fn failed_prompt(worker: &Worker, hash: &str) -> Option<String> {
    let sid = worker.meta.session_id.as_deref()?;
    let path = worker.meta.harness.transcript(worker.dir.path(), sid)?;
    let text = std::fs::read_to_string(path).ok()?;
    let texts = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    text.lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["type"] == "user")
        .flat_map(|line| {
            let mut all = texts(&line["displayContent"]);
            all.extend(texts(&line["content"]));
            all
        })
        .find(|t| crate::delivery::prompt::hash(t) == hash)
}

/// The hook's part before it publishes `kind` for the worker `meta`: a limit it reports holds
/// the worker's account now, before the event can wake anyone, so whoever it wakes (a
/// `listen`, `orch ps`) finds the account held. Returns the hold to announce after the event
/// ([`after_event`]).
///
/// Errors: the hold cannot be written.
pub fn before_event(store: &Store, meta: &Meta, kind: &Kind) -> Result<Option<Held>> {
    let Some(account) = meta.account.as_deref() else {
        return Ok(None);
    };
    match detect(meta.harness, kind, orch_store::clock::now_ms()) {
        Some(seen) => Ok(Some(hold_account(store, account, seen, Some(&meta.id))?)),
        None => Ok(None),
    }
}

/// The hook's part after it published the event of `kind`: the `limit` events of a hold
/// [`before_event`] wrote; otherwise, for a worker whose account is held (a file's existence),
/// the account's waiter started if it has none, and the hold lifted now when the harness says
/// it continued by itself (Claude Code's Notification `quota_auto_resume_fired`).
///
/// Errors: the events cannot be written or the waiter cannot start.
pub fn after_event(store: &Store, meta: &Meta, kind: &Kind, held: Option<Held>) -> Result<()> {
    if let Some(held) = held {
        return announce(store, &held);
    }
    let Some(account) = meta.account.as_deref() else {
        return Ok(());
    };
    if let Some(hold) = limits::read(store, account)? {
        // Claude Code 2.1.332 on a plan login continues by itself after the reset and says
        // so: the limit has lifted (a hold by hand stays).
        let resumed = matches!(kind, Kind::Notification(n)
            if n.notification_type.as_deref() == Some("quota_auto_resume_fired"));
        if resumed && !hold.by_hand {
            let now = orch_store::clock::now_ms();
            limits::update(store, account, |old| {
                old.map(|h| Hold {
                    until_ms: Some(now),
                    next_ms: Some(now),
                    ..h
                })
            })?;
        }
        waiter(store, account).ensure(&store.root)?;
    }
    Ok(())
}

/// The workers of `account` (not its operators: a limit their own turns meet holds the
/// account, but orch never types into the person's pane to continue them).
///
/// Errors: the state folder's records cannot be read.
pub fn workers_of(store: &Store, account: &str) -> Result<Vec<Meta>> {
    Ok(store
        .workers()?
        .into_iter()
        .filter(|m| m.account.as_deref() == Some(account) && m.role != orch_store::Role::Operator)
        .collect())
}

/// A hold just written, its `limit` events still to publish ([`announce`]).
#[derive(Debug, Clone)]
pub struct Held {
    hold: Hold,
    /// Whether the account was not held before.
    fresh: bool,
    /// The worker whose turn met the limit, if one.
    worker: Option<String>,
}

/// Holds `account` for the limit `seen` (by `worker`'s turn, if one) and announces it
/// ([`hold_account`], then [`announce`]). Returns the hold.
///
/// Errors: the hold or an event cannot be written, or the waiter cannot start.
pub fn hold(store: &Store, account: &str, seen: Seen, worker: Option<&str>) -> Result<Hold> {
    let held = hold_account(store, account, seen, worker)?;
    announce(store, &held)?;
    Ok(held.hold)
}

/// Writes the hold on `account` for the limit `seen`: a hold already there keeps its start and
/// probes and takes a newer reset time.
///
/// Errors: the hold cannot be written.
fn hold_account(store: &Store, account: &str, seen: Seen, worker: Option<&str>) -> Result<Held> {
    let settings = settings();
    let now = orch_store::clock::now_ms();
    let mut fresh = false;
    let hold = limits::update(store, account, |old| {
        fresh = old.is_none();
        let mut hold = old.unwrap_or_else(|| Hold {
            account: account.to_string(),
            since_ms: now,
            next_ms: Some(now + secs_ms(settings.first_probe_s)),
            worker: worker.map(str::to_string),
            ..Hold::default()
        });
        // A reset time already past says nothing the probes would not: continuing at once
        // would only meet the limit again.
        if let Some(until) = seen.until_ms.filter(|&until| until > now) {
            hold.until_ms = Some(until);
            hold.next_ms = Some(until);
        }
        hold.source = seen.source.clone();
        hold.message = seen.message.clone();
        Some(hold)
    })?
    .expect("a hold was written");
    Ok(Held {
        hold,
        fresh,
        worker: worker.map(str::to_string),
    })
}

/// Publishes the `limit` event of a hold: to the worker whose turn met it and, when the account
/// was not held before, to every other worker of it; starts the account's waiter.
///
/// Errors: an event cannot be written, or the waiter cannot start.
fn announce(store: &Store, held: &Held) -> Result<()> {
    let account = held.hold.account.as_str();
    for meta in workers_of(store, account)? {
        let own = held.worker.as_deref() == Some(meta.id.as_str());
        if own || held.fresh {
            crate::coordination::inbox::publish(
                store,
                &meta.id,
                Kind::Limit(Limit {
                    account: Some(account.to_string()),
                    source: Some(held.hold.source.clone()),
                    until_ms: held.hold.until_ms,
                    own: Some(own),
                }),
            )?;
        }
    }
    waiter(store, account).ensure(&store.root)?;
    Ok(())
}

/// Holds `account` by hand (`orch limits --hold`): no probe lifts it, only `--release`.
///
/// Errors: as [`hold`].
pub fn hold_by_hand(store: &Store, account: &str) -> Result<Hold> {
    hold(
        store,
        account,
        Seen {
            source: "hand".into(),
            until_ms: None,
            message: None,
        },
        None,
    )?;
    let held = limits::update(store, account, |old| {
        old.map(|h| Hold {
            by_hand: true,
            next_ms: None,
            ..h
        })
    })?;
    Ok(held.expect("held just now"))
}

/// Lifts the hold on `account` now (`orch limits --release`): its waiter continues the workers
/// at once. Returns the hold that was there.
///
/// Errors: the account is not held, or its files cannot be written.
pub fn release_now(store: &Store, account: &str) -> Result<Hold> {
    let now = orch_store::clock::now_ms();
    let mut was = None;
    limits::update(store, account, |old| {
        was = old.clone();
        old.map(|h| Hold {
            by_hand: false,
            until_ms: Some(now),
            next_ms: Some(now),
            ..h
        })
    })?;
    let Some(was) = was else {
        anyhow::bail!("account `{account}` is not held: `orch limits` lists the held ones");
    };
    waiter(store, account).ensure(&store.root)?;
    Ok(was)
}

/// orch's limit settings (the defaults when the configuration cannot be read: the hook must
/// not fail on it, and `orch limits` reports a bad file).
fn settings() -> LimitSettings {
    orch_store::config::load()
        .map(|c| c.limits)
        .unwrap_or_default()
}

fn secs_ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0) as u64
}

/// The waiter of `account` (`orch __limits ACCOUNT`): returns at once when another one runs,
/// and when the account is no longer held and everything it held was delivered.
///
/// Errors: the hold, a worker or its events cannot be read or written.
pub fn wait(store: &Store, account: &str) -> Result<()> {
    let helper = waiter(store, account);
    let Some(mut lock) = helper.claim()? else {
        return Ok(());
    };
    let settings = settings();
    std::fs::create_dir_all(store.root.join("limits"))?;
    let watch = orch_store::watch::Watch::folder(&store.root.join("limits"))?;
    loop {
        let Some(hold) = limits::read(store, account)? else {
            // A hold recorded while this was leaving (its hook found this running) is waited
            // on still.
            match helper.let_go(lock, || Ok(limits::read(store, account)?.is_some()))? {
                Some(again) => {
                    lock = again;
                    continue;
                }
                None => return Ok(()),
            }
        };
        let now = orch_store::clock::now_ms();
        let escalate_at = escalate_at(&hold, &settings);
        if escalate_at.is_some_and(|at| at <= now) {
            escalate(store, &hold)?;
            continue;
        }
        let due = if hold.by_hand { None } else { hold.next_ms };
        let wake = due.into_iter().chain(escalate_at).min();
        if due.is_none_or(|due| due > now) {
            let wait = wake.map_or(60_000, |at| at.saturating_sub(now).min(60_000));
            watch.wait(Duration::from_millis(wait));
            continue;
        }
        let reset = hold.until_ms.is_some_and(|until| until <= now);
        let probed = if reset {
            None
        } else {
            match probe(store, account, &settings)? {
                Probe::Through(id) => Some(id),
                Probe::StillLimited => {
                    let probes = hold.probes + 1;
                    let wait = (settings.first_probe_s * 2f64.powi(probes as i32))
                        .min(settings.max_probe_s);
                    limits::update(store, account, |old| {
                        old.map(|h| Hold {
                            probes,
                            next_ms: Some(orch_store::clock::now_ms() + secs_ms(wait)),
                            ..h
                        })
                    })?;
                    continue;
                }
                Probe::NoWorker => None,
            }
        };
        let by = match (reset, &probed) {
            (true, _) if hold.source == "hand" => "hand",
            (true, _) => "reset",
            (false, Some(_)) => "probe",
            (false, None) => "no-worker",
        };
        release(store, account, by, &settings, probed.as_deref())?;
    }
}

/// When a hold is escalated to its workers' parent, Unix ms: once it has lasted
/// `escalate_after_s`, or at once when the reset it names is further off than that; `None`
/// once escalated, or for a hold by hand (a person made it).
fn escalate_at(hold: &Hold, settings: &LimitSettings) -> Option<u64> {
    if hold.escalation.is_some() || hold.by_hand {
        return None;
    }
    let after = secs_ms(settings.escalate_after_s);
    match hold.until_ms {
        Some(until) if until.saturating_sub(hold.since_ms) > after => Some(hold.since_ms),
        Some(_) => None,
        None => Some(hold.since_ms + after),
    }
}

/// Escalates a long hold on the reversibility axis to the parent of the worker whose turn met
/// it (else of the first worker of the account), once: what waits, until when, what can be
/// done instead. Recorded in the hold (`escalation`).
///
/// Errors: the escalation or the hold cannot be written.
fn escalate(store: &Store, hold: &Hold) -> Result<()> {
    let workers = workers_of(store, &hold.account)?;
    let first = workers
        .iter()
        .find(|m| hold.worker.as_deref() == Some(m.id.as_str()))
        .or(workers.first());
    let mut id = "none".to_string();
    if let Some(meta) = first {
        let now = orch_store::clock::now_ms();
        let names: Vec<&str> = workers.iter().map(|m| m.id.as_str()).collect();
        let until = match hold.until_ms {
            Some(until) => format!(
                "until {} (in {})",
                orch_store::clock::rfc3339(until),
                orch_store::clock::span(until.saturating_sub(now))
            ),
            None => format!(
                "for {} now, with no reset time ({} probe{} failed)",
                orch_store::clock::span(now.saturating_sub(hold.since_ms)),
                hold.probes,
                if hold.probes == 1 { "" } else { "s" }
            ),
        };
        let ask = crate::coordination::escalation::Ask {
            axes: vec![orch_store::Axis::Reversibility],
            summary: format!(
                "a usage limit holds account {} {until}: {} held ({}), their prompts queued",
                hold.account,
                names.len(),
                names.join(" ")
            ),
            options: vec![
                "wait: orch continues them by itself when it lifts".into(),
                format!("try now: `orch limits --release {}`", hold.account),
                "new work on another account: `orch spawn --account auto ...`".into(),
                format!("stop them: `orch kill {}`", names.join(" ")),
            ],
            detail: hold.message.clone(),
            source: "limit".into(),
            request: None,
        };
        let dir = store.worker(&meta.id)?;
        id = crate::coordination::escalation::raise(&dir, ask)?.id;
    }
    limits::update(store, &hold.account, |old| {
        old.map(|h| Hold {
            escalation: Some(id.clone()),
            ..h
        })
    })?;
    Ok(())
}

/// How a probe went.
enum Probe {
    /// The continued turn ended without a limit: worker `id` got through.
    Through(String),
    /// It hit the limit again.
    StillLimited,
    /// No worker of the account is alive to probe with.
    NoWorker,
}

/// Continues one worker of `account` (the first whose turn the limit ended, else the first
/// alive) and waits for that turn's end.
fn probe(store: &Store, account: &str, settings: &LimitSettings) -> Result<Probe> {
    let mut alive: Vec<Worker> = Vec::new();
    for meta in workers_of(store, account)? {
        let worker = Worker::of(store, meta)?;
        if worker.alive() {
            alive.push(worker);
        }
    }
    let pick = match alive
        .iter()
        .position(|w| ended_by_limit(w).unwrap_or(false))
    {
        Some(at) => alive.swap_remove(at),
        None if alive.is_empty() => return Ok(Probe::NoWorker),
        None => alive.swap_remove(0),
    };
    // A harness that dropped the failed prompt is probed with it (queued first), not with a
    // continue.
    let resend = match pick.meta.harness.keeps_failed_prompt() {
        true => None,
        false => pick.dir.queue()?.into_iter().next(),
    };
    let text = resend
        .as_ref()
        .map_or(&settings.continue_prompt, |q| &q.text);
    let told = match deliver(&pick, text, held_options()) {
        Ok(told) => told,
        Err(err) if crate::error::exit_of(&err) == crate::error::Exit::Gone => {
            return Ok(Probe::StillLimited)
        }
        Err(err) => return Err(err),
    };
    if let Some(item) = resend {
        pick.dir.dequeue(&item.id, Some(told.cursor))?;
    }
    let harness = pick.meta.harness;
    let ended = pick.wait(told.cursor, Some(Duration::from_secs(1800)), |e| {
        let now = orch_store::clock::now_ms();
        match &e.kind {
            Kind::Stop(_) => Some(true),
            Kind::StopFailure(_) => Some(detect(harness, &e.kind, now).is_none()),
            _ => None,
        }
    })?;
    Ok(match ended {
        Waited::Found(true, _) => Probe::Through(pick.meta.id.clone()),
        _ => Probe::StillLimited,
    })
}

/// How the waiter types: into a held worker (it is the one that may), waiting up to an hour
/// for it to be ready.
fn held_options() -> DeliveryOptions {
    DeliveryOptions {
        command: false,
        now: false,
        ready_timeout: Duration::from_secs(3600),
        held: true,
    }
}

/// Whether the worker's screen says it continues its turn by itself (Claude Code 2.1.332 on a
/// plan login: `Continuing automatically at ...`): a continue typed as well would be a second
/// prompt.
fn continues_by_itself(worker: &Worker) -> bool {
    let Some(pane) = worker.meta.pane.as_deref() else {
        return false;
    };
    worker.meta.server.capture(pane).is_ok_and(|screen| {
        let screen = screen.to_ascii_lowercase();
        screen.contains("continuing automatically") || screen.contains("continue automatically")
    })
}

/// Whether the worker's last turn was ended by a limit and nothing was typed since.
fn ended_by_limit(worker: &Worker) -> Result<bool> {
    ended_by_limit_in(&worker.dir, worker.meta.harness)
}

/// Whether the last turn of the worker of `dir` (on `harness`) was ended by a limit and
/// nothing was typed since: the hook drops the empty AfterAgent Gemini CLI sends after its
/// quota dialog's Stop ([`quota_dialog`]), which is no answer.
///
/// Errors: its events cannot be read.
pub fn ended_by_limit_in(dir: &WorkerDir, harness: Harness) -> Result<bool> {
    let tail = dir.events_back_to(|e| {
        matches!(
            e.kind,
            Kind::Prompt(_) | Kind::Stop(_) | Kind::StopFailure(_)
        )
    })?;
    let now = orch_store::clock::now_ms();
    Ok(tail
        .first()
        .is_some_and(|e| detect(harness, &e.kind, now).is_some()))
}

/// Lifts the hold on `account` and continues its workers: `released` for each; each turn the
/// limit ended continued once (but `probed`'s, which already was, and one whose pane says it
/// continues by itself), one worker every `stagger_s` or closer together for a fleet that would
/// not all begin within `spread_s` ([`LimitSettings::continue_gap`]), each in a thread of its
/// own so that no worker waits for another's acknowledgement; then each worker's queued
/// prompts in order, all workers at once, and their inboxes pushed.
fn release(
    store: &Store,
    account: &str,
    by: &str,
    settings: &LimitSettings,
    probed: Option<&str>,
) -> Result<()> {
    limits::update(store, account, |_| None)?;
    let metas = workers_of(store, account)?;
    let mut workers = Vec::new();
    for meta in metas {
        let worker = Worker::of(store, meta)?;
        if !worker.alive() {
            continue;
        }
        crate::coordination::inbox::publish(
            store,
            &worker.meta.id,
            Kind::Released(Released {
                account: Some(account.to_string()),
                by: Some(by.to_string()),
                ..Released::default()
            }),
        )?;
        workers.push(worker);
    }
    let ids: Vec<String> = workers.iter().map(|w| w.meta.id.clone()).collect();
    let mut due = Vec::new();
    for worker in workers {
        // A harness that dropped the failed prompt has it queued: the queue sends it.
        if probed != Some(worker.meta.id.as_str())
            && worker.meta.harness.keeps_failed_prompt()
            && ended_by_limit(&worker)?
            && !continues_by_itself(&worker)
        {
            due.push(worker);
        }
    }
    let gap = settings.continue_gap(due.len());
    let mut continued: Vec<String> = probed.map(str::to_string).into_iter().collect();
    std::thread::scope(|scope| {
        let mut typing = Vec::new();
        for (n, worker) in due.into_iter().enumerate() {
            if n > 0 {
                std::thread::sleep(gap);
            }
            typing.push(scope.spawn(move || {
                match deliver(&worker, &settings.continue_prompt, held_options()) {
                    Ok(_) => Some(worker.meta.id.clone()),
                    Err(err) => {
                        orch_store::store::log_unattended(&format!(
                            "limits: cannot continue `{}`: {err:#}",
                            worker.meta.id
                        ));
                        None
                    }
                }
            }));
        }
        continued.extend(typing.into_iter().filter_map(|t| t.join().ok().flatten()));
    });
    std::thread::scope(|scope| {
        for id in &ids {
            scope.spawn(move || {
                if let Err(err) = drain(store, id) {
                    orch_store::store::log_unattended(&format!("limits: queue of `{id}`: {err:#}"));
                }
            });
        }
    });
    crate::coordination::inbox::push_all(store, &ids)?;
    tell_operators(store, account, by, continued, ids)
}

/// One inbox item for each operator that spends on `account` (its own turns met the limit
/// too): the hold lifted `by` what, which workers it released and whose turns it continued.
///
/// Errors: an inbox cannot be written or pushed.
fn tell_operators(
    store: &Store,
    account: &str,
    by: &str,
    continued: Vec<String>,
    workers: Vec<String>,
) -> Result<()> {
    let operators: Vec<String> = store
        .workers()?
        .into_iter()
        .filter(|m| m.role == orch_store::Role::Operator && m.account.as_deref() == Some(account))
        .map(|m| m.id)
        .collect();
    let released = Released {
        account: Some(account.to_string()),
        by: Some(by.to_string()),
        continued: Some(continued),
        workers: Some(workers),
    };
    for id in &operators {
        crate::coordination::inbox::put(store, id, Kind::Released(released.clone()), None)?;
    }
    crate::coordination::inbox::push_all(store, &operators)
}

/// Delivers worker `id`'s queued prompts in order, each once: an item leaves the queue with
/// the cursor of the prompt it became. Stops (items kept) when its account is held again.
///
/// Errors: the queue or the worker cannot be read.
pub fn drain(store: &Store, id: &str) -> Result<()> {
    let worker = Worker::load(store, id)?;
    let options = DeliveryOptions {
        held: false,
        ..held_options()
    };
    for item in worker.dir.queue()? {
        match deliver(&worker, &item.text, options) {
            Ok(told) => {
                worker.dir.dequeue(&item.id, Some(told.cursor))?;
                worker.dir.set_told(told.cursor)?;
            }
            Err(err) if crate::error::exit_of(&err) == crate::error::Exit::Limited => {
                return Ok(());
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// A tell to a held worker: queues `text` and starts the account's waiter. Returns the item.
///
/// Errors: the queue or the log cannot be written.
pub fn queue(worker: &Worker, text: &str) -> Result<orch_store::worker::QueuedPrompt> {
    let fingerprint = (
        crate::delivery::prompt::hash(text),
        text.chars().count() as u64,
    );
    let item = worker.dir.enqueue(text, fingerprint)?;
    worker.dir.set_told(item.cursor)?;
    if let Some(account) = worker.meta.account.as_deref() {
        waiter(worker.store(), account).ensure(&worker.store().root)?;
    }
    Ok(item)
}

/// `; orch continues it at <time>` / `; orch probes again at <time>`, or nothing.
pub fn until_text(hold: &Hold) -> String {
    let at = |ms: u64| orch_store::clock::rfc3339(ms);
    match (hold.by_hand, hold.until_ms, hold.next_ms) {
        (true, _, _) => "; held by hand until `orch limits --release`".into(),
        (false, Some(until), _) => format!("; orch continues it at {}", at(until)),
        (false, None, Some(next)) => format!("; orch probes the account at {}", at(next)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orch_store::Event;
    use serde_json::json;

    fn failure(error: serde_json::Value, message: &str) -> Kind {
        Event::from_json(json!({
            "seq": 1, "event": "stop_failure", "error": error,
            "last_assistant_message": message
        }))
        .unwrap()
        .kind
    }

    #[test]
    fn a_rate_limit_stop_failure_is_a_limit_and_other_errors_are_not() {
        let seen = detect(
            Harness::Claude,
            &failure(json!("rate_limit"), "API Error: 429"),
            0,
        );
        assert_eq!(seen.unwrap().source, "claude:rate_limit");
        assert!(detect(Harness::Claude, &failure(json!("server_error"), "500"), 0).is_none());
        assert!(detect(Harness::Command, &failure(json!("rate_limit"), ""), 0).is_none());
        let stop = Event::from_json(json!({"seq": 1, "event": "stop"})).unwrap();
        assert!(detect(Harness::Claude, &stop.kind, 0).is_none());
    }

    #[test]
    fn codex_and_pi_limits_are_read_from_their_failures() {
        let codex = Event::from_json(json!({
            "seq": 1, "event": "stop_failure", "error": "rate_limit",
            "last_assistant_message": "You've hit your usage limit.", "until_ms": 5_000_000
        }))
        .unwrap()
        .kind;
        let seen = detect(Harness::Codex, &codex, 0).unwrap();
        assert_eq!(seen.source, "codex:rate_limit");
        assert_eq!(seen.until_ms, Some(5_000_000));
        let pi = failure(
            json!("429 Rate limit reached for requests. Please try again in 20s."),
            "",
        );
        let seen = detect(Harness::Pi, &pi, 1_000).unwrap();
        assert_eq!(seen.source, "pi:rate_limit");
        assert_eq!(seen.until_ms, Some(21_000));
        let other = failure(json!("400 status code (no body)"), "");
        assert!(detect(Harness::Pi, &other, 0).is_none());
    }

    #[test]
    fn reset_times_are_read_when_the_message_names_one() {
        let now = 1_000_000;
        assert_eq!(
            reset_in_message("Claude AI usage limit reached|1733324400", now),
            Some(1_733_324_400_000)
        );
        assert_eq!(
            reset_in_message("Rate limited. Please try again in 30s.", now),
            Some(now + 30_000)
        );
        assert_eq!(
            reset_in_message("retry after 2 minutes", now),
            Some(now + 120_000)
        );
        assert_eq!(
            reset_in_message("5-hour limit reached ∙ resets 3pm", now),
            None
        );
        assert_eq!(reset_in_message("API Error: 429", now), None);
        // 2026-12-04 22:00 UTC: "resets 10:40pm (UTC)" is 40 minutes on, "9am" tomorrow.
        let ten_pm = 1_796_421_600_000;
        let said = |m: &str| reset_in_message(m, ten_pm);
        assert_eq!(
            said("You've hit your session limit · resets 10:40pm (UTC)"),
            Some(ten_pm + 40 * 60_000)
        );
        assert_eq!(
            said("You've hit your 5-hour limit · resets 9am (UTC)"),
            Some(ten_pm + 11 * 3_600_000)
        );
        assert_eq!(
            said("You've hit your 5-hour limit · resets 10:40pm (CET)"),
            None
        );
    }
}
