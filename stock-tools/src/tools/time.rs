//! `current_time`: the current date and time in a named IANA time zone, from the time zone
//! database bundled in the binary (the Lambda image has none).

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};
use serde::Serialize;

use sfn_agent_tool::{Tool, ToolError};

use crate::specs::current_time as spec;
pub use crate::specs::current_time::CurrentTimeInput;
use sfn_agent_tool::validation::echo;

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
    /// What to know about the zone asked for: a fixed offset, or an `Etc/GMT` name whose sign
    /// is the reverse of what it looks like.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Tool for CurrentTime {
    const NAME: &'static str = spec::NAME;
    const DESCRIPTION: &'static str = spec::DESCRIPTION;

    type Input = CurrentTimeInput;
    type Output = LocalTime;

    fn example() -> CurrentTimeInput {
        spec::example()
    }

    async fn run(&self, input: CurrentTimeInput) -> Result<LocalTime, ToolError> {
        let now = self.fixed.unwrap_or_else(Timestamp::now);
        let name = input.time_zone.trim();
        if let Some(offset) = fixed_offset(name) {
            let (offset, shown) = offset?;
            let mut answer = local_time(now, &shown, &TimeZone::fixed(offset));
            answer.time_zone.clone_from(&shown);
            answer.note = Some(format!(
                "{shown} is a fixed offset from UTC, as asked: it has no daylight saving time. \
                 For the local time of a place, give its IANA zone name (\"Asia/Karachi\")."
            ));
            return Ok(answer);
        }
        let zone = find_zone(name)?;
        let mut answer = local_time(now, name, &zone);
        answer.note = etc_gmt_offset(&answer.time_zone).map(|offset| {
            format!(
                "{} is UTC{offset}: in the Etc/GMT names the sign is reversed (POSIX style), so \
                 Etc/GMT+5 is five hours behind UTC. For a fixed offset ahead of UTC, ask for \
                 \"UTC+5\".",
                answer.time_zone
            )
        });
        if let Some(place) = standard_time_only(name) {
            answer.note = Some(format!(
                "{} is standard time all year (UTC{}), with no daylight saving time; for the \
                 local time in {place}, ask for its IANA zone name instead.",
                name.to_ascii_uppercase(),
                answer.utc_offset
            ));
        }
        Ok(answer)
    }
}

/// The tz database's zones named like a US time zone abbreviation but fixed all year (`EST`
/// is UTC-05:00 even in July, when New York is at UTC-04:00), with the zone a person usually
/// means.
fn standard_time_only(name: &str) -> Option<&'static str> {
    match name.to_ascii_uppercase().as_str() {
        "EST" => Some("New York (\"America/New_York\")"),
        "MST" => Some("Denver (\"America/Denver\"; Arizona keeps MST: \"America/Phoenix\")"),
        "HST" => Some("Honolulu (\"Pacific/Honolulu\")"),
        _ => None,
    }
}

/// The largest offset ahead of UTC in use (Kiribati, UTC+14:00).
const MAX_AHEAD_HOURS: i32 = 14;
/// The largest offset behind UTC in use (Baker Island, UTC-12:00).
const MAX_BEHIND_HOURS: i32 = 12;

/// Reads a fixed offset as a person writes it: `UTC+5`, `GMT-8`, `UTC+05:30`, `UTC +0545`,
/// `+05:30` (the sign means what it says: `UTC+5` is five hours ahead of UTC), with its name
/// (`UTC+05:00`). `None` when `name` is not written as an offset at all; an error when it is
/// one but out of range.
fn fixed_offset(name: &str) -> Option<Result<(Offset, String), ToolError>> {
    let upper = name.to_ascii_uppercase();
    let rest = match upper
        .strip_prefix("UTC")
        .or_else(|| upper.strip_prefix("GMT"))
    {
        Some(rest) => rest.trim_start(),
        None => upper.as_str(),
    };
    let mut chars = rest.chars();
    let sign = match chars.next() {
        Some('+') => 1,
        Some('-' | '−' | '–') => -1,
        _ => return None,
    };
    let digits: String = chars.as_str().chars().filter(|c| *c != ':').collect();
    let colons = chars.as_str().matches(':').count();
    if digits.is_empty()
        || digits.len() > 4
        || colons > 1
        || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    if colons == 1
        && !matches!(chars.as_str().split_once(':'), Some((h, m)) if !h.is_empty() && m.len() == 2)
    {
        return None;
    }
    let (hours, minutes) = match (colons, digits.len()) {
        (1, _) => digits.split_at(digits.len() - 2),
        (_, 1 | 2) => (digits.as_str(), "00"),
        (_, 3 | 4) => digits.split_at(digits.len() - 2),
        _ => return None,
    };
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    let problem = if minutes >= 60 {
        Some("the minutes must be below 60")
    } else if hours * 60 + minutes
        > 60 * if sign < 0 {
            MAX_BEHIND_HOURS
        } else {
            MAX_AHEAD_HOURS
        }
    {
        Some("offsets in use run from UTC-12:00 to UTC+14:00")
    } else {
        None
    };
    if let Some(problem) = problem {
        return Some(Err(ToolError::BadInput(format!(
            "{} is not a usable offset from UTC: {problem}. Give an IANA time zone name \
             (\"Asia/Kolkata\") or an offset such as \"UTC+5\" or \"UTC-03:30\", and call \
             `current_time` again.",
            echo(&format!("{name:?}"))
        ))));
    }
    let seconds = sign * (hours * 3600 + minutes * 60);
    let shown = format!(
        "UTC{}{hours:02}:{minutes:02}",
        if sign < 0 { '-' } else { '+' }
    );
    Some(
        Offset::from_seconds(seconds)
            .map(|offset| (offset, shown))
            .map_err(|e| ToolError::Failed(e.to_string())),
    )
}

/// The real offset of an `Etc/GMT±N` zone name (`Etc/GMT+5` → `-05:00`), whose sign is
/// reversed; `None` for any other name (and for `Etc/GMT+0`, `Etc/GMT-0`).
fn etc_gmt_offset(name: &str) -> Option<String> {
    let rest = name.strip_prefix("Etc/GMT")?;
    let (sign, hours) = match rest.split_at_checked(1)? {
        ("+", hours) => ('-', hours),
        ("-", hours) => ('+', hours),
        _ => return None,
    };
    let hours: u8 = hours.parse().ok()?;
    (hours != 0).then(|| format!("{sign}{hours:02}:00"))
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
    found
        .into_iter()
        .map(|z| match etc_gmt_offset(&z) {
            Some(offset) => format!("\"{z}\" (which is UTC{offset}: the Etc/GMT sign is reversed)"),
            None => format!("\"{z}\""),
        })
        .collect()
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
        note: None,
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
    async fn gmt_and_utc_offsets_mean_what_they_say() {
        let tool = at("2026-01-01T12:00:00Z");
        for (asked, zone, time) in [
            ("GMT+5", "UTC+05:00", "17:00:00"),
            ("UTC+5", "UTC+05:00", "17:00:00"),
            ("gmt-5", "UTC-05:00", "07:00:00"),
            ("UTC−8", "UTC-08:00", "04:00:00"),
            ("UTC+05:30", "UTC+05:30", "17:30:00"),
            ("UTC +0545", "UTC+05:45", "17:45:00"),
            ("UTC-03:30", "UTC-03:30", "08:30:00"),
            ("+14", "UTC+14:00", "02:00:00"),
            ("GMT+0", "UTC+00:00", "12:00:00"),
        ] {
            let answer = tool.run(input(asked)).await.expect(asked);
            assert_eq!(answer.time_zone, zone, "{asked}");
            assert_eq!(answer.time, time, "{asked}");
            assert_eq!(answer.utc_offset, &zone[3..], "{asked}");
            assert!(!answer.daylight_saving);
            let note = answer.note.expect("a note");
            assert!(note.contains("fixed offset"), "{note}");
        }
        for bad in ["UTC+15", "GMT-13:30", "UTC+05:75"] {
            let Err(ToolError::BadInput(text)) = tool.run(input(bad)).await else {
                panic!("{bad}: expected a bad input error");
            };
            assert!(text.contains("not a usable offset from UTC"), "{text}");
        }
    }

    #[tokio::test]
    async fn etc_gmt_names_say_their_sign_is_reversed() {
        let tool = at("2026-01-01T12:00:00Z");
        let answer = tool.run(input("Etc/GMT+5")).await.expect("etc");
        assert_eq!(answer.utc_offset, "-05:00");
        let note = answer.note.expect("a note");
        assert!(note.starts_with("Etc/GMT+5 is UTC-05:00"), "{note}");
        let answer = tool.run(input("Etc/GMT-3")).await.expect("etc");
        assert!(
            answer
                .note
                .expect("a note")
                .starts_with("Etc/GMT-3 is UTC+03:00")
        );
        assert_eq!(
            tool.run(input("Europe/Paris")).await.expect("paris").note,
            None
        );
        // `EST` is the tz database's fixed UTC-05:00, not New York's summer time.
        let est = at("2026-07-01T12:00:00Z")
            .run(input("EST"))
            .await
            .expect("est");
        assert_eq!(est.utc_offset, "-05:00");
        let note = est.note.expect("a note");
        assert!(note.contains("no daylight saving time"), "{note}");
        assert!(note.contains("America/New_York"), "{note}");
        // A suggestion of an Etc/GMT name says what it means.
        let Err(ToolError::BadInput(text)) = tool.run(input("Asia/GMT+5")).await else {
            panic!("expected a bad input error");
        };
        assert!(
            text.contains("\"Etc/GMT+5\" (which is UTC-05:00: the Etc/GMT sign is reversed)"),
            "{text}"
        );
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
