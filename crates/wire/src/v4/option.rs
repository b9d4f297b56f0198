//! Typed DHCPv4 options: the owned form of each option Lessor reads or writes.

use std::net::Ipv4Addr;

use super::code;
use super::leasequery::{addr_list, DataSource, DhcpState, StatusCode};
use super::message_type::MessageType;
use super::relay_agent::RelayAgentInformation;
use crate::{Error, Result};

/// One option of a [`super::Repr`], typed when Lessor knows its format.
///
/// Fixed-format values (addresses, times, one-octet enums) must have their exact length or
/// decoding fails with `Error::BadLength`; opaque strings (host name, client-identifier,
/// vendor class, parameter request list) accept any length, because the RFC 2132 minimum
/// lengths are rules for senders, and rejecting a whole message for an empty host name helps
/// nobody.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DhcpOption {
    /// Subnet Mask (1).
    SubnetMask(Ipv4Addr),
    /// Router (3): at least one address.
    Router(Vec<Ipv4Addr>),
    /// Domain Name Server (6): at least one address.
    DomainNameServer(Vec<Ipv4Addr>),
    /// Host Name (12), octets as sent (not necessarily UTF-8).
    HostName(Vec<u8>),
    /// Requested IP Address (50).
    RequestedIpAddress(Ipv4Addr),
    /// IP Address Lease Time (51), seconds.
    IpAddressLeaseTime(u32),
    /// DHCP Message Type (53).
    MessageType(MessageType),
    /// Server Identifier (54).
    ServerIdentifier(Ipv4Addr),
    /// Parameter Request List (55): option codes, in the client's order of preference.
    ParameterRequestList(Vec<u8>),
    /// Renewal (T1) Time Value (58), seconds.
    RenewalTime(u32),
    /// Rebinding (T2) Time Value (59), seconds.
    RebindingTime(u32),
    /// Vendor class identifier (60).
    VendorClassIdentifier(Vec<u8>),
    /// Client-identifier (61): type octet then identifier, kept whole.
    ClientIdentifier(Vec<u8>),
    /// Relay Agent Information (82), kept byte for byte so it can be echoed.
    RelayAgentInformation(RelayAgentInformation<'static>),
    /// client-last-transaction-time (91): seconds since the server last heard from the client.
    ClientLastTransactionTime(u32),
    /// associated-ip (92): at least one address.
    AssociatedIp(Vec<Ipv4Addr>),
    /// Subnet Selection (118, RFC 3011).
    SubnetSelection(Ipv4Addr),
    /// status-code (151), raw; decode with the connection's dialect.
    StatusCode(StatusCode<'static>),
    /// base-time (152): the server's clock when it sent the message, seconds since the epoch.
    BaseTime(u32),
    /// start-time-of-state (153): seconds before base-time when the binding entered its state.
    StartTimeOfState(u32),
    /// query-start-time (154): seconds since the epoch.
    QueryStartTime(u32),
    /// query-end-time (155): seconds since the epoch.
    QueryEndTime(u32),
    /// dhcp-state (156).
    DhcpState(DhcpState),
    /// data-source (157).
    DataSource(DataSource),
    /// Any other option, value as sent.
    Other {
        /// The option code.
        code: u8,
        /// The value (all RFC 3396 instances joined).
        data: Vec<u8>,
    },
}

/// An option value ready to be written, without allocating for fixed-format values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Bytes(&'a [u8]),
    Inline([u8; 4], usize),
    Addrs(&'a [Ipv4Addr]),
}

impl Value<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Value::Bytes(b) => b.len(),
            Value::Inline(_, n) => (*n).min(4),
            Value::Addrs(a) => a.len().saturating_mul(4),
        }
    }

    /// Copies value octets starting at `offset` into `out` (as many as fit / remain).
    pub(crate) fn copy_to(&self, offset: usize, out: &mut [u8]) {
        match self {
            Value::Bytes(b) => copy_from(b, offset, out),
            Value::Inline(b, n) => copy_from(b.get(..*n).unwrap_or(&[]), offset, out),
            Value::Addrs(a) => {
                let bytes = a.iter().flat_map(|ip| ip.octets()).skip(offset);
                for (dst, src) in out.iter_mut().zip(bytes) {
                    *dst = src;
                }
            }
        }
    }
}

fn copy_from(src: &[u8], offset: usize, out: &mut [u8]) {
    let src = src.get(offset..).unwrap_or(&[]);
    for (dst, s) in out.iter_mut().zip(src) {
        *dst = *s;
    }
}

pub(crate) fn ip(data: &[u8]) -> Result<Ipv4Addr> {
    match data {
        &[a, b, c, d] => Ok(Ipv4Addr::new(a, b, c, d)),
        _ => Err(Error::BadLength),
    }
}

pub(crate) fn u32_of(data: &[u8]) -> Result<u32> {
    match data {
        &[a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
        _ => Err(Error::BadLength),
    }
}

pub(crate) fn u8_of(data: &[u8]) -> Result<u8> {
    match data {
        &[a] => Ok(a),
        _ => Err(Error::BadLength),
    }
}

impl DhcpOption {
    /// Decodes a (joined) option value into its typed variant.
    ///
    /// Pad (0) and end (255) have no value and are not options: BadValue.
    pub fn decode(code: u8, data: &[u8]) -> Result<DhcpOption> {
        use DhcpOption as O;
        Ok(match code {
            code::PAD | code::END => return Err(Error::BadValue),
            code::SUBNET_MASK => O::SubnetMask(ip(data)?),
            code::ROUTER => O::Router(addr_list(data)?),
            code::DOMAIN_NAME_SERVER => O::DomainNameServer(addr_list(data)?),
            code::HOST_NAME => O::HostName(data.to_vec()),
            code::REQUESTED_IP_ADDRESS => O::RequestedIpAddress(ip(data)?),
            code::IP_ADDRESS_LEASE_TIME => O::IpAddressLeaseTime(u32_of(data)?),
            code::DHCP_MESSAGE_TYPE => O::MessageType(MessageType::from(u8_of(data)?)),
            code::SERVER_IDENTIFIER => O::ServerIdentifier(ip(data)?),
            code::PARAMETER_REQUEST_LIST => O::ParameterRequestList(data.to_vec()),
            code::RENEWAL_TIME_VALUE => O::RenewalTime(u32_of(data)?),
            code::REBINDING_TIME_VALUE => O::RebindingTime(u32_of(data)?),
            code::VENDOR_CLASS_IDENTIFIER => O::VendorClassIdentifier(data.to_vec()),
            code::CLIENT_IDENTIFIER => O::ClientIdentifier(data.to_vec()),
            code::RELAY_AGENT_INFORMATION => {
                O::RelayAgentInformation(RelayAgentInformation::new_checked(data.to_vec())?)
            }
            code::CLIENT_LAST_TRANSACTION_TIME => O::ClientLastTransactionTime(u32_of(data)?),
            code::ASSOCIATED_IP => O::AssociatedIp(addr_list(data)?),
            code::SUBNET_SELECTION => O::SubnetSelection(ip(data)?),
            code::STATUS_CODE => O::StatusCode(StatusCode::new(data.to_vec())),
            code::BASE_TIME => O::BaseTime(u32_of(data)?),
            code::START_TIME_OF_STATE => O::StartTimeOfState(u32_of(data)?),
            code::QUERY_START_TIME => O::QueryStartTime(u32_of(data)?),
            code::QUERY_END_TIME => O::QueryEndTime(u32_of(data)?),
            code::DHCP_STATE => O::DhcpState(DhcpState::from(u8_of(data)?)),
            code::DATA_SOURCE => O::DataSource(DataSource(u8_of(data)?)),
            code => O::Other {
                code,
                data: data.to_vec(),
            },
        })
    }

    /// The option code.
    pub fn code(&self) -> u8 {
        use DhcpOption as O;
        match self {
            O::SubnetMask(_) => code::SUBNET_MASK,
            O::Router(_) => code::ROUTER,
            O::DomainNameServer(_) => code::DOMAIN_NAME_SERVER,
            O::HostName(_) => code::HOST_NAME,
            O::RequestedIpAddress(_) => code::REQUESTED_IP_ADDRESS,
            O::IpAddressLeaseTime(_) => code::IP_ADDRESS_LEASE_TIME,
            O::MessageType(_) => code::DHCP_MESSAGE_TYPE,
            O::ServerIdentifier(_) => code::SERVER_IDENTIFIER,
            O::ParameterRequestList(_) => code::PARAMETER_REQUEST_LIST,
            O::RenewalTime(_) => code::RENEWAL_TIME_VALUE,
            O::RebindingTime(_) => code::REBINDING_TIME_VALUE,
            O::VendorClassIdentifier(_) => code::VENDOR_CLASS_IDENTIFIER,
            O::ClientIdentifier(_) => code::CLIENT_IDENTIFIER,
            O::RelayAgentInformation(_) => code::RELAY_AGENT_INFORMATION,
            O::ClientLastTransactionTime(_) => code::CLIENT_LAST_TRANSACTION_TIME,
            O::AssociatedIp(_) => code::ASSOCIATED_IP,
            O::SubnetSelection(_) => code::SUBNET_SELECTION,
            O::StatusCode(_) => code::STATUS_CODE,
            O::BaseTime(_) => code::BASE_TIME,
            O::StartTimeOfState(_) => code::START_TIME_OF_STATE,
            O::QueryStartTime(_) => code::QUERY_START_TIME,
            O::QueryEndTime(_) => code::QUERY_END_TIME,
            O::DhcpState(_) => code::DHCP_STATE,
            O::DataSource(_) => code::DATA_SOURCE,
            O::Other { code, .. } => *code,
        }
    }

    pub(crate) fn value(&self) -> Value<'_> {
        use DhcpOption as O;
        let addr = |a: &Ipv4Addr| Value::Inline(a.octets(), 4);
        let time = |t: &u32| Value::Inline(t.to_be_bytes(), 4);
        let byte = |b: u8| Value::Inline([b, 0, 0, 0], 1);
        match self {
            O::SubnetMask(a)
            | O::RequestedIpAddress(a)
            | O::ServerIdentifier(a)
            | O::SubnetSelection(a) => addr(a),
            O::Router(l) | O::DomainNameServer(l) | O::AssociatedIp(l) => Value::Addrs(l),
            O::HostName(b)
            | O::ParameterRequestList(b)
            | O::VendorClassIdentifier(b)
            | O::ClientIdentifier(b)
            | O::Other { data: b, .. } => Value::Bytes(b),
            O::IpAddressLeaseTime(t)
            | O::RenewalTime(t)
            | O::RebindingTime(t)
            | O::ClientLastTransactionTime(t)
            | O::BaseTime(t)
            | O::StartTimeOfState(t)
            | O::QueryStartTime(t)
            | O::QueryEndTime(t) => time(t),
            O::MessageType(m) => byte(u8::from(*m)),
            O::DhcpState(s) => byte(u8::from(*s)),
            O::DataSource(d) => byte(d.0),
            O::RelayAgentInformation(r) => Value::Bytes(r.as_bytes()),
            O::StatusCode(s) => Value::Bytes(s.as_bytes()),
        }
    }

    /// The encoded value (what follows code and length on the wire, before any RFC 3396 split).
    pub fn value_bytes(&self) -> Vec<u8> {
        let v = self.value();
        let mut out = vec![0u8; v.len()];
        v.copy_to(0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_each_typed_variant() {
        let cases: Vec<(u8, Vec<u8>)> = vec![
            (1, vec![255, 255, 255, 0]),
            (3, vec![192, 0, 2, 1, 192, 0, 2, 2]),
            (6, vec![192, 0, 2, 53]),
            (12, b"host".to_vec()),
            (50, vec![192, 0, 2, 10]),
            (51, vec![0, 0, 14, 16]),
            (53, vec![13]),
            (54, vec![192, 0, 2, 1]),
            (55, vec![1, 3, 6, 82]),
            (58, vec![0, 0, 7, 8]),
            (59, vec![0, 0, 12, 0]),
            (60, b"docsis3.0".to_vec()),
            (61, vec![1, 0, 1, 2, 3, 4, 5]),
            (82, vec![1, 2, b'a', b'b', 2, 1, 9]),
            (91, vec![0, 0, 0, 30]),
            (92, vec![192, 0, 2, 7]),
            (118, vec![198, 51, 100, 0]),
            (151, vec![0, b'o', b'k']),
            (152, vec![1, 2, 3, 4]),
            (153, vec![0, 0, 0, 5]),
            (154, vec![0, 0, 1, 5]),
            (155, vec![0, 0, 2, 5]),
            (156, vec![2]),
            (157, vec![1]),
            (43, vec![9, 9]),
        ];
        for (code, data) in cases {
            let opt = DhcpOption::decode(code, &data).unwrap();
            assert_eq!(opt.code(), code);
            assert_eq!(opt.value_bytes(), data, "code {code}");
            assert!(!matches!(opt, DhcpOption::Other { .. }) || code == 43);
        }
    }

    #[test]
    fn bad_lengths() {
        for code in [1u8, 50, 51, 54, 58, 59, 91, 118, 152, 153, 154, 155] {
            assert_eq!(DhcpOption::decode(code, &[1, 2, 3]), Err(Error::BadLength));
            assert_eq!(
                DhcpOption::decode(code, &[1, 2, 3, 4, 5]),
                Err(Error::BadLength)
            );
        }
        for code in [3u8, 6, 92] {
            assert_eq!(DhcpOption::decode(code, &[]), Err(Error::BadLength));
            assert_eq!(
                DhcpOption::decode(code, &[1, 2, 3, 4, 5]),
                Err(Error::BadLength)
            );
        }
        for code in [53u8, 156, 157] {
            assert_eq!(DhcpOption::decode(code, &[]), Err(Error::BadLength));
            assert_eq!(DhcpOption::decode(code, &[1, 2]), Err(Error::BadLength));
        }
        assert_eq!(DhcpOption::decode(82, &[1, 5, 0]), Err(Error::BadLength));
        assert_eq!(DhcpOption::decode(0, &[]), Err(Error::BadValue));
        assert_eq!(DhcpOption::decode(255, &[]), Err(Error::BadValue));
    }

    #[test]
    fn value_copy_at_offset() {
        let o = DhcpOption::Router(vec![Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(5, 6, 7, 8)]);
        let v = o.value();
        let mut out = [0u8; 3];
        v.copy_to(3, &mut out);
        assert_eq!(out, [4, 5, 6]);
        let mut tail = [0u8; 4];
        DhcpOption::IpAddressLeaseTime(0x01020304)
            .value()
            .copy_to(2, &mut tail);
        assert_eq!(tail, [3, 4, 0, 0]);
    }
}
