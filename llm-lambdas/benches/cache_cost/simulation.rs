//! The cache-cost benchmark's computation, shared by the bench (`benches/cache_cost.rs`, which
//! prints it) and a test (`tests/cache_cost.rs`, which asserts on it), so the figures cannot rot.
//!
//! A scripted 20-turn conversation of the demo `assistant` agent (its system prompt, model and
//! tools read from the committed `state-machines/assistant.asl.json`) runs through the real
//! [`Handler`] and the real adapter, against a loopback server that answers like the provider
//! with usage computed the way prompt caching is documented
//! (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>, "How prompt caching
//! works"; Bedrock's Claude models cache the same way,
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html>):
//!
//! - the prompt is the tools, then the system prompt, then the messages, block by block; a
//!   block counts one token per four bytes of its JSON (the cache markers left out);
//! - a breakpoint (a block with `cache_control`, or a `cachePoint` block) caches the prefix up to
//!   it, if that prefix holds at least the model's minimum (1,024 tokens for Sonnet 4.5);
//! - a request reads the longest prefix already cached that ends at a block boundary at most 20
//!   blocks before one of its breakpoints; it writes what lies between that and its last
//!   cacheable breakpoint; the rest is plain input;
//! - every turn comes within the five-minute lifetime of the one before.
//!
//! The usage the adapter parses is priced with the embedded price table
//! ([`llm_lambdas::pricing`]); the input cost of a turn is its uncached tokens at the input price,
//! its cache reads at the read price and its writes at the write price.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_builder::{AgentConfig, LlmRequest, Provider, StopReason, ToolResult};
use aws_sdk_bedrockruntime::config::retry::RetryConfig;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::pricing::PriceTable;
use llm_lambdas::providers::ApiKey;
use llm_lambdas::providers::anthropic::{AnthropicModel, PromptCache};
use llm_lambdas::providers::bedrock::BedrockModel;
use llm_lambdas::{CacheTokens, ChatModel, Handler, MemoryStore};
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The number of model turns of the scripted conversation.
pub const TURNS: u32 = 20;

const ASSISTANT_ASL: &str = include_str!("../../../state-machines/assistant.asl.json");

/// The API the conversation goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Anthropic's Messages API, `cache_control` breakpoints.
    Anthropic,
    /// Bedrock's Converse API with the same Claude model, `cachePoint` blocks.
    Bedrock,
}

impl Api {
    /// The name printed.
    pub fn label(self) -> &'static str {
        match self {
            Api::Anthropic => "Anthropic Messages",
            Api::Bedrock => "Bedrock Converse",
        }
    }

    fn provider(self) -> Provider {
        match self {
            Api::Anthropic => Provider::Anthropic,
            Api::Bedrock => Provider::Bedrock,
        }
    }

    /// The model id: the agent's own on Anthropic, its Bedrock inference profile on Bedrock.
    fn model(self, agent: &AgentConfig) -> String {
        match self {
            Api::Anthropic => agent.model.model.clone(),
            Api::Bedrock => format!("us.anthropic.{}-20250929-v1:0", agent.model.model),
        }
    }
}

/// What one run of the conversation used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    /// Input tokens of all turns (the whole prompt each turn).
    pub input_tokens: u64,
    /// Of them, read from the cache.
    pub cache_read_tokens: u64,
    /// Of them, written to the cache.
    pub cache_write_tokens: u64,
    /// The estimated input cost in US dollars.
    pub input_cost_usd: f64,
    /// The input cost after each turn, summed so far.
    pub input_cost_by_turn: Vec<f64>,
    /// The most breakpoints one request carried.
    pub most_breakpoints: usize,
}

/// The same conversation without and with prompt caching.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The API.
    pub api: Api,
    /// The model id.
    pub model: String,
    /// Without caching (no breakpoints sent).
    pub uncached: Totals,
    /// With caching (the adapter's default).
    pub cached: Totals,
}

impl Comparison {
    /// How much lower the input cost is with caching, in percent, after `turns` turns.
    pub fn saving_percent(&self, turns: usize) -> f64 {
        let at = |t: &Totals| t.input_cost_by_turn.get(turns - 1).copied().unwrap_or(0.0);
        let without = at(&self.uncached);
        if without <= 0.0 {
            return 0.0;
        }
        100.0 * (1.0 - at(&self.cached) / without)
    }
}

/// The demo `assistant` agent, as its state machine gives it to the LLM Lambda.
pub fn assistant() -> Result<AgentConfig, String> {
    let asl: Value = serde_json::from_str(ASSISTANT_ASL).map_err(|e| e.to_string())?;
    let agent = asl["States"]["Call LLM"]["Arguments"]["Payload"]["agent"].clone();
    serde_json::from_value(agent).map_err(|e| format!("the assistant's config: {e}"))
}

/// The model's side of the script: a tool call on turns 1 to 19, the answer on turn 20.
fn scripted_call(turn: u32) -> Option<(&'static str, Value)> {
    if turn >= TURNS {
        return None;
    }
    Some(match turn % 4 {
        1 => (
            "get_weather",
            json!({"places": ["Lisbon, Portugal", "Porto, Portugal"], "forecast_days": 3}),
        ),
        2 => (
            "convert_currency",
            json!({"amount": 180 + turn, "from": "EUR", "to": "USD"}),
        ),
        3 => (
            "calculate",
            json!({"expression": format!("3 * 112.5 + {turn} * 14.2")}),
        ),
        _ => ("current_time", json!({"time_zone": "Europe/Lisbon"})),
    })
}

/// The tool's side of the script: a result shaped like the stock tool's.
fn scripted_result(name: &str, turn: u32) -> String {
    match name {
        "get_weather" => json!({"places": [
            {"place": "Lisbon, Lisboa, Portugal", "now": {"temperature": 21.4, "feels_like": 20.9, "humidity": 61, "precipitation": 0.0, "wind_speed": 14.0, "conditions": "partly cloudy"},
             "days": [{"date": "2025-06-02", "conditions": "sunny", "high": 24.1, "low": 16.0, "precipitation": 0.0},
                      {"date": "2025-06-03", "conditions": "partly cloudy", "high": 23.0, "low": 15.8, "precipitation": 0.2},
                      {"date": "2025-06-04", "conditions": "light rain", "high": 20.5, "low": 15.1, "precipitation": 3.4}]},
            {"place": "Porto, Porto, Portugal", "now": {"temperature": 18.2, "feels_like": 17.5, "humidity": 72, "precipitation": 0.0, "wind_speed": 19.0, "conditions": "overcast"},
             "days": [{"date": "2025-06-02", "conditions": "overcast", "high": 20.3, "low": 14.2, "precipitation": 0.0},
                      {"date": "2025-06-03", "conditions": "light rain", "high": 19.1, "low": 13.9, "precipitation": 2.1},
                      {"date": "2025-06-04", "conditions": "rain", "high": 17.8, "low": 13.0, "precipitation": 8.7}]}
        ], "units": "metric", "source": "Open-Meteo"}).to_string(),
        "convert_currency" => json!({"amount": 180 + turn, "from": "EUR", "to": "USD", "rate": 1.0843, "result": f64::from(180 + turn) * 1.0843, "date": "2025-06-02", "source": "European Central Bank reference rates"}).to_string(),
        "calculate" => json!({"expression": format!("3 * 112.5 + {turn} * 14.2"), "value": 337.5 + f64::from(turn) * 14.2}).to_string(),
        _ => json!({"time_zone": "Europe/Lisbon", "local_time": "2025-06-02T09:41:07+01:00", "utc_offset": "+01:00", "weekday": "Monday"}).to_string(),
    }
}

const QUESTION: &str = "I'm planning five days in Portugal next week, Lisbon then Porto, on a budget \
of 1,800 EUR. Check the weather in both, convert my budget items to US dollars as we go, add up \
the hotel and train costs, and tell me what time it is there now so I can call the hotels.";

const ANSWER: &str = "Lisbon will be sunny and warm for the first two days, Porto cooler with rain \
midweek: pack a light jacket. Your hotels and trains come to about 1,240 EUR (1,345 USD), which \
leaves about 560 EUR for food and sights. It is 09:41 in Lisbon now, a good time to call.";

/// One prompt block as the server counts it: its JSON without cache markers, and whether a
/// breakpoint follows it.
struct Block {
    json: String,
    breakpoint: bool,
}

fn tokens(json: &str) -> u64 {
    (json.len() as u64).div_ceil(4)
}

/// The blocks of an Anthropic Messages body, in prompt order.
fn anthropic_blocks(body: &Value) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut push = |value: &Value| {
        let mut plain = value.clone();
        let breakpoint = plain
            .as_object_mut()
            .and_then(|o| o.remove("cache_control"))
            .is_some();
        blocks.push(Block {
            json: plain.to_string(),
            breakpoint,
        });
    };
    for tool in body["tools"].as_array().into_iter().flatten() {
        push(tool);
    }
    match &body["system"] {
        Value::String(text) => push(&json!({"type": "text", "text": text})),
        Value::Array(items) => items.iter().for_each(&mut push),
        _ => {}
    }
    for message in body["messages"].as_array().into_iter().flatten() {
        for block in message["content"].as_array().into_iter().flatten() {
            push(block);
        }
    }
    blocks
}

/// The blocks of a Converse body, in prompt order; a `cachePoint` marks the block before it.
fn converse_blocks(body: &Value) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut push = |value: &Value| {
        if value.get("cachePoint").is_some() {
            if let Some(last) = blocks.last_mut() {
                last.breakpoint = true;
            }
        } else {
            blocks.push(Block {
                json: value.to_string(),
                breakpoint: false,
            });
        }
    };
    for tool in body["toolConfig"]["tools"].as_array().into_iter().flatten() {
        push(tool);
    }
    for block in body["system"].as_array().into_iter().flatten() {
        push(block);
    }
    for message in body["messages"].as_array().into_iter().flatten() {
        for block in message["content"].as_array().into_iter().flatten() {
            push(block);
        }
    }
    blocks
}

/// How far before a breakpoint the cache looks for an earlier entry, in blocks.
const LOOKBACK_BLOCKS: usize = 20;

/// The prompt cache of the server: the hashes of the prefixes written so far.
#[derive(Default)]
struct PromptCacheState {
    entries: HashSet<u64>,
    most_breakpoints: usize,
}

/// Usage of one request, by the rules in the module docs: (uncached, read, write) tokens.
fn cache_usage(state: &mut PromptCacheState, blocks: &[Block], minimum: u64) -> (u64, u64, u64) {
    let mut prefix_tokens = Vec::with_capacity(blocks.len());
    let mut prefix_hashes = Vec::with_capacity(blocks.len());
    let mut hasher = DefaultHasher::new();
    let mut total = 0u64;
    for block in blocks {
        block.json.hash(&mut hasher);
        total += tokens(&block.json);
        prefix_tokens.push(total);
        prefix_hashes.push(hasher.finish());
    }
    let breakpoints: Vec<usize> = (0..blocks.len())
        .filter(|i| blocks[*i].breakpoint)
        .collect();
    state.most_breakpoints = state.most_breakpoints.max(breakpoints.len());
    let mut read = 0u64;
    for &b in &breakpoints {
        for position in (b.saturating_sub(LOOKBACK_BLOCKS - 1)..=b).rev() {
            if state.entries.contains(&prefix_hashes[position]) {
                read = read.max(prefix_tokens[position]);
                break;
            }
        }
    }
    let mut written_through = read;
    for &b in &breakpoints {
        if prefix_tokens[b] >= minimum {
            state.entries.insert(prefix_hashes[b]);
            written_through = written_through.max(prefix_tokens[b]);
        }
    }
    let write = written_through - read;
    (total - written_through, read, write)
}

/// The loopback provider: replies from the script, usage from the cache rules.
struct ScriptedProvider {
    api: Api,
    model: String,
    minimum: u64,
    state: Arc<Mutex<PromptCacheState>>,
}

impl Respond for ScriptedProvider {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        let (blocks, turn) = match self.api {
            Api::Anthropic => (
                anthropic_blocks(&body),
                body["messages"].as_array().map_or(0, Vec::len),
            ),
            Api::Bedrock => (
                converse_blocks(&body),
                body["messages"].as_array().map_or(0, Vec::len),
            ),
        };
        // Turn n sends 2n - 1 messages.
        let turn = u32::try_from(turn.div_ceil(2)).unwrap_or(TURNS);
        let (uncached, read, write) = match self.state.lock() {
            Ok(mut state) => cache_usage(&mut state, &blocks, self.minimum),
            Err(_) => return ResponseTemplate::new(500),
        };
        let output_tokens = 60;
        let reply = match (self.api, scripted_call(turn)) {
            (Api::Anthropic, call) => json!({
                "id": format!("msg_{turn}"), "type": "message", "role": "assistant", "model": self.model,
                "content": match &call {
                    Some((name, input)) => json!([{"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": format!("toolu_{turn}"), "name": name, "input": input}]),
                    None => json!([{"type": "text", "text": ANSWER}]),
                },
                "stop_reason": if call.is_some() { "tool_use" } else { "end_turn" },
                "usage": {"input_tokens": uncached, "cache_creation_input_tokens": write,
                    "cache_read_input_tokens": read, "output_tokens": output_tokens}
            }),
            (Api::Bedrock, call) => json!({
                "output": {"message": {"role": "assistant", "content": match &call {
                    Some((name, input)) => json!([{"text": "Checking."},
                        {"toolUse": {"toolUseId": format!("tooluse_{turn}"), "name": name, "input": input}}]),
                    None => json!([{"text": ANSWER}]),
                }}},
                "stopReason": if call.is_some() { "tool_use" } else { "end_turn" },
                "usage": {"inputTokens": uncached, "outputTokens": output_tokens,
                    "totalTokens": uncached + read + write + output_tokens,
                    "cacheReadInputTokens": read, "cacheWriteInputTokens": write},
                "metrics": {"latencyMs": 1}
            }),
        };
        ResponseTemplate::new(200).set_body_raw(reply.to_string(), "application/json")
    }
}

fn model_for(api: Api, server: &MockServer, caching: bool) -> Result<Arc<dyn ChatModel>, String> {
    let timeout = Duration::from_secs(30);
    Ok(match api {
        Api::Anthropic => Arc::new(
            AnthropicModel::new(server.uri(), ApiKey::new("sk-ant-bench-0000"), timeout)
                .map_err(|e| e.to_string())?
                .with_prompt_cache(if caching {
                    PromptCache::FiveMinutes
                } else {
                    PromptCache::Off
                }),
        ),
        Api::Bedrock => {
            let conf = aws_sdk_bedrockruntime::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new(
                    "AKIDEXAMPLE",
                    "bench",
                    None,
                    None,
                    "bench",
                ))
                .endpoint_url(server.uri())
                .retry_config(RetryConfig::disabled())
                .build();
            Arc::new(
                BedrockModel::new(aws_sdk_bedrockruntime::Client::from_conf(conf), timeout)
                    .with_prompt_cache(caching),
            )
        }
    })
}

/// Runs the scripted conversation through the handler once.
async fn converse(api: Api, caching: bool) -> Result<Totals, String> {
    let mut agent = assistant()?;
    agent.model.model = api.model(&agent);
    let server = MockServer::start().await;
    let state = Arc::new(Mutex::new(PromptCacheState::default()));
    Mock::given(method("POST"))
        .respond_with(ScriptedProvider {
            api,
            model: agent.model.model.clone(),
            minimum: 1024,
            state: state.clone(),
        })
        .mount(&server)
        .await;
    let handler = Handler::new(
        model_for(api, &server, caching)?,
        Arc::new(MemoryStore::new()),
    )
    .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let price = PriceTable::embedded()
        .price(api.provider(), &agent.model.model)
        .ok_or_else(|| format!("no price for {}", agent.model.model))?;
    let mut totals = Totals::default();
    let mut tool_results: Vec<ToolResult> = Vec::new();
    for turn in 1..=TURNS {
        let response = handler
            .handle(LlmRequest {
                agent: agent.clone(),
                conversation_id: "cache-bench".into(),
                execution: None,
                iteration: turn,
                question: (turn == 1).then(|| QUESTION.to_string()),
                tool_results: std::mem::take(&mut tool_results),
            })
            .await
            .map_err(|e| format!("turn {turn}: {e}"))?;
        let usage = response.usage;
        totals.input_tokens += usage.input_tokens;
        totals.cache_read_tokens += usage.cache_read_tokens;
        totals.cache_write_tokens += usage.cache_write_tokens;
        totals.input_cost_usd += price.cost(
            usage.input_tokens,
            0,
            CacheTokens {
                read: usage.cache_read_tokens,
                write: usage.cache_write_tokens,
                write_1h: 0,
            },
        );
        totals.input_cost_by_turn.push(totals.input_cost_usd);
        let expected = if turn < TURNS {
            StopReason::ToolUse
        } else {
            StopReason::EndTurn
        };
        if response.stop_reason != expected || !response.rejected.is_empty() {
            return Err(format!("turn {turn}: unexpected reply {response:?}"));
        }
        tool_results = response
            .tool_calls
            .iter()
            .map(|call| ToolResult::ok(call.id.clone(), scripted_result(&call.name, turn)))
            .collect();
    }
    totals.most_breakpoints = state.lock().map(|s| s.most_breakpoints).unwrap_or(0);
    Ok(totals)
}

/// The conversation on `api`, without and with caching.
pub async fn compare(api: Api) -> Result<Comparison, String> {
    let agent = assistant()?;
    Ok(Comparison {
        api,
        model: api.model(&agent),
        uncached: converse(api, false).await?,
        cached: converse(api, true).await?,
    })
}

/// The figures side by side, as the bench prints them.
pub fn report(comparisons: &[Comparison]) -> String {
    let mut out = format!(
        "Estimated input cost of the `assistant` agent's scripted {TURNS}-turn conversation\n\n"
    );
    out.push_str(&format!(
        "{:<20} {:<45} {:>6} {:>13} {:>13} {:>8}\n",
        "API", "model", "turns", "no cache $", "cache $", "saving"
    ));
    for c in comparisons {
        for turns in [1usize, 5, 10, 20] {
            if turns > c.cached.input_cost_by_turn.len() {
                continue;
            }
            out.push_str(&format!(
                "{:<20} {:<45} {:>6} {:>13.6} {:>13.6} {:>7.1}%\n",
                c.api.label(),
                c.model,
                turns,
                c.uncached.input_cost_by_turn[turns - 1],
                c.cached.input_cost_by_turn[turns - 1],
                c.saving_percent(turns)
            ));
        }
        out.push_str(&format!(
            "{:<20} tokens over {TURNS} turns: {} input without cache; with cache {} input, of which {} read from and {} written to the cache; at most {} breakpoints a request\n",
            "",
            c.uncached.input_tokens,
            c.cached.input_tokens,
            c.cached.cache_read_tokens,
            c.cached.cache_write_tokens,
            c.cached.most_breakpoints,
        ));
    }
    out
}
