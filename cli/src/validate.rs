//! `sfn-agent validate`: validate any ASL document and list every problem.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::out::outln;
use anyhow::Context;

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// ASL definitions (JSON files) to validate.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Parses and validates each file; fails when any has a problem.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut all_valid = true;
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let result = asl::StateMachine::from_json(&text)
            .map_err(|e| e.to_string())
            .and_then(|machine| asl::validate(&machine).map_err(|e| e.to_string()));
        match result {
            Ok(()) => outln!("{}: valid", path.display()),
            Err(problems) => {
                all_valid = false;
                eprintln!("{}: {problems}", path.display());
            }
        }
    }
    Ok(if all_valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
