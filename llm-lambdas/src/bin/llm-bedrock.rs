//! The bedrock LLM Lambda: one turn of an agent's ReAct loop on Bedrock's API.
//!
//! It links only its provider's adapter, whatever features the build has: nothing reaches the
//! others (`ProviderAdapter`).
//!
//! Configuration (read at init, where the handler is built): `CONVERSATION_TABLE`,
//! `CONVERSATION_TTL_DAYS`, `SECRET_ARN` (the API-key secret), the provider's base URL and key
//! variables, `LLM_TIMEOUT_SECONDS`, `LLM_MODEL_OVERRIDE`, `CONVERSATION_CACHE_BYTES`.
//!
//! One thread: a Lambda instance handles one invocation at a time, so worker threads would only
//! add memory (a stack and an allocator arena each) and start-up time.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    llm_lambdas::handler::lambda::run(llm_lambdas::providers::ProviderAdapter::BEDROCK).await
}
