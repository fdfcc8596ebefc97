//! JSONata for JSONata states, through the `jsonata-core` library (JSONata 2.x, which passes
//! the whole official test suite): `{% %}` templates, the `$states` variable, workflow
//! variables, and what Step Functions changes in the language: its added functions
//! (`$partition`, `$range`, `$hash`, `$random` with a seed, `$uuid`, `$parse`), no `$eval`, and
//! version 2.0.6's syntax (the `??` and `?:` operators of 2.1 are refused).
//!
//! An expression is parsed once per thread and kept (see [`parsed`]): parsing is most of the
//! cost of the short expressions a machine evaluates per item. An expression that fails to
//! parse or to evaluate is a `States.QueryEvaluationError` whose cause carries the JSONata
//! error code (`T0410`, `D3137`, …) as the service's does.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use indexmap::IndexMap;
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{
    Context as Scope, Evaluator, EvaluatorError, EvaluatorOptions, HostFnResult,
};
use jsonata_core::value::{JArray, JValue};
use serde_json::{Map, Number, Value};

use crate::context::{Context, jsonata_wants_input};
use crate::errors::Failure;
use crate::limits::{
    JSONATA_DEEP_STACK_BYTES, JSONATA_INLINE_DEPTH, MAX_JSONATA_DEPTH, MAX_JSONATA_NESTING,
};

/// Longest an expression may run, in milliseconds (then it fails with JSONata's `D1012`).
const TIME_LIMIT_MS: u64 = 10_000;

/// How many parsed expressions a thread keeps. A machine has a bounded set of expressions;
/// the cache is emptied when full, so a machine that builds expressions without end (it
/// cannot: definitions are fixed) would only lose the cache's benefit.
const PARSED_PER_THREAD: usize = 512;

/// The private variable holding the evaluation's instant, in milliseconds: `$now()` and
/// `$millis()` read it, so every call in one evaluation gives the same instant, as JSONata
/// specifies.
const NOW_VAR: &str = "__sfn_now_ms";

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

/// Evaluates one JSONata expression with `$states` and the variables bound, and the state's
/// input as the context value (`$`). `Ok(None)` is JSONata's `undefined`.
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
    // The library parses and drops expressions recursively: an expression nested or chained
    // some hundreds deep would overflow the stack and kill the process instead of failing the
    // state.
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
    // A deep expression, or one that defines functions (which may recurse, and build a value
    // as deep as its recursion, which is dropped recursively), runs on a thread with a stack
    // large enough for the library's own limits.
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
            "The JSONata expression '{expr}' specified for the field '{field}' could not be evaluated by the local JSONata library (jsonata-core)"
        ))),
    }
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
fn rewrite<'e>(expr: &'e str, vars: Lookup<'_>) -> (Cow<'e, str>, Vec<(String, Value)>) {
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
    /// The expression as the library sees it (see [`rewrite`]).
    expr: Cow<'a, str>,
    /// The workflow variables it reads.
    bound: Vec<(String, Value)>,
    /// The state's input: `$states.input`, and the context value `$`.
    input: &'a Value,
    /// The fields of `$states` it reads, other than `input`, if it reads `$states`.
    states: Option<Vec<(&'static str, Cow<'a, Value>)>>,
    /// Whether it reads `$states.input` (or the whole of `$states`).
    reads_input: bool,
}

fn prepare<'a>(expr: &'a str, states: &StatesView<'a>, vars: Lookup<'_>) -> Prepared<'a> {
    let (rewritten, bound) = match guard_format_number(expr) {
        Cow::Borrowed(e) => rewrite(e, vars),
        Cow::Owned(guarded) => {
            let (r, b) = rewrite(&guarded, vars);
            (Cow::Owned(r.into_owned()), b)
        }
    };
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

/// The private function that lets only finite numbers reach `$formatNumber`.
const FINITE_FN: &str = "__sfn_finite";

/// `$formatNumber(x, …)` as `$formatNumber($__sfn_finite(x), …)`: the library's
/// `$formatNumber` of an infinite number with an exponent picture loops without end, inside
/// one step where its time limit is not checked (jsonata-js 2.0.6 never returns either), and
/// the service cannot hang; such a number fails with `D3001` instead.
fn guard_format_number(expr: &str) -> Cow<'_, str> {
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
        let (mut depth, mut quote, mut end) = (0usize, None, arguments.len());
        let mut chars = arguments.char_indices();
        while let Some((i, c)) = chars.next() {
            match (quote, c) {
                (Some(_), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'' | '`') => quote = Some(c),
                (None, '(' | '[' | '{') => depth += 1,
                (None, ')' | ']' | '}') if depth > 0 => depth -= 1,
                (None, ',' | ')') if depth == 0 => {
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

thread_local! {
    /// Parsed expressions by their text (see [`PARSED_PER_THREAD`]).
    static PARSED: RefCell<HashMap<Box<str>, Rc<AstNode>>> = RefCell::new(HashMap::new());
}

/// The parsed form of an expression, from this thread's cache or parsed now. A parse error
/// carries the library's message with its code (`S0201: …`).
fn parsed(expr: &str) -> Result<Rc<AstNode>, String> {
    if let Some(ast) = PARSED.with(|cache| cache.borrow().get(expr).cloned()) {
        return Ok(ast);
    }
    let ast = jsonata_core::parser::parse(expr).map_err(|e| parse_error(&e))?;
    refuse_later_syntax(expr, &ast)?;
    let ast = Rc::new(ast);
    PARSED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= PARSED_PER_THREAD {
            cache.clear();
        }
        cache.insert(expr.into(), Rc::clone(&ast));
    });
    Ok(ast)
}

/// A parse error's message, with JSONata's code where the library gives none.
fn parse_error(e: &jsonata_core::parser::ParserError) -> String {
    use jsonata_core::parser::ParserError;
    let code = match e {
        ParserError::UnclosedComment => "S0106",
        ParserError::InvalidNumber(_) => "S0102",
        ParserError::InvalidSyntax(_) => "S0201",
        _ => return e.display_message(),
    };
    format!("Parse error: {code}: {e}")
}

/// Refuses the operators JSONata added after 2.0.6, the version Step Functions runs: `??`
/// (coalescing) and `?:` (default), both 2.1.0, are syntax errors in the service.
fn refuse_later_syntax(expr: &str, ast: &AstNode) -> Result<(), String> {
    // Only an expression with the characters of one of them is looked at closely.
    if !(expr.contains("??") || expr.contains("?:")) {
        return Ok(());
    }
    let tree = format!("{ast:?}");
    for (op, text) in [("op: Coalesce", "??"), ("op: Default", "?:")] {
        if tree.contains(op) {
            return Err(format!(
                "S0201: Syntax error: \"{text}\": the {text} operator is JSONata 2.1, and Step Functions runs JSONata 2.0.6"
            ));
        }
    }
    Ok(())
}

/// Evaluates a prepared expression with the library.
fn run(prepared: &Prepared<'_>) -> Result<Option<Value>, String> {
    let ast = parsed(&prepared.expr)?;
    let mut scope = Scope::new();
    for (name, value) in &prepared.bound {
        let value = if name == NOW_VAR {
            // One instant for the whole expression, as JSONata evaluates `$now()`/`$millis()`.
            let millis = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_millis() as f64);
            JValue::Number(millis)
        } else {
            to_jvalue(value)
        };
        scope.bind(name.clone(), value);
    }
    let input = to_jvalue(prepared.input);
    if let Some(fields) = &prepared.states {
        let mut object = IndexMap::with_capacity(fields.len() + 1);
        if prepared.reads_input {
            object.insert("input".to_string(), input.clone());
        }
        for (name, value) in fields {
            object.insert((*name).to_string(), to_jvalue(value));
        }
        scope.bind("states".to_string(), JValue::object(object));
    }
    let options = EvaluatorOptions {
        timeout_ms: Some(TIME_LIMIT_MS),
        ..EvaluatorOptions::default()
    };
    let mut evaluator = Evaluator::with_options(scope, options);
    register_functions(&mut evaluator, &prepared.expr).map_err(|e| e.message().to_string())?;
    let result = evaluator
        .evaluate(&ast, &input)
        .map_err(|e| e.message().to_string())?;
    from_jvalue(&result)
}

/// Binds the functions Step Functions adds to JSONata, and takes `$eval` away, for an
/// expression that names them (binding them all on every evaluation costs more than most
/// expressions take to run).
fn register_functions(evaluator: &mut Evaluator, expr: &str) -> Result<(), EvaluatorError> {
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

/// A JSON value as the library's value (object fields in their order). Payloads nest at most
/// [`crate::limits::MAX_PAYLOAD_DEPTH`] deep, so the recursion is bounded.
fn to_jvalue(value: &Value) -> JValue {
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
fn from_jvalue(value: &JValue) -> Result<Option<Value>, String> {
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

/// `$range(start, end, step)`: the numbers from `start` to `end` inclusive, by `step`.
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
    Ok(JValue::array(out))
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
    crate::intrinsics::hash(data, algorithm)
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
    fn functions_of_jsonata_2() {
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
