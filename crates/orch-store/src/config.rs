//! orch's settings: one file, `$XDG_CONFIG_HOME/orch/config.yaml` (`~/.config/orch/config.yaml`
//! on Linux), read here and nowhere else. Every setting has a default, so a missing file is an
//! empty one; a file that is not valid YAML of this shape is an error naming the file and the
//! field. It may name credentials: keep it 0600.
//!
//! ```yaml
//! limits:
//!   first_probe_s: 60     # a limit with no reset time: first probe after this many seconds,
//!   max_probe_s: 900      # then twice as long each time, up to this
//!   stagger_s: 2          # between two workers continued after a reset,
//!   spread_s: 4           # or less, so that the last begins within this of the first
//!   continue_prompt: continue
//!   escalate_after_s: 21600  # a limit that lasts longer (or names a reset further off) is
//!                            # escalated to the held workers' parent, once
//! accounts:               # credentials workers can be spawned on by name (`--account NAME`)
//!   - name: work
//!     harness: claude     # optional: only workers of this harness may use it
//!     env:                # set for the worker (`~` and `$VAR` expanded)
//!       CLAUDE_CONFIG_DIR: ~/.claude-work
//!   - name: spare
//!     harness: codex
//!     env:
//!       CODEX_HOME: ~/.codex-spare   # the folder the worker's own Codex home is made from
//! prices:                 # USD per million tokens; taken before the table orch ships
//!   my-model: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75, cache_write_1h: 6}
//!   big-model:
//!     input: 2
//!     output: 10
//!     above: {tokens: 200000, input: 4, output: 15}  # a call whose prompt is longer
//! notify:                 # telling the person what waits for them (`orch notify`)
//!   grace_s: 5            # a need settled within this many seconds never pages
//!   resend_s: 3600        # a need still open is sent again after this (0: never again)
//!   stuck_s: 600          # a worker busy and silent this long is stuck
//!   max_per_hour: 30      # per channel; more wait their turn (never dropped)
//!   quiet: "22:00-07:00"  # local time: nothing is sent; what is still open goes out after
//!   channels:
//!     - name: phone
//!       kind: ntfy        # terminal, desktop, ntfy, webhook, slack
//!       target: https://ntfy.sh/my-topic
//!       token: tk_...     # sent as `Authorization: Bearer`, never on a command line
//!       only: [escalation, needs-input]   # the needs it is sent (all when empty)
//!       reply: https://ntfy.sh/my-answers    # answers from the phone (needs the token)
//! ```

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How a fleet rides out usage limits.
    pub limits: LimitSettings,
    /// Named credentials, in the order `--account auto` tries them.
    pub accounts: Vec<Account>,
    /// The user's own prices per model id, taken before the table orch ships.
    pub prices: BTreeMap<String, Rates>,
    /// Where and when the person is told what waits for them.
    pub notify: NotifySettings,
}

/// What one model costs, in USD per million tokens: an entry of `prices:` here, of the file
/// named by `ORCH_PRICES`, and of the table orch ships (`bins/lib/spend/prices.json`). A rate
/// left out is unknown, not zero: a call with tokens of that kind has no cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rates {
    /// Input not read from a cache.
    pub input: f64,
    /// Output, thinking tokens among it.
    pub output: f64,
    /// Input read from the prompt cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Input written to the prompt cache for 5 minutes (Anthropic's default lifetime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    /// Input written to the prompt cache for 1 hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<f64>,
    /// The rates of a call whose prompt (input, cache read and cache write together) is above
    /// a number of tokens: a long-context tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<Tier>,
}

/// A long-context tier of [`Rates`]: each rate it names replaces the base one for the whole
/// call; a rate it leaves out stays the base one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// The prompt size (tokens) a call must exceed.
    pub tokens: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_1h: Option<f64>,
}

/// The `notify:` section: the channels and when they are used (`orch notify`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifySettings {
    /// Seconds a need waits before it is sent, so what the operator settles at once never
    /// pages.
    pub grace_s: f64,
    /// Seconds after which a need still open is sent again; 0 sends each need once.
    pub resend_s: f64,
    /// Seconds a worker may be busy with no event before it counts as stuck.
    pub stuck_s: f64,
    /// Most notifications one channel is sent in an hour; the rest wait their turn. 0: no cap.
    pub max_per_hour: u32,
    /// Quiet hours, local time, `HH:MM-HH:MM` (may span midnight): nothing is sent then, and
    /// what is still open when they end is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet: Option<String>,
    /// The channels, each sent every need its filter lets through.
    pub channels: Vec<Channel>,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            grace_s: 5.0,
            resend_s: 3600.0,
            stuck_s: 600.0,
            max_per_hour: 30,
            quiet: None,
            channels: Vec::new(),
        }
    }
}

impl NotifySettings {
    /// The quiet hours as minutes after local midnight, `(from, to)`.
    ///
    /// Errors: not `HH:MM-HH:MM` with hours below 24 and minutes below 60.
    pub fn quiet_minutes(&self) -> Result<Option<(u32, u32)>> {
        let Some(text) = self.quiet.as_deref() else {
            return Ok(None);
        };
        let minutes = |hm: &str| -> Option<u32> {
            let (h, m) = hm.trim().split_once(':')?;
            let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let parsed = text
            .split_once('-')
            .and_then(|(from, to)| Some((minutes(from)?, minutes(to)?)));
        match parsed {
            Some(found) => Ok(Some(found)),
            None => anyhow::bail!("notify.quiet: `{text}` is not `HH:MM-HH:MM`"),
        }
    }

    /// The channel named `name`.
    ///
    /// Errors: none is, naming those there are.
    pub fn channel(&self, name: &str) -> Result<&Channel> {
        match self.channels.iter().find(|c| c.name == name) {
            Some(channel) => Ok(channel),
            None => {
                let known: Vec<&str> = self.channels.iter().map(|c| c.name.as_str()).collect();
                anyhow::bail!(
                    "no notification channel `{name}` (there are: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
        }
    }
}

/// Where notifications go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A message and a bell in the clients of a tmux server (target: its socket path).
    Terminal,
    /// The platform's notifier: `notify-send` (Linux), `osascript` (macOS).
    Desktop,
    /// An ntfy topic's publish URL (any server); a token is sent as a bearer token.
    Ntfy,
    /// A URL that is POSTed one JSON object per notification (see the README: Notifications).
    Webhook,
    /// A Slack-compatible incoming webhook URL (`{"text": ...}`).
    Slack,
}

impl ChannelKind {
    /// Its name in the file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Terminal => "terminal",
            ChannelKind::Desktop => "desktop",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
        }
    }

    /// Whether it is reached over HTTP (its target is a URL).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            ChannelKind::Ntfy | ChannelKind::Webhook | ChannelKind::Slack
        )
    }
}

/// One entry of `notify.channels:`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Its name (letters, digits, `-`, `_`), unique in the file.
    pub name: String,
    /// What it is.
    pub kind: ChannelKind,
    /// A URL for ntfy, webhook and slack (a secret: whoever has it can post); a tmux socket
    /// path for terminal; nothing for desktop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A bearer token (ntfy access token, webhook secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The needs it is sent (`needs-input`, `escalation`, `budget`, `limit`, `stuck`,
    /// `conflict`); every one when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub only: Vec<String>,
    /// Answers from the phone (ntfy only, and only with a `token`): the URL of the ntfy topic
    /// the person's answers are published to (`https://SERVER/TOPIC`), which must need the
    /// token to publish to. An escalation's page then carries its options as buttons that
    /// publish there, and the notifier follows the topic while escalations are open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
}

/// One entry of `accounts:`: a name workers are spawned on (`spawn --account NAME`, an
/// outfit's `account:`), the harness it serves, and the variables that select its credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Its name: letters, digits, `-` and `_` (as worker ids), unique in the file.
    pub name: String,
    /// The harness it serves (`claude`, `codex`, `gemini`, `pi`); any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness: Option<String>,
    /// Variables set for the worker, values as written (`~` and `$VAR` are expanded at spawn).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

impl Config {
    /// The account named `name`.
    ///
    /// Errors: none is, naming the file's accounts and where to add one.
    pub fn account(&self, name: &str) -> Result<&Account> {
        if let Some(account) = self.accounts.iter().find(|a| a.name == name) {
            return Ok(account);
        }
        let known: Vec<&str> = self.accounts.iter().map(|a| a.name.as_str()).collect();
        anyhow::bail!(
            "no account `{name}` in orch's configuration ({}): add it under `accounts:` in `{}`",
            if known.is_empty() {
                "it names none".to_string()
            } else {
                format!("it names {}", known.join(", "))
            },
            path().map(|p| p.display().to_string()).unwrap_or_default()
        )
    }

    /// Checks what serde cannot: account names usable as file names and each used once.
    fn check(self) -> Result<Config> {
        for (at, account) in self.accounts.iter().enumerate() {
            if !crate::paths::valid_id(&account.name) || account.name == "auto" {
                anyhow::bail!(
                    "accounts[{at}]: `{}` is not a usable account name: use letters, digits, \
                     `-` and `_` (and not `auto`)",
                    account.name
                );
            }
            if self.accounts[..at].iter().any(|a| a.name == account.name) {
                anyhow::bail!("accounts[{at}]: `{}` is named twice", account.name);
            }
        }
        let channels = &self.notify.channels;
        for (at, channel) in channels.iter().enumerate() {
            if !crate::paths::valid_id(&channel.name) {
                anyhow::bail!(
                    "notify.channels[{at}]: `{}` is not a usable name: use letters, digits, \
                     `-` and `_`",
                    channel.name
                );
            }
            if channels[..at].iter().any(|c| c.name == channel.name) {
                anyhow::bail!("notify.channels[{at}]: `{}` is named twice", channel.name);
            }
            if channel.kind.is_http() && channel.target.is_none() {
                anyhow::bail!(
                    "notify.channels[{at}]: a {} channel needs a `target` URL",
                    channel.kind.as_str()
                );
            }
            if channel.reply.is_some() {
                if channel.kind != ChannelKind::Ntfy {
                    anyhow::bail!(
                        "notify.channels[{at}]: `reply` is for ntfy channels only, not {}",
                        channel.kind.as_str()
                    );
                }
                if channel.token.is_none() {
                    anyhow::bail!(
                        "notify.channels[{at}]: `reply` needs a `token`: answers are taken only \
                         from a topic that needs credentials to publish to"
                    );
                }
            }
            for need in &channel.only {
                if !NEEDS.contains(&need.as_str()) {
                    anyhow::bail!(
                        "notify.channels[{at}].only: `{need}` is none of {}",
                        NEEDS.join(", ")
                    );
                }
            }
        }
        self.notify.quiet_minutes()?;
        Ok(self)
    }
}

/// The `limits:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Seconds before the first probe of an account whose limit named no reset time.
    pub first_probe_s: f64,
    /// The longest wait between two probes, in seconds (each wait doubles up to it).
    pub max_probe_s: f64,
    /// Seconds between two workers continued after a reset, so a fleet does not hit the API
    /// in one burst.
    pub stagger_s: f64,
    /// The longest, in seconds, from the first worker continued after a reset to the last: a
    /// fleet too large to begin within it at `stagger_s` each is continued closer together
    /// ([`LimitSettings::continue_gap`]).
    pub spread_s: f64,
    /// What is typed into a worker whose turn a limit ended, to continue it (the failed prompt
    /// is still in its conversation).
    pub continue_prompt: String,
    /// Seconds a limit may hold an account before orch escalates it to the held workers'
    /// parent on the reversibility axis (a reset time further off escalates at once).
    pub escalate_after_s: f64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            first_probe_s: 60.0,
            max_probe_s: 900.0,
            stagger_s: 2.0,
            spread_s: 4.0,
            continue_prompt: "continue".into(),
            escalate_after_s: 6.0 * 3600.0,
        }
    }
}

impl LimitSettings {
    /// The time between two of `n` workers continued after a reset: `stagger_s`, or less when
    /// `n` of them would not all begin within `spread_s` (50 workers with the defaults: one
    /// every 82 ms, the last 4 s after the first, where 2 s each would take 98 s).
    pub fn continue_gap(&self, n: usize) -> Duration {
        let stagger = self.stagger_s.max(0.0);
        let gap = match n {
            0 | 1 => stagger,
            n => stagger.min(self.spread_s.max(0.0) / (n - 1) as f64),
        };
        Duration::from_secs_f64(gap)
    }
}

/// The kinds of need a channel's `only:` may name.
pub const NEEDS: [&str; 6] = [
    "needs-input",
    "escalation",
    "budget",
    "limit",
    "stuck",
    "conflict",
];

/// Where the file is: `dirs::config_dir()/orch/config.yaml`.
///
/// Errors: no configuration folder is known (no `HOME`).
pub fn path() -> Result<PathBuf> {
    let dir = dirs::config_dir().context("cannot find the configuration folder: set HOME")?;
    Ok(dir.join("orch").join("config.yaml"))
}

/// Reads the file (defaults when it is missing).
///
/// Errors: it cannot be read, or it is not valid (the message names the file and the field).
pub fn load() -> Result<Config> {
    let path = path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(err) => return Err(err).with_context(|| format!("cannot read `{}`", path.display())),
    };
    parse(&text).with_context(|| {
        format!(
            "`{}` is not a valid orch configuration: fix or remove the field named",
            path.display()
        )
    })
}

/// Changes the file under its lock: reads it (defaults when missing), applies `edit`, checks
/// the result, keeps a timestamped backup of the old file beside it and writes the new one
/// atomically, mode 0600. The file is rewritten from its fields: comments are not kept (the
/// backup has them). Returns what `edit` returned.
///
/// Errors: the file is not valid, `edit` fails, the result is not valid, or it cannot be
/// written.
pub fn edit<T>(edit: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
    let path = path()?;
    if let Some(folder) = path.parent() {
        crate::files::create_dir_mode(folder, 0o700)?;
    }
    let _lock = crate::files::Lock::acquire(&path)?;
    let mut config = load()?;
    let out = edit(&mut config)?;
    let config = config.check()?;
    let text = serde_yaml::to_string(&config).context("cannot write the configuration")?;
    crate::files::backup(&path, crate::clock::now_ms())?;
    crate::files::write_atomic(&path, text.as_bytes(), 0o600)?;
    // An older file may have been made with looser bits: it holds credentials.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("cannot make `{}` private", path.display()))?;
    Ok(out)
}

/// Parses the file's text (an empty text is the defaults).
///
/// Errors: not YAML, a field unknown or of the wrong type.
pub fn parse(text: &str) -> Result<Config> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    serde_yaml::from_str::<Config>(text)?.check()
}

/// The shape of a file named by `ORCH_PRICES`: the `prices:` section alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PricesFile {
    #[serde(default)]
    prices: BTreeMap<String, Rates>,
}

/// Reads a prices file (`ORCH_PRICES`): YAML (or JSON) with one `prices:` section shaped as
/// the configuration file's.
///
/// Errors: it cannot be read, or it is not such a file (the message names the file and the
/// field).
pub fn load_prices(path: &std::path::Path) -> Result<BTreeMap<String, Rates>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let file: PricesFile = serde_yaml::from_str(&text).with_context(|| {
        format!(
            "`{}` is not a prices file (a `prices:` section, model ids to rates in USD per \
             million tokens)",
            path.display()
        )
    })?;
    Ok(file.prices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_fields_take_defaults_and_unknown_ones_are_errors() {
        assert_eq!(parse("").unwrap(), Config::default());
        let c = parse("limits:\n  first_probe_s: 0.5\n").unwrap();
        assert_eq!(c.limits.first_probe_s, 0.5);
        assert_eq!(c.limits.max_probe_s, 900.0);
        let err = parse("limits:\n  first_probe: 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("first_probe"), "{err}");
        assert!(parse("limits: [1]").is_err());
    }

    #[test]
    fn accounts_are_named_once_with_usable_names() {
        let c = parse(
            "accounts:\n  - name: work\n    harness: claude\n    env:\n      CLAUDE_CONFIG_DIR: ~/w\n  - name: b\n",
        )
        .unwrap();
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.account("work").unwrap().env["CLAUDE_CONFIG_DIR"], "~/w");
        let err = c.account("nope").unwrap_err().to_string();
        assert!(err.contains("it names work, b"), "{err}");
        for bad in ["../x", "auto", "a b"] {
            let err = parse(&format!("accounts:\n  - name: '{bad}'\n")).unwrap_err();
            assert!(err.to_string().contains("usable"), "{bad}: {err}");
        }
        let err = parse("accounts:\n  - name: a\n  - name: a\n").unwrap_err();
        assert!(err.to_string().contains("named twice"), "{err}");
    }

    #[test]
    fn prices_name_rates_and_refuse_unknown_fields() {
        let c = parse(
            "prices:\n  m: {input: 3, output: 15, cache_write_1h: 6}\n  \
             l:\n    input: 1\n    output: 2\n    above: {tokens: 200000, input: 2}\n",
        )
        .unwrap();
        assert_eq!(c.prices["m"].cache_write_1h, Some(6.0));
        assert_eq!(c.prices["m"].cache_read, None, "left out is unknown");
        assert_eq!(c.prices["l"].above.as_ref().unwrap().tokens, 200_000);
        let err = format!(
            "{:#}",
            parse("prices:\n  m: {input: 1, output: 2, cache: 1}\n").unwrap_err()
        );
        assert!(err.contains("cache"), "{err}");
        assert!(
            parse("prices:\n  m: {input: 1}\n").is_err(),
            "output is needed"
        );
    }

    #[test]
    fn a_large_fleet_is_continued_within_the_spread_and_a_small_one_at_the_stagger() {
        let settings = LimitSettings::default();
        assert_eq!(settings.continue_gap(2), Duration::from_secs(2));
        assert_eq!(settings.continue_gap(3), Duration::from_secs(2));
        assert_eq!(settings.continue_gap(5), Duration::from_secs(1));
        let gap = settings.continue_gap(50);
        assert!(((gap * 49).as_secs_f64() - 4.0).abs() < 1e-6, "{gap:?}");
        let spread_off = LimitSettings {
            spread_s: 0.0,
            ..settings
        };
        assert_eq!(spread_off.continue_gap(50), Duration::ZERO);
    }

    #[test]
    fn notify_channels_are_checked_and_quiet_hours_parsed() {
        let c = parse(
            "notify:\n  quiet: '22:30-07:00'\n  channels:\n    - name: phone\n      kind: ntfy\n      target: https://n/t\n      only: [escalation]\n",
        )
        .unwrap();
        assert_eq!(c.notify.grace_s, 5.0);
        assert_eq!(
            c.notify.quiet_minutes().unwrap(),
            Some((22 * 60 + 30, 7 * 60))
        );
        assert_eq!(c.notify.channel("phone").unwrap().kind, ChannelKind::Ntfy);
        assert!(c
            .notify
            .channel("x")
            .unwrap_err()
            .to_string()
            .contains("phone"));
        for bad in [
            "notify:\n  quiet: '25:00-01:00'\n",
            "notify:\n  channels:\n    - name: a\n      kind: webhook\n",
            "notify:\n  channels:\n    - name: a\n      kind: desktop\n      only: [lunch]\n",
            "notify:\n  channels:\n    - name: a\n      kind: desktop\n    - name: a\n      kind: desktop\n",
            "notify:\n  channels:\n    - name: a\n      kind: pager\n",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
