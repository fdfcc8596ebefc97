//! Task tokens for `.waitForTaskToken` tasks: the engine hands one out in `$$.Task.Token`, and
//! a local call completes it, as SendTaskSuccess / SendTaskFailure would, or keeps it alive, as
//! SendTaskHeartbeat would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use crate::registry::TaskError;

/// Why a token could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// No task waits on this token (never issued, already completed, or its task ended).
    #[error("TaskDoesNotExist: no task is waiting on the token '{0}'")]
    TaskDoesNotExist(String),
}

/// A task waiting on a token: where its outcome goes, and what its heartbeats wake.
struct Waiter {
    outcome: oneshot::Sender<Result<Value, TaskError>>,
    heartbeat: Arc<Notify>,
}

impl Waiter {
    /// The task no longer waits (its execution was dropped or aborted).
    fn is_closed(&self) -> bool {
        self.outcome.is_closed()
    }
}

/// What a task holds while it waits on its token.
pub(crate) struct Waiting {
    /// The outcome SendTaskSuccess or SendTaskFailure gives.
    pub outcome: oneshot::Receiver<Result<Value, TaskError>>,
    /// Notified by each SendTaskHeartbeat (a heartbeat sent before the task waits is kept).
    pub heartbeat: Arc<Notify>,
}

/// The tasks waiting on a token. Clone it freely: clones share the same waiting tasks.
#[derive(Clone, Default)]
pub struct TaskTokens {
    waiting: Arc<Mutex<HashMap<String, Waiter>>>,
}

impl std::fmt::Debug for TaskTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskTokens")
            .field("pending", &self.pending())
            .finish()
    }
}

impl TaskTokens {
    /// No tokens yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Completes the task waiting on `token` with `output` (SendTaskSuccess).
    pub fn send_task_success(&self, token: &str, output: Value) -> Result<(), TokenError> {
        self.complete(token, Ok(output))
    }

    /// Fails the task waiting on `token` (SendTaskFailure).
    pub fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), TokenError> {
        self.complete(token, Err(TaskError::new(error, cause)))
    }

    /// Tells the task waiting on `token` that its worker is alive (SendTaskHeartbeat): its
    /// `HeartbeatSeconds` starts again.
    pub fn send_task_heartbeat(&self, token: &str) -> Result<(), TokenError> {
        let waiting = self.lock();
        match waiting.get(token) {
            Some(waiter) if !waiter.is_closed() => {
                waiter.heartbeat.notify_one();
                Ok(())
            }
            _ => Err(TokenError::TaskDoesNotExist(token.to_owned())),
        }
    }

    /// The tokens tasks are waiting on now (not those whose execution was dropped or aborted).
    pub fn pending(&self) -> Vec<String> {
        let mut tokens: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, waiter)| !waiter.is_closed())
            .map(|(token, _)| token.clone())
            .collect();
        tokens.sort();
        tokens
    }

    fn complete(&self, token: &str, outcome: Result<Value, TaskError>) -> Result<(), TokenError> {
        let waiter = self
            .lock()
            .remove(token)
            .ok_or_else(|| TokenError::TaskDoesNotExist(token.to_owned()))?;
        waiter
            .outcome
            .send(outcome)
            .map_err(|_| TokenError::TaskDoesNotExist(token.to_owned()))
    }

    /// Issues a new token and what its task waits on.
    pub(crate) fn issue(&self) -> (String, Waiting) {
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let (tx, rx) = oneshot::channel();
        let heartbeat = Arc::new(Notify::new());
        self.lock().insert(
            token.clone(),
            Waiter {
                outcome: tx,
                heartbeat: heartbeat.clone(),
            },
        );
        (
            token,
            Waiting {
                outcome: rx,
                heartbeat,
            },
        )
    }

    /// Forgets a token whose task ended another way (timeout, abort): it is unknown from then
    /// on (`TaskDoesNotExist`).
    pub fn forget(&self, token: &str) {
        self.lock().remove(token);
    }

    /// Forgets the tokens whose task no longer waits because its execution was dropped (an
    /// aborted run, as StopExecution leaves), and returns them, sorted.
    pub fn forget_abandoned(&self) -> Vec<String> {
        let mut forgotten = Vec::new();
        self.lock().retain(|token, waiter| {
            let waits = !waiter.is_closed();
            if !waits {
                forgotten.push(token.clone());
            }
            waits
        });
        forgotten.sort();
        forgotten
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiter>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn tokens_complete_once() {
        let tokens = TaskTokens::new();
        let (token, waiting) = tokens.issue();
        let rx = waiting.outcome;
        assert_eq!(tokens.pending(), vec![token.clone()]);
        tokens
            .send_task_success(&token, json!({"ok": true}))
            .unwrap();
        assert_eq!(rx.await.unwrap().unwrap(), json!({"ok": true}));
        assert_eq!(
            tokens.send_task_failure(&token, "E", "c"),
            Err(TokenError::TaskDoesNotExist(token.clone()))
        );
        assert_eq!(
            tokens.send_task_heartbeat(&token),
            Err(TokenError::TaskDoesNotExist(token.clone()))
        );
    }

    #[tokio::test]
    async fn a_heartbeat_wakes_the_waiting_task_and_is_kept_until_it_waits() {
        let tokens = TaskTokens::new();
        let (token, waiting) = tokens.issue();
        tokens.send_task_heartbeat(&token).unwrap();
        // Sent before the task waited: kept, so the wait sees it.
        waiting.heartbeat.notified().await;
        assert_eq!(tokens.pending(), vec![token.clone()]);
        drop(waiting);
        assert_eq!(
            tokens.send_task_heartbeat(&token),
            Err(TokenError::TaskDoesNotExist(token))
        );
    }

    #[tokio::test]
    async fn tokens_of_dropped_tasks_are_forgotten() {
        let tokens = TaskTokens::new();
        let (kept, _waits) = tokens.issue();
        let (dropped, waiting) = tokens.issue();
        drop(waiting);
        assert_eq!(tokens.pending(), vec![kept.clone()]);
        assert_eq!(tokens.forget_abandoned(), vec![dropped.clone()]);
        assert_eq!(tokens.forget_abandoned(), Vec::<String>::new());
        assert_eq!(
            tokens.send_task_success(&dropped, json!({})),
            Err(TokenError::TaskDoesNotExist(dropped))
        );
        tokens.forget(&kept);
        assert!(tokens.pending().is_empty());
        assert_eq!(
            tokens.send_task_success(&kept, json!({})),
            Err(TokenError::TaskDoesNotExist(kept))
        );
    }
}
