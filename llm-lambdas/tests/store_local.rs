//! The local conversation store: files under a directory, atomic and conflict-checked writes.

use agent_builder::{LlmResponse, Message, Provider, StopReason, ToolResult, Usage};
use llm_lambdas::store::{ConversationStore, LocalStore, StoreError, Turn};

fn turn(n: u32, text: &str) -> Turn {
    Turn {
        execution: None,
        turn: n,
        iteration: n,
        provider: Provider::Gemini,
        model: "gemini-2.5-flash".into(),
        messages: vec![
            Message::user_text(text),
            Message::tool_results(&[ToolResult::ok("t", "ok")]),
        ],
        response: LlmResponse {
            conversation_id: "c".into(),
            iteration: n,
            stop_reason: StopReason::EndTurn,
            text: text.into(),
            tool_calls: Vec::new(),
            rejected: Vec::new(),
            structured: None,
            usage: Usage::default(),
        },
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!("sfn-agent-{name}-{}-{nanos}", std::process::id()))
}

#[tokio::test]
async fn turns_round_trip_through_one_file_and_a_taken_turn_conflicts() {
    let dir = temp_dir("local-store");
    let store = LocalStore::new(&dir);
    assert!(store.load("conv/1:x").await.expect("empty").is_empty());
    store
        .append("conv/1:x", &turn(1, "one"))
        .await
        .expect("turn 1");
    store
        .append("conv/1:x", &turn(2, "two"))
        .await
        .expect("turn 2");

    let err = store
        .append("conv/1:x", &turn(2, "again"))
        .await
        .expect_err("taken");
    assert_eq!(
        err,
        StoreError::Conflict {
            conversation_id: "conv/1:x".into(),
            turn: 2
        }
    );
    assert_eq!(err.error_name(), "Conversation.Conflict");

    // A fresh store over the same directory reads what the first wrote.
    let loaded = LocalStore::new(&dir).load("conv/1:x").await.expect("load");
    assert_eq!(loaded, vec![turn(1, "one"), turn(2, "two")]);

    // One file, named safely inside the directory, and no temporary file left behind.
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["conv%2F1%3Ax.json"]);
    assert_eq!(store.path_of("../up"), dir.join("%2E.%2Fup.json"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn concurrent_writers_in_one_process_never_lose_a_turn() {
    let dir = temp_dir("local-race");
    let store = std::sync::Arc::new(LocalStore::new(&dir));
    let mut tasks = Vec::new();
    for w in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            // Each writer appends at the next free turn, reloading after a conflict.
            loop {
                let next = store.load("race").await?.len() as u32 + 1;
                match store
                    .append("race", &turn(next, &format!("writer {w}")))
                    .await
                {
                    Ok(()) => return Ok::<_, StoreError>(()),
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e),
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("writer");
    }
    let turns = store.load("race").await.expect("load");
    assert_eq!(turns.len(), 8);
    let mut writers: Vec<_> = turns.iter().map(|t| t.response.text.clone()).collect();
    writers.sort();
    assert_eq!(
        writers,
        (0..8).map(|w| format!("writer {w}")).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_corrupt_file_is_reported_with_its_path() {
    let dir = temp_dir("local-corrupt");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.json"), "{not json").expect("write");
    let err = LocalStore::new(&dir)
        .load("bad")
        .await
        .expect_err("corrupt");
    assert_eq!(err.error_name(), "Conversation.StoreFailed");
    assert!(err.to_string().contains("bad.json"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Counts the loads that reach the store behind the cache.
struct Counting {
    inner: llm_lambdas::store::MemoryStore,
    afters: std::sync::Mutex<Vec<u32>>,
}

#[async_trait::async_trait]
impl ConversationStore for Counting {
    async fn load(&self, id: &str) -> Result<Vec<Turn>, StoreError> {
        self.load_after(id, 0).await
    }

    async fn load_after(&self, id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        if let Ok(mut a) = self.afters.lock() {
            a.push(after);
        }
        let mut turns = self.inner.load(id).await?;
        turns.retain(|t| t.turn > after);
        Ok(turns)
    }

    async fn append(&self, id: &str, turn: &Turn) -> Result<(), StoreError> {
        self.inner.append(id, turn).await
    }
}

#[tokio::test]
async fn the_cache_reads_only_newer_turns_and_sees_other_writers() {
    use llm_lambdas::store::CachedStore;
    let cached = CachedStore::new(Counting {
        inner: llm_lambdas::store::MemoryStore::new(),
        afters: std::sync::Mutex::new(Vec::new()),
    });
    cached.append("c", &turn(1, "one")).await.expect("1");
    cached.append("c", &turn(2, "two")).await.expect("2");
    assert_eq!(cached.load("c").await.expect("load").len(), 2);
    // Another writer adds turn 3 behind the cache's back.
    cached
        .inner()
        .inner
        .append("c", &turn(3, "three"))
        .await
        .expect("3");
    let turns = cached.load("c").await.expect("load");
    assert_eq!(
        turns,
        vec![turn(1, "one"), turn(2, "two"), turn(3, "three")]
    );
    assert_eq!(cached.load("c").await.expect("load").len(), 3);
    let afters = cached
        .inner()
        .afters
        .lock()
        .map(|a| a.clone())
        .unwrap_or_default();
    assert_eq!(afters, [0, 2, 3]);
    // A conflict found by the store still surfaces through the cache.
    let err = cached
        .append("c", &turn(3, "late"))
        .await
        .expect_err("taken");
    assert_eq!(err.error_name(), "Conversation.Conflict");
}
