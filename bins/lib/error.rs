//! Exit codes and the error type that carries one through `anyhow`.
//!
//! Every command returns `anyhow::Result`; an error that should end the process with a code
//! other than 1 is an [`Error`], whose variant says what went wrong and whose [`Error::code`]
//! says how the process ends; `cli::main` finds it with [`code_of`]. The numbers live in one
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
    /// The worker's account is held by a usage limit: the turn was paused, orch continues it
    /// when the limit lifts: 7.
    Limited,
}

impl Exit {
    /// Every exit, in code order.
    pub const ALL: [Exit; 8] = [
        Exit::Ok,
        Exit::Error,
        Exit::Usage,
        Exit::Timeout,
        Exit::Gone,
        Exit::StopFailure,
        Exit::Refused,
        Exit::Limited,
    ];

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
            Exit::Limited => 7,
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
            7 => Exit::Limited,
            _ => Exit::Error,
        }
    }
}

/// What went wrong, when it is one of the outcomes a script tells apart by exit code
/// ([`Error::code`]); anything else is a plain `anyhow` error and exits 1. The message is
/// printed after `orch: `, so each one names the thing and the fix.
#[derive(Debug)]
pub enum Error {
    /// Flags that cannot go together, or a command that needs what is missing (a terminal for
    /// `top`): exit 2, like clap's own usage errors.
    Usage(String),
    /// A wait (`listen`, `tell`, `spawn`, `escalate --wait`) ran out of time: exit 3.
    Timeout(String),
    /// The worker's pane is gone or its session ended: exit 4.
    Gone(String),
    /// The turn ended in a StopFailure (an API error) instead of a Stop: exit 5.
    StopFailure(String),
    /// A role rule or a spent budget refused the action: exit 6.
    Refused(String),
    /// A usage limit holds the worker's account (a turn it paused, a delivery it stopped):
    /// exit 7.
    Limited(String),
    /// Checks failed (`doctor`): exit 1 with this summary.
    Failed(String),
    /// A command forwarded to another host ended with `exit` there; `message` says what it
    /// printed. The host's code is kept, so `--host` runs are scripted like local ones.
    Remote { exit: Exit, message: String },
}

impl Error {
    /// How this error ends the process.
    pub fn code(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Timeout(_) => Exit::Timeout,
            Error::Gone(_) => Exit::Gone,
            Error::StopFailure(_) => Exit::StopFailure,
            Error::Refused(_) => Exit::Refused,
            Error::Limited(_) => Exit::Limited,
            Error::Failed(_) => Exit::Error,
            Error::Remote { exit, .. } => *exit,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m)
            | Error::Timeout(m)
            | Error::Gone(m)
            | Error::StopFailure(m)
            | Error::Refused(m)
            | Error::Limited(m)
            | Error::Failed(m)
            | Error::Remote { message: m, .. } => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// How an error ends the process: an [`Error`]'s [`Error::code`], a refused state folder's
/// [`Exit::Refused`], else [`Exit::Error`].
pub fn exit_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| {
            e.downcast_ref::<Error>().map(Error::code).or_else(|| {
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
