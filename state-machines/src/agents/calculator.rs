use agent_builder::{Agent, Model};
use stock_tools::specs;

/// Does arithmetic exactly, through the calculator rather than in its head.
pub(crate) fn calculator() -> Agent {
    super::finish(
        Agent::builder("calculator")
            .description("does arithmetic with the calculate tool rather than in its head")
            .system_prompt(
                "You solve arithmetic and percentage questions. Never compute in your head: \
                 write each calculation as an expression and call calculate, then answer with \
                 the result and the expression you used.",
            )
            .model(
                Model::openai("gpt-4o-mini")
                    .max_tokens(1024)
                    .temperature(0.0),
            )
            .tool(specs::calculate::spec())
            .max_iterations(8),
    )
}
