//! Parsing with errors that name the state and the field.
//!
//! Each state is parsed on its own, by its `Type`, through `serde_path_to_error`, so an error
//! reads `State "Get weather" (Task): field `TimeoutSeconds`: invalid type: …` rather than
//! serde's bare `invalid type: …`. Errors inside a Map's processor or a Parallel's branches are
//! prefixed with the enclosing states: `Map "Run tools" > State "Run tool" (Task): …`.
//!
//! Duplicate keys: two states with the same name in one `States` object are an error. For any
//! other JSON object (the fields of a state, `Parameters`, …) serde_json keeps the last value
//! of a repeated key, as JavaScript's `JSON.parse` does. State names repeated across nested
//! scopes are reported by [`crate::validate`].

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map as JsonMap, Value};

use crate::error::ParseError;
use crate::model::{
    Choice, Fail, Map, NumberOrExpression, Parallel, Pass, State, StateMachine, States, Succeed,
    Task, Wait,
};

/// The `Type`s a state may have, as AWS spells them.
pub const STATE_TYPES: &[&str] = &[
    "Task", "Choice", "Map", "Parallel", "Pass", "Wait", "Succeed", "Fail",
];

impl StateMachine {
    /// Parses a definition from JSON text.
    ///
    /// An unknown field or a wrong type is an error naming the state (with its enclosing Map or
    /// Parallel) and the field.
    pub fn from_json(text: &str) -> Result<Self, ParseError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let machine: StateMachine = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|e| ParseError::new(machine_error(e)))?;
        deserializer
            .end()
            .map_err(|e| ParseError::new(e.to_string()))?;
        Ok(machine)
    }

    /// Parses a definition from a JSON value.
    pub fn from_value(value: Value) -> Result<Self, ParseError> {
        serde_path_to_error::deserialize(value).map_err(|e| ParseError::new(machine_error(e)))
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

/// Words an error message about a state starts with; such a message already names its place.
fn names_a_state(message: &str) -> bool {
    ["State \"", "Map \"", "Parallel \""]
        .iter()
        .any(|prefix| message.starts_with(prefix))
}

fn machine_error<E: fmt::Display>(error: serde_path_to_error::Error<E>) -> String {
    let path = error.path().to_string();
    let message = error.into_inner().to_string();
    if names_a_state(&message) {
        message
    } else {
        locate("StateMachine", &path, &message)
    }
}

/// `{place}: field `{path}`: {message}`, leaving out the field when serde's message names it.
fn locate(place: &str, path: &str, message: &str) -> String {
    let names_field = message.starts_with("unknown field") || message.starts_with("missing field");
    if path == "." || path.is_empty() || (names_field && !path.contains(['.', '['])) {
        format!("{place}: {message}")
    } else if names_field {
        // An unknown field inside a nested object: name the object it is in.
        let parent = path.rsplit_once('.').map_or(path, |(parent, _)| parent);
        format!("{place}: in `{parent}`: {message}")
    } else {
        format!("{place}: field `{path}`: {message}")
    }
}

/// Deserializes `States`, parsing each state on its own so an error says which state it is in,
/// and refusing a name used twice in the same object.
pub(crate) fn states<'de, D: Deserializer<'de>>(deserializer: D) -> Result<States, D::Error> {
    deserializer.deserialize_map(StatesVisitor)
}

struct StatesVisitor;

impl<'de> Visitor<'de> for StatesVisitor {
    type Value = States;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of states by name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<States, A::Error> {
        use serde::de::Error;
        let mut states = States::with_capacity(access.size_hint().unwrap_or(0));
        while let Some(name) = access.next_key::<String>()? {
            let value: Value = access.next_value()?;
            if states.contains_key(&name) {
                return Err(A::Error::custom(format!(
                    "State \"{name}\": the name is used twice in the same `States` object"
                )));
            }
            let state = parse_state(&name, value).map_err(A::Error::custom)?;
            states.insert(name, state);
        }
        Ok(states)
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        let (kind, fields) = split_type(value)?;
        state_of_kind(&kind, fields).map_err(|e| {
            let path = e.path().to_string();
            D::Error::custom(locate(
                &format!("({kind})"),
                &path,
                &e.into_inner().to_string(),
            ))
        })
    }
}

impl<'de> Deserialize<'de> for NumberOrExpression {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(deserializer)? {
            Value::Number(n) => Ok(NumberOrExpression::Number(n)),
            Value::String(s) => Ok(NumberOrExpression::Expression(s)),
            other => Err(D::Error::custom(format!(
                "invalid type: {}, expected a number or a JSONata expression string",
                kind_of(&other)
            ))),
        }
    }
}

/// Splits a state's JSON into its `Type` and its other fields.
fn split_type<E: serde::de::Error>(value: Value) -> Result<(String, JsonMap<String, Value>), E> {
    let mut fields = match value {
        Value::Object(fields) => fields,
        other => {
            return Err(E::custom(format!(
                "a state must be a JSON object, found {}",
                kind_of(&other)
            )));
        }
    };
    match fields.remove("Type") {
        Some(Value::String(kind)) if STATE_TYPES.contains(&kind.as_str()) => Ok((kind, fields)),
        Some(Value::String(kind)) => Err(E::custom(format!(
            "unknown `Type` \"{kind}\", expected one of {}",
            STATE_TYPES.join(", ")
        ))),
        Some(other) => Err(E::custom(format!(
            "field `Type` must be a string, found {}",
            kind_of(&other)
        ))),
        None => Err(E::custom("missing field `Type`")),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

type FieldError = serde_path_to_error::Error<serde_json::Error>;

fn state_of_kind(kind: &str, fields: JsonMap<String, Value>) -> Result<State, FieldError> {
    fn typed<T: DeserializeOwned>(fields: JsonMap<String, Value>) -> Result<Box<T>, FieldError> {
        serde_path_to_error::deserialize(Value::Object(fields)).map(Box::new)
    }
    Ok(match kind {
        "Task" => State::Task(typed::<Task>(fields)?),
        "Choice" => State::Choice(typed::<Choice>(fields)?),
        "Map" => State::Map(typed::<Map>(fields)?),
        "Parallel" => State::Parallel(typed::<Parallel>(fields)?),
        "Pass" => State::Pass(typed::<Pass>(fields)?),
        "Wait" => State::Wait(typed::<Wait>(fields)?),
        "Succeed" => State::Succeed(typed::<Succeed>(fields)?),
        // `split_type` only lets the eight known types through.
        _ => State::Fail(typed::<Fail>(fields)?),
    })
}

/// Parses one named state; the error names the state, its type and the field.
fn parse_state(name: &str, value: Value) -> Result<State, String> {
    let (kind, fields) =
        split_type::<serde_json::Error>(value).map_err(|e| format!("State \"{name}\": {e}"))?;
    state_of_kind(&kind, fields).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if names_a_state(&message) {
            // An error in a nested state: put this state in front of its path.
            let word = if kind == "Parallel" {
                "Parallel"
            } else if kind == "Map" {
                "Map"
            } else {
                "State"
            };
            match branch_index(&path) {
                Some(i) => format!("{word} \"{name}\" > Branch {} > {message}", i + 1),
                None => format!("{word} \"{name}\" > {message}"),
            }
        } else {
            locate(&format!("State \"{name}\" ({kind})"), &path, &message)
        }
    })
}

/// The branch number in a path such as `Branches[1].States`.
fn branch_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("Branches[")?;
    rest.split(']').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match StateMachine::from_json(text) {
            Ok(_) => String::from("parsed"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn unknown_field_names_state_and_field() {
        let message = error(
            r#"{"StartAt":"Get weather","States":{"Get weather":{"Type":"Task","Resourse":"arn:x","End":true}}}"#,
        );
        assert!(
            message.starts_with(
                "State \"Get weather\" (Task): unknown field `Resourse`, expected one of"
            ),
            "{message}"
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let message = error(
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:x","End":true,
               "Retry":[{"ErrorEquals":["States.ALL"],"MaxAttempts":"three"}]}}}"#,
        );
        assert!(
            message.starts_with(
                "State \"A\" (Task): field `Retry[0].MaxAttempts`: invalid type: string \"three\""
            ),
            "{message}"
        );
    }

    #[test]
    fn number_or_expression_says_what_it_expects() {
        let message = error(
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":true,"End":true}}}"#,
        );
        assert!(
            message.starts_with(
                "State \"A\" (Task): field `TimeoutSeconds`: invalid type: a boolean, expected a number or a JSONata expression string"
            ),
            "{message}"
        );
    }

    #[test]
    fn nested_error_has_the_enclosing_path() {
        let message = error(
            r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"P",
               "States":{"P":{"Type":"Parallel","End":true,"Branches":[
                 {"StartAt":"X","States":{"X":{"Type":"Pass","End":true}}},
                 {"StartAt":"Y","States":{"Y":{"Type":"Wait","Seconds":true,"End":true}}}]}}}}}}"#,
        );
        assert!(
            message.starts_with(
                "Map \"M\" > Parallel \"P\" > Branch 2 > State \"Y\" (Wait): field `Seconds`:"
            ),
            "{message}"
        );
    }

    #[test]
    fn unknown_type_and_missing_type() {
        assert!(
            error(r#"{"StartAt":"A","States":{"A":{"Type":"Tusk","End":true}}}"#)
                .starts_with("State \"A\": unknown `Type` \"Tusk\"")
        );
        assert!(
            error(r#"{"StartAt":"A","States":{"A":{"End":true}}}"#)
                .starts_with("State \"A\": missing field `Type`")
        );
    }

    #[test]
    fn duplicate_state_names_in_one_object_are_refused() {
        let message = error(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"A":{"Type":"Succeed"}}}"#,
        );
        assert!(
            message.starts_with("State \"A\": the name is used twice"),
            "{message}"
        );
    }

    #[test]
    fn machine_level_errors_say_state_machine() {
        let message =
            error(r#"{"StartAt":"A","TimeoutSeconds":"x","States":{"A":{"Type":"Succeed"}}}"#);
        assert!(
            message.starts_with("StateMachine: field `TimeoutSeconds`: invalid type"),
            "{message}"
        );
        let message = error(r#"{"StartAt":"A","Stats":{}}"#);
        assert!(
            message.starts_with("StateMachine: unknown field `Stats`"),
            "{message}"
        );
    }

    #[test]
    fn a_state_parses_on_its_own() {
        let state: State = serde_json::from_str(r#"{"Type":"Wait","Seconds":5,"Next":"B"}"#)
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(state.type_name(), "Wait");
        assert_eq!(state.next(), Some("B"));
    }
}
