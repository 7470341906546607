//! orch's integration tests: one binary, shared helpers in `util`.

mod audit;
mod classify;
mod claude;
mod codex;
mod coord;
mod core;
mod dist;
mod doctor;
mod e2e;
mod gemini;
mod harness_driver;
mod install;
mod mock_gemini;
mod mock_http;
mod mock_model;
mod mock_openai;
mod mock_pi;
mod outfits;
mod pi_harness;
mod plugin;
mod rights;
mod sim;
mod skills;
mod up_down;
mod util;
mod worktree;
