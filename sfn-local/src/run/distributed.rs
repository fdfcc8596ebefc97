//! A distributed Map: a Map Run whose items (from the input, or read by its `ItemReader` from
//! the engine's object store) run as child executions, each with its own history and context,
//! grouped by its `ItemBatcher`, with tolerated failures, and written by its `ResultWriter`.
//!
//! The parent's history shows the Map Run, not its items, as the service records it
//! (localstack's `test_base_scenarios.snapshot.json`, 2025 recordings): `MapStateStarted`
//! (`length` 0 when a reader reads the items), `MapRunStarted {mapRunArn}`, then
//! `MapRunSucceeded` and `MapStateSucceeded`, the state's exit following `MapRunStarted`; or
//! `MapRunFailed {error, cause}` and `MapStateFailed`. The children are in
//! [`crate::Execution::map_runs`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map as JsonMap, Value, json};
use tokio::task::JoinSet;

use super::collection::{self, Tolerance, collected, tolerated};
use super::reader::{self, failed, too_many};
use super::writer;
use super::{ChildExecution, ExecutionStatus, Frame, MapRun, Outcome, Run};
use crate::clock::iso;
use crate::compile::{Batcher, Distributed, Map, Node, Reader, Scope, Selector, Source};
use crate::errors::{self, Failure, serialized_len};
use crate::history::{History, text};
use crate::limits;
use crate::objects::{MAX_OBJECT_BYTES, ObjectError};
use crate::pipeline::{Eval, Field, Io, plain};

/// The cause of a Map Run that had more failed items than it tolerates, as the service words
/// it (localstack's `test_state_configuration.snapshot.json`, recorded on the service).
pub(crate) const TOLERATED_FAILURE_CAUSE: &str =
    "The specified tolerated failure threshold was exceeded";

/// How to configure a store, for the failure of a Map that needs one and has none.
const NO_STORE: &str = "sfn-local has no object store to read or write S3 objects: give the \
     engine one (Engine::with_object_store, sfn_local::DirStore for a directory), or run \
     `sfn-agent exec` with --s3-dir DIR or --s3-endpoint URL";

/// Runs a distributed Map state.
pub(super) async fn map(
    run: &Arc<Run>,
    node: &Node,
    map: &Map,
    dist: &Distributed,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
    frame: &mut Frame<'_>,
) -> Result<Outcome, Failure> {
    let io = &map.io;
    let states = ev.states(raw, None, None);
    let effective = io.input(ev, raw)?;
    // Items from the input when no reader reads them (the service ignores `ItemsPath` with a
    // reader: localstack's `test_map_item_reader_base_json_with_items_path` snapshots).
    let from_input = match &dist.reader {
        None => Some(collection::input_items(map, ev, &effective, &states)?),
        Some(_) => None,
    };
    let length = from_input.as_ref().map_or(0, Vec::len);
    frame.rec.record(
        "MapStateStarted",
        Some(("mapStateStartedEventDetails", json!({"length": length}))),
    );
    // Checked after `MapStateStarted`, before the Map Run starts (as recorded).
    let tolerance = Tolerance {
        count: tolerated(map, false, ev, &effective, &states)?,
        percentage: tolerated(map, true, ev, &effective, &states)?,
        total: 0,
    };
    let max_concurrency = collection::max_concurrency(map, ev, &effective, &states)?;
    let reading = match &dist.reader {
        Some(r) => Some(ReadPlan {
            max_items: integer(&r.max_items, "MaxItems", ev, io, &effective, &states)?,
            arguments: arguments(&r.arguments, ev, raw, &effective)?,
        }),
        None => None,
    };
    let batching = match &dist.batcher {
        Some(b) => Some(batch_plan(b, ev, io, raw, &effective, &states)?),
        None => None,
    };
    let writing = match dist.writer.as_ref().and_then(|w| w.arguments.as_ref()) {
        Some(a) => Some(arguments(a, ev, raw, &effective)?),
        None => None,
    };
    let label = dist.label.as_deref().unwrap_or(&node.name);
    let run_id = uuid::Uuid::new_v4().to_string();
    let map_run_arn = format!("{}:mapRun:{}/{label}:{run_id}", run.arns, run.machine_name);
    let started = frame.rec.record(
        "MapRunStarted",
        Some((
            "mapRunStartedEventDetails",
            json!({"mapRunArn": map_run_arn}),
        )),
    );
    let ids = ChildIds {
        arns: run.arns.clone(),
        machine: format!("{}/{label}", run.machine_name),
        express: dist.express,
    };
    let body = async {
        let items = match (&dist.reader, reading) {
            (Some(r), Some(plan)) => read(run, r, plan).await?,
            _ => from_input.unwrap_or_default(),
        };
        if items.len() > limits::MAX_MAP_RUN_ITEMS {
            return Err(too_many(limits::MAX_MAP_RUN_ITEMS));
        }
        let item_count = items.len();
        let mut inputs = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let (input, _) = collection::select(map, index, Arc::new(item), raw, &effective, ev)?;
            inputs.push(input);
        }
        let inputs = match batching {
            Some(plan) => plan.batches(inputs)?,
            None => inputs.into_iter().map(|i| (i, 1)).collect(),
        };
        // The service counts failed items, not children: a failed batch fails all its items
        // (developer guide, "Tolerated failure threshold for Distributed Map state").
        let tolerance = Tolerance {
            total: item_count,
            ..tolerance
        };
        let ran = run_children(
            run,
            &map.processor,
            inputs,
            &ids,
            max_concurrency,
            tolerance,
        )
        .await?;
        Ok(ran)
    };
    let ran = body.await;
    let (children, over_budget, exceeded) = match ran {
        Ok(ran) => (ran.children, ran.over_budget, ran.exceeded),
        // The reader or the batcher failed (the run started no child), or a worker stopped.
        Err(f) => {
            record_run(run, map_run_arn, node, Vec::new());
            return Err(map_run_failed(frame, f));
        }
    };
    let outcome = if let Some(limit) = over_budget {
        Err(limit.failure())
    } else if exceeded {
        Err(Failure::new(
            errors::EXCEED_TOLERATED_FAILURE_THRESHOLD,
            TOLERATED_FAILURE_CAUSE,
        ))
    } else {
        match dist.writer.as_ref() {
            Some(w) => writer::write(run, w, writing, &map_run_arn, &run_id, &children, &ids).await,
            None => Ok(Value::Array(children.iter().map(output_of).collect())),
        }
    };
    record_run(run, map_run_arn, node, children);
    let result = match outcome {
        Ok(result) => result,
        Err(f) => return Err(map_run_failed(frame, f)),
    };
    frame.rec.record("MapRunSucceeded", super::NO_DETAILS);
    // The Succeeded event is passed by: the state's exit follows `MapRunStarted`.
    frame.rec.note("MapStateSucceeded", super::NO_DETAILS);
    frame.rec.continue_from(started);
    collected(io, raw, effective, Arc::new(result), ev, map.next)
}

/// Keeps the Map Run and its children (the first [`limits::MAX_KEPT_CHILD_EXECUTIONS`] of
/// them) for the execution's record.
fn record_run(run: &Run, map_run_arn: String, node: &Node, children: Vec<ChildExecution>) {
    let execution_count = children.len();
    let executions = children
        .into_iter()
        .take(limits::MAX_KEPT_CHILD_EXECUTIONS)
        .collect();
    run.map_runs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(MapRun {
            map_run_arn,
            state_name: node.name.to_string(),
            executions,
            execution_count,
        });
}

/// Records `MapRunFailed` with the failure, and has the state record `MapStateFailed`.
fn map_run_failed(frame: &mut Frame<'_>, f: Failure) -> Failure {
    frame.rec.record(
        "MapRunFailed",
        Some(("mapRunFailedEventDetails", super::error_details(&f))),
    );
    frame.collection_failed = Some("MapStateFailed");
    f
}

/// A child's entry in the Map's result: its output, or its `{"Error", "Cause"}`.
pub(super) fn output_of(child: &ChildExecution) -> Value {
    match (&child.execution.output, child.execution.status) {
        (Some(output), ExecutionStatus::Succeeded) => output.clone(),
        _ => json!({
            "Error": child.execution.error.clone().unwrap_or_default(),
            "Cause": child.execution.cause.clone().unwrap_or_default(),
        }),
    }
}

/// How many listing pages in a row may hold no keys and still ask for the next.
const MAX_EMPTY_PAGES: usize = 100;

/// A number field that must be an integer: `MaxItems`, `MaxItemsPerBatch`, … A `…Path` that
/// selects anything else is `States.Runtime`, worded as the service words it ("The
/// MaxItemsPath field refers to value \"1.5\" which is not a valid integer: $.MaxItems",
/// localstack's `test_map_item_reader_csv_max_items_paths[1.5]`).
fn integer(
    field: &Field,
    name: &str,
    ev: &Eval<'_>,
    io: &Io,
    input: &Value,
    states: &crate::jsonata::StatesView<'_>,
) -> Result<Option<i64>, Failure> {
    if let Some((path, selected)) = field.select_path(ev, input)? {
        let Some(value) = selected else {
            return Err(Failure::runtime(format!(
                "The {name}Path field does not reference a value in the input: {path}"
            )));
        };
        return match collection::integer(&value) {
            Some(n) => Ok(Some(n)),
            None => Err(Failure::runtime(format!(
                "The {name}Path field refers to value \"{}\" which is not a valid integer: {path}",
                plain(&value)
            ))),
        };
    }
    match field.number(ev, io, input, states, name)? {
        None => Ok(None),
        Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Ok(Some(n as i64)),
        Some(n) => Err(io.type_error(format!("The field '{name}' must be an integer, found {n}"))),
    }
}

/// A reader's or writer's `Parameters`/`Arguments`, evaluated.
fn arguments(
    selector: &Selector,
    ev: &Eval<'_>,
    raw: &Arc<Value>,
    effective: &Value,
) -> Result<Value, Failure> {
    Ok(match selector {
        Selector::None => json!({}),
        Selector::JsonPath(t) => ev.template(t, effective)?,
        Selector::Jsonata(t) => ev.jsonata(t, &ev.states(raw, None, None))?,
    })
}

/// A string argument (`Bucket`, `Key`, `Prefix`); `None` when absent.
pub(super) fn text_argument(
    args: &Value,
    name: &str,
    error: &str,
) -> Result<Option<String>, Failure> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(Failure::new(
            error,
            format!(
                "The {name} argument must be a string, found {}",
                text(other)
            ),
        )),
    }
}

/// What the reader reads, decided before the Map Run starts.
struct ReadPlan {
    max_items: Option<i64>,
    arguments: Value,
}

/// Reads the items with the engine's store: at most `MaxItems` (0: all) and at most one past
/// the engine's limit, so a huge object or listing ends in a named error, not in memory.
async fn read(run: &Run, reader: &Reader, plan: ReadPlan) -> Result<Vec<Value>, Failure> {
    let max_items = match plan.max_items {
        Some(n) if n < 0 => return Err(failed("field MaxItems must be positive")),
        Some(n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let take = max_items.min(limits::MAX_MAP_RUN_ITEMS + 1);
    let Some(store) = &run.store else {
        return Err(failed(NO_STORE));
    };
    let store_error = |e: ObjectError| failed(e.to_string());
    let bucket = text_argument(&plan.arguments, "Bucket", errors::ITEM_READER_FAILED)?
        .ok_or_else(|| failed("The ItemReader's Parameters need a Bucket"))?;
    match &reader.source {
        Source::Listing => {
            let prefix = text_argument(&plan.arguments, "Prefix", errors::ITEM_READER_FAILED)?
                .unwrap_or_default();
            let mut items = Vec::new();
            let mut continuation: Option<String> = None;
            let mut empty_pages = 0usize;
            loop {
                let page = store
                    .list_objects_v2(&bucket, &prefix, continuation.as_deref())
                    .await
                    .map_err(store_error)?;
                empty_pages = if page.objects.is_empty() {
                    empty_pages + 1
                } else {
                    0
                };
                for object in page.objects {
                    if items.len() >= take {
                        return Ok(items);
                    }
                    items.push(reader::listed(object));
                }
                match page.next {
                    // A store that pages without progress (the same token again, or page
                    // after page of no keys) would list for ever.
                    Some(next)
                        if empty_pages > MAX_EMPTY_PAGES
                            || continuation.as_deref() == Some(next.as_str()) =>
                    {
                        return Err(failed(format!(
                            "The listing of bucket {bucket} gave a continuation token without progress"
                        )));
                    }
                    Some(next) if items.len() < take => continuation = Some(next),
                    _ => return Ok(items),
                }
            }
        }
        Source::Object(format) => {
            let key = text_argument(&plan.arguments, "Key", errors::ITEM_READER_FAILED)?
                .ok_or_else(|| failed("The ItemReader's Parameters need a Key"))?;
            // A format sfn-local does not read is refused before the object is fetched.
            reader::readable(format)?;
            let bytes = store
                .get_object(&bucket, &key, MAX_OBJECT_BYTES)
                .await
                .map_err(store_error)?;
            reader::parse(format, &bytes, take)
        }
    }
}

/// How items are grouped: `MaxItemsPerBatch`, `MaxInputBytesPerBatch`, `BatchInput`.
struct BatchPlan {
    max_items: usize,
    max_bytes: usize,
    batch_input: Option<Value>,
}

fn batch_plan(
    b: &Batcher,
    ev: &Eval<'_>,
    io: &Io,
    raw: &Arc<Value>,
    effective: &Value,
    states: &crate::jsonata::StatesView<'_>,
) -> Result<BatchPlan, Failure> {
    let positive = |n: Option<i64>, name: &str| -> Result<usize, Failure> {
        match n {
            None => Ok(usize::MAX),
            Some(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Some(n) => Err(io.type_error(format!(
                "The field '{name}' must be a positive integer, found {n}"
            ))),
        }
    };
    let max_items = positive(
        integer(&b.max_items, "MaxItemsPerBatch", ev, io, effective, states)?,
        "MaxItemsPerBatch",
    )?;
    let max_bytes = positive(
        integer(
            &b.max_bytes,
            "MaxInputBytesPerBatch",
            ev,
            io,
            effective,
            states,
        )?,
        "MaxInputBytesPerBatch",
    )?;
    let batch_input = match &b.batch_input {
        Selector::None => None,
        selector => Some(arguments(selector, ev, raw, effective)?),
    };
    Ok(BatchPlan {
        max_items,
        max_bytes: max_bytes.min(errors::MAX_PAYLOAD_BYTES),
        batch_input,
    })
}

impl BatchPlan {
    /// The batches, each `{"BatchInput"?, "Items": […]}`: items in order, a batch closed when
    /// it holds `MaxItemsPerBatch` items or the next item would take it past
    /// `MaxInputBytesPerBatch` (counted as compact JSON).
    fn batches(self, items: Vec<Arc<Value>>) -> Result<Vec<ChildInput>, Failure> {
        let overhead = self
            .batch_input
            .as_ref()
            .map_or(0, |b| serialized_len(b) + 16)
            + 12;
        let mut batches = Vec::new();
        let mut current: Vec<Value> = Vec::new();
        let mut bytes = overhead;
        for item in items {
            let size = serialized_len(&item) + 1;
            if overhead + size > self.max_bytes {
                return Err(failed(format!(
                    "An item of {size} bytes does not fit in a batch of MaxInputBytesPerBatch {} bytes",
                    self.max_bytes
                )));
            }
            if !current.is_empty()
                && (current.len() >= self.max_items || bytes + size > self.max_bytes)
            {
                batches.push(self.batch(std::mem::take(&mut current)));
                bytes = overhead;
            }
            bytes += size;
            current.push(Arc::unwrap_or_clone(item));
        }
        if !current.is_empty() {
            batches.push(self.batch(current));
        }
        Ok(batches)
    }

    /// A batch's input, and how many items it holds.
    fn batch(&self, items: Vec<Value>) -> ChildInput {
        let count = items.len();
        let mut batch = JsonMap::new();
        if let Some(input) = &self.batch_input {
            batch.insert("BatchInput".into(), input.clone());
        }
        batch.insert("Items".into(), Value::Array(items));
        (Arc::new(Value::Object(batch)), count)
    }
}

/// What makes a child's ARNs: `{arns}:execution:{machine}:{name}` (`express:` for EXPRESS
/// children), the machine being `{parent machine}/{label}`.
#[derive(Clone)]
pub(super) struct ChildIds {
    pub arns: String,
    pub machine: String,
    pub express: bool,
}

impl ChildIds {
    fn execution_arn(&self, name: &str) -> String {
        let kind = if self.express { "express" } else { "execution" };
        format!("{}:{kind}:{}:{name}", self.arns, self.machine)
    }

    /// `$$.StateMachine.Id` inside a child, and the `StateMachineArn` of its record.
    pub(super) fn state_machine_arn(&self) -> String {
        format!("{}:stateMachine:{}", self.arns, self.machine)
    }
}

/// What the children did: each one's record in item order, and whether the failures exceeded
/// the tolerance (the Map Run then stopped starting children).
struct Ran {
    children: Vec<ChildExecution>,
    exceeded: bool,
    /// The execution tree reached a limit of its child executions.
    over_budget: Option<OverBudget>,
}

/// Runs a child execution per input, at most `max_concurrency` at once (0: the engine's
/// limit), in item order, stopping when failures exceed the tolerance.
async fn run_children(
    run: &Arc<Run>,
    processor: &Arc<Scope>,
    inputs: Vec<ChildInput>,
    ids: &ChildIds,
    max_concurrency: f64,
    tolerance: Tolerance,
) -> Result<Ran, Failure> {
    let total = inputs.len();
    let limit = if max_concurrency >= 1.0 {
        (max_concurrency as usize).min(limits::MAX_LOCAL_CHILD_CONCURRENCY)
    } else {
        limits::MAX_LOCAL_CHILD_CONCURRENCY
    };
    let shared = Arc::new(Children {
        inputs: inputs.into_iter().map(|i| Mutex::new(Some(i))).collect(),
        next: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        over_budget: Mutex::new(None),
        tolerance,
    });
    let mut set = JoinSet::new();
    for _ in 0..limit.min(total) {
        let worker = ChildWorker {
            run: run.clone(),
            processor: processor.clone(),
            ids: ids.clone(),
            shared: shared.clone(),
        };
        set.spawn(worker.run());
    }
    let mut slots: Vec<Option<ChildExecution>> = (0..total).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        // A worker that panicked would lose its children: the Map Run fails rather than give
        // a shorter result (dropping the set stops the other workers).
        let done = joined.map_err(|e| {
            Failure::runtime(format!(
                "A child execution's worker stopped unexpectedly: {e}"
            ))
        })?;
        for (index, child) in done {
            slots[index] = Some(child);
        }
    }
    Ok(Ran {
        children: slots.into_iter().flatten().collect(),
        exceeded: shared.stop.load(Ordering::SeqCst),
        over_budget: *shared.over_budget.lock().unwrap_or_else(|e| e.into_inner()),
    })
}

/// A child execution's input, and how many items it holds (a batch's size, else 1).
type ChildInput = (Arc<Value>, usize);

/// What the child workers share.
struct Children {
    /// Each child's input and how many items it holds (a batch's size, else 1).
    inputs: Box<[Mutex<Option<ChildInput>>]>,
    next: AtomicUsize,
    /// Failed items so far (a failed batch counts all its items).
    failed: AtomicUsize,
    /// Set when the failures exceed the tolerance: no further child starts.
    stop: AtomicBool,
    /// Set when the execution tree reached one of its [`super::ChildBudget`] limits.
    over_budget: Mutex<Option<OverBudget>>,
    tolerance: Tolerance,
}

impl Children {
    /// Records that a limit of the tree was reached, and starts no further child.
    fn over(&self, limit: OverBudget) {
        self.over_budget
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(limit);
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Which limit of an execution tree's child executions a Map Run reached.
#[derive(Debug, Clone, Copy)]
enum OverBudget {
    /// [`limits::MAX_CHILD_EXECUTIONS`].
    Executions,
    /// [`limits::MAX_CHILD_EXECUTION_BYTES`].
    Bytes,
}

impl OverBudget {
    /// The `States.Runtime` failure that names the limit.
    fn failure(self) -> Failure {
        Failure::runtime(match self {
            OverBudget::Executions => format!(
                "The execution started more than {} child executions in its Map Runs (nested \
                 ones included), the most sfn-local runs for one execution \
                 (sfn_local::limits::MAX_CHILD_EXECUTIONS)",
                limits::MAX_CHILD_EXECUTIONS
            ),
            OverBudget::Bytes => format!(
                "The inputs and outputs of the execution's child executions (nested ones \
                 included) came to more than {} bytes, the most sfn-local keeps for one \
                 execution (sfn_local::limits::MAX_CHILD_EXECUTION_BYTES); a Map Run's results \
                 that large need a ResultWriter on the service too, and smaller outputs here",
                limits::MAX_CHILD_EXECUTION_BYTES
            ),
        })
    }
}

/// Runs children one after another until the inputs run out or the Map Run stops.
struct ChildWorker {
    run: Arc<Run>,
    processor: Arc<Scope>,
    ids: ChildIds,
    shared: Arc<Children>,
}

impl ChildWorker {
    async fn run(self) -> Vec<(usize, ChildExecution)> {
        let mut done = Vec::new();
        loop {
            if self.shared.stop.load(Ordering::SeqCst) {
                return done;
            }
            let index = self.shared.next.fetch_add(1, Ordering::SeqCst);
            let Some(slot) = self.shared.inputs.get(index) else {
                return done;
            };
            let Some((input, items)) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
                return done;
            };
            let budget = &self.run.children;
            if budget.started.fetch_add(1, Ordering::SeqCst) >= limits::MAX_CHILD_EXECUTIONS {
                self.shared.over(OverBudget::Executions);
                return done;
            }
            let mut child = run_child(&self.run, &self.processor, input, &self.ids).await;
            let bytes = serialized_len(&child.input)
                + child.execution.output.as_ref().map_or(0, serialized_len);
            if budget.bytes.fetch_add(bytes, Ordering::SeqCst) + bytes
                > limits::MAX_CHILD_EXECUTION_BYTES
            {
                self.shared.over(OverBudget::Bytes);
                return done;
            }
            // The first children of the tree keep their whole record (in item order within a
            // Map Run; the count is shared with nested ones).
            let kept = index < limits::MAX_KEPT_CHILD_EXECUTIONS
                && budget.kept.fetch_add(1, Ordering::SeqCst) < limits::MAX_KEPT_CHILD_EXECUTIONS;
            if !kept {
                // Not kept in the Map Run's record: only its first and last events stay (the
                // `ResultWriter`'s start and stop dates), so a long run's memory stays flat.
                let history = &mut child.execution.history;
                if history.len() > 2 {
                    let last = history.pop();
                    history.truncate(1);
                    history.extend(last);
                }
                child.execution.map_runs.clear();
            }
            if child.execution.status != ExecutionStatus::Succeeded {
                let failures = self.shared.failed.fetch_add(items, Ordering::SeqCst) + items;
                if self.shared.tolerance.exceeded(failures) {
                    self.shared.stop.store(true, Ordering::SeqCst);
                }
            }
            done.push((index, child));
        }
    }
}

/// One child execution: a run of the Map's processor with a context of its own
/// (`$$.Execution.Id`/`Name`/`Input` the child's, `$$.StateMachine` the Map Run's), its own
/// history, and the parent's handlers, clock and store.
async fn run_child(
    parent: &Arc<Run>,
    processor: &Arc<Scope>,
    input: Arc<Value>,
    ids: &ChildIds,
) -> ChildExecution {
    let name = uuid::Uuid::new_v4().to_string();
    let execution_arn = ids.execution_arn(&name);
    let start = parent.clock.now();
    let run = Arc::new(Run {
        registry: parent.registry.clone(),
        clock: parent.clock.clone(),
        history: History::new(parent.clock.clone(), None, 0),
        tokens: parent.tokens.clone(),
        store: parent.store.clone(),
        arns: parent.arns.clone(),
        machine_name: ids.machine.clone(),
        role: parent.role.clone(),
        map_runs: Mutex::new(Vec::new()),
        children: parent.children.clone(),
        execution: JsonMap::from_iter([
            ("Id".to_owned(), json!(execution_arn)),
            ("Name".to_owned(), json!(name)),
            ("RoleArn".to_owned(), json!(parent.role)),
            ("StartTime".to_owned(), json!(iso(start))),
            ("RedriveCount".to_owned(), json!(0)),
        ]),
        input: input.clone(),
        state_machine: json!({"Id": ids.state_machine_arn(), "Name": ids.machine}),
        deadline: None,
        timed_out: AtomicBool::new(false),
    });
    let (execution, _) = Box::pin(super::run_execution(
        run,
        processor,
        input.clone(),
        name,
        None,
        None,
    ))
    .await;
    ChildExecution {
        execution_arn,
        input: Arc::unwrap_or_clone(input),
        execution,
    }
}
