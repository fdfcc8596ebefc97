//! The official JSONata test suite (jsonata-js 2.0.6's `test/test-suite`, the version Step
//! Functions runs; copied under `tests/fixtures/jsonata-suite/` with its licence), every case
//! run through the engine as the service would see it: a one-state JSONata machine, a Pass
//! whose `Output` is the expression, with the case's data as the execution input (the context
//! value `$`) and its bindings as workflow variables (assigned by a Pass before it).
//!
//! A case passes when the execution succeeds with the expected result (numbers compared as
//! numbers, `unordered` arrays as multisets), when an `undefinedResult` case fails with the
//! service's "returned nothing (undefined)", or when an error case fails with
//! `States.QueryEvaluationError` and its JSONata error code (`T0410`, …) in the cause.
//! [`NOT_EXPRESSIBLE`] lists the cases Step Functions itself cannot run, each with its reason;
//! they are counted apart, never skipped silently.
//!
//! The test prints the pass rate and fails below [`PASS_RATE_FLOOR`], or when a case that
//! passed in the pinned run ([`KNOWN_FAILURES`] lists the others) fails. Each case runs with a
//! deadline ([`CASE_DEADLINE`]), on a worker thread: a case that hangs is a failure, and the
//! run goes on with a new worker.
//!
//! `SFN_SUITE_VERBOSE=1 cargo test -p sfn-agent-local --test jsonata_suite -- --nocapture`
//! prints every failing case with what it gave.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sfn_local::{
    Engine, Execution, ExecutionOptions, ExecutionStatus, LoadError, Machine, ManualClock, Registry,
};

/// The lowest share of the scored cases (all but [`NOT_EXPRESSIBLE`]) that must pass.
const PASS_RATE_FLOOR: f64 = 0.99;

/// The longest one case may take before it counts as hung (the engine's own JSONata time limit
/// is 10 s).
const CASE_DEADLINE: Duration = Duration::from_secs(20);

/// Cases Step Functions itself cannot express, by `group/file#index`, with the reason. They
/// are run all the same and reported, but not scored.
const NOT_EXPRESSIBLE: &[(&str, &str)] = &[
    (
        "function-eval/",
        "Step Functions has no $eval (its documentation: use $parse instead)",
    ),
    // A state always has an input, a JSON value: these cases need the context value to be
    // undefined (the suite gives them no data) and expect undefined, where any JSON input
    // gives a value.
    ("descendent-operator/case016.json#0", NO_INPUT),
    ("encoding/case001.json#0", NO_INPUT),
    ("encoding/case003.json#0", NO_INPUT),
    ("function-string/case022.json#0", NO_INPUT),
    ("function-trim/case002.json#0", NO_INPUT),
    ("transform/case022.json#0", NO_INPUT),
];

/// Why a case that needs an undefined input is not expressible.
const NO_INPUT: &str =
    "a state's input is always a JSON value, and the case needs none (undefined)";

/// Scored cases that fail today, by `group/file#index`, each with why. A case not listed that
/// fails makes the test fail, and so does a listed case that passes (take it off the list).
const KNOWN_FAILURES: &[(&str, &str)] = &[
    (
        "function-encodeUrl/case002.json#0",
        "a lone surrogate ('\\uD800') cannot be held in a Rust string: S0104 at parse, not D3140",
    ),
    (
        "function-encodeUrlComponent/case002.json#0",
        "a lone surrogate ('\\uD800') cannot be held in a Rust string: S0104 at parse, not D3140",
    ),
    (
        "tail-recursion/case002.json#0",
        "U1001 comes from the suite runner's own depth limit (300); the engine's limit is deeper \
         and $factorial(100) returns its value",
    ),
    (
        "tail-recursion/case006.json#0",
        "U1001 comes from the suite runner's own depth limit; the engine runs tail calls in \
         constant depth, so an endless one ends at the 10 s limit (D1012)",
    ),
];

/// One case of the suite.
struct Case {
    /// `group/file#index`.
    id: String,
    expr: String,
    input: Option<Value>,
    bindings: Map<String, Value>,
    expect: Expect,
}

enum Expect {
    Result { value: Value, unordered: bool },
    Undefined,
    Code(String),
}

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jsonata-suite")
}

/// A suite file. Three hold a lone surrogate (`"\uD800"`), which JavaScript's JSON accepts
/// and serde_json refuses: it is kept as JSONata's own escape inside the expression, as an
/// ASL definition would carry it.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text)
        .or_else(|_| {
            let mut escaped = text.clone();
            for high in ["D8", "D9", "DA", "DB", "DC", "DD", "DE", "DF"] {
                escaped = escaped.replace(&format!("\\u{high}"), &format!("\\\\u{high}"));
            }
            serde_json::from_str(&escaped)
        })
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn load_cases() -> Vec<Case> {
    let dir = suite_dir();
    let mut datasets = std::collections::HashMap::new();
    for entry in std::fs::read_dir(dir.join("datasets")).expect("datasets") {
        let path = entry.expect("dataset").path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        datasets.insert(name, read_json(&path));
    }
    let mut groups: Vec<PathBuf> = std::fs::read_dir(dir.join("groups"))
        .expect("groups")
        .map(|e| e.expect("group").path())
        .collect();
    groups.sort();
    let mut cases = Vec::new();
    for group in groups {
        let group_name = group
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&group)
            .expect("group files")
            .map(|e| e.expect("file").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let file_name = file
                .file_name()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let specs = match read_json(&file) {
                Value::Array(items) => items,
                one => vec![one],
            };
            for (index, spec) in specs.into_iter().enumerate() {
                let id = format!("{group_name}/{file_name}#{index}");
                let expr = match (spec.get("expr"), spec.get("expr-file")) {
                    (Some(Value::String(e)), _) => e.clone(),
                    (_, Some(Value::String(f))) => std::fs::read_to_string(group.join(f))
                        .unwrap_or_else(|e| panic!("{id}: {e}")),
                    _ => panic!("{id}: no expression"),
                };
                let input = match (spec.get("data"), spec.get("dataset")) {
                    (Some(data), _) => Some(data.clone()),
                    (None, Some(Value::String(name))) => Some(
                        datasets
                            .get(name)
                            .unwrap_or_else(|| panic!("{id}: no dataset {name}"))
                            .clone(),
                    ),
                    _ => None,
                };
                let bindings = spec
                    .get("bindings")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let expect = if let Some(code) = spec.get("code").and_then(Value::as_str) {
                    Expect::Code(code.to_string())
                } else if let Some(code) = spec.pointer("/error/code").and_then(Value::as_str) {
                    Expect::Code(code.to_string())
                } else if let Some(value) = spec.get("result") {
                    Expect::Result {
                        value: value.clone(),
                        unordered: spec.get("unordered") == Some(&Value::Bool(true)),
                    }
                } else {
                    Expect::Undefined
                };
                cases.push(Case {
                    id,
                    expr,
                    input,
                    bindings,
                    expect,
                });
            }
        }
    }
    cases
}

/// The machine a case runs as: a Pass whose `Output` is the expression, after a Pass that
/// assigns the bindings when there are any.
fn machine(case: &Case) -> Value {
    let expr = format!("{{% {} %}}", case.expr);
    let eval = json!({"Type": "Pass", "Output": expr, "End": true});
    if case.bindings.is_empty() {
        return json!({"QueryLanguage": "JSONata", "StartAt": "Eval", "States": {"Eval": eval}});
    }
    json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Bind",
        "States": {
            "Bind": {"Type": "Pass", "Assign": case.bindings, "Next": "Eval"},
            "Eval": eval
        }
    })
}

/// A number to 15 significant digits, as the suite's own runner compares results
/// (`Number(val.toPrecision(15))` in `test/run-test-suite.js`): `$sum` of prices gives
/// `90.57000000000001` in JavaScript too, and the case expects `90.57`.
fn precision_15(x: f64) -> f64 {
    format!("{x:.14e}").parse().unwrap_or(x)
}

/// Numbers compared by value (`1` and `1.0` are one number in JSONata).
fn same(a: &Value, b: &Value, unordered: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => precision_15(x) == precision_15(y),
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) if unordered => {
            x.len() == y.len() && {
                let mut left: Vec<&Value> = y.iter().collect();
                x.iter().all(|item| {
                    left.iter()
                        .position(|other| same(item, other, true))
                        .map(|i| left.swap_remove(i))
                        .is_some()
                })
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b, false))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same(v, w, false)))
        }
        _ => a == b,
    }
}

/// Why a case failed, or `None` when it passed.
fn judge(case: &Case, execution: &Execution) -> Option<String> {
    let got = || match execution.status {
        ExecutionStatus::Succeeded => {
            format!("output {}", execution.output.clone().unwrap_or_default())
        }
        _ => format!(
            "{:?} {} {}",
            execution.status,
            execution.error.clone().unwrap_or_default(),
            execution.cause.clone().unwrap_or_default()
        ),
    };
    let cause = execution.cause.clone().unwrap_or_default();
    let ok = match &case.expect {
        Expect::Result { value, unordered } => {
            execution.status == ExecutionStatus::Succeeded
                && execution
                    .output
                    .as_ref()
                    .is_some_and(|out| same(out, value, *unordered))
        }
        Expect::Undefined => {
            execution.status == ExecutionStatus::Failed
                && cause.contains("returned nothing (undefined)")
        }
        Expect::Code(code) => {
            execution.status == ExecutionStatus::Failed
                && execution.error.as_deref() == Some("States.QueryEvaluationError")
                && cause.contains(code.as_str())
        }
    };
    (!ok).then(|| {
        let wanted = match &case.expect {
            Expect::Result { value, .. } => format!("result {value}"),
            Expect::Undefined => "undefined".to_string(),
            Expect::Code(code) => format!("error {code}"),
        };
        format!("wanted {wanted}, got {}", got())
    })
}

/// Whether a case is right to be refused at load: it expects that error code.
fn judge_refused(case: &Case, error: &LoadError) -> Option<String> {
    match &case.expect {
        Expect::Code(code) if error.message.contains(code.as_str()) => None,
        _ => Some(format!("refused at load: {error}")),
    }
}

/// Runs cases one after another on a worker thread (each on a current-thread runtime, as a
/// machine's state runs), sending back each verdict.
fn spawn_worker(cases: Arc<Vec<Case>>, from: usize, tx: mpsc::Sender<(usize, Option<String>)>) {
    std::thread::Builder::new()
        .name(format!("jsonata-suite-{from}"))
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            for (index, case) in cases.iter().enumerate().skip(from) {
                let definition = asl::StateMachine::from_value(machine(case));
                let verdict = match definition {
                    Err(e) => Some(format!("the machine is invalid: {e}")),
                    Ok(definition) => match Machine::compile(&definition) {
                        // A syntax error is refused at load, as CreateStateMachine refuses it.
                        Err(e) => judge_refused(case, &e),
                        Ok(definition) => {
                            let engine = Engine::new(definition, Registry::new())
                                .with_clock(Arc::new(ManualClock::fixed()));
                            let input = case.input.clone().unwrap_or_else(|| json!({}));
                            let execution = runtime
                                .block_on(engine.execute(input, ExecutionOptions::default()));
                            judge(case, &execution)
                        }
                    },
                };
                if tx.send((index, verdict)).is_err() {
                    return;
                }
            }
        })
        .expect("worker thread");
}

#[test]
fn official_jsonata_suite() {
    let started = Instant::now();
    let cases = Arc::new(load_cases());
    assert!(cases.len() > 1500, "the suite has {} cases", cases.len());
    let mut verdicts: Vec<Option<Option<String>>> = vec![None; cases.len()];
    let mut next = 0;
    while next < cases.len() {
        let (tx, rx) = mpsc::channel();
        spawn_worker(Arc::clone(&cases), next, tx);
        loop {
            match rx.recv_timeout(CASE_DEADLINE) {
                Ok((index, verdict)) => {
                    verdicts[index] = Some(verdict);
                    next = index + 1;
                    if next == cases.len() {
                        break;
                    }
                }
                Err(_) => {
                    // The case at `next` hung (or its worker died): it fails, and a new worker
                    // takes the cases after it. A hung worker is left behind.
                    verdicts[next] = Some(Some(format!(
                        "no verdict within {} s",
                        CASE_DEADLINE.as_secs()
                    )));
                    next += 1;
                    break;
                }
            }
        }
    }
    let reason_not_expressible = |id: &str| {
        NOT_EXPRESSIBLE
            .iter()
            .find(|(prefix, _)| id.starts_with(prefix))
            .map(|(_, why)| *why)
    };
    let verbose = std::env::var_os("SFN_SUITE_VERBOSE").is_some();
    let (mut scored, mut passed, mut apart, mut unexpected, mut fixed) =
        (0, 0, 0, Vec::new(), Vec::new());
    for (case, verdict) in cases.iter().zip(&verdicts) {
        let failure = verdict.clone().flatten();
        if let Some(why) = reason_not_expressible(&case.id) {
            apart += 1;
            if verbose {
                println!("not expressible: {} ({why}): {:?}", case.id, failure);
            }
            continue;
        }
        scored += 1;
        let known = KNOWN_FAILURES.iter().any(|(id, _)| *id == case.id);
        match failure {
            None => {
                passed += 1;
                if known {
                    fixed.push(case.id.clone());
                }
            }
            Some(why) => {
                if verbose || !known {
                    println!(
                        "FAIL {}: {}\n    {why}",
                        case.id,
                        case.expr.replace('\n', " ")
                    );
                }
                if !known {
                    unexpected.push(case.id.clone());
                }
            }
        }
    }
    let rate = passed as f64 / scored as f64;
    println!(
        "JSONata test suite 2.0.6: {passed} of {scored} scored cases pass ({:.2}%); {apart} cases \
         Step Functions cannot express; {} cases in all, in {:.1} s",
        rate * 100.0,
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        rate >= PASS_RATE_FLOOR,
        "the pass rate {:.2}% is below the floor {:.2}%",
        rate * 100.0,
        PASS_RATE_FLOOR * 100.0
    );
    assert!(
        unexpected.is_empty(),
        "cases that fail and are not known to: {unexpected:?}"
    );
    assert!(
        fixed.is_empty(),
        "known failures that pass now (take them off the list): {fixed:?}"
    );
}
