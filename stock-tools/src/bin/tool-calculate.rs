//! The `calculate` tool as a Lambda function: payload a tool call, answer a tool result.

use stock_tools::tools::Calculate;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfn_agent_tool::lambda::serve(Calculate).await
}
