//! `sfn-agent check`: the committed state machines are valid and current.

use std::path::PathBuf;
use std::process::ExitCode;

use agent_builder::synth::{generate, orphan_files, stale_files};

use crate::out::outln;
use crate::project::Project;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to check (default: `state-machines/` in the project's root).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Validates every committed definition and compares the folder with what the builder makes.
pub fn run(project: &Project, args: Args) -> anyhow::Result<ExitCode> {
    let dir = project.state_machines_dir(args.dir, false)?;
    let files = generate(project.agents());
    let mut failures = Vec::new();
    for file in files.iter().filter(|f| f.name.ends_with(".asl.json")) {
        let path = dir.join(&file.name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // reported as missing below
        };
        match asl::StateMachine::from_json(&text) {
            Err(error) => failures.push(format!("{}: {error}", path.display())),
            Ok(machine) => {
                if let Err(errors) = asl::validate(&machine) {
                    failures.push(format!("{}: {errors}", path.display()));
                }
            }
        }
    }
    let stale = stale_files(&dir, &files);
    let orphans = orphan_files(&dir, &files)
        .into_iter()
        .map(|name| format!("{name} belongs to no agent any more"));
    failures.extend(
        stale
            .into_iter()
            .chain(orphans)
            .map(|s| format!("{}: {s}", dir.display())),
    );
    if failures.is_empty() {
        outln!(
            "ok: {} state machines valid and current in {}",
            project.agents().len(),
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    eprintln!(
        "run `{} synth` to regenerate the state machines",
        project.name
    );
    Ok(ExitCode::FAILURE)
}
