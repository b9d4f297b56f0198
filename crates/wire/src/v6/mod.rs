//! DHCPv6 (RFC 8415) and DHCPv6 leasequery (RFC 5007, RFC 5460, RFC 7653) wire format.
//!
//! - [`Packet`]: zero-copy checked view over one message; [`OptionIter`] walks any options
//!   area (a message's or an option's encapsulated options) yielding [`RawOption`]s.
//! - [`Repr`]: owned, typed message with nested relay chains and options ([`DhcpOption`]),
//!   `parse` / `emit`; [`Writer`] emits a message option by option without one.
//! - [`MessageType`], [`QueryType`], [`Duid`], option codes ([`option_code`]) and status codes
//!   ([`status`]).
//!
//! Nesting (relay messages inside RELAY_MSG, options inside IA_NA, CLIENT_DATA, ...) is parsed
//! recursively under one depth budget, [`MAX_DEPTH`], so hostile input cannot exhaust the stack.

mod cursor;
mod duid;
mod message_type;
mod option;
pub mod option_code;
mod packet;
mod query_type;
mod repr;
pub mod status;

pub use cursor::Writer;
pub use duid::{
    Duid, DUID_EN, DUID_LL, DUID_LLT, DUID_UUID, MAX_LEN as DUID_MAX_LEN, MIN_LEN as DUID_MIN_LEN,
};
pub use message_type::MessageType;
pub use option::{parse_options, DhcpOption};
pub use option_code::*;
pub use packet::{
    find_option, OptionIter, Packet, RawOption, HEADER_LEN, OPTION_HEADER_LEN, RELAY_HEADER_LEN,
};
pub use query_type::QueryType;
pub use repr::{ClientServerMessage, RelayMessage, Repr, MAX_TRANSACTION_ID};

/// Deepest nesting [`Repr::parse`] accepts; one level per relay message inside a RELAY_MSG or
/// LQ_RELAY_DATA and one per option that encapsulates options. Deeper input is
/// [`crate::Error::TooDeep`].
///
/// Why 16: a client message relayed through the most relays RFC 8415 §7.6 allows
/// (HOP_COUNT_LIMIT = 8) puts its IA_NA's IAADDR at level 10; a LEASEQUERY-REPLY's CLIENT_DATA
/// holding an LQ_RELAY_DATA with such a chain reaches 12. 16 leaves room without letting a
/// 64 KiB message recurse thousands of times.
pub const MAX_DEPTH: usize = 16;
