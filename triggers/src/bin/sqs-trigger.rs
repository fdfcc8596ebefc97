//! The `sqs-trigger` Lambda: an SQS event source starts agent executions.
//!
//! Configuration: `AGENT_STATE_MACHINES` (`{"agent": "state machine ARN"}`, set by the CDK app);
//! AWS_ENDPOINT_URL points it at a local Step Functions API.

use aws_config::BehaviorVersion;
use lambda_runtime::{LambdaEvent, service_fn};
use triggers::{SqsEvent, Trigger};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let trigger = Trigger::from_env(aws_sdk_sfn::Client::new(&config))?;
    let trigger = &trigger;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, lambda_runtime::Error>(trigger.handle(event.payload).await)
    }))
    .await
}
