//! An agent run on the local engine: the agent's own state machine, with its LLM Lambda and tool
//! Lambdas served in-process by the same handlers that deploy.
//!
//! The definition's `${Placeholder}` function names resolve to in-process handlers, so what runs
//! here is exactly the ASL that CDK deploys.

use std::sync::Arc;

use agent_builder::{Agent, LlmRequest, LlmResponse, ToolCall, ToolResult};
use llm_lambdas::{ChatModel, ConversationStore, Handler};
use serde::Deserialize;
use serde_json::{Value, json};
use sfn_agent_mcp::McpHandler;
use sfn_agent_tool::Toolbox;
use sfn_local::{
    Clock, Engine, Execution, ExecutionOptions, HistoryEvent, Machine, Registry, TaskError,
    TaskTokens, handler_fn,
};

/// What happens during a run, for progress output.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A model turn ended.
    Turn(LlmResponse),
    /// A model turn failed (it may be retried by the state machine).
    TurnFailed {
        /// The error name (`LLM.RateLimited`, …).
        error: String,
        /// What happened.
        cause: String,
    },
    /// A tool call starts.
    ToolCall(ToolCall),
    /// A tool call ended.
    ToolResult {
        /// The tool's name.
        name: String,
        /// Its result.
        result: ToolResult,
    },
}

/// Receives progress as the run goes.
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Sees every history event as it is appended.
pub type HistoryListener = Arc<dyn Fn(&HistoryEvent) + Send + Sync>;

/// A request to a person, as the agent's state machine sends it (an approval of a tool call,
/// or a question from the model).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct PersonRequest {
    /// `approval` or `question`.
    pub kind: String,
    /// The agent asking.
    pub agent: String,
    /// The tool the call is for (`ask_user` for a question).
    pub tool: String,
    /// The call's input (for a question, `{"question": …}`).
    pub input: Value,
    /// One line for a person to read.
    pub summary: String,
    /// The task token that answers it.
    pub token: String,
    /// The conversation.
    #[serde(default)]
    pub conversation_id: String,
}

/// What the person said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The call may run.
    Approve,
    /// The call must not run; the reason goes to the model.
    Deny(String),
    /// The answer to a question.
    Answer(String),
    /// No answer: the request waits until its timeout.
    NoAnswer,
}

/// Answers the requests a run sends to people (the terminal, a script, a test).
pub type Responder = Arc<dyn Fn(&PersonRequest) -> Reply + Send + Sync>;

/// A nested execution a run started (a sub-agent), with the execution that started it.
#[derive(Debug, Clone)]
pub struct ChildExecution {
    /// The sub-agent.
    pub agent: String,
    /// The nested execution's ARN.
    pub execution_arn: String,
    /// The ARN of the execution that started it (`AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID`).
    pub parent_arn: String,
    /// The nested execution, with its own history.
    pub execution: Execution,
}

/// How deep sub-agents may nest (an agent that reaches itself through others would not stop).
pub const MAX_SUB_AGENT_DEPTH: usize = 8;

/// A local run of one agent.
pub struct LocalAgent {
    agent: Agent,
    handler: Arc<Handler>,
    toolbox: Arc<Toolbox>,
    progress: Option<ProgressSink>,
    listener: Option<HistoryListener>,
    clock: Option<Arc<dyn Clock>>,
    responder: Option<Responder>,
    agents: Arc<Vec<Agent>>,
    children: Arc<std::sync::Mutex<Vec<ChildExecution>>>,
    tokens: TaskTokens,
    depth: usize,
    mcp: Arc<McpHandler>,
}

impl LocalAgent {
    /// The agent, answering with `model`, keeping conversations in `store`, running `toolbox`.
    pub fn new(agent: Agent, handler: Handler, toolbox: Toolbox) -> Self {
        Self {
            agent,
            handler: Arc::new(handler),
            toolbox: Arc::new(toolbox),
            progress: None,
            listener: None,
            clock: None,
            responder: None,
            agents: Arc::new(Vec::new()),
            children: Arc::new(std::sync::Mutex::new(Vec::new())),
            tokens: TaskTokens::new(),
            depth: 0,
            mcp: Arc::new(McpHandler::from_env()),
        }
    }

    /// Calls MCP tools with this handler (default: credentials from Secrets Manager or
    /// `MCP_<SERVER>_SECRET`, `MCP_TIMEOUT_SECONDS`).
    pub fn with_mcp_handler(mut self, handler: McpHandler) -> Self {
        self.mcp = Arc::new(handler);
        self
    }

    /// Answers the approval requests and questions of the run (without one, each is denied or
    /// left without an answer at once, and the model is told so).
    pub fn with_responder(mut self, responder: Responder) -> Self {
        self.responder = Some(responder);
        self
    }

    /// Completes the requests' task tokens in this table: the one the engine running the agent
    /// waits on (a server's, when the server runs the agent).
    pub fn with_task_tokens(mut self, tokens: TaskTokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The agents a sub-agent call may start, by name (the project's agents).
    pub fn with_agents(mut self, agents: Vec<Agent>) -> Self {
        self.agents = Arc::new(agents);
        self
    }

    /// The nested executions the runs so far started, in the order they ended.
    pub fn children(&self) -> Vec<ChildExecution> {
        self.children.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// A sub-agent's runner: the same handlers, clock, responder and record of children.
    fn nested(&self, agent: Agent) -> LocalAgent {
        LocalAgent {
            agent,
            handler: Arc::clone(&self.handler),
            toolbox: Arc::clone(&self.toolbox),
            progress: self.progress.clone(),
            listener: None,
            clock: self.clock.clone(),
            responder: self.responder.clone(),
            agents: Arc::clone(&self.agents),
            children: Arc::clone(&self.children),
            tokens: TaskTokens::new(),
            depth: self.depth + 1,
            mcp: Arc::clone(&self.mcp),
        }
    }

    /// A handler for the agent's LLM Lambda with metrics off the terminal.
    pub fn handler(
        model: Arc<dyn ChatModel>,
        store: Arc<dyn ConversationStore>,
        model_override: Option<String>,
    ) -> Handler {
        let handler = Handler::new(model, store)
            .with_metrics(llm_lambdas::metrics::MetricsSink::to_writer(std::io::sink()));
        match model_override {
            Some(model) => handler.with_model_override(model),
            None => handler,
        }
    }

    /// Reports each model turn and tool call.
    pub fn with_progress(mut self, progress: ProgressSink) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Sees every history event as it happens (`--trace`).
    pub fn with_listener(mut self, listener: HistoryListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Uses this clock for Wait states and retry back-off.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The task registry: the LLM placeholder and each tool's function name, to in-process
    /// handlers with the Lambda's payload and error shape.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::new();
        let handler = Arc::clone(&self.handler);
        let progress = self.progress.clone();
        registry.lambda(
            &format!("${{{}}}", self.agent.llm_placeholder()),
            handler_fn(move |payload: Arc<Value>| {
                let handler = Arc::clone(&handler);
                let progress = progress.clone();
                async move {
                    let request = LlmRequest::deserialize(&*payload).map_err(|e| {
                        TaskError::new(
                            "Runtime.UnmarshalError",
                            format!("the LLM request does not match the wire protocol: {e}"),
                        )
                    })?;
                    match handler.handle(request).await {
                        Ok(response) => {
                            if let Some(p) = &progress {
                                p(&Progress::Turn(response.clone()));
                            }
                            serde_json::to_value(response)
                                .map_err(|e| TaskError::new("Runtime.MarshalError", e.to_string()))
                        }
                        Err(error) => {
                            let (name, cause) = (error.error_name().to_owned(), error.to_string());
                            if let Some(p) = &progress {
                                p(&Progress::TurnFailed {
                                    error: name.clone(),
                                    cause: cause.clone(),
                                });
                            }
                            Err(TaskError::new(name, cause))
                        }
                    }
                }
            }),
        );
        for tool in self.agent.tools().iter().filter(|t| !t.is_mcp()) {
            let toolbox = Arc::clone(&self.toolbox);
            let progress = self.progress.clone();
            registry.lambda(
                &tool.function,
                handler_fn(move |payload: Arc<Value>| {
                    let toolbox = Arc::clone(&toolbox);
                    let progress = progress.clone();
                    async move {
                        let call = ToolCall::deserialize(&*payload).map_err(|e| {
                            TaskError::new(
                                "Runtime.UnmarshalError",
                                format!("the tool call does not match the wire protocol: {e}"),
                            )
                        })?;
                        if let Some(p) = &progress {
                            p(&Progress::ToolCall(call.clone()));
                        }
                        let name = call.name.clone();
                        let result = toolbox.call(call).await;
                        if let Some(p) = &progress {
                            p(&Progress::ToolResult {
                                name,
                                result: result.clone(),
                            });
                        }
                        serde_json::to_value(result)
                            .map_err(|e| TaskError::new("Runtime.MarshalError", e.to_string()))
                    }
                }),
            );
        }
        if self.agent.tools().iter().any(|t| t.is_mcp()) {
            self.register_mcp(&mut registry);
        }
        if self.agent.people().waits() {
            self.register_people(&mut registry);
        }
        if !self.agent.sub_agents().is_empty() {
            self.register_sub_agents(&mut registry);
        }
        registry
    }

    /// The generic MCP tool Lambda, served in-process by the same handler: the call goes to the
    /// real server its payload names.
    fn register_mcp(&self, registry: &mut Registry) {
        let mcp = Arc::clone(&self.mcp);
        let progress = self.progress.clone();
        registry.lambda(
            &format!("${{{}}}", agent_builder::mcp::MCP_PLACEHOLDER),
            handler_fn(move |payload: Arc<Value>| {
                let mcp = Arc::clone(&mcp);
                let progress = progress.clone();
                async move {
                    let call = ToolCall::deserialize(&*payload).ok();
                    if let (Some(p), Some(call)) = (&progress, &call) {
                        p(&Progress::ToolCall(call.clone()));
                    }
                    let result = mcp.handle(&payload).await.map_err(|e| {
                        TaskError::new(sfn_agent_tool::lambda::INVALID_PAYLOAD, e.to_string())
                    })?;
                    if let (Some(p), Some(call)) = (&progress, call) {
                        p(&Progress::ToolResult {
                            name: call.name,
                            result: result.clone(),
                        });
                    }
                    serde_json::to_value(result)
                        .map_err(|e| TaskError::new("Runtime.MarshalError", e.to_string()))
                }
            }),
        );
    }

    /// The agent's request destination, served by the responder: the request is handed to it,
    /// and its reply completes the task token as SendTaskSuccess / SendTaskFailure would.
    fn register_people(&self, registry: &mut Registry) {
        let destination = self.agent.people().destination;
        let base = destination
            .resource()
            .trim_end_matches(".waitForTaskToken")
            .to_owned();
        let responder = self.responder.clone();
        let tokens = self.tokens.clone();
        registry.resource(
            &base,
            handler_fn(move |params: Arc<Value>| {
                let responder = responder.clone();
                let tokens = tokens.clone();
                async move {
                    let request = person_request(&params).map_err(|e| {
                        TaskError::new(
                            "States.Runtime",
                            format!("the request is not one sfn-agent sends: {e}"),
                        )
                    })?;
                    let answer = tokio::task::spawn_blocking({
                        let request = request.clone();
                        move || match responder {
                            Some(respond) => respond(&request),
                            None => Reply::Deny("nobody is there to answer in this run".to_owned()),
                        }
                    });
                    tokio::spawn(async move {
                        let reply = answer.await.unwrap_or(Reply::NoAnswer);
                        // A token whose task already ended (a timeout) cannot be answered.
                        let _ = complete(&tokens, &request, reply);
                    });
                    Ok(delivery_receipt(destination))
                }
            }),
        );
    }

    /// `states:startExecution.sync:2` served by the sub-agents' own state machines, run here as
    /// nested executions, each with its own history.
    fn register_sub_agents(&self, registry: &mut Registry) {
        let mut by_placeholder = std::collections::HashMap::new();
        for sub in self.agent.sub_agents() {
            let found = self.agents.iter().find(|a| a.name() == sub.agent).cloned();
            by_placeholder.insert(
                format!("${{{}}}", sub.placeholder),
                (sub.agent.clone(), found),
            );
        }
        let by_placeholder = Arc::new(by_placeholder);
        let mut runner = self.nested(self.agent.clone());
        runner.depth = self.depth;
        let runner = Arc::new(runner);
        registry.resource(
            "arn:aws:states:::states:startExecution",
            handler_fn(move |params: Arc<Value>| {
                let by_placeholder = Arc::clone(&by_placeholder);
                let runner = Arc::clone(&runner);
                async move {
                    let machine = params["StateMachineArn"].as_str().unwrap_or_default();
                    let Some((name, found)) = by_placeholder.get(machine) else {
                        return Err(TaskError::new(
                            "StepFunctions.StateMachineDoesNotExistException",
                            format!("State Machine Does Not Exist: '{machine}'"),
                        ));
                    };
                    let Some(agent) = found.clone() else {
                        return Err(TaskError::new(
                            "StepFunctions.StateMachineDoesNotExistException",
                            format!(
                                "State Machine Does Not Exist: no agent called `{name}` runs here; \
                                 give the app every agent its agents call"
                            ),
                        ));
                    };
                    if runner.depth >= MAX_SUB_AGENT_DEPTH {
                        return Err(TaskError::new(
                            "States.TaskFailed",
                            format!("sub-agents nest more than {MAX_SUB_AGENT_DEPTH} deep: does `{name}` call back the agent that called it?"),
                        ));
                    }
                    let input = params.get("Input").cloned().unwrap_or_else(|| json!({}));
                    let parent = input["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let child = runner.nested(agent);
                    let execution = Box::pin(child.run(input.clone())).await;
                    let arn = format!(
                        "arn:aws:states:us-east-1:123456789012:execution:{name}-agent:{}",
                        execution.name
                    );
                    let described = describe(&arn, name, &input, &execution);
                    if let Ok(mut children) = runner.children.lock() {
                        children.push(ChildExecution {
                            agent: name.clone(),
                            execution_arn: arn,
                            parent_arn: parent,
                            execution: execution.clone(),
                        });
                    }
                    if execution.status == sfn_local::ExecutionStatus::Succeeded {
                        Ok(described)
                    } else {
                        Err(TaskError::new("States.TaskFailed", described.to_string()))
                    }
                }
            }),
        );
    }

    /// Runs the agent's state machine on `input` (`{"question": …, "conversation_id"?: …}`).
    pub async fn run(&self, input: Value) -> Execution {
        self.run_with_registry(self.registry(), input).await
    }

    /// Runs the agent with a registry taken from [`LocalAgent::registry`] and changed (a tool
    /// Lambda made to crash, say): how tests reach the run path `run` takes.
    pub async fn run_with_registry(&self, registry: Registry, input: Value) -> Execution {
        self.execute(registry, &self.agent.state_machine(), None, input)
            .await
    }

    /// Runs another machine built around the agent's states (a batch of questions: see
    /// `sfn-agent batch`) with the agent's handlers, and the objects its distributed Maps read
    /// and write in `store`.
    pub async fn run_definition(
        &self,
        definition: &asl::StateMachine,
        store: Arc<dyn sfn_local::ObjectStore>,
        input: Value,
    ) -> Execution {
        self.execute(self.registry(), definition, Some(store), input)
            .await
    }

    async fn execute(
        &self,
        registry: Registry,
        definition: &asl::StateMachine,
        store: Option<Arc<dyn sfn_local::ObjectStore>>,
        input: Value,
    ) -> Execution {
        let machine = match Machine::compile(definition) {
            Ok(machine) => machine,
            // The builder validates what it generates; should a definition still be refused,
            // the run fails with the reason instead of starting.
            Err(e) => {
                return Execution {
                    name: String::new(),
                    status: sfn_local::ExecutionStatus::Failed,
                    output: None,
                    error: Some(sfn_local::errors::RUNTIME.to_owned()),
                    cause: Some(format!("The agent's state machine is invalid: {e}")),
                    history: Vec::new(),
                    map_runs: Vec::new(),
                };
            }
        };
        let mut engine = Engine::new(machine, registry).with_task_tokens(self.tokens.clone());
        if let Some(listener) = &self.listener {
            engine = engine.with_listener(Arc::clone(listener));
        }
        if let Some(clock) = &self.clock {
            engine = engine.with_clock(Arc::clone(clock));
        }
        if let Some(store) = store {
            engine = engine.with_object_store(store);
        }
        let options = ExecutionOptions {
            state_machine_name: Some(format!("{}-agent", self.agent.name())),
            ..ExecutionOptions::default()
        };
        engine.execute(input, options).await
    }
}

/// The request in a destination's arguments: EventBridge's `Entries[0].Detail`, SNS's
/// `Message`, SQS's `MessageBody` (the last two JSON text).
fn person_request(params: &Value) -> Result<PersonRequest, String> {
    let detail = if let Some(detail) = params.pointer("/Entries/0/Detail") {
        detail.clone()
    } else {
        let text = params
            .get("Message")
            .or_else(|| params.get("MessageBody"))
            .and_then(Value::as_str)
            .ok_or("no Entries[0].Detail, Message or MessageBody")?;
        serde_json::from_str(text).map_err(|e| e.to_string())?
    };
    PersonRequest::deserialize(&detail).map_err(|e| e.to_string())
}

/// Completes the request's token with the reply, as `sfn-agent approve`, `deny` and `answer` do.
fn complete(
    tokens: &TaskTokens,
    request: &PersonRequest,
    reply: Reply,
) -> Result<(), sfn_local::TokenError> {
    match reply {
        Reply::Approve => tokens.send_task_success(&request.token, json!({"approved": true})),
        Reply::Deny(reason) => tokens.send_task_failure(
            &request.token,
            agent_builder::people::APPROVAL_DENIED,
            &reason,
        ),
        Reply::Answer(answer) => {
            tokens.send_task_success(&request.token, json!({ "answer": answer }))
        }
        Reply::NoAnswer => Ok(()),
    }
}

/// What the destination's API answers when it accepts a request.
fn delivery_receipt(destination: agent_builder::RequestDestination) -> Value {
    let id = uuid_like();
    match destination {
        agent_builder::RequestDestination::EventBridge => {
            json!({"Entries": [{"EventId": id}], "FailedEntryCount": 0})
        }
        agent_builder::RequestDestination::Sns => json!({ "MessageId": id }),
        agent_builder::RequestDestination::Sqs => json!({ "MessageId": id }),
    }
}

/// A unique enough id for local receipts.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("local-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A finished nested execution as DescribeExecution shows it, with the output parsed
/// (`.sync:2`).
fn describe(arn: &str, agent: &str, input: &Value, execution: &Execution) -> Value {
    let mut described = json!({
        "ExecutionArn": arn,
        "StateMachineArn": format!("arn:aws:states:us-east-1:123456789012:stateMachine:{agent}-agent"),
        "Name": execution.name,
        "Status": execution.status.as_str(),
        "Input": input,
        "InputDetails": {"Included": true},
    });
    if let Some(output) = &execution.output {
        described["Output"] = output.clone();
        described["OutputDetails"] = json!({"Included": true});
    }
    if let Some(error) = &execution.error {
        described["Error"] = json!(error);
    }
    if let Some(cause) = &execution.cause {
        described["Cause"] = json!(cause);
    }
    described
}
