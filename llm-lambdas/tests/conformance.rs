//! One table of cases run through every HTTP provider: each provider's own fixture (or its own
//! error shape) for the case, served on 127.0.0.1, and the same expectation for all.
//!
//! The cases are the replies recorded real traffic and hostile servers showed the adapters
//! getting wrong: a turn cut off while writing tool calls, a 200 that is not the provider's
//! reply, duplicate tool-call ids, a decompression bomb, absurd token counts, a 5xx saying the
//! server is misconfigured, `retry-after`, a hung server, a key echoed lowercased or in base64.
//! Fixture sources: `tests/fixtures/<provider>/README.md` ("Conformance cases").

use std::time::{Duration, Instant};

use agent_builder::{Message, StopReason, ToolSpec};
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::anthropic::AnthropicModel;
use llm_lambdas::providers::gemini::GeminiModel;
use llm_lambdas::providers::openai::OpenAiModel;
use llm_lambdas::providers::openai_responses::OpenAiResponsesModel;
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, LlmError};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-Conformance-Key-0123456789abcdef";

/// One HTTP provider, as the table needs it.
struct Api {
    name: &'static str,
    /// What [`a_success_reply_of_another_shape_is_a_named_error`] calls its reply.
    shape: &'static str,
    path: &'static str,
    model: &'static str,
    build: fn(&str, Duration) -> Box<dyn ChatModel>,
    /// The provider's error body carrying `message`.
    error_body: fn(u16, &str) -> Value,
    /// A success reply with `usage` counts set to `input`/`output`.
    usage_body: fn(Value, Value) -> Value,
}

fn anthropic(base: &str, timeout: Duration) -> Box<dyn ChatModel> {
    Box::new(AnthropicModel::new(base, ApiKey::new(KEY), timeout).unwrap_or_else(|e| panic!("{e}")))
}

fn openai(base: &str, timeout: Duration) -> Box<dyn ChatModel> {
    Box::new(
        OpenAiModel::new(format!("{base}/v1"), ApiKey::new(KEY), timeout)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn openai_responses(base: &str, timeout: Duration) -> Box<dyn ChatModel> {
    Box::new(
        OpenAiResponsesModel::new(format!("{base}/v1"), ApiKey::new(KEY), timeout)
            .unwrap_or_else(|e| panic!("{e}")),
    )
}

fn gemini(base: &str, timeout: Duration) -> Box<dyn ChatModel> {
    Box::new(GeminiModel::new(base, ApiKey::new(KEY), timeout).unwrap_or_else(|e| panic!("{e}")))
}

const APIS: [Api; 4] = [
    Api {
        name: "anthropic",
        shape: "Anthropic Messages",
        path: "/v1/messages",
        model: "claude-sonnet-4-5",
        build: anthropic,
        // <https://docs.anthropic.com/en/api/errors>
        error_body: |_, m| json!({"type": "error", "error": {"type": "api_error", "message": m}}),
        usage_body: |i, o| {
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn",
                "usage": {"input_tokens": i, "cache_read_input_tokens": 7, "output_tokens": o}})
        },
    },
    Api {
        name: "openai",
        shape: "OpenAI Chat Completions",
        path: "/v1/chat/completions",
        model: "gpt-4o-mini",
        build: openai,
        // <https://platform.openai.com/docs/guides/error-codes>
        error_body: |_, m| json!({"error": {"message": m, "type": "server_error", "param": null, "code": null}}),
        usage_body: |i, o| {
            json!({"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": i, "completion_tokens": o}})
        },
    },
    Api {
        name: "openai_responses",
        shape: "OpenAI Responses",
        path: "/v1/responses",
        model: "gpt-5-mini",
        build: openai_responses,
        // <https://platform.openai.com/docs/guides/error-codes>: the same body as Chat Completions.
        error_body: |_, m| json!({"error": {"message": m, "type": "server_error", "param": null, "code": null}}),
        usage_body: |i, o| {
            json!({"id": "resp_1", "object": "response", "status": "completed", "error": null,
                "incomplete_details": null, "model": "gpt-5-mini",
                "output": [{"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]}],
                "usage": {"input_tokens": i, "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": o, "output_tokens_details": {"reasoning_tokens": 0}}})
        },
    },
    Api {
        name: "gemini",
        shape: "Gemini generateContent",
        path: "/v1beta/models/gemini-2.5-flash:generateContent",
        model: "gemini-2.5-flash",
        build: gemini,
        // <https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes>
        error_body: |s, m| json!({"error": {"code": s, "message": m, "status": "INTERNAL"}}),
        usage_body: |i, o| {
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi."}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": i, "candidatesTokenCount": o}})
        },
    },
];

fn fixture(provider: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/{provider}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn request(api: &Api) -> ChatRequest {
    ChatRequest {
        model: api.model.into(),
        system: "You are a weather assistant.".into(),
        messages: vec![Message::user_text("Weather in Paris and Tokyo?")],
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        }],
        max_tokens: 64,
        temperature: None,
    }
}

/// A server answering `template` to the provider's endpoint (at most `times` times when given).
async fn serve(api: &Api, template: ResponseTemplate, times: Option<u64>) -> MockServer {
    let server = MockServer::start().await;
    let mut mock = Mock::given(method("POST"))
        .and(path(api.path))
        .respond_with(template);
    if let Some(n) = times {
        mock = mock.up_to_n_times(n);
    }
    mock.mount(&server).await;
    server
}

async fn complete(api: &Api, server: &MockServer) -> Result<ChatResponse, LlmError> {
    (api.build)(&server.uri(), Duration::from_secs(10))
        .complete(&request(api))
        .await
}

async fn requests(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

fn json_reply(status: u16, body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into(), "application/json")
}

fn fixtures_named(name: &str) -> impl Iterator<Item = (&'static Api, String)> + '_ {
    APIS.iter().map(move |api| (api, fixture(api.name, name)))
}

#[tokio::test]
async fn a_turn_cut_off_while_writing_tool_calls_is_max_tokens() {
    let fixtures = [
        "max_tokens_tool_use.json",
        "length_tool_call.json",
        "incomplete_max_output_tokens.json",
        "max_tokens_function_call.json",
    ];
    for (api, name) in APIS.iter().zip(fixtures) {
        let body = fixture(api.name, name);
        let server = serve(api, json_reply(200, body), None).await;
        let response = complete(api, &server).await;
        let Ok(response) = response else {
            panic!("{}: {response:?}", api.name)
        };
        assert_eq!(response.stop_reason, StopReason::MaxTokens, "{}", api.name);
        // No call reads as `{}` unless the model wrote `{}` (Anthropic's cut block says `{}`).
        for call in response.message.tool_calls() {
            if api.name.starts_with("openai") {
                assert!(call.input.is_string(), "{}: {:?}", api.name, call.input);
            }
        }
    }
}

#[tokio::test]
async fn a_success_reply_of_another_shape_is_a_named_error() {
    let bodies = [
        ("{}", "empty JSON object"),
        (
            r#"{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]}"#,
            "OpenAI Chat Completions",
        ),
        (
            r#"{"id": "msg_1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "Hi"}], "stop_reason": "end_turn"}"#,
            "Anthropic Messages",
        ),
        (
            r#"{"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}, "finishReason": "STOP"}]}"#,
            "Gemini generateContent",
        ),
        (
            r#"{"id": "resp_1", "object": "response", "status": "completed", "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi"}]}]}"#,
            "OpenAI Responses",
        ),
        ("[1, 2]", ""),
        ("<html>It works!</html>", ""),
    ];
    for api in &APIS {
        for (body, looks_like) in bodies {
            if looks_like == api.shape {
                continue;
            }
            let server = serve(api, json_reply(200, body), None).await;
            let e = match complete(api, &server).await {
                Err(e) => e,
                Ok(r) => panic!("{}: {body} read as an answer: {r:?}", api.name),
            };
            assert_eq!(
                e.error_name(),
                "LLM.ServerError",
                "{}: {body}: {e}",
                api.name
            );
            assert!(
                e.to_string().contains("documented shape"),
                "{}: {e}",
                api.name
            );
            assert!(
                e.to_string().contains(looks_like),
                "{}: {body}: {e}",
                api.name
            );
        }
    }
}

#[tokio::test]
async fn duplicate_tool_call_ids_are_made_unique() {
    for (api, body) in fixtures_named("duplicate_tool_ids.json") {
        let server = serve(api, json_reply(200, body), None).await;
        let response = complete(api, &server).await;
        let Ok(response) = response else {
            panic!("{}: {response:?}", api.name)
        };
        let calls = response.message.tool_calls();
        assert_eq!(calls.len(), 2, "{}", api.name);
        assert_ne!(calls[0].id, calls[1].id, "{}", api.name);
        assert_eq!(calls[1].id, format!("{}_2", calls[0].id), "{}", api.name);
        assert_eq!(calls[1].input, json!({"city": "Tokyo"}), "{}", api.name);
    }
}

#[tokio::test]
async fn a_decompression_bomb_stops_at_the_cap() {
    use std::io::Write;
    // 20 MB of spaces after a valid start: a few KB compressed, over the 16 MiB cap inflated.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = gz.write_all(b"{\"pad\": \"");
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..20 {
        let _ = gz.write_all(&chunk);
    }
    let _ = gz.write_all(b"\"}");
    let bomb = gz.finish().unwrap_or_default();
    assert!(bomb.len() < 100_000, "{}", bomb.len());
    for api in &APIS {
        let template = ResponseTemplate::new(200)
            .insert_header("content-encoding", "gzip")
            .set_body_raw(bomb.clone(), "application/json");
        let server = serve(api, template, None).await;
        let e = complete(api, &server).await.err();
        let Some(e) = e else {
            panic!("{}: a bomb read as an answer", api.name)
        };
        assert!(
            e.to_string()
                .contains("larger than 16 MiB once decompressed"),
            "{}: {e}",
            api.name
        );
    }
}

#[tokio::test]
async fn absurd_token_counts_never_overflow() {
    for api in &APIS {
        for (input, output) in [
            (json!(u64::MAX), json!(5)),
            (json!(1e30), json!(-3)),
            (json!("12"), json!(null)),
        ] {
            let body = (api.usage_body)(input.clone(), output.clone()).to_string();
            let server = serve(api, json_reply(200, body), None).await;
            let response = complete(api, &server).await;
            let Ok(response) = response else {
                panic!("{}: {input} {output}: {response:?}", api.name)
            };
            assert!(
                response.input_tokens <= 100_000_000 && response.output_tokens <= 100_000_000,
                "{}: {input} {output}: {response:?}",
                api.name
            );
        }
    }
}

#[tokio::test]
async fn a_5xx_saying_the_server_is_misconfigured_is_not_retried() {
    for api in &APIS {
        for (status, message) in [
            (
                500,
                "LLM Provider NOT provided. Pass in the LLM provider you are trying to call",
            ),
            (
                500,
                "model requires more system memory (5.5 GiB) than is available (3.1 GiB)",
            ),
            (501, "Not Implemented"),
            (500, "upstream is misconfigured: no deployments for model"),
        ] {
            let body = (api.error_body)(status, message).to_string();
            let server = serve(api, json_reply(status, body), None).await;
            let e = complete(api, &server).await.err();
            let Some(e) = e else {
                panic!("{}: answered", api.name)
            };
            assert_eq!(
                e.error_name(),
                "LLM.BadRequest",
                "{}: {message}: {e}",
                api.name
            );
            assert!(
                e.to_string().contains("a retry would fail the same way"),
                "{e}"
            );
            assert_eq!(requests(&server).await, 1, "{}", api.name);
        }
        // An ordinary 500 stays retryable.
        let body = (api.error_body)(500, "Internal server error").to_string();
        let server = serve(api, json_reply(500, body), None).await;
        let e = complete(api, &server).await.err();
        assert_eq!(
            e.map(|e| e.error_name()),
            Some("LLM.ServerError"),
            "{}",
            api.name
        );
    }
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_inside_the_call() {
    for api in &APIS {
        let server = MockServer::start().await;
        let limited = (api.error_body)(429, "Rate limit reached").to_string();
        Mock::given(method("POST"))
            .and(path(api.path))
            .respond_with(json_reply(429, limited).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        let ok = (api.usage_body)(json!(10), json!(2)).to_string();
        Mock::given(method("POST"))
            .and(path(api.path))
            .respond_with(json_reply(200, ok))
            .mount(&server)
            .await;
        let started = Instant::now();
        let response = complete(api, &server).await;
        assert!(response.is_ok(), "{}: {response:?}", api.name);
        assert_eq!(requests(&server).await, 2, "{}", api.name);
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "{}",
            api.name
        );
    }
}

#[tokio::test]
async fn a_long_retry_after_goes_to_the_state_machine() {
    for api in &APIS {
        let limited = (api.error_body)(429, "Rate limit reached").to_string();
        let template = json_reply(429, limited).insert_header("retry-after", "3600");
        let server = serve(api, template, None).await;
        let started = Instant::now();
        let e = complete(api, &server).await.err();
        assert!(
            matches!(
                &e,
                Some(LlmError::RateLimited {
                    retry_after_seconds: Some(3600),
                    ..
                })
            ),
            "{}: {e:?}",
            api.name
        );
        assert_eq!(requests(&server).await, 1, "{}", api.name);
        assert!(started.elapsed() < Duration::from_secs(2), "{}", api.name);
    }
}

#[tokio::test]
async fn a_hung_server_times_out_within_the_budget() {
    for api in &APIS {
        // A rate limit asking for 1 s, then a server that never answers in time: the wait and
        // the hung attempt together stay within the one call budget.
        let server = MockServer::start().await;
        let limited = (api.error_body)(429, "Rate limit reached").to_string();
        Mock::given(method("POST"))
            .and(path(api.path))
            .respond_with(json_reply(429, limited).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(api.path))
            .respond_with(json_reply(200, "{}").set_delay(Duration::from_secs(30)))
            .mount(&server)
            .await;
        let started = Instant::now();
        let e = (api.build)(&server.uri(), Duration::from_secs(3))
            .complete(&request(api))
            .await
            .err();
        let elapsed = started.elapsed();
        assert_eq!(
            e.map(|e| e.error_name()),
            Some("LLM.Timeout"),
            "{}",
            api.name
        );
        assert!(
            elapsed < Duration::from_millis(3500),
            "{}: {elapsed:?}",
            api.name
        );
    }
}

#[tokio::test]
async fn a_key_echoed_lowercased_or_in_base64_is_redacted() {
    let encoded = "c2stQ29uZm9ybWFuY2UtS2V5LTAxMjM0NTY3ODlhYmNkZWY="; // base64 of KEY
    for api in &APIS {
        for echoed in [
            KEY.to_ascii_lowercase(),
            KEY.to_ascii_uppercase(),
            format!("Basic {encoded}"),
        ] {
            let body = (api.error_body)(401, &format!("Invalid key: {echoed}")).to_string();
            let server = serve(api, json_reply(401, body), None).await;
            let e = complete(api, &server).await.err();
            let text = format!(
                "{e:?} {}",
                e.as_ref().map(|e| e.to_string()).unwrap_or_default()
            );
            assert!(
                !text.to_ascii_lowercase().contains("conformance-key"),
                "{}: {text}",
                api.name
            );
            assert!(!text.contains("Q29uZm9ybWFuY2Ut"), "{}: {text}", api.name);
        }
    }
}

#[tokio::test]
async fn llama_cpp_context_overflow_is_context_too_long() {
    let api = &APIS[1];
    let server = serve(
        api,
        json_reply(400, fixture("openai", "error_llamacpp_context.json")),
        None,
    )
    .await;
    let e = complete(api, &server).await.err();
    assert_eq!(e.map(|e| e.error_name()), Some("LLM.ContextTooLong"));
}

/// A request whose tools and system prompt pass the minimum cacheable length, over `turns`
/// turns of tool calls and results.
fn long_request(model: &str, turns: usize) -> ChatRequest {
    use agent_builder::{ContentBlock, Role};
    let mut messages = vec![Message::user_text("Plan my week of travel.")];
    for turn in 0..turns {
        messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: format!("toolu_{turn}"),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            }],
        });
        messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: format!("toolu_{turn}"),
                content: "Sunny, 18 °C. ".repeat(200),
                is_error: false,
            }],
        });
    }
    ChatRequest {
        model: model.into(),
        system: "You are a careful travel assistant. ".repeat(150),
        messages,
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        max_tokens: 512,
        temperature: None,
    }
}

/// Where the breakpoints of a Messages body are: `system`, `tool N`, `message N`.
fn breakpoints(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(blocks) = body["system"].as_array() {
        for b in blocks {
            if b.get("cache_control").is_some() {
                found.push("system".to_string());
            }
        }
    }
    for (i, t) in body["tools"].as_array().into_iter().flatten().enumerate() {
        if t.get("cache_control").is_some() {
            found.push(format!("tool {i}"));
        }
    }
    for (i, m) in body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        for b in m["content"].as_array().into_iter().flatten() {
            if b.get("cache_control").is_some() {
                found.push(format!("message {i}"));
            }
        }
    }
    found
}

#[test]
fn anthropic_cache_breakpoints_follow_the_conversation() {
    use llm_lambdas::providers::anthropic::{PromptCache, to_request_with};
    let body = |request: &ChatRequest, cache| {
        serde_json::to_value(to_request_with(request, cache)).unwrap_or_default()
    };
    // Turn 1: the shared prefix (system) and the question.
    let first = long_request("claude-sonnet-4-5", 0);
    assert_eq!(
        breakpoints(&body(&first, PromptCache::FiveMinutes)),
        ["system", "message 0"]
    );
    // Turn 3: the system, the last results (written now) and the ones before (read now).
    let third = long_request("claude-sonnet-4-5", 2);
    let b = body(&third, PromptCache::FiveMinutes);
    assert_eq!(breakpoints(&b), ["system", "message 2", "message 4"]);
    assert_eq!(
        b["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    // Never more than the API's four, whatever the length.
    let long = body(
        &long_request("claude-sonnet-4-5", 40),
        PromptCache::FiveMinutes,
    );
    assert!(breakpoints(&long).len() <= 4);
    // The one-hour cache says so on every breakpoint.
    let hour = body(&third, PromptCache::OneHour);
    assert_eq!(
        hour["messages"][4]["content"][0]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );
    // Off: the plain body, `system` a string.
    let off = body(&third, PromptCache::Off);
    assert!(breakpoints(&off).is_empty());
    assert!(off["system"].is_string());
    // Below the minimum (Haiku 4.5 caches from 4,096 tokens): no breakpoint on the short prefix.
    let haiku = body(
        &long_request("claude-haiku-4-5", 0),
        PromptCache::FiveMinutes,
    );
    assert!(breakpoints(&haiku).is_empty(), "{:?}", breakpoints(&haiku));
    // A short request (the plain question of the other tests): no breakpoint at all.
    let short = body(&request(&APIS[0]), PromptCache::FiveMinutes);
    assert!(breakpoints(&short).is_empty());
    assert!(short["system"].is_string());
}
