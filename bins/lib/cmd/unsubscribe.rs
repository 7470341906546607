//! `orch unsubscribe PUBLISHER`: end a subscription.

use super::Ctx;
use crate::fleet::worker::Worker;
use anyhow::Result;
use serde_json::json;

/// Flags of `orch unsubscribe`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The worker heard so far.
    pub publisher: String,
    /// The subscriber (a worker or `operator`); default: the caller.
    #[arg(long)]
    pub to: Option<String>,
}

/// Runs `orch unsubscribe`; says whether there was such a subscription.
pub fn run(ctx: &Ctx, args: Args) -> Result<()> {
    let publisher = Worker::resolve(&args.publisher)?;
    let subscriber = super::subscribe::subscriber_id(publisher.store(), args.to.as_deref())?;
    let removed = crate::coordination::inbox::unsubscribe(
        publisher.store(),
        &publisher.meta.id,
        &subscriber,
    )?;
    super::audit(
        publisher.store(),
        super::entry("unsubscribe")
            .target(&publisher.meta.id)
            .field("subscriber", subscriber.clone())
            .field("removed", removed),
    );
    if ctx.json {
        return super::print_json(&json!({
            "publisher": publisher.meta.id, "subscriber": subscriber, "removed": removed
        }));
    }
    if removed {
        println!("{subscriber} no longer hears {}", publisher.meta.id);
    } else {
        println!("{subscriber} was not subscribed to {}", publisher.meta.id);
    }
    Ok(())
}
