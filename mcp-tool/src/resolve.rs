//! Synth time: read the tool list of each MCP server an agent names, and freeze it into the
//! agent ([`agent_builder::Agent::with_mcp_tools`]), checked against the caps.

use std::collections::HashMap;
use std::time::Duration;

use agent_builder::{Agent, McpServer, ToolSpec};
use sfn_agent_tool::InputValidator;

use crate::client::{Connection, MAX_DESCRIPTION_BYTES, MAX_SCHEMA_BYTES};
use crate::credentials::CredentialStore;
use crate::error::McpError;

/// The time one server's tool list may take when not set (`MCP_TIMEOUT_SECONDS`).
pub const DEFAULT_LIST_TIMEOUT: Duration = Duration::from_secs(30);

/// Reads MCP servers' tool lists, each server once however many agents name it.
#[derive(Debug)]
pub struct Resolver {
    credentials: CredentialStore,
    timeout: Duration,
    listed: HashMap<(String, Option<String>), Vec<ToolSpec>>,
}

impl Resolver {
    /// A resolver reading credentials from `credentials`, each list bounded by `timeout`.
    pub fn new(credentials: CredentialStore, timeout: Duration) -> Self {
        Self {
            credentials,
            timeout,
            listed: HashMap::new(),
        }
    }

    /// As the command line configures it: Secrets Manager with the `MCP_<SERVER>_SECRET`
    /// overrides, and `MCP_TIMEOUT_SECONDS` (default 30 s).
    pub fn from_env() -> Self {
        let timeout = std::env::var(crate::handler::TIMEOUT_ENV)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| (1..=900).contains(s))
            .map_or(DEFAULT_LIST_TIMEOUT, Duration::from_secs);
        Self::new(CredentialStore::from_env(), timeout)
    }

    /// `agent` with the tools of every MCP server not read yet frozen in. No network for an agent
    /// without such servers. A server that is down fails with an error naming it and its URL.
    pub async fn resolve(&mut self, mut agent: Agent) -> Result<Agent, McpError> {
        let servers: Vec<McpServer> = agent.unresolved_mcp_servers().cloned().collect();
        for server in servers {
            let listed = self.list(&server).await?;
            check_tools(&server, &listed)?;
            agent = agent.with_mcp_tools(server.name(), listed)?;
        }
        Ok(agent)
    }

    /// Every agent resolved, in the same order.
    pub async fn resolve_all(&mut self, agents: Vec<Agent>) -> Result<Vec<Agent>, McpError> {
        let mut resolved = Vec::with_capacity(agents.len());
        for agent in agents {
            resolved.push(self.resolve(agent).await?);
        }
        Ok(resolved)
    }

    async fn list(&mut self, server: &McpServer) -> Result<Vec<ToolSpec>, McpError> {
        let key = (
            server.url().to_owned(),
            server.secret_id().map(str::to_owned),
        );
        if let Some(listed) = self.listed.get(&key) {
            return Ok(listed.clone());
        }
        let credentials = self
            .credentials
            .get(server.name(), server.secret_id())
            .await
            .map_err(|message| McpError::Credentials {
                server: server.name().to_owned(),
                secret: server
                    .secret_id()
                    .map_or_else(|| crate::credentials::env_var(server.name()), str::to_owned),
                message,
            })?;
        let listed = Connection {
            server: server.name(),
            url: server.url(),
            credentials: &credentials,
            timeout: self.timeout,
        }
        .list_tools()
        .await?;
        self.listed.insert(key, listed.clone());
        Ok(listed)
    }
}

/// The tools the agent takes (the filter's, or all) within the description and schema caps, each
/// schema one the LLM Lambda's validator compiles (it checks every call's input against it).
fn check_tools(server: &McpServer, listed: &[ToolSpec]) -> Result<(), McpError> {
    let taken = listed.iter().filter(|t| {
        server
            .filter()
            .is_none_or(|names| names.iter().any(|n| n == &t.name))
    });
    for tool in taken {
        let schema = tool.input_schema.to_string().len();
        for (what, size, max) in [
            ("input schema", schema, MAX_SCHEMA_BYTES),
            ("description", tool.description.len(), MAX_DESCRIPTION_BYTES),
        ] {
            if size > max {
                return Err(McpError::ToolTooLarge {
                    server: server.name().to_owned(),
                    url: server.url().to_owned(),
                    tool: tool.name.clone(),
                    what,
                    size,
                    max,
                });
            }
        }
        if let Err(message) = InputValidator::try_new(tool.input_schema.clone()) {
            return Err(McpError::BadSchema {
                server: server.name().to_owned(),
                url: server.url().to_owned(),
                tool: tool.name.clone(),
                message,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(name: &str, schema: serde_json::Value) -> ToolSpec {
        ToolSpec::new(name, "A tool.", schema)
    }

    #[test]
    fn only_the_tools_taken_are_checked_against_the_caps_and_the_validator() {
        let huge = json!({"type": "object", "description": "x".repeat(MAX_SCHEMA_BYTES)});
        let broken = json!({"type": "object", "properties": {"n": {"type": "nonsense"}}});
        let listed = vec![
            tool("small", json!({"type": "object"})),
            tool("huge", huge),
            tool("broken", broken),
        ];
        let server = McpServer::new("docs", "https://docs.example.com/mcp");
        check_tools(&server.clone().tools(["small"]), &listed)
            .expect("huge and broken are left out");

        let error = check_tools(&server.clone().tools(["huge"]), &listed).expect_err("too large");
        assert!(
            matches!(&error, McpError::ToolTooLarge { tool, what: "input schema", .. } if tool == "huge"),
            "{error:?}"
        );
        let error = check_tools(&server.clone().tools(["broken"]), &listed).expect_err("broken");
        assert!(
            matches!(&error, McpError::BadSchema { tool, .. } if tool == "broken"),
            "{error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("MCP server `docs` at https://docs.example.com/mcp"),
            "{error}"
        );
        assert!(
            check_tools(&server, &listed).is_err(),
            "no filter: every tool is taken"
        );
    }
}
