//! orch's integration tests: one binary, shared helpers in `util`.

mod claude;
mod mock_model;
mod util;
