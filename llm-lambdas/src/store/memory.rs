//! A conversation store in memory: for tests, the bench, and runs that keep nothing.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ConversationStore, StoreError, Turn};

/// Conversations in a map, lost with the process; conflict-checked like the others.
#[derive(Debug, Default)]
pub struct MemoryStore {
    conversations: Mutex<HashMap<String, Vec<Turn>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn poisoned(conversation_id: &str) -> StoreError {
        StoreError::Failed {
            conversation_id: conversation_id.to_string(),
            message: "the in-memory store's lock was poisoned by a panic".into(),
        }
    }
}

#[async_trait::async_trait]
impl ConversationStore for MemoryStore {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        let map = self
            .conversations
            .lock()
            .map_err(|_| Self::poisoned(conversation_id))?;
        Ok(map.get(conversation_id).cloned().unwrap_or_default())
    }

    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        let mut map = self
            .conversations
            .lock()
            .map_err(|_| Self::poisoned(conversation_id))?;
        let turns = map.entry(conversation_id.to_string()).or_default();
        if turns.iter().any(|t| t.turn == turn.turn) {
            return Err(StoreError::Conflict {
                conversation_id: conversation_id.to_string(),
                turn: turn.turn,
            });
        }
        turns.push(turn.clone());
        turns.sort_by_key(|t| t.turn);
        Ok(())
    }
}
