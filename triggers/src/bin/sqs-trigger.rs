//! The `sqs-trigger` Lambda: an SQS event source starts agent executions.
//!
//! Configuration: `AGENT_STATE_MACHINES` (`{"agent": "state machine ARN"}`, set by the CDK
//! construct); AWS_ENDPOINT_URL points it at a local Step Functions API.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    triggers::serve().await
}
