//! The hook.

/// Runs the hook.
pub fn main() -> u8 {
    0
}
