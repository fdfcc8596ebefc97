//! The agent definition and its typed builder.

use serde_json::Value;

use crate::error::BuildError;
use crate::manifest::{
    self, AgentEntry, FunctionRef, McpRef, McpServerRef, RequestsRef, SubAgentRef, ToolFunctionRef,
    WorkflowType,
};
use crate::mcp::{self, McpServer, McpTarget};
use crate::people::{self, ApprovalTools, People, RequestDestination};
use crate::protocol::{AgentConfig, CacheTtl, ModelSpec, Provider, ToolSpec};

/// The iteration cap when none is set: enough for a few rounds of tools, small enough that a
/// model stuck in a loop stops soon.
pub const DEFAULT_MAX_ITERATIONS: u32 = 10;
/// How many tool calls of one turn run at once when not set.
pub const DEFAULT_TOOL_CONCURRENCY: u32 = 10;

/// A tool an agent may call: what the model sees, and the Lambda that runs it.
///
/// Four kinds, by where the Lambda comes from:
/// - [`AgentTool::new`] (or any [`ToolSpec`] given to [`AgentBuilder::tool`]): a Rust tool whose
///   Lambda is the cargo binary named after it (`tool-get-weather`), built and deployed by the
///   CDK construct;
/// - [`AgentTool::existing_lambda`]: a Lambda that already exists, written in any language,
///   given by name or ARN; the deployment calls it and builds nothing;
/// - [`AgentTool::with_function`]: the definition names the function itself (an ARN, a name, or
///   a `${Placeholder}` of your own) and the manifest leaves it out;
/// - [`AgentTool::mcp`]: a tool of an MCP server ([`AgentBuilder::mcp_server`]), run by the one
///   generic MCP tool Lambda (`${McpToolFunctionArn}`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgentTool {
    /// Name, description and input schema.
    pub spec: ToolSpec,
    /// The Lambda's reference in the definition: a `${Placeholder}` (the default, filled by CDK),
    /// a function name or an ARN.
    pub function: String,
    /// Where the Lambda behind the placeholder comes from.
    pub lambda: ToolLambda,
}

/// Where a tool's Lambda comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolLambda {
    /// A cargo binary of the team's workspace (`tool-get-weather`).
    Binary(String),
    /// An existing function, by name or ARN.
    Existing(String),
    /// Named in the definition itself; the manifest says nothing of it.
    InDefinition,
    /// A tool of an MCP server, called by the generic MCP tool Lambda with this target.
    Mcp(McpTarget),
}

impl AgentTool {
    /// A Rust tool, run by the cargo binary named after it (`get_weather` → `tool-get-weather`)
    /// behind `${ToolGetWeatherFunctionArn}`.
    pub fn new(spec: ToolSpec) -> Self {
        let function = format!("${{{}}}", manifest::tool_placeholder(&spec.name));
        let lambda = ToolLambda::Binary(manifest::tool_binary(&spec.name));
        Self {
            spec,
            function,
            lambda,
        }
    }

    /// A tool served by a Lambda that already exists (any language), by function name or ARN.
    /// The model sees `spec`; the definition calls `${Tool<Name>FunctionArn}`, which the
    /// deployment fills with this function's ARN; nothing is built for it. The function gets
    /// the tool call (`{"id", "name", "input"}`) and answers a tool result
    /// (`{"tool_use_id", "content", "is_error"}`).
    pub fn existing_lambda(spec: ToolSpec, function: impl Into<String>) -> Self {
        let function_name = function.into();
        Self {
            lambda: ToolLambda::Existing(function_name),
            ..Self::new(spec)
        }
    }

    /// A tool of an MCP server, as its tool list gave it (`spec`), run by the generic MCP tool
    /// Lambda behind `${McpToolFunctionArn}`, which calls `target`. Made by
    /// [`Agent::with_mcp_tools`]; an agent takes MCP tools only from the servers it declares
    /// with [`AgentBuilder::mcp_server`] (`build` refuses one given with `.tool(…)`).
    pub fn mcp(spec: ToolSpec, target: McpTarget) -> Self {
        Self {
            spec,
            function: format!("${{{}}}", mcp::MCP_PLACEHOLDER),
            lambda: ToolLambda::Mcp(target),
        }
    }

    /// Whether an MCP server serves this tool.
    pub fn is_mcp(&self) -> bool {
        matches!(self.lambda, ToolLambda::Mcp(_))
    }

    /// The same tool, with the definition naming its Lambda directly (a name, an ARN or a
    /// `${Placeholder}` of your own); the manifest leaves it out.
    pub fn with_function(mut self, function: impl Into<String>) -> Self {
        self.function = function.into();
        self.lambda = ToolLambda::InDefinition;
        self
    }
}

impl From<ToolSpec> for AgentTool {
    fn from(spec: ToolSpec) -> Self {
        AgentTool::new(spec)
    }
}

/// An LLM agent: everything needed to emit its state machine.
///
/// Build one with [`Agent::builder`]; the builder checks every field, so an `Agent` is always
/// valid.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) system_prompt: String,
    pub(crate) model: ModelSpec,
    pub(crate) tools: Vec<AgentTool>,
    pub(crate) max_iterations: u32,
    pub(crate) tool_concurrency: u32,
    pub(crate) output_schema: Option<Value>,
    pub(crate) workflow_type: WorkflowType,
    pub(crate) people: People,
    pub(crate) sub_agents: Vec<SubAgent>,
    pub(crate) mcp_servers: Vec<McpServer>,
}

/// Another agent this one may call as a tool: its state machine runs as a nested execution
/// (`states:startExecution.sync:2`), and its answer is the tool's result.
#[derive(Debug, Clone, PartialEq)]
pub struct SubAgent {
    /// The sub-agent's name (its state machine's), also the tool's name the model calls.
    pub agent: String,
    /// What the model is told the tool does.
    pub spec: ToolSpec,
    /// The DefinitionSubstitutions key of its state machine's ARN
    /// (`AgentWeatherStateMachineArn`).
    pub placeholder: String,
}

impl Agent {
    /// Starts an agent named `name` (letters, digits, `-` and `_`; it names the state machine).
    pub fn builder(name: impl Into<String>) -> AgentBuilder {
        AgentBuilder {
            name: name.into(),
            description: None,
            system_prompt: None,
            model: None,
            tools: Vec::new(),
            max_iterations: DEFAULT_MAX_ITERATIONS,
            tool_concurrency: DEFAULT_TOOL_CONCURRENCY,
            output_schema: None,
            workflow_type: WorkflowType::Standard,
            people: People::default(),
            sub_agents: Vec::new(),
            mcp_servers: Vec::new(),
        }
    }

    /// The agent's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the agent is for, shown as the state machine's comment.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The model and its limits.
    pub fn model(&self) -> &ModelSpec {
        &self.model
    }

    /// The tools.
    pub fn tools(&self) -> &[AgentTool] {
        &self.tools
    }

    /// The iteration cap: LLM turns at most.
    pub fn max_iterations(&self) -> u32 {
        self.max_iterations
    }

    /// Standard or Express.
    pub fn workflow_type(&self) -> WorkflowType {
        self.workflow_type
    }

    /// What the agent asks people: approvals, questions, where requests go.
    pub fn people(&self) -> &People {
        &self.people
    }

    /// The agents this one calls as tools.
    pub fn sub_agents(&self) -> &[SubAgent] {
        &self.sub_agents
    }

    /// The MCP servers the agent takes tools from.
    pub fn mcp_servers(&self) -> &[McpServer] {
        &self.mcp_servers
    }

    /// The MCP servers whose tool list has not been read yet: until it is, the machine has none
    /// of their tools (the command line reads them before it synthesizes or runs anything).
    pub fn unresolved_mcp_servers(&self) -> impl Iterator<Item = &McpServer> {
        self.mcp_servers.iter().filter(|s| !s.is_resolved())
    }

    /// The agent with the tool list of its MCP server `server` frozen in, as the server listed it
    /// (`listed`, before the filter): the filter is applied and every tool is checked like the
    /// agent's own (name, description, object schema, no clash with another tool). A filter name
    /// the server does not list is a problem of the returned error.
    pub fn with_mcp_tools(self, server: &str, listed: Vec<ToolSpec>) -> Result<Agent, BuildError> {
        let mut builder = self.into_builder();
        match builder.mcp_servers.iter_mut().find(|s| s.name == server) {
            Some(found) => found.listed = Some(listed),
            None => {
                return Err(BuildError {
                    agent: builder.name,
                    problems: vec![format!("the agent has no MCP server named `{server}`")],
                });
            }
        }
        builder.build()
    }

    /// The builder this agent came from, with its MCP tools taken out (`build` adds them back
    /// from the servers' frozen lists).
    fn into_builder(self) -> AgentBuilder {
        AgentBuilder {
            name: self.name,
            description: self.description,
            system_prompt: Some(self.system_prompt),
            model: Some(self.model),
            tools: self.tools.into_iter().filter(|t| !t.is_mcp()).collect(),
            max_iterations: self.max_iterations,
            tool_concurrency: self.tool_concurrency,
            output_schema: self.output_schema,
            workflow_type: self.workflow_type,
            people: self.people,
            sub_agents: self.sub_agents,
            mcp_servers: self.mcp_servers,
        }
    }

    /// Every tool the model sees: the agent's tools, the sub-agents, and `ask_user` when the
    /// model may ask the user.
    pub fn model_tools(&self) -> Vec<ToolSpec> {
        let mut tools: Vec<ToolSpec> = self.tools.iter().map(|t| t.spec.clone()).collect();
        tools.extend(self.sub_agents.iter().map(|s| s.spec.clone()));
        if self.people.ask_user {
            tools.push(people::ask_user_spec());
        }
        tools
    }

    /// The names of the tools whose calls wait for approval.
    pub fn approval_tools(&self) -> Vec<String> {
        match &self.people.approval {
            ApprovalTools::None => Vec::new(),
            ApprovalTools::Tools(names) => names.clone(),
            ApprovalTools::All => self.tools.iter().map(|t| t.spec.name.clone()).collect(),
        }
    }

    /// What the LLM Lambda gets with every turn.
    pub fn config(&self) -> AgentConfig {
        AgentConfig {
            name: self.name.clone(),
            system_prompt: self.system_prompt.clone(),
            model: self.model.clone(),
            tools: self.model_tools(),
            output_schema: self.output_schema.clone(),
            cache_ttl: if self.people.waits() {
                CacheTtl::OneHour
            } else {
                CacheTtl::FiveMinutes
            },
        }
    }

    /// The placeholder of the LLM Lambda this agent calls.
    pub fn llm_placeholder(&self) -> String {
        manifest::llm_placeholder(self.model.provider)
    }

    /// The definition's file name inside `state-machines/`.
    pub fn definition_file(&self) -> String {
        format!("{}.asl.json", self.name)
    }

    /// This agent's entry in the manifest.
    pub fn manifest_entry(&self) -> AgentEntry {
        AgentEntry {
            name: self.name.clone(),
            definition: self.definition_file(),
            workflow_type: self.workflow_type,
            llm: FunctionRef {
                placeholder: self.llm_placeholder(),
                binary: manifest::llm_binary(self.model.provider),
                provider: Some(self.model.provider),
            },
            tools: self
                .tools
                .iter()
                .filter_map(|t| {
                    let placeholder = t.function.strip_prefix("${")?.strip_suffix('}')?;
                    let (binary, function) = match &t.lambda {
                        ToolLambda::Binary(binary) => (Some(binary.clone()), None),
                        ToolLambda::Existing(function) => (None, Some(function.clone())),
                        ToolLambda::InDefinition | ToolLambda::Mcp(_) => return None,
                    };
                    Some(ToolFunctionRef {
                        tool: t.spec.name.clone(),
                        placeholder: placeholder.to_owned(),
                        binary,
                        function,
                    })
                })
                .collect(),
            conversation_table: true,
            sub_agents: self
                .sub_agents
                .iter()
                .map(|s| SubAgentRef {
                    agent: s.agent.clone(),
                    placeholder: s.placeholder.clone(),
                })
                .collect(),
            requests: self.people.waits().then(|| RequestsRef {
                destination: self.people.destination,
                placeholder: self.people.destination.placeholder().to_owned(),
            }),
            mcp: (!self.mcp_servers.is_empty()).then(|| McpRef {
                placeholder: mcp::MCP_PLACEHOLDER.to_owned(),
                binary: mcp::MCP_BINARY.to_owned(),
                servers: self
                    .mcp_servers
                    .iter()
                    .map(|server| McpServerRef {
                        name: server.name.clone(),
                        url: server.url.clone(),
                        secret: server.secret.clone(),
                        tools: self
                            .tools
                            .iter()
                            .filter(|t| {
                                matches!(&t.lambda, ToolLambda::Mcp(target) if target.server == server.name)
                            })
                            .map(|t| t.spec.clone())
                            .collect(),
                    })
                    .collect(),
            }),
        }
    }
}

/// Builds an [`Agent`], checking every field in [`AgentBuilder::build`].
#[derive(Debug, Clone)]
#[must_use = "call .build() to get the agent"]
pub struct AgentBuilder {
    name: String,
    description: Option<String>,
    system_prompt: Option<String>,
    model: Option<ModelSpec>,
    tools: Vec<AgentTool>,
    max_iterations: u32,
    tool_concurrency: u32,
    output_schema: Option<Value>,
    workflow_type: WorkflowType,
    people: People,
    sub_agents: Vec<SubAgent>,
    mcp_servers: Vec<McpServer>,
}

impl AgentBuilder {
    /// What the agent is for (the state machine's comment).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The system prompt.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// The model: provider, model id, max tokens and temperature.
    pub fn model(mut self, model: impl Into<ModelSpec>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: impl Into<AgentTool>) -> Self {
        self.tools.push(tool.into());
        self
    }

    /// The iteration cap: how many LLM turns a run may take before it fails with
    /// `Agent.MaxIterations`.
    pub fn max_iterations(mut self, max: u32) -> Self {
        self.max_iterations = max;
        self
    }

    /// How many tool calls of one turn run at once.
    pub fn tool_concurrency(mut self, n: u32) -> Self {
        self.tool_concurrency = n;
        self
    }

    /// A JSON Schema the final answer must match; the run's output then carries it as `result`.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.output_schema = Some(schema);
        self
    }

    /// Standard (the default) or Express, for synchronous request/response use.
    pub fn workflow_type(mut self, workflow_type: WorkflowType) -> Self {
        self.workflow_type = workflow_type;
        self
    }

    /// The calls of these tools wait for a person's approval before they run; a denied call (or
    /// one nobody answers in time) becomes an error result the model reads.
    pub fn require_approval<S: Into<String>>(mut self, tools: impl IntoIterator<Item = S>) -> Self {
        let mut names = match self.people.approval {
            ApprovalTools::Tools(names) => names,
            _ => Vec::new(),
        };
        names.extend(tools.into_iter().map(Into::into));
        self.people.approval = ApprovalTools::Tools(names);
        self
    }

    /// Every tool call waits for a person's approval.
    pub fn require_approval_for_all_tools(mut self) -> Self {
        self.people.approval = ApprovalTools::All;
        self
    }

    /// The model may ask the person a clarifying question (the built-in `ask_user` tool); the
    /// run waits for the answer, which becomes the tool's result.
    pub fn ask_user(mut self) -> Self {
        self.people.ask_user = true;
        self
    }

    /// How long an approval request or a question waits before the run goes on without an
    /// answer (default a day; at most a year). Approvals that expect a long wait also keep the
    /// Anthropic prompt cache for an hour.
    pub fn wait_for_people(mut self, wait: std::time::Duration) -> Self {
        self.people.wait = Some(wait);
        self
    }

    /// Where approval requests and questions go when deployed (default EventBridge).
    pub fn requests_to(mut self, destination: RequestDestination) -> Self {
        self.people.destination = destination;
        self
    }

    /// Lets the model call `agent` as a tool named after it: a nested execution of its state
    /// machine answers the question the model writes, and its usage counts in this run's.
    pub fn sub_agent(mut self, agent: &Agent) -> Self {
        let description = match agent.description() {
            Some(d) => format!(
                "Asks the {} agent ({d}) a question and returns its answer.",
                agent.name()
            ),
            None => format!(
                "Asks the {} agent a question and returns its answer.",
                agent.name()
            ),
        };
        self.sub_agents.push(SubAgent {
            agent: agent.name().to_owned(),
            spec: people::sub_agent_spec(agent.name(), &description),
            placeholder: manifest::sub_agent_placeholder(agent.name()),
        });
        self
    }

    /// Takes tools from an MCP server (streamable HTTP). Synth reads the server's tool list
    /// (name, description, input schema) and freezes it into the machine and the manifest; at
    /// run time the generic MCP tool Lambda calls the tool on the server.
    pub fn mcp_server(mut self, server: McpServer) -> Self {
        self.mcp_servers.push(server);
        self
    }

    /// Checks everything and returns the agent, or every reason it is not valid.
    pub fn build(mut self) -> Result<Agent, BuildError> {
        let mut problems = Vec::new();
        self.add_mcp_tools(&mut problems);
        if !valid_name(&self.name) {
            problems.push(format!(
                "agent name `{}` must be 1 to 64 letters, digits, `-` or `_` (it names the state machine)",
                self.name
            ));
        }
        self.check_people_and_sub_agents(&mut problems);
        let system_prompt = self.system_prompt.unwrap_or_default();
        if system_prompt.trim().is_empty() {
            problems.push("the system prompt is empty: say what the agent is for".to_owned());
        }
        match &self.model {
            None => problems.push(
                "no model: call .model(Model::anthropic(\"claude-sonnet-4-5\")) or another provider"
                    .to_owned(),
            ),
            Some(model) => {
                if model.model.trim().is_empty() {
                    problems.push("the model id is empty".to_owned());
                }
                if model.max_tokens == 0 {
                    problems.push("max_tokens must be at least 1".to_owned());
                }
                if let Some(t) = model.temperature
                    && !(0.0..=2.0).contains(&t) {
                        problems.push(format!("temperature {t} is outside 0.0 to 2.0"));
                    }
            }
        }
        if self.max_iterations == 0 {
            problems.push("max_iterations must be at least 1".to_owned());
        }
        if self.tool_concurrency == 0 {
            problems.push("tool_concurrency must be at least 1".to_owned());
        }
        for (i, tool) in self.tools.iter().enumerate() {
            let name = &tool.spec.name;
            // A tool of an MCP server is named by the server: the way out is the filter.
            let from_server = match &tool.lambda {
                ToolLambda::Mcp(target) => format!(
                    " (a tool of MCP server `{}`: leave it out with .tools([…]))",
                    target.server
                ),
                _ => String::new(),
            };
            if !valid_name(name) {
                problems.push(format!(
                    "tool name `{name}` must be 1 to 64 letters, digits, `-` or `_` (the providers' rule){from_server}"
                ));
            }
            if self.tools[..i].iter().any(|t| &t.spec.name == name) {
                problems.push(format!("tool `{name}` is added twice"));
            }
            if tool.spec.description.trim().is_empty() {
                problems.push(format!(
                    "tool `{name}` has no description: the model needs one to know when to call it"
                ));
            }
            if tool.spec.input_schema.get("type") != Some(&Value::String("object".into())) {
                problems.push(format!(
                    "tool `{name}`'s input schema must have \"type\": \"object\" (providers require it){from_server}"
                ));
            }
            if tool.function.trim().is_empty() {
                problems.push(format!("tool `{name}` has no Lambda function"));
            }
            if let ToolLambda::Existing(function) = &tool.lambda
                && !valid_function_reference(function)
            {
                problems.push(format!(
                    "tool `{name}`'s existing Lambda `{function}` is not a function name or ARN \
                         (1 to 140 letters, digits, `-`, `_`, or an `arn:…:lambda:…:function:…`)"
                ));
            }
        }
        if let Some(schema) = &self.output_schema
            && !schema.is_object()
        {
            problems.push("the output schema must be a JSON Schema object".to_owned());
        }
        // A missing model is among the problems already.
        let model = match self.model {
            Some(model) if problems.is_empty() => model,
            _ => {
                return Err(BuildError {
                    agent: self.name,
                    problems,
                });
            }
        };
        Ok(Agent {
            name: self.name,
            description: self.description,
            system_prompt,
            model,
            tools: self.tools,
            max_iterations: self.max_iterations,
            tool_concurrency: self.tool_concurrency,
            output_schema: self.output_schema,
            workflow_type: self.workflow_type,
            people: self.people,
            sub_agents: self.sub_agents,
            mcp_servers: self.mcp_servers,
        })
    }

    /// Checks the MCP servers and adds the tools taken from those whose list has been read. An
    /// MCP tool given with [`AgentBuilder::tool`] is refused: its server would be missing from
    /// the manifest (the MCP tools of a built agent are taken out again by `into_builder`).
    fn add_mcp_tools(&mut self, problems: &mut Vec<String>) {
        for tool in self.tools.iter().filter(|t| t.is_mcp()) {
            problems.push(format!(
                "tool `{}` is an MCP tool given with .tool(…): declare its server with \
                 .mcp_server(McpServer::new(…)) instead, and synth reads its tools",
                tool.spec.name
            ));
        }
        for (i, server) in self.mcp_servers.iter().enumerate() {
            server.check(problems);
            if self.mcp_servers[..i].iter().any(|s| s.name == server.name) {
                problems.push(format!("MCP server `{}` is added twice", server.name));
            }
            for spec in server.selected_tools(problems) {
                let target = server.target(&spec.name);
                self.tools.push(AgentTool::mcp(spec, target));
            }
        }
    }

    /// Whether `tool` may be a tool of an MCP server whose list has not been read yet.
    fn may_be_unread_mcp_tool(&self, tool: &str) -> bool {
        self.mcp_servers
            .iter()
            .filter(|s| !s.is_resolved())
            .any(|s| {
                s.filter
                    .as_ref()
                    .is_none_or(|f| f.iter().any(|n| n == tool))
            })
    }

    fn check_people_and_sub_agents(&self, problems: &mut Vec<String>) {
        let tool_names: Vec<&str> = self.tools.iter().map(|t| t.spec.name.as_str()).collect();
        if let ApprovalTools::Tools(names) = &self.people.approval {
            for name in names {
                if !tool_names.contains(&name.as_str()) && !self.may_be_unread_mcp_tool(name) {
                    problems.push(format!(
                        "require_approval names `{name}`, which is not one of the agent's tools ({})",
                        if tool_names.is_empty() { "none".to_owned() } else { tool_names.join(", ") }
                    ));
                }
            }
        }
        if self.people.ask_user && tool_names.contains(&people::ASK_USER_TOOL) {
            problems.push(format!(
                "a tool is named `{}`, the built-in tool ask_user() adds: rename the tool",
                people::ASK_USER_TOOL
            ));
        }
        if let Some(wait) = self.people.wait
            && (wait.as_secs() == 0 || wait.as_secs() > MAX_WAIT_SECONDS)
        {
            problems.push(format!(
                "wait_for_people must be between 1 second and a year, not {} s",
                wait.as_secs()
            ));
        }
        for (i, sub) in self.sub_agents.iter().enumerate() {
            if sub.agent == self.name {
                problems.push(format!("agent `{}` cannot be its own sub-agent", self.name));
            }
            if tool_names.contains(&sub.agent.as_str()) {
                problems.push(format!(
                    "sub-agent `{}` has the name of one of the agent's tools: each tool the model sees needs its own name",
                    sub.agent
                ));
            }
            if self.sub_agents[..i].iter().any(|s| s.agent == sub.agent) {
                problems.push(format!("sub-agent `{}` is added twice", sub.agent));
            }
        }
        let waits = self.people.waits() || !self.sub_agents.is_empty();
        if waits && self.workflow_type == WorkflowType::Express {
            problems.push(
                "an Express agent cannot wait for people or call sub-agents (Express workflows \
                 support neither .waitForTaskToken nor .sync): make it Standard"
                    .to_owned(),
            );
        }
    }
}

/// The longest a request may wait: a Standard execution's own limit is a year.
const MAX_WAIT_SECONDS: u64 = 365 * 24 * 60 * 60;

/// The longest agent or tool name: the providers' limit for tool names, and short enough for a
/// state machine name with the stack's prefix.
const MAX_NAME_LEN: usize = 64;

/// A Lambda function name (`orders`), partial ARN or ARN, as Step Functions' Lambda integration
/// takes it.
fn valid_function_reference(function: &str) -> bool {
    if let Some(rest) = function.strip_prefix("arn:") {
        return rest.contains(":lambda:") && rest.contains(":function:") && !rest.contains(' ');
    }
    !function.is_empty()
        && function.len() <= 140
        && function
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':')
}

pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Builds a [`ModelSpec`] with sensible limits: `Model::anthropic("claude-sonnet-4-5")`.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct Model(ModelSpec);

impl Model {
    /// The max tokens of a reply when not set.
    pub const DEFAULT_MAX_TOKENS: u32 = 4096;

    /// A model of any provider.
    pub fn new(provider: Provider, model: impl Into<String>) -> Self {
        Model(ModelSpec {
            provider,
            model: model.into(),
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            temperature: None,
        })
    }

    /// An Anthropic model (Messages API).
    pub fn anthropic(model: impl Into<String>) -> Self {
        Self::new(Provider::Anthropic, model)
    }

    /// An OpenAI model, or one on an OpenAI-compatible server.
    pub fn openai(model: impl Into<String>) -> Self {
        Self::new(Provider::OpenAi, model)
    }

    /// A Gemini model.
    pub fn gemini(model: impl Into<String>) -> Self {
        Self::new(Provider::Gemini, model)
    }

    /// A model on Amazon Bedrock (Converse API), by model id.
    pub fn bedrock(model: impl Into<String>) -> Self {
        Self::new(Provider::Bedrock, model)
    }

    /// The most tokens one reply may hold.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.0.max_tokens = max_tokens;
        self
    }

    /// Sampling temperature, 0.0 to 2.0.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.0.temperature = Some(temperature);
        self
    }
}

impl From<Model> for ModelSpec {
    fn from(m: Model) -> Self {
        m.0
    }
}
