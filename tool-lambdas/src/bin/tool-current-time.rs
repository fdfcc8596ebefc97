//! The `current_time` tool as a Lambda function: payload a tool call, answer a tool result.

use tool_lambdas::tools::CurrentTime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tool_lambdas::lambda::serve(CurrentTime::new()).await
}
