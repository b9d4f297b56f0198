//! Values of the leasequery options: associated-ip (92, RFC 4388) and the RFC 6926 bulk
//! leasequery options status-code (151), dhcp-state (156) and data-source (157).

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::{Error, Result};

/// Reads a list of IPv4 addresses (options 3, 6, 92): at least one address and a length that is a
/// multiple of 4, else `Error::BadLength`.
pub(crate) fn check_addr_list(data: &[u8]) -> Result<()> {
    if data.is_empty() || !data.len().is_multiple_of(4) {
        return Err(Error::BadLength);
    }
    Ok(())
}

/// Decodes a checked address list into addresses.
pub(crate) fn addr_list(data: &[u8]) -> Result<Vec<Ipv4Addr>> {
    check_addr_list(data)?;
    Ok(data
        .chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect())
}

/// Iterator over the addresses of an associated-ip option (92): every other address the client
/// in `ciaddr`'s binding holds (RFC 4388 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociatedIps<'a> {
    raw: Cow<'a, [u8]>,
    pos: usize,
}

impl<'a> AssociatedIps<'a> {
    /// Checks the value: at least 4 octets and a multiple of 4 (RFC 4388 §6.1), else BadLength.
    pub fn new_checked(raw: impl Into<Cow<'a, [u8]>>) -> Result<Self> {
        let raw = raw.into();
        check_addr_list(&raw)?;
        Ok(AssociatedIps { raw, pos: 0 })
    }

    /// The option value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

impl Iterator for AssociatedIps<'_> {
    type Item = Ipv4Addr;

    fn next(&mut self) -> Option<Ipv4Addr> {
        let end = self.pos.checked_add(4)?;
        let c = self.raw.get(self.pos..end)?;
        self.pos = end;
        Some(Ipv4Addr::new(c[0], c[1], c[2], c[3]))
    }
}

/// Status codes of the RFC 6926 status-code option (1 octet; RFC 7724 adds 5-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rfc6926Status {
    /// 0 Success.
    Success,
    /// 1 UnspecFail.
    UnspecFail,
    /// 2 QueryTerminated.
    QueryTerminated,
    /// 3 MalformedQuery.
    MalformedQuery,
    /// 4 NotAllowed.
    NotAllowed,
    /// 5 DataMissing (RFC 7724).
    DataMissing,
    /// 6 ConnectionActive (RFC 7724).
    ConnectionActive,
    /// 7 CatchUpComplete (RFC 7724).
    CatchUpComplete,
    /// 8 TLSConnectionRefused (RFC 7724).
    TlsConnectionRefused,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Rfc6926Status {
    fn from(v: u8) -> Self {
        use Rfc6926Status::*;
        match v {
            0 => Success,
            1 => UnspecFail,
            2 => QueryTerminated,
            3 => MalformedQuery,
            4 => NotAllowed,
            5 => DataMissing,
            6 => ConnectionActive,
            7 => CatchUpComplete,
            8 => TlsConnectionRefused,
            v => Unknown(v),
        }
    }
}

impl From<Rfc6926Status> for u8 {
    fn from(s: Rfc6926Status) -> u8 {
        use Rfc6926Status::*;
        match s {
            Success => 0,
            UnspecFail => 1,
            QueryTerminated => 2,
            MalformedQuery => 3,
            NotAllowed => 4,
            DataMissing => 5,
            ConnectionActive => 6,
            CatchUpComplete => 7,
            TlsConnectionRefused => 8,
            Unknown(v) => v,
        }
    }
}

/// Status codes of the bulk draft's STATUS_CODE (2 octets, docs/protocol.md decision 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DraftStatus {
    /// 0 Success.
    Success,
    /// 1 UnspecFail.
    UnspecFail,
    /// 2 UnknownQueryType.
    UnknownQueryType,
    /// 3 MalformedQuery.
    MalformedQuery,
    /// 4 NotAllowed.
    NotAllowed,
    /// 5 QueryTerminated.
    QueryTerminated,
    /// Any other value.
    Unknown(u16),
}

impl From<u16> for DraftStatus {
    fn from(v: u16) -> Self {
        use DraftStatus::*;
        match v {
            0 => Success,
            1 => UnspecFail,
            2 => UnknownQueryType,
            3 => MalformedQuery,
            4 => NotAllowed,
            5 => QueryTerminated,
            v => Unknown(v),
        }
    }
}

impl From<DraftStatus> for u16 {
    fn from(s: DraftStatus) -> u16 {
        use DraftStatus::*;
        match s {
            Success => 0,
            UnspecFail => 1,
            UnknownQueryType => 2,
            MalformedQuery => 3,
            NotAllowed => 4,
            QueryTerminated => 5,
            Unknown(v) => v,
        }
    }
}

/// The value of the status-code option (151).
///
/// Its layout depends on the bulk leasequery dialect of the connection (docs/protocol.md decision 3),
/// which the option itself does not say, so the raw value is kept and decoded on request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusCode<'a> {
    raw: Cow<'a, [u8]>,
}

impl<'a> StatusCode<'a> {
    /// Wraps a raw option 151 value.
    pub fn new(raw: impl Into<Cow<'a, [u8]>>) -> Self {
        StatusCode { raw: raw.into() }
    }

    /// Builds the RFC 6926 layout: 1-octet status code, then UTF-8 message.
    pub fn rfc6926(status: Rfc6926Status, message: &str) -> StatusCode<'static> {
        let mut raw = Vec::with_capacity(message.len().saturating_add(1));
        raw.push(u8::from(status));
        raw.extend_from_slice(message.as_bytes());
        StatusCode {
            raw: Cow::Owned(raw),
        }
    }

    /// Builds the bulk draft layout (docs/protocol.md decision 3): 2-octet status code, then UTF-8 text.
    pub fn draft(status: DraftStatus, message: &str) -> StatusCode<'static> {
        let mut raw = Vec::with_capacity(message.len().saturating_add(2));
        raw.extend_from_slice(&u16::from(status).to_be_bytes());
        raw.extend_from_slice(message.as_bytes());
        StatusCode {
            raw: Cow::Owned(raw),
        }
    }

    /// The option value as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// Detaches from the buffer it was read from.
    pub fn into_owned(self) -> StatusCode<'static> {
        StatusCode {
            raw: Cow::Owned(self.raw.into_owned()),
        }
    }

    /// Decodes the RFC 6926 layout. Empty is BadLength, a message that is not UTF-8 BadValue.
    pub fn decode_rfc6926(&self) -> Result<(Rfc6926Status, &str)> {
        let (&code, text) = self.raw.split_first().ok_or(Error::BadLength)?;
        let text = core::str::from_utf8(text).map_err(|_| Error::BadValue)?;
        Ok((Rfc6926Status::from(code), text))
    }

    /// Decodes the draft layout. Shorter than 2 octets is BadLength, non-UTF-8 text BadValue.
    pub fn decode_draft(&self) -> Result<(DraftStatus, &str)> {
        let (code, text) = match &self.raw[..] {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => return Err(Error::BadLength),
        };
        let text = core::str::from_utf8(text).map_err(|_| Error::BadValue)?;
        Ok((DraftStatus::from(code), text))
    }
}

/// The dhcp-state option (156, RFC 6926 §6.2.7): the state of the binding on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DhcpState {
    /// 1 AVAILABLE.
    Available,
    /// 2 ACTIVE.
    Active,
    /// 3 EXPIRED.
    Expired,
    /// 4 RELEASED.
    Released,
    /// 5 ABANDONED.
    Abandoned,
    /// 6 RESET.
    Reset,
    /// 7 REMOTE.
    Remote,
    /// 8 TRANSITIONING.
    Transitioning,
    /// Any other value, kept so a newer peer's message still parses.
    Unknown(u8),
}

impl From<u8> for DhcpState {
    fn from(v: u8) -> Self {
        use DhcpState::*;
        match v {
            1 => Available,
            2 => Active,
            3 => Expired,
            4 => Released,
            5 => Abandoned,
            6 => Reset,
            7 => Remote,
            8 => Transitioning,
            v => Unknown(v),
        }
    }
}

impl From<DhcpState> for u8 {
    fn from(s: DhcpState) -> u8 {
        use DhcpState::*;
        match s {
            Available => 1,
            Active => 2,
            Expired => 3,
            Released => 4,
            Abandoned => 5,
            Reset => 6,
            Remote => 7,
            Transitioning => 8,
            Unknown(v) => v,
        }
    }
}

/// The data-source option (157, RFC 6926 §6.2.8): flags about where the binding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DataSource(pub u8);

impl DataSource {
    /// The REMOTE bit: the binding was last updated by a partner server, not this one.
    pub const REMOTE: u8 = 0x01;

    /// Whether the REMOTE bit is set.
    pub fn remote(self) -> bool {
        self.0 & Self::REMOTE != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associated_ips() {
        let ips: Vec<_> = AssociatedIps::new_checked(&[192, 0, 2, 1, 192, 0, 2, 9][..])
            .unwrap()
            .collect();
        assert_eq!(
            ips,
            vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 9)]
        );
        assert_eq!(
            AssociatedIps::new_checked(&[1, 2, 3][..]).unwrap_err(),
            Error::BadLength
        );
        assert_eq!(
            AssociatedIps::new_checked(&[][..]).unwrap_err(),
            Error::BadLength
        );
    }

    #[test]
    fn status_code_layouts() {
        let s = StatusCode::rfc6926(Rfc6926Status::NotAllowed, "no");
        assert_eq!(s.as_bytes(), &[4, b'n', b'o']);
        assert_eq!(
            s.decode_rfc6926().unwrap(),
            (Rfc6926Status::NotAllowed, "no")
        );
        let d = StatusCode::draft(DraftStatus::QueryTerminated, "bye");
        assert_eq!(d.as_bytes(), &[0, 5, b'b', b'y', b'e']);
        assert_eq!(
            d.decode_draft().unwrap(),
            (DraftStatus::QueryTerminated, "bye")
        );
        assert_eq!(
            StatusCode::new(&[][..]).decode_rfc6926().unwrap_err(),
            Error::BadLength
        );
        assert_eq!(
            StatusCode::new(&[1][..]).decode_draft().unwrap_err(),
            Error::BadLength
        );
        assert_eq!(
            StatusCode::new(&[1, 0xff][..])
                .decode_rfc6926()
                .unwrap_err(),
            Error::BadValue
        );
    }

    #[test]
    fn enums_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(DhcpState::from(v)), v);
            assert_eq!(u8::from(Rfc6926Status::from(v)), v);
        }
        for v in 0..=300u16 {
            assert_eq!(u16::from(DraftStatus::from(v)), v);
        }
        assert!(DataSource(1).remote());
        assert!(!DataSource(2).remote());
    }
}
