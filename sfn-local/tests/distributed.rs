//! Distributed Map on the engine: each reader type over a store, batching, `MaxItems`,
//! tolerated failures, the `ResultWriter`'s files, the child executions' context, and hostile
//! inputs that end in named errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};
use sfn_local::objects::{ListPage, ObjectError, ObjectStore, ObjectSummary};
use sfn_local::{
    DirStore, Engine, Execution, ExecutionOptions, ExecutionStatus, InstantClock, Machine,
    MemoryStore, Registry, TaskError, handler_fn,
};

/// The two tests that run 100,000 child executions take turns: side by side on two cores
/// each would take twice as long.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A JSONPath machine whose one state is a distributed Map with `map` merged in, items passed
/// through a Pass state.
fn machine(map: Value) -> Machine {
    let mut state = json!({
        "Type": "Map",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Pass", "End": true}}
        },
        "End": true
    });
    for (k, v) in map.as_object().unwrap() {
        state[k] = v.clone();
    }
    let definition = json!({"StartAt": "Batch", "States": {"Batch": state}});
    Machine::compile(&asl::StateMachine::from_value(definition).unwrap()).unwrap()
}

async fn run(machine: Machine, store: Option<Arc<dyn ObjectStore>>, input: Value) -> Execution {
    run_with(machine, Registry::new(), store, input).await
}

async fn run_with(
    machine: Machine,
    registry: Registry,
    store: Option<Arc<dyn ObjectStore>>,
    input: Value,
) -> Execution {
    let mut engine = Engine::new(machine, registry).with_clock(Arc::new(InstantClock::fixed()));
    if let Some(store) = store {
        engine = engine.with_object_store(store);
    }
    let started = Instant::now();
    let execution = tokio::time::timeout(
        Duration::from_secs(30),
        engine.execute(input, ExecutionOptions::default()),
    )
    .await
    .expect("the execution ends within 30 s");
    assert!(started.elapsed() < Duration::from_secs(30));
    execution
}

fn reader(input_type: &str, extra: Value) -> Value {
    let mut config = json!({"InputType": input_type});
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": config,
        "Parameters": {"Bucket": "data", "Key.$": "$.key"}
    }})
}

fn store_with(key: &str, body: &str) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    store.insert("data", key, body.as_bytes());
    store
}

fn failed(execution: &Execution, error: &str) -> String {
    assert_eq!(execution.status, ExecutionStatus::Failed, "{execution:?}");
    assert_eq!(execution.error.as_deref(), Some(error), "{execution:?}");
    execution.cause.clone().unwrap_or_default()
}

#[tokio::test]
async fn json_lines_from_a_directory_run_as_child_executions() {
    let dir = std::env::temp_dir().join(format!("sfn-local-dmap-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(
        dir.join("data/q.jsonl"),
        "{\"q\":\"a\"}\n{\"q\":\"b\"}\n\n{\"q\":\"c\"}\n",
    )
    .unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(DirStore::new(&dir));
    let m = machine(reader("JSONL", json!({})));
    let execution = run(m, Some(store), json!({"key": "q.jsonl"})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    assert_eq!(
        execution.output,
        Some(json!([{"q": "a"}, {"q": "b"}, {"q": "c"}]))
    );
    let types: Vec<&str> = execution.history.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let run = &execution.map_runs[0];
    assert_eq!(run.execution_count, 3);
    assert!(run.map_run_arn.contains(":mapRun:LocalStateMachine/Batch:"));
    let child = &run.executions[1];
    assert_eq!(child.input, json!({"q": "b"}));
    assert!(
        child.execution_arn.starts_with(
            "arn:aws:states:us-east-1:123456789012:execution:LocalStateMachine/Batch:"
        )
    );
    assert_eq!(
        child.execution.history.first().unwrap().event_type,
        "ExecutionStarted"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_child_sees_its_own_execution_and_the_map_runs_state_machine() {
    let m = Machine::from_json(
        &json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "Label": "Qs", "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                "StartAt": "Ctx",
                "States": {"Ctx": {"Type": "Pass", "End": true, "Parameters": {
                    "id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name",
                    "input.$": "$$.Execution.Input", "machine.$": "$$.StateMachine.Name"
                }}}
            }
        }}})
        .to_string(),
    )
    .unwrap();
    let execution = run(m, None, json!([7])).await;
    let output = execution.output.clone().unwrap();
    let child = &execution.map_runs[0].executions[0];
    assert_eq!(output[0]["id"], json!(child.execution_arn));
    assert!(
        child
            .execution_arn
            .contains(":express:LocalStateMachine/Qs:")
    );
    assert_eq!(output[0]["name"], json!(child.execution.name));
    assert_eq!(output[0]["input"], json!(7));
    assert_eq!(output[0]["machine"], json!("LocalStateMachine/Qs"));
}

#[tokio::test]
async fn csv_with_given_headers_and_a_delimiter_gives_strings() {
    let store = store_with("t.csv", "1|x\n2|\"y|z\"\n");
    let m = machine(reader(
        "CSV",
        json!({"CSVHeaderLocation": "GIVEN", "CSVHeaders": ["n", "s"], "CSVDelimiter": "PIPE"}),
    ));
    let execution = run(m, Some(store), json!({"key": "t.csv"})).await;
    assert_eq!(
        execution.output,
        Some(json!([{"n": "1", "s": "x"}, {"n": "2", "s": "y|z"}]))
    );
}

#[tokio::test]
async fn a_listing_gives_one_item_per_object_under_the_prefix() {
    let store = Arc::new(MemoryStore::new());
    store.insert("data", "in/a.txt", "hello");
    store.insert("data", "in/b.txt", "hi");
    store.insert("data", "out/c.txt", "no");
    let m = machine(json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data", "Prefix": "in/"}
    }, "ItemSelector": {"key.$": "$$.Map.Item.Value.Key", "size.$": "$$.Map.Item.Value.Size"}}));
    let execution = run(m, Some(store), json!({})).await;
    assert_eq!(
        execution.output,
        Some(json!([{"key": "in/a.txt", "size": 5}, {"key": "in/b.txt", "size": 2}]))
    );
}

#[tokio::test]
async fn max_items_and_batches() {
    let items: Vec<Value> = (0..7).map(|i| json!({"i": i})).collect();
    let store = store_with("i.json", &Value::Array(items).to_string());
    let mut map = reader("JSON", json!({"MaxItems": 5}));
    map["ItemBatcher"] = json!({"MaxItemsPerBatch": 2, "BatchInput": {"run.$": "$.run"}});
    let execution = run(
        machine(map),
        Some(store),
        json!({"key": "i.json", "run": "r1"}),
    )
    .await;
    assert_eq!(
        execution.output,
        Some(json!([
            {"BatchInput": {"run": "r1"}, "Items": [{"i": 0}, {"i": 1}]},
            {"BatchInput": {"run": "r1"}, "Items": [{"i": 2}, {"i": 3}]},
            {"BatchInput": {"run": "r1"}, "Items": [{"i": 4}]}
        ]))
    );
    assert_eq!(execution.map_runs[0].execution_count, 3);
}

#[tokio::test]
async fn batches_close_at_max_input_bytes() {
    let m = machine(json!({"ItemBatcher": {"MaxInputBytesPerBatch": 40}}));
    let execution = run(m, None, json!(["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"])).await;
    assert_eq!(
        execution.output,
        Some(json!([{"Items": ["aaaaaaaaaa", "bbbbbbbbbb"]}, {"Items": ["cccccccccc"]}]))
    );
}

/// A machine whose children fail for items `{"fail": true}`.
fn failing(tolerance: Value) -> (Machine, Registry) {
    let mut map = json!({
        "Type": "Map", "End": true,
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true}}
        }
    });
    for (k, v) in tolerance.as_object().unwrap() {
        map[k] = v.clone();
    }
    let m = Machine::from_json(&json!({"StartAt": "M", "States": {"M": map}}).to_string()).unwrap();
    let mut registry = Registry::new();
    registry.lambda(
        "work",
        handler_fn(|p| async move {
            if p["fail"] == json!(true) {
                Err(TaskError::new("Boom", "it failed"))
            } else {
                Ok(json!("ok"))
            }
        }),
    );
    (m, registry)
}

fn items(failures: usize, total: usize) -> Value {
    Value::Array((0..total).map(|i| json!({"fail": i < failures})).collect())
}

#[tokio::test]
async fn tolerated_failures_by_count_and_percentage() {
    // Nothing tolerated: one failure fails the Map Run.
    let (m, r) = failing(json!({}));
    let execution = run_with(m, r, None, items(1, 4)).await;
    let cause = failed(&execution, "States.ExceedToleratedFailureThreshold");
    assert_eq!(
        cause,
        "The specified tolerated failure threshold was exceeded"
    );
    let types: Vec<&str> = execution.history.iter().map(|e| e.event_type).collect();
    assert_eq!(
        &types[types.len() - 3..],
        ["MapRunFailed", "MapStateFailed", "ExecutionFailed"]
    );
    // Count: 2 tolerated, 2 failed → succeeds with the failed children's errors in place.
    let (m, r) = failing(json!({"ToleratedFailureCount": 2}));
    let execution = run_with(m, r, None, items(2, 4)).await;
    // A Lambda's cause is the runtime's error object, as a string.
    let cause = r#"{"errorType":"Boom","errorMessage":"it failed","trace":[]}"#;
    assert_eq!(
        execution.output,
        Some(json!([
            {"Error": "Boom", "Cause": cause},
            {"Error": "Boom", "Cause": cause},
            "ok",
            "ok"
        ]))
    );
    let (m, r) = failing(json!({"ToleratedFailureCount": 2}));
    let execution = run_with(m, r, None, items(3, 4)).await;
    failed(&execution, "States.ExceedToleratedFailureThreshold");
    // Percentage: 1 of 4 is 25%, within 25; 2 of 4 is over.
    let (m, r) = failing(json!({"ToleratedFailurePercentage": 25}));
    let execution = run_with(m, r, None, items(1, 4)).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
    let (m, r) = failing(json!({"ToleratedFailurePercentage": 25}));
    let execution = run_with(m, r, None, items(2, 4)).await;
    failed(&execution, "States.ExceedToleratedFailureThreshold");
}

#[tokio::test]
async fn the_result_writer_writes_a_manifest_and_result_files() {
    let (m, r) = failing(json!({
        "ToleratedFailureCount": 5,
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "runs"}
        }
    }));
    let store = Arc::new(MemoryStore::new());
    // The bucket must exist, as on S3.
    let execution = run_with(m, r, Some(store.clone()), items(1, 3)).await;
    let cause = failed(&execution, "States.ResultWriterFailed");
    assert!(cause.contains("bucket does not exist"), "{cause}");
    store.create_bucket("out");
    let (m, r) = failing(json!({
        "ToleratedFailureCount": 5,
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": "out", "Prefix": "runs"}
        }
    }));
    let execution = run_with(m, r, Some(store.clone()), items(1, 3)).await;
    let output = execution.output.clone().unwrap();
    let arn = output["MapRunArn"].as_str().unwrap();
    let id = arn.rsplit(':').next().unwrap();
    assert_eq!(
        output["ResultWriterDetails"],
        json!({"Bucket": "out", "Key": format!("runs/{id}/manifest.json")})
    );
    let read = |key: &str| -> Value {
        serde_json::from_slice(&store.get("out", &format!("runs/{id}/{key}")).unwrap()).unwrap()
    };
    let manifest = read("manifest.json");
    assert_eq!(manifest["DestinationBucket"], "out");
    assert_eq!(manifest["MapRunArn"], arn);
    assert_eq!(manifest["ResultFiles"]["PENDING"], json!([]));
    assert_eq!(
        manifest["ResultFiles"]["SUCCEEDED"][0]["Key"],
        json!(format!("runs/{id}/SUCCEEDED_0.json"))
    );
    let succeeded = read("SUCCEEDED_0.json");
    assert_eq!(succeeded.as_array().unwrap().len(), 2);
    assert_eq!(succeeded[0]["Status"], "SUCCEEDED");
    assert_eq!(succeeded[0]["Output"], "\"ok\"");
    assert_eq!(succeeded[0]["Input"], "{\"fail\":false}");
    let failed_entries = read("FAILED_0.json");
    assert_eq!(failed_entries[0]["Status"], "FAILED");
    assert_eq!(failed_entries[0]["Error"], "Boom");
    assert!(
        failed_entries[0]["Cause"]
            .as_str()
            .unwrap()
            .contains("it failed")
    );
}

#[tokio::test]
async fn a_writer_config_alone_transforms_the_result() {
    let m = machine(
        json!({"ResultWriter": {"WriterConfig": {"Transformation": "FLATTEN", "OutputType": "JSON"}}}),
    );
    let execution = run(m, None, json!([[1, 2], [3], 4])).await;
    assert_eq!(execution.output, Some(json!([1, 2, 3, 4])));
}

#[tokio::test]
async fn without_a_store_a_reader_fails_saying_how_to_configure_one() {
    let execution = run(
        machine(reader("JSON", json!({}))),
        None,
        json!({"key": "k"}),
    )
    .await;
    let cause = failed(&execution, "States.ItemReaderFailed");
    assert!(cause.contains("--s3-dir"), "{cause}");
    assert!(cause.contains("with_object_store"), "{cause}");
}

#[tokio::test]
async fn hostile_objects_end_in_named_errors() {
    // A key that leaves the store's directory.
    let dir = std::env::temp_dir().join(format!("sfn-local-dmap-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(DirStore::new(&dir));
    let m = machine(reader("JSON", json!({})));
    let execution = run(m, Some(store), json!({"key": "../../etc/passwd"})).await;
    assert!(failed(&execution, "States.ItemReaderFailed").contains("Invalid bucket or key"));
    std::fs::remove_dir_all(&dir).ok();
    // A malformed JSON Lines line.
    let store = store_with("q.jsonl", "{\"q\":1}\n{\"q\":\n");
    let execution = run(
        machine(reader("JSONL", json!({}))),
        Some(store),
        json!({"key": "q.jsonl"}),
    )
    .await;
    assert!(failed(&execution, "States.ItemReaderFailed").starts_with("Line 2 "));
    // A CSV whose one line is 20 MB, with a quote that never ends.
    let huge = format!("a\n\"{}", "x".repeat(20 * 1024 * 1024));
    let store = store_with("h.csv", &huge);
    let execution = run(
        machine(reader("CSV", json!({}))),
        Some(store),
        json!({"key": "h.csv"}),
    )
    .await;
    failed(&execution, "States.ItemReaderFailed");
    // A first row of a million headers over 50,000 short rows: every row would repeat every
    // header (5e10 cells from 10 MB); it stops at the engine's bound instead.
    let headers: Vec<String> = (0..1_000_000).map(|i| format!("h{i}")).collect();
    let wide = format!("{}\n{}", headers.join(","), "x\n".repeat(50_000));
    let store = store_with("wide.csv", &wide);
    let execution = run(
        machine(reader("CSV", json!({}))),
        Some(store),
        json!({"key": "wide.csv"}),
    )
    .await;
    assert!(
        failed(&execution, "States.ItemReaderFailed").contains("local engine's limit"),
        "{:?}",
        execution.cause
    );
    // An object over the engine's size limit is refused before it is read.
    let store = store_with("big.json", &"[".repeat(65 * 1024 * 1024));
    let execution = run(
        machine(reader("JSON", json!({}))),
        Some(store),
        json!({"key": "big.json"}),
    )
    .await;
    assert!(failed(&execution, "States.ItemReaderFailed").contains("more than"));
    // More items than the engine runs.
    let lines = "1\n".repeat(sfn_local::limits::MAX_MAP_RUN_ITEMS + 5);
    let store = store_with("many.jsonl", &lines);
    let execution = run(
        machine(reader("JSONL", json!({}))),
        Some(store),
        json!({"key": "many.jsonl"}),
    )
    .await;
    assert!(failed(&execution, "States.ItemReaderFailed").contains("MAX_MAP_RUN_ITEMS"));
}

#[tokio::test]
async fn a_batch_of_zero_items_is_a_named_error() {
    let m =
        machine(json!({"ItemBatcher": {"MaxItemsPerBatchPath": "$.n"}, "ItemsPath": "$.items"}));
    let execution = run(m, None, json!({"n": 0, "items": [1, 2]})).await;
    let cause = failed(&execution, "States.Runtime");
    assert!(cause.contains("MaxItemsPerBatch"), "{cause}");
}

/// A store that lists a million keys, a page at a time, and counts the pages asked for.
#[derive(Debug, Default)]
struct MillionKeys {
    pages: AtomicUsize,
}

#[async_trait]
impl ObjectStore for MillionKeys {
    async fn get_object(&self, bucket: &str, key: &str, _: u64) -> Result<Vec<u8>, ObjectError> {
        Err(ObjectError::no_such_key(bucket, key))
    }

    async fn list_objects_v2(
        &self,
        _: &str,
        _: &str,
        continuation: Option<&str>,
    ) -> Result<ListPage, ObjectError> {
        let page = self.pages.fetch_add(1, Ordering::SeqCst);
        let start: usize = continuation.map_or(0, |c| c.parse().unwrap());
        let end = (start + 1000).min(1_000_000);
        Ok(ListPage {
            objects: (start..end)
                .map(|i| ObjectSummary {
                    key: format!("k{i:07}"),
                    size: 1,
                    etag: "\"e\"".into(),
                    last_modified: "2024-01-01T00:00:00.000Z".into(),
                    storage_class: "STANDARD".into(),
                })
                .collect(),
            next: (end < 1_000_000 && page < 100_000).then(|| end.to_string()),
        })
    }

    async fn put_object(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), ObjectError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_listing_of_a_million_keys_stops_at_the_limit() {
    let store = Arc::new(MillionKeys::default());
    let m = machine(json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data"}
    }}));
    let execution = run(m, Some(store.clone()), json!({})).await;
    failed(&execution, "States.ItemReaderFailed");
    // It read the pages up to the limit, not the whole listing.
    assert!(store.pages.load(Ordering::SeqCst) <= sfn_local::limits::MAX_MAP_RUN_ITEMS / 1000 + 1);
    // With MaxItems, the listing stops early and the run succeeds.
    let m = machine(json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "ReaderConfig": {"MaxItems": 3},
        "Parameters": {"Bucket": "data"}
    }, "ItemSelector": {"k.$": "$$.Map.Item.Value.Key"}}));
    let execution = run(m, Some(Arc::new(MillionKeys::default())), json!({})).await;
    assert_eq!(
        execution.output,
        Some(json!([{"k": "k0000000"}, {"k": "k0000001"}, {"k": "k0000002"}]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_map_run_keeps_the_first_children_whole_and_counts_the_rest() {
    let _alone = HEAVY.lock().await;
    let items = 20_000;
    let lines = "{\"n\":1}\n".repeat(items);
    let store = store_with("all.jsonl", &lines);
    // The results are dropped (`ResultPath: null`): 20,000 of them are past 256 KB.
    let mut map = reader("JSONL", json!({}));
    map["ResultPath"] = Value::Null;
    let execution = run(machine(map), Some(store), json!({"key": "all.jsonl"})).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.cause
    );
    let run = &execution.map_runs[0];
    assert_eq!(run.execution_count, items);
    assert_eq!(
        run.executions.len(),
        sfn_local::limits::MAX_KEPT_CHILD_EXECUTIONS
    );
    assert!(
        run.executions
            .iter()
            .all(|c| c.execution.history.len() == 4)
    );
}

#[tokio::test]
async fn a_failed_batch_counts_each_of_its_items_as_failed() {
    let machine = |count: u32| {
        Machine::from_json(
            &json!({"StartAt": "M", "States": {"M": {
                "Type": "Map", "End": true,
                "ItemBatcher": {"MaxItemsPerBatch": 2},
                "ToleratedFailureCount": count,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": true}}
                }
            }}})
            .to_string(),
        )
        .unwrap()
    };
    let registry = || {
        let mut registry = Registry::new();
        registry.lambda(
            "work",
            handler_fn(|p| async move {
                if p["Items"][0]["fail"] == json!(true) {
                    Err(TaskError::new("Boom", "a batch failed"))
                } else {
                    Ok(json!("ok"))
                }
            }),
        );
        registry
    };
    // One failed batch of two items: two failed items, more than one tolerated.
    let execution = run_with(machine(1), registry(), None, items(2, 4)).await;
    failed(&execution, "States.ExceedToleratedFailureThreshold");
    // Two tolerated: the run succeeds.
    let execution = run_with(machine(2), registry(), None, items(2, 4)).await;
    assert_eq!(
        execution.status,
        ExecutionStatus::Succeeded,
        "{execution:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_map_runs_stop_at_the_executions_child_limit() {
    let _alone = HEAVY.lock().await;
    // 400 children, each with a Map Run of 400: 160,400 child executions asked for.
    let inner = json!({
        "Type": "Map", "End": true, "Items": "{% [1..400] %}",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Leaf", "States": {"Leaf": {"Type": "Pass", "End": true}}
        },
        "Output": "{% $count($states.result) %}"
    });
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "Outer", "States": {"Outer": {
        "Type": "Map", "End": true, "Items": "{% [1..400] %}",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "Inner", "States": {"Inner": inner}
        }
    }}});
    let m = Machine::from_json(&definition.to_string()).unwrap();
    let execution = run(m, None, json!({})).await;
    // Inner Map Runs past the limit fail their children; the outer run fails with them.
    assert_eq!(execution.status, ExecutionStatus::Failed);
    let failed_inner = execution.map_runs[0]
        .executions
        .iter()
        .filter_map(|c| c.execution.cause.as_deref())
        .find(|cause| cause.contains("MAX_CHILD_EXECUTIONS"));
    assert!(failed_inner.is_some(), "{:?}", execution.cause);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_stop_at_the_executions_byte_limit() {
    let _alone = HEAVY.lock().await;
    // 1,100 children, each answering 250,000 characters: more than the 256 MiB the engine
    // keeps for one execution's children.
    let definition = json!({"StartAt": "Outer", "States": {"Outer": {
        "Type": "Map", "End": true, "ItemsPath": "$.items",
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
            "StartAt": "Big",
            "States": {"Big": {"Type": "Pass", "Result": "x".repeat(250_000), "End": true}}
        }
    }}});
    let m = Machine::from_json(&definition.to_string()).unwrap();
    let items: Vec<u32> = (0..1_100).collect();
    let execution = run(m, None, json!({"items": items})).await;
    let cause = failed(&execution, "States.Runtime");
    assert!(cause.contains("MAX_CHILD_EXECUTION_BYTES"), "{cause}");
}

#[tokio::test]
async fn formats_the_engine_does_not_read_fail_saying_so() {
    for (input_type, named) in [("MANIFEST", "MANIFEST"), ("PARQUET", "Parquet")] {
        let store = store_with("f", "x");
        let m = machine(reader(input_type, json!({})));
        let execution = run(m, Some(store), json!({"key": "f"})).await;
        let cause = failed(&execution, "States.ItemReaderFailed");
        assert!(cause.contains(named), "{cause}");
    }
}

/// A store whose listing never ends: empty pages, each with a new token.
#[derive(Debug, Default)]
struct EndlessEmptyPages {
    pages: AtomicUsize,
}

#[async_trait]
impl ObjectStore for EndlessEmptyPages {
    async fn get_object(&self, bucket: &str, key: &str, _: u64) -> Result<Vec<u8>, ObjectError> {
        Err(ObjectError::no_such_key(bucket, key))
    }

    async fn list_objects_v2(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
    ) -> Result<ListPage, ObjectError> {
        let page = self.pages.fetch_add(1, Ordering::SeqCst);
        Ok(ListPage {
            objects: Vec::new(),
            next: Some(page.to_string()),
        })
    }

    async fn put_object(&self, _: &str, _: &str, _: Vec<u8>) -> Result<(), ObjectError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_listing_without_progress_is_a_named_error() {
    let store = Arc::new(EndlessEmptyPages::default());
    let m = machine(json!({"ItemReader": {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "data"}
    }}));
    let execution = run(m, Some(store.clone()), json!({})).await;
    let cause = failed(&execution, "States.ItemReaderFailed");
    assert!(cause.contains("without progress"), "{cause}");
    assert!(store.pages.load(Ordering::SeqCst) < 1_000);
}
