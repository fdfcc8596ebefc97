//! `get_weather`: current conditions and a short forecast for one or several places, through
//! Open-Meteo's geocoding API (`/v1/search`, <https://open-meteo.com/en/docs/geocoding-api>) and
//! forecast API (`/v1/forecast`, <https://open-meteo.com/en/docs>). No key needed.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::config::{ENV_FORECAST_URL, ENV_GEOCODING_URL, ToolsConfig};
use sfn_agent_tool::{Tool, ToolError};

use crate::specs::get_weather as spec;
pub use crate::specs::get_weather::Units;
pub use crate::specs::get_weather::WeatherInput;
use crate::upstream::{Reply, Upstream};
use sfn_agent_tool::validation::echo;

/// The most places in one call.
pub const MAX_PLACES: usize = 5;

/// Looks up the weather.
#[derive(Debug, Clone)]
pub struct GetWeather {
    geocoding: Upstream,
    forecast: Upstream,
    geocoding_url: String,
    forecast_url: String,
}

impl GetWeather {
    /// The tool on `config`'s services, sending requests with `client`.
    pub fn new(config: &ToolsConfig, client: reqwest::Client) -> Self {
        Self {
            geocoding: Upstream::new(
                client.clone(),
                "the Open-Meteo geocoding service",
                config.http_timeout,
            ),
            forecast: Upstream::new(
                client,
                "the Open-Meteo weather service",
                config.http_timeout,
            ),
            geocoding_url: format!("{}/v1/search", config.geocoding_url),
            forecast_url: format!("{}/v1/forecast", config.forecast_url),
        }
    }
}

/// The weather in each place asked about, in the order asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeatherReport {
    /// One entry per place.
    pub places: Vec<PlaceWeather>,
}

/// The weather in one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceWeather {
    /// The place as asked.
    pub query: String,
    /// The place found: name, region, country.
    pub place: String,
    /// Its latitude.
    pub latitude: f64,
    /// Its longitude.
    pub longitude: f64,
    /// Its IANA time zone; the times below are local.
    pub timezone: String,
    /// The units of the numbers below.
    pub units: ReportUnits,
    /// The conditions now.
    pub current: CurrentConditions,
    /// The coming days, today first.
    pub forecast: Vec<DayForecast>,
}

/// The units of a report, as Open-Meteo gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportUnits {
    /// `°C` or `°F`.
    pub temperature: String,
    /// `km/h` or `mp/h`.
    pub wind_speed: String,
    /// `mm` or `inch`.
    pub precipitation: String,
}

/// The conditions now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentConditions {
    /// Local time of the observation (`2026-01-15T14:00`).
    pub time: String,
    /// Sky and precipitation, in words (`Light rain`).
    pub conditions: String,
    /// Air temperature.
    pub temperature: Option<f64>,
    /// How warm it feels.
    pub feels_like: Option<f64>,
    /// Relative humidity, percent.
    pub humidity_percent: Option<f64>,
    /// Precipitation in the last interval.
    pub precipitation: Option<f64>,
    /// Wind speed at 10 m.
    pub wind_speed: Option<f64>,
}

/// One day's forecast.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayForecast {
    /// The date (`2026-01-15`).
    pub date: String,
    /// The day's weather, in words.
    pub conditions: String,
    /// Highest temperature.
    pub temperature_max: Option<f64>,
    /// Lowest temperature.
    pub temperature_min: Option<f64>,
    /// Total precipitation.
    pub precipitation: Option<f64>,
    /// The highest chance of precipitation in the day, percent.
    pub precipitation_probability_percent: Option<f64>,
}

impl Tool for GetWeather {
    const NAME: &'static str = spec::NAME;
    const DESCRIPTION: &'static str = spec::DESCRIPTION;

    type Input = WeatherInput;
    type Output = WeatherReport;

    fn example() -> WeatherInput {
        spec::example()
    }

    async fn run(&self, input: WeatherInput) -> Result<WeatherReport, ToolError> {
        if input.places.is_empty() || input.places.len() > MAX_PLACES {
            return Err(ToolError::BadInput(format!(
                "`places` must hold 1 to {MAX_PLACES} place names; make several calls for more."
            )));
        }
        let days = input.forecast_days.clamp(1, 7);
        let lookups = input
            .places
            .iter()
            .map(|place| self.place_weather(place, input.units, days));
        let outcomes = join_all(lookups).await;

        let mut places = Vec::new();
        let mut unknown = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(Found::Weather(weather)) => places.push(*weather),
                Ok(Found::Unknown(place)) => unknown.push(place),
                Err(error) => return Err(error),
            }
        }
        if !unknown.is_empty() {
            let found = places
                .iter()
                .map(|p| format!("\"{}\"", p.query))
                .collect::<Vec<_>>();
            let found = if found.is_empty() {
                String::new()
            } else {
                let verb = if found.len() == 1 { "was" } else { "were" };
                format!(" ({} {verb} found.)", found.join(" and "))
            };
            return Err(ToolError::BadInput(format!(
                "No place named {} was found.{found} Check the spelling, give a city or town name \
                 (\"Boston\"), optionally followed by a comma and its region or country \
                 (\"Springfield, Illinois\"), and call `get_weather` again.",
                unknown.join(" or ")
            )));
        }
        Ok(WeatherReport { places })
    }
}

/// The outcome of one place's lookup.
enum Found {
    Weather(Box<PlaceWeather>),
    Unknown(String),
}

/// A place as Open-Meteo's geocoding API answers it (`results[]`).
#[derive(Debug, Deserialize)]
struct GeoPlace {
    name: String,
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    admin1: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
}

/// The geocoding answer. No match is an answer without `results`.
#[derive(Debug, Deserialize)]
struct GeoResponse {
    #[serde(default)]
    results: Vec<GeoPlace>,
}

/// The forecast answer, for the variables asked.
#[derive(Debug, Deserialize)]
struct ForecastResponse {
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    current_units: BTreeMap<String, String>,
    current: CurrentBlock,
    daily: DailyBlock,
}

#[derive(Debug, Deserialize)]
struct CurrentBlock {
    time: String,
    temperature_2m: Option<f64>,
    apparent_temperature: Option<f64>,
    relative_humidity_2m: Option<f64>,
    precipitation: Option<f64>,
    weather_code: Option<f64>,
    wind_speed_10m: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct DailyBlock {
    time: Vec<String>,
    #[serde(default)]
    weather_code: Vec<Option<f64>>,
    #[serde(default)]
    temperature_2m_max: Vec<Option<f64>>,
    #[serde(default)]
    temperature_2m_min: Vec<Option<f64>>,
    #[serde(default)]
    precipitation_sum: Vec<Option<f64>>,
    #[serde(default)]
    precipitation_probability_max: Vec<Option<f64>>,
}

/// Open-Meteo's error body: `{"error": true, "reason": "..."}` with HTTP 400.
#[derive(Debug, Deserialize)]
struct ApiError {
    error: bool,
    reason: String,
}

const CURRENT_VARIABLES: &str = "temperature_2m,apparent_temperature,relative_humidity_2m,\
precipitation,weather_code,wind_speed_10m";
const DAILY_VARIABLES: &str = "weather_code,temperature_2m_max,temperature_2m_min,\
precipitation_sum,precipitation_probability_max";

impl GetWeather {
    async fn place_weather(&self, asked: &str, units: Units, days: u8) -> Result<Found, ToolError> {
        let shown = echo(&format!("{:?}", asked.trim()));
        let Some(place) = self.geocode(asked).await? else {
            return Ok(Found::Unknown(shown));
        };
        let mut query = vec![
            ("latitude", place.latitude.to_string()),
            ("longitude", place.longitude.to_string()),
            ("current", CURRENT_VARIABLES.to_string()),
            ("daily", DAILY_VARIABLES.to_string()),
            ("timezone", "auto".to_string()),
            ("forecast_days", days.to_string()),
        ];
        if units == Units::Imperial {
            query.push(("temperature_unit", "fahrenheit".to_string()));
            query.push(("wind_speed_unit", "mph".to_string()));
            query.push(("precipitation_unit", "inch".to_string()));
        }
        let forecast: ForecastResponse =
            match self.forecast.get_json(&self.forecast_url, &query).await? {
                Reply::Ok(forecast) => forecast,
                // Open-Meteo's documented refusal (400 with a reason) names the problem;
                // anything else (404, 401, 403…) is not Open-Meteo's forecast API answering.
                Reply::Refused { status, body } => {
                    return Err(match (status, api_error(&body)) {
                        (400, Some(reason)) => self.forecast.unavailable(format!(
                            "it refused the request (HTTP 400: {})",
                            echo(&reason)
                        )),
                        _ => self.forecast.misconfigured(status, ENV_FORECAST_URL),
                    });
                }
            };
        Ok(Found::Weather(Box::new(report(
            asked, &place, units, forecast,
        ))))
    }

    /// The best match for `asked`, or `None` when there is none. "Name, qualifier" picks the
    /// first match whose region, country or country code matches the qualifier.
    async fn geocode(&self, asked: &str) -> Result<Option<GeoPlace>, ToolError> {
        let (name, qualifier) = match asked.split_once(',') {
            Some((name, qualifier)) => (name.trim(), Some(qualifier.trim().to_lowercase())),
            None => (asked.trim(), None),
        };
        let qualifier = qualifier.filter(|q| !q.is_empty());
        // Open-Meteo answers nothing for names under 2 characters.
        if name.chars().count() < 2 {
            return Ok(None);
        }
        let count = if qualifier.is_some() { 10 } else { 1 };
        let query = [
            ("name", name.to_string()),
            ("count", count.to_string()),
            ("language", "en".to_string()),
            ("format", "json".to_string()),
        ];
        // Only the documented no-match answer (200 without `results`) means "no such place".
        let response: GeoResponse =
            match self.geocoding.get_json(&self.geocoding_url, &query).await? {
                Reply::Ok(response) => response,
                // Open-Meteo's documented refusal of a parameter (400 with a reason): the only
                // parameter that varies is the name, so the model can act on the reason.
                // A 404, 401, 403…: not the geocoding API answering (a wrong URL, a proxy).
                Reply::Refused { status, body } => {
                    let Some(reason) = api_error(&body).filter(|_| status == 400) else {
                        return Err(self.geocoding.misconfigured(status, ENV_GEOCODING_URL));
                    };
                    return Err(ToolError::BadInput(format!(
                        "The Open-Meteo geocoding service refused to look up {} (HTTP 400: {}). \
                         Give a plain city or town name (\"Boston\"), optionally followed by a \
                         comma and its region or country, and call `get_weather` again; if it is \
                         refused again, tell the user the place could not be looked up.",
                        echo(&format!("{name:?}")),
                        echo(&reason)
                    )));
                }
            };
        let mut results = response.results.into_iter();
        Ok(match qualifier {
            None => results.next(),
            Some(qualifier) => results.find(|p| {
                [&p.admin1, &p.country, &p.country_code]
                    .into_iter()
                    .flatten()
                    .any(|field| {
                        let field = field.to_lowercase();
                        field == qualifier || field.starts_with(&qualifier)
                    })
            }),
        })
    }
}

/// The reason in Open-Meteo's documented error body, if `body` is one.
fn api_error(body: &str) -> Option<String> {
    serde_json::from_str::<ApiError>(body)
        .ok()
        .filter(|e| e.error)
        .map(|e| e.reason)
}

fn report(asked: &str, place: &GeoPlace, units: Units, forecast: ForecastResponse) -> PlaceWeather {
    let unit = |key: &str, metric: &str, imperial: &str| {
        forecast.current_units.get(key).cloned().unwrap_or_else(|| {
            match units {
                Units::Metric => metric,
                Units::Imperial => imperial,
            }
            .to_string()
        })
    };
    let units_shown = ReportUnits {
        temperature: unit("temperature_2m", "°C", "°F"),
        wind_speed: unit("wind_speed_10m", "km/h", "mp/h"),
        precipitation: unit("precipitation", "mm", "inch"),
    };
    let mut name_parts = vec![place.name.clone()];
    name_parts.extend(place.admin1.iter().filter(|a| **a != place.name).cloned());
    name_parts.extend(place.country.iter().cloned());
    let current = &forecast.current;
    let daily = &forecast.daily;
    let at = |values: &Vec<Option<f64>>, i: usize| values.get(i).copied().flatten();
    let days = daily
        .time
        .iter()
        .enumerate()
        .map(|(i, date)| DayForecast {
            date: date.clone(),
            conditions: conditions(at(&daily.weather_code, i)),
            temperature_max: at(&daily.temperature_2m_max, i),
            temperature_min: at(&daily.temperature_2m_min, i),
            precipitation: at(&daily.precipitation_sum, i),
            precipitation_probability_percent: at(&daily.precipitation_probability_max, i),
        })
        .collect();
    PlaceWeather {
        query: asked.trim().to_string(),
        place: name_parts.join(", "),
        latitude: place.latitude,
        longitude: place.longitude,
        timezone: forecast
            .timezone
            .clone()
            .or_else(|| place.timezone.clone())
            .unwrap_or_default(),
        units: units_shown,
        current: CurrentConditions {
            time: current.time.clone(),
            conditions: conditions(current.weather_code),
            temperature: current.temperature_2m,
            feels_like: current.apparent_temperature,
            humidity_percent: current.relative_humidity_2m,
            precipitation: current.precipitation,
            wind_speed: current.wind_speed_10m,
        },
        forecast: days,
    }
}

/// A WMO weather interpretation code in words (the table in Open-Meteo's forecast docs).
fn conditions(code: Option<f64>) -> String {
    let Some(code) = code else {
        return "unknown".to_string();
    };
    match code.round() as i64 {
        0 => "Clear sky",
        1 => "Mainly clear",
        2 => "Partly cloudy",
        3 => "Overcast",
        45 => "Fog",
        48 => "Depositing rime fog",
        51 => "Light drizzle",
        53 => "Moderate drizzle",
        55 => "Dense drizzle",
        56 => "Light freezing drizzle",
        57 => "Dense freezing drizzle",
        61 => "Slight rain",
        63 => "Moderate rain",
        65 => "Heavy rain",
        66 => "Light freezing rain",
        67 => "Heavy freezing rain",
        71 => "Slight snowfall",
        73 => "Moderate snowfall",
        75 => "Heavy snowfall",
        77 => "Snow grains",
        80 => "Slight rain showers",
        81 => "Moderate rain showers",
        82 => "Violent rain showers",
        85 => "Slight snow showers",
        86 => "Heavy snow showers",
        95 => "Thunderstorm",
        96 => "Thunderstorm with slight hail",
        99 => "Thunderstorm with heavy hail",
        _ => "unknown",
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weather_codes_read_as_words() {
        assert_eq!(conditions(Some(0.0)), "Clear sky");
        assert_eq!(conditions(Some(63.0)), "Moderate rain");
        assert_eq!(conditions(Some(1000.0)), "unknown");
        assert_eq!(conditions(None), "unknown");
    }
}
