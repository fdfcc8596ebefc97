//! Talking to an MCP server with rmcp's client on the streamable HTTP transport: list its tools
//! (synth) and call one (run time), each bounded in time and in bytes.

use std::collections::HashMap;
use std::time::Duration;

use agent_builder::ToolSpec;
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientConfig, ContentBlock, Implementation,
    PaginatedRequestParams, ResourceContents,
};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::Value;

use crate::credentials::Credentials;
use crate::error::McpError;

/// The most tools one server may list.
pub const MAX_TOOLS: usize = 256;
/// The most bytes of names, descriptions and schemas one server's whole tool list may hold.
pub const MAX_LIST_BYTES: usize = 8 * 1024 * 1024;
/// The most pages of `tools/list` read (a server that pages forever stops here).
const MAX_LIST_PAGES: usize = 64;
/// The largest input schema of a tool an agent takes, serialized.
pub const MAX_SCHEMA_BYTES: usize = 32 * 1024;
/// The longest description of a tool an agent takes.
pub const MAX_DESCRIPTION_BYTES: usize = 8 * 1024;
/// The largest response body (or SSE event) read from a server.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// The longest tool result text handed to the model; more is cut with a note.
pub const MAX_RESULT_CHARS: usize = 32 * 1024;
/// The longest piece of a server's error message repeated to the user or the model.
const MAX_MESSAGE_CHARS: usize = 500;

/// Where to connect, and how long to wait.
#[derive(Debug, Clone)]
pub struct Connection<'a> {
    /// The server's name in the agent (for errors).
    pub server: &'a str,
    /// Its streamable HTTP endpoint.
    pub url: &'a str,
    /// What to send with each request.
    pub credentials: &'a Credentials,
    /// The time allowed for the whole exchange (handshake and request).
    pub timeout: Duration,
}

impl Connection<'_> {
    fn unreachable(&self, message: impl std::fmt::Display) -> McpError {
        McpError::Unreachable {
            server: self.server.to_owned(),
            url: self.url.to_owned(),
            message: cut(&message.to_string(), MAX_MESSAGE_CHARS),
        }
    }

    fn protocol(&self, what: &'static str, error: &ServiceError) -> McpError {
        let message = match error {
            ServiceError::McpError(data) => format!("{} ({})", data.message, data.code.0),
            other => other.to_string(),
        };
        McpError::Protocol {
            server: self.server.to_owned(),
            url: self.url.to_owned(),
            what,
            message: cut(&message, MAX_MESSAGE_CHARS),
        }
    }

    fn timed_out(&self) -> McpError {
        McpError::Timeout {
            server: self.server.to_owned(),
            url: self.url.to_owned(),
            seconds: self.timeout.as_secs().max(1),
        }
    }

    /// Runs `exchange` on a fresh session (initialize handshake first), within the timeout,
    /// and closes the session.
    async fn with_session<T, F>(&self, exchange: F) -> Result<T, McpError>
    where
        F: AsyncFnOnce(&RunningService<RoleClient, ClientConfig>) -> Result<T, McpError>,
    {
        let work = async {
            let mut session = self.connect().await?;
            let outcome = exchange(&session).await;
            // A failed close leaves nothing to clean up on our side.
            let _ = session.close().await;
            outcome
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))
    }

    async fn connect(&self) -> Result<RunningService<RoleClient, ClientConfig>, McpError> {
        let mut headers = HashMap::new();
        for (name, value) in &self.credentials.headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| self.unreachable(format!("the header name `{name}` is not valid")))?;
            let value = http::HeaderValue::from_str(value).map_err(|_| {
                self.unreachable(format!("the value of header `{name}` is not valid"))
            })?;
            headers.insert(name, value);
        }
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url)
            .custom_headers(headers)
            .max_json_response_size(MAX_RESPONSE_BYTES)
            .max_sse_event_size(MAX_RESPONSE_BYTES);
        if let Some(token) = &self.credentials.bearer_token {
            config = config.auth_header(token.clone());
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let mut client = ClientConfig::default();
        client.client_info = Implementation::new("sfn-agent", env!("CARGO_PKG_VERSION"));
        client
            .serve(transport)
            .await
            .map_err(|e| self.unreachable(e))
    }

    /// The server's tools, every page, as the model would see them (a missing description
    /// becomes "Tool `name` of MCP server `server`."). At most [`MAX_TOOLS`].
    pub async fn list_tools(&self) -> Result<Vec<ToolSpec>, McpError> {
        self.with_session(async |session| {
            let mut tools = Vec::new();
            let mut bytes = 0usize;
            let mut cursor = None;
            for _ in 0..MAX_LIST_PAGES {
                let page = session
                    .list_tools(Some(PaginatedRequestParams::default().with_cursor(cursor)))
                    .await
                    .map_err(|e| self.protocol("tools/list", &e))?;
                for tool in page.tools {
                    if tools.len() == MAX_TOOLS {
                        return Err(McpError::TooManyTools {
                            server: self.server.to_owned(),
                            url: self.url.to_owned(),
                            max: MAX_TOOLS,
                        });
                    }
                    bytes = bytes
                        .saturating_add(tool.name.len())
                        .saturating_add(tool.description.as_deref().map_or(0, str::len))
                        .saturating_add(
                            Value::Object((*tool.input_schema).clone())
                                .to_string()
                                .len(),
                        );
                    if bytes > MAX_LIST_BYTES {
                        return Err(McpError::ListTooLarge {
                            server: self.server.to_owned(),
                            url: self.url.to_owned(),
                            max: MAX_LIST_BYTES,
                        });
                    }
                    let name = tool.name.to_string();
                    let description = match tool.description.as_deref().map(str::trim) {
                        Some(d) if !d.is_empty() => d.to_owned(),
                        _ => format!("Tool `{name}` of MCP server `{}`.", self.server),
                    };
                    tools.push(ToolSpec {
                        name,
                        description,
                        input_schema: Value::Object((*tool.input_schema).clone()),
                    });
                }
                match page.next_cursor {
                    Some(next) if !next.is_empty() => cursor = Some(next),
                    _ => return Ok(tools),
                }
            }
            Err(self.protocol(
                "tools/list",
                &ServiceError::McpError(rmcp::ErrorData::internal_error(
                    format!("it kept paging past {MAX_LIST_PAGES} pages"),
                    None,
                )),
            ))
        })
        .await
    }

    /// Calls `tool` with `arguments` (a JSON object) and returns the server's result.
    pub async fn call_tool(
        &self,
        tool: &str,
        arguments: serde_json::Map<String, Value>,
    ) -> Result<CallToolResult, McpError> {
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        self.with_session(async |session| {
            session
                .call_tool(params)
                .await
                .map_err(|e| self.protocol("tools/call", &e))
        })
        .await
    }
}

/// A tool result's content as the text the model reads: text blocks as they are, a text
/// resource's text, the structured content as JSON when there is no block, and a one-line note
/// for what text cannot carry (images, audio, binary resources, links). At most
/// [`MAX_RESULT_CHARS`] characters; more is cut with a note saying how much.
pub fn result_text(result: &CallToolResult) -> String {
    let mut parts: Vec<String> = Vec::new();
    for block in &result.content {
        parts.push(match block {
            ContentBlock::Text(text) => text.text.clone(),
            ContentBlock::Image(image) => format!(
                "[an image ({}, {} bytes of base64) the text cannot show]",
                image.mime_type,
                image.data.len()
            ),
            ContentBlock::Audio(audio) => format!(
                "[audio ({}, {} bytes of base64) the text cannot carry]",
                audio.mime_type,
                audio.data.len()
            ),
            ContentBlock::Resource(embedded) => match &embedded.resource {
                ResourceContents::TextResourceContents { text, .. } => text.clone(),
                ResourceContents::BlobResourceContents { uri, blob, .. } => {
                    format!("[a binary resource {uri} ({} bytes of base64)]", blob.len())
                }
                _ => "[a resource of a kind this client does not read]".to_owned(),
            },
            ContentBlock::ResourceLink(link) => format!("[a resource: {}]", link.uri),
            _ => "[content of a kind this client does not read]".to_owned(),
        });
    }
    if parts.is_empty()
        && let Some(structured) = &result.structured_content
    {
        parts.push(structured.to_string());
    }
    let text = parts.join("\n");
    let total = text.chars().count();
    if total <= MAX_RESULT_CHARS {
        return text;
    }
    let kept: String = text.chars().take(MAX_RESULT_CHARS).collect();
    format!(
        "{kept}\n[cut: the result has {total} characters; the first {MAX_RESULT_CHARS} are shown]"
    )
}

/// The first `max` characters of `text`, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_blocks_are_joined_and_long_results_cut() {
        let result =
            CallToolResult::success(vec![ContentBlock::text("a"), ContentBlock::text("b")]);
        assert_eq!(result_text(&result), "a\nb");
        let long =
            CallToolResult::success(vec![ContentBlock::text("x".repeat(MAX_RESULT_CHARS + 10))]);
        let text = result_text(&long);
        assert!(text.starts_with(&"x".repeat(MAX_RESULT_CHARS)));
        assert!(
            text.ends_with(&format!(
                "[cut: the result has {} characters; the first {MAX_RESULT_CHARS} are shown]",
                MAX_RESULT_CHARS + 10
            )),
            "{}",
            &text[MAX_RESULT_CHARS..]
        );
    }

    #[test]
    fn images_are_described_and_structured_content_is_json() {
        let image = CallToolResult::success(vec![ContentBlock::image("aGk=", "image/png")]);
        assert_eq!(
            result_text(&image),
            "[an image (image/png, 4 bytes of base64) the text cannot show]"
        );
        let structured = CallToolResult::structured(serde_json::json!({"temp": 21}));
        // rmcp also puts the JSON in a text block for older clients; either way the model reads it.
        assert!(result_text(&structured).contains("{\"temp\":21}"));
    }
}
