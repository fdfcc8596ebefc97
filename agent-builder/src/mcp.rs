//! MCP tools: the tools of a Model Context Protocol server (streamable HTTP), frozen into the
//! agent's machine.
//!
//! An agent names a server with [`McpServer`] (a name, a URL, optionally a Secrets Manager secret
//! with its credentials and a filter of tool names). This crate does no network: the server's
//! tool list is read at synth time by the command line (`sfn-agent-mcp`'s `list_tools`) and
//! handed back with [`crate::Agent::with_mcp_tools`], which applies the filter and checks the
//! tools like any other. From then on each MCP tool is an ordinary tool of the agent whose Lambda
//! is the one generic MCP tool Lambda (`${McpToolFunctionArn}`, binary `mcp-tool`); its call's
//! payload carries the server with it ([`McpToolCall`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::ToolSpec;

/// The placeholder of the generic MCP tool Lambda in the definitions.
pub const MCP_PLACEHOLDER: &str = "McpToolFunctionArn";
/// The cargo binary of the generic MCP tool Lambda.
pub const MCP_BINARY: &str = "mcp-tool";
/// The longest server URL or secret id accepted.
const MAX_REFERENCE_LEN: usize = 2048;

/// An MCP server an agent takes tools from: `McpServer::new("docs", "https://…/mcp")`.
///
/// Until its tool list has been read ([`McpServer::is_resolved`]) the agent's machine has none of
/// its tools; `sfn-agent synth`, `check`, `agents`, `graph` and `run` read it first.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct McpServer {
    pub(crate) name: String,
    pub(crate) url: String,
    pub(crate) secret: Option<String>,
    pub(crate) filter: Option<Vec<String>>,
    pub(crate) listed: Option<Vec<ToolSpec>>,
}

impl McpServer {
    /// The server `name` (letters, digits, `-` and `_`; errors and the manifest use it) at `url`,
    /// its streamable HTTP endpoint (`http://` or `https://`).
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            secret: None,
            filter: None,
            listed: None,
        }
    }

    /// The Secrets Manager secret (name or ARN) holding the server's credentials: a bearer token
    /// as plain text, or a JSON object `{"token": "…"}` and/or `{"headers": {"X-Api-Key": "…"}}`.
    /// The deployed MCP Lambda may read exactly these secrets.
    pub fn secret(mut self, secret_id: impl Into<String>) -> Self {
        self.secret = Some(secret_id.into());
        self
    }

    /// Only these of the server's tools (by name); without it, every tool the server lists.
    /// A name the server does not list fails synth.
    pub fn tools<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.filter = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The tool list as the server gave it (before the filter): what synth reads and freezes.
    /// The command line calls this through [`crate::Agent::with_mcp_tools`]; a test can give
    /// the list itself.
    pub fn with_listed_tools(mut self, tools: Vec<ToolSpec>) -> Self {
        self.listed = Some(tools);
        self
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its streamable HTTP endpoint.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The secret with its credentials, if any.
    pub fn secret_id(&self) -> Option<&str> {
        self.secret.as_deref()
    }

    /// The tool names the agent takes, if filtered.
    pub fn filter(&self) -> Option<&[String]> {
        self.filter.as_deref()
    }

    /// Whether the server's tool list has been read.
    pub fn is_resolved(&self) -> bool {
        self.listed.is_some()
    }

    /// What the call of `tool` (a tool of this server) sends the MCP Lambda.
    pub fn target(&self, tool: &str) -> McpTarget {
        McpTarget {
            server: self.name.clone(),
            url: self.url.clone(),
            tool: tool.to_owned(),
            secret: self.secret.clone(),
        }
    }

    /// The tools the agent takes from the listed ones: the filter applied, in the filter's order
    /// (else the server's). Each problem (a name the server does not list) is pushed to
    /// `problems`. Empty before the list is read.
    pub(crate) fn selected_tools(&self, problems: &mut Vec<String>) -> Vec<ToolSpec> {
        let Some(listed) = &self.listed else {
            return Vec::new();
        };
        let Some(filter) = &self.filter else {
            return listed.clone();
        };
        let mut selected = Vec::new();
        for name in filter {
            match listed.iter().find(|t| &t.name == name) {
                Some(tool) => selected.push(tool.clone()),
                None => problems.push(format!(
                    "MCP server `{}` ({}) has no tool `{name}` for the filter; it lists: {}",
                    self.name,
                    self.url,
                    if listed.is_empty() {
                        "no tools".to_owned()
                    } else {
                        listed
                            .iter()
                            .map(|t| t.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )),
            }
        }
        selected
    }

    /// Every problem of the declaration itself (name, URL, secret, filter).
    pub(crate) fn check(&self, problems: &mut Vec<String>) {
        let name = &self.name;
        if !crate::agent::valid_name(name) {
            problems.push(format!(
                "MCP server name `{name}` must be 1 to 64 letters, digits, `-` or `_`"
            ));
        }
        let url = self.url.trim();
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let host = url
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
            .unwrap_or_default();
        if !scheme_ok
            || host.is_empty()
            || url.len() > MAX_REFERENCE_LEN
            || url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '{' | '}' | '"' | '\\'))
            || url != self.url
        {
            problems.push(format!(
                "MCP server `{name}`'s URL `{}` must be an http:// or https:// URL with a host and \
                 no spaces, braces, quotes or backslashes (its streamable HTTP endpoint, such as \
                 https://example.com/mcp)",
                self.url
            ));
        }
        if let Some(secret) = &self.secret
            && (secret.trim().is_empty()
                || secret.len() > MAX_REFERENCE_LEN
                || !secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_+=.@:-".contains(c)))
        {
            problems.push(format!(
                "MCP server `{name}`'s secret `{secret}` must be a Secrets Manager secret name or \
                 ARN (letters, digits and /_+=.@:-)"
            ));
        }
        if let Some(filter) = &self.filter {
            if filter.is_empty() {
                problems.push(format!(
                    "MCP server `{name}`'s tool filter is empty: name the tools to take, or drop \
                     .tools(…) to take them all"
                ));
            }
            for (i, tool) in filter.iter().enumerate() {
                if filter[..i].contains(tool) {
                    problems.push(format!(
                        "MCP server `{name}`'s tool filter names `{tool}` twice"
                    ));
                }
            }
        }
    }
}

/// Where an MCP tool call goes: sent with every call of an MCP tool (the `mcp` field of
/// [`McpToolCall`]), and kept in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpTarget {
    /// The server's name in the agent.
    pub server: String,
    /// Its streamable HTTP endpoint.
    pub url: String,
    /// The tool's name on the server.
    pub tool: String,
    /// The Secrets Manager secret with the server's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The payload of the generic MCP tool Lambda: a tool call (`id`, `name`, `input`) with its
/// server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpToolCall {
    /// The id the result must refer to.
    pub id: String,
    /// The tool's name as the model called it.
    pub name: String,
    /// The tool's input (an object; checked against the frozen schema by the LLM Lambda).
    pub input: Value,
    /// Where the call goes.
    pub mcp: McpTarget,
}
