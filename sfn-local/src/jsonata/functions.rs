//! What Step Functions changes in JSONata's functions: the added `$partition`, `$range`,
//! `$hash`, `$random` with a seed, `$uuid` and `$parse`, `$eval` taken away, and
//! `$formatNumber` kept from looping on an infinite number.

use std::borrow::Cow;

use jsonata_core::evaluator::{Evaluator, EvaluatorError, HostFnResult};
use jsonata_core::value::JValue;
use serde_json::Value;

use super::bindings::to_jvalue;
use crate::literals::outside_literals;

/// The private function that lets only finite numbers reach `$formatNumber`.
const FINITE_FN: &str = "__sfn_finite";

/// `$formatNumber(x, …)` as `$formatNumber($__sfn_finite(x), …)`: the library's
/// `$formatNumber` of an infinite number with an exponent picture loops without end, inside
/// one step where its time limit is not checked (jsonata-js 2.0.6 never returns either), and
/// the service cannot hang; such a number fails with `D3001` instead.
pub(super) fn guard_format_number(expr: &str) -> Cow<'_, str> {
    const CALL: &str = "$formatNumber";
    if !expr.contains(CALL) {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 32);
    let mut rest = expr;
    while let Some(at) = rest.find(CALL) {
        let after = &rest[at + CALL.len()..];
        let Some(open) = after
            .find(|c: char| !c.is_whitespace())
            .filter(|&i| after[i..].starts_with('('))
        else {
            out.push_str(&rest[..at + CALL.len()]);
            rest = after;
            continue;
        };
        let arguments = &after[open + 1..];
        // The end of the first argument: a `,` or `)` outside brackets and strings.
        let (mut depth, mut end) = (0usize, arguments.len());
        for (i, c) in outside_literals(arguments, &['"', '\'', '`']) {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth > 0 => depth -= 1,
                ',' | ')' if depth == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        out.push_str(&rest[..at + CALL.len()]);
        out.push_str(&after[..open + 1]);
        out.push('$');
        out.push_str(FINITE_FN);
        out.push('(');
        out.push_str(&arguments[..end]);
        out.push(')');
        rest = &arguments[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Binds the functions Step Functions adds to JSONata, and takes `$eval` away, for an
/// expression that names them (binding them all on every evaluation costs more than most
/// expressions take to run).
pub(super) fn register_functions(
    evaluator: &mut Evaluator,
    expr: &str,
) -> Result<(), EvaluatorError> {
    let names = |name: &str| {
        expr.match_indices('$')
            .any(|(i, _)| expr[i + 1..].starts_with(name))
    };
    if names("partition") {
        evaluator.register_fn("partition", fn_partition)?;
    }
    if names("range") {
        evaluator.register_fn("range", fn_range)?;
    }
    if names("hash") {
        evaluator.register_fn("hash", fn_hash)?;
    }
    if names("uuid") {
        evaluator.register_fn("uuid", fn_uuid)?;
    }
    if names("parse") {
        evaluator.register_fn("parse", fn_parse)?;
    }
    if names(FINITE_FN) {
        evaluator.register_fn(FINITE_FN, |args: &[JValue]| -> HostFnResult {
            match args.first() {
                Some(JValue::Number(n)) if !n.is_finite() => Err(error(
                    "D3001",
                    "Attempting to invoke string function on Infinity or NaN",
                )),
                Some(value) => Ok(value.clone()),
                None => Ok(JValue::Undefined),
            }
        })?;
    }
    if names("random") {
        evaluator.register_fn_override("random", fn_random)?;
    }
    if names("eval") {
        evaluator.register_fn_override("eval", |_: &[JValue]| -> HostFnResult {
            Err(error(
                "T1006",
                "Attempted to invoke a non-function: $eval is not available in Step Functions (use $parse)",
            ))
        })?;
    }
    Ok(())
}

/// A JSONata error with its code, as the library's own messages start.
fn error(code: &str, message: impl std::fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("{code}: {message}"))
}

/// An error of one of the functions Step Functions adds.
fn custom_error(name: &str, message: impl std::fmt::Display) -> EvaluatorError {
    error("D3137", format!("${name}: {message}"))
}

/// `$partition(array, size)`: the array in chunks of `size`.
fn fn_partition(args: &[JValue]) -> HostFnResult {
    let (Some(JValue::Array(array)), Some(JValue::Number(size)), 2) =
        (args.first(), args.get(1), args.len())
    else {
        return Err(custom_error(
            "partition",
            "expects an array and a chunk size of at least 1",
        ));
    };
    if *size < 1.0 {
        return Err(custom_error(
            "partition",
            "expects an array and a chunk size of at least 1",
        ));
    }
    let chunks = array
        .chunks(*size as usize)
        .map(|chunk| JValue::array(chunk.to_vec()))
        .collect();
    Ok(JValue::array(chunks))
}

/// `$range(start, end, step)`: the numbers from `start` to `end` inclusive, by `step`, as a
/// sequence: one number alone is that number (recorded in localstack's `test_array_range`:
/// `$range(1, 9, 9)` is `1`).
fn fn_range(args: &[JValue]) -> HostFnResult {
    let nums: Vec<f64> = args.iter().filter_map(JValue::as_f64).collect();
    let (3, 3) = (nums.len(), args.len()) else {
        return Err(custom_error(
            "range",
            "expects (start, end, step), all numbers",
        ));
    };
    let (start, end, step) = (nums[0], nums[1], nums[2]);
    if step == 0.0 || !step.is_finite() {
        return Err(custom_error("range", "the step must not be 0"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0.0 && i <= end) || (step < 0.0 && i >= end) {
        if out.len() == 1000 {
            return Err(custom_error("range", "the range has more than 1000 items"));
        }
        out.push(JValue::Number(i));
        i += step;
    }
    Ok(JValue::sequence(out))
}

/// `$random([seed])`: a number in [0, 1); the same seed gives the same number.
fn fn_random(args: &[JValue]) -> HostFnResult {
    use rand::{Rng, SeedableRng};
    let value: f64 = match args.first().filter(|a| !a.is_undefined()) {
        None => rand::thread_rng().r#gen(),
        Some(JValue::Number(seed)) => {
            rand::rngs::StdRng::seed_from_u64(*seed as i64 as u64).r#gen()
        }
        Some(_) => return Err(custom_error("random", "the seed must be a number")),
    };
    Ok(JValue::Number(value))
}

/// `$uuid()`: a random (version 4) UUID.
fn fn_uuid(args: &[JValue]) -> HostFnResult {
    if !args.is_empty() {
        return Err(error(
            "T0410",
            "Argument 1 of function \"uuid\" does not match function signature",
        ));
    }
    Ok(JValue::string(uuid::Uuid::new_v4().to_string()))
}

/// `$hash(data, algorithm)`: hex digest with MD5, SHA-1, SHA-256, SHA-384 or SHA-512.
fn fn_hash(args: &[JValue]) -> HostFnResult {
    let (Some(JValue::String(data)), Some(JValue::String(algorithm))) = (args.first(), args.get(1))
    else {
        return Err(custom_error(
            "hash",
            "expects a string and an algorithm name",
        ));
    };
    crate::digest::hash(data.as_bytes(), algorithm)
        .map(JValue::string)
        .ok_or_else(|| {
            custom_error(
                "hash",
                format!(
                    "unknown algorithm '{algorithm}'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
                ),
            )
        })
}

/// `$parse(json)`: a JSON string as a value.
fn fn_parse(args: &[JValue]) -> HostFnResult {
    let Some(JValue::String(text)) = args.first() else {
        return Err(custom_error("parse", "expects a JSON string"));
    };
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| custom_error("parse", format!("not JSON: {e}")))?;
    if crate::limits::MAX_PAYLOAD_DEPTH < json_depth(&parsed) {
        return Err(custom_error("parse", "the JSON nests too deep"));
    }
    Ok(to_jvalue(&parsed))
}

/// How deep a JSON value nests (serde_json refuses more than 128 levels when it reads).
fn json_depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}
