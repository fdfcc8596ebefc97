//! The handler's behaviour over an in-memory store and a queue model: appending the new
//! messages, validating tool calls, structured output, retries, conflicts, metrics and errors.

mod handler_support;

use std::sync::Arc;

use agent_builder::{
    AgentConfig, ContentBlock, LlmRequest, ModelSpec, Provider, Role, StopReason, ToolResult,
    ToolSpec, errors,
};
use handler_support::{QueueModel, reply};
use llm_lambdas::handler::FINAL_ANSWER_TOOL;
use llm_lambdas::metrics::{MetricsSink, SharedBuffer};
use llm_lambdas::store::{ConversationStore, MemoryStore, StoreError, Turn};
use llm_lambdas::{Handler, LlmError};
use serde_json::{Value, json};

fn weather_agent(output_schema: Option<Value>) -> AgentConfig {
    AgentConfig {
        name: "weather".into(),
        system_prompt: "You answer weather questions.".into(),
        model: ModelSpec {
            provider: Provider::Anthropic,
            model: "claude-sonnet-4-5".into(),
            max_tokens: 1024,
            temperature: None,
        },
        tools: vec![ToolSpec {
            name: "get_weather".into(),
            description: "The weather in a city.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1}},
                "required": ["city"],
                "additionalProperties": false
            }),
        }],
        output_schema,
        cache_ttl: Default::default(),
    }
}

fn question(agent: &AgentConfig, conversation: &str, iteration: u32, q: &str) -> LlmRequest {
    LlmRequest {
        execution: None,
        agent: agent.clone(),
        conversation_id: conversation.into(),
        iteration,
        question: Some(q.into()),
        tool_results: Vec::new(),
    }
}

fn results(
    agent: &AgentConfig,
    conversation: &str,
    iteration: u32,
    r: Vec<ToolResult>,
) -> LlmRequest {
    LlmRequest {
        execution: None,
        agent: agent.clone(),
        conversation_id: conversation.into(),
        iteration,
        question: None,
        tool_results: r,
    }
}

struct Setup {
    model: Arc<QueueModel>,
    store: Arc<MemoryStore>,
    metrics: SharedBuffer,
    handler: Handler,
}

fn setup(replies: Vec<Result<llm_lambdas::ChatResponse, LlmError>>) -> Setup {
    let model = Arc::new(QueueModel::new(Provider::Anthropic, replies));
    let store = Arc::new(MemoryStore::new());
    let metrics = SharedBuffer::default();
    let handler = Handler::new(model.clone(), store.clone())
        .with_metrics(MetricsSink::to_writer(metrics.clone()));
    Setup {
        model,
        store,
        metrics,
        handler,
    }
}

#[tokio::test]
async fn a_tool_turn_splits_valid_calls_from_rejected_ones() {
    let s = setup(vec![Ok(reply(
        "Let me look.",
        &[
            ("t1", "get_weather", json!({"city": "Paris"})),
            ("t2", "get_stock_price", json!({"ticker": "AMZN"})),
            ("t3", "get_weather", json!({"city": "Oslo", "days": 0})),
            (
                "t4",
                "get_weather",
                Value::String("{\"city\": \"Rome\"".into()),
            ),
            ("t5", "get_weather", json!(["Lima"])),
        ],
        "claude-sonnet-4-5-20250929",
    ))]);
    let agent = weather_agent(None);
    let out = s
        .handler
        .handle(question(&agent, "c1", 1, "Weather in Paris?"))
        .await
        .expect("turn");

    assert_eq!(out.stop_reason, StopReason::ToolUse);
    assert_eq!(out.text, "Let me look.");
    assert_eq!(out.tool_calls.len(), 1);
    assert_eq!(out.tool_calls[0].id, "t1");
    assert_eq!(out.tool_calls[0].input, json!({"city": "Paris"}));
    let rejected: Vec<_> = out
        .rejected
        .iter()
        .map(|r| r.tool_use_id.as_str())
        .collect();
    assert_eq!(rejected, ["t2", "t3", "t4", "t5"]);
    assert!(out.rejected.iter().all(|r| r.is_error));
    assert!(
        out.rejected[0]
            .content
            .contains("no tool named `get_stock_price`")
    );
    assert!(out.rejected[0].content.contains("get_weather"));
    // Worded by the one tool-input validator, as the tool itself words it.
    assert_eq!(
        out.rejected[1].content,
        "Invalid input for `get_weather`: `days` must be at least 1, not the number 0. \
         Call `get_weather` again with a JSON object that matches its input schema."
    );
    assert!(out.rejected[2].content.contains("not valid JSON"));
    assert!(out.rejected[2].content.contains("{\"city\": \"Rome\""));
    assert!(
        out.rejected[3]
            .content
            .contains("JSON object, not an array")
    );

    // The model got the system prompt, the tools and the question.
    let sent = s.model.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].system, "You answer weather questions.");
    assert_eq!(sent[0].model, "claude-sonnet-4-5");
    assert_eq!(sent[0].max_tokens, 1024);
    assert_eq!(sent[0].tools.len(), 1);
    assert_eq!(sent[0].messages.len(), 1);
    assert_eq!(sent[0].messages[0].text(), "Weather in Paris?");

    // The turn is stored: the question and the reply.
    let turns = s.store.load("c1").await.expect("load");
    assert_eq!(turns.len(), 1);
    assert_eq!(turns[0].turn, 1);
    assert_eq!(turns[0].messages.len(), 2);
    assert_eq!(turns[0].messages[1].role, Role::Assistant);
    assert_eq!(turns[0].model, "claude-sonnet-4-5-20250929");

    // Usage is priced: 1000 in, 100 out at $3/$15 per million.
    assert_eq!(out.usage.input_tokens, 1000);
    assert_eq!(out.usage.output_tokens, 100);
    assert!((out.usage.estimated_cost_usd - 0.0045).abs() < 1e-12);

    // One EMF line.
    let lines = s.metrics.contents();
    assert_eq!(lines.lines().count(), 1);
    let emf: Value = serde_json::from_str(lines.trim()).expect("EMF JSON");
    assert_eq!(emf["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SfnAgent");
    assert_eq!(emf["Agent"], "weather");
    assert_eq!(emf["Provider"], "anthropic");
    assert_eq!(emf["Model"], "claude-sonnet-4-5-20250929");
    assert_eq!(emf["InputTokens"], 1000);
    assert!(emf["LatencyMs"].is_u64());
    assert!((emf["EstimatedCostUsd"].as_f64().unwrap_or_default() - 0.0045).abs() < 1e-12);
    // Every call the model asked for counts, the rejected ones too.
    let asked = turns[0].messages[1].tool_calls().len();
    assert!(asked > 0);
    assert_eq!(emf["ToolCalls"], asked as u64);
}

#[tokio::test]
async fn every_call_rejected_keeps_tool_use_and_the_next_turn_carries_all_results() {
    let s = setup(vec![
        Ok(reply(
            "",
            &[("t1", "get_wether", json!({"city": "Paris"}))],
            "m",
        )),
        Ok(reply(
            "",
            &[("t2", "get_weather", json!({"city": "Paris"}))],
            "m",
        )),
        Ok(reply("It is sunny.", &[], "m")),
    ]);
    let agent = weather_agent(None);
    let first = s
        .handler
        .handle(question(&agent, "c2", 1, "Paris?"))
        .await
        .expect("turn 1");
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert!(first.tool_calls.is_empty());
    assert_eq!(first.rejected.len(), 1);

    // The state machine loops back with just the rejected results.
    let second = s
        .handler
        .handle(results(&agent, "c2", 2, first.rejected.clone()))
        .await
        .expect("turn 2");
    assert_eq!(second.tool_calls.len(), 1);
    let third = s
        .handler
        .handle(results(
            &agent,
            "c2",
            3,
            vec![ToolResult::ok("t2", "{\"sky\": \"clear\"}")],
        ))
        .await
        .expect("turn 3");
    assert_eq!(third.stop_reason, StopReason::EndTurn);
    assert_eq!(third.text, "It is sunny.");

    // The last call saw the whole history: Q, A(t1), R(t1), A(t2), R(t2).
    let sent = s.model.requests();
    let last = &sent[2].messages;
    assert_eq!(last.len(), 5);
    assert!(matches!(
        &last[2].content[0],
        ContentBlock::ToolResult { tool_use_id, is_error: true, .. } if tool_use_id == "t1"
    ));
    assert!(matches!(
        &last[4].content[0],
        ContentBlock::ToolResult { tool_use_id, is_error: false, .. } if tool_use_id == "t2"
    ));
    let turns = s.store.load("c2").await.expect("load");
    assert_eq!(turns.iter().map(|t| t.turn).collect::<Vec<_>>(), [1, 2, 3]);
}

#[tokio::test]
async fn a_retried_turn_is_answered_from_the_store_without_duplicates() {
    let s = setup(vec![
        Ok(reply(
            "",
            &[("t1", "get_weather", json!({"city": "Paris"}))],
            "m",
        )),
        Ok(reply("Sunny.", &[], "m")),
        Ok(reply("should never be used", &[], "m")),
    ]);
    let agent = weather_agent(None);
    let q = question(&agent, "c3", 1, "Paris?");
    let first = s.handler.handle(q.clone()).await.expect("turn 1");
    // The Lambda's response was lost and the state machine retries the same turn.
    let again = s.handler.handle(q).await.expect("retry of turn 1");
    assert_eq!(again, first);

    let r = results(&agent, "c3", 2, vec![ToolResult::ok("t1", "sunny")]);
    let second = s.handler.handle(r.clone()).await.expect("turn 2");
    let again = s.handler.handle(r).await.expect("retry of turn 2");
    assert_eq!(again, second);

    assert_eq!(s.model.requests().len(), 2, "a retry calls no model");
    let turns = s.store.load("c3").await.expect("load");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns.iter().map(|t| t.messages.len()).sum::<usize>(), 4);
    assert_eq!(s.metrics.contents().lines().count(), 2);
}

#[tokio::test]
async fn two_executions_asking_the_same_question_each_get_their_turn() {
    let s = setup(vec![
        Ok(reply("Sunny, says the first.", &[], "m")),
        Ok(reply("Still sunny, says the second.", &[], "m")),
        Ok(reply("should never be used", &[], "m")),
    ]);
    let agent = weather_agent(None);
    let asked_by = |execution: &str| LlmRequest {
        execution: Some(execution.into()),
        ..question(&agent, "shared", 1, "Paris?")
    };
    let first = s
        .handler
        .handle(asked_by("arn:exec:one"))
        .await
        .expect("first execution");
    let second = s
        .handler
        .handle(asked_by("arn:exec:two"))
        .await
        .expect("second execution");
    assert_eq!(first.text, "Sunny, says the first.");
    assert_eq!(
        second.text, "Still sunny, says the second.",
        "not the first's stored answer"
    );
    // A Lambda retry inside the second execution is still answered from the store.
    let again = s
        .handler
        .handle(asked_by("arn:exec:two"))
        .await
        .expect("retry");
    assert_eq!(again, second);
    assert_eq!(s.model.requests().len(), 2);
    let turns = s.store.load("shared").await.expect("load");
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1].execution.as_deref(), Some("arn:exec:two"));
}

/// A store that lets another writer take the next turn between the handler's load and append.
struct RacingStore {
    inner: MemoryStore,
    raced: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl ConversationStore for RacingStore {
    async fn load(&self, id: &str) -> Result<Vec<Turn>, StoreError> {
        self.inner.load(id).await
    }

    async fn append(&self, id: &str, turn: &Turn) -> Result<(), StoreError> {
        if !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let mut theirs = turn.clone();
            theirs.iteration = 99;
            theirs.messages[0] =
                agent_builder::Message::user_text("the other execution's question");
            self.inner.append(id, &theirs).await?;
        }
        self.inner.append(id, turn).await
    }
}

#[tokio::test]
async fn a_conflict_is_named_for_the_retry_and_the_retry_appends_after_the_winner() {
    let model = Arc::new(QueueModel::new(
        Provider::Anthropic,
        vec![
            Ok(reply("first try", &[], "m")),
            Ok(reply("second try", &[], "m")),
        ],
    ));
    let store = Arc::new(RacingStore {
        inner: MemoryStore::new(),
        raced: false.into(),
    });
    let handler = Handler::new(model.clone(), store.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent(None);
    let err = handler
        .handle(question(&agent, "c4", 1, "mine"))
        .await
        .expect_err("conflict");
    assert_eq!(err.error_name(), errors::CONVERSATION_CONFLICT);
    assert!(err.to_string().contains("retry"), "{err}");

    let ok = handler
        .handle(question(&agent, "c4", 1, "mine"))
        .await
        .expect("retry");
    assert_eq!(ok.text, "second try");
    // The retry saw the winner's turn in its history.
    assert_eq!(model.requests()[1].messages.len(), 3);
    let turns = store.load("c4").await.expect("load");
    assert_eq!(turns.len(), 2);
    assert_eq!(
        turns[0].messages[0].text(),
        "the other execution's question"
    );
    assert_eq!(turns[1].messages[0].text(), "mine");
}

fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
        "required": ["city", "celsius"]
    })
}

#[tokio::test]
async fn a_structured_answer_comes_through_the_final_answer_tool() {
    let s = setup(vec![Ok(reply(
        "",
        &[(
            "f1",
            FINAL_ANSWER_TOOL,
            json!({"city": "Paris", "celsius": 18}),
        )],
        "m",
    ))]);
    let agent = weather_agent(Some(answer_schema()));
    let out = s
        .handler
        .handle(question(&agent, "c5", 1, "Paris?"))
        .await
        .expect("turn");
    assert_eq!(out.stop_reason, StopReason::EndTurn);
    assert_eq!(
        out.structured,
        Some(json!({"city": "Paris", "celsius": 18}))
    );
    assert!(out.tool_calls.is_empty());
    let tools: Vec<_> = s.model.requests()[0]
        .tools
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(tools, ["get_weather", FINAL_ANSWER_TOOL]);
    assert_eq!(s.model.requests()[0].tools[1].input_schema, answer_schema());
}

#[tokio::test]
async fn an_invalid_structured_answer_goes_back_once_with_the_errors() {
    let s = setup(vec![
        Ok(reply(
            "",
            &[("f1", FINAL_ANSWER_TOOL, json!({"city": "Paris"}))],
            "m",
        )),
        Ok(reply(
            "",
            &[(
                "f2",
                FINAL_ANSWER_TOOL,
                json!({"city": "Paris", "celsius": 18.5}),
            )],
            "m",
        )),
    ]);
    let agent = weather_agent(Some(answer_schema()));
    let out = s
        .handler
        .handle(question(&agent, "c6", 1, "Paris?"))
        .await
        .expect("turn");
    assert_eq!(
        out.structured,
        Some(json!({"city": "Paris", "celsius": 18.5}))
    );
    // Both calls are counted.
    assert_eq!(out.usage.input_tokens, 2000);
    let sent = s.model.requests();
    assert_eq!(sent.len(), 2);
    let correction = &sent[1].messages[2];
    let ContentBlock::ToolResult {
        tool_use_id,
        content,
        is_error,
    } = &correction.content[0]
    else {
        panic!("the correction is a tool result: {correction:?}");
    };
    assert_eq!(tool_use_id, "f1");
    assert!(is_error);
    assert!(content.contains("celsius"), "{content}");
    // The turn keeps the whole exchange.
    let turns = s.store.load("c6").await.expect("load");
    assert_eq!(turns[0].messages.len(), 4);

    // A later question in the same conversation answers the final-answer call first.
    let s2_reply = reply("Again?", &[], "m");
    let model = Arc::new(QueueModel::new(Provider::OpenAi, vec![Ok(s2_reply)]));
    let handler = Handler::new(model.clone(), s.store.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent(None);
    handler
        .handle(question(&agent, "c6", 1, "And Oslo?"))
        .await
        .expect("next question");
    let sent = model.requests();
    let user = sent[0].messages.last().expect("user message");
    assert!(matches!(
        &user.content[0],
        ContentBlock::ToolResult { tool_use_id, is_error: false, .. } if tool_use_id == "f2"
    ));
    assert_eq!(
        user.content[1],
        ContentBlock::Text {
            text: "And Oslo?".into(),
            extra: None,
        }
    );
    // The conversation was continued on another provider.
    let turns = s.store.load("c6").await.expect("load");
    assert_eq!(turns[1].provider, Provider::OpenAi);
}

#[tokio::test]
async fn a_structured_answer_that_stays_invalid_fails_clearly() {
    let s = setup(vec![
        Ok(reply(
            "",
            &[("f1", FINAL_ANSWER_TOOL, json!({"city": 3}))],
            "m",
        )),
        Ok(reply("Paris is nice.", &[], "m")),
    ]);
    let agent = weather_agent(Some(answer_schema()));
    let err = s
        .handler
        .handle(question(&agent, "c7", 1, "Paris?"))
        .await
        .expect_err("invalid");
    assert_eq!(err.error_name(), errors::AGENT_INVALID_OUTPUT);
    assert!(err.to_string().contains("output schema"), "{err}");
    assert!(s.store.load("c7").await.expect("load").is_empty());
}

#[tokio::test]
async fn a_text_answer_that_is_valid_json_is_accepted() {
    let s = setup(vec![Ok(reply(
        "```json\n{\"city\": \"Oslo\", \"celsius\": 4}\n```",
        &[],
        "m",
    ))]);
    let agent = weather_agent(Some(answer_schema()));
    let out = s
        .handler
        .handle(question(&agent, "c8", 1, "Oslo?"))
        .await
        .expect("turn");
    assert_eq!(out.structured, Some(json!({"city": "Oslo", "celsius": 4})));
}

#[tokio::test]
async fn model_errors_keep_their_names_and_nothing_is_stored() {
    let s = setup(vec![Err(LlmError::RateLimited {
        provider: "anthropic".into(),
        message: "slow down".into(),
        retry_after_seconds: Some(7),
    })]);
    let agent = weather_agent(None);
    let err = s
        .handler
        .handle(question(&agent, "c9", 1, "Paris?"))
        .await
        .expect_err("429");
    assert_eq!(err.error_name(), errors::LLM_RATE_LIMITED);
    assert!(err.to_string().contains("retry after 7 s"));
    assert!(s.store.load("c9").await.expect("load").is_empty());
    let diag = llm_lambdas::handler::lambda::diagnostic(&err);
    assert_eq!(diag.error_type, "LLM.RateLimited");
    assert_eq!(diag.error_message, err.to_string());
}

#[tokio::test]
async fn an_auth_failure_writes_its_own_emf_line() {
    let s = setup(vec![Err(LlmError::AuthFailed {
        provider: "anthropic".into(),
        message: "invalid x-api-key".into(),
    })]);
    let agent = weather_agent(None);
    let err = s
        .handler
        .handle(question(&agent, "c-auth", 2, "Paris?"))
        .await
        .expect_err("401");
    assert_eq!(err.error_name(), errors::LLM_AUTH_FAILED);
    let text = s.metrics.contents();
    assert_eq!(text.lines().count(), 1, "{text}");
    let emf: Value = serde_json::from_str(text.trim()).expect("EMF JSON");
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"],
        json!([{
            "Namespace": "SfnAgent",
            "Dimensions": [["Agent", "Provider"]],
            "Metrics": [{"Name": "LLM.AuthFailed", "Unit": "Count"}]
        }])
    );
    assert_eq!(emf["LLM.AuthFailed"], 1);
    assert_eq!(emf["Agent"], "weather");
    assert_eq!(emf["Provider"], "anthropic");
    assert_eq!(emf["Iteration"], 2);

    // Another failure writes no line.
    let s = setup(vec![Err(LlmError::RateLimited {
        provider: "anthropic".into(),
        message: "slow down".into(),
        retry_after_seconds: None,
    })]);
    let _ = s
        .handler
        .handle(question(&agent, "c-429", 1, "Paris?"))
        .await;
    assert_eq!(s.metrics.contents(), "");
}

#[tokio::test]
async fn a_turn_with_nothing_to_say_is_invalid_input() {
    let s = setup(vec![]);
    let agent = weather_agent(None);
    let err = s
        .handler
        .handle(results(&agent, "c10", 1, Vec::new()))
        .await
        .expect_err("empty");
    assert_eq!(err.error_name(), errors::AGENT_INVALID_INPUT);
}

#[tokio::test]
async fn an_invalid_tool_schema_is_a_config_error() {
    let s = setup(vec![]);
    let mut agent = weather_agent(None);
    agent.tools[0].input_schema = json!({"type": "no-such-type"});
    let err = s
        .handler
        .handle(question(&agent, "c11", 1, "Paris?"))
        .await
        .expect_err("bad schema");
    assert_eq!(err.error_name(), errors::AGENT_INVALID_CONFIG);
    assert!(err.to_string().contains("get_weather"), "{err}");
}

#[tokio::test]
async fn the_model_override_replaces_the_agents_model() {
    let model = Arc::new(QueueModel::new(
        Provider::OpenAi,
        vec![Ok(reply("hi", &[], ""))],
    ));
    let store = Arc::new(MemoryStore::new());
    let handler = Handler::new(model.clone(), store.clone())
        .with_model_override("gpt-4o-mini")
        .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent(None);
    let out = handler
        .handle(question(&agent, "c12", 1, "hi"))
        .await
        .expect("turn");
    assert_eq!(model.requests()[0].model, "gpt-4o-mini");
    // Priced with the model actually used (the reply named none): $0.15/$0.60 per million.
    assert!((out.usage.estimated_cost_usd - 0.00021).abs() < 1e-12);
    assert_eq!(
        store.load("c12").await.expect("load")[0].model,
        "gpt-4o-mini"
    );
}

#[test]
fn each_provider_has_its_adapter() {
    use llm_lambdas::ProviderAdapter;
    for provider in Provider::ALL {
        let adapter = ProviderAdapter::for_provider(provider).expect("built in");
        assert_eq!(adapter.provider(), provider);
    }
    assert_eq!(ProviderAdapter::ANTHROPIC.provider(), Provider::Anthropic);
    assert_eq!(ProviderAdapter::OPENAI.provider(), Provider::OpenAi);
    assert_eq!(ProviderAdapter::GEMINI.provider(), Provider::Gemini);
    assert_eq!(ProviderAdapter::BEDROCK.provider(), Provider::Bedrock);
}

#[tokio::test]
async fn the_lambda_builds_its_adapter_with_the_key_and_names_a_missing_one() {
    use llm_lambdas::ProviderAdapter;
    use llm_lambdas::handler::lambda::model_for;
    use llm_lambdas::secrets::{ApiKey, ApiKeys, SecretsManagerSource};
    let source = Arc::new(SecretsManagerSource::from_env());
    let keys = Arc::new(ApiKeys::new(
        None,
        source.clone(),
        std::collections::HashMap::from([(Provider::Anthropic, ApiKey::new("sk-ant-test"))]),
    ));
    let model = model_for(ProviderAdapter::ANTHROPIC, &keys)
        .await
        .expect("adapter");
    assert_eq!(model.provider(), Provider::Anthropic);

    if std::env::var("GEMINI_API_KEY").is_err() {
        let none = Arc::new(ApiKeys::new(None, source, std::collections::HashMap::new()));
        let err = model_for(ProviderAdapter::GEMINI, &none)
            .await
            .err()
            .expect("no key");
        assert_eq!(err.error_name(), errors::LLM_AUTH_FAILED);
        let text = err.to_string();
        assert!(
            text.contains("GEMINI_API_KEY") && text.contains("SECRET_ARN"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_scripted_run_costs_nothing() {
    use llm_lambdas::providers::scripted::{Script, ScriptedModel};
    let script: Script = serde_json::from_value(json!({"turns": [
        {"text": "Sunny.", "usage": {"input_tokens": 1_000_000, "output_tokens": 1_000_000}}
    ]}))
    .expect("script");
    // The agent's model has a price ($3/$15 per million for claude-sonnet-4-5); a script's
    // made-up counts must not be priced with it.
    let handler = Handler::new(
        Arc::new(ScriptedModel::new(script, Provider::Anthropic)),
        Arc::new(MemoryStore::new()),
    )
    .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent(None);
    let out = handler
        .handle(question(&agent, "c-scripted", 1, "Weather?"))
        .await
        .expect("turn");
    assert_eq!(out.usage.input_tokens, 1_000_000);
    assert_eq!(out.usage.output_tokens, 1_000_000);
    assert_eq!(out.usage.estimated_cost_usd, 0.0);
}

#[tokio::test]
async fn a_turn_cut_off_while_writing_tool_calls_runs_no_tool() {
    // `finish_reason: "length"` mid-call: one call complete-looking, one with empty arguments.
    let mut cut = reply(
        "Checking both.",
        &[
            ("t1", "get_weather", json!({"city": "Paris"})),
            ("t2", "get_weather", Value::String(String::new())),
        ],
        "claude-sonnet-4-5",
    );
    cut.stop_reason = StopReason::MaxTokens;
    let s = setup(vec![Ok(cut)]);
    let agent = weather_agent(None);
    let out = s
        .handler
        .handle(question(&agent, "c-cut", 1, "Weather in Paris and Oslo?"))
        .await
        .expect("turn");
    assert_eq!(out.stop_reason, StopReason::MaxTokens);
    assert!(out.tool_calls.is_empty(), "{:?}", out.tool_calls);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert_eq!(out.text, "Checking both.");
}

#[tokio::test]
async fn empty_arguments_are_rejected_not_read_as_an_empty_object() {
    let s = setup(vec![Ok(reply(
        "",
        &[("t1", "get_weather", Value::String(String::new()))],
        "claude-sonnet-4-5",
    ))]);
    let agent = weather_agent(None);
    let out = s
        .handler
        .handle(question(&agent, "c-empty", 1, "Weather?"))
        .await
        .expect("turn");
    assert!(out.tool_calls.is_empty());
    assert_eq!(out.rejected.len(), 1);
    assert!(
        out.rejected[0].content.contains("arguments were empty"),
        "{}",
        out.rejected[0].content
    );
}

/// The JSON log lines of the turns of `conversation`, as the Lambdas' subscriber formats them.
/// One global subscriber for the whole test binary (a scoped one per test races with the
/// other tests' threads over `tracing`'s per-callsite interest cache).
fn turn_lines(conversation: &str) -> Vec<Value> {
    use lambda_runtime::tracing::subscriber;
    static LOGS: std::sync::OnceLock<SharedBuffer> = std::sync::OnceLock::new();
    let buf = LOGS.get_or_init(|| {
        let buf = SharedBuffer::default();
        let writer = buf.clone();
        let sub = subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(sub).expect("the only subscriber");
        buf
    });
    buf.contents()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("a JSON log line"))
        .filter(|l| l["target"] == "sfn_agent::turn" && l["conversation_id"] == conversation)
        .collect()
}

#[tokio::test]
async fn one_json_log_line_per_turn_with_the_gen_ai_attributes_and_no_content() {
    let s = setup(vec![Ok(reply(
        "Sunny, 21 °C.",
        &[],
        "claude-sonnet-4-5-20250929",
    ))]);
    let agent = weather_agent(None);
    let mut request = question(&agent, "c-log", 1, "Weather in Paris?");
    request.execution = Some("arn:aws:states:eu-west-1:1:execution:weather:e1".into());
    turn_lines("c-log");
    s.handler.handle(request).await.expect("turn");
    let turns = turn_lines("c-log");
    assert_eq!(turns.len(), 1, "{turns:?}");
    let t = &turns[0];
    assert_eq!(t["level"], "INFO");
    assert_eq!(
        t["execution"],
        "arn:aws:states:eu-west-1:1:execution:weather:e1"
    );
    assert_eq!(t["sfn.execution_arn"], t["execution"]);
    assert_eq!(t["sfn.state"], "Call LLM");
    assert_eq!(t["agent"], "weather");
    assert_eq!(t["iteration"], 1);
    assert_eq!(t["provider"], "anthropic");
    assert_eq!(t["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(t["gen_ai.system"], "anthropic");
    assert_eq!(t["gen_ai.request.model"], agent.model.model.as_str());
    assert_eq!(t["gen_ai.usage.input_tokens"], t["input_tokens"]);
    assert_eq!(t["gen_ai.usage.output_tokens"], t["output_tokens"]);
    assert!(t["input_tokens"].is_u64() && t["latency_ms"].is_u64());
    assert_eq!(t["stop_reason"], "end_turn");
    assert_eq!(t["outcome"], "ok");
    assert!(
        t.get("question").is_none() && t.get("answer").is_none(),
        "{t}"
    );
    assert!(
        !t.to_string().contains("Paris"),
        "content stays out by default: {t}"
    );
    // The EMF line is not a tracing line: it went to the metrics sink, raw.
    assert_eq!(s.metrics.contents().lines().count(), 1);
}

#[tokio::test]
async fn content_is_logged_only_when_opted_in_and_failures_are_logged_by_name() {
    let s = setup(vec![
        Ok(reply("Sunny.", &[], "claude-sonnet-4-5-20250929")),
        Err(LlmError::AuthFailed {
            provider: "anthropic".into(),
            message: "invalid x-api-key".into(),
        }),
    ]);
    let handler = Handler::new(s.model.clone(), s.store.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()))
        .with_log_content(true);
    let agent = weather_agent(None);
    turn_lines("c-log2");
    handler
        .handle(question(&agent, "c-log2", 1, "Weather in Paris?"))
        .await
        .expect("turn");
    let _ = handler
        .handle(question(&agent, "c-log3", 1, "And Oslo?"))
        .await;
    let ok = turn_lines("c-log2");
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0]["question"], "Weather in Paris?");
    assert_eq!(ok[0]["answer"], "Sunny.");
    let failed = turn_lines("c-log3");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["level"], "WARN");
    assert_eq!(failed[0]["outcome"], "LLM.AuthFailed");
    assert_eq!(failed[0]["gen_ai.system"], "anthropic");
}

#[tokio::test]
async fn cache_tokens_reach_the_usage_the_metrics_and_the_cost() {
    let mut cached = reply("Sunny.", &[], "claude-sonnet-4-5-20250929");
    // 1,000 prompt tokens: 700 read from the cache, 200 written (50 of them for an hour).
    cached.cache = llm_lambdas::CacheTokens {
        read: 700,
        write: 200,
        write_1h: 50,
    };
    let s = setup(vec![Ok(cached)]);
    let mut agent = weather_agent(None);
    agent.cache_ttl = agent_builder::CacheTtl::OneHour;
    let out = s
        .handler
        .handle(question(&agent, "c-cache", 1, "Weather in Paris?"))
        .await
        .expect("turn");
    // The agent's cache lifetime reaches the model.
    assert_eq!(
        s.model.requests()[0].cache_ttl,
        agent_builder::CacheTtl::OneHour
    );
    assert_eq!(out.usage.input_tokens, 1000);
    assert_eq!(
        (out.usage.cache_read_tokens, out.usage.cache_write_tokens),
        (700, 200)
    );
    // Sonnet 4.5: 100 uncached at $3, 700 read at $0.30, 150 written at $3.75, 50 written for an
    // hour at $6, 100 out at $15 (per million).
    let expected = (100.0 * 3.0 + 700.0 * 0.3 + 150.0 * 3.75 + 50.0 * 6.0 + 100.0 * 15.0) / 1e6;
    assert!(
        (out.usage.estimated_cost_usd - expected).abs() < 1e-12,
        "{} vs {expected}",
        out.usage.estimated_cost_usd
    );
    let emf: Value = serde_json::from_str(s.metrics.contents().trim()).expect("EMF JSON");
    assert_eq!(emf["InputTokens"], 1000);
    assert_eq!(emf["CacheReadTokens"], 700);
    assert_eq!(emf["CacheWriteTokens"], 200);
    assert!((emf["EstimatedCostUsd"].as_f64().unwrap_or_default() - expected).abs() < 1e-12);
    // The stored turn keeps them, for a retry answered from the store.
    let turns = s.store.load("c-cache").await.expect("load");
    assert_eq!(
        turns[0].response.parse().expect("response").usage,
        out.usage
    );
}

#[tokio::test]
async fn a_warm_cache_lends_the_history_to_each_call_and_gets_it_back_intact() {
    use llm_lambdas::store::CachedStore;
    let model = Arc::new(QueueModel::new(
        Provider::Anthropic,
        vec![
            Ok(reply(
                "Looking.",
                &[("t1", "get_weather", json!({"city": "Paris"}))],
                "m",
            )),
            Ok(reply(
                "And Oslo.",
                &[("t2", "get_weather", json!({"city": "Oslo"}))],
                "m",
            )),
            // The third call fails: the history lent to it still goes back to the cache.
            Err(LlmError::Overloaded {
                provider: "anthropic".into(),
                status: 529,
                message: "busy".into(),
            }),
            Ok(reply("Done.", &[], "m")),
        ],
    ));
    let cached = Arc::new(CachedStore::new(MemoryStore::new()));
    let handler = Handler::new(model.clone(), cached.clone())
        .with_metrics(MetricsSink::to_writer(std::io::sink()));
    let agent = weather_agent(None);
    handler
        .handle(question(&agent, "w", 1, "Paris and Oslo?"))
        .await
        .expect("turn 1");
    handler
        .handle(results(&agent, "w", 2, vec![ToolResult::ok("t1", "sunny")]))
        .await
        .expect("turn 2");
    let third = results(&agent, "w", 3, vec![ToolResult::ok("t2", "snow")]);
    let err = handler.handle(third.clone()).await.expect_err("overloaded");
    assert_eq!(err.error_name(), errors::LLM_OVERLOADED);
    assert!(
        cached.held_bytes() > 0,
        "the history went back to the cache"
    );
    handler.handle(third).await.expect("turn 3");

    // Every call saw the whole history, in order.
    let sent: Vec<usize> = model.requests().iter().map(|r| r.messages.len()).collect();
    assert_eq!(sent, [1, 3, 5, 5]);
    let last = &model.requests()[3];
    assert_eq!(last.messages[0].text(), "Paris and Oslo?");
    assert_eq!(last.messages[3].text(), "And Oslo.");
    // What the cache holds is exactly what the store holds.
    let from_cache = cached.load("w").await.expect("load");
    let stored = cached.inner().load("w").await.expect("load");
    assert_eq!(from_cache, stored);
    assert_eq!(stored.len(), 3);
}
