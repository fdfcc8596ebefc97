//! What can go wrong reading an MCP server's tools or calling one.

use agent_builder::BuildError;

/// An MCP server that could not be used. Every variant names the server and its URL, so the
/// message says which server to fix; none carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum McpError {
    /// Nothing answered at the URL (refused, DNS, TLS), or the server rejected the handshake.
    #[error(
        "cannot reach MCP server `{server}` at {url}: {message}. Is it running, and is the URL its streamable HTTP endpoint?"
    )]
    Unreachable {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// What the transport said.
        message: String,
    },
    /// The server did not answer in time.
    #[error("MCP server `{server}` at {url} did not answer within {seconds} s")]
    Timeout {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The time allowed.
        seconds: u64,
    },
    /// The server answered something that is not what MCP says it should.
    #[error("MCP server `{server}` at {url} answered {what} with an error: {message}")]
    Protocol {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The request (`tools/list`, `tools/call`).
        what: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The server lists more tools than one agent may take from it.
    #[error(
        "MCP server `{server}` at {url} lists more than {max} tools; sfn-agent freezes at most {max} per server"
    )]
    TooManyTools {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// The server's tool list is larger than one agent may read.
    #[error(
        "MCP server `{server}` at {url} lists more than {max} bytes of tools (names, descriptions and schemas)"
    )]
    ListTooLarge {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The cap.
        max: usize,
    },
    /// A tool the agent takes is larger than the caps (schema or description).
    #[error(
        "MCP server `{server}` at {url}: tool `{tool}`'s {what} is {size} bytes, above the {max}-byte cap; leave the tool out with .tools([…])"
    )]
    ToolTooLarge {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The tool.
        tool: String,
        /// `input schema` or `description`.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// A tool the agent takes has an input schema that is not a usable JSON Schema.
    #[error(
        "MCP server `{server}` at {url}: tool `{tool}`'s input schema is not a usable JSON Schema ({message}); leave the tool out with .tools([…])"
    )]
    BadSchema {
        /// The server's name in the agent.
        server: String,
        /// Its URL.
        url: String,
        /// The tool.
        tool: String,
        /// What the validator said.
        message: String,
    },
    /// The server's credentials could not be had.
    #[error(
        "the credentials of MCP server `{server}` (secret `{secret}`) cannot be used: {message}"
    )]
    Credentials {
        /// The server's name in the agent.
        server: String,
        /// The secret's name or ARN.
        secret: String,
        /// What is wrong (never the secret's value).
        message: String,
    },
    /// The tools the server listed do not make a valid agent (a filter name it does not list,
    /// a tool name the providers refuse, two tools with one name).
    #[error(transparent)]
    Build(#[from] BuildError),
}
