//! `orch-hook`: the Claude Code hook command; the same as `orch hook`. Always exits 0.

fn main() -> std::process::ExitCode {
    orch::hook::main().into()
}
