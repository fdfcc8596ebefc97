//! `sfn-agent`: this repository's demo agents and the stock tools, with every command of the
//! sfn-agent command line. A team's own binary is built the same way from its agents.

use std::process::ExitCode;

/// The local engine allocates and frees many small JSON values per state; mimalloc does that
/// faster than the system allocator (see the sfn-local benchmark, which uses it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sfn_agent::App::new()
        .agents(state_machines::agents())
        .toolbox_with(sfn_agent::stock_tools::toolbox_from_env)
        .scripts_dir("examples/scripts")
        .run()
}
