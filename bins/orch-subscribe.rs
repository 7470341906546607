//! `orch-subscribe`: the same as `orch subscribe`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), Some("subscribe")).into()
}
