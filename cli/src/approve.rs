//! `sfn-agent approve TOKEN`, `deny TOKEN [--reason]`, `answer TOKEN TEXT` and `approvals`: a
//! person's reply to a deployed agent's request, sent as the service expects it
//! (SendTaskSuccess, or SendTaskFailure with `Approval.Denied`), and the pending requests of an
//! SQS destination.

use std::process::ExitCode;

use agent_builder::people::APPROVAL_DENIED;
use anyhow::{Context, bail};
use aws_sdk_sfn::error::{DisplayErrorContext, SdkError};
use serde_json::{Value, json};

use crate::aws::AwsArgs;
use crate::out::outln;

/// The longest cause SendTaskFailure takes.
const MAX_CAUSE: usize = 32_768;

/// Approve a tool call that waits for approval.
#[derive(Debug, clap::Args)]
pub struct ApproveArgs {
    /// The task token of the request (in the request's `token`).
    pub token: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Deny a tool call that waits for approval; the model is told, with the reason.
#[derive(Debug, clap::Args)]
pub struct DenyArgs {
    /// The task token of the request.
    pub token: String,
    /// Why, for the model (and the user it will tell).
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Answer a question the agent's model asked the user.
#[derive(Debug, clap::Args)]
pub struct AnswerArgs {
    /// The task token of the question.
    pub token: String,
    /// The answer.
    pub text: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// List the requests waiting in an SQS destination (without taking them off the queue).
#[derive(Debug, clap::Args)]
pub struct ApprovalsArgs {
    /// The destination queue's URL (the construct's `RequestQueueUrl` output).
    #[arg(long)]
    pub queue_url: String,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// SendTaskSuccess with `{"approved": true}`.
pub async fn approve(args: ApproveArgs) -> anyhow::Result<ExitCode> {
    send_success(&args.aws, &args.token, json!({"approved": true})).await?;
    outln!("approved");
    Ok(ExitCode::SUCCESS)
}

/// SendTaskFailure with `Approval.Denied` and the reason as the cause.
pub async fn deny(args: DenyArgs) -> anyhow::Result<ExitCode> {
    check_token(&args.token)?;
    let reason = args.reason.unwrap_or_default();
    if reason.len() > MAX_CAUSE {
        bail!(
            "the reason is {} bytes long; the service takes at most {MAX_CAUSE}",
            reason.len()
        );
    }
    let sfn = args.aws.client_for("").await?;
    sfn.client
        .send_task_failure()
        .task_token(&args.token)
        .error(APPROVAL_DENIED)
        .cause(reason)
        .send()
        .await
        .map_err(|e| token_error(&args.token, e))?;
    outln!("denied");
    Ok(ExitCode::SUCCESS)
}

/// SendTaskSuccess with `{"answer": TEXT}`.
pub async fn answer(args: AnswerArgs) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        bail!("the answer is empty");
    }
    send_success(&args.aws, &args.token, json!({"answer": args.text})).await?;
    outln!("answered");
    Ok(ExitCode::SUCCESS)
}

async fn send_success(aws: &AwsArgs, token: &str, output: Value) -> anyhow::Result<()> {
    check_token(token)?;
    let sfn = aws.client_for("").await?;
    sfn.client
        .send_task_success()
        .task_token(token)
        .output(output.to_string())
        .send()
        .await
        .map_err(|e| token_error(token, e))?;
    Ok(())
}

/// A token the service would refuse for its length, refused before any call.
fn check_token(token: &str) -> anyhow::Result<()> {
    if token.is_empty() || token.len() > 1024 {
        bail!(
            "`{}` is not a task token (1 to 1024 characters: copy the request's `token`)",
            shorten(token)
        );
    }
    Ok(())
}

/// The service's refusal, said for a person: no such task (answered already, timed out, or never
/// issued), or the token is malformed.
fn token_error<E, R>(token: &str, error: SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + aws_sdk_sfn::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = error
        .as_service_error()
        .and_then(aws_sdk_sfn::error::ProvideErrorMetadata::code)
        .map(str::to_owned);
    match code.as_deref() {
        Some("TaskDoesNotExist") | Some("TaskTimedOut") => anyhow::anyhow!(
            "no request waits on the token `{}` ({}): it was answered already, timed out, or \
             never existed",
            shorten(token),
            code.unwrap_or_default()
        ),
        Some("InvalidToken") => anyhow::anyhow!(
            "`{}` is not a task token the service knows (InvalidToken): copy the request's `token` whole",
            shorten(token)
        ),
        _ => anyhow::anyhow!("{}", DisplayErrorContext(&error)),
    }
}

fn shorten(token: &str) -> String {
    if token.chars().count() <= 40 {
        token.to_owned()
    } else {
        format!("{}…", token.chars().take(40).collect::<String>())
    }
}

/// Peeks at the queue (visibility timeout 0: the messages stay for whoever handles them) and
/// prints each pending request: its token, then its summary.
pub async fn approvals(args: ApprovalsArgs) -> anyhow::Result<ExitCode> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &args.aws.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.aws.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let sqs = aws_sdk_sqs::Client::new(&loader.load().await);
    let received = sqs
        .receive_message()
        .queue_url(&args.queue_url)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .wait_time_seconds(0)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sqs::error::DisplayErrorContext(&e)))
        .with_context(|| format!("cannot read the queue {}", args.queue_url))?;
    let mut shown = 0;
    for message in received.messages() {
        let Some(body) = message.body() else { continue };
        let Ok(request) = serde_json::from_str::<Value>(body) else {
            eprintln!(
                "note: a message that is not an sfn-agent request: {}",
                shorten(body)
            );
            continue;
        };
        let (Some(token), Some(summary)) = (request["token"].as_str(), request["summary"].as_str())
        else {
            continue;
        };
        outln!(
            "{token}\t{}\t{summary}",
            request["kind"].as_str().unwrap_or("approval")
        );
        shown += 1;
    }
    if shown == 0 {
        eprintln!("no pending requests in {}", args.queue_url);
    }
    Ok(ExitCode::SUCCESS)
}
