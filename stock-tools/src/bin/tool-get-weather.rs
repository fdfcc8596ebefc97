//! The `get_weather` tool as a Lambda function: payload a tool call, answer a tool result.
//! Its service's base URL and the HTTP timeout come from the environment (see the README).

use stock_tools::ToolsConfig;
use stock_tools::tools::GetWeather;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = ToolsConfig::from_env()?;
    sfn_agent_tool::lambda::serve(GetWeather::new(&config, config.http_client()?)).await
}
