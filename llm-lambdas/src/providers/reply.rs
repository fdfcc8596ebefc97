//! What every adapter does to a reply once it is in neutral form: tool-call ids made unique,
//! token counts that cannot overflow.

use std::collections::HashSet;

use agent_builder::{ContentBlock, Provider};

/// The most tokens one count of one call can plausibly hold. The largest context windows are
/// about ten million tokens; a count above this is a broken or hostile server's, not a bill.
pub const MAX_PLAUSIBLE_TOKENS: u64 = 100_000_000;

/// The tool calls of one reply with unique ids: a second call with an id already used in the
/// turn gets `{id}_2` (or the next free number).
///
/// Some servers number every call `call_0`, or repeat an id in parallel calls; Anthropic refuses
/// a history with two `tool_use` blocks of one id, and results could not be told apart. Ids are
/// made unique here, before the turn is stored, so the call and its result agree from then on.
pub fn unique_tool_ids(content: &mut [ContentBlock]) {
    let mut seen: HashSet<String> = HashSet::new();
    for block in content.iter_mut() {
        let ContentBlock::ToolUse { id, .. } = block else {
            continue;
        };
        if seen.insert(id.clone()) {
            continue;
        }
        let mut n = 2usize;
        let unique = loop {
            let candidate = format!("{id}_{n}");
            if !seen.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        seen.insert(unique.clone());
        *id = unique;
    }
}

/// Token counts added without overflow, each checked: a count above [`MAX_PLAUSIBLE_TOKENS`]
/// is reported on stderr (the Lambda's log) and counted as 0, so it neither wraps (a debug
/// build panicked on `u64::MAX + 1`) nor bills a fantasy sum.
pub fn token_sum(provider: Provider, counts: &[(&str, u64)]) -> u64 {
    counts.iter().fold(0u64, |sum, (field, count)| {
        sum.saturating_add(plausible_tokens(provider, field, *count))
    })
}

/// One token count, checked as [`token_sum`] checks each.
pub fn plausible_tokens(provider: Provider, field: &str, count: u64) -> u64 {
    if count > MAX_PLAUSIBLE_TOKENS {
        eprintln!(
            "{provider}: the reply says {field} = {count}, more tokens than any model reads or writes in one call; counted as 0"
        );
        0
    } else {
        count
    }
}

/// A token count read leniently: a number (a float or a negative one from a sloppy server is
/// saturated into `u64`), or 0 for `null` or anything else, rather than failing a whole reply
/// over its bookkeeping.
pub(crate) fn lenient_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    use serde::Deserialize;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            // `as` saturates: 1e30 becomes u64::MAX, which the plausibility check then reports.
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        _ => 0,
    })
}

/// [`lenient_count`] for an optional field.
pub(crate) fn lenient_optional_count<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    lenient_count(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_ids_become_unique() {
        let call = |id: &str| ContentBlock::ToolUse {
            id: id.into(),
            name: "t".into(),
            input: json!({}),
            extra: None,
        };
        let mut content = vec![call("a"), call("a"), call("a_2"), call("a"), call("b")];
        unique_tool_ids(&mut content);
        let ids: Vec<&str> = content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["a", "a_2", "a_2_2", "a_3", "b"]);
    }

    #[test]
    fn token_sums_saturate_and_drop_absurd_counts() {
        let p = Provider::Anthropic;
        assert_eq!(token_sum(p, &[("a", 1), ("b", 2)]), 3);
        assert_eq!(token_sum(p, &[("a", u64::MAX), ("b", 5)]), 5);
        assert_eq!(
            token_sum(
                p,
                &[("a", MAX_PLAUSIBLE_TOKENS), ("b", MAX_PLAUSIBLE_TOKENS)]
            ),
            2 * MAX_PLAUSIBLE_TOKENS
        );
    }
}
