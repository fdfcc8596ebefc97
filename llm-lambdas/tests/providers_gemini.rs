//! The Gemini adapter against a local server answering with `generateContent`'s documented
//! shapes (`tests/fixtures/gemini/`, sources in its README). Each test checks the request the
//! adapter sent as well as what it parsed.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Role, StopReason, ToolSpec};
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::gemini::{DUMMY_THOUGHT_SIGNATURE, GeminiModel};
use llm_lambdas::{ChatModel, ChatRequest, LlmError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "AIza-test-key";
const MODEL: &str = "gemini-2.5-flash";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/gemini/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "Current weather for a city".into(),
        // As schemars writes it: keywords Gemini rejects must not reach it.
        input_schema: json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": "WeatherInput",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "description": "The city"},
                "days": {"type": ["integer", "null"], "format": "uint8", "minimum": 0.0}
            },
            "required": ["city"]
        }),
    }
}

fn question(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: "You are a weather assistant.".into(),
        messages: vec![Message::user_text("Weather in Paris?")],
        tools: vec![weather_tool()],
        max_tokens: 1024,
        temperature: Some(0.5),
        cache_ttl: Default::default(),
    }
}

/// A second turn: the model called two tools (one with malformed arguments, from another
/// provider) and got a result and an error back.
fn follow_up(model: &str) -> ChatRequest {
    let mut request = question(model);
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![
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

async fn server_answering(model: &str, status: u16, body: String) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:generateContent")))
        .and(header("x-goog-api-key", KEY))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn adapter(server: &MockServer) -> GeminiModel {
    GeminiModel::new(server.uri(), ApiKey::new(KEY), Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("adapter: {e}"))
}

async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "exactly one request");
    // The key travels in a header, never in the URL.
    assert!(!requests[0].url.as_str().contains(KEY));
    serde_json::from_slice(&requests[0].body).unwrap_or_else(|e| panic!("request body: {e}"))
}

#[tokio::test]
async fn plain_answer() {
    let server = server_answering(MODEL, 200, fixture("text.json")).await;
    let response = adapter(&server).complete(&question(MODEL)).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.message.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!((response.input_tokens, response.output_tokens), (412, 14));
    assert_eq!(response.model, "gemini-2.5-flash");

    assert_eq!(
        sent_body(&server).await,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
            "systemInstruction": {"parts": [{"text": "You are a weather assistant."}]},
            "tools": [{"functionDeclarations": [{
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city"},
                        "days": {"type": "integer", "nullable": true, "minimum": 0.0}
                    },
                    "required": ["city"]
                }
            }]}],
            "generationConfig": {"maxOutputTokens": 1024, "temperature": 0.5}
        })
    );
}

#[tokio::test]
async fn one_tool_call_and_the_history_sent() {
    let server = server_answering(MODEL, 200, fixture("function_call.json")).await;
    let response = adapter(&server).complete(&follow_up(MODEL)).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let calls = response.message.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].name, "get_weather");
    assert_eq!(calls[0].input, json!({"city": "Paris", "unit": "celsius"}));
    // No id in Gemini's call: a stable one is made.
    assert!(calls[0].id.starts_with("gemini_0_"), "{}", calls[0].id);
    // Thinking tokens are billed as output.
    assert_eq!(
        (response.input_tokens, response.output_tokens),
        (380, 22 + 41)
    );

    let body = sent_body(&server).await;
    assert_eq!(
        body["contents"][1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_weather", "args": {"invalid_json_arguments": "{\"city\": Par"}}}
        ]})
    );
    // Results are matched to their calls by name, in the calls' order.
    assert_eq!(
        body["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"output": "{\"temp_c\": 18}"}}},
            {"functionResponse": {"name": "get_weather", "response": {"error": "the arguments were not valid JSON"}}}
        ]})
    );
}

#[tokio::test]
async fn newer_models_get_a_thought_signature_on_replayed_calls() {
    let model = "gemini-3-pro-preview";
    let server = server_answering(model, 200, fixture("text.json")).await;
    let response = adapter(&server).complete(&follow_up(model)).await;
    assert!(response.is_ok(), "{response:?}");
    let body = sent_body(&server).await;
    let parts = &body["contents"][1]["parts"];
    assert_eq!(parts[0]["thoughtSignature"], DUMMY_THOUGHT_SIGNATURE);
    // Only the first call of a parallel turn carries one.
    assert!(parts[1].get("thoughtSignature").is_none());
}

#[tokio::test]
async fn call_ids_are_kept_when_gemini_sends_them() {
    let server = server_answering(MODEL, 200, fixture("function_call_with_id.json")).await;
    let response = adapter(&server).complete(&question(MODEL)).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.message.tool_calls()[0].id, "fc_7d1b2c3a");
    sent_body(&server).await;
}

#[tokio::test]
async fn several_tool_calls_in_one_turn() {
    let server = server_answering(MODEL, 200, fixture("function_calls_parallel.json")).await;
    let model = adapter(&server);
    let response = model.complete(&question(MODEL)).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.message.text(), "I'll look up both cities.");
    let calls = response.message.tool_calls();
    let names: Vec<(&str, Value)> = calls
        .iter()
        .map(|c| (c.name.as_str(), c.input.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("get_weather", json!({"city": "Paris"})),
            ("get_weather", json!({"city": "Tokyo"})),
            ("calculate", json!({"expression": "18 - 21"})),
        ]
    );
    // Distinct ids, and the same ones when the same reply is converted again.
    let ids: std::collections::BTreeSet<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 3);
    let again = llm_lambdas::providers::gemini::from_response_json(
        &fixture("function_calls_parallel.json"),
        MODEL,
    );
    assert!(matches!(&again, Ok(r) if r.message.tool_calls() == calls));
    sent_body(&server).await;
}

#[tokio::test]
async fn malformed_function_call_is_a_retryable_error() {
    let server = server_answering(MODEL, 200, fixture("malformed_function_call.json")).await;
    let e = adapter(&server).complete(&question(MODEL)).await;
    assert!(
        matches!(&e, Err(err @ LlmError::ServerError { .. }) if err.to_string().contains("MALFORMED_FUNCTION_CALL")),
        "{e:?}"
    );
    sent_body(&server).await;
}

async fn error_for(status: u16, name: &str) -> LlmError {
    let server = server_answering(MODEL, status, fixture(name)).await;
    match adapter(&server).complete(&question(MODEL)).await {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => {
            assert!(!e.to_string().contains(KEY), "the key leaked: {e}");
            e
        }
    }
}

// ---- Variations real servers send (fixtures and sources in tests/fixtures/gemini/README.md).

/// What the adapter makes of a reply with `status` and the fixture `name`.
async fn replay(status: u16, name: &str) -> Result<llm_lambdas::ChatResponse, LlmError> {
    let server = server_answering(MODEL, status, fixture(name)).await;
    adapter(&server).complete(&question(MODEL)).await
}

#[tokio::test]
async fn thoughts_are_skipped_and_calls_keep_their_order() {
    let response = replay(200, "thinking_function_call.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.message.text(), "");
    let calls = response.message.tool_calls();
    let summary: Vec<(&str, Value)> = calls
        .iter()
        .map(|c| (c.name.as_str(), c.input.clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("get_weather", json!({"city": "Paris"})),
            ("get_time", json!({}))
        ]
    );
    assert!(calls[0].id.starts_with("gemini_0_") && calls[1].id.starts_with("gemini_1_"));
    // Tool-use prompt tokens are input; thinking tokens are output (cached ones are already in
    // promptTokenCount).
    assert_eq!(
        (response.input_tokens, response.output_tokens),
        (1200 + 40, 30 + 150)
    );
    assert_eq!(response.model, "gemini-2.5-pro");
}

#[tokio::test]
async fn text_parts_join_and_signatures_on_text_are_ignored() {
    let response = replay(200, "text_parts_with_signature.json").await;
    assert!(
        matches!(&response, Ok(r) if r.message.text() == "It is 18 °C and sunny in Paris."
            && r.stop_reason == StopReason::EndTurn
            && r.model == "gemini-3-pro-preview"),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_budget_spent_on_thinking_is_a_cut_short_answer() {
    let response = replay(200, "max_tokens_thinking_only.json").await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::MaxTokens
            && r.message.content.is_empty()
            && (r.input_tokens, r.output_tokens) == (412, 1023)),
        "{response:?}"
    );
}

#[tokio::test]
async fn blocked_answers_and_prompts_say_why() {
    for (name, reason) in [
        ("safety_no_content.json", "SAFETY"),
        ("prompt_blocked.json", "PROHIBITED_CONTENT"),
        ("unexpected_tool_call.json", "UNEXPECTED_TOOL_CALL"),
    ] {
        let e = replay(200, name).await;
        // Not retried (`LLM.BadRequest`), and no HTTP 400 advice: the reply was a 200.
        assert!(
            matches!(&e, Err(err @ LlmError::Invalid { .. })
                if err.to_string().contains(reason)
                    && err.error_name() == "LLM.BadRequest"
                    && !err.to_string().contains("HTTP")),
            "{name}: {e:?}"
        );
    }
}

#[tokio::test]
async fn more_error_shapes() {
    let e = error_for(429, "error_429_array.json").await;
    assert!(
        matches!(
            &e,
            LlmError::RateLimited {
                retry_after_seconds: Some(9),
                ..
            }
        ),
        "{e:?}"
    );
    for (status, name, expected) in [
        (404, "error_404.json", "LLM.BadRequest"),
        (400, "error_location.json", "LLM.BadRequest"),
        (504, "error_504.json", "LLM.ServerError"),
        // A proxy's 200 carrying Google's error body: its `code` decides.
        (200, "error_503.json", "LLM.Overloaded"),
        (200, "error_429.json", "LLM.RateLimited"),
    ] {
        let e = error_for(status, name).await;
        assert_eq!(e.error_name(), expected, "{name}: {e}");
    }
}
