//! Running a compiled [`Machine`]: an [`Engine`] starts executions; each runs its scope's
//! states from `StartAt`, each state through its compiled pipeline, with Retry and Catch
//! around it, writing history through a [`Recorder`].
//!
//! `simple` runs Pass, Succeed, Fail, Choice and Wait; `task` runs Task states; `collection`
//! runs Map and Parallel.

mod collection;
mod distributed;
mod reader;
mod simple;
mod task;
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Map, Value, json};

use crate::clock::{Clock, SystemClock, iso};
use crate::compile::{Kind, Machine, Node, Scope};
use crate::context::{Context, MapItem};
use crate::errors::{self, Failure, check_size};
use crate::history::{
    self, Details, Field, Fields, History, HistoryEvent, Listener, Mark, Recorder, text,
};
use crate::limits;
use crate::objects::ObjectStore;
use crate::pipeline::{Eval, Produced, owned};
use crate::registry::Registry;
use crate::tokens::TaskTokens;
use crate::vars::Vars;

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
    /// The region in `$$.Execution.Id` and `$$.StateMachine.Id`; `us-east-1` when `None`.
    pub region: Option<String>,
    /// The account id in `$$.Execution.Id` and `$$.StateMachine.Id`; `123456789012` when `None`.
    pub account: Option<String>,
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
    /// The Map Runs of its distributed Maps, in the order they started, with their child
    /// executions (which the parent's history does not show, as in the service).
    pub map_runs: Vec<MapRun>,
}

/// One run of a distributed Map state: its ARN and its child executions.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRun {
    /// `arn:aws:states:{region}:{account}:mapRun:{machine}/{label}:{id}`.
    pub map_run_arn: String,
    /// The Map state's name.
    pub state_name: String,
    /// The child executions, in item order: at most [`limits::MAX_KEPT_CHILD_EXECUTIONS`].
    pub executions: Vec<ChildExecution>,
    /// How many child executions ran (more than `executions` holds past the limit).
    pub execution_count: usize,
}

/// A child execution of a Map Run: one item, or one batch of items.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildExecution {
    /// Its ARN (`…:execution:{machine}/{label}:{name}`, `…:express:…` for EXPRESS children).
    pub execution_arn: String,
    /// Its input (the item or batch, after `ItemSelector`).
    pub input: Value,
    /// How it ended, and its own history.
    pub execution: Execution,
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
            if !self.map_runs.is_empty() {
                map.insert(
                    "mapRuns".into(),
                    Value::Array(self.map_runs.iter().map(MapRun::to_json).collect()),
                );
            }
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

impl MapRun {
    /// `{"mapRunArn", "stateName", "executionCount", "executions": [{"executionArn", "name",
    /// "input", "status", "output" | "error"/"cause", "history", "mapRuns"?}]}`.
    pub fn to_json(&self) -> Value {
        let executions = self
            .executions
            .iter()
            .map(|child| {
                let mut entry = Map::new();
                entry.insert("executionArn".into(), json!(child.execution_arn));
                entry.insert("name".into(), json!(child.execution.name));
                entry.insert("input".into(), child.input.clone());
                if let Value::Object(rest) = child.execution.to_json(true) {
                    entry.extend(rest);
                }
                Value::Object(entry)
            })
            .collect();
        json!({
            "mapRunArn": self.map_run_arn,
            "stateName": self.state_name,
            "executionCount": self.execution_count,
            "executions": Value::Array(executions),
        })
    }
}

/// Runs a compiled state machine against a registry of task handlers.
pub struct Engine {
    machine: Machine,
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener>,
    tokens: TaskTokens,
    store: Option<Arc<dyn ObjectStore>>,
    /// The largest history shard of the last execution: the next one reserves that much room.
    shard_capacity: AtomicUsize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("query_language", &self.machine.query_language())
            .field("registry", &self.registry)
            .finish()
    }
}

impl Engine {
    /// An engine for this compiled machine ([`Machine::compile`]) with these handlers, on the
    /// system clock.
    pub fn new(machine: Machine, registry: Registry) -> Self {
        task::resolve(&machine.root, &registry);
        Self {
            machine,
            registry: Arc::new(registry),
            clock: Arc::new(SystemClock::new()),
            listener: None,
            tokens: TaskTokens::new(),
            store: None,
            shard_capacity: AtomicUsize::new(0),
        }
    }

    /// The objects a distributed Map's `ItemReader` reads and its `ResultWriter` writes
    /// ([`crate::DirStore`] for a directory, or an S3 API client). Without one, such a Map
    /// fails with `States.ItemReaderFailed` or `States.ResultWriterFailed`, saying so.
    pub fn with_object_store(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.store = Some(store);
        self
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

    /// The compiled machine.
    pub fn machine(&self) -> &Machine {
        &self.machine
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
        let region = options.region.as_deref().unwrap_or("us-east-1");
        let account = options.account.as_deref().unwrap_or("123456789012");
        let arns = format!("arn:aws:states:{region}:{account}");
        let start = self.clock.now();
        let input = Arc::new(input);
        let history = History::new(
            self.clock.clone(),
            self.listener.clone(),
            self.shard_capacity.load(Ordering::Relaxed),
        );
        let timeout = self.machine.timeout;
        let run = Arc::new(Run {
            registry: self.registry.clone(),
            clock: self.clock.clone(),
            history,
            tokens: self.tokens.clone(),
            store: self.store.clone(),
            arns: arns.clone(),
            machine_name: machine_name.clone(),
            role: role.clone(),
            map_runs: Mutex::new(Vec::new()),
            children: Arc::default(),
            execution: Map::from_iter([
                (
                    "Id".to_owned(),
                    json!(format!("{arns}:execution:{machine_name}:{name}")),
                ),
                ("Name".to_owned(), json!(name)),
                ("RoleArn".to_owned(), json!(role)),
                ("StartTime".to_owned(), json!(iso(start))),
                ("RedriveCount".to_owned(), json!(0)),
            ]),
            input: input.clone(),
            state_machine: json!({
                "Id": format!("{arns}:stateMachine:{machine_name}"),
                "Name": machine_name
            }),
            deadline: timeout.and_then(|s| {
                chrono::Duration::try_seconds(i64::try_from(s).unwrap_or(i64::MAX))
                    .and_then(|d| start.checked_add_signed(d))
            }),
            timed_out: AtomicBool::new(false),
        });
        let root = &self.machine.root;
        let (execution, largest_shard) =
            run_execution(run, root, input, name, timeout, self.listener.as_ref()).await;
        self.shard_capacity.store(largest_shard, Ordering::Relaxed);
        execution
    }
}

/// Runs an execution (the machine's, or a Map Run's child) from its `ExecutionStarted` to its
/// end; gives the outcome and the largest history shard.
async fn run_execution(
    run: Arc<Run>,
    root: &Scope,
    input: Arc<Value>,
    name: String,
    timeout: Option<u64>,
    listener: Option<&Listener>,
) -> (Execution, usize) {
    let started = Recorder::new(&run.history, Mark::NONE).record(
        "ExecutionStarted",
        Some((
            "executionStartedEventDetails",
            Details::Fields(smallvec::smallvec![
                ("input", Field::Payload(input.clone())),
                ("inputDetails", Field::NotTruncated),
                (
                    "roleArn",
                    Field::Value(Box::new(Value::String(run.role.clone())))
                ),
            ]),
        )),
    );
    let outcome = match check_size(&input, "execution input") {
        Err(f) => Err((f, started)),
        Ok(()) => {
            let body = async {
                let frame = Frame {
                    vars: Vars::root(),
                    own_vars: true,
                    map_item: None,
                    // The service chains the first state to no event, not to
                    // ExecutionStarted.
                    rec: Recorder::new(&run.history, Mark::NONE),
                    nested: false,
                    collection_failed: None,
                };
                match run_scope(&run, root, input, frame).await {
                    Ok((output, rec)) => Ok((output, rec.last())),
                    Err((f, last)) => Err((f, last)),
                }
            };
            match timeout {
                Some(seconds) => {
                    tokio::select! {
                        r = body => r,
                        _ = run.clock.timeout(Duration::from_secs(seconds)) => {
                            run.timed_out.store(true, Ordering::SeqCst);
                            let last = run.history.last_mark().max(started);
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
        Ok((_, last)) | Err((_, last)) if over_quota => {
            run.timed_out.store(false, Ordering::SeqCst);
            Err((history_quota_reached(), last))
        }
        outcome => outcome,
    };
    let (status, output, error, cause) = match outcome {
        // No size check here: the output is the last state's, checked as its output.
        Ok((output, last)) => {
            let mut rec = Recorder::new(&run.history, last);
            let succeeded = rec.record(
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
            rec.release(&[last, succeeded], &output);
            (ExecutionStatus::Succeeded, Some(owned(output)), None, None)
        }
        Err((f, last)) => {
            if run.timed_out.load(Ordering::SeqCst) {
                Recorder::new(&run.history, last).record(
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
                Recorder::new(&run.history, last).record(
                    "ExecutionFailed",
                    Some(("executionFailedEventDetails", error_details(&f))),
                );
                (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause))
            }
        }
    };
    let (mut history, largest_shard) = run.history.take();
    if let (Some(end), Some(listener)) = (history::end_at_quota(&mut history), listener) {
        listener(end);
    }
    let execution = Execution {
        name,
        status,
        output,
        error: error.filter(|e| !e.is_empty()),
        cause: cause.filter(|c| !c.is_empty()),
        history,
        map_runs: std::mem::take(&mut *run.map_runs.lock().unwrap_or_else(|e| e.into_inner())),
    };
    (execution, largest_shard)
}

/// One execution's shared state.
struct Run {
    registry: Arc<Registry>,
    clock: Arc<dyn Clock>,
    history: History,
    tokens: TaskTokens,
    /// The objects distributed Maps read and write, if the engine has a store.
    store: Option<Arc<dyn ObjectStore>>,
    /// `arn:aws:states:{region}:{account}`, the start of the ARNs a Map Run makes.
    arns: String,
    /// The state machine's name (a child's: `{machine}/{label}`).
    machine_name: String,
    /// `$$.Execution.RoleArn`, which child executions share.
    role: String,
    /// The Map Runs so far, handed to the [`Execution`] at its end.
    map_runs: Mutex<Vec<MapRun>>,
    /// What child executions take from this execution and every execution under it (shared
    /// down the tree).
    children: Arc<ChildBudget>,
    execution: Map<String, Value>,
    input: Arc<Value>,
    state_machine: Value,
    deadline: Option<DateTime<Utc>>,
    timed_out: AtomicBool,
}

/// What the child executions of one execution tree take, each bounded: a Map Run is bounded by
/// [`limits::MAX_MAP_RUN_ITEMS`], but a Map Run in each of its children would multiply it.
#[derive(Debug, Default)]
struct ChildBudget {
    /// Children started: at most [`limits::MAX_CHILD_EXECUTIONS`].
    started: AtomicUsize,
    /// Children whose whole record (history included) is kept: at most
    /// [`limits::MAX_KEPT_CHILD_EXECUTIONS`].
    kept: AtomicUsize,
    /// Bytes of the JSON text of the children's inputs and outputs, which their records hold:
    /// at most [`limits::MAX_CHILD_EXECUTION_BYTES`].
    bytes: AtomicUsize,
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

    /// The context object of a state entered at `entered`.
    fn context<'a>(
        &'a self,
        node: &'a Node,
        entered: DateTime<Utc>,
        retry: u64,
        frame: &Frame<'_>,
        token: Option<&str>,
    ) -> Context<'a> {
        Context {
            execution: &self.execution,
            input: &self.input,
            state_machine: &self.state_machine,
            state_name: &node.name,
            entered,
            retry,
            token: token.map(str::to_owned),
            map_item: frame.map_item.clone(),
        }
    }
}

/// Where a state runs: its variables, its Map item (if any), and the recorder of its path.
struct Frame<'h> {
    /// The scope's variables; until its first assignment, its parent's (see [`Frame::assign`]).
    vars: Arc<Vars>,
    /// Whether `vars` is the scope's own.
    own_vars: bool,
    map_item: Option<MapItem>,
    rec: Recorder<'h>,
    /// Inside a Map iteration or a Parallel branch.
    nested: bool,
    /// `MapStateFailed` or `ParallelStateFailed`, when an iteration or branch failed the state:
    /// written only if the state is not retried (the service writes one per state, after its
    /// last attempt: localstack's `test_map_state_retry` and `test_parallel_state_retry`
    /// snapshots).
    collection_failed: Option<&'static str>,
}

impl<'h> Frame<'h> {
    /// The frame of a Parallel branch's states, or (with its item) a Map iteration's: they
    /// read the outer variables, and record from `rec`.
    fn nested(outer: &Arc<Vars>, rec: Recorder<'h>) -> Self {
        Frame {
            vars: outer.clone(),
            own_vars: false,
            map_item: None,
            rec,
            nested: true,
            collection_failed: None,
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
struct Outcome {
    output: Arc<Value>,
    /// The next state's index in the scope; `None` ends the scope.
    next: Option<usize>,
    assigned: Option<Map<String, Value>>,
    /// Whether the state waited for nothing since its last event: its exit then shares that
    /// event's clock reading (see [`Recorder::record_at_once`]).
    at_once: bool,
}

/// What a scope ends with: its output and its recorder, or its failure and its last event.
type ScopeResult<'h> = Result<(Arc<Value>, Recorder<'h>), (Failure, Mark)>;

/// Runs a scope's states from its `StartAt` to the end. It borrows the execution and the
/// scope: Map iterations on several threads would otherwise contend for their counts.
fn run_scope<'a>(
    run: &'a Arc<Run>,
    scope: &'a Scope,
    input: Arc<Value>,
    mut frame: Frame<'a>,
) -> BoxFuture<'a, ScopeResult<'a>> {
    Box::pin(async move {
        let mut current = scope.start;
        let mut input = input;
        loop {
            if let Some(deadline) = run.deadline
                && run.clock.now() >= deadline
            {
                run.timed_out.store(true, Ordering::SeqCst);
                return Err((execution_timeout(), frame.rec.last()));
            }
            // Targets are indices checked when the machine was compiled.
            let node = &scope.states[current];
            match run_state(run, node, input, &mut frame).await {
                Ok(Outcome { output, next, .. }) => match next {
                    Some(next) => {
                        input = output;
                        current = next;
                    }
                    None => return Ok((output, frame.rec)),
                },
                Err(f) => return Err((f, frame.rec.last())),
            }
        }
    })
}

/// Runs a state: enters it, attempts it, retries or catches its failure, and exits it.
async fn run_state<'a>(
    run: &'a Arc<Run>,
    node: &'a Node,
    raw: Arc<Value>,
    frame: &mut Frame<'a>,
) -> Result<Outcome, Failure> {
    if frame.rec.is_full() {
        return Err(history_quota_reached());
    }
    // `$$.State.EnteredTime` is the time of the state's entered event.
    let before_entered = frame.rec.last();
    let entered_mark = frame.rec.record_at_once(
        node.events.0,
        Some((
            "stateEnteredEventDetails",
            Details::Fields(smallvec::smallvec![
                ("name", Field::Name(node.name.clone())),
                ("input", Field::Payload(raw.clone())),
                ("inputDetails", Field::NotTruncated),
            ]),
        )),
    );
    let entered = frame.rec.moment().unwrap_or_else(|| run.clock.now());
    let mut counts = vec![0u64; node.retriers.len()];
    let mut retry = 0u64;
    let vars = frame.vars.clone();
    loop {
        let ev = Eval {
            vars: &vars,
            context: run.context(node, entered, retry, frame, None),
        };
        let attempt = attempt_state(run, node, &raw, &ev, frame, retry).await;
        let attempt = attempt.and_then(|o| {
            // An output that is the state's input itself (a Choice, a Pass with no fields)
            // was checked already, as the output of the state before.
            if !Arc::ptr_eq(&o.output, &raw) {
                check_output(&frame.rec, &o.output)?;
            }
            Ok(o)
        });
        let failure = match attempt {
            Ok(mut outcome) => {
                exit(node, frame, &mut outcome);
                return Ok(outcome);
            }
            Err(failure) => locate(node, frame, failure, (before_entered, entered_mark)),
        };
        if run.timed_out.load(Ordering::SeqCst) {
            // The execution's time is up: no Retry, no Catch.
            if let Some(event_type) = frame.collection_failed.take() {
                frame.rec.record(event_type, NO_DETAILS);
            }
            return Err(failure);
        }
        if let Some(i) = node
            .retriers
            .iter()
            .position(|r| failure.matches(&r.error_equals))
        {
            let r = &node.retriers[i];
            if counts[i] < r.max_attempts.unwrap_or(3) {
                let delay = backoff(r, counts[i]);
                counts[i] += 1;
                retry += 1;
                // The next attempt's `…StateStarted` follows the failed one's last event.
                frame.collection_failed = None;
                run.sleep(delay).await?;
                if frame.rec.is_full() {
                    return Err(history_quota_reached());
                }
                continue;
            }
        }
        if let Some(event_type) = frame.collection_failed.take() {
            frame.rec.record(event_type, NO_DETAILS);
        }
        if let Some(catcher) = node
            .catchers
            .iter()
            .find(|c| failure.matches(&c.error_equals))
        {
            let error_output = failure.error_output();
            let (output, assigned) = catcher.io.output(
                &ev,
                &raw,
                raw.clone(),
                Produced::Error(error_output),
                &|_| {},
            )?;
            let mut outcome = Outcome {
                output,
                next: Some(catcher.next),
                assigned,
                at_once: false,
            };
            check_output(&frame.rec, &outcome.output)?;
            exit(node, frame, &mut outcome);
            return Ok(outcome);
        }
        if frame.nested && matches!(node.kind, Kind::Task(_)) && failure.error != errors::RUNTIME {
            // The service records this when a task's failure ends a branch or iteration.
            frame.rec.note("TaskStateAborted", NO_DETAILS);
        }
        return Err(failure);
    }
}

/// Runs one attempt of a state.
async fn attempt_state<'a>(
    run: &'a Arc<Run>,
    node: &'a Node,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
    frame: &mut Frame<'a>,
    retry: u64,
) -> Result<Outcome, Failure> {
    match &node.kind {
        Kind::Pass { io, result, next } => simple::pass(io, result, *next, raw, ev),
        Kind::Succeed { io } => simple::succeed(io, raw, ev),
        Kind::Fail { error, cause } => simple::fail(error, cause, raw, ev),
        Kind::Choice { rules, default } => simple::choice(rules, default, raw, ev),
        Kind::Wait {
            io,
            seconds,
            timestamp,
            next,
        } => simple::wait(run, node, io, seconds, timestamp, *next, raw, ev).await,
        // Boxed, so the future of every other state stays small.
        Kind::Task(task) => Box::pin(task::run(run, node, task, raw, ev, frame, retry)).await,
        Kind::Map(map) => Box::pin(collection::map(run, node, map, raw, ev, frame)).await,
        Kind::Parallel(p) => Box::pin(collection::parallel(run, p, raw, ev, frame)).await,
    }
}

/// The 256 KB check of a state's output. A Map's result array is counted from its
/// iterations' texts, which the history keeps already, rather than walked.
fn check_output(rec: &Recorder<'_>, output: &Arc<Value>) -> Result<(), Failure> {
    match rec.text_len(output) {
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
/// `marks` are the event before the state's entry and its entry.
fn locate(
    node: &Node,
    frame: &mut Frame<'_>,
    failure: Failure,
    (before_entered, entered): (Mark, Mark),
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
            node.name,
            frame.rec.final_id(entered),
            failure.cause
        ),
    );
    if failure.error == errors::QUERY_EVALUATION_ERROR {
        let mut details = Map::new();
        details.insert("error".into(), json!(located.error));
        details.insert("cause".into(), json!(located.cause));
        // The field is named "specified for the field 'Output/x'" by an expression's error,
        // "The Timestamp field cannot be …" by a value of the wrong form.
        let location = failure
            .cause
            .split_once("specified for the field '")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(field, _)| field)
            .or_else(|| {
                failure
                    .cause
                    .strip_prefix("The ")
                    .and_then(|rest| rest.split_once(" field "))
                    .map(|(field, _)| field)
                    .filter(|field| !field.contains(' '))
            });
        if let Some(location) = location {
            details.insert("location".into(), json!(location));
        }
        details.insert("state".into(), json!(&*node.name));
        // A Map that failed before it started (its items are not an array, say) has written
        // nothing since its entry; the service chains its `EvaluationFailed` to the event
        // before the entry and follows it with `MapStateFailed` (localstack's
        // `test_map_state_items_eval_jsonata_fail` snapshots).
        let map_not_started = matches!(node.kind, Kind::Map(_)) && frame.rec.last() == entered;
        if map_not_started {
            frame.rec.continue_from(before_entered);
        }
        frame.rec.record(
            "EvaluationFailed",
            Some(("evaluationFailedEventDetails", Value::Object(details))),
        );
        if map_not_started {
            frame.rec.record("MapStateFailed", NO_DETAILS);
        }
    }
    located
}

/// Records the state's exit and hands its assigned variables over to the scope (nothing reads
/// them from the outcome afterwards, so they move rather than copy).
fn exit(node: &Node, frame: &mut Frame<'_>, outcome: &mut Outcome) {
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
    if !matches!(node.kind, Kind::Fail { .. }) {
        // The next state's entry (if any) comes right after.
        let details = Some(("stateExitedEventDetails", Details::Fields(details)));
        if outcome.at_once {
            frame.rec.record_at_once(node.events.1, details);
        } else {
            frame.rec.record(node.events.1, details);
        }
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

/// No details object.
const NO_DETAILS: Option<(&str, Value)> = None;

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
}
