//! TestState: one state, run with an input as the service runs it, without a state machine.
//!
//! The state runs inside a small machine of its own: the state itself, a Pass state before it
//! that assigns the request's `variables`, and a Succeed state for each state it may go to
//! (`Next`, a Choice's rules and `Default`, a Catcher's `Next`), so the next state is the one
//! entered after it. Its Retriers are taken out: an error one of them matches is `RETRIABLE`,
//! as the service reports it, without waiting.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sfn_local::{Engine, ExecutionOptions, ExecutionStatus, Failure};

use crate::error::ApiError;
use crate::protocol::{decode, json_text, required};
use crate::service::{DEFAULT_ROLE, Service};

/// The tested state's name inside its machine.
const TESTED: &str = "TestState";
/// The state that assigns the variables.
const VARIABLES: &str = "TestState Variables";
/// How long a tested state may run (a `.waitForTaskToken` task nobody answers, say).
const TIMEOUT_SECONDS: u64 = 300;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TestRequest {
    definition: Option<String>,
    role_arn: Option<String>,
    input: Option<String>,
    variables: Option<String>,
}

/// The names a state may go to.
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let mut found = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(name)) = v
            && !found.contains(name)
        {
            found.push(name.clone());
        }
    };
    add(state.get("Next"));
    add(state.get("Default"));
    for list in ["Choices", "Catch"] {
        if let Some(Value::Array(items)) = state.get(list) {
            for item in items {
                add(item.get("Next"));
            }
        }
    }
    found
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_definition(format!("Invalid State Machine Definition: '{message}'"))
}

/// TestState.
pub(crate) async fn run(service: &Arc<Service>, body: &[u8]) -> Result<Value, ApiError> {
    let request: TestRequest = decode(body)?;
    let definition = required(&request.definition, "definition")?;
    required(&request.role_arn, "roleArn")?;
    let input_text = request.input.as_deref().unwrap_or("{}");
    let input = json_text(input_text, "the input").map_err(ApiError::invalid_execution_input)?;
    let mut state: Map<String, Value> = serde_json::from_str(definition)
        .map_err(|e| invalid(format!("the state is not a JSON object: {e}")))?;
    let retriers = state.remove("Retry");
    let mut states = Map::new();
    let mut start_at = TESTED;
    if let Some(variables) = &request.variables {
        let variables: Value = serde_json::from_str(variables)
            .map_err(|e| ApiError::validation(format!("the variables are not JSON: {e}")))?;
        states.insert(
            VARIABLES.into(),
            json!({"Type": "Pass", "QueryLanguage": "JSONata", "Assign": variables, "Next": TESTED}),
        );
        start_at = VARIABLES;
    }
    for target in targets(&state) {
        if target == TESTED || target == VARIABLES {
            return Err(invalid(format!(
                "`{target}` is the name TestState gives the tested state; name the next state otherwise"
            )));
        }
        states.insert(target, json!({"Type": "Succeed"}));
    }
    states.insert(TESTED.into(), Value::Object(state));
    let machine = json!({"StartAt": start_at, "TimeoutSeconds": TIMEOUT_SECONDS, "States": states});
    let text = machine.to_string();
    let parsed = asl::StateMachine::from_json(&text).map_err(|e| invalid(e.message))?;
    if let Err(errors) = asl::validate(&parsed) {
        return Err(invalid(errors));
    }
    let compiled = sfn_local::Machine::compile(&parsed).map_err(|e| invalid(e.to_string()))?;
    let engine = Engine::new(compiled, service.registry(&test_machine(&text), &machine))
        .with_task_tokens(service.tokens.clone());
    let options = ExecutionOptions {
        state_machine_name: Some("TestState".to_owned()),
        role_arn: request.role_arn.clone().or(Some(DEFAULT_ROLE.to_owned())),
        region: Some(service.config.arns.region.clone()),
        account: Some(service.config.arns.account.clone()),
        ..ExecutionOptions::default()
    };
    let execution = engine.execute(input.clone(), options).await;

    // The first error the tested state met, and the state entered after it.
    let error = execution.history.iter().find_map(|e| {
        let error = e.detail("error")?.as_str()?.to_owned();
        let cause = e
            .detail("cause")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        Some((error, cause))
    });
    let next = execution.history.iter().find_map(|e| {
        let name = e.detail("name")?.as_str()?;
        (e.event_type.ends_with("StateEntered") && name != TESTED && name != VARIABLES)
            .then(|| name.to_owned())
    });
    let mut response = json!({"inspectionData": {"input": input_text}});
    if let (Some((error, cause)), Some(Value::Array(retriers))) = (&error, &retriers) {
        let failure = Failure::new(error.clone(), cause.clone());
        let retried = retriers.iter().any(|r| {
            r.get("ErrorEquals")
                .and_then(|e| serde_json::from_value::<Vec<String>>(e.clone()).ok())
                .is_some_and(|names| failure.matches(&names))
        });
        if retried {
            response["status"] = json!("RETRIABLE");
            response["error"] = json!(error);
            response["cause"] = json!(cause);
            return Ok(response);
        }
    }
    match (execution.status, &error) {
        (ExecutionStatus::Succeeded, Some((error, cause))) => {
            response["status"] = json!("CAUGHT_ERROR");
            response["error"] = json!(error);
            response["cause"] = json!(cause);
        }
        (ExecutionStatus::Succeeded, None) => response["status"] = json!("SUCCEEDED"),
        _ => {
            response["status"] = json!("FAILED");
            response["error"] = json!(execution.error.clone().unwrap_or_default());
            response["cause"] = json!(execution.cause.clone().unwrap_or_default());
            return Ok(response);
        }
    }
    if let Some(output) = &execution.output {
        response["output"] = json!(output.to_string());
    }
    if let Some(next) = next {
        response["nextState"] = json!(next);
    }
    Ok(response)
}

/// The stand-in record of the tested state's machine (for its task registry).
fn test_machine(definition: &str) -> crate::store::MachineRecord {
    crate::store::MachineRecord {
        arn: String::new(),
        name: String::new(),
        definition: definition.to_owned(),
        role_arn: DEFAULT_ROLE.to_owned(),
        kind: "STANDARD".to_owned(),
        created: 0.0,
    }
}
