//! The cache-cost benchmark's figures, asserted: the scripted 20-turn conversation of the
//! `assistant` agent costs at least 60% less input with Anthropic's prompt caching (the issue's
//! goal), and the cache works on Bedrock too. Deterministic: the figures come from token counts
//! and the price table, not from timing. `cargo bench -p sfn-agent-llm --bench cache_cost`
//! prints them.

#[path = "../benches/cache_cost/simulation.rs"]
mod simulation;

use simulation::{Api, TURNS, compare, report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompt_caching_cuts_the_input_cost_of_twenty_turns_by_at_least_sixty_percent() {
    let anthropic = compare(Api::Anthropic)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let bedrock = compare(Api::Bedrock)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    println!("{}", report(&[anthropic.clone(), bedrock.clone()]));
    let turns = TURNS as usize;
    for c in [&anthropic, &bedrock] {
        let label = c.api.label();
        assert_eq!(c.cached.input_cost_by_turn.len(), turns, "{label}");
        // The same prompts either way: caching changes the price, not the tokens.
        assert_eq!(c.cached.input_tokens, c.uncached.input_tokens, "{label}");
        assert_eq!(
            (c.uncached.cache_read_tokens, c.uncached.cache_write_tokens),
            (0, 0),
            "{label}: nothing cached without breakpoints"
        );
        assert_eq!(c.uncached.most_breakpoints, 0, "{label}");
        assert!(
            (1..=4).contains(&c.cached.most_breakpoints),
            "{label}: {} breakpoints",
            c.cached.most_breakpoints
        );
        assert!(
            c.cached.cache_read_tokens > c.cached.input_tokens / 2,
            "{label}: most of the prompt is read from the cache: {:?}",
            c.cached
        );
        let saving = c.saving_percent(turns);
        assert!(
            saving >= 60.0,
            "{label}: {saving:.1}% saved at {turns} turns"
        );
    }
}
