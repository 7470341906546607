//! Accounts by name: the credentials a worker spends on, picked from orch's configuration
//! (`accounts:` in `config.yaml`, [`orch_store::config::Account`]) by `spawn --account NAME`
//! or an outfit's `account:`, or `--account auto` for the first one a usage limit does not
//! hold. A worker stays on the account it was spawned on (a resume takes the same one again);
//! orch never moves a held worker to another account.
//!
//! A named account's key, the name its holds go by (`orch limits`), is `<harness>-<name>`
//! (`claude-work`); a worker spawned without one spends on its caller's own credentials, keyed
//! by a hash of them ([`crate::harness::account_of`]).

use anyhow::{bail, Context, Result};
use orch_store::config::Account;
use orch_store::{Harness, Store};

/// The name a worker's configured `account` is held by: `<harness>-<name>`.
pub fn key(harness: Harness, name: &str) -> String {
    let family = match harness {
        Harness::Sim => "claude",
        other => other.name(),
    };
    format!("{family}-{name}")
}

/// The variables a named account sets for a worker, `~` and `$VAR` expanded (against orch's
/// own environment), in name order.
///
/// Errors: a value names a variable that is not set.
pub fn env(account: &Account) -> Result<Vec<(String, String)>> {
    account
        .env
        .iter()
        .map(|(name, value)| {
            let expanded = shellexpand::full(value).with_context(|| {
                format!(
                    "account `{}`: `{name}: {value}` names a variable that is not set",
                    account.name
                )
            })?;
            Ok((name.clone(), expanded.into_owned()))
        })
        .collect()
}

/// Whether `account` may serve a worker of `harness`.
fn serves(account: &Account, harness: Harness) -> bool {
    match account.harness.as_deref() {
        None => true,
        Some(name) => Harness::parse(name).is_ok_and(|h| family(h) == family(harness)),
    }
}

/// The harness whose credentials a worker of `harness` uses (the sim answers as Claude Code).
fn family(harness: Harness) -> Harness {
    match harness {
        Harness::Sim => Harness::Claude,
        other => other,
    }
}

/// The account a worker of `harness` is spawned on when it asks for `requested` (a name, or
/// `auto`): `Some(name)` for a named one, `None` for the caller's own credentials (`auto` when
/// they are not held; `default_key` is their account). `auto` takes, in order, the caller's
/// own credentials and then each named account serving `harness`, the first no usage limit
/// holds; when every one is held, the one whose limit resets first (its workers wait in the
/// queue: `warnings` says so).
///
/// Errors: the configuration cannot be read, the name is not in it, or the account serves
/// another harness.
pub fn choose(
    store: &Store,
    harness: Harness,
    requested: &str,
    default_key: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    let config = orch_store::config::load()?;
    if requested != "auto" {
        let account = config.account(requested)?;
        if !serves(account, harness) {
            bail!(
                "account `{requested}` serves {} workers, not {}: pick another with \
                 `--account`, or drop its `harness:` in orch's configuration",
                account.harness.as_deref().unwrap_or("any"),
                harness.name()
            );
        }
        return Ok(Some(requested.to_string()));
    }
    let mut candidates: Vec<(Option<String>, String)> = Vec::new();
    if let Some(own) = default_key {
        candidates.push((None, own.to_string()));
    }
    for account in config.accounts.iter().filter(|a| serves(a, harness)) {
        candidates.push((Some(account.name.clone()), key(harness, &account.name)));
    }
    let mut soonest: Option<(u64, &(Option<String>, String))> = None;
    for candidate in &candidates {
        match orch_store::limits::read(store, &candidate.1)? {
            None => return Ok(candidate.0.clone()),
            Some(hold) => {
                let resets = hold.until_ms.unwrap_or(u64::MAX);
                if soonest.is_none_or(|(at, _)| resets < at) {
                    soonest = Some((resets, candidate));
                }
            }
        }
    }
    let Some((_, (name, key))) = soonest else {
        bail!(
            "`--account auto`: no account serves {} workers: name one under `accounts:` in \
             orch's configuration ({})",
            harness.name(),
            orch_store::config::path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    };
    warnings.push(format!(
        "every account a {} worker can use is held by a usage limit: spawned on `{key}`, \
         whose limit resets first; its prompts wait in its queue (`orch limits`)",
        harness.name()
    ));
    Ok(name.clone())
}

/// The variables of the account named `name` for a worker of `harness`, checked usable:
/// a Claude Code account with a config folder of its own must have orch's hooks there.
///
/// Errors: the configuration cannot be read, the account is not in it, a variable does not
/// expand, or its Claude config folder lacks orch's hooks (the fix: `CLAUDE_CONFIG_DIR=...
/// orch up`).
pub fn env_for(harness: Harness, name: &str) -> Result<Vec<(String, String)>> {
    let config = orch_store::config::load()?;
    let vars = env(config.account(name)?)?;
    if family(harness) == Harness::Claude {
        if let Some((_, dir)) = vars.iter().find(|(k, _)| k == "CLAUDE_CONFIG_DIR") {
            let settings = std::path::Path::new(dir).join("settings.json");
            let hooked = crate::claude::settings::read(&settings)?
                .is_some_and(|s| crate::claude::settings::has_orch_hooks(&s));
            if !hooked {
                bail!(
                    "account `{name}`: Claude Code reads its hooks from `{}`, which has none of \
                     orch's: run `CLAUDE_CONFIG_DIR={dir} orch up` once",
                    settings.display()
                );
            }
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, harness: Option<&str>) -> Account {
        Account {
            name: name.into(),
            harness: harness.map(str::to_string),
            env: [("K".to_string(), "~/x".to_string())].into(),
        }
    }

    #[test]
    fn keys_name_the_harness_family() {
        assert_eq!(key(Harness::Claude, "work"), "claude-work");
        assert_eq!(key(Harness::Sim, "work"), "claude-work");
        assert_eq!(key(Harness::Codex, "spare"), "codex-spare");
    }

    #[test]
    fn an_account_serves_its_harness_or_any() {
        assert!(serves(&account("a", None), Harness::Gemini));
        assert!(serves(&account("a", Some("claude")), Harness::Sim));
        assert!(!serves(&account("a", Some("claude")), Harness::Codex));
    }

    #[test]
    fn env_expands_the_home_folder() {
        let vars = env(&account("a", None)).unwrap();
        assert_eq!(vars[0].0, "K");
        assert!(!vars[0].1.starts_with('~'), "{vars:?}");
        let mut bad = account("a", None);
        bad.env
            .insert("B".into(), "$ORCH_TEST_SURELY_UNSET_VAR".into());
        let err = env(&bad).unwrap_err().to_string();
        assert!(err.contains("not set"), "{err}");
    }
}
