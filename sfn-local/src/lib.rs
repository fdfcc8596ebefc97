//! A local Amazon States Language engine with the service's semantics.
//!
//! `sfn-local` runs any ASL document: every state type, JSONPath (paths, payload templates,
//! the context object, the eighteen intrinsic functions) and JSONata (`Arguments`, `Output`,
//! `Assign`, `Condition`, `Items`, `$states`, workflow variables), Retry and Catch, Map and
//! Parallel run concurrently, Wait, `.waitForTaskToken`, timeouts, the service's error names,
//! the 256 KB payload limit and the 25,000-event history quota; no definition or input
//! crashes it (see [`limits`]). Task resources resolve through a [`Registry`] to in-process
//! handlers or to a Lambda emulator; time comes from an injectable [`Clock`]; the history has
//! the shape of GetExecutionHistory.
//!
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use sfn_local::{Engine, ExecutionOptions, ExecutionStatus, Machine, ManualClock, Registry, handler_fn};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let machine = asl::StateMachine::from_json(r#"{
//!   "QueryLanguage": "JSONata",
//!   "StartAt": "Add",
//!   "States": {
//!     "Add": {
//!       "Type": "Task",
//!       "Resource": "arn:aws:states:::lambda:invoke",
//!       "Arguments": {"FunctionName": "add", "Payload": "{% $states.input %}"},
//!       "Output": "{% $states.result.Payload.sum %}",
//!       "End": true
//!     }
//!   }
//! }"#).unwrap();
//! let mut registry = Registry::new();
//! registry.lambda("add", handler_fn(|p| async move {
//!     Ok(json!({"sum": p["a"].as_i64().unwrap_or(0) + p["b"].as_i64().unwrap_or(0)}))
//! }));
//! // Compiled once: every target resolved, every path and expression parsed.
//! let machine = Machine::compile(&machine).unwrap();
//! let engine = Engine::new(machine, registry).with_clock(Arc::new(ManualClock::fixed()));
//! let execution = engine.execute(json!({"a": 2, "b": 3}), ExecutionOptions::default()).await;
//! assert_eq!(execution.status, ExecutionStatus::Succeeded);
//! assert_eq!(execution.output, Some(json!(5)));
//! # });
//! ```

mod choice;
pub mod clock;
mod compile;
mod context;
mod digest;
pub mod errors;
pub mod history;
mod jsonata;
mod jsonpath;
pub mod limits;
mod literals;
pub mod objects;
mod pipeline;
mod registry;
mod run;
mod tokens;
mod vars;

pub use clock::{Clock, InstantClock, ManualClock, SystemClock};
pub use compile::{LoadError, LoadErrorKind, Machine};
pub use errors::Failure;
pub use history::{HistoryEvent, Listener};
pub use objects::{DirStore, ListPage, MemoryStore, ObjectError, ObjectStore, ObjectSummary};
pub use registry::{LambdaHandler, Registry, TaskError, handler_fn};
pub use run::{ChildExecution, Engine, Execution, ExecutionOptions, ExecutionStatus, MapRun};
pub use tokens::{TaskTokens, TokenError};
