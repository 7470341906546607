//! `orch-down`: the same as `orch down`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), Some("down")).into()
}
