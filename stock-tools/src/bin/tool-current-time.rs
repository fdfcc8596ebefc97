//! The `current_time` tool as a Lambda function: payload a tool call, answer a tool result.

use stock_tools::tools::CurrentTime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    sfn_agent_tool::lambda::serve(CurrentTime::new()).await
}
