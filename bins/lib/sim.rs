//! The sim harness.

/// Runs the sim.
pub fn main(_argv: Vec<std::ffi::OsString>) -> u8 {
    0
}
