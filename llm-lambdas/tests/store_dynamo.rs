//! The DynamoDB conversation store against a real DynamoDB-API server on loopback (moto's
//! server, started by `scripts/local-aws.sh`; the tests read `SFN_AGENT_TEST_AWS_ENDPOINT`).

mod handler_support;

use std::collections::HashMap;
use std::sync::Arc;

use agent_builder::{ContentBlock, LlmResponse, Message, Provider, StopReason, ToolResult, Usage};
use aws_sdk_dynamodb::types::AttributeValue;
use handler_support::{aws_endpoint, local_aws_config, unique};
use llm_lambdas::store::{
    ConversationStore, DynamoStore, MAX_ITEM_BYTES, StoreError, StoredResponse, Turn,
};

fn turn(n: u32, messages: Vec<Message>) -> Turn {
    Turn {
        execution: None,
        turn: n,
        iteration: n,
        provider: Provider::Bedrock,
        model: "amazon.nova-pro-v1:0".into(),
        messages,
        response: LlmResponse {
            conversation_id: "c".into(),
            iteration: n,
            stop_reason: StopReason::ToolUse,
            text: format!("turn {n}"),
            tool_calls: Vec::new(),
            rejected: Vec::new(),
            structured: None,
            usage: Usage {
                input_tokens: 10,
                output_tokens: 2,
                cache_read_tokens: 0,
                cache_write_tokens: 0,
                estimated_cost_usd: 0.5,
            },
        }
        .into(),
    }
}

/// The turn as a load returns it: without its response, which the store keeps apart.
fn loaded(turn: &Turn) -> Turn {
    Turn {
        response: StoredResponse::Apart,
        ..turn.clone()
    }
}

async fn store(test: &str) -> Option<(DynamoStore, aws_sdk_dynamodb::Client)> {
    let endpoint = aws_endpoint(test)?;
    let config = local_aws_config(&endpoint).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let store = DynamoStore::new(client.clone(), unique("conversations"));
    store.create_table_if_missing().await.expect("create table");
    // A second call finds the table and does nothing.
    store.create_table_if_missing().await.expect("table exists");
    Some((store, client))
}

#[tokio::test]
async fn turns_round_trip_across_query_pages_with_an_expiry() {
    let Some((store, client)) = store("turns_round_trip_across_query_pages_with_an_expiry").await
    else {
        return;
    };
    let store = store.with_page_size(2).with_ttl_days(7);
    let mut expected = Vec::new();
    for n in 1..=5 {
        let t = turn(
            n,
            vec![
                Message::user_text(format!("question {n}")),
                Message {
                    role: agent_builder::Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: format!("t{n}"),
                        name: "calc".into(),
                        input: serde_json::json!({"expr": "1+1", "unicode": "é✓"}),
                        extra: None,
                    }],
                },
            ],
        );
        store.append("conv-a", &t).await.expect("append");
        expected.push(t);
    }
    store
        .append("conv-b", &turn(1, vec![Message::user_text("other")]))
        .await
        .expect("b");
    let turns = store.load("conv-a").await.expect("load");
    assert_eq!(turns, expected.iter().map(loaded).collect::<Vec<_>>());
    // Each response is read apart, for a replay.
    for (t, written) in turns.iter().zip(&expected) {
        let response = store.load_response("conv-a", t).await.expect("response");
        assert_eq!(response, written.response.parse().expect("written"));
    }
    let after_3 = store.load_after("conv-a", 3).await.expect("load after 3");
    assert_eq!(
        after_3,
        expected[3..].iter().map(loaded).collect::<Vec<_>>()
    );
    assert!(store.load("conv-none").await.expect("load").is_empty());

    // The raw item: keys, and an expiry about 7 days out for DynamoDB TTL.
    let item = client
        .get_item()
        .table_name(store.table())
        .key("conversation_id", AttributeValue::S("conv-a".into()))
        .key("turn", AttributeValue::N("3".into()))
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let expires: u64 = item["expires_at"]
        .as_n()
        .expect("number")
        .parse()
        .expect("u64");
    assert!(
        expires.abs_diff(now + 7 * 86_400) < 120,
        "expires_at {expires}"
    );
    assert_eq!(item["provider"].as_s().expect("s"), "bedrock");
    // The response is an attribute of its own, not inside `turn_json`.
    let turn_json: serde_json::Value =
        serde_json::from_slice(item["turn_json"].as_b().expect("b").as_ref()).expect("turn");
    assert!(turn_json.get("response").is_none(), "{turn_json}");
    let response: LlmResponse =
        serde_json::from_slice(item["response_json"].as_b().expect("b").as_ref())
            .expect("response");
    assert_eq!(response.text, "turn 3");
}

#[tokio::test]
async fn a_taken_turn_is_a_conflict_and_is_not_overwritten() {
    let Some((store, _)) = store("a_taken_turn_is_a_conflict_and_is_not_overwritten").await else {
        return;
    };
    store
        .append("c", &turn(1, vec![Message::user_text("first")]))
        .await
        .expect("first");
    let err = store
        .append("c", &turn(1, vec![Message::user_text("second")]))
        .await
        .expect_err("conflict");
    assert!(
        matches!(err, StoreError::Conflict { turn: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.error_name(), "Conversation.Conflict");
    let turns = store.load("c").await.expect("load");
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].messages[0].text(), "first");
}

#[tokio::test]
async fn two_concurrent_writers_never_lose_a_turn() {
    let Some((store, _)) = store("two_concurrent_writers_never_lose_a_turn").await else {
        return;
    };
    let store = Arc::new(store);
    store
        .append("shared", &turn(1, vec![Message::user_text("start")]))
        .await
        .expect("start");
    // Both writers load the same history, so both want turn 2.
    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let writer = |name: &'static str| {
        let store = store.clone();
        let gate = gate.clone();
        tokio::spawn(async move {
            let mut conflicts = 0;
            let mut loaded = store.load("shared").await?;
            gate.wait().await;
            loop {
                let next = loaded.last().map_or(1, |t| t.turn + 1);
                match store
                    .append("shared", &turn(next, vec![Message::user_text(name)]))
                    .await
                {
                    Ok(()) => return Ok::<_, StoreError>(conflicts),
                    Err(StoreError::Conflict { .. }) => {
                        conflicts += 1;
                        loaded = store.load("shared").await?;
                    }
                    Err(e) => return Err(e),
                }
            }
        })
    };
    let (a, b) = tokio::join!(writer("writer a"), writer("writer b"));
    let conflicts = a.expect("task a").expect("a") + b.expect("task b").expect("b");
    assert_eq!(conflicts, 1, "exactly one writer lost the race once");
    let turns = store.load("shared").await.expect("load");
    let texts: Vec<_> = turns.iter().map(|t| t.messages[0].text()).collect();
    assert_eq!(texts.len(), 3);
    assert!(texts.contains(&"writer a".to_string()) && texts.contains(&"writer b".to_string()));
    assert_eq!(turns.iter().map(|t| t.turn).collect::<Vec<_>>(), [1, 2, 3]);
}

#[tokio::test]
async fn an_oversize_tool_result_is_truncated_and_marked() {
    let Some((store, client)) = store("an_oversize_tool_result_is_truncated_and_marked").await
    else {
        return;
    };
    let page = "<p>a web page</p>".repeat(40_000); // 680,000 bytes
    let small = "42".to_string();
    let t = turn(
        1,
        vec![Message::tool_results(&[
            ToolResult::ok("t1", page.clone()),
            ToolResult::ok("t2", small.clone()),
        ])],
    );
    store
        .append("big", &t)
        .await
        .expect("stored despite the size");
    let loaded = store.load("big").await.expect("load");
    let ContentBlock::ToolResult { content, .. } = &loaded[0].messages[0].content[0] else {
        panic!("not a tool result");
    };
    assert!(content.len() < MAX_ITEM_BYTES);
    assert!(content.starts_with("<p>a web page</p>"));
    let marker = content.rsplit("[truncated: ").next().expect("marker");
    let cut: usize = marker
        .trim_end_matches(" bytes]")
        .parse()
        .expect("byte count");
    assert_eq!(
        content.len() - "\n[truncated: ".len() - marker.len() + cut,
        page.len()
    );
    assert_eq!(
        loaded[0].messages[0].content[1],
        ContentBlock::ToolResult {
            tool_use_id: "t2".into(),
            content: small,
            is_error: false
        }
    );
    // The item really is under DynamoDB's limit.
    let item: HashMap<String, AttributeValue> = client
        .get_item()
        .table_name(store.table())
        .key("conversation_id", AttributeValue::S("big".into()))
        .key("turn", AttributeValue::N("1".into()))
        .send()
        .await
        .expect("get")
        .item
        .expect("item");
    let size: usize = item
        .iter()
        .map(|(k, v)| {
            k.len()
                + v.as_s()
                    .map(|s| s.len())
                    .or_else(|_| v.as_b().map(|b| b.as_ref().len()))
                    .unwrap_or(8)
        })
        .sum();
    assert!(size < 400 * 1024, "{size}");
}

#[tokio::test]
async fn a_missing_table_says_what_to_check() {
    let Some(endpoint) = aws_endpoint("a_missing_table_says_what_to_check") else {
        return;
    };
    let config = local_aws_config(&endpoint).await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "no-such-table");
    let err = store.load("c").await.expect_err("no table");
    assert_eq!(err.error_name(), "Conversation.StoreFailed");
    let text = err.to_string();
    assert!(
        text.contains("no-such-table") && text.contains("conversation_id (S)"),
        "{text}"
    );
}
