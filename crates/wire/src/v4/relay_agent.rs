//! Relay Agent Information option (82, RFC 3046) and its sub-options.
//!
//! The value is kept exactly as received so a server can echo it byte for byte in replies
//! (RFC 3046 §2.2) and store the most recent one with a binding (RFC 4388 §6.7); sub-options
//! are read from it on demand.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::code::relay;
use crate::{Error, Result};

/// One sub-option instance of option 82, borrowed from the option value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubOption<'a> {
    /// Sub-option code (1 circuit-id, 2 remote-id, 5 link-selection, 12 relay-id, ...).
    pub code: u8,
    /// Sub-option value.
    pub data: &'a [u8],
}

/// Iterator over the sub-options of option 82 in wire order, duplicates kept.
///
/// Sub-options have no pad or end (RFC 3046 §2.0), so every octet belongs to a code/length/value
/// triple; one that overruns the value yields `Err(Error::Truncated)` once, then iteration stops.
#[derive(Debug, Clone)]
pub struct SubOptions<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> SubOptions<'a> {
    /// Iterates over the sub-options in `data` (an option 82 value).
    pub fn new(data: &'a [u8]) -> SubOptions<'a> {
        SubOptions {
            data,
            pos: 0,
            done: false,
        }
    }
}

impl<'a> Iterator for SubOptions<'a> {
    type Item = Result<SubOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let code = match self.data.get(self.pos) {
            None => {
                self.done = true;
                return None;
            }
            Some(&c) => c,
        };
        let value = self.pos.checked_add(1).and_then(|i| {
            let len = usize::from(*self.data.get(i)?);
            let start = i.checked_add(1)?;
            let end = start.checked_add(len)?;
            Some((self.data.get(start..end)?, end))
        });
        match value {
            Some((data, end)) => {
                self.pos = end;
                Some(Ok(SubOption { code, data }))
            }
            None => {
                self.done = true;
                Some(Err(Error::Truncated))
            }
        }
    }
}

impl core::iter::FusedIterator for SubOptions<'_> {}

/// The value of a Relay Agent Information option (82).
///
/// Borrowed from a packet (`RelayAgentInformation<'a>`) or owned (`RelayAgentInformation<'static>`,
/// as in [`super::DhcpOption::RelayAgentInformation`]). [`as_bytes`](Self::as_bytes) is the value
/// exactly as it was received.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayAgentInformation<'a> {
    raw: Cow<'a, [u8]>,
}

impl<'a> RelayAgentInformation<'a> {
    /// Wraps an option 82 value without checking its sub-options.
    pub fn new_unchecked(raw: impl Into<Cow<'a, [u8]>>) -> Self {
        RelayAgentInformation { raw: raw.into() }
    }

    /// Wraps an option 82 value after checking that its sub-options are well formed
    /// (a sub-option overrunning the value is `Error::BadLength`).
    pub fn new_checked(raw: impl Into<Cow<'a, [u8]>>) -> Result<Self> {
        let info = Self::new_unchecked(raw);
        for sub in info.sub_options() {
            sub.map_err(|_| Error::BadLength)?;
        }
        Ok(info)
    }

    /// Builds a value from sub-options, in the order given.
    /// A sub-option longer than 255 octets is `Error::BadLength`.
    pub fn from_sub_options<'s>(
        subs: impl IntoIterator<Item = (u8, &'s [u8])>,
    ) -> Result<RelayAgentInformation<'static>> {
        let mut raw = Vec::new();
        for (code, data) in subs {
            let len = u8::try_from(data.len()).map_err(|_| Error::BadLength)?;
            raw.push(code);
            raw.push(len);
            raw.extend_from_slice(data);
        }
        Ok(RelayAgentInformation {
            raw: Cow::Owned(raw),
        })
    }

    /// The option value byte for byte, as received: what a server echoes back.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Detaches from the buffer it was read from.
    pub fn into_owned(self) -> RelayAgentInformation<'static> {
        RelayAgentInformation {
            raw: Cow::Owned(self.raw.into_owned()),
        }
    }

    /// Every sub-option, in wire order.
    pub fn sub_options(&self) -> SubOptions<'_> {
        SubOptions::new(&self.raw)
    }

    /// The first instance of sub-option `code`.
    pub fn sub_option(&self, code: u8) -> Result<Option<&[u8]>> {
        for sub in self.sub_options() {
            let sub = sub?;
            if sub.code == code {
                return Ok(Some(sub.data));
            }
        }
        Ok(None)
    }

    /// Agent Circuit ID (sub-option 1): the port the relay agent heard the client on.
    pub fn circuit_id(&self) -> Result<Option<&[u8]>> {
        self.sub_option(relay::AGENT_CIRCUIT_ID)
    }

    /// Agent Remote ID (sub-option 2): the remote host end of the circuit (e.g. modem MAC).
    pub fn remote_id(&self) -> Result<Option<&[u8]>> {
        self.sub_option(relay::AGENT_REMOTE_ID)
    }

    /// Link Selection (sub-option 5, RFC 3527): the subnet to allocate from, when not giaddr's.
    pub fn link_selection(&self) -> Result<Option<Ipv4Addr>> {
        match self.sub_option(relay::LINK_SELECTION)? {
            None => Ok(None),
            Some(&[a, b, c, d]) => Ok(Some(Ipv4Addr::new(a, b, c, d))),
            Some(_) => Err(Error::BadLength),
        }
    }

    /// Relay Agent Identifier (sub-option 12, RFC 6925): identifies the relay agent itself,
    /// the key of query-by-relay-id.
    pub fn relay_id(&self) -> Result<Option<&[u8]>> {
        self.sub_option(relay::RELAY_ID)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_options_in_order_with_accessors() {
        let raw = [
            1, 3, b'e', b't', b'1', 2, 2, 0xaa, 0xbb, 5, 4, 192, 0, 2, 0, 12, 1, 7, 1, 1, b'x',
        ];
        let info = RelayAgentInformation::new_checked(&raw[..]).unwrap();
        let codes: Vec<u8> = info.sub_options().map(|s| s.unwrap().code).collect();
        assert_eq!(codes, vec![1, 2, 5, 12, 1]);
        assert_eq!(info.circuit_id().unwrap(), Some(&b"et1"[..]));
        assert_eq!(info.remote_id().unwrap(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(
            info.link_selection().unwrap(),
            Some(Ipv4Addr::new(192, 0, 2, 0))
        );
        assert_eq!(info.relay_id().unwrap(), Some(&[7][..]));
        assert_eq!(info.as_bytes(), &raw[..]);
        assert_eq!(info.sub_option(9).unwrap(), None);
    }

    #[test]
    fn malformed_sub_options() {
        assert_eq!(
            RelayAgentInformation::new_checked(&[1, 3, 0][..]).unwrap_err(),
            Error::BadLength
        );
        assert_eq!(
            RelayAgentInformation::new_checked(&[1][..]).unwrap_err(),
            Error::BadLength
        );
        let info = RelayAgentInformation::new_unchecked(&[2, 0, 1, 9][..]);
        let subs: Vec<_> = info.sub_options().collect();
        assert_eq!(
            subs,
            vec![Ok(SubOption { code: 2, data: &[] }), Err(Error::Truncated)]
        );
        assert_eq!(info.circuit_id(), Err(Error::Truncated));
        let bad_link = RelayAgentInformation::new_unchecked(&[5, 3, 1, 2, 3][..]);
        assert_eq!(bad_link.link_selection(), Err(Error::BadLength));
        assert!(RelayAgentInformation::new_checked(&[][..]).is_ok());
    }

    #[test]
    fn builds_from_sub_options() {
        let info = RelayAgentInformation::from_sub_options([(1, &b"port"[..]), (12, &[1, 2][..])])
            .unwrap();
        assert_eq!(
            info.as_bytes(),
            &[1, 4, b'p', b'o', b'r', b't', 12, 2, 1, 2]
        );
        let long = vec![0u8; 256];
        assert_eq!(
            RelayAgentInformation::from_sub_options([(1, &long[..])]).unwrap_err(),
            Error::BadLength
        );
    }
}
