//! The SQS trigger Lambda: starts one agent execution per message, named after the message.

#[tokio::main]
async fn main() -> Result<(), sfn_agent::tool::lambda::Error> {
    sfn_agent::triggers::serve().await
}
