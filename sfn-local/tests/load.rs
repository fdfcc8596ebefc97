//! Definitions the service refuses at CreateStateMachine are refused when the machine is
//! compiled ([`Machine::compile`]), naming the field, not in the middle of a run. The classes:
//! a transition to no state, a malformed JSONPath path or reference path, a malformed payload
//! template or intrinsic function, a malformed Choice rule, a Wait `Timestamp` that is not an
//! offset date-time, `Credentials` without `RoleArn`, and JSONata that does not parse.
//! The service's validation (the "Amazon States Language" specification, "Errors" and
//! "Paths"; CreateStateMachine's `InvalidDefinition`) names the field by its path in the
//! definition, as `at` does here.

use std::sync::Arc;

use serde_json::{Value, json};
use sfn_local::{
    Engine, ExecutionOptions, ExecutionStatus, LoadError, LoadErrorKind, Machine, ManualClock,
    Registry,
};

fn compile(definition: Value) -> Result<Machine, LoadError> {
    let definition = asl::StateMachine::from_value(definition).expect("the definition parses");
    Machine::compile(&definition)
}

fn refused(definition: Value) -> LoadError {
    compile(definition).expect_err("refused at load")
}

fn pass_with(fields: Value) -> Value {
    let mut state = json!({"Type": "Pass", "End": true});
    state
        .as_object_mut()
        .expect("an object")
        .extend(fields.as_object().expect("an object").clone());
    json!({"StartAt": "Foo", "States": {"Foo": state}})
}

#[test]
fn a_transition_to_no_state_is_refused() {
    let e = refused(json!({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::Transition, "StartAt")
    );
    assert!(e.message.contains("'Nope'"), "{e}");

    let e = refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::Transition, "States.A.Next")
    );

    let e = refused(json!({"StartAt": "A", "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Missing"}]}
    }}));
    assert_eq!(e.at, "States.A.Catch[0].Next");

    let e = refused(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "D"}],
              "Default": "Gone"},
        "D": {"Type": "Succeed"}
    }}));
    assert_eq!(e.at, "States.C.Default");

    // Inside a Map's processor: the path goes through it.
    let e = refused(json!({"StartAt": "Each", "States": {
        "Each": {"Type": "Map", "End": true, "ItemProcessor": {
            "StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}}
    }}));
    assert_eq!(e.at, "States.Each.ItemProcessor.States.X.Next");

    // A state with neither Next nor End.
    let e = refused(json!({"StartAt": "A", "States": {"A": {"Type": "Pass"}}}));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::Transition, "States.A.Next")
    );
}

#[test]
fn a_malformed_path_is_refused() {
    for (fields, at) in [
        (
            json!({"InputPath": "$.a[?(@.b >)]"}),
            "States.Foo.InputPath",
        ),
        (json!({"OutputPath": "a.b"}), "States.Foo.OutputPath"),
        (json!({"ResultPath": "$.a["}), "States.Foo.ResultPath"),
        // ResultPath must be a reference path: one node, from `$`.
        (json!({"ResultPath": "$.a[*]"}), "States.Foo.ResultPath"),
        (
            json!({"ResultPath": "$$.Execution.Id"}),
            "States.Foo.ResultPath",
        ),
    ] {
        let e = refused(pass_with(fields.clone()));
        assert_eq!(
            (e.kind, e.at.as_str()),
            (LoadErrorKind::JsonPath, at),
            "{fields}"
        );
    }
    let e = refused(json!({"StartAt": "W", "States": {
        "W": {"Type": "Wait", "SecondsPath": "$.s[", "End": true}}}));
    assert_eq!(e.at, "States.W.SecondsPath");
}

#[test]
fn a_malformed_payload_template_is_refused_naming_its_key() {
    let e = refused(pass_with(json!({"Parameters": {"x.$": "$.a[?(@.b >)]"}})));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::JsonPath, "States.Foo.Parameters.x.$")
    );
    let e = refused(pass_with(json!({"Parameters": {"outer": {"x.$": "nope"}}})));
    assert_eq!(e.at, "States.Foo.Parameters.outer.x.$");
    // A `.$` value must be a string.
    let e = refused(pass_with(json!({"Parameters": {"x.$": 3}})));
    assert_eq!(e.at, "States.Foo.Parameters.x.$");
    let e = refused(json!({"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
        "ResultSelector": {"body.$": "$..["}}}}));
    assert_eq!(e.at, "States.T.ResultSelector.body.$");
}

#[test]
fn a_malformed_intrinsic_function_is_refused() {
    for (expression, says) in [
        ("States.Nope($.a)", "not an intrinsic function"),
        ("States.Format('{}', $.a", "missing ')'"),
        ("States.Format('{}', $.a[)", "Invalid intrinsic function"),
        ("States.Array(1) trailing", "unexpected text"),
        // Recorded: only \', \{, \} and \\ are escapes (test_illegal_escapes).
        (
            r#"States.StringToJson('{"text":"An \"escaped\" quote"}')"#,
            "not an escape",
        ),
    ] {
        let e = refused(pass_with(json!({"Parameters": {"x.$": expression}})));
        assert_eq!(
            (e.kind, e.at.as_str()),
            (LoadErrorKind::Intrinsic, "States.Foo.Parameters.x.$"),
            "{expression}"
        );
        assert!(e.message.contains(says), "{expression}: {e}");
    }
    let e = refused(json!({"StartAt": "F", "States": {
        "F": {"Type": "Fail", "CausePath": "States.Format('{}'"}}}));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::Intrinsic, "States.F.CausePath")
    );
}

#[test]
fn a_wait_timestamp_that_is_not_an_offset_date_time_is_refused() {
    // Recorded in localstack's test_wait_timestamp_invalid: "SCHEMA_VALIDATION_FAILED: String
    // does not match RFC3339 timestamp at /States/WaitUntil/Timestamp".
    for stamp in [
        "2016-12-05 21:29:29Z",
        "2016-12-05T21:29:29",
        "2016-13-05T21:29:29Z",
        "2016-12-05T25:29:29Z",
        "05-12-2016T21:29:29Z",
        "{% '2016-03-14T01:59:00Z' %}",
    ] {
        let e = refused(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Timestamp": stamp, "End": true}}}));
        assert_eq!(
            (e.kind, e.at.as_str()),
            (LoadErrorKind::Definition, "States.W.Timestamp"),
            "{stamp}"
        );
    }
    for stamp in [
        "2016-03-14T01:59:00Z",
        "2016-03-05T21:29:29.243167252+01:00",
    ] {
        compile(json!({"StartAt": "W", "States": {
            "W": {"Type": "Wait", "Timestamp": stamp, "End": true}}}))
        .unwrap_or_else(|e| panic!("{stamp}: {e}"));
    }
}

#[test]
fn credentials_without_a_role_arn_are_refused() {
    // Recorded in localstack's test_invalid_credentials_field: "The field 'RoleArn' is required
    // but was missing at /States/State0/Credentials".
    for credentials in [json!({}), json!({"InvalidField": "invalid"})] {
        let e = refused(json!({"StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "f"}, "Credentials": credentials, "End": true}}}));
        assert_eq!(
            (e.kind, e.at.as_str()),
            (LoadErrorKind::Definition, "States.T.Credentials")
        );
    }
}

#[test]
fn a_malformed_choice_rule_is_refused() {
    let e = refused(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.ok", "BooleanEquals": true, "Next": "D"},
            {"Variable": "$.n[", "NumericEquals": 1, "Next": "D"}
        ]},
        "D": {"Type": "Succeed"}
    }}));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::JsonPath, "States.C.Choices[1]")
    );
    let e = refused(json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericEqualsPath": "n", "Next": "D"}]},
        "D": {"Type": "Succeed"}
    }}));
    assert_eq!(e.at, "States.C.Choices[0]");
}

#[test]
fn jsonata_that_does_not_parse_is_refused() {
    let jsonata = |state: Value| json!({"QueryLanguage": "JSONata", "StartAt": "Foo", "States": {"Foo": state}});
    let e = refused(jsonata(
        json!({"Type": "Pass", "Output": "{% 1 + %}", "End": true}),
    ));
    assert_eq!(
        (e.kind, e.at.as_str()),
        (LoadErrorKind::Jsonata, "States.Foo.Output")
    );
    assert!(e.message.contains("S0"), "the library's code: {e}");
    let e = refused(jsonata(json!({
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
        "Arguments": {"FunctionName": "f", "Payload": {"q": "{% $states.input.( %}"}}
    })));
    assert_eq!(e.at, "States.Foo.Arguments.Payload.q");
    // JSONata 2.1's operators are syntax errors in the service's 2.0.6.
    let e = refused(jsonata(
        json!({"Type": "Pass", "Output": "{% $x ?? 1 %}", "End": true}),
    ));
    assert!(e.message.contains("2.1"), "{e}");
    let e = refused(jsonata(json!({
        "Type": "Choice", "Choices": [{"Condition": "{% $states.input.a = %}", "Next": "Foo"}]
    })));
    assert_eq!(e.at, "States.Foo.Choices[0].Condition");
    let e = refused(jsonata(json!({
        "Type": "Pass", "End": true, "Assign": {"n": "{% ) %}"}
    })));
    assert_eq!(e.at, "States.Foo.Assign.n");
}

#[tokio::test]
async fn a_compiled_machine_runs_any_number_of_executions() {
    let machine = compile(json!({
        "QueryLanguage": "JSONata",
        "StartAt": "Double",
        "States": {"Double": {"Type": "Pass", "Output": "{% $states.input.n * 2 %}", "End": true}}
    }))
    .expect("compiles");
    assert_eq!(machine.query_language(), asl::QueryLanguage::JSONata);
    let engine = Engine::new(machine, Registry::new()).with_clock(Arc::new(ManualClock::fixed()));
    for n in 0..3 {
        let execution = engine
            .execute(json!({"n": n}), ExecutionOptions::default())
            .await;
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.output, Some(json!(n * 2)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_engine_runs_executions_on_several_tasks_at_once() {
    // What a server does: compile once at CreateStateMachine, start executions from requests.
    let machine = compile(json!({
        "StartAt": "Each",
        "States": {"Each": {"Type": "Map", "ItemsPath": "$.items", "End": true,
            "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}}}}
    }))
    .expect("compiles");
    let engine = Arc::new(Engine::new(machine, Registry::new()));
    let runs: Vec<_> = (0..4)
        .map(|n| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .execute(json!({"items": [n, n + 1]}), ExecutionOptions::default())
                    .await
            })
        })
        .collect();
    for (n, run) in runs.into_iter().enumerate() {
        let execution = run.await.expect("the task ends");
        assert_eq!(execution.status, ExecutionStatus::Succeeded);
        assert_eq!(execution.output, Some(json!([n, n + 1])));
    }
}

/// Two forms the service accepts (recorded in localstack's `test_base_scenarios` snapshots,
/// `test_choice_condition_constant_jsonata` and `test_map_state_legacy_config_inline`): a
/// JSONata Choice `Condition` written as a boolean literal, and a legacy Map `Iterator` holding
/// a `ProcessorConfig`. Both parse, validate and compile.
#[test]
fn a_boolean_condition_and_an_iterator_with_processor_config_are_valid() {
    for definition in [
        json!({"QueryLanguage": "JSONata", "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Condition": true, "Next": "P"}], "Default": "P"},
            "P": {"Type": "Pass", "End": true}}}),
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Iterator": {
            "ProcessorConfig": {"Mode": "INLINE"},
            "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}),
    ] {
        let parsed = asl::StateMachine::from_value(definition).expect("the definition parses");
        assert_eq!(asl::validate(&parsed).map_err(|e| e.to_string()), Ok(()));
        Machine::compile(&parsed).expect("compiles");
    }
    let rule = json!({"Condition": 1, "Next": "P"});
    assert!(serde_json::from_value::<asl::ChoiceRule>(rule).is_err());
}

/// A `WriterConfig` field that is not a string is refused naming it, as a `ReaderConfig` one is
/// (not read as absent).
#[test]
fn a_writer_config_field_that_is_not_a_string_is_refused() {
    for field in ["Transformation", "OutputType"] {
        let definition = json!({"StartAt": "M", "States": {"M": {
            "Type": "Map", "End": true,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}
            },
            "ResultWriter": {"WriterConfig": {field: 1}}
        }}});
        let e = refused(definition);
        assert_eq!(e.kind, LoadErrorKind::Definition, "{e}");
        assert!(
            e.at.ends_with(&format!("ResultWriter.WriterConfig.{field}")),
            "{e}"
        );
        assert!(e.to_string().contains("must be a string"), "{e}");
    }
}
