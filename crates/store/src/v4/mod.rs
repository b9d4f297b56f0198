//! DHCPv4: the binding, its read-only snapshot.

pub mod binding;
pub mod snapshot;
