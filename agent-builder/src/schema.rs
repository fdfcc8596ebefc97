//! JSON Schemas derived from Rust types, in the plain form every provider accepts.

use schemars::JsonSchema;
use schemars::r#gen::SchemaSettings;
use serde_json::Value;

use crate::protocol::ToolSpec;

/// The JSON Schema of `T`, with every subschema inlined (no `$ref`, no `definitions`) and no
/// `$schema` key: Gemini rejects `$ref`, and no provider needs the meta-schema.
pub fn schema_for<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft07().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap_or(Value::Null)
}

impl ToolSpec {
    /// A tool spec whose input schema is derived from `T`, so it cannot drift from the type the
    /// tool parses.
    pub fn for_input<T: JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        ToolSpec {
            name: name.into(),
            description: description.into(),
            input_schema: schema_for::<T>(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        city: String,
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Input {
        places: Vec<Inner>,
    }

    #[test]
    fn schemas_are_inline_without_meta_schema() {
        let schema = schema_for::<Input>();
        let text = schema.to_string();
        assert!(!text.contains("$ref"), "{text}");
        assert!(!text.contains("$schema"), "{text}");
        assert!(schema.get("definitions").is_none(), "{text}");
        assert_eq!(
            schema["properties"]["places"]["items"]["properties"]["city"]["type"],
            "string"
        );
    }
}
