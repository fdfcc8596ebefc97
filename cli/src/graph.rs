//! `sfn-agent graph`: an agent's state machine as a Mermaid flowchart.

use std::process::ExitCode;

/// Arguments of `graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The agent's name.
    agent: String,
}

/// Prints the Mermaid graph of the agent's machine.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let agent = crate::paths::find_agent(&args.agent)?;
    crate::out::print(format_args!(
        "{}",
        asl::mermaid::render(&agent.state_machine())
    ));
    Ok(ExitCode::SUCCESS)
}
