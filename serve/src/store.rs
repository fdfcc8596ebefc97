//! The state machines, executions and histories on disk, in SQLite: one file, written in
//! transactions, so a restart keeps every finished execution and its history.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::{Value, json};

use crate::error::{ApiError, ServeError};

/// The error and cause of an execution that was running when the server stopped.
pub const STOPPED_ERROR: &str = "Serve.Stopped";
/// See [`STOPPED_ERROR`].
pub const STOPPED_CAUSE: &str =
    "sfn-agent serve stopped while this execution ran; executions are not resumed after a restart";

/// A state machine as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineRecord {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// The definition, as the caller sent it.
    pub definition: String,
    /// The role it runs as.
    pub role_arn: String,
    /// `STANDARD` or `EXPRESS`.
    pub kind: String,
    /// When it was created (seconds since the epoch).
    pub created: f64,
}

/// An execution as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    /// Its ARN.
    pub arn: String,
    /// Its state machine's ARN.
    pub machine_arn: String,
    /// Its name.
    pub name: String,
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// The input, as JSON text.
    pub input: String,
    /// The output, as JSON text, once it succeeded.
    pub output: Option<String>,
    /// The error, once it failed.
    pub error: Option<String>,
    /// The cause, once it failed.
    pub cause: Option<String>,
    /// When it started (seconds since the epoch).
    pub start: f64,
    /// When it ended.
    pub stop: Option<f64>,
}

/// How an execution ended, to store.
#[derive(Debug, Clone)]
pub struct Ending {
    /// The final status.
    pub status: String,
    /// The output, as JSON text.
    pub output: Option<String>,
    /// The error.
    pub error: Option<String>,
    /// The cause.
    pub cause: Option<String>,
    /// When it ended.
    pub stop: f64,
    /// Every event, in GetExecutionHistory shape, in order.
    pub events: Vec<Value>,
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
    max_executions: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("max_executions", &self.max_executions)
            .finish()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    kind TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS executions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    arn TEXT NOT NULL UNIQUE,
    machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    cause TEXT,
    start REAL NOT NULL,
    stop REAL
);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions (machine_arn, seq);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
) WITHOUT ROWID;
";

impl Store {
    /// Opens (or creates) the database at `path`, or one in memory for `None`, keeping at most
    /// `max_executions` executions (the oldest closed ones go first). Executions left running
    /// by a server that stopped are closed as `ABORTED` with [`STOPPED_ERROR`].
    pub fn open(path: Option<&Path>, max_executions: usize, now: f64) -> Result<Self, ServeError> {
        let shown = path.map_or(":memory:".to_owned(), |p| p.display().to_string());
        let fail = |source| ServeError::Store {
            path: shown.clone(),
            source,
        };
        let conn = match path {
            Some(path) => Connection::open(path),
            None => Connection::open_in_memory(),
        }
        .map_err(fail)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .and_then(|()| conn.execute_batch(SCHEMA))
            .map_err(fail)?;
        let store = Self {
            conn: Mutex::new(conn),
            max_executions: max_executions.max(1),
        };
        store.close_interrupted(now).map_err(fail)?;
        Ok(store)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the executions a stopped server left `RUNNING`: `ABORTED`, with their start event
    /// and an `ExecutionAborted` event saying why.
    fn close_interrupted(&self, now: f64) -> rusqlite::Result<()> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let running: Vec<(String, String, f64)> = tx
            .prepare("SELECT arn, input, start FROM executions WHERE status = 'RUNNING'")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        for (arn, input, start) in running {
            tx.execute("DELETE FROM events WHERE execution_arn = ?1", [&arn])?;
            let events = [
                json!({"timestamp": start, "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
                       "executionStartedEventDetails": {"input": input, "inputDetails": {"truncated": false}}}),
                json!({"timestamp": now, "type": "ExecutionAborted", "id": 2, "previousEventId": 1,
                       "executionAbortedEventDetails": {"error": STOPPED_ERROR, "cause": STOPPED_CAUSE}}),
            ];
            for event in &events {
                tx.execute(
                    "INSERT INTO events (execution_arn, id, body) VALUES (?1, ?2, ?3)",
                    params![arn, event["id"].as_i64(), event.to_string()],
                )?;
            }
            tx.execute(
                "UPDATE executions SET status = 'ABORTED', error = ?2, cause = ?3, stop = ?4 WHERE arn = ?1",
                params![arn, STOPPED_ERROR, STOPPED_CAUSE, now],
            )?;
        }
        tx.commit()
    }

    /// Creates or replaces a state machine.
    pub fn put_machine(&self, machine: &MachineRecord) -> Result<(), ApiError> {
        self.lock().execute(
            "INSERT INTO machines (arn, name, definition, role_arn, kind, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (arn) DO UPDATE SET definition = ?3, role_arn = ?4, kind = ?5",
            params![
                machine.arn,
                machine.name,
                machine.definition,
                machine.role_arn,
                machine.kind,
                machine.created
            ],
        )?;
        Ok(())
    }

    /// A state machine by ARN.
    pub fn machine(&self, arn: &str) -> Result<Option<MachineRecord>, ApiError> {
        Ok(self
            .lock()
            .query_row(
                "SELECT arn, name, definition, role_arn, kind, created FROM machines WHERE arn = ?1",
                [arn],
                machine_row,
            )
            .optional()?)
    }

    /// State machines by name, `limit` from `offset`.
    pub fn machines(&self, offset: usize, limit: usize) -> Result<Vec<MachineRecord>, ApiError> {
        let conn = self.lock();
        let mut statement = conn.prepare(
            "SELECT arn, name, definition, role_arn, kind, created FROM machines
             ORDER BY name LIMIT ?1 OFFSET ?2",
        )?;
        let rows = statement.query_map(params![limit as i64, offset as i64], machine_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes a state machine (its executions stay, as the service keeps them readable).
    pub fn delete_machine(&self, arn: &str) -> Result<(), ApiError> {
        self.lock()
            .execute("DELETE FROM machines WHERE arn = ?1", [arn])?;
        Ok(())
    }

    /// Records a new execution, and forgets the oldest closed ones beyond the cap.
    pub fn insert_execution(&self, execution: &ExecutionRecord) -> Result<(), ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO executions (arn, machine_arn, name, status, input, output, error, cause, start, stop)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                execution.arn,
                execution.machine_arn,
                execution.name,
                execution.status,
                execution.input,
                execution.output,
                execution.error,
                execution.cause,
                execution.start,
                execution.stop
            ],
        )?;
        let count: i64 = tx.query_row("SELECT COUNT(*) FROM executions", [], |r| r.get(0))?;
        let excess = count - self.max_executions as i64;
        if excess > 0 {
            tx.execute(
                "DELETE FROM events WHERE execution_arn IN
                   (SELECT arn FROM executions WHERE status <> 'RUNNING' ORDER BY seq LIMIT ?1)",
                [excess],
            )?;
            tx.execute(
                "DELETE FROM executions WHERE seq IN
                   (SELECT seq FROM executions WHERE status <> 'RUNNING' ORDER BY seq LIMIT ?1)",
                [excess],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Closes an execution and writes its history, in one transaction.
    pub fn finish_execution(&self, arn: &str, ending: &Ending) -> Result<(), ApiError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE executions SET status = ?2, output = ?3, error = ?4, cause = ?5, stop = ?6 WHERE arn = ?1",
            params![
                arn,
                ending.status,
                ending.output,
                ending.error,
                ending.cause,
                ending.stop
            ],
        )?;
        {
            let mut insert = tx.prepare(
                "INSERT OR REPLACE INTO events (execution_arn, id, body) VALUES (?1, ?2, ?3)",
            )?;
            for event in &ending.events {
                insert.execute(params![arn, event["id"].as_i64(), event.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// An execution by ARN.
    pub fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>, ApiError> {
        Ok(self
            .lock()
            .query_row(
                &format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"),
                [arn],
                execution_row,
            )
            .optional()?)
    }

    /// A machine's executions, newest first, optionally of one status, `limit` from `offset`.
    pub fn executions(
        &self,
        machine_arn: Option<&str>,
        status: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>, ApiError> {
        let conn = self.lock();
        let mut statement = conn.prepare(&format!(
            "SELECT {EXECUTION_COLUMNS} FROM executions
             WHERE (?1 IS NULL OR machine_arn = ?1) AND (?2 IS NULL OR status = ?2)
             ORDER BY seq DESC LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = statement.query_map(
            params![machine_arn, status, limit as i64, offset as i64],
            execution_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A closed execution's events, `limit` from `offset`, in order or in reverse.
    pub fn events(
        &self,
        arn: &str,
        offset: usize,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<Value>, ApiError> {
        let conn = self.lock();
        let order = if reverse { "DESC" } else { "ASC" };
        let mut statement = conn.prepare(&format!(
            "SELECT body FROM events WHERE execution_arn = ?1 ORDER BY id {order} LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = statement.query_map(params![arn, limit as i64, offset as i64], |r| {
            r.get::<_, String>(0)
        })?;
        let mut events = Vec::new();
        for body in rows {
            events.push(serde_json::from_str(&body?).unwrap_or(Value::Null));
        }
        Ok(events)
    }
}

const EXECUTION_COLUMNS: &str =
    "arn, machine_arn, name, status, input, output, error, cause, start, stop";

fn machine_row(r: &Row<'_>) -> rusqlite::Result<MachineRecord> {
    Ok(MachineRecord {
        arn: r.get(0)?,
        name: r.get(1)?,
        definition: r.get(2)?,
        role_arn: r.get(3)?,
        kind: r.get(4)?,
        created: r.get(5)?,
    })
}

fn execution_row(r: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        arn: r.get(0)?,
        machine_arn: r.get(1)?,
        name: r.get(2)?,
        status: r.get(3)?,
        input: r.get(4)?,
        output: r.get(5)?,
        error: r.get(6)?,
        cause: r.get(7)?,
        start: r.get(8)?,
        stop: r.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execution(arn: &str, status: &str) -> ExecutionRecord {
        ExecutionRecord {
            arn: arn.to_owned(),
            machine_arn: "m".to_owned(),
            name: arn.to_owned(),
            status: status.to_owned(),
            input: "{}".to_owned(),
            output: None,
            error: None,
            cause: None,
            start: 1.0,
            stop: None,
        }
    }

    #[test]
    fn a_reopened_store_keeps_executions_and_aborts_the_running_ones() {
        let dir = std::env::temp_dir().join(format!("serve-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("serve.db");
        {
            let store = Store::open(Some(&path), 10, 0.0).unwrap();
            store
                .insert_execution(&execution("done", "RUNNING"))
                .unwrap();
            let events = [
                json!({"id": 1, "type": "ExecutionStarted"}),
                json!({"id": 2, "type": "ExecutionSucceeded"}),
            ];
            store
                .finish_execution(
                    "done",
                    &Ending {
                        status: "SUCCEEDED".into(),
                        output: Some("1".into()),
                        error: None,
                        cause: None,
                        stop: 2.0,
                        events: events.to_vec(),
                    },
                )
                .unwrap();
            store
                .insert_execution(&execution("cut", "RUNNING"))
                .unwrap();
        }
        let store = Store::open(Some(&path), 10, 5.0).unwrap();
        let done = store.execution("done").unwrap().unwrap();
        assert_eq!(
            (done.status.as_str(), done.output.as_deref()),
            ("SUCCEEDED", Some("1"))
        );
        assert_eq!(
            store.events("done", 0, 10, true).unwrap()[0]["type"],
            "ExecutionSucceeded"
        );
        let cut = store.execution("cut").unwrap().unwrap();
        assert_eq!(
            (cut.status.as_str(), cut.error.as_deref(), cut.stop),
            ("ABORTED", Some(STOPPED_ERROR), Some(5.0))
        );
        let events = store.events("cut", 0, 10, false).unwrap();
        assert_eq!(events[1]["type"], "ExecutionAborted");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_oldest_closed_executions_go_beyond_the_cap() {
        let store = Store::open(None, 2, 0.0).unwrap();
        store
            .insert_execution(&execution("a", "SUCCEEDED"))
            .unwrap();
        store.insert_execution(&execution("b", "RUNNING")).unwrap();
        store
            .insert_execution(&execution("c", "SUCCEEDED"))
            .unwrap();
        assert!(store.execution("a").unwrap().is_none());
        assert!(store.execution("b").unwrap().is_some());
        assert_eq!(store.executions(Some("m"), None, 0, 10).unwrap().len(), 2);
    }
}
