//! `sfn-agent check`: the committed state machines are valid and current.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use agent_builder::synth::{generate, orphan_files, stale_files};

use crate::binaries;
use crate::out::outln;
use crate::project::Project;

/// Arguments of `check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to check (default: `state-machines/` in the project's root).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Skip the check that the Cargo workspace here has every Lambda binary the manifest names.
    #[arg(long)]
    no_binaries: bool,
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
    let machines_fail = !failures.is_empty();
    if !args.no_binaries {
        failures.extend(missing_binaries(project));
    }
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
    if machines_fail {
        eprintln!(
            "run `{} synth` to regenerate the state machines",
            project.name
        );
    }
    Ok(ExitCode::FAILURE)
}

/// Each Lambda binary the agents need that the Cargo workspace of the current directory lacks,
/// with the one line that makes it. Where the workspace cannot be read, a note, not a failure.
fn missing_binaries(project: &Project) -> Vec<String> {
    let entries: Vec<_> = project
        .agents()
        .iter()
        .map(|a| a.manifest_entry())
        .collect();
    let have = match binaries::workspace_binaries(Path::new(".")) {
        Ok(have) => have,
        Err(why) => {
            eprintln!("note: the Lambda binaries were not checked: {why}");
            return Vec::new();
        }
    };
    binaries::needed(&entries)
        .into_iter()
        .filter(|(binary, _)| !have.contains(binary))
        .map(|(binary, what)| {
            format!(
                "the deployment needs the Lambda binary `{binary}`, which is not a [[bin]] of this \
                 Cargo workspace: add src/bin/{binary}.rs running {what}"
            )
        })
        .collect()
}
