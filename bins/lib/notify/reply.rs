//! Answers from the phone: a question (an escalation, a Claude Code worker's permission dialog)
//! paged to an ntfy channel with a `reply` topic carries its options as action buttons that
//! publish `e3 2 TOKEN` (`w3-p12 1 TOKEN` for a dialog) to that topic (or the person types
//! it), and the notifier, while such pages are open, follows the topic and decides as the
//! person: an escalation by `orch decide`'s path ([`escalation::decide`]), a dialog by
//! handing `allow` or `deny` to the hook that waits on it ([`permission::answer`]).
//!
//! An answer is taken only from a reply topic that needs credentials to publish to (the
//! channel has a token; [`orch_store::config`] refuses `reply` without one), and only with the
//! one-time token the page carried for that question: each page of a question issues a
//! new one (the older is refused from then on), it is spent by its answer, and only its
//! SHA-256 is kept ([`Pending`]). A refused answer is audited (`reply`, outcome `refused`,
//! with why), never with its text or token.

use crate::coordination::audit::{self, Entry, Outcome};
use crate::coordination::escalation::{self, Decision};
use crate::coordination::permission::{self, Behavior};
use crate::notify::need::Question;
use anyhow::{Context, Result};
use orch_store::config::Channel;
use orch_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::mpsc::Sender;
use std::time::Duration;

/// How many options go out as buttons: ntfy shows at most three actions.
const BUTTONS: usize = 3;

/// The longest wait before following a reply topic again after its stream failed.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// One question's answer awaited, as `notify/state.json` keeps it (by question id:
/// [`crate::notify::need::Question::id`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pending {
    /// The channel whose reply topic may answer it.
    pub channel: String,
    /// The SHA-256 of the one-time token the last page carried, in hex (never the token).
    pub digest: String,
    /// When that page was sent, Unix ms.
    pub issued_ms: u64,
    /// For a permission dialog: the worker's id and the seq of its request (`None`: an
    /// escalation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<(String, u64)>,
}

/// A new one-time token (128 random bits, 32 hex digits) and its [`digest`].
pub fn issue() -> (String, String) {
    let token = uuid::Uuid::new_v4().simple().to_string();
    let digest = digest(&token);
    (token, digest)
}

/// The SHA-256 of `token`, in hex.
pub fn digest(token: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The answer text for option `n` (1-based) of escalation `id`: `e3 2 TOKEN`.
pub fn answer_text(id: &str, n: usize, token: &str) -> String {
    format!("{id} {n} {token}")
}

/// ntfy's `actions` for `question` on `channel`: one `http` action per option (the first
/// [`BUTTONS`]), each POSTing its answer text to the reply topic with the channel's token.
pub fn actions(channel: &Channel, question: &Question, token: &str) -> Value {
    let (Some(url), Some(access)) = (&channel.reply, &channel.token) else {
        return json!([]);
    };
    let id = question.id.as_str();
    let buttons: Vec<Value> = question
        .options
        .iter()
        .take(BUTTONS)
        .enumerate()
        .map(|(at, option)| {
            let label: String = option.chars().take(40).collect();
            json!({
                "action": "http",
                "label": format!("{}: {label}", at + 1),
                "url": url,
                "method": "POST",
                "headers": {"Authorization": format!("Bearer {access}")},
                "body": answer_text(id, at + 1, token),
                "clear": true,
            })
        })
        .collect();
    json!(buttons)
}

/// One message read off a reply topic.
#[derive(Debug, Clone)]
pub struct Message {
    /// The channel whose reply topic it came from.
    pub channel: String,
    /// ntfy's message id (where to follow on from).
    pub id: String,
    /// What was published.
    pub text: String,
}

/// Follows `channel`'s reply topic in a thread of its own for as long as the process lives:
/// ntfy's JSON stream (`GET TOPIC/json?since=...`, the channel's token as a bearer token),
/// each message sent to `tx`; a stream that ends is followed again from its last message,
/// one that fails after a doubling wait (1 s to [`MAX_RETRY`]). `since` is where to begin: a
/// message id or a Unix time in seconds.
pub fn follow(channel: Channel, since: String, tx: Sender<Message>) {
    std::thread::spawn(move || {
        let mut since = since;
        let mut failures = 0u32;
        loop {
            match stream(&channel, &mut since, &tx) {
                Ok(true) => failures = 0,
                Ok(false) => return,
                Err(err) => {
                    // Logged without the URL or token.
                    let mut text = format!("{err:#}");
                    for secret in channel.reply.iter().chain(channel.token.iter()) {
                        text = text.replace(secret.as_str(), "[secret]");
                    }
                    orch_store::store::log_unattended(&format!(
                        "notify: reply topic of `{}`: {text}",
                        channel.name
                    ));
                    let wait = Duration::from_secs(1 << failures.min(5)).min(MAX_RETRY);
                    failures += 1;
                    std::thread::sleep(wait);
                }
            }
        }
    });
}

/// One connection to the reply topic's stream, read to its end: `Ok(false)` when the
/// receiver is gone (the notifier leaves), `Ok(true)` when the stream ended.
fn stream(channel: &Channel, since: &mut String, tx: &Sender<Message>) -> Result<bool> {
    let url = channel.reply.as_deref().context("no reply topic")?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        // A stream is cut after five minutes and followed again from its last message, so a
        // connection that died silently is not waited on for ever.
        .timeout_recv_body(Some(Duration::from_secs(300)))
        .http_status_as_error(true)
        .build()
        .into();
    let mut request = agent
        .get(format!("{}/json", url.trim_end_matches('/')))
        .query("since", since.as_str())
        .header("User-Agent", concat!("orch/", env!("CARGO_PKG_VERSION")));
    if let Some(token) = &channel.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let response = request.call().map_err(|err| anyhow::anyhow!("{err}"))?;
    let reader = std::io::BufReader::new(response.into_body().into_reader());
    for line in reader.lines() {
        // Cut (the timeout above, a server restart): followed again from the last message.
        let Ok(line) = line else { return Ok(true) };
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if message["event"] != "message" {
            continue;
        }
        let id = message["id"].as_str().unwrap_or("").to_string();
        if !id.is_empty() {
            since.clone_from(&id);
        }
        let text = message["message"].as_str().unwrap_or("").to_string();
        let sent = tx.send(Message {
            channel: channel.name.clone(),
            id,
            text,
        });
        if sent.is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// What became of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// The escalation was decided: its id and the option chosen.
    Decided(String, String),
    /// Refused, and why (never the token).
    Refused(String),
}

/// Takes answer `message` (`ID N TOKEN`): decides escalation ID with its option N as the
/// person when `pending` awaits it from that channel with that token (which is then spent),
/// refuses it otherwise; audits either way (names only: never the text nor the token).
///
/// Errors: the decision could not be recorded (the token is kept: the person may try again).
pub fn take(
    store: &Store,
    pending: &mut BTreeMap<String, Pending>,
    message: &Message,
) -> Result<Answered> {
    let words: Vec<&str> = message.text.split_whitespace().collect();
    let id = words.first().copied().unwrap_or("");
    let refuse = |why: &str| -> Result<Answered> {
        let target = if orch_store::paths::valid_id(id) {
            id
        } else {
            ""
        };
        let entry = Entry::new("notifier", "reply")
            .target(target)
            .outcome(Outcome::Refused)
            .field("channel", message.channel.clone())
            .field("why", why);
        if let Err(err) = audit::append(store, &entry) {
            orch_store::store::log_unattended(&format!("notify: audit: {err:#}"));
        }
        Ok(Answered::Refused(why.to_string()))
    };
    let [_, choice, token] = words[..] else {
        return refuse("not `ID N TOKEN`");
    };
    let Some(awaited) = pending.get(id) else {
        return refuse("no answer awaited for that question (decided, unknown, or answered)");
    };
    if awaited.channel != message.channel {
        return refuse("awaited from another channel");
    }
    if digest(token) != awaited.digest {
        return refuse("not the token of that question's last page");
    }
    if let Some((worker, request)) = awaited.permission.clone() {
        let Some(behavior) = choice.parse::<usize>().ok().and_then(Behavior::of_option) else {
            return refuse("no such option");
        };
        pending.remove(id);
        if permission::answer(store, &worker, request, behavior, "person", "reply").is_err() {
            return refuse("the dialog is no longer open (answered in its pane, or moved on)");
        }
        let entry = Entry::new("notifier", "decide")
            .target(worker.as_str())
            .field("permission", request)
            .field("decision", behavior.name())
            .field("via", "reply")
            .field("channel", message.channel.clone());
        if let Err(err) = audit::append(store, &entry) {
            orch_store::store::log_unattended(&format!("notify: audit: {err:#}"));
        }
        return Ok(Answered::Decided(
            id.to_string(),
            behavior.name().to_string(),
        ));
    }
    let esc = match escalation::load(store, id) {
        Ok(esc) if esc.status == "open" => esc,
        _ => {
            pending.remove(id);
            return refuse("the escalation is no longer open");
        }
    };
    let Some(option) = choice
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|at| esc.options.get(at))
    else {
        return refuse("no such option");
    };
    let decided = escalation::decide(
        store,
        id,
        Decision {
            text: option.clone(),
            by: "person".into(),
            self_decided: false,
            why: None,
        },
    )?;
    pending.remove(id);
    let entry = Entry::new("notifier", "decide")
        .target(id)
        .field("worker", decided.worker.clone())
        .field("via", "reply")
        .field("channel", message.channel.clone());
    if let Err(err) = audit::append(store, &entry) {
        orch_store::store::log_unattended(&format!("notify: audit: {err:#}"));
    }
    Ok(Answered::Decided(id.to_string(), option.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_fresh_and_only_its_digest_matches() {
        let (a, da) = issue();
        let (b, db) = issue();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert_eq!(digest(&a), da);
        assert_ne!(digest(&b), da);
        assert_eq!(db.len(), 64);
        assert!(!da.contains(&a));
    }

    #[test]
    fn buttons_publish_each_option_to_the_reply_topic_at_most_three() {
        let channel = Channel {
            name: "phone".into(),
            kind: orch_store::config::ChannelKind::Ntfy,
            target: Some("https://n/t".into()),
            token: Some("tk_x".into()),
            only: Vec::new(),
            reply: Some("https://n/answers".into()),
        };
        let question = Question {
            id: "e3".into(),
            options: ["a", "b", "c", "d"].map(String::from).to_vec(),
            permission: None,
        };
        let buttons = actions(&channel, &question, "T0K");
        let buttons = buttons.as_array().unwrap();
        assert_eq!(buttons.len(), 3);
        assert_eq!(buttons[1]["body"], "e3 2 T0K");
        assert_eq!(buttons[1]["label"], "2: b");
        assert_eq!(buttons[1]["url"], "https://n/answers");
        assert_eq!(buttons[1]["headers"]["Authorization"], "Bearer tk_x");
    }
}
