//! The warm Lambda's reads, on the wire: the handler over `CachedStore<DynamoStore>` against a
//! loopback DynamoDB (`tests/loopback`) that records each `Query`. A warm call asks only for the
//! turns after the last one it holds (`turn > :last`) and gets only those items back.

mod handler_support;
mod loopback;

use std::sync::Arc;

use agent_builder::{AgentConfig, LlmRequest, ModelSpec, Provider, ToolResult, ToolSpec};
use handler_support::{QueueModel, local_aws_config, reply};
use llm_lambdas::Handler;
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::store::{CachedStore, ConversationStore, DynamoStore};
use loopback::{Dynamo, QueryLog};
use serde_json::json;

fn agent() -> AgentConfig {
    AgentConfig {
        name: "weather".into(),
        system_prompt: "Be brief.".into(),
        model: ModelSpec {
            provider: Provider::Anthropic,
            model: "claude-haiku-4-5".into(),
            max_tokens: 256,
            temperature: None,
        },
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "The weather in a city.".into(),
            input_schema: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
        }],
        output_schema: None,
        cache_ttl: Default::default(),
    }
}

fn request(iteration: u32, question: Option<&str>, results: Vec<ToolResult>) -> LlmRequest {
    LlmRequest {
        execution: Some("arn:aws:states:us-east-1:1:execution:m:e".into()),
        agent: agent(),
        conversation_id: "warm".into(),
        iteration,
        question: question.map(str::to_string),
        tool_results: results,
    }
}

fn log(after: u64, items: usize) -> QueryLog {
    QueryLog {
        conversation_id: "warm".into(),
        after,
        items,
    }
}

#[tokio::test]
async fn a_warm_call_queries_only_the_turns_after_the_last_cached_one() {
    let (table, endpoint) = Dynamo::start().expect("loopback DynamoDB");
    let config = local_aws_config(&endpoint).await;
    let dynamo = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), "conversations");
    let cached = Arc::new(CachedStore::new(dynamo.clone()));
    let call = |n: u32| {
        Ok(reply(
            "Looking.",
            &[(
                &format!("t{n}"),
                "get_weather",
                json!({"city": format!("City {n}")}),
            )],
            "claude-haiku-4-5",
        ))
    };
    let model = Arc::new(QueueModel::new(
        Provider::Anthropic,
        vec![call(1), call(2), call(3), Ok(reply("Done.", &[], "m"))],
    ));
    let handler = Handler::new(model.clone(), cached.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()));

    handler
        .handle(request(1, Some("Weather?"), Vec::new()))
        .await
        .expect("turn 1");
    for n in 2..=4u32 {
        let result = ToolResult::ok(format!("t{}", n - 1), "sunny");
        handler
            .handle(request(n, None, vec![result]))
            .await
            .expect("turn");
    }

    // A new conversation, then one full read (nothing was cached yet), then one item per call.
    assert_eq!(
        table.queries(),
        [log(0, 0), log(0, 1), log(1, 1), log(2, 1)]
    );
    // The model saw the whole history every time.
    let sent: Vec<usize> = model.requests().iter().map(|r| r.messages.len()).collect();
    assert_eq!(sent, [1, 3, 5, 7]);
    // A cold store reads everything, page by page.
    let all = dynamo
        .with_page_size(1)
        .load("warm")
        .await
        .expect("load all");
    assert_eq!(all.iter().map(|t| t.turn).collect::<Vec<_>>(), [1, 2, 3, 4]);
}
