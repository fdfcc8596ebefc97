//! Test doubles shared by the handler tests: a model that answers from a queue and records what
//! it was sent, and the switch for tests that need the local AWS server.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use agent_builder::{ContentBlock, Message, Provider, Role, StopReason};
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError};
use serde_json::Value;

/// A model answering from a queue of replies, recording every request.
pub struct QueueModel {
    provider: Provider,
    replies: Mutex<VecDeque<Result<ChatResponse, LlmError>>>,
    /// The requests received, in order.
    pub requests: Mutex<Vec<ChatRequest>>,
    /// Waited on before answering, to line up concurrent calls.
    pub gate: Option<Arc<tokio::sync::Barrier>>,
}

impl QueueModel {
    pub fn new(provider: Provider, replies: Vec<Result<ChatResponse, LlmError>>) -> Self {
        Self {
            provider,
            replies: Mutex::new(replies.into()),
            requests: Mutex::new(Vec::new()),
            gate: None,
        }
    }

    pub fn with_gate(mut self, gate: Arc<tokio::sync::Barrier>) -> Self {
        self.gate = Some(gate);
        self
    }

    pub fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl ChatModel for QueueModel {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(request.clone());
        }
        if let Some(gate) = &self.gate {
            gate.wait().await;
        }
        let next = self.replies.lock().ok().and_then(|mut q| q.pop_front());
        next.unwrap_or_else(|| {
            Err(LlmError::Invalid {
                provider: "queue".into(),
                message: "the test model has no more replies".into(),
            })
        })
    }
}

/// An assistant reply with text and tool calls `(id, name, input)`.
pub fn reply(text: &str, calls: &[(&str, &str, Value)], model: &str) -> ChatResponse {
    let mut content = Vec::new();
    if !text.is_empty() {
        content.push(ContentBlock::Text {
            text: text.into(),
            extra: None,
        });
    }
    for (id, name, input) in calls {
        content.push(ContentBlock::ToolUse {
            id: (*id).into(),
            name: (*name).into(),
            input: input.clone(),
            extra: None,
        });
    }
    ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason: if calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        },
        input_tokens: 1000,
        output_tokens: 100,
        cache: Default::default(),
        model: model.into(),
    }
}

/// The local AWS endpoint (`scripts/local-aws.sh`), or `None` with a notice when it is not set.
/// Under `CI=true` a missing endpoint fails the test: CI never skips these silently.
pub fn aws_endpoint(test: &str) -> Option<String> {
    match std::env::var("SFN_AGENT_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.trim().is_empty() => Some(e.trim().to_string()),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            assert!(
                !ci,
                "{test}: SFN_AGENT_TEST_AWS_ENDPOINT is not set under CI; run `eval \"$(scripts/local-aws.sh)\"` first"
            );
            eprintln!(
                "SKIPPED {test}: SFN_AGENT_TEST_AWS_ENDPOINT is not set; run `eval \"$(scripts/local-aws.sh)\"` to start the local AWS server"
            );
            None
        }
    }
}

/// AWS configuration pointing at the local server, with dummy credentials.
pub async fn local_aws_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "local-test",
        ))
        .load()
        .await
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
