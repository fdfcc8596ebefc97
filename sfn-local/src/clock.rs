//! Time, injectable: Wait states, retry back-off and timestamps all read it, so tests can run
//! them without waiting.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// The engine's source of time.
#[async_trait::async_trait]
pub trait Clock: Send + Sync {
    /// The current time (history timestamps, `$$.State.EnteredTime`, Wait `Timestamp`).
    fn now(&self) -> DateTime<Utc>;
    /// [`Clock::now`], and the instant it was read at on a monotonic clock. The history orders
    /// events by the instant; a clock that reads a monotonic clock anyway gives its own
    /// reading, which saves reading time twice for every event.
    fn now_and_instant(&self) -> (DateTime<Utc>, Instant) {
        (self.now(), Instant::now())
    }
    /// Waits for a Wait state or a retry back-off.
    async fn sleep(&self, duration: Duration);
    /// Waits for a timeout (`TimeoutSeconds`) to run out. Unlike [`Clock::sleep`], this races
    /// against work in progress, so it must not return before that much time has passed.
    async fn timeout(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Real time, through tokio's timer: under `#[tokio::test(start_paused = true)]` it advances
/// only when everything is idle, so even timeouts take no real time.
#[derive(Debug)]
pub struct SystemClock {
    wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl SystemClock {
    /// A clock that starts at the current wall time.
    pub fn new() -> Self {
        Self {
            wall: Utc::now(),
            start: tokio::time::Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        self.now_and_instant().0
    }

    fn now_and_instant(&self) -> (DateTime<Utc>, Instant) {
        let now = tokio::time::Instant::now();
        let elapsed = now.saturating_duration_since(self.start);
        let time = self.wall + chrono::Duration::from_std(elapsed).unwrap_or_default();
        // With tokio's time paused, a virtual instant: it still never goes back.
        (time, now.into_std())
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Virtual time for tests: every [`Clock::sleep`] returns at once and moves the clock forward
/// by its duration, and is recorded, so a test can check retry intervals exactly.
///
/// Timeouts still use tokio's timer (see [`Clock::timeout`]); with
/// `#[tokio::test(start_paused = true)]` they take no real time either.
#[derive(Debug)]
pub struct ManualClock {
    state: Mutex<ManualState>,
}

#[derive(Debug)]
struct ManualState {
    now: DateTime<Utc>,
    sleeps: Vec<Duration>,
}

/// The clock to use when waits should take no time: the same as [`ManualClock`].
pub type InstantClock = ManualClock;

impl ManualClock {
    /// A virtual clock starting at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            state: Mutex::new(ManualState {
                now: start,
                sleeps: Vec::new(),
            }),
        }
    }

    /// A virtual clock starting at 2024-01-01T00:00:00Z, so outputs are reproducible.
    pub fn fixed() -> Self {
        Self::new(DateTime::<Utc>::from_timestamp(1_704_067_200, 0).unwrap_or_default())
    }

    /// A virtual clock starting at the current wall time.
    pub fn starting_now() -> Self {
        Self::new(Utc::now())
    }

    /// Moves the clock forward.
    pub fn advance(&self, duration: Duration) {
        let mut state = self.lock();
        let step = chrono::Duration::from_std(duration).unwrap_or_default();
        state.now = state.now.checked_add_signed(step).unwrap_or(state.now);
    }

    /// Every sleep so far (Wait states and retry back-offs), in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::fixed()
    }
}

#[async_trait::async_trait]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.lock().now
    }

    async fn sleep(&self, duration: Duration) {
        {
            let mut state = self.lock();
            let step = chrono::Duration::from_std(duration).unwrap_or_default();
            state.now = state.now.checked_add_signed(step).unwrap_or(state.now);
            state.sleeps.push(duration);
        }
        tokio::task::yield_now().await;
    }
}

/// Formats a time the way the service writes it in the context object: ISO 8601 with
/// milliseconds and `Z`.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_sleeps_take_no_time_and_are_recorded() {
        let clock = ManualClock::fixed();
        let before = clock.now();
        clock.sleep(Duration::from_secs(30)).await;
        clock.sleep(Duration::from_secs(2)).await;
        assert_eq!((clock.now() - before).num_seconds(), 32);
        assert_eq!(
            clock.sleeps(),
            vec![Duration::from_secs(30), Duration::from_secs(2)]
        );
        assert_eq!(iso(before), "2024-01-01T00:00:00.000Z");
    }

    #[tokio::test(start_paused = true)]
    async fn system_clock_follows_tokio_time() {
        let clock = SystemClock::new();
        let before = clock.now();
        clock.sleep(Duration::from_secs(60)).await;
        assert!((clock.now() - before).num_seconds() >= 60);
    }
}
