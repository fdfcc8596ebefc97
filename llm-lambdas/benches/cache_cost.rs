//! The input cost of the `assistant` agent's scripted 20-turn conversation with and without
//! prompt caching, on Anthropic and on Bedrock, side by side:
//! `cargo bench -p sfn-agent-llm --bench cache_cost`. The computation is in
//! `cache_cost/simulation.rs`; `tests/cache_cost.rs` asserts on the same figures.

#[path = "cache_cost/simulation.rs"]
mod simulation;

use simulation::{Api, compare, report};

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cache_cost: no runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async {
        let mut comparisons = Vec::new();
        for api in [Api::Anthropic, Api::Bedrock] {
            comparisons.push(compare(api).await?);
        }
        Ok::<_, String>(comparisons)
    });
    match result {
        Ok(comparisons) => print!("{}", report(&comparisons)),
        Err(e) => {
            eprintln!("cache_cost: {e}");
            std::process::exit(1);
        }
    }
}
