use agent_builder::{Agent, Model};
use stock_tools::specs;

/// A general assistant with every standard tool.
pub(crate) fn assistant() -> Agent {
    super::finish(
        Agent::builder("assistant")
            .description("a general assistant with weather, arithmetic, currencies and time")
            .system_prompt(
                "You are a helpful assistant. Use the tools for facts that change or need \
                 precision: get_weather for weather, calculate for any arithmetic, \
                 convert_currency for money, current_time for dates and times. Call independent \
                 tools in the same turn. Answer concisely.",
            )
            .model(Model::anthropic("claude-sonnet-4-5").max_tokens(2048))
            .tool(specs::get_weather::spec())
            .tool(specs::calculate::spec())
            .tool(specs::convert_currency::spec())
            .tool(specs::current_time::spec())
            .max_iterations(10),
    )
}
