//! The project agents.
