//! What workers spend: tokens and cost read from each harness's transcript (`usage`) and the
//! budgets that warn, escalate and stop a worker (`budget`), and the account's usage limits
//! that hold a fleet until they lift (`limit`), the named accounts workers spend on
//! (`account`), and what each model's tokens cost (`prices`).

pub(crate) mod account;
pub(crate) mod budget;
pub(crate) mod limit;
pub(crate) mod prices;
pub(crate) mod usage;
