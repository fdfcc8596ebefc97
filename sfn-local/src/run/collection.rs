//! Map and Parallel: states that run scopes of their own (an iteration per item, a branch
//! each) concurrently and collect their outputs into an array, which then goes through the
//! state's pipeline as its result.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::{Frame, NO_DETAILS, Outcome, Run, run_scope};
use crate::compile::{Map, Node, Parallel, Scope, Selector};
use crate::context::MapItem;
use crate::errors::{self, Failure};
use crate::history::{Details, Field, Mark, Recorder, text};
use crate::jsonata::{self, StatesView};
use crate::pipeline::{Eval, Field as PipelineField, Io, Produced, owned, plain};
use crate::vars::Vars;

/// How many iterations of an inline Map the service runs at once.
const INLINE_MAP_CONCURRENCY: usize = 40;

/// The details of a Map iteration event: `{"name": <Map state>, "index": i}`.
fn iteration(name: &Arc<str>, index: usize) -> Details {
    Details::Fields(smallvec::smallvec![
        ("name", Field::Name(name.clone())),
        ("index", Field::Int(index as u64)),
    ])
}

/// The Map's items from its input: `Items` (JSONata) or `ItemsPath` (JSONPath), the whole
/// effective input without them; anything but an array fails the state.
pub(super) fn input_items(
    map: &Map,
    ev: &Eval<'_>,
    effective: &Arc<Value>,
    states: &StatesView<'_>,
) -> Result<Vec<Value>, Failure> {
    let items = match map.items.evaluate(ev, effective, states, "Items")? {
        Some(items) => items,
        None => (**effective).clone(),
    };
    match items {
        Value::Array(items) => Ok(items),
        items => Err(map.io.type_error(not_an_array(&map.items, &items))),
    }
}

/// An item's input after the Map's `ItemSelector` (or legacy `Parameters`), which reads the
/// item as `$$.Map.Item`, and that `$$.Map.Item`.
pub(super) fn select(
    map: &Map,
    index: usize,
    item: Arc<Value>,
    raw: &Arc<Value>,
    effective: &Value,
    ev: &Eval<'_>,
) -> Result<ItemInput, Failure> {
    let map_item = MapItem {
        index,
        value: item.clone(),
    };
    let input = match &map.selector {
        Selector::None => item,
        selector => {
            let mut context = ev.context.clone();
            context.map_item = Some(map_item.clone());
            let item_ev = Eval {
                vars: ev.vars,
                context,
            };
            Arc::new(match selector {
                Selector::Jsonata(t) => item_ev.jsonata(t, &item_ev.states(raw, None, None))?,
                Selector::JsonPath(t) => item_ev.template(t, effective)?,
                Selector::None => unreachable!("matched above"),
            })
        }
    };
    Ok((input, map_item))
}

/// A Map state (inline): an iteration per item, at most 40 at once.
pub(super) async fn map(
    run: &Arc<Run>,
    node: &Node,
    map: &Map,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
    frame: &mut Frame<'_>,
) -> Result<Outcome, Failure> {
    if let Some(distributed) = &map.distributed {
        return super::distributed::map(run, node, map, distributed, raw, ev, frame).await;
    }
    let io = &map.io;
    let states = ev.states(raw, None, None);
    let effective = io.input(ev, raw)?;
    let items = input_items(map, ev, &effective, &states)?;
    let max_concurrency = max_concurrency(map, ev, &effective, &states)?;
    let mut inputs = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        inputs.push(select(map, index, Arc::new(item), raw, &effective, ev)?);
    }
    let total = inputs.len();
    frame.rec.record(
        "MapStateStarted",
        Some(("mapStateStartedEventDetails", json!({"length": total}))),
    );
    // The service checks the tolerated failures after `MapStateStarted` (recorded in
    // localstack's `test_map_state_tolerated_failure_count_path` snapshots).
    let tolerance = Tolerance {
        count: tolerated(map, false, ev, &effective, &states)?,
        percentage: tolerated(map, true, ev, &effective, &states)?,
        total,
    };
    // The service runs at most 40 iterations of an inline Map at once, fewer when
    // `MaxConcurrency` says so; 0 means as many as it can. A worker runs one iteration at a
    // time and takes the next item when it is done, so items start in order.
    let limit = if max_concurrency >= 1.0 {
        (max_concurrency as usize).min(INLINE_MAP_CONCURRENCY)
    } else {
        INLINE_MAP_CONCURRENCY
    };
    let shared = Arc::new(Iterations {
        items: inputs.into_iter().map(|i| Mutex::new(Some(i))).collect(),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        failed: AtomicUsize::new(0),
        tolerance,
    });
    // One worker runs on this task, the others are spawned: iterations start at once even
    // when the runtime's other threads are slow to wake up.
    let worker = || Worker {
        run: run.clone(),
        processor: map.processor.clone(),
        outer: frame.vars.clone(),
        name: node.name.clone(),
        started_from: frame.rec.last(),
        shared: shared.clone(),
    };
    let mut set = JoinSet::new();
    for _ in 1..limit.min(total) {
        set.spawn(worker().run());
    }
    let mut here = std::pin::pin!(worker().run());
    let mut here_done = false;
    let mut results: Vec<Value> = vec![Value::Null; total];
    let mut texts: Vec<Option<Mark>> = vec![None; total];
    let mut last = frame.rec.last();
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
    let failure = failure.map(|f| {
        // The other workers stop where they are.
        set.abort_all();
        let tolerated = tolerance.count.is_some() || tolerance.percentage.is_some();
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
    frame.rec.continue_from(last);
    if let Some(f) = failure {
        if f.error != errors::RUNTIME {
            frame.collection_failed = Some("MapStateFailed");
        }
        return Err(f);
    }
    // The Succeeded event is passed by: the state's exit follows the last iteration event.
    frame.rec.note("MapStateSucceeded", NO_DETAILS);
    let result = Arc::new(Value::Array(results));
    frame.rec.note_element_texts(&result, texts);
    collected(io, raw, effective, result, ev, map.next)
}

/// A Parallel state: its branches run at once, on the same input.
pub(super) async fn parallel(
    run: &Arc<Run>,
    p: &Parallel,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
    frame: &mut Frame<'_>,
) -> Result<Outcome, Failure> {
    let effective = p.io.input(ev, raw)?;
    let input = p.io.parameters(ev, raw, effective.clone())?;
    frame.rec.record("ParallelStateStarted", NO_DETAILS);
    let start = frame.rec.last();
    let mut set = JoinSet::new();
    for (index, branch) in p.branches.iter().enumerate() {
        let run = run.clone();
        let branch = branch.clone();
        let vars = frame.vars.clone();
        let input = input.clone();
        set.spawn(async move {
            let frame = Frame::nested(&vars, Recorder::new(&run.history, start));
            let outcome = run_scope(&run, &branch, input, frame).await;
            (index, outcome.map(|(output, rec)| (output, rec.last())))
        });
    }
    let mut results = vec![Value::Null; p.branches.len()];
    let mut last = frame.rec.last();
    while let Some(joined) = set.join_next().await {
        let (index, outcome) = joined.map_err(|e| {
            Failure::runtime(format!("A Parallel branch stopped unexpectedly: {e}"))
        })?;
        match outcome {
            Ok((v, branch_last)) => {
                results[index] = owned(v);
                last = last.max(branch_last);
            }
            Err((f, branch_last)) => {
                set.abort_all();
                frame.rec.continue_from(branch_last);
                if f.error != errors::RUNTIME {
                    frame.collection_failed = Some("ParallelStateFailed");
                }
                return Err(f);
            }
        }
    }
    // The Succeeded event is passed by: the state's exit follows the last branch event.
    frame.rec.continue_from(last);
    frame.rec.note("ParallelStateSucceeded", NO_DETAILS);
    let result = Arc::new(Value::Array(results));
    collected(&p.io, raw, effective, result, ev, p.next)
}

/// A Map's or Parallel's output: the collected array as the result, through the pipeline.
pub(super) fn collected(
    io: &Io,
    raw: &Arc<Value>,
    effective: Arc<Value>,
    result: Arc<Value>,
    ev: &Eval<'_>,
    next: Option<usize>,
) -> Result<Outcome, Failure> {
    let (output, assigned) = io.output(ev, raw, effective, Produced::Result(result), &|_| {})?;
    Ok(Outcome {
        output,
        next,
        assigned,
        at_once: false,
    })
}

/// A Map iteration's input and its `$$.Map.Item`.
pub(super) type ItemInput = (Arc<Value>, MapItem);

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
    results: Vec<(usize, Value, Option<Mark>)>,
    last: Mark,
    failure: Option<Failure>,
}

/// One Map worker: runs iterations one after another until the items run out or the Map fails.
struct Worker {
    run: Arc<Run>,
    processor: Arc<Scope>,
    outer: Arc<Vars>,
    name: Arc<str>,
    /// The Map's `MapStateStarted`, which the worker's first iteration's start follows.
    started_from: Mark,
    shared: Arc<Iterations>,
}

impl Worker {
    async fn run(self) -> WorkerDone {
        let Worker {
            run,
            processor,
            outer,
            name,
            started_from,
            shared,
        } = self;
        let mut done = WorkerDone {
            results: Vec::new(),
            last: Mark::NONE,
            failure: None,
        };
        // The service chains an iteration's start to the last event of the iteration before it
        // (the last state's exit, not `MapIterationSucceeded`: localstack's
        // `test_map_state_legacy_config_inline` snapshot); the first follows `MapStateStarted`.
        let mut follows = started_from;
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                return done;
            }
            let index = shared.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = shared.items.get(index) else {
                return done;
            };
            let Some((input, map_item)) = slot.lock().unwrap_or_else(|e| e.into_inner()).take()
            else {
                return done;
            };
            let mut rec = Recorder::new(&run.history, follows);
            rec.record(
                "MapIterationStarted",
                Some(("mapIterationStartedEventDetails", iteration(&name, index))),
            );
            // The iteration's first state enters right after it starts.
            let frame = Frame {
                map_item: Some(map_item),
                ..Frame::nested(&outer, rec)
            };
            let outcome = run_scope(&run, &processor, input, frame).await;
            let details = iteration(&name, index);
            // An iteration's success moves its chain on; its failure is passed by: the Map's
            // own failure follows the iteration's last event. States.Runtime records nothing.
            match outcome {
                Ok((output, mut rec)) => {
                    // The Map's result array takes the output: no copy when the last state's
                    // exit event is its only other holder.
                    let exited = rec.last();
                    let released = rec.release(&[exited], &output);
                    // The iteration succeeds as its last state exits.
                    let succeeded = rec.record_at_once(
                        "MapIterationSucceeded",
                        Some(("mapIterationSucceededEventDetails", details)),
                    );
                    done.last = done.last.max(succeeded);
                    follows = exited;
                    done.results
                        .push((index, owned(output), released.then_some(exited)));
                }
                Err((f, last)) => {
                    let failures = shared.failed.fetch_add(1, Ordering::SeqCst) + 1;
                    if f.error != errors::RUNTIME {
                        Recorder::new(&run.history, last).note(
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
                    follows = last;
                }
            }
        }
    }
}

/// The cause of items that are not an array, as the service words it (recorded in localstack's
/// `test_map_state_items_eval_jsonata_fail` and `test_map_state_items_input_types` snapshots).
fn not_an_array(field: &PipelineField, found: &Value) -> String {
    if let PipelineField::Jsonata(jsonata::Template::Expr(_, expression)) = field {
        let kind = match found {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        format!(
            "The JSONata expression '{}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '{kind}' for value: {}",
            expression.text(),
            text(found)
        )
    } else {
        format!("Map state input must be an array but was: {}", text(found))
    }
}

/// `ToleratedFailureCount` (`percentage` false) or `ToleratedFailurePercentage`, from a
/// literal, an expression or a path. A count must be a non-negative integer, a percentage a
/// number from 0 to 100; otherwise the state fails, with `States.Runtime` in JSONPath, worded as
/// the service words it.
pub(super) fn tolerated(
    map: &Map,
    percentage: bool,
    ev: &Eval<'_>,
    input: &Value,
    states: &StatesView<'_>,
) -> Result<Option<f64>, Failure> {
    let (field, name) = if percentage {
        (&map.tolerated_percentage, "ToleratedFailurePercentage")
    } else {
        (&map.tolerated_count, "ToleratedFailureCount")
    };
    let Some(n) = map_number(&map.io, field, name, percentage, ev, input, states)? else {
        return Ok(None);
    };
    if percentage && !(0.0..=100.0).contains(&n) {
        return Err(map
            .io
            .type_error(format!("{name} must be between 0 and 100.")));
    }
    if !percentage && n < 0.0 {
        return Err(map.io.type_error(format!("{name} cannot be negative.")));
    }
    Ok(Some(n))
}

/// A Map's number field (`MaxConcurrency`, `ToleratedFailureCount`, a `float` one:
/// `ToleratedFailurePercentage`). What its `…Path` selects is read as the service reads it,
/// from its text: a number, or a string that reads as one (`"1"`, recorded in localstack's
/// `test_reference_in_map_state`); anything else fails the state with `States.Runtime`, "The
/// MaxConcurrencyPath field refers to value "NoNumber" which is not a valid integer:
/// $.MaxConcurrencyValue" (`test_max_concurrency_path`).
fn map_number(
    io: &Io,
    field: &PipelineField,
    name: &str,
    float: bool,
    ev: &Eval<'_>,
    input: &Value,
    states: &StatesView<'_>,
) -> Result<Option<f64>, Failure> {
    if let Some((path, Some(value))) = field.select_path(ev, input)? {
        let text = plain(&value);
        let n = if float {
            text.parse::<f64>().ok().filter(|n| n.is_finite())
        } else {
            text.parse::<i64>().ok().map(|n| n as f64)
        };
        return match n {
            Some(n) => Ok(Some(n)),
            None => Err(Failure::runtime(format!(
                "The {name}Path field refers to value \"{text}\" which is not a valid {}: {path}",
                if float { "float" } else { "integer" }
            ))),
        };
    }
    // A literal, an expression, or a path that matches nothing (which fails here).
    field.number(ev, io, input, states, name)
}

/// A `…Path` value read as an integer: a JSON integer, or a string that holds one (the service
/// reads a variable assigned `"1"` as 1: localstack's
/// `test_reference_in_map_state[MAP_STATE_REFERENCE_IN_TOLERATED_FAILURE_PATH]`, recorded).
pub(super) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// `MaxConcurrency` (0 when absent): a literal, an expression, or `MaxConcurrencyPath`, read as
/// [`map_number`] reads it.
pub(super) fn max_concurrency(
    map: &Map,
    ev: &Eval<'_>,
    input: &Value,
    states: &StatesView<'_>,
) -> Result<f64, Failure> {
    let n = map_number(
        &map.io,
        &map.max_concurrency,
        "MaxConcurrency",
        false,
        ev,
        input,
        states,
    )?;
    // A literal below 0 is refused at load; a path or an expression is checked here, in the
    // words localstack's model of the service uses (no recording found).
    match n {
        Some(n) if n < 0.0 => Err(Failure::runtime(format!(
            "Expected non-negative integer for MaxConcurrency, got '{n}' instead."
        ))),
        n => Ok(n.unwrap_or(0.0)),
    }
}

/// How many failed items a Map tolerates.
#[derive(Clone, Copy)]
pub(super) struct Tolerance {
    pub count: Option<f64>,
    pub percentage: Option<f64>,
    pub total: usize,
}

impl Tolerance {
    /// Whether `failures` failed items are more than tolerated (any, when nothing is tolerated).
    pub(super) fn exceeded(&self, failures: usize) -> bool {
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
