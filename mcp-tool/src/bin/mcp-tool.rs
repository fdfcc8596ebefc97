//! The generic MCP tool Lambda.

#[tokio::main]
async fn main() -> Result<(), sfn_agent_mcp::lambda::Error> {
    sfn_agent_mcp::lambda::serve().await
}
