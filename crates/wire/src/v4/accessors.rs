//! Typed option accessors on the [`Packet`] view.
//!
//! Each joins the instances of its code per RFC 3396 (borrowing when there is one) and checks
//! the value's format. On a [`Packet`] every accessor scans the options; on the
//! [`OptionIndex`] built by [`Packet::index`] each is a table lookup. `Ok(None)`: the option is absent. `Err`: the options are malformed or
//! this option's value has the wrong length.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::code;
use super::index::OptionIndex;
use super::leasequery::{AssociatedIps, DataSource, DhcpState, StatusCode};
use super::message_type::MessageType;
use super::option::{ip, u32_of, u8_of};
use super::packet::Packet;
use super::relay_agent::RelayAgentInformation;
use crate::{Error, Result};

/// Decodes a joined value with `decode`; absent stays `None`.
fn typed<X>(
    value: Option<Cow<'_, [u8]>>,
    decode: impl FnOnce(&[u8]) -> Result<X>,
) -> Result<Option<X>> {
    match value {
        None => Ok(None),
        Some(v) => decode(&v).map(Some),
    }
}

/// The typed accessors, written once for every type with an RFC 3396 `option(code)` lookup: the
/// scanning [`Packet`] and the one-pass [`OptionIndex`].
macro_rules! typed_accessors {
    () => {
        /// DHCP Message Type (53).
        pub fn message_type(&self) -> Result<Option<MessageType>> {
            typed(self.option(code::DHCP_MESSAGE_TYPE)?, |d| {
                u8_of(d).map(MessageType::from)
            })
        }

        /// Server Identifier (54).
        pub fn server_identifier(&self) -> Result<Option<Ipv4Addr>> {
            typed(self.option(code::SERVER_IDENTIFIER)?, ip)
        }

        /// Requested IP Address (50).
        pub fn requested_ip(&self) -> Result<Option<Ipv4Addr>> {
            typed(self.option(code::REQUESTED_IP_ADDRESS)?, ip)
        }

        /// IP Address Lease Time (51), seconds.
        pub fn lease_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::IP_ADDRESS_LEASE_TIME)?, u32_of)
        }

        /// Renewal (T1) Time Value (58), seconds.
        pub fn renewal_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::RENEWAL_TIME_VALUE)?, u32_of)
        }

        /// Rebinding (T2) Time Value (59), seconds.
        pub fn rebinding_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::REBINDING_TIME_VALUE)?, u32_of)
        }

        /// Parameter Request List (55): the option codes requested, in order.
        pub fn parameter_request_list(&self) -> Result<Option<Cow<'_, [u8]>>> {
            self.option(code::PARAMETER_REQUEST_LIST)
        }

        /// Maximum DHCP Message Size (57): the largest message the sender accepts.
        pub fn max_message_size(&self) -> Result<Option<u16>> {
            typed(self.option(code::MAXIMUM_DHCP_MESSAGE_SIZE)?, |d| match d {
                &[a, b] => Ok(u16::from_be_bytes([a, b])),
                _ => Err(Error::BadLength),
            })
        }

        /// Vendor class identifier (60).
        pub fn vendor_class_id(&self) -> Result<Option<Cow<'_, [u8]>>> {
            self.option(code::VENDOR_CLASS_IDENTIFIER)
        }

        /// Client-identifier (61), type octet included.
        pub fn client_identifier(&self) -> Result<Option<Cow<'_, [u8]>>> {
            self.option(code::CLIENT_IDENTIFIER)
        }

        /// Host Name (12).
        pub fn hostname(&self) -> Result<Option<Cow<'_, [u8]>>> {
            self.option(code::HOST_NAME)
        }

        /// Relay Agent Information (82), sub-options checked; `as_bytes()` echoes it as received.
        pub fn relay_agent_information(&self) -> Result<Option<RelayAgentInformation<'_>>> {
            match self.option(code::RELAY_AGENT_INFORMATION)? {
                None => Ok(None),
                Some(v) => RelayAgentInformation::new_checked(v).map(Some),
            }
        }

        /// client-last-transaction-time (91, RFC 4388): seconds since the client last talked to
        /// the server.
        pub fn client_last_transaction_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::CLIENT_LAST_TRANSACTION_TIME)?, u32_of)
        }

        /// associated-ip (92, RFC 4388): the client's other addresses.
        pub fn associated_ip(&self) -> Result<Option<AssociatedIps<'_>>> {
            match self.option(code::ASSOCIATED_IP)? {
                None => Ok(None),
                Some(v) => AssociatedIps::new_checked(v).map(Some),
            }
        }

        /// Subnet Selection (118, RFC 3011).
        pub fn subnet_selection(&self) -> Result<Option<Ipv4Addr>> {
            typed(self.option(code::SUBNET_SELECTION)?, ip)
        }

        /// status-code (151): raw value with dialect-specific decoders.
        pub fn status_code(&self) -> Result<Option<StatusCode<'_>>> {
            Ok(self.option(code::STATUS_CODE)?.map(StatusCode::new))
        }

        /// base-time (152, RFC 6926).
        pub fn base_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::BASE_TIME)?, u32_of)
        }

        /// start-time-of-state (153, RFC 6926).
        pub fn start_time_of_state(&self) -> Result<Option<u32>> {
            typed(self.option(code::START_TIME_OF_STATE)?, u32_of)
        }

        /// query-start-time (154, RFC 6926).
        pub fn query_start_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::QUERY_START_TIME)?, u32_of)
        }

        /// query-end-time (155, RFC 6926).
        pub fn query_end_time(&self) -> Result<Option<u32>> {
            typed(self.option(code::QUERY_END_TIME)?, u32_of)
        }

        /// dhcp-state (156, RFC 6926).
        pub fn dhcp_state(&self) -> Result<Option<DhcpState>> {
            typed(self.option(code::DHCP_STATE)?, |d| {
                u8_of(d).map(DhcpState::from)
            })
        }

        /// data-source (157, RFC 6926).
        pub fn data_source(&self) -> Result<Option<DataSource>> {
            typed(self.option(code::DATA_SOURCE)?, |d| {
                u8_of(d).map(DataSource)
            })
        }
    };
}

impl<T: AsRef<[u8]>> Packet<T> {
    typed_accessors!();
}

impl OptionIndex<'_> {
    typed_accessors!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v4::packet::MAGIC_COOKIE;
    use crate::v4::Rfc6926Status;

    fn msg(options: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[236..240].copy_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(options);
        b
    }

    #[test]
    fn typed_accessors() {
        let b = msg(&[
            53, 1, 10, 54, 4, 192, 0, 2, 1, 50, 4, 192, 0, 2, 9, 51, 4, 0, 0, 0, 60, 58, 4, 0, 0,
            0, 30, 59, 4, 0, 0, 0, 50, 55, 3, 1, 3, 82, 57, 2, 2, 64, 60, 2, b'v', b'c', 61, 2, 1,
            2, 12, 1, b'h', 82, 5, 1, 3, b'a', b'b', b'c', 91, 4, 0, 0, 0, 7, 92, 8, 192, 0, 2, 3,
            192, 0, 2, 4, 118, 4, 198, 51, 100, 0, 151, 3, 0, b'o', b'k', 152, 4, 0, 0, 0, 1, 153,
            4, 0, 0, 0, 2, 154, 4, 0, 0, 0, 3, 155, 4, 0, 0, 0, 4, 156, 1, 2, 157, 1, 1, 255,
        ]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.message_type().unwrap(), Some(MessageType::LeaseQuery));
        assert_eq!(
            p.server_identifier().unwrap(),
            Some(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(p.requested_ip().unwrap(), Some(Ipv4Addr::new(192, 0, 2, 9)));
        assert_eq!(p.lease_time().unwrap(), Some(60));
        assert_eq!(p.renewal_time().unwrap(), Some(30));
        assert_eq!(p.rebinding_time().unwrap(), Some(50));
        assert_eq!(
            p.parameter_request_list().unwrap().as_deref(),
            Some(&[1, 3, 82][..])
        );
        assert_eq!(p.max_message_size().unwrap(), Some(576));
        assert_eq!(p.vendor_class_id().unwrap().as_deref(), Some(&b"vc"[..]));
        assert_eq!(p.client_identifier().unwrap().as_deref(), Some(&[1, 2][..]));
        assert_eq!(p.hostname().unwrap().as_deref(), Some(&b"h"[..]));
        let rai = p.relay_agent_information().unwrap().unwrap();
        assert_eq!(rai.circuit_id().unwrap(), Some(&b"abc"[..]));
        assert_eq!(rai.as_bytes(), &[1, 3, b'a', b'b', b'c']);
        assert_eq!(p.client_last_transaction_time().unwrap(), Some(7));
        let ips: Vec<_> = p.associated_ip().unwrap().unwrap().collect();
        assert_eq!(
            ips,
            vec![Ipv4Addr::new(192, 0, 2, 3), Ipv4Addr::new(192, 0, 2, 4)]
        );
        assert_eq!(
            p.subnet_selection().unwrap(),
            Some(Ipv4Addr::new(198, 51, 100, 0))
        );
        let sc = p.status_code().unwrap().unwrap();
        assert_eq!(sc.decode_rfc6926().unwrap(), (Rfc6926Status::Success, "ok"));
        assert_eq!(p.base_time().unwrap(), Some(1));
        assert_eq!(p.start_time_of_state().unwrap(), Some(2));
        assert_eq!(p.query_start_time().unwrap(), Some(3));
        assert_eq!(p.query_end_time().unwrap(), Some(4));
        assert_eq!(p.dhcp_state().unwrap(), Some(DhcpState::Active));
        assert_eq!(p.data_source().unwrap(), Some(DataSource(1)));
    }

    #[test]
    fn absent_and_bad_length() {
        let b = msg(&[53, 2, 1, 1, 92, 3, 1, 2, 3, 255]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.message_type(), Err(Error::BadLength));
        assert_eq!(p.associated_ip().unwrap_err(), Error::BadLength);
        assert_eq!(p.server_identifier(), Ok(None));
        assert_eq!(p.relay_agent_information(), Ok(None));
    }

    #[test]
    fn split_option_82_is_joined() {
        let b = msg(&[82, 2, 1, 3, 82, 3, b'a', b'b', b'c', 255]);
        let p = Packet::new_checked(&b[..]).unwrap();
        let rai = p.relay_agent_information().unwrap().unwrap();
        assert_eq!(rai.circuit_id().unwrap(), Some(&b"abc"[..]));
    }
}
