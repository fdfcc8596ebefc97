//! Paths: `$.a[*].b`, `$..c`, slices, unions, Jayway filters and path functions, from the
//! input (`$`), the context object (`$$`) or a workflow variable (`$name`); parsed once, when
//! the machine is compiled. The filter's comparisons are in [`super::filter`].

use serde_json::{Map, Value};

use super::Roots;
use super::filter::{FilterRegex, Relation, relate, truthy_literal};
use crate::errors::Failure;
use crate::limits::MAX_FILTER_TERMS;
use crate::literals::outside_literals;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Root {
    Input,
    Context,
    Variable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Segment {
    Child(String),
    Index(i64),
    Wildcard,
    Names(Vec<String>),
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<FilterExpr>),
    Descend(Box<Segment>),
    /// A Jayway path function at the end of a path: `length()`, `sum()`, …
    Function(PathFunction),
}

/// The functions Jayway JsonPath offers at the end of a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum PathFunction {
    Length,
    Min,
    Max,
    Avg,
    Stddev,
    Sum,
    Keys,
    First,
    Last,
}

impl PathFunction {
    fn parse(name: &str) -> Option<PathFunction> {
        Some(match name {
            "length" | "size" => PathFunction::Length,
            "min" => PathFunction::Min,
            "max" => PathFunction::Max,
            "avg" => PathFunction::Avg,
            "stddev" => PathFunction::Stddev,
            "sum" => PathFunction::Sum,
            "keys" => PathFunction::Keys,
            "first" => PathFunction::First,
            "last" => PathFunction::Last,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            PathFunction::Length => "length",
            PathFunction::Min => "min",
            PathFunction::Max => "max",
            PathFunction::Avg => "avg",
            PathFunction::Stddev => "stddev",
            PathFunction::Sum => "sum",
            PathFunction::Keys => "keys",
            PathFunction::First => "first",
            PathFunction::Last => "last",
        }
    }

    /// Applies the function to the value the path selected (the array of matches for an
    /// indefinite path). `None`: no result (the path is then not found).
    fn apply(self, value: &Value) -> Option<Value> {
        let numbers = || -> Vec<f64> {
            value
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let float = |f: f64| serde_json::Number::from_f64(f).map(Value::Number);
        match self {
            PathFunction::Length => match value {
                Value::Array(a) => Some(Value::from(a.len())),
                Value::Object(o) => Some(Value::from(o.len())),
                Value::String(s) => Some(Value::from(s.chars().count())),
                _ => None,
            },
            PathFunction::Sum => {
                let n = numbers();
                (!n.is_empty()).then(|| n.iter().sum()).and_then(float)
            }
            PathFunction::Avg => {
                let n = numbers();
                (!n.is_empty())
                    .then(|| n.iter().sum::<f64>() / n.len() as f64)
                    .and_then(float)
            }
            PathFunction::Stddev => {
                let n = numbers();
                if n.is_empty() {
                    return None;
                }
                let len = n.len() as f64;
                let mean = n.iter().sum::<f64>() / len;
                let squares = n.iter().map(|x| x * x).sum::<f64>() / len;
                float((squares - mean * mean).sqrt())
            }
            PathFunction::Min => numbers().into_iter().reduce(f64::min).and_then(float),
            PathFunction::Max => numbers().into_iter().reduce(f64::max).and_then(float),
            PathFunction::Keys => value
                .as_object()
                .map(|o| Value::Array(o.keys().cloned().map(Value::String).collect())),
            PathFunction::First => value.as_array().and_then(|a| a.first()).cloned(),
            PathFunction::Last => value.as_array().and_then(|a| a.last()).cloned(),
        }
    }
}

/// A Jayway filter expression: `?(@.a > 1 && (@.b == 'x' || !@.c))`.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FilterExpr {
    Or(Box<FilterExpr>, Box<FilterExpr>),
    And(Box<FilterExpr>, Box<FilterExpr>),
    Not(Box<FilterExpr>),
    /// A bare path: true when it exists (even with a `null` or `false` value).
    Exists(Operand),
    Compare(Operand, Relation, Operand),
}

/// One side of a filter comparison.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Operand {
    /// `@…`: from the item being tested.
    Current(Vec<Segment>),
    /// `$…`: from the root of the document.
    Root(Vec<Segment>),
    Literal(Value),
    /// `/pattern/flags`, matched against the whole string as Jayway's `=~` does.
    Regex(FilterRegex),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    /// The path as written (trimmed), for error messages.
    text: Box<str>,
    pub(super) root: Root,
    pub(super) segments: Vec<Segment>,
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
        Ok(Path {
            text: text.into(),
            root,
            segments,
        })
    }

    /// The path as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Why the path selects nothing, as the service (Jayway) words it for `InputPath`,
    /// `OutputPath` and `TimeoutSecondsPath`: a missing property before the last step is
    /// "Missing property in path $['a']", anything else "No results for path: $['a']['b']".
    pub(crate) fn not_found(&self, roots: &Roots<'_>) -> Failure {
        let prefix = Path {
            text: self.text.clone(),
            root: self.root.clone(),
            segments: Vec::new(),
        };
        let mut current = prefix.select(roots);
        let mut walked = prefix;
        let last = self.segments.len().saturating_sub(1);
        for (i, segment) in self.segments.iter().enumerate() {
            walked.segments.push(segment.clone());
            let Segment::Child(name) = segment else {
                break;
            };
            let Some(Value::Object(object)) = current else {
                break;
            };
            match object.get(name) {
                Some(next) => current = Some(next.clone()),
                None if i < last => {
                    return Failure::runtime(format!(
                        "Invalid path '{}' : Missing property in path {}",
                        self.text,
                        walked.normalized()
                    ));
                }
                None => break,
            }
        }
        Failure::runtime(format!(
            "Invalid path '{}' : No results for path: {}",
            self.text,
            self.normalized()
        ))
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
                Segment::Function(f) => out.push_str(&format!(".{}()", f.name())),
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
        select_segments(&self.segments, root, root)
    }
}

/// The value at `segments` from `start`: the single value for a definite path, the array of
/// matches otherwise, and a trailing function applied to either.
fn select_segments(segments: &[Segment], start: &Value, root: &Value) -> Option<Value> {
    let (segments, function) = match segments.split_last() {
        Some((Segment::Function(f), rest)) => (rest, Some(*f)),
        _ => (segments, None),
    };
    if function.is_none()
        && let Some(found) = select_definite(segments, start)
    {
        return found.cloned();
    }
    let mut current: Vec<&Value> = vec![start];
    for segment in segments {
        let mut next = Vec::new();
        for value in current {
            apply(segment, value, root, &mut next);
        }
        current = next;
    }
    let definite = segments
        .iter()
        .all(|s| matches!(s, Segment::Child(_) | Segment::Index(_)));
    match function {
        None if definite => current.first().map(|v| (*v).clone()),
        None => Some(Value::Array(current.into_iter().cloned().collect())),
        Some(f) if definite => f.apply(current.first()?),
        // As Jayway: after a deep scan (`$..price.sum()`) the function takes all the matches;
        // after another indefinite path, it applies to each match.
        Some(f) if matches!(segments.first(), Some(Segment::Descend(_))) => {
            f.apply(&Value::Array(current.into_iter().cloned().collect()))
        }
        Some(f) => Some(Value::Array(
            current.into_iter().filter_map(|v| f.apply(v)).collect(),
        )),
    }
}

/// The field `name` of an object. A payload's objects are mostly small, and comparing a few
/// short keys costs less than hashing the name (serde_json's maps hash with SipHash).
fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    match object.len() {
        0..=8 => object.iter().find_map(|(k, v)| (k == name).then_some(v)),
        _ => object.get(name),
    }
}

/// The value at a definite path (only names and indexes), found without collecting matches;
/// `None` when the path is not definite, `Some(None)` when it matches nothing.
fn select_definite<'v>(segments: &[Segment], start: &'v Value) -> Option<Option<&'v Value>> {
    let mut current = Some(start);
    for segment in segments {
        current = match segment {
            Segment::Child(name) => current.and_then(|v| field(v.as_object()?, name)),
            Segment::Index(i) => current.and_then(|v| {
                let a = v.as_array()?;
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                usize::try_from(idx).ok().and_then(|idx| a.get(idx))
            }),
            _ => return None,
        };
    }
    Some(current)
}

fn apply<'v>(segment: &Segment, value: &'v Value, root: &Value, out: &mut Vec<&'v Value>) {
    match segment {
        Segment::Child(name) => {
            if let Some(v) = value.as_object().and_then(|o| field(o, name)) {
                out.push(v);
            }
        }
        Segment::Index(i) => {
            if let Some(a) = value.as_array() {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if idx >= 0
                    && let Some(v) = a.get(idx as usize)
                {
                    out.push(v);
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
                apply(&Segment::Child(n.clone()), value, root, out);
            }
        }
        Segment::Indexes(indexes) => {
            for i in indexes {
                apply(&Segment::Index(*i), value, root, out);
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
        // As Jayway: an object is tested itself, an array item by item. As the service
        // documents, `@` only matches objects: scalar items are never selected.
        Segment::Filter(filter) => match value {
            Value::Object(_) if filter_matches(filter, value, root) => out.push(value),
            Value::Array(a) => {
                for item in a {
                    if item.is_object() && filter_matches(filter, item, root) {
                        out.push(item);
                    }
                }
            }
            _ => {}
        },
        Segment::Descend(inner) => {
            descend(inner, value, root, out);
        }
        // Functions are applied by `select_segments`, at the end of a path only.
        Segment::Function(_) => {}
    }
}

fn descend<'v>(inner: &Segment, value: &'v Value, root: &Value, out: &mut Vec<&'v Value>) {
    if let Segment::Filter(filter) = inner {
        // A deep scan with a filter tests every object once, in document order.
        if value.is_object() && filter_matches(filter, value, root) {
            out.push(value);
        }
    } else {
        apply(inner, value, root, out);
    }
    match value {
        Value::Object(o) => o.values().for_each(|v| descend(inner, v, root, out)),
        Value::Array(a) => a.iter().for_each(|v| descend(inner, v, root, out)),
        _ => {}
    }
}

/// An operand's value: `None` is Jayway's undefined (a path that is not there).
fn operand_value(operand: &Operand, item: &Value, root: &Value) -> Option<Value> {
    match operand {
        Operand::Current(segments) => select_segments(segments, item, root),
        Operand::Root(segments) => select_segments(segments, root, root),
        Operand::Literal(v) => Some(v.clone()),
        Operand::Regex(..) => None,
    }
}

fn filter_matches(filter: &FilterExpr, item: &Value, root: &Value) -> bool {
    match filter {
        FilterExpr::Or(a, b) => filter_matches(a, item, root) || filter_matches(b, item, root),
        FilterExpr::And(a, b) => filter_matches(a, item, root) && filter_matches(b, item, root),
        FilterExpr::Not(inner) => !filter_matches(inner, item, root),
        FilterExpr::Exists(operand) => match operand {
            Operand::Literal(v) => truthy_literal(v),
            other => operand_value(other, item, root).is_some(),
        },
        FilterExpr::Compare(left, relation, right) => {
            let l = operand_value(left, item, root);
            if *relation == Relation::Matches {
                let (Some(Value::String(text)), Operand::Regex(regex)) = (&l, right) else {
                    return false;
                };
                return regex.0.is_match(text);
            }
            let r = operand_value(right, item, root);
            relate(l.as_ref(), *relation, r.as_ref())
        }
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
    if let Some(position) = segments
        .iter()
        .position(|s| matches!(s, Segment::Function(_)))
        && position + 1 != segments.len()
    {
        return Err("a function such as length() must end the path".into());
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
    if let Some(function) = name.strip_suffix("()") {
        return PathFunction::parse(function)
            .map(|f| (Segment::Function(f), end))
            .ok_or_else(|| format!("unknown function '{name}'"));
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
        Segment::Filter(Box::new(parse_filter(filter.trim())?))
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

/// A quoted name of bracket notation, unescaped as Jayway does: the name's own quote (`\'` in
/// `['…']`), `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX`; a backslash before any
/// other character stands for that character, except before the other quote, where the
/// service keeps it: `$['Test\""Name"']` selects the key `Test\""Name"` (recorded in
/// localstack's `test_escape_sequence_parsing[ESCAPE_SEQUENCES_JSONPATH]`).
fn unquote(s: &str) -> Result<String, String> {
    let q = s.chars().next().ok_or("empty name")?;
    let body = s
        .strip_prefix(q)
        .and_then(|rest| rest.strip_suffix(q))
        .ok_or_else(|| format!("bad quoted name {s}"))?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == q {
            return Err(format!("bad quoted name {s}: an unescaped {q} inside"));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(escaped) = chars.next() else {
            return Err(format!(
                "bad quoted name {s}: it ends with an escaped quote"
            ));
        };
        if matches!(escaped, '"' | '\'') && escaped != q {
            out.push('\\');
        }
        out.push(match escaped {
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .filter(|_| hex.len() == 4)
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("bad escape \\u{hex} in {s}"))?
            }
            other => other,
        });
    }
    Ok(out)
}

/// Splits `s` at `sep` outside quotes (a backslash escapes the next character in a quote).
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match quote {
            _ if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
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

fn parse_filter(text: &str) -> Result<FilterExpr, String> {
    let body = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("a filter must be '?(...)', found '?{text}'"))?;
    if filter_terms(body) > MAX_FILTER_TERMS {
        return Err(format!(
            "the filter has more than {MAX_FILTER_TERMS} parentheses and operators, the most \
             the local engine accepts"
        ));
    }
    let mut parser = FilterParser {
        chars: body.chars().collect(),
        pos: 0,
    };
    let expr = parser.or()?;
    parser.skip_ws();
    if parser.pos < parser.chars.len() {
        return Err(format!(
            "unexpected '{}' in the filter '{body}'",
            parser.chars[parser.pos..].iter().collect::<String>()
        ));
    }
    Ok(expr)
}

/// The parentheses, `!`, `&&` and `||` of a filter outside its string literals (those of the
/// filters nested in it too): a bound of how deep its parser and evaluator recurse.
fn filter_terms(body: &str) -> usize {
    outside_literals(body, &['\'', '"'])
        .filter(|(_, c)| matches!(c, '(' | '!' | '&' | '|'))
        .count()
}

/// A recursive-descent parser for Jayway filter expressions.
struct FilterParser {
    chars: Vec<char>,
    pos: usize,
}

impl FilterParser {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_ws();
        let t: Vec<char> = token.chars().collect();
        if self.chars.get(self.pos..self.pos + t.len()) == Some(&t[..]) {
            self.pos += t.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            left = FilterExpr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<FilterExpr, String> {
        let mut left = self.unary()?;
        while self.eat("&&") {
            let right = self.unary()?;
            left = FilterExpr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<FilterExpr, String> {
        self.skip_ws();
        if self.chars.get(self.pos) == Some(&'!') && self.chars.get(self.pos + 1) != Some(&'=') {
            self.pos += 1;
            return Ok(FilterExpr::Not(Box::new(self.unary()?)));
        }
        if self.eat("(") {
            let inner = self.or()?;
            if !self.eat(")") {
                return Err("unbalanced parentheses in the filter".into());
            }
            return Ok(inner);
        }
        let left = self.operand()?;
        match self.relation() {
            None => Ok(FilterExpr::Exists(left)),
            Some(relation) => {
                let right = self.operand()?;
                if relation == Relation::Matches && !matches!(right, Operand::Regex(..)) {
                    return Err("'=~' needs a regular expression such as /^a.*/i".into());
                }
                Ok(FilterExpr::Compare(left, relation, right))
            }
        }
    }

    fn relation(&mut self) -> Option<Relation> {
        const SYMBOLS: [(&str, Relation); 7] = [
            ("==", Relation::Eq),
            ("!=", Relation::Ne),
            ("<=", Relation::Le),
            (">=", Relation::Ge),
            ("=~", Relation::Matches),
            ("<", Relation::Lt),
            (">", Relation::Gt),
        ];
        for (symbol, relation) in SYMBOLS {
            if self.eat(symbol) {
                return Some(relation);
            }
        }
        const WORDS: [(&str, Relation); 8] = [
            ("subsetof", Relation::SubsetOf),
            ("anyof", Relation::AnyOf),
            ("noneof", Relation::NoneOf),
            ("contains", Relation::Contains),
            ("empty", Relation::Empty),
            ("size", Relation::Size),
            ("nin", Relation::Nin),
            ("in", Relation::In),
        ];
        self.skip_ws();
        for (word, relation) in WORDS {
            let w: Vec<char> = word.chars().collect();
            let end = self.pos + w.len();
            if self.chars.get(self.pos..end) == Some(&w[..])
                && !self
                    .chars
                    .get(end)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
            {
                self.pos = end;
                return Some(relation);
            }
        }
        None
    }

    fn operand(&mut self) -> Result<Operand, String> {
        self.skip_ws();
        let Some(&c) = self.chars.get(self.pos) else {
            return Err("a filter comparison is missing its right-hand side".into());
        };
        match c {
            '@' | '$' => {
                let start = self.pos + 1;
                let end = self.path_end(start);
                self.pos = end;
                let text: String = self.chars[start..end].iter().collect();
                let segments = parse_segments(&text)?;
                Ok(if c == '@' {
                    Operand::Current(segments)
                } else {
                    Operand::Root(segments)
                })
            }
            '/' => {
                let mut i = self.pos + 1;
                let mut pattern = String::new();
                while let Some(&ch) = self.chars.get(i) {
                    if ch == '\\' {
                        pattern.push(ch);
                        if let Some(&next) = self.chars.get(i + 1) {
                            pattern.push(next);
                        }
                        i += 2;
                        continue;
                    }
                    if ch == '/' {
                        break;
                    }
                    pattern.push(ch);
                    i += 1;
                }
                if self.chars.get(i) != Some(&'/') {
                    return Err("unterminated regular expression in the filter".into());
                }
                i += 1;
                let mut flags = String::new();
                while let Some(&f) = self.chars.get(i).filter(|f| f.is_ascii_alphabetic()) {
                    flags.push(f);
                    i += 1;
                }
                self.pos = i;
                Ok(Operand::Regex(FilterRegex::new(&pattern, &flags)?))
            }
            _ => Ok(Operand::Literal(self.literal()?)),
        }
    }

    /// Where a path operand ends: at whitespace, an operator or a closing parenthesis outside
    /// brackets and quotes (a function's `()` belongs to the path).
    fn path_end(&self, start: usize) -> usize {
        let mut i = start;
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        while let Some(&c) = self.chars.get(i) {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) if c == '\\' => i += 1,
                Some(_) => {}
                None => match c {
                    '\'' | '"' if depth > 0 => quote = Some(c),
                    '[' => depth += 1,
                    ']' => depth = depth.saturating_sub(1),
                    '(' if depth == 0 && self.chars.get(i + 1) == Some(&')') => i += 1,
                    c if depth == 0 && (c.is_whitespace() || "=!<>~&|()".contains(c)) => {
                        break;
                    }
                    _ => {}
                },
            }
            i += 1;
        }
        i
    }

    fn literal(&mut self) -> Result<Value, String> {
        self.skip_ws();
        let Some(&c) = self.chars.get(self.pos) else {
            return Err("a filter value is missing".into());
        };
        match c {
            '\'' | '"' => {
                let mut i = self.pos + 1;
                let mut out = String::new();
                while let Some(&ch) = self.chars.get(i) {
                    if ch == '\\' {
                        if let Some(&next) = self.chars.get(i + 1) {
                            out.push(next);
                        }
                        i += 2;
                        continue;
                    }
                    if ch == c {
                        break;
                    }
                    out.push(ch);
                    i += 1;
                }
                if self.chars.get(i) != Some(&c) {
                    return Err("unterminated string in the filter".into());
                }
                self.pos = i + 1;
                Ok(Value::String(out))
            }
            '[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat("]") {
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.literal()?);
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Ok(Value::Array(items));
                    }
                    return Err("a list in the filter must be '[a, b, …]'".into());
                }
            }
            '{' => {
                // A JSON object literal: take the balanced braces and parse them as JSON.
                let mut depth = 0;
                let mut i = self.pos;
                let mut quote = false;
                while let Some(&ch) = self.chars.get(i) {
                    match ch {
                        '"' => quote = !quote,
                        '\\' if quote => i += 1,
                        '{' if !quote => depth += 1,
                        '}' if !quote => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                let text: String = self.chars[self.pos..(i + 1).min(self.chars.len())]
                    .iter()
                    .collect();
                self.pos = i + 1;
                serde_json::from_str(&text).map_err(|_| format!("bad object '{text}' in filter"))
            }
            _ => {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_alphanumeric() || "+-._".contains(*c))
                {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                serde_json::from_str(&text).map_err(|_| format!("bad literal '{text}' in filter"))
            }
        }
    }
}
