//! The context object (`$$` in JSONPath, `$states.context` in JSONata), kept in parts and built
//! into JSON only when an expression reads it, so a large execution input is not copied for
//! every state.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::clock::iso;

/// The parts of a state's context object, borrowed from the execution and the state: a
/// context is built for every state, and Map iterations on other threads build theirs from
/// the same execution, so it takes no reference counts.
#[derive(Debug, Clone)]
pub(crate) struct Context<'a> {
    /// `Execution` without `Input`.
    pub execution: &'a Map<String, Value>,
    /// `Execution.Input`.
    pub input: &'a Value,
    /// `StateMachine`.
    pub state_machine: &'a Value,
    /// `State.Name`.
    pub state_name: &'a str,
    /// `State.EnteredTime`.
    pub entered: DateTime<Utc>,
    /// `State.RetryCount`.
    pub retry: u64,
    /// `Task.Token`, for `.waitForTaskToken` tasks.
    pub token: Option<String>,
    /// `Map`: `{"Item": {"Index", "Value"}}` inside a Map iteration or its `ItemSelector`.
    pub map_item: Option<MapItem>,
}

/// The item of a Map iteration, kept in parts: `$$.Map` is built only when a path reads it.
#[derive(Debug, Clone)]
pub(crate) struct MapItem {
    /// `Map.Item.Index`.
    pub index: usize,
    /// `Map.Item.Value`, shared with the iteration's input when there is no `ItemSelector`.
    pub value: Arc<Value>,
}

impl Context<'_> {
    /// The context object as JSON; `Execution.Input` only when `with_input`.
    pub(crate) fn to_value(&self, with_input: bool) -> Value {
        let mut execution = self.execution.clone();
        if with_input {
            execution.insert("Input".into(), self.input.clone());
        }
        let mut ctx = Map::new();
        ctx.insert("Execution".into(), Value::Object(execution));
        ctx.insert(
            "State".into(),
            json!({"EnteredTime": iso(self.entered), "Name": self.state_name, "RetryCount": self.retry}),
        );
        ctx.insert("StateMachine".into(), self.state_machine.clone());
        if let Some(token) = &self.token {
            ctx.insert("Task".into(), json!({"Token": token}));
        }
        if let Some(item) = &self.map_item {
            ctx.insert(
                "Map".into(),
                json!({"Item": {"Index": item.index, "Value": &*item.value}}),
            );
        }
        Value::Object(ctx)
    }
}

/// Whether a JSONata expression may read `Execution.Input` through `$states.context`.
pub(crate) fn jsonata_wants_input(expr: &str) -> bool {
    if expr.contains("Input") {
        return true;
    }
    // Every mention of the context must go to a field other than Execution.Input.
    let specific = [
        "context.State",
        "context.Map",
        "context.Task",
        "context.StateMachine",
        "context.Execution.",
    ];
    expr.match_indices("context").all(|(i, _)| {
        let rest = &expr[i..];
        !specific.iter().any(|s| rest.starts_with(s))
    }) && expr.contains("context")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_is_built_only_when_read() {
        assert!(jsonata_wants_input("$states.context.Execution.Input.a"));
        assert!(jsonata_wants_input("$states.context"));
        assert!(!jsonata_wants_input("$states.context.Map.Item.Value"));
        assert!(!jsonata_wants_input(
            "$states.context.Execution.Name & $states.context.State.Name"
        ));
        let execution = Map::from_iter([("Name".to_owned(), json!("e"))]);
        let (input, state_machine) = (json!({"big": true}), json!({"Name": "m"}));
        let ctx = Context {
            execution: &execution,
            input: &input,
            state_machine: &state_machine,
            state_name: "S",
            entered: DateTime::<Utc>::default(),
            retry: 0,
            token: None,
            map_item: None,
        };
        assert_eq!(
            ctx.to_value(true)["Execution"]["Input"],
            json!({"big": true})
        );
        assert!(ctx.to_value(false)["Execution"].get("Input").is_none());
    }
}
