//! The states that call nothing: Pass, Succeed, Fail, Choice and Wait.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use super::{Outcome, Run};
use crate::choice;
use crate::compile::{Node, Rule, RuleCondition};
use crate::errors::Failure;
use crate::pipeline::{Eval, Field, Io, Produced, not_a_string, plain};

/// A Pass state: its `Result`, its `Parameters` or its input, through its pipeline. It waits
/// for nothing: it exits at the moment it entered.
pub(super) fn pass(
    io: &Io,
    result: &Option<Value>,
    next: Option<usize>,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
) -> Result<Outcome, Failure> {
    let effective = io.input(ev, raw)?;
    let produced = match result {
        Some(r) => Arc::new(r.clone()),
        None => io.parameters(ev, raw, effective.clone())?,
    };
    let (output, assigned) = io.output(ev, raw, effective, Produced::Pass(produced), &|_| {})?;
    Ok(Outcome {
        output,
        next,
        assigned,
        at_once: true,
    })
}

/// A Succeed state: its input through its pipeline, and the end of its scope.
pub(super) fn succeed(io: &Io, raw: &Arc<Value>, ev: &Eval<'_>) -> Result<Outcome, Failure> {
    let effective = io.input(ev, raw)?;
    let (output, assigned) = io.output(ev, raw, effective, Produced::Nothing, &|_| {})?;
    Ok(Outcome {
        output,
        next: None,
        assigned,
        at_once: true,
    })
}

/// A Fail state: fails with its `Error` and `Cause` (literals, paths, intrinsics or JSONata).
pub(super) fn fail(
    error: &Field,
    cause: &Field,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
) -> Result<Outcome, Failure> {
    let states = ev.states(raw, None, None);
    let text = |field: &Field, name: &str| -> Result<String, Failure> {
        match field.evaluate(ev, raw, &states, name)? {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s),
            Some(other) => match field {
                Field::Path(_) => Err(Failure::runtime(format!(
                    "The value of '{name}Path' must be a string, found {other}"
                ))),
                _ => Err(not_a_string(name, &other)),
            },
        }
    };
    Err(Failure::new(text(error, "Error")?, text(cause, "Cause")?))
}

/// A Choice state: the first rule that matches (or `Default`) gives the next state and the
/// pipeline of the output. It waits for nothing.
pub(super) fn choice(
    rules: &[Rule],
    default: &Option<(usize, Io)>,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
) -> Result<Outcome, Failure> {
    let states = ev.states(raw, None, None);
    // Every rule of a state has the state's InputPath: the first one's serves them all.
    let effective = match (rules.first(), default) {
        (Some(rule), _) => rule.io.input(ev, raw)?,
        (None, Some((_, io))) => io.input(ev, raw)?,
        (None, None) => raw.clone(),
    };
    let mut chosen = None;
    for rule in rules {
        let matched = match &rule.condition {
            RuleCondition::JsonPath(condition) => {
                ev.with_roots(&effective, |roots| condition.matches(roots))?
            }
            RuleCondition::Jsonata(condition) => match ev.jsonata(condition, &states)? {
                Value::Bool(b) => b,
                other => {
                    return Err(Failure::query(format!(
                        "The Condition '{}' must evaluate to a boolean, found {other}",
                        condition_text(condition)
                    )));
                }
            },
        };
        if matched {
            chosen = Some((rule.next, &rule.io));
            break;
        }
    }
    let Some((next, io)) = chosen.or(default.as_ref().map(|(next, io)| (*next, io))) else {
        // The service reports States.Runtime here, not States.NoChoiceMatched.
        return Err(Failure::runtime(
            "Failed to transition out of the state. The state does not point to a next state.",
        ));
    };
    let (output, assigned) = io.output(ev, raw, effective, Produced::Nothing, &|_| {})?;
    Ok(Outcome {
        output,
        next: Some(next),
        assigned,
        at_once: true,
    })
}

/// The text of a JSONata Choice condition, for its error.
fn condition_text(condition: &crate::jsonata::Template) -> String {
    match condition {
        crate::jsonata::Template::Expr(_, e) => e.text().to_owned(),
        crate::jsonata::Template::Literal(v) => crate::history::text(v),
        _ => String::new(),
    }
}

/// A Wait state: waits its `Seconds` or until its `Timestamp` (by the engine's clock), then
/// passes its input through its pipeline.
#[allow(clippy::too_many_arguments)]
pub(super) async fn wait(
    run: &Run,
    node: &Node,
    io: &Io,
    seconds: &Field,
    timestamp: &Field,
    next: Option<usize>,
    raw: &Arc<Value>,
    ev: &Eval<'_>,
) -> Result<Outcome, Failure> {
    let states = ev.states(raw, None, None);
    let effective = io.input(ev, raw)?;
    let delay = if let Some((path, selected)) = seconds.select_path(ev, &effective)? {
        Duration::from_secs(seconds_from_path(path, selected)?.min(1_000_000_000))
    } else if let Some(s) = seconds.number(ev, io, &effective, &states, "Seconds")? {
        if s < 0.0 {
            return Err(Failure::runtime(format!(
                "The Wait state '{}' got a negative number of seconds: {s}",
                node.name
            )));
        }
        Duration::from_secs_f64(s.min(1.0e9))
    } else {
        let until = if let Some((path, selected)) = timestamp.select_path(ev, &effective)? {
            let Some(stamp) = selected else {
                return Err(Failure::runtime(format!(
                    "The TimestampPath parameter does not reference an input value: {path}"
                )));
            };
            stamp.as_str().and_then(choice::timestamp).ok_or_else(|| {
                Failure::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {path} == {}",
                    plain(&stamp)
                ))
            })?
        } else {
            let Some(stamp) = timestamp.evaluate(ev, &effective, &states, "Timestamp")? else {
                return Err(Failure::runtime(format!(
                    "The Wait state '{}' needs Seconds, Timestamp, SecondsPath or TimestampPath",
                    node.name
                )));
            };
            stamp.as_str().and_then(choice::timestamp).ok_or_else(|| {
                io.type_error(format!(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: {}",
                    plain(&stamp)
                ))
            })?
        };
        let remaining = until.with_timezone(&Utc) - run.clock.now();
        remaining.to_std().unwrap_or_default()
    };
    if !delay.is_zero() {
        run.sleep(delay).await?;
    }
    let (output, assigned) = io.output(ev, raw, effective, Produced::Nothing, &|_| {})?;
    Ok(Outcome {
        output,
        next,
        assigned,
        at_once: false,
    })
}

/// `SecondsPath` must select a non-negative integer; anything else is `States.Runtime`, worded
/// as the service words it (recorded in localstack's `test_wait` and `test_logs` snapshots).
fn seconds_from_path(path: &str, selected: Option<Value>) -> Result<u64, Failure> {
    let Some(value) = selected else {
        return Err(Failure::runtime(format!(
            "The SecondsPath parameter does not reference an input value: {path}"
        )));
    };
    if let Value::Number(n) = &value {
        if let Some(seconds) = n.as_u64() {
            return Ok(seconds);
        }
        if n.is_i64() {
            return Err(Failure::runtime(format!(
                "The SecondsPath parameter references a negative value: {path} == {n}"
            )));
        }
    }
    Err(Failure::runtime(format!(
        "The SecondsPath parameter cannot be parsed as a long value: {path} == {}",
        plain(&value)
    )))
}
