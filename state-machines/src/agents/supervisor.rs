use agent_builder::{Agent, Model};

/// Delegates: weather questions to the weather agent, arithmetic to the calculator agent, each
/// run as a nested execution of its own state machine.
pub(crate) fn supervisor() -> Agent {
    super::finish(
        Agent::builder("supervisor")
            .description("delegates weather questions and arithmetic to the agents made for them")
            .system_prompt(
                "You answer questions by delegating: ask the weather agent about the weather and \
                 the calculator agent for any arithmetic, each with a question complete in \
                 itself, then answer from what they say.",
            )
            .model(Model::anthropic("claude-sonnet-4-5").max_tokens(1024))
            .sub_agent(&super::weather())
            .sub_agent(&super::calculator())
            .max_iterations(6),
    )
}
