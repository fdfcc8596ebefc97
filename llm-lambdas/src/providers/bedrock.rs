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
use aws_sdk_bedrockruntime::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_bedrockruntime::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_bedrockruntime::error::BoxError;
use aws_sdk_bedrockruntime::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_bedrockruntime::operation::converse::{ConverseError, ConverseOutput};
use aws_sdk_bedrockruntime::types as br;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::{Document, Number};
use serde_json::Value;

use super::classify::{mentions_context_too_long, shape_error};
use super::config::{ProviderConfigError, env_var, timeout_from_env};
use super::history::{input_as_object, normalized_messages, portable_tool_id};
use super::reply::{plausible_tokens, token_sum, unique_tool_ids};
use super::size::{estimated_tokens, schema_bytes};
use crate::error::LlmError;
use crate::model::{CacheTokens, ChatModel, ChatRequest, ChatResponse};

/// The variable the SDK reads for a Bedrock Runtime endpoint override (a local test server).
pub const ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";

/// The variable that turns Bedrock's prompt cache off (`off`); on (`on`, the default) for the
/// models that support it.
pub const PROMPT_CACHE_ENV: &str = "BEDROCK_PROMPT_CACHE";

/// A model behind Bedrock's Converse API.
#[derive(Debug, Clone)]
pub struct BedrockModel {
    client: aws_sdk_bedrockruntime::Client,
    timeout: Duration,
    prompt_cache: bool,
}

impl BedrockModel {
    /// An adapter over a client the caller configured (region, credentials, endpoint, timeout).
    /// `timeout` is what a timeout error reports.
    pub fn new(client: aws_sdk_bedrockruntime::Client, timeout: Duration) -> Self {
        Self {
            client,
            timeout,
            prompt_cache: true,
        }
    }

    /// The same adapter with the prompt cache on (`cachePoint` blocks for the models that
    /// support them, the default) or off.
    pub fn with_prompt_cache(mut self, on: bool) -> Self {
        self.prompt_cache = on;
        self
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
        let prompt_cache = match env_var(PROMPT_CACHE_ENV).as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ProviderConfigError::InvalidEnv {
                    variable: PROMPT_CACHE_ENV,
                    message: format!("`{other}`: expected `on` or `off`"),
                });
            }
        };
        Ok(Self::from_sdk_config(&config, timeout).with_prompt_cache(prompt_cache))
    }
}

#[async_trait::async_trait]
impl ChatModel for BedrockModel {
    fn provider(&self) -> Provider {
        Provider::Bedrock
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let input = to_request_with(request, self.prompt_cache)?;
        let output = self
            .client
            .converse()
            .model_id(input.model_id)
            .set_messages(Some(input.messages))
            .set_system(Some(input.system).filter(|s| !s.is_empty()))
            .inference_config(input.inference_config)
            .set_tool_config(input.tool_config)
            .customize()
            .interceptor(StableJson)
            .send()
            .await
            .map_err(|e| error_from_sdk(e, self.timeout))?;
        from_output(output, &request.model)
    }
}

/// Sorts the keys of every JSON object of the serialized Converse request before it is signed.
///
/// The SDK carries JSON (tool schemas, tool inputs) as [`Document`]s over `HashMap`s, whose
/// iteration order changes from one request to the next: the same conversation went out as
/// different bytes each turn, so no prompt prefix holding a tool could match Bedrock's prompt
/// cache. Sorted, the same request is the same bytes. The body is signed after this, and its
/// `content-length` is set to the new length.
#[derive(Debug)]
struct StableJson;

impl Intercept for StableJson {
    fn name(&self) -> &'static str {
        "StableJson"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        let Some(bytes) = request.body().bytes() else {
            return Ok(());
        };
        let Ok(mut value) = serde_json::from_slice::<Value>(bytes) else {
            return Ok(());
        };
        sort_keys(&mut value);
        let sorted = serde_json::to_vec(&value)?;
        let length = sorted.len().to_string();
        *request.body_mut() = SdkBody::from(sorted);
        if request.headers().contains_key("content-length") {
            request.headers_mut().insert("content-length", length);
        }
        Ok(())
    }
}

/// `value` with the keys of every object in sorted order.
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut item) in entries {
                sort_keys(&mut item);
                map.insert(key, item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
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

/// Where a model caches prompts on Bedrock, from the prompt-caching guide's table of supported
/// models (<https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSupport {
    /// The fewest tokens a checkpoint's prefix must hold; a checkpoint before it is not cached.
    pub min_tokens: usize,
    /// Whether a checkpoint may follow the tools (Claude: yes; Nova caches system and messages
    /// only).
    pub tools: bool,
    /// The most tokens the cached prefix may hold, when the model has a limit (Nova: 32k).
    pub max_tokens: Option<usize>,
}

/// The most cache checkpoints one Converse request may carry.
pub const MAX_CACHE_POINTS: usize = 4;

/// The prompt caching of a Bedrock model id (region prefix and version suffix allowed), or
/// `None` for a model that does not support it (Llama, Mistral, Jamba, Claude 3.5 Sonnet, …),
/// which is then sent no `cachePoint` at all.
///
/// Claude 3.7 Sonnet, Sonnet 4 and 4.5, Opus 4 and 4.1: 1,024 tokens a checkpoint; Claude 3.5
/// Haiku: 2,048; Claude Haiku 4.5, Opus 4.5 and 4.6: 4,096 (as `anthropic::min_cacheable_tokens`);
/// Nova Micro, Lite, Pro and Premier: 1,000,
/// system and messages only, at most 32k cached tokens.
pub fn cache_support(model_id: &str) -> Option<CacheSupport> {
    let id = model_id.to_ascii_lowercase();
    let id = id.rsplit('/').next().unwrap_or(&id);
    let claude = |min_tokens| {
        Some(CacheSupport {
            min_tokens,
            tools: true,
            max_tokens: None,
        })
    };
    if ["haiku-4-5", "opus-4-5", "opus-4-6"]
        .iter()
        .any(|m| id.contains(&format!("anthropic.claude-{m}")))
    {
        claude(4096)
    } else if id.contains("anthropic.claude-3-5-haiku") {
        claude(2048)
    } else if id.contains("anthropic.claude-3-7-sonnet")
        || id.contains("anthropic.claude-sonnet-4")
        || id.contains("anthropic.claude-opus-4")
    {
        claude(1024)
    } else if [
        "amazon.nova-micro",
        "amazon.nova-lite",
        "amazon.nova-pro",
        "amazon.nova-premier",
    ]
    .iter()
    .any(|nova| id.contains(nova))
    {
        Some(CacheSupport {
            min_tokens: 1000,
            tools: false,
            max_tokens: Some(32_000),
        })
    } else {
        None
    }
}

fn cache_point() -> Result<br::CachePointBlock, LlmError> {
    br::CachePointBlock::builder()
        .r#type(br::CachePointType::Default)
        .build()
        .map_err(build_error)
}

/// The size in bytes of a neutral block, as the Anthropic adapter counts it.
fn neutral_block_bytes(block: &ContentBlock) -> usize {
    match block {
        ContentBlock::Text { text, .. } => text.len(),
        ContentBlock::ToolUse { name, input, .. } => name.len() + schema_bytes(input) + 40,
        ContentBlock::ToolResult { content, .. } => content.len() + 40,
    }
}

/// Converts a neutral request to the parts of a Converse call, with cache checkpoints for the
/// models that support them ([`to_request_with`]).
pub fn to_request(request: &ChatRequest) -> Result<ConverseRequest, LlmError> {
    to_request_with(request, true)
}

/// Converts a neutral request to the parts of a Converse call; with `prompt_cache`, and for a
/// model that [supports it](cache_support), `cachePoint` blocks as the Anthropic adapter places
/// its breakpoints, each only where the prefix before it reaches the model's minimum (and stays
/// within its maximum), never more than [`MAX_CACHE_POINTS`]:
///
/// 1. after the system prompt (else after the tools, for Claude): the part every conversation
///    of the agent shares;
/// 2. at the end of the last user message (this turn's question or tool results): written now,
///    read by the next turn;
/// 3. at the end of the user message before it, where the previous turn wrote its entry.
pub fn to_request_with(
    request: &ChatRequest,
    prompt_cache: bool,
) -> Result<ConverseRequest, LlmError> {
    let support = cache_support(&request.model).filter(|_| prompt_cache);
    let neutral = normalized_messages(&request.messages, Provider::Bedrock);
    let mut bytes: usize = request
        .tools
        .iter()
        .map(|t| t.name.len() + t.description.len() + schema_bytes(&t.input_schema))
        .sum::<usize>()
        + request.system.len();
    let cacheable = |bytes: usize| {
        support.is_some_and(|s| {
            let tokens = estimated_tokens(bytes);
            tokens >= s.min_tokens && s.max_tokens.is_none_or(|max| tokens <= max)
        })
    };
    let has_system = !request.system.trim().is_empty();
    let mut points = 0usize;
    let system_point = cacheable(bytes) && has_system;
    let tools_point = cacheable(bytes)
        && !has_system
        && !request.tools.is_empty()
        && support.is_some_and(|s| s.tools);
    points += usize::from(system_point) + usize::from(tools_point);
    // The user messages whose end gets a checkpoint: the last two, where the prefix is long enough.
    let mut through = Vec::with_capacity(neutral.len());
    for message in neutral.iter() {
        bytes += message
            .content
            .iter()
            .map(neutral_block_bytes)
            .sum::<usize>();
        through.push(bytes);
    }
    let mut marked = Vec::new();
    for index in (0..neutral.len())
        .rev()
        .filter(|i| neutral[*i].role == Role::User)
        .take(2)
    {
        if points < MAX_CACHE_POINTS && cacheable(through[index]) {
            marked.push(index);
            points += 1;
        }
    }

    let mut messages = Vec::with_capacity(neutral.len());
    for (index, message) in neutral.iter().enumerate() {
        let mut content = message
            .content
            .iter()
            .map(to_block)
            .collect::<Result<Vec<_>, _>>()?;
        if marked.contains(&index) {
            content.push(br::ContentBlock::CachePoint(cache_point()?));
        }
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
    if tools_point {
        tools.push(br::Tool::CachePoint(cache_point()?));
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
        system: if !has_system {
            Vec::new()
        } else if system_point {
            vec![
                br::SystemContentBlock::Text(request.system.clone()),
                br::SystemContentBlock::CachePoint(cache_point()?),
            ]
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
    // `inputTokens` leaves the cache reads and writes out (as Anthropic's `input_tokens` does):
    // the prompt is the sum of the three.
    let (input_tokens, output_tokens, cache) = output
        .usage
        .map(|u| {
            let non_negative = |n: i32| u64::try_from(n).unwrap_or(0);
            let read = plausible_tokens(
                p,
                "cacheReadInputTokens",
                u.cache_read_input_tokens.map_or(0, non_negative),
            );
            let write = plausible_tokens(
                p,
                "cacheWriteInputTokens",
                u.cache_write_input_tokens.map_or(0, non_negative),
            );
            let input = token_sum(
                p,
                &[
                    ("inputTokens", non_negative(u.input_tokens)),
                    ("cacheReadInputTokens", read),
                    ("cacheWriteInputTokens", write),
                ],
            );
            (
                input,
                token_sum(p, &[("outputTokens", non_negative(u.output_tokens))]),
                CacheTokens {
                    read,
                    write,
                    write_1h: 0,
                }
                .within(input),
            )
        })
        .unwrap_or_default();
    Ok(ChatResponse {
        message: Message {
            role: Role::Assistant,
            content,
        },
        stop_reason,
        input_tokens,
        output_tokens,
        cache,
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
