//! JSONata expressions simple enough to evaluate without the library: a field path on
//! `$states.input`, `$states.result`, `$states.errorOutput` or a workflow variable that ends on a
//! scalar (`$states.input.order.id`), and such a path compared with a number
//! (`$states.input.value >= 500`). The library converts the state's input and the variables
//! to its own values and sets up an evaluator on every evaluation; these forms are most of what a machine evaluates per
//! item, and give the same values as the library. Anything else (arrays, objects, other
//! operators, `$states.context`) returns `None` and goes to the library.

use serde_json::Value;

use super::bindings::{Lookup, StatesView, number};

/// The value of a simple expression (`Some(None)`: JSONata's `undefined`), or `None` when the
/// expression is not one of the simple forms or the data needs the library's semantics.
pub(crate) fn evaluate(
    expr: &str,
    states: &StatesView<'_>,
    vars: Lookup<'_>,
) -> Option<Option<Value>> {
    let (left, comparison) = split_comparison(expr);
    let value = path_value(left, states, vars)?;
    let Some((op, number)) = comparison else {
        return Some(value);
    };
    // Only number against number; `undefined`, strings and mixed types go to the library,
    // which has their rules and errors.
    let left = value?.as_f64()?;
    let result = match op {
        "=" => left == number,
        "!=" => left != number,
        "<" => left < number,
        "<=" => left <= number,
        ">" => left > number,
        ">=" => left >= number,
        _ => return None,
    };
    Some(Some(Value::Bool(result)))
}

/// `path op number` split in its parts; the whole expression when there is no such comparison.
fn split_comparison(expr: &str) -> (&str, Option<(&str, f64)>) {
    for op in ["<=", ">=", "!=", "=", "<", ">"] {
        if let Some((left, right)) = expr.split_once(op) {
            let number = right.trim();
            let is_number = !number.is_empty()
                && number
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                && number.chars().any(|c| c.is_ascii_digit());
            return match number.parse::<f64>() {
                Ok(n) if is_number && n.is_finite() => (left.trim(), Some((op, n))),
                // Not a comparison with a number: not simple (`op` stays in the path and the
                // path check below rejects it).
                _ => (expr, None),
            };
        }
    }
    (expr.trim(), None)
}

/// The value at a path of field names (`Some(None)`: undefined), or `None` when the path is not
/// simple or meets something other than objects on its way, or ends on an array or object
/// (the library turns those into sequences and sorts object keys).
fn path_value(path: &str, states: &StatesView<'_>, vars: Lookup<'_>) -> Option<Option<Value>> {
    let rest = path.strip_prefix('$')?;
    let mut names = rest.split('.');
    let root_name = names.next()?;
    if !is_name(root_name) {
        return None;
    }
    let owned_root;
    let mut current: &Value = if root_name == "states" {
        let field = names.next()?;
        let root = match field {
            "input" => Some(states.input),
            "result" => states.result,
            "errorOutput" => states.error_output,
            _ => return None,
        };
        match root {
            Some(v) => v,
            // `$states.result` outside a task: undefined, as the library sees it.
            None => return names.all(is_name).then_some(None),
        }
    } else {
        owned_root = vars(root_name)?;
        &owned_root
    };
    for name in names {
        if !is_name(name) {
            return None;
        }
        match current {
            Value::Object(fields) => match fields.get(name) {
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
