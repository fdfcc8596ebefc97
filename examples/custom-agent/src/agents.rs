//! The agents. Add one here and to [`all`]; `cargo run -- synth` writes its state machine.

use sfn_agent::stock_tools::specs;
use sfn_agent::{Agent, Model, spec};

use crate::tools::WordCount;

/// Every agent of the project.
pub fn all() -> Vec<Agent> {
    vec![custom_agent()]
}

/// Counts words and does the arithmetic around them.
pub fn custom_agent() -> Agent {
    Agent::builder("custom-agent")
        .description("counts the words of texts and does arithmetic with the counts")
        .system_prompt(
            "You help with texts. Count words with word_count and do any arithmetic with \
             calculate; never count or compute in your head. Answer concisely.",
        )
        .model(Model::anthropic("claude-haiku-4-5").max_tokens(1024))
        .tool(spec::<WordCount>())
        .tool(specs::calculate::spec())
        .max_iterations(6)
        .build()
        .unwrap_or_else(|error| panic!("{error}"))
}
