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

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::rc::Rc;

use indexmap::IndexMap;
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context as Scope, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

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

mod bindings;
mod fast;
mod functions;

use bindings::{NOW_VAR, Prepared, from_jvalue, prepare, to_jvalue};
use functions::{guard_format_number, register_functions};

pub(crate) use bindings::{Lookup, StatesView};

/// The expression inside a `{% … %}` string, if the string is one.
pub(crate) fn expression(s: &str) -> Option<&str> {
    let t = s.trim();
    t.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}
/// Evaluates one JSONata expression with `$states` and the variables bound, and the state's
/// input as the context value (`$`). `Ok(None)` is JSONata's `undefined`.
pub(crate) fn evaluate(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
    field: &str,
) -> Result<Option<Value>, Failure> {
    // A field path or a comparison with a number needs no parser (see `jsonata_fast`).
    if let Some(value) = fast::evaluate(expr, states, vars) {
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
    let guarded = guard_format_number(expr);
    let prepared = prepare(&guarded, states, vars);
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
/// Evaluates an expression with the library (no pre-scan, on this thread).
#[cfg(test)]
pub(crate) fn evaluate_inner(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
) -> Result<Option<Value>, String> {
    run(&prepare(&guard_format_number(expr), states, vars))
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
