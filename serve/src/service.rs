//! The service: its configuration, the team's state machines, the store, the executions that
//! run now, and the table of task tokens; [`Service::call`] runs one action.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use sfn_local::{Registry, TaskTokens, handler_fn};

use crate::arn::Arns;
use crate::error::{ApiError, ServeError};
use crate::executions::Running;
use crate::protocol::{TARGET_PREFIX, now};
use crate::store::{MachineRecord, Store};
use crate::{executions, machines, tasks, test_state};

/// Makes the task registry of one execution (each execution gets its own).
pub type RegistryFactory = Arc<dyn Fn() -> Registry + Send + Sync>;

/// A state machine the server creates at start, with the handlers its tasks run on (a team's
/// agent, with its LLM and tool Lambdas in-process).
#[derive(Clone)]
pub struct Machine {
    /// The state machine's name.
    pub name: String,
    /// Its definition.
    pub definition: asl::StateMachine,
    /// An Express workflow (StartSyncExecution) rather than a Standard one.
    pub express: bool,
    /// The handlers of its tasks.
    pub registry: RegistryFactory,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("name", &self.name)
            .field("express", &self.express)
            .finish()
    }
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The region and account of the ARNs.
    pub arns: Arns,
    /// Where the database lives (`serve.db` in it); in memory when `None`.
    pub data_dir: Option<PathBuf>,
    /// A Lambda emulator's base URL (`cargo lambda watch`): the Lambda functions of state
    /// machines created through the API are invoked there.
    pub lambda_endpoint: Option<String>,
    /// How many executions are kept; the oldest closed ones go first.
    pub max_stored_executions: usize,
    /// How many executions may run at once (`ExecutionLimitExceeded` beyond).
    pub max_running_executions: usize,
    /// The tasks waiting on a token (SendTaskSuccess / SendTaskFailure complete them). Give the
    /// same table to handlers that answer their executions' requests themselves (a terminal).
    pub task_tokens: TaskTokens,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            arns: Arns::default(),
            data_dir: None,
            lambda_endpoint: None,
            max_stored_executions: 10_000,
            max_running_executions: 1_000,
            task_tokens: TaskTokens::new(),
        }
    }
}

/// The role an execution runs as, when a machine names none.
pub const DEFAULT_ROLE: &str =
    "arn:aws:iam::123456789012:role/service-role/StepFunctions-LocalRole";

/// The local Step Functions service.
pub struct Service {
    pub(crate) config: Config,
    pub(crate) store: Store,
    registries: HashMap<String, RegistryFactory>,
    pub(crate) tokens: TaskTokens,
    running: Mutex<HashMap<String, Running>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .field("machines", &self.registries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Service {
    /// Opens the store and creates (or updates) the given state machines under their names.
    pub fn new(config: Config, machines: Vec<Machine>) -> Result<Arc<Self>, ServeError> {
        if let Some(dir) = &config.data_dir {
            std::fs::create_dir_all(dir)?;
        }
        let path = config.data_dir.as_ref().map(|d| d.join("serve.db"));
        let store = Store::open(path.as_deref(), config.max_stored_executions, now())?;
        let mut registries = HashMap::new();
        for machine in machines {
            crate::arn::check_name(&machine.name, 80).map_err(|e| ServeError::Machine {
                name: machine.name.clone(),
                message: e.message,
            })?;
            let arn = config.arns.state_machine(&machine.name);
            let record = MachineRecord {
                created: store
                    .machine(&arn)
                    .ok()
                    .flatten()
                    .map_or_else(now, |m| m.created),
                arn,
                name: machine.name.clone(),
                definition: machine.definition.to_json_pretty(),
                role_arn: DEFAULT_ROLE.to_owned(),
                kind: if machine.express {
                    "EXPRESS"
                } else {
                    "STANDARD"
                }
                .to_owned(),
            };
            store
                .put_machine(&record)
                .map_err(|e| ServeError::Machine {
                    name: machine.name.clone(),
                    message: e.message,
                })?;
            registries.insert(machine.name, machine.registry);
        }
        Ok(Arc::new(Self {
            tokens: config.task_tokens.clone(),
            config,
            store,
            registries,
            running: Mutex::new(HashMap::new()),
        }))
    }

    /// How the service runs (its ARNs' region and account, its data dir, …).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Runs the action `target` names (`AWSStepFunctions.StartExecution`, …) with its body.
    pub async fn call(self: &Arc<Self>, target: &str, body: &[u8]) -> Result<Value, ApiError> {
        let action = target.strip_prefix(TARGET_PREFIX).unwrap_or("");
        match action {
            "CreateStateMachine" => machines::create(self, body),
            "UpdateStateMachine" => machines::update(self, body),
            "DescribeStateMachine" => machines::describe(self, body),
            "ListStateMachines" => machines::list(self, body),
            "DeleteStateMachine" => machines::delete(self, body),
            "ValidateStateMachineDefinition" => machines::validate(body),
            "StartExecution" => executions::start(self, body),
            "StartSyncExecution" => executions::start_sync(self, body).await,
            "DescribeExecution" => executions::describe(self, body),
            "ListExecutions" => executions::list(self, body),
            "GetExecutionHistory" => executions::history(self, body),
            "StopExecution" => executions::stop(self, body).await,
            "SendTaskSuccess" => tasks::success(self, body),
            "SendTaskFailure" => tasks::failure(self, body),
            "SendTaskHeartbeat" => tasks::heartbeat(self, body),
            "TestState" => test_state::run(self, body).await,
            _ => Err(ApiError::unknown_operation(format!(
                "no operation '{target}' in the Step Functions API (X-Amz-Target: AWSStepFunctions.<Action>)"
            ))),
        }
    }

    /// The executions that run now, by ARN.
    pub(crate) fn running(&self) -> MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The task registry of a new execution of `machine`: the team's handlers for its own
    /// machines; for others, every Lambda the definition names at the emulator (if any), and
    /// the `.waitForTaskToken` destinations accepting every request (the task then waits for
    /// SendTaskSuccess or SendTaskFailure).
    pub(crate) fn registry(&self, machine: &MachineRecord, definition: &Value) -> Registry {
        if let Some(factory) = self.registries.get(&machine.name) {
            return factory();
        }
        let mut registry = Registry::new();
        if let Some(endpoint) = &self.config.lambda_endpoint {
            let mut functions = Vec::new();
            lambda_functions(definition, &mut functions);
            for function in functions {
                registry.lambda_url(&function, endpoint);
            }
        }
        for (resource, receipt) in [
            (
                "arn:aws:states:::sqs:sendMessage",
                json!({"MessageId": "local"}),
            ),
            (
                "arn:aws:states:::sns:publish",
                json!({"MessageId": "local"}),
            ),
            (
                "arn:aws:states:::events:putEvents",
                json!({"Entries": [{"EventId": "local"}], "FailedEntryCount": 0}),
            ),
        ] {
            registry.resource(
                resource,
                handler_fn(move |_| {
                    let receipt = receipt.clone();
                    async move { Ok(receipt) }
                }),
            );
        }
        registry
    }
}

/// The Lambda functions a definition names: `FunctionName` of `lambda:invoke` tasks and Lambda
/// ARNs as a Task's `Resource`.
fn lambda_functions(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if let Value::String(s) = v
                    && (key == "FunctionName"
                        || (key == "Resource"
                            && s.contains(":lambda:")
                            && s.contains(":function:")))
                    && !found.contains(s)
                {
                    found.push(s.clone());
                }
                lambda_functions(v, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| lambda_functions(v, found)),
        _ => {}
    }
}
