//! orch's integration tests: one binary, shared helpers in `util`.

mod up_down;
mod util;
