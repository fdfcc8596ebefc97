//! The conformance suite: every case in `tests/conformance/*.json` (the format is described in
//! `tests/conformance/README.md`) runs on the engine with an instant clock, and every mismatch
//! is reported at the end, with the case's name, where its expectation comes from, what was
//! expected and what the engine did.
//!
//! `CONFORMANCE_FILTER=<substring>` runs only the cases whose name contains it;
//! `CONFORMANCE_DIR=<folder>` runs the cases of another folder instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Map, Value, json};
use sfn_local::{
    Engine, ExecutionOptions, InstantClock, LambdaHandler, Machine, MemoryStore, Registry,
    TaskError,
};

/// How long (in tokio time, which is paused and auto-advances) one case may take before it is
/// reported as hung.
const CASE_TIME_LIMIT: Duration = Duration::from_secs(600);

/// One scripted answer of a task handler.
#[derive(Debug, Clone)]
enum Response {
    Output(Value),
    Error { error: String, cause: String },
    Echo,
}

/// A step of a handler's script: an answer, possibly after a delay.
#[derive(Debug, Clone)]
struct Step {
    response: Response,
    delay: Option<Duration>,
}

/// A task handler that serves its scripted responses in order, repeating the last one.
struct ScriptedHandler {
    steps: Vec<Step>,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl LambdaHandler for ScriptedHandler {
    async fn invoke(&self, payload: Arc<Value>) -> Result<Value, TaskError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let Some(step) = self.steps.get(call).or_else(|| self.steps.last()).cloned() else {
            return Err(TaskError {
                error: "Conformance.NoResponse".to_string(),
                cause: "the case scripts no response for this task".to_string(),
            });
        };
        if let Some(delay) = step.delay {
            tokio::time::sleep(delay).await;
        }
        match step.response {
            Response::Output(value) => Ok(value),
            Response::Error { error, cause } => Err(TaskError { error, cause }),
            Response::Echo => Ok(Arc::unwrap_or_clone(payload)),
        }
    }
}

/// A case as read from its file.
struct Case {
    file: String,
    name: String,
    source: String,
    raw: Value,
}

/// `tests/conformance`, or the folder `CONFORMANCE_DIR` names (candidate cases being checked).
fn conformance_dir() -> PathBuf {
    match std::env::var_os("CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance"),
    }
}

fn load_cases() -> Result<Vec<Case>, String> {
    let dir = conformance_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let list: Vec<Value> = serde_json::from_str(&text)
            .map_err(|e| format!("{file} is not a JSON list of cases: {e}"))?;
        for raw in list {
            let name = raw["name"]
                .as_str()
                .ok_or_else(|| format!("{file}: a case has no \"name\""))?
                .to_string();
            let source = raw["source"].as_str().unwrap_or_default().to_string();
            if source.is_empty() {
                return Err(format!("{file}/{name}: every case must say its \"source\""));
            }
            cases.push(Case {
                file: file.clone(),
                name,
                source,
                raw,
            });
        }
    }
    Ok(cases)
}

fn parse_step(value: &Value) -> Result<Step, String> {
    let delay = value["delay_ms"].as_u64().map(Duration::from_millis);
    let response = if value["echo"] == Value::Bool(true) {
        Response::Echo
    } else if let Some(error) = value["error"].as_str() {
        Response::Error {
            error: error.to_string(),
            cause: value["cause"].as_str().unwrap_or_default().to_string(),
        }
    } else if let Some(output) = value.get("output") {
        Response::Output(output.clone())
    } else {
        return Err(format!(
            "a task response must hold \"output\", \"error\" or \"echo\": {value}"
        ));
    };
    Ok(Step { response, delay })
}

/// Builds the registry from the case's `tasks`: `arn:` keys that are not Lambda ARNs are other
/// resources, everything else is a Lambda function (name, ARN or `${Placeholder}`).
fn build_registry(tasks: Option<&Value>) -> Result<Registry, String> {
    let mut registry = Registry::new();
    let Some(tasks) = tasks else {
        return Ok(registry);
    };
    let tasks = tasks
        .as_object()
        .ok_or("\"tasks\" must be an object of resource -> responses")?;
    for (key, responses) in tasks {
        let steps = responses
            .as_array()
            .ok_or_else(|| format!("tasks.{key} must be a list of responses"))?
            .iter()
            .map(parse_step)
            .collect::<Result<Vec<_>, _>>()?;
        let handler = ScriptedHandler {
            steps,
            calls: AtomicUsize::new(0),
        };
        if key.starts_with("arn:") && !key.starts_with("arn:aws:lambda:") {
            registry.resource(key, handler);
        } else {
            registry.lambda(key, handler);
        }
    }
    Ok(registry)
}

/// Runs one case; `Ok(())` when the engine did what the case expects, else why not.
async fn run_case(case: &Case) -> Result<(), String> {
    let raw = &case.raw;
    let machine = asl::StateMachine::from_value(raw["definition"].clone())
        .map_err(|e| format!("the definition does not parse: {e}"))?;
    let registry = build_registry(raw.get("tasks"))?;
    let machine = Machine::compile(&machine).map_err(|e| format!("refused at load: {e}"))?;
    let store = Arc::new(MemoryStore::new());
    let mut engine = Engine::new(machine, registry).with_clock(Arc::new(InstantClock::fixed()));
    // `"s3": {"bucket/key": text, "bucket/": null}`: objects (and empty buckets) a distributed
    // Map reads; without it the engine has no store, as `sfn-agent exec` without `--s3-…`.
    if let Some(objects) = raw.get("s3").and_then(Value::as_object) {
        for (path, body) in objects {
            let (bucket, key) = path
                .split_once('/')
                .ok_or_else(|| format!("s3: {path:?} is not bucket/key"))?;
            match body {
                Value::String(text) => store.insert(bucket, key, text.as_bytes()),
                Value::Null => store.create_bucket(bucket),
                other => store.insert(bucket, key, other.to_string().into_bytes()),
            }
        }
        engine = engine.with_object_store(store.clone());
    }
    let input = raw.get("input").cloned().unwrap_or_else(|| json!({}));
    let options = ExecutionOptions {
        name: raw["execution_name"].as_str().map(str::to_string),
        ..Default::default()
    };
    let execution = tokio::time::timeout(CASE_TIME_LIMIT, engine.execute(input, options))
        .await
        .map_err(|_| format!("the execution did not finish within {CASE_TIME_LIMIT:?}"))?;
    let mut actual = execution.to_json(true);
    // `"expect_s3": {"bucket/key": value}`: objects the run wrote, each parsed as JSON (JSON
    // Lines as an array of its lines) and matched like the output; the actual objects are
    // shown under "s3".
    if let Some(expected) = raw.get("expect_s3").and_then(Value::as_object) {
        let mut written = serde_json::Map::new();
        for path in expected.keys() {
            let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
            let key = key.replace("{MapRunId}", &map_run_id(&actual));
            let value = store.get(bucket, &key).map_or(Value::Null, |bytes| {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                serde_json::from_str(&text).unwrap_or_else(|_| {
                    Value::Array(
                        text.lines()
                            .filter_map(|l| serde_json::from_str(l).ok())
                            .collect(),
                    )
                })
            });
            written.insert(path.clone(), value);
        }
        actual["s3"] = Value::Object(written);
    }
    compare(raw, &actual).map_err(|problems| {
        let mut shown = actual.clone();
        if raw.get("expect_history_types").is_none()
            && let Some(object) = shown.as_object_mut()
        {
            object.remove("history");
        }
        format!("{problems}\n  actual: {}", pretty(&shown))
    })
}

/// The id of the execution's first Map Run (the last part of its ARN), which the
/// `ResultWriter`'s keys hold: `{MapRunId}` in an `expect_s3` key stands for it.
fn map_run_id(actual: &Value) -> String {
    actual["mapRuns"][0]["mapRunArn"]
        .as_str()
        .and_then(|arn| arn.rsplit(':').next())
        .unwrap_or_default()
        .to_owned()
}

fn compare(raw: &Value, actual: &Value) -> Result<(), String> {
    let expect = &raw["expect"];
    let mut problems = Vec::new();
    let status = expect["status"].as_str().unwrap_or("SUCCEEDED");
    if actual["status"].as_str() != Some(status) {
        problems.push(format!(
            "status: expected {status}, got {}",
            actual["status"]
        ));
    }
    if let Some(output) = expect.get("output") {
        match actual.get("output") {
            Some(got) => matches(output, got, "output", &mut problems),
            None => problems.push("output: expected one, the execution has none".to_string()),
        }
    }
    if let Some(error) = expect["error"].as_str()
        && actual["error"].as_str() != Some(error)
    {
        problems.push(format!(
            "error: expected {error:?}, got {}",
            actual["error"]
        ));
    }
    if let Some(cause) = expect["cause"].as_str()
        && actual["cause"].as_str() != Some(cause)
    {
        problems.push(format!(
            "cause: expected {cause:?}, got {}",
            actual["cause"]
        ));
    }
    if let Some(part) = expect["cause_contains"].as_str()
        && !actual["cause"].as_str().is_some_and(|c| c.contains(part))
    {
        problems.push(format!(
            "cause: expected it to contain {part:?}, got {}",
            actual["cause"]
        ));
    }
    if let Some(objects) = raw.get("expect_s3") {
        matches(objects, &actual["s3"], "s3", &mut problems);
    }
    if let Some(types) = raw.get("expect_history_types") {
        let got: Vec<Value> = actual["history"]
            .as_array()
            .map(|events| events.iter().map(|e| e["type"].clone()).collect())
            .unwrap_or_default();
        if types.as_array() != Some(&got) {
            problems.push(format!(
                "history types:\n      expected {types}\n      got      {}",
                Value::Array(got)
            ));
        }
    }
    // Events by id: each key given must match the event's (its details in full).
    for want in raw["expect_history_events"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let id = &want["id"];
        let got = actual["history"]
            .as_array()
            .and_then(|events| events.iter().find(|e| &e["id"] == id));
        let (Some(want), Some(got)) = (want.as_object(), got) else {
            problems.push(format!("history: no event with id {id}"));
            continue;
        };
        for (key, value) in want {
            matches(
                value,
                &got[key],
                &format!("event #{id}.{key}"),
                &mut problems,
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

/// Compares an expected value (which may hold `{"$match": …}` shape matchers) with the actual
/// one, pushing one line per difference.
fn matches(expected: &Value, actual: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(kind) = expected.get("$match").and_then(Value::as_str) {
        if let Err(why) = match_shape(kind, expected, actual) {
            problems.push(format!("{at}: {why}, got {actual}"));
        }
        return;
    }
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, value) in want {
                match got.get(key) {
                    Some(found) => matches(value, found, &format!("{at}.{key}"), problems),
                    None => problems.push(format!("{at}.{key}: missing")),
                }
            }
            for key in got.keys().filter(|k| !want.contains_key(*k)) {
                problems.push(format!("{at}.{key}: unexpected field ({})", got[key]));
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            if want.len() != got.len() {
                problems.push(format!(
                    "{at}: expected {} items, got {}: {actual}",
                    want.len(),
                    got.len()
                ));
                return;
            }
            for (i, (w, g)) in want.iter().zip(got).enumerate() {
                matches(w, g, &format!("{at}[{i}]"), problems);
            }
        }
        (Value::Number(want), Value::Number(got)) => {
            if want != got && want.as_f64() != got.as_f64() {
                problems.push(format!("{at}: expected {want}, got {got}"));
            }
        }
        _ => {
            if expected != actual {
                problems.push(format!("{at}: expected {expected}, got {actual}"));
            }
        }
    }
}

fn bound(matcher: &Value, key: &str) -> Option<f64> {
    matcher.get(key).and_then(Value::as_f64)
}

fn within(matcher: &Value, n: f64) -> Result<(), String> {
    if let Some(min) = bound(matcher, "min")
        && n < min
    {
        return Err(format!("expected at least {min}"));
    }
    if let Some(max) = bound(matcher, "max")
        && n > max
    {
        return Err(format!("expected at most {max}"));
    }
    Ok(())
}

fn match_shape(kind: &str, matcher: &Value, actual: &Value) -> Result<(), String> {
    match kind {
        "any" => Ok(()),
        "string" => actual
            .is_string()
            .then_some(())
            .ok_or_else(|| "expected a string".to_string()),
        "uuid" => {
            let text = actual.as_str().ok_or("expected a UUID string")?;
            let uuid = uuid::Uuid::parse_str(text).map_err(|e| format!("not a UUID ({e})"))?;
            if uuid.get_version_num() == 4 && text.len() == 36 {
                Ok(())
            } else {
                Err("expected a hyphenated version-4 UUID".to_string())
            }
        }
        "integer" => {
            let n = actual
                .as_i64()
                .or_else(|| actual.as_u64().and_then(|u| i64::try_from(u).ok()))
                .ok_or("expected an integer")?;
            within(matcher, n as f64)
        }
        "number" => within(matcher, actual.as_f64().ok_or("expected a number")?),
        "contains" => {
            let part = matcher["value"].as_str().unwrap_or_default();
            if actual.as_str().is_some_and(|s| s.contains(part)) {
                Ok(())
            } else {
                Err(format!("expected a string containing {part:?}"))
            }
        }
        "timestamp" => {
            let text = actual.as_str().ok_or("expected a timestamp string")?;
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|_| ())
                .map_err(|e| format!("not an RFC 3339 timestamp ({e})"))
        }
        "array" => {
            let items = actual.as_array().ok_or("expected an array")?;
            if let Some(length) = matcher.get("length").and_then(Value::as_u64)
                && items.len() as u64 != length
            {
                return Err(format!("expected {length} items"));
            }
            if let Some(each) = matcher.get("items") {
                let mut problems = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    matches(each, item, &format!("[{i}]"), &mut problems);
                }
                if !problems.is_empty() {
                    return Err(problems.join("; "));
                }
            }
            Ok(())
        }
        other => Err(format!("unknown matcher kind {other:?} in the case")),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

#[tokio::test(start_paused = true)]
async fn conformance() {
    let cases = match load_cases() {
        Ok(cases) => cases,
        Err(why) => panic!("cannot load the conformance cases: {why}"),
    };
    let filter = std::env::var("CONFORMANCE_FILTER").ok();
    let mut seen = std::collections::HashSet::new();
    let mut failures = Vec::new();
    let mut ran = 0usize;
    for case in &cases {
        if !seen.insert(case.name.clone()) {
            failures.push(format!("{}/{}: duplicate case name", case.file, case.name));
            continue;
        }
        if filter.as_deref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        ran += 1;
        // Each case runs in its own task, so a panic in the engine is reported as that case's
        // failure instead of ending the suite.
        let outcome = {
            let raw = case.raw.clone();
            let case_copy = Case {
                file: case.file.clone(),
                name: case.name.clone(),
                source: case.source.clone(),
                raw,
            };
            tokio::spawn(async move { run_case(&case_copy).await }).await
        };
        let failure = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(why)) => why,
            Err(join) => format!("the engine panicked: {join}"),
        };
        let mut expected = Map::new();
        expected.insert("expect".to_string(), case.raw["expect"].clone());
        failures.push(format!(
            "{}/{}\n  source: {}\n  problems:\n    {}\n  expected: {}\n  input: {}",
            case.file,
            case.name,
            case.source,
            failure,
            pretty(&Value::Object(expected)),
            case.raw.get("input").cloned().unwrap_or(Value::Null),
        ));
    }
    assert!(ran > 0, "no conformance case ran (filter {filter:?})");
    if !failures.is_empty() {
        panic!(
            "{} of {ran} conformance cases failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
    println!("{ran} conformance cases passed");
}
