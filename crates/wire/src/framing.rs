//! TCP framing of bulk leasequery streams: draft-dtv-dhc-dhcpv4-bulk-leasequery-00, RFC 6926
//! (DHCPv4) and RFC 5460 (DHCPv6).
//!
//! TCP carries a byte stream, so every message is preceded by a header whose first two octets are
//! the size of the message that follows, in network byte order. The draft adds two unused octets
//! (sender zeroes them, receiver ignores them); RFC 6926 and RFC 5460 do not.
//!
//! Everything here is sans-IO: the [`Decoder`] is handed bytes as they arrive and hands back whole
//! messages, the [`Encoder`] writes headers; sockets live in the I/O layer. A DHCPv4 listener
//! serves both v4 dialects and tells them apart from the first frame (docs/protocol.md decision 1, see
//! [`detect_v4`]); a DHCPv6 listener is separate and always uses [`Dialect::V6`].

mod decoder;
mod encoder;

pub use decoder::{Decoded, Decoder};
pub use encoder::Encoder;

use crate::{Error, Result};

/// The largest message a 2-octet message-size field can announce.
pub const MAX_MESSAGE_SIZE: usize = u16::MAX as usize;

/// The longest frame header of any dialect (the draft's).
pub const MAX_HEADER_LEN: usize = 4;

/// How a bulk leasequery TCP stream frames its messages.
///
/// [`Dialect::Rfc6926`] and [`Dialect::V6`] put the same bytes on the wire. They are kept apart
/// because they belong to different listeners and message families: a v6 stream is never
/// subject to v4 dialect detection, and logs and statistics can tell the three apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// draft-dtv-dhc-dhcpv4-bulk-leasequery-00 §7.1: message-size (2) + unused (2).
    Draft,
    /// RFC 6926 §6.1 (DHCPv4 bulk leasequery, what Kea and current relays speak): message-size (2).
    Rfc6926,
    /// RFC 5460 §5.1 (DHCPv6 bulk leasequery): msg-size (2).
    V6,
}

impl Dialect {
    /// Octets of frame header in front of every message.
    pub const fn header_len(self) -> usize {
        match self {
            Dialect::Draft => 4,
            Dialect::Rfc6926 | Dialect::V6 => 2,
        }
    }

    /// Whether this dialect carries DHCPv4 messages (and so is subject to [`detect_v4`]).
    pub const fn is_v4(self) -> bool {
        matches!(self, Dialect::Draft | Dialect::Rfc6926)
    }
}

/// Octets [`detect_v4`] needs to decide: the message-size and one more octet.
pub const DETECT_LEN: usize = 3;

/// Tells the two DHCPv4 dialects apart from the first octets of a connection.
///
/// After the 2-octet message-size, the draft framing has its first unused octet (zero) and the
/// RFC 6926 framing has the message's `op`, which a requestor sets to 1 (BOOTREQUEST).
/// Returns `Ok(None)` while fewer than [`DETECT_LEN`] octets are known. A zero message-size is
/// [`Error::BadLength`] (no dialect allows an empty frame); any third octet other than 0 or 1 is
/// [`Error::UnknownDialect`]. The maximum message size is not checked here (see [`Decoder`]).
///
/// Only meaningful on the server side, where the first message is a requestor's query; replies
/// have op = 2 (BOOTREPLY).
pub fn detect_v4(prefix: &[u8]) -> Result<Option<Dialect>> {
    if prefix.len() >= 2 && prefix[0] == 0 && prefix[1] == 0 {
        return Err(Error::BadLength);
    }
    match prefix.get(2) {
        None => Ok(None),
        Some(0) => Ok(Some(Dialect::Draft)),
        Some(1) => Ok(Some(Dialect::Rfc6926)),
        Some(_) => Err(Error::UnknownDialect),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths() {
        assert_eq!(Dialect::Draft.header_len(), 4);
        assert_eq!(Dialect::Rfc6926.header_len(), 2);
        assert_eq!(Dialect::V6.header_len(), 2);
        assert!(Dialect::Draft.is_v4() && Dialect::Rfc6926.is_v4() && !Dialect::V6.is_v4());
    }

    #[test]
    fn detect_needs_three_octets() {
        assert_eq!(detect_v4(&[]), Ok(None));
        assert_eq!(detect_v4(&[0]), Ok(None));
        assert_eq!(detect_v4(&[0, 5]), Ok(None));
    }

    #[test]
    fn detect_draft_and_rfc() {
        assert_eq!(detect_v4(&[0, 5, 0]), Ok(Some(Dialect::Draft)));
        assert_eq!(detect_v4(&[0, 5, 0, 7, 9]), Ok(Some(Dialect::Draft)));
        assert_eq!(detect_v4(&[1, 44, 1]), Ok(Some(Dialect::Rfc6926)));
    }

    #[test]
    fn detect_rejects_others() {
        for b in 2..=255u8 {
            assert_eq!(detect_v4(&[0, 5, b]), Err(Error::UnknownDialect));
        }
        assert_eq!(detect_v4(&[0, 0]), Err(Error::BadLength));
        assert_eq!(detect_v4(&[0, 0, 1]), Err(Error::BadLength));
    }
}
