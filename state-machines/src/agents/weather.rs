use agent_builder::{Agent, Model};
use stock_tools::specs;

/// Answers weather questions for one or several places.
pub(crate) fn weather() -> Agent {
    super::finish(
        Agent::builder("weather")
            .description("answers weather questions for one or several places")
            .system_prompt(
                "You answer questions about the weather. Use get_weather for current conditions \
                 and forecasts; ask for several places in one call when the question names \
                 several. Answer briefly and practically (what to wear, whether to take an \
                 umbrella), and say which place each figure is for.",
            )
            .model(Model::anthropic("claude-sonnet-4-5").max_tokens(1024))
            .tool(specs::get_weather::spec())
            .max_iterations(6),
    )
}
