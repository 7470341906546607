//! orch's integration tests: one binary, shared helpers in `util`.

mod classify;
mod claude;
mod core;
mod e2e;
mod mock_model;
mod sim;
mod up_down;
mod util;
