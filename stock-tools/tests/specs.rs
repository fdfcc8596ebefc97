//! The specs the agents carry: derived from the input types, plain, and matching what the
//! generated state machines hold.

use agent_builder::schema::schema_for as input_schema;
use jsonschema::validator_for;
use serde_json::Value;
use sfn_agent_tool::{Tool, spec};
use stock_tools::catalog::{STANDARD_TOOLS, count_specs, stale_specs, standard_specs};
use stock_tools::specs;
use stock_tools::tools::{Calculate, ConvertCurrency, CurrentTime, GetWeather};

fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn every_schema_is_plain_closed_and_described() {
    for spec in standard_specs() {
        let schema = &spec.input_schema;
        let mut all = Vec::new();
        keys(schema, &mut all);
        for banned in ["$ref", "definitions", "$defs", "$schema", "format", "oneOf"] {
            assert!(
                !all.iter().any(|k| k == banned),
                "{}: {banned} in {schema}",
                spec.name
            );
        }
        assert_eq!(schema["type"], "object", "{}", spec.name);
        assert_eq!(schema["additionalProperties"], false, "{}", spec.name);
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| d.len() > 10),
                "{}.{field} has no description",
                spec.name
            );
        }
        assert!(spec.description.len() > 50, "{}", spec.name);
    }
}

fn example_is_valid<T: Tool>() {
    let schema = input_schema::<T::Input>();
    let validator = validator_for(&schema).expect("the schema compiles");
    let example = serde_json::to_value(T::example()).expect("the example serializes");
    assert!(validator.is_valid(&example), "{}: {example}", T::NAME);
}

#[test]
fn every_example_is_valid_against_its_schema() {
    example_is_valid::<GetWeather>();
    example_is_valid::<Calculate>();
    example_is_valid::<ConvertCurrency>();
    example_is_valid::<CurrentTime>();
}

/// The specs an agent-only crate takes (no runtime) are the ones the tools themselves make.
#[test]
fn the_light_specs_are_the_tools_own() {
    assert_eq!(specs::get_weather::spec(), spec::<GetWeather>());
    assert_eq!(specs::calculate::spec(), spec::<Calculate>());
    assert_eq!(specs::convert_currency::spec(), spec::<ConvertCurrency>());
    assert_eq!(specs::current_time::spec(), spec::<CurrentTime>());
}

#[test]
fn the_weather_schema_is_the_one_the_type_defines() {
    let weather = spec::<GetWeather>();
    assert_eq!(weather.name, "get_weather");
    let schema = weather.input_schema;
    assert_eq!(schema["required"], serde_json::json!(["places"]));
    assert_eq!(schema["properties"]["places"]["minItems"], 1);
    assert_eq!(schema["properties"]["places"]["maxItems"], 5);
    assert_eq!(schema["properties"]["places"]["items"]["type"], "string");
    assert_eq!(
        schema["properties"]["units"]["enum"],
        serde_json::json!(["metric", "imperial"])
    );
    assert_eq!(schema["properties"]["units"]["default"], "metric");
    assert_eq!(schema["properties"]["forecast_days"]["default"], 3);
    assert_eq!(schema["properties"]["forecast_days"]["maximum"], 7.0);
}

/// The generated state machines in `state-machines/` carry each standard tool's spec exactly as
/// derived from its Rust type. (Before any machine is generated there is nothing to compare.)
#[test]
fn generated_state_machines_carry_the_derived_specs() {
    let dir = format!("{}/../state-machines", env!("CARGO_MANIFEST_DIR"));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut stale = Vec::new();
    let mut carried = 0;
    let mut files = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.to_string_lossy().ends_with(".asl.json") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("readable ASL");
        let document: Value = serde_json::from_str(&text).expect("ASL is JSON");
        carried += count_specs(&document);
        stale.extend(
            stale_specs(&document)
                .into_iter()
                .map(|s| format!("{}: {s}", path.display())),
        );
    }
    assert!(
        stale.is_empty(),
        "regenerate the state machines:\n{}",
        stale.join("\n")
    );
    if files > 0 {
        assert!(
            carried > 0,
            "no tool specs in the {files} state machines of {dir}"
        );
    }
    eprintln!("{carried} tool specs of {STANDARD_TOOLS:?} checked in {dir}");
}
