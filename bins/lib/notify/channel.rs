//! Sending one notification to one channel of orch's configuration
//! ([`orch_store::config::Channel`]). HTTP goes through ureq with rustls (no system OpenSSL,
//! so the shipped binaries stay portable), with a bearer token in a header and the URL in the
//! request: neither ever reaches a command line, a log or an error message ([`mask`]).
//!
//! What each kind is sent:
//! - `ntfy`: ntfy's JSON publish (`POST` to the server's root, `{topic, title, message,
//!   priority, tags}`, ntfy's "Publish as JSON"), so any text survives; with a reply topic,
//!   an escalation's options as `actions` too ([`crate::notify::reply`]);
//! - `webhook`: [`crate::notify::need::Need::to_json`], `Content-Type: application/json`;
//! - `slack`: an incoming webhook's `{"text": ...}` (title in bold, then the body);
//! - `terminal`: `tmux display-message` in the server at the target socket, and a bell (BEL
//!   written to each of its clients' terminals);
//! - `desktop`: `notify-send` where it is found, else `osascript` (macOS).

use crate::notify::need::Need;
use crate::tmux::{Tmux, TmuxServer};
use anyhow::{bail, Context, Result};
use orch_store::config::{Channel, ChannelKind};
use serde_json::json;
use std::time::Duration;

/// How long one HTTP request may take, connecting included.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `need` (as it stands at `now_ms`) to `channel`; `resent` marks a reminder. With
/// `answer` (the one-time token of [`crate::notify::reply`], for a question (an escalation, a
/// permission dialog) on an ntfy channel with a reply topic) the page carries the options as
/// buttons and says how to answer.
///
/// Errors: the channel refused it or could not be reached; the message names the channel and
/// never its URL or token.
pub fn send(
    channel: &Channel,
    need: &Need,
    now_ms: u64,
    resent: bool,
    answer: Option<&str>,
) -> Result<()> {
    let title = if resent {
        format!("still waiting: {}", need.title)
    } else {
        need.title.clone()
    };
    let body = need.body(now_ms);
    let sent = match channel.kind {
        ChannelKind::Ntfy => {
            let url = target(channel)?;
            let (base, topic) = url
                .trim_end_matches('/')
                .rsplit_once('/')
                .filter(|(base, topic)| base.contains("://") && !topic.is_empty())
                .context("an ntfy target is the topic's URL: https://SERVER/TOPIC")?;
            let priority = match need.kind {
                "escalation" | "needs-input" => 4,
                _ => 3,
            };
            let mut message = json!({
                "topic": topic,
                "title": title,
                "message": body,
                "priority": priority,
                "tags": ["orch", need.kind],
            });
            if let (Some(token), Some(question)) = (answer, &need.question) {
                message["actions"] = crate::notify::reply::actions(channel, question, token);
                message["message"] = format!(
                    "{body}\nanswer: publish `{}` (N: the option's number{}) to the reply topic",
                    crate::notify::reply::answer_text(&question.id, 0, token)
                        .replacen(" 0 ", " N ", 1),
                    options_named(&question.options)
                )
                .into();
            }
            post(channel, &format!("{base}/"), &message)
        }
        ChannelKind::Webhook => {
            let mut message = need.to_json(now_ms);
            message["title"] = title.into();
            message["resent"] = resent.into();
            post(channel, target(channel)?, &message)
        }
        ChannelKind::Slack => {
            let message = json!({ "text": format!("*{title}*\n{body}") });
            post(channel, target(channel)?, &message)
        }
        ChannelKind::Terminal => terminal(channel, &title, &body),
        ChannelKind::Desktop => desktop(&title, &body),
    };
    sent.map_err(|err| {
        // ureq's errors may quote the URL: the error is told without it.
        let text = format!("{err:#}");
        let text = match &channel.target {
            Some(target) => text.replace(target.as_str(), &mask(target)),
            None => text,
        };
        let text = match &channel.token {
            Some(token) => text.replace(token.as_str(), "[token]"),
            None => text,
        };
        anyhow::anyhow!("channel `{}`: {text}", channel.name)
    })
}

fn target(channel: &Channel) -> Result<&str> {
    channel
        .target
        .as_deref()
        .context("it has no target: add it again with one")
}

/// The options numbered for a page's answer line: `: 1 allow once, 2 deny`.
fn options_named(options: &[String]) -> String {
    let named: Vec<String> = options
        .iter()
        .enumerate()
        .map(|(at, o)| format!("{} {o}", at + 1))
        .collect();
    if named.is_empty() {
        String::new()
    } else {
        format!(": {}", named.join(", "))
    }
}

/// POSTs `message` as JSON to `url`, with the channel's token as a bearer token.
fn post(channel: &Channel, url: &str, message: &serde_json::Value) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(HTTP_TIMEOUT))
        .http_status_as_error(true)
        .build()
        .into();
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", concat!("orch/", env!("CARGO_PKG_VERSION")));
    if let Some(token) = &channel.token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    request
        .send(message.to_string())
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    Ok(())
}

/// `text` safe inside a tmux format (`display-message` expands `#`) and free of control
/// characters.
fn inert(text: &str) -> String {
    crate::delivery::controls::strip(text)
        .0
        .replace('\n', " · ")
        .replace('#', "##")
}

fn terminal(channel: &Channel, title: &str, body: &str) -> Result<()> {
    let server = TmuxServer {
        socket_name: None,
        socket_path: channel.target.clone(),
    };
    let line = inert(&format!("orch: {title} · {body}"));
    server.run(&["display-message", "-d", "15000", &line])?;
    let ttys = server.run(&["list-clients", "-F", "#{client_tty}"])?;
    for tty in ttys.lines().filter(|t| t.starts_with("/dev/")) {
        use std::io::Write;
        let rung = std::fs::OpenOptions::new()
            .write(true)
            .open(tty)
            .and_then(|mut f| f.write_all(b"\x07"));
        if let Err(err) = rung {
            orch_store::store::log_unattended(&format!("notify: cannot ring `{tty}`: {err}"));
        }
    }
    Ok(())
}

fn desktop(title: &str, body: &str) -> Result<()> {
    let run = |program: &str, args: &[&str]| -> Result<bool> {
        match std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
        {
            Ok(out) if out.status.success() => Ok(true),
            Ok(out) => bail!(
                "`{program}` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err).with_context(|| format!("cannot run `{program}`")),
        }
    };
    let (title, body) = (inert(title), crate::delivery::controls::strip(body).0);
    if run("notify-send", &["--app-name=orch", "--", &title, &body])? {
        return Ok(());
    }
    let script = [
        "-e",
        "on run argv",
        "-e",
        "display notification (item 2 of argv) with title (item 1 of argv)",
        "-e",
        "end run",
    ];
    let mut args: Vec<&str> = script.to_vec();
    args.extend([title.as_str(), &body]);
    if run("osascript", &args)? {
        return Ok(());
    }
    bail!("no desktop notifier here: install `notify-send` (libnotify)")
}

/// A URL as it may be shown: its scheme and host, the rest (a topic, a webhook's secret path)
/// hidden. Anything else is shown whole (a socket path).
pub fn mask(target: &str) -> String {
    match target.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => target.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_paths_and_credentials_of_urls() {
        assert_eq!(mask("https://ntfy.sh/secret-topic"), "https://ntfy.sh/…");
        assert_eq!(
            mask("https://u:p@hooks.slack.com/services/T/B/X?q=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(mask("/tmp/tmux-0/default"), "/tmp/tmux-0/default");
    }

    #[test]
    fn inert_text_cannot_expand_tmux_formats() {
        assert_eq!(inert("a #{pane_id}\nb"), "a ##{pane_id} · b");
    }
}
