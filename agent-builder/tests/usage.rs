//! What a run reports of its tokens: the cache counts in `Usage`, summed in the machine the same
//! way for a turn and for sub-agents; and the cache lifetime an agent asks of its provider.

use agent_builder::react::names;
use agent_builder::{Agent, AgentBuilder, CacheTtl, Model, ToolSpec, Usage};
use serde_json::{Value, json};

fn base(name: &str) -> AgentBuilder {
    Agent::builder(name)
        .system_prompt("You help.")
        .model(Model::anthropic("claude-sonnet-4-5"))
        .tool(ToolSpec::new(
            "refund",
            "Refunds an order.",
            json!({"type": "object", "properties": {"order": {"type": "string"}}}),
        ))
}

#[test]
fn usage_without_the_cache_fields_still_parses() {
    // A payload of a Lambda (or a stored turn) from before the cache fields.
    let old: Usage = serde_json::from_value(
        json!({"input_tokens": 1200, "output_tokens": 80, "estimated_cost_usd": 0.0048}),
    )
    .expect("old usage parses");
    assert_eq!(old.input_tokens, 1200);
    assert_eq!((old.cache_read_tokens, old.cache_write_tokens), (0, 0));
    let now = serde_json::to_value(Usage {
        input_tokens: 1200,
        output_tokens: 80,
        cache_read_tokens: 1000,
        cache_write_tokens: 150,
        estimated_cost_usd: 0.001,
    })
    .expect("serializes");
    assert_eq!(now["cache_read_tokens"], 1000);
    assert_eq!(now["cache_write_tokens"], 150);
}

#[test]
fn usage_sums_saturate() {
    let big = Usage {
        input_tokens: u64::MAX,
        output_tokens: 1,
        cache_read_tokens: u64::MAX - 1,
        cache_write_tokens: u64::MAX,
        estimated_cost_usd: 1.0,
    };
    let sum = big + big;
    assert_eq!(sum.input_tokens, u64::MAX);
    assert_eq!(sum.cache_read_tokens, u64::MAX);
    assert_eq!(sum.cache_write_tokens, u64::MAX);
    assert_eq!(sum.output_tokens, 2);
}

#[test]
fn the_machine_sums_the_cache_counts_of_every_turn() {
    let agent = base("shop").build().expect("valid");
    let machine: Value =
        serde_json::from_str(&agent.state_machine().to_json_pretty()).expect("json");
    let assign = machine["States"][names::CALL_LLM]["Assign"]["usage"]
        .as_str()
        .unwrap_or_default();
    for field in [
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "estimated_cost_usd",
    ] {
        assert!(
            assign.contains(&format!(
                "'{field}': $usage.{field} + $sum([$states.result.Payload.usage.{field}])"
            )),
            "{field} in {assign}"
        );
    }
    asl::validate(&agent.state_machine()).expect("valid ASL");
}

#[test]
fn an_agent_that_waits_for_people_asks_for_the_one_hour_cache() {
    let approving = base("approving")
        .require_approval(["refund"])
        .build()
        .expect("valid");
    let asking = base("asking").ask_user().build().expect("valid");
    let plain = base("plain").build().expect("valid");
    assert_eq!(approving.config().cache_ttl, CacheTtl::OneHour);
    assert_eq!(asking.config().cache_ttl, CacheTtl::OneHour);
    assert_eq!(plain.config().cache_ttl, CacheTtl::FiveMinutes);

    // It rides in the LLM task's payload; the default is left out, so plain agents' machines do
    // not change.
    let payload = |agent: &Agent| {
        let machine: Value =
            serde_json::from_str(&agent.state_machine().to_json_pretty()).expect("json");
        machine["States"][names::CALL_LLM]["Arguments"]["Payload"]["agent"].clone()
    };
    assert_eq!(payload(&approving)["cache_ttl"], "1h");
    assert_eq!(payload(&asking)["cache_ttl"], "1h");
    assert!(payload(&plain).get("cache_ttl").is_none());
}

#[test]
fn a_supervisor_counts_its_sub_agents_cache_tokens() {
    let helper = Agent::builder("helper")
        .system_prompt("You help.")
        .model(Model::anthropic("claude-haiku-4-5"))
        .build()
        .expect("valid");
    let supervisor = base("supervisor")
        .sub_agent(&helper)
        .build()
        .expect("valid");
    let machine: Value =
        serde_json::from_str(&supervisor.state_machine().to_json_pretty()).expect("json");
    let assign = machine["States"][names::RUN_TOOLS]["Assign"]["usage"]
        .as_str()
        .unwrap_or_default();
    for field in [
        "input_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "estimated_cost_usd",
    ] {
        assert!(
            assign.contains(&format!(
                "'{field}': $usage.{field} + $sum([$states.result.usage.{field}])"
            )),
            "{field} in {assign}"
        );
    }
    // The sub-agent's result carries its whole run's usage, cache counts included.
    let ask = &machine["States"][names::RUN_TOOLS]["ItemProcessor"]["States"][names::ASK_AGENT];
    assert!(
        ask["Output"]
            .as_str()
            .unwrap_or_default()
            .contains("'usage': $states.result.Output.usage"),
        "{ask}"
    );
    asl::validate(&supervisor.state_machine()).expect("valid ASL");
}
