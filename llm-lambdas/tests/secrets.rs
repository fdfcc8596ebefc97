//! API keys from Secrets Manager on loopback (moto's server, started by
//! `scripts/local-aws.sh`; the tests read `SFN_AGENT_TEST_AWS_ENDPOINT`).

mod handler_support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_builder::Provider;
use handler_support::{aws_endpoint, local_aws_config, unique};
use llm_lambdas::secrets::{ApiKey, ApiKeys, SecretSource, SecretsError, SecretsManagerSource};

/// Counts the `GetSecretValue` calls that reach the real source.
struct Counting {
    inner: SecretsManagerSource,
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl SecretSource for Counting {
    async fn secret_string(&self, secret_id: &str) -> Result<String, SecretsError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.secret_string(secret_id).await
    }
}

async fn client(test: &str) -> Option<aws_sdk_secretsmanager::Client> {
    let endpoint = aws_endpoint(test)?;
    Some(aws_sdk_secretsmanager::Client::new(
        &local_aws_config(&endpoint).await,
    ))
}

#[tokio::test]
async fn keys_are_read_once_and_cached_and_the_environment_overrides() {
    let Some(client) = client("keys_are_read_once_and_cached_and_the_environment_overrides").await
    else {
        return;
    };
    let name = unique("sfn-agent/api-keys");
    let created = client
        .create_secret()
        .name(&name)
        .secret_string(
            r#"{"anthropic": "sk-ant-test-1", "openai": "sk-openai-test-2", "gemini": "gem-3"}"#,
        )
        .send()
        .await
        .expect("create secret");
    let arn = created.arn.expect("arn");

    let source = Arc::new(Counting {
        inner: SecretsManagerSource::with_client(client.clone()),
        calls: AtomicUsize::new(0),
    });
    let keys = ApiKeys::new(
        Some(arn.clone()),
        source.clone(),
        HashMap::from([(Provider::Gemini, ApiKey::new("gem-from-env"))]),
    );
    let anthropic = keys.get(Provider::Anthropic).await.expect("anthropic");
    let openai = keys.get(Provider::OpenAi).await.expect("openai");
    let again = keys
        .get(Provider::Anthropic)
        .await
        .expect("anthropic again");
    assert_eq!(anthropic.expose(), "sk-ant-test-1");
    assert_eq!(openai.expose(), "sk-openai-test-2");
    assert_eq!(again, anthropic);
    assert_eq!(
        source.calls.load(Ordering::SeqCst),
        1,
        "one GetSecretValue for three reads"
    );

    // The environment variable wins over the secret, without reading it.
    assert_eq!(
        keys.get(Provider::Gemini).await.expect("gemini").expose(),
        "gem-from-env"
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);

    // The secret changes in Secrets Manager; a warm Lambda keeps its cached keys.
    client
        .put_secret_value()
        .secret_id(&arn)
        .secret_string(r#"{"anthropic": "sk-ant-rotated"}"#)
        .send()
        .await
        .expect("rotate");
    assert_eq!(
        keys.get(Provider::Anthropic)
            .await
            .expect("cached")
            .expose(),
        "sk-ant-test-1"
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn errors_name_the_secret_and_key_but_never_the_value() {
    let Some(client) = client("errors_name_the_secret_and_key_but_never_the_value").await else {
        return;
    };
    let name = unique("sfn-agent/partial");
    client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"anthropic": "sk-ant-only-this-one"}"#)
        .send()
        .await
        .expect("create secret");
    let keys = ApiKeys::new(
        Some(name.clone()),
        Arc::new(SecretsManagerSource::with_client(client.clone())),
        HashMap::new(),
    );
    let err = keys.get(Provider::Gemini).await.expect_err("no gemini key");
    let text = err.to_string();
    assert!(
        text.contains(&name) && text.contains("`gemini`") && text.contains("GEMINI_API_KEY"),
        "{text}"
    );
    assert!(!text.contains("sk-ant-only-this-one"), "{text}");

    let missing = ApiKeys::new(
        Some("no-such-secret".into()),
        Arc::new(SecretsManagerSource::with_client(client)),
        HashMap::new(),
    );
    let err = missing
        .get(Provider::Anthropic)
        .await
        .expect_err("no secret");
    assert!(matches!(err, SecretsError::Unreadable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no-such-secret") && text.contains("ResourceNotFoundException"),
        "{text}"
    );
    let llm: llm_lambdas::LlmError = err.into();
    assert_eq!(llm.error_name(), "LLM.AuthFailed");
}
