//! The `prices` check: the price table orch ships is recent enough to know the models a fleet
//! uses, and the user's own prices can be read.

use super::check::Check;
use crate::spend::prices::{self, Prices, Table};

/// How old the shipped table may be before the check warns, in days.
pub const STALE_DAYS: u64 = 90;

/// `prices`: fails when the user's prices (`ORCH_PRICES`, `prices:` in the configuration)
/// cannot be read, warns when the shipped table is older than [`STALE_DAYS`].
pub fn prices() -> Check {
    match Prices::load() {
        Err(err) => Check::fail(
            NAME,
            format!("{err:#}"),
            "fix the prices named, or remove them",
        ),
        Ok(p) => judge_prices(&p.table, orch_store::clock::now_ms()),
    }
}

const NAME: &str = "prices";

/// The `prices` verdict for the shipped `table` on `now_ms` (Unix milliseconds).
pub fn judge_prices(table: &Table, now_ms: u64) -> Check {
    let what = format!("{} {} ({})", table.package, table.version, table.date);
    match prices::table_age_days(table, now_ms) {
        Some(days) if days > STALE_DAYS => Check::warn(
            NAME,
            format!(
                "the price table orch ships ({what}) is {days} days old: newer models show \
                 no cost"
            ),
            "update orch, or add the models' rates under `prices:` in orch's configuration \
             (`orch usage` prints the lines)",
        ),
        Some(days) => Check::ok(NAME, format!("{what}, {days} days old")),
        None => Check::warn(
            NAME,
            format!("the price table's date `{}` cannot be read", table.date),
            "reinstall orch",
        ),
    }
}
