//! Two executions running the handler on one conversation at once, against the DynamoDB store
//! on the local server (`scripts/local-aws.sh`; `SFN_AGENT_TEST_AWS_ENDPOINT`): one wins, the
//! other gets `Conversation.Conflict`, its retry reloads the history, and no turn is lost.

mod handler_support;

use std::sync::Arc;

use agent_builder::{AgentConfig, LlmRequest, ModelSpec, Provider, errors};
use handler_support::{QueueModel, aws_endpoint, local_aws_config, reply, unique};
use llm_lambdas::Handler;
use llm_lambdas::metrics::MetricsSink;
use llm_lambdas::store::{ConversationStore, DynamoStore};

fn request(question: &str) -> LlmRequest {
    LlmRequest {
        execution: None,
        agent: AgentConfig {
            name: "chat".into(),
            system_prompt: "Be brief.".into(),
            model: ModelSpec {
                provider: Provider::Anthropic,
                model: "claude-haiku-4-5".into(),
                max_tokens: 256,
                temperature: Some(0.0),
            },
            tools: Vec::new(),
            output_schema: None,
            cache_ttl: Default::default(),
        },
        conversation_id: "shared-conversation".into(),
        iteration: 1,
        question: Some(question.into()),
        tool_results: Vec::new(),
    }
}

#[tokio::test]
async fn concurrent_executions_on_one_conversation_lose_no_turn() {
    let Some(endpoint) = aws_endpoint("concurrent_executions_on_one_conversation_lose_no_turn")
    else {
        return;
    };
    let config = local_aws_config(&endpoint).await;
    let store = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&config),
        unique("conversations"),
    ));
    store.create_table_if_missing().await.expect("table");

    // Both models wait for each other, so both handlers load the empty history first.
    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let handler = |answer: &str| {
        let model = QueueModel::new(
            Provider::Anthropic,
            vec![
                Ok(reply(answer, &[], "claude-haiku-4-5")),
                Ok(reply(answer, &[], "claude-haiku-4-5")),
            ],
        )
        .with_gate(gate.clone());
        Handler::new(Arc::new(model), store.clone())
            .with_metrics(MetricsSink::to_writer(std::io::sink()))
    };
    let a = handler("answer a");
    let b = handler("answer b");
    let (ra, rb) = tokio::join!(
        a.handle(request("question a")),
        b.handle(request("question b"))
    );

    let (winner, loser, loser_request) = match (&ra, &rb) {
        (Ok(_), Err(e)) => (&ra, e, request("question b")),
        (Err(e), Ok(_)) => (&rb, e, request("question a")),
        other => panic!("expected one winner and one conflict, got {other:?}"),
    };
    assert!(winner.is_ok());
    assert_eq!(loser.error_name(), errors::CONVERSATION_CONFLICT);

    // The state machine retries the loser's turn; it reloads and appends after the winner.
    let retry_handler = if ra.is_err() { &a } else { &b };
    // The retry is alone now: let its gate pass with a partner.
    let partner = gate.clone();
    let (retried, _) = tokio::join!(retry_handler.handle(loser_request), partner.wait());
    retried.expect("retry succeeds");

    let turns = store.load("shared-conversation").await.expect("load");
    assert_eq!(turns.iter().map(|t| t.turn).collect::<Vec<_>>(), [1, 2]);
    let mut questions: Vec<_> = turns.iter().map(|t| t.messages[0].text()).collect();
    questions.sort();
    assert_eq!(questions, ["question a", "question b"]);
    // The retried turn was answered with the winner's turn in its history.
    assert_eq!(turns[1].messages.len(), 2);
}
