//! One table of cases run through every HTTP provider: each provider's own fixture (or its own
//! error shape) for the case, served on 127.0.0.1, and the same expectation for all.
//!
//! The cases are the replies recorded real traffic and hostile servers showed the adapters
//! getting wrong: a turn cut off while writing tool calls, a 200 that is not the provider's
//! reply, duplicate tool-call ids, a decompression bomb, absurd token counts, a 5xx saying the
//! server is misconfigured, `retry-after`, a hung server, a key echoed lowercased or in base64.
//! Also the cases every provider had its own copy of (an error status and its error name, a
//! rate limit's wait, a slow reply, an answer cut off at the limit), now once for all, and the
//! Responses API's own cases (`responses_*`).
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
        cache_ttl: Default::default(),
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
        cache_ttl: Default::default(),
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

/// The Responses API's own cases: fixtures in `tests/fixtures/openai_responses/` (sources in its
/// README), served on 127.0.0.1.
const RESPONSES: &Api = &APIS[2];

async fn responses_reply(status: u16, name: &str) -> Result<ChatResponse, LlmError> {
    let server = serve(
        RESPONSES,
        json_reply(status, fixture("openai_responses", name)),
        None,
    )
    .await;
    complete(RESPONSES, &server).await
}

#[tokio::test]
async fn responses_replies_keep_their_meaning() {
    use agent_builder::ContentBlock;
    let text = responses_reply(200, "text.json").await;
    let Ok(text) = text else { panic!("{text:?}") };
    assert_eq!(
        text.message.text(),
        "It is 18 °C and sunny in Paris, and 21 °C in Tokyo."
    );
    assert_eq!(text.stop_reason, StopReason::EndTurn);
    assert_eq!((text.input_tokens, text.output_tokens), (36, 18));
    assert_eq!(text.model, "gpt-4.1-2025-04-14");
    assert!(text.message.content.iter().all(|b| b.extra().is_none()));

    // Parallel calls after a reasoning item: the item rides on the first call, for this model.
    let calls = responses_reply(200, "function_calls_parallel.json").await;
    let Ok(calls) = calls else {
        panic!("{calls:?}")
    };
    assert_eq!(calls.stop_reason, StopReason::ToolUse);
    let summary: Vec<(String, String, Value)> = calls
        .message
        .tool_calls()
        .into_iter()
        .map(|c| (c.id, c.name, c.input))
        .collect();
    assert_eq!(
        summary,
        [
            (
                "call_Ks2t6dUe9Q0m3Z7yV1pXa4Bc".to_string(),
                "get_weather".to_string(),
                json!({"city": "Paris"})
            ),
            (
                "call_Lm8n0pQr2St4Uv6Wx8Yz0Ab1".to_string(),
                "get_weather".to_string(),
                json!({"city": "Tokyo"})
            ),
        ]
    );
    let extra = calls.message.content[0].extra();
    assert_eq!(
        extra.map(|e| (e.provider, e.model.as_str(), e.reasoning.len())),
        Some((agent_builder::Provider::OpenAi, "gpt-5-mini", 1))
    );
    assert_eq!(
        extra.map(|e| e.reasoning[0]["encrypted_content"].clone()),
        Some(json!(
            "gAAAAABorw4gRk9wQ2xhc3NpZmllZEVuY3J5cHRlZFJlYXNvbmluZ0ZvclBhcmlzQW5kVG9reW8="
        ))
    );
    assert!(calls.message.content[1].extra().is_none());
    assert_eq!((calls.input_tokens, calls.output_tokens), (82, 214));

    // A reasoning item before the answer rides on its text; cached tokens are part of the input.
    let reasoned = responses_reply(200, "reasoning_text.json").await;
    let Ok(reasoned) = reasoned else {
        panic!("{reasoned:?}")
    };
    assert_eq!(reasoned.message.text(), "Tokyo is 3 °C warmer than Paris.");
    assert!(matches!(
        &reasoned.message.content[..],
        [ContentBlock::Text { extra: Some(e), .. }] if e.reasoning.len() == 1
    ));
    assert_eq!((reasoned.input_tokens, reasoned.output_tokens), (1404, 96));

    // Out of budget while thinking: cut short, nothing to store but the (empty) turn.
    let thinking = responses_reply(200, "incomplete_reasoning_only.json").await;
    let Ok(thinking) = thinking else {
        panic!("{thinking:?}")
    };
    assert_eq!(thinking.stop_reason, StopReason::MaxTokens);
    assert!(thinking.message.content.is_empty(), "{thinking:?}");

    // A refusal is the answer.
    let refusal = responses_reply(200, "refusal.json").await;
    assert!(
        matches!(&refusal, Ok(r) if r.message.text() == "I'm sorry, I can't help with that."
            && r.stop_reason == StopReason::EndTurn),
        "{refusal:?}"
    );
}

#[tokio::test]
async fn responses_errors_map_to_their_names() {
    // The error statuses are in `every_error_status_maps_to_its_error_name`; here, a 200 whose
    // response failed, or a gateway's error in a 200: the body's `error` decides.
    for (status, name, expected) in [
        (200, "failed_server_error.json", "LLM.ServerError"),
        (200, "error_context.json", "LLM.ContextTooLong"),
        (200, "error_429.json", "LLM.RateLimited"),
    ] {
        let e = responses_reply(status, name).await.err();
        assert_eq!(
            e.as_ref().map(|e| e.error_name()),
            Some(expected),
            "{status} {name}: {e:?}"
        );
    }
}

/// The body sent to `model` on the second turn of a conversation whose first turn gpt-5-mini
/// answered with `function_calls_parallel.json` (a reasoning item, two calls), the calls answered
/// by a result and an error.
async fn second_responses_body(model: &str) -> Value {
    let server = serve(
        RESPONSES,
        json_reply(200, fixture("openai_responses", "text.json")),
        None,
    )
    .await;
    let first = llm_lambdas::providers::openai_responses::from_response_json(
        &fixture("openai_responses", "function_calls_parallel.json"),
        "gpt-5-mini",
    );
    let Ok(first) = first else {
        panic!("{first:?}")
    };
    let mut request = request(RESPONSES);
    request.model = model.into();
    request.temperature = Some(0.2);
    let results: Vec<agent_builder::ToolResult> = first
        .message
        .tool_calls()
        .iter()
        .enumerate()
        .map(|(i, c)| match i {
            0 => agent_builder::ToolResult::ok(c.id.clone(), "{\"temp_c\": 18}"),
            _ => agent_builder::ToolResult::error(c.id.clone(), "the service timed out"),
        })
        .collect();
    request.messages.push(first.message);
    request.messages.push(Message::tool_results(&results));
    let model = (RESPONSES.build)(&server.uri(), Duration::from_secs(10));
    let reply = model.complete(&request).await;
    assert!(reply.is_ok(), "{reply:?}");
    let sent = server.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 1);
    serde_json::from_slice(&sent[0].body).unwrap_or_default()
}

#[tokio::test]
async fn responses_request_is_one_the_api_accepts_and_sends_reasoning_back() {
    // Field names and types per <https://platform.openai.com/docs/api-reference/responses/create>.
    let body = second_responses_body("gpt-5-mini").await;
    assert_eq!(
        body,
        json!({
            "model": "gpt-5-mini",
            "instructions": "You are a weather assistant.",
            "input": [
                {"type": "message", "role": "user", "content": "Weather in Paris and Tokyo?"},
                // The reasoning item, verbatim, right before the call that followed it.
                {
                    "id": "rs_68af0e2049c081a0a1b2c3d4e5f60718293a4b5c6d7e8f90",
                    "type": "reasoning",
                    "summary": [],
                    "encrypted_content": "gAAAAABorw4gRk9wQ2xhc3NpZmllZEVuY3J5cHRlZFJlYXNvbmluZ0ZvclBhcmlzQW5kVG9reW8="
                },
                {"type": "function_call", "call_id": "call_Ks2t6dUe9Q0m3Z7yV1pXa4Bc", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                {"type": "function_call", "call_id": "call_Lm8n0pQr2St4Uv6Wx8Yz0Ab1", "name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"},
                {"type": "function_call_output", "call_id": "call_Ks2t6dUe9Q0m3Z7yV1pXa4Bc", "output": "{\"temp_c\": 18}"},
                {"type": "function_call_output", "call_id": "call_Lm8n0pQr2St4Uv6Wx8Yz0Ab1", "output": "Error: the service timed out"}
            ],
            "tools": [{
                "type": "function",
                "name": "get_weather",
                "description": "Current weather for a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
                "strict": false
            }],
            "max_output_tokens": 64,
            // A reasoning model: no temperature, and its reasoning asked back encrypted.
            "store": false,
            "include": ["reasoning.encrypted_content"]
        })
    );

    // Another model gets no reasoning item of gpt-5-mini's; a non-reasoning model gets its
    // temperature and no `include` (it would answer 400 "Encrypted content is not supported").
    let other = second_responses_body("gpt-4.1").await;
    let input = other["input"].as_array().cloned().unwrap_or_default();
    assert_eq!(input.len(), 5, "{other}");
    assert!(input.iter().all(|item| item["type"] != "reasoning"));
    assert!(other.get("include").is_none(), "{other}");
    assert_eq!(other["temperature"], json!(0.2));
    assert_eq!(other["store"], json!(false));
    for field in ["messages", "max_tokens", "max_completion_tokens"] {
        assert!(other.get(field).is_none(), "{field}: {other}");
    }
}

#[tokio::test]
async fn responses_reasoning_never_reaches_another_provider() {
    let first = llm_lambdas::providers::openai_responses::from_response_json(
        &fixture("openai_responses", "function_calls_parallel.json"),
        "gpt-5-mini",
    );
    let Ok(first) = first else {
        panic!("{first:?}")
    };
    let results: Vec<agent_builder::ToolResult> = first
        .message
        .tool_calls()
        .iter()
        .map(|c| agent_builder::ToolResult::ok(c.id.clone(), "ok"))
        .collect();
    for api in APIS.iter().filter(|a| a.name != "openai_responses") {
        let usage = (api.usage_body)(json!(10), json!(2)).to_string();
        let server = serve(api, json_reply(200, usage), None).await;
        let mut request = request(api);
        request.messages.push(first.message.clone());
        request.messages.push(Message::tool_results(&results));
        let reply = (api.build)(&server.uri(), Duration::from_secs(10))
            .complete(&request)
            .await;
        assert!(reply.is_ok(), "{}: {reply:?}", api.name);
        let sent = server.received_requests().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&sent[0].body).to_string();
        assert!(
            body.contains("call_Ks2t6dUe9Q0m3Z7yV1pXa4Bc") || api.name == "gemini",
            "{}: {body}",
            api.name
        );
        assert!(!body.contains("encrypted_content"), "{}: {body}", api.name);
        assert!(!body.contains("gAAAAABorw4g"), "{}: {body}", api.name);
    }
}

/// Each provider's own error bodies: (HTTP status, fixture, error name, text the message holds).
fn status_cases(api: &Api) -> Vec<(u16, &'static str, &'static str, &'static str)> {
    match api.name {
        "anthropic" => vec![
            (
                400,
                "error_400.json",
                "LLM.BadRequest",
                "invalid_request_error",
            ),
            (
                400,
                "error_context.json",
                "LLM.ContextTooLong",
                "prompt is too long",
            ),
            (401, "error_401.json", "LLM.AuthFailed", ""),
            (500, "error_500.json", "LLM.ServerError", ""),
            (529, "error_529.json", "LLM.Overloaded", ""),
        ],
        "openai" => vec![
            (
                400,
                "error_400.json",
                "LLM.BadRequest",
                "invalid_function_parameters",
            ),
            (400, "error_context.json", "LLM.ContextTooLong", ""),
            (401, "error_401.json", "LLM.AuthFailed", ""),
            (500, "error_500.json", "LLM.ServerError", ""),
            (503, "error_503.json", "LLM.Overloaded", ""),
        ],
        "openai_responses" => vec![
            (400, "error_400.json", "LLM.BadRequest", "Encrypted content"),
            (
                400,
                "error_context.json",
                "LLM.ContextTooLong",
                "context_length_exceeded",
            ),
            (401, "error_401.json", "LLM.AuthFailed", "invalid_api_key"),
            (500, "error_500.json", "LLM.ServerError", ""),
        ],
        "gemini" => vec![
            (400, "error_400.json", "LLM.BadRequest", "INVALID_ARGUMENT"),
            (400, "error_context.json", "LLM.ContextTooLong", ""),
            // A bad key is a 400 with reason API_KEY_INVALID.
            (400, "error_key.json", "LLM.AuthFailed", ""),
            (403, "error_403.json", "LLM.AuthFailed", ""),
            (500, "error_500.json", "LLM.ServerError", ""),
            (503, "error_503.json", "LLM.Overloaded", ""),
        ],
        other => panic!("no status cases for {other}"),
    }
}

#[tokio::test]
async fn every_error_status_maps_to_its_error_name() {
    for api in &APIS {
        for (status, name, expected, says) in status_cases(api) {
            let server = serve(api, json_reply(status, fixture(api.name, name)), None).await;
            let e = match complete(api, &server).await {
                Ok(r) => panic!("{} {name}: expected an error, got {r:?}", api.name),
                Err(e) => e,
            };
            let at = format!("{} {status} {name}: {e:?}", api.name);
            assert_eq!(e.error_name(), expected, "{at}");
            assert!(e.to_string().contains(says), "{at}");
            assert!(!e.to_string().contains(KEY), "the key leaked: {at}");
            match &e {
                LlmError::ServerError { status: s, .. }
                | LlmError::Overloaded { status: s, .. } => {
                    assert_eq!(*s, status, "{at}")
                }
                _ => {}
            }
        }
    }
}

#[tokio::test]
async fn a_rate_limit_says_how_long_to_wait() {
    for api in &APIS {
        // The `retry-after` header wins over OpenAI's reset headers and Gemini's retryDelay.
        let template = json_reply(429, fixture(api.name, "error_429.json"))
            .insert_header("retry-after", "17")
            .insert_header("x-ratelimit-reset-requests", "120ms");
        let server = serve(api, template, None).await;
        let e = complete(api, &server).await;
        assert!(
            matches!(
                &e,
                Err(LlmError::RateLimited {
                    retry_after_seconds: Some(17),
                    ..
                })
            ),
            "{}: {e:?}",
            api.name
        );
    }
    // Without the header, Gemini's wait is its RetryInfo.retryDelay ("26s").
    let gemini = &APIS[3];
    let server = serve(
        gemini,
        json_reply(429, fixture("gemini", "error_429.json")),
        None,
    )
    .await;
    let e = complete(gemini, &server).await;
    assert!(
        matches!(
            &e,
            Err(LlmError::RateLimited {
                retry_after_seconds: Some(26),
                ..
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_slow_reply_is_a_timeout() {
    for api in &APIS {
        let usage = (api.usage_body)(json!(10), json!(2)).to_string();
        let template = json_reply(200, usage).set_delay(Duration::from_secs(3));
        let server = serve(api, template, None).await;
        let e = (api.build)(&server.uri(), Duration::from_secs(1))
            .complete(&request(api))
            .await;
        assert!(
            matches!(&e, Err(LlmError::Timeout { seconds: 1, .. })),
            "{}: {e:?}",
            api.name
        );
    }
}

#[tokio::test]
async fn an_answer_cut_off_at_the_limit_is_max_tokens() {
    let fixtures = [
        "max_tokens.json",
        "length.json",
        "incomplete_text.json",
        "max_tokens.json",
    ];
    for (api, name) in APIS.iter().zip(fixtures) {
        let server = serve(api, json_reply(200, fixture(api.name, name)), None).await;
        let response = complete(api, &server).await;
        assert!(
            matches!(&response, Ok(r) if r.stop_reason == StopReason::MaxTokens
                && r.message.text().ends_with(" In")),
            "{}: {response:?}",
            api.name
        );
    }
}

/// Runs in a child process with the variables a parent test sets: builds the adapter of
/// `SFN_AGENT_TEST_PROVIDER` from the environment, as the Lambdas and the local run do, and asks
/// `SFN_AGENT_TEST_MODEL` one question (or, with `SFN_AGENT_TEST_EXPECT=error`, fails naming
/// `OPENAI_API`).
#[tokio::test]
#[ignore = "run by the *_from_the_environment tests in a child process"]
async fn provider_from_env_child() {
    if std::env::var("SFN_AGENT_TEST_CHILD").is_err() {
        return;
    }
    let provider: agent_builder::Provider = std::env::var("SFN_AGENT_TEST_PROVIDER")
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let model = llm_lambdas::providers::for_provider_from_env(provider).await;
    if std::env::var("SFN_AGENT_TEST_EXPECT").as_deref() == Ok("error") {
        let e = model.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("OPENAI_API is invalid"), "{e}");
        return;
    }
    let model = model.unwrap_or_else(|e| panic!("from_env: {e}"));
    let mut request = request(&APIS[0]);
    request.model = std::env::var("SFN_AGENT_TEST_MODEL").unwrap_or_default();
    let response = model.complete(&request).await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::EndTurn),
        "{response:?}"
    );
}

/// Runs [`provider_from_env_child`] with `variables`, and says whether it succeeded.
fn run_child(provider: &str, model: &str, expect: &str, variables: &[(&str, String)]) {
    let mut child = std::process::Command::new(
        std::env::current_exe().unwrap_or_else(|e| panic!("test binary: {e}")),
    );
    child
        .args(["provider_from_env_child", "--exact", "--ignored", "--quiet"])
        .env("SFN_AGENT_TEST_CHILD", "1")
        .env("SFN_AGENT_TEST_PROVIDER", provider)
        .env("SFN_AGENT_TEST_MODEL", model)
        .env("SFN_AGENT_TEST_EXPECT", expect);
    for variable in [
        "OPENAI_API",
        "OPENAI_MAX_TOKENS_FIELD",
        "LLM_TIMEOUT_SECONDS",
    ] {
        child.env_remove(variable);
    }
    for (name, value) in variables {
        child.env(name, value);
    }
    let output = child.output().unwrap_or_else(|e| panic!("child: {e}"));
    assert!(
        output.status.success(),
        "{provider} {variables:?}: child failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[tokio::test]
async fn base_url_and_key_from_the_environment() {
    use wiremock::matchers::header;
    for api in &APIS {
        let server = MockServer::start().await;
        // The mock answers only a request with the key where the provider wants it.
        let (key_header, key_value, provider, variables) = match api.name {
            "anthropic" => (
                "x-api-key",
                KEY.to_string(),
                "anthropic",
                vec![("ANTHROPIC_BASE_URL", server.uri())],
            ),
            "gemini" => (
                "x-goog-api-key",
                KEY.to_string(),
                "gemini",
                vec![("GEMINI_BASE_URL", server.uri())],
            ),
            "openai" => (
                "authorization",
                format!("Bearer {KEY}"),
                "openai",
                vec![
                    ("OPENAI_BASE_URL", format!("{}/v1", server.uri())),
                    ("OPENAI_MAX_TOKENS_FIELD", "max_completion_tokens".into()),
                ],
            ),
            _ => (
                "authorization",
                format!("Bearer {KEY}"),
                "openai",
                vec![
                    ("OPENAI_BASE_URL", format!("{}/v1", server.uri())),
                    ("OPENAI_API", "responses".into()),
                ],
            ),
        };
        let ok = (api.usage_body)(json!(10), json!(2)).to_string();
        Mock::given(method("POST"))
            .and(path(api.path))
            .and(header(key_header, key_value.as_str()))
            .and(header("content-type", "application/json"))
            .respond_with(json_reply(200, ok))
            .expect(1)
            .mount(&server)
            .await;
        let key_variable = if provider == "openai" {
            "OPENAI_API_KEY"
        } else if provider == "gemini" {
            "GEMINI_API_KEY"
        } else {
            "ANTHROPIC_API_KEY"
        };
        let mut variables = variables;
        variables.push((key_variable, KEY.to_string()));
        run_child(provider, api.model, "ok", &variables);
        let sent = server.received_requests().await.unwrap_or_default();
        let body: Value = sent
            .first()
            .and_then(|r| serde_json::from_slice(&r.body).ok())
            .unwrap_or_default();
        // Gemini's model is in the path the mock matched; the others' in the body.
        if api.name != "gemini" {
            assert_eq!(body["model"], api.model, "{}", api.name);
        }
        if api.name == "openai" {
            assert_eq!(body["max_completion_tokens"], 64);
        }
    }
}

#[tokio::test]
async fn openai_api_is_chosen_by_the_environment() {
    for (api, expect, paths) in [
        // Another base URL than OpenAI's: Chat Completions by default.
        (None, "ok", ["/v1/chat/completions"]),
        (Some("chat"), "ok", ["/v1/chat/completions"]),
        (Some("responses"), "ok", ["/v1/responses"]),
        (Some("completions"), "error", [""]),
    ] {
        let server = MockServer::start().await;
        for (route, api_index, file) in [
            ("/v1/chat/completions", 1, "text.json"),
            ("/v1/responses", 2, "text.json"),
        ] {
            Mock::given(method("POST"))
                .and(path(route))
                .respond_with(json_reply(200, fixture(APIS[api_index].name, file)))
                .mount(&server)
                .await;
        }
        let mut variables = vec![
            ("OPENAI_BASE_URL", format!("{}/v1", server.uri())),
            ("OPENAI_API_KEY", KEY.to_string()),
        ];
        if let Some(value) = api {
            variables.push(("OPENAI_API", value.to_string()));
        }
        run_child("openai", "gpt-4o-mini", expect, &variables);
        let sent: Vec<String> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| r.url.path().to_string())
            .collect();
        let expected: Vec<String> = paths
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.to_string())
            .collect();
        assert_eq!(sent, expected, "{api:?}");
    }
}

/// The usage of a reply that read 600 and wrote 300 of its 1,000 prompt tokens, in each
/// provider's documented shape, and what the adapters make of it: `input_tokens` is the whole
/// prompt for all, the cache parts are within it.
#[tokio::test]
async fn cache_tokens_mean_the_same_for_every_provider() {
    // (provider, usage, expected read, expected write, expected one-hour write)
    let cases = [
        // Anthropic's `input_tokens` leaves the cache out; `cache_creation` splits the writes by
        // lifetime (<https://docs.anthropic.com/en/api/messages>, "usage").
        (
            &APIS[0],
            json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn",
                "usage": {"input_tokens": 100, "cache_read_input_tokens": 600,
                    "cache_creation_input_tokens": 300,
                    "cache_creation": {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 100},
                    "output_tokens": 5}}),
            600,
            300,
            100,
        ),
        // OpenAI's `prompt_tokens` counts the cached tokens in; writes are not reported
        // (<https://platform.openai.com/docs/guides/prompt-caching>).
        (
            &APIS[1],
            json!({"id": "c1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 5,
                    "prompt_tokens_details": {"cached_tokens": 600, "audio_tokens": 0}}}),
            600,
            0,
            0,
        ),
        // The Responses API's `input_tokens` counts `input_tokens_details.cached_tokens` in
        // (<https://platform.openai.com/docs/api-reference/responses/object>, "usage").
        (
            &APIS[2],
            json!({"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-4.1-mini",
                "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Hi.", "annotations": []}]}],
                "usage": {"input_tokens": 1000, "input_tokens_details": {"cached_tokens": 600},
                    "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 1005}}),
            600,
            0,
            0,
        ),
        // Gemini's `promptTokenCount` counts `cachedContentTokenCount` in
        // (<https://ai.google.dev/api/generate-content#UsageMetadata>).
        (
            &APIS[3],
            json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi."}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 1000, "cachedContentTokenCount": 600,
                    "candidatesTokenCount": 5, "totalTokenCount": 1005}}),
            600,
            0,
            0,
        ),
    ];
    for (api, body, read, write, write_1h) in cases {
        let server = serve(api, json_reply(200, body.to_string()), None).await;
        let response = complete(api, &server).await;
        let Ok(response) = response else {
            panic!("{}: {response:?}", api.name)
        };
        assert_eq!(response.input_tokens, 1000, "{}", api.name);
        assert_eq!(response.output_tokens, 5, "{}", api.name);
        assert_eq!(
            (
                response.cache.read,
                response.cache.write,
                response.cache.write_1h
            ),
            (read, write, write_1h),
            "{}",
            api.name
        );
    }
}

/// DeepSeek reports its cache hits as `prompt_cache_hit_tokens`
/// (<https://api-docs.deepseek.com/guides/kv_cache>), and a server that claims more cached
/// tokens than the prompt held, or absurd ones, is cut to the prompt.
#[tokio::test]
async fn openai_compatible_cache_counts_are_read_and_bounded() {
    let api = &APIS[1];
    for (usage, read) in [
        (
            json!({"prompt_tokens": 1000, "completion_tokens": 5, "prompt_cache_hit_tokens": 640, "prompt_cache_miss_tokens": 360}),
            640,
        ),
        (
            json!({"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 5000}}),
            1000,
        ),
        (
            json!({"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": u64::MAX}}),
            0,
        ),
        (
            json!({"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": null}),
            0,
        ),
    ] {
        let body = json!({"id": "c1", "object": "chat.completion", "model": "deepseek-chat",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
            "usage": usage});
        let server = serve(api, json_reply(200, body.to_string()), None).await;
        let response = complete(api, &server).await;
        let Ok(response) = response else {
            panic!("{usage}: {response:?}")
        };
        assert_eq!(response.cache.read, read, "{usage}");
        assert_eq!(response.input_tokens, 1000, "{usage}");
    }
}

/// An agent that waits for people asks for the one-hour cache: `"ttl": "1h"` on every breakpoint
/// and the extended-TTL beta header; the others send neither.
#[tokio::test]
async fn an_agent_that_waits_gets_the_one_hour_cache() {
    use agent_builder::CacheTtl;
    let api = &APIS[0];
    let reply = (api.usage_body)(json!(10), json!(5)).to_string();
    for (ttl, control, beta) in [
        (
            CacheTtl::OneHour,
            json!({"type": "ephemeral", "ttl": "1h"}),
            Some("extended-cache-ttl-2025-04-11"),
        ),
        (CacheTtl::FiveMinutes, json!({"type": "ephemeral"}), None),
    ] {
        let server = serve(api, json_reply(200, reply.clone()), None).await;
        let mut request = long_request("claude-sonnet-4-5", 2);
        request.cache_ttl = ttl;
        let response = (api.build)(&server.uri(), Duration::from_secs(10))
            .complete(&request)
            .await;
        assert!(response.is_ok(), "{response:?}");
        let received = server.received_requests().await.unwrap_or_default();
        let Some(sent) = received.first() else {
            panic!("no request")
        };
        let body: Value = serde_json::from_slice(&sent.body).unwrap_or_default();
        assert_eq!(breakpoints(&body), ["system", "message 2", "message 4"]);
        assert_eq!(body["system"][0]["cache_control"], control, "{ttl:?}");
        assert_eq!(
            body["messages"][4]["content"][0]["cache_control"], control,
            "{ttl:?}"
        );
        assert_eq!(
            sent.headers
                .get("anthropic-beta")
                .and_then(|v| v.to_str().ok()),
            beta,
            "{ttl:?}"
        );
    }
}
