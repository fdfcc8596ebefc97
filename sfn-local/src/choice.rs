//! JSONPath Choice rules: every comparison operator, `And`/`Or`/`Not`, and the `…Path`
//! variants.

use asl::ChoiceRule;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::errors::Failure;
use crate::jsonpath::{Path, Roots};

/// A JSONPath Choice rule's condition, compiled: its paths parsed, its operator known.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
    Compare {
        variable: Path,
        /// The operator as written (`NumericEqualsPath`).
        op: String,
        /// The operator without its `Path` suffix (`NumericEquals`).
        base: String,
        operand: Operand,
    },
}

/// What a comparison compares the variable with.
#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    /// The `…Path` operators: the value at a path.
    Path(Path),
}

impl Condition {
    /// Compiles a rule; the error says what is wrong with it.
    pub(crate) fn compile(rule: &ChoiceRule) -> Result<Condition, String> {
        if let Some(rules) = &rule.and {
            return rules
                .iter()
                .map(Condition::compile)
                .collect::<Result<_, _>>()
                .map(Condition::And);
        }
        if let Some(rules) = &rule.or {
            return rules
                .iter()
                .map(Condition::compile)
                .collect::<Result<_, _>>()
                .map(Condition::Or);
        }
        if let Some(inner) = &rule.not {
            return Ok(Condition::Not(Box::new(Condition::compile(inner)?)));
        }
        let variable = rule
            .variable
            .as_deref()
            .ok_or("A Choice rule has no Variable, And, Or, Not or Condition")?;
        let comparison = rule
            .comparisons
            .first()
            .ok_or_else(|| format!("The Choice rule on '{variable}' has no comparison operator"))?;
        let op = comparison.operator.as_str();
        let (base, operand) = match op.strip_suffix("Path") {
            Some(base) => {
                let path = comparison
                    .value
                    .as_str()
                    .ok_or_else(|| format!("The value of {op} must be a path"))?;
                (base, Operand::Path(Path::parse(path)?))
            }
            _ => (op, Operand::Value(comparison.value.clone())),
        };
        if !asl::COMPARISON_OPERATORS.contains(&op) {
            return Err(format!("Unknown Choice operator '{op}'"));
        }
        Ok(Condition::Compare {
            variable: Path::parse(variable)?,
            op: op.to_owned(),
            base: base.to_owned(),
            operand,
        })
    }

    /// Whether the condition holds.
    pub(crate) fn matches(&self, roots: &Roots<'_>) -> Result<bool, Failure> {
        let (variable, op, base, operand) = match self {
            Condition::And(rules) => {
                for r in rules {
                    if !r.matches(roots)? {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            Condition::Or(rules) => {
                for r in rules {
                    if r.matches(roots)? {
                        return Ok(true);
                    }
                }
                return Ok(false);
            }
            Condition::Not(inner) => return Ok(!inner.matches(roots)?),
            Condition::Compare {
                variable,
                op,
                base,
                operand,
            } => (variable, op, base.as_str(), operand),
        };
        let value = variable.select(roots);
        if op == "IsPresent" {
            return Ok(value.is_some() == matches!(operand, Operand::Value(Value::Bool(true))));
        }
        let value = value.ok_or_else(|| {
            Failure::runtime(format!(
                "Invalid path '{}': The choice state's condition path references an invalid value.",
                variable.text()
            ))
        })?;
        let other = match operand {
            Operand::Value(v) => std::borrow::Cow::Borrowed(v),
            Operand::Path(path) => std::borrow::Cow::Owned(path.select(roots).ok_or_else(|| {
                Failure::runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    path.text()
                ))
            })?),
        };
        let expected = *other == Value::Bool(true);
        Ok(match base {
            "IsNull" => value.is_null() == expected,
            "IsNumeric" => value.is_number() == expected,
            "IsString" => value.is_string() == expected,
            "IsBoolean" => value.is_boolean() == expected,
            "IsTimestamp" => value.as_str().and_then(timestamp).is_some() == expected,
            "StringMatches" => match (value.as_str(), other.as_str()) {
                (Some(v), Some(pattern)) => string_matches(v, pattern),
                _ => false,
            },
            "BooleanEquals" => match (value.as_bool(), other.as_bool()) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
            _ => {
                let ordering = if let Some(kind) = base.strip_prefix("String") {
                    match (value.as_str(), other.as_str()) {
                        (Some(a), Some(b)) => Some((kind, a.cmp(b))),
                        _ => None,
                    }
                } else if let Some(kind) = base.strip_prefix("Numeric") {
                    match (value.as_f64(), other.as_f64()) {
                        (Some(a), Some(b)) => a.partial_cmp(&b).map(|o| (kind, o)),
                        _ => None,
                    }
                } else {
                    let kind = base.strip_prefix("Timestamp").unwrap_or(base);
                    match (
                        value.as_str().and_then(timestamp),
                        other.as_str().and_then(timestamp),
                    ) {
                        (Some(a), Some(b)) => Some((kind, a.cmp(&b))),
                        _ => None,
                    }
                };
                match ordering {
                    None => false,
                    Some((kind, o)) => match kind {
                        "Equals" => o.is_eq(),
                        "LessThan" => o.is_lt(),
                        "GreaterThan" => o.is_gt(),
                        "LessThanEquals" => o.is_le(),
                        _ => o.is_ge(),
                    },
                }
            }
        })
    }
}

/// An RFC 3339 timestamp, as Choice and Wait accept them: with a `T` between date and time
/// (RFC 3339 allows a space, the service's ISO-8601 extended offset date-time does not) and an
/// offset.
pub(crate) fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn string_matches(value: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let v: Vec<char> = value.chars().collect();
    // Classic wildcard matching with backtracking on the last star.
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < v.len() {
        if j < toks.len() && toks[j] == Tok::Char(v[i]) {
            i += 1;
            j += 1;
        } else if j < toks.len() && toks[j] == Tok::Star {
            star = Some((j, i));
            j += 1;
        } else if let Some((sj, si)) = star {
            j = sj + 1;
            i = si + 1;
            star = Some((sj, si + 1));
        } else {
            return false;
        }
    }
    while j < toks.len() && toks[j] == Tok::Star {
        j += 1;
    }
    j == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> ChoiceRule {
        serde_json::from_value(v).unwrap()
    }

    fn check(r: Value, input: Value) -> Result<bool, Failure> {
        let ctx = |_: bool| json!({});
        let vars = |_: &str| None;
        let roots = Roots {
            input: &input,
            context: &ctx,
            vars: &vars,
        };
        Condition::compile(&rule(r)).unwrap().matches(&roots)
    }

    #[test]
    fn operators() {
        let input = json!({"n": 5, "s": "log-2024.txt", "b": true, "t": "2024-01-01T00:00:00Z",
                           "t2": "2024-06-01T00:00:00+02:00", "z": null, "m": 5});
        let yes = [
            json!({"Variable": "$.n", "NumericEquals": 5}),
            json!({"Variable": "$.n", "NumericGreaterThan": 4.5}),
            json!({"Variable": "$.n", "NumericLessThanEquals": 5}),
            json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
            json!({"Variable": "$.s", "StringMatches": "log-*.txt"}),
            json!({"Variable": "$.s", "StringGreaterThan": "a"}),
            json!({"Variable": "$.b", "BooleanEquals": true}),
            json!({"Variable": "$.t", "TimestampLessThanPath": "$.t2"}),
            json!({"Variable": "$.t", "TimestampEquals": "2024-01-01T01:00:00+01:00"}),
            json!({"Variable": "$.z", "IsNull": true}),
            json!({"Variable": "$.nope", "IsPresent": false}),
            json!({"Variable": "$.t", "IsTimestamp": true}),
            json!({"Variable": "$.n", "IsNumeric": true}),
            json!({"And": [{"Variable": "$.n", "NumericGreaterThanEquals": 1}, {"Not": {"Variable": "$.b", "BooleanEquals": false}}]}),
            json!({"Or": [{"Variable": "$.n", "NumericEquals": 0}, {"Variable": "$.s", "IsString": true}]}),
        ];
        for r in yes {
            assert!(check(r.clone(), input.clone()).unwrap(), "{r}");
        }
        // A type mismatch is false, not an error.
        assert!(
            !check(
                json!({"Variable": "$.s", "NumericEquals": 5}),
                input.clone()
            )
            .unwrap()
        );
        // A missing variable is a States.Runtime error.
        let err = check(json!({"Variable": "$.nope", "NumericEquals": 5}), input).unwrap_err();
        assert_eq!(err.error, crate::errors::RUNTIME);
        // An unknown operator or a malformed path is refused when compiled.
        for bad in [
            json!({"Variable": "$.n[", "NumericEquals": 5}),
            json!({"Variable": "$.n", "NumericEqualsPath": "n"}),
        ] {
            assert!(Condition::compile(&rule(bad.clone())).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2024.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(!string_matches("log.txt", "log-*"));
    }
}
