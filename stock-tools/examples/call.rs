//! Calls one of the standard tools in-process, as the local engine does, and prints the tool
//! result. Uses the real services unless the environment points elsewhere.
//!
//! ```text
//! cargo run -p sfn-agent-stock-tools --example call -- calculate '{"expression": "17% of 2340"}'
//! cargo run -p sfn-agent-stock-tools --example call -- get_weather '{"places": ["Boston", "Seattle"]}'
//! ```

use agent_builder::ToolCall;
use stock_tools::toolbox_from_env;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(input)) = (args.next(), args.next()) else {
        let tools = toolbox_from_env()?.names().join(", ");
        eprintln!("usage: call <tool> '<input JSON>'   (tools: {tools})");
        std::process::exit(2);
    };
    let toolbox = toolbox_from_env()?;
    let call = ToolCall {
        id: "local".to_string(),
        name,
        input: serde_json::from_str(&input)?,
    };
    let result = toolbox.call(call).await;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
