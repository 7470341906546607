//! orch's integration tests: one binary, shared helpers in `util`.

mod mock_model;
mod util;
