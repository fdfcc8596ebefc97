//! A real rmcp server on 127.0.0.1 (streamable HTTP, on axum), for tests: this crate's and the
//! end-to-end ones. Feature `loopback-server`; not for production use.
//!
//! Its tools: `add` (`{"a", "b"}` integers → their sum), `echo` (`{"text"}` → the text),
//! `fail` (`{}` → an MCP tool error, `isError: true`) and `sleep` (`{"ms"}` → waits, then
//! `slept`). With [`LoopbackServer::start_with_token`] it answers only requests that carry
//! `Authorization: Bearer <token>`.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The test server's tools.
#[derive(Debug, Clone, Default)]
struct TestTools {
    calls: Arc<AtomicUsize>,
    /// More tools listed after the four (`extra_0`, `extra_1`, …), as a flooding server would.
    extra: usize,
}

fn schema(value: Value) -> Arc<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(serde_json::Map::new()),
    }
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "add",
            "Adds two integers.",
            schema(json!({
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                "required": ["a", "b"]
            })),
        ),
        Tool::new(
            "echo",
            "Says the text back.",
            schema(json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            })),
        ),
        Tool::new(
            "fail",
            "Always fails (an MCP tool error).",
            schema(json!({"type": "object", "properties": {}})),
        ),
        Tool::new(
            "sleep",
            "Waits `ms` milliseconds.",
            schema(json!({
                "type": "object",
                "properties": {"ms": {"type": "integer"}},
                "required": ["ms"]
            })),
        ),
    ]
}

impl ServerHandler for TestTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut all = tools();
        all.extend((0..self.extra).map(|i| {
            Tool::new(
                format!("extra_{i}"),
                "One more tool.",
                schema(json!({"type": "object"})),
            )
        }));
        Ok(ListToolsResult::with_all_items(all))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let args = request.arguments.unwrap_or_default();
        let int = |key: &str| args.get(key).and_then(Value::as_i64);
        let text = |t: String| CallToolResult::success(vec![ContentBlock::text(t)]);
        let result = match request.name.as_ref() {
            "add" => match (int("a"), int("b")) {
                (Some(a), Some(b)) => text(a.saturating_add(b).to_string()),
                _ => return Err(ErrorData::invalid_params("a and b must be integers", None)),
            },
            "echo" => text(
                args.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            ),
            "fail" => CallToolResult::error(vec![ContentBlock::text(
                "the upstream database is read-only today",
            )]),
            "sleep" => {
                let ms = int("ms").unwrap_or(0).clamp(0, 60_000) as u64;
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                text("slept".to_owned())
            }
            other => {
                return Err(ErrorData::invalid_params(
                    Cow::Owned(format!("no tool `{other}`")),
                    None,
                ));
            }
        };
        Ok(result.into())
    }
}

/// A running loopback MCP server; stopped when dropped.
#[derive(Debug)]
pub struct LoopbackServer {
    url: String,
    calls: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl LoopbackServer {
    /// Starts a server on 127.0.0.1 with a free port.
    pub async fn start() -> std::io::Result<LoopbackServer> {
        Self::serve(None, 0).await
    }

    /// Starts a server that lists `extra` more tools (`extra_0`, …) after its four.
    pub async fn start_with_extra_tools(extra: usize) -> std::io::Result<LoopbackServer> {
        Self::serve(None, extra).await
    }

    /// Starts a server that answers 401 to requests without `Authorization: Bearer <token>`.
    pub async fn start_with_token(token: &str) -> std::io::Result<LoopbackServer> {
        Self::serve(Some(format!("Bearer {token}")), 0).await
    }

    async fn serve(authorization: Option<String>, extra: usize) -> std::io::Result<LoopbackServer> {
        let stop = CancellationToken::new();
        let tools = TestTools {
            extra,
            ..TestTools::default()
        };
        let calls = Arc::clone(&tools.calls);
        let service: StreamableHttpService<TestTools, LocalSessionManager> =
            StreamableHttpService::new(
                move || Ok(tools.clone()),
                Default::default(),
                StreamableHttpServerConfig::default()
                    .with_sse_keep_alive(None)
                    .with_cancellation_token(stop.child_token()),
            );
        let mut router = axum::Router::new().nest_service("/mcp", service);
        if let Some(expected) = authorization {
            let expected = Arc::new(expected);
            router = router.layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let expected = Arc::clone(&expected);
                    async move {
                        let given = request
                            .headers()
                            .get("authorization")
                            .and_then(|v| v.to_str().ok());
                        if given == Some(expected.as_str()) {
                            next.run(request).await
                        } else {
                            axum::response::IntoResponse::into_response(
                                axum::http::StatusCode::UNAUTHORIZED,
                            )
                        }
                    }
                },
            ));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shutdown = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
                .await;
        });
        Ok(LoopbackServer {
            url: format!("http://{address}/mcp"),
            calls,
            stop,
        })
    }

    /// The server's streamable HTTP endpoint (`http://127.0.0.1:PORT/mcp`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many `tools/call` requests it has answered.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Drop for LoopbackServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A URL where nothing listens: a port that was free a moment ago, on 127.0.0.1.
pub async fn unused_url() -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    drop(listener);
    Ok(format!("http://{address}/mcp"))
}
