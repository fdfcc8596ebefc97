//! Where the generated state machines live, and which agent a command names.

use std::path::PathBuf;

/// The `state-machines/` folder: `--dir` when given, else `./state-machines` when run from the
/// repository root. Never the folder the binary was built from: an installed binary must not
/// write into some old checkout.
pub fn state_machines_dir(dir: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    let local = PathBuf::from("state-machines");
    if local.join("Cargo.toml").exists() {
        return Ok(local);
    }
    anyhow::bail!(
        "no state-machines/ folder here: run this from the repository root, or pass --dir DIR"
    )
}

/// The agent called `name`, or an error listing the agents there are.
pub fn find_agent(name: &str) -> anyhow::Result<agent_builder::Agent> {
    state_machines::agent(name).ok_or_else(|| {
        anyhow::anyhow!(
            "no agent called `{name}`; the agents are: {}",
            state_machines::agent_names().join(", ")
        )
    })
}
