//! The JSON Schema the model sees, derived from a tool's input type.
//!
//! Kept plain so every provider accepts it: subschemas inline (no `$ref`/`definitions`, which
//! Gemini rejects), no `$schema` or root `title`, and no `schemars`-specific numeric `format`s
//! (`uint8`, `double`, …) that validators and providers do not know.

use schemars::JsonSchema;
use schemars::r#gen::SchemaSettings;
use serde_json::{Map, Value};

/// The plain JSON Schema of `T`.
pub fn input_schema<T: JsonSchema>() -> Value {
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
        /// The inner part.
        inner: Inner,
        /// The mode.
        #[serde(default)]
        mode: Mode,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
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
        let schema = input_schema::<Outer>();
        let mut keys = Vec::new();
        keys_anywhere(&schema, &mut keys);
        for banned in ["$ref", "definitions", "$defs", "$schema", "format"] {
            assert!(!keys.iter().any(|k| k == banned), "{banned} in {schema}");
        }
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["inner"]["type"], "object");
        assert_eq!(
            schema["properties"]["mode"]["enum"],
            serde_json::json!(["fast", "slow"])
        );
        assert_eq!(schema["properties"]["count"]["description"], "How many.");
        assert_eq!(schema["required"], serde_json::json!(["count", "inner"]));
    }
}
