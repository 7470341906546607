//! orch's integration tests: one binary, shared helpers in `util`.

mod core;
mod sim;
mod up_down;
mod util;
