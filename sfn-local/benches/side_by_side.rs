//! Side-by-side throughput: the same Map-heavy JSONPath machine (a Map over 1,000 items, each
//! through Pass -> Choice -> Task with an identity-ish Lambda) on `sfn-local`, with the Lambda
//! as an in-process handler, and on the npm package `aws-local-stepfunctions`, with its Task
//! states overridden by a local JavaScript function. Prints state transitions per second for
//! each and their ratio: sfn-local on tokio's multi-thread runtime (what `sfn-agent` and
//! `#[tokio::test(flavor = "multi_thread")]` use) and on the current-thread one (one core, like
//! node, and `#[tokio::test]`'s default). Then the JSONata variant on `sfn-local` alone, and
//! the `assistant` agent's JSONata ReAct loop with its model scripted (see `bench_assistant`).
//!
//! A state transition is a state entered (the Map state and each state of each iteration),
//! counted from each engine's own event history. Each engine does `SFN_BENCH_WARMUP` (default
//! 10) untimed runs, then `SFN_BENCH_RUNS` (default 20) timed ones; the median run's time
//! gives the figure, so a run slowed down by other work on the machine does not move it.
//!
//! Run: `cargo bench -p sfn-agent-local --bench side_by_side`. Environment: `SFN_BENCH_ITEMS`
//! (default 1000), `SFN_BENCH_NODE` (the node binary, default `node`), `SFN_BENCH_ONLY`
//! (`node`, `jsonpath`, `jsonpath-current-thread`, `jsonata` or `assistant`: run that part alone, e.g.
//! under `valgrind --tool=callgrind`). The npm side installs itself with `npm ci` on first use;
//! when node or npm is missing, only the `sfn-local` figures are printed, with the reason.
//! sfn-local allocates with mimalloc, as `sfn-agent` does; `--features bench-system-allocator`
//! measures it with the system allocator.

// The allocator of the binaries that run the engine (`sfn-agent` uses mimalloc too);
// `--features bench-system-allocator` measures with the system allocator instead.
#[cfg(not(feature = "bench-system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(not(feature = "bench-system-allocator"))]
const ALLOCATOR_NAME: &str = "mimalloc";
#[cfg(feature = "bench-system-allocator")]
const ALLOCATOR_NAME: &str = "the system allocator";

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sfn_local::{Engine, Execution, ExecutionOptions, ExecutionStatus, Registry, handler_fn};

type BenchResult<T> = Result<T, String>;

/// One engine's figures: the states entered per run and the time of each timed run.
struct Figures {
    engine: String,
    states_entered_per_run: u64,
    seconds_per_run: Vec<f64>,
}

impl Figures {
    /// The median run's time: a run slowed down by the machine's other work does not move it.
    fn median_seconds(&self) -> f64 {
        let mut sorted = self.seconds_per_run.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        }
    }

    fn transitions_per_second(&self) -> f64 {
        self.states_entered_per_run as f64 / self.median_seconds()
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bench")
}

fn bench_input(items: u64) -> Value {
    let items: Vec<Value> = (0..items).map(|i| json!({"id": i, "value": i})).collect();
    json!({ "items": items })
}

fn load_machine(file: &str) -> BenchResult<asl::StateMachine> {
    let path = bench_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    asl::StateMachine::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn engine_for(machine: asl::StateMachine) -> Engine {
    let mut registry = Registry::new();
    // The same identity-ish function as the node script's local handler.
    registry.lambda(
        "BenchFunction",
        handler_fn(|payload: Arc<Value>| async move {
            Ok(json!({"id": payload["id"], "value": payload["value"], "processed": true}))
        }),
    );
    Engine::new(
        sfn_local::Machine::compile(&machine).expect("the bench machines compile"),
        registry,
    )
}

/// Runs one execution, checking it succeeded with one result per item.
async fn run_once(engine: &Engine, input: Value, items: u64) -> BenchResult<Execution> {
    let execution = engine.execute(input, ExecutionOptions::default()).await;
    if execution.status != ExecutionStatus::Succeeded {
        return Err(format!(
            "the benchmark execution did not succeed: {}",
            execution.to_json(false)
        ));
    }
    let results = execution
        .output
        .as_ref()
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or_default();
    if results as u64 != items {
        return Err(format!("expected {items} Map results, got {results}"));
    }
    Ok(execution)
}

/// The states an execution entered, from its history (counted in untimed runs only, as the
/// node script counts them).
fn states_entered(execution: &Execution) -> u64 {
    execution
        .history
        .iter()
        .filter(|event| event.event_type.ends_with("StateEntered"))
        .count() as u64
}

async fn bench_sfn_local(file: &str, label: &str, items: u64, runs: Runs) -> BenchResult<Figures> {
    let engine = engine_for(load_machine(file)?);
    let input = bench_input(items);
    // Untimed runs count the states entered and warm caches up.
    let mut states_entered_per_run = 0;
    for _ in 0..runs.warmup.max(1) {
        states_entered_per_run = states_entered(&run_once(&engine, input.clone(), items).await?);
    }
    let mut seconds_per_run = Vec::with_capacity(runs.timed as usize);
    for _ in 0..runs.timed {
        // The engine takes the input by value: it is copied before the clock starts (and one
        // at a time, so memory is reused between runs as it would be in a test suite).
        let input = input.clone();
        let start = Instant::now();
        run_once(&engine, input, items).await?;
        seconds_per_run.push(start.elapsed().as_secs_f64());
    }
    Ok(Figures {
        engine: label.to_string(),
        states_entered_per_run,
        seconds_per_run,
    })
}

/// The `assistant` agent's JSONata ReAct loop (`state-machines/assistant.asl.json`, as it
/// deploys) with its model scripted by `examples/scripts/assistant.json`: the LLM Lambda is an
/// in-process handler that answers each iteration with the script's turn, in the shape the
/// LLM Lambda returns (`stop_reason`, `text`, `tool_calls`, `rejected`, `iteration`, `usage`),
/// and the `calculate` tool's Lambda answers each call. One run is 9 transitions (Check input,
/// Call LLM, Tool use?, Run tools, two Run tool, Call LLM, Tool use?, Answer); a timed sample
/// is a batch of runs, one after another, on the current-thread runtime.
async fn bench_assistant(runs: Runs) -> BenchResult<Figures> {
    const BATCH: usize = 100;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).map_err(|e| format!("cannot read {path}: {e}"))
    };
    let machine = asl::StateMachine::from_json(&read("state-machines/assistant.asl.json")?)
        .map_err(|e| format!("state-machines/assistant.asl.json: {e}"))?;
    let script: Value = serde_json::from_str(&read("examples/scripts/assistant.json")?)
        .map_err(|e| format!("examples/scripts/assistant.json: {e}"))?;
    let turns = Arc::new(script["turns"].as_array().cloned().unwrap_or_default());
    let mut registry = Registry::new();
    registry.lambda(
        "${LlmAnthropicFunctionArn}",
        handler_fn(move |payload: Arc<Value>| {
            let turns = turns.clone();
            async move {
                let iteration = payload["iteration"].as_u64().unwrap_or(1);
                let turn = usize::try_from(iteration.saturating_sub(1))
                    .ok()
                    .and_then(|i| turns.get(i))
                    .cloned()
                    .unwrap_or_else(|| json!({"text": "done"}));
                let calls: Vec<Value> = turn["tool_calls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(i, c)| json!({"id": format!("toolu_{iteration}_{i}"), "name": c["name"], "input": c["input"]}))
                    .collect();
                Ok(json!({
                    "iteration": iteration,
                    "stop_reason": if calls.is_empty() { "end_turn" } else { "tool_use" },
                    "text": turn["text"],
                    "tool_calls": calls,
                    "rejected": [],
                    "usage": {
                        "input_tokens": turn["usage"]["input_tokens"],
                        "output_tokens": turn["usage"]["output_tokens"],
                        "estimated_cost_usd": 0.0
                    }
                }))
            }
        }),
    );
    registry.lambda(
        "${ToolCalculateFunctionArn}",
        handler_fn(|call: Arc<Value>| async move {
            Ok(json!({"tool_use_id": call["id"], "content": "397.8", "is_error": false}))
        }),
    );
    let engine = Engine::new(
        sfn_local::Machine::compile(&machine).map_err(|e| format!("assistant: {e}"))?,
        registry,
    );
    let input = json!({"question": "What is 17% of 2,340, and what is its square root?"});
    let run = || async {
        let execution = engine
            .execute(input.clone(), ExecutionOptions::default())
            .await;
        if execution.status != ExecutionStatus::Succeeded {
            return Err(format!(
                "the assistant run did not succeed: {}",
                execution.to_json(false)
            ));
        }
        Ok(execution)
    };
    let mut states_per_run = 0;
    for _ in 0..runs.warmup.max(1) {
        states_per_run = states_entered(&run().await?);
    }
    let mut seconds_per_run = Vec::with_capacity(runs.timed as usize);
    for _ in 0..runs.timed {
        let start = Instant::now();
        for _ in 0..BATCH {
            run().await?;
        }
        seconds_per_run.push(start.elapsed().as_secs_f64());
    }
    Ok(Figures {
        engine: format!("sfn-local (assistant loop, {BATCH} runs)"),
        states_entered_per_run: states_per_run * BATCH as u64,
        seconds_per_run,
    })
}

fn bench_node(items: u64, runs: Runs) -> BenchResult<Figures> {
    let dir = bench_dir().join("aws-local-stepfunctions");
    let node = std::env::var("SFN_BENCH_NODE").unwrap_or_else(|_| "node".to_string());
    if !dir.join("node_modules/aws-local-stepfunctions").is_dir() {
        eprintln!(
            "installing aws-local-stepfunctions with `npm ci` in {}",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("cannot run npm ({e}); install Node.js 20+ and npm"))?;
        if !status.success() {
            return Err(format!("`npm ci` failed in {} ({status})", dir.display()));
        }
    }
    let machine = bench_dir().join("map-pass-choice-task.asl.json");
    let output = Command::new(&node)
        .arg("run.mjs")
        .arg("--machine")
        .arg(&machine)
        .args(["--items", &items.to_string()])
        .args(["--runs", &runs.timed.to_string()])
        .args(["--warmup", &runs.warmup.to_string()])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("cannot run {node} ({e}); install Node.js 20+"))?;
    if !output.status.success() {
        return Err(format!(
            "node run.mjs failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let figures: Value = serde_json::from_str(line)
        .map_err(|e| format!("node run.mjs printed {line:?}, not a JSON line: {e}"))?;
    let states = figures["states_entered_per_run"]
        .as_u64()
        .ok_or_else(|| format!("node run.mjs printed no states_entered_per_run: {line}"))?;
    let seconds_per_run = figures["seconds_per_run"]
        .as_array()
        .and_then(|runs| runs.iter().map(Value::as_f64).collect::<Option<Vec<f64>>>())
        .ok_or_else(|| format!("node run.mjs printed no seconds_per_run: {line}"))?;
    Ok(Figures {
        engine: format!(
            "aws-local-stepfunctions {}",
            figures["version"].as_str().unwrap_or("?")
        ),
        states_entered_per_run: states,
        seconds_per_run,
    })
}

fn print_row(figures: &Figures) {
    println!(
        "{:<44} {:>10} {:>6} {:>12.3} {:>16.0}",
        figures.engine,
        figures.states_entered_per_run,
        figures.seconds_per_run.len(),
        figures.median_seconds() * 1000.0,
        figures.transitions_per_second()
    );
}

/// How many untimed and timed runs each engine does.
#[derive(Clone, Copy)]
struct Runs {
    warmup: u64,
    timed: u64,
}

fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, String> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

/// Runs one sfn-local variant on its own runtime and prints its row.
fn sfn_local_row(
    file: &str,
    label: &str,
    multi_thread: bool,
    items: u64,
    runs: Runs,
) -> Option<Figures> {
    let result =
        runtime(multi_thread).and_then(|rt| rt.block_on(bench_sfn_local(file, label, items, runs)));
    match result {
        Ok(figures) => {
            print_row(&figures);
            Some(figures)
        }
        Err(why) => {
            println!("{label}: not measured: {why}");
            None
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass other flags: this
    // binary only measures when run as a benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        println!("side_by_side: run with `cargo bench -p sfn-agent-local --bench side_by_side`");
        return;
    }
    let items = env_number("SFN_BENCH_ITEMS", 1000);
    let runs = Runs {
        warmup: env_number("SFN_BENCH_WARMUP", 10),
        timed: env_number("SFN_BENCH_RUNS", 20).max(1),
    };
    let only = std::env::var("SFN_BENCH_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);

    println!(
        "Map over {items} items, each Pass -> Choice -> Task (in-process identity Lambda); per engine {} untimed then {} timed runs; the median run counts. sfn-local allocates with {ALLOCATOR_NAME}.",
        runs.warmup, runs.timed
    );
    println!(
        "{:<44} {:>10} {:>6} {:>12} {:>16}",
        "engine", "states/run", "runs", "median ms", "transitions/s"
    );
    let theirs = if part("node") {
        match bench_node(items, runs) {
            Ok(figures) => {
                print_row(&figures);
                Some(figures)
            }
            Err(why) => {
                println!("aws-local-stepfunctions: not measured: {why}");
                None
            }
        }
    } else {
        None
    };
    let machine = "map-pass-choice-task.asl.json";
    let mut ours = Vec::new();
    if part("jsonpath") {
        ours.extend(sfn_local_row(
            machine,
            "sfn-local (JSONPath, multi-thread runtime)",
            true,
            items,
            runs,
        ));
    }
    if part("jsonpath-current-thread") {
        ours.extend(sfn_local_row(
            machine,
            "sfn-local (JSONPath, current-thread runtime)",
            false,
            items,
            runs,
        ));
    }
    if part("jsonata") {
        sfn_local_row(
            "map-pass-choice-task.jsonata.asl.json",
            "sfn-local (JSONata, multi-thread runtime)",
            true,
            items,
            runs,
        );
    }
    if part("assistant") {
        match runtime(false).and_then(|rt| rt.block_on(bench_assistant(runs))) {
            Ok(figures) => print_row(&figures),
            Err(why) => println!("sfn-local (assistant loop): not measured: {why}"),
        }
    }
    let Some(theirs) = theirs else { return };
    for figures in &ours {
        if theirs.states_entered_per_run != figures.states_entered_per_run {
            println!(
                "note: the engines entered different numbers of states per run ({} vs {})",
                figures.states_entered_per_run, theirs.states_entered_per_run
            );
        }
        let ratio = figures.transitions_per_second() / theirs.transitions_per_second();
        println!(
            "ratio {} / {}: {ratio:.1}x (goal: at least 20x)",
            figures.engine, theirs.engine
        );
    }
}
