//! The stock tools' specs by name, and a check that a generated state machine carries them as
//! the Rust types define them.

use agent_builder::ToolSpec;
use serde_json::Value;

pub use crate::specs::STOCK_TOOLS as STANDARD_TOOLS;

/// The specs of the stock tools, in [`STANDARD_TOOLS`] order. Cheap, no runtime needed.
pub fn standard_specs() -> Vec<ToolSpec> {
    crate::specs::all()
}

/// The spec of the standard tool called `name`.
pub fn standard_spec(name: &str) -> Option<ToolSpec> {
    standard_specs().into_iter().find(|s| s.name == name)
}

/// Every tool spec found anywhere in `document` (an ASL definition, an agent config) that names
/// a standard tool but differs from the spec derived from its Rust type: one line per
/// difference. Empty when all are current.
pub fn stale_specs(document: &Value) -> Vec<String> {
    // Derived once: each spec regenerates its schema.
    let current_specs = standard_specs();
    let mut found = Vec::new();
    walk(document, &mut |object| {
        let Some(name) = standard_name(object) else {
            return;
        };
        let Some(current) = current_specs.iter().find(|s| s.name == name) else {
            return;
        };
        if object.get("input_schema") != Some(&current.input_schema) {
            found.push(format!(
                "`{name}`: the input_schema differs from the one derived from its Rust input type"
            ));
        }
        if object.get("description").and_then(Value::as_str) != Some(current.description.as_str()) {
            found.push(format!("`{name}`: the description differs from the tool's"));
        }
    });
    found
}

/// The number of standard tool specs in `document`, stale or not.
pub fn count_specs(document: &Value) -> usize {
    let mut count = 0;
    walk(document, &mut |object| {
        if standard_name(object).is_some() {
            count += 1;
        }
    });
    count
}

fn standard_name(object: &serde_json::Map<String, Value>) -> Option<&str> {
    let name = object.get("name")?.as_str()?;
    (object.contains_key("input_schema") && STANDARD_TOOLS.contains(&name)).then_some(name)
}

fn walk(value: &Value, visit: &mut impl FnMut(&serde_json::Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            visit(map);
            map.values().for_each(|v| walk(v, visit));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn standard_specs_have_the_standard_names() {
        let names: Vec<String> = standard_specs().into_iter().map(|s| s.name).collect();
        assert_eq!(names, STANDARD_TOOLS);
    }

    #[test]
    fn current_specs_pass_and_drifted_ones_are_reported() {
        let weather = standard_spec("get_weather").expect("weather");
        let asl = json!({"States": {"Call LLM": {"Arguments": {"agent": {"tools": [weather]}}}}});
        assert_eq!(count_specs(&asl), 1);
        assert!(stale_specs(&asl).is_empty());

        let mut drifted = weather.clone();
        drifted.input_schema["properties"]["places"]["maxItems"] = json!(50);
        let asl = json!({"tools": [drifted]});
        assert_eq!(
            stale_specs(&asl),
            vec![
                "`get_weather`: the input_schema differs from the one derived from its Rust input type"
            ]
        );
    }
}
