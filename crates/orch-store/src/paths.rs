//! Where orch's files are: the state directory, its data folder and the executables shipped
//! beside the running one; and what a record id may be.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// The state directory: `$ORCH_HOME` if set and non-empty, else `dirs::state_dir()/orch`
/// (`~/.local/state/orch` on Linux), else `dirs::data_local_dir()/orch` (macOS).
pub fn state_dir() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("ORCH_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("orch"))
        .context("cannot find a state directory: set ORCH_HOME")
}

/// Whether `id` can name a record (a worker, an operator pane, an escalation) and so a folder
/// under the state directory: 1 to 64 ASCII letters, digits, `-` and `_`, starting with a
/// letter or digit. Never `.`, `..`, empty, or anything with a `/`. The one check, for ids from
/// the environment (`ORCH_WORKER`), index files and the command line alike.
pub fn valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The user's home folder (`$HOME`).
pub fn home() -> Result<PathBuf> {
    dirs::home_dir().context("cannot find the home folder: set HOME")
}

/// Where orch keeps files it installs for Claude Code (the shipped skills that `orch up` links):
/// `dirs::data_dir()/orch`, e.g. `~/.local/share/orch`.
pub fn data_dir() -> Result<PathBuf> {
    dirs::data_dir()
        .map(|d| d.join("orch"))
        .context("cannot find a data directory: set HOME")
}

/// The absolute path of an executable shipped beside the running one, e.g. `orch-hook`.
/// Errors when it is not there.
pub fn sibling_exe(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find the running executable")?;
    let me = me.canonicalize().unwrap_or(me);
    let dir = me
        .parent()
        .context("the running executable has no folder")?;
    let path = dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    // Under `cargo test` the running executable sits in `target/<profile>/deps`.
    if let Some(up) = dir.parent().map(|p| p.join(name)).filter(|p| p.is_file()) {
        return Ok(up);
    }
    anyhow::bail!(
        "cannot find `{name}` beside `{}`: reinstall orch so that all its executables sit together",
        me.display()
    )
}

/// `orch` (beside this executable) as a detached helper of the state folder `state_root`
/// (`ORCH_HOME`): no stdin, stdout or stderr, in a process group of its own so it outlives
/// its caller and no signal to the caller's group reaches it. The caller adds the hidden
/// subcommand and spawns it.
///
/// Errors: `orch` cannot be found ([`sibling_exe`]).
pub fn orch_detached(state_root: &std::path::Path) -> Result<std::process::Command> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut cmd = std::process::Command::new(sibling_exe("orch")?);
    cmd.env("ORCH_HOME", state_root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_names_never_paths() {
        for good in ["w1", "op12", "operator", "e3", "a-b_c", "W9"] {
            assert!(super::valid_id(good), "{good}");
        }
        let long = "w".repeat(65);
        for bad in [
            "", ".", "..", "../w1", "w1/..", "a/b", "-w", "_w", ".w1", "w 1", "w1\n", "é", &long,
        ] {
            assert!(!super::valid_id(bad), "{bad:?}");
        }
    }
}
