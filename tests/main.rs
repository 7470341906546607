//! orch's integration tests: one binary, shared helpers in `util`.

mod audit;
mod classify;
mod claude;
mod coord;
mod core;
mod doctor;
mod e2e;
mod mock_model;
mod rights;
mod sim;
mod up_down;
mod util;
