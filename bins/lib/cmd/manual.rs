//! `orch __man DIR`: a man page per command, `orch.1` and `orch-<command>.1`, generated from
//! orch's own clap definition (clap_mangen), so they never drift from `--help`. Run by
//! install/install.sh and npm/pack.sh (hidden: a person reads the pages, they do not make them).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// Writes the pages of `cli` (orch's whole command definition) and of each visible subcommand
/// into `dir` (created if missing); prints each file's path.
///
/// Errors: the folder or a page cannot be written.
pub fn run(dir: &Path, cli: clap::Command) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let cli = cli.name("orch").bin_name("orch");
    let mut pages = vec![("orch".to_string(), cli.clone())];
    for sub in cli.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("orch-{}", sub.get_name());
        pages.push((
            name.clone(),
            sub.clone()
                .name(name.clone())
                .bin_name(format!("orch {}", sub.get_name()))
                .version(cli.get_version().unwrap_or_default().to_string()),
        ));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        writeln!(std::io::stdout().lock(), "{}", path.display())?;
    }
    Ok(())
}
