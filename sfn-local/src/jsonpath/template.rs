//! Where a state uses paths, compiled once with the machine: `InputPath`/`OutputPath`,
//! `ResultPath`, the `…Path` fields, and payload templates with `.$` keys (a path or an
//! intrinsic function).

use serde_json::{Map, Value};

use super::Roots;
use super::intrinsics::Intrinsic;
use super::path::{Path, Root, Segment};
use crate::errors::Failure;

/// `InputPath` or `OutputPath`: absent is `$` (the value itself), `null` is `{}`.
#[derive(Debug, Clone)]
pub(crate) enum IoPath {
    Absent,
    Null,
    Path(Path),
}

impl IoPath {
    /// Compiles the field as the definition gives it.
    pub(crate) fn compile(field: &Option<Option<String>>) -> Result<IoPath, String> {
        Ok(match field {
            None => IoPath::Absent,
            Some(None) => IoPath::Null,
            Some(Some(p)) => IoPath::Path(Path::parse(p)?),
        })
    }

    /// Whether the field is absent (the value passes as it is).
    pub(crate) fn is_absent(&self) -> bool {
        matches!(self, IoPath::Absent)
    }

    /// Applies the path to `roots.input`.
    pub(crate) fn apply(&self, roots: &Roots<'_>) -> Result<Value, Failure> {
        match self {
            IoPath::Absent => Ok(roots.input.clone()),
            IoPath::Null => Ok(Value::Object(Map::new())),
            IoPath::Path(path) => path.select(roots).ok_or_else(|| path.not_found(roots)),
        }
    }
}

/// `ResultPath`: absent is `$` (the result replaces the input), `null` keeps the input, a
/// reference path puts the result inside a copy of the input.
#[derive(Debug, Clone)]
pub(crate) enum ResultPath {
    Absent,
    Null,
    /// A reference path (from `$`, names and indexes only), checked when compiled.
    Path(Path),
}

impl ResultPath {
    /// Compiles the field; a path that is not a reference path is refused.
    pub(crate) fn compile(field: &Option<Option<String>>) -> Result<ResultPath, String> {
        Ok(match field {
            None => ResultPath::Absent,
            Some(None) => ResultPath::Null,
            Some(Some(p)) => {
                let path = Path::parse(p)?;
                if path.root != Root::Input || !path.is_definite() {
                    return Err(format!(
                        "The ResultPath '{p}' is not a valid reference path: it must start with '$' and select a single node"
                    ));
                }
                if path.segments.is_empty() {
                    ResultPath::Absent
                } else {
                    ResultPath::Path(path)
                }
            }
        })
    }

    /// Puts `result` where the path says in `raw_input`.
    pub(crate) fn apply(&self, raw_input: &Value, result: Value) -> Result<Value, Failure> {
        let path = match self {
            ResultPath::Absent => return Ok(result),
            ResultPath::Null => return Ok(raw_input.clone()),
            ResultPath::Path(path) => path,
        };
        let err = || {
            Failure::runtime(format!(
                "Unable to apply ResultPath '{}' to input '{}'",
                path.text(),
                serde_json::to_string(raw_input).unwrap_or_default()
            ))
        };
        let mut output = raw_input.clone();
        let mut cursor = &mut output;
        let last = path.segments.len() - 1;
        for (i, segment) in path.segments.iter().enumerate() {
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
}

/// A `.$` value or a `…Path` field: a path, or (where the service allows one) an intrinsic
/// function call.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Path(Path),
    Intrinsic(Intrinsic),
}

impl Expr {
    /// Compiles a `.$` value: `States.…(…)` is an intrinsic, anything else a path.
    pub(crate) fn compile(text: &str) -> Result<Expr, String> {
        let trimmed = text.trim();
        if trimmed.starts_with("States.") {
            Intrinsic::parse(trimmed).map(Expr::Intrinsic)
        } else {
            Path::parse(trimmed).map(Expr::Path)
        }
    }

    /// Compiles a `…Path` field that takes a path only.
    pub(crate) fn path(text: &str) -> Result<Expr, String> {
        Path::parse(text).map(Expr::Path)
    }

    /// The path as written (`None` for an intrinsic function).
    pub(crate) fn path_text(&self) -> Option<&str> {
        match self {
            Expr::Path(path) => Some(path.text()),
            Expr::Intrinsic(_) => None,
        }
    }

    /// What a path selects, `None` when it matches nothing; an intrinsic's value.
    pub(crate) fn select(&self, roots: &Roots<'_>) -> Result<Option<Value>, Failure> {
        match self {
            Expr::Intrinsic(call) => call.evaluate(roots).map(Some),
            Expr::Path(path) => Ok(path.select(roots)),
        }
    }

    /// The value; a path that matches nothing fails with `States.Runtime`, naming `field`.
    pub(crate) fn evaluate(&self, roots: &Roots<'_>, field: &str) -> Result<Value, Failure> {
        match self {
            Expr::Intrinsic(call) => call.evaluate(roots),
            Expr::Path(path) => path.select(roots).ok_or_else(|| {
                Failure::runtime(format!(
                    "The JSONPath '{}' specified for the field '{field}' could not be found in the input '{}'",
                    path.text(),
                    serde_json::to_string(roots.input).unwrap_or_default()
                ))
            }),
        }
    }
}

/// A payload template (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign` in JSONPath):
/// keys ending in `.$` take a path or an intrinsic function, other values are copied (nested
/// objects and arrays are templates too).
#[derive(Debug, Clone)]
pub(crate) enum Template {
    /// A value with no `.$` key anywhere in it, copied as it is.
    Literal(Value),
    Object(Vec<(String, Field)>),
    Array(Vec<Template>),
}

/// One field of a template object.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// `"name.$": "<path or intrinsic>"`, with the key as written (for errors).
    Expr(String, Expr),
    Value(Template),
}

impl Template {
    /// Compiles a template. The error names the key (`x.$`, `a.b.$` for nested objects) and
    /// what is wrong with its value.
    pub(crate) fn compile(value: &Value) -> Result<Template, (String, String)> {
        Ok(match value {
            Value::Object(fields) => {
                if !has_expressions(value) {
                    return Ok(Template::Literal(value.clone()));
                }
                let mut out = Vec::with_capacity(fields.len());
                for (key, v) in fields {
                    if let Some(name) = key.strip_suffix(".$") {
                        let text = v.as_str().ok_or_else(|| {
                            (
                                key.clone(),
                                format!(
                                    "The value of the field '{key}' must be a string with a path or an intrinsic function, found {v}"
                                ),
                            )
                        })?;
                        let expr = Expr::compile(text).map_err(|e| (key.clone(), e))?;
                        out.push((name.to_owned(), Field::Expr(key.clone(), expr)));
                    } else {
                        let inner =
                            Template::compile(v).map_err(|(at, e)| (format!("{key}.{at}"), e))?;
                        out.push((key.clone(), Field::Value(inner)));
                    }
                }
                Template::Object(out)
            }
            Value::Array(items) if has_expressions(value) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Template::compile(v).map_err(|(at, e)| (format!("{i}.{at}"), e)))
                    .collect::<Result<_, _>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// The template's value with `$` = `roots.input`.
    pub(crate) fn evaluate(&self, roots: &Roots<'_>) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (name, field) in fields {
                    let value = match field {
                        Field::Expr(key, expr) => expr.evaluate(roots, key)?,
                        Field::Value(inner) => inner.evaluate(roots)?,
                    };
                    out.insert(name.clone(), value);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.evaluate(roots))
                .collect::<Result<_, _>>()
                .map(Value::Array),
        }
    }
}

/// Whether a value has a `.$` key at any depth.
fn has_expressions(value: &Value) -> bool {
    match value {
        Value::Object(fields) => fields
            .iter()
            .any(|(k, v)| k.ends_with(".$") || has_expressions(v)),
        Value::Array(items) => items.iter().any(has_expressions),
        _ => false,
    }
}
