//! Checking a tool call's input against the tool's schema and type, with problems written for
//! the model: which field, what is wrong, what is expected.
//!
//! The one validator of tool input: the LLM Lambda checks each call the model makes with it
//! before any tool runs, and the tool's own handler checks again with it (a tool Lambda can be
//! called by anything), so the model reads one wording whichever side caught the problem.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The most problems listed in one error text: enough to fix a call, short enough to read.
const MAX_PROBLEMS: usize = 5;
/// The most characters of a value echoed back in an error text.
const MAX_ECHO_CHARS: usize = 60;

/// A compiled schema for a tool's input.
#[derive(Debug)]
pub struct InputValidator {
    schema: Value,
    compiled: Option<jsonschema::Validator>,
}

impl InputValidator {
    /// Compiles `schema`. A schema that does not compile (a bug in a tool's input type, caught by
    /// the tests) leaves only the typed check in place.
    pub fn new(schema: Value) -> Self {
        let compiled = jsonschema::validator_for(&schema).ok();
        Self { schema, compiled }
    }

    /// Compiles `schema`, or says why it is not a usable JSON Schema.
    pub fn try_new(schema: Value) -> Result<Self, String> {
        let compiled = jsonschema::validator_for(&schema).map_err(|e| e.to_string())?;
        Ok(Self {
            schema,
            compiled: Some(compiled),
        })
    }

    /// The problems with `input`, each one sentence naming the field; empty when it is valid.
    pub fn problems(&self, input: &Value) -> Vec<String> {
        let Some(compiled) = &self.compiled else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for error in compiled.iter_errors(input) {
            let text = self.describe(&error);
            if !problems.contains(&text) {
                problems.push(text);
            }
            if problems.len() == MAX_PROBLEMS {
                break;
            }
        }
        problems
    }

    fn describe(&self, error: &jsonschema::ValidationError<'_>) -> String {
        let pointer = error.instance_path().as_str();
        let path = field_path(pointer);
        let instance = error.instance();
        match error.kind() {
            ValidationErrorKind::Required { property } => {
                let property = property.as_str().unwrap_or_default();
                let full = join_path(&path, property);
                match self.property_description(pointer, property) {
                    Some(description) => format!("`{full}` is missing: {description}"),
                    None => format!("`{full}` is missing"),
                }
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => article(&t.to_string()),
                    TypeKind::Multiple(set) => format!("one of {set:?}"),
                };
                if path.is_empty() {
                    format!(
                        "the input must be {expected} with the fields below, not {}",
                        describe_value(instance)
                    )
                } else {
                    format!(
                        "`{path}` must be {expected}, not {}",
                        describe_value(instance)
                    )
                }
            }
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let known = self.property_names(pointer);
                let mut parts = Vec::new();
                for field in unexpected {
                    let field_shown = echo(field);
                    let full = join_path(&path, &field_shown);
                    let hint = closest(field, &known)
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    parts.push(format!("`{full}` is not a known field{hint}"));
                }
                let listed = known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("{}; the fields are {listed}", parts.join(", "))
            }
            ValidationErrorKind::Enum { options } => {
                format!(
                    "`{}` must be one of {}, not {}",
                    display_path(&path),
                    options_list(options),
                    describe_value(instance)
                )
            }
            ValidationErrorKind::MinItems { limit } => format!(
                "`{}` needs at least {limit} item{}",
                display_path(&path),
                plural(*limit)
            ),
            ValidationErrorKind::MaxItems { limit } => format!(
                "`{}` takes at most {limit} item{} in one call (got {}): make several calls",
                display_path(&path),
                plural(*limit),
                instance.as_array().map_or(0, Vec::len)
            ),
            ValidationErrorKind::MinLength { limit } if *limit <= 1 => {
                format!("`{}` must not be empty", display_path(&path))
            }
            ValidationErrorKind::MinLength { limit } => format!(
                "`{}` must be at least {limit} characters long",
                display_path(&path)
            ),
            ValidationErrorKind::MaxLength { limit } => format!(
                "`{}` is too long: at most {limit} characters",
                display_path(&path)
            ),
            ValidationErrorKind::Minimum { limit }
            | ValidationErrorKind::ExclusiveMinimum { limit } => {
                format!(
                    "`{}` must be at least {}, not {}",
                    display_path(&path),
                    number_text(limit),
                    describe_value(instance)
                )
            }
            ValidationErrorKind::Maximum { limit }
            | ValidationErrorKind::ExclusiveMaximum { limit } => {
                format!(
                    "`{}` must be at most {}, not {}",
                    display_path(&path),
                    number_text(limit),
                    describe_value(instance)
                )
            }
            _ => {
                let text: String = error.to_string().chars().take(200).collect();
                format!("`{}`: {text}", display_path(&path))
            }
        }
    }

    /// The subschema at a JSON pointer into the instance, following `properties` and `items`.
    fn subschema(&self, pointer: &str) -> Option<&Value> {
        let mut schema = &self.schema;
        for segment in pointer_segments(pointer) {
            schema = if let Some(next) = schema.get("properties").and_then(|p| p.get(&segment)) {
                next
            } else if segment.parse::<usize>().is_ok() {
                schema.get("items")?
            } else {
                return None;
            };
        }
        Some(schema)
    }

    fn property_description(&self, pointer: &str, property: &str) -> Option<String> {
        let description = self
            .subschema(pointer)?
            .get("properties")?
            .get(property)?
            .get("description")?
            .as_str()?;
        Some(description.trim_end_matches('.').to_string())
    }

    fn property_names(&self, pointer: &str) -> Vec<String> {
        self.subschema(pointer)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// The text of an input that failed validation, for the model: the tool, the problems, then how
/// to call again (with an example to copy when there is one).
pub fn invalid_input_text(tool: &str, problems: &[String], example: Option<&Value>) -> String {
    let how = match example {
        Some(example) => format!("Call `{tool}` again with input like {example}"),
        None => format!("Call `{tool}` again with a JSON object that matches its input schema."),
    };
    format!("Invalid input for `{tool}`: {}. {how}", problems.join("; "))
}

/// Deserializes an input that passed the schema into the tool's type; a failure (which the
/// schema should have caught) is explained with the field's path.
pub(crate) fn deserialize<T: DeserializeOwned>(input: Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(input).map_err(|error| {
        let path = error.path().to_string();
        let message = serde_message(&error.inner().to_string());
        if path.is_empty() || path == "." {
            message
        } else {
            format!("at `{path}`: {message}")
        }
    })
}

/// Rewrites serde's messages ("missing field `places`") as sentences for the model.
pub(crate) fn serde_message(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{rest} is missing");
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!(
            "{} is not a known field; expected {}",
            field_of(rest),
            rest.split_once(", expected ").map_or("", |(_, e)| e)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((got, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {expected}, not {got}");
    }
    message.to_string()
}

fn field_of(rest: &str) -> &str {
    rest.split_once(", expected").map_or(rest, |(f, _)| f)
}

/// `/places/0` → `places[0]`; the root is empty.
fn field_path(pointer: &str) -> String {
    let mut path = String::new();
    for segment in pointer_segments(pointer) {
        if segment.parse::<usize>().is_ok() {
            path.push_str(&format!("[{segment}]"));
        } else {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&echo(&segment));
        }
    }
    path
}

fn pointer_segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() { "input" } else { path }
}

fn article(type_name: &str) -> String {
    match type_name {
        "object" | "array" | "integer" => format!("an {type_name}"),
        "null" => "null".to_string(),
        other => format!("a {other}"),
    }
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A value as the model would recognise it: its JSON type and a short excerpt.
fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {}", echo(&n.to_string())),
        Value::String(s) => format!("the string {}", echo(&format!("{s:?}"))),
        Value::Array(items) => format!(
            "an array of {} item{}",
            items.len(),
            plural(items.len() as u64)
        ),
        Value::Object(_) => "an object".to_string(),
    }
}

/// A limit as written by a person: `7`, not `7.0`.
fn number_text(limit: &Value) -> String {
    match limit.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        Some(n) => format!("{n}"),
        None => echo(&limit.to_string()),
    }
}

fn options_list(options: &Value) -> String {
    match options.as_array() {
        Some(items) => items
            .iter()
            .map(|v| echo(&v.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        None => echo(&options.to_string()),
    }
}

/// At most 60 characters of `text`, so a huge input is not sent back whole.
pub fn echo(text: &str) -> String {
    if text.chars().count() <= MAX_ECHO_CHARS {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX_ECHO_CHARS).collect();
        format!("{cut}…")
    }
}

/// The known name closest to `name`, if it is close enough to be a misspelling.
fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> InputValidator {
        InputValidator::new(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["places"],
            "properties": {
                "places": {
                    "description": "Give a list of place names.",
                    "type": "array", "minItems": 1, "maxItems": 2,
                    "items": {"type": "string", "minLength": 1}
                },
                "units": {"type": "string", "enum": ["metric", "imperial"]}
            }
        }))
    }

    #[test]
    fn names_the_missing_field_with_its_description() {
        let problems = validator().problems(&json!({}));
        assert_eq!(
            problems,
            vec!["`places` is missing: Give a list of place names"]
        );
    }

    #[test]
    fn suggests_the_field_a_misspelling_meant() {
        let problems = validator().problems(&json!({"places": ["x"], "untis": "metric"}));
        assert_eq!(
            problems,
            vec![
                "`untis` is not a known field (did you mean `units`?); the fields are `places`, `units`"
            ]
        );
    }

    #[test]
    fn names_nested_paths_and_types() {
        let problems = validator().problems(&json!({"places": [3]}));
        assert_eq!(
            problems,
            vec!["`places[0]` must be a string, not the number 3"]
        );
        let problems = validator().problems(&json!("Boston"));
        assert_eq!(
            problems,
            vec!["the input must be an object with the fields below, not the string \"Boston\""]
        );
    }

    #[test]
    fn long_values_are_cut_when_echoed() {
        let long = "x".repeat(10_000);
        let problems = validator().problems(&json!({"places": ["a"], "units": long}));
        assert_eq!(problems.len(), 1);
        assert!(problems[0].len() < 300, "{}", problems[0]);
    }

    #[test]
    fn serde_messages_read_as_sentences() {
        assert_eq!(
            serde_message("missing field `places`"),
            "`places` is missing"
        );
        assert_eq!(
            serde_message("invalid type: string \"x\", expected a sequence"),
            "expected a sequence, not string \"x\""
        );
        assert_eq!(
            serde_message("unknown field `plces`, expected `places` or `units`"),
            "`plces` is not a known field; expected `places` or `units`"
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("untis", "units"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            closest("plces", &["places".into(), "units".into()]),
            Some("places")
        );
        assert_eq!(closest("zzzzzz", &["places".into()]), None);
    }
}
