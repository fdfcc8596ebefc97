//! What a Jayway filter's comparisons mean: `==` (numbers by value), `<`, `in`, `subsetof`,
//! `size`, `empty`, `contains`, …, and `=~` matched in linear time.

use serde_json::Value;

use crate::limits::{MAX_FILTER_TERMS, MAX_REGEX_COMPILED_BYTES, MAX_REGEX_PATTERN_BYTES};

/// The relational operators of Jayway filters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Relation {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Matches,
    In,
    Nin,
    SubsetOf,
    AnyOf,
    NoneOf,
    Size,
    Empty,
    Contains,
}

pub(super) fn truthy_literal(v: &Value) -> bool {
    !matches!(v, Value::Bool(false) | Value::Null)
}

/// The regular expression of a `=~` comparison, compiled once with the path, anchored at
/// both ends (Jayway's `=~` matches the whole string).
///
/// It is matched by the `regex` crate, in time linear in the text: a backtracking engine (the
/// engine used `regress`, as JavaScript does) took minutes on `/(a+)+$/` and 41 characters.
/// The syntax is the common one of JavaScript, Java and `regex`; `\d`, `\w` and `\b` keep
/// their ASCII meaning as in JavaScript and Java. Backreferences and lookaround need a
/// backtracking engine: a filter that uses them fails to parse, naming them.
#[derive(Debug, Clone)]
pub(crate) struct FilterRegex(pub(super) regex::Regex);

impl PartialEq for FilterRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl FilterRegex {
    /// Compiles `/pattern/flags` (flags `i`, `m`, `s`; others are ignored as before).
    pub(super) fn new(pattern: &str, flags: &str) -> Result<Self, String> {
        if pattern.len() > MAX_REGEX_PATTERN_BYTES {
            return Err(format!(
                "the regular expression is longer than {MAX_REGEX_PATTERN_BYTES} bytes, the \
                 most the local engine accepts"
            ));
        }
        regex::RegexBuilder::new(&format!("^(?:{})$", ascii_classes(pattern)))
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .dot_matches_new_line(flags.contains('s'))
            .size_limit(MAX_REGEX_COMPILED_BYTES)
            .nest_limit(MAX_FILTER_TERMS as u32)
            .build()
            .map(FilterRegex)
            .map_err(|e| {
                format!(
                    "the regular expression /{pattern}/ is not supported by the local engine's \
                     linear-time matcher (backreferences and lookaround are not): {e}"
                )
            })
    }
}

/// `\d`, `\w` and `\b` (and their negations) as JavaScript and Java read them, ASCII only:
/// the `regex` crate reads them as Unicode classes.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let (mut chars, mut in_class) = (pattern.chars(), false);
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if in_class => out.push_str("0-9"),
                Some('w') if in_class => out.push_str("0-9A-Za-z_"),
                Some('d') => out.push_str("[0-9]"),
                Some('D') if !in_class => out.push_str("[^0-9]"),
                Some('w') => out.push_str("[0-9A-Za-z_]"),
                Some('W') if !in_class => out.push_str("[^0-9A-Za-z_]"),
                Some('b') if !in_class => out.push_str("(?-u:\\b)"),
                Some('B') if !in_class => out.push_str("(?-u:\\B)"),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Jayway's equality: numbers by value (a number equals a string holding it), JSON values
/// structurally; undefined equals nothing.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(x), Value::String(y)) => y.trim().parse::<f64>().ok() == x.as_f64(),
        (Value::String(x), Value::Number(y)) => *x == y.to_string(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

pub(super) fn relate(left: Option<&Value>, relation: Relation, right: Option<&Value>) -> bool {
    let ordering = || match (left?, right?) {
        (Value::Number(a), Value::Number(b)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    };
    let equal = || matches!((left, right), (Some(a), Some(b)) if json_equal(a, b));
    let contains = |list: Option<&Value>, item: &Value| {
        list.and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| json_equal(x, item)))
    };
    let size = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => Some(a.len()),
        Some(Value::String(s)) => Some(s.chars().count()),
        _ => None,
    };
    match relation {
        Relation::Eq => equal(),
        Relation::Ne => !equal(),
        Relation::Lt => ordering().is_some_and(|o| o.is_lt()),
        Relation::Le => ordering().is_some_and(|o| o.is_le()),
        Relation::Gt => ordering().is_some_and(|o| o.is_gt()),
        Relation::Ge => ordering().is_some_and(|o| o.is_ge()),
        Relation::Matches => false,
        Relation::In => left.is_some_and(|l| contains(right, l)),
        Relation::Nin => !left.is_some_and(|l| contains(right, l)),
        Relation::SubsetOf => match left {
            Some(Value::Array(items)) => items.iter().all(|i| contains(right, i)),
            _ => false,
        },
        Relation::AnyOf => match left {
            Some(Value::Array(items)) => items.iter().any(|i| contains(right, i)),
            _ => false,
        },
        Relation::NoneOf => match left {
            Some(Value::Array(items)) => !items.iter().any(|i| contains(right, i)),
            _ => false,
        },
        Relation::Size => match (size(left), right.and_then(Value::as_f64)) {
            (Some(n), Some(expected)) => n as f64 == expected,
            _ => false,
        },
        Relation::Empty => match (size(left), right) {
            (Some(n), Some(Value::Bool(expected))) => (n == 0) == *expected,
            _ => false,
        },
        Relation::Contains => match (left, right) {
            (Some(Value::String(s)), Some(Value::String(part))) => s.contains(part.as_str()),
            (Some(Value::Array(_)), Some(item)) => contains(left, item),
            _ => false,
        },
    }
}
