//! The Bedrock adapter (Converse, through `aws-sdk-bedrockruntime`) against a local server
//! answering with Converse's documented shapes (`tests/fixtures/bedrock/`, sources in its README),
//! with dummy credentials. Each test checks the request the SDK sent as well as what was parsed.

use std::time::Duration;

use agent_builder::{ContentBlock, Message, Role, StopReason, ToolSpec};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::timeout::TimeoutConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use llm_lambdas::providers::bedrock::{BedrockModel, ENDPOINT_ENV};
use llm_lambdas::{ChatModel, ChatRequest, LlmError};
use serde_json::{Value, json};
use wiremock::matchers::{header_exists, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
const MODEL_PATH: &str = "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/bedrock/{name}",
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
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
            "required": ["city"]
        }),
    }
}

fn question() -> ChatRequest {
    ChatRequest {
        model: MODEL.into(),
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
                id: "tooluse_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris", "days": 2}),
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
                tool_use_id: "tooluse_1".into(),
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

async fn server_answering(status: u16, body: String, error_type: Option<&str>) -> MockServer {
    let server = MockServer::start().await;
    let mut template = ResponseTemplate::new(status)
        .set_body_raw(body, "application/json")
        .insert_header("x-amzn-requestid", "b2a9e8f0-5c1d-4e7a-9f3b-2d6c8a1e4f70");
    if let Some(kind) = error_type {
        template = template.insert_header(
            "x-amzn-errortype",
            format!("{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/").as_str(),
        );
    }
    Mock::given(method("POST"))
        .and(path_regex("^/model/[^/]+/converse$"))
        .and(header_exists("authorization"))
        .respond_with(template)
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn adapter(server: &MockServer, timeout: Duration) -> BedrockModel {
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "dummy-secret",
            None,
            None,
            "test",
        ))
        .endpoint_url(server.uri())
        .retry_config(RetryConfig::disabled())
        .timeout_config(TimeoutConfig::builder().operation_timeout(timeout).build())
        .build();
    BedrockModel::new(aws_sdk_bedrockruntime::Client::from_conf(conf), timeout)
}

async fn sent_body(server: &MockServer) -> Value {
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 1, "exactly one request");
    assert_eq!(requests[0].url.path(), MODEL_PATH);
    let auth = requests[0]
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
        "{auth}"
    );
    serde_json::from_slice(&requests[0].body).unwrap_or_else(|e| panic!("request body: {e}"))
}

#[tokio::test]
async fn plain_answer() {
    let server = server_answering(200, fixture("text.json"), None).await;
    let response = adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.message.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(response.stop_reason, StopReason::EndTurn);
    assert_eq!((response.input_tokens, response.output_tokens), (412, 14));
    assert_eq!(response.model, MODEL);

    let body = sent_body(&server).await;
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"text": "Weather in Paris?"}]}])
    );
    assert_eq!(
        body["system"],
        json!([{"text": "You are a weather assistant."}])
    );
    assert_eq!(
        body["inferenceConfig"],
        json!({"maxTokens": 1024, "temperature": 0.5})
    );
    assert_eq!(
        body["toolConfig"],
        json!({"tools": [{"toolSpec": {
            "name": "get_weather",
            "description": "Current weather for a city",
            "inputSchema": {"json": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
                "required": ["city"]
            }}
        }}]})
    );
}

#[tokio::test]
async fn one_tool_call_and_the_history_sent() {
    let server = server_answering(200, fixture("tool_use.json"), None).await;
    let response = adapter(&server, Duration::from_secs(5))
        .complete(&follow_up())
        .await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(response.message.text(), "I'll check the weather in Paris.");
    let calls = response.message.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q");
    assert_eq!(
        calls[0].input,
        json!({"city": "Paris", "days": 3, "unit": "celsius"})
    );
    // Cache reads count as input.
    assert_eq!(
        (response.input_tokens, response.output_tokens),
        (380 + 2048, 71)
    );

    let body = sent_body(&server).await;
    assert_eq!(
        body["messages"][1],
        json!({"role": "assistant", "content": [
            {"text": "Checking."},
            {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris", "days": 2}}},
            {"toolUse": {"toolUseId": "call_bad", "name": "get_weather",
                         "input": {"invalid_json_arguments": "{\"city\": Par"}}}
        ]})
    );
    assert_eq!(
        body["messages"][2],
        json!({"role": "user", "content": [
            {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "{\"temp_c\": 18}"}], "status": "success"}},
            {"toolResult": {"toolUseId": "call_bad", "content": [{"text": "the arguments were not valid JSON"}], "status": "error"}}
        ]})
    );
}

#[tokio::test]
async fn several_tool_calls_in_one_turn() {
    let server = server_answering(200, fixture("tool_use_parallel.json"), None).await;
    let response = adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await;
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
                "tooluse_Q3nVw8RzT5y2XcK9pLmB4A".to_string(),
                "get_weather".to_string(),
                json!({"city": "Paris"})
            ),
            (
                "tooluse_H7fJd2SgA6k1WqE3rTyU0Z".to_string(),
                "get_weather".to_string(),
                json!({"city": "Tokyo"})
            ),
            (
                "tooluse_M4bNv6CxZ8l0PoI9uYtR2E".to_string(),
                "calculate".to_string(),
                json!({"expression": "18 - 21"})
            ),
        ]
    );
    sent_body(&server).await;
}

#[tokio::test]
async fn truncated_answer() {
    let server = server_answering(200, fixture("max_tokens.json"), None).await;
    let response = adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::MaxTokens && r.message.text().ends_with(" In")),
        "{response:?}"
    );
}

async fn error_for(status: u16, name: &str, kind: &str) -> LlmError {
    let server = server_answering(status, fixture(name), Some(kind)).await;
    match adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await
    {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn validation_is_bad_request() {
    let e = error_for(400, "error_validation.json", "ValidationException").await;
    assert_eq!(e.error_name(), "LLM.BadRequest", "{e}");
    assert!(e.to_string().contains("ValidationException"), "{e}");
}

#[tokio::test]
async fn validation_about_input_length_is_context_too_long() {
    let e = error_for(400, "error_context.json", "ValidationException").await;
    assert_eq!(e.error_name(), "LLM.ContextTooLong", "{e}");
}

#[tokio::test]
async fn access_denied_is_auth_failed() {
    let e = error_for(403, "error_access_denied.json", "AccessDeniedException").await;
    assert_eq!(e.error_name(), "LLM.AuthFailed", "{e}");
}

/// A 401/403 with no error type (a proxy's or an endpoint's bare refusal, no
/// `x-amzn-errortype`, no `__type`) is an auth failure named by its status, not `HTTP 500:
/// UnknownError`.
#[tokio::test]
async fn an_unnamed_401_or_403_is_auth_failed() {
    for (status, body) in [
        (401, String::new()),
        (403, r#"{"message": "Forbidden"}"#.to_string()),
    ] {
        let server = server_answering(status, body, None).await;
        let e = adapter(&server, Duration::from_secs(5))
            .complete(&question())
            .await
            .expect_err("refused");
        let text = e.to_string();
        assert_eq!(e.error_name(), "LLM.AuthFailed", "{status}: {text}");
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(
            !text.contains("UnknownError") && !text.contains("HTTP 500"),
            "{text}"
        );
    }
}

/// No server at all: the real cause and the variable to check, no made-up status, and still
/// `LLM.ServerError` so the state machine retries it.
#[tokio::test]
async fn an_unreachable_endpoint_says_why() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let conf = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "dummy", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(RetryConfig::disabled())
        .build();
    let e = BedrockModel::new(
        aws_sdk_bedrockruntime::Client::from_conf(conf),
        Duration::from_secs(5),
    )
    .complete(&question())
    .await
    .expect_err("no server");
    let text = e.to_string();
    assert_eq!(e.error_name(), "LLM.ServerError", "{text}");
    assert!(matches!(e, LlmError::Network { .. }), "{e:?}");
    assert!(
        text.to_ascii_lowercase().contains("connection refused") && text.contains(ENDPOINT_ENV),
        "{text}"
    );
    assert!(!text.contains("HTTP 502"), "{text}");
}

#[tokio::test]
async fn throttling_is_rate_limited() {
    let e = error_for(429, "error_throttling.json", "ThrottlingException").await;
    assert_eq!(e.error_name(), "LLM.RateLimited", "{e}");
}

#[tokio::test]
async fn internal_is_server_error() {
    let e = error_for(500, "error_internal.json", "InternalServerException").await;
    assert!(
        matches!(&e, LlmError::ServerError { status: 500, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn service_unavailable_is_overloaded() {
    let e = error_for(503, "error_unavailable.json", "ServiceUnavailableException").await;
    assert!(
        matches!(&e, LlmError::Overloaded { status: 503, .. }),
        "{e:?}"
    );
}

#[tokio::test]
async fn model_timeout_is_timeout() {
    let e = error_for(408, "error_model_timeout.json", "ModelTimeoutException").await;
    assert_eq!(e.error_name(), "LLM.Timeout", "{e}");
}

#[tokio::test]
async fn timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(fixture("text.json"), "application/json")
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let e = adapter(&server, Duration::from_secs(1))
        .complete(&question())
        .await;
    assert!(
        matches!(&e, Err(LlmError::Timeout { seconds: 1, .. })),
        "{e:?}"
    );
}

/// Runs in a child process with the AWS variables set by
/// [`endpoint_override_from_the_environment`]; skipped when run on its own.
#[tokio::test]
#[ignore = "run by endpoint_override_from_the_environment in a child process"]
async fn from_env_child() {
    if std::env::var("SFN_AGENT_TEST_CHILD").is_err() {
        return;
    }
    let model = BedrockModel::from_env()
        .await
        .unwrap_or_else(|e| panic!("from_env: {e}"));
    let response = model.complete(&question()).await;
    assert!(
        matches!(&response, Ok(r) if r.stop_reason == StopReason::EndTurn),
        "{response:?}"
    );
}

#[tokio::test]
async fn endpoint_override_from_the_environment() {
    let server = server_answering(200, fixture("text.json"), None).await;
    let output = std::process::Command::new(
        std::env::current_exe().unwrap_or_else(|e| panic!("test binary: {e}")),
    )
    .args(["from_env_child", "--exact", "--ignored", "--quiet"])
    .env("SFN_AGENT_TEST_CHILD", "1")
    .env(ENDPOINT_ENV, server.uri())
    .env("AWS_REGION", "us-east-1")
    .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    .env("AWS_SECRET_ACCESS_KEY", "dummy-secret")
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("AWS_CONFIG_FILE", "/nonexistent/sfn-agent-test-config")
    .env(
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/sfn-agent-test-credentials",
    )
    .env_remove("AWS_PROFILE")
    .env_remove("AWS_SESSION_TOKEN")
    .env_remove("AWS_ENDPOINT_URL")
    .output()
    .unwrap_or_else(|e| panic!("child: {e}"));
    assert!(
        output.status.success(),
        "child failed: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    sent_body(&server).await;
}

// ---- Variations real servers send (fixtures and sources in tests/fixtures/bedrock/README.md).

/// What the adapter makes of a reply with `status` and the fixture `name`.
async fn replay(name: &str) -> Result<llm_lambdas::ChatResponse, LlmError> {
    let server = server_answering(200, fixture(name), None).await;
    adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await
}

#[tokio::test]
async fn reasoning_blocks_are_not_part_of_the_answer() {
    let response = replay("reasoning_tool_use.json").await;
    let Ok(response) = response else {
        panic!("{response:?}")
    };
    assert_eq!(response.stop_reason, StopReason::ToolUse);
    assert_eq!(
        response.message.content,
        vec![
            ContentBlock::Text {
                text: "I'll check the weather in Paris.".into(),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "tooluse_Vw9hX2kQRc2dE7pLk3sT1A".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            },
        ]
    );
    assert_eq!((response.input_tokens, response.output_tokens), (461, 120));
}

#[tokio::test]
async fn cited_text_is_part_of_the_answer() {
    let response = replay("citations.json").await;
    assert!(
        matches!(&response, Ok(r) if r.message.text() == "According to the report, Paris had 18 °C on average in May."
            && r.stop_reason == StopReason::EndTurn),
        "{response:?}"
    );
}

#[tokio::test]
async fn stop_reasons_keep_their_meaning() {
    for (name, stop, text) in [
        (
            "guardrail_intervened.json",
            StopReason::EndTurn,
            "Sorry, the model cannot answer this question.",
        ),
        (
            "content_filtered.json",
            StopReason::EndTurn,
            "Bedrock withheld the answer (stopReason: content_filtered).",
        ),
        (
            "context_window_exceeded.json",
            StopReason::MaxTokens,
            "Here is the full report on every district of Paris:",
        ),
    ] {
        let response = replay(name).await;
        assert!(
            matches!(&response, Ok(r) if r.stop_reason == stop && r.message.text() == text),
            "{name}: {response:?}"
        );
    }
}

#[tokio::test]
async fn more_errors_map_to_their_error_names() {
    for (status, name, kind, expected) in [
        (
            429,
            "error_model_not_ready.json",
            "ModelNotReadyException",
            "LLM.Overloaded",
        ),
        (
            424,
            "error_model_error.json",
            "ModelErrorException",
            "LLM.ServerError",
        ),
        (
            404,
            "error_not_found.json",
            "ResourceNotFoundException",
            "LLM.BadRequest",
        ),
        (
            400,
            "error_service_quota.json",
            "ServiceQuotaExceededException",
            "LLM.RateLimited",
        ),
    ] {
        let e = error_for(status, name, kind).await;
        assert_eq!(e.error_name(), expected, "{name}: {e}");
    }
    // The exception named in the body's `__type` only (no `x-amzn-errortype` header).
    let server = server_answering(429, fixture("error_throttling_typed_body.json"), None).await;
    let e = adapter(&server, Duration::from_secs(5))
        .complete(&question())
        .await;
    assert!(
        matches!(&e, Err(err) if err.error_name() == "LLM.RateLimited"),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_empty_error_result_still_says_it_failed() {
    // Converse refuses an error `toolResult` with empty content.
    let mut request = question();
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![ContentBlock::ToolUse {
            id: "tooluse_1".into(),
            name: "get_weather".into(),
            input: json!({"city": "Paris"}),
            extra: None,
        }],
    });
    request.messages.push(Message {
        role: Role::User,
        content: vec![ContentBlock::ToolResult {
            tool_use_id: "tooluse_1".into(),
            content: String::new(),
            is_error: true,
        }],
    });
    let server = server_answering(200, fixture("text.json"), None).await;
    let response = adapter(&server, Duration::from_secs(5))
        .complete(&request)
        .await;
    assert!(response.is_ok(), "{response:?}");
    let body = sent_body(&server).await;
    assert_eq!(
        body["messages"][2]["content"][0]["toolResult"],
        json!({"toolUseId": "tooluse_1", "content": [{"text": "The tool failed without saying why."}], "status": "error"})
    );
}

// ---- Prompt caching: `cachePoint` blocks (<https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html>).

/// A request whose system prompt passes every model's minimum, over `turns` turns of tool
/// calls with long results.
fn long_request(model: &str, turns: usize) -> ChatRequest {
    let mut messages = vec![Message::user_text("Plan my week of travel.")];
    for turn in 0..turns {
        messages.push(Message {
            role: Role::Assistant,
            content: vec![ContentBlock::ToolUse {
                id: format!("tooluse_{turn}"),
                name: "get_weather".into(),
                input: json!({"city": "Paris"}),
                extra: None,
            }],
        });
        messages.push(Message {
            role: Role::User,
            content: vec![ContentBlock::ToolResult {
                tool_use_id: format!("tooluse_{turn}"),
                content: "Sunny, 18 °C. ".repeat(200),
                is_error: false,
            }],
        });
    }
    ChatRequest {
        model: model.into(),
        system: "You are a careful travel assistant. ".repeat(150),
        messages,
        tools: vec![weather_tool()],
        max_tokens: 512,
        temperature: None,
        cache_ttl: Default::default(),
    }
}

/// Where the checkpoints of a Converse request are: `system`, `tools`, `message N`.
fn cache_points(request: &llm_lambdas::providers::bedrock::ConverseRequest) -> Vec<String> {
    use aws_sdk_bedrockruntime::types as br;
    let mut found = Vec::new();
    for block in &request.system {
        if matches!(block, br::SystemContentBlock::CachePoint(_)) {
            found.push("system".to_string());
        }
    }
    for tool in request.tool_config.iter().flat_map(|c| c.tools()) {
        if matches!(tool, br::Tool::CachePoint(_)) {
            found.push("tools".to_string());
        }
    }
    for (i, message) in request.messages.iter().enumerate() {
        for (j, block) in message.content().iter().enumerate() {
            if matches!(block, br::ContentBlock::CachePoint(_)) {
                assert_eq!(
                    j + 1,
                    message.content().len(),
                    "a checkpoint ends its message"
                );
                found.push(format!("message {i}"));
            }
        }
    }
    found
}

#[test]
fn cache_points_follow_the_conversation_on_the_models_that_cache() {
    use llm_lambdas::providers::bedrock::{MAX_CACHE_POINTS, to_request_with};
    let points = |request: &ChatRequest, on: bool| {
        cache_points(&to_request_with(request, on).unwrap_or_else(|e| panic!("{e}")))
    };
    let sonnet = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";
    // Turn 1: the shared prefix (system) and the question.
    assert_eq!(
        points(&long_request(sonnet, 0), true),
        ["system", "message 0"]
    );
    // Turn 3: the system, the last results (written now) and the ones before (read now).
    assert_eq!(
        points(&long_request(sonnet, 2), true),
        ["system", "message 2", "message 4"]
    );
    // Never more than Bedrock's four, whatever the length.
    assert!(points(&long_request(sonnet, 40), true).len() <= MAX_CACHE_POINTS);
    // Without a system prompt, Claude caches after the tools.
    let mut no_system = long_request("anthropic.claude-3-7-sonnet-20250219-v1:0", 2);
    no_system.system.clear();
    no_system.tools[0].description = "Current weather for a city. ".repeat(200);
    assert_eq!(
        points(&no_system, true),
        ["tools", "message 2", "message 4"]
    );
    // Nova caches system and messages, never tools.
    let mut nova = no_system.clone();
    nova.model = "us.amazon.nova-pro-v1:0".into();
    assert_eq!(points(&nova, true), ["message 2", "message 4"]);
    assert_eq!(
        points(&long_request("amazon.nova-lite-v1:0", 2), true),
        ["system", "message 2", "message 4"]
    );
    // …and at most 32k cached tokens: no checkpoint past that.
    let nova_long = points(&long_request("amazon.nova-micro-v1:0", 200), true);
    assert_eq!(nova_long, ["system"]);
    // Claude 3.5 Haiku caches from 2,048 tokens: the 1,350-token system prompt alone is too short.
    assert_eq!(
        points(
            &long_request("anthropic.claude-3-5-haiku-20241022-v1:0", 2),
            true
        ),
        ["message 2", "message 4"]
    );
    // Models without prompt caching, a short prompt, or the cache turned off: none at all.
    for model in [
        "meta.llama3-3-70b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
    ] {
        assert!(points(&long_request(model, 2), true).is_empty(), "{model}");
    }
    // The minimums of the guide's table, whatever the region prefix and version suffix.
    use llm_lambdas::providers::bedrock::cache_support;
    let minimum = |model: &str| cache_support(model).map(|s| s.min_tokens);
    assert_eq!(minimum("global.anthropic.claude-opus-4-6-v1"), Some(4096));
    assert_eq!(
        minimum("us.anthropic.claude-haiku-4-5-20251001-v1:0"),
        Some(4096)
    );
    assert_eq!(
        minimum("anthropic.claude-opus-4-1-20250805-v1:0"),
        Some(1024)
    );
    assert_eq!(minimum("eu.amazon.nova-premier-v1:0"), Some(1000));
    assert_eq!(minimum("cohere.command-r-plus-v1:0"), None);
    let mut short = question();
    short.model = sonnet.into();
    assert!(points(&short, true).is_empty());
    assert!(points(&long_request(sonnet, 2), false).is_empty());
}

#[tokio::test]
async fn cache_points_go_on_the_wire_and_cache_usage_comes_back() {
    // Converse's usage with the cache fields: `inputTokens` leaves them out.
    let body = json!({
        "output": {"message": {"role": "assistant", "content": [{"text": "Sunny all week."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 100, "outputTokens": 12, "totalTokens": 1012,
            "cacheReadInputTokens": 600, "cacheWriteInputTokens": 300},
        "metrics": {"latencyMs": 420}
    });
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/model/[^/]+/converse$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"))
        .mount(&server)
        .await;
    let request = long_request("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 1);
    let reply = adapter(&server, Duration::from_secs(10))
        .complete(&request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.input_tokens, 1000);
    assert_eq!((reply.cache.read, reply.cache.write), (600, 300));
    let sent = server.received_requests().await.unwrap_or_default();
    let sent: Value = serde_json::from_slice(&sent[0].body).unwrap_or_default();
    let point = json!({"cachePoint": {"type": "default"}});
    assert_eq!(sent["system"][1], point);
    assert_eq!(sent["messages"][0]["content"][1], point);
    assert_eq!(sent["messages"][2]["content"][1], point);
    assert!(
        !sent["toolConfig"]["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t.get("cachePoint").is_some())
    );

    // The same adapter with the cache off sends none.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/model/[^/]+/converse$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"))
        .mount(&server)
        .await;
    let off = adapter(&server, Duration::from_secs(10)).with_prompt_cache(false);
    off.complete(&request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sent = server.received_requests().await.unwrap_or_default();
    assert!(!String::from_utf8_lossy(&sent[0].body).contains("cachePoint"));
}

#[tokio::test]
async fn the_same_request_goes_out_as_the_same_bytes() {
    // Tool schemas and tool inputs cross the SDK as hash maps; unsorted, their keys came out in
    // another order each call, and no cached prefix holding a tool ever matched.
    let body = fixture("tool_use.json");
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/model/[^/]+/converse$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let model = adapter(&server, Duration::from_secs(10));
    let request = long_request("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3);
    for _ in 0..3 {
        model
            .complete(&request)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let sent = server.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].body, sent[1].body);
    assert_eq!(sent[1].body, sent[2].body);
    let length = sent[0]
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert_eq!(length, sent[0].body.len().to_string());
}
