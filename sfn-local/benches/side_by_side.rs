//! Side-by-side throughput: the same Map-heavy JSONPath machine (a Map over 1,000 items, each
//! through Pass -> Choice -> Task with an identity-ish Lambda) on `sfn-local`, with the Lambda
//! as an in-process handler, and on the npm package `aws-local-stepfunctions`, with its Task
//! states overridden by a local JavaScript function. Prints state transitions per second for
//! each and their ratio, then the JSONata variant of the machine on `sfn-local` alone.
//!
//! A state transition is a state entered (the Map state and each state of each iteration),
//! counted from each engine's own event history.
//!
//! Run: `cargo bench -p sfn-local --bench side_by_side`. Environment: `SFN_BENCH_ITEMS`
//! (default 1000), `SFN_BENCH_RUNS` (timed runs per engine, default 5), `SFN_BENCH_NODE`
//! (the node binary, default `node`), `SFN_BENCH_ONLY` (`jsonpath`, `node` or `jsonata`: run
//! that part alone, e.g. under `valgrind --tool=callgrind`), `SFN_BENCH_THREADS=1` (tokio's
//! current-thread runtime instead of the multi-thread one). The npm side installs itself with
//! `npm ci` on first use; when node or npm is missing, only the `sfn-local` figures are
//! printed, with the reason.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};
use sfn_local::{Engine, ExecutionOptions, ExecutionStatus, Registry, handler_fn};

type BenchResult<T> = Result<T, String>;

/// One engine's figures.
struct Figures {
    engine: String,
    states_entered_per_run: u64,
    runs: u64,
    seconds: f64,
}

impl Figures {
    fn transitions_per_second(&self) -> f64 {
        (self.states_entered_per_run * self.runs) as f64 / self.seconds
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
        handler_fn(|payload: Value| async move {
            Ok(json!({"id": payload["id"], "value": payload["value"], "processed": true}))
        }),
    );
    Engine::new(machine, registry)
}

/// Runs one execution and returns the number of states entered, checking it succeeded.
async fn run_once(engine: &Engine, input: Value, items: u64) -> BenchResult<u64> {
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
    Ok(execution
        .history
        .iter()
        .filter(|event| event.event_type.ends_with("StateEntered"))
        .count() as u64)
}

async fn bench_sfn_local(file: &str, label: &str, items: u64, runs: u64) -> BenchResult<Figures> {
    let engine = engine_for(load_machine(file)?);
    let input = bench_input(items);
    // One untimed run counts the states entered and warms caches up.
    let states_entered_per_run = run_once(&engine, input.clone(), items).await?;
    // The inputs are built before the clock starts: the engine takes each by value.
    let inputs = vec![input; runs as usize];
    let start = Instant::now();
    for input in inputs {
        run_once(&engine, input, items).await?;
    }
    Ok(Figures {
        engine: label.to_string(),
        states_entered_per_run,
        runs,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn bench_node(items: u64, runs: u64) -> BenchResult<Figures> {
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
        .args(["--items", &items.to_string(), "--runs", &runs.to_string()])
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
    let number = |key: &str| {
        figures[key]
            .as_f64()
            .ok_or_else(|| format!("node run.mjs printed no {key:?}: {line}"))
    };
    Ok(Figures {
        engine: format!(
            "aws-local-stepfunctions {}",
            figures["version"].as_str().unwrap_or("?")
        ),
        states_entered_per_run: number("states_entered_per_run")? as u64,
        runs: number("runs")? as u64,
        seconds: number("seconds")?,
    })
}

fn print_row(figures: &Figures) {
    println!(
        "{:<34} {:>10} {:>6} {:>10.4} {:>16.0}",
        figures.engine,
        figures.states_entered_per_run,
        figures.runs,
        figures.seconds,
        figures.transitions_per_second()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass other flags: this
    // binary only measures when run as a benchmark.
    if !std::env::args().any(|a| a == "--bench") {
        println!("side_by_side: run with `cargo bench -p sfn-local --bench side_by_side`");
        return;
    }
    let items = env_number("SFN_BENCH_ITEMS", 1000);
    let runs = env_number("SFN_BENCH_RUNS", 5).max(1);
    let only = std::env::var("SFN_BENCH_ONLY").ok();
    let part = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let mut builder = if std::env::var("SFN_BENCH_THREADS").as_deref() == Ok("1") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start a tokio runtime: {e}");
            std::process::exit(1);
        }
    };

    println!(
        "Map over {items} items, each Pass -> Choice -> Task (in-process identity Lambda); {runs} timed runs per engine after one untimed run"
    );
    println!(
        "{:<34} {:>10} {:>6} {:>10} {:>16}",
        "engine", "states/run", "runs", "seconds", "transitions/s"
    );
    if !part("jsonpath") {
        if part("node") {
            match bench_node(items, runs) {
                Ok(theirs) => print_row(&theirs),
                Err(why) => println!("aws-local-stepfunctions: not measured: {why}"),
            }
        }
        if part("jsonata") {
            match runtime.block_on(bench_sfn_local(
                "map-pass-choice-task.jsonata.asl.json",
                "sfn-local (JSONata)",
                items,
                runs,
            )) {
                Ok(figures) => print_row(&figures),
                Err(why) => println!("sfn-local (JSONata): not measured: {why}"),
            }
        }
        return;
    }
    let ours = match runtime.block_on(bench_sfn_local(
        "map-pass-choice-task.asl.json",
        "sfn-local (JSONPath)",
        items,
        runs,
    )) {
        Ok(figures) => figures,
        Err(why) => {
            eprintln!("sfn-local: {why}");
            std::process::exit(1);
        }
    };
    print_row(&ours);
    if only.is_some() {
        return;
    }
    match bench_node(items, runs) {
        Ok(theirs) => {
            print_row(&theirs);
            if theirs.states_entered_per_run != ours.states_entered_per_run {
                println!(
                    "note: the engines entered different numbers of states per run ({} vs {})",
                    ours.states_entered_per_run, theirs.states_entered_per_run
                );
            }
            let ratio = ours.transitions_per_second() / theirs.transitions_per_second();
            println!(
                "ratio sfn-local / {}: {ratio:.1}x (goal: at least 20x)",
                theirs.engine
            );
        }
        Err(why) => println!("aws-local-stepfunctions: not measured: {why}"),
    }
    match runtime.block_on(bench_sfn_local(
        "map-pass-choice-task.jsonata.asl.json",
        "sfn-local (JSONata)",
        items,
        runs,
    )) {
        Ok(figures) => print_row(&figures),
        Err(why) => println!("sfn-local (JSONata): not measured: {why}"),
    }
}
