//! Exit codes and the error type that carries one through `anyhow`.
//!
//! Every command returns `anyhow::Result`; an error that should end the process with a code
//! other than 1 is a [`Fail`], which `cli::main` finds with `downcast_ref`.

use std::fmt;

/// Success.
pub const OK: u8 = 0;
/// Any error without a more specific code.
pub const ERROR: u8 = 1;
/// Bad command-line usage (clap's own code).
pub const USAGE: u8 = 2;
/// A wait (`listen`, `tell`) ran out of time.
pub const TIMEOUT: u8 = 3;
/// The worker's pane is gone or its session ended.
pub const GONE: u8 = 4;
/// The turn ended in a StopFailure (an API error) instead of a Stop.
pub const STOP_FAILURE: u8 = 5;
/// A role rule refused the action.
pub const REFUSED: u8 = 6;

/// An error that ends the process with `code`; `msg` is printed after `orch: `.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub msg: String,
}

impl Fail {
    /// An error ending the process with `code`.
    pub fn new(code: u8, msg: impl Into<String>) -> Fail {
        Fail {
            code,
            msg: msg.into(),
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Fail {}

/// The exit code for an error: a [`Fail`]'s own, else [`ERROR`].
pub fn code_of(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|e| e.downcast_ref::<Fail>())
        .map_or(ERROR, |f| f.code)
}
