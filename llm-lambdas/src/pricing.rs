//! The estimated cost of a call, from a price table per model.
//!
//! The table is `llm-lambdas/prices.json`, embedded at build time: US dollars per million input
//! and output tokens, with the date the prices were taken (`taken_on`) and where from. To update
//! prices, edit the file and rebuild.

use std::collections::HashMap;
use std::sync::OnceLock;

use agent_builder::{Provider, Usage};
use serde::Deserialize;

const PRICES_JSON: &str = include_str!("../prices.json");

/// The price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Price {
    /// Per million input tokens.
    pub input: f64,
    /// Per million output tokens.
    pub output: f64,
}

/// The price table.
#[derive(Debug, Clone, Deserialize)]
pub struct PriceTable {
    /// The date the prices were taken from the providers' pricing pages.
    pub taken_on: String,
    /// The pricing page of each provider.
    pub sources: HashMap<String, String>,
    models: HashMap<String, HashMap<String, Price>>,
}

/// Bedrock's cross-region inference profile prefixes, which do not change the price.
const BEDROCK_REGION_PREFIXES: &[&str] = &["us.", "eu.", "apac.", "global.", "us-gov."];

impl PriceTable {
    /// The table built into the binary.
    pub fn embedded() -> &'static PriceTable {
        static TABLE: OnceLock<PriceTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            // The file is checked by a unit test; a broken edit yields an empty table (cost 0)
            // rather than a crash in a Lambda.
            serde_json::from_str(PRICES_JSON).unwrap_or_else(|_| PriceTable {
                taken_on: "unknown".into(),
                sources: HashMap::new(),
                models: HashMap::new(),
            })
        })
    }

    /// The price of a model: the longest key of the provider's table that is a prefix of the
    /// model id (so dated ids match their family), or `None` for an unknown model.
    pub fn price(&self, provider: Provider, model: &str) -> Option<Price> {
        let table = self.models.get(provider.as_str())?;
        let mut id = model;
        if provider == Provider::Bedrock
            && let Some(rest) = BEDROCK_REGION_PREFIXES
                .iter()
                .find_map(|p| id.strip_prefix(p))
        {
            id = rest;
        }
        // Ids seen through an OpenAI-compatible router may carry an owner (`deepseek/deepseek-chat`).
        let id = id.rsplit('/').next().unwrap_or(id);
        table
            .iter()
            .filter(|(key, _)| id.starts_with(key.as_str()))
            .max_by_key(|(key, _)| key.len())
            .map(|(_, price)| *price)
    }

    /// Usage with its estimated cost in US dollars (0 for an unknown model).
    pub fn usage(
        &self,
        provider: Provider,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Usage {
        let cost = self
            .price(provider, model)
            .map(|p| {
                (input_tokens as f64 * p.input + output_tokens as f64 * p.output) / 1_000_000.0
            })
            .unwrap_or(0.0);
        Usage {
            input_tokens,
            output_tokens,
            estimated_cost_usd: cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses_and_says_when_it_was_taken() {
        let table: PriceTable = serde_json::from_str(PRICES_JSON).expect("prices.json parses");
        assert_eq!(table.taken_on.len(), 10, "taken_on is a YYYY-MM-DD date");
        for p in Provider::ALL {
            assert!(table.models.contains_key(p.as_str()), "no prices for {p}");
            assert!(table.sources.contains_key(p.as_str()), "no source for {p}");
        }
    }

    #[test]
    fn the_longest_prefix_wins() {
        let t = PriceTable::embedded();
        let mini = t.price(Provider::OpenAi, "gpt-4o-mini-2024-07-18");
        assert_eq!(
            mini,
            Some(Price {
                input: 0.15,
                output: 0.6
            })
        );
        let sonnet = t.price(Provider::Anthropic, "claude-sonnet-4-5-20250929");
        assert_eq!(
            sonnet,
            Some(Price {
                input: 3.0,
                output: 15.0
            })
        );
        let bedrock = t.price(
            Provider::Bedrock,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        );
        assert_eq!(bedrock, sonnet);
        assert_eq!(t.price(Provider::Gemini, "no-such-model"), None);
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let u = PriceTable::embedded().usage(
            Provider::Anthropic,
            "claude-sonnet-4-5",
            1_000_000,
            100_000,
        );
        assert!((u.estimated_cost_usd - 4.5).abs() < 1e-9);
        let unknown = PriceTable::embedded().usage(Provider::Anthropic, "mystery", 10, 10);
        assert_eq!(unknown.estimated_cost_usd, 0.0);
        assert_eq!(unknown.input_tokens, 10);
    }
}
