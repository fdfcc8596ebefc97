//! The local conversation store: one append-only JSON Lines file per conversation, for
//! `sfn-agent run`.
//!
//! **Format** (`<name>.jsonl`): one line per turn, each a [`Turn`] as one JSON object, in turn
//! order, each ending with `\n`. A turn is stored by appending its line, so storing costs the
//! same at turn 1,000 as at turn 1, and a store remembers how far it has read each file, so
//! [`ConversationStore::load_after`] parses only the lines added since.
//!
//! **A torn last line.** A line counts only once its `\n` is written. A crash in the middle of a
//! write leaves a last line without one: reads ignore it (that turn was never stored, and the
//! Lambda-style retry stores it again), and the next write cuts it off before appending. A
//! complete line that is not a turn is an error naming the file and the line: the file was
//! edited or damaged, and is left for a person to fix.
//!
//! **Sizes** are capped: a file over [`MAX_FILE_BYTES`] or a line over [`MAX_LINE_BYTES`] is an
//! error naming the file, not an unbounded read.
//!
//! **Writers** are conflict-checked like the DynamoDB store: a turn number is only appended after
//! the last one stored, so appending a number already taken fails with [`StoreError::Conflict`].
//! Every write holds an exclusive OS lock (`flock`, `LockFileEx`) on a lock file next to the
//! conversation's (`<name>.jsonl.lock`) and reads the lines added by others inside it, so writers
//! in separate processes (several `sfn-agent run --conversation X` at once) or separate store
//! instances never lose each other's turns. The OS releases the lock when its holder exits, even
//! by a crash, so there is no stale lock to clean up; the lock file stays. Reads take no lock:
//! a line being written is not yet complete, so it is not read.
//!
//! **The older format** (before the append-only files): one `<name>.json` holding
//! `{"conversation_id": …, "turns": [...]}`, rewritten on every turn. Such a file is still read
//! when no `.jsonl` file exists; the first write converts it (the `.jsonl` file written whole,
//! then the `.json` file removed).

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{ConversationStore, StoreError, Turn};

/// The directory used when none is given, relative to the working directory.
pub const DEFAULT_DIR: &str = ".sfn-agent/conversations";

/// The largest conversation file read: beyond it, loading fails naming the file.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The largest line (one turn) read or written.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Conversations as JSON Lines files under a directory.
#[derive(Debug)]
pub struct LocalStore {
    dir: PathBuf,
    lock: tokio::sync::Mutex<()>,
    /// The lines of each conversation's file read so far: each one's turn number and the byte
    /// offset after it, in file order. A load after turn N starts reading after N's line.
    index: Mutex<HashMap<String, Vec<ReadMark>>>,
    /// The lines parsed into turns so far, all conversations together ([`Self::lines_parsed`]).
    parsed: AtomicU64,
}

/// A line read: its turn and the offset after it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ReadMark {
    turn: u32,
    end: u64,
}

/// The older whole-file format, read for files written before the JSON Lines files.
#[derive(Deserialize)]
struct OldConversationFile {
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

/// The complete lines read from a file from some offset on.
struct Lines {
    turns: Vec<Turn>,
    /// The offset after each turn's line.
    ends: Vec<u64>,
    /// The offset the lines were read from.
    start: u64,
    /// Whether an incomplete (torn) line follows `end`.
    torn: bool,
}

impl LocalStore {
    /// A store under `dir`, created on the first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            lock: tokio::sync::Mutex::new(()),
            index: Mutex::new(HashMap::new()),
            parsed: AtomicU64::new(0),
        }
    }

    /// How many lines (turns) this store has parsed since it was made, every read counted: the
    /// work its loads cost, which a test can check stays one line per turn of a run instead of
    /// growing with the conversation.
    pub fn lines_parsed(&self) -> u64 {
        self.parsed.load(Ordering::Relaxed)
    }

    /// A store under `.sfn-agent/conversations/` in the working directory.
    pub fn default_dir() -> Self {
        Self::new(DEFAULT_DIR)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a conversation (`<name>.jsonl`). Characters other than letters, digits, `-`,
    /// `_` and `.` are percent-encoded, so any conversation id maps to one file inside the
    /// directory.
    pub fn path_of(&self, conversation_id: &str) -> PathBuf {
        self.dir
            .join(format!("{}.jsonl", file_stem(conversation_id)))
    }

    /// The file of a conversation in the older whole-file format (`<name>.json`), read when no
    /// `.jsonl` file exists.
    pub fn old_path_of(&self, conversation_id: &str) -> PathBuf {
        self.dir
            .join(format!("{}.json", file_stem(conversation_id)))
    }

    /// Whether the conversation has a file, in either format.
    pub fn exists(&self, conversation_id: &str) -> bool {
        self.path_of(conversation_id).exists() || self.old_path_of(conversation_id).exists()
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
        self.path_of(conversation_id).with_extension("jsonl.lock")
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

    /// Where to start reading for the turns after `after`: after its line when read before,
    /// else the start of the file.
    fn offset_after(&self, conversation_id: &str, after: u32) -> u64 {
        if after == 0 {
            return 0;
        }
        let Ok(index) = self.index.lock() else {
            return 0;
        };
        index.get(conversation_id).map_or(0, |marks| {
            marks
                .binary_search_by_key(&after, |m| m.turn)
                .map_or(0, |i| marks[i].end)
        })
    }

    /// The last line read: its turn and the offset after it; `(0, 0)` when none.
    fn last_read(&self, conversation_id: &str) -> ReadMark {
        self.index
            .lock()
            .ok()
            .and_then(|index| index.get(conversation_id).and_then(|m| m.last().copied()))
            .unwrap_or(ReadMark { turn: 0, end: 0 })
    }

    /// Remembers the lines read (replacing what was known from their start on).
    fn record(&self, conversation_id: &str, start: u64, marks: impl Iterator<Item = ReadMark>) {
        if let Ok(mut index) = self.index.lock() {
            let known = index.entry(conversation_id.to_string()).or_default();
            known.retain(|m| m.end <= start);
            known.extend(marks);
        }
    }

    /// The complete lines of the JSON Lines file from `offset` on; `None` when there is no file.
    fn read_lines(&self, conversation_id: &str, offset: u64) -> Result<Option<Lines>, StoreError> {
        let path = self.path_of(conversation_id);
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::failed(conversation_id, &path, "reading", e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Self::failed(conversation_id, &path, "reading", e))?
            .len();
        if len > MAX_FILE_BYTES {
            return Err(Self::failed(
                conversation_id,
                &path,
                "reading",
                format!(
                    "the file is {len} bytes, over the {MAX_FILE_BYTES}-byte limit of a local conversation; start a new conversation"
                ),
            ));
        }
        if len < offset {
            // Shorter than what was read before: replaced behind the store's back. Read it all.
            return self.read_lines(conversation_id, 0);
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Self::failed(conversation_id, &path, "reading", e))?;
        let mut bytes = Vec::with_capacity((len - offset) as usize);
        file.take(MAX_FILE_BYTES - offset)
            .read_to_end(&mut bytes)
            .map_err(|e| Self::failed(conversation_id, &path, "reading", e))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut turns = Vec::new();
        let mut ends = Vec::new();
        let mut end = offset;
        for (number, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
            end += line.len() as u64 + 1;
            if line.is_empty() {
                continue;
            }
            if line.len() > MAX_LINE_BYTES {
                return Err(Self::failed(
                    conversation_id,
                    &path,
                    "reading",
                    format!(
                        "a line is {} bytes, over the {MAX_LINE_BYTES}-byte limit of one turn",
                        line.len()
                    ),
                ));
            }
            let turn: Turn = serde_json::from_slice(line).map_err(|e| {
                let where_ = if offset == 0 {
                    format!("line {}", number + 1)
                } else {
                    format!("a line after byte {offset}")
                };
                Self::failed(
                    conversation_id,
                    &path,
                    &format!("parsing {where_} of (fix or delete the file)"),
                    e,
                )
            })?;
            turns.push(turn);
            ends.push(end);
        }
        self.parsed.fetch_add(turns.len() as u64, Ordering::Relaxed);
        Ok(Some(Lines {
            turns,
            ends,
            start: offset,
            torn: complete < bytes.len(),
        }))
    }

    /// The turns of an older whole-file conversation; `None` when there is no such file.
    fn read_old(&self, conversation_id: &str) -> Result<Option<Vec<Turn>>, StoreError> {
        let path = self.old_path_of(conversation_id);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Self::failed(conversation_id, &path, "reading", e)),
        };
        let mut text = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| Self::failed(conversation_id, &path, "reading", e))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(Self::failed(
                conversation_id,
                &path,
                "reading",
                format!("the file is over the {MAX_FILE_BYTES}-byte limit of a local conversation"),
            ));
        }
        let file: OldConversationFile = serde_json::from_slice(&text).map_err(|e| {
            Self::failed(
                conversation_id,
                &path,
                "parsing (an older-format conversation file; fix or delete it)",
                e,
            )
        })?;
        let mut turns = file.turns;
        self.parsed.fetch_add(turns.len() as u64, Ordering::Relaxed);
        turns.sort_by_key(|t| t.turn);
        Ok(Some(turns))
    }

    /// The turns after `after`: from the remembered offset when this store has read the file up
    /// to turn `after` already, else the whole file.
    fn read_after(&self, conversation_id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        let start = self.offset_after(conversation_id, after);
        match self.read_lines(conversation_id, start)? {
            Some(lines) => {
                self.record(conversation_id, lines.start, marks(&lines));
                let mut turns = lines.turns;
                turns.retain(|t| t.turn > after);
                Ok(turns)
            }
            None => {
                let mut turns = self.read_old(conversation_id)?.unwrap_or_default();
                turns.retain(|t| t.turn > after);
                Ok(turns)
            }
        }
    }

    /// Writes an older-format conversation as a JSON Lines file (whole, then renamed into
    /// place), then removes the older file.
    fn convert(&self, conversation_id: &str, turns: &[Turn]) -> Result<(), StoreError> {
        let path = self.path_of(conversation_id);
        let mut text = Vec::new();
        for turn in turns {
            serde_json::to_writer(&mut text, turn)
                .map_err(|e| Self::failed(conversation_id, &path, "encoding", e))?;
            text.push(b'\n');
        }
        let temp = path.with_extension(format!(
            "jsonl.tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&temp, &text)
            .map_err(|e| Self::failed(conversation_id, &temp, "writing", e))?;
        std::fs::rename(&temp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temp);
            Self::failed(conversation_id, &path, "replacing", e)
        })?;
        let old = self.old_path_of(conversation_id);
        std::fs::remove_file(&old)
            .map_err(|e| Self::failed(conversation_id, &old, "removing the converted", e))
    }
}

/// The marks of the lines read.
fn marks(lines: &Lines) -> impl Iterator<Item = ReadMark> + '_ {
    lines
        .turns
        .iter()
        .zip(&lines.ends)
        .map(|(t, &end)| ReadMark { turn: t.turn, end })
}

fn file_stem(conversation_id: &str) -> String {
    let mut name = String::with_capacity(conversation_id.len() + 6);
    for b in conversation_id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !name.is_empty()) {
            name.push(b as char);
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    name
}

#[async_trait::async_trait]
impl ConversationStore for LocalStore {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        self.read_after(conversation_id, 0)
    }

    async fn load_after(&self, conversation_id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        self.read_after(conversation_id, after)
    }

    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        // The in-process lock keeps this process's writers from polling the OS lock; the OS lock
        // excludes other processes and other store instances.
        let _guard = self.lock.lock().await;
        let _file_lock = self.lock(conversation_id).await?;
        let path = self.path_of(conversation_id);

        // Inside the lock: read what others added since this store last read the file.
        let known = self.last_read(conversation_id);
        let (last, torn) = match self.read_lines(conversation_id, known.end)? {
            Some(lines) => {
                self.record(conversation_id, lines.start, marks(&lines));
                (self.last_read(conversation_id), lines.torn)
            }
            None => match self.read_old(conversation_id)? {
                Some(old) => {
                    self.convert(conversation_id, &old)?;
                    let lines = self.read_lines(conversation_id, 0)?.unwrap_or(Lines {
                        turns: Vec::new(),
                        ends: Vec::new(),
                        start: 0,
                        torn: false,
                    });
                    self.record(conversation_id, 0, marks(&lines));
                    (self.last_read(conversation_id), false)
                }
                None => (ReadMark { turn: 0, end: 0 }, false),
            },
        };
        if turn.turn <= last.turn {
            return Err(StoreError::Conflict {
                conversation_id: conversation_id.to_string(),
                turn: turn.turn,
            });
        }

        let mut line = serde_json::to_vec(turn)
            .map_err(|e| Self::failed(conversation_id, &path, "encoding", e))?;
        line.push(b'\n');
        if line.len() > MAX_LINE_BYTES {
            return Err(Self::failed(
                conversation_id,
                &path,
                "writing",
                format!(
                    "turn {} is {} bytes, over the {MAX_LINE_BYTES}-byte limit of one turn",
                    turn.turn,
                    line.len()
                ),
            ));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Self::failed(conversation_id, &path, "opening", e))?;
        if torn {
            // A crashed writer's incomplete last line: cut it off before appending.
            file.set_len(last.end)
                .map_err(|e| Self::failed(conversation_id, &path, "cutting a torn line of", e))?;
        }
        file.seek(SeekFrom::Start(last.end))
            .and_then(|_| file.write_all(&line))
            .map_err(|e| Self::failed(conversation_id, &path, "writing", e))?;
        let end = last.end + line.len() as u64;
        self.record(
            conversation_id,
            last.end,
            std::iter::once(ReadMark {
                turn: turn.turn,
                end,
            }),
        );
        Ok(())
    }
}
