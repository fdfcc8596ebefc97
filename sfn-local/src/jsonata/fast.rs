//! JSONata expressions simple enough to evaluate without the library: a field path on
//! `$states.input`, `$states.result`, `$states.errorOutput` or a workflow variable that ends on a
//! scalar (`$states.input.order.id`), and such a path compared with a number
//! (`$states.input.value >= 500`). The library converts the state's input and the variables
//! to its own values and sets up an evaluator on every evaluation; these forms are most of what a machine evaluates per
//! item, and give the same values as the library. Anything else (arrays, objects, other
//! operators, `$states.context`) returns `None` and goes to the library.

use serde_json::Value;

use super::bindings::{Lookup, StatesView, number};

/// A simple expression, recognised once when the machine is compiled: a path of field names
/// and, optionally, a comparison with a number.
#[derive(Debug, Clone)]
pub(crate) struct Simple {
    root: Root,
    names: Box<[Box<str>]>,
    comparison: Option<(Op, f64)>,
}

/// Where a simple path starts.
#[derive(Debug, Clone)]
enum Root {
    Input,
    Result,
    ErrorOutput,
    Variable(Box<str>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Simple {
    /// The expression's simple form, or `None` when it is not one (the library evaluates it).
    pub(crate) fn compile(expr: &str) -> Option<Simple> {
        let (left, comparison) = split_comparison(expr);
        let rest = left.strip_prefix('$')?;
        let mut names = rest.split('.');
        let root_name = names.next()?;
        if !is_name(root_name) {
            return None;
        }
        let root = if root_name == "states" {
            match names.next()? {
                "input" => Root::Input,
                "result" => Root::Result,
                "errorOutput" => Root::ErrorOutput,
                _ => return None,
            }
        } else {
            Root::Variable(root_name.into())
        };
        let names = names
            .map(|name| is_name(name).then(|| name.into()))
            .collect::<Option<Box<[Box<str>]>>>()?;
        Some(Simple {
            root,
            names,
            comparison,
        })
    }

    /// The value (`Some(None)`: JSONata's `undefined`), or `None` when the data needs the
    /// library's semantics (an array or object at the end, a non-object on the way, a
    /// comparison of anything but two numbers).
    pub(crate) fn evaluate(
        &self,
        states: &StatesView<'_>,
        vars: Lookup<'_>,
    ) -> Option<Option<Value>> {
        let value = self.path_value(states, vars)?;
        let Some((op, number)) = self.comparison else {
            return Some(value);
        };
        // Only number against number; `undefined`, strings and mixed types go to the library,
        // which has their rules and errors.
        let left = value?.as_f64()?;
        let result = match op {
            Op::Eq => left == number,
            Op::Ne => left != number,
            Op::Lt => left < number,
            Op::Le => left <= number,
            Op::Gt => left > number,
            Op::Ge => left >= number,
        };
        Some(Some(Value::Bool(result)))
    }

    /// The value at the path (`Some(None)`: undefined), or `None` when the path meets something
    /// other than objects on its way, or ends on an array or object (the library turns those
    /// into sequences and sorts object keys).
    fn path_value(&self, states: &StatesView<'_>, vars: Lookup<'_>) -> Option<Option<Value>> {
        let owned_root;
        let root = match &self.root {
            Root::Input => Some(states.input),
            Root::Result => states.result,
            Root::ErrorOutput => states.error_output,
            Root::Variable(name) => {
                owned_root = vars(name)?;
                Some(&owned_root)
            }
        };
        // `$states.result` outside a task: undefined, as the library sees it.
        let Some(mut current) = root else {
            return Some(None);
        };
        for name in &self.names {
            match current {
                Value::Object(fields) => match fields.get(&**name) {
                    Some(v) => current = v,
                    None => return Some(None),
                },
                _ => return None,
            }
        }
        match current {
            Value::Null | Value::Bool(_) | Value::String(_) => Some(Some(current.clone())),
            // The library computes in f64: give back what it would.
            Value::Number(n) => number(n.as_f64()?).ok().map(Some),
            Value::Array(_) | Value::Object(_) => None,
        }
    }
}

/// `path op number` split in its parts; the whole expression when there is no such comparison.
fn split_comparison(expr: &str) -> (&str, Option<(Op, f64)>) {
    for (text, op) in [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("!=", Op::Ne),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ] {
        if let Some((left, right)) = expr.split_once(text) {
            let number = right.trim();
            let is_number = !number.is_empty()
                && number
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                && number.chars().any(|c| c.is_ascii_digit());
            return match number.parse::<f64>() {
                Ok(n) if is_number && n.is_finite() => (left.trim(), Some((op, n))),
                // Not a comparison with a number: not simple (`op` stays in the path and the
                // path check rejects it).
                _ => (expr, None),
            };
        }
    }
    (expr.trim(), None)
}

/// A plain field name (letters, digits, `_`, not starting with a digit).
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluate(expr: &str, states: &StatesView<'_>, vars: Lookup<'_>) -> Option<Option<Value>> {
        Simple::compile(expr)?.evaluate(states, vars)
    }

    fn view<'a>(input: &'a Value, result: Option<&'a Value>) -> StatesView<'a> {
        StatesView {
            input,
            result,
            error_output: None,
            context: None,
        }
    }

    #[test]
    fn simple_paths_and_comparisons_agree_with_the_library() {
        let input = json!({"id": 7, "value": 512.0, "name": "x", "o": {"n": null}, "list": [1]});
        let result = json!({"ok": true});
        let vars = |name: &str| (name == "limit").then(|| json!({"max": 3}));
        let states = view(&input, Some(&result));
        for (expr, expected) in [
            ("$states.input.id", json!(7)),
            ("$states.input.value", json!(512)),
            ("$states.input.name", json!("x")),
            ("$states.input.o.n", json!(null)),
            ("$states.result.ok", json!(true)),
            ("$limit.max", json!(3)),
            ("$states.input.value >= 500", json!(true)),
            ("$states.input.value < 500", json!(false)),
            ("$states.input.id = 7", json!(true)),
            ("$limit.max != 3", json!(false)),
        ] {
            assert_eq!(
                evaluate(expr, &states, &vars),
                Some(Some(expected.clone())),
                "{expr}"
            );
            // The library gives the same value.
            assert_eq!(
                super::super::evaluate_inner(expr, &states, &vars),
                Ok(Some(expected)),
                "{expr}"
            );
        }
        assert_eq!(
            evaluate("$states.input.missing", &states, &vars),
            Some(None)
        );
        assert_eq!(
            evaluate("$states.input.o.missing", &states, &vars),
            Some(None)
        );
        // Left to the library.
        for expr in [
            "$states.input",
            "$states.input.list",
            "$states.input.o",
            "$states.input.name.x",
            "$states.context.State.Name",
            "$states.input.name = 'x'",
            "$states.input.missing > 1",
            "$states.input.id + 1",
            "$unknown.x",
            "$count($states.input.list)",
            "$states.input.`a b`",
        ] {
            assert_eq!(evaluate(expr, &states, &vars), None, "{expr}");
        }
    }
}
