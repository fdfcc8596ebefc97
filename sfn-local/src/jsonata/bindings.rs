//! What a JSONata expression is evaluated with: the `$states` variable in parts, the workflow
//! variables it reads (renamed when named like a built-in function), and values converted
//! between serde_json and the library's own.

use std::borrow::Cow;
use std::rc::Rc;

use indexmap::IndexMap;
use jsonata_core::value::{JArray, JValue};
use serde_json::{Map, Number, Value};

use crate::context::{Context, jsonata_wants_input};

/// The private variable holding the evaluation's instant, in milliseconds: `$now()` and
/// `$millis()` read it, so every call in one evaluation gives the same instant, as JSONata
/// specifies.
pub(super) const NOW_VAR: &str = "__sfn_now_ms";

/// The `$states` variable of a state, in parts: only what an expression names is converted.
pub(crate) struct StatesView<'a> {
    /// `$states.input`.
    pub input: &'a Value,
    /// `$states.result`, after a task, Map or Parallel succeeded.
    pub result: Option<&'a Value>,
    /// `$states.errorOutput`, in a Catcher.
    pub error_output: Option<&'a Value>,
    /// `$states.context`.
    pub context: Option<&'a Context<'a>>,
}

/// Workflow variables by name.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

/// JSONata's built-in function names (version 2.0.6, and `$random`'s Step Functions form): a
/// workflow variable with one of these names, read as a value (`$count`, not `$count(…)`), is
/// renamed in the expression, so a call of the built-in is not hidden by it. The service reads
/// `$count` as the variable and `$count([1, 2])` as the function.
const BUILT_INS: &[&str] = &[
    "abs",
    "append",
    "assert",
    "average",
    "base64decode",
    "base64encode",
    "boolean",
    "ceil",
    "contains",
    "count",
    "decodeUrl",
    "decodeUrlComponent",
    "distinct",
    "each",
    "encodeUrl",
    "encodeUrlComponent",
    "error",
    "eval",
    "exists",
    "filter",
    "floor",
    "formatBase",
    "formatInteger",
    "formatNumber",
    "fromMillis",
    "hash",
    "join",
    "keys",
    "length",
    "lookup",
    "lowercase",
    "map",
    "match",
    "max",
    "merge",
    "millis",
    "min",
    "not",
    "now",
    "number",
    "pad",
    "parse",
    "parseInteger",
    "partition",
    "power",
    "random",
    "range",
    "reduce",
    "replace",
    "reverse",
    "round",
    "shuffle",
    "sift",
    "single",
    "sort",
    "split",
    "spread",
    "sqrt",
    "string",
    "substring",
    "substringAfter",
    "substringBefore",
    "sum",
    "toMillis",
    "trim",
    "type",
    "uppercase",
    "uuid",
    "zip",
];

/// The expression as the library should see it, and the variables to bind: variables named
/// like a built-in function get a private name, and `$now(…)`/`$millis()` read the
/// evaluation's one instant ([`NOW_VAR`]). Strings, backquoted names and comments are copied
/// as they are.
pub(super) fn rewrite<'e>(expr: &'e str, vars: Lookup<'_>) -> (Cow<'e, str>, Vec<(String, Value)>) {
    let bytes = expr.as_bytes();
    let mut bound: Vec<(String, Value)> = Vec::new();
    if !bytes.contains(&b'$') {
        return (Cow::Borrowed(expr), bound);
    }
    let mut out = String::with_capacity(expr.len() + 16);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' && c != b'`' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c == b'/' && bytes.get(i + 1) == Some(&b'*') {
            i = expr[i + 2..]
                .find("*/")
                .map_or(bytes.len(), |end| i + 2 + end + 2);
            continue;
        }
        if c != b'$' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let end = start
            + expr[start..]
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(expr.len() - start);
        let name = &expr[start..end];
        let mut next = end;
        while next < bytes.len() && bytes[next].is_ascii_whitespace() {
            next += 1;
        }
        let is_call = bytes.get(next) == Some(&b'(');
        i = end;
        if name.is_empty() || name == "states" {
            continue;
        }
        if is_call && (name == "now" || name == "millis") {
            let mut after = next + 1;
            while after < bytes.len() && bytes[after].is_ascii_whitespace() {
                after += 1;
            }
            let no_arguments = bytes.get(after) == Some(&b')');
            out.push_str(&expr[copied..start - 1]);
            if name == "millis" && no_arguments {
                out.push('$');
                out.push_str(NOW_VAR);
                copied = after + 1;
            } else if name == "now" {
                out.push_str("$fromMillis($");
                out.push_str(NOW_VAR);
                if no_arguments {
                    out.push(')');
                    copied = after + 1;
                } else {
                    out.push_str(", ");
                    copied = next + 1;
                }
            } else {
                // `$millis(x)`: the library refuses the argument (T0410).
                copied = start - 1;
            }
            if !bound.iter().any(|(n, _)| n == NOW_VAR) {
                bound.push((NOW_VAR.to_string(), Value::Null));
            }
            i = copied.max(i);
            continue;
        }
        let Some(value) = vars(name) else { continue };
        if BUILT_INS.contains(&name) {
            if is_call {
                continue;
            }
            let private = format!("__sfn_var_{name}");
            out.push_str(&expr[copied..start]);
            out.push_str(&private);
            copied = end;
            if !bound.iter().any(|(n, _)| *n == private) {
                bound.push((private, value));
            }
        } else if !bound.iter().any(|(n, _)| n == name) {
            bound.push((name.to_string(), value));
        }
    }
    if copied == 0 {
        return (Cow::Borrowed(expr), bound);
    }
    out.push_str(&expr[copied..]);
    (Cow::Owned(out), bound)
}

/// What an evaluation needs, gathered on the caller's thread (the variables' lookup and the
/// context object are not `Sync`), so that it can run on another one.
pub(super) struct Prepared<'a> {
    /// The expression as the library sees it (see [`rewrite`]).
    pub(super) expr: Cow<'a, str>,
    /// The workflow variables it reads.
    pub(super) bound: Vec<(String, Value)>,
    /// The state's input: `$states.input`, and the context value `$`.
    pub(super) input: &'a Value,
    /// The fields of `$states` it reads, other than `input`, if it reads `$states`.
    pub(super) states: Option<Vec<(&'static str, Cow<'a, Value>)>>,
    /// Whether it reads `$states.input` (or the whole of `$states`).
    pub(super) reads_input: bool,
}

/// Gathers what `expr` (with `$formatNumber` guarded already) reads.
pub(super) fn prepare<'a>(
    expr: &'a str,
    states: &StatesView<'a>,
    vars: Lookup<'_>,
) -> Prepared<'a> {
    let (rewritten, bound) = rewrite(expr, vars);
    let mut reads_input = false;
    let fields = expr.contains("$states").then(|| {
        let whole = expr
            .match_indices("$states")
            .any(|(i, m)| !expr[i + m.len()..].starts_with('.'));
        reads_input = whole || expr.contains("input");
        let mut fields = Vec::with_capacity(3);
        if let Some(result) = states.result.filter(|_| whole || expr.contains("result")) {
            fields.push(("result", Cow::Borrowed(result)));
        }
        if let Some(error) = states
            .error_output
            .filter(|_| whole || expr.contains("errorOutput"))
        {
            fields.push(("errorOutput", Cow::Borrowed(error)));
        }
        if let Some(context) = states.context.filter(|_| whole || expr.contains("context")) {
            let with_input = whole || jsonata_wants_input(expr);
            fields.push(("context", Cow::Owned(context.to_value(with_input))));
        }
        fields
    });
    Prepared {
        expr: rewritten,
        bound,
        input: states.input,
        states: fields,
        reads_input,
    }
}

/// A JSON value as the library's value (object fields in their order). Payloads nest at most
/// [`crate::limits::MAX_PAYLOAD_DEPTH`] deep, so the recursion is bounded.
pub(super) fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JValue::String(Rc::from(s.as_str())),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(fields) => {
            let mut object = IndexMap::with_capacity(fields.len());
            for (k, v) in fields {
                object.insert(k.clone(), to_jvalue(v));
            }
            JValue::object(object)
        }
    }
}

/// A number as JSON: integers below 2^53 as integers (JSONata computes in f64, and prints
/// `2` for `2.0`).
pub(crate) fn number(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err(format!(
            "D1001: Number out of range: the number {f} cannot be represented in JSON"
        ));
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::Number(Number::from(f as i64)));
    }
    Number::from_f64(f).map(Value::Number).ok_or_else(|| {
        format!("D1001: Number out of range: the number {f} cannot be represented in JSON")
    })
}

/// The library's value as JSON, as `JSON.stringify` writes it: `undefined` fields are left
/// out, and functions are left out of objects and are `null` in arrays. A function or a
/// regular expression as the whole value cannot be JSON.
pub(super) fn from_jvalue(value: &JValue) -> Result<Option<Value>, String> {
    fn convert(value: &JValue) -> Result<Option<Value>, String> {
        Ok(Some(match value {
            JValue::Undefined => return Ok(None),
            JValue::Null => Value::Null,
            JValue::Bool(b) => Value::Bool(*b),
            JValue::Number(n) => number(*n)?,
            JValue::String(s) => Value::String(s.to_string()),
            JValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match convert(item)? {
                        Some(v) => out.push(v),
                        None if item.is_function() || item.is_regex() => out.push(Value::Null),
                        None => {}
                    }
                }
                Value::Array(out)
            }
            JValue::Object(_) => {
                let fields = value.as_object().into_iter().flatten();
                let mut out = Map::new();
                for (k, v) in fields {
                    if let Some(v) = convert(v)? {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Object(out)
            }
            _ => return Ok(None),
        }))
    }
    if value.is_function() || value.is_regex() {
        return Err("T1003: a function or a regular expression cannot be a JSON value".into());
    }
    convert(value)
}
