//! DHCPv4 (RFC 2131/2132, RFC 3046, RFC 3396, RFC 4388, RFC 6926) wire format.
//!
//! Two levels, in the style of smoltcp's `wire` module:
//!
//! - [`Packet`]: a zero-copy, checked view over a buffer. [`Packet::options`] yields every option
//!   instance in wire order, duplicates kept, following Option Overload (52) into `file` then
//!   `sname`. [`Packet::option`] and the typed accessors (e.g. [`Packet::relay_agent_information`])
//!   join all instances of one code per RFC 3396 and allocate only when there are several.
//! - [`Repr`]: an owned, typed message. [`Repr::parse`] follows RFC 3396 semantics: instances of one
//!   code are joined into one [`DhcpOption`] at the position of the first instance; options read
//!   from `file`/`sname` under overload are kept, the overload option is dropped and the used field
//!   zeroed. A joined value that does not fit its typed option is an error. [`Repr::emit`] splits
//!   values longer than 255 octets into consecutive instances; [`Repr::emit_with_max`] overloads
//!   `file` and `sname` when the options do not fit a maximum message size.
//!
//! The view keeps what was on the wire (use it for relaying and diagnostics); `Repr` keeps what it
//! means. Option 82 is kept byte for byte in both, so a server can echo it exactly (RFC 3046 §2.2).
//! Nothing here panics on any input, and allocation is bounded by the input length.

mod accessors;
pub mod code;
mod draft_codes;
mod hw_addr;
mod index;
mod leasequery;
mod message_type;
mod option;
mod options;
mod packet;
mod query_key;
mod relay_agent;
mod repr;

pub use draft_codes::DraftCodes;
pub use hw_addr::{HwAddr, HwAddrTooLong, MAX_CHADDR_LEN};
pub use index::OptionIndex;
pub use leasequery::{
    AssociatedIps, DataSource, DhcpState, DraftStatus, Rfc6926Status, StatusCode,
};
pub use message_type::MessageType;
pub use option::DhcpOption;
pub use options::{concat, Options, RawOption, OVERLOAD_FILE, OVERLOAD_SNAME};
pub use packet::{Packet, BOOTREPLY, BOOTREQUEST, FLAG_BROADCAST, HEADER_LEN, MAGIC_COOKIE};
pub use query_key::{KeyError, QueryKey, QueryKind, MAX_IDENTIFIER_LEN};
pub use relay_agent::{RelayAgentInformation, SubOption, SubOptions};
pub use repr::Repr;
