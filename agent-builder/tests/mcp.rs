//! MCP servers in the builder, with their tool lists given here (the builder does no network).

use agent_builder::manifest::AgentEntry;
use agent_builder::{Agent, AgentBuilder, AgentTool, McpServer, Model, ToolLambda, ToolSpec};
use serde_json::json;

fn spec(name: &str) -> ToolSpec {
    ToolSpec::new(
        name,
        format!("The {name} tool."),
        json!({"type": "object", "properties": {"q": {"type": "string"}}}),
    )
}

fn builder() -> AgentBuilder {
    Agent::builder("researcher")
        .system_prompt("You look things up.")
        .model(Model::anthropic("claude-sonnet-4-5"))
}

fn docs() -> McpServer {
    McpServer::new("docs", "https://docs.example.com/mcp").secret("mcp/docs")
}

fn listed() -> Vec<ToolSpec> {
    vec![spec("search"), spec("fetch_page"), spec("delete_page")]
}

fn problems(builder: AgentBuilder) -> Vec<String> {
    builder.build().expect_err("invalid").problems
}

#[test]
fn the_filter_picks_the_tools_and_each_call_carries_its_server() {
    let agent = builder()
        .mcp_server(docs().tools(["search", "fetch_page"]))
        .build()
        .expect("valid before the list is read");
    assert_eq!(
        agent.model_tools().len(),
        0,
        "no tools until the list is read"
    );
    let agent = agent
        .with_mcp_tools("docs", listed())
        .expect("the filter's tools exist");
    let names: Vec<&str> = agent.tools().iter().map(|t| t.spec.name.as_str()).collect();
    assert_eq!(names, ["search", "fetch_page"]);
    let ToolLambda::Mcp(target) = &agent.tools()[0].lambda else {
        panic!("an MCP tool: {:?}", agent.tools()[0].lambda);
    };
    assert_eq!(target.url, "https://docs.example.com/mcp");
    assert_eq!(target.secret.as_deref(), Some("mcp/docs"));
    assert_eq!(agent.tools()[0].function, "${McpToolFunctionArn}");
    assert_eq!(agent.config().tools.len(), 2, "the model sees them");
    // Reading the list again replaces it, it does not add the tools twice.
    let again = agent.with_mcp_tools("docs", listed()).expect("again");
    assert_eq!(again.tools().len(), 2);
}

#[test]
fn without_a_filter_every_listed_tool_is_taken() {
    let agent = builder()
        .mcp_server(docs())
        .build()
        .and_then(|a| a.with_mcp_tools("docs", listed()))
        .expect("valid");
    assert_eq!(agent.tools().len(), 3);
}

#[test]
fn a_filter_name_the_server_does_not_list_is_an_error() {
    let agent = builder()
        .mcp_server(docs().tools(["search", "serch"]))
        .build()
        .expect("valid before the list is read");
    let error = agent.with_mcp_tools("docs", listed()).expect_err("serch");
    assert_eq!(
        error.problems,
        [
            "MCP server `docs` (https://docs.example.com/mcp) has no tool `serch` for the filter; \
          it lists: search, fetch_page, delete_page"
        ]
    );
}

#[test]
fn bad_declarations_are_refused_with_what_to_fix() {
    let all = problems(
        builder()
            .mcp_server(McpServer::new("bad name", "ftp://x"))
            .mcp_server(McpServer::new("docs", "https://x/mcp").secret("has space"))
            .mcp_server(McpServer::new("docs", "https://{%x%}/mcp").tools(Vec::<String>::new()))
            .mcp_server(McpServer::new("more", "https://x/mcp").tools(["a", "a"])),
    );
    let expected = [
        "MCP server name `bad name` must be",
        "MCP server `bad name`'s URL `ftp://x` must be an http:// or https:// URL",
        "MCP server `docs`'s secret `has space` must be a Secrets Manager secret name or ARN",
        "MCP server `docs`'s URL `https://{%x%}/mcp` must be",
        "MCP server `docs`'s tool filter is empty",
        "MCP server `docs` is added twice",
        "MCP server `more`'s tool filter names `a` twice",
    ];
    for want in expected {
        assert!(all.iter().any(|p| p.contains(want)), "{want}: {all:#?}");
    }
}

#[test]
fn mcp_tools_are_checked_like_the_agents_own() {
    let own = builder()
        .tool(spec("search"))
        .mcp_server(docs())
        .build()
        .expect("valid before the list is read");
    let error = own.with_mcp_tools("docs", listed()).expect_err("a clash");
    assert!(
        error
            .problems
            .contains(&"tool `search` is added twice".to_owned()),
        "{error}"
    );

    let bad_name = builder().mcp_server(docs()).build().expect("valid");
    let error = bad_name
        .with_mcp_tools("docs", vec![spec("files/read")])
        .expect_err("a name providers refuse");
    assert_eq!(
        error.problems,
        [
            "tool name `files/read` must be 1 to 64 letters, digits, `-` or `_` (the providers' rule) \
          (a tool of MCP server `docs`: leave it out with .tools([…]))"
        ]
    );

    let given = problems(builder().tool(AgentTool::mcp(spec("search"), docs().target("search"))));
    assert!(
        given[0].starts_with("tool `search` is an MCP tool given with .tool(…)"),
        "{given:?}"
    );

    let unknown = builder().build().expect("valid");
    let error = unknown
        .with_mcp_tools("docs", listed())
        .expect_err("no server");
    assert_eq!(error.problems, ["the agent has no MCP server named `docs`"]);
}

#[test]
fn approval_may_name_a_tool_the_server_has_not_listed_yet() {
    let agent = builder()
        .mcp_server(docs().tools(["search", "delete_page"]))
        .require_approval(["delete_page"])
        .build()
        .expect("the server may have it");
    let resolved = agent.with_mcp_tools("docs", listed()).expect("it does");
    assert_eq!(resolved.approval_tools(), ["delete_page"]);
    asl::validate(&resolved.state_machine()).expect("a valid machine");

    let outside = builder()
        .mcp_server(docs().tools(["search"]))
        .require_approval(["delete_page"])
        .build();
    assert!(outside.is_err(), "the filter leaves delete_page out");
}

fn resolved() -> Agent {
    builder()
        .mcp_server(docs().tools(["search", "fetch_page"]))
        .build()
        .and_then(|a| a.with_mcp_tools("docs", listed()))
        .expect("valid")
}

#[test]
fn the_manifest_names_the_servers_secrets_and_frozen_tools() {
    let entry: AgentEntry = resolved().manifest_entry();
    assert!(entry.tools.is_empty());
    let value = serde_json::to_value(&entry.mcp).expect("JSON");
    assert_eq!(
        value,
        json!({
            "placeholder": "McpToolFunctionArn",
            "binary": "mcp-tool",
            "servers": [{
                "name": "docs",
                "url": "https://docs.example.com/mcp",
                "secret": "mcp/docs",
                "tools": [
                    {"name": "search", "description": "The search tool.", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
                    {"name": "fetch_page", "description": "The fetch_page tool.", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}
                ]
            }]
        })
    );
}

#[test]
fn the_mcp_machine_snapshot() {
    let machine = resolved().state_machine();
    asl::validate(&machine).expect("a valid machine");
    insta::assert_snapshot!(machine.to_json_pretty());
}
