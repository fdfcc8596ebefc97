//! What `invoke` and `history` share: the Step Functions client from the usual AWS
//! configuration, the state machine ARN from the stack's outputs, the console link, and the SDK's
//! history events in GetExecutionHistory's JSON shape (the shape [`crate::trace`] formats).

use std::path::Path;

use anyhow::{Context, bail};
use aws_config::{BehaviorVersion, Region};
use aws_sdk_sfn::Client;
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use aws_sdk_sfn::types::HistoryEvent;
use serde_json::{Map, Value, json};

/// Where the state machine ARN comes from when `--state-machine-arn` is not given.
pub const STATE_MACHINE_ARN_ENV: &str = "SFN_AGENT_STATE_MACHINE_ARN";

/// The AWS options every AWS subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// The AWS region; default: the ARN's region, then the usual configuration (AWS_REGION, the profile).
    #[arg(long)]
    pub region: Option<String>,
    /// The AWS profile; default: AWS_PROFILE, or the default profile.
    #[arg(long)]
    pub profile: Option<String>,
    /// Call this Step Functions endpoint instead of AWS's (a local `sfn-agent serve`, say);
    /// default: AWS_ENDPOINT_URL_SFN, then AWS_ENDPOINT_URL, then AWS.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
}

/// A Step Functions client and the region it talks to.
pub struct Sfn {
    /// The client. Honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_SFN) for local servers.
    pub client: Client,
    /// The region, for console links.
    pub region: String,
}

impl AwsArgs {
    /// Loads the AWS configuration the way the AWS CLI does, with these overrides. Without
    /// `--region`, the region of `arn` wins over the configured one: the resource lives there.
    pub async fn client_for(&self, arn: &str) -> anyhow::Result<Sfn> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = self.region.clone().or_else(|| region_of(arn)) {
            loader = loader.region(Region::new(region));
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            bail!("no AWS region: pass --region, set AWS_REGION, or configure one in your profile");
        };
        let config = aws_sdk_sfn::config::Builder::from(&config)
            .interceptor(LocalHostPrefix)
            .build();
        Ok(Sfn {
            client: Client::from_conf(config),
            region,
        })
    }
}

/// StartSyncExecution and TestState are sent to the host `sync-<endpoint's host>`, which does
/// not resolve for a local endpoint (`sync-127.0.0.1`, `sync-localhost`): for those hosts the
/// prefix is taken off again, so `invoke` of an Express agent reaches `sfn-agent serve`.
#[derive(Debug)]
struct LocalHostPrefix;

impl aws_sdk_sfn::config::Intercept for LocalHostPrefix {
    fn name(&self) -> &'static str {
        "LocalHostPrefix"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_sfn::config::RuntimeComponents,
        _cfg: &mut aws_sdk_sfn::config::ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let request = context.request_mut();
        if let Some(uri) = without_local_prefix(request.uri()) {
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// `http://sync-127.0.0.1:8083/` → `http://127.0.0.1:8083/`; `None` for any other URI.
fn without_local_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let rest = rest.strip_prefix("sync-")?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    let local = host == "localhost" || host.parse::<std::net::Ipv4Addr>().is_ok();
    local.then(|| format!("{scheme}://{rest}"))
}

/// The region field of an ARN (`arn:aws:states:eu-west-1:…` → `eu-west-1`), if it has one.
pub fn region_of(arn: &str) -> Option<String> {
    let mut fields = arn.split(':');
    match (fields.next(), fields.nth(2)) {
        (Some("arn"), Some(region)) if !region.is_empty() => Some(region.to_owned()),
        _ => None,
    }
}

/// The Step Functions console page of one execution.
pub fn console_link(region: &str, execution_arn: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

/// The CloudFormation output that holds an agent's state machine ARN: `weather` →
/// `StateMachineArnWeather`, `quick-math` → `StateMachineArnQuickMath` (as the construct names
/// it; inside a team's stack CDK puts the construct's path before it and a hash after it).
pub fn output_key(agent: &str) -> String {
    let pascal = agent_builder::manifest::pascal_case(agent);
    format!("StateMachineArn{pascal}")
}

/// Finds an agent's state machine ARN in the file `cdk deploy --outputs-file` writes:
/// `{"<stack>": {"StateMachineArnWeather": "arn:…", …}}`.
pub fn arn_from_outputs(path: &Path, agent: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the stack outputs {}: deploy with `npx cdk deploy --outputs-file outputs.json` \
             in cdk/, or pass --state-machine-arn, or set {STATE_MACHINE_ARN_ENV}",
            path.display()
        )
    })?;
    let outputs: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let key = output_key(agent);
    let stacks = outputs.as_object().into_iter().flat_map(|o| o.values());
    let found: Vec<&str> = stacks
        .filter_map(Value::as_object)
        .flat_map(|stack| stack.iter())
        .filter(|(name, _)| names_output(name, &key))
        .filter_map(|(_, arn)| arn.as_str())
        .collect();
    match found.as_slice() {
        [arn] => Ok((*arn).to_owned()),
        [] => {
            let known: Vec<String> = outputs
                .as_object()
                .into_iter()
                .flat_map(|o| o.values())
                .filter_map(Value::as_object)
                .flat_map(|stack| stack.keys())
                .filter_map(|k| k.split_once("StateMachineArn").map(|(_, rest)| rest))
                .map(|rest| strip_hash(rest).to_owned())
                .collect();
            bail!(
                "no output {key} in {}: is \"{agent}\" deployed? The outputs name these agents: {}",
                path.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        }
        _ => bail!(
            "{} has {key} in more than one stack: pass --state-machine-arn",
            path.display()
        ),
    }
}

/// Whether the output `name` is `key`, as the construct names it at a stack's top level
/// (`StateMachineArnWeather`) or inside another construct (`AgentsStateMachineArnWeather1A2B3C4D`:
/// the construct's path before it, CDK's 8-digit hash after it).
fn names_output(name: &str, key: &str) -> bool {
    name.strip_suffix(key).is_some()
        || name
            .find(key)
            .is_some_and(|at| is_cdk_hash(&name[at + key.len()..]))
}

/// The 8 upper-case hex digits CDK appends to a nested construct's logical id.
fn is_cdk_hash(text: &str) -> bool {
    text.len() == 8
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

/// `Weather1A2B3C4D` → `Weather`.
fn strip_hash(text: &str) -> &str {
    match text.len().checked_sub(8) {
        Some(at) if text.is_char_boundary(at) && is_cdk_hash(&text[at..]) => &text[..at],
        _ => text,
    }
}

/// Every event of an execution, oldest first, in GetExecutionHistory's JSON shape.
pub async fn execution_history(client: &Client, execution_arn: &str) -> anyhow::Result<Vec<Value>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .with_context(|| format!("GetExecutionHistory for {execution_arn}"))?;
        events.extend(page.events().iter().map(event_json));
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(events),
        }
    }
}

/// An ISO 8601 timestamp, as GetExecutionHistory's JSON shape shows it in `sfn-local`.
pub fn iso(time: &DateTime) -> Value {
    time.fmt(DateTimeFormat::DateTime)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

/// One SDK event in GetExecutionHistory's JSON shape: `timestamp`, `type`, `id`,
/// `previousEventId` and the `…EventDetails` the agent's states produce.
pub fn event_json(event: &HistoryEvent) -> Value {
    let mut map = Map::new();
    map.insert("timestamp".into(), iso(event.timestamp()));
    map.insert("type".into(), json!(event.r#type().as_str()));
    map.insert("id".into(), json!(event.id()));
    map.insert("previousEventId".into(), json!(event.previous_event_id()));
    if let Some((key, details)) = details(event) {
        map.insert(key.into(), Value::Object(details));
    }
    Value::Object(map)
}

fn details(e: &HistoryEvent) -> Option<(&'static str, Map<String, Value>)> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    let key = if let Some(d) = e.execution_started_event_details() {
        put("input", d.input());
        put("roleArn", d.role_arn());
        "executionStartedEventDetails"
    } else if let Some(d) = e.execution_succeeded_event_details() {
        put("output", d.output());
        "executionSucceededEventDetails"
    } else if let Some(d) = e.execution_failed_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        "executionFailedEventDetails"
    } else if let Some(d) = e.execution_aborted_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        "executionAbortedEventDetails"
    } else if let Some(d) = e.execution_timed_out_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        "executionTimedOutEventDetails"
    } else if let Some(d) = e.state_entered_event_details() {
        put("name", Some(d.name()));
        put("input", d.input());
        "stateEnteredEventDetails"
    } else if let Some(d) = e.state_exited_event_details() {
        put("name", Some(d.name()));
        put("output", d.output());
        "stateExitedEventDetails"
    } else if let Some(d) = e.task_scheduled_event_details() {
        put("resourceType", Some(d.resource_type()));
        put("resource", Some(d.resource()));
        put("region", Some(d.region()));
        put("parameters", Some(d.parameters()));
        "taskScheduledEventDetails"
    } else if let Some(d) = e.task_started_event_details() {
        put("resourceType", Some(d.resource_type()));
        put("resource", Some(d.resource()));
        "taskStartedEventDetails"
    } else if let Some(d) = e.task_succeeded_event_details() {
        put("resourceType", Some(d.resource_type()));
        put("resource", Some(d.resource()));
        put("output", d.output());
        "taskSucceededEventDetails"
    } else if let Some(d) = e.task_failed_event_details() {
        put("resourceType", Some(d.resource_type()));
        put("resource", Some(d.resource()));
        put("error", d.error());
        put("cause", d.cause());
        "taskFailedEventDetails"
    } else if let Some(d) = e.task_timed_out_event_details() {
        put("resourceType", Some(d.resource_type()));
        put("resource", Some(d.resource()));
        put("error", d.error());
        put("cause", d.cause());
        "taskTimedOutEventDetails"
    } else if let Some(d) = e.lambda_function_scheduled_event_details() {
        put("resource", Some(d.resource()));
        put("input", d.input());
        "lambdaFunctionScheduledEventDetails"
    } else if let Some(d) = e.lambda_function_succeeded_event_details() {
        put("output", d.output());
        "lambdaFunctionSucceededEventDetails"
    } else if let Some(d) = e.lambda_function_failed_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        "lambdaFunctionFailedEventDetails"
    } else if let Some(d) = e.lambda_function_timed_out_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        "lambdaFunctionTimedOutEventDetails"
    } else if let Some(d) = e.map_state_started_event_details() {
        m.insert("length".into(), json!(d.length()));
        "mapStateStartedEventDetails"
    } else if let Some((key, d)) = e
        .map_iteration_started_event_details()
        .map(|d| ("mapIterationStartedEventDetails", d))
        .or_else(|| {
            e.map_iteration_succeeded_event_details()
                .map(|d| ("mapIterationSucceededEventDetails", d))
        })
        .or_else(|| {
            e.map_iteration_failed_event_details()
                .map(|d| ("mapIterationFailedEventDetails", d))
        })
        .or_else(|| {
            e.map_iteration_aborted_event_details()
                .map(|d| ("mapIterationAbortedEventDetails", d))
        })
    {
        put("name", d.name());
        m.insert("index".into(), json!(d.index()));
        key
    } else if let Some(d) = e.evaluation_failed_event_details() {
        put("error", d.error());
        put("cause", d.cause());
        put("state", Some(d.state()));
        "evaluationFailedEventDetails"
    } else {
        return None;
    };
    Some((key, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sync_prefix_comes_off_local_hosts_only() {
        assert_eq!(
            without_local_prefix("http://sync-127.0.0.1:8083/").as_deref(),
            Some("http://127.0.0.1:8083/")
        );
        assert_eq!(
            without_local_prefix("http://sync-localhost:8083/").as_deref(),
            Some("http://localhost:8083/")
        );
        assert_eq!(
            without_local_prefix("https://sync-states.us-east-1.amazonaws.com/"),
            None
        );
        assert_eq!(without_local_prefix("http://127.0.0.1:8083/"), None);
    }

    #[test]
    fn output_keys_follow_the_cdk_app() {
        assert_eq!(output_key("weather"), "StateMachineArnWeather");
        assert_eq!(output_key("quick-math"), "StateMachineArnQuickMath");
        assert_eq!(output_key("trip_planner"), "StateMachineArnTripPlanner");
    }

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(
            region_of("arn:aws:states:eu-west-1:123456789012:stateMachine:m").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of("arn:aws:iam::123456789012:role/r"), None);
        assert_eq!(region_of("not an arn"), None);
    }

    #[test]
    fn the_console_link_names_region_and_execution() {
        assert_eq!(
            console_link("eu-west-1", "arn:aws:states:eu-west-1:1:execution:m:e"),
            "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:eu-west-1:1:execution:m:e"
        );
    }

    #[test]
    fn arns_come_from_the_outputs_file() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("sfn-agent-outputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("outputs.json");
        std::fs::write(
            &file,
            r#"{"SfnAgent": {"StateMachineArnWeather": "arn:aws:states:us-east-1:1:stateMachine:w", "TriggerQueueUrl": "u"}}"#,
        )?;
        assert_eq!(
            arn_from_outputs(&file, "weather")?,
            "arn:aws:states:us-east-1:1:stateMachine:w"
        );
        let missing = arn_from_outputs(&file, "travel").map_err(|e| e.to_string());
        assert_eq!(
            missing,
            Err(format!(
                "no output StateMachineArnTravel in {}: is \"travel\" deployed? The outputs name these agents: Weather",
                file.display()
            ))
        );
        // Inside a team's stack: the construct's path before the key and CDK's hash after it.
        std::fs::write(
            &file,
            r#"{"Team": {"AgentsStateMachineArnWeatherBriefA1B2C3D4": "arn:b", "AgentsStateMachineArnWeather0F1E2D3C": "arn:w"}}"#,
        )?;
        assert_eq!(arn_from_outputs(&file, "weather")?, "arn:w");
        assert_eq!(arn_from_outputs(&file, "weather-brief")?, "arn:b");
        let missing = arn_from_outputs(&file, "travel").map_err(|e| e.to_string());
        assert!(
            missing
                .as_ref()
                .is_err_and(|e| e.ends_with("The outputs name these agents: WeatherBrief, Weather")),
            "{missing:?}"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn sdk_events_take_the_api_json_shape() -> anyhow::Result<()> {
        use aws_sdk_sfn::types::{HistoryEventType, StateEnteredEventDetails};
        let event = HistoryEvent::builder()
            .timestamp(DateTime::from_secs(1_700_000_000))
            .r#type(HistoryEventType::TaskStateEntered)
            .id(5)
            .previous_event_id(4)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name("Call LLM")
                    .input("{}")
                    .build()?,
            )
            .build()?;
        assert_eq!(
            event_json(&event),
            json!({
                "timestamp": "2023-11-14T22:13:20Z",
                "type": "TaskStateEntered",
                "id": 5,
                "previousEventId": 4,
                "stateEnteredEventDetails": {"name": "Call LLM", "input": "{}"}
            })
        );
        Ok(())
    }
}
