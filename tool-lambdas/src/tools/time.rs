//! `current_time`: the current date and time in a named IANA time zone, from the time zone
//! database bundled in the binary (the Lambda image has none).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::tool::{Tool, ToolError};
use crate::validation::echo;

/// Tells the current date and time in a time zone.
#[derive(Debug, Clone, Copy, Default)]
pub struct CurrentTime {
    /// A fixed "now", for tests; the system clock when absent.
    fixed: Option<Timestamp>,
}

impl CurrentTime {
    /// The tool on the system clock.
    pub fn new() -> Self {
        Self { fixed: None }
    }

    /// The tool with a fixed "now", so tests know what it answers.
    pub fn at(now: Timestamp) -> Self {
        Self { fixed: Some(now) }
    }
}

/// The input of `current_time`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentTimeInput {
    /// The IANA time zone name, written Area/City: "Europe/Paris", "America/New_York",
    /// "Asia/Tokyo"; "UTC" for universal time.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
}

/// The current date and time in a time zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalTime {
    /// The time zone's IANA name.
    pub time_zone: String,
    /// The date and time with its UTC offset (RFC 3339), e.g. `2026-03-01T14:05:09+01:00`.
    pub local_time: String,
    /// The date, `YYYY-MM-DD`.
    pub date: String,
    /// The time of day, `HH:MM:SS` (24-hour clock).
    pub time: String,
    /// The day of the week (`Monday`).
    pub weekday: String,
    /// The offset from UTC, `+01:00`.
    pub utc_offset: String,
    /// The zone's abbreviation at this moment (`CET`), where it has one.
    pub abbreviation: String,
    /// Whether daylight saving time is in effect.
    pub daylight_saving: bool,
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
}

impl Tool for CurrentTime {
    const NAME: &'static str = "current_time";
    const DESCRIPTION: &'static str = "Tells the current date and time in a time zone, with the \
weekday and the offset from UTC. Give the IANA time zone name (Area/City, e.g. \"Europe/Paris\", \
\"America/New_York\", \"Asia/Tokyo\", or \"UTC\"); for a city without its own zone, use the zone \
of the nearest large city in the same country.";

    type Input = CurrentTimeInput;
    type Output = LocalTime;

    fn example() -> CurrentTimeInput {
        CurrentTimeInput {
            time_zone: "Europe/Paris".to_string(),
        }
    }

    async fn run(&self, input: CurrentTimeInput) -> Result<LocalTime, ToolError> {
        let now = self.fixed.unwrap_or_else(Timestamp::now);
        let name = input.time_zone.trim();
        let zone = find_zone(name)?;
        Ok(local_time(now, name, &zone))
    }
}

fn find_zone(name: &str) -> Result<TimeZone, ToolError> {
    if name.is_empty() {
        return Err(ToolError::BadInput(
            "`time_zone` is empty: give an IANA time zone name such as \"Europe/Paris\" or \"UTC\"."
                .to_string(),
        ));
    }
    if name.eq_ignore_ascii_case("utc") || name.eq_ignore_ascii_case("gmt") || name == "Z" {
        return Ok(TimeZone::UTC);
    }
    jiff::tz::db().get(name).map_err(|_| {
        let suggestions = suggest(name);
        let hint = if suggestions.is_empty() {
            String::new()
        } else {
            format!(" Did you mean {}?", suggestions.join(" or "))
        };
        ToolError::BadInput(format!(
            "{} is not an IANA time zone name. Write it as Area/City, e.g. \"Europe/Paris\", \
             \"America/New_York\" or \"Asia/Tokyo\" (or \"UTC\"), and call `current_time` again.{hint}",
            echo(&format!("{name:?}"))
        ))
    })
}

/// Zone names whose city part matches `name` ("paris" → "Europe/Paris"), at most three.
fn suggest(name: &str) -> Vec<String> {
    let wanted = name
        .trim()
        .replace(' ', "_")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if wanted.len() < 3 {
        return Vec::new();
    }
    let mut found: Vec<String> = jiff::tz::db()
        .available()
        .map(|n| n.as_str().to_string())
        .filter(|zone| {
            let city = zone.rsplit('/').next().unwrap_or_default().to_lowercase();
            city == wanted || (wanted.len() >= 4 && city.contains(&wanted))
        })
        .collect();
    found.sort();
    found.truncate(3);
    found.into_iter().map(|z| format!("\"{z}\"")).collect()
}

fn local_time(now: Timestamp, asked: &str, zone: &TimeZone) -> LocalTime {
    let zoned = now.to_zoned(zone.clone());
    let info = zone.to_offset_info(now);
    let name = zone.iana_name().unwrap_or(asked).to_string();
    LocalTime {
        time_zone: name,
        local_time: zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        date: zoned.strftime("%Y-%m-%d").to_string(),
        time: zoned.strftime("%H:%M:%S").to_string(),
        weekday: zoned.strftime("%A").to_string(),
        utc_offset: zoned.strftime("%:z").to_string(),
        abbreviation: info.abbreviation().to_string(),
        daylight_saving: info.dst().is_dst(),
        unix_seconds: now.as_second(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ts: &str) -> CurrentTime {
        CurrentTime::at(ts.parse().expect("a timestamp"))
    }

    fn input(zone: &str) -> CurrentTimeInput {
        CurrentTimeInput {
            time_zone: zone.to_string(),
        }
    }

    #[tokio::test]
    async fn tells_the_time_in_a_zone_with_daylight_saving() {
        let tool = at("2026-07-01T12:00:00Z");
        let paris = tool.run(input("Europe/Paris")).await.expect("paris");
        assert_eq!(paris.local_time, "2026-07-01T14:00:00+02:00");
        assert_eq!(paris.weekday, "Wednesday");
        assert_eq!(paris.abbreviation, "CEST");
        assert!(paris.daylight_saving);
        assert_eq!(paris.unix_seconds, 1_782_907_200);
        let winter = at("2026-01-15T23:30:00Z")
            .run(input("America/New_York"))
            .await
            .expect("new york");
        assert_eq!(winter.local_time, "2026-01-15T18:30:00-05:00");
        assert_eq!(winter.utc_offset, "-05:00");
        assert!(!winter.daylight_saving);
    }

    #[tokio::test]
    async fn utc_and_case_are_forgiven() {
        let tool = at("2026-01-01T00:00:00Z");
        assert_eq!(
            tool.run(input(" utc ")).await.expect("utc").time,
            "00:00:00"
        );
        let tokyo = tool.run(input("asia/tokyo")).await.expect("tokyo");
        assert_eq!(tokyo.time_zone, "Asia/Tokyo");
        assert_eq!(tokyo.time, "09:00:00");
    }

    #[tokio::test]
    async fn unknown_zones_say_how_to_write_one() {
        let tool = at("2026-01-01T00:00:00Z");
        let Err(ToolError::BadInput(text)) = tool.run(input("Paris")).await else {
            panic!("expected a bad input error");
        };
        assert!(text.contains("\"Europe/Paris\""), "{text}");
        assert!(text.contains("Area/City"), "{text}");
        for bad in [
            "",
            "Mars/Olympus_Mons",
            "../../etc/passwd",
            "🕒",
            &"x".repeat(5000),
        ] {
            let result = tool.run(input(bad)).await;
            assert!(
                matches!(result, Err(ToolError::BadInput(_))),
                "{bad}: {result:?}"
            );
        }
    }
}
