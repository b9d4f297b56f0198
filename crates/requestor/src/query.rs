//! What a leasequery asks (RFC 4388 §6.2, docs/protocol.md decision 7) and the message that asks it.
//!
//! The key, its rules and the message ([`QueryKey::to_repr`]) are lessor-wire's, shared with the
//! server and the load generators.

pub use lessor_wire::v4::{HwAddr, KeyError, QueryKey, QueryKind};

/// The Parameter Request List sent when the caller names none: lease time (51), T1 (58), T2 (59),
/// relay agent information (82), client-last-transaction-time (91), associated-ip (92),
/// client-id (61), vendor class (60).
pub const DEFAULT_PARAMETERS: [u8; 8] = [51, 58, 59, 82, 91, 92, 61, 60];
