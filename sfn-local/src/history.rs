//! The execution history, as AWS's GetExecutionHistory returns it: typed events with ids,
//! the id of the event before, timestamps, and a `…EventDetails` object.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::clock::{Clock, iso};

/// A listener that sees each event as it is appended (live progress).
pub type Listener = Arc<dyn Fn(&HistoryEvent) + Send + Sync>;

/// One event of an execution's history.
#[derive(Debug, Clone)]
pub struct HistoryEvent {
    /// 1-based, in the order events happened.
    pub id: u64,
    /// The event this one follows (0 for the first).
    pub previous_event_id: u64,
    /// When it happened, by the engine's clock.
    pub timestamp: DateTime<Utc>,
    /// The event type as AWS names it: `ExecutionStarted`, `TaskStateEntered`, `TaskScheduled`, …
    pub event_type: String,
    /// The details field name (`executionStartedEventDetails`, …) and its fields, if any.
    details: Option<(&'static str, Details)>,
    /// The details as JSON, built the first time someone reads them.
    details_json: OnceLock<Value>,
}

impl PartialEq for HistoryEvent {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.previous_event_id == other.previous_event_id
            && self.timestamp == other.timestamp
            && self.event_type == other.event_type
            && self.details() == other.details()
    }
}

/// The fields of an event's details, kept as values until someone reads them as JSON, so
/// recording an event stays cheap: payloads are shared with the engine (`Arc`) and rendered
/// to JSON text only when the history is read.
// The fields are inline on purpose: most events have two to four, and an allocation per event
// costs more than the larger size.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Details {
    /// Any JSON object.
    Json(Value),
    /// Fields in order.
    Fields(Fields),
}

/// The fields of an event's details, inline up to four (most events have two to four).
pub(crate) type Fields = smallvec::SmallVec<[(&'static str, Field); 4]>;

/// One field of [`Details::Fields`].
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// A JSON value, shown as it is.
    Value(Value),
    /// A string shared with the machine (a state name, a resource).
    Str(Arc<str>),
    /// A payload (input, output, parameters), shown as its JSON text, as the service does.
    Payload(Arc<Value>),
    /// A payload already turned into its JSON text, so the engine can take the value itself.
    Text(String),
    /// `{"truncated": false}`, the `inputDetails`/`outputDetails` of every event.
    NotTruncated,
}

impl From<Value> for Details {
    fn from(value: Value) -> Self {
        Details::Json(value)
    }
}

impl Field {
    fn to_value(&self) -> Value {
        match self {
            Field::Value(v) => v.clone(),
            Field::Str(s) => Value::String(s.as_ref().to_owned()),
            Field::Payload(v) => Value::String(text(v)),
            Field::Text(t) => Value::String(t.clone()),
            Field::NotTruncated => not_truncated(),
        }
    }
}

impl Details {
    fn to_value(&self) -> Value {
        match self {
            Details::Json(v) => v.clone(),
            Details::Fields(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, f)| ((*k).to_owned(), f.to_value()))
                    .collect(),
            ),
        }
    }
}

impl HistoryEvent {
    /// The event as GetExecutionHistory JSON: `timestamp`, `type`, `id`, `previousEventId`, and
    /// the details object.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("timestamp".into(), Value::String(iso(self.timestamp)));
        map.insert("type".into(), Value::String(self.event_type.clone()));
        map.insert("id".into(), json!(self.id));
        map.insert("previousEventId".into(), json!(self.previous_event_id));
        if let Some((key, value)) = self.details() {
            map.insert(key.to_owned(), value.clone());
        }
        Value::Object(map)
    }

    /// The details field name (`stateEnteredEventDetails`, …) and its object, if any.
    pub fn details(&self) -> Option<(&str, &Value)> {
        let (key, details) = self.details.as_ref()?;
        Some((*key, self.details_json.get_or_init(|| details.to_value())))
    }

    /// A field of the details object, if present (`name`, `input`, `error`, …).
    pub fn detail(&self, field: &str) -> Option<&Value> {
        if let Some((_, Details::Fields(fields))) = &self.details {
            match fields.iter().find(|(k, _)| *k == field) {
                Some((_, Field::Value(v))) => return Some(v),
                None => return None,
                // Rendered with the rest of the details, once.
                Some(_) => {}
            }
        }
        self.details().and_then(|(_, d)| d.get(field))
    }
}

/// Appends events in order, stamps them with the clock, and tells the listener.
pub(crate) struct History {
    events: Mutex<Vec<HistoryEvent>>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener>,
}

impl History {
    /// A history with room for `capacity` events (the length of the engine's last one, so a
    /// long history is not copied as it grows).
    pub(crate) fn new(clock: Arc<dyn Clock>, listener: Option<Listener>, capacity: usize) -> Self {
        Self {
            events: Mutex::new(Vec::with_capacity(capacity)),
            clock,
            listener,
        }
    }

    /// Appends an event after `previous` and returns its id.
    pub(crate) fn append(
        &self,
        previous: u64,
        event_type: impl Into<String>,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> u64 {
        let event_type = event_type.into();
        let details = details.map(|(k, v)| (k, v.into()));
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        // Read under the lock, so timestamps never go back as ids go up.
        let timestamp = self.clock.now();
        let id = events.len() as u64 + 1;
        // Built in place: an event is a few hundred bytes, not worth moving around.
        events.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp,
            event_type,
            details,
            details_json: OnceLock::new(),
        });
        if let (Some(listener), Some(event)) = (&self.listener, events.last()) {
            listener(event);
        }
        id
    }

    /// The events, leaving the history empty (at the end of an execution).
    /// Lets the engine take `value` without a copy: when the events `ids` are its only other
    /// holders (as payload fields), those fields keep its JSON text instead, which is what the
    /// events show anyway. Does nothing when others share the value too.
    pub(crate) fn release(&self, ids: &[u64], value: &Arc<Value>) {
        if Arc::strong_count(value) > ids.len() + 1 {
            return;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let mut json: Option<String> = None;
        for id in ids {
            let index = usize::try_from(*id).ok().and_then(|id| id.checked_sub(1));
            let Some(event) = index.and_then(|i| events.get_mut(i)) else {
                continue;
            };
            if let Some((_, Details::Fields(fields))) = &mut event.details {
                for (_, field) in fields.iter_mut() {
                    if matches!(field, Field::Payload(p) if Arc::ptr_eq(p, value)) {
                        let json = json.get_or_insert_with(|| text(value));
                        *field = Field::Text(json.clone());
                    }
                }
            }
        }
    }

    pub(crate) fn take(&self) -> Vec<HistoryEvent> {
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The id of the last event.
    pub(crate) fn last_id(&self) -> u64 {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).len() as u64
    }
}

/// JSON text of a value, as history details carry inputs and outputs.
pub(crate) fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// `{"truncated": false}`, the `inputDetails`/`outputDetails` of every event.
pub(crate) fn not_truncated() -> Value {
    json!({"truncated": false})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn events_have_ids_previous_ids_and_reach_the_listener() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let listener: Listener = Arc::new(move |e: &HistoryEvent| {
            sink.lock().unwrap().push(e.event_type.clone());
        });
        let history = History::new(Arc::new(ManualClock::fixed()), Some(listener), 0);
        let first = history.append(
            0,
            "ExecutionStarted",
            Some(("executionStartedEventDetails", json!({"input": "{}"}))),
        );
        let second = history.append(first, "PassStateEntered", None::<(&str, Value)>);
        assert_eq!((first, second), (1, 2));
        let events = history.take();
        assert_eq!(events[1].previous_event_id, 1);
        assert_eq!(
            events[0].to_json(),
            json!({
                "timestamp": "2024-01-01T00:00:00.000Z",
                "type": "ExecutionStarted",
                "id": 1,
                "previousEventId": 0,
                "executionStartedEventDetails": {"input": "{}"}
            })
        );
        assert_eq!(
            *seen.lock().unwrap(),
            vec!["ExecutionStarted", "PassStateEntered"]
        );
    }

    #[test]
    fn a_released_payload_shows_the_same_json_and_leaves_the_value_unshared() {
        let history = History::new(Arc::new(ManualClock::fixed()), None, 0);
        let value = Arc::new(json!({"a": [1, "x"], "b": {"c": null}}));
        let fields = |v: &Arc<Value>| -> Fields {
            smallvec::smallvec![
                ("output", Field::Payload(v.clone())),
                ("outputDetails", Field::NotTruncated),
            ]
        };
        let id = history.append(
            0,
            "PassStateExited",
            Some(("stateExitedEventDetails", Details::Fields(fields(&value)))),
        );
        // A second holder besides the event: nothing is released.
        let other = value.clone();
        history.release(&[id], &value);
        assert_eq!(Arc::strong_count(&value), 3);
        drop(other);
        history.release(&[id], &value);
        assert_eq!(Arc::strong_count(&value), 1);
        let events = history.take();
        assert_eq!(
            events[0].to_json()["stateExitedEventDetails"],
            json!({"output": r#"{"a":[1,"x"],"b":{"c":null}}"#, "outputDetails": {"truncated": false}})
        );
    }
}
