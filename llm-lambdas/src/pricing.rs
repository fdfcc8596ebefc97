//! The estimated cost of a call, from a price table per model.
//!
//! The table is `llm-lambdas/prices.json`, embedded at build time: US dollars per million input
//! and output tokens, with the date the prices were taken (`taken_on`) and where from. To update
//! prices, edit the file and rebuild.
//!
//! Prompt-cache prices ride beside them (`cache_read`, `cache_write`, `cache_write_1h`, taken on
//! `cache_taken_on` from `cache_sources`): a token read from the cache costs `cache_read`, one
//! written costs `cache_write` (`cache_write_1h` for Anthropic's one-hour lifetime), and the rest
//! of the prompt the plain `input` price. A model without a cache price pays the input price
//! for those tokens (OpenAI and Gemini charge nothing extra for writes).

use std::collections::HashMap;
use std::sync::OnceLock;

use agent_builder::{Provider, Usage};

use crate::model::CacheTokens;
use serde::Deserialize;

const PRICES_JSON: &str = include_str!("../prices.json");

/// The price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
pub struct Price {
    /// Per million input tokens.
    pub input: f64,
    /// Per million output tokens.
    pub output: f64,
    /// Per million input tokens read from the prompt cache; the input price when absent.
    #[serde(default)]
    pub cache_read: Option<f64>,
    /// Per million input tokens written to the prompt cache (Anthropic's five-minute lifetime);
    /// the input price when absent.
    #[serde(default)]
    pub cache_write: Option<f64>,
    /// Per million input tokens written to the cache with Anthropic's one-hour lifetime;
    /// `cache_write` when absent.
    #[serde(default)]
    pub cache_write_1h: Option<f64>,
}

impl Price {
    /// The cost in US dollars of a call that read `input_tokens` (of which `cache` were read
    /// from or written to the prompt cache) and wrote `output_tokens`.
    pub fn cost(&self, input_tokens: u64, output_tokens: u64, cache: CacheTokens) -> f64 {
        let cache = cache.within(input_tokens);
        let read = self.cache_read.unwrap_or(self.input);
        let write = self.cache_write.unwrap_or(self.input);
        let write_1h = self.cache_write_1h.unwrap_or(write);
        let dollars = cache.uncached(input_tokens) as f64 * self.input
            + cache.read as f64 * read
            + (cache.write - cache.write_1h) as f64 * write
            + cache.write_1h as f64 * write_1h
            + output_tokens as f64 * self.output;
        dollars / 1_000_000.0
    }
}

/// The price table.
#[derive(Debug, Clone, Deserialize)]
pub struct PriceTable {
    /// The date the prices were taken from the providers' pricing pages.
    pub taken_on: String,
    /// The pricing page of each provider.
    pub sources: HashMap<String, String>,
    /// The date the prompt-cache prices were taken.
    pub cache_taken_on: String,
    /// The page of each provider that gives its prompt-cache prices.
    pub cache_sources: HashMap<String, String>,
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
                cache_taken_on: "unknown".into(),
                cache_sources: HashMap::new(),
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

    /// Usage with its estimated cost in US dollars (0 for an unknown model): `input_tokens` is
    /// the whole prompt, `cache` the parts of it read from or written to the prompt cache.
    pub fn usage(
        &self,
        provider: Provider,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
        cache: CacheTokens,
    ) -> Usage {
        let cache = cache.within(input_tokens);
        let cost = self
            .price(provider, model)
            .map(|p| p.cost(input_tokens, output_tokens, cache))
            .unwrap_or(0.0);
        Usage {
            input_tokens,
            output_tokens,
            cache_read_tokens: cache.read,
            cache_write_tokens: cache.write,
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
                output: 0.6,
                cache_read: Some(0.075),
                ..Price::default()
            })
        );
        let sonnet = t.price(Provider::Anthropic, "claude-sonnet-4-5-20250929");
        assert_eq!(
            sonnet,
            Some(Price {
                input: 3.0,
                output: 15.0,
                cache_read: Some(0.3),
                cache_write: Some(3.75),
                cache_write_1h: Some(6.0),
            })
        );
        let bedrock = t.price(
            Provider::Bedrock,
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        );
        // Bedrock prices Claude's cache as Anthropic does, with no one-hour write price.
        assert_eq!(
            bedrock,
            Some(Price {
                cache_write_1h: None,
                ..sonnet.expect("priced")
            })
        );
        assert_eq!(t.price(Provider::Gemini, "no-such-model"), None);
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let u = PriceTable::embedded().usage(
            Provider::Anthropic,
            "claude-sonnet-4-5",
            1_000_000,
            100_000,
            CacheTokens::default(),
        );
        assert!((u.estimated_cost_usd - 4.5).abs() < 1e-9);
        let unknown = PriceTable::embedded().usage(
            Provider::Anthropic,
            "mystery",
            10,
            10,
            CacheTokens::default(),
        );
        assert_eq!(unknown.estimated_cost_usd, 0.0);
        assert_eq!(unknown.input_tokens, 10);
    }

    #[test]
    fn cache_reads_and_writes_cost_their_own_prices() {
        let t = PriceTable::embedded();
        // 1M prompt tokens on Sonnet 4.5: 600k read ($0.18), 200k written for five minutes
        // ($0.75), 100k written for an hour ($0.60), 100k uncached ($0.30).
        let u = t.usage(
            Provider::Anthropic,
            "claude-sonnet-4-5-20250929",
            1_000_000,
            0,
            CacheTokens {
                read: 600_000,
                write: 300_000,
                write_1h: 100_000,
            },
        );
        assert!((u.estimated_cost_usd - (0.18 + 0.75 + 0.60 + 0.30)).abs() < 1e-9);
        assert_eq!(
            (u.cache_read_tokens, u.cache_write_tokens),
            (600_000, 300_000)
        );
        // OpenAI: cached tokens at the cached price, the rest at the input price, no write price.
        let o = t.usage(
            Provider::OpenAi,
            "gpt-4o-mini",
            1_000_000,
            0,
            CacheTokens {
                read: 500_000,
                ..CacheTokens::default()
            },
        );
        assert!((o.estimated_cost_usd - (0.0375 + 0.075)).abs() < 1e-9);
        // A model without cache prices pays the input price for every prompt token.
        let llama = t.usage(
            Provider::Bedrock,
            "meta.llama3-3-70b-instruct-v1:0",
            1_000_000,
            0,
            CacheTokens {
                read: 400_000,
                write: 400_000,
                write_1h: 0,
            },
        );
        assert!((llama.estimated_cost_usd - 0.72).abs() < 1e-9);
    }

    #[test]
    fn inconsistent_cache_counts_are_cut_to_the_prompt() {
        // A server saying it read more from the cache than the prompt held: the counts are cut
        // to the prompt, the cost never goes negative, nothing overflows.
        let u = PriceTable::embedded().usage(
            Provider::Anthropic,
            "claude-sonnet-4-5",
            1_000,
            0,
            CacheTokens {
                read: u64::MAX,
                write: u64::MAX,
                write_1h: u64::MAX,
            },
        );
        assert_eq!((u.cache_read_tokens, u.cache_write_tokens), (1_000, 0));
        assert!((u.estimated_cost_usd - 0.0003).abs() < 1e-12);
    }

    #[test]
    fn every_cached_model_reads_cheaper_than_it_writes_and_inputs() {
        let t = PriceTable::embedded();
        for (provider, models) in &t.models {
            for (model, price) in models {
                if let Some(read) = price.cache_read {
                    assert!(read < price.input, "{provider}/{model}: read {read}");
                }
                if let (Some(w), Some(w1)) = (price.cache_write, price.cache_write_1h) {
                    assert!(w >= price.input && w1 > w, "{provider}/{model}: writes");
                }
            }
        }
        assert_eq!(
            t.cache_taken_on.len(),
            10,
            "cache_taken_on is a YYYY-MM-DD date"
        );
        for p in Provider::ALL {
            assert!(
                t.cache_sources.contains_key(p.as_str()),
                "no cache source for {p}"
            );
        }
    }
}
