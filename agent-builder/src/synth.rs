//! The files `sfn-agent synth` writes for a set of agents (each one's ASL, and the manifest CDK
//! reads), and how they compare with a folder on disk (`sfn-agent check`).

use std::path::Path;

use crate::Agent;
use crate::manifest::{MANIFEST_FILE, manifest_of};

/// A generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The file name inside the state machines folder.
    pub name: String,
    /// Its contents, ending with a newline.
    pub contents: String,
}

/// Every agent's definition and the manifest, as they should be on disk. The agents are taken
/// in name order, so the output does not depend on the order they were listed in.
pub fn generate(agents: &[Agent]) -> Vec<GeneratedFile> {
    let mut sorted: Vec<Agent> = agents.to_vec();
    sorted.sort_by(|a, b| a.name().cmp(b.name()));
    let mut files: Vec<GeneratedFile> = sorted
        .iter()
        .map(|agent| GeneratedFile {
            name: agent.definition_file(),
            contents: agent.state_machine().to_json_pretty() + "\n",
        })
        .collect();
    let manifest = manifest_of(&sorted);
    files.push(GeneratedFile {
        name: MANIFEST_FILE.to_owned(),
        contents: serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n",
    });
    files
}

/// The generated `files` that are missing from `dir` or differ there from what the builder makes
/// now, each with what is wrong.
pub fn stale_files(dir: &Path, files: &[GeneratedFile]) -> Vec<String> {
    files
        .iter()
        .filter_map(|file| match std::fs::read_to_string(dir.join(&file.name)) {
            Ok(on_disk) if on_disk == file.contents => None,
            Ok(_) => Some(format!(
                "{} differs from what the builder makes now",
                file.name
            )),
            Err(_) => Some(format!("{} is missing", file.name)),
        })
        .collect()
}

/// The `*.asl.json` files in `dir` that none of the generated `files` is: left by a removed agent.
pub fn orphan_files(dir: &Path, files: &[GeneratedFile]) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut orphans: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".asl.json") && !files.iter().any(|f| &f.name == n))
        .collect();
    orphans.sort();
    orphans
}
