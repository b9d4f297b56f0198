//! Zero-copy view over one DHCPv6 message and its options (RFC 8415 §8, §9, §21.1).

use std::net::Ipv6Addr;

use super::MessageType;
use crate::{Error, Result};

/// Length of the client/server header: msg-type (1) + transaction-id (3) (RFC 8415 §8).
pub const HEADER_LEN: usize = 4;
/// Length of the relay agent/server header: msg-type (1) + hop-count (1) + link-address (16) +
/// peer-address (16) (RFC 8415 §9).
pub const RELAY_HEADER_LEN: usize = 34;
/// Length of an option header: option-code (2) + option-len (2) (RFC 8415 §21.1).
pub const OPTION_HEADER_LEN: usize = 4;

/// A read-only or read-write view over one DHCPv6 message.
///
/// The msg-type decides the layout: RELAY-FORW and RELAY-REPL use the relay format, every other
/// value (known or not) the client/server format. Once [`Packet::new_checked`] has succeeded, no
/// accessor panics; fields that do not exist in this message's format are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it. [`Packet::msg_type`] panics on an empty buffer;
    /// every other accessor returns `None` where the field is missing.
    pub fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the fixed header of the message's format is present.
    ///
    /// Options are not checked here: [`Packet::options`] reports a bad option when it meets it.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        let first = *data.first().ok_or(Error::Truncated)?;
        if data.len() < header_len(MessageType::from(first)) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// msg-type. Panics only on an empty buffer that was not checked.
    pub fn msg_type(&self) -> MessageType {
        MessageType::from(self.buffer.as_ref()[0])
    }

    /// Whether this is a relay agent/server message (RELAY-FORW or RELAY-REPL).
    pub fn is_relay(&self) -> bool {
        self.msg_type().is_relay()
    }

    /// Length of this message's fixed header.
    pub fn header_len(&self) -> usize {
        header_len(self.msg_type())
    }

    /// The 24-bit transaction-id of a client/server message; `None` for relay messages.
    pub fn transaction_id(&self) -> Option<u32> {
        if self.is_relay() {
            return None;
        }
        let b = self.buffer.as_ref().get(1..4)?;
        Some(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    /// hop-count of a relay message; `None` for client/server messages.
    pub fn hop_count(&self) -> Option<u8> {
        if !self.is_relay() {
            return None;
        }
        self.buffer.as_ref().get(1).copied()
    }

    /// link-address of a relay message; `None` for client/server messages.
    pub fn link_address(&self) -> Option<Ipv6Addr> {
        self.relay_addr(2)
    }

    /// peer-address of a relay message; `None` for client/server messages.
    pub fn peer_address(&self) -> Option<Ipv6Addr> {
        self.relay_addr(18)
    }

    fn relay_addr(&self, at: usize) -> Option<Ipv6Addr> {
        if !self.is_relay() {
            return None;
        }
        let b: [u8; 16] = self.buffer.as_ref().get(at..at + 16)?.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    }

    /// The options area: everything after the fixed header (empty if the header is short).
    pub fn options_area(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(self.header_len()..)
            .unwrap_or_default()
    }

    /// The message's top-level options, in wire order, duplicates kept.
    pub fn options(&self) -> OptionIter<'_> {
        OptionIter::new(self.options_area())
    }

    /// The first top-level option with `code`, or `None`; errors of options before it are
    /// returned.
    pub fn option(&self, code: u16) -> Result<Option<RawOption<'_>>> {
        find_option(self.options_area(), code)
    }
}

fn header_len(msg_type: MessageType) -> usize {
    if msg_type.is_relay() {
        RELAY_HEADER_LEN
    } else {
        HEADER_LEN
    }
}

/// One option as it is on the wire: its code and a borrowed body (option-len octets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawOption<'a> {
    /// option-code.
    pub code: u16,
    /// option-data: exactly option-len octets.
    pub data: &'a [u8],
}

impl RawOption<'_> {
    /// Octets this option takes on the wire, header included.
    pub fn wire_len(&self) -> usize {
        OPTION_HEADER_LEN + self.data.len()
    }
}

/// Iterates over the options of an options area (a message's, or an option's encapsulated
/// options), in wire order, without allocating.
///
/// An option whose header or body runs past the end of the area yields
/// `Err(Error::Truncated)` once, after which the iterator is exhausted.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    rest: &'a [u8],
}

impl<'a> OptionIter<'a> {
    /// Iterates over the options in `area`.
    pub fn new(area: &'a [u8]) -> Self {
        OptionIter { rest: area }
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<RawOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let data = core::mem::take(&mut self.rest);
        let Some((header, after)) = data.split_first_chunk::<OPTION_HEADER_LEN>() else {
            return Some(Err(Error::Truncated));
        };
        let code = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if len > after.len() {
            return Some(Err(Error::Truncated));
        }
        let (body, rest) = after.split_at(len);
        self.rest = rest;
        Some(Ok(RawOption { code, data: body }))
    }
}

impl core::iter::FusedIterator for OptionIter<'_> {}

/// The first option with `code` in an options area; errors of options before it are returned.
pub fn find_option(area: &[u8], code: u16) -> Result<Option<RawOption<'_>>> {
    for option in OptionIter::new(area) {
        let option = option?;
        if option.code == code {
            return Ok(Some(option));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_server_header() {
        let bytes = [1u8, 0xab, 0xcd, 0xef, 0, 8, 0, 2, 0, 0];
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.msg_type(), MessageType::Solicit);
        assert_eq!(p.transaction_id(), Some(0xabcdef));
        assert_eq!(p.hop_count(), None);
        assert_eq!(p.link_address(), None);
        let opts: Vec<_> = p.options().collect();
        assert_eq!(
            opts,
            vec![Ok(RawOption {
                code: 8,
                data: &[0, 0]
            })]
        );
    }

    #[test]
    fn relay_header() {
        let mut bytes = vec![12u8, 3];
        bytes.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).octets());
        bytes.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2).octets());
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert!(p.is_relay());
        assert_eq!(p.transaction_id(), None);
        assert_eq!(p.hop_count(), Some(3));
        assert_eq!(
            p.link_address(),
            Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
        );
        assert_eq!(
            p.peer_address(),
            Some(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2))
        );
        assert_eq!(p.options().count(), 0);
    }

    #[test]
    fn short_headers_are_truncated() {
        assert_eq!(Packet::new_checked(&[][..]).unwrap_err(), Error::Truncated);
        assert_eq!(
            Packet::new_checked(&[1u8, 0, 0][..]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(
            Packet::new_checked(&[12u8; 33][..]).unwrap_err(),
            Error::Truncated
        );
        assert!(Packet::new_checked(&[12u8; 34][..]).is_ok());
        // A short unchecked relay view answers None rather than panicking.
        let p = Packet::new_unchecked(&[12u8, 1][..]);
        assert_eq!(p.link_address(), None);
        assert_eq!(p.options_area(), &[] as &[u8]);
    }

    #[test]
    fn iterator_keeps_order_and_duplicates_then_stops_after_error() {
        let area = [0, 1, 0, 1, 7, 0, 1, 0, 0, 0, 5, 0, 9, 1];
        let got: Vec<_> = OptionIter::new(&area).collect();
        assert_eq!(
            got,
            vec![
                Ok(RawOption {
                    code: 1,
                    data: &[7]
                }),
                Ok(RawOption { code: 1, data: &[] }),
                Err(Error::Truncated),
            ]
        );
        let got: Vec<_> = OptionIter::new(&[0, 1, 0]).collect();
        assert_eq!(got, vec![Err(Error::Truncated)]);
    }

    #[test]
    fn find_first() {
        let area = [0, 2, 0, 0, 0, 1, 0, 1, 7, 0, 1, 0, 1, 8];
        assert_eq!(
            find_option(&area, 1),
            Ok(Some(RawOption {
                code: 1,
                data: &[7]
            }))
        );
        assert_eq!(find_option(&area, 3), Ok(None));
        assert_eq!(find_option(&[0, 1, 0, 9], 1), Err(Error::Truncated));
    }
}
