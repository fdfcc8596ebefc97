//! The manifest: what each generated state machine needs deployed, for CDK to fill in.
//!
//! Every Lambda ARN in a definition is a `${Placeholder}`; the manifest says which Lambda each
//! placeholder stands for, so the CDK app deploys new agents and tools with no hand edits.

use serde::{Deserialize, Serialize};

use crate::protocol::Provider;

/// The file name of the manifest inside `state-machines/`.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Standard or Express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowType {
    /// Exactly-once, up to a year, billed per state transition. The default.
    #[default]
    Standard,
    /// Up to five minutes, billed by duration; for synchronous request/response use.
    Express,
}

/// Every generated state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The manifest format's version.
    pub version: u32,
    /// One entry per agent, sorted by name.
    pub agents: Vec<AgentEntry>,
}

/// One agent's state machine and what it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentEntry {
    /// The agent's name (`weather`), also the state machine's name suffix.
    pub name: String,
    /// The definition's file name inside `state-machines/` (`weather.asl.json`).
    pub definition: String,
    /// Standard or Express.
    pub workflow_type: WorkflowType,
    /// The LLM Lambda the machine calls.
    pub llm: FunctionRef,
    /// The tool Lambdas the machine calls, by tool name.
    pub tools: Vec<ToolFunctionRef>,
    /// Whether the machine's LLM Lambda needs the conversation table (always, for the ReAct loop).
    pub conversation_table: bool,
    /// The agents this one starts as nested executions, each by its state machine's placeholder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_agents: Vec<SubAgentRef>,
    /// Where approval requests and questions go, for an agent that asks people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestsRef>,
    /// The MCP servers whose tools the machine calls through the generic MCP tool Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<McpRef>,
}

/// The generic MCP tool Lambda an agent's MCP tools run on, and the servers behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpRef {
    /// The DefinitionSubstitutions key, without `${}` (`McpToolFunctionArn`).
    pub placeholder: String,
    /// The cargo binary that implements it (`mcp-tool`).
    pub binary: String,
    /// The servers, each with the tools frozen from its list at synth time.
    pub servers: Vec<McpServerRef>,
}

/// An MCP server and the tools the machine takes from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct McpServerRef {
    /// The server's name in the agent.
    pub name: String,
    /// Its streamable HTTP endpoint.
    pub url: String,
    /// The Secrets Manager secret with its credentials: the MCP Lambda may read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The tools frozen into the machine (after the filter), as the model sees them.
    pub tools: Vec<crate::protocol::ToolSpec>,
}

/// A sub-agent's state machine, for the construct to fill in and allow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubAgentRef {
    /// The sub-agent's name (an agent of the same manifest).
    pub agent: String,
    /// The DefinitionSubstitutions key of its state machine ARN (`AgentWeatherStateMachineArn`).
    pub placeholder: String,
}

/// Where an agent's approval requests and questions go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestsRef {
    /// EventBridge, SNS or SQS.
    pub destination: crate::people::RequestDestination,
    /// The DefinitionSubstitutions key of the bus name, topic ARN or queue URL.
    pub placeholder: String,
}

/// A Lambda the definition refers to through a placeholder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionRef {
    /// The DefinitionSubstitutions key, without `${}` (`LlmAnthropicFunctionArn`).
    pub placeholder: String,
    /// The cargo binary that implements it (`llm-anthropic`).
    pub binary: String,
    /// The provider, for an LLM Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,
}

/// A tool Lambda: a cargo binary to build, or a function that already exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolFunctionRef {
    /// The tool's name as the model calls it (`get_weather`).
    pub tool: String,
    /// The DefinitionSubstitutions key, without `${}` (`ToolGetWeatherFunctionArn`).
    pub placeholder: String,
    /// The cargo binary that implements it (`tool-get-weather`), for a Rust tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    /// The existing function (name or ARN) that implements it, for a tool in any language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// The manifest of `agents`, which must be sorted by name: what `sfn-agent synth` writes.
pub fn manifest_of(agents: &[crate::Agent]) -> Manifest {
    Manifest {
        version: 1,
        agents: agents.iter().map(crate::Agent::manifest_entry).collect(),
    }
}

/// The placeholder of a provider's LLM Lambda: `LlmAnthropicFunctionArn`.
pub fn llm_placeholder(provider: Provider) -> String {
    format!("Llm{}FunctionArn", pascal_case(provider.as_str()))
}

/// The placeholder of a sub-agent's state machine ARN: `weather` → `AgentWeatherStateMachineArn`.
pub fn sub_agent_placeholder(agent: &str) -> String {
    format!("Agent{}StateMachineArn", pascal_case(agent))
}

/// The binary of a provider's LLM Lambda: `llm-anthropic`.
pub fn llm_binary(provider: Provider) -> String {
    format!("llm-{}", provider.as_str())
}

/// The placeholder of a tool's Lambda: `get_weather` → `ToolGetWeatherFunctionArn`.
pub fn tool_placeholder(tool: &str) -> String {
    format!("Tool{}FunctionArn", pascal_case(tool))
}

/// The binary of a tool's Lambda: `get_weather` → `tool-get-weather`.
pub fn tool_binary(tool: &str) -> String {
    format!("tool-{}", tool.replace('_', "-"))
}

/// `get_weather` or `quick-math` → `GetWeather`, `QuickMath`: how placeholders and the CDK app
/// name things after agents and tools.
pub fn pascal_case(name: &str) -> String {
    name.split(['_', '-'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_tool_and_provider() {
        assert_eq!(tool_placeholder("get_weather"), "ToolGetWeatherFunctionArn");
        assert_eq!(tool_binary("get_weather"), "tool-get-weather");
        assert_eq!(llm_placeholder(Provider::OpenAi), "LlmOpenaiFunctionArn");
        assert_eq!(llm_binary(Provider::Bedrock), "llm-bedrock");
    }
}
