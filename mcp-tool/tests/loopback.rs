//! Synth and run time against a real rmcp server on loopback, started here.

use std::sync::Arc;
use std::time::Duration;

use agent_builder::mcp::{McpTarget, McpToolCall};
use agent_builder::{Agent, McpServer, Model};
use llm_lambdas::secrets::{SecretSource, SecretsError};
use serde_json::{Value, json};
use sfn_agent_mcp::loopback::{LoopbackServer, unused_url};
use sfn_agent_mcp::{CredentialStore, McpError, McpHandler, Resolver};

/// Secrets held in memory: `mcp/docs` holds a bearer token.
struct Secrets;

#[async_trait::async_trait]
impl SecretSource for Secrets {
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretsError> {
        match secret_id {
            "mcp/docs" => Ok(r#"{"token": "s3cret"}"#.to_owned()),
            other => Err(SecretsError::Unreadable {
                secret_id: other.to_owned(),
                message: "ResourceNotFoundException: no such secret".to_owned(),
            }),
        }
    }
}

fn credentials() -> CredentialStore {
    CredentialStore::new(Arc::new(Secrets), Duration::from_secs(300))
}

fn resolver() -> Resolver {
    Resolver::new(credentials(), Duration::from_secs(10))
}

fn handler(timeout: Duration) -> McpHandler {
    McpHandler::new(credentials(), timeout)
}

fn agent(server: McpServer) -> Agent {
    Agent::builder("mcp-user")
        .system_prompt("You use the MCP tools.")
        .model(Model::anthropic("claude-sonnet-4-5"))
        .mcp_server(server)
        .build()
        .expect("a valid agent")
}

fn call(url: &str, tool: &str, input: Value, secret: Option<&str>) -> McpToolCall {
    McpToolCall {
        id: "toolu_1".into(),
        name: tool.into(),
        input,
        mcp: McpTarget {
            server: "calc".into(),
            url: url.into(),
            tool: tool.into(),
            secret: secret.map(str::to_owned),
        },
    }
}

#[tokio::test]
async fn synth_freezes_the_filtered_tool_list_into_the_machine_and_manifest() {
    let server = LoopbackServer::start().await.expect("server");
    let unresolved = agent(McpServer::new("calc", server.url()).tools(["echo", "add"]));
    assert_eq!(unresolved.unresolved_mcp_servers().count(), 1);
    assert!(unresolved.tools().is_empty());

    let agent = resolver().resolve(unresolved).await.expect("resolved");
    assert_eq!(agent.unresolved_mcp_servers().count(), 0);
    let names: Vec<&str> = agent.tools().iter().map(|t| t.spec.name.as_str()).collect();
    assert_eq!(names, ["echo", "add"], "the filter's tools, in its order");
    assert_eq!(agent.tools()[1].spec.description, "Adds two integers.");
    assert_eq!(
        agent.tools()[1].spec.input_schema["required"],
        json!(["a", "b"])
    );

    let machine = agent.state_machine();
    asl::validate(&machine).expect("a valid machine");
    let text = machine.to_json_pretty();
    assert!(text.contains("${McpToolFunctionArn}"), "{text}");
    assert!(
        text.contains(server.url()),
        "the server is frozen into the payload"
    );
    assert!(
        !text.contains("\"fail\""),
        "a tool outside the filter is left out"
    );

    let entry = agent.manifest_entry();
    assert!(
        entry.tools.is_empty(),
        "MCP tools are not Lambdas of their own"
    );
    let mcp = entry.mcp.expect("the manifest's MCP section");
    assert_eq!(mcp.placeholder, "McpToolFunctionArn");
    assert_eq!(mcp.binary, "mcp-tool");
    assert_eq!(mcp.servers[0].url, server.url());
    let frozen: Vec<&str> = mcp.servers[0]
        .tools
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(frozen, ["echo", "add"]);
}

#[tokio::test]
async fn a_filter_name_the_server_does_not_list_fails_synth_naming_it() {
    let server = LoopbackServer::start().await.expect("server");
    let unresolved = agent(McpServer::new("calc", server.url()).tools(["add", "divide"]));
    let error = resolver()
        .resolve(unresolved)
        .await
        .expect_err("unknown tool");
    assert!(matches!(error, McpError::Build(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("has no tool `divide`"), "{text}");
    assert!(text.contains("add, echo, fail, sleep"), "{text}");
}

#[tokio::test]
async fn a_server_down_at_synth_fails_naming_the_server_and_its_url() {
    let url = unused_url().await.expect("a free port");
    let error = resolver()
        .resolve(agent(McpServer::new("calc", url.clone())))
        .await
        .expect_err("down");
    assert!(matches!(error, McpError::Unreachable { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("MCP server `calc`"), "{text}");
    assert!(text.contains(&url), "{text}");
}

#[tokio::test]
async fn credentials_come_from_the_secret() {
    let server = LoopbackServer::start_with_token("s3cret")
        .await
        .expect("server");
    let with_secret = agent(McpServer::new("docs", server.url()).secret("mcp/docs"));
    let resolved = resolver().resolve(with_secret).await.expect("authorized");
    assert_eq!(resolved.tools().len(), 4);

    let without = resolver()
        .resolve(agent(McpServer::new("docs", server.url())))
        .await
        .expect_err("no token");
    assert!(
        without.to_string().contains("MCP server `docs`"),
        "{without}"
    );

    let missing = resolver()
        .resolve(agent(
            McpServer::new("docs", server.url()).secret("mcp/nope"),
        ))
        .await
        .expect_err("unreadable secret");
    let text = missing.to_string();
    assert!(text.contains("secret `mcp/nope`"), "{text}");
    assert!(text.contains("ResourceNotFoundException"), "{text}");

    let result = handler(Duration::from_secs(10))
        .call(call(
            server.url(),
            "add",
            json!({"a": 1, "b": 2}),
            Some("mcp/docs"),
        ))
        .await;
    assert_eq!((result.content.as_str(), result.is_error), ("3", false));
}

#[tokio::test]
async fn a_call_returns_the_tools_text() {
    let server = LoopbackServer::start().await.expect("server");
    let handler = handler(Duration::from_secs(10));
    let result = handler
        .handle(&json!({
            "id": "toolu_7", "name": "add", "input": {"a": 40, "b": 2},
            "mcp": {"server": "calc", "url": server.url(), "tool": "add"}
        }))
        .await
        .expect("an MCP tool call");
    assert_eq!(result.tool_use_id, "toolu_7");
    assert_eq!((result.content.as_str(), result.is_error), ("42", false));
    assert_eq!(server.calls(), 1);
}

#[tokio::test]
async fn a_tool_error_is_an_error_result_with_the_servers_words() {
    let server = LoopbackServer::start().await.expect("server");
    let result = handler(Duration::from_secs(10))
        .call(call(server.url(), "fail", json!({}), None))
        .await;
    assert!(result.is_error);
    assert_eq!(
        result.content,
        "The tool fail reported an error: the upstream database is read-only today"
    );
}

#[tokio::test]
async fn a_server_down_slow_or_refusing_is_an_error_result() {
    let down = unused_url().await.expect("a free port");
    let result = handler(Duration::from_secs(10))
        .call(call(&down, "add", json!({"a": 1, "b": 2}), None))
        .await;
    assert!(result.is_error);
    assert!(
        result.content.contains("cannot reach MCP server `calc`"),
        "{}",
        result.content
    );
    assert!(result.content.contains(&down), "{}", result.content);

    let server = LoopbackServer::start().await.expect("server");
    let slow = handler(Duration::from_millis(300))
        .call(call(server.url(), "sleep", json!({"ms": 5000}), None))
        .await;
    assert!(slow.is_error);
    assert!(
        slow.content.contains("did not answer within 1 s"),
        "{}",
        slow.content
    );

    let refused = handler(Duration::from_secs(10))
        .call(call(server.url(), "add", json!({"a": "one"}), None))
        .await;
    assert!(refused.is_error);
    assert!(
        refused.content.contains("a and b must be integers"),
        "{}",
        refused.content
    );

    let not_object = handler(Duration::from_secs(10))
        .call(call(server.url(), "add", json!([1, 2]), None))
        .await;
    assert!(not_object.is_error);
    assert!(
        not_object.content.contains("must be a JSON object"),
        "{}",
        not_object.content
    );
}

#[tokio::test]
async fn a_payload_that_is_not_an_mcp_call_is_a_task_error() {
    let error = handler(Duration::from_secs(1))
        .handle(&json!({"id": "t", "name": "add", "input": {}}))
        .await
        .expect_err("no mcp target");
    assert!(error.to_string().contains("missing field `mcp`"), "{error}");
}

#[tokio::test]
async fn a_server_that_lists_too_many_tools_fails_synth_at_the_cap() {
    let server = LoopbackServer::start_with_extra_tools(300)
        .await
        .expect("server");
    let error = resolver()
        .resolve(agent(McpServer::new("flood", server.url()).tools(["add"])))
        .await
        .expect_err("too many");
    assert!(
        matches!(error, McpError::TooManyTools { max: 256, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("MCP server `flood`"), "{error}");

    let fine = LoopbackServer::start_with_extra_tools(252)
        .await
        .expect("server");
    let agent = resolver()
        .resolve(agent(
            McpServer::new("many", fine.url()).tools(["extra_251"]),
        ))
        .await
        .expect("256 tools is the cap, not over it");
    assert_eq!(agent.tools()[0].spec.name, "extra_251");
}
