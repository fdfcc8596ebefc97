//! The SQS trigger: a Lambda that starts one agent execution per SQS message.
//!
//! A message body is `{"agent": "weather", "question": "...", "conversation_id": "..."}`
//! (`conversation_id` optional). The execution is named after the SQS message id, so a message
//! SQS delivers twice starts one Standard execution: Step Functions treats StartExecution with
//! the same name and input as the same call. Express machines have no such idempotency; see
//! `cdk/README.md` for how that is handled.
//!
//! The Lambda reports partial batch failures: only the messages whose execution could not be
//! started go back to the queue (and, after `maxReceiveCount` tries, to the dead-letter queue).
//!
//! ```
//! use triggers::{QueueMessage, execution_name};
//!
//! let message: QueueMessage = serde_json::from_str(r#"{"agent": "weather", "question": "Rain in Oslo?"}"#)?;
//! assert_eq!(message.agent, "weather");
//! assert_eq!(
//!     execution_name("059f36b4-87a3-44ab-83d2-661975830a7d"),
//!     "sqs-059f36b4-87a3-44ab-83d2-661975830a7d"
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;

use agent_builder::AgentInput;
use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use serde::{Deserialize, Serialize};

/// The environment variable with the agents' state machines: `{"weather": "arn:…", …}`.
pub const STATE_MACHINES_ENV: &str = "AGENT_STATE_MACHINES";

/// The longest execution name Step Functions accepts.
const MAX_NAME_LEN: usize = 80;

/// Why a message did not start an execution, or the trigger could not start at all.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The state machine map is missing or malformed.
    #[error(
        "{STATE_MACHINES_ENV} must be a JSON object from agent name to state machine ARN (the CDK app sets it): {0}"
    )]
    Config(String),
    /// The body is not a question for an agent.
    #[error(
        "message {message_id}: the body must be {{\"agent\": \"<name>\", \"question\": \"...\", \"conversation_id\": \"...\"?}}: {reason}"
    )]
    BadMessage {
        /// The SQS message id.
        message_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The message names an agent this stack does not deploy.
    #[error("message {message_id}: no agent \"{agent}\"; this stack deploys: {known}")]
    UnknownAgent {
        /// The SQS message id.
        message_id: String,
        /// The agent it asked for.
        agent: String,
        /// The agents there are.
        known: String,
    },
    /// StartExecution failed (throttling, permissions, a service error).
    #[error("message {message_id}: StartExecution on {state_machine} failed: {message}")]
    Start {
        /// The SQS message id.
        message_id: String,
        /// The state machine.
        state_machine: String,
        /// The service's error.
        message: String,
    },
}

/// The SQS event a Lambda receives, with the fields this trigger reads.
///
/// Shape: <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html> ("Example standard queue
/// message event").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqsEvent {
    /// The messages of the batch.
    #[serde(rename = "Records")]
    pub records: Vec<SqsMessage>,
}

/// One message of the batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqsMessage {
    /// The message id, stable across redeliveries.
    #[serde(rename = "messageId")]
    pub message_id: String,
    /// The body.
    pub body: String,
}

/// The partial batch response: the messages to retry.
///
/// Shape: <https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html>
/// ("Reporting batch item failures").
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SqsBatchResponse {
    /// One entry per message that failed.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A message to retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchItemFailure {
    /// Its message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// What a message asks: an agent and a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueMessage {
    /// The agent's name, as in the manifest.
    pub agent: String,
    /// The question.
    pub question: String,
    /// A conversation to continue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

/// The execution name for a message: `sqs-<messageId>`, in the characters and length Step
/// Functions accepts. The same message always gets the same name.
pub fn execution_name(message_id: &str) -> String {
    let safe: String = message_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("sqs-{safe}").chars().take(MAX_NAME_LEN).collect()
}

/// Starts executions for SQS messages.
#[derive(Debug, Clone)]
pub struct Trigger {
    client: Client,
    machines: BTreeMap<String, String>,
}

impl Trigger {
    /// A trigger for these agents (name → state machine ARN).
    pub fn new(client: Client, machines: BTreeMap<String, String>) -> Self {
        Self { client, machines }
    }

    /// The agents from [`STATE_MACHINES_ENV`].
    pub fn from_env(client: Client) -> Result<Self, TriggerError> {
        let raw = std::env::var(STATE_MACHINES_ENV)
            .map_err(|_| TriggerError::Config("it is not set".into()))?;
        let machines: BTreeMap<String, String> =
            serde_json::from_str(&raw).map_err(|e| TriggerError::Config(e.to_string()))?;
        if machines.is_empty() {
            return Err(TriggerError::Config("it names no agent".into()));
        }
        Ok(Self::new(client, machines))
    }

    /// Starts an execution per message; returns the messages to retry. Each message is one JSON
    /// log line (`tracing`, target `sfn_agent::trigger`): the execution it started, or what went
    /// wrong.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for message in &event.records {
            match self.start(message).await {
                Ok(execution_arn) => {
                    lambda_runtime::tracing::info!(
                        target: "sfn_agent::trigger",
                        message_id = %message.message_id,
                        execution = %execution_arn,
                        sfn.execution_arn = %execution_arn,
                        "execution started"
                    );
                }
                Err(error) => {
                    lambda_runtime::tracing::error!(
                        target: "sfn_agent::trigger",
                        message_id = %message.message_id,
                        error = %error,
                        "message not started; SQS delivers it again"
                    );
                    response.batch_item_failures.push(BatchItemFailure {
                        item_identifier: message.message_id.clone(),
                    });
                }
            }
        }
        response
    }

    /// Starts the message's execution and returns its ARN (the existing one's, on a redelivery).
    pub async fn start(&self, message: &SqsMessage) -> Result<String, TriggerError> {
        let request: QueueMessage =
            serde_json::from_str(&message.body).map_err(|e| TriggerError::BadMessage {
                message_id: message.message_id.clone(),
                reason: e.to_string(),
            })?;
        let Some(state_machine) = self.machines.get(&request.agent) else {
            return Err(TriggerError::UnknownAgent {
                message_id: message.message_id.clone(),
                agent: request.agent,
                known: self.machines.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        // The same body always serializes to the same input, so a redelivery is the same call.
        let input = serde_json::to_string(&AgentInput {
            question: request.question,
            conversation_id: request.conversation_id,
        })
        .map_err(|e| TriggerError::BadMessage {
            message_id: message.message_id.clone(),
            reason: e.to_string(),
        })?;
        let name = execution_name(&message.message_id);
        let started = self
            .client
            .start_execution()
            .state_machine_arn(state_machine)
            .name(&name)
            .input(input)
            .send()
            .await;
        match started {
            Ok(out) => Ok(out.execution_arn().to_owned()),
            // This message already started its execution, which has since finished (or, on
            // Standard, still runs with another input, which one message id cannot have): done.
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), StartExecutionError::ExecutionAlreadyExists(_)) =>
            {
                Ok(format!(
                    "{}:{name} (already started)",
                    execution_prefix(state_machine)
                ))
            }
            Err(e) => Err(TriggerError::Start {
                message_id: message.message_id.clone(),
                state_machine: state_machine.clone(),
                message: aws_sdk_sfn::error::DisplayErrorContext(e).to_string(),
            }),
        }
    }
}

/// `arn:aws:states:r:a:stateMachine:m` → `arn:aws:states:r:a:execution:m`.
fn execution_prefix(state_machine: &str) -> String {
    state_machine.replacen(":stateMachine:", ":execution:", 1)
}

/// Runs the SQS trigger as a Lambda function until the runtime stops it: the whole `sqs-trigger`
/// binary, so a team's copy of it is one line. `AWS_ENDPOINT_URL` points it at a local Step
/// Functions API.
pub async fn serve() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let trigger = Trigger::from_env(Client::new(&config))?;
    let trigger = &trigger;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<SqsEvent>| async move {
            Ok::<_, lambda_runtime::Error>(trigger.handle(event.payload).await)
        },
    ))
    .await
}

/// The trigger's JSON logs, as every sfn-agent Lambda writes them: one JSON object a line on
/// stdout, filtered by `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`. Called once by
/// [`serve`]; a subscriber already set is left alone. (The same setup as
/// `sfn_agent_tool::lambda::init_logging`, kept here so the trigger does not pull in the tool
/// crate's schema validator.)
pub fn init_logging() {
    use lambda_runtime::tracing::subscriber::{self, EnvFilter};
    let filter = match std::env::var("AWS_LAMBDA_LOG_LEVEL") {
        // Lambda's levels; `FATAL`, which `tracing` has not, is `error`.
        Ok(level) if !level.trim().is_empty() => match level.trim().to_ascii_lowercase() {
            l if l == "fatal" => "error".to_string(),
            l => l,
        },
        _ => std::env::var("RUST_LOG")
            .ok()
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| "info".to_string()),
    };
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(std::io::stdout)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_valid() {
        assert_eq!(execution_name("a b/c"), "sqs-a_b_c");
        assert_eq!(execution_name(&"x".repeat(100)).len(), MAX_NAME_LEN);
    }

    #[test]
    fn the_event_and_response_follow_the_documented_shapes() -> Result<(), serde_json::Error> {
        // From "Example standard queue message event" in the Lambda developer guide.
        let event: SqsEvent = serde_json::from_str(
            r#"{"Records": [{
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": "Test message.",
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue",
                "awsRegion": "us-east-2"
            }]}"#,
        )?;
        assert_eq!(
            event.records[0].message_id,
            "059f36b4-87a3-44ab-83d2-661975830a7d"
        );
        let response = SqsBatchResponse {
            batch_item_failures: vec![BatchItemFailure {
                item_identifier: "059f36b4-87a3-44ab-83d2-661975830a7d".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&response)?,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a7d"}]})
        );
        Ok(())
    }

    #[test]
    fn execution_arns_follow_the_machine() {
        assert_eq!(
            execution_prefix("arn:aws:states:us-east-1:1:stateMachine:SfnAgent-weather"),
            "arn:aws:states:us-east-1:1:execution:SfnAgent-weather"
        );
    }
}
