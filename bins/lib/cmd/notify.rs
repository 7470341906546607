//! `orch notify`: the channels the person is told through when something waits for them
//! (`notify.channels` in orch's configuration, [`orch_store::config`]): add, list, remove,
//! test ([`crate::notify`]).

use super::Ctx;
use crate::coordination::rights::Who;
use crate::error::Error;
use crate::notify::{channel, need::Need, notifier};
use anyhow::{bail, Context, Result};
use orch_store::config::{self, Channel, ChannelKind};
use orch_store::Store;
use serde_json::{json, Value};

/// Flags of `orch notify`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

/// What `orch notify` does.
#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Add a channel: `terminal [SOCKET]`, `desktop`, `ntfy URL`, `webhook URL`, `slack URL`.
    Add {
        /// terminal, desktop, ntfy, webhook or slack.
        #[arg(value_parser = kind_of)]
        kind: ChannelKind,
        /// The topic's or webhook's URL; for terminal the tmux server's socket path (default:
        /// the one this runs in).
        target: Option<String>,
        /// A bearer token (an ntfy access token, a webhook's secret); `-` reads it from stdin,
        /// which keeps it off the process list.
        #[arg(long)]
        token: Option<String>,
        /// Its name (default: the kind, numbered when taken).
        #[arg(long)]
        name: Option<String>,
        /// Answers from the phone (ntfy with `--token` only): the URL of the ntfy topic the
        /// person's answers to escalations are published to; it must need the token to publish.
        #[arg(long, value_name = "URL")]
        reply: Option<String>,
        /// Send only these needs (repeatable): needs-input, escalation, budget, limit, stuck,
        /// conflict.
        #[arg(long, value_name = "NEED")]
        only: Vec<String>,
    },
    /// List the channels (URLs shown by their host only, tokens never) and their health.
    List,
    /// Remove a channel.
    Remove {
        /// Its name, as `orch notify list` shows it.
        name: String,
    },
    /// Send a test notification to every channel, or to the one named, and say how it went.
    Test {
        /// A channel's name.
        name: Option<String>,
    },
}

fn kind_of(word: &str) -> Result<ChannelKind, String> {
    [
        ChannelKind::Terminal,
        ChannelKind::Desktop,
        ChannelKind::Ntfy,
        ChannelKind::Webhook,
        ChannelKind::Slack,
    ]
    .into_iter()
    .find(|k| k.as_str() == word)
    .ok_or_else(|| format!("`{word}` is none of terminal, desktop, ntfy, webhook, slack"))
}

/// Runs `orch notify`. `add` and `remove` are the operator's (a worker asking is refused,
/// exit 6) and print the channel (`--json`: `{"channel": NAME, "kind", "added"|"removed":
/// true}`); `list --json` prints `{"channels": [{name, kind, target, token, only, reply,
/// health}]}` (`target` masked to scheme and host, `token` and `reply` whether one is set,
/// `health` what the notifier last saw: `failing_since_ms`, `failures`, `last_error`, `last_ok_ms`); `test
/// --json` prints `{"channels": [{name, ok, error}]}` and fails when one failed.
///
/// Errors: a bad target, an unknown channel, a configuration that is not valid, a refused
/// caller, a failed test.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let store = Store::from_env()?;
    let changing = matches!(args.action, Action::Add { .. } | Action::Remove { .. });
    if changing && crate::coordination::rights::who(&store)? != Who::Operator {
        bail!(Error::Refused(
            "only the operator adds or removes notification channels: ask your parent".into()
        ));
    }
    match args.action {
        Action::Add {
            kind,
            target,
            token,
            name,
            only,
            reply,
        } => {
            let target = check_target(kind, target)?;
            if let Some(url) = &reply {
                if kind != ChannelKind::Ntfy {
                    bail!("--reply is for ntfy channels only");
                }
                if token.is_none() {
                    bail!("--reply needs --token: answers are taken only from a topic that needs credentials to publish to");
                }
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bail!("`{}` is not an http(s) URL", channel::mask(url));
                }
            }
            let token = match token.as_deref() {
                Some("-") => Some(read_token()?),
                _ => token,
            };
            let name = config::edit(|config| {
                let channels = &mut config.notify.channels;
                let name = name.unwrap_or_else(|| free_name(channels, kind.as_str()));
                if channels.iter().any(|c| c.name == name) {
                    bail!(
                        "a channel named `{name}` exists: remove it first, or pick another --name"
                    );
                }
                channels.push(Channel {
                    name: name.clone(),
                    kind,
                    target,
                    token,
                    only,
                    reply,
                });
                Ok(name)
            })?;
            // Names only: the URL and token stay in the 0600 configuration.
            super::audit(
                &store,
                super::entry("notify-add")
                    .field("channel", name.clone())
                    .field("kind", kind.as_str()),
            );
            if let Err(err) = orch_store::helper::wake_notifier(&store.root) {
                eprintln!("orch: cannot start the notifier: {err:#}");
            }
            say(
                ctx,
                json!({"channel": name, "kind": kind.as_str(), "added": true}),
                &format!("added {} channel `{name}`", kind.as_str()),
            )
        }
        Action::Remove { name } => {
            let kind = config::edit(|config| {
                let kind = config.notify.channel(&name)?.kind;
                config.notify.channels.retain(|c| c.name != name);
                Ok(kind)
            })?;
            super::audit(
                &store,
                super::entry("notify-remove").field("channel", name.clone()),
            );
            say(
                ctx,
                json!({"channel": name, "kind": kind.as_str(), "removed": true}),
                &format!("removed channel `{name}`"),
            )
        }
        Action::List => list(ctx, &store),
        Action::Test { name } => test(ctx, name.as_deref()),
    }
}

/// The target as kept: a URL for the HTTP kinds (http or https), a socket path for terminal
/// (the server this runs in by default), none for desktop.
fn check_target(kind: ChannelKind, target: Option<String>) -> Result<Option<String>> {
    match kind {
        _ if kind.is_http() => {
            let url = target.with_context(|| {
                format!(
                    "a {} channel needs its URL: `orch notify add {} URL`",
                    kind.as_str(),
                    kind.as_str()
                )
            })?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!("`{}` is not an http(s) URL", channel::mask(&url));
            }
            Ok(Some(url))
        }
        ChannelKind::Terminal => match target {
            Some(path) => Ok(Some(path)),
            None => {
                use crate::tmux::Tmux;
                let server = crate::tmux::TmuxServer::from_env();
                let path = server.socket_path().context(
                    "no tmux server here: run it inside tmux, or give the server's socket path",
                )?;
                Ok(Some(path))
            }
        },
        _ => match target {
            Some(_) => bail!("a {} channel takes no target", kind.as_str()),
            None => Ok(None),
        },
    }
}

/// The first line of stdin, trimmed: `--token -`.
fn read_token() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the token from stdin")?;
    let token = line.trim().to_string();
    if token.is_empty() {
        bail!("no token on stdin");
    }
    Ok(token)
}

/// `kind`, or `kind-2`, `kind-3`... the first not taken.
fn free_name(channels: &[Channel], kind: &str) -> String {
    let taken = |name: &str| channels.iter().any(|c| c.name == name);
    if !taken(kind) {
        return kind.to_string();
    }
    (2..)
        .map(|n| format!("{kind}-{n}"))
        .find(|name| !taken(name))
        .unwrap_or_default()
}

fn list(ctx: &Ctx, store: &Store) -> Result<()> {
    let settings = config::load()?.notify;
    let state = notifier::read_state(store).unwrap_or_default();
    let rows: Vec<Value> = settings
        .channels
        .iter()
        .map(|c| {
            let health = state.channels.get(&c.name).cloned().unwrap_or_default();
            json!({
                "name": c.name,
                "kind": c.kind.as_str(),
                "target": c.target.as_deref().map(channel::mask),
                "token": c.token.is_some(),
                "only": c.only,
                "reply": c.reply.is_some(),
                "health": {
                    "failing_since_ms": health.failing_since_ms,
                    "failures": health.failures,
                    "last_error": health.last_error,
                    "last_ok_ms": health.last_ok_ms,
                },
            })
        })
        .collect();
    if ctx.json {
        return super::print_json(&json!({ "channels": rows }));
    }
    if rows.is_empty() {
        println!("no notification channels: add one with `orch notify add KIND TARGET`");
        return Ok(());
    }
    for (c, row) in settings.channels.iter().zip(&rows) {
        let mut line = format!("{:<12} {:<9}", c.name, c.kind.as_str());
        if let Some(target) = row["target"].as_str() {
            line.push_str(&format!(" {target}"));
        }
        if c.token.is_some() {
            line.push_str(" (token)");
        }
        if c.reply.is_some() {
            line.push_str(" (answers)");
        }
        if !c.only.is_empty() {
            line.push_str(&format!(" only {}", c.only.join(",")));
        }
        if let Some(err) = row["health"]["last_error"]
            .as_str()
            .filter(|_| !row["health"]["failing_since_ms"].is_null())
        {
            line.push_str(&format!(" FAILING: {err}"));
        }
        println!("{line}");
    }
    Ok(())
}

fn test(ctx: &Ctx, only: Option<&str>) -> Result<()> {
    let settings = config::load()?.notify;
    let channels: Vec<&Channel> = match only {
        Some(name) => vec![settings.channel(name)?],
        None => settings.channels.iter().collect(),
    };
    if channels.is_empty() {
        bail!("no notification channels: add one with `orch notify add KIND TARGET`");
    }
    let now = orch_store::clock::now_ms();
    let need = Need {
        key: "test".into(),
        kind: "needs-input",
        worker: None,
        name: None,
        since_ms: now,
        title: "orch test notification".into(),
        text: "this channel works".into(),
        escalation: None,
        question: None,
    };
    let mut rows = Vec::new();
    let mut failed = 0;
    for channel in channels {
        let sent = channel::send(channel, &need, now, false, None);
        if sent.is_err() {
            failed += 1;
        }
        let error = sent.err().map(|e| format!("{e:#}"));
        if !ctx.json {
            match &error {
                None => println!("{}: sent", channel.name),
                Some(err) => println!("{}: FAILED: {err}", channel.name),
            }
        }
        rows.push(json!({"name": channel.name, "ok": error.is_none(), "error": error}));
    }
    if ctx.json {
        super::print_json(&json!({ "channels": rows }))?;
    }
    if failed > 0 {
        bail!("{failed} channel(s) failed the test");
    }
    Ok(())
}

fn say(ctx: &Ctx, value: Value, text: &str) -> Result<()> {
    if ctx.json {
        super::print_json(&value)
    } else {
        println!("{text}");
        Ok(())
    }
}
