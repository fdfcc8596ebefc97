//! The `word_count` tool as a Lambda function.

#[tokio::main]
async fn main() -> Result<(), sfn_agent::tool::lambda::Error> {
    sfn_agent::tool::lambda::serve(custom_agent::tools::WordCount).await
}
