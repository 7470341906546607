//! `orch-spawn`: the same as `orch spawn`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), Some("spawn")).into()
}
