//! `orch-up`: the same as `orch up`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), Some("up")).into()
}
