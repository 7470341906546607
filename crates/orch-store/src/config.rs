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
//! ```

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How a fleet rides out usage limits.
    pub limits: LimitSettings,
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
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            first_probe_s: 60.0,
            max_probe_s: 900.0,
            stagger_s: 2.0,
            spread_s: 4.0,
            continue_prompt: "continue".into(),
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

/// Parses the file's text (an empty text is the defaults).
///
/// Errors: not YAML, a field unknown or of the wrong type.
pub fn parse(text: &str) -> Result<Config> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    Ok(serde_yaml::from_str(text)?)
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
}
