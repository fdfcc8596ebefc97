//! The project's own tools. A tool is a type with a name, a description, a typed input (whose
//! doc comments the model reads) and a `run` function.

use sfn_agent::schemars::JsonSchema;
use sfn_agent::{Tool, ToolError};
use serde::{Deserialize, Serialize};

/// Counts the words and characters of a text.
pub struct WordCount;

/// The input of `word_count`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WordCountInput {
    /// The text whose words to count, as the user gave it.
    #[schemars(length(min = 1, max = 100000))]
    pub text: String,
}

/// How long a text is.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Words: runs of characters between white space.
    pub words: usize,
    /// Characters, spaces included.
    pub characters: usize,
}

impl Tool for WordCount {
    const NAME: &'static str = "word_count";
    const DESCRIPTION: &'static str = "Counts the words and the characters of a text. Give the \
        text exactly as the user wrote it.";
    type Input = WordCountInput;
    type Output = Counts;

    fn example() -> WordCountInput {
        WordCountInput {
            text: "The quick brown fox".to_owned(),
        }
    }

    async fn run(&self, input: WordCountInput) -> Result<Counts, ToolError> {
        Ok(Counts {
            words: input.text.split_whitespace().count(),
            characters: input.text.chars().count(),
        })
    }
}
