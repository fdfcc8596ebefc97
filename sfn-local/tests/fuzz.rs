//! A fuzz run in the tests: random JSONPath paths and filters, intrinsic functions, JSONata
//! expressions and state machine shapes, with a fixed seed and a bounded number of cases. Each
//! execution must end (succeed or fail with a named error) without a panic and within a time
//! limit; what it answers is not checked.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use sfn_local::{Engine, ExecutionOptions, ExecutionStatus, Machine, ManualClock, Registry};

/// The longest one execution may take (debug build, a busy machine).
const TIME_LIMIT: Duration = Duration::from_secs(10);

/// Cases per kind of input: the whole file stays within some seconds in a debug build.
const CASES: u32 = 150;

fn runner() -> TestRunner {
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// Runs `definition` (when it loads) on `input`, and checks it ended in time with a status.
fn execute(runtime: &tokio::runtime::Runtime, definition: Value, input: Value) {
    let Ok(machine) = asl::StateMachine::from_value(definition.clone()) else {
        return;
    };
    // A definition the service would refuse is refused when compiled, with a reason.
    let machine = match Machine::compile(&machine) {
        Ok(machine) => machine,
        Err(e) => {
            assert!(!e.message.is_empty(), "{definition} refused with no reason");
            return;
        }
    };
    let engine = Engine::new(machine, Registry::new()).with_clock(Arc::new(ManualClock::fixed()));
    let started = Instant::now();
    let execution = runtime.block_on(engine.execute(input, ExecutionOptions::default()));
    assert!(
        started.elapsed() < TIME_LIMIT,
        "{definition} took {:?}",
        started.elapsed()
    );
    // A failure names its error (every state here that fails does).
    assert!(
        execution.status != ExecutionStatus::Failed || execution.error.is_some(),
        "{definition} failed with no error name: {:?}",
        execution.cause
    );
}

fn input() -> Value {
    json!({
        "a": 1,
        "s": "aaaaaaaaaaaaaaaaaaaa!",
        "items": [{"a": 1, "s": "x"}, {"a": 2, "tags": ["t"]}, 3, null],
        "o": {"b": {"c": [1, 2, 3]}},
        "n": -2.5
    })
}

/// Strings over `alphabet`, up to `max` pieces long.
fn text(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(alphabet), 0..max).prop_map(|p| p.concat())
}

const PATH_PIECES: &[&str] = &[
    "$",
    "$$",
    "@",
    ".",
    "..",
    "a",
    "s",
    "items",
    "o",
    "b",
    "c",
    "[",
    "]",
    "(",
    ")",
    "?(",
    "*",
    "0",
    "-1",
    "1:",
    ":2",
    ",",
    "'a'",
    "\"s\"",
    " == ",
    " != ",
    " < ",
    " >= ",
    " =~ ",
    "/a+/",
    "/(a+)+$/i",
    " && ",
    " || ",
    "!",
    " in ",
    " nin ",
    " size ",
    " empty ",
    "[1,2]",
    "true",
    "null",
    ".length()",
    ".sum()",
    ".keys()",
    " ",
    "\\",
    "'",
];

const INTRINSIC_PIECES: &[&str] = &[
    "States.Array(",
    "States.Format(",
    "States.StringToJson(",
    "States.JsonToString(",
    "States.MathAdd(",
    "States.MathRandom(",
    "States.ArrayRange(",
    "States.ArrayPartition(",
    "States.Hash(",
    "States.UUID(",
    "States.Base64Encode(",
    "States.ArrayLength(",
    "States.ArrayGetItem(",
    "States.StringSplit(",
    "States.ArrayUnique(",
    ")",
    ",",
    "'{}'",
    "'a,b'",
    "'SHA-1'",
    "1",
    "-3",
    "1e300",
    "99999999999",
    "$.a",
    "$.items",
    "$$.Execution.Id",
    "$.s",
    "'",
    "\\",
    " ",
];

const JSONATA_PIECES: &[&str] = &[
    "$states.input",
    ".a",
    ".items",
    "[0]",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "\"k\": ",
    "1",
    "-",
    "+",
    "*",
    "/",
    "%",
    " & ",
    " = ",
    " != ",
    " < ",
    " and ",
    " or ",
    " in ",
    "?",
    ":",
    ";",
    ",",
    "$x := ",
    "$x",
    "function($n){ $n }",
    "$f",
    "$count(",
    "$string(",
    "$formatNumber(",
    "$formatInteger(",
    "$substring(",
    "$map(",
    "$reduce(",
    "$sum(",
    "$random()",
    "$uuid()",
    "$parse(",
    "$hash(",
    "$partition(",
    "$range(",
    "1e300",
    "'#,##0.00'",
    "'w'",
    "\"a\"",
    "..",
    "~>",
    "^(",
    "#$i",
    "@$v",
    "%",
    "**",
    " ",
    "'",
    "\\",
];

#[test]
fn random_jsonpath_paths_and_filters_end_cleanly() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runner()
        .run(&text(PATH_PIECES, 24), |path| {
            let definition = json!({
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Parameters": {"v.$": path.clone()}, "InputPath": format!("${path}"), "End": true}}
            });
            execute(&runtime, definition, input());
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_intrinsics_end_cleanly() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runner()
        .run(&text(INTRINSIC_PIECES, 24), |expr| {
            let definition = json!({
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Parameters": {"v.$": expr}, "End": true}}
            });
            execute(&runtime, definition, input());
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_jsonata_expressions_end_cleanly() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runner()
        .run(&text(JSONATA_PIECES, 24), |expr| {
            let definition = json!({
                "QueryLanguage": "JSONata",
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Output": format!("{{% {expr} %}}"), "End": true}}
            });
            execute(&runtime, definition, input());
            Ok(())
        })
        .unwrap();
}

/// One state of a random machine: its type and the indexes of the states it may go to.
fn state(index: usize, count: usize, shape: u8, next: usize, other: usize) -> (String, Value) {
    let name = format!("S{index}");
    let next = format!("S{}", next % count);
    let other = format!("S{}", other % count);
    let state = match shape % 8 {
        0 => {
            json!({"Type": "Pass", "Parameters": {"a.$": "States.MathAdd($.a, 1)", "s.$": "$.s"}, "Next": next})
        }
        1 => {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericLessThan": 5, "Next": next}], "Default": other})
        }
        2 => {
            json!({"Type": "Choice", "Choices": [{"Variable": "$.missing", "IsPresent": true, "Next": next}]})
        }
        3 => json!({"Type": "Succeed"}),
        4 => json!({"Type": "Fail", "Error": "Random", "Cause": "chosen"}),
        5 => {
            json!({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "ResultPath": "$.mapped", "Next": next})
        }
        6 => {
            json!({"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 1, "End": true}}}], "ResultPath": "$.p", "Next": next})
        }
        _ => json!({"Type": "Wait", "Seconds": 1, "Next": next}),
    };
    (name, state)
}

#[test]
fn random_state_machine_shapes_end_cleanly() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let shapes = (1usize..8).prop_flat_map(|count| {
        proptest::collection::vec((any::<u8>(), any::<usize>(), any::<usize>()), count)
    });
    runner()
        .run(&shapes, |states| {
            let count = states.len();
            let states: serde_json::Map<String, Value> = states
                .into_iter()
                .enumerate()
                .map(|(i, (shape, next, other))| state(i, count, shape, next, other))
                .collect();
            let definition = json!({"StartAt": "S0", "States": states});
            execute(
                &runtime,
                definition,
                json!({"a": 0, "s": "x", "items": [1, 2, 3]}),
            );
            Ok(())
        })
        .unwrap();
}
