//! A distributed Map's `ResultWriter`: the children's results, shaped by `WriterConfig`
//! (`Transformation` NONE, COMPACT or FLATTEN; `OutputType` JSON or JSONL), written to the
//! store as the developer guide's "ResultWriter" page describes (`{Prefix}/{map run id}/`
//! `manifest.json` and `SUCCEEDED_0.json`, `FAILED_0.json`, `PENDING_0.json`), or, with a
//! `WriterConfig` alone, given as the state's result.

use serde_json::{Value, json};

use super::distributed::{ChildIds, output_of, text_argument};
use super::{ChildExecution, ExecutionStatus, Run};
use crate::compile::{Transformation, Writer};
use crate::errors::{self, Failure};
use crate::history::text;

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(errors::RESULT_WRITER_FAILED, cause)
}

/// Writes the results (when the writer has a `Resource`), and gives the Map's result:
/// `{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}` when written, the transformed
/// results otherwise.
pub(super) async fn write(
    run: &Run,
    writer: &Writer,
    arguments: Option<Value>,
    map_run_arn: &str,
    run_id: &str,
    children: &[ChildExecution],
    ids: &ChildIds,
) -> Result<Value, Failure> {
    let Some(arguments) = arguments else {
        return Ok(Value::Array(transformed(
            writer.transformation,
            children,
            ids,
        )));
    };
    let Some(store) = &run.store else {
        return Err(failed(
            "sfn-local has no object store to write the ResultWriter's files: give the engine \
             one (Engine::with_object_store), or run `sfn-agent exec` with --s3-dir DIR or \
             --s3-endpoint URL",
        ));
    };
    let bucket = text_argument(&arguments, "Bucket", errors::RESULT_WRITER_FAILED)?
        .ok_or_else(|| failed("The ResultWriter's Parameters need a Bucket"))?;
    let prefix =
        text_argument(&arguments, "Prefix", errors::RESULT_WRITER_FAILED)?.unwrap_or_default();
    let folder = if prefix.is_empty() {
        run_id.to_owned()
    } else {
        format!("{}/{run_id}", prefix.trim_end_matches('/'))
    };
    let extension = if writer.json_lines { "jsonl" } else { "json" };
    let (succeeded, failed_children): (Vec<&ChildExecution>, Vec<&ChildExecution>) = children
        .iter()
        .partition(|c| c.execution.status == ExecutionStatus::Succeeded);
    let mut files = serde_json::Map::new();
    for (status, entries) in [
        (
            "SUCCEEDED",
            transformed(writer.transformation, succeeded, ids),
        ),
        (
            "FAILED",
            failed_children.iter().map(|c| record(c, ids)).collect(),
        ),
        ("PENDING", Vec::new()),
    ] {
        let mut listed = Vec::new();
        if !entries.is_empty() {
            let key = format!("{folder}/{status}_0.{extension}");
            let body = if writer.json_lines {
                entries.iter().map(|e| text(e) + "\n").collect::<String>()
            } else {
                text(&Value::Array(entries))
            };
            let size = body.len();
            store
                .put_object(&bucket, &key, body.into_bytes())
                .await
                .map_err(|e| failed(e.to_string()))?;
            listed.push(json!({"Key": key, "Size": size}));
        }
        files.insert(status.into(), Value::Array(listed));
    }
    let manifest_key = format!("{folder}/manifest.json");
    let manifest = json!({
        "DestinationBucket": bucket,
        "MapRunArn": map_run_arn,
        "ResultFiles": Value::Object(files),
    });
    store
        .put_object(&bucket, &manifest_key, text(&manifest).into_bytes())
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(json!({
        "MapRunArn": map_run_arn,
        "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key},
    }))
}

/// The children's entries as `transformation` makes them: records (NONE) or outputs (COMPACT,
/// FLATTEN); a failed child's record is kept as it is, as the developer guide says. What a
/// `WriterConfig` alone gives the state, and the `SUCCEEDED` file's entries.
fn transformed<'a>(
    transformation: Transformation,
    children: impl IntoIterator<Item = &'a ChildExecution>,
    ids: &ChildIds,
) -> Vec<Value> {
    let entry = |c: &ChildExecution| match (transformation, c.execution.status) {
        (Transformation::None, _) => record(c, ids),
        (_, ExecutionStatus::Succeeded) => output_of(c),
        _ => record(c, ids),
    };
    let entries = children.into_iter().map(entry);
    match transformation {
        Transformation::Flatten => flatten(entries),
        _ => entries.collect(),
    }
}

fn flatten(values: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::Array(items) => out.extend(items),
            other => out.push(other),
        }
    }
    out
}

/// A child's record as the service writes it in `SUCCEEDED_n.json`/`FAILED_n.json`.
fn record(child: &ChildExecution, ids: &ChildIds) -> Value {
    let execution = &child.execution;
    let time =
        |event: Option<&crate::HistoryEvent>| event.map(|e| json!(crate::clock::iso(e.timestamp)));
    let mut entry = serde_json::Map::new();
    entry.insert("ExecutionArn".into(), json!(child.execution_arn));
    entry.insert("Input".into(), json!(text(&child.input)));
    entry.insert("InputDetails".into(), json!({"Included": true}));
    entry.insert("Name".into(), json!(execution.name));
    match (&execution.output, execution.status) {
        (Some(output), ExecutionStatus::Succeeded) => {
            entry.insert("Output".into(), json!(text(output)));
            entry.insert("OutputDetails".into(), json!({"Included": true}));
        }
        _ => {
            entry.insert(
                "Error".into(),
                json!(execution.error.clone().unwrap_or_default()),
            );
            entry.insert(
                "Cause".into(),
                json!(execution.cause.clone().unwrap_or_default()),
            );
        }
    }
    entry.insert("RedriveCount".into(), json!(0));
    if let Some(start) = time(execution.history.first()) {
        entry.insert("StartDate".into(), start);
    }
    entry.insert("StateMachineArn".into(), json!(ids.state_machine_arn()));
    entry.insert("Status".into(), json!(execution.status.as_str()));
    if let Some(stop) = time(execution.history.last()) {
        entry.insert("StopDate".into(), stop);
    }
    Value::Object(entry)
}
