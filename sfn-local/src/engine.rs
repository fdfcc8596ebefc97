//! The interpreter: runs a machine's states with the service's semantics and records the
//! history as it goes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asl::{NumberOrExpression, QueryLanguage, State, StateMachine};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::task::JoinSet;

use crate::clock::{Clock, SystemClock, iso};
use crate::context::{Context, MapItem};
use crate::errors::{self, Failure, check_size};
use crate::history::{
    Details, Field, Fields, History, HistoryEvent, Listener, Moment, not_truncated, text,
};
use crate::jsonata::StatesView;
use crate::registry::{Registry, Target, lambda_invoke_result};
use crate::tokens::TaskTokens;
use crate::{choice, history, jsonata, jsonpath, limits};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionStatus {
    /// It reached a Succeed state or an End.
    Succeeded,
    /// A state failed and nothing caught it.
    Failed,
    /// The machine's `TimeoutSeconds` ran out.
    TimedOut,
    /// It was stopped from outside.
    Aborted,
}

impl ExecutionStatus {
    /// The status as the service spells it (`SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

/// Options of one execution.
#[derive(Debug, Clone, Default)]
pub struct ExecutionOptions {
    /// The execution name; a UUID when `None`.
    pub name: Option<String>,
    /// The state machine's name in ARNs and `$$.StateMachine.Name`; `LocalStateMachine` when `None`.
    pub state_machine_name: Option<String>,
    /// `$$.Execution.RoleArn`; a placeholder role when `None`.
    pub role_arn: Option<String>,
}

/// The outcome of an execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The execution's name.
    pub name: String,
    /// How it ended.
    pub status: ExecutionStatus,
    /// The output, when it succeeded.
    pub output: Option<Value>,
    /// The error name, when it failed or timed out.
    pub error: Option<String>,
    /// The cause, when it failed or timed out.
    pub cause: Option<String>,
    /// Every event, in order, in GetExecutionHistory shape.
    pub history: Vec<HistoryEvent>,
}

impl Execution {
    /// What `sfn-agent exec` prints: `{"status":"SUCCEEDED","output":…}` or
    /// `{"status":"FAILED","error":…,"cause":…}`, with `"history":[…]` when asked.
    pub fn to_json(&self, with_history: bool) -> Value {
        let mut map = Map::new();
        map.insert("status".into(), json!(self.status.as_str()));
        if let Some(output) = &self.output {
            map.insert("output".into(), output.clone());
        }
        if self.status != ExecutionStatus::Succeeded {
            if let Some(error) = &self.error {
                map.insert("error".into(), json!(error));
            }
            if let Some(cause) = &self.cause {
                map.insert("cause".into(), json!(cause));
            }
        }
        if with_history {
            map.insert(
                "history".into(),
                Value::Array(self.history.iter().map(HistoryEvent::to_json).collect()),
            );
        }
        Value::Object(map)
    }

    /// How many states were entered: the service's state transitions, near enough.
    pub fn state_transitions(&self) -> usize {
        self.history
            .iter()
            .filter(|e| e.event_type.ends_with("StateEntered"))
            .count()
    }
}

/// A set of states (the machine, a Map's processor or a Parallel branch), ready to run.
struct Scope {
    start_at: String,
    /// By name; foldhash, as every transition looks its next state up by a name from the
    /// definition.
    states: HashMap<String, Arc<Node>, foldhash::fast::RandomState>,
}

struct Node {
    name: Arc<str>,
    state: State,
    /// A Map's processor, or a Parallel's branches.
    children: Vec<Arc<Scope>>,
    /// A Task's resource, resolved once.
    task: Option<TaskResource>,
}

/// How a Task's resource is called and named in its events.
struct TaskResource {
    kind: TaskKind,
    /// The resource as written.
    resource: Arc<str>,
    /// `resourceType` and `resource` of the task events (`lambda`, `invoke`).
    resource_type: Arc<str>,
    resource_name: Arc<str>,
    /// The registered Lambda of a [`TaskKind::LambdaArn`] resource, found once.
    lambda: Option<Target>,
}

impl TaskResource {
    fn new(resource: &str, registry: &Registry) -> Self {
        let kind = if resource.contains(":states:::lambda:invoke") {
            TaskKind::LambdaInvoke
        } else if resource.contains(":lambda:") && resource.contains(":function:")
            || (!resource.starts_with("arn:") && registry.has_lambda(resource))
        {
            TaskKind::LambdaArn
        } else {
            TaskKind::Resource
        };
        let (resource_type, resource_name) = resource_type(resource);
        let lambda = if kind == TaskKind::LambdaArn {
            registry.lambda_target(resource)
        } else {
            None
        };
        Self {
            kind,
            lambda,
            resource: resource.into(),
            resource_type: resource_type.into(),
            resource_name: resource_name.into(),
        }
    }
}

impl Scope {
    fn build(start_at: &str, states: &asl::States, registry: &Registry) -> Arc<Scope> {
        let nodes = states
            .iter()
            .map(|(name, state)| {
                let children = match state {
                    State::Map(map) => map
                        .processor_states()
                        .map(|(start, inner)| vec![Scope::build(start, inner, registry)])
                        .unwrap_or_default(),
                    State::Parallel(p) => p
                        .branches
                        .iter()
                        .map(|b| Scope::build(&b.start_at, &b.states, registry))
                        .collect(),
                    _ => Vec::new(),
                };
                (
                    name.clone(),
                    Arc::new(Node {
                        name: name.as_str().into(),
                        state: state.clone(),
                        children,
                        task: match state {
                            State::Task(task) => Some(TaskResource::new(&task.resource, registry)),
                            _ => None,
                        },
                    }),
                )
            })
            .collect();
        Arc::new(Scope {
            start_at: start_at.to_owned(),
            states: nodes,
        })
    }
}

/// Runs a state machine against a registry of task handlers.
pub struct Engine {
    root: Arc<Scope>,
    query_language: QueryLanguage,
    timeout: Option<u64>,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener>,
    tokens: TaskTokens,
    /// The largest history shard of the last execution: the next one reserves that much room.
    shard_capacity: AtomicUsize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("query_language", &self.query_language)
            .field("registry", &self.registry)
            .finish()
    }
}

impl Engine {
    /// An engine for this machine with these handlers, on the system clock.
    pub fn new(machine: StateMachine, registry: Registry) -> Self {
        Self {
            root: Scope::build(&machine.start_at, &machine.states, &registry),
            query_language: machine.query_language.unwrap_or(QueryLanguage::JSONPath),
            timeout: machine.timeout_seconds,
            registry: Arc::new(registry),
            clock: Arc::new(SystemClock::new()),
            listener: None,
            tokens: TaskTokens::new(),
            shard_capacity: AtomicUsize::new(0),
        }
    }

    /// Uses another clock ([`crate::ManualClock`] in tests: waits take no real time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Calls `listener` with each history event as it is appended (live progress).
    pub fn with_listener(mut self, listener: Listener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Shares a token table, so code outside can complete `.waitForTaskToken` tasks.
    pub fn with_task_tokens(mut self, tokens: TaskTokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The tokens of the `.waitForTaskToken` tasks waiting now, and the calls that complete them.
    pub fn task_tokens(&self) -> TaskTokens {
        self.tokens.clone()
    }

    /// Runs one execution to its end.
    pub async fn execute(&self, input: Value, options: ExecutionOptions) -> Execution {
        let name = options
            .name
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let machine_name = options
            .state_machine_name
            .unwrap_or_else(|| "LocalStateMachine".to_owned());
        let role = options.role_arn.unwrap_or_else(|| {
            "arn:aws:iam::123456789012:role/service-role/StepFunctions-LocalRole".to_owned()
        });
        let start = self.clock.now();
        let input = Arc::new(input);
        let history = History::new(
            self.clock.clone(),
            self.listener.clone(),
            self.shard_capacity.load(Ordering::Relaxed),
        );
        let run = Arc::new(Run {
            registry: self.registry.clone(),
            clock: self.clock.clone(),
            history,
            tokens: self.tokens.clone(),
            default_ql: self.query_language,
            execution: Map::from_iter([
                (
                    "Id".to_owned(),
                    json!(format!(
                        "arn:aws:states:us-east-1:123456789012:execution:{machine_name}:{name}"
                    )),
                ),
                ("Name".to_owned(), json!(name)),
                ("RoleArn".to_owned(), json!(role)),
                ("StartTime".to_owned(), json!(iso(start))),
                ("RedriveCount".to_owned(), json!(0)),
            ]),
            input: input.clone(),
            state_machine: json!({
                "Id": format!("arn:aws:states:us-east-1:123456789012:stateMachine:{machine_name}"),
                "Name": machine_name
            }),
            deadline: self.timeout.and_then(|s| {
                chrono::Duration::try_seconds(i64::try_from(s).unwrap_or(i64::MAX))
                    .and_then(|d| start.checked_add_signed(d))
            }),
            timed_out: AtomicBool::new(false),
        });
        let started = run.history.append(
            0,
            "ExecutionStarted",
            Some((
                "executionStartedEventDetails",
                Details::Fields(smallvec::smallvec![
                    ("input", Field::Payload(input.clone())),
                    ("inputDetails", Field::NotTruncated),
                    ("roleArn", Field::Value(Box::new(Value::String(role)))),
                ]),
            )),
        );
        let outcome = match check_size(&input, "execution input") {
            Err(f) => Err((f, started)),
            Ok(()) => {
                let body = run_scope(
                    &run,
                    &self.root,
                    input,
                    Frame {
                        vars: Vars::root(),
                        own_vars: true,
                        map_item: None,
                        // The service chains the first state to no event, not to
                        // ExecutionStarted.
                        prev: 0,
                        moment: None,
                        nested: false,
                    },
                );
                match self.timeout {
                    Some(seconds) => {
                        tokio::select! {
                            r = body => r,
                            _ = self.clock.timeout(Duration::from_secs(seconds)) => {
                                run.timed_out.store(true, Ordering::SeqCst);
                                let last = run.history.last().max(started);
                                Err((execution_timeout(), last))
                            }
                        }
                    }
                    None => body.await,
                }
            }
        };
        // The service's history quota: when the end of the execution would not be among its
        // first 25,000 events, the execution fails instead (see `limits::MAX_HISTORY_EVENTS`).
        let over_quota = run.history.len() >= limits::MAX_HISTORY_EVENTS;
        let outcome = match outcome {
            Ok((_, last, _)) | Err((_, last)) if over_quota => {
                run.timed_out.store(false, Ordering::SeqCst);
                Err((history_quota_reached(), last))
            }
            outcome => outcome,
        };
        let (status, output, error, cause) = match outcome {
            // No size check here: the output is the last state's, checked as its output.
            Ok((output, last, _)) => {
                let succeeded = run.history.append(
                    last,
                    "ExecutionSucceeded",
                    Some((
                        "executionSucceededEventDetails",
                        Details::Fields(smallvec::smallvec![
                            ("output", Field::Payload(output.clone())),
                            ("outputDetails", Field::NotTruncated),
                        ]),
                    )),
                );
                // The history holds the output too (the last state's exit and this event):
                // they keep its text, so the execution takes the value without a copy.
                run.history.release(&[last, succeeded], &output);
                (ExecutionStatus::Succeeded, Some(owned(output)), None, None)
            }
            Err((f, last)) => {
                if run.timed_out.load(Ordering::SeqCst) {
                    run.history.append(
                        last,
                        "ExecutionTimedOut",
                        Some(("executionTimedOutEventDetails", error_details(&f))),
                    );
                    (
                        ExecutionStatus::TimedOut,
                        None,
                        Some(f.error),
                        Some(f.cause),
                    )
                } else {
                    run.history.append(
                        last,
                        "ExecutionFailed",
                        Some(("executionFailedEventDetails", error_details(&f))),
                    );
                    (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause))
                }
            }
        };
        let (mut history, largest_shard) = run.history.take();
        self.shard_capacity.store(largest_shard, Ordering::Relaxed);
        if let (Some(end), Some(listener)) = (history::end_at_quota(&mut history), &self.listener) {
            listener(end);
        }
        Execution {
            name,
            status,
            output,
            error: error.filter(|e| !e.is_empty()),
            cause: cause.filter(|c| !c.is_empty()),
            history,
        }
    }
}

/// One execution's shared state.
struct Run {
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    history: History,
    tokens: TaskTokens,
    default_ql: QueryLanguage,
    execution: Map<String, Value>,
    input: Arc<Value>,
    state_machine: Value,
    deadline: Option<DateTime<Utc>>,
    timed_out: AtomicBool,
}

/// The failure of an execution whose history reached the service's quota of events.
fn history_quota_reached() -> Failure {
    Failure::runtime(limits::HISTORY_LIMIT_CAUSE)
}

/// The failure of an execution that ran past the machine's `TimeoutSeconds`.
fn execution_timeout() -> Failure {
    Failure::new(
        errors::TIMEOUT,
        "The execution ran longer than the state machine's TimeoutSeconds.",
    )
}

impl Run {
    /// Waits (a Wait state, a retry back-off) by the clock, but not past the machine's
    /// `TimeoutSeconds`: the execution times out where its time runs out.
    async fn sleep(&self, duration: Duration) -> Result<(), Failure> {
        if let Some(deadline) = self.deadline {
            let remaining = (deadline - self.clock.now()).to_std().unwrap_or_default();
            if duration >= remaining {
                self.clock.sleep(remaining).await;
                self.timed_out.store(true, Ordering::SeqCst);
                return Err(execution_timeout());
            }
        }
        self.clock.sleep(duration).await;
        Ok(())
    }
}

/// Workflow variables: a scope per Map iteration and Parallel branch, reading its parents.
struct Vars {
    parent: Option<Arc<Vars>>,
    own: Mutex<Map<String, Value>>,
}

impl Vars {
    fn root() -> Arc<Vars> {
        Arc::new(Vars {
            parent: None,
            own: Mutex::new(Map::new()),
        })
    }

    fn child(parent: &Arc<Vars>) -> Arc<Vars> {
        Arc::new(Vars {
            parent: Some(parent.clone()),
            own: Mutex::new(Map::new()),
        })
    }

    fn get(&self, name: &str) -> Option<Value> {
        let own = self
            .own
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        own.or_else(|| self.parent.as_ref()?.get(name))
    }

    fn set(&self, assigned: Map<String, Value>) {
        let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
        own.extend(assigned);
    }
}

/// Where a state runs: its variables, its Map item (if any), and the last event of its path.
struct Frame {
    /// The scope's variables; until its first assignment, its parent's (see [`Frame::assign`]).
    vars: Arc<Vars>,
    /// Whether `vars` is the scope's own.
    own_vars: bool,
    map_item: Option<MapItem>,
    prev: u64,
    /// When the last event happened, while nothing has happened since (see
    /// [`History::append_at`]).
    moment: Option<Moment>,
    /// Inside a Map iteration or a Parallel branch.
    nested: bool,
}

impl Frame {
    /// The frame of a Parallel branch's states, or (with its item) a Map iteration's: they
    /// read the outer variables.
    fn nested(outer: &Arc<Vars>, prev: u64) -> Self {
        Frame {
            vars: outer.clone(),
            own_vars: false,
            map_item: None,
            prev,
            moment: None,
            nested: true,
        }
    }

    /// Sets assigned variables in the scope's own variables, made now if this is its first
    /// assignment: a Map iteration or Parallel branch sees the outer variables, and what it
    /// assigns does not leak out. Most iterations assign nothing and share the outer ones.
    fn assign(&mut self, assigned: Map<String, Value>) {
        if !self.own_vars {
            self.vars = Vars::child(&self.vars);
            self.own_vars = true;
        }
        self.vars.set(assigned);
    }
}

/// What a state decided: its output, where to go, and the variables it assigns.
struct Outcome<'n> {
    output: Arc<Value>,
    /// The next state's name, borrowed from the state's definition.
    next: Option<&'n str>,
    assigned: Option<Map<String, Value>>,
    /// When the state's last event happened, if nothing has waited since: its exit is recorded
    /// at the same moment (see [`History::append_at`]).
    moment: Option<Moment>,
}

/// What a scope ends with: its output, its last event and when that happened (if nothing has
/// waited since), or its failure and its last event.
type ScopeResult = Result<(Arc<Value>, u64, Option<Moment>), (Failure, u64)>;

/// Runs a scope's states from its `StartAt` to the end. It borrows the execution and the
/// scope: Map iterations on several threads would otherwise contend for their counts.
fn run_scope<'a>(
    run: &'a Arc<Run>,
    scope: &'a Scope,
    input: Arc<Value>,
    mut frame: Frame,
) -> BoxFuture<'a, ScopeResult> {
    Box::pin(async move {
        let mut current: &str = &scope.start_at;
        let mut input = input;
        loop {
            if let Some(deadline) = run.deadline
                && run.clock.now() >= deadline
            {
                run.timed_out.store(true, Ordering::SeqCst);
                return Err((execution_timeout(), frame.prev));
            }
            let Some(node) = scope.states.get(current) else {
                return Err((
                    Failure::runtime(format!(
                        "The state '{current}' does not exist in this scope"
                    )),
                    frame.prev,
                ));
            };
            match run_state(run, node, input, &mut frame).await {
                Ok(Outcome { output, next, .. }) => match next {
                    Some(next) => {
                        input = output;
                        current = next;
                    }
                    None => return Ok((output, frame.prev, frame.moment)),
                },
                Err(f) => return Err((f, frame.prev)),
            }
        }
    })
}

/// The context object for a state.
fn context<'a>(
    run: &'a Run,
    node: &'a Node,
    entered: DateTime<Utc>,
    retry: u64,
    frame: &Frame,
    token: Option<&str>,
) -> Context<'a> {
    Context {
        execution: &run.execution,
        input: &run.input,
        state_machine: &run.state_machine,
        state_name: &node.name,
        entered,
        retry,
        token: token.map(str::to_owned),
        map_item: frame.map_item.clone(),
    }
}

/// Everything a state's fields are evaluated with.
struct Eval<'a> {
    ql: QueryLanguage,
    vars: &'a Arc<Vars>,
    context: Context<'a>,
}

impl Eval<'_> {
    fn lookup(&self) -> impl Fn(&str) -> Option<Value> + '_ {
        move |name: &str| self.vars.get(name)
    }

    fn context_fn(&self) -> impl Fn(bool) -> Value + '_ {
        move |with_input: bool| self.context.to_value(with_input)
    }

    fn states<'s>(
        &'s self,
        input: &'s Value,
        result: Option<&'s Value>,
        error_output: Option<&'s Value>,
    ) -> StatesView<'s> {
        StatesView {
            input,
            result,
            error_output,
            context: Some(&self.context),
        }
    }

    fn jsonata(
        &self,
        value: &Value,
        states: &StatesView<'_>,
        field: &str,
    ) -> Result<Value, Failure> {
        let lookup = self.lookup();
        jsonata::template(value, states, &lookup, field)
    }

    /// A JSONPath payload template with `$` = `input`.
    fn template(&self, value: &Value, input: &Value) -> Result<Value, Failure> {
        let lookup = self.lookup();
        let context = self.context_fn();
        let roots = jsonpath::Roots {
            input,
            context: &context,
            vars: &lookup,
        };
        jsonpath::template(value, &roots)
    }

    fn select(&self, path: &str, input: &Value, field: &str) -> Result<Value, Failure> {
        let lookup = self.lookup();
        let context = self.context_fn();
        let roots = jsonpath::Roots {
            input,
            context: &context,
            vars: &lookup,
        };
        jsonpath::evaluate_expression(path, &roots, field)
    }

    /// `InputPath` without a copy when it is absent.
    fn input_view<'v>(
        &self,
        path: &Option<Option<String>>,
        raw: &'v Value,
    ) -> Result<std::borrow::Cow<'v, Value>, Failure> {
        match path {
            None => Ok(std::borrow::Cow::Borrowed(raw)),
            Some(_) => self.filter(path, raw).map(std::borrow::Cow::Owned),
        }
    }

    /// `InputPath` as a shared value: the raw input itself when the path is absent.
    fn input_shared(
        &self,
        path: &Option<Option<String>>,
        raw: &Arc<Value>,
    ) -> Result<Arc<Value>, Failure> {
        match path {
            None => Ok(raw.clone()),
            Some(_) => self.filter(path, raw).map(Arc::new),
        }
    }

    /// `OutputPath`, without a copy when it is absent.
    fn output(
        &self,
        path: &Option<Option<String>>,
        value: Arc<Value>,
    ) -> Result<Arc<Value>, Failure> {
        match path {
            None => Ok(value),
            Some(_) => self.filter(path, &value).map(Arc::new),
        }
    }

    fn filter(&self, path: &Option<Option<String>>, input: &Value) -> Result<Value, Failure> {
        let lookup = self.lookup();
        let context = self.context_fn();
        let roots = jsonpath::Roots {
            input,
            context: &context,
            vars: &lookup,
        };
        jsonpath::filter_path(path, &roots)
    }

    /// `Assign`: JSONata expressions over `$states`, or a JSONPath template over `$`.
    fn assign(
        &self,
        assign: &Option<asl::Assign>,
        states: &StatesView<'_>,
        jsonpath_input: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(assign) = assign else {
            return Ok(None);
        };
        let template = Value::Object(assign.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
        let value = match self.ql {
            QueryLanguage::JSONata => self.jsonata(&template, states, "Assign")?,
            QueryLanguage::JSONPath if text(&template).contains("$states") => {
                // JSONPath Assign may also read `$states.input`, `$states.result`, …
                let mut view = Map::new();
                view.insert("input".into(), states.input.clone());
                if let Some(r) = states.result {
                    view.insert("result".into(), r.clone());
                }
                if let Some(e) = states.error_output {
                    view.insert("errorOutput".into(), e.clone());
                }
                view.insert("context".into(), self.context.to_value(true));
                let view = Value::Object(view);
                let lookup = |name: &str| {
                    if name == "states" {
                        Some(view.clone())
                    } else {
                        self.vars.get(name)
                    }
                };
                let context = self.context_fn();
                let roots = jsonpath::Roots {
                    input: jsonpath_input,
                    context: &context,
                    vars: &lookup,
                };
                jsonpath::template(&template, &roots)?
            }
            QueryLanguage::JSONPath => self.template(&template, jsonpath_input)?,
        };
        match value {
            Value::Object(map) => {
                for (name, v) in &map {
                    check_size(v, &format!("variable '{name}'"))?;
                }
                Ok(Some(map))
            }
            _ => Ok(None),
        }
    }

    /// A number field: a literal, a JSONata expression, or (JSONPath) a `…Path` on the input.
    fn number(
        &self,
        literal: &Option<NumberOrExpression>,
        path: Option<&String>,
        input: &Value,
        states: &StatesView<'_>,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        let value = match (literal, path) {
            (Some(NumberOrExpression::Number(n)), _) => Some(Value::Number(n.clone())),
            (Some(NumberOrExpression::Expression(e)), _) => {
                if jsonata::expression(e).is_some() {
                    Some(self.jsonata(&Value::String(e.clone()), states, field)?)
                } else {
                    Some(Value::String(e.clone()))
                }
            }
            (None, Some(p)) => Some(self.select(p, input, &format!("{field}Path"))?),
            (None, None) => None,
        };
        match value {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(Failure::new(
                if self.ql == QueryLanguage::JSONata {
                    errors::QUERY_EVALUATION_ERROR
                } else {
                    errors::RUNTIME
                },
                format!("The field '{field}' must be a number, found {other}"),
            )),
        }
    }
}

/// `ResultPath`, copying the raw input only when the result goes inside it.
fn result_path(
    raw: &Arc<Value>,
    path: &Option<Option<String>>,
    result: Arc<Value>,
) -> Result<Arc<Value>, Failure> {
    match path {
        None => Ok(result),
        Some(None) => Ok(raw.clone()),
        Some(Some(_)) => jsonpath::apply_result_path(raw, path, owned(result)).map(Arc::new),
    }
}

/// The value, copied only if something else still holds it.
fn owned(value: Arc<Value>) -> Value {
    Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
}

fn state_ql(run: &Run, state: &State) -> QueryLanguage {
    state.query_language().unwrap_or(run.default_ql)
}

async fn run_state<'n>(
    run: &Arc<Run>,
    node: &'n Arc<Node>,
    raw: Arc<Value>,
    frame: &mut Frame,
) -> Result<Outcome<'n>, Failure> {
    if run.history.is_full() {
        return Err(history_quota_reached());
    }
    // `$$.State.EnteredTime` is the time of the state's entered event.
    let (entered_key, moment) = run.history.append_at(
        frame.moment.take(),
        frame.prev,
        state_events(&node.state).0,
        Some((
            "stateEnteredEventDetails",
            Details::Fields(smallvec::smallvec![
                ("name", Field::Name(node.name.clone())),
                ("input", Field::Payload(raw.clone())),
                ("inputDetails", Field::NotTruncated),
            ]),
        )),
    );
    frame.prev = entered_key;
    let entered = moment;
    let retriers = node.state.retriers();
    let catchers = node.state.catchers();
    let mut counts = vec![0u64; retriers.len()];
    let mut retry_total = 0u64;
    let vars = frame.vars.clone();
    loop {
        let eval = Eval {
            ql: state_ql(run, &node.state),
            vars: &vars,
            context: context(run, node, entered.0, retry_total, frame, None),
        };
        let attempt = attempt_state(run, node, &raw, &eval, frame, entered, retry_total).await;
        let attempt = attempt.and_then(|o| {
            // An output that is the state's input itself (a Choice, a Pass with no fields)
            // was checked already, as the output of the state before.
            if !Arc::ptr_eq(&o.output, &raw) {
                check_output(run, &o.output)?;
            }
            Ok(o)
        });
        match attempt {
            Ok(mut outcome) => {
                finish(run, node, frame, &mut outcome);
                return Ok(outcome);
            }
            Err(failure) => {
                let failure = locate(run, node, frame, failure, entered_key);
                if run.timed_out.load(Ordering::SeqCst) {
                    // The execution's time is up: no Retry, no Catch.
                    return Err(failure);
                }
                if let Some(i) = retriers
                    .iter()
                    .position(|r| failure.matches(&r.error_equals))
                {
                    let r = &retriers[i];
                    if counts[i] < r.max_attempts.unwrap_or(3) {
                        let delay = backoff(r, counts[i]);
                        counts[i] += 1;
                        retry_total += 1;
                        run.sleep(delay).await?;
                        if run.history.is_full() {
                            return Err(history_quota_reached());
                        }
                        continue;
                    }
                }
                if let Some(catcher) = catchers.iter().find(|c| failure.matches(&c.error_equals)) {
                    let error_output = failure.error_output();
                    let mut outcome = match eval.ql {
                        QueryLanguage::JSONata => {
                            let states = eval.states(&raw, None, Some(&error_output));
                            let output = Arc::new(match &catcher.output {
                                Some(o) => eval.jsonata(o, &states, "Output")?,
                                None => error_output.clone(),
                            });
                            let assigned = eval.assign(&catcher.assign, &states, &error_output)?;
                            Outcome {
                                output,
                                next: Some(&catcher.next),
                                assigned,
                                moment: None,
                            }
                        }
                        QueryLanguage::JSONPath => {
                            let states = eval.states(&raw, None, Some(&error_output));
                            let assigned = eval.assign(&catcher.assign, &states, &error_output)?;
                            let output =
                                result_path(&raw, &catcher.result_path, Arc::new(error_output))?;
                            Outcome {
                                output,
                                next: Some(&catcher.next),
                                assigned,
                                moment: None,
                            }
                        }
                    };
                    check_output(run, &outcome.output)?;
                    finish(run, node, frame, &mut outcome);
                    return Ok(outcome);
                }
                if frame.nested
                    && matches!(node.state, State::Task(_))
                    && failure.error != errors::RUNTIME
                {
                    // The service records this when a task's failure ends a branch or iteration.
                    run.history
                        .append(frame.prev, "TaskStateAborted", NO_DETAILS);
                }
                return Err(failure);
            }
        }
    }
}

/// The 256 KB check of a state's output. A Map's result array is counted from its
/// iterations' texts, which the history keeps already, rather than walked.
fn check_output(run: &Run, output: &Arc<Value>) -> Result<(), Failure> {
    match run.history.text_len(output) {
        Some(len) => errors::check_length(len, "state output"),
        None => check_size(output, "state output"),
    }
}

/// `{"error", "cause"}` of a failure event; an empty cause is left out, as the service does.
fn error_details(f: &Failure) -> Value {
    let mut details = Map::new();
    if !f.error.is_empty() {
        details.insert("error".into(), json!(f.error));
    }
    if !f.cause.is_empty() {
        details.insert("cause".into(), json!(f.cause));
    }
    Value::Object(details)
}

/// The prefix the service puts before the causes of the errors it raises itself.
const CAUSE_PREFIX: &str = "An error occurred while executing the state";

/// Names the state in the cause of an error the engine raised (a bad path, a failed
/// expression), as the service does, and records an `EvaluationFailed` event for a failed
/// JSONata expression. Errors a task or a Fail state raised, and errors already located by an
/// inner state, pass unchanged.
fn locate(
    run: &Run,
    node: &Node,
    frame: &mut Frame,
    failure: Failure,
    entered_key: u64,
) -> Failure {
    let engine_error = matches!(
        failure.error.as_str(),
        errors::RUNTIME | errors::QUERY_EVALUATION_ERROR | errors::INTRINSIC_FAILURE
    );
    if !engine_error || failure.cause.starts_with(CAUSE_PREFIX) {
        return failure;
    }
    let located = Failure::new(
        failure.error.clone(),
        format!(
            "{CAUSE_PREFIX} '{}' (entered at the event id #{}). {}",
            node.name.clone(),
            run.history.final_id(entered_key),
            failure.cause
        ),
    );
    if failure.error == errors::QUERY_EVALUATION_ERROR {
        let mut details = Map::new();
        details.insert("error".into(), json!(located.error));
        details.insert("cause".into(), json!(located.cause));
        if let Some(location) = failure
            .cause
            .split_once("specified for the field '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(field, _)| field)
        {
            details.insert("location".into(), json!(location));
        }
        details.insert("state".into(), json!(&*node.name));
        frame.prev = run.history.append(
            frame.prev,
            "EvaluationFailed",
            Some(("evaluationFailedEventDetails", Value::Object(details))),
        );
    }
    located
}

/// Records the state's exit and hands its assigned variables over to the scope (nothing reads
/// them from the outcome afterwards, so they move rather than copy).
fn finish(run: &Run, node: &Node, frame: &mut Frame, outcome: &mut Outcome<'_>) {
    let mut details: Fields = smallvec::smallvec![
        ("name", Field::Name(node.name.clone())),
        ("output", Field::Payload(outcome.output.clone())),
        ("outputDetails", Field::NotTruncated),
    ];
    if let Some(assigned) = outcome.assigned.take() {
        let shown: Map<String, Value> = assigned
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(text(v))))
            .collect();
        frame.assign(assigned);
        details.push((
            "assignedVariables",
            Field::Value(Box::new(Value::Object(shown))),
        ));
        details.push(("assignedVariablesDetails", Field::NotTruncated));
    }
    if !matches!(node.state, State::Fail(_)) {
        // The next state's entry (if any) comes right after.
        let (exited, moment) = run.history.append_at(
            outcome.moment.take(),
            frame.prev,
            state_events(&node.state).1,
            Some(("stateExitedEventDetails", Details::Fields(details))),
        );
        frame.prev = exited;
        frame.moment = Some(moment);
    }
}

/// The delay before retry number `count` (0-based): interval × rate^count, capped by
/// `MaxDelaySeconds`, and with `JitterStrategy: FULL` a random share of it.
pub(crate) fn backoff(r: &asl::Retrier, count: u64) -> Duration {
    let interval = r.interval_seconds.unwrap_or(1) as f64;
    let rate = r
        .backoff_rate
        .as_ref()
        .and_then(|n| n.as_f64())
        .unwrap_or(2.0);
    let mut delay = interval * rate.powi(count.min(1000) as i32);
    if let Some(max) = r.max_delay_seconds {
        delay = delay.min(max as f64);
    }
    if r.jitter_strategy == Some(asl::JitterStrategy::Full) {
        delay = rand::thread_rng().gen_range(0.0..=delay.max(0.0));
    }
    Duration::from_secs_f64(delay.clamp(0.0, 1.0e9))
}

fn next_of<'n>(
    next: &'n Option<String>,
    end: Option<bool>,
    name: &str,
) -> Result<Option<&'n str>, Failure> {
    match (next, end) {
        (Some(n), _) => Ok(Some(n)),
        (None, Some(true)) => Ok(None),
        _ => Err(Failure::runtime(format!(
            "The state '{name}' has neither Next nor End: true"
        ))),
    }
}

async fn attempt_state<'n>(
    run: &Arc<Run>,
    node: &'n Arc<Node>,
    raw: &Arc<Value>,
    eval: &Eval<'_>,
    frame: &mut Frame,
    entered: Moment,
    retry: u64,
) -> Result<Outcome<'n>, Failure> {
    let jsonata = eval.ql == QueryLanguage::JSONata;
    // A Pass, Choice or Succeed state waits for nothing: it exits at the moment it entered.
    let at_entry = Some(entered);
    match &node.state {
        State::Pass(pass) => {
            let next = next_of(&pass.next, pass.end, &node.name)?;
            if jsonata {
                let states = eval.states(raw, None, None);
                let assigned = eval.assign(&pass.assign, &states, raw)?;
                let output = match &pass.output {
                    Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
                    None => raw.clone(),
                };
                return Ok(Outcome {
                    output,
                    next,
                    assigned,
                    moment: at_entry,
                });
            }
            let effective = eval.input_shared(&pass.input_path, raw)?;
            let result = match (&pass.result, &pass.parameters) {
                (Some(r), _) => Arc::new(r.clone()),
                (None, Some(p)) => Arc::new(eval.template(p, &effective)?),
                (None, None) => effective,
            };
            let assigned = eval.assign(&pass.assign, &eval.states(raw, None, None), &result)?;
            let merged = result_path(raw, &pass.result_path, result)?;
            let output = eval.output(&pass.output_path, merged)?;
            Ok(Outcome {
                output,
                next,
                assigned,
                moment: at_entry,
            })
        }
        State::Succeed(succeed) => {
            if jsonata {
                let states = eval.states(raw, None, None);
                let output = match &succeed.output {
                    Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
                    None => raw.clone(),
                };
                return Ok(Outcome {
                    output,
                    next: None,
                    assigned: None,
                    moment: at_entry,
                });
            }
            let effective = eval.input_shared(&succeed.input_path, raw)?;
            let output = eval.output(&succeed.output_path, effective)?;
            Ok(Outcome {
                output,
                next: None,
                assigned: None,
                moment: at_entry,
            })
        }
        State::Fail(fail) => {
            let (error, cause) = if jsonata {
                let states = eval.states(raw, None, None);
                let field = |v: &Option<String>, name: &str| -> Result<Option<String>, Failure> {
                    match v {
                        None => Ok(None),
                        Some(s) => match eval.jsonata(&Value::String(s.clone()), &states, name)? {
                            Value::String(s) => Ok(Some(s)),
                            other => Err(Failure::query(format!(
                                "The field '{name}' must be a string, found {other}"
                            ))),
                        },
                    }
                };
                (field(&fail.error, "Error")?, field(&fail.cause, "Cause")?)
            } else {
                let field = |literal: &Option<String>,
                             path: &Option<String>,
                             name: &str|
                 -> Result<Option<String>, Failure> {
                    if let Some(l) = literal {
                        return Ok(Some(l.clone()));
                    }
                    match path {
                        None => Ok(None),
                        Some(p) => match eval.select(p, raw, name)? {
                            Value::String(s) => Ok(Some(s)),
                            other => Err(Failure::runtime(format!(
                                "The value of '{name}' must be a string, found {other}"
                            ))),
                        },
                    }
                };
                (
                    field(&fail.error, &fail.error_path, "ErrorPath")?,
                    field(&fail.cause, &fail.cause_path, "CausePath")?,
                )
            };
            Err(Failure::new(
                error.unwrap_or_default(),
                cause.unwrap_or_default(),
            ))
        }
        State::Choice(c) => {
            let states = eval.states(raw, None, None);
            let effective = if jsonata {
                raw.clone()
            } else {
                eval.input_shared(&c.input_path, raw)?
            };
            let mut chosen = None;
            for rule in &c.choices {
                let matched = if jsonata {
                    let condition = rule.condition.as_deref().ok_or_else(|| {
                        Failure::runtime("A JSONata Choice rule needs a Condition")
                    })?;
                    match eval.jsonata(
                        &Value::String(condition.to_owned()),
                        &states,
                        "Condition",
                    )? {
                        Value::Bool(b) => b,
                        other => {
                            return Err(Failure::query(format!(
                                "The Condition '{condition}' must evaluate to a boolean, found {other}"
                            )));
                        }
                    }
                } else {
                    let lookup = eval.lookup();
                    let context = eval.context_fn();
                    let roots = jsonpath::Roots {
                        input: &effective,
                        context: &context,
                        vars: &lookup,
                    };
                    choice::matches(rule, &roots)?
                };
                if matched {
                    chosen = Some((rule.next.as_deref(), &rule.output, &rule.assign));
                    break;
                }
            }
            let (next, output_field, assign) = match chosen {
                Some((next, output, assign)) => (next, output, assign),
                None => match &c.default {
                    Some(d) => (Some(d.as_str()), &c.output, &c.assign),
                    None => {
                        // The service reports States.Runtime here, not States.NoChoiceMatched.
                        return Err(Failure::runtime(
                            "Failed to transition out of the state. The state does not point to a next state.",
                        ));
                    }
                },
            };
            let next = next.ok_or_else(|| {
                Failure::runtime(format!(
                    "A rule of the Choice state '{}' has no Next",
                    node.name
                ))
            })?;
            let assigned = eval.assign(assign, &states, &effective)?;
            let output = if jsonata {
                match output_field {
                    Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
                    None => raw.clone(),
                }
            } else {
                eval.output(&c.output_path, effective)?
            };
            Ok(Outcome {
                output,
                next: Some(next),
                assigned,
                moment: at_entry,
            })
        }
        State::Wait(w) => {
            let next = next_of(&w.next, w.end, &node.name)?;
            let states = eval.states(raw, None, None);
            let effective = if jsonata {
                raw.clone()
            } else {
                eval.input_shared(&w.input_path, raw)?
            };
            let seconds = eval.number(
                &w.seconds,
                w.seconds_path.as_ref(),
                &effective,
                &states,
                "Seconds",
            )?;
            let delay = if let Some(s) = seconds {
                if s < 0.0 {
                    return Err(Failure::runtime(format!(
                        "The Wait state '{}' got a negative number of seconds: {s}",
                        node.name
                    )));
                }
                Duration::from_secs_f64(s.min(1.0e9))
            } else {
                let stamp = match (&w.timestamp, &w.timestamp_path) {
                    (Some(t), _) if jsonata => {
                        eval.jsonata(&Value::String(t.clone()), &states, "Timestamp")?
                    }
                    (Some(t), _) => Value::String(t.clone()),
                    (None, Some(p)) => eval.select(p, &effective, "TimestampPath")?,
                    (None, None) => {
                        return Err(Failure::runtime(format!(
                            "The Wait state '{}' needs Seconds, Timestamp, SecondsPath or TimestampPath",
                            node.name
                        )));
                    }
                };
                let parsed = stamp.as_str().and_then(choice::timestamp).ok_or_else(|| {
                    Failure::runtime(format!(
                        "The Wait state '{}' got an invalid timestamp: {stamp}",
                        node.name
                    ))
                })?;
                let remaining = parsed.with_timezone(&Utc) - run.clock.now();
                remaining.to_std().unwrap_or_default()
            };
            if !delay.is_zero() {
                run.sleep(delay).await?;
            }
            let assigned = eval.assign(&w.assign, &states, &effective)?;
            let output = if jsonata {
                match &w.output {
                    Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
                    None => raw.clone(),
                }
            } else {
                eval.output(&w.output_path, effective)?
            };
            Ok(Outcome {
                output,
                next,
                assigned,
                moment: None,
            })
        }
        // Boxed, so the future of every other state stays small.
        State::Task(task) => {
            Box::pin(run_task(run, node, task, raw, eval, frame, entered, retry)).await
        }
        State::Map(map) => Box::pin(run_map(run, node, map, raw, eval, frame)).await,
        State::Parallel(p) => Box::pin(run_parallel(run, node, p, raw, eval, frame)).await,
    }
}

/// The events of a task (type, details field): Scheduled, Started, Succeeded, Failed, TimedOut.
const TASK_EVENTS: [(&str, &str); 5] = [
    ("TaskScheduled", "taskScheduledEventDetails"),
    ("TaskStarted", "taskStartedEventDetails"),
    ("TaskSucceeded", "taskSucceededEventDetails"),
    ("TaskFailed", "taskFailedEventDetails"),
    ("TaskTimedOut", "taskTimedOutEventDetails"),
];

/// The events of a task whose resource is a Lambda function ARN.
const LAMBDA_EVENTS: [(&str, &str); 5] = [
    (
        "LambdaFunctionScheduled",
        "lambdaFunctionScheduledEventDetails",
    ),
    ("LambdaFunctionStarted", "lambdaFunctionStartedEventDetails"),
    (
        "LambdaFunctionSucceeded",
        "lambdaFunctionSucceededEventDetails",
    ),
    ("LambdaFunctionFailed", "lambdaFunctionFailedEventDetails"),
    (
        "LambdaFunctionTimedOut",
        "lambdaFunctionTimedOutEventDetails",
    ),
];

/// The details of a Map iteration event: `{"name": <Map state>, "index": i}`.
fn iteration(name: &Arc<str>, index: usize) -> Details {
    Details::Fields(smallvec::smallvec![
        ("name", Field::Name(name.clone())),
        ("index", Field::Int(index as u64)),
    ])
}

/// A state's `…StateEntered` and `…StateExited` event types.
fn state_events(state: &State) -> (&'static str, &'static str) {
    match state {
        State::Task(_) => ("TaskStateEntered", "TaskStateExited"),
        State::Choice(_) => ("ChoiceStateEntered", "ChoiceStateExited"),
        State::Map(_) => ("MapStateEntered", "MapStateExited"),
        State::Parallel(_) => ("ParallelStateEntered", "ParallelStateExited"),
        State::Pass(_) => ("PassStateEntered", "PassStateExited"),
        State::Wait(_) => ("WaitStateEntered", "WaitStateExited"),
        State::Succeed(_) => ("SucceedStateEntered", "SucceedStateExited"),
        State::Fail(_) => ("FailStateEntered", "FailStateExited"),
    }
}

/// No details object.
const NO_DETAILS: Option<(&str, Value)> = None;

#[derive(Clone, Copy, PartialEq)]
enum TaskKind {
    /// `arn:aws:states:::lambda:invoke`: FunctionName + Payload, result wrapped.
    LambdaInvoke,
    /// A Lambda function ARN (or a registered name/placeholder) as the resource.
    LambdaArn,
    /// Any other resource, by its registered handler.
    Resource,
}

fn resource_type(resource: &str) -> (String, String) {
    if let Some(rest) = resource.split(":::").nth(1)
        && let Some((kind, name)) = rest.split_once(':')
    {
        return (kind.to_owned(), name.to_owned());
    }
    if resource.contains(":activity:") {
        return ("activity".into(), resource.to_owned());
    }
    ("lambda".into(), resource.to_owned())
}

#[allow(clippy::too_many_arguments)]
async fn run_task<'n>(
    run: &Arc<Run>,
    node: &'n Arc<Node>,
    task: &'n asl::Task,
    raw: &Arc<Value>,
    eval: &Eval<'_>,
    frame: &mut Frame,
    entered: Moment,
    retry: u64,
) -> Result<Outcome<'n>, Failure> {
    let jsonata = eval.ql == QueryLanguage::JSONata;
    let next = next_of(&task.next, task.end, &node.name)?;
    let resource = task.resource.as_str();
    let wait_for_token = resource.ends_with(".waitForTaskToken");
    let resolved;
    let info = match &node.task {
        Some(info) => info,
        None => {
            resolved = TaskResource::new(resource, &run.registry);
            &resolved
        }
    };
    let kind = info.kind;
    let token = wait_for_token.then(|| run.tokens.issue());
    let context = context(
        run,
        node,
        entered.0,
        retry,
        frame,
        token.as_ref().map(|(t, _)| t.as_str()),
    );
    let eval = Eval {
        ql: eval.ql,
        vars: eval.vars,
        context,
    };
    let states = eval.states(raw, None, None);
    let forget = |token: &Option<(String, _)>| {
        if let Some((t, _)) = token {
            run.tokens.forget(t);
        }
    };
    let prepared = (|| -> Result<(Arc<Value>, Option<f64>), Failure> {
        if jsonata {
            let params = match &task.arguments {
                Some(a) => Arc::new(eval.jsonata(a, &states, "Arguments")?),
                None => raw.clone(),
            };
            let timeout =
                eval.number(&task.timeout_seconds, None, raw, &states, "TimeoutSeconds")?;
            Ok((params, timeout))
        } else {
            let effective = eval.input_shared(&task.input_path, raw)?;
            let timeout = eval.number(
                &task.timeout_seconds,
                task.timeout_seconds_path.as_ref(),
                &effective,
                &states,
                "TimeoutSeconds",
            )?;
            let params = match &task.parameters {
                Some(p) => Arc::new(eval.template(p, &effective)?),
                None => effective,
            };
            Ok((params, timeout))
        }
    })();
    let (params, timeout) = match prepared {
        Ok(p) => p,
        Err(f) => {
            forget(&token);
            return Err(f);
        }
    };
    let lambda_events = kind == TaskKind::LambdaArn;
    let mut scheduled: Fields = if lambda_events {
        smallvec::smallvec![
            ("resource", Field::Name(info.resource.clone())),
            ("input", Field::Payload(params.clone())),
            ("inputDetails", Field::NotTruncated),
        ]
    } else {
        smallvec::smallvec![
            ("resourceType", Field::Name(info.resource_type.clone())),
            ("resource", Field::Name(info.resource_name.clone())),
            ("region", Field::Str("us-east-1")),
            ("parameters", Field::Payload(params.clone())),
        ]
    };
    if let Some(t) = timeout {
        scheduled.push(("timeoutInSeconds", Field::Int(t as u64)));
    }
    let names = if lambda_events {
        &LAMBDA_EVENTS
    } else {
        &TASK_EVENTS
    };
    let (scheduled_type, started_type, succeeded_type, failed_type, timed_out_type) =
        (names[0].0, names[1].0, names[2].0, names[3].0, names[4].0);
    // A first attempt is scheduled with no wait after the state's entry; a retry, after its
    // back-off.
    let (scheduled, moment) = run.history.append_at(
        (retry == 0).then_some(entered),
        frame.prev,
        scheduled_type,
        Some((names[0].1, Details::Fields(scheduled))),
    );
    let base = |extra: Value| -> Value {
        let mut m = Map::new();
        if !lambda_events {
            m.insert("resourceType".into(), json!(&*info.resource_type));
            m.insert("resource".into(), json!(&*info.resource_name));
        }
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        Value::Object(m)
    };
    // Started comes right after Scheduled.
    frame.prev = run
        .history
        .append_at(
            Some(moment),
            scheduled,
            started_type,
            (!lambda_events).then(|| ("taskStartedEventDetails", base(json!({})))),
        )
        .0;

    let registry = &run.registry;
    let (token_value, receiver) = match token {
        Some((t, rx)) => (Some(t), Some(rx)),
        None => (None, None),
    };
    let submitted = std::sync::atomic::AtomicU64::new(frame.prev);
    let work = async {
        let result = match kind {
            TaskKind::LambdaInvoke => {
                let function = params
                    .get("FunctionName")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Failure::runtime(format!(
                            "The task '{}' calls {resource} without a FunctionName",
                            node.name
                        ))
                    })?;
                let payload = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
                let out = registry.invoke_lambda(function, Arc::new(payload)).await?;
                lambda_invoke_result(out)
            }
            TaskKind::LambdaArn => {
                registry
                    .invoke_target(info.lambda.as_ref(), resource, params.clone())
                    .await?
            }
            TaskKind::Resource => registry.invoke_resource(resource, params.clone()).await?,
        };
        match receiver {
            Some(rx) => {
                // The resource answered; the task now waits for its token.
                let details =
                    base(json!({"output": text(&result), "outputDetails": not_truncated()}));
                let id = run.history.append(
                    submitted.load(Ordering::SeqCst),
                    "TaskSubmitted",
                    Some(("taskSubmittedEventDetails", details)),
                );
                submitted.store(id, Ordering::SeqCst);
                match rx.await {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(e)) => Err(Failure::from(e)),
                    Err(_) => Err(Failure::runtime(
                        "The task token was dropped before it was completed",
                    )),
                }
            }
            None => Ok(result),
        }
    };
    let outcome = match timeout {
        Some(seconds) if seconds > 0.0 => {
            tokio::select! {
                r = work => r,
                // The service gives a task timeout no cause.
                _ = run.clock.timeout(Duration::from_secs_f64(seconds.min(1.0e9))) => Err(Failure::new(errors::TIMEOUT, "")),
            }
        }
        _ => work.await,
    };
    if let Some(t) = &token_value {
        run.tokens.forget(t);
    }
    frame.prev = frame.prev.max(submitted.load(Ordering::SeqCst));
    let outcome = outcome.and_then(|r| {
        check_size(&r, "task result")?;
        Ok(r)
    });
    let (result, succeeded_at) = match outcome {
        Ok(result) => {
            let result = Arc::new(result);
            let mut details = Fields::new();
            if !lambda_events {
                details.push(("resourceType", Field::Name(info.resource_type.clone())));
                details.push(("resource", Field::Name(info.resource_name.clone())));
            }
            details.push(("output", Field::Payload(result.clone())));
            details.push(("outputDetails", Field::NotTruncated));
            let details = Details::Fields(details);
            let (succeeded, moment) = run.history.append_at(
                None,
                frame.prev,
                succeeded_type,
                Some((names[2].1, details)),
            );
            frame.prev = succeeded;
            (result, moment)
        }
        Err(f) => {
            let (event, key) = if f.error == errors::TIMEOUT {
                (timed_out_type, names[4].1)
            } else {
                (failed_type, names[3].1)
            };
            let details = if lambda_events {
                error_details(&f)
            } else {
                base(error_details(&f))
            };
            frame.prev = run.history.append(frame.prev, event, Some((key, details)));
            return Err(f);
        }
    };
    if jsonata {
        let states = eval.states(raw, Some(&result), None);
        let assigned = eval.assign(&task.assign, &states, &result)?;
        let output = match &task.output {
            Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
            None => result,
        };
        return Ok(Outcome {
            output,
            next,
            assigned,
            // The exit follows the result with no wait.
            moment: Some(succeeded_at),
        });
    }
    let selected = match &task.result_selector {
        Some(s) => Arc::new(eval.template(s, &result)?),
        None => result,
    };
    let assigned = eval.assign(
        &task.assign,
        &eval.states(raw, Some(&selected), None),
        &selected,
    )?;
    if matches!(task.result_path, Some(Some(_))) {
        // ResultPath puts the result inside the input: the TaskSucceeded event lets it go.
        run.history.release(&[frame.prev], &selected);
    }
    let merged = result_path(raw, &task.result_path, selected)?;
    let output = eval.output(&task.output_path, merged)?;
    Ok(Outcome {
        output,
        next,
        assigned,
        moment: Some(succeeded_at),
    })
}

async fn run_map<'n>(
    run: &Arc<Run>,
    node: &'n Arc<Node>,
    map: &'n asl::Map,
    raw: &Arc<Value>,
    eval: &Eval<'_>,
    frame: &mut Frame,
) -> Result<Outcome<'n>, Failure> {
    let jsonata = eval.ql == QueryLanguage::JSONata;
    let next = next_of(&map.next, map.end, &node.name)?;
    if map.item_reader.is_some() || map.result_writer.is_some() || map.item_batcher.is_some() {
        return Err(Failure::runtime(format!(
            "The Map state '{}' uses ItemReader, ItemBatcher or ResultWriter (distributed Map), which sfn-local does not support",
            node.name
        )));
    }
    let processor = node.children.first().cloned().ok_or_else(|| {
        Failure::runtime(format!(
            "The Map state '{}' has no ItemProcessor",
            node.name
        ))
    })?;
    let states = eval.states(raw, None, None);
    let effective = if jsonata {
        std::borrow::Cow::Borrowed(&**raw)
    } else {
        eval.input_view(&map.input_path, raw)?
    };
    let items = if jsonata {
        match &map.items {
            Some(i) => eval.jsonata(i, &states, "Items")?,
            None => (**raw).clone(),
        }
    } else {
        match &map.items_path {
            Some(p) => eval.select(p, &effective, "ItemsPath")?,
            None => effective.as_ref().clone(),
        }
    };
    let Value::Array(items) = items else {
        let error = if jsonata {
            errors::QUERY_EVALUATION_ERROR
        } else {
            errors::RUNTIME
        };
        return Err(Failure::new(
            error,
            format!(
                "The Map state '{}' needs an array of items, found {}",
                node.name,
                text(&items)
            ),
        ));
    };
    let max_concurrency = eval
        .number(
            &map.max_concurrency,
            map.max_concurrency_path.as_ref(),
            &effective,
            &states,
            "MaxConcurrency",
        )?
        .unwrap_or(0.0);
    let tolerated_count = eval.number(
        &map.tolerated_failure_count,
        map.tolerated_failure_count_path.as_ref(),
        &effective,
        &states,
        "ToleratedFailureCount",
    )?;
    let tolerated_pct = eval.number(
        &map.tolerated_failure_percentage,
        map.tolerated_failure_percentage_path.as_ref(),
        &effective,
        &states,
        "ToleratedFailurePercentage",
    )?;
    let selector = map.item_selector.as_ref().or(map.parameters.as_ref());
    let mut inputs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let item = Arc::new(item);
        let map_item = MapItem {
            index,
            value: item.clone(),
        };
        let input = match selector {
            None => item,
            Some(sel) => {
                let mut ctx = eval.context.clone();
                ctx.map_item = Some(map_item.clone());
                let item_eval = Eval {
                    ql: eval.ql,
                    vars: eval.vars,
                    context: ctx,
                };
                Arc::new(if jsonata {
                    let item_states = item_eval.states(raw, None, None);
                    item_eval.jsonata(sel, &item_states, "ItemSelector")?
                } else {
                    item_eval.template(sel, &effective)?
                })
            }
        };
        inputs.push((input, map_item));
    }
    let total = inputs.len();
    frame.prev = run.history.append(
        frame.prev,
        "MapStateStarted",
        Some(("mapStateStartedEventDetails", json!({"length": total}))),
    );
    // The service runs at most 40 iterations of an inline Map at once, fewer when
    // `MaxConcurrency` says so; 0 means as many as it can. A worker runs one iteration at a
    // time and takes the next item when it is done, so items start in order.
    let limit = if max_concurrency >= 1.0 {
        (max_concurrency as usize).min(INLINE_MAP_CONCURRENCY)
    } else {
        INLINE_MAP_CONCURRENCY
    };
    let start_prev = frame.prev;
    let shared = Arc::new(Iterations {
        items: inputs.into_iter().map(|i| Mutex::new(Some(i))).collect(),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        failed: AtomicUsize::new(0),
        tolerance: Tolerance {
            count: tolerated_count,
            percentage: tolerated_pct,
            total,
        },
    });
    // One worker runs on this task, the others are spawned: iterations start at once even
    // when the runtime's other threads are slow to wake up.
    let worker = || {
        run_iterations(
            run.clone(),
            processor.clone(),
            frame.vars.clone(),
            node.name.clone(),
            start_prev,
            shared.clone(),
        )
    };
    let mut set = JoinSet::new();
    for _ in 1..limit.min(total) {
        set.spawn(worker());
    }
    let mut here = std::pin::pin!(worker());
    let mut here_done = false;
    let mut results: Vec<Value> = vec![Value::Null; total];
    let mut texts: Vec<Option<u64>> = vec![None; total];
    let mut last = frame.prev;
    let mut failure: Option<Failure> = None;
    while failure.is_none() {
        let done = tokio::select! {
            done = &mut here, if !here_done => {
                here_done = true;
                done
            }
            joined = set.join_next() => match joined {
                Some(joined) => joined.map_err(|e| {
                    Failure::runtime(format!("A Map iteration stopped unexpectedly: {e}"))
                })?,
                None if here_done => break,
                None => {
                    here_done = true;
                    (&mut here).await
                }
            },
        };
        last = last.max(done.last);
        for (index, value, text) in done.results {
            results[index] = value;
            texts[index] = text;
        }
        failure = done.failure;
    }
    let first_failure = failure.map(|f| {
        // The other workers stop where they are.
        set.abort_all();
        let tolerated = tolerated_count.is_some() || tolerated_pct.is_some();
        if tolerated && f.error != errors::RUNTIME {
            Failure::new(
                errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                format!(
                    "The Map state '{}' had {} failed item(s), more than it tolerates",
                    node.name,
                    shared.failed.load(Ordering::SeqCst)
                ),
            )
        } else {
            f
        }
    });
    frame.prev = last;
    if let Some(f) = first_failure {
        if f.error != errors::RUNTIME {
            frame.prev = run.history.append(frame.prev, "MapStateFailed", NO_DETAILS);
        }
        return Err(f);
    }
    // The Succeeded event is passed by: the state's exit follows the last iteration event.
    run.history
        .append(frame.prev, "MapStateSucceeded", NO_DETAILS);
    let result = Arc::new(Value::Array(results));
    run.history.note_element_texts(&result, texts);
    finish_collection(map_output(map), raw, result, eval, next)
}

/// How many iterations of an inline Map the service runs at once.
const INLINE_MAP_CONCURRENCY: usize = 40;

/// A Map iteration's input and its `$$.Map.Item`.
type ItemInput = (Arc<Value>, MapItem);

/// What a Map's workers share: the items left, and whether the Map has failed.
struct Iterations {
    /// Each iteration's input and `$$.Map.Item`, taken by the worker that runs it (each slot
    /// has its own lock, which only that worker takes).
    items: Box<[Mutex<Option<ItemInput>>]>,
    /// The index of the next item to start: workers take items in order without waiting on
    /// each other.
    next: AtomicUsize,
    /// Set when the Map has failed, so no further iteration starts.
    stop: AtomicBool,
    /// Failed iterations so far.
    failed: AtomicUsize,
    tolerance: Tolerance,
}

/// What one Map worker ran: the results by index, its last event, and the failure that
/// stopped the Map, if one did.
struct WorkerDone {
    /// Each with the event that keeps the output's text, if one does.
    results: Vec<(usize, Value, Option<u64>)>,
    last: u64,
    failure: Option<Failure>,
}

/// One Map worker: runs iterations one after another until the items run out or the Map fails.
async fn run_iterations(
    run: Arc<Run>,
    processor: Arc<Scope>,
    outer: Arc<Vars>,
    name: Arc<str>,
    start_prev: u64,
    shared: Arc<Iterations>,
) -> WorkerDone {
    let mut done = WorkerDone {
        results: Vec::new(),
        last: 0,
        failure: None,
    };
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return done;
        }
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        let Some(slot) = shared.items.get(index) else {
            return done;
        };
        let Some((input, map_item)) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return done;
        };
        let (started, moment) = run.history.append_at(
            None,
            start_prev,
            "MapIterationStarted",
            Some(("mapIterationStartedEventDetails", iteration(&name, index))),
        );
        // The iteration's first state enters right after it starts.
        let frame = Frame {
            map_item: Some(map_item),
            moment: Some(moment),
            ..Frame::nested(&outer, started)
        };
        let outcome = run_scope(&run, &processor, input, frame).await;
        let details = iteration(&name, index);
        // An iteration's success moves its chain on; its failure is passed by: the Map's own
        // failure follows the iteration's last event. States.Runtime records nothing.
        match outcome {
            Ok((output, last, moment)) => {
                // The Map's result array takes the output: no copy when the last state's exit
                // event is its only other holder.
                let released = run.history.release(&[last], &output);
                // The iteration succeeds as its last state exits.
                let (id, _) = run.history.append_at(
                    moment,
                    last,
                    "MapIterationSucceeded",
                    Some(("mapIterationSucceededEventDetails", details)),
                );
                done.last = done.last.max(id);
                done.results
                    .push((index, owned(output), released.then_some(last)));
            }
            Err((f, last)) => {
                let failures = shared.failed.fetch_add(1, Ordering::SeqCst) + 1;
                if f.error != errors::RUNTIME {
                    run.history.append(
                        last,
                        "MapIterationFailed",
                        Some(("mapIterationFailedEventDetails", details)),
                    );
                }
                done.last = done.last.max(last);
                if f.error == errors::RUNTIME || shared.tolerance.exceeded(failures) {
                    shared.stop.store(true, Ordering::SeqCst);
                    done.failure = Some(f);
                    return done;
                }
                done.results.push((index, f.error_output(), None));
            }
        }
    }
}

/// How many failed items a Map tolerates.
#[derive(Clone, Copy)]
struct Tolerance {
    count: Option<f64>,
    percentage: Option<f64>,
    total: usize,
}

impl Tolerance {
    /// Whether `failures` failed items are more than tolerated (any, when nothing is tolerated).
    fn exceeded(&self, failures: usize) -> bool {
        let failures = failures as f64;
        let over_count = self.count.map(|c| failures > c);
        let over_pct = self
            .percentage
            .map(|p| failures * 100.0 / self.total.max(1) as f64 > p);
        match (over_count, over_pct) {
            (None, None) => true,
            (Some(c), None) => c,
            (None, Some(p)) => p,
            // With both set, the Map fails as soon as either is exceeded.
            (Some(c), Some(p)) => c || p,
        }
    }
}

/// The output fields of a Map or Parallel state.
struct CollectionFields<'a> {
    result_selector: &'a Option<Value>,
    result_path: &'a Option<Option<String>>,
    output_path: &'a Option<Option<String>>,
    output: &'a Option<Value>,
    assign: &'a Option<asl::Assign>,
}

fn map_output(map: &asl::Map) -> CollectionFields<'_> {
    CollectionFields {
        result_selector: &map.result_selector,
        result_path: &map.result_path,
        output_path: &map.output_path,
        output: &map.output,
        assign: &map.assign,
    }
}

fn finish_collection<'n>(
    fields: CollectionFields<'_>,
    raw: &Arc<Value>,
    result: Arc<Value>,
    eval: &Eval<'_>,
    next: Option<&'n str>,
) -> Result<Outcome<'n>, Failure> {
    if eval.ql == QueryLanguage::JSONata {
        let states = eval.states(raw, Some(&result), None);
        let assigned = eval.assign(fields.assign, &states, &result)?;
        let output = match fields.output {
            Some(o) => Arc::new(eval.jsonata(o, &states, "Output")?),
            None => result,
        };
        return Ok(Outcome {
            output,
            next,
            assigned,
            moment: None,
        });
    }
    let selected = match fields.result_selector {
        Some(s) => Arc::new(eval.template(s, &result)?),
        None => result,
    };
    let assigned = eval.assign(
        fields.assign,
        &eval.states(raw, Some(&selected), None),
        &selected,
    )?;
    let merged = result_path(raw, fields.result_path, selected)?;
    let output = eval.output(fields.output_path, merged)?;
    Ok(Outcome {
        output,
        next,
        assigned,
        moment: None,
    })
}

async fn run_parallel<'n>(
    run: &Arc<Run>,
    node: &'n Arc<Node>,
    p: &'n asl::Parallel,
    raw: &Arc<Value>,
    eval: &Eval<'_>,
    frame: &mut Frame,
) -> Result<Outcome<'n>, Failure> {
    let jsonata = eval.ql == QueryLanguage::JSONata;
    let next = next_of(&p.next, p.end, &node.name)?;
    let states = eval.states(raw, None, None);
    let input = if jsonata {
        match &p.arguments {
            Some(a) => Arc::new(eval.jsonata(a, &states, "Arguments")?),
            None => raw.clone(),
        }
    } else {
        let effective = eval.input_shared(&p.input_path, raw)?;
        match &p.parameters {
            Some(params) => Arc::new(eval.template(params, &effective)?),
            None => effective,
        }
    };
    frame.prev = run
        .history
        .append(frame.prev, "ParallelStateStarted", NO_DETAILS);
    let start_prev = frame.prev;
    let mut set = JoinSet::new();
    for (index, branch) in node.children.iter().enumerate() {
        let run = run.clone();
        let branch = branch.clone();
        let branch_frame = Frame::nested(&frame.vars, start_prev);
        let input = input.clone();
        set.spawn(async move { (index, run_scope(&run, &branch, input, branch_frame).await) });
    }
    let mut results = vec![Value::Null; node.children.len()];
    let mut last = frame.prev;
    while let Some(joined) = set.join_next().await {
        let (index, outcome) = joined.map_err(|e| {
            Failure::runtime(format!("A Parallel branch stopped unexpectedly: {e}"))
        })?;
        match outcome {
            Ok((v, id, _)) => {
                results[index] = owned(v);
                last = last.max(id);
            }
            Err((f, id)) => {
                set.abort_all();
                frame.prev = id;
                if f.error != errors::RUNTIME {
                    frame.prev = run.history.append(id, "ParallelStateFailed", NO_DETAILS);
                }
                return Err(f);
            }
        }
    }
    // The Succeeded event is passed by: the state's exit follows the last branch event.
    run.history
        .append(last, "ParallelStateSucceeded", NO_DETAILS);
    frame.prev = last;
    let fields = CollectionFields {
        result_selector: &p.result_selector,
        result_path: &p.result_path,
        output_path: &p.output_path,
        output: &p.output,
        assign: &p.assign,
    };
    finish_collection(fields, raw, Arc::new(Value::Array(results)), eval, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(v: Value) -> asl::Retrier {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let r = retrier(
            json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxDelaySeconds": 10}),
        );
        assert_eq!(backoff(&r, 0), Duration::from_secs(2));
        assert_eq!(backoff(&r, 1), Duration::from_secs(6));
        assert_eq!(backoff(&r, 2), Duration::from_secs(10));
        let defaults = retrier(json!({"ErrorEquals": ["States.ALL"]}));
        assert_eq!(backoff(&defaults, 0), Duration::from_secs(1));
        assert_eq!(backoff(&defaults, 2), Duration::from_secs(4));
        let jitter = retrier(
            json!({"ErrorEquals": ["States.ALL"], "IntervalSeconds": 8, "JitterStrategy": "FULL"}),
        );
        assert!(backoff(&jitter, 0) <= Duration::from_secs(8));
    }

    #[test]
    fn resource_types_split_like_the_console() {
        assert_eq!(
            resource_type("arn:aws:states:::lambda:invoke"),
            ("lambda".to_owned(), "invoke".to_owned())
        );
        assert_eq!(
            resource_type("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            ("lambda".to_owned(), "invoke.waitForTaskToken".to_owned())
        );
    }
}
