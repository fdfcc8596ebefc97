//! JSONPath as Step Functions uses it: paths (`$.a[*].b`, `$..c`, filters), reference paths
//! (`$.a.b[0]`, for `ResultPath` and Choice variables), the context object (`$$.`), workflow
//! variables (`$name.field`), and payload templates with `.$` keys.

use serde_json::{Map, Value};

use crate::errors::Failure;
use crate::intrinsics;

/// What a path can start from.
pub(crate) struct Roots<'a> {
    /// `$`: the state's (effective) input.
    pub input: &'a Value,
    /// `$$`: the context object, built on demand (`true`: with `Execution.Input`).
    pub context: &'a dyn Fn(bool) -> Value,
    /// `$name`: workflow variables.
    pub vars: &'a dyn Fn(&str) -> Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
enum Root {
    Input,
    Context,
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Child(String),
    Index(i64),
    Wildcard,
    Names(Vec<String>),
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Filter),
    Descend(Box<Segment>),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Segment>,
    op: Option<(String, Value)>,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    root: Root,
    segments: Vec<Segment>,
}

impl Path {
    /// Parses a path; the error says what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Path, String> {
        let text = text.trim();
        let (root, rest) = if let Some(rest) = text.strip_prefix("$$") {
            (Root::Context, rest)
        } else if let Some(rest) = text.strip_prefix('$') {
            let name_len = rest
                .char_indices()
                .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            if name_len > 0 {
                (
                    Root::Variable(rest[..name_len].to_owned()),
                    &rest[name_len..],
                )
            } else {
                (Root::Input, rest)
            }
        } else {
            return Err(format!("the path '{text}' must start with '$'"));
        };
        let segments = parse_segments(rest).map_err(|e| format!("invalid path '{text}': {e}"))?;
        Ok(Path { root, segments })
    }

    /// The path in the normalized bracket form the service prints: `$['a']['b'][0]`.
    pub(crate) fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_owned(),
            Root::Context => "$$".to_owned(),
            Root::Variable(name) => format!("${name}"),
        };
        for segment in &self.segments {
            match segment {
                Segment::Child(name) => out.push_str(&format!("['{name}']")),
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Wildcard => out.push_str("[*]"),
                Segment::Names(names) => out.push_str(&format!(
                    "[{}]",
                    names
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
                Segment::Indexes(indexes) => out.push_str(&format!(
                    "[{}]",
                    indexes
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                )),
                Segment::Slice(a, b, c) => {
                    let f = |x: &Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
                    out.push_str(&format!("[{}:{}:{}]", f(a), f(b), f(c)));
                }
                Segment::Filter(_) => out.push_str("[?]"),
                Segment::Descend(_) => out.push_str(".."),
            }
        }
        out
    }

    /// Whether a context path may read `Execution.Input`.
    fn reads_execution_input(&self) -> bool {
        match self.segments.as_slice() {
            [Segment::Child(first), Segment::Child(second), ..] if first == "Execution" => {
                second == "Input"
            }
            [Segment::Child(first), ..] => first == "Execution",
            _ => true,
        }
    }

    /// Whether the path selects at most one value (no wildcard, filter, slice, union or `..`).
    pub(crate) fn is_definite(&self) -> bool {
        self.segments
            .iter()
            .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)))
    }

    /// The value at the path: the single value for a definite path (None when missing), the
    /// array of matches otherwise.
    pub(crate) fn select(&self, roots: &Roots<'_>) -> Option<Value> {
        let root_value;
        let root: &Value = match &self.root {
            Root::Input => roots.input,
            Root::Context => {
                root_value = (roots.context)(self.reads_execution_input());
                &root_value
            }
            Root::Variable(name) => {
                root_value = (roots.vars)(name)?;
                &root_value
            }
        };
        let mut current: Vec<&Value> = vec![root];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                apply(segment, value, &mut next);
            }
            current = next;
        }
        if self.is_definite() {
            current.first().map(|v| (*v).clone())
        } else {
            Some(Value::Array(current.into_iter().cloned().collect()))
        }
    }
}

fn apply<'v>(segment: &Segment, value: &'v Value, out: &mut Vec<&'v Value>) {
    match segment {
        Segment::Child(name) => {
            if let Some(v) = value.as_object().and_then(|o| o.get(name)) {
                out.push(v);
            }
        }
        Segment::Index(i) => {
            if let Some(a) = value.as_array() {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if idx >= 0 {
                    if let Some(v) = a.get(idx as usize) {
                        out.push(v);
                    }
                }
            }
        }
        Segment::Wildcard => match value {
            Value::Object(o) => out.extend(o.values()),
            Value::Array(a) => out.extend(a.iter()),
            _ => {}
        },
        Segment::Names(names) => {
            for n in names {
                apply(&Segment::Child(n.clone()), value, out);
            }
        }
        Segment::Indexes(indexes) => {
            for i in indexes {
                apply(&Segment::Index(*i), value, out);
            }
        }
        Segment::Slice(start, end, step) => {
            if let Some(a) = value.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = start.map(norm).unwrap_or(0);
                let e = end.map(norm).unwrap_or(len);
                let step = step.unwrap_or(1).max(1);
                let mut i = s;
                while i < e {
                    out.push(&a[i as usize]);
                    i += step;
                }
            }
        }
        Segment::Filter(filter) => {
            let items: Vec<&Value> = match value {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => o.values().collect(),
                _ => Vec::new(),
            };
            for item in items {
                if filter_matches(filter, item) {
                    out.push(item);
                }
            }
        }
        Segment::Descend(inner) => {
            descend(inner, value, out);
        }
    }
}

fn descend<'v>(inner: &Segment, value: &'v Value, out: &mut Vec<&'v Value>) {
    apply(inner, value, out);
    match value {
        Value::Object(o) => o.values().for_each(|v| descend(inner, v, out)),
        Value::Array(a) => a.iter().for_each(|v| descend(inner, v, out)),
        _ => {}
    }
}

fn filter_matches(filter: &Filter, item: &Value) -> bool {
    let mut current = vec![item];
    for segment in &filter.path {
        let mut next = Vec::new();
        for v in current {
            apply(segment, v, &mut next);
        }
        current = next;
    }
    let Some(found) = current.first() else {
        return false;
    };
    let Some((op, literal)) = &filter.op else {
        return true;
    };
    let ordering = match (found, literal) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    match op.as_str() {
        "==" => ordering.map(|o| o.is_eq()).unwrap_or(*found == literal),
        "!=" => !ordering.map(|o| o.is_eq()).unwrap_or(*found == literal),
        "<" => ordering.is_some_and(|o| o.is_lt()),
        "<=" => ordering.is_some_and(|o| o.is_le()),
        ">" => ordering.is_some_and(|o| o.is_gt()),
        ">=" => ordering.is_some_and(|o| o.is_ge()),
        _ => false,
    }
}

fn parse_segments(text: &str) -> Result<Vec<Segment>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut segments = Vec::new();
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if chars.get(i + 1) == Some(&'.') {
                    i += 2;
                    let (segment, next) = if chars.get(i) == Some(&'[') {
                        parse_bracket(&chars, i)?
                    } else {
                        parse_dot_name(&chars, i)?
                    };
                    segments.push(Segment::Descend(Box::new(segment)));
                    i = next;
                } else {
                    let (segment, next) = parse_dot_name(&chars, i + 1)?;
                    segments.push(segment);
                    i = next;
                }
            }
            '[' => {
                let (segment, next) = parse_bracket(&chars, i)?;
                segments.push(segment);
                i = next;
            }
            c => return Err(format!("unexpected '{c}' at position {i}")),
        }
    }
    Ok(segments)
}

fn parse_dot_name(chars: &[char], start: usize) -> Result<(Segment, usize), String> {
    let mut end = start;
    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
        end += 1;
    }
    let name: String = chars[start..end].iter().collect();
    if name.is_empty() {
        return Err(format!("empty field name at position {start}"));
    }
    if name == "*" {
        return Ok((Segment::Wildcard, end));
    }
    Ok((Segment::Child(name), end))
}

fn parse_bracket(chars: &[char], start: usize) -> Result<(Segment, usize), String> {
    // Find the matching ']' outside quotes and parentheses.
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut end = start + 1;
    while end < chars.len() {
        let c = chars[end];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if c == '\\' => end += 1,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => depth -= 1,
                ']' if depth == 0 => break,
                _ => {}
            },
        }
        end += 1;
    }
    if end >= chars.len() {
        return Err("unclosed '['".into());
    }
    let inner: String = chars[start + 1..end].iter().collect();
    let inner = inner.trim();
    let segment = if inner == "*" {
        Segment::Wildcard
    } else if let Some(filter) = inner.strip_prefix('?') {
        Segment::Filter(parse_filter(filter.trim())?)
    } else if inner.starts_with('\'') || inner.starts_with('"') {
        let names = split_top(inner, ',')
            .into_iter()
            .map(|part| unquote(part.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if names.len() == 1 {
            Segment::Child(names.into_iter().next().unwrap_or_default())
        } else {
            Segment::Names(names)
        }
    } else if inner.contains(':') {
        let parts: Vec<&str> = inner.split(':').collect();
        let num = |s: &str| -> Result<Option<i64>, String> {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse()
                    .map(Some)
                    .map_err(|_| format!("bad slice bound '{s}'"))
            }
        };
        Segment::Slice(
            num(parts[0])?,
            num(parts.get(1).copied().unwrap_or(""))?,
            num(parts.get(2).copied().unwrap_or(""))?,
        )
    } else {
        let indexes = inner
            .split(',')
            .map(|s| {
                s.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("bad index '{s}'"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if indexes.len() == 1 {
            Segment::Index(indexes[0])
        } else {
            Segment::Indexes(indexes)
        }
    };
    Ok((segment, end + 1))
}

fn unquote(s: &str) -> Result<String, String> {
    let q = s.chars().next().ok_or("empty name")?;
    if s.len() < 2 || !s.ends_with(q) {
        return Err(format!("bad quoted name {s}"));
    }
    let body = &s[1..s.len() - 1];
    let mut out = String::new();
    let mut escaped = false;
    for c in body.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == sep => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_filter(text: &str) -> Result<Filter, String> {
    let body = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("a filter must be '?(...)', found '?{text}'"))?
        .trim();
    let ops = ["==", "!=", "<=", ">=", "<", ">"];
    let found = ops.iter().find_map(|op| body.find(op).map(|i| (i, *op)));
    let (left, op) = match found {
        Some((i, op)) => (&body[..i], Some((op, &body[i + op.len()..]))),
        None => (body, None),
    };
    let left = left.trim();
    let rest = left
        .strip_prefix('@')
        .ok_or_else(|| format!("a filter must compare '@…', found '{left}'"))?;
    let path = parse_segments(rest)?;
    let op = match op {
        None => None,
        Some((op, literal)) => {
            let literal = literal.trim();
            let value = if literal.starts_with('\'') {
                Value::String(unquote(literal)?)
            } else {
                serde_json::from_str(literal)
                    .map_err(|_| format!("bad literal '{literal}' in filter"))?
            };
            Some((op.to_owned(), value))
        }
    };
    Ok(Filter { path, op })
}

/// Selects a path from the roots, failing with `States.Runtime` when it matches nothing.
pub(crate) fn select(path: &str, roots: &Roots<'_>, field: &str) -> Result<Value, Failure> {
    let parsed = Path::parse(path).map_err(Failure::runtime)?;
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
            let parsed = Path::parse(p).map_err(Failure::runtime)?;
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
    let parsed = Path::parse(path).map_err(Failure::runtime)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_vars(_: &str) -> Option<Value> {
        None
    }

    fn sel(input: &Value, path: &str) -> Option<Value> {
        let ctx = |_: bool| json!({"Execution": {"Name": "x"}});
        let roots = Roots {
            input,
            context: &ctx,
            vars: &no_vars,
        };
        Path::parse(path).unwrap().select(&roots)
    }

    #[test]
    fn selects_paths_like_the_service() {
        let input =
            json!({"a": {"b": [1, 2, {"c": "x"}]}, "items": [{"p": 1}, {"p": 5}], "k-y": 3});
        assert_eq!(sel(&input, "$"), Some(input.clone()));
        assert_eq!(sel(&input, "$.a.b[1]"), Some(json!(2)));
        assert_eq!(sel(&input, "$.a.b[-1].c"), Some(json!("x")));
        assert_eq!(sel(&input, "$['k-y']"), Some(json!(3)));
        assert_eq!(sel(&input, "$.items[*].p"), Some(json!([1, 5])));
        assert_eq!(sel(&input, "$..p"), Some(json!([1, 5])));
        assert_eq!(sel(&input, "$.items[?(@.p > 2)]"), Some(json!([{"p": 5}])));
        assert_eq!(sel(&input, "$.a.b[0:2]"), Some(json!([1, 2])));
        assert_eq!(sel(&input, "$.missing"), None);
        assert_eq!(sel(&input, "$$.Execution.Name"), Some(json!("x")));
    }

    #[test]
    fn result_path_merges_into_the_raw_input() {
        let input = json!({"a": 1});
        assert_eq!(
            Path::parse("$.a['b c'][0]").unwrap().normalized(),
            "$['a']['b c'][0]"
        );
        let r = |p: Option<Option<String>>| apply_result_path(&input, &p, json!("r")).unwrap();
        assert_eq!(r(None), json!("r"));
        assert_eq!(r(Some(None)), json!({"a": 1}));
        assert_eq!(
            r(Some(Some("$.x.y".into()))),
            json!({"a": 1, "x": {"y": "r"}})
        );
        let err = apply_result_path(&json!("str"), &Some(Some("$.x".into())), json!(1));
        assert_eq!(err.unwrap_err().error, crate::errors::RUNTIME);
    }

    #[test]
    fn templates_evaluate_dollar_keys_and_variables() {
        let input = json!({"title": "Doctor", "n": [1, 2]});
        let ctx = |_: bool| json!({});
        let vars = |name: &str| (name == "customerName").then(|| json!("María"));
        let roots = Roots {
            input: &input,
            context: &ctx,
            vars: &vars,
        };
        let out = template(
            &json!({"static": "Hello", "title.$": "$.title", "name.$": "$customerName",
                    "not-evaluated": "$customerName", "nested": [{"len.$": "States.ArrayLength($.n)"}]}),
            &roots,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"static": "Hello", "title": "Doctor", "name": "María",
                   "not-evaluated": "$customerName", "nested": [{"len": 2}]})
        );
        let missing = template(&json!({"x.$": "$.nope"}), &roots).unwrap_err();
        assert_eq!(missing.error, crate::errors::RUNTIME);
    }
}
