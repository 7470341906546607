//! What workers spend: tokens and cost read from each harness's transcript (`usage`), on its
//! host for a worker there (`hosted`), what each model's tokens cost (`prices`), the budgets
//! that warn, escalate and stop a worker (`budget`), the account's usage limits that hold a
//! fleet until they lift (`limit`), and the named accounts workers spend on (`account`).

pub(crate) mod account;
pub(crate) mod budget;
pub(crate) mod hosted;
pub(crate) mod limit;
pub(crate) mod prices;
pub(crate) mod usage;
