//! `orch-sim`: the simulated agent harness that orch's demo and fast tests run in panes.

fn main() -> std::process::ExitCode {
    orch_sim::main(std::env::args_os().collect()).into()
}
