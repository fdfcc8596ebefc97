//! JSON Schemas derived from Rust types, in the plain form every provider accepts.
//!
//! This is the one derivation of a tool's input schema: the specs in a state machine, the LLM
//! Lambda's check of each tool call and the tool's own check all use it, so what the model is
//! told and what is accepted cannot drift apart.

use schemars::JsonSchema;
use schemars::r#gen::SchemaSettings;
use serde_json::{Map, Value};

use crate::protocol::ToolSpec;

/// The plain JSON Schema of `T`: every subschema inline (no `$ref` or `definitions`, which
/// Gemini rejects), no `$schema` or root `title` (no provider needs them), and none of the
/// numeric `format`s `schemars` adds (`uint8`, `double`, …) that validators and providers do not
/// know.
pub fn schema_for<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft07().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let root = settings.into_generator().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(root).unwrap_or_else(|_| Value::Object(Map::new()));
    if let Value::Object(map) = &mut value {
        map.remove("title");
        map.remove("$schema");
        if map
            .get("definitions")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            map.remove("definitions");
        }
    }
    strip_numeric_formats(&mut value);
    value
}

impl ToolSpec {
    /// A tool spec.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
    ) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            input_schema,
        }
    }

    /// A tool spec whose input schema is derived from `T` ([`schema_for`]), so it cannot drift
    /// from the type the tool parses.
    pub fn for_input<T: JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::new(name, description, schema_for::<T>())
    }
}

/// Numeric formats `schemars` adds that are not JSON Schema formats.
const NUMERIC_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float",
    "double",
];

fn strip_numeric_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| NUMERIC_FORMATS.contains(&f))
            {
                map.remove("format");
            }
            map.values_mut().for_each(strip_numeric_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_numeric_formats),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// A nested input.
    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        /// How many.
        count: u8,
        /// The inner parts.
        inner: Vec<Inner>,
        /// The mode.
        #[serde(default)]
        mode: Mode,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
        weight: f64,
    }

    #[derive(Deserialize, JsonSchema, Default)]
    #[serde(rename_all = "snake_case")]
    #[allow(dead_code)]
    enum Mode {
        #[default]
        Fast,
        Slow,
    }

    fn keys_anywhere(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    keys_anywhere(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys_anywhere(v, out)),
            _ => {}
        }
    }

    #[test]
    fn schema_is_plain_inline_and_closed() {
        let schema = schema_for::<Outer>();
        let mut keys = Vec::new();
        keys_anywhere(&schema, &mut keys);
        for banned in ["$ref", "definitions", "$defs", "$schema", "format", "title"] {
            assert!(!keys.iter().any(|k| k == banned), "{banned} in {schema}");
        }
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["inner"]["items"]["properties"]["name"]["type"],
            "string"
        );
        assert_eq!(
            schema["properties"]["mode"]["enum"],
            serde_json::json!(["fast", "slow"])
        );
        assert_eq!(schema["properties"]["count"]["description"], "How many.");
        assert_eq!(schema["required"], serde_json::json!(["count", "inner"]));
    }

    #[test]
    fn a_spec_for_an_input_type_carries_the_same_schema() {
        let spec = ToolSpec::for_input::<Outer>("outer", "Takes an outer.");
        assert_eq!(spec.input_schema, schema_for::<Outer>());
        assert_eq!(spec.name, "outer");
    }
}
