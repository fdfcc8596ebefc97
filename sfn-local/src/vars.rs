//! Workflow variables: a scope per Map iteration and Parallel branch, reading its parents.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// One scope's variables.
pub(crate) struct Vars {
    parent: Option<Arc<Vars>>,
    own: Mutex<Map<String, Value>>,
}

impl Vars {
    /// The execution's own scope.
    pub(crate) fn root() -> Arc<Vars> {
        Arc::new(Vars {
            parent: None,
            own: Mutex::new(Map::new()),
        })
    }

    /// A scope inside `parent` (a Map iteration or Parallel branch that assigns).
    pub(crate) fn child(parent: &Arc<Vars>) -> Arc<Vars> {
        Arc::new(Vars {
            parent: Some(parent.clone()),
            own: Mutex::new(Map::new()),
        })
    }

    /// A variable's value, from this scope or the nearest one out that has it.
    pub(crate) fn get(&self, name: &str) -> Option<Value> {
        let own = self
            .own
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned();
        own.or_else(|| self.parent.as_ref()?.get(name))
    }

    /// Sets variables in this scope.
    pub(crate) fn set(&self, assigned: Map<String, Value>) {
        let mut own = self.own.lock().unwrap_or_else(|e| e.into_inner());
        own.extend(assigned);
    }
}
