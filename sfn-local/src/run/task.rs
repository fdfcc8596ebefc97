//! Task states: the parameters through the pipeline, the resource called (an in-process
//! handler, a Lambda emulator, a registered resource), `.waitForTaskToken`, `TimeoutSeconds`,
//! and the task's events as the service writes them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{Frame, Outcome, Run, error_details};
use crate::clock::Clock;
use crate::compile::{Kind, Node, Scope, Selector, Task};
use crate::errors::{self, Failure, check_size};
use crate::history::{Details, Field, Fields, Recorder, not_truncated, text};
use crate::pipeline::{Eval, Produced};
use crate::registry::{Registry, TaskError, TaskKind, TaskResource, lambda_invoke_result};
use crate::tokens::Waiting;

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

/// Resolves every Task resource of a scope (and of the Maps and Parallels in it) against the
/// registry, once, when the engine is made.
pub(super) fn resolve(scope: &Scope, registry: &Registry) {
    for node in &scope.states {
        match &node.kind {
            Kind::Task(task) => {
                task.resolved
                    .get_or_init(|| TaskResource::new(&task.resource, registry));
            }
            Kind::Map(map) => resolve(&map.processor, registry),
            Kind::Parallel(p) => p.branches.iter().for_each(|b| resolve(b, registry)),
            _ => {}
        }
    }
}

/// One attempt of a Task state.
pub(super) async fn run(
    run: &Arc<Run>,
    node: &Node,
    task: &Task,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
    frame: &mut Frame<'_>,
    retry: u64,
) -> Result<Outcome, Failure> {
    let resolved;
    let resource = match task.resolved.get() {
        Some(r) => r,
        None => {
            resolved = TaskResource::new(&task.resource, &run.registry);
            &resolved
        }
    };
    // A `.waitForTaskToken` task's token is in `$$.Task.Token`.
    let token = task
        .resource
        .ends_with(".waitForTaskToken")
        .then(|| run.tokens.issue());
    let mut context = ev.context.clone();
    context.token = token.as_ref().map(|(t, _)| t.clone());
    let ev = Eval {
        vars: ev.vars,
        context,
    };
    let prepared = (|| {
        let effective = task.io.input(&ev, raw)?;
        let states = ev.states(raw, None, None);
        let timeout = task
            .timeout
            .number(&ev, &task.io, &effective, &states, "TimeoutSeconds")?;
        let heartbeat =
            task.heartbeat
                .number(&ev, &task.io, &effective, &states, "HeartbeatSeconds")?;
        let params = task.io.parameters(&ev, raw, effective.clone())?;
        let credentials = match &task.credentials {
            Selector::None => None,
            Selector::Jsonata(t) => Some(ev.jsonata(t, &states)?),
            Selector::JsonPath(t) => Some(ev.template(t, &effective)?),
        };
        Ok((effective, params, timeout, heartbeat, credentials))
    })();
    let (effective, params, timeout, heartbeat, credentials) = match prepared {
        Ok(p) => p,
        Err(f) => {
            if let Some((t, _)) = &token {
                run.tokens.forget(t);
            }
            return Err(f);
        }
    };
    let events = Events::of(resource);
    events.scheduled(
        &mut frame.rec,
        &params,
        timeout,
        heartbeat,
        credentials,
        retry,
    );
    let (token, waiting) = match token {
        Some((t, w)) => (Some(t), Some(w)),
        None => (None, None),
    };
    let work = async {
        let result = call(run, node, task, resource, &params).await?;
        let Some(waiting) = waiting else {
            return Ok(result);
        };
        // The resource answered; the task now waits for its token.
        frame.rec.record(
            "TaskSubmitted",
            Some((
                "taskSubmittedEventDetails",
                events.base(json!({"output": text(&result), "outputDetails": not_truncated()})),
            )),
        );
        match heartbeat {
            Some(seconds) if seconds > 0.0 => {
                let interval = Duration::from_secs_f64(seconds.min(1.0e9));
                beating(&*run.clock, waiting, interval).await
            }
            _ => completed(waiting.outcome.await.ok()),
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
    if let Some(t) = &token {
        run.tokens.forget(t);
    }
    let result = outcome.and_then(|r| {
        check_size(&r, "task result")?;
        Ok(Arc::new(r))
    });
    let result = events.concluded(&mut frame.rec, result)?;
    let rec = &frame.rec;
    let (output, assigned) = task.io.output(
        &ev,
        raw,
        effective,
        Produced::Result(result),
        // ResultPath puts the result inside the input: the succeeded event lets it go.
        &|selected| {
            rec.release(&[rec.last()], selected);
        },
    )?;
    Ok(Outcome {
        output,
        next: task.next,
        assigned,
        // The exit follows the result with no wait.
        at_once: true,
    })
}

/// Waits on a task token while heartbeats keep coming: each SendTaskHeartbeat starts
/// `interval` again, and none within it times the task out. The service records that as a
/// `TaskTimedOut` with `States.Timeout` and no cause (localstack's `test_heartbeats` snapshots,
/// recorded on the service), not `States.HeartbeatTimeout`.
async fn beating(
    clock: &dyn Clock,
    waiting: Waiting,
    interval: Duration,
) -> Result<Value, Failure> {
    let Waiting {
        mut outcome,
        heartbeat,
    } = waiting;
    loop {
        tokio::select! {
            r = &mut outcome => return completed(r.ok()),
            _ = heartbeat.notified() => {}
            _ = clock.timeout(interval) => return Err(Failure::new(errors::TIMEOUT, "")),
        }
    }
}

/// How a token's task ended: SendTaskSuccess, SendTaskFailure, or its token dropped.
fn completed(outcome: Option<Result<Value, TaskError>>) -> Result<Value, Failure> {
    match outcome {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(Failure::from(e)),
        None => Err(Failure::runtime(
            "The task token was dropped before it was completed",
        )),
    }
}

/// Calls the task's resource with its parameters.
async fn call(
    run: &Run,
    node: &Node,
    task: &Task,
    resource: &TaskResource,
    params: &Arc<Value>,
) -> Result<Value, Failure> {
    let registry = &run.registry;
    Ok(match resource.kind {
        TaskKind::LambdaInvoke => {
            let function = params
                .get("FunctionName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    Failure::runtime(format!(
                        "The task '{}' calls {} without a FunctionName",
                        node.name, task.resource
                    ))
                })?;
            let payload = params.get("Payload").cloned().unwrap_or_else(|| json!({}));
            let out = registry.invoke_lambda(function, Arc::new(payload)).await?;
            // Measured before it is walked for its length: an in-process handler's value may
            // nest without bound.
            check_size(&out, "task result")?;
            lambda_invoke_result(out, run.clock.now())
        }
        TaskKind::LambdaArn => {
            registry
                .invoke_target(resource.lambda.as_ref(), &task.resource, params.clone())
                .await?
        }
        TaskKind::Resource => {
            registry
                .invoke_resource(&task.resource, params.clone())
                .await?
        }
    })
}

/// The events a task writes: `Task…` with `resourceType` and `resource`, or `LambdaFunction…`
/// for a Lambda function ARN as the resource.
struct Events<'r> {
    resource: &'r TaskResource,
    lambda: bool,
    names: &'static [(&'static str, &'static str); 5],
}

impl<'r> Events<'r> {
    fn of(resource: &'r TaskResource) -> Self {
        let lambda = resource.kind == TaskKind::LambdaArn;
        Events {
            resource,
            lambda,
            names: if lambda { &LAMBDA_EVENTS } else { &TASK_EVENTS },
        }
    }

    /// `{"resourceType", "resource", …extra}` (Lambda events have no resource fields).
    fn base(&self, extra: Value) -> Value {
        let mut m = Map::new();
        if !self.lambda {
            m.insert("resourceType".into(), json!(&*self.resource.resource_type));
            m.insert("resource".into(), json!(&*self.resource.resource_name));
        }
        if let Value::Object(e) = extra {
            m.extend(e);
        }
        Value::Object(m)
    }

    /// Scheduled and Started. A first attempt is scheduled with no wait after the state's
    /// entry; a retry, after its back-off. Started comes right after Scheduled.
    fn scheduled(
        &self,
        rec: &mut Recorder<'_>,
        params: &Arc<Value>,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        credentials: Option<Value>,
        retry: u64,
    ) {
        let r = self.resource;
        let mut fields: Fields = if self.lambda {
            smallvec::smallvec![
                ("resource", Field::Name(r.resource.clone())),
                ("input", Field::Payload(params.clone())),
                ("inputDetails", Field::NotTruncated),
            ]
        } else {
            smallvec::smallvec![
                ("resourceType", Field::Name(r.resource_type.clone())),
                ("resource", Field::Name(r.resource_name.clone())),
                ("region", Field::Str("us-east-1")),
                ("parameters", Field::Payload(params.clone())),
            ]
        };
        if let Some(t) = timeout {
            fields.push(("timeoutInSeconds", Field::Int(t as u64)));
        }
        // Lambda's own scheduled event has no heartbeat.
        if let Some(h) = heartbeat.filter(|_| !self.lambda) {
            fields.push(("heartbeatInSeconds", Field::Int(h as u64)));
        }
        if let Some(credentials) = credentials {
            fields.push((
                "taskCredentials",
                Field::Value(Box::new(task_credentials(credentials))),
            ));
        }
        let scheduled = Some((self.names[0].1, Details::Fields(fields)));
        if retry == 0 {
            rec.record_at_once(self.names[0].0, scheduled);
        } else {
            rec.record(self.names[0].0, scheduled);
        }
        rec.record_at_once(
            self.names[1].0,
            (!self.lambda).then(|| ("taskStartedEventDetails", self.base(json!({})))),
        );
    }

    /// Succeeded with the result, or Failed/TimedOut with the error.
    fn concluded(
        &self,
        rec: &mut Recorder<'_>,
        result: Result<Arc<Value>, Failure>,
    ) -> Result<Arc<Value>, Failure> {
        match result {
            Ok(result) => {
                let mut details = Fields::new();
                if !self.lambda {
                    details.push((
                        "resourceType",
                        Field::Name(self.resource.resource_type.clone()),
                    ));
                    details.push(("resource", Field::Name(self.resource.resource_name.clone())));
                }
                details.push(("output", Field::Payload(result.clone())));
                details.push(("outputDetails", Field::NotTruncated));
                rec.record(
                    self.names[2].0,
                    Some((self.names[2].1, Details::Fields(details))),
                );
                Ok(result)
            }
            Err(f) => {
                let (event, key) = if f.error == errors::TIMEOUT {
                    self.names[4]
                } else {
                    self.names[3]
                };
                let details = if self.lambda {
                    error_details(&f)
                } else {
                    self.base(error_details(&f))
                };
                rec.record(event, Some((key, details)));
                Err(f)
            }
        }
    }
}

/// `Credentials` as the scheduled event shows them: `{"RoleArn": …}` becomes
/// `{"roleArn": …}` (localstack's `test_credentials_base` snapshots, recorded on the service).
fn task_credentials(credentials: Value) -> Value {
    match credentials {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let mut chars = key.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => key,
                    };
                    (key, value)
                })
                .collect(),
        ),
        other => other,
    }
}
