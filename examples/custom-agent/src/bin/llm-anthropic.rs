//! The LLM Lambda of the agents that use Anthropic: one turn of the ReAct loop per invocation.
//! An agent on another provider needs `llm-<provider>.rs` like this one (`cargo run -- check`
//! says which binaries the manifest names).

#[tokio::main]
async fn main() -> Result<(), sfn_agent::tool::lambda::Error> {
    sfn_agent::llm::handler::lambda::run(sfn_agent::llm::ProviderAdapter::ANTHROPIC).await
}
