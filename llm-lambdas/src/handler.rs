//! The LLM Lambda's handler: one turn of the ReAct loop.
//!
//! It loads the conversation, appends the new user message (the question, or the tool results
//! of the last turn), calls the model with the system prompt and the tool specs, validates each
//! tool call against the declared tools and their JSON Schemas, stores the turn with a
//! conditional write, and returns only what the state machine needs ([`LlmResponse`]).
//!
//! A Lambda retry of a turn that was already stored (the write succeeded but the response was
//! lost) is recognised by the iteration and the user message, and answered from the store: no
//! second model call, no duplicated messages.

pub mod lambda;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use agent_builder::{
    AgentConfig, ContentBlock, LlmRequest, LlmResponse, Message, Role, StopReason, ToolCall,
    ToolResult, ToolSpec, Usage, errors,
};
use serde_json::Value;
use sfn_agent_tool::validation::{InputValidator, invalid_input_text};

use crate::error::LlmError;
use crate::metrics::{AuthFailure, CallMetrics, MetricsSink};
use crate::model::{ChatModel, ChatRequest, ChatResponse};
use crate::pricing::PriceTable;
use crate::secrets::SecretsError;
use crate::store::{ConversationStore, StoreError, StoredResponse, Turn};

/// The tool the handler adds for an agent with an output schema: its input schema is the output
/// schema, and the model's call to it is the final answer.
pub const FINAL_ANSWER_TOOL: &str = "final_answer";

/// A failure of a turn, named for the state machine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HandlerError {
    /// The model call failed.
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The conversation store failed, or another execution wrote the turn first.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The API key could not be had (secret unreadable, key missing).
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The request has nothing to send to the model.
    #[error("{0}")]
    InvalidInput(String),
    /// The agent's configuration cannot be used.
    #[error("{0}")]
    InvalidConfig(String),
    /// The structured answer did not match the output schema, even after one correction.
    #[error("{0}")]
    InvalidOutput(String),
}

impl HandlerError {
    /// The error name the state machine matches (the Lambda's error type).
    pub fn error_name(&self) -> &'static str {
        match self {
            HandlerError::Llm(e) => e.error_name(),
            HandlerError::Store(e) => e.error_name(),
            HandlerError::Secrets(_) => errors::LLM_AUTH_FAILED,
            HandlerError::InvalidInput(_) => errors::AGENT_INVALID_INPUT,
            HandlerError::InvalidConfig(_) => errors::AGENT_INVALID_CONFIG,
            HandlerError::InvalidOutput(_) => errors::AGENT_INVALID_OUTPUT,
        }
    }
}

/// The most compiled schemas a handler keeps (tools of every agent it has served).
const MAX_CACHED_VALIDATORS: usize = 256;

/// The handler of the LLM Lambda (and of `sfn-agent run`, in-process).
pub struct Handler {
    model: Arc<dyn ChatModel>,
    store: Arc<dyn ConversationStore>,
    model_override: Option<String>,
    metrics: MetricsSink,
    prices: &'static PriceTable,
    /// Compiled schemas by what they check (`agent` NUL `tool`), each with the schema it was
    /// compiled from: a request carries its agent's schemas every time, and comparing one
    /// with the cached schema costs far less than compiling it, or than serializing it as a key.
    validators: Mutex<HashMap<String, (Value, Arc<InputValidator>)>>,
    log_content: bool,
}

/// The environment variable that puts message content (the question, the model's answer) in
/// the turn's log line: `true` to opt in; off by default, so prompts and answers stay out of
/// CloudWatch Logs.
pub const LOG_CONTENT_ENV: &str = "SFN_AGENT_LOG_CONTENT";

/// The `tracing` target of the one line per turn.
pub const TURN_LOG_TARGET: &str = "sfn_agent::turn";

/// The OpenTelemetry GenAI semantic conventions' `gen_ai.system` of a provider.
pub fn gen_ai_system(provider: agent_builder::Provider) -> &'static str {
    match provider {
        agent_builder::Provider::Anthropic => "anthropic",
        agent_builder::Provider::OpenAi => "openai",
        agent_builder::Provider::Gemini => "gcp.gemini",
        agent_builder::Provider::Bedrock => "aws.bedrock",
    }
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("provider", &self.model.provider())
            .field("model_override", &self.model_override)
            .finish_non_exhaustive()
    }
}

/// How a model reply ends the turn.
enum Outcome {
    /// Tool calls to run (and rejected ones to report), or a plain answer.
    Turn {
        stop_reason: StopReason,
        tool_calls: Vec<ToolCall>,
        rejected: Vec<ToolResult>,
    },
    /// A structured final answer, valid against the output schema.
    Final(Value),
    /// The structured answer is wrong; the message tells the model why.
    Correct(Message, String),
}

impl Handler {
    /// A handler calling `model` and keeping conversations in `store`, with EMF lines to stdout.
    pub fn new(model: Arc<dyn ChatModel>, store: Arc<dyn ConversationStore>) -> Self {
        Self {
            model,
            store,
            model_override: None,
            metrics: MetricsSink::stdout(),
            prices: PriceTable::embedded(),
            validators: Mutex::new(HashMap::new()),
            log_content: std::env::var(LOG_CONTENT_ENV)
                .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true")),
        }
    }

    /// Puts message content in the turn's log line (or not), whatever `SFN_AGENT_LOG_CONTENT` says.
    pub fn with_log_content(mut self, on: bool) -> Self {
        self.log_content = on;
        self
    }

    /// Uses this model id instead of the agent's (to run an agent on another provider).
    pub fn with_model_override(mut self, model: impl Into<String>) -> Self {
        self.model_override = Some(model.into());
        self
    }

    /// Sends the EMF lines to this sink instead of stdout.
    pub fn with_metrics(mut self, metrics: MetricsSink) -> Self {
        self.metrics = metrics;
        self
    }

    /// Runs one turn, and logs one line for it (target [`TURN_LOG_TARGET`]).
    pub async fn handle(&self, request: LlmRequest) -> Result<LlmResponse, HandlerError> {
        let started = Instant::now();
        let result = self.turn(&request, started).await;
        if let Err(e) = &result {
            let provider = self.model.provider();
            let model = self
                .model_override
                .as_deref()
                .unwrap_or(&request.agent.model.model);
            tracing::warn!(
                target: TURN_LOG_TARGET,
                execution = request.execution.as_deref().unwrap_or(""),
                conversation_id = %request.conversation_id,
                agent = %request.agent.name,
                iteration = request.iteration,
                provider = provider.as_str(),
                model,
                latency_ms = started.elapsed().as_millis() as u64,
                outcome = e.error_name(),
                error = %e,
                gen_ai.operation.name = "chat",
                gen_ai.system = gen_ai_system(provider),
                gen_ai.request.model = model,
                sfn.execution_arn = request.execution.as_deref().unwrap_or(""),
                sfn.state = agent_builder::react::names::CALL_LLM,
                "turn failed"
            );
        }
        result
    }

    async fn turn(
        &self,
        request: &LlmRequest,
        started: Instant,
    ) -> Result<LlmResponse, HandlerError> {
        let new_blocks = new_user_blocks(request)?;
        let tools = self.tools(&request.agent)?;
        let mut turns = self.store.load(&request.conversation_id).await?;
        if let Some(done) = find_stored(&turns, request, &new_blocks) {
            let replayed = self
                .store
                .load_response(&request.conversation_id, done)
                .await;
            if let Ok(response) = &replayed {
                self.log_turn(request, done, response, started, "replayed");
            }
            self.store.release(&request.conversation_id, turns);
            return Ok(replayed?);
        }

        let next_turn = turns.last().map_or(1, |t| t.turn + 1);
        let mut user_content = answer_pending_calls(&turns, &new_blocks);
        user_content.extend(new_blocks);
        let user = Message {
            role: Role::User,
            content: user_content,
        };

        // The stored messages are lent to the request (moved, not copied) and moved back into
        // their turns after the model call, which go back to the store (a warm Lambda's cache).
        let counts: Vec<usize> = turns.iter().map(|t| t.messages.len()).collect();
        let mut messages = Vec::with_capacity(counts.iter().sum::<usize>() + 3);
        for t in &mut turns {
            messages.append(&mut t.messages);
        }
        messages.push(user.clone());
        let mut chat = ChatRequest {
            model: self
                .model_override
                .clone()
                .unwrap_or_else(|| request.agent.model.model.clone()),
            system: request.agent.system_prompt.clone(),
            messages,
            tools: tools.iter().map(|t| t.spec.clone()).collect(),
            max_tokens: request.agent.model.max_tokens,
            temperature: request.agent.model.temperature,
            cache_ttl: request.agent.cache_ttl,
        };
        let conversed = self.converse(request, &mut chat, &tools, user).await;
        let mut lent = chat.messages.drain(..);
        for (t, count) in turns.iter_mut().zip(counts) {
            t.messages.extend(lent.by_ref().take(count));
        }
        drop(lent);
        let (reply, outcome, turn_messages, usage) = match conversed {
            Ok(conversed) => conversed,
            Err(e) => {
                self.store.release(&request.conversation_id, turns);
                return Err(e);
            }
        };

        let text = reply.message.text();
        let response = match outcome {
            Outcome::Final(structured) => LlmResponse {
                conversation_id: request.conversation_id.clone(),
                iteration: request.iteration,
                stop_reason: StopReason::EndTurn,
                text: if text.trim().is_empty() {
                    structured.to_string()
                } else {
                    text
                },
                tool_calls: Vec::new(),
                rejected: Vec::new(),
                structured: Some(structured),
                usage,
            },
            Outcome::Turn {
                stop_reason,
                tool_calls,
                rejected,
            } => LlmResponse {
                conversation_id: request.conversation_id.clone(),
                iteration: request.iteration,
                stop_reason,
                text,
                tool_calls,
                rejected,
                structured: None,
                usage,
            },
            Outcome::Correct(..) => {
                return Err(HandlerError::InvalidOutput(
                    "the final answer could not be validated".into(),
                ));
            }
        };

        let turn = Turn {
            turn: next_turn,
            iteration: request.iteration,
            execution: request.execution.clone(),
            provider: self.model.provider(),
            model: if reply.model.is_empty() {
                chat.model.clone()
            } else {
                reply.model.clone()
            },
            messages: turn_messages,
            // A copy (its text and calls): the store writes the turn, the state machine gets
            // the response.
            response: StoredResponse::Parsed(response.clone()),
        };
        let stored = self.store.append(&request.conversation_id, &turn).await;
        // The new turn is not added: a caching store reads it back from the store next time,
        // so it holds exactly what was stored.
        self.store.release(&request.conversation_id, turns);
        stored?;
        self.log_turn(request, &turn, &response, started, "ok");
        Ok(response)
    }

    /// Calls the model with `chat` (which starts with the history and the new user message),
    /// once more with the errors when a structured answer does not match the output schema.
    /// Returns the reply, how it ends the turn, the turn's messages and the usage.
    async fn converse(
        &self,
        request: &LlmRequest,
        chat: &mut ChatRequest,
        tools: &[CheckedTool],
        user: Message,
    ) -> Result<(ChatResponse, Outcome, Vec<Message>, Usage), HandlerError> {
        let mut turn_messages = vec![user];
        let mut usage = Usage::default();
        let mut corrected = false;
        loop {
            let reply = self.call(request, chat).await?;
            usage += self.usage_of(chat, &reply);
            turn_messages.push(reply.message.clone());
            let outcome = evaluate(&reply, tools, request.agent.output_schema.is_some());
            match outcome {
                Outcome::Correct(correction, why) => {
                    if corrected {
                        return Err(HandlerError::InvalidOutput(format!(
                            "agent `{}`: the model's final answer does not match the output schema even after it was shown the errors once: {why}. Make the schema easier to satisfy or the system prompt clearer about the answer's shape",
                            request.agent.name
                        )));
                    }
                    corrected = true;
                    chat.messages.push(reply.message.clone());
                    chat.messages.push(correction.clone());
                    turn_messages.push(correction);
                }
                other => return Ok((reply, other, turn_messages, usage)),
            }
        }
    }

    /// The turn's log line: who, which model, how long, how many tokens, how it ended; the
    /// OpenTelemetry GenAI attribute names beside the short ones; content only when opted in.
    fn log_turn(
        &self,
        request: &LlmRequest,
        turn: &Turn,
        response: &LlmResponse,
        started: Instant,
        outcome: &str,
    ) {
        if !tracing::enabled!(target: TURN_LOG_TARGET, tracing::Level::INFO) {
            return;
        }
        let requested = self
            .model_override
            .as_deref()
            .unwrap_or(&request.agent.model.model);
        let execution = request.execution.as_deref().unwrap_or("");
        let question = request.question.as_deref().filter(|_| self.log_content);
        let answer = Some(response.text.as_str()).filter(|_| self.log_content);
        let stop_reason = match response.stop_reason {
            StopReason::EndTurn => "end_turn",
            StopReason::ToolUse => "tool_use",
            StopReason::MaxTokens => "max_tokens",
        };
        tracing::info!(
            target: TURN_LOG_TARGET,
            execution,
            conversation_id = %request.conversation_id,
            agent = %request.agent.name,
            iteration = request.iteration,
            provider = turn.provider.as_str(),
            model = %turn.model,
            latency_ms = started.elapsed().as_millis() as u64,
            input_tokens = response.usage.input_tokens,
            output_tokens = response.usage.output_tokens,
            cache_read_tokens = response.usage.cache_read_tokens,
            cache_write_tokens = response.usage.cache_write_tokens,
            estimated_cost_usd = response.usage.estimated_cost_usd,
            stop_reason,
            tool_calls = response.tool_calls.len() as u64,
            rejected_calls = response.rejected.len() as u64,
            outcome,
            question,
            answer,
            gen_ai.operation.name = "chat",
            gen_ai.system = gen_ai_system(turn.provider),
            gen_ai.request.model = requested,
            gen_ai.response.model = %turn.model,
            gen_ai.usage.input_tokens = response.usage.input_tokens,
            gen_ai.usage.output_tokens = response.usage.output_tokens,
            gen_ai.usage.cache_read.input_tokens = response.usage.cache_read_tokens,
            gen_ai.usage.cache_creation.input_tokens = response.usage.cache_write_tokens,
            sfn.execution_arn = execution,
            sfn.state = agent_builder::react::names::CALL_LLM,
            "turn"
        );
    }

    async fn call(
        &self,
        request: &LlmRequest,
        chat: &ChatRequest,
    ) -> Result<ChatResponse, HandlerError> {
        let started = Instant::now();
        let reply = match self.model.complete(chat).await {
            Ok(reply) => reply,
            Err(e) => {
                if e.error_name() == errors::LLM_AUTH_FAILED {
                    self.metrics.record_auth_failure(&AuthFailure {
                        agent: &request.agent.name,
                        provider: self.model.provider(),
                        model: &chat.model,
                        conversation_id: &request.conversation_id,
                        iteration: request.iteration,
                    });
                }
                return Err(e.into());
            }
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        let usage = self.usage_of(chat, &reply);
        self.metrics.record(&CallMetrics {
            agent: &request.agent.name,
            provider: self.model.provider(),
            model: if reply.model.is_empty() {
                &chat.model
            } else {
                &reply.model
            },
            conversation_id: &request.conversation_id,
            iteration: request.iteration,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            latency_ms,
            estimated_cost_usd: usage.estimated_cost_usd,
            tool_calls: asked_tool_calls(&reply.message),
        });
        Ok(reply)
    }

    fn usage_of(&self, chat: &ChatRequest, reply: &ChatResponse) -> Usage {
        if !self.model.prices_apply() {
            // A scripted run: its counts are made up, so no cost is estimated from them.
            let cache = reply.cache.within(reply.input_tokens);
            return Usage {
                input_tokens: reply.input_tokens,
                output_tokens: reply.output_tokens,
                cache_read_tokens: cache.read,
                cache_write_tokens: cache.write,
                estimated_cost_usd: 0.0,
            };
        }
        let model = if reply.model.is_empty() {
            &chat.model
        } else {
            &reply.model
        };
        self.prices.usage(
            self.model.provider(),
            model,
            reply.input_tokens,
            reply.output_tokens,
            reply.cache,
        )
    }

    /// The agent's tools with their compiled schemas, plus the final-answer tool.
    fn tools(&self, agent: &AgentConfig) -> Result<Vec<CheckedTool>, HandlerError> {
        let mut tools = Vec::with_capacity(agent.tools.len() + 1);
        for spec in &agent.tools {
            tools.push(CheckedTool {
                validator: self.validator(&agent.name, &spec.name, &spec.input_schema, || {
                    format!("tool `{}`'s input schema", spec.name)
                })?,
                spec: spec.clone(),
            });
        }
        if let Some(schema) = &agent.output_schema {
            if agent.tools.iter().any(|t| t.name == FINAL_ANSWER_TOOL) {
                return Err(HandlerError::InvalidConfig(format!(
                    "agent `{}` has a tool named `{FINAL_ANSWER_TOOL}` and an output schema; the handler adds `{FINAL_ANSWER_TOOL}` itself for structured output, so rename the tool",
                    agent.name
                )));
            }
            tools.push(CheckedTool {
                validator: self.validator(&agent.name, FINAL_ANSWER_TOOL, schema, || {
                    "the agent's output schema".to_string()
                })?,
                spec: ToolSpec {
                    name: FINAL_ANSWER_TOOL.into(),
                    description: "Give your final answer. Call this exactly once, when you have everything you need, with the answer as the input; it must match the input schema. Do not call other tools in the same turn.".into(),
                    input_schema: schema.clone(),
                },
            });
        }
        Ok(tools)
    }

    /// The compiled `schema` of `agent`'s `tool`, compiled on first use and again when it changes.
    fn validator(
        &self,
        agent: &str,
        tool: &str,
        schema: &Value,
        what: impl FnOnce() -> String,
    ) -> Result<Arc<InputValidator>, HandlerError> {
        let key = format!("{agent}\0{tool}");
        if let Ok(cache) = self.validators.lock()
            && let Some((compiled_from, v)) = cache.get(&key)
            && compiled_from == schema
        {
            return Ok(v.clone());
        }
        let validator = InputValidator::try_new(schema.clone()).map_err(|e| {
            HandlerError::InvalidConfig(format!(
                "{} is not a valid JSON Schema: {e}; fix the agent definition",
                what()
            ))
        })?;
        let validator = Arc::new(validator);
        if let Ok(mut cache) = self.validators.lock() {
            // Bounded: a Lambda serving ever new agents starts over rather than grow.
            if cache.len() >= MAX_CACHED_VALIDATORS {
                cache.clear();
            }
            cache.insert(key, (schema.clone(), validator.clone()));
        }
        Ok(validator)
    }
}

/// The tool calls a reply asks for, not counting the final-answer tool (a final answer is 0).
fn asked_tool_calls(message: &Message) -> u32 {
    message
        .content
        .iter()
        .filter(|b| matches!(b, ContentBlock::ToolUse { name, .. } if name != FINAL_ANSWER_TOOL))
        .count() as u32
}

/// A declared tool and its compiled input schema.
struct CheckedTool {
    spec: ToolSpec,
    validator: Arc<InputValidator>,
}

/// The content the request adds: the tool results (including last turn's rejected calls), then
/// the question.
fn new_user_blocks(request: &LlmRequest) -> Result<Vec<ContentBlock>, HandlerError> {
    let mut blocks: Vec<ContentBlock> = request
        .tool_results
        .iter()
        .cloned()
        .map(ContentBlock::from)
        .collect();
    if let Some(question) = &request.question
        && !question.trim().is_empty()
    {
        blocks.push(ContentBlock::Text {
            text: question.clone(),
            extra: None,
        });
    }
    if blocks.is_empty() {
        return Err(HandlerError::InvalidInput(format!(
            "turn {} of conversation `{}` has neither a question nor tool results; start the execution with {{\"question\": \"...\"}}",
            request.iteration, request.conversation_id
        )));
    }
    Ok(blocks)
}

/// The stored turn this request already produced, if it is a retry. When the request names its
/// execution, a retry is the turn of the same execution and iteration with the same user
/// content. Without one (older callers), a turn answering tool results is recognised anywhere in
/// the conversation (tool-use ids are unique), and a question only as the last turn, so the same
/// question asked again later is asked again.
fn find_stored<'t>(
    turns: &'t [Turn],
    request: &LlmRequest,
    new_blocks: &[ContentBlock],
) -> Option<&'t Turn> {
    let iteration = request.iteration;
    if let Some(execution) = &request.execution {
        // An execution's iterations grow with its turns: the search stops at its first turn of
        // an earlier iteration, so a new turn looks at the last one or two, not the whole history.
        for t in turns.iter().rev() {
            if t.execution.as_ref() != Some(execution) {
                continue;
            }
            if t.iteration < iteration {
                return None;
            }
            if t.iteration == iteration
                && t.messages
                    .first()
                    .is_some_and(|m| m.content.ends_with(new_blocks))
            {
                return Some(t);
            }
        }
        return None;
    }
    let same = |t: &Turn| {
        t.iteration == iteration
            && t.messages
                .first()
                .is_some_and(|m| m.role == Role::User && m.content.ends_with(new_blocks))
    };
    let has_results = new_blocks
        .iter()
        .any(|b| matches!(b, ContentBlock::ToolResult { .. }));
    if has_results {
        turns.iter().rev().find(|t| same(t))
    } else {
        turns.last().filter(|t| same(t))
    }
}

/// Results for the tool calls of the last stored assistant message that the request does not
/// answer: the final-answer call (recorded), or calls the conversation moved on from. Providers
/// refuse a history with an unanswered tool call, so a conversation continued after a structured
/// answer, or after an interrupted execution, must answer them first.
fn answer_pending_calls(turns: &[Turn], new_blocks: &[ContentBlock]) -> Vec<ContentBlock> {
    let Some(last) = turns.last().and_then(|t| t.messages.last()) else {
        return Vec::new();
    };
    if last.role != Role::Assistant {
        return Vec::new();
    }
    let answered: HashSet<&str> = new_blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolResult { tool_use_id, .. } => Some(tool_use_id.as_str()),
            _ => None,
        })
        .collect();
    last.content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, .. } if !answered.contains(id.as_str()) => {
                Some(if name == FINAL_ANSWER_TOOL {
                    ToolResult::ok(id.clone(), "The final answer was recorded.").into()
                } else {
                    ToolResult::error(
                        id.clone(),
                        "This call was not run: the conversation continued without it.",
                    )
                    .into()
                })
            }
            _ => None,
        })
        .collect()
}

/// Validates the reply's tool calls and decides how the turn ends.
///
/// A reply cut off at the token limit ends the turn as `max_tokens`, whatever calls it holds:
/// a call the model was still writing has partial or empty arguments (`finish_reason: "length"`
/// with `arguments: ""`), and even a complete-looking one may be missing the calls that were to
/// follow it. None of them runs; the stored turn keeps them, and a continued conversation answers
/// them as not run.
fn evaluate(reply: &ChatResponse, tools: &[CheckedTool], structured: bool) -> Outcome {
    if reply.stop_reason == StopReason::MaxTokens {
        return Outcome::Turn {
            stop_reason: StopReason::MaxTokens,
            tool_calls: Vec::new(),
            rejected: Vec::new(),
        };
    }
    let calls = reply.message.tool_calls();
    if structured {
        if let Some(final_call) = calls.iter().find(|c| c.name == FINAL_ANSWER_TOOL) {
            let Some(tool) = tools.iter().find(|t| t.spec.name == FINAL_ANSWER_TOOL) else {
                return Outcome::Turn {
                    stop_reason: StopReason::EndTurn,
                    tool_calls: Vec::new(),
                    rejected: Vec::new(),
                };
            };
            return match check_input(tool, &final_call.input) {
                Ok(()) => Outcome::Final(final_call.input.clone()),
                Err(problems) => {
                    let why = format!(
                        "the final answer does not match the output schema: {}",
                        problems.join("; ")
                    );
                    let content: Vec<ContentBlock> = calls
                        .iter()
                        .map(|c| {
                            if c.id == final_call.id {
                                ToolResult::error(c.id.clone(), format!("{why}; call {FINAL_ANSWER_TOOL} again with a corrected answer")).into()
                            } else {
                                ToolResult::error(c.id.clone(), format!("This call was not run: it came with {FINAL_ANSWER_TOOL}. Correct the final answer first.")).into()
                            }
                        })
                        .collect();
                    Outcome::Correct(
                        Message {
                            role: Role::User,
                            content,
                        },
                        why,
                    )
                }
            };
        }
        if calls.is_empty() && reply.stop_reason == StopReason::EndTurn {
            // The model answered in text: accept it if it is valid JSON for the schema.
            let text = reply.message.text();
            let candidate = json_in_text(&text);
            let why = match (
                candidate,
                tools.iter().find(|t| t.spec.name == FINAL_ANSWER_TOOL),
            ) {
                (Some(value), Some(tool)) => match check_input(tool, &value) {
                    Ok(()) => return Outcome::Final(value),
                    Err(problems) => format!(
                        "the final answer does not match the output schema: {}",
                        problems.join("; ")
                    ),
                },
                _ => "the answer was plain text, not a call to the final-answer tool".to_string(),
            };
            let correction = Message::user_text(format!(
                "Your answer was not accepted: {why}. Give your final answer by calling the `{FINAL_ANSWER_TOOL}` tool with input matching its schema."
            ));
            return Outcome::Correct(correction, why);
        }
    }

    let mut tool_calls = Vec::new();
    let mut rejected = Vec::new();
    for call in calls {
        match tools.iter().find(|t| t.spec.name == call.name) {
            None => rejected.push(ToolResult::error(
                call.id.clone(),
                format!(
                    "There is no tool named `{}`. The available tools are: {}. Call one of them by its exact name.",
                    call.name,
                    tools
                        .iter()
                        .map(|t| t.spec.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            Some(tool) => match check_input(tool, &call.input) {
                Ok(()) => tool_calls.push(call),
                Err(problems) => rejected.push(ToolResult::error(
                    call.id.clone(),
                    invalid_input_text(&call.name, &problems, None),
                )),
            },
        }
    }
    let stop_reason = if !tool_calls.is_empty() || !rejected.is_empty() {
        StopReason::ToolUse
    } else if reply.stop_reason == StopReason::ToolUse {
        // "tool_use" with no tool call would loop on nothing: it is an answer.
        StopReason::EndTurn
    } else {
        reply.stop_reason
    };
    Outcome::Turn {
        stop_reason,
        tool_calls,
        rejected,
    }
}

/// Checks a tool input: a JSON object valid against the tool's schema. The problems are worded
/// by the one tool-input validator, as the tool itself would word them.
fn check_input(tool: &CheckedTool, input: &Value) -> Result<(), Vec<String>> {
    if let Value::String(raw) = input {
        if raw.trim().is_empty() {
            return Err(vec![
                "the arguments were empty; send a JSON object (`{}` for a tool without parameters)"
                    .to_string(),
            ]);
        }
        return Err(vec![format!(
            "the arguments were not valid JSON: {}",
            excerpt(raw, 200)
        )]);
    }
    if !input.is_object() {
        return Err(vec![format!(
            "the input must be a JSON object, not {}",
            kind_of(input)
        )]);
    }
    let problems = tool.validator.problems(input);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// The JSON value in a text answer: the whole text, or the body of a fenced code block.
fn json_in_text(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str(trimmed) {
        return Some(v);
    }
    let start = trimmed.find("```")?;
    let body = &trimmed[start + 3..];
    let body = body.strip_prefix("json").unwrap_or(body);
    let end = body.find("```")?;
    serde_json::from_str(body[..end].trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_in_plain_and_fenced_text() {
        assert_eq!(
            json_in_text(" {\"a\": 1} "),
            Some(serde_json::json!({"a": 1}))
        );
        assert_eq!(
            json_in_text("Here:\n```json\n{\"a\": 2}\n```"),
            Some(serde_json::json!({"a": 2}))
        );
        assert_eq!(json_in_text("no json"), None);
    }

    #[test]
    fn excerpts_cut_on_char_boundaries() {
        let s = "é".repeat(300);
        let e = excerpt(&s, 201);
        assert!(e.ends_with("(600 bytes)"));
    }
}
