//! The neutral history made acceptable to every provider: roles merged, every tool call
//! answered, ids in the alphabet every API accepts, stable ids for calls that come without one,
//! and another provider's extras (thought signatures, reasoning items) left out.

use std::borrow::Cow;

use agent_builder::{ContentBlock, Message, Provider};
use serde_json::Value;

/// A tool call id that is the same every time the same reply is converted: the turn's position,
/// the call's position and a hash of its name and input. For providers whose calls carry no id.
pub fn stable_tool_call_id(prefix: &str, position: usize, name: &str, input: &Value) -> String {
    // FNV-1a: tiny, stable across Rust versions and platforms (unlike `DefaultHasher`).
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let input_text = input.to_string();
    for byte in name
        .as_bytes()
        .iter()
        .chain(b"\0")
        .chain(input_text.as_bytes())
    {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{prefix}_{position}_{hash:016x}")
}

/// A tool input for providers that need a JSON object: a non-object input (the raw text of
/// malformed arguments) is wrapped so the model still sees what it sent.
pub(crate) fn input_as_object(input: &Value) -> Value {
    match input {
        Value::Object(_) => input.clone(),
        Value::String(raw) => serde_json::json!({ "invalid_json_arguments": raw }),
        other => serde_json::json!({ "invalid_arguments": other }),
    }
}

/// The name of each tool call in the history, by id, for the `tool_result`s that answer them.
pub(crate) fn tool_names(messages: &[Message]) -> std::collections::HashMap<&str, &str> {
    // One pass over the history: looking each result's call up by scanning made a 100-turn
    // conversation quadratic. A later call with the same id wins, as the latest is the one answered.
    messages
        .iter()
        .flat_map(|m| &m.content)
        .filter_map(|b| match b {
            ContentBlock::ToolUse { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect()
}

/// The messages as `provider` may be sent them: the [`agent_builder::ProviderExtra`]s another
/// provider wrote removed (Anthropic, OpenAI and Bedrock never see Gemini's thought signatures or
/// the Responses API's reasoning items), consecutive messages of one role merged, empty text
/// blocks (unless they carry `provider`'s own extra: Gemini may put its signature on an empty
/// text part) and empty messages dropped, and every tool call answered: the shape every provider
/// accepts.
///
/// Anthropic, OpenAI, Gemini and Bedrock all refuse a history where an assistant's tool call is
/// not answered in the very next (user) message, or where a result answers no call of the message
/// before it ("tool_use ids were found without tool_result blocks immediately after", "An
/// assistant message with 'tool_calls' must be followed by tool messages", "Expected toolResult
/// blocks at messages.2.content"). A conversation can hold such a gap when an execution failed
/// between the model's call and its result and the conversation was continued later. So a call
/// without a result gets an error result saying it was not run, a result without its call becomes
/// text, and the results come first in their calls' order (Anthropic wants them before any text).
///
/// A history already in that shape (every turn the handler stores is) is lent as it is, not
/// copied: the copy was about a fifth of an adapter's work on a 100-turn conversation.
pub(crate) fn normalized_messages(messages: &[Message], provider: Provider) -> Cow<'_, [Message]> {
    if is_normal(messages, provider) {
        Cow::Borrowed(messages)
    } else {
        Cow::Owned(normalize(messages, provider))
    }
}

/// Whether [`normalize`] would return `messages` unchanged: no other provider's extra, no blank
/// text block without an extra, no empty message, roles alternating, and each assistant's calls
/// answered by the next message's leading results, one for one and in order, with no other
/// result anywhere.
fn is_normal(messages: &[Message], provider: Provider) -> bool {
    let mut previous: Option<&Message> = None;
    for message in messages {
        if message.content.is_empty() || previous.is_some_and(|p| p.role == message.role) {
            return false;
        }
        for block in &message.content {
            match block {
                ContentBlock::Text { text, extra: None } if text.trim().is_empty() => return false,
                ContentBlock::Text {
                    extra: Some(extra), ..
                }
                | ContentBlock::ToolUse {
                    extra: Some(extra), ..
                } if extra.provider != provider => return false,
                _ => {}
            }
        }
        if message.role == agent_builder::Role::User {
            let calls = previous
                .into_iter()
                .flat_map(|p| &p.content)
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
                    _ => None,
                });
            let mut blocks = message.content.iter();
            for call in calls {
                match blocks.next() {
                    Some(ContentBlock::ToolResult { tool_use_id, .. }) if tool_use_id == call => {}
                    _ => return false,
                }
            }
            if blocks.any(|b| matches!(b, ContentBlock::ToolResult { .. })) {
                return false;
            }
        }
        previous = Some(message);
    }
    true
}

/// The normalization itself, copying every block.
fn normalize(messages: &[Message], provider: Provider) -> Vec<Message> {
    let mut merged: Vec<Message> = Vec::with_capacity(messages.len());
    for message in messages {
        let content: Vec<ContentBlock> = message
            .content
            .iter()
            .map(|b| b.clone().for_provider(provider))
            .filter(|b| {
                !matches!(b, ContentBlock::Text { text, extra: None } if text.trim().is_empty())
            })
            .collect();
        if content.is_empty() {
            continue;
        }
        match merged.last_mut() {
            Some(last) if last.role == message.role => last.content.extend(content),
            _ => merged.push(Message {
                role: message.role,
                content,
            }),
        }
    }
    let mut out: Vec<Message> = Vec::with_capacity(merged.len() + 1);
    let mut pending: Vec<String> = Vec::new();
    for message in merged {
        if message.role == agent_builder::Role::Assistant {
            if !pending.is_empty() {
                // Two assistant turns cannot follow each other after the merge, but stay safe.
                out.push(Message {
                    role: agent_builder::Role::User,
                    content: unanswered_results(&pending),
                });
            }
            pending = message
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.clone()),
                    _ => None,
                })
                .collect();
            out.push(message);
            continue;
        }
        let mut results: Vec<ContentBlock> = Vec::new();
        let mut others: Vec<ContentBlock> = Vec::new();
        for block in message.content {
            match block {
                ContentBlock::ToolResult {
                    ref tool_use_id,
                    ref content,
                    ..
                } => {
                    if let Some(position) = pending.iter().position(|id| id == tool_use_id) {
                        pending.remove(position);
                        results.push(block);
                    } else {
                        others.push(ContentBlock::Text {
                            text: format!(
                                "(Result of the earlier tool call {tool_use_id}:) {content}"
                            ),
                            extra: None,
                        });
                    }
                }
                other => others.push(other),
            }
        }
        results.extend(unanswered_results(&pending));
        pending.clear();
        if let Some(calls) = out
            .last()
            .filter(|m| m.role == agent_builder::Role::Assistant)
        {
            let order: Vec<&str> = calls
                .content
                .iter()
                .filter_map(|b| match b {
                    ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            results.sort_by_key(|b| match b {
                ContentBlock::ToolResult { tool_use_id, .. } => order
                    .iter()
                    .position(|id| id == tool_use_id)
                    .unwrap_or(usize::MAX),
                _ => usize::MAX,
            });
        }
        results.extend(others);
        out.push(Message {
            role: agent_builder::Role::User,
            content: results,
        });
    }
    out
}

/// A tool call id in the alphabet Anthropic and Bedrock accept (`^[a-zA-Z0-9_-]+$`, at most 64
/// characters): an id written by another provider or server is rewritten the same way in the
/// call and in its result, so they still match. Ids already valid are kept as they are.
pub(crate) fn portable_tool_id(id: &str) -> String {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.len() <= 64 && id.chars().all(valid) {
        return id.to_string();
    }
    let cleaned: String = id
        .chars()
        .map(|c| if valid(c) { c } else { '_' })
        .take(40)
        .collect();
    // The hash keeps two ids that differ only in their rewritten characters apart.
    let hashed = stable_tool_call_id("id", 0, id, &Value::Null);
    format!("{cleaned}_{}", &hashed[hashed.len() - 16..])
}

/// Error results for tool calls that were never answered.
fn unanswered_results(ids: &[String]) -> Vec<ContentBlock> {
    ids.iter()
        .map(|id| ContentBlock::ToolResult {
            tool_use_id: id.clone(),
            content: "This tool call was not run: the turn ended before its result came back."
                .to_string(),
            is_error: true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    #[test]
    fn stable_ids_are_stable_and_distinct() {
        let a = stable_tool_call_id("call", 0, "calc", &json!({"x": 1}));
        assert_eq!(a, stable_tool_call_id("call", 0, "calc", &json!({"x": 1})));
        assert_ne!(a, stable_tool_call_id("call", 1, "calc", &json!({"x": 1})));
        assert_ne!(a, stable_tool_call_id("call", 0, "calc", &json!({"x": 2})));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[test]
    fn normalizes_roles_and_blank_text() {
        let messages = vec![
            Message::user_text("a"),
            Message::user_text("  "),
            Message::user_text("b"),
        ];
        let n = normalized_messages(&messages, Provider::Anthropic);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].text(), "a\nb");
    }

    #[test]
    fn every_tool_call_is_answered_and_results_come_first() {
        let call = |id: &str| ContentBlock::ToolUse {
            id: id.into(),
            name: "t".into(),
            input: json!({}),
            extra: None,
        };
        let result = |id: &str| ContentBlock::ToolResult {
            tool_use_id: id.into(),
            content: "ok".into(),
            is_error: false,
        };
        let messages = vec![
            Message::user_text("q"),
            Message {
                role: agent_builder::Role::Assistant,
                content: vec![call("a"), call("b"), call("c")],
            },
            // Text first, results out of order, `c` missing, and a stray result for `z`.
            Message {
                role: agent_builder::Role::User,
                content: vec![
                    ContentBlock::Text {
                        text: "more".into(),
                        extra: None,
                    },
                    result("b"),
                    result("z"),
                    result("a"),
                ],
            },
        ];
        let n = normalized_messages(&messages, Provider::Anthropic);
        assert_eq!(n.len(), 3);
        let summary: Vec<String> = n[2]
            .content
            .iter()
            .map(|b| match b {
                ContentBlock::ToolResult {
                    tool_use_id,
                    is_error,
                    ..
                } => format!("result {tool_use_id} {is_error}"),
                ContentBlock::Text { text, .. } => format!("text {text}"),
                ContentBlock::ToolUse { id, .. } => format!("call {id}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "result a false",
                "result b false",
                "result c true",
                "text more",
                "text (Result of the earlier tool call z:) ok",
            ]
        );
    }

    /// The borrowed fast path never lends a history that [`normalize`] would change: checked on
    /// histories of one to three messages built from a small set of blocks (roles, blank
    /// text, calls, results in and out of order, stray results, both providers' extras).
    #[test]
    fn a_history_is_lent_only_when_normalizing_would_not_change_it() {
        use agent_builder::{ProviderExtra, Role};
        let extra = |p: Provider| Some(ProviderExtra::new(p, "m"));
        let blocks = [
            ContentBlock::text("hi"),
            ContentBlock::text(" "),
            ContentBlock::Text {
                text: String::new(),
                extra: extra(Provider::Gemini),
            },
            ContentBlock::tool_use("a", "t", json!({})),
            ContentBlock::tool_use("b", "t", json!({})),
            ContentBlock::ToolUse {
                id: "a".into(),
                name: "t".into(),
                input: json!({}),
                extra: extra(Provider::OpenAi),
            },
            ContentBlock::ToolResult {
                tool_use_id: "a".into(),
                content: "ok".into(),
                is_error: false,
            },
            ContentBlock::ToolResult {
                tool_use_id: "b".into(),
                content: "ok".into(),
                is_error: true,
            },
        ];
        // Every message: a role and zero to two blocks.
        let mut shapes: Vec<Message> = Vec::new();
        for role in [Role::User, Role::Assistant] {
            shapes.push(Message {
                role,
                content: Vec::new(),
            });
            for a in &blocks {
                shapes.push(Message {
                    role,
                    content: vec![a.clone()],
                });
                for b in &blocks {
                    shapes.push(Message {
                        role,
                        content: vec![a.clone(), b.clone()],
                    });
                }
            }
        }
        let mut checked = 0usize;
        let mut lent = 0usize;
        let mut history: Vec<Message> = Vec::new();
        // Every shape first, then every fifth and every eleventh as the second and third.
        for x in &shapes {
            for y in shapes.iter().step_by(5) {
                for z in shapes.iter().step_by(11) {
                    history.clear();
                    history.extend([x.clone(), y.clone(), z.clone()]);
                    for provider in [Provider::Gemini, Provider::OpenAi, Provider::Anthropic] {
                        for len in 1..=3 {
                            let h = &history[..len];
                            let fast = normalized_messages(h, provider);
                            if matches!(fast, Cow::Borrowed(_)) {
                                lent += 1;
                                assert_eq!(normalize(h, provider), h, "{provider}: {h:?}");
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(lent > 1000 && lent < checked, "{lent} of {checked} lent");
    }

    #[test]
    fn tool_ids_become_portable_and_stay_distinct() {
        assert_eq!(portable_tool_id("toolu_01A-b"), "toolu_01A-b");
        let a = portable_tool_id("call:1/a");
        let b = portable_tool_id("call:1.a");
        assert_ne!(a, b);
        assert!(a.starts_with("call_1_a_"));
        for id in [
            a,
            b,
            portable_tool_id(&"x".repeat(100)),
            portable_tool_id(""),
        ] {
            assert!(id.len() <= 64, "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{id}"
            );
        }
    }

    #[test]
    fn another_providers_extras_are_dropped_and_its_own_kept() {
        use agent_builder::ProviderExtra;
        let signed = |text: &str| ContentBlock::Text {
            text: text.into(),
            extra: Some(ProviderExtra {
                thought_signature: Some("sig-text".into()),
                ..ProviderExtra::new(Provider::Gemini, "gemini-3-pro-preview")
            }),
        };
        let messages = vec![
            Message::user_text("q"),
            Message {
                role: agent_builder::Role::Assistant,
                content: vec![
                    ContentBlock::ToolUse {
                        id: "a".into(),
                        name: "t".into(),
                        input: json!({}),
                        extra: Some(ProviderExtra {
                            thought_signature: Some("sig-call".into()),
                            ..ProviderExtra::new(Provider::Gemini, "gemini-3-pro-preview")
                        }),
                    },
                    // Gemini's signature alone on an empty text part.
                    signed(""),
                ],
            },
        ];
        // Gemini gets back its own signatures, the empty signed part included.
        let gemini = normalized_messages(&messages, Provider::Gemini);
        assert_eq!(gemini[1].content, messages[1].content);
        // Anything else sees no extra, and no empty block.
        for provider in [Provider::Anthropic, Provider::OpenAi, Provider::Bedrock] {
            let other = normalized_messages(&messages, provider);
            assert_eq!(
                other[1].content,
                vec![ContentBlock::tool_use("a", "t", json!({}))],
                "{provider}"
            );
        }
        // The stored messages are not changed.
        assert!(messages[1].content.iter().all(|b| b.extra().is_some()));
    }
}
