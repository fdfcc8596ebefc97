//! JSONata for JSONata states, through the `jsonata-rs` library: `{% %}` templates, the
//! `$states` variable, workflow variables, and the functions Step Functions adds (`$partition`,
//! `$range`, `$hash`, `$random`, `$uuid`, `$parse`).
//!
//! `jsonata-rs` is an incomplete implementation of JSONata: the parent operator (`%`), regular
//! expressions in some functions, partial application, function signatures and some built-in
//! functions (for example `$formatNumber`, `$eval`) are missing. An expression that needs them
//! fails with `States.QueryEvaluationError` naming the library's error.

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;

use bumpalo::Bump;
use jsonata_rs::{ArrayFlags, FunctionContext, JsonAta, Value as JValue};
use serde_json::{Map, Number, Value};

use crate::context::{Context, jsonata_wants_input};
use crate::errors::Failure;
use crate::limits::{
    JSONATA_DEEP_STACK_BYTES, JSONATA_INLINE_DEPTH, MAX_JSONATA_DEPTH, MAX_JSONATA_NESTING,
};

/// Deepest expression nesting allowed, so a runaway recursion fails cleanly.
const MAX_DEPTH: usize = 500;
/// Longest an expression may run, in milliseconds.
const TIME_LIMIT_MS: usize = 10_000;

/// The expression inside a `{% … %}` string, if the string is one.
pub(crate) fn expression(s: &str) -> Option<&str> {
    let t = s.trim();
    t.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}

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

/// Evaluates one JSONata expression with `$states` and the variables bound. `Ok(None)` is
/// JSONata's `undefined`.
pub(crate) fn evaluate(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
    field: &str,
) -> Result<Option<Value>, Failure> {
    // A field path or a comparison with a number needs no parser (see `jsonata_fast`).
    if let Some(value) = crate::jsonata_fast::evaluate(expr, states, vars) {
        return Ok(value);
    }
    // jsonata-rs parses, evaluates and drops expressions recursively: an expression nested or
    // chained some hundreds deep would overflow the stack and kill the process instead of
    // failing the state.
    if nesting_depth(expr) > MAX_JSONATA_NESTING {
        return Err(Failure::query(format!(
            "The JSONata expression specified for the field '{field}' nests parentheses, brackets \
             or braces more than {MAX_JSONATA_NESTING} deep; the local engine refuses it rather than \
             overflow its stack"
        )));
    }
    let depth = depth_bound(expr);
    if depth > MAX_JSONATA_DEPTH {
        return Err(Failure::query(format!(
            "The JSONata expression specified for the field '{field}' has more than \
             {MAX_JSONATA_DEPTH} operators and brackets in a row; the local engine refuses it \
             rather than overflow its stack"
        )));
    }
    let prepared = prepare(expr, states, vars);
    let run = || std::panic::catch_unwind(AssertUnwindSafe(|| run(&prepared)));
    // A deep expression, or one that defines functions (which may recurse), runs on a thread
    // with a stack large enough for the library's own limits.
    let outcome = if depth <= JSONATA_INLINE_DEPTH && !defines_function(expr) {
        run()
    } else {
        std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("sfn-local-jsonata".into())
                .stack_size(JSONATA_DEEP_STACK_BYTES)
                .spawn_scoped(scope, run)
                .map_or_else(
                    |e| Ok(Err(format!("could not start a thread to evaluate it: {e}"))),
                    |thread| thread.join().unwrap_or_else(Err),
                )
        })
    };
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(Failure::query(format!(
            "An error occurred while evaluating the JSONata expression '{expr}' specified for the field '{field}': {message}"
        ))),
        Err(_) => Err(Failure::query(format!(
            "The JSONata expression '{expr}' specified for the field '{field}' uses a feature that the local JSONata library (jsonata-rs) does not support"
        ))),
    }
    .map_err(|f| match unsupported_function(expr) {
        Some(name) if f.cause.contains("T1006") => Failure::query(format!(
            "The JSONata expression '{expr}' specified for the field '{field}' calls ${name}, which the local JSONata library (jsonata-rs) does not implement"
        )),
        _ => f,
    })
}

/// How deep `(`, `[` and `{` nest in an expression, ignoring string literals.
fn nesting_depth(expr: &str) -> usize {
    let (mut depth, mut deepest, mut quote): (usize, usize, Option<char>) = (0, 0, None);
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An upper bound of how deep the library's tree of an expression is, outside string
/// literals: its operators (a chain `1+1+…` is a tree as deep as it is long, and so is a run
/// of unary minuses), its opening brackets and its path steps each count one.
fn depth_bound(expr: &str) -> usize {
    let (mut count, mut quote, mut previous) = (0, None, ' ');
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '+' | '-' | '*' | '/' | '%' | '&' | '=' | '<' | '>' | '!' | '~' | '?' | ':')
            | (None, '.' | '(' | '[' | '{' | '^' | '|' | '@' | '#') => count += 1,
            // The word operators `and`, `or` and `in`.
            (None, 'a' | 'o' | 'i') if !previous.is_alphanumeric() && previous != '$' => {
                let word: String = std::iter::once(c)
                    .chain(std::iter::from_fn(|| {
                        chars.next_if(|n| n.is_alphanumeric() || *n == '_')
                    }))
                    .collect();
                if matches!(word.as_str(), "and" | "or" | "in") {
                    count += 1;
                }
                previous = word.chars().last().unwrap_or(c);
                continue;
            }
            _ => {}
        }
        previous = c;
    }
    count
}

/// Whether an expression defines a function (which may call itself, as deep as the library's
/// own limit allows).
fn defines_function(expr: &str) -> bool {
    expr.contains("function") || expr.contains('λ')
}

/// JSONata 2.0 functions that neither `jsonata-rs` nor this module implements.
const UNSUPPORTED_FUNCTIONS: &[&str] = &["eval"];

/// Built-ins whose `jsonata-rs` version differs from JSONata 2.0.6's, routed to corrected ones in
/// `jsonata_functions` (`$string` → `$__sfn_string`, …): jsonata-rs binds its own built-ins after
/// registered functions, so the corrected ones need private names.
const CORRECTED_BUILT_INS: &[&str] = &["string", "number", "match", "now", "millis"];

/// The first unsupported function an expression calls, if any.
fn unsupported_function(expr: &str) -> Option<&'static str> {
    UNSUPPORTED_FUNCTIONS
        .iter()
        .find(|name| expr.contains(&format!("${name}(")))
        .copied()
}

/// The built-in functions `jsonata-rs` binds in the same frame as variables, after them: a
/// workflow variable with one of these names is renamed in the expression so it is not hidden.
const BUILT_INS: &[&str] = &[
    "abs",
    "append",
    "assert",
    "base64decode",
    "base64encode",
    "boolean",
    "ceil",
    "contains",
    "count",
    "distinct",
    "each",
    "error",
    "exists",
    "fromMillis",
    "toMillis",
    "single",
    "filter",
    "floor",
    "join",
    "keys",
    "length",
    "lookup",
    "lowercase",
    "map",
    "match",
    "max",
    "merge",
    "min",
    "not",
    "now",
    "number",
    "pad",
    "power",
    "random",
    "reduce",
    "replace",
    "reverse",
    "round",
    "sort",
    "split",
    "sqrt",
    "string",
    "substring",
    "substringBefore",
    "substringAfter",
    "sum",
    "trim",
    "uppercase",
    "zip",
    "millis",
    "uuid",
];

/// The expression as `jsonata-rs` should see it, and the variables to bind: `$random(…)` goes
/// to the Step Functions version (which takes a seed), and variables named like a built-in
/// function get a private name.
fn rewrite(expr: &str, vars: Lookup<'_>) -> (String, Vec<(String, Value)>) {
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len() + 16);
    let mut bound: Vec<(String, Value)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' {
            out.push(c);
            i += 1;
            while i < chars.len() {
                out.push(chars[i]);
                if chars[i] == '\\' && i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                i += 1;
                if chars[i - 1] == c {
                    break;
                }
            }
            continue;
        }
        if c == '$' {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            let name: String = chars[start..end].iter().collect();
            let mut next = end;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let is_call = chars.get(next) == Some(&'(');
            if name == "random" && is_call {
                out.push_str("$__sfn_random");
            } else if is_call && CORRECTED_BUILT_INS.contains(&name.as_str()) {
                out.push_str("$__sfn_");
                out.push_str(&name);
            } else if !name.is_empty() && name != "states" {
                match vars(&name) {
                    Some(value) if BUILT_INS.contains(&name.as_str()) && !is_call => {
                        let private = format!("__sfn_var_{name}");
                        out.push('$');
                        out.push_str(&private);
                        if !bound.iter().any(|(n, _)| *n == private) {
                            bound.push((private, value));
                        }
                    }
                    Some(value) => {
                        out.push('$');
                        out.push_str(&name);
                        if !bound.iter().any(|(n, _)| *n == name) {
                            bound.push((name.clone(), value));
                        }
                    }
                    None => {
                        out.push('$');
                        out.push_str(&name);
                    }
                }
            } else {
                out.push('$');
                out.push_str(&name);
            }
            i = end;
            continue;
        }
        out.push(c);
        i += 1;
    }
    (out, bound)
}

/// Evaluates an expression with the library (no pre-scan, on this thread).
#[cfg(test)]
pub(crate) fn evaluate_inner(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
) -> Result<Option<Value>, String> {
    run(&prepare(expr, states, vars))
}

/// What an evaluation needs, gathered on the caller's thread (the variables' lookup and the
/// context object are not `Sync`), so that it can run on another one.
struct Prepared<'a> {
    /// The expression as `jsonata-rs` sees it (see [`rewrite`]).
    expr: String,
    /// The workflow variables it reads.
    bound: Vec<(String, Value)>,
    /// The fields of `$states` it reads, if it reads `$states`.
    states: Option<Vec<(&'static str, Cow<'a, Value>)>>,
}

fn prepare<'a>(expr: &str, states: &StatesView<'a>, vars: Lookup<'_>) -> Prepared<'a> {
    let (rewritten, bound) = rewrite(expr, vars);
    let fields = expr.contains("$states").then(|| {
        let whole = expr
            .match_indices("$states")
            .any(|(i, m)| !expr[i + m.len()..].starts_with('.'));
        let mut fields = Vec::with_capacity(4);
        if whole || expr.contains("input") {
            fields.push(("input", Cow::Borrowed(states.input)));
        }
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
        states: fields,
    }
}

/// Evaluates a prepared expression with the library.
fn run(prepared: &Prepared<'_>) -> Result<Option<Value>, String> {
    let arena = Bump::new();
    let rewritten = &prepared.expr;
    let jsonata = JsonAta::new(rewritten, &arena).map_err(|e| e.to_string())?;
    for (name, value) in &prepared.bound {
        jsonata.assign_var(name, to_jvalue(&arena, value));
    }
    if rewritten.contains("$__sfn_now") || rewritten.contains("$__sfn_millis") {
        // One instant for the whole expression, as the service evaluates `$now()`/`$millis()`.
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64);
        jsonata.assign_var(
            crate::jsonata_functions::EVALUATION_START_VAR,
            JValue::number(&arena, millis),
        );
    }
    if let Some(fields) = &prepared.states {
        let object = JValue::object_with_capacity(&arena, 4);
        for (name, value) in fields {
            object.insert(name, to_jvalue(&arena, value));
        }
        jsonata.assign_var("states", object);
    }
    // ---- Function registration: one `jsonata.register_function(name, arity, fn)` line per ----
    // ---- function added to jsonata-rs. Only the functions the expression names are bound. ----
    let jsonata = Registrar {
        jsonata: &jsonata,
        expr: rewritten,
    };
    jsonata.register_function("partition", 2, fn_partition);
    jsonata.register_function("range", 3, fn_range);
    jsonata.register_function("hash", 2, fn_hash);
    jsonata.register_function("parse", 1, fn_parse);
    jsonata.register_function("__sfn_random", 1, fn_random);
    // JSONata 2.0 functions that jsonata-rs lacks.
    jsonata.register_function("type", 1, fn_type);
    jsonata.register_function("average", 1, fn_average);
    jsonata.register_function("spread", 1, fn_spread);
    jsonata.register_function("shuffle", 1, fn_shuffle);
    jsonata.register_function("sift", 2, fn_sift);
    jsonata.register_function("formatBase", 2, fn_format_base);
    jsonata.register_function("encodeUrlComponent", 1, fn_encode_url_component);
    jsonata.register_function("encodeUrl", 1, fn_encode_url);
    jsonata.register_function("decodeUrlComponent", 1, fn_decode_url);
    jsonata.register_function("decodeUrl", 1, fn_decode_url);
    jsonata.register_function(
        "formatNumber",
        3,
        crate::jsonata_functions::fn_format_number,
    );
    jsonata.register_function(
        "formatInteger",
        2,
        crate::jsonata_functions::fn_format_integer,
    );
    jsonata.register_function(
        "parseInteger",
        2,
        crate::jsonata_functions::fn_parse_integer,
    );
    jsonata.register_function("__sfn_string", 2, crate::jsonata_functions::fn_string);
    jsonata.register_function("__sfn_number", 1, crate::jsonata_functions::fn_number);
    jsonata.register_function("__sfn_match", 3, crate::jsonata_functions::fn_match);
    jsonata.register_function("__sfn_now", 2, crate::jsonata_functions::fn_now);
    jsonata.register_function("__sfn_millis", 0, crate::jsonata_functions::fn_millis);
    let result = jsonata
        .evaluate_timeboxed(None, Some(MAX_DEPTH), Some(TIME_LIMIT_MS))
        .map_err(|e| e.to_string())?;
    from_jvalue(result)
}

/// Binds the functions of the registration block that an expression names: binding all of
/// them on every evaluation cost more than most expressions take to run.
struct Registrar<'j, 'a> {
    jsonata: &'j JsonAta<'a>,
    /// The expression as `jsonata-rs` sees it (after [`rewrite`]).
    expr: &'j str,
}

impl<'a> Registrar<'_, 'a> {
    fn register_function(
        &self,
        name: &str,
        arity: usize,
        implementation: fn(
            FunctionContext<'a, '_>,
            &[&'a JValue<'a>],
        ) -> jsonata_rs::Result<&'a JValue<'a>>,
    ) {
        let named = self
            .expr
            .match_indices('$')
            .any(|(i, _)| self.expr[i + 1..].starts_with(name));
        if named {
            self.jsonata.register_function(name, arity, implementation);
        }
    }
}

impl<'a> std::ops::Deref for Registrar<'_, 'a> {
    type Target = JsonAta<'a>;

    fn deref(&self) -> &JsonAta<'a> {
        self.jsonata
    }
}

/// Evaluates a JSONata template: every `{% %}` string in it (at any depth) is replaced by its
/// value. An expression that returns `undefined` is a `States.QueryEvaluationError`, as in the
/// service.
pub(crate) fn template(
    value: &Value,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
    field: &str,
) -> Result<Value, Failure> {
    match value {
        Value::String(s) => match expression(s) {
            Some(expr) => evaluate(expr, states, vars, field)?.ok_or_else(|| {
                Failure::query(format!(
                    "The JSONata expression '{expr}' specified for the field '{field}' returned nothing (undefined)."
                ))
            }),
            None => Ok(value.clone()),
        },
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (k, v) in fields {
                out.insert(k.clone(), template(v, states, vars, &format!("{field}/{k}"))?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| template(v, states, vars, &format!("{field}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

fn to_jvalue<'a>(arena: &'a Bump, value: &Value) -> &'a JValue<'a> {
    match value {
        Value::Null => JValue::null(arena),
        Value::Bool(b) => JValue::bool(*b),
        Value::Number(n) => JValue::number(arena, n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JValue::string(arena, s),
        Value::Array(items) => {
            let array = JValue::array_with_capacity(arena, items.len(), ArrayFlags::empty());
            for item in items {
                array.push(to_jvalue(arena, item));
            }
            array
        }
        Value::Object(fields) => {
            let object = JValue::object_with_capacity(arena, fields.len());
            for (k, v) in fields {
                object.insert(k, to_jvalue(arena, v));
            }
            object
        }
    }
}

pub(crate) fn number(f: f64) -> Result<Value, String> {
    if !f.is_finite() {
        return Err(format!("the number {f} cannot be represented in JSON"));
    }
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        return Ok(Value::Number(Number::from(f as i64)));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("the number {f} cannot be represented in JSON"))
}

fn from_jvalue<'a>(value: &'a JValue<'a>) -> Result<Option<Value>, String> {
    Ok(Some(match value {
        JValue::Undefined => return Ok(None),
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n)?,
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(..) | JValue::Range(..) => {
            let mut out = Vec::with_capacity(value.len());
            for member in value.members() {
                if let Some(v) = from_jvalue(member)? {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        JValue::Object(..) => {
            // The library keeps object fields in a hash map; sort them so output is stable.
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (k, v) in value.entries() {
                if let Some(v) = from_jvalue(v)? {
                    entries.push((k.to_string(), v));
                }
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        JValue::Regex(_) => return Err("a regular expression cannot be a JSON value".into()),
        JValue::Lambda { .. } | JValue::NativeFn { .. } | JValue::Transformer { .. } => {
            return Err("a function cannot be a JSON value".into());
        }
    }))
}

fn custom_error(name: &str, message: impl std::fmt::Display) -> jsonata_rs::Error {
    jsonata_rs::Error::D3137Error(format!("${name}: {message}"))
}

/// `$partition(array, size)`: the array in chunks of `size`.
fn fn_partition<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (Some(array), Some(size)) = (args.first(), args.get(1)) else {
        return Err(custom_error("partition", "expects (array, chunkSize)"));
    };
    if !array.is_array() || !size.is_number() || size.as_f64() < 1.0 {
        return Err(custom_error(
            "partition",
            "expects an array and a chunk size of at least 1",
        ));
    }
    let size = size.as_f64() as usize;
    let members: Vec<&'a JValue<'a>> = array.members().collect();
    let out = JValue::array_with_capacity(ctx.arena, members.len() / size + 1, ArrayFlags::empty());
    for chunk in members.chunks(size) {
        let inner = JValue::array_with_capacity(ctx.arena, chunk.len(), ArrayFlags::empty());
        for item in chunk {
            inner.push(item);
        }
        out.push(inner);
    }
    Ok(out)
}

/// `$range(start, end, step)`: the numbers from `start` to `end` inclusive, by `step`.
fn fn_range<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let nums: Vec<f64> = args
        .iter()
        .filter(|a| a.is_number())
        .map(|a| a.as_f64())
        .collect();
    if nums.len() != 3 || args.len() != 3 {
        return Err(custom_error(
            "range",
            "expects (start, end, step), all numbers",
        ));
    }
    let (start, end, step) = (nums[0], nums[1], nums[2]);
    if step == 0.0 {
        return Err(custom_error("range", "the step must not be 0"));
    }
    let out = JValue::array(ctx.arena, ArrayFlags::empty());
    let mut i = start;
    let mut count = 0;
    while (step > 0.0 && i <= end) || (step < 0.0 && i >= end) {
        out.push(JValue::number(ctx.arena, i));
        count += 1;
        if count > 1000 {
            return Err(custom_error("range", "the range has more than 1000 items"));
        }
        i += step;
    }
    Ok(out)
}

/// `$type(value)`: `"null"`, `"number"`, `"string"`, `"boolean"`, `"array"`, `"object"` or
/// `"function"`; undefined for undefined.
fn fn_type<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let Some(value) = args.first() else {
        return Ok(JValue::undefined());
    };
    let name = match value {
        JValue::Undefined => return Ok(JValue::undefined()),
        JValue::Null => "null",
        JValue::Number(_) => "number",
        JValue::Bool(_) => "boolean",
        JValue::String(_) => "string",
        JValue::Array(..) | JValue::Range(..) => "array",
        JValue::Object(..) => "object",
        JValue::Regex(_)
        | JValue::Lambda { .. }
        | JValue::NativeFn { .. }
        | JValue::Transformer { .. } => "function",
    };
    Ok(JValue::string(ctx.arena, name))
}

/// `$average(array)`: the mean of the numbers; undefined for an empty array.
fn fn_average<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let Some(value) = args.first().filter(|v| !v.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    let numbers: Vec<f64> = if value.is_array() {
        let mut out = Vec::with_capacity(value.len());
        for member in value.members() {
            if !member.is_number() {
                return Err(custom_error("average", "expects an array of numbers"));
            }
            out.push(member.as_f64());
        }
        out
    } else if value.is_number() {
        vec![value.as_f64()]
    } else {
        return Err(custom_error("average", "expects an array of numbers"));
    };
    if numbers.is_empty() {
        return Ok(JValue::undefined());
    }
    let mean = numbers.iter().sum::<f64>() / numbers.len() as f64;
    Ok(JValue::number(ctx.arena, mean))
}

/// `$spread(object)`: an array of one-field objects; arrays of objects are spread in turn.
fn fn_spread<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let Some(value) = args.first() else {
        return Ok(JValue::undefined());
    };
    let out = JValue::array(ctx.arena, ArrayFlags::SEQUENCE);
    let spread_one = |object: &'a JValue<'a>, out: &mut JValue<'a>| {
        let mut entries: Vec<_> = object.entries().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (key, v) in entries {
            let single = JValue::object_with_capacity(ctx.arena, 1);
            single.insert(key, v);
            out.push(single);
        }
    };
    if value.is_object() {
        spread_one(value, out);
    } else if value.is_array() {
        for member in value.members() {
            if member.is_object() {
                spread_one(member, out);
            } else {
                out.push(member);
            }
        }
    } else {
        return Ok(value);
    }
    Ok(out)
}

/// `$shuffle(array)`: the items in a random order.
fn fn_shuffle<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    use rand::seq::SliceRandom;
    let Some(value) = args.first().filter(|v| !v.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    let mut members: Vec<&'a JValue<'a>> = if value.is_array() {
        value.members().collect()
    } else {
        vec![*value]
    };
    members.shuffle(&mut rand::thread_rng());
    let out = JValue::array_with_capacity(ctx.arena, members.len(), ArrayFlags::empty());
    for m in members {
        out.push(m);
    }
    Ok(out)
}

/// `$sift(object, function($value, $key))`: the fields for which the function is truthy.
fn fn_sift<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (Some(object), Some(function)) = (args.first(), args.get(1)) else {
        return Err(custom_error("sift", "expects (object, function)"));
    };
    if object.is_undefined() {
        return Ok(JValue::undefined());
    }
    if !object.is_object() || !function.is_function() {
        return Err(custom_error("sift", "expects an object and a function"));
    }
    let out = JValue::object(ctx.arena);
    let mut any = false;
    for (key, value) in object.entries() {
        let key_value = JValue::string(ctx.arena, key);
        let keep = ctx.evaluate_function(function, &[value, key_value, object])?;
        if keep.is_truthy() {
            out.insert(key, value);
            any = true;
        }
    }
    Ok(if any { out } else { JValue::undefined() })
}

/// `$formatBase(number, radix)`: the integer part of the number in base 2 to 36.
fn fn_format_base<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let Some(value) = args.first().filter(|v| !v.is_undefined()) else {
        return Ok(JValue::undefined());
    };
    if !value.is_number() {
        return Err(custom_error("formatBase", "expects a number"));
    }
    let radix = match args.get(1).filter(|r| !r.is_undefined()) {
        Some(r) if r.is_number() => r.as_f64() as u32,
        Some(_) => return Err(custom_error("formatBase", "the radix must be a number")),
        None => 10,
    };
    if !(2..=36).contains(&radix) {
        return Err(custom_error(
            "formatBase",
            "the radix must be between 2 and 36",
        ));
    }
    let n = value.as_f64().round();
    let negative = n < 0.0;
    let mut rest = n.abs() as u128;
    let mut digits = Vec::new();
    loop {
        let d = (rest % radix as u128) as u32;
        digits.push(char::from_digit(d, radix).unwrap_or('0'));
        rest /= radix as u128;
        if rest == 0 {
            break;
        }
    }
    if negative {
        digits.push('-');
    }
    let text: String = digits.into_iter().rev().collect();
    Ok(JValue::string(ctx.arena, &text))
}

fn encode(text: &str, keep: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let c = byte as char;
        if c.is_ascii_alphanumeric() || keep.contains(c) && byte.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `$encodeUrlComponent(text)`, as JavaScript's `encodeURIComponent`.
fn fn_encode_url_component<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    match args.first() {
        Some(v) if v.is_string() => {
            Ok(JValue::string(ctx.arena, &encode(&v.as_str(), "-_.!~*'()")))
        }
        Some(v) if v.is_undefined() => Ok(JValue::undefined()),
        _ => Err(custom_error("encodeUrlComponent", "expects a string")),
    }
}

/// `$encodeUrl(text)`, as JavaScript's `encodeURI`.
fn fn_encode_url<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    match args.first() {
        Some(v) if v.is_string() => Ok(JValue::string(
            ctx.arena,
            &encode(&v.as_str(), "-_.!~*'();,/?:@&=+$#"),
        )),
        Some(v) if v.is_undefined() => Ok(JValue::undefined()),
        _ => Err(custom_error("encodeUrl", "expects a string")),
    }
}

/// `$decodeUrlComponent(text)` and `$decodeUrl(text)`: percent-decoding.
fn fn_decode_url<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let text = match args.first() {
        Some(v) if v.is_string() => v.as_str(),
        Some(v) if v.is_undefined() => return Ok(JValue::undefined()),
        _ => return Err(custom_error("decodeUrl", "expects a string")),
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| custom_error("decodeUrl", "malformed percent-encoding"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let decoded = String::from_utf8(out)
        .map_err(|_| custom_error("decodeUrl", "the decoded text is not UTF-8"))?;
    Ok(JValue::string(ctx.arena, &decoded))
}

/// `$random([seed])`: a number in [0, 1); the same seed gives the same number.
fn fn_random<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    use rand::{Rng, SeedableRng};
    let value: f64 = match args.first().filter(|a| !a.is_undefined()) {
        None => rand::thread_rng().r#gen(),
        Some(seed) if seed.is_number() => {
            rand::rngs::StdRng::seed_from_u64(seed.as_f64() as i64 as u64).r#gen()
        }
        Some(_) => return Err(custom_error("random", "the seed must be a number")),
    };
    Ok(JValue::number(ctx.arena, value))
}

/// `$hash(data, algorithm)`: hex digest with MD5, SHA-1, SHA-256, SHA-384 or SHA-512.
fn fn_hash<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let (Some(data), Some(algorithm)) = (args.first(), args.get(1)) else {
        return Err(custom_error("hash", "expects (data, algorithm)"));
    };
    if !data.is_string() || !algorithm.is_string() {
        return Err(custom_error(
            "hash",
            "expects a string and an algorithm name",
        ));
    }
    let algorithm = algorithm.as_str();
    crate::intrinsics::hash(&data.as_str(), &algorithm)
        .map(|h| &*JValue::string(ctx.arena, &h))
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
fn fn_parse<'a>(
    ctx: FunctionContext<'a, '_>,
    args: &[&'a JValue<'a>],
) -> jsonata_rs::Result<&'a JValue<'a>> {
    let Some(text) = args.first().filter(|t| t.is_string()) else {
        return Err(custom_error("parse", "expects a JSON string"));
    };
    let parsed: Value = serde_json::from_str(&text.as_str())
        .map_err(|e| custom_error("parse", format!("not JSON: {e}")))?;
    Ok(to_jvalue(ctx.arena, &parsed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn view(input: &Value) -> StatesView<'_> {
        StatesView {
            input,
            result: None,
            error_output: None,
            context: None,
        }
    }

    fn eval(expr: &str, states: Value) -> Result<Option<Value>, Failure> {
        let vars = |name: &str| (name == "customerName").then(|| json!("María"));
        evaluate(expr, &view(&states["input"]), &vars, "Output")
    }

    #[test]
    fn states_and_variables_are_bound() {
        let states = json!({"input": {"title": "Doctor", "n": [1, 2, 3]}});
        assert_eq!(
            eval("$states.input.title", states.clone()).unwrap(),
            Some(json!("Doctor"))
        );
        assert_eq!(
            eval("$customerName", states.clone()).unwrap(),
            Some(json!("María"))
        );
        assert_eq!(
            eval("$sum($states.input.n)", states.clone()).unwrap(),
            Some(json!(6))
        );
        assert_eq!(eval("$states.input.missing", states).unwrap(), None);
    }

    #[test]
    fn step_functions_functions() {
        let s = json!({});
        assert_eq!(
            eval("$partition([1,2,3,4], 2)", s.clone()).unwrap(),
            Some(json!([[1, 2], [3, 4]]))
        );
        assert_eq!(
            eval("$range(0, 10, 2)", s.clone()).unwrap(),
            Some(json!([0, 2, 4, 6, 8, 10]))
        );
        assert_eq!(
            eval("$hash('input data', 'SHA-1')", s.clone()).unwrap(),
            Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7"))
        );
        assert_eq!(
            eval("$parse('{\"a\": [1]}')", s.clone()).unwrap(),
            Some(json!({"a": [1]}))
        );
        let r = eval("$random()", s.clone())
            .unwrap()
            .unwrap()
            .as_f64()
            .unwrap();
        assert!((0.0..1.0).contains(&r));
        assert_eq!(
            eval("$uuid()", s).unwrap().unwrap().as_str().unwrap().len(),
            36
        );
    }

    #[test]
    fn variables_named_like_functions_and_seeded_random() {
        let input = json!({});
        let vars = |name: &str| (name == "count").then(|| json!(42));
        let out = evaluate("$count + $count([1, 2])", &view(&input), &vars, "Output").unwrap();
        assert_eq!(out, Some(json!(44)));
        let none = |_: &str| None;
        let same = evaluate("$random(42) = $random(42)", &view(&input), &none, "Output").unwrap();
        assert_eq!(same, Some(json!(true)));
        let text = evaluate("'$count is $random(1)'", &view(&input), &vars, "Output").unwrap();
        assert_eq!(text, Some(json!("$count is $random(1)")));
    }

    #[test]
    fn functions_jsonata_rs_lacks() {
        let s = json!({"input": {"q": "hi", "o": {"a": 1, "b": 2}}});
        let cases = [
            ("$type($states.input.q) = 'string'", json!(true)),
            (
                "[$type(1), $type(null), $type([1]), $type({}), $type(true)]",
                json!(["number", "null", "array", "object", "boolean"]),
            ),
            ("$average([1, 2, 3, 6])", json!(3)),
            ("$spread($states.input.o)", json!([{"a": 1}, {"b": 2}])),
            (
                "$sift($states.input.o, function($v) { $v > 1 })",
                json!({"b": 2}),
            ),
            ("$formatBase(100, 2)", json!("1100100")),
            ("$encodeUrlComponent('?x=test')", json!("%3Fx%3Dtest")),
            (
                "$encodeUrl('https://mozilla.org/?x=шеллы')",
                json!("https://mozilla.org/?x=%D1%88%D0%B5%D0%BB%D0%BB%D1%8B"),
            ),
            ("$decodeUrlComponent('%3Fx%3Dtest')", json!("?x=test")),
            ("$count($shuffle([1, 2, 3]))", json!(3)),
        ];
        for (expr, expected) in cases {
            assert_eq!(eval(expr, s.clone()).unwrap(), Some(expected), "{expr}");
        }
        assert!(
            eval("$type($states.input.none)", s.clone())
                .unwrap()
                .is_none()
        );
        let err = eval("$eval('1')", s).unwrap_err();
        assert!(err.cause.contains("$eval"), "{}", err.cause);
    }

    #[test]
    fn templates_and_errors() {
        let input = json!({"a": 1});
        let none = |_: &str| None;
        let out = template(
            &json!({"x": "{% $states.input.a + 1 %}", "keep": "text", "list": ["{% 1 %}", 2]}),
            &view(&input),
            &none,
            "Output",
        )
        .unwrap();
        assert_eq!(out, json!({"x": 2, "keep": "text", "list": [1, 2]}));
        let nested = template(
            &json!({"v": "{% $states.input.zz %}"}),
            &view(&input),
            &none,
            "Output",
        );
        assert!(
            nested
                .unwrap_err()
                .cause
                .contains("'Output/v' returned nothing (undefined)")
        );
        let err = template(
            &json!("{% $states.input.zz %}"),
            &view(&input),
            &none,
            "Output",
        )
        .unwrap_err();
        assert_eq!(err.error, crate::errors::QUERY_EVALUATION_ERROR);
        let err = eval("1 + ", json!({})).unwrap_err();
        assert_eq!(err.error, crate::errors::QUERY_EVALUATION_ERROR);
        let err = eval("'a' + 1", json!({})).unwrap_err();
        assert_eq!(err.error, crate::errors::QUERY_EVALUATION_ERROR);
    }

    #[test]
    fn deep_nesting_fails_the_state_instead_of_the_process() {
        let deep = format!("{}1{}", "(".repeat(600), ")".repeat(600));
        let err = eval(&deep, json!({})).expect_err("refused");
        assert_eq!(err.error, "States.QueryEvaluationError");
        assert!(err.cause.contains("more than 128 deep"), "{}", err.cause);
        assert_eq!(
            nesting_depth("'((((' & \"[[\" & (1)"),
            1,
            "strings do not count"
        );
        let fine = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(eval(&fine, json!({})).expect("evaluates"), Some(json!(1)));
    }
}
