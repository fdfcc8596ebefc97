//! `sfn-agent synth`: write every agent's state machine and the manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::out::outln;
use anyhow::Context;

/// Arguments of `synth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write into (default: the repository's `state-machines/`).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Regenerates the files, validating each machine first, and says which changed.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = crate::paths::state_machines_dir(args.dir)?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for agent in state_machines::agents() {
        asl::validate(&agent.state_machine())
            .with_context(|| format!("agent `{}` makes an invalid state machine", agent.name()))?;
    }
    let files = state_machines::generate();
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
    for orphan in state_machines::orphan_files(&dir, &files) {
        outln!("  note: {orphan} belongs to no agent any more; delete it if the agent is gone");
    }
    Ok(ExitCode::SUCCESS)
}
