//! A model that plays a script: for demos and tests without a real model
//! (`sfn-agent run <agent> "<question>" --provider scripted --script FILE`).
//!
//! The script is a JSON file:
//!
//! ```json
//! {
//!   "turns": [
//!     {"text": "Let me check.",
//!      "tool_calls": [{"name": "get_weather", "input": {"city": "Paris"}}],
//!      "usage": {"input_tokens": 120, "output_tokens": 30}},
//!     {"text": "It is 18 °C in Paris."}
//!   ]
//! }
//! ```
//!
//! Each call plays the turn whose index is the number of assistant messages already in the
//! request's history, so a continued conversation continues the script. A turn has optional
//! `text`, optional `tool_calls` (each `name`, `input`, and an optional `id`; ids default to
//! `script_t{turn}_c{call}`, the same on every run), optional `stop_reason` (`end_turn`,
//! `tool_use`, `max_tokens`; by default `tool_use` when the turn has tool calls, else `end_turn`)
//! and optional `usage` (zero by default). Playing past the last turn is an error that says so.

use std::path::{Path, PathBuf};

use agent_builder::{ContentBlock, Message, Provider, Role, StopReason};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::LlmError;
use crate::model::{ChatModel, ChatRequest, ChatResponse};

/// A script: the assistant's turns, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The turns.
    pub turns: Vec<ScriptTurn>,
}

/// One assistant turn of a script.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptTurn {
    /// The text of the reply.
    #[serde(default)]
    pub text: String,
    /// The tool calls of the reply.
    #[serde(default)]
    pub tool_calls: Vec<ScriptToolCall>,
    /// Why the model stopped; derived from the tool calls when absent.
    #[serde(default)]
    pub stop_reason: Option<StopReason>,
    /// The tokens to report.
    #[serde(default)]
    pub usage: ScriptUsage,
}

/// A tool call of a scripted turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptToolCall {
    /// The id; `script_t{turn}_c{call}` when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The tool.
    pub name: String,
    /// Its input.
    #[serde(default = "empty_object")]
    pub input: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Tokens a scripted turn reports.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptUsage {
    /// Tokens read.
    #[serde(default)]
    pub input_tokens: u64,
    /// Tokens written.
    #[serde(default)]
    pub output_tokens: u64,
}

/// Why a script could not be loaded.
///
/// The cause is part of each message and deliberately not chained as a `source()`: a printer
/// that walks the chain (anyhow's `{:#}`) would show it twice.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("could not read the script {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: std::io::Error,
    },
    /// The file is not a script.
    #[error(
        "the script {path} is not valid: {reason}. Expected {{\"turns\": [{{\"text\": …, \"tool_calls\": [{{\"name\": …, \"input\": {{…}}}}]}}]}}"
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: serde_json::Error,
    },
    /// The script has no turns.
    #[error("the script {0} has no turns; add at least one to `turns`")]
    Empty(PathBuf),
}

/// A [`ChatModel`] that plays a [`Script`].
#[derive(Debug, Clone)]
pub struct ScriptedModel {
    script: Script,
    source: String,
    provider: Provider,
}

impl ScriptedModel {
    /// A model playing `script`. It reports itself as `provider` (the agent's provider, so
    /// metrics and stored turns read as they would with the real model).
    pub fn new(script: Script, provider: Provider) -> Self {
        Self {
            script,
            source: "the script".to_string(),
            provider,
        }
    }

    /// A model playing the script in `path`.
    pub fn from_file(path: &Path, provider: Provider) -> Result<Self, ScriptError> {
        let text = std::fs::read_to_string(path).map_err(|reason| ScriptError::Read {
            path: path.to_path_buf(),
            reason,
        })?;
        let script: Script = serde_json::from_str(&text).map_err(|reason| ScriptError::Parse {
            path: path.to_path_buf(),
            reason,
        })?;
        if script.turns.is_empty() {
            return Err(ScriptError::Empty(path.to_path_buf()));
        }
        Ok(Self {
            script,
            source: format!("the script {}", path.display()),
            provider,
        })
    }

    /// The turn a request gets, as a response.
    pub fn play(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let index = request
            .messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count();
        let turn = self
            .script
            .turns
            .get(index)
            .ok_or_else(|| LlmError::Invalid {
                provider: "scripted".to_string(),
                message: format!(
                    "{} has {} turn(s) and this is turn {} of the conversation: the script ran out. Add turns to the script, or start a new conversation",
                    self.source,
                    self.script.turns.len(),
                    index + 1
                ),
            })?;
        let mut content = Vec::new();
        if !turn.text.is_empty() {
            content.push(ContentBlock::Text {
                text: turn.text.clone(),
                extra: None,
            });
        }
        for (position, call) in turn.tool_calls.iter().enumerate() {
            content.push(ContentBlock::ToolUse {
                id: call
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("script_t{}_c{position}", index + 1)),
                name: call.name.clone(),
                input: call.input.clone(),
                extra: None,
            });
        }
        let stop_reason = turn.stop_reason.unwrap_or(if turn.tool_calls.is_empty() {
            StopReason::EndTurn
        } else {
            StopReason::ToolUse
        });
        Ok(ChatResponse {
            message: Message {
                role: Role::Assistant,
                content,
            },
            stop_reason,
            input_tokens: turn.usage.input_tokens,
            output_tokens: turn.usage.output_tokens,
            cache: Default::default(),
            model: request.model.clone(),
        })
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.play(request)
    }

    /// A script's token counts are made up: no price applies to them.
    fn prices_apply(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            system: String::new(),
            messages,
            tools: vec![],
            max_tokens: 100,
            temperature: None,
            cache_ttl: Default::default(),
        }
    }

    fn script() -> Script {
        serde_json::from_value(json!({"turns": [
            {"text": "checking", "tool_calls": [{"name": "calc", "input": {"x": 1}}],
             "usage": {"input_tokens": 10, "output_tokens": 2}},
            {"text": "done"}
        ]}))
        .unwrap_or_else(|e| panic!("script fixture: {e}"))
    }

    #[test]
    fn plays_turns_by_history_and_runs_out_clearly() {
        let model = ScriptedModel::new(script(), Provider::Anthropic);
        let first = model.play(&request(vec![Message::user_text("q")]));
        let Ok(first) = first else {
            panic!("first turn failed: {first:?}")
        };
        assert_eq!(first.stop_reason, StopReason::ToolUse);
        assert_eq!(first.input_tokens, 10);
        let calls = first.message.tool_calls();
        assert_eq!(calls[0].id, "script_t1_c0");
        assert_eq!(calls[0].input, json!({"x": 1}));

        let history = vec![Message::user_text("q"), first.message.clone()];
        let second = model.play(&request(history.clone()));
        assert!(
            matches!(&second, Ok(r) if r.message.text() == "done" && r.stop_reason == StopReason::EndTurn)
        );

        let mut longer = history;
        longer.push(Message::user_text("more"));
        longer.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::text("x")],
        });
        let past = model.play(&request(longer));
        let Err(past) = past else {
            panic!("played past the end: {past:?}")
        };
        let text = past.to_string();
        assert_eq!(past.error_name(), agent_builder::errors::LLM_BAD_REQUEST);
        assert!(
            text.contains("has 2 turn(s) and this is turn 3 of the conversation")
                && text.contains("Add turns to the script, or start a new conversation"),
            "{text}"
        );
        assert!(
            !text.contains("HTTP") && !text.contains("model id"),
            "{text}"
        );
    }

    #[test]
    fn load_errors_say_their_cause_once() {
        use std::error::Error as _;
        let missing = std::env::temp_dir().join("sfn-agent-no-such-script.json");
        let Err(e) = ScriptedModel::from_file(&missing, Provider::Anthropic) else {
            panic!("a missing script loaded")
        };
        // No chained source: the message already holds the cause.
        assert!(e.source().is_none(), "{e}");
        let text = e.to_string();
        assert_eq!(text.matches("os error").count(), 1, "{text}");
        let bad =
            std::env::temp_dir().join(format!("sfn-agent-bad-script-{}.json", std::process::id()));
        std::fs::write(&bad, "{\"turns\": 5}").unwrap_or_else(|e| panic!("write: {e}"));
        let parsed = ScriptedModel::from_file(&bad, Provider::Anthropic);
        let _ = std::fs::remove_file(&bad);
        let Err(e) = parsed else {
            panic!("a bad script loaded")
        };
        assert!(e.source().is_none(), "{e}");
        assert_eq!(e.to_string().matches("invalid type").count(), 1, "{e}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let bad = serde_json::from_value::<Script>(json!({"turns": [{"txt": "typo"}]}));
        assert!(bad.is_err());
    }
}
