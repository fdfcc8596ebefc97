//! `sfn-agent synth`: write every agent's state machine and the manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use agent_builder::synth::{generate, orphan_files};
use anyhow::{Context, bail};

use crate::out::outln;
use crate::project::Project;

/// Arguments of `synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write into (default: `state-machines/` in the project's root).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Regenerates the files, validating each machine first, and says which changed.
pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    if project.agents().is_empty() {
        bail!("no agents to synthesize: hand them to the app with App::agents");
    }
    let dir = project.state_machines_dir(args.dir, true)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for agent in project.agents() {
        asl::validate(&agent.state_machine())
            .with_context(|| format!("agent `{}` makes an invalid state machine", agent.name()))?;
    }
    let files = generate(project.agents());
    for file in &files {
        let path = dir.join(&file.name);
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == file.contents);
        if unchanged {
            outln!("  unchanged  {}", path.display());
        } else {
            std::fs::write(&path, &file.contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            outln!("  wrote      {}", path.display());
        }
    }
    for orphan in orphan_files(&dir, &files) {
        outln!("  note: {orphan} belongs to no agent any more; delete it if the agent is gone");
    }
    Ok(ExitCode::SUCCESS)
}
