//! AWS JSON 1.0 as the service speaks it: `POST /` with `X-Amz-Target: AWSStepFunctions.<Action>`
//! and a JSON body of camelCase members; timestamps as seconds since the epoch; pagination by
//! an opaque `nextToken`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// The prefix of every target of the service.
pub const TARGET_PREFIX: &str = "AWSStepFunctions.";

/// The largest request body taken (a definition may be 1 MiB, an input 256 KiB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// The largest execution input or task output, as the service allows (256 KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// Reads a request's members: an empty body is `{}`; anything but a JSON object, or a member of
/// the wrong type, is a `SerializationException`.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::serialization(format!("the request body is not JSON: {e}")))?
    };
    if !value.is_object() {
        return Err(ApiError::serialization(
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_value(value).map_err(|e| ApiError::serialization(e.to_string()))
}

/// A required member, or the service's "must not be null" error.
pub fn required<'a>(value: &'a Option<String>, member: &str) -> Result<&'a str, ApiError> {
    value.as_deref().ok_or_else(|| ApiError::missing(member))
}

/// `maxResults`: 0 or absent is `default`; above 1000 or negative is a `ValidationException`.
pub fn page_size(max_results: Option<i64>, default: usize) -> Result<usize, ApiError> {
    match max_results {
        None | Some(0) => Ok(default),
        Some(n @ 1..=1000) => Ok(n as usize),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000 and greater than or equal to 0"
        ))),
    }
}

/// Where a page starts: the `nextToken` a previous page returned (`InvalidToken` otherwise).
pub fn page_start(next_token: Option<&str>) -> Result<usize, ApiError> {
    match next_token {
        None | Some("") => Ok(0),
        Some(token) => token
            .strip_prefix("page-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| ApiError::invalid_token(format!("Invalid Token: '{token}'"))),
    }
}

/// The `nextToken` of the page starting at `offset`.
pub fn next_token(offset: usize) -> String {
    format!("page-{offset}")
}

/// Now, as the protocol writes timestamps: seconds since the epoch, to the millisecond.
pub fn now() -> f64 {
    epoch(chrono::Utc::now())
}

/// A time in seconds since the epoch, to the millisecond.
pub fn epoch(time: chrono::DateTime<chrono::Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}

/// Parses JSON text a member carries (an execution input, a task output), within the size limit.
pub fn json_text(text: &str, what: &str) -> Result<Value, String> {
    if text.len() > MAX_PAYLOAD {
        return Err(format!(
            "{what} is {} bytes, more than the {MAX_PAYLOAD} bytes allowed",
            text.len()
        ));
    }
    serde_json::from_str(text).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Req {
        state_machine_arn: Option<String>,
        max_results: Option<i64>,
    }

    #[test]
    fn bodies_that_are_not_objects_or_have_wrong_types_are_serialization_errors() {
        for body in [
            &b"{"[..],
            b"[1]",
            b"\"x\"",
            b"{\"stateMachineArn\": 5}",
            b"{\"maxResults\": \"a\"}",
        ] {
            let err = decode::<Req>(body).unwrap_err();
            assert_eq!(
                err.name,
                "SerializationException",
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let empty: Req = decode(b"").unwrap();
        assert!(empty.state_machine_arn.is_none() && empty.max_results.is_none());
        assert_eq!(
            required(&empty.state_machine_arn, "stateMachineArn")
                .unwrap_err()
                .name,
            "ValidationException"
        );
    }

    #[test]
    fn pages() {
        assert_eq!(page_size(None, 100).unwrap(), 100);
        assert_eq!(page_size(Some(5), 100).unwrap(), 5);
        assert_eq!(
            page_size(Some(1001), 100).unwrap_err().name,
            "ValidationException"
        );
        assert_eq!(page_start(Some(&next_token(40))).unwrap(), 40);
        assert_eq!(
            page_start(Some("garbage")).unwrap_err().name,
            "InvalidToken"
        );
    }
}
