//! The stock `calculate` tool as a Lambda function.

#[tokio::main]
async fn main() -> Result<(), sfn_agent::tool::lambda::Error> {
    sfn_agent::tool::lambda::serve(sfn_agent::stock_tools::tools::Calculate).await
}
