//! The local conversation store: one JSON file per conversation, for `sfn-agent run`.
//!
//! Writes are atomic (a temporary file renamed over the old one) and conflict-checked like the
//! DynamoDB store: appending a turn number that is already stored fails with
//! [`StoreError::Conflict`]. Writers in one process are serialised by a lock; separate processes
//! writing one conversation at the same instant are not (a local run is one process).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{ConversationStore, StoreError, Turn};

/// The directory used when none is given, relative to the working directory.
pub const DEFAULT_DIR: &str = ".sfn-agent/conversations";

/// Conversations as JSON files under a directory.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

#[derive(Serialize, Deserialize)]
struct ConversationFile {
    conversation_id: String,
    turns: Vec<Turn>,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    /// A store under `dir`, created on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A store under `.sfn-agent/conversations/` in the working directory.
    pub fn default_dir() -> Self {
        Self::new(DEFAULT_DIR)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a conversation. Characters other than letters, digits, `-`, `_` and `.` are
    /// percent-encoded, so any conversation id maps to one file inside the directory.
    pub fn path_of(&self, conversation_id: &str) -> PathBuf {
        let mut name = String::with_capacity(conversation_id.len() + 5);
        for b in conversation_id.bytes() {
            if b.is_ascii_alphanumeric()
                || b == b'-'
                || b == b'_'
                || (b == b'.' && !name.is_empty())
            {
                name.push(b as char);
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push_str(".json");
        self.dir.join(name)
    }

    fn failed(
        conversation_id: &str,
        path: &Path,
        what: &str,
        e: impl std::fmt::Display,
    ) -> StoreError {
        StoreError::Failed {
            conversation_id: conversation_id.to_string(),
            message: format!("{what} `{}`: {e}", path.display()),
        }
    }

    fn read(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        let path = self.path_of(conversation_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::failed(conversation_id, &path, "reading", e)),
        };
        let file: ConversationFile = serde_json::from_str(&text).map_err(|e| {
            Self::failed(
                conversation_id,
                &path,
                "parsing (fix or delete the file)",
                e,
            )
        })?;
        let mut turns = file.turns;
        turns.sort_by_key(|t| t.turn);
        Ok(turns)
    }
}

#[async_trait::async_trait]
impl ConversationStore for LocalStore {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        let _guard = self.lock.lock().await;
        self.read(conversation_id)
    }

    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        let _guard = self.lock.lock().await;
        let mut turns = self.read(conversation_id)?;
        if turns.iter().any(|t| t.turn == turn.turn) {
            return Err(StoreError::Conflict {
                conversation_id: conversation_id.to_string(),
                turn: turn.turn,
            });
        }
        turns.push(turn.clone());
        let path = self.path_of(conversation_id);
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Self::failed(conversation_id, &self.dir, "creating the directory", e))?;
        let file = ConversationFile {
            conversation_id: conversation_id.to_string(),
            turns,
        };
        let json = serde_json::to_vec_pretty(&file)
            .map_err(|e| Self::failed(conversation_id, &path, "encoding", e))?;
        let temp = path.with_extension(format!(
            "json.tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&temp, json)
            .map_err(|e| Self::failed(conversation_id, &temp, "writing", e))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Self::failed(conversation_id, &path, "replacing", e)
        })
    }
}
