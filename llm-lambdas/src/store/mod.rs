//! The conversation store: where the history of a conversation lives between LLM calls.
//!
//! History travels by reference: the state machine carries only the conversation id and the
//! iteration, and the LLM Lambda loads the turns from here, appends its own, and returns. A turn
//! is written with a conditional write, so two executions writing the same conversation at once
//! never lose a turn: the loser gets [`StoreError::Conflict`] (`Conversation.Conflict`, which the
//! ASL retries after which the handler reloads the history).

mod cached;
mod dynamo;
mod local;
mod memory;

pub use cached::{CACHE_BYTES_ENV, CachedStore, DEFAULT_MAX_BYTES};
pub use dynamo::{DynamoStore, MAX_ITEM_BYTES, WARM_UP_WAIT};
pub use local::LocalStore;
pub use memory::MemoryStore;

use agent_builder::{ContentBlock, LlmResponse, Message, Provider, errors};
use serde::{Deserialize, Serialize};

/// One turn of a conversation: the user message (question or tool results), the assistant's
/// reply, and, when a structured answer had to be corrected, the correction round trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// The turn's position in the conversation, from 1; the store's sort key.
    pub turn: u32,
    /// The iteration of the execution that wrote it; with the user message, it recognises a
    /// Lambda retry of a turn that was already stored.
    pub iteration: u32,
    /// The execution that wrote it, when the request said; with `iteration`, it recognises a
    /// Lambda retry exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// The provider that answered (a conversation may switch provider between turns).
    pub provider: Provider,
    /// The model id that answered.
    pub model: String,
    /// The turn's messages, oldest first: user, assistant (, user, assistant).
    pub messages: Vec<Message>,
    /// What the handler returned for this turn, replayed as is when the turn is retried.
    /// Absent from the JSON when the store keeps it apart ([`StoredResponse::Apart`]).
    #[serde(default, skip_serializing_if = "StoredResponse::is_apart")]
    pub response: StoredResponse,
}

/// A turn's [`LlmResponse`] as a store holds it. It is needed only when the turn is replayed
/// (a Lambda retry), and it repeats the turn's text and tool calls: about a quarter of a
/// turn's bytes. So a load never builds it: read back from a file it stays its JSON text, and
/// DynamoDB keeps it in an attribute of its own that the history's `Query` does not read
/// ([`ConversationStore::load_response`] reads it for a replay).
#[derive(Debug, Clone, Default)]
pub enum StoredResponse {
    /// Built by the handler for a new turn.
    Parsed(LlmResponse),
    /// Read from a store, not yet parsed.
    Json(Box<serde_json::value::RawValue>),
    /// Kept by the store apart from the turn, and not loaded with it.
    #[default]
    Apart,
}

impl StoredResponse {
    /// The response, parsed when it was read from a store; an error when the store keeps it
    /// apart (ask [`ConversationStore::load_response`]).
    pub fn parse(&self) -> Result<LlmResponse, serde_json::Error> {
        match self {
            StoredResponse::Parsed(response) => Ok(response.clone()),
            StoredResponse::Json(json) => serde_json::from_str(json.get()),
            StoredResponse::Apart => Err(serde::de::Error::custom(
                "the turn was loaded without its response, which its store keeps apart",
            )),
        }
    }

    /// Whether the store keeps the response apart from the turn.
    pub fn is_apart(&self) -> bool {
        matches!(self, StoredResponse::Apart)
    }
}

impl From<LlmResponse> for StoredResponse {
    fn from(response: LlmResponse) -> Self {
        StoredResponse::Parsed(response)
    }
}

/// Equal when the responses are: a turn read back equals the turn that was written.
impl PartialEq for StoredResponse {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StoredResponse::Json(a), StoredResponse::Json(b)) if a.get() == b.get() => true,
            (StoredResponse::Apart, StoredResponse::Apart) => true,
            _ => matches!((self.parse(), other.parse()), (Ok(a), Ok(b)) if a == b),
        }
    }
}

impl Serialize for StoredResponse {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StoredResponse::Parsed(response) => response.serialize(serializer),
            StoredResponse::Json(json) => json.serialize(serializer),
            // Skipped by `Turn`; alone, it is as absent as JSON can say.
            StoredResponse::Apart => serializer.serialize_none(),
        }
    }
}

/// Kept as text, unless the text spans lines (a pretty-printed document, like the local store's
/// older files): written back as is, it would break a JSON Lines file, so it is parsed (and
/// written compact).
impl<'de> Deserialize<'de> for StoredResponse {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        if json.get().contains(['\n', '\r']) {
            return serde_json::from_str(json.get())
                .map(StoredResponse::Parsed)
                .map_err(serde::de::Error::custom);
        }
        Ok(StoredResponse::Json(json))
    }
}

impl Turn {
    /// About how many bytes the turn holds in memory: its strings and JSON values, plus a fixed
    /// overhead per message, block and value. What [`CachedStore`] counts against its budget.
    pub fn approx_bytes(&self) -> usize {
        let blocks: usize = self
            .messages
            .iter()
            .flat_map(|m| &m.content)
            .map(|b| {
                OVERHEAD
                    + match b {
                        ContentBlock::Text { text, extra } => text.len() + extra_bytes(extra),
                        ContentBlock::ToolUse {
                            id,
                            name,
                            input,
                            extra,
                        } => id.len() + name.len() + value_bytes(input) + extra_bytes(extra),
                        ContentBlock::ToolResult {
                            tool_use_id,
                            content,
                            ..
                        } => tool_use_id.len() + content.len(),
                    }
            })
            .sum();
        std::mem::size_of::<Turn>()
            + OVERHEAD * self.messages.len()
            + blocks
            + self.model.len()
            + self.execution.as_ref().map_or(0, String::len)
            + self.response.approx_bytes()
    }
}

impl StoredResponse {
    /// About how many bytes the response holds in memory (its text when not parsed).
    fn approx_bytes(&self) -> usize {
        let r = match self {
            StoredResponse::Parsed(r) => r,
            StoredResponse::Json(json) => return json.get().len(),
            StoredResponse::Apart => return 0,
        };
        let calls: usize = r
            .tool_calls
            .iter()
            .map(|c| OVERHEAD + c.id.len() + c.name.len() + value_bytes(&c.input))
            .sum();
        let rejected: usize = r
            .rejected
            .iter()
            .map(|t| OVERHEAD + t.tool_use_id.len() + t.content.len())
            .sum();
        r.conversation_id.len()
            + r.text.len()
            + calls
            + rejected
            + r.structured.as_ref().map_or(0, value_bytes)
    }
}

/// What [`Turn::approx_bytes`] counts for each message, block and call beside its strings.
const OVERHEAD: usize = 64;

/// The bytes of what a provider keeps on a block (a thought signature, reasoning items: up to
/// 128 KiB a turn), so the cache's budget counts them.
fn extra_bytes(extra: &Option<agent_builder::ProviderExtra>) -> usize {
    extra.as_ref().map_or(0, |e| {
        e.model.len()
            + e.thought_signature.as_ref().map_or(0, String::len)
            + e.reasoning.iter().map(value_bytes).sum::<usize>()
    })
}

/// About how many bytes a JSON value holds in memory.
fn value_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    const NODE: usize = 32;
    NODE + match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(value_bytes).sum(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| k.len() + NODE + value_bytes(v))
            .sum(),
        _ => 0,
    }
}

/// A failure of the conversation store.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Another writer stored this turn first.
    #[error(
        "conversation `{conversation_id}` already has a turn {turn}: another execution wrote it at the same time; retry, which reloads the history"
    )]
    Conflict {
        /// The conversation.
        conversation_id: String,
        /// The turn number both writers wanted.
        turn: u32,
    },
    /// The store could not be read or written.
    #[error("the conversation store failed for `{conversation_id}`: {message}")]
    Failed {
        /// The conversation.
        conversation_id: String,
        /// What went wrong and what to check.
        message: String,
    },
}

impl StoreError {
    /// The error name the state machine matches.
    pub fn error_name(&self) -> &'static str {
        match self {
            StoreError::Conflict { .. } => errors::CONVERSATION_CONFLICT,
            StoreError::Failed { .. } => errors::CONVERSATION_STORE_FAILED,
        }
    }
}

/// Where conversations are kept.
#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync {
    /// Every stored turn of a conversation, in turn order; empty for a new conversation.
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError>;

    /// The stored turns numbered above `after`, in turn order. Stores that can select by key
    /// (DynamoDB) read only those; the default loads everything and filters.
    async fn load_after(&self, conversation_id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        let mut turns = self.load(conversation_id).await?;
        turns.retain(|t| t.turn > after);
        Ok(turns)
    }

    /// The response stored with `turn` (one [`load`](Self::load) returned), to replay it for a
    /// Lambda retry. A store that keeps responses apart from the turns it loads
    /// ([`DynamoStore`]) reads it now; the default parses the one the turn holds.
    async fn load_response(
        &self,
        conversation_id: &str,
        turn: &Turn,
    ) -> Result<LlmResponse, StoreError> {
        parse_response(conversation_id, turn)
    }

    /// Stores a turn, unless the conversation already has one with that number, in which case it
    /// fails with [`StoreError::Conflict`] and stores nothing.
    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError>;

    /// Gives back the turns [`load`](Self::load) returned, unchanged, once the caller is done
    /// with them: a caching store ([`CachedStore`]) keeps them for the next load, moved rather
    /// than copied; the others drop them.
    fn release(&self, conversation_id: &str, turns: Vec<Turn>) {
        let _ = (conversation_id, turns);
    }
}

/// The response a turn holds (parsed, or its JSON text), for [`ConversationStore::load_response`]:
/// what every store does when the turn was loaded with it.
fn parse_response(conversation_id: &str, turn: &Turn) -> Result<LlmResponse, StoreError> {
    turn.response.parse().map_err(|e| StoreError::Failed {
        conversation_id: conversation_id.to_string(),
        message: format!(
            "turn {} is stored with a response that is not a valid response: {e}",
            turn.turn
        ),
    })
}

/// Shortens the biggest tool results of `messages` until `excess` bytes of content are gone,
/// marking each shortened one with `[truncated: N bytes]`. Returns how many bytes were removed.
/// Text and tool calls are never touched: only tool results can grow without bound (a tool may
/// return a whole web page), and the model can ask again for less.
pub fn truncate_tool_results(messages: &mut [Message], excess: usize) -> usize {
    let mut removed = 0usize;
    while removed < excess {
        let Some(content) = largest_tool_result(messages) else {
            break;
        };
        let len = content.len();
        // Leave room for the marker; never shrink a result below a useful prefix.
        let marker_room = 40;
        let still_needed = excess - removed;
        let keep_target = len.saturating_sub(still_needed + marker_room);
        let keep = floor_char_boundary(content, keep_target);
        if keep >= len.saturating_sub(marker_room) {
            break;
        }
        let cut = len - keep;
        let mut shortened = content[..keep].to_string();
        shortened.push_str(&format!("\n[truncated: {cut} bytes]"));
        let saved = len.saturating_sub(shortened.len());
        *content = shortened;
        if saved == 0 {
            break;
        }
        removed += saved;
    }
    removed
}

fn largest_tool_result(messages: &mut [Message]) -> Option<&mut String> {
    messages
        .iter_mut()
        .flat_map(|m| m.content.iter_mut())
        .filter_map(|b| match b {
            ContentBlock::ToolResult { content, .. } if !content.ends_with(" bytes]") => {
                Some(content)
            }
            _ => None,
        })
        .max_by_key(|c| c.len())
}

fn floor_char_boundary(s: &str, mut index: usize) -> usize {
    if index >= s.len() {
        return s.len();
    }
    while index > 0 && !s.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_builder::ToolResult;

    #[test]
    fn truncates_the_largest_result_and_marks_it() {
        let big = "é".repeat(10_000); // 20,000 bytes, two bytes per char
        let mut messages = vec![Message::tool_results(&[
            ToolResult::ok("a", "small"),
            ToolResult::ok("b", big),
        ])];
        let removed = truncate_tool_results(&mut messages, 5_000);
        assert!(removed >= 5_000);
        let ContentBlock::ToolResult { content, .. } = &messages[0].content[1] else {
            panic!("not a tool result");
        };
        assert!(content.ends_with(" bytes]"), "{content}");
        assert!(content.contains("[truncated: "));
        assert!(content.len() <= 15_000);
        let ContentBlock::ToolResult { content, .. } = &messages[0].content[0] else {
            panic!("not a tool result");
        };
        assert_eq!(content, "small");
    }

    #[test]
    fn nothing_to_truncate_removes_nothing() {
        let mut messages = vec![Message::user_text("hello")];
        assert_eq!(truncate_tool_results(&mut messages, 100), 0);
    }
}
