//! The warm Lambda's reads, on the wire: the handler over `CachedStore<DynamoStore>` against a
//! loopback DynamoDB (`tests/loopback`) that records each `Query`. A warm call asks only for the
//! turns after the last one it holds (`turn > :last`) and gets only those items back.

mod handler_support;
mod loopback;

use std::sync::Arc;

use agent_builder::{AgentConfig, LlmRequest, ModelSpec, Provider, ToolResult, ToolSpec};
use handler_support::{QueueModel, local_aws_config, reply};
use llm_lambdas::Handler;
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::store::{CachedStore, ConversationStore, DynamoStore, StoredResponse};
use loopback::{Dynamo, QueryLog};
use serde_json::json;

fn agent() -> AgentConfig {
    AgentConfig {
        name: "weather".into(),
        system_prompt: "Be brief.".into(),
        model: ModelSpec {
            provider: Provider::Anthropic,
            model: "claude-haiku-4-5".into(),
            max_tokens: 256,
            temperature: None,
        },
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "The weather in a city.".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

fn request(iteration: u32, question: Option<&str>, results: Vec<ToolResult>) -> LlmRequest {
    LlmRequest {
        execution: Some("arn:aws:states:us-east-1:1:execution:m:e".into()),
        agent: agent(),
        conversation_id: "warm".into(),
        iteration,
        question: question.map(str::to_string),
        tool_results: results,
    }
}

/// A query of the `warm` conversation, as `DynamoStore` makes it: `turn_json` only.
fn log(after: u64, items: usize) -> QueryLog {
    QueryLog {
        conversation_id: "warm".into(),
        after,
        only: None,
        items,
        projection: Some(vec!["turn_json".into()]),
    }
}

/// A store on a new loopback table, and the table.
async fn loopback_store() -> (Arc<Dynamo>, DynamoStore) {
    let (table, endpoint) = Dynamo::start().expect("loopback DynamoDB");
    let config = local_aws_config(&endpoint).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    (table, store)
}

/// Puts turn 1 of conversation `id` as an item holding `turn_json` alone.
fn put_turn_json(table: &Dynamo, id: &str, bytes: Vec<u8>) {
    use base64::Engine as _;
    table.put(json!({
        "conversation_id": {"S": id},
        "turn": {"N": "1"},
        "turn_json": {"B": base64::engine::general_purpose::STANDARD.encode(bytes)},
    }));
}

/// Turn 1 of a conversation: one question, and `response`.
fn first_turn(response: StoredResponse) -> llm_lambdas::store::Turn {
    llm_lambdas::store::Turn {
        turn: 1,
        iteration: 1,
        execution: None,
        provider: Provider::Anthropic,
        model: "claude-haiku-4-5".into(),
        messages: vec![agent_builder::Message::user_text("Weather?")],
        response,
    }
}

#[tokio::test]
async fn a_warm_call_queries_only_the_turns_after_the_last_cached_one() {
    let (table, endpoint) = Dynamo::start().expect("loopback DynamoDB");
    let config = local_aws_config(&endpoint).await;
    let dynamo = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    let cached = Arc::new(CachedStore::new(dynamo.clone()));
    let call = |n: u32| {
        Ok(reply(
            "Looking.",
            &[(
                &format!("t{n}"),
                "get_weather",
                json!({"city": format!("City {n}")}),
            )],
            "claude-haiku-4-5",
        ))
    };
    let model = Arc::new(QueueModel::new(
        Provider::Anthropic,
        vec![call(1), call(2), call(3), Ok(reply("Done.", &[], "m"))],
    ));
    let handler = Handler::new(model.clone(), cached.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()));

    handler
        .handle(request(1, Some("Weather?"), Vec::new()))
        .await
        .expect("turn 1");
    for n in 2..=4u32 {
        let result = ToolResult::ok(format!("t{}", n - 1), "sunny");
        handler
            .handle(request(n, None, vec![result]))
            .await
            .expect("turn");
    }

    // A new conversation, then one full read (nothing was cached yet), then one item per call.
    assert_eq!(
        table.queries(),
        [log(0, 0), log(0, 1), log(1, 1), log(2, 1)]
    );
    // The response to turn 4 is lost and the state machine retries it: the handler finds the
    // turn stored and replays its response, which only that one item's `Query` reads.
    let result = ToolResult::ok("t3", "sunny");
    let again = handler
        .handle(request(4, None, vec![result]))
        .await
        .expect("retry of turn 4");
    assert_eq!(again.text, "Done.");
    assert_eq!(model.requests().len(), 4, "a retry calls no model");
    assert_eq!(
        table.queries()[4..],
        [
            // The cache held turns 1 to 3: it reads turn 4, the one retried.
            log(3, 1),
            QueryLog {
                conversation_id: "warm".into(),
                after: 0,
                only: Some(4),
                items: 1,
                projection: Some(vec!["response_json".into()]),
            }
        ]
    );
    // The model saw the whole history every time.
    let sent: Vec<usize> = model.requests().iter().map(|r| r.messages.len()).collect();
    assert_eq!(sent, [1, 3, 5, 7]);
    // A cold store reads everything, page by page.
    let all = dynamo
        .with_page_size(1)
        .load("warm")
        .await
        .expect("load all");
    assert_eq!(all.iter().map(|t| t.turn).collect::<Vec<_>>(), [1, 2, 3, 4]);
}

/// Items written before the one-attribute format (`messages` and `response` as JSON strings
/// beside `iteration`, `execution`, `provider`, `model`) are still read, and a conversation can
/// hold both kinds: new turns go into `turn_json`.
#[tokio::test]
async fn items_of_the_older_format_are_still_read() {
    use agent_builder::{ContentBlock, LlmResponse, Message, Role, StopReason, Usage};
    use llm_lambdas::store::Turn;

    let (table, endpoint) = Dynamo::start().expect("loopback DynamoDB");
    let config = local_aws_config(&endpoint).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    let assistant = Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::text("Let me check."),
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            },
        ],
    };
    let old = Turn {
        turn: 1,
        iteration: 1,
        execution: Some("arn:aws:states:us-east-1:1:execution:m:e".into()),
        provider: Provider::Anthropic,
        model: "claude-haiku-4-5".into(),
        messages: vec![Message::user_text("Weather in Paris?"), assistant.clone()],
        response: LlmResponse {
            conversation_id: "mixed".into(),
            iteration: 1,
            stop_reason: StopReason::ToolUse,
            text: assistant.text(),
            tool_calls: assistant.tool_calls(),
            rejected: Vec::new(),
            structured: None,
            usage: Usage {
                input_tokens: 120,
                output_tokens: 30,
                estimated_cost_usd: 0.0005,
                ..Usage::default()
            },
        }
        .into(),
    };
    let text = |v: serde_json::Result<String>| v.expect("JSON");
    table.put(json!({
        "conversation_id": {"S": "mixed"},
        "turn": {"N": "1"},
        "iteration": {"N": "1"},
        "execution": {"S": old.execution},
        "provider": {"S": "anthropic"},
        "model": {"S": old.model},
        "messages": {"S": text(serde_json::to_string(&old.messages))},
        "response": {"S": text(serde_json::to_string(&old.response))},
        "expires_at": {"N": "2000000000"},
    }));
    let new = Turn {
        turn: 2,
        iteration: 2,
        messages: vec![
            Message::tool_results(&[ToolResult::ok("toolu_1", "{\"temperature\": 18.5}")]),
            Message {
                role: Role::Assistant,
                content: vec![ContentBlock::text("18.5 °C in Paris.")],
            },
        ],
        response: LlmResponse {
            iteration: 2,
            stop_reason: StopReason::EndTurn,
            text: "18.5 °C in Paris.".into(),
            tool_calls: Vec::new(),
            ..old.response.parse().expect("response")
        }
        .into(),
        ..old.clone()
    };
    store.append("mixed", &new).await.expect("append");
    // The new turn is loaded without its response, which is read apart for a replay.
    let new_loaded = Turn {
        response: StoredResponse::Apart,
        ..new.clone()
    };
    let loaded = store.load("mixed").await.expect("load");
    assert_eq!(loaded, vec![old.clone(), new_loaded.clone()]);
    for (t, written) in loaded.iter().zip([&old, &new]) {
        let response = store.load_response("mixed", t).await.expect("response");
        assert_eq!(response, written.response.parse().expect("written"));
    }
    // The projected query met an item without `turn_json` and read the page again whole; the
    // older turn's response came with it, the new one's was read apart.
    let projections: Vec<Option<Vec<String>>> =
        table.queries().into_iter().map(|q| q.projection).collect();
    assert_eq!(
        projections,
        [
            Some(vec!["turn_json".to_string()]),
            None,
            Some(vec!["response_json".to_string()]),
        ]
    );
    assert_eq!(
        store.load_after("mixed", 1).await.expect("load after 1"),
        vec![new_loaded]
    );
}

/// Items written while `turn_json` held the response too are read as they are: the response
/// comes with the turn, and a replay reads nothing more.
#[tokio::test]
async fn items_with_the_response_inside_turn_json_are_still_read() {
    use agent_builder::{LlmResponse, StopReason, Usage};

    let (table, store) = loopback_store().await;
    let response = LlmResponse {
        conversation_id: "inside".into(),
        iteration: 1,
        stop_reason: StopReason::EndTurn,
        text: "Sunny.".into(),
        tool_calls: Vec::new(),
        rejected: Vec::new(),
        structured: None,
        usage: Usage::default(),
    };
    let turn = first_turn(response.clone().into());
    let json = serde_json::to_vec(&turn).expect("JSON");
    assert!(String::from_utf8_lossy(&json).contains("\"response\""));
    put_turn_json(&table, "inside", json);
    let loaded = store.load("inside").await.expect("load");
    assert_eq!(loaded, vec![turn]);
    assert!(!loaded[0].response.is_apart());
    assert_eq!(
        store
            .load_response("inside", &loaded[0])
            .await
            .expect("response"),
        response
    );
    assert_eq!(table.queries().len(), 1, "the replay read nothing more");
}

/// A turn whose item lost its `response_json` (written by hand, or cut by a tool) fails its
/// replay by name instead of answering something else.
#[tokio::test]
async fn a_replay_without_a_stored_response_fails_by_name() {
    let (table, store) = loopback_store().await;
    let json = serde_json::to_vec(&first_turn(StoredResponse::Apart)).expect("JSON");
    put_turn_json(&table, "lost", json);
    let loaded = store.load("lost").await.expect("load");
    let error = store
        .load_response("lost", &loaded[0])
        .await
        .expect_err("no response");
    assert_eq!(error.error_name(), "Conversation.StoreFailed");
    assert!(
        error.to_string().contains("reading the response of turn 1")
            && error.to_string().contains("no `response_json`"),
        "{error}"
    );
}

/// The Lambda's warm-up at init: one `Query` that finds nothing, and a table that cannot be
/// reached only costs the wait, never an error.
#[tokio::test]
async fn the_warm_up_queries_once_and_never_fails() {
    let (table, endpoint) = Dynamo::start().expect("loopback DynamoDB");
    let config = local_aws_config(&endpoint).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    store.warm_up().await;
    let queries = table.queries();
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert_eq!(queries[0].items, 0);

    // Nothing listens on port 1 of the loopback.
    let config = local_aws_config("http://127.0.0.1:1").await;
    let unreachable = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    let started = std::time::Instant::now();
    unreachable.warm_up().await;
    assert!(
        started.elapsed() < llm_lambdas::store::WARM_UP_WAIT + std::time::Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// A `Query` reply whose `LastEvaluatedKey` does not move forward (a broken proxy or emulator)
/// fails the load by name instead of paging forever.
#[tokio::test]
async fn a_query_that_pages_in_place_fails_instead_of_looping() {
    let pages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = pages.clone();
    let address = loopback::serve(Arc::new(move |_request| {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        loopback::Response::json(
            200,
            "application/x-amz-json-1.0",
            &json!({
                "Items": [], "Count": 0, "ScannedCount": 0,
                "LastEvaluatedKey": {"conversation_id": {"S": "c"}, "turn": {"N": "3"}}
            }),
        )
    }))
    .expect("loopback");
    let config = local_aws_config(&format!("http://{address}")).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    let error = store.load("c").await.expect_err("a key that repeats");
    assert_eq!(error.error_name(), "Conversation.StoreFailed");
    assert!(
        error.to_string().contains("does not move past turn 3"),
        "{error}"
    );
    assert_eq!(pages.load(std::sync::atomic::Ordering::SeqCst), 2);
}

/// A `turn_json` that is not UTF-8, or not a turn, fails the load by name.
#[tokio::test]
async fn a_bad_turn_json_fails_the_load_by_name() {
    let (table, store) = loopback_store().await;
    for (id, bytes, says) in [
        (
            "latin1",
            b"{\"turn\":1,\"model\":\"caf\xe9\"}".to_vec(),
            "is not UTF-8 text",
        ),
        ("cut", b"{\"turn\":1,\"iter".to_vec(), "is not a valid turn"),
    ] {
        put_turn_json(&table, id, bytes);
        let error = store.load(id).await.expect_err("a bad item");
        assert_eq!(error.error_name(), "Conversation.StoreFailed");
        assert!(error.to_string().contains(says), "{error}");
    }
}
