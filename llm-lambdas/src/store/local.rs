//! The local conversation store: one JSON file per conversation, for `sfn-agent run`.
//!
//! Writes are atomic (a temporary file renamed over the old one) and conflict-checked like the
//! DynamoDB store: appending a turn number that is already stored fails with
//! [`StoreError::Conflict`]. Every write holds an exclusive OS lock (`flock`, `LockFileEx`) on a
//! lock file next to the conversation's (`<name>.json.lock`), and re-reads the file inside it,
//! so writers in separate processes (several `sfn-agent run --conversation X` at once) or
//! separate store instances never lose each other's turns. The OS releases the lock when its
//! holder exits, even by a crash, so there is no stale lock to clean up; the lock file stays.
//! Reads take no lock: the rename makes every read see a whole file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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

/// How long a write waits for another writer's lock before failing: a write holds it for
/// milliseconds, so this is only reached when something is badly stuck.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The pause between two tries of a held lock.
const LOCK_RETRY: Duration = Duration::from_millis(2);

/// An exclusive lock on a conversation's lock file, released when dropped (the file is closed).
struct WriteLock {
    _file: std::fs::File,
}

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

    /// The lock file of a conversation, next to its file.
    pub fn lock_path_of(&self, conversation_id: &str) -> PathBuf {
        self.path_of(conversation_id).with_extension("json.lock")
    }

    /// Takes the conversation's cross-process write lock, waiting up to [`LOCK_WAIT`].
    async fn lock(&self, conversation_id: &str) -> Result<WriteLock, StoreError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Self::failed(conversation_id, &self.dir, "creating the directory", e))?;
        let path = self.lock_path_of(conversation_id);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Self::failed(conversation_id, &path, "opening the lock file", e))?;
        let started = Instant::now();
        loop {
            // Fully qualified: `std::fs::File::try_lock` is newer than the crate's MSRV.
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(WriteLock { _file: file }),
                Err(fs4::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(LOCK_RETRY).await;
                }
                Err(fs4::TryLockError::WouldBlock) => {
                    return Err(Self::failed(
                        conversation_id,
                        &path,
                        &format!(
                            "another process has held the write lock for {} s on",
                            LOCK_WAIT.as_secs()
                        ),
                        "stop the other `sfn-agent` writing this conversation, then retry",
                    ));
                }
                Err(fs4::TryLockError::Error(e)) => {
                    return Err(Self::failed(conversation_id, &path, "locking", e));
                }
            }
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
        // No lock: files are replaced by rename, so a read always sees a whole file.
        self.read(conversation_id)
    }

    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        // The in-process lock keeps this process's writers from polling the OS lock; the OS lock
        // excludes other processes and other store instances.
        let _guard = self.lock.lock().await;
        let _file_lock = self.lock(conversation_id).await?;
        // Re-read inside the lock: the number check sees every turn written before.
        let mut turns = self.read(conversation_id)?;
        if turns.iter().any(|t| t.turn == turn.turn) {
            return Err(StoreError::Conflict {
                conversation_id: conversation_id.to_string(),
                turn: turn.turn,
            });
        }
        turns.push(turn.clone());
        let path = self.path_of(conversation_id);
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
