//! The state machine actions: Create, Update, Describe, List, Delete and
//! ValidateStateMachineDefinition.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::arn::check_name;
use crate::error::ApiError;
use crate::protocol::{decode, next_token, now, page_size, page_start, required};
use crate::service::Service;
use crate::store::MachineRecord;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    name: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateRequest {
    state_machine_arn: Option<String>,
    definition: Option<String>,
    role_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArnRequest {
    state_machine_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListRequest {
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ValidateRequest {
    definition: Option<String>,
}

/// Every problem of a definition: it does not parse, it is not valid ASL, or the engine refuses
/// to load it (a malformed path, intrinsic or JSONata expression, as CreateStateMachine does).
pub(crate) fn problems(definition: &str) -> Vec<(String, String)> {
    match asl::StateMachine::from_json(definition) {
        Err(e) => vec![("/".to_owned(), e.message)],
        Ok(machine) => {
            let problems: Vec<(String, String)> = asl::validate::problems(&machine)
                .into_iter()
                .map(|p| (p.path, p.message))
                .collect();
            if !problems.is_empty() {
                return problems;
            }
            match sfn_local::Machine::compile(&machine) {
                Ok(_) => Vec::new(),
                Err(e) => vec![(e.at, e.message)],
            }
        }
    }
}

/// The definition, checked: `InvalidDefinition` with every problem otherwise.
pub(crate) fn checked(definition: &str) -> Result<(), ApiError> {
    let problems = problems(definition);
    if problems.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = problems
        .iter()
        .map(|(path, message)| format!("SCHEMA_VALIDATION_FAILED: {message} at {path}"))
        .collect();
    Err(ApiError::invalid_definition(format!(
        "Invalid State Machine Definition: '{}'",
        listed.join(", ")
    )))
}

fn kind(kind: Option<&str>) -> Result<&'static str, ApiError> {
    match kind {
        None | Some("STANDARD") => Ok("STANDARD"),
        Some("EXPRESS") => Ok("EXPRESS"),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]"
        ))),
    }
}

/// The machine an ARN names, or `StateMachineDoesNotExist`.
pub(crate) fn find(service: &Service, arn: &str) -> Result<MachineRecord, ApiError> {
    service.config.arns.machine_name(arn)?;
    service.store.machine(arn)?.ok_or_else(|| {
        ApiError::state_machine_does_not_exist(format!("State Machine Does Not Exist: '{arn}'"))
    })
}

/// CreateStateMachine: idempotent for the same name, definition, role and type.
pub(crate) fn create(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: CreateRequest = decode(body)?;
    let name = required(&request.name, "name")?;
    let definition = required(&request.definition, "definition")?;
    let role_arn = required(&request.role_arn, "roleArn")?;
    let kind = kind(request.kind.as_deref())?;
    check_name(name, 80)?;
    checked(definition)?;
    let arn = service.config.arns.state_machine(name);
    if let Some(existing) = service.store.machine(&arn)? {
        if existing.definition == definition
            && existing.role_arn == role_arn
            && existing.kind == kind
        {
            return Ok(json!({"stateMachineArn": arn, "creationDate": existing.created}));
        }
        return Err(ApiError::state_machine_already_exists(format!(
            "State Machine Already Exists: '{arn}'"
        )));
    }
    let record = MachineRecord {
        arn: arn.clone(),
        name: name.to_owned(),
        definition: definition.to_owned(),
        role_arn: role_arn.to_owned(),
        kind: kind.to_owned(),
        created: now(),
    };
    service.store.put_machine(&record)?;
    Ok(json!({"stateMachineArn": arn, "creationDate": record.created}))
}

/// UpdateStateMachine: a new definition or role; running executions keep the old one.
pub(crate) fn update(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: UpdateRequest = decode(body)?;
    let arn = required(&request.state_machine_arn, "stateMachineArn")?;
    let mut machine = find(service, arn)?;
    if let Some(definition) = &request.definition {
        checked(definition)?;
        machine.definition = definition.clone();
    }
    if let Some(role) = &request.role_arn {
        machine.role_arn = role.clone();
    }
    service.store.put_machine(&machine)?;
    Ok(json!({"updateDate": now()}))
}

/// DescribeStateMachine.
pub(crate) fn describe(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: ArnRequest = decode(body)?;
    let machine = find(
        service,
        required(&request.state_machine_arn, "stateMachineArn")?,
    )?;
    Ok(json!({
        "stateMachineArn": machine.arn,
        "name": machine.name,
        "status": "ACTIVE",
        "definition": machine.definition,
        "roleArn": machine.role_arn,
        "type": machine.kind,
        "creationDate": machine.created,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        "tracingConfiguration": {"enabled": false},
    }))
}

/// ListStateMachines, by name, paginated.
pub(crate) fn list(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: ListRequest = decode(body)?;
    let size = page_size(request.max_results, 100)?;
    let start = page_start(request.next_token.as_deref())?;
    let mut machines = service.store.machines(start, size + 1)?;
    let more = machines.len() > size;
    machines.truncate(size);
    let listed: Vec<Value> = machines
        .iter()
        .map(|m| {
            json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind, "creationDate": m.created})
        })
        .collect();
    let mut response = json!({ "stateMachines": listed });
    if more {
        response["nextToken"] = json!(next_token(start + size));
    }
    Ok(response)
}

/// DeleteStateMachine (its executions stay readable).
pub(crate) fn delete(service: &Service, body: &[u8]) -> Result<Value, ApiError> {
    let request: ArnRequest = decode(body)?;
    let arn = required(&request.state_machine_arn, "stateMachineArn")?;
    service.config.arns.machine_name(arn)?;
    service.store.delete_machine(arn)?;
    Ok(json!({}))
}

/// ValidateStateMachineDefinition: `OK`, or `FAIL` with one diagnostic per problem.
pub(crate) fn validate(body: &[u8]) -> Result<Value, ApiError> {
    let request: ValidateRequest = decode(body)?;
    let definition = required(&request.definition, "definition")?;
    let diagnostics: Vec<Value> = problems(definition)
        .into_iter()
        .map(|(path, message)| {
            json!({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": message, "location": path})
        })
        .collect();
    Ok(json!({
        "result": if diagnostics.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": false,
    }))
}
