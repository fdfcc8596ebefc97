//! The Anthropic adapter against a local server answering with the Messages API's documented
//! shapes (`tests/fixtures/anthropic/`, sources in its README). Each test checks the request the
//! adapter sent as well as what it parsed.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Role, StopReason, ToolSpec};
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::anthropic::{API_VERSION, AnthropicModel};
use llm_lambdas::{ChatModel, ChatRequest, LlmError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-ant-test-key";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"]
        }),
    }
}

fn question() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: "You are a weather assistant.".into(),
        messages: vec![Message::user_text("Weather in Paris?")],
        tools: vec![weather_tool()],
        max_tokens: 1024,
        temperature: Some(0.2),
        cache_ttl: Default::default(),
    }
}

/// A second turn: the model called two tools (one with malformed arguments) and got a result
/// and an error back.
fn follow_up() -> ChatRequest {
    let mut request = question();
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::Text {
                text: "Checking.".into(),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "call_bad".into(),
                name: "get_weather".into(),
                input: Value::String("{\"city\": Par".into()),
                extra: None,
            },
        ],
    });
    request.messages.push(Message {
        role: Role::User,
        content: vec![
            ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: "{\"temp_c\": 18}".into(),
                is_error: false,
            },
            ContentBlock::ToolResult {
                tool_use_id: "call_bad".into(),
                content: "the arguments were not valid JSON".into(),
                is_error: true,
            },
        ],
    });
    request
}

async fn server_answering(status: u16, body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", API_VERSION))
        .and(header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(status)
                .set_body_raw(body, "application/json")
                .insert_header("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"),
        )
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn model(server: &MockServer) -> AnthropicModel {
    AnthropicModel::new(server.uri(), ApiKey::new(KEY), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("adapter: {e}"))
}

async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "exactly one request");
    serde_json::from_slice(&requests[0].body).unwrap_or_else(|e| panic!("request body: {e}"))
}

#[tokio::test]
async fn plain_answer() {
    let server = server_answering(200, fixture("text.json")).await;
    let response = model(&server).complete(&question()).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.message.role, Role::Assistant);
    assert_eq!(response.message.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!((response.input_tokens, response.output_tokens), (412, 14));
    assert_eq!(response.model, "claude-sonnet-4-5-20250929");

    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "system": "You are a weather assistant.",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}],
            "tools": [{
                "name": "get_weather",
                "description": "Current weather for a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
            }],
            "temperature": 0.2
        })
    );
}

#[tokio::test]
async fn one_tool_call_and_the_history_sent() {
    let server = server_answering(200, fixture("tool_use.json")).await;
    let response = model(&server).complete(&follow_up()).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.message.text(), "I'll check the weather in Paris.");
    let calls = response.message.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(calls[0].input, json!({"city": "Paris", "unit": "celsius"}));
    // Cache reads and writes count as input.
    assert_eq!(response.input_tokens, 380 + 120 + 2048);
    assert_eq!(response.output_tokens, 71);

    let body = sent_body(&server).await;
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            // Malformed arguments from another provider go back as an object the model can read.
            {"type": "tool_use", "id": "call_bad", "name": "get_weather",
             "input": {"invalid_json_arguments": "{\"city\": Par"}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "{\"temp_c\": 18}"},
            {"type": "tool_result", "tool_use_id": "call_bad",
             "content": "the arguments were not valid JSON", "is_error": true}
        ]})
    );
}

#[tokio::test]
async fn several_tool_calls_in_one_turn() {
    let server = server_answering(200, fixture("tool_use_parallel.json")).await;
    let response = model(&server).complete(&question()).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let calls = response.message.tool_calls();
    let summary: Vec<(&str, &str, Value)> = calls
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str(), c.input.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "toolu_01Fd8hTXtKJ2pLk5ZrM4yWcB",
                "get_weather",
                json!({"city": "Paris"})
            ),
            (
                "toolu_01KcW3sd9pQeZ7Hf2gVbN8tL",
                "get_weather",
                json!({"city": "Tokyo"})
            ),
            (
                "toolu_01Pq2Xz8nBv5LmK3jH7gF4dS",
                "calculate",
                json!({"expression": "18 - 21"})
            ),
        ]
    );
    assert_eq!(
        sent_body(&server).await["messages"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn error_for(status: u16, name: &str) -> LlmError {
    let server = server_answering(status, fixture(name)).await;
    match model(&server).complete(&question()).await {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => {
            assert!(!e.to_string().contains(KEY), "the key leaked: {e}");
            e
        }
    }
}

#[test]
fn missing_key_names_the_variable() {
    // Only meaningful when the variable is absent, as in CI.
    if std::env::var("ANTHROPIC_API_KEY").is_ok() {
        return;
    }
    let e = AnthropicModel::from_env().map(|_| ());
    assert!(
        matches!(&e, Err(err) if err.to_string().contains("ANTHROPIC_API_KEY")),
        "{e:?}"
    );
}

// ---- Variations real servers send (fixtures and sources in tests/fixtures/anthropic/README.md).

/// What the adapter makes of a reply with `status` and the fixture `name`.
async fn replay(status: u16, name: &str) -> Result<llm_lambdas::ChatResponse, LlmError> {
    let server = server_answering(status, fixture(name)).await;
    model(&server).complete(&question()).await
}

#[tokio::test]
async fn thinking_blocks_are_skipped_and_empty_input_is_an_object() {
    let response = replay(200, "thinking_tool_use.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.message.content,
        vec![
            ContentBlock::Text {
                text: "I'll check the weather and the time.".into(),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "toolu_01B19r01rw01mr028946mr0".into(),
                name: "get_time".into(),
                input: json!({}),
                extra: None,
            },
        ]
    );
    // Cache writes and reads are input tokens too.
    assert_eq!(
        (response.input_tokens, response.output_tokens),
        (96 + 1024 + 2048, 178)
    );
}

#[tokio::test]
async fn cited_text_blocks_read_as_one_text_and_server_tools_are_skipped() {
    let response = replay(200, "web_search_citations.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert!(response.message.tool_calls().is_empty());
    assert_eq!(
        response.message.text(),
        "I'll search for when Claude Shannon was born.\nBased on the search results, Claude Shannon was born on April 30, 1916, in Petoskey, Michigan."
    );
    assert_eq!((response.input_tokens, response.output_tokens), (6039, 931));
}

#[tokio::test]
async fn stop_reasons_keep_their_meaning() {
    for (name, stop, text) in [
        (
            "pause_turn.json",
            StopReason::MaxTokens,
            "I'll research the current weather records for Paris.",
        ),
        (
            "context_window_exceeded.json",
            StopReason::MaxTokens,
            "Here is the full report on every district of Paris:",
        ),
        ("stop_sequence.json", StopReason::EndTurn, "Paris: 18 °C"),
        (
            "refusal.json",
            StopReason::EndTurn,
            llm_lambdas::providers::anthropic::REFUSAL_TEXT,
        ),
    ] {
        let response = replay(200, name).await;
        assert!(
            matches!(&response, Ok(r) if r.stop_reason == stop && r.message.text() == text && r.message.tool_calls().is_empty()),
            "{name}: {response:?}"
        );
    }
}

#[tokio::test]
async fn every_documented_error_type_maps_to_its_error_name() {
    for (status, name, expected) in [
        (402, "error_402.json", "LLM.AuthFailed"),
        (400, "error_credit_balance.json", "LLM.AuthFailed"),
        (403, "error_403.json", "LLM.AuthFailed"),
        (404, "error_404.json", "LLM.BadRequest"),
        (413, "error_413.json", "LLM.ContextTooLong"),
        (400, "error_context_limit.json", "LLM.ContextTooLong"),
        (504, "error_504.json", "LLM.ServerError"),
        // An overloaded error is retryable whatever status carries it.
        (500, "error_529.json", "LLM.Overloaded"),
    ] {
        let e = error_for(status, name).await;
        assert_eq!(e.error_name(), expected, "{name}: {e}");
    }
    let e = error_for(402, "error_402.json").await;
    assert!(e.to_string().contains("billing"), "{e}");
}

#[tokio::test]
async fn an_error_body_with_status_200_is_an_error() {
    let e = error_for(200, "error_529.json").await;
    assert!(
        matches!(&e, LlmError::Overloaded { status: 529, .. }),
        "{e:?}"
    );
    let e = error_for(200, "error_429.json").await;
    assert_eq!(e.error_name(), "LLM.RateLimited", "{e}");
}

#[tokio::test]
async fn gzip_bodies_are_decoded_and_a_stale_encoding_header_is_harmless() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(fixture("text.json").as_bytes())
        .unwrap_or_else(|e| panic!("gzip: {e}"));
    let gzipped = encoder.finish().unwrap_or_else(|e| panic!("gzip: {e}"));
    for body in [gzipped, fixture("text.json").into_bytes()] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/messages"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(body, "application/json")
                    .insert_header("content-encoding", "gzip"),
            )
            .mount(&server)
            .await;
        let response = model(&server).complete(&question()).await;
        assert!(
            matches!(&response, Ok(r) if r.message.text() == "It is 18 °C and sunny in Paris."),
            "{response:?}"
        );
    }
}

#[tokio::test]
async fn an_unanswered_tool_call_gets_an_error_result_before_the_next_question() {
    // The execution failed after the model's call; the conversation continues with a question.
    let mut request = question();
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![ContentBlock::ToolUse {
            id: "toolu_lost".into(),
            name: "get_weather".into(),
            input: json!({"city": "Paris"}),
            extra: None,
        }],
    });
    request.messages.push(Message::user_text("And in Tokyo?"));
    let server = server_answering(200, fixture("text.json")).await;
    let response = model(&server).complete(&request).await;
    assert!(response.is_ok(), "{response:?}");
    let body = sent_body(&server).await;
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_lost", "is_error": true,
             "content": "This tool call was not run: the turn ended before its result came back."},
            {"type": "text", "text": "And in Tokyo?"}
        ]})
    );
}
