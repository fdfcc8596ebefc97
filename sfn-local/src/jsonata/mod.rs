//! JSONata for JSONata states, through the `jsonata-core` library (JSONata 2.x, which passes
//! the whole official test suite): `{% %}` templates, the `$states` variable, workflow
//! variables, and what Step Functions changes in the language: its added functions
//! (`$partition`, `$range`, `$hash`, `$random` with a seed, `$uuid`, `$parse`), no `$eval`, and
//! version 2.0.6's syntax (the `??` and `?:` operators of 2.1 are refused).
//!
//! Every expression is parsed once, when the machine is compiled ([`Expression::compile`],
//! [`Template::compile`]): an expression that does not parse refuses the machine, as the
//! service refuses it at CreateStateMachine. An expression that fails to evaluate is a
//! `States.QueryEvaluationError` whose cause carries the JSONata error code (`T0410`,
//! `D3137`, …) as the service's does.
//!
//! `bindings` binds `$states` and the variables, `fast` evaluates simple field paths without
//! the library, `functions` holds what Step Functions changes in JSONata's functions.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use indexmap::IndexMap;
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context as Scope, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use crate::errors::Failure;
use crate::limits::{
    JSONATA_DEEP_STACK_BYTES, JSONATA_INLINE_DEPTH, MAX_JSONATA_DEPTH, MAX_JSONATA_NESTING,
};
use crate::literals::outside_literals;

/// Longest an expression may run, in milliseconds (then it fails with JSONata's `D1012`).
const TIME_LIMIT_MS: u64 = 10_000;

mod bindings;
mod fast;
mod functions;

use bindings::{NOW_VAR, Prepared, from_jvalue, prepare, to_jvalue};
use functions::{guard_format_number, register_functions};

pub(crate) use bindings::{Lookup, StatesView};

/// The expression inside a `{% … %}` string, if the string is one: it starts with `{%` and
/// ends with `%}`. A string with spaces around them, `" {% $x %} "`, is a literal (recorded in
/// localstack's `test_base_cases[BASE_LITERALS]`).
pub(crate) fn expression(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}").map(str::trim)
}
/// A JSONata expression (the text inside `{% %}`), parsed when the machine is compiled.
#[derive(Debug, Clone)]
pub(crate) struct Expression {
    /// As written.
    text: Box<str>,
    /// With `$formatNumber`'s first argument guarded (see [`guard_format_number`]).
    guarded: Box<str>,
    /// A field path or a comparison with a number, evaluated without the library (see `fast`).
    simple: Option<fast::Simple>,
    parsed: Parsed,
}

#[derive(Debug, Clone)]
enum Parsed {
    /// The tree of the guarded text as the library sees it when no workflow variable is named
    /// like a built-in function (see `bindings::rewrite`), and that text.
    Ready {
        ast: Arc<AstNode>,
        text: Box<str>,
        /// Runs on a thread with a large stack (see [`Expression::evaluate`]).
        deep: bool,
    },
    /// Past the pre-scan's bounds: the library would overflow its stack parsing it, so it is
    /// never parsed, and fails when evaluated, with this reason.
    TooDeep(TooDeep),
}

/// Why an expression is too deep to parse.
#[derive(Debug, Clone, Copy)]
enum TooDeep {
    /// Its brackets nest more than [`MAX_JSONATA_NESTING`] deep.
    Nesting,
    /// More than [`MAX_JSONATA_DEPTH`] operators and brackets in a row.
    Operators,
}

impl Expression {
    /// Parses an expression; the error is the library's, with JSONata's code (`S0201: …`).
    pub(crate) fn compile(expr: &str) -> Result<Expression, String> {
        let guarded = guard_format_number(expr).into_owned();
        let too_deep = |reason| Expression {
            text: expr.into(),
            guarded: guarded.clone().into(),
            simple: None,
            parsed: Parsed::TooDeep(reason),
        };
        // The library parses and drops expressions recursively: an expression nested or
        // chained some hundreds deep would overflow the stack and kill the process.
        if nesting_depth(expr) > MAX_JSONATA_NESTING {
            return Ok(too_deep(TooDeep::Nesting));
        }
        let depth = depth_bound(expr);
        if depth > MAX_JSONATA_DEPTH {
            return Ok(too_deep(TooDeep::Operators));
        }
        let deep = depth > JSONATA_INLINE_DEPTH || defines_function(expr);
        let text = bindings::rewrite(&guarded, &|_| None).0.into_owned();
        let ast = on_stack(deep, || {
            let written = parse(expr)?;
            refuse_later_syntax(expr, &written)?;
            if text == expr {
                Ok(written)
            } else {
                parse(&text)
            }
        })?;
        Ok(Expression {
            text: expr.into(),
            guarded: guarded.into(),
            simple: fast::Simple::compile(expr),
            parsed: Parsed::Ready {
                ast: Arc::new(ast),
                text: text.into(),
                deep,
            },
        })
    }

    /// The expression as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates the expression with `$states` and the variables bound, and the state's input
    /// as the context value (`$`). `Ok(None)` is JSONata's `undefined`.
    pub(crate) fn evaluate(
        &self,
        states: &StatesView<'_>,
        vars: Lookup<'_>,
        field: &str,
    ) -> Result<Option<Value>, Failure> {
        let expr = &*self.text;
        // A field path or a comparison with a number needs no parser (see `fast`).
        if let Some(value) = self.simple.as_ref().and_then(|s| s.evaluate(states, vars)) {
            return Ok(value);
        }
        let (ast, text, deep) = match &self.parsed {
            Parsed::Ready { ast, text, deep } => (ast, text, *deep),
            Parsed::TooDeep(TooDeep::Nesting) => {
                return Err(Failure::query(format!(
                    "The JSONata expression specified for the field '{field}' nests parentheses, brackets \
                     or braces more than {MAX_JSONATA_NESTING} deep; the local engine refuses it rather than \
                     overflow its stack"
                )));
            }
            Parsed::TooDeep(TooDeep::Operators) => {
                return Err(Failure::query(format!(
                    "The JSONata expression specified for the field '{field}' has more than \
                     {MAX_JSONATA_DEPTH} operators and brackets in a row; the local engine refuses it \
                     rather than overflow its stack"
                )));
            }
        };
        let prepared = prepare(&self.guarded, states, vars);
        // A workflow variable named like a built-in function is renamed in the text: that
        // text is parsed now (rare); otherwise the compiled tree serves.
        let reparse = prepared.expr != **text;
        let outcome = on_stack(deep, || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                if reparse {
                    run(&prepared, &parse(&prepared.expr)?)
                } else {
                    run(&prepared, ast)
                }
            }))
            .unwrap_or_else(|_| Err(String::new()))
            .map_err(Some)
        });
        match outcome {
            Ok(v) => Ok(v),
            Err(Some(message)) if !message.is_empty() => Err(Failure::query(format!(
                "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {}",
                as_jsonata_js(&message)
            ))),
            Err(_) => Err(Failure::query(format!(
                "The JSONata expression '{expr}' specified for the field '{field}' could not be evaluated by the local JSONata library (jsonata-core)"
            ))),
        }
    }
}

/// The library's message as jsonata-js (and so the service) writes it: `T1006` without the
/// name of what was called (recorded in localstack's `test_math_random_seeded` snapshot).
fn as_jsonata_js(message: &str) -> &str {
    const T1006: &str = "T1006: Attempted to invoke a non-function";
    if message.starts_with(T1006) {
        T1006
    } else {
        message
    }
}

/// Runs `work` here, or, when `deep`, on a thread with a stack large enough for the
/// library's own limits: a deep expression, or one that defines functions (which may
/// recurse, and build a value as deep as its recursion, which is dropped recursively).
fn on_stack<T: Send, E: Send + From<String>>(
    deep: bool,
    work: impl FnOnce() -> Result<T, E> + Send,
) -> Result<T, E> {
    if !deep {
        return work();
    }
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("sfn-local-jsonata".into())
            .stack_size(JSONATA_DEEP_STACK_BYTES)
            .spawn_scoped(scope, work)
            .map_err(|e| E::from(format!("could not start a thread to evaluate it: {e}")))?
            .join()
            .unwrap_or_else(|_| Err(E::from(String::new())))
    })
}

/// Parses and evaluates one expression (tests).
#[cfg(test)]
pub(crate) fn evaluate(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
    field: &str,
) -> Result<Option<Value>, Failure> {
    Expression::compile(expr)
        .map_err(|e| {
            Failure::query(format!(
                "The JSONata expression '{expr}' specified for the field '{field}' threw an error during evaluation. {e}"
            ))
        })?
        .evaluate(states, vars, field)
}

/// How deep `(`, `[` and `{` nest in an expression, ignoring string literals.
fn nesting_depth(expr: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for (_, c) in outside_literals(expr, &['"', '\'']) {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
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
    let guarded = guard_format_number(expr);
    let prepared = prepare(&guarded, states, vars);
    run(&prepared, &parse(&prepared.expr)?)
}

/// Parses an expression with the library. A parse error carries the library's message with
/// its code (`S0201: …`).
fn parse(expr: &str) -> Result<AstNode, String> {
    jsonata_core::parser::parse(expr).map_err(|e| parse_error(&e))
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
fn run(prepared: &Prepared<'_>, ast: &AstNode) -> Result<Option<Value>, String> {
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
        .evaluate(ast, &input)
        .map_err(|e| e.message().to_string())?;
    from_jvalue(&result)
}

/// A JSONata template (`Arguments`, `Output`, `Assign`, …), compiled: every `{% %}` string in
/// it, at any depth, is an expression; everything else is copied.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    /// An expression, and the field it is named by in errors (`Output/answer`).
    Expr(Box<str>, Expression),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

impl Template {
    /// Compiles a template whose field is `field` (`Output`). The error names the field that
    /// does not parse (`Output/answer`, `Arguments[0]`) and the library's message.
    pub(crate) fn compile(value: &Value, field: &str) -> Result<Template, (String, String)> {
        Ok(match value {
            Value::String(s) => match expression(s) {
                Some(expr) => Template::Expr(
                    field.into(),
                    Expression::compile(expr).map_err(|e| (field.to_owned(), e))?,
                ),
                None => Template::Literal(value.clone()),
            },
            Value::Object(fields) if has_expressions(value) => Template::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        Template::compile(v, &format!("{field}/{k}")).map(|t| (k.clone(), t))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Array(items) if has_expressions(value) => Template::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Template::compile(v, &format!("{field}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            other => Template::Literal(other.clone()),
        })
    }

    /// The template's value. An expression that returns `undefined` is a
    /// `States.QueryEvaluationError`, as in the service.
    pub(crate) fn evaluate(
        &self,
        states: &StatesView<'_>,
        vars: Lookup<'_>,
    ) -> Result<Value, Failure> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Expr(field, expr) => expr.evaluate(states, vars, field)?.ok_or_else(|| {
                Failure::query(format!(
                    "The JSONata expression '{}' specified for the field '{field}' returned nothing (undefined).",
                    expr.text
                ))
            }),
            Template::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (k, t) in fields {
                    out.insert(k.clone(), t.evaluate(states, vars)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.evaluate(states, vars))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
        }
    }
}

/// Whether a value has a `{% %}` string at any depth.
fn has_expressions(value: &Value) -> bool {
    match value {
        Value::String(s) => expression(s).is_some(),
        Value::Object(fields) => fields.values().any(has_expressions),
        Value::Array(items) => items.iter().any(has_expressions),
        _ => false,
    }
}

/// Compiles and evaluates a template (tests).
#[cfg(test)]
pub(crate) fn template(
    value: &Value,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
    field: &str,
) -> Result<Value, Failure> {
    Template::compile(value, field)
        .map_err(|(_, e)| Failure::query(e))?
        .evaluate(states, vars)
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
