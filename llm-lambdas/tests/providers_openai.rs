//! The OpenAI adapter against a local server answering with the Chat Completions API's
//! documented shapes (`tests/fixtures/openai/`, sources in its README). Each test checks the
//! request the adapter sent as well as what it parsed. The same adapter serves any
//! OpenAI-compatible server through its base URL.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Role, StopReason, ToolSpec};
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::openai::{MaxTokensField, OpenAiModel, from_response_json};
use llm_lambdas::{ChatModel, ChatRequest, LlmError};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-proj-test-key";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
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
        model: "gpt-4o-mini".into(),
        system: "You are a weather assistant.".into(),
        messages: vec![Message::user_text("Weather in Paris?")],
        tools: vec![weather_tool()],
        max_tokens: 1024,
        temperature: None,
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
            ContentBlock::ToolUse {
                id: "call_1".into(),
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
                tool_use_id: "call_1".into(),
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
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn model(server: &MockServer) -> OpenAiModel {
    OpenAiModel::new(
        format!("{}/v1", server.uri()),
        ApiKey::new(KEY),
        Duration::from_secs(5),
    )
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
    assert_eq!(response.message.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!((response.input_tokens, response.output_tokens), (412, 14));
    assert_eq!(response.model, "gpt-4o-mini-2024-07-18");

    assert_eq!(
        sent_body(&server).await,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a weather assistant."},
                {"role": "user", "content": "Weather in Paris?"}
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
            }}],
            // A compatible server's base URL: the field they all read.
            "max_tokens": 1024
        })
    );
}

#[tokio::test]
async fn one_tool_call_and_the_history_sent() {
    let server = server_answering(200, fixture("tool_call.json")).await;
    let response = model(&server)
        .with_max_tokens_field(MaxTokensField::MaxCompletionTokens)
        .complete(&follow_up())
        .await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.message.text(), "");
    let calls = response.message.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_12345xyz");
    assert_eq!(calls[0].input, json!({"city": "Paris", "unit": "celsius"}));

    let body = sent_body(&server).await;
    assert_eq!(body["max_completion_tokens"], 1024);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(
        body["messages"][2],
        json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            // Malformed arguments go back exactly as the model wrote them.
            {"id": "call_bad", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": Par"}}
        ]})
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "content": "{\"temp_c\": 18}", "tool_call_id": "call_1"})
    );
    assert_eq!(
        body["messages"][4],
        json!({"role": "tool", "content": "Error: the arguments were not valid JSON", "tool_call_id": "call_bad"})
    );
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn several_tool_calls_in_one_turn() {
    let server = server_answering(200, fixture("tool_calls_parallel.json")).await;
    let response = model(&server).complete(&question()).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let summary: Vec<(String, String, Value)> = response
        .message
        .tool_calls()
        .into_iter()
        .map(|c| (c.id, c.name, c.input))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "call_JmG2Xb7qH3xvN8kP1sR4tY6u".to_string(),
                "get_weather".to_string(),
                json!({"city": "Paris"})
            ),
            (
                "call_Qw9Er5Ty7Ui3Op1As2Df4Gh6j".to_string(),
                "get_weather".to_string(),
                json!({"city": "Tokyo"})
            ),
            (
                "call_Zx8Cv6Bn4Mm2Lk0Jh9Gf7Ds5a".to_string(),
                "calculate".to_string(),
                json!({"expression": "18 - 21"})
            ),
        ]
    );
    assert_eq!(
        sent_body(&server).await["messages"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn malformed_arguments_stay_a_string_for_the_handler() {
    let server = server_answering(200, fixture("tool_call_malformed.json")).await;
    let response = model(&server).complete(&question()).await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let calls = response.message.tool_calls();
    assert_eq!(calls[0].id, "call_Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8");
    assert_eq!(
        calls[0].input,
        Value::String("{\"city\": \"Paris\", \"unit\": celsius".into())
    );
    sent_body(&server).await;
}

#[test]
fn compatible_servers_arguments_as_object_or_empty() {
    let body = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3.1",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "",
            "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                {"id": "call_b", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}
    });
    let response = from_response_json(&body.to_string());
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    // Ollama says `stop` with tool calls: the calls decide.
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    let calls = response.message.tool_calls();
    assert_eq!(calls[0].input, json!({"city": "Paris"}));
    // Empty arguments are not `{}`: the handler answers them with an error result.
    assert_eq!(calls[1].input, json!(""));
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

#[tokio::test]
async fn local_server_without_key_gets_no_authorization_header() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(fixture("text.json"), "application/json"),
        )
        .mount(&server)
        .await;
    let model = OpenAiModel::new(
        format!("{}/v1/", server.uri()),
        ApiKey::new(""),
        Duration::from_secs(5),
    )
    .unwrap_or_else(|e| panic!("adapter: {e}"));
    let response = model.complete(&question()).await;
    assert!(response.is_ok(), "{response:?}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].headers.contains_key("authorization"));
}

// ---- Variations real servers send (fixtures and sources in tests/fixtures/openai/README.md).

/// What the adapter makes of a reply with `status` and the fixture `name`.
async fn replay(status: u16, name: &str) -> Result<llm_lambdas::ChatResponse, LlmError> {
    let server = server_answering(status, fixture(name)).await;
    model(&server).complete(&question()).await
}

#[tokio::test]
async fn refusals_and_filtered_answers_read_as_answers() {
    let response = replay(200, "refusal.json").await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::EndTurn
            && r.message.text() == "I'm sorry, I can't assist with that request."),
        "{response:?}"
    );
    let response = replay(200, "content_filter.json").await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::EndTurn
            && r.message.text() == llm_lambdas::providers::openai::CONTENT_FILTER_TEXT),
        "{response:?}"
    );
}

#[tokio::test]
async fn annotations_and_token_details_do_not_change_the_answer() {
    let response = replay(200, "annotations_reasoning_usage.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(
        response.message.text(),
        "Paris is at 18 °C today, per Météo-France."
    );
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    // Cached tokens are part of prompt_tokens, reasoning tokens of completion_tokens.
    assert_eq!((response.input_tokens, response.output_tokens), (2006, 300));
    assert_eq!(response.model, "gpt-5-mini-2025-08-07");
}

#[tokio::test]
async fn reasoning_content_is_not_part_of_the_answer() {
    let response = replay(200, "deepseek_reasoning.json").await;
    assert!(
        matches!(&response, Ok(r) if r.message.text() == "It is 18 °C and sunny in Paris."
            && (r.input_tokens, r.output_tokens) == (412, 64)),
        "{response:?}"
    );
}

#[tokio::test]
async fn compatible_servers_tool_calls() {
    // (fixture, expected calls): Ollama says `stop` with its call; Groq writes "null" for no
    // arguments; vLLM has `content: null` and its own ids; the legacy `function_call`.
    /// A call as (id, tool, input); an empty id means "made by the adapter".
    type Call<'a> = (&'a str, &'a str, Value);
    let cases: [(&str, Vec<Call<'_>>); 4] = [
        (
            "ollama_tool_call.json",
            vec![("call_4vlhkq2n", "get_weather", json!({"city": "Paris"}))],
        ),
        (
            "groq_tool_call.json",
            vec![
                ("call_d5wg", "get_weather", json!({"city": "Paris"})),
                ("call_e6xh", "get_time", json!({})),
            ],
        ),
        (
            "vllm_tool_call.json",
            vec![(
                "chatcmpl-tool-8a2b3c4d5e6f47a8b9c0d1e2f3a4b5c6",
                "get_weather",
                json!({"city": "Paris"}),
            )],
        ),
        (
            "function_call_legacy.json",
            vec![("", "get_weather", json!({"city": "Paris"}))],
        ),
    ];
    for (name, expected) in cases {
        let response = replay(200, name).await;
        let Ok(response) = response else {
            panic!("{name}: {response:?}")
        };
        assert_eq!(response.stop_reason, StopReason::ToolUse, "{name}");
        assert_eq!(response.message.text(), "", "{name}");
        let calls = response.message.tool_calls();
        assert_eq!(calls.len(), expected.len(), "{name}");
        for (call, (id, tool, input)) in calls.iter().zip(expected) {
            if id.is_empty() {
                // No id on the wire: a stable one is made.
                assert!(call.id.starts_with("call_0_"), "{name}: {}", call.id);
            } else {
                assert_eq!(call.id, id, "{name}");
            }
            assert_eq!((call.name.as_str(), &call.input), (tool, &input), "{name}");
        }
    }
}

#[test]
fn arguments_in_every_spelling() {
    use llm_lambdas::providers::openai::parse_arguments;
    assert_eq!(parse_arguments(json!("")), json!(""));
    assert_eq!(parse_arguments(json!("null")), json!({}));
    assert_eq!(parse_arguments(Value::Null), json!({}));
    assert_eq!(parse_arguments(json!({"a": 1})), json!({"a": 1}));
    assert_eq!(parse_arguments(json!("{\"a\": 1}")), json!({"a": 1}));
    // Encoded twice (a model or a proxy that stringified the string).
    assert_eq!(
        parse_arguments(json!("\"{\\\"a\\\": 1}\"")),
        json!({"a": 1})
    );
    // Not JSON: the raw text stays, for the handler's error result.
    assert_eq!(parse_arguments(json!("{\"a\": ")), json!("{\"a\": "));
}

#[tokio::test]
async fn every_error_shape_maps_to_its_error_name() {
    for (status, name, expected) in [
        // 429, but a billing problem a retry cannot cure.
        (429, "error_insufficient_quota.json", "LLM.AuthFailed"),
        // Groq: the model's tool call could not be parsed; another sample usually works.
        (400, "error_groq_tool_use_failed.json", "LLM.ServerError"),
        (404, "error_ollama_not_found.json", "LLM.BadRequest"),
        (404, "error_string.json", "LLM.BadRequest"),
        (400, "error_vllm_context.json", "LLM.ContextTooLong"),
        (400, "error_xai_context.json", "LLM.ContextTooLong"),
        // OpenRouter answers 200 with the upstream error and its code.
        (200, "error_openrouter_200.json", "LLM.RateLimited"),
        (200, "error_insufficient_quota.json", "LLM.AuthFailed"),
    ] {
        let e = error_for(status, name).await;
        assert_eq!(e.error_name(), expected, "{name}: {e}");
    }
    let e = error_for(429, "error_insufficient_quota.json").await;
    assert!(e.to_string().contains("billing"), "{e}");
    let e = error_for(400, "error_groq_tool_use_failed.json").await;
    assert!(e.to_string().contains("<function=get_weather>"), "{e}");
    let e = error_for(404, "error_string.json").await;
    assert!(e.to_string().contains("model 'llama9' not found"), "{e}");
}

#[tokio::test]
async fn history_with_an_unanswered_call_is_repaired() {
    let mut request = question();
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![ContentBlock::ToolUse {
            id: "call_lost".into(),
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
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["role"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "user"]);
    assert_eq!(body["messages"][3]["tool_call_id"], "call_lost");
}

#[test]
fn reasoning_models_get_no_temperature() {
    use llm_lambdas::providers::openai::{takes_temperature, to_request};
    for model in [
        "o1",
        "o3-mini",
        "o4-mini-2025-04-16",
        "gpt-5",
        "gpt-5-mini",
        "openai/gpt-5-nano",
    ] {
        assert!(!takes_temperature(model), "{model}");
        let mut request = question();
        request.model = model.into();
        assert_eq!(
            to_request(&request, MaxTokensField::MaxCompletionTokens).temperature,
            None
        );
    }
    for model in [
        "gpt-4o-mini",
        "gpt-4.1",
        "gpt-5-chat-latest",
        "llama3.1:8b",
        "o1x",
        "deepseek-chat",
    ] {
        assert!(takes_temperature(model), "{model}");
    }
}

#[tokio::test]
async fn a_think_block_in_content_is_not_part_of_the_answer() {
    let response = replay(200, "think_in_content.json").await;
    assert!(
        matches!(&response, Ok(r) if r.message.text() == "It is 18 °C and sunny in Paris."),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_custom_tool_call_does_not_break_the_reply() {
    let response = replay(200, "custom_tool_call.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    let calls = response.message.tool_calls();
    assert_eq!(calls.len(), 2);
    // Free-form input is not JSON: it stays a string, which the handler reports to the model.
    assert_eq!(
        (
            calls[0].id.as_str(),
            calls[0].name.as_str(),
            &calls[0].input
        ),
        ("call_Cu5t0m1nPuT", "calculate", &json!("18 - 21"))
    );
    assert_eq!(calls[1].input, json!({"city": "Paris"}));
    assert_eq!(response.stop_reason, StopReason::ToolUse);
}
