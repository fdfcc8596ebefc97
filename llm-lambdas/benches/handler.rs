//! The handler's own work per call, excluding the network, for each provider at 10 and 100
//! turns; and the size of each Lambda zip.
//!
//! `cargo bench -p sfn-agent-llm --bench handler`
//!
//! One measured call = parse the Lambda payload (`LlmRequest` JSON) → load the conversation
//! from an in-memory store holding each turn as JSON (as the DynamoDB item does) → convert the
//! history to the provider's request and serialize its body → parse a canned provider response
//! (the providers' documented shapes, from `tests/fixtures/`) → validate the tool calls against
//! their JSON Schemas → write the EMF line (to a sink) → serialize the turn for the store →
//! serialize the `LlmResponse`. Median over many runs, in microseconds.
//!
//! Every call goes through the Lambda's [`CachedStore`], as in the Lambda. "warm": the cache
//! already holds the history from the previous turn (a warm Lambda serving an execution's
//! successive turns). The other columns: each call is a conversation the cache has never seen,
//! so the whole history is parsed, as a cold Lambda does; what the cache then forgets is freed
//! after the call, as the Lambda frees it after posting the response.
//!
//! The stored turns hold no response, as in DynamoDB, whose `Query` leaves each turn's
//! `response_json` apart.
//!
//! Bedrock's response is built with the SDK's builders from the fixture (the SDK's own
//! deserializer is not public), then converted by the adapter.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use agent_builder::{
    AgentConfig, ContentBlock, LlmRequest, Message, ModelSpec, Provider, Role, ToolResult, ToolSpec,
};
use aws_sdk_bedrockruntime::operation::converse::ConverseOutput;
use aws_sdk_bedrockruntime::types as br;
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::providers::{anthropic, bedrock, gemini, openai};
use llm_lambdas::store::{CachedStore, ConversationStore, StoreError, StoredResponse, Turn};
use llm_lambdas::{ChatModel, ChatRequest, ChatResponse, Handler, LlmError};
use serde_json::{Value, json};

const ANTHROPIC: &str = include_str!("../tests/fixtures/anthropic/tool_use_parallel.json");
const OPENAI: &str = include_str!("../tests/fixtures/openai/tool_calls_parallel.json");
const GEMINI: &str = include_str!("../tests/fixtures/gemini/function_calls_parallel.json");
const BEDROCK: &str = include_str!("../tests/fixtures/bedrock/tool_use_parallel.json");

/// A model that does everything an adapter does but the HTTP call.
struct CannedModel {
    provider: Provider,
    body: &'static str,
}

fn bench_error(message: String) -> LlmError {
    LlmError::BadRequest {
        provider: "bench".into(),
        message,
    }
}

#[async_trait::async_trait]
impl ChatModel for CannedModel {
    fn provider(&self) -> Provider {
        self.provider
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let to_bytes = |r: serde_json::Result<Vec<u8>>| r.map_err(|e| bench_error(e.to_string()));
        match self.provider {
            Provider::Anthropic => {
                black_box(to_bytes(serde_json::to_vec(&anthropic::to_request(
                    request,
                )))?);
                anthropic::from_response_json(self.body)
            }
            Provider::OpenAi => {
                let body = openai::to_request(request, openai::MaxTokensField::MaxCompletionTokens);
                black_box(to_bytes(serde_json::to_vec(&body))?);
                openai::from_response_json(self.body)
            }
            Provider::Gemini => {
                black_box(to_bytes(serde_json::to_vec(&gemini::to_request(request)))?);
                gemini::from_response_json(self.body, &request.model)
            }
            Provider::Bedrock => {
                black_box(bedrock::to_request(request)?);
                bedrock::from_output(converse_output(self.body)?, &request.model)
            }
        }
    }
}

/// Builds the SDK's `ConverseOutput` from a Converse response body.
fn converse_output(body: &str) -> Result<ConverseOutput, LlmError> {
    let v: Value = serde_json::from_str(body).map_err(|e| bench_error(e.to_string()))?;
    let mut content = Vec::new();
    for block in v["output"]["message"]["content"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(text) = block["text"].as_str() {
            content.push(br::ContentBlock::Text(text.to_string()));
        }
        if let Some(tool) = block.get("toolUse") {
            let tool_use = br::ToolUseBlock::builder()
                .tool_use_id(tool["toolUseId"].as_str().unwrap_or_default())
                .name(tool["name"].as_str().unwrap_or_default())
                .input(bedrock::json_to_document(&tool["input"]))
                .build()
                .map_err(|e| bench_error(e.to_string()))?;
            content.push(br::ContentBlock::ToolUse(tool_use));
        }
    }
    let message = br::Message::builder()
        .role(br::ConversationRole::Assistant)
        .set_content(Some(content))
        .build()
        .map_err(|e| bench_error(e.to_string()))?;
    let tokens = |k: &str| v["usage"][k].as_i64().unwrap_or_default() as i32;
    let usage = br::TokenUsage::builder()
        .input_tokens(tokens("inputTokens"))
        .output_tokens(tokens("outputTokens"))
        .total_tokens(tokens("totalTokens"))
        .build()
        .map_err(|e| bench_error(e.to_string()))?;
    ConverseOutput::builder()
        .output(br::ConverseOutput::Message(message))
        .stop_reason(br::StopReason::from(
            v["stopReason"].as_str().unwrap_or("end_turn"),
        ))
        .usage(usage)
        .build()
        .map_err(|e| bench_error(e.to_string()))
}

/// A store holding each turn as JSON, parsed on load (like a DynamoDB item); appends are
/// serialized and dropped, so every run sees the same history.
struct JsonStore {
    turns: Vec<String>,
}

#[async_trait::async_trait]
impl ConversationStore for JsonStore {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        self.turns
            .iter()
            .map(|t| {
                serde_json::from_str(t).map_err(|e| StoreError::Failed {
                    conversation_id: conversation_id.into(),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    async fn load_after(&self, conversation_id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        self.turns
            .iter()
            .skip(after as usize)
            .map(|t| {
                serde_json::from_str(t).map_err(|e| StoreError::Failed {
                    conversation_id: conversation_id.into(),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    async fn append(&self, _: &str, turn: &Turn) -> Result<(), StoreError> {
        black_box(serde_json::to_string(turn).map_err(|e| StoreError::Failed {
            conversation_id: String::new(),
            message: e.to_string(),
        })?);
        Ok(())
    }
}

fn agent(provider: Provider) -> AgentConfig {
    AgentConfig {
        name: "bench".into(),
        system_prompt: "You are a helpful assistant that answers questions about the weather, \
            using the tools you are given. Be concise."
            .into(),
        model: ModelSpec {
            provider,
            model: match provider {
                Provider::Anthropic => "claude-sonnet-4-5",
                Provider::OpenAi => "gpt-4o-mini",
                Provider::Gemini => "gemini-2.5-flash",
                Provider::Bedrock => "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            }
            .into(),
            max_tokens: 2048,
            temperature: None,
        },
        tools: vec![
            ToolSpec {
                name: "get_weather".into(),
                description: "The current weather in a city.".into(),
                input_schema: json!({
                    "type": "object",
                    "properties": {
                        "city": {"type": "string", "description": "The city, e.g. Paris"},
                        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
                    },
                    "required": ["city"]
                }),
            },
            ToolSpec {
                name: "calculate".into(),
                description: "Evaluates an arithmetic expression.".into(),
                input_schema: json!({
                    "type": "object",
                    "properties": {"expression": {"type": "string"}},
                    "required": ["expression"]
                }),
            },
        ],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

/// A conversation of `n` turns, each a tool call and its ~400-byte result.
fn conversation(provider: Provider, n: u32) -> (Vec<String>, Vec<ToolResult>) {
    let mut turns = Vec::new();
    let mut pending = Vec::new();
    for t in 1..=n {
        let user = if t == 1 {
            Message::user_text("What is the weather in Paris, and how does it compare to Tokyo?")
        } else {
            Message::tool_results(&pending)
        };
        let id = format!("toolu_{t:04}_abcdefghijklmnop");
        let assistant = Message {
            role: Role::Assistant,
            content: vec![
                ContentBlock::Text {
                    text: format!("Let me check city number {t}."),
                    extra: None,
                },
                ContentBlock::ToolUse {
                    id: id.clone(),
                    name: "get_weather".into(),
                    input: json!({"city": format!("City {t}"), "unit": "celsius"}),
                    extra: None,
                },
            ],
        };
        pending = vec![ToolResult::ok(
            id,
            json!({
                "city": format!("City {t}"), "temperature": 18.5, "unit": "celsius",
                "conditions": "partly cloudy with a light breeze from the south-west",
                "humidity": 62, "wind_kph": 14, "forecast": ["sunny", "cloudy", "rain", "sunny"],
                "observed_at": "2025-10-01T12:00:00Z", "station": "LFPG", "source": "bench"
            })
            .to_string(),
        )];
        let turn = Turn {
            execution: None,
            turn: t,
            iteration: t,
            provider,
            model: "bench-model".into(),
            messages: vec![user, assistant.clone()],
            // Kept apart by DynamoDB: not in what the history's `Query` reads.
            response: StoredResponse::Apart,
        };
        turns.push(serde_json::to_string(&turn).unwrap_or_default());
    }
    (turns, pending)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn measure(
    rt: &tokio::runtime::Runtime,
    provider: Provider,
    n: u32,
    body: &'static str,
    warm: bool,
) -> Result<f64, String> {
    let (turns, pending) = conversation(provider, n);
    // The Lambda's cache: warm, it knows the conversation from the previous call; cold, each
    // call is a conversation it has never seen (the store holds the same turns under any id).
    let store: Arc<dyn ConversationStore> = Arc::new(CachedStore::new(JsonStore { turns }));
    let handler = Handler::new(Arc::new(CannedModel { provider, body }), store)
        .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let payload = |conversation_id: String| {
        serde_json::to_string(&LlmRequest {
            execution: None,
            agent: agent(provider),
            conversation_id,
            iteration: n + 1,
            question: None,
            tool_results: pending.clone(),
        })
        .map_err(|e| e.to_string())
    };
    let runs = if n >= 100 { 400 } else { 2000 };
    let payloads = (0..runs + runs / 10)
        .map(|i| {
            payload(if warm {
                "bench".into()
            } else {
                format!("bench-{i}")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    rt.block_on(async {
        let mut samples = Vec::with_capacity(runs);
        for (i, payload) in payloads.iter().enumerate() {
            let started = Instant::now();
            let request: LlmRequest = serde_json::from_str(payload).map_err(|e| e.to_string())?;
            let response = handler.handle(request).await.map_err(|e| e.to_string())?;
            if response.tool_calls.len() != 3 {
                return Err(format!("expected 3 valid tool calls, got {response:?}"));
            }
            black_box(serde_json::to_vec(&response).map_err(|e| e.to_string())?);
            if i >= runs / 10 {
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
            // What the cache forgot is freed now, as the Lambda's runtime frees it while it
            // posts the response.
            tokio::task::yield_now().await;
        }
        Ok(median(samples))
    })
}

/// At `n` turns: the median of the store's load alone, and of the adapter's edge alone
/// (convert the history to the provider request, serialize it, parse the canned response).
fn measure_parts(
    rt: &tokio::runtime::Runtime,
    provider: Provider,
    n: u32,
    body: &'static str,
) -> Result<(f64, f64), String> {
    let (turns, pending) = conversation(provider, n);
    let store = JsonStore { turns };
    let model = CannedModel { provider, body };
    let agent = agent(provider);
    rt.block_on(async {
        let mut loads = Vec::new();
        let mut edges = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let turns = store.load("bench").await.map_err(|e| e.to_string())?;
            loads.push(started.elapsed().as_secs_f64() * 1e6);
            let mut messages: Vec<Message> = turns.into_iter().flat_map(|t| t.messages).collect();
            messages.push(Message::tool_results(&pending));
            let request = ChatRequest {
                model: agent.model.model.clone(),
                system: agent.system_prompt.clone(),
                messages,
                tools: agent.tools.clone(),
                max_tokens: agent.model.max_tokens,
                temperature: None,
                cache_ttl: Default::default(),
            };
            let started = Instant::now();
            black_box(model.complete(&request).await.map_err(|e| e.to_string())?);
            edges.push(started.elapsed().as_secs_f64() * 1e6);
        }
        Ok((median(loads), median(edges)))
    })
}

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("could not start tokio: {e}");
            std::process::exit(1);
        }
    };
    let cases = [
        (Provider::Anthropic, ANTHROPIC),
        (Provider::OpenAi, OPENAI),
        (Provider::Gemini, GEMINI),
        (Provider::Bedrock, BEDROCK),
    ];
    println!(
        "Handler's own work per call (no network), median µs; goals: <= 100 µs at 10 turns, <= 400 µs at 100 turns"
    );
    println!(
        "{:<10} {:>9} {:>10} {:>16}   {:>19} {:>22}",
        "provider",
        "10 turns",
        "100 turns",
        "100 turns, warm",
        "of which load @100",
        "of which adapter @100"
    );
    let mut failed = false;
    for (provider, body) in cases {
        let mut cells = Vec::new();
        for (n, warm) in [(10, false), (100, false), (100, true)] {
            match measure(&rt, provider, n, body, warm) {
                Ok(us) => cells.push(format!("{us:.1}")),
                Err(e) => {
                    eprintln!("{provider} at {n} turns failed: {e}");
                    failed = true;
                    cells.push("error".into());
                }
            }
        }
        let (load, edge) = match measure_parts(&rt, provider, 100, body) {
            Ok((load, edge)) => (format!("{load:.1}"), format!("{edge:.1}")),
            Err(e) => {
                eprintln!("{provider} parts failed: {e}");
                failed = true;
                ("error".into(), "error".into())
            }
        };
        println!(
            "{:<10} {:>9} {:>10} {:>16}   {:>19} {:>22}",
            provider.as_str(),
            cells[0],
            cells[1],
            cells[2],
            load,
            edge
        );
    }

    println!();
    println!("Lambda zips (goal: each at most 4 MiB; scripts/check-lambda-zips.sh)");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for provider in Provider::ALL {
        let bin = agent_builder::manifest::llm_binary(provider);
        let zip = root.join("target/lambda").join(&bin).join("bootstrap.zip");
        match std::fs::metadata(&zip) {
            Ok(m) => println!("{:<14} {:>8.2} MB", bin, m.len() as f64 / (1024.0 * 1024.0)),
            Err(_) => println!("{bin:<14} not built: run scripts/build-lambdas.sh"),
        }
    }
    if failed {
        std::process::exit(1);
    }
}
