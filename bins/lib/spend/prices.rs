//! What a model call costs: the user's own prices (the file named by `ORCH_PRICES`, then
//! `prices:` in orch's configuration file) before the table orch ships, `prices.json` beside
//! this file (written by `install/prices.sh` from LiteLLM's model price list in its PyPI
//! package; never fetched at run time). A model none of them lists has no cost, never a guess.

use anyhow::{Context, Result};
use orch_store::config::Rates;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Token counts of one model call or a sum of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Input tokens not read from a cache.
    pub input: u64,
    /// Output tokens, thinking (reasoning) tokens among them.
    pub output: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache (Claude, and pi when its provider says; 0 for
    /// Codex and Gemini CLI), for any lifetime.
    pub cache_write: u64,
    /// Of `cache_write`, the tokens written for 1 hour (Claude Code's
    /// `cache_creation.ephemeral_1h_input_tokens`; the rest is the 5-minute cache), billed
    /// higher.
    #[serde(default)]
    pub cache_write_1h: u64,
}

impl Tokens {
    /// Every token counted.
    pub fn total(&self) -> u64 {
        self.input + self.output + self.cache_read + self.cache_write
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &Tokens) {
        self.input += other.input;
        self.output += other.output;
        self.cache_read += other.cache_read;
        self.cache_write += other.cache_write;
        self.cache_write_1h += other.cache_write_1h;
    }
}

/// The table orch ships (its shape: [`Table`]).
const SHIPPED: &str = include_str!("prices.json");

/// The shape of `prices.json`: where its rates come from, and the rates per model id.
#[derive(Debug, Deserialize)]
pub struct Table {
    /// In words: the package, its version and the file in it the rates were taken from.
    pub source: String,
    /// The package the rates come from (`litellm`).
    pub package: String,
    /// Its version.
    pub version: String,
    /// The day the table was written (`YYYY-MM-DD`).
    pub date: String,
    /// Rates per model id, USD per million tokens.
    pub models: BTreeMap<String, Rates>,
}

/// Where a model's rates were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The file named by `ORCH_PRICES`.
    File,
    /// `prices:` in orch's configuration file.
    Config,
    /// The table orch ships.
    Shipped,
}

/// Every price orch knows, in the order they are looked in.
#[derive(Debug)]
pub struct Prices {
    /// The file named by `ORCH_PRICES`, then the configuration's `prices:`.
    user: Vec<(Origin, BTreeMap<String, Rates>)>,
    /// The table orch ships.
    pub table: Table,
}

impl Prices {
    /// The shipped table and the user's prices.
    ///
    /// Errors: the configuration file or the `ORCH_PRICES` file cannot be read or is not
    /// valid (naming the file).
    pub fn load() -> Result<Prices> {
        let mut prices = Prices::shipped();
        if let Some(path) = std::env::var_os("ORCH_PRICES").filter(|p| !p.is_empty()) {
            let file = orch_store::config::load_prices(std::path::Path::new(&path))?;
            prices.user.push((Origin::File, file));
        }
        let config = orch_store::config::load()?;
        prices.user.push((Origin::Config, config.prices));
        Ok(prices)
    }

    /// The shipped table alone.
    pub fn shipped() -> Prices {
        Prices {
            user: Vec::new(),
            table: serde_json::from_str(SHIPPED)
                .context("the shipped `prices.json`")
                .expect("install/prices.sh writes a valid table"),
        }
    }

    /// The rates of `model` and where they were found: the user's first, each looked up by
    /// the id as written, then as [`names`] reduces it.
    pub fn rates(&self, model: &str) -> Option<(&Rates, Origin)> {
        let names = names(model);
        let shipped = (Origin::Shipped, &self.table.models);
        self.user
            .iter()
            .map(|(origin, map)| (*origin, map))
            .chain([shipped])
            .find_map(|(origin, map)| names.iter().find_map(|n| map.get(n)).map(|r| (r, origin)))
    }

    /// What `tokens` of one call of `model` cost in USD ([`cost`] at its rates).
    #[cfg(test)]
    pub fn cost(&self, model: &str, tokens: &Tokens) -> Option<f64> {
        let (rates, _) = self.rates(model)?;
        cost(rates, tokens)
    }
}

/// What `tokens` of one call cost in USD at `rates`, or `None` when a kind of token the call
/// has has no rate. The 1-hour part of the cache write is priced at its own rate; a call whose
/// prompt (input, cache read and cache write, as the providers count it) is above a tier's
/// `tokens` is priced at the tier's rates throughout.
pub fn cost(rates: &Rates, tokens: &Tokens) -> Option<f64> {
    let prompt = tokens.input + tokens.cache_read + tokens.cache_write;
    let tier = rates.above.as_ref().filter(|t| prompt > t.tokens);
    let high = |pick: fn(&orch_store::config::Tier) -> Option<f64>| tier.and_then(pick);
    let part = |n: u64, rate: Option<f64>| match n {
        0 => Some(0.0),
        n => rate.map(|r| n as f64 * r / 1e6),
    };
    let one_hour = tokens.cache_write_1h.min(tokens.cache_write);
    [
        part(tokens.input, high(|t| t.input).or(Some(rates.input))),
        part(tokens.output, high(|t| t.output).or(Some(rates.output))),
        part(
            tokens.cache_read,
            high(|t| t.cache_read).or(rates.cache_read),
        ),
        part(
            tokens.cache_write - one_hour,
            high(|t| t.cache_write).or(rates.cache_write),
        ),
        part(
            one_hour,
            high(|t| t.cache_write_1h).or(rates.cache_write_1h),
        ),
    ]
    .into_iter()
    .sum()
}

/// The prices this process uses: loaded once (a long-running `orch top` keeps them). When
/// the user's prices cannot be read, the shipped table alone (`orch usage` and `orch doctor`
/// say why: [`Prices::load`]). Unit tests see the shipped table alone, whatever the user who
/// runs them configured.
pub fn current() -> &'static Prices {
    static PRICES: OnceLock<Prices> = OnceLock::new();
    PRICES.get_or_init(|| {
        if cfg!(test) {
            return Prices::shipped();
        }
        Prices::load().unwrap_or_else(|_| Prices::shipped())
    })
}

/// The ids `model` is looked up by, most specific first: as written; without a provider
/// prefix (`anthropic/`, `openai/`, `models/`, Bedrock's `us.anthropic.`), a context mark
/// (`[1m]`), a Vertex version (`@20250929`) or a Bedrock one (`-v1:0`); then without a
/// trailing date (`-20250929`, `-2025-08-07`).
pub fn names(model: &str) -> Vec<String> {
    let mut base = model.rsplit('/').next().unwrap_or(model);
    base = base.split(['[', '@']).next().unwrap_or(base);
    if let Some((_, rest)) = base.split_once("anthropic.") {
        base = rest;
    }
    if let Some((head, version)) = base.rsplit_once("-v") {
        let (major, minor) = version.split_once(':').unwrap_or((version, "0"));
        if [major, minor]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            base = head;
        }
    }
    let undated = undated(base);
    let mut out = vec![model.to_string()];
    for name in [base, undated] {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// `name` without a trailing `-YYYYMMDD` or `-YYYY-MM-DD`.
fn undated(name: &str) -> &str {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let bytes = name.as_bytes();
    for len in [9, 11] {
        if name.len() > len && bytes[name.len() - len] == b'-' {
            let date = &name[name.len() - len + 1..];
            let ok = match len {
                9 => digits(date),
                _ => {
                    let p: Vec<&str> = date.split('-').collect();
                    p.len() == 3 && p[0].len() == 4 && p.iter().all(|s| digits(s))
                }
            };
            if ok {
                return &name[..name.len() - len];
            }
        }
    }
    name
}

/// The lines to add to orch's configuration file to price `model`: a `prices:` entry with
/// every rate to fill in (USD per million tokens).
pub fn fix_lines(model: &str) -> String {
    let key = if model
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        model.to_string()
    } else {
        format!("{model:?}")
    };
    format!(
        "prices:\n  {key}: {{input: 0, output: 0, cache_read: 0, cache_write: 0, \
         cache_write_1h: 0}}  # USD per million tokens: fill in the provider's rates"
    )
}

/// The age of the shipped table in days on `today_ms` (Unix milliseconds), or `None` when its
/// date cannot be read.
pub fn table_age_days(table: &Table, today_ms: u64) -> Option<u64> {
    let at = orch_store::clock::parse_rfc3339(&format!("{}T00:00:00Z", table.date))?;
    Some(today_ms.saturating_sub(at) / 86_400_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, read: u64, write: u64, write_1h: u64) -> Tokens {
        Tokens {
            input,
            output,
            cache_read: read,
            cache_write: write,
            cache_write_1h: write_1h,
        }
    }

    #[test]
    fn snapshots_and_provider_ids_map_to_their_model() {
        for id in [
            "claude-sonnet-4-5-20250929",
            "claude-sonnet-4-5[1m]",
            "anthropic/claude-sonnet-4-5",
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "claude-sonnet-4-5@20250929",
        ] {
            assert!(
                names(id).contains(&"claude-sonnet-4-5".to_string()),
                "{id}: {:?}",
                names(id)
            );
        }
        assert_eq!(names("gpt-5-2025-08-07").last().unwrap(), "gpt-5");
        assert_eq!(
            names("models/gemini-2.5-pro").last().unwrap(),
            "gemini-2.5-pro"
        );
        // A version that is part of the name stays.
        assert_eq!(names("gemini-2.5-flash"), ["gemini-2.5-flash"]);
        assert_eq!(names("gpt-5.1-codex-max"), ["gpt-5.1-codex-max"]);
    }

    #[test]
    fn unknown_models_are_not_guessed() {
        let p = Prices::shipped();
        let t = tokens(1_000_000, 0, 0, 0, 0);
        assert_eq!(p.cost("claude-sonnet-4-5-20250929", &t), Some(3.0));
        assert_eq!(p.cost("claude-sonnet-9", &t), None);
        assert_eq!(p.cost("mock-model", &t), None);
        // Not a prefix match: `claude-opus-4` is not `claude-opus-4-8`.
        assert_eq!(p.cost("claude-opus-4-8-turbo", &t), None);
        assert!(p.table.source.contains("litellm") && p.table.date.len() == 10);
    }

    #[test]
    fn newest_claude_code_defaults_have_a_price() {
        let p = Prices::shipped();
        let t = tokens(1_000_000, 1_000_000, 0, 0, 0);
        assert_eq!(p.cost("claude-opus-4-8", &t), Some(30.0));
        assert!(p.cost("claude-opus-5-5", &t).is_some());
    }

    #[test]
    fn a_one_hour_cache_write_is_priced_at_its_rate() {
        let p = Prices::shipped();
        // claude-opus-4-8: 6.25 for 5 minutes, 10 for an hour.
        let cost = p.cost("claude-opus-4-8", &tokens(0, 0, 0, 1_000_000, 400_000));
        assert!(
            (cost.unwrap() - (0.6 * 6.25 + 0.4 * 10.0)).abs() < 1e-9,
            "{cost:?}"
        );
    }

    #[test]
    fn a_call_above_the_tier_is_priced_at_its_rates_throughout() {
        let p = Prices::shipped();
        // gemini-2.5-pro: 1.25/10/0.125 up to 200k of prompt, 2.5/15/0.25 above.
        let under = p.cost("gemini-2.5-pro", &tokens(150_000, 1_000, 50_000, 0, 0));
        let want = (150_000.0 * 1.25 + 1_000.0 * 10.0 + 50_000.0 * 0.125) / 1e6;
        assert!((under.unwrap() - want).abs() < 1e-12, "{under:?}");
        let over = p.cost("gemini-2.5-pro", &tokens(150_001, 1_000, 50_000, 0, 0));
        let want = (150_001.0 * 2.5 + 1_000.0 * 15.0 + 50_000.0 * 0.25) / 1e6;
        assert!((over.unwrap() - want).abs() < 1e-12, "{over:?}");
    }

    #[test]
    fn a_rate_left_out_leaves_such_calls_unpriced() {
        let mut p = Prices::shipped();
        let rates: Rates =
            serde_json::from_value(serde_json::json!({"input": 1, "output": 2})).unwrap();
        p.user
            .push((Origin::Config, [("m".to_string(), rates)].into()));
        assert_eq!(p.cost("m", &tokens(1_000_000, 0, 0, 0, 0)), Some(1.0));
        assert_eq!(p.cost("m", &tokens(1, 0, 0, 5, 0)), None);
    }

    #[test]
    fn the_users_price_comes_before_the_shipped_one() {
        let mut p = Prices::shipped();
        let mine: Rates =
            serde_json::from_value(serde_json::json!({"input": 1, "output": 1})).unwrap();
        p.user
            .push((Origin::File, [("claude-opus-4-8".to_string(), mine)].into()));
        let (_, origin) = p.rates("claude-opus-4-8-20261101").unwrap();
        assert_eq!(origin, Origin::File);
        assert_eq!(
            p.cost("claude-opus-4-8", &tokens(1_000_000, 0, 0, 0, 0)),
            Some(1.0)
        );
        assert_eq!(p.rates("claude-opus-5-5").unwrap().1, Origin::Shipped);
    }

    #[test]
    fn the_fix_parses_as_a_price() {
        let text = fix_lines("claude-new-1");
        let c = orch_store::config::parse(&text).unwrap();
        assert!(c.prices.contains_key("claude-new-1"), "{text}");
        let odd = fix_lines("vendor:model x");
        assert!(orch_store::config::parse(&odd)
            .unwrap()
            .prices
            .contains_key("vendor:model x"));
    }
}
