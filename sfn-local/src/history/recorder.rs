//! The one way the states write history: a [`Recorder`] per path of the execution (the
//! machine's states, a Map iteration, a Parallel branch), which chains each event to the
//! path's last one and reads the clock only when something was waited for. State code sees
//! no shards, clocks or event ids: an event it must point at later is an opaque [`Mark`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Details, History, Moment};

/// An event of the history, for later reference (a state's entry, whose final id a failure's
/// cause names; the event that keeps an output's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Mark(u64);

impl Mark {
    /// No event: what the first state of an execution follows.
    pub(crate) const NONE: Mark = Mark(0);

    pub(super) fn from_key(key: u64) -> Mark {
        Mark(key)
    }
}

/// Writes one path's events.
pub(crate) struct Recorder<'h> {
    history: &'h History,
    last: u64,
    /// When the last event happened, while nothing has been waited for since.
    moment: Option<Moment>,
}

impl<'h> Recorder<'h> {
    /// A path whose first event follows `after`.
    pub(crate) fn new(history: &'h History, after: Mark) -> Self {
        Recorder {
            history,
            last: after.0,
            moment: None,
        }
    }

    /// The path's last event.
    pub(crate) fn last(&self) -> Mark {
        Mark(self.last)
    }

    /// When the last event happened, if nothing has been waited for since.
    pub(crate) fn moment(&self) -> Option<DateTime<Utc>> {
        self.moment.map(|m| m.0)
    }

    /// An event after something was waited for (a task's answer, a back-off): the clock is
    /// read for it.
    pub(crate) fn record(
        &mut self,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> Mark {
        self.moment = None;
        self.record_at_once(event_type, details)
    }

    /// An event right after the last one, with nothing waited for between (a state's exit and
    /// the next one's entry, a Pass state's entry and exit): it shares the last event's clock
    /// reading, as the work between takes microseconds and the service's timestamps are
    /// milliseconds.
    pub(crate) fn record_at_once(
        &mut self,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) -> Mark {
        let (key, moment) =
            self.history
                .append_at(self.moment.take(), self.last, event_type, details);
        self.last = key;
        self.moment = Some(moment);
        Mark(key)
    }

    /// An event the path passes by: it follows the last event, but the next one does not
    /// follow it (a Map's or Parallel's `…Succeeded`, `TaskStateAborted`).
    pub(crate) fn note(
        &self,
        event_type: &'static str,
        details: Option<(&'static str, impl Into<Details>)>,
    ) {
        self.history.append(self.last, event_type, details);
    }

    /// The path goes on from `mark` (the last event of the iterations or branches it ran).
    pub(crate) fn continue_from(&mut self, mark: Mark) {
        self.last = mark.0;
        self.moment = None;
    }

    /// The final id `mark` will have in the history (for a cause that names it).
    pub(crate) fn final_id(&self, mark: Mark) -> u64 {
        self.history.final_id(mark.0)
    }

    /// The events at `marks` keep `value`'s text instead of the value, so the engine can take
    /// the value without a copy; false when it cannot.
    pub(crate) fn release(&self, marks: &[Mark], value: &Arc<Value>) -> bool {
        let keys: smallvec::SmallVec<[u64; 2]> = marks.iter().map(|m| m.0).collect();
        self.history.release(&keys, value)
    }

    /// A Map's result array, with the events that keep each element's text.
    pub(crate) fn note_element_texts(&self, array: &Arc<Value>, texts: Vec<Option<Mark>>) {
        self.history
            .note_element_texts(array, texts.into_iter().map(|m| m.map(|m| m.0)).collect());
    }

    /// The length of a value's JSON text, when events keep it (a Map's result array).
    pub(crate) fn text_len(&self, value: &Arc<Value>) -> Option<usize> {
        self.history.text_len(value)
    }

    /// Whether the history has reached the service's quota.
    pub(crate) fn is_full(&self) -> bool {
        self.history.is_full()
    }
}
