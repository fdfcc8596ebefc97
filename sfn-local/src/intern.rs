//! State names and resources as `&'static str`, each kept once for the life of the process.
//!
//! Every event names its state, and Map iterations on several threads record events for the
//! same states at once: a shared reference count per name would pass between the cores on
//! every event. A machine's names are few and live as long as its engine, usually as long as
//! the process, so each distinct string is leaked once and shared from then on.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// The one `'static` copy of `s`.
pub(crate) fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names.get(s) {
        return name;
    }
    let name: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(name);
    name
}

#[cfg(test)]
mod tests {
    use super::intern;

    #[test]
    fn the_same_string_is_kept_once() {
        let a = intern("Call LLM");
        let b = intern(&String::from("Call LLM"));
        assert_eq!(a, "Call LLM");
        assert!(std::ptr::eq(a, b));
        assert!(!std::ptr::eq(a, intern("Run tools")));
    }
}
