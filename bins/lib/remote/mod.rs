//! Workers on other machines, through OpenSSH: the shared connection to a host (`host`) and
//! `spawn --host` with the relay that mirrors a remote worker's events here (`relay`).

pub(crate) mod host;
pub(crate) mod relay;
