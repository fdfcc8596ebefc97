//! What the commands know of the project: its agents, its tools, and where its files are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agent_builder::Agent;
use anyhow::bail;
use sfn_agent_tool::Toolbox;

/// Makes tools when a command first needs them.
pub(crate) type ToolboxFactory = Arc<dyn Fn() -> Result<Toolbox, String> + Send + Sync>;

/// The project's agents and tools, as the app was given them.
pub(crate) struct Project {
    /// The command's name, for hints (`sfn-agent`).
    pub name: String,
    agents: Vec<Agent>,
    toolbox: Toolbox,
    toolbox_factories: Vec<ToolboxFactory>,
    state_machines_dir: PathBuf,
    /// Where the scripted conversations are, for hints.
    pub scripts_dir: PathBuf,
}

impl Project {
    /// Checks that no two agents share a name (their machines and files would collide).
    pub fn new(
        name: String,
        mut agents: Vec<Agent>,
        toolbox: Toolbox,
        toolbox_factories: Vec<ToolboxFactory>,
        state_machines_dir: PathBuf,
        scripts_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        agents.sort_by(|a, b| a.name().cmp(b.name()));
        if let Some(pair) = agents.windows(2).find(|w| w[0].name() == w[1].name()) {
            bail!(
                "two agents are called `{}`: each agent needs a name of its own (it names the state machine)",
                pair[0].name()
            );
        }
        for agent in &agents {
            for sub in agent.sub_agents() {
                if !agents.iter().any(|a| a.name() == sub.agent) {
                    bail!(
                        "agent `{}` calls the sub-agent `{}`, which is not one of this project's agents ({}): \
                         give it to the app too (App::agent), so its state machine is deployed and runs locally",
                        agent.name(),
                        sub.agent,
                        agents
                            .iter()
                            .map(Agent::name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
        }
        Ok(Self {
            name,
            agents,
            toolbox,
            toolbox_factories,
            state_machines_dir,
            scripts_dir,
        })
    }

    /// Every agent, sorted by name.
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// The agent called `name`, or an error listing the agents there are.
    pub fn find_agent(&self, name: &str) -> anyhow::Result<&Agent> {
        if let Some(agent) = self.agents.iter().find(|a| a.name() == name) {
            return Ok(agent);
        }
        if self.agents.is_empty() {
            bail!("no agent called `{name}`: this project has no agents yet");
        }
        bail!(
            "no agent called `{name}`; the agents are: {}",
            self.agent_names().join(", ")
        )
    }

    /// The names of every agent.
    pub fn agent_names(&self) -> Vec<&str> {
        self.agents.iter().map(Agent::name).collect()
    }

    /// The tools the app was given, with those its factories make now.
    pub fn toolbox(&self) -> anyhow::Result<Toolbox> {
        let mut toolbox = self.toolbox.clone();
        for make in &self.toolbox_factories {
            match make() {
                Ok(more) => toolbox = toolbox.merge(more),
                Err(error) => bail!("the tools cannot start: {error}"),
            }
        }
        Ok(toolbox)
    }

    /// The state machines folder: `--dir` when given, else the app's (`state-machines`), which
    /// must exist or sit in a Cargo project's root. Never the folder the binary was built from:
    /// an installed binary must not write into some old checkout.
    pub fn state_machines_dir(
        &self,
        dir: Option<PathBuf>,
        create: bool,
    ) -> anyhow::Result<PathBuf> {
        if let Some(dir) = dir {
            return Ok(dir);
        }
        let dir = self.state_machines_dir.clone();
        let in_project_root = dir
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .is_some_and(|root| root.join("Cargo.toml").exists());
        if dir.is_dir() || (create && in_project_root) {
            return Ok(dir);
        }
        bail!(
            "no {} folder here: run this from the project's root (where Cargo.toml is), or pass --dir DIR",
            dir.display()
        )
    }
}
