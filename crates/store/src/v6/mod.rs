//! DHCPv6: the binding ([`binding`]); the store's v6 front, snapshots and `lease6` rows join it.

pub mod binding;
