//! A warm Lambda's memory of the conversations it has loaded.
//!
//! Stored turns never change (each is written once, conditionally), so turns loaded once stay
//! true; the next load of the same conversation only asks the store for the turns after the
//! last one it knows ([`ConversationStore::load_after`]). A Lambda serving the successive turns
//! of an execution then reads one item per call instead of the whole history.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{ConversationStore, StoreError, Turn};

/// How many conversations a [`CachedStore`] remembers when not told otherwise.
pub const DEFAULT_CAPACITY: usize = 64;

/// A store that remembers the turns it loaded from another store.
#[derive(Debug)]
pub struct CachedStore<S> {
    inner: S,
    capacity: usize,
    turns: Mutex<HashMap<String, Arc<Vec<Turn>>>>,
}

impl<S: ConversationStore> CachedStore<S> {
    /// Remembers up to `DEFAULT_CAPACITY` (64) conversations of `inner`.
    pub fn new(inner: S) -> Self {
        Self::with_capacity(inner, DEFAULT_CAPACITY)
    }

    /// Remembers up to `capacity` conversations; when full, it forgets them all and starts over
    /// (a warm Lambda mostly serves one execution at a time).
    pub fn with_capacity(inner: S, capacity: usize) -> Self {
        Self {
            inner,
            capacity: capacity.max(1),
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

#[async_trait::async_trait]
impl<S: ConversationStore> ConversationStore for CachedStore<S> {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        let known = self
            .turns
            .lock()
            .ok()
            .and_then(|m| m.get(conversation_id).cloned());
        let after = known.as_ref().and_then(|t| t.last()).map_or(0, |t| t.turn);
        let newer = self.inner.load_after(conversation_id, after).await?;
        if newer.is_empty()
            && let Some(known) = known
        {
            return Ok(known.as_ref().clone());
        }
        let mut turns = known.map(|k| k.as_ref().clone()).unwrap_or_default();
        turns.extend(newer);
        if let Ok(mut map) = self.turns.lock() {
            if map.len() >= self.capacity && !map.contains_key(conversation_id) {
                map.clear();
            }
            map.insert(conversation_id.to_string(), Arc::new(turns.clone()));
        }
        Ok(turns)
    }

    /// Writes through; the turn is remembered when it is next loaded back, so the cache holds
    /// exactly what the store holds (a truncated tool result included).
    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        self.inner.append(conversation_id, turn).await
    }
}
