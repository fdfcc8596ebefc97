//! The service's error names, defined once, and the failure a state raises.

use serde_json::{Value, json};

use crate::limits::MAX_PAYLOAD_DEPTH;

/// Matches every error name in Retry and Catch (except [`RUNTIME`] and [`DATA_LIMIT_EXCEEDED`]).
pub const ALL: &str = "States.ALL";
/// A task failed; in Retry and Catch it matches every error but [`TIMEOUT`].
pub const TASK_FAILED: &str = "States.TaskFailed";
/// A task or the execution ran longer than its `TimeoutSeconds`.
pub const TIMEOUT: &str = "States.Timeout";
/// A bad path, a bad type, a missing state: the execution cannot go on. Never retried nor
/// caught, not even by a Retrier or Catcher that names it.
pub const RUNTIME: &str = "States.Runtime";
/// A payload over 256 KB. Not caught by `States.ALL`.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
/// No Choice rule matched and there is no `Default`.
pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
/// A branch of a Parallel state failed.
pub const BRANCH_FAILED: &str = "States.BranchFailed";
/// A JSONata expression failed, or returned the wrong type.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
/// An intrinsic function failed.
pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// A Map state had more failed items than it tolerates.
pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
/// A distributed Map's `ItemReader` could not read its items (a missing object, a malformed
/// file, a bad `ReaderConfig` value, no object store configured).
pub const ITEM_READER_FAILED: &str = "States.ItemReaderFailed";
/// A distributed Map's `ResultWriter` could not write its results.
pub const RESULT_WRITER_FAILED: &str = "States.ResultWriterFailed";
/// The developer guide's name for a heartbeat that did not arrive in time. The service records
/// a missed heartbeat of a `.waitForTaskToken` task as [`TIMEOUT`] (localstack's
/// `test_heartbeats`), and so does the engine; the name stays for `ErrorEquals` and for
/// activities.
pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
/// The Lambda function does not exist (here: no handler is registered for it).
pub const LAMBDA_RESOURCE_NOT_FOUND: &str = "Lambda.ResourceNotFoundException";
/// The Lambda service (here: the emulator) could not be reached or answered badly.
pub const LAMBDA_SERVICE_EXCEPTION: &str = "Lambda.ServiceException";

/// The payload limit of the service: 256 KB of UTF-8 JSON.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// An error raised while running a state: an error name for Retry/Catch and a cause for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The error name (`States.TaskFailed`, a Lambda's `errorType`, …).
    pub error: String,
    /// What happened, in words.
    pub cause: String,
}

impl Failure {
    /// A failure with this name and cause.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A `States.Runtime` failure.
    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(RUNTIME, cause)
    }

    /// A `States.QueryEvaluationError` failure.
    pub fn query(cause: impl Into<String>) -> Self {
        Self::new(QUERY_EVALUATION_ERROR, cause)
    }

    /// A `States.IntrinsicFailure` failure.
    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(INTRINSIC_FAILURE, cause)
    }

    /// The error output a Catcher passes on: `{"Error": …, "Cause": …}`.
    pub fn error_output(&self) -> Value {
        json!({"Error": self.error, "Cause": self.cause})
    }

    /// Whether a Retrier's or Catcher's `ErrorEquals` list matches this failure, with the
    /// service's wildcard rules. `States.Runtime` matches nothing, not even its own name: the
    /// developer guide says it "isn't retriable, and will always cause the execution to fail".
    pub fn matches(&self, error_equals: &[String]) -> bool {
        if self.error == RUNTIME {
            return false;
        }
        error_equals.iter().any(|name| match name.as_str() {
            ALL => self.error != RUNTIME && self.error != DATA_LIMIT_EXCEEDED,
            TASK_FAILED => {
                self.error != TIMEOUT && self.error != RUNTIME && self.error != DATA_LIMIT_EXCEEDED
            }
            other => other == self.error,
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

/// Fails with `States.DataLimitExceeded` when a payload is over 256 KB.
pub fn check_size(value: &Value, what: &str) -> Result<(), Failure> {
    // A rough bound (six bytes for every byte of a string, the longest number) settles almost
    // every payload; a closer bound, and then the exact length (serde_json's compact text), are
    // counted only for payloads that may be too large.
    // The bounds walk the value and so check its depth too (see [`TOO_DEEP`]).
    for bound in [rough_bound, size_bound] {
        match bound(value, MAX_PAYLOAD_BYTES) {
            TOO_DEEP.. => return Err(too_deep(what)),
            size if size <= MAX_PAYLOAD_BYTES => return Ok(()),
            _ => {}
        }
    }
    // Near the limit the walks may have stopped before a deep part.
    if nested_deeper_than(value, MAX_PAYLOAD_DEPTH) {
        return Err(too_deep(what));
    }
    check_length(serialized_len(value), what)
}

/// The failure of a payload nested deeper than [`MAX_PAYLOAD_DEPTH`].
fn too_deep(what: &str) -> Failure {
    Failure::runtime(format!(
        "The {what} is nested more than {MAX_PAYLOAD_DEPTH} levels deep, the most the local \
         engine accepts."
    ))
}

/// What a size bound gives for a value nested deeper than [`MAX_PAYLOAD_DEPTH`]: past any
/// limit, and far enough from `usize::MAX` that the sums above it do not overflow.
const TOO_DEEP: usize = usize::MAX / 4;

/// Whether a value nests arrays and objects deeper than `depth`.
fn nested_deeper_than(value: &Value, depth: usize) -> bool {
    let children: Box<dyn Iterator<Item = &Value>> = match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(fields) => Box::new(fields.values()),
        _ => return false,
    };
    depth == 0
        || children
            .into_iter()
            .any(|c| nested_deeper_than(c, depth - 1))
}

/// Fails with `States.DataLimitExceeded` when `size`, a payload's length in compact JSON, is
/// over 256 KB.
pub(crate) fn check_length(size: usize, what: &str) -> Result<(), Failure> {
    if size > MAX_PAYLOAD_BYTES {
        return Err(Failure::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "The {what} has a size of {size} bytes, which exceeds the maximum of {MAX_PAYLOAD_BYTES} bytes (256 KB)."
            ),
        ));
    }
    Ok(())
}

/// How a size bound counts the leaves of a value; [`bound`] adds the brackets, commas and
/// colons around them.
trait Leaves {
    fn string(s: &str) -> usize;
    fn number(n: &serde_json::Number) -> usize;
}

/// Reads no string's bytes and no number's digits: a string may take six bytes for each of its
/// bytes (`\u00XX`), a number at most 24.
struct Rough;

impl Leaves for Rough {
    fn string(s: &str) -> usize {
        2 + 6 * s.len()
    }
    fn number(_: &serde_json::Number) -> usize {
        24
    }
}

/// Exact for strings and integers, the longest text for other numbers, and a byte that needs
/// escaping counted as `\u00XX`.
struct Close;

impl Leaves for Close {
    fn string(s: &str) -> usize {
        string_bound(s)
    }
    fn number(n: &serde_json::Number) -> usize {
        match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => digits(u),
            (None, Some(i)) => 1 + digits(i.unsigned_abs()),
            // A float in its longest form: `-2.2250738585072014e-308`.
            _ => 24,
        }
    }
}

/// An upper bound of the length of a value's compact JSON text, walking it without formatting
/// anything, with `L`'s rules for its leaves. Stops once past `limit`; [`TOO_DEEP`] for a
/// value whose arrays and objects nest more than `depth` deep.
fn bound<L: Leaves>(value: &Value, limit: usize, depth: usize) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(n) => L::number(n),
        Value::String(s) => L::string(s),
        Value::Array(_) | Value::Object(_) if depth == 0 => TOO_DEEP,
        Value::Array(items) => {
            let mut size = 2 + items.len();
            for item in items {
                if size > limit {
                    break;
                }
                size += bound::<L>(item, limit, depth - 1);
            }
            size
        }
        Value::Object(fields) => {
            let mut size = 2 + fields.len();
            for (key, item) in fields {
                if size > limit {
                    break;
                }
                size += L::string(key) + 1 + bound::<L>(item, limit, depth - 1);
            }
            size
        }
    }
}

fn rough_bound(value: &Value, limit: usize) -> usize {
    bound::<Rough>(value, limit, MAX_PAYLOAD_DEPTH)
}

fn size_bound(value: &Value, limit: usize) -> usize {
    bound::<Close>(value, limit, MAX_PAYLOAD_DEPTH)
}

/// A string's length in JSON: its quotes, and at most six bytes for each byte to escape.
fn string_bound(s: &str) -> usize {
    let escaped = s
        .bytes()
        .filter(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
        .count();
    s.len() + 2 + 5 * escaped
}

/// The number of decimal digits of `n`.
fn digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// The length of a value's JSON text, counted without building the text.
pub(crate) fn serialized_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing JSON values to a counter cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcards_follow_the_service_rules() {
        let timeout = Failure::new(TIMEOUT, "");
        assert!(timeout.matches(&names(&[ALL])));
        assert!(!timeout.matches(&names(&[TASK_FAILED])));
        let custom = Failure::new("MyError", "");
        assert!(custom.matches(&names(&[TASK_FAILED])));
        assert!(custom.matches(&names(&["Other", "MyError"])));
        assert!(!custom.matches(&names(&["Other"])));
        let runtime = Failure::runtime("bad path");
        assert!(!runtime.matches(&names(&[ALL])));
        assert!(!runtime.matches(&names(&[RUNTIME])));
        assert!(!runtime.matches(&names(&[TASK_FAILED, RUNTIME, ALL])));
    }

    #[test]
    fn payloads_over_256_kb_fail() {
        let big = Value::String("x".repeat(MAX_PAYLOAD_BYTES));
        let err = check_size(&big, "state output").unwrap_err();
        assert_eq!(err.error, DATA_LIMIT_EXCEEDED);
        assert!(check_size(&json!({"a": 1}), "state output").is_ok());
        assert_eq!(serialized_len(&json!({"a": [1, "x"]})), 13);
        // The bound never undercounts, so the exact count decides near the limit.
        for value in [
            json!({"a": [1, "x\n\u{1}", -1.5e-300, null, true]}),
            json!(["\"\\", {"k\"": u64::MAX}, i64::MIN]),
        ] {
            assert!(size_bound(&value, usize::MAX) >= serialized_len(&value));
            assert!(rough_bound(&value, usize::MAX) >= size_bound(&value, usize::MAX));
        }
        let near = Value::String("\"".repeat(MAX_PAYLOAD_BYTES / 2 - 1));
        assert!(check_size(&near, "state output").is_ok());
        let over = Value::String("\"".repeat(MAX_PAYLOAD_BYTES / 2));
        assert!(check_size(&over, "state output").is_err());
    }
}
