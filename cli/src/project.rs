//! What the commands know of the project: its agents, its tools, and where its files are.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use agent_builder::Agent;
use anyhow::{Context, bail};
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

    /// Reads the tool list of every MCP server an agent names and has not read yet, and freezes
    /// it into the agent (what `synth`, `check`, `agents`, `graph` and `run` need). No network
    /// for a project without MCP servers. A server that is down fails, naming it and its URL.
    pub async fn read_mcp_servers(&mut self) -> anyhow::Result<()> {
        if self
            .agents
            .iter()
            .all(|a| a.unresolved_mcp_servers().next().is_none())
        {
            return Ok(());
        }
        let mut resolver = sfn_agent_mcp::Resolver::from_env();
        for agent in &mut self.agents {
            let name = agent.name().to_owned();
            *agent = resolver
                .resolve(agent.clone())
                .await
                .with_context(|| format!("agent `{name}` takes tools from an MCP server"))?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use agent_builder::{McpServer, Model};

    use super::*;

    #[tokio::test]
    async fn an_mcp_server_down_fails_naming_the_agent_the_server_and_its_url() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
        drop(listener);
        let agent = Agent::builder("researcher")
            .system_prompt("You look things up.")
            .model(Model::anthropic("claude-haiku-4-5"))
            .mcp_server(McpServer::new("docs", url.clone()))
            .build()
            .expect("valid");
        let mut project = Project::new(
            "sfn-agent".to_owned(),
            vec![agent],
            Toolbox::new(),
            Vec::new(),
            PathBuf::from("state-machines"),
            PathBuf::from("scripts"),
        )
        .expect("a project");
        let error = project.read_mcp_servers().await.expect_err("down");
        let text = format!("{error:#}");
        assert!(
            text.starts_with("agent `researcher` takes tools from an MCP server: cannot reach MCP server `docs` at "),
            "{text}"
        );
        assert!(text.contains(&url), "{text}");
    }
}
