//! Prints the standard tools' specs as the model sees them (name, description, input schema).
//!
//! ```text
//! cargo run -p sfn-agent-stock-tools --example specs
//! ```

fn main() -> Result<(), serde_json::Error> {
    let specs = stock_tools::catalog::standard_specs();
    println!("{}", serde_json::to_string_pretty(&specs)?);
    Ok(())
}
