//! The execution history, as AWS's GetExecutionHistory returns it: typed events with ids,
//! the id of the event before, timestamps, and a `…EventDetails` object.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    pub event_type: &'static str,
    /// The details field name (`executionStartedEventDetails`, …) and its fields, if any.
    details: Option<(&'static str, Details)>,
    /// The details as JSON, built the first time someone reads them (boxed: most events are
    /// never read, and a smaller event is cheaper to record).
    details_json: OnceLock<Box<Value>>,
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
#[derive(Debug, Clone)]
pub(crate) enum Details {
    /// Any JSON object (boxed: a `Value` is several times the size of a field).
    Json(Box<Value>),
    /// Fields in order.
    Fields(Fields),
}

/// The fields of an event's details, inline up to four (most events have two to four).
pub(crate) type Fields = smallvec::SmallVec<[(&'static str, Field); 4]>;

/// One field of [`Details::Fields`], small (a `Value` is boxed) so that events stay small.
#[derive(Debug, Clone)]
pub(crate) enum Field {
    /// A JSON value, shown as it is.
    Value(Box<Value>),
    /// A number (`index`, `timeoutInSeconds`).
    Int(u64),
    /// A state name or a resource (kept once for the process, see `intern`).
    Str(&'static str),
    /// A payload (input, output, parameters), shown as its JSON text, as the service does.
    Payload(Arc<Value>),
    /// A payload already turned into its JSON text, so the engine can take the value itself.
    Text(Box<str>),
    /// `{"truncated": false}`, the `inputDetails`/`outputDetails` of every event.
    NotTruncated,
}

impl From<Value> for Details {
    fn from(value: Value) -> Self {
        Details::Json(Box::new(value))
    }
}

impl Field {
    fn to_value(&self) -> Value {
        match self {
            Field::Value(v) => (**v).clone(),
            Field::Int(n) => Value::from(*n),
            Field::Str(s) => Value::String((*s).to_owned()),
            Field::Payload(v) => Value::String(text(v)),
            Field::Text(t) => Value::String(t.as_ref().to_owned()),
            Field::NotTruncated => not_truncated(),
        }
    }
}

impl Details {
    fn to_value(&self) -> Value {
        match self {
            Details::Json(v) => (**v).clone(),
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
        map.insert("type".into(), Value::String(self.event_type.to_owned()));
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
        Some((
            *key,
            self.details_json
                .get_or_init(|| Box::new(details.to_value())),
        ))
    }

    /// A field of the details object, if present (`name`, `input`, `error`, …).
    pub fn detail(&self, field: &str) -> Option<&Value> {
        if let Some((_, Details::Fields(fields))) = &self.details {
            match fields.iter().find(|(k, _)| *k == field) {
                Some((_, Field::Value(v))) => return Some(&**v),
                None => return None,
                // Rendered with the rest of the details, once.
                Some(_) => {}
            }
        }
        self.details().and_then(|(_, d)| d.get(field))
    }
}

/// Appends events in order, stamps them with the clock, and tells the listener.
///
/// Map iterations and Parallel branches append from several threads at once, so the events
/// are kept in shards, one per thread where it can be: an append locks only its thread's
/// shard and takes the next id from a counter. Each shard is in id order, and [`History::take`]
/// merges them. With a listener, appends take turns, so the listener sees events in order.
pub(crate) struct History {
    shards: Box<[Shard]>,
    /// The room a shard takes when it records its first event.
    capacity: usize,
    /// The number of events so far, which is the last event's id. Every append writes it, so
    /// it has a cache line of its own, away from the fields that are only read.
    count: Counter,
    /// Held around an append when there is a listener.
    ordered: Mutex<()>,
    /// Map result arrays whose elements' texts events keep already (see
    /// [`History::note_element_texts`]).
    element_texts: Mutex<Vec<ElementTexts>>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener>,
}

/// A Map result array (held weakly, so its address cannot be reused while noted) and, for
/// each element, the event that keeps the element's text.
type ElementTexts = (std::sync::Weak<Value>, Vec<Option<u64>>);

/// An atomic counter on cache lines of its own.
#[repr(align(128))]
struct Counter(AtomicU64);

/// One thread's events, on cache lines of its own: shards next to each other would make the
/// threads wait on each other's writes.
#[repr(align(128))]
struct Shard(Mutex<Vec<HistoryEvent>>);

/// The shard this thread appends to, given out in turn the first time a thread appends.
fn shard_of_thread(shards: usize) -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    SHARD.with(|s| *s) % shards
}

impl History {
    /// A history with room for `capacity` events in each shard (the engine passes the largest
    /// shard of its last execution, so a long history is not copied as it grows).
    pub(crate) fn new(clock: Arc<dyn Clock>, listener: Option<Listener>, capacity: usize) -> Self {
        // One shard for each thread that may run states: the runtime's workers and the thread
        // that waits for the execution.
        let shards = std::thread::available_parallelism().map_or(1, |n| n.get()) + 1;
        let shards = (0..shards).map(|_| Shard(Mutex::new(Vec::new()))).collect();
        Self {
            shards,
            capacity,
            count: Counter(AtomicU64::new(0)),
            ordered: Mutex::new(()),
            element_texts: Mutex::new(Vec::new()),
            clock,
            listener,
        }
    }

    /// Appends an event after `previous` and returns its id.
    pub(crate) fn append(
        &self,
        previous: u64,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> u64 {
        self.append_stamped(previous, event_type, details).0
    }

    /// Appends an event after `previous` and returns its id and timestamp.
    pub(crate) fn append_stamped(
        &self,
        previous: u64,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> (u64, DateTime<Utc>) {
        let details = details.map(|(k, v)| (k, v.into()));
        let _turn = self
            .listener
            .as_ref()
            .map(|_| self.ordered.lock().unwrap_or_else(|e| e.into_inner()));
        let mut shard = self.shards[shard_of_thread(self.shards.len())]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if shard.capacity() == 0 {
            shard.reserve(self.capacity);
        }
        // The id is taken under the shard's lock, so each shard stays in id order.
        let id = self.count.0.fetch_add(1, Ordering::SeqCst) + 1;
        let timestamp = self.clock.now();
        // Built in place: an event is a few hundred bytes, not worth moving around.
        shard.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp,
            event_type,
            details,
            details_json: OnceLock::new(),
        });
        if let (Some(listener), Some(event)) = (&self.listener, shard.last()) {
            listener(event);
        }
        (id, timestamp)
    }

    /// Lets the engine take `value` without a copy: when the events `ids` are its only other
    /// holders (as payload fields), those fields keep its JSON text instead, which is what the
    /// events show anyway. Does nothing when others share the value too.
    /// Returns whether it did.
    pub(crate) fn release(&self, ids: &[u64], value: &Arc<Value>) -> bool {
        if Arc::strong_count(value) > ids.len() + 1 {
            return false;
        }
        // Before any field is changed: `array_text` reads other events, and `with_event` holds
        // a shard's lock while it changes one.
        let mut json: Option<Box<str>> = self.array_text(value);
        for id in ids {
            self.with_event(*id, |fields| {
                for (_, field) in fields.iter_mut() {
                    if matches!(field, Field::Payload(p) if Arc::ptr_eq(p, value)) {
                        let json = json.get_or_insert_with(|| boxed_text(value));
                        *field = Field::Text(json.clone());
                    }
                }
            });
        }
        true
    }

    /// Notes that element `i` of `array` (a Map's result) is the value whose text the event
    /// `texts[i]` keeps, so that the array's own text can be put together from them.
    pub(crate) fn note_element_texts(&self, array: &Arc<Value>, texts: Vec<Option<u64>>) {
        if texts.iter().any(Option::is_some) {
            let mut noted = self.element_texts.lock().unwrap_or_else(|e| e.into_inner());
            noted.retain(|(weak, _)| weak.strong_count() > 0);
            noted.push((Arc::downgrade(array), texts));
        }
    }

    /// The text of a noted Map result array, joined from its elements' texts: compact JSON
    /// writes an array as its elements' texts between brackets, separated by commas.
    fn array_text(&self, value: &Arc<Value>) -> Option<Box<str>> {
        let Value::Array(items) = &**value else {
            return None;
        };
        let texts = {
            let mut noted = self.element_texts.lock().unwrap_or_else(|e| e.into_inner());
            let at = noted
                .iter()
                .position(|(weak, _)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(value)))?;
            noted.swap_remove(at).1
        };
        let mut out = String::with_capacity(2 + 64 * items.len());
        out.push('[');
        for (i, (item, id)) in items.iter().zip(&texts).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let kept = id
                .and_then(|id| {
                    self.with_event(id, |fields| {
                        fields.iter().find_map(|(_, f)| match f {
                            Field::Text(t) => {
                                out.push_str(t);
                                Some(())
                            }
                            _ => None,
                        })
                    })
                })
                .flatten();
            if kept.is_none() {
                out.push_str(&text(item));
            }
        }
        out.push(']');
        Some(out.into_boxed_str())
    }

    /// Runs `f` on the fields of the event `id`, looking in this thread's shard first (the
    /// events a thread asks for are most likely its own).
    fn with_event<T>(&self, id: u64, f: impl FnOnce(&mut Fields) -> T) -> Option<T> {
        let own = shard_of_thread(self.shards.len());
        let order = std::iter::once(own).chain((0..self.shards.len()).filter(|i| *i != own));
        for shard in order.map(|i| &self.shards[i]) {
            let mut events = shard.0.lock().unwrap_or_else(|e| e.into_inner());
            let Ok(index) = events.binary_search_by_key(&id, |e| e.id) else {
                continue;
            };
            return match &mut events[index].details {
                Some((_, Details::Fields(fields))) => Some(f(fields)),
                _ => None,
            };
        }
        None
    }

    /// The events in id order, leaving the history empty (at the end of an execution). A
    /// timestamp is never earlier than the one before it: two threads may read the clock in
    /// the other order than they took their ids.
    ///
    /// Returns the events and the length of the largest shard.
    pub(crate) fn take(&self) -> (Vec<HistoryEvent>, usize) {
        let mut shards: Vec<std::iter::Peekable<std::vec::IntoIter<HistoryEvent>>> = self
            .shards
            .iter()
            .map(|s| std::mem::take(&mut *s.0.lock().unwrap_or_else(|e| e.into_inner())))
            .filter(|events| !events.is_empty())
            .map(|events| events.into_iter().peekable())
            .collect();
        let largest = shards.iter().map(ExactSizeIterator::len).max().unwrap_or(0);
        let mut events = match shards.len() {
            0 => Vec::new(),
            1 => shards.pop().map(Iterator::collect).unwrap_or_default(),
            _ => {
                let total = shards.iter().map(ExactSizeIterator::len).sum();
                let mut merged = Vec::with_capacity(total);
                loop {
                    let mut first: Option<(usize, u64)> = None;
                    for (i, shard) in shards.iter_mut().enumerate() {
                        if let Some(event) = shard.peek() {
                            if first.is_none_or(|(_, id)| event.id < id) {
                                first = Some((i, event.id));
                            }
                        }
                    }
                    let Some((i, _)) = first else { break };
                    merged.extend(shards[i].next());
                }
                merged
            }
        };
        for i in 1..events.len() {
            if events[i].timestamp < events[i - 1].timestamp {
                events[i].timestamp = events[i - 1].timestamp;
            }
        }
        (events, largest)
    }

    /// The id of the last event.
    pub(crate) fn last_id(&self) -> u64 {
        self.count.0.load(Ordering::SeqCst)
    }
}

/// JSON text of a value, as history details carry inputs and outputs.
pub(crate) fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// [`text`], in an allocation of its exact size: written into a buffer the thread keeps, then
/// copied once (a `String` shrunk to fit would be copied as well, after growing).
fn boxed_text(value: &Value) -> Box<str> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        // Writing JSON values to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buffer, value);
        let text = std::str::from_utf8(&buffer).unwrap_or_default();
        let boxed = Box::from(text);
        // A very large payload does not keep its buffer alive for the thread's lifetime.
        if buffer.capacity() > 1 << 20 {
            *buffer = Vec::new();
        }
        boxed
    })
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
            sink.lock().unwrap().push(e.event_type);
        });
        let history = History::new(Arc::new(ManualClock::fixed()), Some(listener), 0);
        let first = history.append(
            0,
            "ExecutionStarted",
            Some(("executionStartedEventDetails", json!({"input": "{}"}))),
        );
        let second = history.append(first, "PassStateEntered", None::<(&str, Value)>);
        assert_eq!((first, second), (1, 2));
        let (events, _) = history.take();
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
    fn events_appended_from_many_threads_come_out_in_id_order_with_timestamps_that_never_go_back() {
        let history = Arc::new(History::new(
            Arc::new(crate::clock::SystemClock::new()),
            None,
            0,
        ));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let history = history.clone();
                std::thread::spawn(move || {
                    let mut previous = 0;
                    for _ in 0..500 {
                        previous = history.append(previous, "PassStateEntered", NO_DETAILS);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(history.last_id(), 2000);
        let (events, _) = history.take();
        assert_eq!(events.len(), 2000);
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.id, i as u64 + 1);
            assert!(event.previous_event_id < event.id);
            if i > 0 {
                assert!(event.timestamp >= events[i - 1].timestamp);
            }
        }
        assert!(history.take().0.is_empty());
    }

    const NO_DETAILS: Option<(&str, Value)> = None;

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
        let (events, _) = history.take();
        assert_eq!(
            events[0].to_json()["stateExitedEventDetails"],
            json!({"output": r#"{"a":[1,"x"],"b":{"c":null}}"#, "outputDetails": {"truncated": false}})
        );
    }
}
