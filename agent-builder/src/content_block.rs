//! Reading a [`ContentBlock`] in one pass.
//!
//! Serde's derive for an internally tagged enum (`#[serde(tag = "type")]`) buffers every block
//! into a generic tree before it knows the variant, then reads the tree again: every string is
//! allocated twice. A conversation's history is mostly content blocks, read on every LLM call,
//! so this reads the fields straight into their places. It accepts what the derive accepted: a
//! JSON object with `type` (`text`, `tool_use`, `tool_result`) anywhere among its fields, the
//! variant's fields (`is_error` optional, `false` when absent) and any other field ignored.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use crate::protocol::{ContentBlock, ProviderExtra};

const VARIANTS: &[&str] = &["text", "tool_use", "tool_result"];

impl<'de> Deserialize<'de> for ContentBlock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BlockVisitor)
    }
}

struct BlockVisitor;

/// The fields of every variant, as read.
#[derive(Default)]
struct Fields {
    kind: Option<Kind>,
    text: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
    tool_use_id: Option<String>,
    content: Option<String>,
    is_error: Option<bool>,
    /// `null` reads as absent, as with the derive.
    extra: Option<Option<ProviderExtra>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Text,
    ToolUse,
    ToolResult,
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl Visitor<'_> for KindVisitor {
            type Value = Kind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content block type")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
                match v {
                    "text" => Ok(Kind::Text),
                    "tool_use" => Ok(Kind::ToolUse),
                    "tool_result" => Ok(Kind::ToolResult),
                    other => Err(E::unknown_variant(other, VARIANTS)),
                }
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

/// A block's field name, read without allocating (a `String` or `Cow` key would be one
/// allocation per field of every block of the history).
enum Field {
    Type,
    Text,
    Id,
    Name,
    Input,
    ToolUseId,
    Content,
    IsError,
    Extra,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content block field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
                Ok(match v {
                    "type" => Field::Type,
                    "text" => Field::Text,
                    "id" => Field::Id,
                    "name" => Field::Name,
                    "input" => Field::Input,
                    "tool_use_id" => Field::ToolUseId,
                    "content" => Field::Content,
                    "is_error" => Field::IsError,
                    "extra" => Field::Extra,
                    _ => Field::Other,
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

/// Reads a field once; a second occurrence is an error, as with the derive.
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<T>,
    name: &'static str,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de> Visitor<'de> for BlockVisitor {
    type Value = ContentBlock;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a content block: an object with `type` text, tool_use or tool_result")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentBlock, A::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Type => once(&mut f.kind, "type", &mut map)?,
                Field::Text => once(&mut f.text, "text", &mut map)?,
                Field::Id => once(&mut f.id, "id", &mut map)?,
                Field::Name => once(&mut f.name, "name", &mut map)?,
                Field::Input => once(&mut f.input, "input", &mut map)?,
                Field::ToolUseId => once(&mut f.tool_use_id, "tool_use_id", &mut map)?,
                Field::Content => once(&mut f.content, "content", &mut map)?,
                Field::IsError => once(&mut f.is_error, "is_error", &mut map)?,
                Field::Extra => once(&mut f.extra, "extra", &mut map)?,
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = |name: &'static str| de::Error::missing_field(name);
        match f.kind.ok_or_else(|| missing("type"))? {
            Kind::Text => Ok(ContentBlock::Text {
                text: f.text.ok_or_else(|| missing("text"))?,
                extra: f.extra.flatten(),
            }),
            Kind::ToolUse => Ok(ContentBlock::ToolUse {
                id: f.id.ok_or_else(|| missing("id"))?,
                name: f.name.ok_or_else(|| missing("name"))?,
                input: f.input.ok_or_else(|| missing("input"))?,
                extra: f.extra.flatten(),
            }),
            Kind::ToolResult => Ok(ContentBlock::ToolResult {
                tool_use_id: f.tool_use_id.ok_or_else(|| missing("tool_use_id"))?,
                content: f.content.ok_or_else(|| missing("content"))?,
                is_error: f.is_error.unwrap_or(false),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value) -> Result<ContentBlock, String> {
        serde_json::from_value(v.clone())
            .and_then(|a: ContentBlock| {
                // The same from text as from a value.
                let b: ContentBlock = serde_json::from_str(&v.to_string())?;
                assert_eq!(a, b);
                Ok(a)
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn every_variant_round_trips_whatever_the_field_order() {
        let blocks = [
            ContentBlock::Text {
                text: "hi \"there\"\n".into(),
                extra: None,
            },
            ContentBlock::Text {
                text: "thinking done".into(),
                extra: Some(ProviderExtra {
                    thought_signature: Some("c2ln".into()),
                    ..ProviderExtra::new(crate::Provider::Gemini, "gemini-3-pro-preview")
                }),
            },
            ContentBlock::ToolUse {
                id: "toolu_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Paris", "days": [1, 2], "deep": {"x": null}}),
                extra: None,
            },
            ContentBlock::ToolUse {
                id: "call_1".into(),
                name: "get_weather".into(),
                input: json!({"city": "Oslo"}),
                extra: Some(ProviderExtra {
                    reasoning: vec![
                        json!({"type": "reasoning", "id": "rs_1", "encrypted_content": "gAAA"}),
                    ],
                    ..ProviderExtra::new(crate::Provider::OpenAi, "o4-mini")
                }),
            },
            ContentBlock::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: "{\"temp\": 18}".into(),
                is_error: true,
            },
        ];
        for block in blocks {
            let v = serde_json::to_value(&block).expect("serialize");
            assert_eq!(read(v.clone()), Ok(block.clone()));
            // `type` last, and an unknown field: still read, as the derive did.
            let mut reordered = serde_json::Map::new();
            for (k, x) in v.as_object().expect("object") {
                if k != "type" {
                    reordered.insert(k.clone(), x.clone());
                }
            }
            reordered.insert("cache_control".into(), json!({"type": "ephemeral"}));
            reordered.insert("type".into(), v["type"].clone());
            assert_eq!(read(Value::Object(reordered)), Ok(block));
        }
    }

    #[test]
    fn is_error_defaults_to_false_and_bad_blocks_say_why() {
        assert_eq!(
            read(json!({"type": "tool_result", "tool_use_id": "a", "content": "ok"})),
            Ok(ContentBlock::ToolResult {
                tool_use_id: "a".into(),
                content: "ok".into(),
                is_error: false
            })
        );
        let err = |v| read(v).expect_err("invalid");
        assert!(err(json!({"text": "no type"})).contains("missing field `type`"));
        assert!(err(json!({"type": "image", "url": "x"})).contains("unknown variant `image`"));
        assert!(
            err(json!({"type": "tool_use", "id": "a", "input": {}}))
                .contains("missing field `name`")
        );
        assert!(err(json!({"type": "text", "text": 3})).contains("invalid type"));
        let duplicate =
            serde_json::from_str::<ContentBlock>(r#"{"type":"text","text":"a","text":"b"}"#);
        assert!(
            duplicate
                .expect_err("duplicate")
                .to_string()
                .contains("duplicate field `text`")
        );
        assert!(err(json!(["text", "a"])).contains("a content block"));
        // `extra: null` reads as none, as the derive read it.
        assert_eq!(
            read(json!({"type": "text", "text": "a", "extra": null})),
            Ok(ContentBlock::text("a"))
        );
    }
}
