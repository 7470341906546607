//! Exit codes and the error type that carries one through `anyhow`.
//!
//! Every command returns `anyhow::Result`; an error that should end the process with a code
//! other than 1 is a [`Fail`], which `cli::main` finds with [`code_of`]. The numbers live in one
//! place, [`Exit::code`].

use std::fmt;

/// How an `orch` process ends, as its exit code says (README: Commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: 0.
    Ok,
    /// Any error without a more specific code: 1.
    Error,
    /// Bad command-line usage (clap's own code): 2.
    Usage,
    /// A wait (`listen`, `tell`, `spawn`) ran out of time: 3.
    Timeout,
    /// The worker's pane is gone or its session ended: 4.
    Gone,
    /// The turn ended in a StopFailure (an API error) instead of a Stop: 5.
    StopFailure,
    /// A role rule refused the action, a spent budget refused a prompt, or the state folder is
    /// refused (another user could change it): 6.
    Refused,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::Timeout => 3,
            Exit::Gone => 4,
            Exit::StopFailure => 5,
            Exit::Refused => 6,
        }
    }

    /// The exit an orch process ended with, from its code (an unknown code is an error).
    pub const fn from_code(code: i32) -> Exit {
        match code {
            0 => Exit::Ok,
            2 => Exit::Usage,
            3 => Exit::Timeout,
            4 => Exit::Gone,
            5 => Exit::StopFailure,
            6 => Exit::Refused,
            _ => Exit::Error,
        }
    }
}

/// An error that ends the process with `exit`; `msg` is printed after `orch: `.
#[derive(Debug)]
pub struct Fail {
    pub exit: Exit,
    pub msg: String,
}

impl Fail {
    /// An error ending the process as `exit` says.
    pub fn new(exit: Exit, msg: impl Into<String>) -> Fail {
        Fail {
            exit,
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

/// How an error ends the process: a [`Fail`]'s own [`Exit`], a refused state folder's
/// [`Exit::Refused`], else [`Exit::Error`].
pub fn exit_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| {
            e.downcast_ref::<Fail>().map(|f| f.exit).or_else(|| {
                e.downcast_ref::<orch_store::Refused>()
                    .map(|_| Exit::Refused)
            })
        })
        .unwrap_or(Exit::Error)
}

/// The exit code for an error ([`exit_of`]).
pub fn code_of(err: &anyhow::Error) -> u8 {
    exit_of(err).code()
}
