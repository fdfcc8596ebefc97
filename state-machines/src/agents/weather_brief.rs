use agent_builder::manifest::WorkflowType;
use agent_builder::{Agent, Model};
use serde_json::json;
use stock_tools::specs;

/// A synchronous (Express) agent that returns a structured weather brief for one place.
pub(crate) fn weather_brief() -> Agent {
    super::finish(
        Agent::builder("weather-brief")
            .description("a structured weather brief for one place, for synchronous callers")
            .system_prompt(
                "You write a short weather brief for the one place the user names. Look the \
                 weather up with get_weather, then give the final answer in the required \
                 structure.",
            )
            .model(Model::anthropic("claude-haiku-4-5").max_tokens(1024))
            .tool(specs::get_weather::spec())
            .max_iterations(4)
            .workflow_type(WorkflowType::Express)
            .output_schema(json!({
                "type": "object",
                "properties": {
                    "place": {"type": "string", "description": "The place, as the tool resolved it."},
                    "temperature_c": {"type": "number", "description": "The current temperature in °C."},
                    "summary": {"type": "string", "description": "One sentence on the weather today."},
                    "take_umbrella": {"type": "boolean"},
                    "take_jacket": {"type": "boolean"}
                },
                "required": ["place", "temperature_c", "summary", "take_umbrella", "take_jacket"],
                "additionalProperties": false
            })),
    )
}
