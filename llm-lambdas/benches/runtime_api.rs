//! The real LLM Lambda binary (`llm-openai`, release profile) under a loopback Lambda Runtime
//! API emulator, with an instant loopback model server and a loopback DynamoDB: what one
//! invocation costs the deployed code, beside the in-process figures of `benches/handler.rs`.
//!
//! `cargo bench -p sfn-agent-llm --bench runtime_api`
//!
//! It builds the binary first (`cargo build --release -p sfn-agent-llm --bin llm-openai`; set
//! `SFN_AGENT_LAMBDA_BIN` to a built binary to skip that: the figures in the README were taken
//! that way, the build from inside `cargo bench` was not tried on the shared machine), then:
//!
//! - serves the Runtime API as documented (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>):
//!   `GET /2018-06-01/runtime/invocation/next` answers one event with the
//!   `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` and
//!   `Lambda-Runtime-Invoked-Function-Arn` headers, `POST …/invocation/{id}/response` and
//!   `…/{id}/error` take the result;
//! - serves `POST /v1/chat/completions` with one canned OpenAI reply (a `get_weather` call), at
//!   once;
//! - seeds the loopback DynamoDB (`tests/loopback`) with 400 conversations of 100 turns (a tool
//!   call and its ~400-byte result each, as in the handler bench) and one more to continue.
//!
//! Measured: the time to the first `invocation/next` poll (init), the first invocation (which
//! builds the AWS configuration and the adapter, and loads 100 turns), the median invocation on
//! 399 further conversations of 100 turns (each loaded whole: a cold cache), the median of 100
//! warm invocations continuing one conversation from 100 turns (the cache reads one item each),
//! and the process's memory (`VmRSS`, `VmHWM` from `/proc/PID/status`) after the 400 cold
//! invocations and after all 500. Each latency runs from handing the event to the binary's
//! `next` poll to receiving its `response`.

#[path = "../tests/loopback/mod.rs"]
mod loopback;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agent_builder::{
    AgentConfig, ContentBlock, LlmRequest, LlmResponse, Message, ModelSpec, Provider, Role,
    StopReason, ToolResult, ToolSpec, Usage,
};
use llm_lambdas::store::{StoredResponse, Turn};
use loopback::{Dynamo, Request, Response, serve};
use serde_json::{Value, json};

const TURNS: u32 = 100;
const COLD_INVOKES: usize = 400;
const WARM_INVOKES: usize = 100;
const WAIT: Duration = Duration::from_secs(30);
/// Seeds the items in an older format, to compare with a binary that wrote it, or the reading
/// of both: `strings` (`messages` and `response` as JSON strings, before `turn_json`) or
/// `inside` (the response inside `turn_json`, before `response_json`). Unset: as `DynamoStore`
/// writes them now.
const ITEMS_ENV: &str = "SFN_AGENT_BENCH_ITEMS";

type Result<T> = std::result::Result<T, String>;

/// The binary: `SFN_AGENT_LAMBDA_BIN`, or built now with the release profile.
fn binary() -> Result<PathBuf> {
    if let Ok(path) = std::env::var("SFN_AGENT_LAMBDA_BIN") {
        return Ok(PathBuf::from(path));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building llm-openai (release)…");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "sfn-agent-llm",
            "--bin",
            "llm-openai",
        ])
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build failed: {status}"));
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    Ok(target.join("release/llm-openai"))
}

/// One stored turn of conversation `id`: a tool call and its ~400-byte result; returns the item
/// as `DynamoStore` writes it (or wrote it, with [`ITEMS_ENV`]), and the id of the call the
/// next turn answers.
fn item(id: &str, t: u32, pending: Option<&str>) -> Result<(Value, String)> {
    let user = match pending {
        None => {
            Message::user_text("What is the weather in Paris, and how does it compare to Tokyo?")
        }
        Some(call) => Message::tool_results(&[weather_result(call, t - 1)]),
    };
    let call = format!("call_{t:04}_abcdefghijklmnop");
    let assistant = Message {
        role: Role::Assistant,
        content: vec![
            ContentBlock::text(format!("Let me check city number {t}.")),
            ContentBlock::ToolUse {
                id: call.clone(),
                name: "get_weather".into(),
                input: json!({"city": format!("City {t}"), "unit": "celsius"}),
                extra: None,
            },
        ],
    };
    let turn = Turn {
        turn: t,
        iteration: t,
        execution: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:agent:{id}"
        )),
        provider: Provider::OpenAi,
        model: "gpt-4o-mini".into(),
        response: LlmResponse {
            conversation_id: id.into(),
            iteration: t,
            stop_reason: StopReason::ToolUse,
            text: assistant.text(),
            tool_calls: assistant.tool_calls(),
            rejected: Vec::new(),
            structured: None,
            usage: Usage {
                input_tokens: 1000,
                output_tokens: 50,
                estimated_cost_usd: 0.0002,
                ..Usage::default()
            },
        }
        .into(),
        messages: vec![user, assistant],
    };
    let text = |v: serde_json::Result<String>| v.map_err(|e| e.to_string());
    use base64::Engine as _;
    let base64 = |bytes: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(bytes);
    let format = std::env::var(ITEMS_ENV).unwrap_or_default();
    let item = match format.as_str() {
        "strings" => json!({
            "conversation_id": {"S": id},
            "turn": {"N": t.to_string()},
            "iteration": {"N": t.to_string()},
            "execution": {"S": turn.execution},
            "provider": {"S": "openai"},
            "model": {"S": turn.model},
            "messages": {"S": text(serde_json::to_string(&turn.messages))?},
            "response": {"S": text(serde_json::to_string(&turn.response))?},
        }),
        "inside" => json!({
            "conversation_id": {"S": id},
            "turn": {"N": t.to_string()},
            "turn_json": {"B": base64(serde_json::to_vec(&turn).map_err(|e| e.to_string())?)},
        }),
        "" => {
            let response = serde_json::to_vec(&turn.response).map_err(|e| e.to_string())?;
            let head = Turn {
                response: StoredResponse::Apart,
                ..turn
            };
            let bytes = serde_json::to_vec(&head).map_err(|e| e.to_string())?;
            json!({
                "conversation_id": {"S": id},
                "turn": {"N": t.to_string()},
                "turn_json": {"B": base64(bytes)},
                "response_json": {"B": base64(response)},
            })
        }
        other => {
            return Err(format!(
                "{ITEMS_ENV} is `{other}`: expected strings or inside"
            ));
        }
    };
    Ok((item, call))
}

fn weather_result(call: &str, t: u32) -> ToolResult {
    ToolResult::ok(
        call,
        json!({
            "city": format!("City {t}"), "temperature": 18.5, "unit": "celsius",
            "conditions": "partly cloudy with a light breeze from the south-west",
            "humidity": 62, "wind_kph": 14, "forecast": ["sunny", "cloudy", "rain", "sunny"],
            "observed_at": "2025-10-01T12:00:00Z", "station": "LFPG", "source": "bench"
        })
        .to_string(),
    )
}

/// Seeds conversation `id` with `TURNS` turns; returns the id of the last, unanswered call.
fn seed(table: &Dynamo, id: &str) -> Result<String> {
    let mut pending: Option<String> = None;
    for t in 1..=TURNS {
        let (item, call) = item(id, t, pending.as_deref())?;
        table.put(item);
        pending = Some(call);
    }
    pending.ok_or_else(|| "no turn seeded".to_string())
}

fn agent() -> AgentConfig {
    AgentConfig {
        name: "weather".into(),
        system_prompt: "You are a helpful assistant that answers questions about the weather, \
            using the tools you are given. Be concise."
            .into(),
        model: ModelSpec {
            provider: Provider::OpenAi,
            model: "gpt-4o-mini".into(),
            max_tokens: 2048,
            temperature: None,
        },
        tools: vec![ToolSpec {
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
        }],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

fn event(id: &str, iteration: u32, call: &str) -> Result<Vec<u8>> {
    serde_json::to_vec(&LlmRequest {
        execution: Some(format!(
            "arn:aws:states:us-east-1:123456789012:execution:agent:{id}"
        )),
        agent: agent(),
        conversation_id: id.into(),
        iteration,
        question: None,
        tool_results: vec![weather_result(call, iteration - 1)],
    })
    .map_err(|e| e.to_string())
}

/// The model: every request gets one `get_weather` call with a fresh id, at once.
fn model_server() -> Result<String> {
    let calls = Arc::new(AtomicU64::new(0));
    let address = serve(Arc::new(move |request: Request| {
        if !request.path.ends_with("/chat/completions") {
            return Response::json(404, "application/json", &json!({"error": {"message": "not found"}}));
        }
        let n = calls.fetch_add(1, Ordering::Relaxed);
        Response::json(
            200,
            "application/json",
            &json!({
                "id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 1,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": null,
                    "tool_calls": [{"id": format!("call_bench_{n}"), "type": "function", "function": {
                        "name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"
                    }}]
                }}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}
            }),
        )
    }))
    .map_err(|e| e.to_string())?;
    Ok(format!("http://{address}/v1"))
}

/// What the binary posted for an invocation: its response body, or its error body.
type Outcome = std::result::Result<Vec<u8>, Vec<u8>>;

struct RuntimeApi {
    address: String,
    events: Sender<(String, Vec<u8>)>,
    outcomes: Receiver<(String, Outcome)>,
    polled: Receiver<Instant>,
}

/// The Runtime API emulator: `next` waits for the bench to hand it an event.
fn runtime_api() -> Result<RuntimeApi> {
    let (events, next_events) = channel::<(String, Vec<u8>)>();
    let (post_outcome, outcomes) = channel();
    let (post_polled, polled) = channel();
    let next_events = Mutex::new(next_events);
    let post_outcome = Mutex::new(post_outcome);
    let post_polled = Mutex::new(post_polled);
    let address = serve(Arc::new(move |request: Request| {
        let path = request.path.as_str();
        if request.method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            if let Ok(p) = post_polled.lock() {
                let _ = p.send(Instant::now());
            }
            let next = next_events.lock().ok().and_then(|r| r.recv().ok());
            let Some((id, body)) = next else {
                return Response::json(
                    500,
                    "application/json",
                    &json!({"errorMessage": "the bench ended"}),
                );
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64 + 60_000);
            return Response {
                status: 200,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("lambda-runtime-aws-request-id".into(), id),
                    ("lambda-runtime-deadline-ms".into(), deadline.to_string()),
                    (
                        "lambda-runtime-invoked-function-arn".into(),
                        "arn:aws:lambda:us-east-1:123456789012:function:llm-openai".into(),
                    ),
                    (
                        "lambda-runtime-trace-id".into(),
                        "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".into(),
                    ),
                ],
                body,
            };
        }
        let outcome = path
            .strip_prefix("/2018-06-01/runtime/invocation/")
            .and_then(|rest| rest.rsplit_once('/'))
            .and_then(|(id, kind)| match kind {
                "response" => Some((id.to_string(), Ok(request.body.clone()))),
                "error" => Some((id.to_string(), Err(request.body.clone()))),
                _ => None,
            })
            .or_else(|| {
                (path == "/2018-06-01/runtime/init/error")
                    .then(|| ("init".to_string(), Err(request.body.clone())))
            });
        match outcome {
            Some(outcome) => {
                if let Ok(o) = post_outcome.lock() {
                    let _ = o.send(outcome);
                }
                Response::json(202, "application/json", &json!({"status": "OK"}))
            }
            None => Response::json(
                404,
                "application/json",
                &json!({"errorMessage": "unknown path"}),
            ),
        }
    }))
    .map_err(|e| e.to_string())?;
    Ok(RuntimeApi {
        address: address.to_string(),
        events,
        outcomes,
        polled,
    })
}

impl RuntimeApi {
    /// Waits for the binary's next poll; returns when it came.
    fn poll(&self) -> Result<Instant> {
        self.polled
            .recv_timeout(WAIT)
            .map_err(|_| "the binary did not poll for the next event".to_string())
    }

    /// Waits for the binary's poll, hands it one event and waits for its response: the latency
    /// in ms and the response.
    fn invoke(&self, id: &str, body: Vec<u8>) -> Result<(f64, LlmResponse)> {
        self.poll()?;
        self.send(id, body)
    }

    /// Hands one event to the binary, which is polling, and waits for its response.
    fn send(&self, id: &str, body: Vec<u8>) -> Result<(f64, LlmResponse)> {
        let started = Instant::now();
        self.events
            .send((id.to_string(), body))
            .map_err(|e| e.to_string())?;
        let (got, outcome) = self
            .outcomes
            .recv_timeout(WAIT)
            .map_err(|_| format!("no answer to invocation {id}"))?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if got != id {
            return Err(format!("answer for {got}, expected {id}"));
        }
        match outcome {
            Ok(body) => serde_json::from_slice(&body)
                .map(|r| (elapsed, r))
                .map_err(|e| format!("invocation {id}: not an LlmResponse: {e}")),
            Err(body) => Err(format!(
                "invocation {id} failed: {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

/// A child process killed when the bench ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in MiB.
fn memory(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn run() -> Result<()> {
    let binary = binary()?;
    let (table, dynamo_url) = Dynamo::start().map_err(|e| e.to_string())?;
    let mut pending = Vec::with_capacity(COLD_INVOKES);
    for i in 0..COLD_INVOKES {
        let id = format!("cold-{i:03}");
        let call = seed(&table, &id)?;
        pending.push((id, call));
    }
    let warm_call = seed(&table, "warm")?;
    let model_url = model_server()?;
    let api = runtime_api()?;

    let spawned = Instant::now();
    let mut command = Command::new(&binary);
    command.env_clear();
    // The cache's budget passes through, to compare (`CONVERSATION_CACHE_BYTES=0`: no cache).
    if let Ok(bytes) = std::env::var("CONVERSATION_CACHE_BYTES") {
        command.env("CONVERSATION_CACHE_BYTES", bytes);
    }
    let child = command
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "llm-openai")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamo_url)
        .env("CONVERSATION_TABLE", "conversations")
        .env("OPENAI_API_KEY", "sk-bench")
        .env("OPENAI_BASE_URL", &model_url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(Running)
        .map_err(|e| format!("starting {}: {e}", binary.display()))?;
    let pid = child.0.id();

    // The first poll marks the end of init.
    let init_ms = api.poll()?.duration_since(spawned).as_secs_f64() * 1e3;
    let mut cold = Vec::with_capacity(COLD_INVOKES);
    let mut first_ms = 0.0;
    for (n, (id, call)) in pending.iter().enumerate() {
        let body = event(id, TURNS + 1, call)?;
        let (ms, response) = if n == 0 {
            api.send("req-0", body)?
        } else {
            api.invoke(&format!("req-{n}"), body)?
        };
        if response.tool_calls.len() != 1 {
            return Err(format!("{id}: expected one tool call, got {response:?}"));
        }
        if n == 0 {
            first_ms = ms;
        } else {
            cold.push(ms);
        }
    }
    let after_cold = memory(pid)?;

    let mut warm = Vec::with_capacity(WARM_INVOKES);
    let mut call = warm_call;
    for n in 0..WARM_INVOKES {
        let iteration = TURNS + 1 + n as u32;
        let (ms, response) = api.invoke(&format!("warm-{n}"), event("warm", iteration, &call)?)?;
        call = response
            .tool_calls
            .first()
            .map(|c| c.id.clone())
            .ok_or_else(|| format!("warm {n}: no tool call in {response:?}"))?;
        if n > 0 {
            warm.push(ms);
        }
    }
    let after_all = memory(pid)?;
    let warm_queries = table
        .queries()
        .iter()
        .filter(|q| q.conversation_id == "warm")
        .map(|q| q.items)
        .collect::<Vec<_>>();

    println!(
        "LLM Lambda binary under a Runtime API emulator ({}):",
        binary.display()
    );
    println!("  init (spawn to first poll)                    {init_ms:8.2} ms");
    println!("  first invoke (builds the handler, 100 turns)  {first_ms:8.2} ms   goal <= 15 ms");
    println!(
        "  per invoke, 100 turns, cold cache (median)    {:8.2} ms   goal <= 2 ms",
        median(cold)
    );
    println!(
        "  per invoke, 100+ turns, warm (median)         {:8.2} ms",
        median(warm)
    );
    println!(
        "  memory after {COLD_INVOKES} invokes of 100-turn conversations: VmRSS {:.1} MiB, VmHWM {:.1} MiB   goal <= 16 MiB",
        after_cold.0, after_cold.1
    );
    println!(
        "  memory after {} invokes:                    VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        COLD_INVOKES + WARM_INVOKES,
        after_all.0,
        after_all.1
    );
    let first_queries = table
        .queries()
        .iter()
        .filter(|q| q.conversation_id == "cold-000")
        .count();
    println!("  queries for the first invoke's conversation: {first_queries}");
    println!(
        "  items read per warm invoke: first {}, then {:?}",
        warm_queries.first().copied().unwrap_or_default(),
        warm_queries
            .iter()
            .skip(1)
            .copied()
            .max()
            .unwrap_or_default()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("runtime_api bench failed: {e}");
        std::process::exit(1);
    }
}
