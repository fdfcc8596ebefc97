//! A local run's time per iteration at 10, 100 and 1,000 iterations, side by side: the handler
//! with the scripted model (instant, no network) over the append-only `LocalStore` in a fresh
//! directory, as `sfn-agent run` uses it (behind a `CachedStore` with no budget), and over the `LocalStore`
//! alone (every turn reads the whole file once).
//!
//! `cargo bench -p sfn-agent-llm --bench local_run`
//!
//! One iteration = one `Handler::handle`: the first asks the question, each next one answers
//! the previous `get_weather` call with a ~400-byte result; each reply is one more call. Printed:
//! the mean per iteration over the whole run, and the median of the last 10 iterations (the
//! cost at the end of the conversation), in microseconds.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use agent_builder::{AgentConfig, LlmRequest, ModelSpec, Provider, ToolResult, ToolSpec};
use llm_lambdas::Handler;
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::providers::scripted::{Script, ScriptToolCall, ScriptTurn, ScriptedModel};
use llm_lambdas::store::{CachedStore, ConversationStore, LocalStore};
use serde_json::json;

/// The allocator of `sfn-agent` (the demo binary), so the figures are theirs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn agent() -> AgentConfig {
    AgentConfig {
        name: "weather".into(),
        system_prompt: "You answer questions about the weather with the tools you are given."
            .into(),
        model: ModelSpec {
            provider: Provider::Anthropic,
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: None,
        },
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "The current weather in a city.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"]
            }),
        }],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

fn script(iterations: usize) -> Script {
    Script {
        turns: (0..iterations)
            .map(|t| ScriptTurn {
                text: format!("Checking city {t}."),
                tool_calls: vec![ScriptToolCall {
                    id: None,
                    name: "get_weather".into(),
                    input: json!({"city": format!("City {t}")}),
                }],
                ..ScriptTurn::default()
            })
            .collect(),
    }
}

fn result(call: &str) -> ToolResult {
    ToolResult::ok(
        call,
        json!({
            "city": "Paris", "temperature": 18.5, "unit": "celsius",
            "conditions": "partly cloudy with a light breeze from the south-west",
            "humidity": 62, "wind_kph": 14, "forecast": ["sunny", "cloudy", "rain", "sunny"],
            "observed_at": "2025-10-01T12:00:00Z", "station": "LFPG", "source": "bench"
        })
        .to_string(),
    )
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    std::env::temp_dir().join(format!(
        "sfn-agent-bench-{name}-{}-{nanos}",
        std::process::id()
    ))
}

/// Runs `iterations` turns; returns the mean and the median of the last 10, in µs.
async fn run(iterations: usize, cached: bool) -> Result<(f64, f64), String> {
    let dir = temp_dir("local-run");
    let local = LocalStore::new(&dir);
    let store: Arc<dyn ConversationStore> = if cached {
        Arc::new(CachedStore::unbounded(local))
    } else {
        Arc::new(local)
    };
    let model = Arc::new(ScriptedModel::new(script(iterations), Provider::Anthropic));
    let handler = Handler::new(model, store).with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = agent();
    let mut samples = Vec::with_capacity(iterations);
    let mut pending: Option<String> = None;
    let started_run = Instant::now();
    for iteration in 1..=iterations as u32 {
        let request = LlmRequest {
            execution: Some("arn:aws:states:us-east-1:1:execution:weather:bench".into()),
            agent: agent.clone(),
            conversation_id: "bench".into(),
            iteration,
            question: pending
                .is_none()
                .then(|| "Weather in many cities?".to_string()),
            tool_results: pending.iter().map(|c| result(c)).collect(),
        };
        let started = Instant::now();
        let response = handler.handle(request).await.map_err(|e| e.to_string())?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        pending = Some(
            response
                .tool_calls
                .first()
                .map(|c| c.id.clone())
                .ok_or_else(|| format!("iteration {iteration}: no tool call"))?,
        );
        black_box(&response);
    }
    let mean = started_run.elapsed().as_secs_f64() * 1e6 / iterations as f64;
    let _ = std::fs::remove_dir_all(&dir);
    let mut last: Vec<f64> = samples[samples.len().saturating_sub(10)..].to_vec();
    last.sort_by(|a, b| a.total_cmp(b));
    Ok((mean, last[last.len() / 2]))
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
    println!("A local run's time per iteration (scripted model, append-only LocalStore), µs");
    println!(
        "{:>10}   {:>14} {:>16}   {:>14} {:>16}",
        "iterations", "cached: mean", "cached: last 10", "alone: mean", "alone: last 10"
    );
    let mut failed = false;
    for iterations in [10, 100, 1000] {
        let mut cells = Vec::new();
        for cached in [true, false] {
            match rt.block_on(run(iterations, cached)) {
                Ok((mean, last)) => {
                    cells.push(format!("{mean:.1}"));
                    cells.push(format!("{last:.1}"));
                }
                Err(e) => {
                    eprintln!("{iterations} iterations failed: {e}");
                    failed = true;
                    cells.extend(["error".to_string(), "error".to_string()]);
                }
            }
        }
        println!(
            "{:>10}   {:>14} {:>16}   {:>14} {:>16}",
            iterations, cells[0], cells[1], cells[2], cells[3]
        );
    }
    if failed {
        std::process::exit(1);
    }
}
