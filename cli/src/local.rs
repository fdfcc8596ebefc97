//! An agent run on the local engine: the agent's own state machine, with its LLM Lambda and tool
//! Lambdas served in-process by the same handlers that deploy.
//!
//! The definition's `${Placeholder}` function names resolve to in-process handlers, so what runs
//! here is exactly the ASL that CDK deploys.

use std::sync::Arc;

use agent_builder::{Agent, LlmRequest, LlmResponse, ToolCall, ToolResult};
use llm_lambdas::{ChatModel, ConversationStore, Handler};
use serde::Deserialize;
use serde_json::Value;
use sfn_agent_tool::Toolbox;
use sfn_local::{
    Clock, Engine, Execution, ExecutionOptions, HistoryEvent, Registry, TaskError, handler_fn,
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

/// A local run of one agent.
pub struct LocalAgent {
    agent: Agent,
    handler: Arc<Handler>,
    toolbox: Arc<Toolbox>,
    progress: Option<ProgressSink>,
    listener: Option<HistoryListener>,
    clock: Option<Arc<dyn Clock>>,
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
        for tool in self.agent.tools() {
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
        registry
    }

    /// Runs the agent's state machine on `input` (`{"question": …, "conversation_id"?: …}`).
    pub async fn run(&self, input: Value) -> Execution {
        self.run_with_registry(self.registry(), input).await
    }

    /// Runs the agent with a registry taken from [`LocalAgent::registry`] and changed (a tool
    /// Lambda made to crash, say): how tests reach the run path `run` takes.
    pub async fn run_with_registry(&self, registry: Registry, input: Value) -> Execution {
        let mut engine = Engine::new(self.agent.state_machine(), registry);
        if let Some(listener) = &self.listener {
            engine = engine.with_listener(Arc::clone(listener));
        }
        if let Some(clock) = &self.clock {
            engine = engine.with_clock(Arc::clone(clock));
        }
        let options = ExecutionOptions {
            state_machine_name: Some(format!("{}-agent", self.agent.name())),
            ..ExecutionOptions::default()
        };
        engine.execute(input, options).await
    }
}
