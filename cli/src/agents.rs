//! `sfn-agent agents`: the project's agents, one name per line.

use std::process::ExitCode;

use crate::out::outln;
use crate::project::Project;

/// Arguments of `agents`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// After each name: the workflow type, the model and the tools, tab-separated.
    #[arg(long)]
    long: bool,
}

/// Prints the agents sorted by name.
pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    for agent in project.agents() {
        if args.long {
            let tools: Vec<&str> = agent.tools().iter().map(|t| t.spec.name.as_str()).collect();
            outln!(
                "{}\t{:?}\t{} {}\t{}",
                agent.name(),
                agent.workflow_type(),
                agent.model().provider,
                agent.model().model,
                if tools.is_empty() {
                    "-".to_owned()
                } else {
                    tools.join(",")
                }
            );
        } else {
            outln!("{}", agent.name());
        }
    }
    if project.agents().is_empty() {
        eprintln!("no agents: hand them to the app with App::agents");
    }
    Ok(ExitCode::SUCCESS)
}
