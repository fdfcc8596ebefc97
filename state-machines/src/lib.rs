//! The project's agents, defined in Rust, and their generated state machines.
//!
//! [`agents`] lists them; [`generate`] renders each one's ASL and the manifest CDK reads. The
//! rendered files are committed in this folder, and [`stale_files`] and [`orphan_files`] tell
//! when they differ from what the builder makes now (`sfn-agent check` and this crate's tests
//! fail then).
//!
//! ```
//! let weather = state_machines::agent("weather").unwrap();
//! assert_eq!(weather.tools()[0].spec.name, "get_weather");
//! assert!(state_machines::generate().iter().any(|f| f.name == "manifest.json"));
//! ```

use std::path::{Path, PathBuf};

use agent_builder::Agent;
use agent_builder::manifest::{MANIFEST_FILE, Manifest};

mod agents;

/// Every agent of the project, sorted by name.
pub fn agents() -> Vec<Agent> {
    let mut all = vec![
        agents::assistant(),
        agents::calculator(),
        agents::weather(),
        agents::weather_brief(),
    ];
    all.sort_by(|a, b| a.name().cmp(b.name()));
    all
}

/// The agent called `name`.
pub fn agent(name: &str) -> Option<Agent> {
    agents().into_iter().find(|a| a.name() == name)
}

/// The names of every agent, for error messages.
pub fn agent_names() -> Vec<String> {
    agents().iter().map(|a| a.name().to_owned()).collect()
}

/// A file this crate generates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// The file name inside the `state-machines/` folder.
    pub name: String,
    /// Its contents, ending with a newline.
    pub contents: String,
}

/// Every agent's definition and the manifest, as they should be on disk.
pub fn generate() -> Vec<GeneratedFile> {
    let agents = agents();
    let mut files: Vec<GeneratedFile> = agents
        .iter()
        .map(|agent| GeneratedFile {
            name: agent.definition_file(),
            contents: agent.state_machine().to_json_pretty() + "\n",
        })
        .collect();
    let manifest = Manifest {
        version: 1,
        agents: agents.iter().map(Agent::manifest_entry).collect(),
    };
    files.push(GeneratedFile {
        name: MANIFEST_FILE.to_owned(),
        contents: serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n",
    });
    files
}

/// The `state-machines/` folder of this checkout.
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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
