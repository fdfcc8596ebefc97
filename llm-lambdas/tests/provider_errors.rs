//! What provider errors may say: never the API key (whatever a server echoes back), and, when no
//! HTTP reply came at all, the real cause instead of an invented status.
//!
//! The echoing servers answer with each provider's documented error shapes (the sources are in
//! `tests/fixtures/<provider>/README.md`: OpenAI <https://platform.openai.com/docs/guides/error-codes>,
//! Anthropic <https://docs.anthropic.com/en/api/errors>, Gemini
//! <https://ai.google.dev/gemini-api/docs/troubleshooting>), with the key the request carried
//! written into the message, as OpenAI does ("Incorrect API key provided: sk-…") and as a proxy
//! echoing the `Authorization` header might.

use std::time::Duration;

use agent_builder::Message;
use llm_lambdas::error::MIN_REDACTED_PART;
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::anthropic::AnthropicModel;
use llm_lambdas::providers::gemini::GeminiModel;
use llm_lambdas::providers::openai::OpenAiModel;
use llm_lambdas::{ChatModel, ChatRequest, LlmError};
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const OPENAI_KEY: &str = "sk-SECRETKEY123456";
const ANTHROPIC_KEY: &str = "sk-ant-api03-SECRETKEY-abcdef123456";
const GEMINI_KEY: &str = "AIzaSySECRETKEY0123456789abcdefghij";

fn request(model: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: "Be brief.".into(),
        messages: vec![Message::user_text("Hi")],
        tools: vec![],
        max_tokens: 64,
        temperature: None,
        cache_ttl: Default::default(),
    }
}

/// How the echoing server answers, given the key it received.
#[derive(Clone, Copy)]
enum Echo {
    /// The provider's JSON error body with the key in the message, at this status.
    Json(u16),
    /// A proxy's plain-text 502 quoting the request headers.
    PlainText,
    /// A 200 whose body has the wrong shape, with the key where serde quotes it in its error.
    WrongShape,
}

/// Echoes the key of each request back: whole, in its `Bearer` form, and masked the way OpenAI
/// masks a key (a long prefix, stars, the end).
struct EchoKey {
    provider: &'static str,
    echo: Echo,
}

impl EchoKey {
    fn key_of(request: &Request) -> String {
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        header("x-api-key")
            .or_else(|| header("x-goog-api-key"))
            .or_else(|| header("authorization").map(|v| v.trim_start_matches("Bearer ").into()))
            .unwrap_or_default()
    }
}

impl Respond for EchoKey {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let key = Self::key_of(request);
        let prefix: String = key.chars().take(10).collect();
        let suffix: String = key
            .chars()
            .skip(key.chars().count().saturating_sub(9))
            .collect();
        let said = format!(
            "Incorrect API key provided: {key}. Authorization: Bearer {key}. Masked: {prefix}****{suffix}"
        );
        match self.echo {
            Echo::Json(status) => {
                let body = match self.provider {
                    "openai" => json!({"error": {
                        "message": said, "type": "invalid_request_error",
                        "param": null, "code": "invalid_api_key"}}),
                    "anthropic" => json!({"type": "error",
                        "error": {"type": "authentication_error", "message": said},
                        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}),
                    _ => json!({"error": {"code": status, "message": said,
                        "status": "INVALID_ARGUMENT",
                        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}}),
                };
                ResponseTemplate::new(status).set_body_json(body)
            }
            Echo::PlainText => ResponseTemplate::new(502).set_body_raw(
                format!("Bad gateway. Request headers: {said}"),
                "text/plain",
            ),
            Echo::WrongShape => {
                let body = match self.provider {
                    "openai" => json!({"choices": key}),
                    "anthropic" => json!({"id": "msg_1", "type": "message", "role": "assistant",
                        "content": key, "model": "claude", "stop_reason": "end_turn",
                        "usage": {"input_tokens": 1, "output_tokens": 1}}),
                    _ => json!({"candidates": key}),
                };
                ResponseTemplate::new(200).set_body_json(body)
            }
        }
    }
}

async fn echoing_server(provider: &'static str, echo: Echo) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(EchoKey { provider, echo })
        .mount(&server)
        .await;
    server
}

/// The error's text holds neither the key nor any part of it long enough to matter.
fn assert_no_key(error: &LlmError, key: &str) {
    let text = format!("{error} {error:?}");
    let chars: Vec<char> = key.chars().collect();
    for n in MIN_REDACTED_PART..=chars.len() {
        let prefix: String = chars[..n].iter().collect();
        let suffix: String = chars[chars.len() - n..].iter().collect();
        assert!(
            !text.contains(&prefix) && !text.contains(&suffix),
            "the error shows (part of) the key: {text}"
        );
    }
}

async fn error_of(model: &dyn ChatModel, model_id: &str) -> LlmError {
    match model.complete(&request(model_id)).await {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn openai_errors_never_show_the_key() {
    for (echo, name) in [
        (Echo::Json(401), "LLM.AuthFailed"),
        // `invalid_api_key` is an auth failure whatever the status.
        (Echo::Json(400), "LLM.AuthFailed"),
        (Echo::PlainText, "LLM.ServerError"),
        (Echo::WrongShape, "LLM.ServerError"),
    ] {
        let server = echoing_server("openai", echo).await;
        let model = OpenAiModel::new(
            format!("{}/v1", server.uri()),
            ApiKey::new(OPENAI_KEY),
            Duration::from_secs(5),
        )
        .expect("adapter");
        let e = error_of(&model, "gpt-4o-mini").await;
        assert_eq!(e.error_name(), name, "{e}");
        assert_no_key(&e, OPENAI_KEY);
        assert!(e.to_string().contains("***"), "{e}");
    }
}

#[tokio::test]
async fn anthropic_errors_never_show_the_key() {
    for (echo, name) in [
        (Echo::Json(401), "LLM.AuthFailed"),
        (Echo::PlainText, "LLM.ServerError"),
        (Echo::WrongShape, "LLM.ServerError"),
    ] {
        let server = echoing_server("anthropic", echo).await;
        let model = AnthropicModel::new(
            server.uri(),
            ApiKey::new(ANTHROPIC_KEY),
            Duration::from_secs(5),
        )
        .expect("adapter");
        let e = error_of(&model, "claude-haiku-4-5").await;
        assert_eq!(e.error_name(), name, "{e}");
        assert_no_key(&e, ANTHROPIC_KEY);
    }
}

#[tokio::test]
async fn gemini_errors_never_show_the_key() {
    for (echo, name) in [
        (Echo::Json(400), "LLM.AuthFailed"),
        (Echo::PlainText, "LLM.ServerError"),
        (Echo::WrongShape, "LLM.ServerError"),
    ] {
        let server = echoing_server("gemini", echo).await;
        let model = GeminiModel::new(
            server.uri(),
            ApiKey::new(GEMINI_KEY),
            Duration::from_secs(5),
        )
        .expect("adapter");
        let e = error_of(&model, "gemini-2.5-flash").await;
        assert_eq!(e.error_name(), name, "{e}");
        assert_no_key(&e, GEMINI_KEY);
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

#[tokio::test]
async fn a_refused_connection_says_so_without_a_made_up_status() {
    let port = closed_port();
    let cases: Vec<(Box<dyn ChatModel>, &str, String)> = vec![
        (
            Box::new(
                OpenAiModel::new(
                    format!("http://127.0.0.1:{port}/v1"),
                    ApiKey::new(OPENAI_KEY),
                    Duration::from_secs(5),
                )
                .expect("adapter"),
            ),
            "OPENAI_BASE_URL",
            format!("http://127.0.0.1:{port}/v1/chat/completions"),
        ),
        (
            Box::new(
                AnthropicModel::new(
                    format!("http://127.0.0.1:{port}"),
                    ApiKey::new(ANTHROPIC_KEY),
                    Duration::from_secs(5),
                )
                .expect("adapter"),
            ),
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{port}/v1/messages"),
        ),
        (
            Box::new(
                GeminiModel::new(
                    format!("http://127.0.0.1:{port}"),
                    ApiKey::new(GEMINI_KEY),
                    Duration::from_secs(5),
                )
                .expect("adapter"),
            ),
            "GEMINI_BASE_URL",
            format!("http://127.0.0.1:{port}/v1beta/models/m:generateContent"),
        ),
    ];
    for (model, variable, url) in cases {
        let e = error_of(model.as_ref(), "m").await;
        let text = e.to_string();
        // Still retried by the state machine.
        assert_eq!(e.error_name(), "LLM.ServerError", "{text}");
        assert!(matches!(e, LlmError::Network { .. }), "{e:?}");
        assert!(
            text.contains(&format!(
                "could not connect to {url}: connection refused; check {variable}"
            )),
            "{text}"
        );
        assert!(!text.contains("HTTP"), "{text}");
    }
}

/// The variable telling [`from_env_child`] which case to run.
const CASE_ENV: &str = "SFN_AGENT_TEST_KEY_CASE";

/// Runs in a child process with `OPENAI_API_KEY` and `OPENAI_BASE_URL` set by
/// [`keys_from_the_environment_are_trimmed_or_refused`].
#[tokio::test]
#[ignore = "run by keys_from_the_environment_are_trimmed_or_refused in a child process"]
async fn from_env_child() {
    let Ok(case) = std::env::var(CASE_ENV) else {
        return;
    };
    match case.as_str() {
        "trailing-newline" => {
            let model = OpenAiModel::from_env().expect("a key with a trailing newline is usable");
            let reply = model.complete(&request("gpt-4o-mini")).await;
            assert!(reply.is_ok(), "{reply:?}");
        }
        "inner-space" => {
            let Err(e) = OpenAiModel::from_env() else {
                panic!("a key with a space inside was accepted")
            };
            let text = e.to_string();
            assert!(
                text.contains("OPENAI_API_KEY") && text.contains("whitespace"),
                "{text}"
            );
            assert!(!text.contains("sk-two"), "{text}");
        }
        other => panic!("unknown case {other}"),
    }
}

#[tokio::test]
async fn keys_from_the_environment_are_trimmed_or_refused() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/v1/chat/completions"))
        // The trimmed key, exactly: no "builder error" from a newline in the header.
        .and(wiremock::matchers::header(
            "authorization",
            "Bearer sk-trimmed-KEY",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                std::fs::read_to_string(format!(
                    "{}/tests/fixtures/openai/text.json",
                    env!("CARGO_MANIFEST_DIR")
                ))
                .expect("fixture"),
                "application/json",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    for (case, key) in [
        ("trailing-newline", "sk-trimmed-KEY\n"),
        ("inner-space", "sk-two words"),
    ] {
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["from_env_child", "--exact", "--ignored", "--quiet"])
            .env(CASE_ENV, case)
            .env("OPENAI_API_KEY", key)
            .env("OPENAI_BASE_URL", format!("{}/v1", server.uri()))
            .output()
            .expect("child");
        assert!(
            output.status.success(),
            "{case}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
