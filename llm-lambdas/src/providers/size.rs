//! Cheap size estimates of a request, for the prompt-cache breakpoints' minimum cacheable
//! length: shared by the Anthropic and the Bedrock adapters, each of which may be built alone.

use serde_json::Value;

/// A cheap token estimate of a text of `bytes` bytes: about four bytes a token for English and
/// JSON. Only used to respect the minimum cacheable length; the API counts the real tokens.
pub(crate) fn estimated_tokens(bytes: usize) -> usize {
    bytes / 4
}

/// The size of a JSON Schema, without serializing it: strings and keys, plus a little per
/// value for the punctuation.
pub(crate) fn schema_bytes(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len() + 2,
        Value::Array(items) => items.iter().map(schema_bytes).sum::<usize>() + 2,
        Value::Object(map) => {
            map.iter()
                .map(|(k, v)| k.len() + 4 + schema_bytes(v))
                .sum::<usize>()
                + 2
        }
        _ => 6,
    }
}
