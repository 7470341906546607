//! `orch`: the command line; see `orch --help`.

fn main() -> std::process::ExitCode {
    orch::cli::main(std::env::args_os().collect(), None).into()
}
