//! One adapter per provider family, each converting at its own edge.
