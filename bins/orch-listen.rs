//! `orch-listen`: the same as `orch listen`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), Some("listen")).into()
}
