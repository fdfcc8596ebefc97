//! The eighteen intrinsic functions of JSONPath states (`States.Format`, `States.Array`, …),
//! nested, with the service's `States.IntrinsicFailure` on misuse.

use base64::Engine as _;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

use super::Roots;
use super::path::Path;
use crate::digest;
use crate::errors::Failure;
use crate::limits::MAX_INTRINSIC_DEPTH;

/// The intrinsic functions the service knows; any other name is refused when the machine is
/// compiled.
const FUNCTIONS: &[&str] = &[
    "States.Array",
    "States.ArrayContains",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayPartition",
    "States.ArrayRange",
    "States.ArrayUnique",
    "States.Base64Decode",
    "States.Base64Encode",
    "States.Format",
    "States.Hash",
    "States.JsonMerge",
    "States.JsonToString",
    "States.MathAdd",
    "States.MathRandom",
    "States.StringSplit",
    "States.StringToJson",
    "States.UUID",
];

#[derive(Debug, Clone)]
enum Arg {
    Literal(Value),
    /// A path argument, as written and parsed.
    Path(String, Path),
    Call(String, Vec<Arg>),
}

/// An intrinsic function call such as `States.Format('{} {}', $.a, $$.Execution.Name)`,
/// parsed when the machine is compiled.
#[derive(Debug, Clone)]
pub(crate) struct Intrinsic {
    text: String,
    call: Arg,
}

impl Intrinsic {
    /// Parses a call; the error says what is wrong (an unknown function, a bad path argument,
    /// calls nested too deep, …).
    pub(crate) fn parse(expr: &str) -> Result<Intrinsic, String> {
        let expr = expr.trim();
        let chars: Vec<char> = expr.chars().collect();
        let invalid = |e: String| format!("Invalid intrinsic function expression '{expr}': {e}");
        let (call, end) = parse_call(&chars, 0, 0).map_err(invalid)?;
        if chars[end..].iter().any(|c| !c.is_whitespace()) {
            return Err(invalid("unexpected text after the call".into()));
        }
        Ok(Intrinsic {
            text: expr.to_owned(),
            call,
        })
    }

    /// Evaluates the call with the roots its paths read.
    pub(crate) fn evaluate(&self, roots: &Roots<'_>) -> Result<Value, Failure> {
        eval_arg(&self.call, roots, &self.text)
    }
}

/// Parses and evaluates a call (tests).
#[cfg(test)]
pub(crate) fn evaluate(expr: &str, roots: &Roots<'_>) -> Result<Value, Failure> {
    Intrinsic::parse(expr)
        .map_err(Failure::intrinsic)?
        .evaluate(roots)
}

fn skip_ws(chars: &[char], mut i: usize) -> usize {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    i
}

/// Parses a call at `start`, `depth` calls deep: the parser and the evaluator recurse once per
/// level, so the depth is bounded ([`MAX_INTRINSIC_DEPTH`]).
fn parse_call(chars: &[char], start: usize, depth: usize) -> Result<(Arg, usize), String> {
    if depth >= MAX_INTRINSIC_DEPTH {
        return Err(format!(
            "the calls nest more than {MAX_INTRINSIC_DEPTH} deep, the most the local engine accepts"
        ));
    }
    let mut i = start;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
        i += 1;
    }
    let name: String = chars[start..i].iter().collect();
    if !FUNCTIONS.contains(&name.as_str()) {
        return Err(format!("'{name}' is not an intrinsic function"));
    }
    i = skip_ws(chars, i);
    if chars.get(i) != Some(&'(') {
        return Err(format!("expected '(' after {name}"));
    }
    i += 1;
    let mut args = Vec::new();
    i = skip_ws(chars, i);
    if chars.get(i) == Some(&')') {
        return Ok((Arg::Call(name, args), i + 1));
    }
    loop {
        i = skip_ws(chars, i);
        let (arg, next) = parse_arg(chars, i, depth)?;
        args.push(arg);
        i = skip_ws(chars, next);
        match chars.get(i) {
            Some(',') => i += 1,
            Some(')') => return Ok((Arg::Call(name, args), i + 1)),
            Some(c) => return Err(format!("unexpected '{c}' in the arguments of {name}")),
            None => return Err(format!("missing ')' after the arguments of {name}")),
        }
    }
}

fn parse_arg(chars: &[char], start: usize, depth: usize) -> Result<(Arg, usize), String> {
    match chars.get(start) {
        Some('\'') => {
            let mut out = String::new();
            let mut i = start + 1;
            while i < chars.len() {
                match chars[i] {
                    '\\' if i + 1 < chars.len() => {
                        // Only the reserved characters are escaped: `\'`, `\\`, and `\{`,
                        // `\}` (kept escaped for States.Format). The service refuses any other
                        // escape at CreateStateMachine (`\"` in localstack's
                        // `test_illegal_escapes`).
                        let next = chars[i + 1];
                        match next {
                            '{' | '}' => out.push('\\'),
                            '\'' | '\\' => {}
                            other => {
                                return Err(format!(
                                    "'\\{other}' is not an escape of a string literal (only \\', \\{{, \\}} and \\\\ are)"
                                ));
                            }
                        }
                        out.push(next);
                        i += 2;
                    }
                    '\'' => return Ok((Arg::Literal(Value::String(out)), i + 1)),
                    c => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            Err("unterminated string literal".into())
        }
        Some('$') => {
            let mut i = start;
            let mut depth = 0i32;
            let mut quote: Option<char> = None;
            while i < chars.len() {
                let c = chars[i];
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None => match c {
                        '\'' | '"' => quote = Some(c),
                        '[' | '(' => depth += 1,
                        ']' => depth -= 1,
                        ')' if depth > 0 => depth -= 1,
                        ',' | ')' if depth == 0 => break,
                        _ => {}
                    },
                }
                i += 1;
            }
            let path: String = chars[start..i].iter().collect();
            let path = path.trim().to_owned();
            let parsed = Path::parse(&path)?;
            Ok((Arg::Path(path, parsed), i))
        }
        Some(c) if c.is_ascii_alphabetic() => {
            let rest: String = chars[start..].iter().take(6).collect();
            for (word, value) in [
                ("true", Value::Bool(true)),
                ("false", Value::Bool(false)),
                ("null", Value::Null),
            ] {
                if rest.starts_with(word)
                    && !chars
                        .get(start + word.len())
                        .is_some_and(|c| c.is_alphanumeric())
                {
                    return Ok((Arg::Literal(value), start + word.len()));
                }
            }
            parse_call(chars, start, depth + 1)
        }
        Some(c) if c.is_ascii_digit() || *c == '-' => {
            let mut i = start + 1;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | 'e' | 'E' | '+' | '-'))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let value: Value =
                serde_json::from_str(&text).map_err(|_| format!("bad number '{text}'"))?;
            Ok((Arg::Literal(value), i))
        }
        Some(c) => Err(format!("unexpected '{c}'")),
        None => Err("missing argument".into()),
    }
}

fn eval_arg(arg: &Arg, roots: &Roots<'_>, expr: &str) -> Result<Value, Failure> {
    match arg {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p, parsed) => {
            parsed.select(roots).ok_or_else(|| {
                Failure::runtime(format!(
                    "The function '{expr}' had the following error: The JsonPath argument for the field '{p}' could not be found in the input '{}'",
                    serde_json::to_string(roots.input).unwrap_or_default()
                ))
            })
        }
        Arg::Call(name, args) => {
            let values = args
                .iter()
                .map(|a| eval_arg(a, roots, expr))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, values, args)
        }
    }
}

fn fail(name: &str, message: impl std::fmt::Display) -> Failure {
    Failure::intrinsic(format!("Invalid arguments in {name}: {message}"))
}

fn arity(name: &str, args: &[Value], min: usize, max: usize) -> Result<(), Failure> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(fail(
            name,
            format!("expected {expected} argument(s), found {}", args.len()),
        ));
    }
    Ok(())
}

fn as_str<'v>(name: &str, v: &'v Value, what: &str) -> Result<&'v str, Failure> {
    v.as_str()
        .ok_or_else(|| fail(name, format!("{what} must be a string, found {v}")))
}

fn as_int(name: &str, v: &Value, what: &str) -> Result<i64, Failure> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| fail(name, format!("{what} must be an integer, found {v}"))),
        _ => Err(fail(name, format!("{what} must be an integer, found {v}"))),
    }
}

/// A number argument of `States.MathAdd` and `States.MathRandom`: the service takes any number
/// and rounds it to the nearest integer, halves up (Java's `Math.round`: 1.5 is 2, -1.5 is -1),
/// as recorded in localstack's `test_math_add` (1.49 + 1.5 is 3), although the developer guide
/// speaks of integers.
fn as_rounded_int(name: &str, v: &Value, what: &str) -> Result<i64, Failure> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => n
                .as_f64()
                .map(|f| (f + 0.5).floor())
                .filter(|f| f.is_finite() && f.abs() < 9.0e18)
                .map(|f| f as i64)
                .ok_or_else(|| fail(name, format!("{what} must be an integer, found {v}"))),
        },
        _ => Err(fail(name, format!("{what} must be an integer, found {v}"))),
    }
}

fn as_array<'v>(name: &str, v: &'v Value, what: &str) -> Result<&'v Vec<Value>, Failure> {
    v.as_array()
        .ok_or_else(|| fail(name, format!("{what} must be an array, found {v}")))
}

fn call(name: &str, args: Vec<Value>, raw: &[Arg]) -> Result<Value, Failure> {
    match name {
        "States.Format" => {
            if args.is_empty() {
                return Err(fail(name, "expected a format string"));
            }
            let template = match raw.first() {
                Some(Arg::Literal(Value::String(s))) => s.clone(),
                _ => as_str(name, &args[0], "the format string")?.to_owned(),
            };
            format(name, &template, &args[1..])
        }
        "States.StringToJson" => {
            arity(name, &args, 1, 1)?;
            let s = as_str(name, &args[0], "the argument")?;
            // An empty or blank string is `null` (recorded in localstack's test_string_to_json).
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(s).map_err(|e| fail(name, format!("'{s}' is not JSON: {e}")))
        }
        "States.JsonToString" => {
            arity(name, &args, 1, 1)?;
            Ok(Value::String(
                serde_json::to_string(&args[0]).unwrap_or_default(),
            ))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            arity(name, &args, 2, 2)?;
            let items = as_array(name, &args[0], "the first argument")?;
            let size = as_int(name, &args[1], "the chunk size")?;
            if size <= 0 {
                return Err(fail(name, "the chunk size must be greater than 0"));
            }
            Ok(Value::Array(
                items
                    .chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            arity(name, &args, 2, 2)?;
            let items = as_array(name, &args[0], "the first argument")?;
            Ok(Value::Bool(items.contains(&args[1])))
        }
        "States.ArrayRange" => {
            arity(name, &args, 3, 3)?;
            let start = as_rounded_int(name, &args[0], "the start")?;
            let end = as_rounded_int(name, &args[1], "the end")?;
            let step = as_int(name, &args[2], "the step")?;
            if step == 0 {
                return Err(fail(name, "the step must not be 0"));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(json!(i));
                if out.len() > 1000 {
                    return Err(fail(name, "the range has more than 1000 items"));
                }
                // Past i64's range there is no next item.
                let Some(next) = i.checked_add(step) else {
                    break;
                };
                i = next;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            arity(name, &args, 2, 2)?;
            let items = as_array(name, &args[0], "the first argument")?;
            let index = as_int(name, &args[1], "the index")?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| fail(name, format!("index {index} is out of bounds")))
        }
        "States.ArrayLength" => {
            arity(name, &args, 1, 1)?;
            Ok(json!(as_array(name, &args[0], "the argument")?.len()))
        }
        "States.ArrayUnique" => {
            arity(name, &args, 1, 1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in as_array(name, &args[0], "the argument")? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(name, &args, 1, 1)?;
            let s = as_str(name, &args[0], "the argument")?;
            if s.len() > 10_000 {
                return Err(fail(name, "the input is longer than 10000 characters"));
            }
            Ok(Value::String(
                base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
            ))
        }
        "States.Base64Decode" => {
            arity(name, &args, 1, 1)?;
            let s = as_str(name, &args[0], "the argument")?;
            if s.len() > 10_000 {
                return Err(fail(name, "the input is longer than 10000 characters"));
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| fail(name, format!("'{s}' is not base64: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|_| fail(name, "the decoded data is not UTF-8"))
        }
        "States.Hash" => {
            arity(name, &args, 2, 2)?;
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => serde_json::to_string(other).unwrap_or_default(),
            };
            let algorithm = as_str(name, &args[1], "the algorithm")?;
            digest::hash(data.as_bytes(), algorithm)
                .map(Value::String)
                .ok_or_else(|| {
                    fail(
                        name,
                        format!("unknown algorithm '{algorithm}'; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"),
                    )
                })
        }
        "States.JsonMerge" => {
            arity(name, &args, 3, 3)?;
            let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
                return Err(fail(name, "the first two arguments must be objects"));
            };
            if args[2] != Value::Bool(false) {
                return Err(fail(
                    name,
                    "deep merge is not supported: the third argument must be false",
                ));
            }
            let mut out: Map<String, Value> = a.clone();
            for (k, v) in b {
                out.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(out))
        }
        "States.MathRandom" => {
            arity(name, &args, 2, 3)?;
            let start = as_rounded_int(name, &args[0], "the start")?;
            let end = as_rounded_int(name, &args[1], "the end")?;
            if end <= start {
                return Err(fail(name, "the end must be greater than the start"));
            }
            let value = match args.get(2) {
                Some(seed) => {
                    let seed = as_int(name, seed, "the seed")?;
                    rand::rngs::StdRng::seed_from_u64(seed as u64).gen_range(start..end)
                }
                None => rand::thread_rng().gen_range(start..end),
            };
            Ok(json!(value))
        }
        "States.MathAdd" => {
            arity(name, &args, 2, 2)?;
            let a = as_rounded_int(name, &args[0], "the first argument")?;
            let b = as_rounded_int(name, &args[1], "the second argument")?;
            a.checked_add(b)
                .map(|s| json!(s))
                .ok_or_else(|| fail(name, "the sum overflows"))
        }
        "States.StringSplit" => {
            arity(name, &args, 2, 2)?;
            let s = as_str(name, &args[0], "the string")?;
            let delimiters = as_str(name, &args[1], "the delimiter")?;
            Ok(Value::Array(
                s.split(|c| delimiters.contains(c))
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            arity(name, &args, 0, 0)?;
            Ok(Value::String(uuid::Uuid::new_v4().to_string()))
        }
        other => Err(Failure::intrinsic(format!(
            "Unknown intrinsic function '{other}'"
        ))),
    }
}

/// A `States.Format` argument as the service writes it: as Java prints its value, a string as
/// is, an object `{a=1, b=[x, y]}` and an array `[1, x]` (recorded in localstack's
/// `test_format_2` and `test_context_json_path`), a number, boolean or null as in JSON.
fn java_text(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Object(fields) => {
            out.push('{');
            for (i, (key, field)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                java_text(field, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                java_text(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn format(name: &str, template: &str, args: &[Value]) -> Result<Value, Failure> {
    let mut out = String::new();
    let mut next = 0;
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '{' if chars.get(i + 1) == Some(&'}') => {
                let arg = args.get(next).ok_or_else(|| {
                    fail(
                        name,
                        format!(
                            "the format string has more placeholders than the {} argument(s)",
                            args.len()
                        ),
                    )
                })?;
                java_text(arg, &mut out);
                next += 1;
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    if next != args.len() {
        return Err(fail(
            name,
            format!(
                "the format string has {next} placeholder(s) but {} argument(s) were given",
                args.len()
            ),
        ));
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expr: &str, input: Value) -> Result<Value, Failure> {
        let ctx = |_: bool| json!({"Execution": {"Name": "exec-1"}});
        let vars = |_: &str| None;
        let roots = Roots {
            input: &input,
            context: &ctx,
            vars: &vars,
        };
        evaluate(expr, &roots)
    }

    #[test]
    fn documented_examples() {
        // Examples from the "Intrinsic functions" page of the Step Functions developer guide.
        assert_eq!(
            run(
                "States.Format('Hello, my name is {}.', $.name)",
                json!({"name": "Arnav"})
            )
            .unwrap(),
            json!("Hello, my name is Arnav.")
        );
        assert_eq!(
            run(
                "States.StringToJson($.escapedJsonString)",
                json!({"escapedJsonString": "{\"foo\": \"bar\"}"})
            )
            .unwrap(),
            json!({"foo": "bar"})
        );
        assert_eq!(
            run(
                "States.JsonToString($.unescapedJson)",
                json!({"unescapedJson": {"foo": "bar"}})
            )
            .unwrap(),
            json!("{\"foo\":\"bar\"}")
        );
        assert_eq!(
            run(
                "States.Array('Foo', 2020, $.someJson, null)",
                json!({"someJson": {"random": "abcdefg"}})
            )
            .unwrap(),
            json!(["Foo", 2020, {"random": "abcdefg"}, null])
        );
        assert_eq!(
            run(
                "States.ArrayPartition($.inputArray, 4)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9]})
            )
            .unwrap(),
            json!([[1, 2, 3, 4], [5, 6, 7, 8], [9]])
        );
        assert_eq!(
            run(
                "States.ArrayContains($.inputArray, $.lookingFor)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "lookingFor": 5})
            )
            .unwrap(),
            json!(true)
        );
        assert_eq!(
            run("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
            json!([1, 3, 5, 7, 9])
        );
        assert_eq!(
            run(
                "States.ArrayGetItem($.inputArray, $.index)",
                json!({"inputArray": [1,2,3,4,5,6,7,8,9], "index": 5})
            )
            .unwrap(),
            json!(6)
        );
        assert_eq!(
            run("States.ArrayLength($.a)", json!({"a": [1,2,3]})).unwrap(),
            json!(3)
        );
        assert_eq!(
            run("States.ArrayUnique($.a)", json!({"a": [1,2,3,3,3,3,3,3,4]})).unwrap(),
            json!([1, 2, 3, 4])
        );
        assert_eq!(
            run(
                "States.Base64Encode($.input)",
                json!({"input": "Data to encode"})
            )
            .unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            run(
                "States.Base64Decode($.base64)",
                json!({"base64": "RGF0YSB0byBlbmNvZGU="})
            )
            .unwrap(),
            json!("Data to encode")
        );
        assert_eq!(
            run(
                "States.Hash($.Data, $.Algorithm)",
                json!({"Data": "input data", "Algorithm": "SHA-1"})
            )
            .unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            run("States.JsonMerge($.json1, $.json2, false)",
                json!({"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}})).unwrap(),
            json!({"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3})
        );
        assert_eq!(
            run(
                "States.MathAdd($.value1, $.step)",
                json!({"value1": 111, "step": -1})
            )
            .unwrap(),
            json!(110)
        );
        assert_eq!(
            run(
                "States.StringSplit($.inputString, $.splitter)",
                json!({"inputString": "This.is+a,test=string", "splitter": ".+,="})
            )
            .unwrap(),
            json!(["This", "is", "a", "test", "string"])
        );
        let r = run("States.MathRandom(1, 999)", json!({}))
            .unwrap()
            .as_i64()
            .unwrap();
        assert!((1..999).contains(&r));
        assert_eq!(
            run("States.UUID()", json!({}))
                .unwrap()
                .as_str()
                .unwrap()
                .len(),
            36
        );
    }

    #[test]
    fn nested_calls_context_and_escapes() {
        assert_eq!(
            run(
                "States.Format('{}.{}', States.ArrayGetItem(States.StringSplit($.arn, '/'), 1), $$.Execution.Name)",
                json!({"arn": "a/b/c"})
            )
            .unwrap(),
            json!("b.exec-1")
        );
        assert_eq!(
            run("States.Format('\\{\\} {} it\\'s', 'x')", json!({})).unwrap(),
            json!("{} x it's")
        );
    }

    #[test]
    fn misuse_is_an_intrinsic_failure() {
        for expr in [
            "States.Format('{} {}', 'one')",
            "States.ArrayGetItem(States.Array(1), 5)",
            "States.StringToJson('not json')",
            "States.Hash('x', 'SHA-3')",
            "States.Nope(1)",
            "States.MathAdd('a', 1)",
        ] {
            let err = run(expr, json!({})).unwrap_err();
            assert_eq!(err.error, crate::errors::INTRINSIC_FAILURE, "{expr}");
        }
    }

    #[test]
    fn recorded_number_rounding_blank_json_and_java_text() {
        let add = |a: f64, b: f64| run("States.MathAdd($.a, $.b)", json!({"a": a, "b": b}));
        assert_eq!(add(1.49, 1.5).unwrap(), json!(3));
        assert_eq!(add(-1.5, -1.51).unwrap(), json!(-3));
        assert_eq!(add(-2.5, 0.0).unwrap(), json!(-2));
        assert_eq!(
            run("States.StringToJson($.s)", json!({"s": " "})).unwrap(),
            Value::Null
        );
        assert_eq!(
            run(
                "States.Format('{}', $.o)",
                json!({"o": {"a": 1, "b": ["x", null, {}]}})
            )
            .unwrap(),
            json!("{a=1, b=[x, null, {}]}")
        );
    }
}
