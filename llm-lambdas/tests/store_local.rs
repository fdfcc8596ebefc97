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
        }
        .into(),
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

    // One file (and its lock file), named safely inside the directory, and no temporary file
    // left behind.
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["conv%2F1%3Ax.jsonl", "conv%2F1%3Ax.jsonl.lock"]);
    assert_eq!(
        store.lock_path_of("conv/1:x"),
        dir.join("conv%2F1%3Ax.jsonl.lock")
    );
    assert_eq!(store.path_of("../up"), dir.join("%2E.%2Fup.jsonl"));
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
    let mut writers: Vec<_> = turns
        .iter()
        .map(|t| t.response.parse().expect("response").text)
        .collect();
    writers.sort();
    assert_eq!(
        writers,
        (0..8).map(|w| format!("writer {w}")).collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Appends `count` turns to `conversation` at the next free number, reloading and retrying after
/// each conflict, as the handler does; `who` marks each turn's text.
async fn append_with_retry(store: &LocalStore, conversation: &str, who: &str, count: u32) {
    for i in 0..count {
        loop {
            let next = store.load(conversation).await.expect("load").len() as u32 + 1;
            match store
                .append(conversation, &turn(next, &format!("{who} #{i}")))
                .await
            {
                Ok(()) => break,
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => panic!("{who}: {e}"),
            }
        }
    }
}

/// Every expected turn is stored exactly once, numbered 1..=n without a gap.
fn assert_all_stored(turns: &[Turn], mut expected: Vec<String>) {
    let numbers: Vec<u32> = turns.iter().map(|t| t.turn).collect();
    assert_eq!(
        numbers,
        (1..=expected.len() as u32).collect::<Vec<_>>(),
        "turn numbers"
    );
    let mut texts: Vec<String> = turns
        .iter()
        .map(|t| t.response.parse().expect("response").text)
        .collect();
    texts.sort();
    expected.sort();
    assert_eq!(texts, expected);
}

#[test]
fn writers_with_their_own_store_instances_never_lose_a_turn() {
    // Each thread has its own `LocalStore`, so only the file lock keeps them apart, as with
    // separate processes.
    let dir = temp_dir("local-instances");
    let (threads, per_thread) = (6u32, 5u32);
    let handles: Vec<_> = (0..threads)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .expect("runtime");
                let store = LocalStore::new(&dir);
                runtime.block_on(append_with_retry(
                    &store,
                    "shared",
                    &format!("thread {w}"),
                    per_thread,
                ));
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let turns = runtime
        .block_on(LocalStore::new(&dir).load("shared"))
        .expect("load");
    let expected = (0..threads)
        .flat_map(|w| (0..per_thread).map(move |i| format!("thread {w} #{i}")))
        .collect();
    assert_all_stored(&turns, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The variable that makes [`append_child`] do its work (the directory to write to).
const CHILD_DIR_ENV: &str = "SFN_AGENT_TEST_STORE_DIR";

/// Runs in a child process started by [`writers_in_separate_processes_never_lose_a_turn`].
#[tokio::test]
#[ignore = "run by writers_in_separate_processes_never_lose_a_turn in child processes"]
async fn append_child() {
    let (Ok(dir), Ok(who)) = (
        std::env::var(CHILD_DIR_ENV),
        std::env::var("SFN_AGENT_TEST_STORE_WHO"),
    ) else {
        return;
    };
    append_with_retry(&LocalStore::new(dir), "shared", &who, 5).await;
}

#[test]
fn writers_in_separate_processes_never_lose_a_turn() {
    let dir = temp_dir("local-processes");
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..4)
        .map(|c| {
            std::process::Command::new(&exe)
                .args(["append_child", "--exact", "--ignored", "--quiet"])
                .env(CHILD_DIR_ENV, &dir)
                .env("SFN_AGENT_TEST_STORE_WHO", format!("process {c}"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("child")
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().expect("child output");
        assert!(
            output.status.success(),
            "child failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let turns = runtime
        .block_on(LocalStore::new(&dir).load("shared"))
        .expect("load");
    let expected = (0..4)
        .flat_map(|c| (0..5).map(move |i| format!("process {c} #{i}")))
        .collect();
    assert_all_stored(&turns, expected);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_file_holds_one_json_line_per_turn_appended_in_place() {
    let dir = temp_dir("local-format");
    let store = LocalStore::new(&dir);
    store.append("f", &turn(1, "one")).await.expect("1");
    let after_one = std::fs::read(store.path_of("f")).expect("file");
    store.append("f", &turn(2, "two")).await.expect("2");
    let text = std::fs::read_to_string(store.path_of("f")).expect("file");
    // Appended: the first line's bytes are untouched, and each line is one whole turn.
    assert!(text.as_bytes().starts_with(&after_one));
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.len(), 2);
    for (line, expected) in lines.iter().zip([turn(1, "one"), turn(2, "two")]) {
        let parsed: Turn = serde_json::from_str(line).expect("a turn per line");
        assert_eq!(parsed, expected);
    }
    assert!(text.ends_with('\n'));
    // A store that has read the file reads only the lines after the turn it knows: with the
    // first line overwritten (same length, no longer JSON), reading after turn 1 still works,
    // and only a whole read sees the damage.
    assert_eq!(store.load("f").await.expect("load").len(), 2);
    let first_len = after_one.len() - 1;
    let mut damaged = "#".repeat(first_len).into_bytes();
    damaged.extend_from_slice(&text.as_bytes()[first_len..]);
    std::fs::write(store.path_of("f"), damaged).expect("write");
    assert_eq!(
        store.load_after("f", 1).await.expect("after"),
        [turn(2, "two")]
    );
    assert!(store.load("f").await.is_err());
    std::fs::write(store.path_of("f"), &text).expect("restore");
    // A turn number not after the last one is a conflict, even one never stored.
    let err = store
        .append("f", &turn(1, "again"))
        .await
        .expect_err("taken");
    assert_eq!(err.error_name(), "Conversation.Conflict");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_torn_last_line_is_ignored_then_cut_off_by_the_next_write() {
    let dir = temp_dir("local-torn");
    let store = LocalStore::new(&dir);
    store.append("t", &turn(1, "one")).await.expect("1");
    // A crash in the middle of writing turn 2: half a line, no newline.
    let line = serde_json::to_string(&turn(2, "two")).expect("json");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(store.path_of("t"))
        .expect("open");
    std::io::Write::write_all(&mut file, &line.as_bytes()[..line.len() / 2]).expect("write");
    drop(file);

    // A fresh store (a new process) reads turn 1 only: turn 2 was never stored.
    let fresh = LocalStore::new(&dir);
    assert_eq!(fresh.load("t").await.expect("load"), [turn(1, "one")]);
    // Storing turn 2 again cuts the torn line off first.
    fresh.append("t", &turn(2, "two again")).await.expect("2");
    assert_eq!(
        LocalStore::new(&dir).load("t").await.expect("load"),
        [turn(1, "one"), turn(2, "two again")]
    );
    let text = std::fs::read_to_string(store.path_of("t")).expect("file");
    assert_eq!(text.lines().count(), 2, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_damaged_complete_line_is_an_error_naming_file_and_line() {
    let dir = temp_dir("local-damaged");
    let store = LocalStore::new(&dir);
    store.append("d", &turn(1, "one")).await.expect("1");
    let mut text = std::fs::read_to_string(store.path_of("d")).expect("file");
    text.push_str("{\"turn\": 2, oops}\n");
    std::fs::write(store.path_of("d"), text).expect("write");
    let err = LocalStore::new(&dir).load("d").await.expect_err("damaged");
    assert_eq!(err.error_name(), "Conversation.StoreFailed");
    let message = err.to_string();
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("d.jsonl"), "{message}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_older_whole_file_conversation_is_read_and_converted_by_the_next_write() {
    let dir = temp_dir("local-old");
    std::fs::create_dir_all(&dir).expect("dir");
    // The format written before the JSON Lines files: one pretty-printed document.
    let old = serde_json::json!({
        "conversation_id": "old/one",
        "turns": [turn(2, "two"), turn(1, "one")],
    });
    let store = LocalStore::new(&dir);
    std::fs::write(
        store.old_path_of("old/one"),
        serde_json::to_vec_pretty(&old).expect("json"),
    )
    .expect("write");
    assert!(store.exists("old/one"));
    assert_eq!(
        store.load("old/one").await.expect("load"),
        [turn(1, "one"), turn(2, "two")]
    );
    let err = store
        .append("old/one", &turn(2, "taken"))
        .await
        .expect_err("taken");
    assert_eq!(err.error_name(), "Conversation.Conflict");
    store.append("old/one", &turn(3, "three")).await.expect("3");
    assert!(
        !store.old_path_of("old/one").exists(),
        "the old file is converted"
    );
    assert_eq!(
        LocalStore::new(&dir).load("old/one").await.expect("load"),
        [turn(1, "one"), turn(2, "two"), turn(3, "three")]
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

fn counting() -> Counting {
    Counting {
        inner: llm_lambdas::store::MemoryStore::new(),
        afters: std::sync::Mutex::new(Vec::new()),
    }
}

fn afters(store: &Counting) -> Vec<u32> {
    store.afters.lock().map(|a| a.clone()).unwrap_or_default()
}

#[tokio::test]
async fn the_cache_reads_only_newer_turns_and_sees_other_writers() {
    use llm_lambdas::store::CachedStore;
    let cached = CachedStore::new(counting());
    cached.append("c", &turn(1, "one")).await.expect("1");
    cached.append("c", &turn(2, "two")).await.expect("2");
    let turns = cached.load("c").await.expect("load");
    assert_eq!(turns.len(), 2);
    cached.release("c", turns);
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
    cached.release("c", turns);
    let turns = cached.load("c").await.expect("load");
    assert_eq!(turns.len(), 3);
    cached.release("c", turns);
    assert_eq!(afters(cached.inner()), [0, 2, 3]);
    // A conflict found by the store still surfaces through the cache.
    let err = cached
        .append("c", &turn(3, "late"))
        .await
        .expect_err("taken");
    assert_eq!(err.error_name(), "Conversation.Conflict");
}

#[tokio::test]
async fn turns_not_released_are_read_again_whole() {
    use llm_lambdas::store::CachedStore;
    let cached = CachedStore::new(counting());
    cached.append("c", &turn(1, "one")).await.expect("1");
    let turns = cached.load("c").await.expect("load");
    drop(turns); // a failed call that never gave them back
    assert_eq!(cached.held_bytes(), 0);
    assert_eq!(cached.load("c").await.expect("load"), [turn(1, "one")]);
    assert_eq!(afters(cached.inner()), [0, 0]);
}

#[tokio::test]
async fn the_cache_forgets_the_least_recently_used_conversations_past_its_budget() {
    use llm_lambdas::store::CachedStore;
    let big = "x".repeat(10_000);
    let one = turn(1, &big).approx_bytes();
    assert!(one > 20_000, "text counted in messages and response: {one}");
    // Room for two conversations of one turn, not three.
    let cached = CachedStore::with_max_bytes(counting(), 2 * one + one / 2);
    for id in ["a", "b", "c"] {
        cached.append(id, &turn(1, &big)).await.expect("append");
    }
    for id in ["a", "b", "c"] {
        let turns = cached.load(id).await.expect("load");
        cached.release(id, turns);
        assert!(cached.held_bytes() <= cached.max_bytes());
    }
    assert_eq!(cached.held_bytes(), 2 * one);
    // `b` and `c` are held (read after turn 1); `a` was forgotten (read whole again).
    for id in ["b", "c", "a"] {
        let turns = cached.load(id).await.expect("load");
        cached.release(id, turns);
    }
    assert_eq!(afters(cached.inner()), [0, 0, 0, 1, 1, 0]);

    // A conversation bigger than the whole budget is not kept.
    let small = CachedStore::with_max_bytes(counting(), one / 2);
    small.append("a", &turn(1, &big)).await.expect("append");
    let turns = small.load("a").await.expect("load");
    small.release("a", turns);
    assert_eq!(small.held_bytes(), 0);
}

#[test]
fn the_cache_budget_comes_from_its_variable() {
    use llm_lambdas::store::{CACHE_BYTES_ENV, DEFAULT_MAX_BYTES};
    // `set_var` is unsafe (edition 2024) and would race the other tests: each value is read
    // in a child process instead.
    if std::env::var("SFN_AGENT_TEST_CACHE_CHILD").is_ok() {
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let run = |value: Option<&str>| {
        let mut command = std::process::Command::new(&exe);
        command.args(["cache_budget_child", "--exact", "--ignored", "--nocapture"]);
        command.env("SFN_AGENT_TEST_CACHE_CHILD", "1");
        match value {
            Some(v) => command.env(CACHE_BYTES_ENV, v),
            None => command.env_remove(CACHE_BYTES_ENV),
        };
        let output = command.output().expect("child");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(run(None).contains(&format!("budget {DEFAULT_MAX_BYTES}")));
    assert!(run(Some("1048576")).contains("budget 1048576"));
    let bad = run(Some("4MB"));
    assert!(bad.contains("CONVERSATION_CACHE_BYTES is `4MB`"), "{bad}");
}

#[test]
#[ignore = "run by the_cache_budget_comes_from_its_variable in a child process"]
fn cache_budget_child() {
    match llm_lambdas::store::CachedStore::from_env(counting()) {
        Ok(store) => println!("budget {}", store.max_bytes()),
        Err(e) => println!("error {e}"),
    }
}

/// The agent of the handler runs below: one `get_weather` tool.
fn weather_agent() -> agent_builder::AgentConfig {
    agent_builder::AgentConfig {
        name: "weather".into(),
        system_prompt: "Answer with the tools.".into(),
        model: agent_builder::ModelSpec {
            provider: Provider::Anthropic,
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: None,
        },
        tools: vec![agent_builder::ToolSpec {
            name: "get_weather".into(),
            description: "The weather in a city.".into(),
            input_schema: serde_json::json!({"type": "object"}),
        }],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

/// A local run as `sfn-agent run` makes it (the handler, the scripted model, the local store
/// behind a cache with no budget) costs the same work per iteration at the end of 1,000
/// iterations as at the start: counted in lines parsed, not timed.
#[tokio::test]
async fn a_long_local_run_parses_each_turn_once() {
    use agent_builder::LlmRequest;
    use llm_lambdas::Handler;
    use llm_lambdas::metrics::MetricsSink;
    use llm_lambdas::providers::scripted::{Script, ScriptToolCall, ScriptTurn, ScriptedModel};
    use llm_lambdas::store::CachedStore;
    use std::sync::Arc;

    const ITERATIONS: u32 = 1_000;
    let dir = temp_dir("long-run");
    let store = Arc::new(CachedStore::unbounded(LocalStore::new(&dir)));
    let script = Script {
        turns: (0..ITERATIONS)
            .map(|t| ScriptTurn {
                text: format!("Checking city {t}."),
                tool_calls: vec![ScriptToolCall {
                    id: None,
                    name: "get_weather".into(),
                    input: serde_json::json!({"city": format!("City {t}")}),
                }],
                ..ScriptTurn::default()
            })
            .collect(),
    };
    let handler = Handler::new(
        Arc::new(ScriptedModel::new(script, Provider::Anthropic)),
        store.clone(),
    )
    .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent();
    let mut pending: Option<String> = None;
    let mut parsed_at = Vec::new();
    for iteration in 1..=ITERATIONS {
        let request = LlmRequest {
            execution: Some("arn:aws:states:us-east-1:1:execution:weather:long".into()),
            agent: agent.clone(),
            conversation_id: "long".into(),
            iteration,
            question: pending.is_none().then(|| "Weather everywhere?".to_string()),
            tool_results: pending
                .iter()
                .map(|c| ToolResult::ok(c, "{\"temperature\": 18.5}"))
                .collect(),
        };
        let response = handler.handle(request).await.expect("turn");
        pending = response.tool_calls.first().map(|c| c.id.clone());
        parsed_at.push(store.inner().lines_parsed());
    }
    // Each turn is parsed once, when the next iteration loads it: the first 10 iterations and
    // the last 10 parse the same number of lines.
    let first_10 = parsed_at[10] - parsed_at[0];
    let last_10 = parsed_at[ITERATIONS as usize - 1] - parsed_at[ITERATIONS as usize - 11];
    assert_eq!((first_10, last_10), (10, 10));
    assert_eq!(store.inner().lines_parsed(), u64::from(ITERATIONS) - 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A turn read back from a file keeps its response as text (`StoredResponse::Json`): a Lambda
/// retry parses it and gets what the first call returned; a stored response of the wrong shape
/// fails that retry by name (`Conversation.StoreFailed`), and a plain load still works.
#[tokio::test]
async fn a_stored_response_is_parsed_only_when_its_turn_is_replayed() {
    use agent_builder::{LlmRequest, errors};
    use llm_lambdas::Handler;
    use llm_lambdas::metrics::MetricsSink;
    use llm_lambdas::providers::scripted::{Script, ScriptTurn, ScriptedModel};
    use llm_lambdas::store::StoredResponse;
    use std::sync::Arc;

    let dir = temp_dir("replay");
    let handler = |dir: &std::path::Path| {
        let script = Script {
            turns: vec![ScriptTurn {
                text: "Sunny in Paris.".into(),
                ..ScriptTurn::default()
            }],
        };
        Handler::new(
            Arc::new(ScriptedModel::new(script, Provider::Anthropic)),
            Arc::new(LocalStore::new(dir)),
        )
        .with_metrics(MetricsSink::to_writer(std::io::sink()))
    };
    let request = LlmRequest {
        execution: Some("arn:aws:states:us-east-1:1:execution:weather:one".into()),
        agent: weather_agent(),
        conversation_id: "replay".into(),
        iteration: 1,
        question: Some("Weather in Paris?".into()),
        tool_results: Vec::new(),
    };
    let first = handler(&dir).handle(request.clone()).await.expect("turn");

    // A new Lambda (its own store, nothing cached) reads the turn from the file.
    let loaded = LocalStore::new(&dir).load("replay").await.expect("load");
    assert!(matches!(loaded[0].response, StoredResponse::Json(_)));
    assert_eq!(loaded[0].response.parse().expect("response"), first);
    let again = handler(&dir).handle(request.clone()).await.expect("retry");
    assert_eq!(again, first, "the retry replays the stored response");

    // The same line with a response of the wrong shape: loads, but cannot be replayed.
    let file = dir.join("replay.jsonl");
    let line = std::fs::read_to_string(&file).expect("file");
    let mut value: serde_json::Value = serde_json::from_str(line.trim_end()).expect("a turn");
    value["response"] = serde_json::json!({"text": 5});
    std::fs::write(&file, format!("{value}\n")).expect("rewrite");
    assert_eq!(
        LocalStore::new(&dir)
            .load("replay")
            .await
            .expect("load")
            .len(),
        1
    );
    let err = handler(&dir)
        .handle(request)
        .await
        .expect_err("a bad response");
    assert_eq!(err.error_name(), errors::CONVERSATION_STORE_FAILED);
    assert!(
        err.to_string()
            .contains("turn 1 is stored with a response that is not a valid response"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
