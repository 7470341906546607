//! `orch outfit list|show|validate|new`: the outfits a worker can be spawned in.

use super::Ctx;
use crate::harness::Harness;
use crate::harness::HarnessExt;
use crate::outfit;
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::path::PathBuf;

/// Flags of `orch outfit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// What to do with outfits.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// List the outfits visible from here (project, user, shipped; first hit wins).
    List,
    /// Print an outfit as resolved (after `extends`), as YAML.
    Show {
        /// The outfit's name.
        name: String,
    },
    /// Check outfit files; errors give file:line:column and what was expected.
    Validate {
        /// Outfit files (YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write `.orch/outfits/NAME.yaml` extending another outfit, to edit.
    New {
        /// The new outfit's name.
        name: String,
        /// The outfit it extends.
        #[arg(long, default_value = "engineer")]
        from: String,
    },
}

/// Loads outfit `name` ([`outfit::load`]) and checks the harness it names
/// ([`Harness::of_outfit`]).
fn load(name: &str, cwd: &std::path::Path) -> Result<outfit::Outfit> {
    let o = outfit::load(name, cwd)?;
    Harness::of_outfit(&o)?;
    Ok(o)
}

/// Runs `orch outfit`.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    match args.command {
        Sub::List => {
            let all = outfit::list(&cwd);
            if ctx.json {
                let rows: Vec<_> = all
                    .iter()
                    .map(|(name, origin)| {
                        let description = load(name, &cwd).ok().and_then(|o| o.description);
                        json!({"name": name, "origin": origin, "description": description})
                    })
                    .collect();
                return super::print_json(&json!(rows));
            }
            for (name, origin) in all {
                let description = load(&name, &cwd)
                    .map(|o| o.description.unwrap_or_default())
                    .unwrap_or_else(|e| format!("(invalid: {e:#})"));
                println!("{name:<18} {description}  [{origin}]");
            }
            Ok(())
        }
        Sub::Show { name } => {
            let o = load(&name, &cwd)?;
            if ctx.json {
                let mut value = serde_json::to_value(&o)?;
                value["origin"] = json!(o.origin);
                return super::print_json(&value);
            }
            print!("# from {}\n{}", o.origin, o.to_yaml()?);
            Ok(())
        }
        Sub::Validate { files } => {
            let mut failed = 0;
            for file in &files {
                let origin = file.display().to_string();
                let result = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read `{origin}`"))
                    .and_then(|text| outfit::parse(&text, &origin))
                    .and_then(|o| {
                        // A valid file also resolves: its parent, its prompt file, its skills.
                        if let Some(parent) = &o.extends {
                            outfit::load(parent, &cwd)
                                .with_context(|| format!("{origin}: extends `{parent}`"))?;
                        }
                        Harness::of_outfit(&o)?;
                        o.system_prompt_text()?;
                        o.skill_dirs()?;
                        Ok(o)
                    });
                match result {
                    Ok(o) => println!("ok    {origin} ({})", o.name),
                    Err(err) => {
                        failed += 1;
                        println!("FAIL  {err:#}");
                    }
                }
            }
            if failed > 0 {
                bail!("{failed} of {} outfit files are invalid", files.len());
            }
            Ok(())
        }
        Sub::New { name, from } => {
            outfit::check_name(&name)?;
            let base = outfit::load(&from, &cwd)?;
            let path = cwd.join(".orch/outfits").join(format!("{name}.yaml"));
            if path.exists() {
                bail!("`{}` exists already: edit it", path.display());
            }
            let text = format!(
                "# An outfit extending `{from}`: set only what differs.\nname: {name}\nversion: \"1\"\nextends: {from}\ndescription: {}\n# model: sonnet\n# system_prompt: |\n#   ...\n",
                base.description.unwrap_or_else(|| format!("based on {from}"))
            );
            orch_store::files::write_following(&path, text.as_bytes(), 0o644)?;
            println!("{}", path.display());
            Ok(())
        }
    }
}
