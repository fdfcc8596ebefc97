//! A warm Lambda's memory of the conversations it has loaded, bounded in bytes.
//!
//! Stored turns never change (each is written once, conditionally), so turns loaded once stay
//! true; the next load of the same conversation only asks the store for the turns after the
//! last one it knows ([`ConversationStore::load_after`]: a DynamoDB `Query` with
//! `turn > :last`). A Lambda serving the successive turns of an execution then reads one item
//! per call instead of the whole history.
//!
//! **No copies.** [`load`](ConversationStore::load) hands the cached turns over to the caller
//! (moved out of the cache, with the newer ones appended), and
//! [`release`](ConversationStore::release) takes them back when the caller is done: the history
//! a warm Lambda holds is never copied. A load whose turns are not released (a failed call)
//! only costs the next load a full read.
//!
//! **Bounded in bytes.** The cache keeps at most [`CACHE_BYTES_ENV`] bytes of turns (default
//! [`DEFAULT_MAX_BYTES`], 512 KiB), measured by [`Turn::approx_bytes`]; past it, the conversations
//! used least recently are forgotten first, and a conversation bigger than the whole budget is
//! not kept at all.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{ConversationStore, StoreError, Turn};

/// The environment variable with the cache's budget in bytes (a whole number; 0 keeps nothing).
pub const CACHE_BYTES_ENV: &str = "CONVERSATION_CACHE_BYTES";

/// The cache's budget when [`CACHE_BYTES_ENV`] is not set: 512 KiB of turns (by
/// [`Turn::approx_bytes`]), about three conversations of 100 tool turns, enough for a Lambda
/// instance, which serves one invocation at a time. Measured with `benches/runtime_api.rs`: the
/// LLM Lambda stays at about 15 MiB after 400 invocations of 100-turn conversations (14.4 MiB
/// without a cache, 16.6 with 1 MiB, 24 with 4 MiB). A conversation over the budget is not
/// cached (each call reads it whole); raise the budget for long conversations.
pub const DEFAULT_MAX_BYTES: usize = 512 * 1024;

/// A store that remembers the turns it loaded from another store, up to a budget in bytes.
#[derive(Debug)]
pub struct CachedStore<S> {
    inner: S,
    max_bytes: usize,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    /// The number and bytes of the turns lent out by `load`, by conversation, until released.
    lent: HashMap<String, (usize, usize)>,
    /// The sum of the entries' bytes.
    bytes: usize,
    /// A counter ordering the entries by last use.
    clock: u64,
}

#[derive(Debug)]
struct Entry {
    turns: Vec<Turn>,
    bytes: usize,
    used: u64,
}

impl Cache {
    fn take(&mut self, conversation_id: &str) -> Option<Entry> {
        let entry = self.entries.remove(conversation_id)?;
        self.bytes -= entry.bytes;
        Some(entry)
    }

    /// Keeps `turns` unless they exceed the budget, then forgets the least recently used
    /// conversations until the total fits. Returns what it did not keep, for [`drop_later`].
    #[must_use]
    fn keep(
        &mut self,
        conversation_id: &str,
        turns: Vec<Turn>,
        bytes: usize,
        max_bytes: usize,
    ) -> Vec<Vec<Turn>> {
        if bytes > max_bytes || turns.is_empty() {
            return vec![turns];
        }
        if let Some(held) = self.entries.get(conversation_id)
            && held.turns.len() >= turns.len()
        {
            // Another call released as much or more of this conversation meanwhile.
            return vec![turns];
        }
        let mut forgotten: Vec<Vec<Turn>> = self
            .take(conversation_id)
            .into_iter()
            .map(|e| e.turns)
            .collect();
        self.clock += 1;
        self.bytes += bytes;
        self.entries.insert(
            conversation_id.to_string(),
            Entry {
                turns,
                bytes,
                used: self.clock,
            },
        );
        while self.bytes > max_bytes {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(id, _)| id.clone())
            else {
                break;
            };
            forgotten.extend(self.take(&oldest).map(|e| e.turns));
        }
        forgotten
    }
}

/// Frees forgotten turns after the call that forgot them, not during it: freeing a 100-turn
/// conversation (thousands of small allocations) took about 3% of a cold Lambda invocation.
/// In a tokio runtime it is a task, which a Lambda's one-thread runtime runs once the handler
/// has returned and the runtime waits on the network (posting the response, polling for the
/// next event); outside one it is done at once.
fn drop_later(forgotten: Vec<Vec<Turn>>) {
    if forgotten.iter().all(Vec::is_empty) {
        return;
    }
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn(async move { drop(forgotten) })),
        Err(_) => drop(forgotten),
    }
}

impl<S: ConversationStore> CachedStore<S> {
    /// Remembers up to [`DEFAULT_MAX_BYTES`] of `inner`'s turns.
    pub fn new(inner: S) -> Self {
        Self::with_max_bytes(inner, DEFAULT_MAX_BYTES)
    }

    /// Remembers every turn loaded, with no budget: for a process running its own conversations
    /// (`sfn-agent run`), where a budget only costs time. A conversation over a budget is not
    /// kept, so each of its turns would read and parse the whole file again: past about 400
    /// tool turns with the Lambda's default of 512 KiB, a local run's time per iteration grew
    /// with the conversation.
    pub fn unbounded(inner: S) -> Self {
        Self::with_max_bytes(inner, usize::MAX)
    }

    /// Remembers up to `max_bytes` of turns (by [`Turn::approx_bytes`]); 0 remembers nothing.
    pub fn with_max_bytes(inner: S, max_bytes: usize) -> Self {
        Self {
            inner,
            max_bytes,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Remembers up to [`CACHE_BYTES_ENV`] bytes of turns, [`DEFAULT_MAX_BYTES`] when unset; a
    /// value that is not a whole number is an error naming the variable.
    pub fn from_env(inner: S) -> Result<Self, StoreError> {
        let max_bytes = match std::env::var(CACHE_BYTES_ENV) {
            Ok(v) => v.trim().parse::<usize>().map_err(|_| StoreError::Failed {
                conversation_id: String::new(),
                message: format!(
                    "{CACHE_BYTES_ENV} is `{v}`, not a whole number of bytes; set it to e.g. {DEFAULT_MAX_BYTES} (0 keeps no conversation in memory)"
                ),
            })?,
            Err(_) => DEFAULT_MAX_BYTES,
        };
        Ok(Self::with_max_bytes(inner, max_bytes))
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The budget in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The bytes of turns held now (not counting turns lent out by `load`).
    pub fn held_bytes(&self) -> usize {
        self.cache.lock().map_or(0, |c| c.bytes)
    }
}

#[async_trait::async_trait]
impl<S: ConversationStore> ConversationStore for CachedStore<S> {
    /// The cached turns, moved out of the cache, followed by the newer ones read from the store;
    /// give them back with [`release`](ConversationStore::release).
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        let known = self
            .cache
            .lock()
            .ok()
            .and_then(|mut c| c.take(conversation_id));
        let (mut turns, mut bytes) = known.map_or((Vec::new(), 0), |e| (e.turns, e.bytes));
        let after = turns.last().map_or(0, |t| t.turn);
        let newer = match self.inner.load_after(conversation_id, after).await {
            Ok(newer) => newer,
            Err(e) => {
                // What was cached is still true: keep it for the next load.
                if let Ok(mut c) = self.cache.lock() {
                    let forgotten = c.keep(conversation_id, turns, bytes, self.max_bytes);
                    drop(c);
                    drop_later(forgotten);
                }
                return Err(e);
            }
        };
        bytes += newer.iter().map(Turn::approx_bytes).sum::<usize>();
        turns.extend(newer);
        if let Ok(mut c) = self.cache.lock() {
            c.lent
                .insert(conversation_id.to_string(), (turns.len(), bytes));
        }
        Ok(turns)
    }

    /// Takes back the turns `load` lent, to serve the next load without reading them again.
    fn release(&self, conversation_id: &str, turns: Vec<Turn>) {
        let Ok(mut c) = self.cache.lock() else {
            return;
        };
        let bytes = match c.lent.remove(conversation_id) {
            Some((count, bytes)) if count == turns.len() => bytes,
            _ => turns.iter().map(Turn::approx_bytes).sum(),
        };
        let forgotten = c.keep(conversation_id, turns, bytes, self.max_bytes);
        drop(c);
        drop_later(forgotten);
    }

    /// Read from the inner store, which may keep responses apart.
    async fn load_response(
        &self,
        conversation_id: &str,
        turn: &Turn,
    ) -> Result<agent_builder::LlmResponse, StoreError> {
        self.inner.load_response(conversation_id, turn).await
    }

    /// Writes through; the turn is remembered when it is next loaded back, so the cache holds
    /// exactly what the store holds (a truncated tool result included).
    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        self.inner.append(conversation_id, turn).await
    }
}
