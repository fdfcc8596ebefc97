//! Parsing with errors that name the state and the field.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ParseError;
use crate::model::{State, StateMachine, States};

impl StateMachine {
    /// Parses a definition from JSON text.
    ///
    /// An unknown field or a wrong type is an error naming the state (with its enclosing Map or
    /// Parallel) and the field.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        serde_json::from_str(text).map_err(|e| ParseError::new(e.to_string()))
    }

    /// Parses a definition from a JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        serde_json::from_value(value).map_err(|e| ParseError::new(e.to_string()))
    }

    /// The definition as pretty JSON, in AWS's field names.
    pub fn to_json_pretty(&self) -> String {
        // A machine holds only string-keyed maps and JSON values, so serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The definition as a JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Deserializes `States`, parsing each state on its own so an error says which state it is in.
pub(crate) fn states<'de, D: Deserializer<'de>>(deserializer: D) -> Result<States, D::Error> {
    use serde::de::Error;
    let raw = indexmap::IndexMap::<String, Value>::deserialize(deserializer)?;
    let mut states = States::with_capacity(raw.len());
    for (name, value) in raw {
        let state = parse_state(&name, value).map_err(D::Error::custom)?;
        states.insert(name, state);
    }
    Ok(states)
}

fn parse_state(name: &str, value: Value) -> Result<State, String> {
    let kind = match &value {
        Value::Object(fields) => match fields.get("Type") {
            Some(Value::String(kind)) => kind.clone(),
            Some(other) => {
                return Err(format!(
                    "State \"{name}\": field `Type` must be a string, found {other}"
                ));
            }
            None => return Err(format!("State \"{name}\": missing field `Type`")),
        },
        other => {
            return Err(format!(
                "State \"{name}\": a state must be a JSON object, found {other}"
            ));
        }
    };
    State::deserialize(value).map_err(|e| {
        let message = e.to_string();
        // Errors from nested states already start with their own `State "…"` path.
        if message.starts_with("State \"") {
            format!("{} \"{name}\" > {message}", container_word(&kind))
        } else {
            format!("State \"{name}\" ({kind}): {message}")
        }
    })
}

fn container_word(kind: &str) -> &'static str {
    match kind {
        "Map" => "Map",
        "Parallel" => "Parallel",
        _ => "State",
    }
}
