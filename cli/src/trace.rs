//! One execution-history event as one readable line, for `run --trace` and `history`.
//!
//! Events come in GetExecutionHistory's JSON shape (`type`, `id`, `previousEventId`,
//! `timestamp`, and one `…EventDetails` object), whether `sfn-local` wrote them or AWS did
//! (`history` converts the SDK's events to that shape first), so local and deployed runs read
//! the same.

use serde_json::{Map, Value};

/// The longest an input, output or cause is shown before it is cut with `…`.
const MAX_VALUE_CHARS: usize = 160;

/// Formats one event as `  12 10:41:07.310 TaskSucceeded         lambda:invoke output {...}`.
///
/// Returns `None` for a value that is not an event (no `type`). The timestamp may be an ISO 8601
/// string (`sfn-local`, `history`) or epoch seconds (the raw API's JSON).
pub fn format_event(event: &Value) -> Option<String> {
    let kind = event.get("type")?.as_str()?;
    let id = event.get("id").and_then(Value::as_i64).unwrap_or(0);
    let time = event.get("timestamp").map(clock_time).unwrap_or_default();
    let detail = details(event)
        .map(|d| describe(kind, d))
        .unwrap_or_default();
    let line = format!("{id:>4} {time:<12} {kind:<26} {detail}");
    Some(line.trim_end().to_owned())
}

/// The event's `…EventDetails` object, whatever its name.
pub(crate) fn details(event: &Value) -> Option<&Map<String, Value>> {
    event
        .as_object()?
        .iter()
        .find(|(key, _)| key.ends_with("EventDetails"))
        .and_then(|(_, value)| value.as_object())
}

fn describe(kind: &str, d: &Map<String, Value>) -> String {
    let text = |key: &str| d.get(key).and_then(Value::as_str).unwrap_or_default();
    let resource = match (d.get("resourceType"), d.get("resource")) {
        (Some(Value::String(t)), Some(Value::String(r))) => format!("{t}:{r}"),
        _ => String::new(),
    };
    let failure = || {
        let error = text("error");
        let cause = text("cause");
        match (error.is_empty(), cause.is_empty()) {
            (false, false) => format!("{error}: {}", short(cause)),
            (false, true) => error.to_owned(),
            (true, false) => short(cause),
            (true, true) => String::new(),
        }
    };
    let parts: Vec<String> = if kind.ends_with("StateEntered") {
        vec![quoted(text("name")), labelled("input", text("input"))]
    } else if kind.ends_with("StateExited") {
        vec![quoted(text("name")), labelled("output", text("output"))]
    } else if kind.ends_with("Scheduled") {
        // The Lambda the task calls: a task's `parameters`, or a legacy Lambda event's `resource`.
        let target = d
            .get("parameters")
            .and_then(Value::as_str)
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .and_then(|p| {
                p.get("FunctionName")
                    .and_then(Value::as_str)
                    .map(function_name)
            })
            .or_else(|| {
                (resource.is_empty() && !text("resource").is_empty())
                    .then(|| function_name(text("resource")))
            })
            .unwrap_or_default();
        vec![resource, target]
    } else if kind.ends_with("Succeeded") && d.contains_key("output") {
        vec![resource, labelled("output", text("output"))]
    } else if kind.ends_with("Failed") || kind.ends_with("TimedOut") || kind.ends_with("Aborted") {
        vec![resource, failure()]
    } else if kind == "ExecutionStarted" {
        vec![labelled("input", text("input"))]
    } else if kind == "MapStateStarted" {
        let n = d.get("length").and_then(Value::as_u64).unwrap_or(0);
        vec![format!("{n} item{}", if n == 1 { "" } else { "s" })]
    } else if kind.starts_with("MapIteration") {
        let index = d.get("index").and_then(Value::as_u64).unwrap_or(0);
        vec![quoted(text("name")), format!("[{index}]")]
    } else if !resource.is_empty() {
        vec![resource]
    } else {
        vec![short(&Value::Object(d.clone()).to_string())]
    };
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `arn:aws:lambda:us-east-1:123:function:SfnAgent-LlmAnthropic-ABC` → `SfnAgent-LlmAnthropic-ABC`.
fn function_name(name: &str) -> String {
    match name.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_owned(),
        None => name.to_owned(),
    }
}

fn quoted(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!("\"{name}\"")
    }
}

fn labelled(label: &str, value: &str) -> String {
    if value.is_empty() {
        String::new()
    } else {
        format!("{label} {}", short(value))
    }
}

/// One line, at most [`MAX_VALUE_CHARS`] characters.
fn short(value: &str) -> String {
    let flat: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= MAX_VALUE_CHARS {
        flat
    } else {
        let cut: String = flat.chars().take(MAX_VALUE_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// `HH:MM:SS.mmm` from an ISO 8601 string or epoch seconds, in UTC.
fn clock_time(timestamp: &Value) -> String {
    match timestamp {
        Value::String(s) => {
            let time = s.split_once('T').map_or(s.as_str(), |(_, time)| time);
            let time = time.split(['Z', '+']).next().unwrap_or(time);
            let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
            let millis: String = fraction
                .chars()
                .chain(std::iter::repeat('0'))
                .take(3)
                .collect();
            format!("{hms}.{millis}")
        }
        Value::Number(n) => match n.as_f64() {
            Some(secs) if secs.is_finite() && secs >= 0.0 => {
                let millis = (secs * 1000.0).round() as u64;
                let day_ms = millis % 86_400_000;
                format!(
                    "{:02}:{:02}:{:02}.{:03}",
                    day_ms / 3_600_000,
                    day_ms / 60_000 % 60,
                    day_ms / 1000 % 60,
                    day_ms % 1000
                )
            }
            _ => n.to_string(),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Shapes from the Step Functions API reference, GetExecutionHistory and HistoryEvent:
    // https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html

    #[test]
    fn execution_started_shows_the_input() {
        let line = format_event(&json!({
            "timestamp": "2026-11-21T10:41:07.310Z",
            "type": "ExecutionStarted",
            "id": 1,
            "previousEventId": 0,
            "executionStartedEventDetails": {
                "input": "{\"question\":\"Weather in Paris?\"}",
                "roleArn": "arn:aws:iam::123456789012:role/r"
            }
        }));
        assert_eq!(
            line.as_deref(),
            Some(
                "   1 10:41:07.310 ExecutionStarted           input {\"question\":\"Weather in Paris?\"}"
            )
        );
    }

    #[test]
    fn state_entered_names_the_state() {
        let line = format_event(&json!({
            "timestamp": 1_700_000_000.5,
            "type": "TaskStateEntered",
            "id": 5,
            "previousEventId": 4,
            "stateEnteredEventDetails": {"name": "Call LLM", "input": "{}"}
        }))
        .unwrap_or_default();
        assert_eq!(
            line,
            "   5 22:13:20.500 TaskStateEntered           \"Call LLM\" input {}"
        );
    }

    #[test]
    fn task_scheduled_names_the_lambda_from_its_parameters() {
        let line = format_event(&json!({
            "timestamp": "2026-11-21T10:41:07.400Z",
            "type": "TaskScheduled",
            "id": 6,
            "previousEventId": 5,
            "taskScheduledEventDetails": {
                "resourceType": "lambda",
                "resource": "invoke",
                "region": "us-east-1",
                "parameters": "{\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:SfnAgent-LlmAnthropic-X1\",\"Payload\":{}}",
                "timeoutInSeconds": 330
            }
        }))
        .unwrap_or_default();
        assert!(
            line.ends_with("TaskScheduled              lambda:invoke SfnAgent-LlmAnthropic-X1"),
            "{line}"
        );
    }

    #[test]
    fn failures_show_error_and_cause() {
        let line = format_event(&json!({
            "timestamp": "2026-11-21T10:41:09.000Z",
            "type": "ExecutionFailed",
            "id": 9,
            "previousEventId": 8,
            "executionFailedEventDetails": {"error": "Agent.MaxIterations", "cause": "used all 8 iterations"}
        }))
        .unwrap_or_default();
        assert!(
            line.ends_with("ExecutionFailed            Agent.MaxIterations: used all 8 iterations"),
            "{line}"
        );
    }

    #[test]
    fn map_events_show_length_and_index() {
        let started = format_event(&json!({
            "timestamp": "2026-11-21T10:41:08.000Z", "type": "MapStateStarted", "id": 10,
            "mapStateStartedEventDetails": {"length": 2}
        }))
        .unwrap_or_default();
        assert!(
            started.ends_with("MapStateStarted            2 items"),
            "{started}"
        );
        let iteration = format_event(&json!({
            "timestamp": "2026-11-21T10:41:08.000Z", "type": "MapIterationStarted", "id": 11,
            "mapIterationStartedEventDetails": {"name": "Run tools", "index": 1}
        }))
        .unwrap_or_default();
        assert!(
            iteration.ends_with("MapIterationStarted        \"Run tools\" [1]"),
            "{iteration}"
        );
    }

    #[test]
    fn events_without_details_show_only_their_type() {
        let line = format_event(&json!({
            "timestamp": "2026-11-21T10:41:08.000Z", "type": "MapStateSucceeded", "id": 14, "previousEventId": 13
        }));
        assert_eq!(line.as_deref(), Some("  14 10:41:08.000 MapStateSucceeded"));
    }

    #[test]
    fn long_values_are_cut_to_one_line() {
        let long = format!("{{\"text\":\"{}\n{}\"}}", "a".repeat(200), "b");
        let line = format_event(&json!({
            "timestamp": "2026-11-21T10:41:08.000Z", "type": "TaskSucceeded", "id": 7,
            "taskSucceededEventDetails": {"resourceType": "lambda", "resource": "invoke", "output": long}
        }))
        .unwrap_or_default();
        assert!(line.ends_with('…'), "{line}");
        assert!(!line.contains('\n'));
        assert!(line.contains("lambda:invoke output {\"text\":\"aaa"));
    }

    #[test]
    fn timestamps_show_milliseconds_whatever_their_precision() {
        for (stamp, shown) in [
            ("2020-01-01T00:00:10Z", "00:00:10.000"),
            ("2020-01-01T00:00:10.5Z", "00:00:10.500"),
            ("2020-01-01T00:00:10.123456+00:00", "00:00:10.123"),
        ] {
            assert_eq!(clock_time(&json!(stamp)), shown);
        }
    }

    #[test]
    fn a_value_without_a_type_is_not_an_event() {
        assert_eq!(format_event(&json!({"id": 1})), None);
        assert_eq!(format_event(&json!("TaskScheduled")), None);
    }
}
