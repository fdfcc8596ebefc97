//! Amazon Bedrock's Converse API through `aws-sdk-bedrockruntime`: one adapter for every model
//! family Converse serves (Claude, Nova, Llama, Mistral, Jamba on Bedrock).
//!
//! Shapes follow <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>:
//! `toolUse {toolUseId, name, input}` and `toolResult {toolUseId, content, status}` blocks, the
//! system prompt as `system[]`, tools in `toolConfig.tools[].toolSpec` with the input schema as a
//! JSON document. JSON crosses the SDK as [`aws_smithy_types::Document`], converted both ways by
//! [`json_to_document`] and [`document_to_json`].
//!
//! The SDK reads its own configuration (region, credentials) and the endpoint override
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (or `AWS_ENDPOINT_URL`), so tests point it at a local server
//! with dummy credentials. The SDK's own retries are off: the state machine retries, with the
//! error names below (`ThrottlingException` → `LLM.RateLimited`, …).

use std::collections::HashMap;
use std::time::Duration;

use agent_builder::{ContentBlock, Message, Provider, Role, StopReason};
use aws_sdk_bedrockruntime::config::http::HttpResponse;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types as br;
use aws_smithy_types::{Document, Number};
use serde_json::Value;

use super::classify::{mentions_context_too_long, shape_error};
use super::config::{ProviderConfigError, timeout_from_env};
use super::history::{input_as_object, normalized_messages, portable_tool_id};
use super::reply::{token_sum, unique_tool_ids};
use crate::error::LlmError;
use crate::model::{ChatModel, ChatRequest, ChatResponse};

/// The variable the SDK reads for a Bedrock Runtime endpoint override (a local test server).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";

/// A model behind Bedrock's Converse API.
#[derive(Debug, Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    timeout: Duration,
}

impl BedrockModel {
    /// An adapter over a client the caller configured (region, credentials, endpoint, timeout).
    /// `timeout` is what a timeout error reports.
    pub fn new(client: aws_sdk_bedrockruntime::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    /// An adapter from the shared AWS configuration, with this call's timeout and no SDK retries.
    pub fn from_sdk_config(config: &aws_config::SdkConfig, timeout: Duration) -> Self {
        let conf = aws_sdk_bedrockruntime::config::Builder::from(config)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(timeout)
                    .build(),
            )
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        Self::new(aws_sdk_bedrockruntime::Client::from_conf(conf), timeout)
    }

    /// An adapter from the environment: the AWS SDK's configuration chain (`AWS_REGION`,
    /// credentials, `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`) and `LLM_TIMEOUT_SECONDS`.
    pub async fn from_env() -> Result<Self, ProviderConfigError> {
        let timeout = timeout_from_env()?;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        if config.region().is_none() {
            return Err(ProviderConfigError::MissingEnv {
                variable: "AWS_REGION",
                what: "the AWS region where Bedrock serves the model (for example us-east-1)",
            });
        }
        Ok(Self::from_sdk_config(&config, timeout))
    }
}

#[async_trait::async_trait]
impl ChatModel for BedrockModel {
    fn provider(&self) -> Provider {
        Provider::Bedrock
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let input = to_request(request)?;
        let output = self
            .client
            .converse()
            .model_id(input.model_id)
            .set_messages(Some(input.messages))
            .set_system(Some(input.system).filter(|s| !s.is_empty()))
            .inference_config(input.inference_config)
            .set_tool_config(input.tool_config)
            .send()
            .await
            .map_err(|e| error_from_sdk(e, self.timeout))?;
        from_output(output, &request.model)
    }
}

/// The parts of a Converse call, converted from a neutral request.
#[derive(Debug, Clone, PartialEq)]
pub struct ConverseRequest {
    /// The model id or inference profile (`anthropic.claude-…`, `us.amazon.nova-pro-v1:0`, …).
    pub model_id: String,
    /// The conversation, roles alternating.
    pub messages: Vec<br::Message>,
    /// The system prompt.
    pub system: Vec<br::SystemContentBlock>,
    /// Limits and sampling.
    pub inference_config: br::InferenceConfiguration,
    /// The tools; Converse needs them whenever the history holds tool blocks.
    pub tool_config: Option<br::ToolConfiguration>,
}

fn build_error(e: impl std::fmt::Display) -> LlmError {
    LlmError::Invalid {
        provider: Provider::Bedrock.to_string(),
        message: format!("the Converse request could not be built: {e}"),
    }
}

/// Converts a neutral request to the parts of a Converse call.
pub fn to_request(request: &ChatRequest) -> Result<ConverseRequest, LlmError> {
    let mut messages = Vec::with_capacity(request.messages.len());
    for message in normalized_messages(&request.messages, Provider::Bedrock) {
        let content = message
            .content
            .iter()
            .map(to_block)
            .collect::<Result<Vec<_>, _>>()?;
        messages.push(
            br::Message::builder()
                .role(match message.role {
                    Role::User => br::ConversationRole::User,
                    Role::Assistant => br::ConversationRole::Assistant,
                })
                .set_content(Some(content))
                .build()
                .map_err(build_error)?,
        );
    }
    let mut tools = Vec::with_capacity(request.tools.len());
    for tool in &request.tools {
        tools.push(br::Tool::ToolSpec(
            br::ToolSpecification::builder()
                .name(&tool.name)
                .description(&tool.description)
                .input_schema(br::ToolInputSchema::Json(json_to_document(
                    &tool.input_schema,
                )))
                .build()
                .map_err(build_error)?,
        ));
    }
    let tool_config = if tools.is_empty() {
        None
    } else {
        Some(
            br::ToolConfiguration::builder()
                .set_tools(Some(tools))
                .build()
                .map_err(build_error)?,
        )
    };
    Ok(ConverseRequest {
        model_id: request.model.clone(),
        messages,
        system: if request.system.trim().is_empty() {
            Vec::new()
        } else {
            vec![br::SystemContentBlock::Text(request.system.clone())]
        },
        inference_config: br::InferenceConfiguration::builder()
            .max_tokens(i32::try_from(request.max_tokens).unwrap_or(i32::MAX))
            .set_temperature(request.temperature)
            .build(),
        tool_config,
    })
}

/// The text of a tool result: Converse refuses an error result with empty content ("The content
/// field … cannot be empty when status value is error") and a blank text block.
///
/// `status` is sent for every model: the reference documents it for Claude, and Llama, Mistral,
/// Cohere and Nova accept it too (langchain-aws#146 tested them).
fn result_text(content: &str, is_error: bool) -> String {
    if content.trim().is_empty() {
        if is_error {
            "The tool failed without saying why."
        } else {
            "(no output)"
        }
        .to_string()
    } else {
        content.to_string()
    }
}

fn to_block(block: &ContentBlock) -> Result<br::ContentBlock, LlmError> {
    Ok(match block {
        ContentBlock::Text { text, .. } => br::ContentBlock::Text(text.clone()),
        ContentBlock::ToolUse {
            id, name, input, ..
        } => br::ContentBlock::ToolUse(
            br::ToolUseBlock::builder()
                .tool_use_id(portable_tool_id(id))
                .name(name)
                .input(json_to_document(&input_as_object(input)))
                .build()
                .map_err(build_error)?,
        ),
        ContentBlock::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => br::ContentBlock::ToolResult(
            br::ToolResultBlock::builder()
                .tool_use_id(portable_tool_id(tool_use_id))
                .content(br::ToolResultContentBlock::Text(result_text(
                    content, *is_error,
                )))
                .status(if *is_error {
                    br::ToolResultStatus::Error
                } else {
                    br::ToolResultStatus::Success
                })
                .build()
                .map_err(build_error)?,
        ),
    })
}

/// Converts a Converse output to the neutral response. `model` is the requested model id
/// (Converse does not echo it).
pub fn from_output(output: ConverseOutput, model: &str) -> Result<ChatResponse, LlmError> {
    let message = match output.output {
        Some(br::ConverseOutput::Message(m)) => m,
        _ => {
            return Err(shape_error(
                Provider::Bedrock,
                200,
                "no output.message in the Converse response",
            ));
        }
    };
    let mut content: Vec<ContentBlock> = Vec::new();
    let push_text = |content: &mut Vec<ContentBlock>, text: String, after_text: bool| match content
        .last_mut()
    {
        Some(ContentBlock::Text { text: previous, .. }) if after_text => previous.push_str(&text),
        _ => content.push(ContentBlock::text(text)),
    };
    let mut after_text = false;
    for block in message.content {
        match block {
            br::ContentBlock::Text(text) => {
                push_text(&mut content, text, after_text);
                after_text = true;
            }
            // With citations on, the answer's text comes in `citationsContent` blocks.
            br::ContentBlock::CitationsContent(cited) => {
                for generated in cited.content.unwrap_or_default() {
                    if let br::CitationGeneratedContent::Text(text) = generated {
                        push_text(&mut content, text, after_text);
                        after_text = true;
                    }
                }
            }
            br::ContentBlock::ToolUse(call) => {
                let input = document_to_json(&call.input);
                content.push(ContentBlock::ToolUse {
                    id: call.tool_use_id,
                    name: call.name,
                    input: if input.is_null() {
                        Value::Object(Default::default())
                    } else {
                        input
                    },
                    extra: None,
                });
                after_text = false;
            }
            // Reasoning, images, documents and new block kinds are not part of the answer.
            _ => after_text = false,
        }
    }
    content.retain(|b| !matches!(b, ContentBlock::Text { text, .. } if text.is_empty()));
    let has_tool_use = content
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
    let stop_reason = match output.stop_reason.as_str() {
        "max_tokens" | "model_context_window_exceeded" => StopReason::MaxTokens,
        "tool_use" => StopReason::ToolUse,
        _ if has_tool_use => StopReason::ToolUse,
        _ => StopReason::EndTurn,
    };
    let filtered = matches!(
        output.stop_reason.as_str(),
        "content_filtered" | "guardrail_intervened"
    );
    if filtered
        && !content
            .iter()
            .any(|b| matches!(b, ContentBlock::Text { text, .. } if !text.trim().is_empty()))
    {
        content.push(ContentBlock::Text {
            text: format!(
                "Bedrock withheld the answer (stopReason: {}).",
                output.stop_reason.as_str()
            ),
            extra: None,
        });
    }
    unique_tool_ids(&mut content);
    let p = Provider::Bedrock;
    let (input_tokens, output_tokens) = output
        .usage
        .map(|u| {
            let non_negative = |n: i32| u64::try_from(n).unwrap_or(0);
            (
                token_sum(
                    p,
                    &[
                        ("inputTokens", non_negative(u.input_tokens)),
                        (
                            "cacheReadInputTokens",
                            u.cache_read_input_tokens.map_or(0, non_negative),
                        ),
                        (
                            "cacheWriteInputTokens",
                            u.cache_write_input_tokens.map_or(0, non_negative),
                        ),
                    ],
                ),
                token_sum(p, &[("outputTokens", non_negative(u.output_tokens))]),
            )
        })
        .unwrap_or((0, 0));
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        output_tokens,
        model: model.to_string(),
    })
}

/// JSON to the SDK's document type (tool input schemas, tool inputs).
pub fn json_to_document(value: &Value) -> Document {
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or(0.0))
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(json_to_document).collect()),
        Value::Object(map) => Document::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), json_to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// The SDK's document type to JSON (tool use inputs). A non-finite float becomes `null`.
pub fn document_to_json(document: &Document) -> Value {
    match document {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(document_to_json).collect()),
        Document::Object(map) => {
            // Sorted keys: a stable order, since the SDK's map has none.
            let mut entries: Vec<(&String, &Document)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), document_to_json(v)))
                    .collect(),
            )
        }
    }
}

/// Maps an SDK error of `converse` to an [`LlmError`].
pub fn error_from_sdk(error: SdkError<ConverseError, HttpResponse>, timeout: Duration) -> LlmError {
    let provider = Provider::Bedrock.to_string();
    match error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            error_from_converse_status(service.into_err(), Some(status), timeout)
        }
        SdkError::TimeoutError(_) => LlmError::Timeout {
            provider,
            seconds: timeout.as_secs(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => LlmError::Timeout {
            provider,
            seconds: timeout.as_secs(),
        },
        other => {
            let text = DisplayErrorContext(&other).to_string();
            if text.to_ascii_lowercase().contains("credential") {
                LlmError::AuthFailed {
                    provider,
                    message: format!(
                        "no usable AWS credentials ({text}); give the Lambda's role bedrock:InvokeModel, or set AWS credentials for local runs"
                    ),
                }
            } else {
                // No HTTP reply (refused, DNS, TLS) or an unreadable one: no status to report.
                LlmError::Network {
                    provider,
                    message: format!(
                        "no usable response from Bedrock: {text}; check the region and {ENDPOINT_ENV}"
                    ),
                }
            }
        }
    }
}

/// Maps a modeled Converse error to an [`LlmError`]; `timeout` is what a timeout reports.
pub fn error_from_converse(error: ConverseError, timeout: Duration) -> LlmError {
    error_from_converse_status(error, None, timeout)
}

/// Maps a Converse error with the HTTP status of its raw reply, when known. An error the SDK
/// cannot name (no `x-amzn-errortype`, no `__type`: a proxy's or an endpoint's bare 401) is
/// mapped by that status: 401/403 → `LLM.AuthFailed`, 429 → rate limit, 503 → overloaded,
/// other 4xx → bad request, anything else → server error with the real status.
pub fn error_from_converse_status(
    error: ConverseError,
    status: Option<u16>,
    timeout: Duration,
) -> LlmError {
    let provider = Provider::Bedrock.to_string();
    if error.code().is_none()
        && let Some(status) = status
    {
        return error_from_unnamed_status(&error, status);
    }
    let code = error.code().unwrap_or("UnknownError").to_string();
    let message = format!("{code}: {}", error.message().unwrap_or("no message"));
    match &error {
        ConverseError::ThrottlingException(_) => LlmError::RateLimited {
            provider,
            message,
            retry_after_seconds: None,
        },
        ConverseError::ServiceUnavailableException(_) => LlmError::Overloaded {
            provider,
            status: 503,
            message,
        },
        ConverseError::ModelNotReadyException(_) => LlmError::Overloaded {
            provider,
            status: 429,
            message,
        },
        ConverseError::ModelTimeoutException(_) => LlmError::Timeout {
            provider,
            seconds: timeout.as_secs(),
        },
        ConverseError::InternalServerException(_) => LlmError::ServerError {
            provider,
            status: 500,
            message,
        },
        ConverseError::ModelErrorException(_) => LlmError::ServerError {
            provider,
            status: 424,
            message,
        },
        ConverseError::ValidationException(_) if mentions_context_too_long(&message) => {
            LlmError::ContextTooLong { provider, message }
        }
        ConverseError::ValidationException(_) | ConverseError::ResourceNotFoundException(_) => {
            LlmError::BadRequest { provider, message }
        }
        ConverseError::AccessDeniedException(_) => LlmError::AuthFailed { provider, message },
        _ => match code.as_str() {
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "AccessDeniedException" => LlmError::AuthFailed { provider, message },
            "ServiceQuotaExceededException" | "TooManyRequestsException" => LlmError::RateLimited {
                provider,
                message,
                retry_after_seconds: None,
            },
            _ => LlmError::ServerError {
                provider,
                status: status.filter(|s| *s >= 500).unwrap_or(500),
                message,
            },
        },
    }
}

/// An error reply without an error type, mapped by its HTTP status.
fn error_from_unnamed_status(error: &ConverseError, status: u16) -> LlmError {
    let provider = Provider::Bedrock.to_string();
    let said = error
        .message()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    match status {
        401 | 403 => LlmError::AuthFailed {
            provider,
            message: format!(
                "HTTP {status} with no error type{said}; check the AWS credentials (the Lambda's role needs bedrock:InvokeModel) and {ENDPOINT_ENV}"
            ),
        },
        429 => LlmError::RateLimited {
            provider,
            message: format!("HTTP 429{said}"),
            retry_after_seconds: None,
        },
        503 => LlmError::Overloaded {
            provider,
            status,
            message: format!("HTTP 503{said}"),
        },
        400..=499 => LlmError::BadRequest {
            provider,
            message: format!("HTTP {status}{said}"),
        },
        _ => LlmError::ServerError {
            provider,
            status,
            message: format!("no error type{said}; check {ENDPOINT_ENV}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_round_trip() {
        let value = json!({"a": [1, -2, 2.5, true, null, "x"], "b": {"c": {}}});
        assert_eq!(document_to_json(&json_to_document(&value)), value);
    }
}
