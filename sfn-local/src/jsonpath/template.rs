//! Where a state uses paths: `InputPath`/`OutputPath`, `ResultPath`, `…Path` fields, and
//! payload templates with `.$` keys (a path or an intrinsic function).

use serde_json::{Map, Value};

use super::Roots;
use super::intrinsics;
use super::path::{Path, Root, Segment};
use crate::errors::Failure;

/// Selects a path from the roots, failing with `States.Runtime` when it matches nothing.
pub(crate) fn select(path: &str, roots: &Roots<'_>, field: &str) -> Result<Value, Failure> {
    let parsed = Path::cached(path).map_err(Failure::runtime)?;
    parsed.select(roots).ok_or_else(|| {
        Failure::runtime(format!(
            "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{}'",
            serde_json::to_string(roots.input).unwrap_or_default()
        ))
    })
}

/// Applies `InputPath` or `OutputPath`: absent is `$`, `null` is `{}`.
pub(crate) fn filter_path(
    path: &Option<Option<String>>,
    roots: &Roots<'_>,
) -> Result<Value, Failure> {
    match path {
        None => Ok(roots.input.clone()),
        Some(None) => Ok(Value::Object(Map::new())),
        Some(Some(p)) => {
            let parsed = Path::cached(p).map_err(Failure::runtime)?;
            parsed.select(roots).ok_or_else(|| {
                Failure::runtime(format!(
                    "Invalid path '{p}' : No results for path: {}",
                    parsed.normalized()
                ))
            })
        }
    }
}

/// Applies `ResultPath`: absent is `$` (the result replaces the input), `null` keeps the input,
/// a reference path puts the result inside a copy of the input.
pub(crate) fn apply_result_path(
    raw_input: &Value,
    result_path: &Option<Option<String>>,
    result: Value,
) -> Result<Value, Failure> {
    let path = match result_path {
        None => return Ok(result),
        Some(None) => return Ok(raw_input.clone()),
        Some(Some(p)) => p,
    };
    let parsed = Path::cached(path).map_err(Failure::runtime)?;
    if parsed.root != Root::Input || !parsed.is_definite() {
        return Err(Failure::runtime(format!(
            "The ResultPath '{path}' is not a valid reference path: it must start with '$' and select a single node"
        )));
    }
    if parsed.segments.is_empty() {
        return Ok(result);
    }
    let mut output = raw_input.clone();
    let mut cursor = &mut output;
    let last = parsed.segments.len() - 1;
    for (i, segment) in parsed.segments.iter().enumerate() {
        let err = || {
            Failure::runtime(format!(
                "Unable to apply ResultPath '{path}' to input '{}'",
                serde_json::to_string(raw_input).unwrap_or_default()
            ))
        };
        match segment {
            Segment::Child(name) => {
                let obj = cursor.as_object_mut().ok_or_else(err)?;
                if i == last {
                    obj.insert(name.clone(), result);
                    return Ok(output);
                }
                let entry = obj
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() && !entry.is_array() {
                    *entry = Value::Object(Map::new());
                }
                cursor = entry;
            }
            Segment::Index(idx) => {
                let arr = cursor.as_array_mut().ok_or_else(err)?;
                let len = arr.len() as i64;
                let idx = if *idx < 0 { len + idx } else { *idx };
                let slot = usize::try_from(idx)
                    .ok()
                    .and_then(|i| arr.get_mut(i))
                    .ok_or_else(err)?;
                if i == last {
                    *slot = result;
                    return Ok(output);
                }
                cursor = slot;
            }
            _ => return Err(err()),
        }
    }
    Ok(output)
}

/// Evaluates a payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign` in
/// JSONPath): keys ending in `.$` take a path or an intrinsic function, other values are
/// copied (nested objects and arrays are templates too).
pub(crate) fn template(value: &Value, roots: &Roots<'_>) -> Result<Value, Failure> {
    match value {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, v) in fields {
                if let Some(name) = key.strip_suffix(".$") {
                    let expr = v.as_str().ok_or_else(|| {
                        Failure::runtime(format!(
                            "The value of the field '{key}' must be a string with a path or an intrinsic function, found {v}"
                        ))
                    })?;
                    out.insert(name.to_owned(), evaluate_expression(expr, roots, key)?);
                } else {
                    out.insert(key.clone(), template(v, roots)?);
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => Ok(Value::Array(
            items
                .iter()
                .map(|v| template(v, roots))
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other.clone()),
    }
}

/// A `.$` value: a path, or an intrinsic function call.
pub(crate) fn evaluate_expression(
    expr: &str,
    roots: &Roots<'_>,
    field: &str,
) -> Result<Value, Failure> {
    let trimmed = expr.trim();
    if trimmed.starts_with("States.") {
        intrinsics::evaluate(trimmed, roots)
    } else {
        select(trimmed, roots, field)
    }
}
