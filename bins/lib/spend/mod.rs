//! What workers spend: tokens and cost read from each harness's transcript (`usage`) and the
//! budgets that warn, escalate and stop a worker (`budget`).

pub(crate) mod budget;
pub(crate) mod usage;
