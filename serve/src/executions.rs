//! The execution actions: StartExecution, StartSyncExecution, DescribeExecution,
//! ListExecutions, GetExecutionHistory and StopExecution; and the life of a running execution,
//! from its start to the store.

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Value, json};
use sfn_local::{Engine, Execution, ExecutionOptions, HistoryEvent};
use tokio::task::AbortHandle;

use crate::arn::check_name;
use crate::error::ApiError;
use crate::machines::find;
use crate::protocol::{decode, epoch, json_text, next_token, now, page_size, page_start, required};
use crate::service::Service;
use crate::store::{Ending, ExecutionRecord, MachineRecord};

/// An execution that runs now: its events so far, and how to stop it.
pub(crate) struct Running {
    /// The events so far, in GetExecutionHistory shape (the engine's listener appends them).
    pub(crate) events: Arc<Mutex<Vec<Value>>>,
    abort: Option<AbortHandle>,
    input: String,
    start: f64,
    /// Set by whoever closes it first (its end, or StopExecution); the other then does nothing.
    closing: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartRequest {
    state_machine_arn: Option<String>,
    name: Option<String>,
    input: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnRequest {
    execution_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListRequest {
    state_machine_arn: Option<String>,
    status_filter: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryRequest {
    execution_arn: Option<String>,
    max_results: Option<i64>,
    reverse_order: Option<bool>,
    next_token: Option<String>,
    include_execution_data: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopRequest {
    execution_arn: Option<String>,
    error: Option<String>,
    cause: Option<String>,
}

/// A history event as GetExecutionHistory returns it over the wire (the timestamp in seconds).
pub(crate) fn event_json(event: &HistoryEvent) -> Value {
    let mut value = event.to_json();
    value["timestamp"] = json!(epoch(event.timestamp));
    value
}

/// The name, input text and input of a start request, checked.
fn start_request(
    service: &Service,
    body: &[u8],
) -> Result<(MachineRecord, String, String, Value), ApiError> {
    let request: StartRequest = decode(body)?;
    let machine = find(
        service,
        required(&request.state_machine_arn, "stateMachineArn")?,
    )?;
    let name = request
        .name
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    check_name(&name, 80)?;
    let text = request.input.unwrap_or_else(|| "{}".to_owned());
    let input = json_text(&text, "the input").map_err(ApiError::invalid_execution_input)?;
    Ok((machine, name, text, input))
}

/// The engine of one execution of `machine`.
fn engine(service: &Service, machine: &MachineRecord) -> Result<Engine, ApiError> {
    let parsed = sfn_local::Machine::from_json(&machine.definition).map_err(|e| {
        ApiError::invalid_definition(format!("the stored definition does not load: {e}"))
    })?;
    let value: Value = serde_json::from_str(&machine.definition).unwrap_or(Value::Null);
    Ok(Engine::new(parsed, service.registry(machine, &value))
        .with_task_tokens(service.tokens.clone()))
}

/// The options of an execution: its name, its machine's name and role, and the region and
/// account of the server's ARNs (so `$$.Execution.Id` is the ARN the API returns).
fn options(service: &Service, machine: &MachineRecord, name: &str) -> ExecutionOptions {
    ExecutionOptions {
        name: Some(name.to_owned()),
        state_machine_name: Some(machine.name.clone()),
        role_arn: Some(machine.role_arn.clone()),
        region: Some(service.config.arns.region.clone()),
        account: Some(service.config.arns.account.clone()),
    }
}

/// StartExecution: runs in the background. The same name and input as an execution that still
/// runs answers with that execution; a closed one, or another input, is `ExecutionAlreadyExists`.
pub(crate) fn start(service: &Arc<Service>, body: &[u8]) -> Result<Value, ApiError> {
    let (machine, name, text, input) = start_request(service, body)?;
    let arn = service.config.arns.execution(&machine.name, &name);
    let mut running = service.running();
    if let Some(run) = running.get(&arn) {
        if run.input == text {
            return Ok(json!({"executionArn": arn, "startDate": run.start}));
        }
        return Err(already_exists(&arn));
    }
    if service.store.execution(&arn)?.is_some() {
        return Err(already_exists(&arn));
    }
    if running.len() >= service.config.max_running_executions {
        return Err(ApiError::execution_limit_exceeded(format!(
            "Execution Limit Exceeded: {} executions run already",
            running.len()
        )));
    }
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    let engine = engine(service, &machine)?.with_listener(Arc::new(move |event| {
        sink.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event_json(event));
    }));
    let start = now();
    service.store.insert_execution(&ExecutionRecord {
        arn: arn.clone(),
        machine_arn: machine.arn.clone(),
        name: name.clone(),
        status: "RUNNING".to_owned(),
        input: text.clone(),
        output: None,
        error: None,
        cause: None,
        start,
        stop: None,
    })?;
    let options = options(service, &machine, &name);
    let task = {
        let service = Arc::clone(service);
        let arn = arn.clone();
        tokio::spawn(async move {
            let execution = engine.execute(input, options).await;
            finish(&service, &arn, &execution).await;
        })
    };
    running.insert(
        arn.clone(),
        Running {
            events,
            abort: Some(task.abort_handle()),
            input: text,
            start,
            closing: false,
        },
    );
    Ok(json!({"executionArn": arn, "startDate": start}))
}

fn already_exists(arn: &str) -> ApiError {
    ApiError::execution_already_exists(format!("Execution Already Exists: '{arn}'"))
}

/// Marks a running execution as closing; `false` if it is not running or closes already.
fn claim(service: &Service, arn: &str) -> bool {
    match service.running().get_mut(arn) {
        Some(run) if !run.closing => {
            run.closing = true;
            true
        }
        _ => false,
    }
}

/// Stores an execution that ended, then forgets it as running.
async fn finish(service: &Arc<Service>, arn: &str, execution: &Execution) {
    if !claim(service, arn) {
        return;
    }
    let events: Vec<Value> = execution.history.iter().map(event_json).collect();
    let output = execution.output.as_ref().map(Value::to_string);
    let stored = close(
        service,
        arn,
        Ending {
            status: execution.status.as_str().to_owned(),
            output,
            error: execution.error.clone(),
            cause: execution.cause.clone(),
            stop: now(),
            events,
        },
    )
    .await;
    if let Err(error) = stored {
        eprintln!("sfn-agent serve: execution {arn} could not be stored: {error}");
    }
}

/// Writes an execution's end to the store (off the async threads), then forgets it as running.
async fn close(service: &Arc<Service>, arn: &str, ending: Ending) -> Result<(), ApiError> {
    let stored = {
        let service = Arc::clone(service);
        let arn = arn.to_owned();
        tokio::task::spawn_blocking(move || service.store.finish_execution(&arn, &ending))
            .await
            .unwrap_or_else(|e| {
                Err(ApiError::internal(format!(
                    "the store's writer failed: {e}"
                )))
            })
    };
    service.running().remove(arn);
    stored
}

/// StartSyncExecution: an Express machine's execution, run to its end before the answer (not
/// stored, as the service keeps no history of Express executions).
pub(crate) async fn start_sync(service: &Arc<Service>, body: &[u8]) -> Result<Value, ApiError> {
    let (machine, name, text, input) = start_request(service, body)?;
    if machine.kind != "EXPRESS" {
        return Err(ApiError::state_machine_type_not_supported(
            "This operation is not supported by this type of state machine",
        ));
    }
    let engine = engine(service, &machine)?;
    let start = now();
    let execution = engine
        .execute(input, options(service, &machine, &name))
        .await;
    let stop = now();
    let mut response = json!({
        "executionArn": service.config.arns.express_execution(&machine.name, &name),
        "stateMachineArn": machine.arn,
        "name": name,
        "startDate": start,
        "stopDate": stop,
        "status": execution.status.as_str(),
        "input": text,
        "inputDetails": {"included": true},
        "billingDetails": {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": (((stop - start) * 1000.0).ceil() as i64).max(100),
        },
    });
    if let Some(output) = &execution.output {
        response["output"] = json!(output.to_string());
        response["outputDetails"] = json!({"included": true});
    }
    if let Some(error) = &execution.error {
        response["error"] = json!(error);
    }
    if let Some(cause) = &execution.cause {
        response["cause"] = json!(cause);
    }
    Ok(response)
}

fn find_execution(service: &Service, arn: &str) -> Result<ExecutionRecord, ApiError> {
    service.config.arns.check_execution(arn)?;
    service.store.execution(arn)?.ok_or_else(|| {
        ApiError::execution_does_not_exist(format!("Execution Does Not Exist: '{arn}'"))
    })
}

/// DescribeExecution.
pub(crate) fn describe(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: ArnRequest = decode(body)?;
    let record = find_execution(service, required(&request.execution_arn, "executionArn")?)?;
    let mut response = json!({
        "executionArn": record.arn,
        "stateMachineArn": record.machine_arn,
        "name": record.name,
        "status": record.status,
        "startDate": record.start,
        "input": record.input,
        "inputDetails": {"included": true},
        "redriveCount": 0,
        "redriveStatus": "NOT_REDRIVABLE",
    });
    if let Some(stop) = record.stop {
        response["stopDate"] = json!(stop);
    }
    if let Some(output) = record.output {
        response["output"] = json!(output);
        response["outputDetails"] = json!({"included": true});
    }
    if let Some(error) = record.error {
        response["error"] = json!(error);
    }
    if let Some(cause) = record.cause {
        response["cause"] = json!(cause);
    }
    Ok(response)
}

/// ListExecutions: a machine's executions, newest first, paginated, optionally by status.
pub(crate) fn list(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: ListRequest = decode(body)?;
    let machine = find(
        service,
        required(&request.state_machine_arn, "stateMachineArn")?,
    )?;
    if let Some(status) = &request.status_filter
        && ![
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "TIMED_OUT",
            "ABORTED",
            "PENDING_REDRIVE",
        ]
        .contains(&status.as_str())
    {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{status}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE]"
        )));
    }
    let size = page_size(request.max_results, 100)?;
    let start = page_start(request.next_token.as_deref())?;
    let mut records = service.store.executions(
        Some(&machine.arn),
        request.status_filter.as_deref(),
        start,
        size + 1,
    )?;
    let more = records.len() > size;
    records.truncate(size);
    let listed: Vec<Value> = records
        .into_iter()
        .map(|r| {
            let mut item = json!({
                "executionArn": r.arn,
                "stateMachineArn": r.machine_arn,
                "name": r.name,
                "status": r.status,
                "startDate": r.start,
            });
            if let Some(stop) = r.stop {
                item["stopDate"] = json!(stop);
            }
            item
        })
        .collect();
    let mut response = json!({ "executions": listed });
    if more {
        response["nextToken"] = json!(next_token(start + size));
    }
    Ok(response)
}

/// GetExecutionHistory: paginated, in order or reversed, with or without the payloads.
pub(crate) fn history(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: HistoryRequest = decode(body)?;
    let arn = required(&request.execution_arn, "executionArn")?;
    find_execution(service, arn)?;
    let size = page_size(request.max_results, 100)?;
    let start = page_start(request.next_token.as_deref())?;
    let reverse = request.reverse_order.unwrap_or(false);
    let live = service.running().get(arn).map(|r| Arc::clone(&r.events));
    let mut events = match live {
        Some(events) => {
            let events = events.lock().unwrap_or_else(|e| e.into_inner());
            let ordered: Box<dyn Iterator<Item = &Value>> = if reverse {
                Box::new(events.iter().rev())
            } else {
                Box::new(events.iter())
            };
            ordered.skip(start).take(size + 1).cloned().collect()
        }
        None => service.store.events(arn, start, size + 1, reverse)?,
    };
    let more = events.len() > size;
    events.truncate(size);
    if request.include_execution_data == Some(false) {
        for event in &mut events {
            strip_data(event);
        }
    }
    let mut response = json!({ "events": events });
    if more {
        response["nextToken"] = json!(next_token(start + size));
    }
    Ok(response)
}

/// Removes the payloads (input, output, parameters) from an event's details.
fn strip_data(event: &mut Value) {
    if let Some(map) = event.as_object_mut() {
        for (key, details) in map.iter_mut() {
            if key.ends_with("EventDetails")
                && let Some(details) = details.as_object_mut()
            {
                for field in ["input", "output", "parameters"] {
                    details.remove(field);
                }
            }
        }
    }
}

/// How long StopExecution waits for an aborted run to be dropped: `STOP_WAIT_STEPS` steps of
/// `STOP_WAIT_STEP` (a run is dropped at its next await, far sooner).
const STOP_WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(2);
const STOP_WAIT_STEPS: usize = 1_000;

/// StopExecution: aborts a running execution and records `ExecutionAborted`.
/// Its tasks' task tokens are forgotten (`TaskDoesNotExist` after).
pub(crate) async fn stop(service: &Arc<Service>, body: &[u8]) -> Result<Value, ApiError> {
    let request: StopRequest = decode(body)?;
    let arn = required(&request.execution_arn, "executionArn")?;
    let record = find_execution(service, arn)?;
    if !claim(service, arn) {
        // Closed already (or closing now): nothing to stop.
        return Ok(json!({"stopDate": record.stop.unwrap_or_else(now)}));
    }
    let (abort, events) = {
        let running = service.running();
        match running.get(arn) {
            Some(run) => (run.abort.clone(), Arc::clone(&run.events)),
            None => return Ok(json!({"stopDate": now()})),
        }
    };
    if let Some(abort) = abort {
        abort.abort();
        // Once the run is dropped, its tasks waiting on a token no longer wait: their tokens
        // are forgotten, so SendTask* and heartbeats on them answer `TaskDoesNotExist`.
        for _ in 0..STOP_WAIT_STEPS {
            if abort.is_finished() {
                break;
            }
            tokio::time::sleep(STOP_WAIT_STEP).await;
        }
        service.tokens.forget_abandoned();
    }
    let stop = now();
    let mut events = events.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let last = events.last().and_then(|e| e["id"].as_u64()).unwrap_or(0);
    let mut details = serde_json::Map::new();
    if let Some(error) = &request.error {
        details.insert("error".into(), json!(error));
    }
    if let Some(cause) = &request.cause {
        details.insert("cause".into(), json!(cause));
    }
    events.push(json!({
        "timestamp": stop,
        "type": "ExecutionAborted",
        "id": last + 1,
        "previousEventId": last,
        "executionAbortedEventDetails": details,
    }));
    let ending = Ending {
        status: "ABORTED".to_owned(),
        output: None,
        error: request.error,
        cause: request.cause,
        stop,
        events,
    };
    close(service, arn, ending).await?;
    Ok(json!({ "stopDate": stop }))
}
