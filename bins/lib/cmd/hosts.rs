//! `orch hosts`: the other machines orch reached over ssh ([`crate::remote::host`]), each with the
//! state of its shared connection.

use super::Ctx;
use crate::remote::host::{self, Host};
use anyhow::Result;
use orch_store::Store;
use serde_json::json;

/// Flags of `orch hosts`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Close the shared connection to this host (the next command opens a new one).
    #[arg(long, value_name = "DEST")]
    pub disconnect: Option<String>,
}

/// Runs `orch hosts`: a line per host (`DEST  LINK  ORCH  SEEN`), or with `--json` an array
/// of `{dest, link, orch, added_ms, seen_ms}` (`link`: `connected` or `idle`).
///
/// Errors: the state directory cannot be read; `--disconnect` of a name ssh would misread.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let state = Store::from_env()?;
    if let Some(dest) = &args.disconnect {
        Host::new(dest)?.disconnect(&state);
    }
    let now = orch_store::clock::now_ms();
    let rows: Vec<_> = host::known(&state)?
        .into_iter()
        .map(|r| {
            let link = Host {
                dest: r.dest.clone(),
            }
            .link(&state);
            (r, link)
        })
        .collect();
    if ctx.json {
        let list: Vec<_> = rows
            .iter()
            .map(|(r, link)| {
                json!({"dest": r.dest, "link": link.as_str(), "orch": r.orch,
                       "added_ms": r.added_ms, "seen_ms": r.seen_ms})
            })
            .collect();
        return super::print_json(&json!(list));
    }
    if rows.is_empty() {
        println!("no host yet: `orch doctor --host DEST` checks one and remembers it");
        return Ok(());
    }
    println!("{:<24} {:<10} {:<8} SEEN", "HOST", "LINK", "ORCH");
    for (r, link) in &rows {
        println!(
            "{:<24} {:<10} {:<8} {} ago",
            r.dest,
            link.as_str(),
            r.orch.as_deref().unwrap_or("-"),
            orch_store::clock::age(now.saturating_sub(r.seen_ms))
        );
    }
    Ok(())
}
