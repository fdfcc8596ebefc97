//! Round trips through every provider's shapes, without a network: a conversation with text,
//! several tool calls and tool results (one an error) converted to each provider's request keeps
//! its meaning, each provider's reply converted back keeps its meaning, and a conversation
//! started on one provider continues on another.

use agent_builder::{ContentBlock, Message, Role, StopReason, ToolSpec};
use aws_sdk_bedrockruntime::types as br;
use llm_lambdas::ChatRequest;
use llm_lambdas::providers::openai::{ERROR_MARK, MaxTokensField};
use llm_lambdas::providers::{anthropic, bedrock, gemini, openai};
use serde_json::{Value, json};

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        },
        ToolSpec {
            name: "calculate".into(),
            description: "Evaluates an arithmetic expression".into(),
            input_schema: json!({"type": "object", "properties": {"expression": {"type": "string"}}, "required": ["expression"]}),
        },
    ]
}

fn text(t: &str) -> ContentBlock {
    ContentBlock::Text {
        text: t.into(),
        extra: None,
    }
}

fn call(id: &str, name: &str, input: Value) -> ContentBlock {
    ContentBlock::ToolUse {
        id: id.into(),
        name: name.into(),
        input,
        extra: None,
    }
}

fn result(id: &str, content: &str, is_error: bool) -> ContentBlock {
    ContentBlock::ToolResult {
        tool_use_id: id.into(),
        content: content.into(),
        is_error,
    }
}

/// Two ReAct iterations: parallel calls with one failing, then a retry, then the next question.
fn conversation() -> Vec<Message> {
    vec![
        Message::user_text("Is it warmer in Paris or in Tokyo, and by how much?"),
        Message {
            role: Role::Assistant,
            content: vec![
                text("I'll look up both cities."),
                call("toolu_a", "get_weather", json!({"city": "Paris"})),
                call("toolu_b", "get_weather", json!({"city": "Tokyo"})),
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                result("toolu_a", "{\"temp_c\": 18}", false),
                result("toolu_b", "the weather service timed out; call again", true),
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![
                call("toolu_c", "get_weather", json!({"city": "Tokyo"})),
                call("toolu_d", "calculate", json!({"expression": "18 - 21"})),
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                result("toolu_c", "{\"temp_c\": 21}", false),
                result("toolu_d", "-3", false),
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![text("Tokyo is 3 °C warmer than Paris.")],
        },
        Message::user_text("And in Oslo?"),
    ]
}

fn request(model: &str, messages: Vec<Message>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: "You compare weather.".into(),
        messages,
        tools: tools(),
        max_tokens: 2048,
        temperature: None,
        cache_ttl: Default::default(),
    }
}

/// What a conversation means, independent of ids: who said what, which tool each call names
/// with which input, and which call (by tool name and position) each result answers.
fn meaning(messages: &[Message]) -> Vec<(Role, Vec<String>)> {
    let mut calls: Vec<(String, String)> = Vec::new();
    messages
        .iter()
        .map(|m| {
            let blocks = m
                .content
                .iter()
                .map(|b| match b {
                    ContentBlock::Text { text, .. } => format!("text: {text}"),
                    ContentBlock::ToolUse {
                        id, name, input, ..
                    } => {
                        calls.push((id.clone(), name.clone()));
                        format!("call #{}: {name} {input}", calls.len())
                    }
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => {
                        let answered = calls
                            .iter()
                            .position(|(id, _)| id == tool_use_id)
                            .map(|i| format!("#{} {}", i + 1, calls[i].1))
                            .unwrap_or_else(|| format!("unknown call {tool_use_id}"));
                        format!("result for {answered}: {content} (error: {is_error})")
                    }
                })
                .collect();
            (m.role, blocks)
        })
        .collect()
}

// ---- Provider requests read back to neutral messages (the test's own inverse of each edge).

fn from_anthropic_request(body: &anthropic::MessagesRequest) -> Vec<Message> {
    body.messages
        .iter()
        .map(|m| Message {
            role: if m.role == "assistant" {
                Role::Assistant
            } else {
                Role::User
            },
            content: m
                .content
                .iter()
                .filter_map(|b| match b {
                    anthropic::AnthropicBlock::Text { text, .. } => Some(ContentBlock::Text {
                        text: text.clone(),
                        extra: None,
                    }),
                    anthropic::AnthropicBlock::ToolUse {
                        id, name, input, ..
                    } => Some(call(id, name, input.clone())),
                    anthropic::AnthropicBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                        ..
                    } => Some(result(tool_use_id, content, *is_error)),
                    anthropic::AnthropicBlock::Other => None,
                })
                .collect(),
        })
        .collect()
}

fn from_openai_request(body: &openai::CompletionRequest) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for m in &body.messages {
        let (role, blocks) = match m.role.as_str() {
            "system" => continue,
            "assistant" => {
                let mut blocks: Vec<ContentBlock> = m.content.iter().map(|t| text(t)).collect();
                for c in &m.tool_calls {
                    let input = match &c.function.arguments {
                        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                        other => other.clone(),
                    };
                    blocks.push(call(&c.id, &c.function.name, input));
                }
                (Role::Assistant, blocks)
            }
            "tool" => {
                let content = m.content.clone().unwrap_or_default();
                let (content, is_error) = match content.strip_prefix(ERROR_MARK) {
                    Some(rest) => (rest.to_string(), true),
                    None => (content, false),
                };
                let id = m.tool_call_id.clone().unwrap_or_default();
                (Role::User, vec![result(&id, &content, is_error)])
            }
            _ => (
                Role::User,
                m.content.iter().map(|t| text(t)).collect::<Vec<_>>(),
            ),
        };
        match out.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => out.push(Message {
                role,
                content: blocks,
            }),
        }
    }
    out
}

/// Gemini carries no ids: calls get positional ids, and each response answers the earliest
/// unanswered call of its name, as Gemini itself pairs them.
fn from_gemini_request(body: &gemini::GenerateContentRequest) -> Vec<Message> {
    let mut open: Vec<(String, String)> = Vec::new();
    let mut next = 0;
    body.contents
        .iter()
        .map(|c| Message {
            role: if c.role.as_deref() == Some("model") {
                Role::Assistant
            } else {
                Role::User
            },
            content: c
                .parts
                .iter()
                .filter_map(|p| {
                    if let Some(t) = &p.text {
                        return Some(text(t));
                    }
                    if let Some(fc) = &p.function_call {
                        next += 1;
                        let id = format!("g{next}");
                        open.push((id.clone(), fc.name.clone()));
                        return Some(call(&id, &fc.name, fc.args.clone()));
                    }
                    let fr = p.function_response.as_ref()?;
                    let position = open.iter().position(|(_, name)| name == &fr.name)?;
                    let (id, _) = open.remove(position);
                    let (value, is_error) =
                        match (fr.response.get("output"), fr.response.get("error")) {
                            (Some(v), _) => (v, false),
                            (None, Some(v)) => (v, true),
                            _ => (&fr.response, false),
                        };
                    let content = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    Some(result(&id, &content, is_error))
                })
                .collect(),
        })
        .collect()
}

fn from_bedrock_request(parts: &bedrock::ConverseRequest) -> Vec<Message> {
    parts
        .messages
        .iter()
        .map(|m| Message {
            role: if m.role == br::ConversationRole::Assistant {
                Role::Assistant
            } else {
                Role::User
            },
            content: m
                .content
                .iter()
                .filter_map(|b| match b {
                    br::ContentBlock::Text(t) => Some(text(t)),
                    br::ContentBlock::ToolUse(u) => Some(call(
                        &u.tool_use_id,
                        &u.name,
                        bedrock::document_to_json(&u.input),
                    )),
                    br::ContentBlock::ToolResult(r) => {
                        let content = r
                            .content
                            .iter()
                            .filter_map(|c| match c {
                                br::ToolResultContentBlock::Text(t) => Some(t.as_str()),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join("");
                        Some(result(
                            &r.tool_use_id,
                            &content,
                            r.status == Some(br::ToolResultStatus::Error),
                        ))
                    }
                    _ => None,
                })
                .collect(),
        })
        .collect()
}

/// JSON results are compared as JSON: Gemini carries them structured.
fn normalized_meaning(messages: &[Message]) -> Vec<(Role, Vec<String>)> {
    let canonical: Vec<Message> = messages
        .iter()
        .map(|m| Message {
            role: m.role,
            content: m
                .content
                .iter()
                .map(|b| match b {
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content,
                        is_error,
                    } => result(
                        tool_use_id,
                        &serde_json::from_str::<Value>(content)
                            .map(|v| v.to_string())
                            .unwrap_or_else(|_| content.clone()),
                        *is_error,
                    ),
                    other => other.clone(),
                })
                .collect(),
        })
        .collect();
    meaning(&canonical)
}

#[test]
fn every_provider_request_keeps_the_conversation_meaning() {
    let messages = conversation();
    let expected = normalized_meaning(&messages);

    let a = anthropic::to_request(&request("claude-sonnet-4-5", messages.clone()));
    assert_eq!(normalized_meaning(&from_anthropic_request(&a)), expected);
    assert_eq!(
        a.system.as_ref().map(|s| s.text()).as_deref(),
        Some("You compare weather.")
    );
    assert_eq!(a.tools.len(), 2);

    let o = openai::to_request(
        &request("gpt-4o-mini", messages.clone()),
        MaxTokensField::MaxCompletionTokens,
    );
    assert_eq!(normalized_meaning(&from_openai_request(&o)), expected);
    assert_eq!(o.messages[0].role, "system");

    let g = gemini::to_request(&request("gemini-2.5-flash", messages.clone()));
    assert_eq!(normalized_meaning(&from_gemini_request(&g)), expected);
    assert!(g.system_instruction.is_some());

    let b = bedrock::to_request(&request("amazon.nova-pro-v1:0", messages.clone()));
    let Ok(b) = b else { panic!("{b:?}") };
    assert_eq!(normalized_meaning(&from_bedrock_request(&b)), expected);
    assert_eq!(b.tool_config.map(|t| t.tools.len()), Some(2));
}

/// The assistant reply every provider is asked to express: text and two calls.
fn reply() -> Message {
    Message {
        role: Role::Assistant,
        content: vec![
            text("Let me check Oslo and convert."),
            call("id_1", "get_weather", json!({"city": "Oslo"})),
            call("id_2", "calculate", json!({"expression": "3 * 1.8 + 32"})),
        ],
    }
}

#[test]
fn every_provider_reply_comes_back_with_its_meaning() {
    let expected = reply();

    let a = anthropic::from_response_json(
        &json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
            "content": [
                {"type": "text", "text": "Let me check Oslo and convert."},
                {"type": "tool_use", "id": "id_1", "name": "get_weather", "input": {"city": "Oslo"}},
                {"type": "tool_use", "id": "id_2", "name": "calculate", "input": {"expression": "3 * 1.8 + 32"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        })
        .to_string(),
    );
    assert!(
        matches!(&a, Ok(r) if r.message == expected && r.stop_reason == StopReason::ToolUse),
        "{a:?}"
    );

    let o = openai::from_response_json(
        &json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null, "message": {
                "role": "assistant", "content": "Let me check Oslo and convert.", "refusal": null,
                "tool_calls": [
                    {"id": "id_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                    {"id": "id_2", "type": "function", "function": {"name": "calculate", "arguments": "{\"expression\":\"3 * 1.8 + 32\"}"}}
                ]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        })
        .to_string(),
    );
    assert!(
        matches!(&o, Ok(r) if r.message == expected && r.stop_reason == StopReason::ToolUse),
        "{o:?}"
    );

    let g = gemini::from_response_json(
        &json!({
            "candidates": [{"index": 0, "finishReason": "STOP", "content": {"role": "model", "parts": [
                {"text": "Let me check Oslo and convert."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                {"functionCall": {"name": "calculate", "args": {"expression": "3 * 1.8 + 32"}}}
            ]}}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "gemini-2.5-flash", "responseId": "r1"
        })
        .to_string(),
        "gemini-2.5-flash",
    );
    let Ok(g) = g else { panic!("{g:?}") };
    // Gemini has no ids: the meaning (text, names, inputs, order) is the same.
    assert_eq!(
        meaning(std::slice::from_ref(&g.message)),
        meaning(std::slice::from_ref(&expected))
    );
    assert_eq!(g.stop_reason, StopReason::ToolUse);

    let output = aws_sdk_bedrockruntime::operation::converse::ConverseOutput::builder()
        .output(br::ConverseOutput::Message(
            br::Message::builder()
                .role(br::ConversationRole::Assistant)
                .content(br::ContentBlock::Text(
                    "Let me check Oslo and convert.".into(),
                ))
                .content(br::ContentBlock::ToolUse(
                    br::ToolUseBlock::builder()
                        .tool_use_id("id_1")
                        .name("get_weather")
                        .input(bedrock::json_to_document(&json!({"city": "Oslo"})))
                        .build()
                        .unwrap_or_else(|e| panic!("{e}")),
                ))
                .content(br::ContentBlock::ToolUse(
                    br::ToolUseBlock::builder()
                        .tool_use_id("id_2")
                        .name("calculate")
                        .input(bedrock::json_to_document(
                            &json!({"expression": "3 * 1.8 + 32"}),
                        ))
                        .build()
                        .unwrap_or_else(|e| panic!("{e}")),
                ))
                .build()
                .unwrap_or_else(|e| panic!("{e}")),
        ))
        .stop_reason(br::StopReason::ToolUse)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let b = bedrock::from_output(output, "amazon.nova-pro-v1:0");
    assert!(
        matches!(&b, Ok(r) if r.message == expected && r.stop_reason == StopReason::ToolUse),
        "{b:?}"
    );
}

fn fixture(provider: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/{provider}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

#[test]
fn a_conversation_started_on_anthropic_continues_on_openai_and_gemini() {
    // Turn 1 on Anthropic: one tool call.
    let mut history = vec![Message::user_text("Weather in Paris?")];
    let first = anthropic::from_response_json(&fixture("anthropic", "tool_use.json"));
    let Ok(first) = first else {
        panic!("{first:?}")
    };
    let call_id = first.message.tool_calls()[0].id.clone();
    history.push(first.message);
    history.push(Message::tool_results(&[agent_builder::ToolResult::ok(
        call_id.clone(),
        "{\"temp_c\": 18}",
    )]));

    // Turn 2 on OpenAI: Anthropic's call and its result, paired by id.
    let o = openai::to_request(
        &request("gpt-4o-mini", history.clone()),
        MaxTokensField::MaxTokens,
    );
    let assistant = &o.messages[2];
    assert_eq!(assistant.role, "assistant");
    assert_eq!(assistant.tool_calls[0].id, call_id);
    assert_eq!(
        assistant.tool_calls[0].function.arguments,
        Value::String("{\"city\":\"Paris\",\"unit\":\"celsius\"}".into())
    );
    assert_eq!(
        o.messages[3].tool_call_id.as_deref(),
        Some(call_id.as_str())
    );
    assert_eq!(
        normalized_meaning(&from_openai_request(&o)),
        normalized_meaning(&history)
    );
    let second = openai::from_response_json(&fixture("openai", "tool_calls_parallel.json"));
    let Ok(second) = second else {
        panic!("{second:?}")
    };
    let results: Vec<agent_builder::ToolResult> = second
        .message
        .tool_calls()
        .iter()
        .map(|c| agent_builder::ToolResult::ok(c.id.clone(), format!("ok for {}", c.input)))
        .collect();
    history.push(second.message);
    history.push(Message::tool_results(&results));

    // Turn 3 on Gemini: every call and result so far, paired by name and order.
    let g = gemini::to_request(&request("gemini-2.5-flash", history.clone()));
    assert_eq!(
        normalized_meaning(&from_gemini_request(&g)),
        normalized_meaning(&history)
    );
    let third = gemini::from_response_json(&fixture("gemini", "text.json"), "gemini-2.5-flash");
    let Ok(third) = third else {
        panic!("{third:?}")
    };
    assert_eq!(third.stop_reason, StopReason::EndTurn);
    history.push(third.message);
    history.push(Message::user_text("Thanks. And tomorrow?"));

    // And back on Bedrock and Anthropic, with the whole mixed history.
    let b = bedrock::to_request(&request("amazon.nova-pro-v1:0", history.clone()));
    let Ok(b) = b else { panic!("{b:?}") };
    assert_eq!(
        normalized_meaning(&from_bedrock_request(&b)),
        normalized_meaning(&history)
    );
    let a = anthropic::to_request(&request("claude-sonnet-4-5", history.clone()));
    assert_eq!(
        normalized_meaning(&from_anthropic_request(&a)),
        normalized_meaning(&history)
    );
}

#[test]
fn gemini_signatures_go_back_to_gemini_on_their_parts_and_to_no_other_provider() {
    let model = "gemini-3-pro-preview";
    let signed =
        gemini::from_response_json(&fixture("gemini", "function_calls_signed.json"), model);
    let Ok(signed) = signed else {
        panic!("{signed:?}")
    };
    assert_eq!(signed.stop_reason, StopReason::ToolUse);
    assert_eq!(signed.message.text(), "I'll check both cities.");
    let calls = signed.message.tool_calls();
    let mut history = vec![Message::user_text("Paris or Tokyo, which is warmer?")];
    history.push(signed.message);
    history.push(Message::tool_results(&[
        agent_builder::ToolResult::ok(calls[0].id.clone(), "{\"temp_c\": 18}"),
        agent_builder::ToolResult::ok(calls[1].id.clone(), "{\"temp_c\": 21}"),
    ]));
    let last =
        gemini::from_response_json(&fixture("gemini", "text_signature_last_part.json"), model);
    let Ok(last) = last else { panic!("{last:?}") };
    assert_eq!(last.message.text(), "Paris is 18 °C and Tokyo 21 °C.");
    history.push(last.message);
    history.push(Message::user_text("And in Oslo?"));

    // Stored and loaded again, as the conversation store does.
    let stored = serde_json::to_string(&history).unwrap_or_default();
    let loaded: Vec<Message> = serde_json::from_str(&stored).unwrap_or_default();
    assert_eq!(loaded, history);

    // Back to Gemini 3: each signature on its own part, no placeholder where the model signed.
    let body = serde_json::to_value(gemini::to_request(&request(model, loaded.clone())))
        .unwrap_or_default();
    let first_turn = &body["contents"][1]["parts"];
    assert_eq!(
        first_turn[0],
        json!({"text": "I'll check both cities.", "thoughtSignature": "CtwBAdHtim8xPq3vT0bS1Yd0YQ2n0yKJ5m4xgk8oU7y4k2XlqJ0r9T2v"})
    );
    assert_eq!(
        first_turn[1]["thoughtSignature"],
        "CiwBAdHtim9Jx2F8u0YQ6mB1vQ4u9r2ZkYc1cK4dS3pGf7xWw0a1QhT3"
    );
    assert_eq!(
        first_turn[1]["functionCall"]["args"],
        json!({"city": "Paris"})
    );
    assert!(
        first_turn[2].get("thoughtSignature").is_none(),
        "{first_turn}"
    );
    let answer_turn = &body["contents"][3]["parts"];
    assert_eq!(
        answer_turn,
        &json!([
            {"text": "Paris is 18 °C and Tokyo 21 °C.", "thoughtSignature": "Cr8BAdHtim-3n1eWq0pQ9sL2Xk7YbV4m8Z0tGd5c1FhJ2uR6oN3yAe9w"}
        ])
    );

    // Another Gemini model gets the placeholder instead: a signature is bound to its model.
    let other = serde_json::to_value(gemini::to_request(&request(
        "gemini-3-flash-preview",
        loaded.clone(),
    )))
    .unwrap_or_default();
    let parts = &other["contents"][1]["parts"];
    assert!(parts[0].get("thoughtSignature").is_none(), "{parts}");
    assert_eq!(
        parts[1]["thoughtSignature"],
        gemini::DUMMY_THOUGHT_SIGNATURE
    );

    // Anywhere else: not one signature, and the same meaning as before.
    let signatures = ["CtwBAdHtim8", "CiwBAdHtim9", "Cr8BAdHtim"];
    let a = anthropic::to_request(&request("claude-sonnet-4-5", loaded.clone()));
    let o = openai::to_request(
        &request("gpt-4o-mini", loaded.clone()),
        MaxTokensField::MaxTokens,
    );
    let b = bedrock::to_request(&request("amazon.nova-pro-v1:0", loaded.clone()));
    let Ok(b) = b else { panic!("{b:?}") };
    let sent = [
        serde_json::to_string(&a).unwrap_or_default(),
        serde_json::to_string(&o).unwrap_or_default(),
        format!("{b:?}"),
    ];
    for body in &sent {
        assert!(body.contains("Paris is 18"), "{body}");
        for signature in signatures {
            assert!(!body.contains(signature), "{body}");
        }
        assert!(!body.contains("thought"), "{body}");
    }
    assert_eq!(
        normalized_meaning(&from_anthropic_request(&a)),
        normalized_meaning(&loaded)
    );
    assert_eq!(
        normalized_meaning(&from_openai_request(&o)),
        normalized_meaning(&loaded)
    );
}
