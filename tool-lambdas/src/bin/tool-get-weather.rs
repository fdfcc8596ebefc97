//! The `get_weather` tool as a Lambda function: payload a tool call, answer a tool result.
//! Its service's base URL and the HTTP timeout come from the environment (see the README).

use tool_lambdas::ToolsConfig;
use tool_lambdas::tools::GetWeather;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let config = ToolsConfig::from_env()?;
    tool_lambdas::lambda::serve(GetWeather::new(&config, config.http_client()?)).await
}
