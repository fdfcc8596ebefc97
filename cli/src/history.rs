//! `sfn-agent history <execution-arn>`: a deployed execution's events, one line each, the way
//! `run --trace` prints a local run's.

use std::process::ExitCode;

use crate::aws::{self, AwsArgs};
use crate::out::outln;
use crate::trace;

/// Print the events of an execution on AWS.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The execution's ARN (`invoke` prints it).
    pub execution_arn: String,
    /// Print each event as GetExecutionHistory JSON, one per line, instead of a readable line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Fetches every event (all pages) and prints them oldest first.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.execution_arn.starts_with("arn:") && args.execution_arn.contains(":express:") {
        anyhow::bail!(
            "`{}` is an Express execution: Step Functions keeps no history for those; read its \
             events in the state machine's CloudWatch Logs group",
            args.execution_arn
        );
    }
    if !args.execution_arn.starts_with("arn:") || !args.execution_arn.contains(":execution:") {
        anyhow::bail!(
            "`{}` is not an execution ARN; it looks like arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME \
             (`sfn-agent invoke` prints it, and the console shows it on the execution's page)",
            args.execution_arn
        );
    }
    let sfn = args.aws.client_for(&args.execution_arn).await?;
    let events = aws::execution_history(&sfn.client, &args.execution_arn).await?;
    for event in &events {
        if args.json {
            outln!("{event}");
        } else if let Some(line) = trace::format_event(event) {
            outln!("{line}");
        }
    }
    eprintln!("{}", aws::console_link(&sfn.region, &args.execution_arn));
    Ok(ExitCode::SUCCESS)
}
