//! The execution history, as AWS's GetExecutionHistory returns it: typed events with ids,
//! the id of the event before, timestamps, and a `…EventDetails` object.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::clock::{Clock, iso};
use crate::limits::MAX_HISTORY_EVENTS;

mod recorder;

pub(crate) use recorder::{Mark, Recorder};

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
    /// A fixed text (`us-east-1`).
    Str(&'static str),
    /// A state name or a resource, shared with the compiled machine.
    Name(Arc<str>),
    /// A payload (input, output, parameters), shown as its JSON text, as the service does.
    Payload(Arc<Value>),
    /// A payload already turned into its JSON text, so the engine can take the value itself
    /// (shared: the events that showed the value all keep the one text).
    Text(Arc<str>),
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
            Field::Name(s) => Value::String(s.as_ref().to_owned()),
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
/// shard. A counter shared by the threads would order the events, but every append writing
/// one cache line from two cores costs as much as the second core brings, so while the
/// execution runs an event is known by a *key* instead: the monotonic clock's nanoseconds
/// since the history began, above the shard's number. Keys follow the order events happened
/// in (an event's key is above its previous event's and its shard's last), each shard is in
/// key order, and [`History::take`] merges the shards and numbers the events 1, 2, … in key
/// order, as the service does. [`History::final_id`] gives an event's number before then.
///
/// With a listener, appends take turns and go to one shard, so the listener sees events in
/// order with their final ids; the key is then the id itself.
pub(crate) struct History {
    shards: Box<[Shard]>,
    /// The room a shard takes when it records its first event.
    capacity: usize,
    /// What keys count from.
    start: Instant,
    /// The least key an event may have from now on (see [`History::final_id`]).
    floor: AtomicU64,
    /// With a listener: the number of events so far, which is the last event's id (appends
    /// take turns, so nothing contends for it).
    count: AtomicU64,
    /// Held around an append when there is a listener.
    ordered: Mutex<()>,
    /// Events counted towards the quota ([`MAX_HISTORY_EVENTS`]): a shard adds its events here
    /// by `chunk` at a time, so the threads seldom write this line and it never overcounts.
    counted: AtomicU64,
    /// How many events a shard adds to `counted` at once, a power of two (1 with a single
    /// shard: exact).
    chunk: usize,
    /// Set once `counted` reaches the quota's last event: the execution stops at its next
    /// state (see [`History::is_full`]).
    full: AtomicBool,
    /// Map result arrays whose elements' texts events keep already (see
    /// [`History::note_element_texts`]).
    element_texts: Mutex<Vec<ElementTexts>>,
    clock: Arc<dyn Clock>,
    listener: Option<Listener>,
}

/// When an event happened: the engine's clock's time, and the monotonic instant that orders it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment(pub(crate) DateTime<Utc>, Instant);

/// The low bits of a key that hold its shard's number.
const SHARD_BITS: u32 = 6;
const SHARD_MASK: u64 = (1 << SHARD_BITS) - 1;

/// A Map result array (held weakly, so its address cannot be reused while noted) and, for
/// each element, the event that keeps the element's text.
type ElementTexts = (std::sync::Weak<Value>, Vec<Option<u64>>);

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
        // With a listener, appends take turns: one shard is enough.
        let shards = match listener {
            Some(_) => 1,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()) + 1,
        };
        let shards: Box<[Shard]> = (0..shards.min(1 << SHARD_BITS))
            .map(|_| Shard(Mutex::new(Vec::new())))
            .collect();
        Self {
            chunk: if shards.len() == 1 { 1 } else { 256 },
            counted: AtomicU64::new(0),
            full: AtomicBool::new(false),
            shards,
            capacity,
            start: clock.now_and_instant().1,
            floor: AtomicU64::new(0),
            count: AtomicU64::new(0),
            ordered: Mutex::new(()),
            element_texts: Mutex::new(Vec::new()),
            clock,
            listener,
        }
    }

    /// Appends an event after `previous` (a key, 0 for none) and returns its key.
    pub(crate) fn append(
        &self,
        previous: u64,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> u64 {
        self.append_at(None, previous, event_type, details).0
    }

    /// Appends an event after `previous` (a key, 0 for none) and returns its key and when it
    /// happened. `at` is the moment of an earlier event with nothing waited for since (a
    /// state's exit and the next state's entry, a Pass state's entry and exit, a task's result
    /// and its exit): the clock is read once for them, as the work between takes microseconds
    /// and the service's timestamps are milliseconds. Anything after a wait (a task's answer, a
    /// back-off, a Wait state, a Map's iterations) reads the clock again.
    pub(crate) fn append_at(
        &self,
        at: Option<Moment>,
        previous: u64,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> (u64, Moment) {
        let details = details.map(|(k, v)| (k, v.into()));
        let _turn = self
            .listener
            .as_ref()
            .map(|_| self.ordered.lock().unwrap_or_else(|e| e.into_inner()));
        let index = shard_of_thread(self.shards.len());
        let mut shard = self.shards[index]
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if shard.capacity() == 0 {
            shard.reserve(self.capacity);
        }
        // The time and the key are taken under the shard's lock, so each shard stays in key
        // order.
        let (timestamp, instant) = match at {
            Some(Moment(timestamp, instant)) => (timestamp, instant),
            None => self.clock.now_and_instant(),
        };
        let key = match self.listener {
            Some(_) => self.count.fetch_add(1, Ordering::Relaxed) + 1,
            None => {
                let nanos = instant.saturating_duration_since(self.start).as_nanos();
                let nanos = u64::try_from(nanos).unwrap_or(u64::MAX) >> SHARD_BITS << SHARD_BITS;
                // Above the previous event's, the shard's last one's (should the clock read the
                // same for them: a coarse clock, tokio's paused time) and the floor.
                let last = shard.last().map_or(0, |e| e.id | SHARD_MASK);
                let floor = self.floor.load(Ordering::Relaxed);
                (nanos
                    .max(last + 1)
                    .max((previous | SHARD_MASK) + 1)
                    .max(floor)
                    & !SHARD_MASK)
                    | index as u64
            }
        };
        // Until `take`, `id` and `previous_event_id` hold keys (without a listener).
        shard.push(HistoryEvent {
            id: key,
            previous_event_id: previous,
            timestamp,
            event_type,
            details,
            details_json: OnceLock::new(),
        });
        // `chunk` is a power of two: a mask, not a division, on every append.
        if shard.len() & (self.chunk - 1) == 0 {
            let counted = self.counted.fetch_add(self.chunk as u64, Ordering::Relaxed);
            if counted + self.chunk as u64 >= MAX_HISTORY_EVENTS - 1 {
                self.full.store(true, Ordering::Relaxed);
            }
        }
        if let (Some(listener), Some(event)) = (&self.listener, shard.last()) {
            // With a listener the key is the id: events past the quota are dropped at the
            // end (see [`end_at_quota`]), so the listener does not see them.
            if key < MAX_HISTORY_EVENTS
                || (key == MAX_HISTORY_EVENTS && is_execution_end(event_type))
            {
                listener(event);
            }
        }
        (key, Moment(timestamp, instant))
    }

    /// The shard that holds the event `key`.
    fn shard_of_key(&self, key: u64) -> &Shard {
        // With a listener there is one shard, whatever a key's low bits.
        &self.shards[(key & SHARD_MASK) as usize % self.shards.len()]
    }

    /// The id the event `key` will have in the history: one more than the number of events
    /// before it.
    pub(crate) fn final_id(&self, key: u64) -> u64 {
        if self.listener.is_some() {
            return key;
        }
        // Events appended from now on must come after this one. The shards' locks order this
        // with their appends: one that takes its shard's lock after this counts it sees the
        // floor, and one that took it before is counted if it came first.
        self.floor
            .fetch_max((key | SHARD_MASK) + 1, Ordering::Relaxed);
        let before: usize = self
            .shards
            .iter()
            .map(|s| {
                let events = s.0.lock().unwrap_or_else(|e| e.into_inner());
                events.partition_point(|e| e.id < key)
            })
            .sum();
        before as u64 + 1
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
        let mut json: Option<Arc<str>> = self.array_text(value);
        for id in ids {
            self.with_event(*id, |fields| {
                for (_, field) in fields.iter_mut() {
                    if matches!(field, Field::Payload(p) if Arc::ptr_eq(p, value)) {
                        let json = json.get_or_insert_with(|| shared_text(value));
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

    /// The length of a noted Map result array's JSON text, counted from its elements' texts
    /// (so a large result is not walked to check its size).
    pub(crate) fn text_len(&self, value: &Arc<Value>) -> Option<usize> {
        let (mut len, mut count) = (2, 0usize);
        self.each_element_text(value, false, |item, kept| {
            len += kept.map_or_else(|| crate::errors::serialized_len(item), str::len);
            count += 1;
        })?;
        // The commas between the elements.
        Some(len + count.saturating_sub(1))
    }

    /// The text of a noted Map result array, joined from its elements' texts: compact JSON
    /// writes an array as its elements' texts between brackets, separated by commas.
    fn array_text(&self, value: &Arc<Value>) -> Option<Arc<str>> {
        let items = value.as_array().map_or(0, Vec::len);
        let mut out = String::with_capacity(2 + 64 * items);
        out.push('[');
        self.each_element_text(value, true, |item, kept| {
            if out.len() > 1 {
                out.push(',');
            }
            match kept {
                Some(t) => out.push_str(t),
                None => out.push_str(&text(item)),
            }
        })?;
        out.push(']');
        Some(Arc::from(out))
    }

    /// Calls `f` with each element of a noted Map result array and the text an event keeps
    /// for it, if one does; `forget` removes the note. None when the array is not noted.
    fn each_element_text(
        &self,
        value: &Arc<Value>,
        forget: bool,
        mut f: impl FnMut(&Value, Option<&str>),
    ) -> Option<()> {
        let Value::Array(items) = &**value else {
            return None;
        };
        let texts = self.noted(value, forget)?;
        for (item, id) in items.iter().zip(&texts) {
            if id
                .and_then(|id| self.kept_text(id, |t| f(item, Some(t))))
                .is_none()
            {
                f(item, None);
            }
        }
        Some(())
    }

    /// The events that keep the texts of a noted array's elements; `forget` removes the note.
    fn noted(&self, value: &Arc<Value>, forget: bool) -> Option<Vec<Option<u64>>> {
        let mut noted = self.element_texts.lock().unwrap_or_else(|e| e.into_inner());
        let at = noted
            .iter()
            .position(|(weak, _)| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(value)))?;
        Some(match forget {
            true => noted.swap_remove(at).1,
            false => noted[at].1.clone(),
        })
    }

    /// `f` of the payload text the event `key` keeps.
    fn kept_text<T>(&self, key: u64, f: impl FnOnce(&str) -> T) -> Option<T> {
        self.with_event(key, |fields| {
            fields
                .iter()
                .find_map(|(_, field)| match field {
                    Field::Text(t) => Some(&**t),
                    _ => None,
                })
                .map(f)
        })
        .flatten()
    }

    /// Runs `f` on the fields of the event `key`.
    fn with_event<T>(&self, key: u64, f: impl FnOnce(&mut Fields) -> T) -> Option<T> {
        let mut events = self
            .shard_of_key(key)
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // The events asked for are most often among the last few of their shard.
        let recent = events.len().saturating_sub(8);
        let index = match events[recent..].iter().rposition(|e| e.id == key) {
            Some(at) => recent + at,
            None => events[..recent].binary_search_by_key(&key, |e| e.id).ok()?,
        };
        match &mut events[index].details {
            Some((_, Details::Fields(fields))) => Some(f(fields)),
            _ => None,
        }
    }

    /// The events in the order they happened, numbered from 1, leaving the history empty (at
    /// the end of an execution). A timestamp is never earlier than the one before it: two
    /// threads may read the engine's clock in the other order than they took their keys.
    ///
    /// Returns the events and the length of the largest shard.
    pub(crate) fn take(&self) -> (Vec<HistoryEvent>, usize) {
        let mut shards: Vec<Vec<HistoryEvent>> = self
            .shards
            .iter()
            .map(|s| std::mem::take(&mut *s.0.lock().unwrap_or_else(|e| e.into_inner())))
            .collect();
        let largest = shards.iter().map(Vec::len).max().unwrap_or(0);
        let mut events = match self.listener {
            // The keys are the ids already.
            Some(_) => shards.pop().unwrap_or_default(),
            None => number(shards),
        };
        for i in 1..events.len() {
            if events[i].timestamp < events[i - 1].timestamp {
                events[i].timestamp = events[i - 1].timestamp;
            }
        }
        (events, largest)
    }

    /// Whether the history holds the quota's 24,999 events, or about as many: the execution
    /// stops at its next state or retry. Reading a flag that is written once costs a state
    /// nothing (the exact count is [`History::len`]).
    pub(crate) fn is_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// The number of events so far.
    pub(crate) fn len(&self) -> u64 {
        self.shards
            .iter()
            .map(|s| s.0.lock().unwrap_or_else(|e| e.into_inner()).len() as u64)
            .sum()
    }

    /// The last event so far.
    pub(crate) fn last_mark(&self) -> Mark {
        Mark::from_key(self.last())
    }

    /// The key of the last event so far.
    fn last(&self) -> u64 {
        self.shards
            .iter()
            .filter_map(|s| {
                s.0.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .last()
                    .map(|e| e.id)
            })
            .max()
            .unwrap_or(0)
    }
}

/// Whether an event type ends the execution.
fn is_execution_end(event_type: &str) -> bool {
    matches!(
        event_type,
        "ExecutionSucceeded" | "ExecutionFailed" | "ExecutionTimedOut" | "ExecutionAborted"
    )
}

/// Ends a history that went past the service's quota as the service does: its first 24,999
/// events, then the execution's last event (its `ExecutionFailed`) as event 25,000, following
/// the event it followed, or the last one kept when that one is gone. Returns the last event
/// when the history was cut.
pub(crate) fn end_at_quota(events: &mut Vec<HistoryEvent>) -> Option<&HistoryEvent> {
    let quota = MAX_HISTORY_EVENTS as usize;
    if events.len() <= quota {
        return None;
    }
    // The execution's end is its last event but for a straggler of a cancelled iteration.
    let end = events
        .iter()
        .rposition(|e| is_execution_end(e.event_type))?;
    let mut last = events.remove(end);
    events.truncate(quota - 1);
    last.id = MAX_HISTORY_EVENTS;
    last.previous_event_id = last.previous_event_id.min(MAX_HISTORY_EVENTS - 1);
    events.push(last);
    events.last()
}

/// Merges shards of events (each in key order, `id` and `previous_event_id` holding keys) into
/// one list in key order, with ids 1, 2, … and previous ids to match.
fn number(mut shards: Vec<Vec<HistoryEvent>>) -> Vec<HistoryEvent> {
    let mut filled = (0..shards.len()).filter(|s| !shards[*s].is_empty());
    if let (Some(s), None) = (filled.next(), filled.next()) {
        // One thread's events (a current-thread runtime) are in order already: no merge, no
        // copy, and an event's position is its id.
        let mut events = std::mem::take(&mut shards[s]);
        for i in 0..events.len() {
            let previous = events[i].previous_event_id;
            events[i].previous_event_id =
                position(&events[..i], previous, |e| e.id).map_or(0, |at| at as u64 + 1);
        }
        for (i, event) in events.iter_mut().enumerate() {
            event.id = i as u64 + 1;
        }
        return events;
    }
    let keys: Vec<Vec<u64>> = shards
        .iter()
        .map(|events| events.iter().map(|e| e.id).collect())
        .collect();
    let total = keys.iter().map(Vec::len).sum();
    // For each shard, how many of its events are numbered, and their ids.
    let mut numbered = vec![0; shards.len()];
    let mut ids: Vec<Vec<u64>> = keys.iter().map(|k| Vec::with_capacity(k.len())).collect();
    let mut order = Vec::with_capacity(total);
    for id in 1..=total as u64 {
        let Some(s) = (0..shards.len())
            .filter(|s| numbered[*s] < keys[*s].len())
            .min_by_key(|s| keys[*s][numbered[*s]])
        else {
            break;
        };
        let event = &mut shards[s][numbered[s]];
        // An event's previous one happened before it, so it is numbered already.
        let previous = event.previous_event_id;
        let p = (previous & SHARD_MASK) as usize % keys.len();
        event.previous_event_id =
            position(&keys[p][..numbered[p]], previous, |k| *k).map_or(0, |at| ids[p][at]);
        event.id = id;
        ids[s].push(id);
        numbered[s] += 1;
        order.push(s);
    }
    let mut shards: Vec<_> = shards.into_iter().map(Vec::into_iter).collect();
    order.into_iter().filter_map(|s| shards[s].next()).collect()
}

/// Where the key `key` (not 0) is among `done`, which are in key order: most often the last
/// one, an event's previous event being the one just before it in its thread.
fn position<T>(done: &[T], key: u64, key_of: impl Fn(&T) -> u64) -> Option<usize> {
    match done.last().map(&key_of) {
        _ if key == 0 => None,
        Some(last) if last == key => Some(done.len() - 1),
        _ => done.binary_search_by_key(&key, key_of).ok(),
    }
}

/// JSON text of a value, as history details carry inputs and outputs.
pub(crate) fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// [`text`], in an allocation of its exact size: written into a buffer the thread keeps, then
/// copied once (a `String` shrunk to fit would be copied as well, after growing).
fn shared_text(value: &Value) -> Arc<str> {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        // Writing JSON values to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buffer, value);
        let text = std::str::from_utf8(&buffer).unwrap_or_default();
        let shared = Arc::from(text);
        // A very large payload does not keep its buffer alive for the thread's lifetime.
        if buffer.capacity() > 1 << 20 {
            *buffer = Vec::new();
        }
        shared
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

    /// A history on the real clock, with no listener (so sharded).
    fn sharded() -> Arc<History> {
        Arc::new(History::new(
            Arc::new(crate::clock::SystemClock::new()),
            None,
            0,
        ))
    }

    /// `threads` threads, each appending a chain of `events` events to `history`.
    fn append_from_threads(
        history: &Arc<History>,
        threads: usize,
        events: usize,
    ) -> Vec<std::thread::JoinHandle<()>> {
        (0..threads)
            .map(|_| {
                let history = history.clone();
                std::thread::spawn(move || {
                    let mut previous = 0;
                    for _ in 0..events {
                        previous = history.append(previous, "PassStateEntered", NO_DETAILS);
                    }
                })
            })
            .collect()
    }

    #[test]
    fn events_appended_from_many_threads_come_out_in_id_order_with_timestamps_that_never_go_back() {
        let history = sharded();
        for thread in append_from_threads(&history, 4, 500) {
            thread.join().unwrap();
        }
        assert_eq!(history.final_id(history.last()), 2000);
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
    fn an_event_id_known_while_other_threads_append_is_the_id_it_ends_with() {
        let history = sharded();
        let others = append_from_threads(&history, 3, 2000);
        // This thread's events are the Choice ones; it asks for each one's id as it goes.
        let mut known = Vec::new();
        let mut previous = 0;
        for _ in 0..500 {
            previous = history.append(previous, "ChoiceStateEntered", NO_DETAILS);
            known.push(history.final_id(previous));
        }
        for thread in others {
            thread.join().unwrap();
        }
        let (events, _) = history.take();
        let ids: Vec<u64> = events
            .iter()
            .filter(|e| e.event_type == "ChoiceStateEntered")
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, known);
        // Each Choice event follows the one before it.
        for pair in ids.windows(2) {
            assert_eq!(events[pair[1] as usize - 1].previous_event_id, pair[0]);
        }
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
        let (events, _) = history.take();
        assert_eq!(
            events[0].to_json()["stateExitedEventDetails"],
            json!({"output": r#"{"a":[1,"x"],"b":{"c":null}}"#, "outputDetails": {"truncated": false}})
        );
    }
}
