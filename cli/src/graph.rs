//! `sfn-agent graph`: an agent's state machine, or any ASL file, as a Mermaid flowchart.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use crate::project::Project;

/// Arguments of `graph`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An agent's name, or the path of an ASL document (JSON).
    agent_or_file: String,
}

/// Prints the Mermaid graph of the agent's machine or the file's.
pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let name = &args.agent_or_file;
    let machine = match project.find_agent(name) {
        Ok(agent) => agent.state_machine(),
        Err(no_agent) => {
            let path = Path::new(name);
            if !path.is_file() {
                return Err(no_agent.context(format!("`{name}` is neither an agent nor a file")));
            }
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let machine = asl::StateMachine::from_json(&text)
                .with_context(|| format!("{} is not an ASL document", path.display()))?;
            if let Err(problems) = asl::validate(&machine) {
                eprintln!("note: {}: {problems}", path.display());
            }
            machine
        }
    };
    crate::out::print(format_args!("{}", asl::mermaid::render(&machine)));
    Ok(ExitCode::SUCCESS)
}
