//! Tools served in-process, for local runs: the same handler as the Lambdas, with no Lambda
//! runtime involved.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use agent_builder::{ToolCall, ToolResult, ToolSpec};

use crate::handler::ToolHandler;
use crate::tool::Tool;
use crate::validation::echo;

type ResultFuture<'a> = Pin<Box<dyn Future<Output = ToolResult> + Send + 'a>>;

/// A tool with its types erased, so tools of different types share one toolbox.
trait ErasedTool: Send + Sync {
    fn name(&self) -> &'static str;
    fn spec(&self) -> ToolSpec;
    fn call(&self, call: ToolCall) -> ResultFuture<'_>;
}

impl<T: Tool> ErasedTool for ToolHandler<T> {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolHandler::spec(self)
    }

    fn call(&self, call: ToolCall) -> ResultFuture<'_> {
        Box::pin(ToolHandler::call(self, call))
    }
}

/// A set of tools, called by name. Cheap to clone and usable from many tasks at once.
#[derive(Clone, Default)]
pub struct Toolbox {
    tools: Vec<Arc<dyn ErasedTool>>,
}

impl std::fmt::Debug for Toolbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toolbox")
            .field("tools", &self.names())
            .finish()
    }
}

impl Toolbox {
    /// An empty toolbox.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `tool`, replacing a tool of the same name.
    #[must_use]
    pub fn with<T: Tool>(mut self, tool: T) -> Self {
        self.register(tool);
        self
    }

    /// Adds `tool`, replacing a tool of the same name.
    pub fn register<T: Tool>(&mut self, tool: T) {
        self.tools.retain(|t| t.name() != T::NAME);
        self.tools.push(Arc::new(ToolHandler::new(tool)));
    }

    /// Adds every tool of `other`, replacing tools of the same name.
    #[must_use]
    pub fn merge(mut self, other: Toolbox) -> Self {
        for tool in other.tools {
            self.tools.retain(|t| t.name() != tool.name());
            self.tools.push(tool);
        }
        self
    }

    /// The specs of the tools, in the order they were added.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|t| t.spec()).collect()
    }

    /// The names of the tools, in the order they were added.
    pub fn names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name()).collect()
    }

    /// Whether a tool of that name is in the toolbox.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.iter().any(|t| t.name() == name)
    }

    /// Runs `call` on the tool it names. An unknown name is an error result listing the tools.
    pub async fn call(&self, call: ToolCall) -> ToolResult {
        match self.tools.iter().find(|t| t.name() == call.name) {
            Some(tool) => tool.call(call).await,
            None => {
                let known = self
                    .names()
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                ToolResult::error(
                    call.id,
                    format!(
                        "There is no tool named `{}`. The tools are: {}.",
                        echo(&call.name),
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known
                        }
                    ),
                )
            }
        }
    }
}
