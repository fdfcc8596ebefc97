//! The stock tools' specs: names, descriptions and input types, with no runtime behind them.
//!
//! Always built, even without the `run` feature, so a crate that only defines agents (such as
//! `state-machines`) can give them these tools without building weather, time zones or the
//! calculator. The tools' implementations (feature `run`) take their names, descriptions and
//! input types from here, so a spec made here is the spec [`sfn_agent_tool::spec`] makes.

use agent_builder::ToolSpec;

/// The specs of the stock tools, in [`STOCK_TOOLS`] order. Cheap, no runtime needed.
pub fn all() -> Vec<ToolSpec> {
    vec![
        get_weather::spec(),
        calculate::spec(),
        convert_currency::spec(),
        current_time::spec(),
    ]
}

/// The names of the stock tools.
pub const STOCK_TOOLS: [&str; 4] = [
    get_weather::NAME,
    calculate::NAME,
    convert_currency::NAME,
    current_time::NAME,
];

/// `calculate`.
pub mod calculate {
    use agent_builder::ToolSpec;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// The name the model calls it by.
    pub const NAME: &str = "calculate";
    /// What it does, for the model.
    pub const DESCRIPTION: &str = "Evaluates an arithmetic expression and returns its value. \
Use it for any arithmetic rather than computing in your head. Supports + - * / and ^ (power), \
parentheses, scientific notation (1.5e3) and comma thousands separators (1,234.5; never \
spaces: `1 234` is refused, write 1234); numbers side by side need an operator (write 2 * 3, \
not 2 3; only 2pi and 2(3 + 4) multiply). Percentages: `17%` is 0.17, so `17% of 2340` and \
`2340 * 17%` are both 397.8; adding or subtracting a percentage works as on a pocket \
calculator, on everything before it: `2340 + 17%` is 2737.8, `100 - 10%` is 90. `%` is never a \
remainder (for 5 mod 3 write 5 - 3 * floor(5 / 3)). Functions sqrt, cbrt, abs, exp, ln, \
log (base 10), log2, log10, sin, cos, tan, asin, acos, atan (radians), sinh, cosh, tanh, floor, ceil, round, trunc, written with \
parentheses (`sqrt(2)`); constants pi, e, tau. No variables. At most 500 characters and 20 \
levels of parentheses.";

    /// Its spec: name, description and the input's schema.
    pub fn spec() -> ToolSpec {
        ToolSpec::for_input::<CalculateInput>(NAME, DESCRIPTION)
    }

    /// A valid input, shown to the model in error texts.
    pub fn example() -> CalculateInput {
        CalculateInput {
            expression: "17% of 2340".to_string(),
        }
    }

    /// The input of `calculate`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CalculateInput {
        /// The arithmetic expression, e.g. "(3.5 + 2) * 4^2", "17% of 2340" or "sqrt(2) / 2".
        #[schemars(length(min = 1, max = 500))]
        pub expression: String,
    }
}

/// `convert_currency`.
pub mod convert_currency {
    use agent_builder::ToolSpec;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// The name the model calls it by.
    pub const NAME: &str = "convert_currency";
    /// What it does, for the model.
    pub const DESCRIPTION: &str = "Converts an amount of money from one currency to another \
at the latest European Central Bank reference rates (published each working day around 16:00 \
CET). Give the amount and the two ISO 4217 currency codes (\"USD\", \"EUR\", \"JPY\", \"GBP\", \
…). Returns the converted amount, the rate and the date of the rate.";

    /// Its spec: name, description and the input's schema.
    pub fn spec() -> ToolSpec {
        ToolSpec::for_input::<CurrencyInput>(NAME, DESCRIPTION)
    }

    /// A valid input, shown to the model in error texts.
    pub fn example() -> CurrencyInput {
        CurrencyInput {
            amount: 100.0,
            from: "USD".to_string(),
            to: "EUR".to_string(),
        }
    }

    /// The input of `convert_currency`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CurrencyInput {
        /// The amount to convert, in the `from` currency: a number from 0 to 1e15, e.g. 100.
        #[schemars(range(min = 0, max = 1e15))]
        pub amount: f64,
        /// The ISO 4217 code of the currency to convert from, e.g. "USD".
        #[schemars(length(min = 1, max = 16))]
        pub from: String,
        /// The ISO 4217 code of the currency to convert to, e.g. "EUR".
        #[schemars(length(min = 1, max = 16))]
        pub to: String,
    }
}

/// `current_time`.
pub mod current_time {
    use agent_builder::ToolSpec;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// The name the model calls it by.
    pub const NAME: &str = "current_time";
    /// What it does, for the model.
    pub const DESCRIPTION: &str = "Tells the current date and time in a time zone, with the \
weekday and the offset from UTC. Give the IANA time zone name (Area/City, e.g. \"Europe/Paris\", \
\"America/New_York\", \"Asia/Tokyo\", or \"UTC\"); for a city without its own zone, use the zone \
of the nearest large city in the same country. A fixed offset from UTC is also understood: \
\"UTC+5\" or \"GMT+5\" is five hours ahead of UTC, \"UTC-03:30\" three and a half hours behind \
(no daylight saving).";

    /// Its spec: name, description and the input's schema.
    pub fn spec() -> ToolSpec {
        ToolSpec::for_input::<CurrentTimeInput>(NAME, DESCRIPTION)
    }

    /// A valid input, shown to the model in error texts.
    pub fn example() -> CurrentTimeInput {
        CurrentTimeInput {
            time_zone: "Europe/Paris".to_string(),
        }
    }

    /// The input of `current_time`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct CurrentTimeInput {
        /// The IANA time zone name, written Area/City: "Europe/Paris", "America/New_York",
        /// "Asia/Tokyo"; "UTC" for universal time; or a fixed offset from UTC such as "UTC+5" or
        /// "UTC-03:30".
        #[schemars(length(min = 1, max = 64))]
        pub time_zone: String,
    }
}

/// `get_weather`.
pub mod get_weather {
    use agent_builder::ToolSpec;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// The name the model calls it by.
    pub const NAME: &str = "get_weather";
    /// What it does, for the model.
    pub const DESCRIPTION: &str = "Gets the current weather and a daily forecast for one or \
several places in one call (up to 5), e.g. to answer \"Do I need a jacket in Boston and in \
Seattle?\" with one call for both. Give place names (a city or town, optionally followed by a \
comma and the region or country: \"Paris, France\"); choose metric or imperial units. Returns \
for each place the conditions now (temperature, feels-like, humidity, precipitation, wind) and, \
for each day, the conditions, high and low temperatures and precipitation. Data from Open-Meteo.";

    /// Its spec: name, description and the input's schema.
    pub fn spec() -> ToolSpec {
        ToolSpec::for_input::<WeatherInput>(NAME, DESCRIPTION)
    }

    /// A valid input, shown to the model in error texts.
    pub fn example() -> WeatherInput {
        WeatherInput {
            places: vec!["Boston".to_string(), "Seattle".to_string()],
            units: Units::Metric,
            forecast_days: 3,
        }
    }

    /// The input of `get_weather`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    pub struct WeatherInput {
        /// The places, 1 to 5 in one call: a city or town name ("Boston"), optionally followed by a
        /// comma and its region or country to tell places of the same name apart ("Springfield,
        /// Illinois", "Paris, France").
        #[schemars(length(min = 1, max = 5), inner(length(min = 1, max = 100)))]
        pub places: Vec<String>,
        /// The units: "metric" (°C, km/h, mm; the default) or "imperial" (°F, mph, inches).
        #[serde(default)]
        pub units: Units,
        /// How many days of daily forecast, today included: 1 to 7 (default 3).
        #[serde(default = "default_forecast_days")]
        #[schemars(range(min = 1, max = 7))]
        pub forecast_days: u8,
    }

    fn default_forecast_days() -> u8 {
        3
    }

    /// Metric or imperial units (`metric`, `imperial`).
    #[allow(missing_docs)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Units {
        #[default]
        Metric,
        Imperial,
    }
}
