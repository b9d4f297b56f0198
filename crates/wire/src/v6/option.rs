//! Typed DHCPv6 options: parse from and emit to the wire (RFC 8415 §21, RFC 4649, RFC 5007,
//! RFC 5460, RFC 7653).

use std::net::Ipv6Addr;

use super::cursor::{Reader, Writer};
use super::option_code::*;
use super::packet::{OptionIter, RawOption, OPTION_HEADER_LEN};
use super::{Duid, QueryType, Repr, MAX_DEPTH};
use crate::{Error, Result};

/// One DHCPv6 option, typed where this crate knows the code.
///
/// Options that encapsulate options (IA_NA, IA_TA, IAADDR, IA_PD, IAPREFIX, LQ_QUERY,
/// CLIENT_DATA) or a whole message (RELAY_MSG, LQ_RELAY_DATA) hold them parsed, in wire order,
/// duplicates kept; the nesting shares one depth budget, [`MAX_DEPTH`].
///
/// A typed option whose body does not fit its layout is an error (`BadLength`), not an
/// [`DhcpOption::Other`]: RFC 8415 §16 lets a receiver discard such a message, and callers that
/// want to be lenient can walk the [`super::Packet`] view instead. [`DhcpOption::Other`] is for
/// codes this crate does not type; one built with a typed code emits fine but parses back typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DhcpOption {
    /// OPTION_CLIENTID (1): the client's DUID.
    ClientId(Duid),
    /// OPTION_SERVERID (2): the server's DUID.
    ServerId(Duid),
    /// OPTION_IA_NA (3): identity association for non-temporary addresses.
    IaNa {
        /// IAID, unique per client per IA type.
        iaid: u32,
        /// Seconds until the client contacts the server that granted the addresses.
        t1: u32,
        /// Seconds until the client contacts any server.
        t2: u32,
        /// IA_NA-options (IAADDR, STATUS_CODE, ...).
        options: Vec<DhcpOption>,
    },
    /// OPTION_IA_TA (4): identity association for temporary addresses.
    IaTa {
        /// IAID.
        iaid: u32,
        /// IA_TA-options.
        options: Vec<DhcpOption>,
    },
    /// OPTION_IAADDR (5): one address of an IA_NA or IA_TA, or a leasequery target.
    IaAddr {
        /// The IPv6 address.
        address: Ipv6Addr,
        /// Preferred lifetime, seconds.
        preferred_lifetime: u32,
        /// Valid lifetime, seconds.
        valid_lifetime: u32,
        /// IAaddr-options.
        options: Vec<DhcpOption>,
    },
    /// OPTION_ORO (6): requested option codes, in order.
    Oro(Vec<u16>),
    /// OPTION_RELAY_MSG (9): the relayed message, a client/server message or another relay
    /// message (multi-hop relay chain).
    RelayMsg(Box<Repr>),
    /// OPTION_STATUS_CODE (13).
    ///
    /// The message is kept as the octets received: RFC 8415 says UTF-8, but a peer that sends
    /// something else must neither make the message unparseable nor change on re-emit. Use
    /// `String::from_utf8_lossy` to show it.
    StatusCode {
        /// status-code, see [`super::status`].
        code: u16,
        /// status-message (UTF-8 by RFC, not checked).
        message: Vec<u8>,
    },
    /// OPTION_INTERFACE_ID (18): opaque, set by a relay and echoed by the server.
    InterfaceId(Vec<u8>),
    /// OPTION_IA_PD (25): identity association for prefix delegation.
    IaPd {
        /// IAID.
        iaid: u32,
        /// Seconds until renew.
        t1: u32,
        /// Seconds until rebind.
        t2: u32,
        /// IA_PD-options (IAPREFIX, STATUS_CODE, ...).
        options: Vec<DhcpOption>,
    },
    /// OPTION_IAPREFIX (26): one delegated prefix.
    IaPrefix {
        /// Preferred lifetime, seconds.
        preferred_lifetime: u32,
        /// Valid lifetime, seconds.
        valid_lifetime: u32,
        /// Prefix length in bits; kept as received, even above 128.
        prefix_length: u8,
        /// The prefix.
        prefix: Ipv6Addr,
        /// IAprefix-options.
        options: Vec<DhcpOption>,
    },
    /// OPTION_REMOTE_ID (37, RFC 4649): the relay's identifier of the remote host end.
    RemoteId {
        /// IANA enterprise number of the vendor defining the remote-id format.
        enterprise_number: u32,
        /// The remote-id, opaque.
        remote_id: Vec<u8>,
    },
    /// OPTION_LQ_QUERY (44, RFC 5007): what a LEASEQUERY asks.
    LqQuery {
        /// query-type.
        query_type: QueryType,
        /// Link the query is about; `::` for any link.
        link_address: Ipv6Addr,
        /// query-options (IAADDR, CLIENTID, RELAY_ID, REMOTE_ID, ORO, ...).
        options: Vec<DhcpOption>,
    },
    /// OPTION_CLIENT_DATA (45, RFC 5007): one client's bindings in a reply.
    ClientData(Vec<DhcpOption>),
    /// OPTION_CLT_TIME (46, RFC 5007): seconds since the server last heard from the client.
    CltTime(u32),
    /// OPTION_LQ_RELAY_DATA (47, RFC 5007): the last relay chain seen for the client.
    LqRelayData {
        /// The relay agent the server received the message from.
        peer_address: Ipv6Addr,
        /// A RELAY-FORW whose innermost RELAY_MSG (the client's message) was removed. Any
        /// message type parses; checking that it is a RELAY-FORW is the requestor's business.
        relay_message: Box<Repr>,
    },
    /// OPTION_LQ_CLIENT_LINK (48, RFC 5007): links on which the client has bindings.
    LqClientLink(Vec<Ipv6Addr>),
    /// OPTION_RELAY_ID (53, RFC 5460): the relay agent's DUID.
    RelayId(Duid),
    /// OPTION_LQ_BASE_TIME (100, RFC 7653): the server's current time, seconds since the epoch.
    LqBaseTime(u32),
    /// OPTION_LQ_START_TIME (101, RFC 7653): start of a query time range.
    LqStartTime(u32),
    /// OPTION_LQ_END_TIME (102, RFC 7653): end of a query time range.
    LqEndTime(u32),
    /// Any option this crate does not type, body as received.
    Other {
        /// option-code.
        code: u16,
        /// option-data.
        data: Vec<u8>,
    },
}

impl DhcpOption {
    /// A STATUS_CODE option with a UTF-8 message.
    pub fn status_code(code: u16, message: &str) -> DhcpOption {
        DhcpOption::StatusCode {
            code,
            message: message.as_bytes().to_vec(),
        }
    }

    /// option-code.
    pub fn code(&self) -> u16 {
        match self {
            DhcpOption::ClientId(_) => OPTION_CLIENTID,
            DhcpOption::ServerId(_) => OPTION_SERVERID,
            DhcpOption::IaNa { .. } => OPTION_IA_NA,
            DhcpOption::IaTa { .. } => OPTION_IA_TA,
            DhcpOption::IaAddr { .. } => OPTION_IAADDR,
            DhcpOption::Oro(_) => OPTION_ORO,
            DhcpOption::RelayMsg(_) => OPTION_RELAY_MSG,
            DhcpOption::StatusCode { .. } => OPTION_STATUS_CODE,
            DhcpOption::InterfaceId(_) => OPTION_INTERFACE_ID,
            DhcpOption::IaPd { .. } => OPTION_IA_PD,
            DhcpOption::IaPrefix { .. } => OPTION_IAPREFIX,
            DhcpOption::RemoteId { .. } => OPTION_REMOTE_ID,
            DhcpOption::LqQuery { .. } => OPTION_LQ_QUERY,
            DhcpOption::ClientData(_) => OPTION_CLIENT_DATA,
            DhcpOption::CltTime(_) => OPTION_CLT_TIME,
            DhcpOption::LqRelayData { .. } => OPTION_LQ_RELAY_DATA,
            DhcpOption::LqClientLink(_) => OPTION_LQ_CLIENT_LINK,
            DhcpOption::RelayId(_) => OPTION_RELAY_ID,
            DhcpOption::LqBaseTime(_) => OPTION_LQ_BASE_TIME,
            DhcpOption::LqStartTime(_) => OPTION_LQ_START_TIME,
            DhcpOption::LqEndTime(_) => OPTION_LQ_END_TIME,
            DhcpOption::Other { code, .. } => *code,
        }
    }

    /// The encapsulated options of IA_NA, IA_TA, IAADDR, IA_PD, IAPREFIX, LQ_QUERY and
    /// CLIENT_DATA; `None` for every other option.
    pub fn encapsulated(&self) -> Option<&[DhcpOption]> {
        match self {
            DhcpOption::IaNa { options, .. }
            | DhcpOption::IaTa { options, .. }
            | DhcpOption::IaAddr { options, .. }
            | DhcpOption::IaPd { options, .. }
            | DhcpOption::IaPrefix { options, .. }
            | DhcpOption::LqQuery { options, .. }
            | DhcpOption::ClientData(options) => Some(options),
            _ => None,
        }
    }

    /// Parses one option found by [`OptionIter`], as a top-level option.
    pub fn parse(raw: RawOption<'_>) -> Result<DhcpOption> {
        Self::parse_at(raw, 0)
    }

    /// Parses `raw` whose enclosing options area sits at nesting level `depth`.
    pub(crate) fn parse_at(raw: RawOption<'_>, depth: usize) -> Result<DhcpOption> {
        let inner = depth.saturating_add(1);
        let mut r = Reader::new(raw.data);
        let option = match raw.code {
            OPTION_CLIENTID => DhcpOption::ClientId(Duid::parse(raw.data)?),
            OPTION_SERVERID => DhcpOption::ServerId(Duid::parse(raw.data)?),
            OPTION_RELAY_ID => DhcpOption::RelayId(Duid::parse(raw.data)?),
            OPTION_IA_NA | OPTION_IA_PD => {
                let (iaid, t1, t2) = (r.u32()?, r.u32()?, r.u32()?);
                let options = parse_options_at(r.rest(), inner)?;
                if raw.code == OPTION_IA_NA {
                    DhcpOption::IaNa {
                        iaid,
                        t1,
                        t2,
                        options,
                    }
                } else {
                    DhcpOption::IaPd {
                        iaid,
                        t1,
                        t2,
                        options,
                    }
                }
            }
            OPTION_IA_TA => DhcpOption::IaTa {
                iaid: r.u32()?,
                options: parse_options_at(r.rest(), inner)?,
            },
            OPTION_IAADDR => DhcpOption::IaAddr {
                address: r.ipv6()?,
                preferred_lifetime: r.u32()?,
                valid_lifetime: r.u32()?,
                options: parse_options_at(r.rest(), inner)?,
            },
            OPTION_IAPREFIX => DhcpOption::IaPrefix {
                preferred_lifetime: r.u32()?,
                valid_lifetime: r.u32()?,
                prefix_length: r.u8()?,
                prefix: r.ipv6()?,
                options: parse_options_at(r.rest(), inner)?,
            },
            OPTION_ORO => {
                let pairs = raw.data.chunks_exact(2);
                if !pairs.remainder().is_empty() {
                    return Err(Error::BadLength);
                }
                DhcpOption::Oro(pairs.map(|p| u16::from_be_bytes([p[0], p[1]])).collect())
            }
            OPTION_RELAY_MSG => DhcpOption::RelayMsg(Box::new(Repr::parse_at(raw.data, inner)?)),
            OPTION_STATUS_CODE => DhcpOption::StatusCode {
                code: r.u16()?,
                message: r.rest().to_vec(),
            },
            OPTION_INTERFACE_ID => DhcpOption::InterfaceId(raw.data.to_vec()),
            OPTION_REMOTE_ID => DhcpOption::RemoteId {
                enterprise_number: r.u32()?,
                remote_id: r.rest().to_vec(),
            },
            OPTION_LQ_QUERY => DhcpOption::LqQuery {
                query_type: QueryType::from(r.u8()?),
                link_address: r.ipv6()?,
                options: parse_options_at(r.rest(), inner)?,
            },
            OPTION_CLIENT_DATA => DhcpOption::ClientData(parse_options_at(raw.data, inner)?),
            OPTION_LQ_RELAY_DATA => DhcpOption::LqRelayData {
                peer_address: r.ipv6()?,
                relay_message: Box::new(Repr::parse_at(r.rest(), inner)?),
            },
            OPTION_LQ_CLIENT_LINK => {
                let links = raw.data.chunks_exact(16);
                if !links.remainder().is_empty() {
                    return Err(Error::BadLength);
                }
                let mut out = Vec::with_capacity(links.len());
                for link in links {
                    out.push(Reader::new(link).ipv6()?);
                }
                DhcpOption::LqClientLink(out)
            }
            OPTION_CLT_TIME | OPTION_LQ_BASE_TIME | OPTION_LQ_START_TIME | OPTION_LQ_END_TIME => {
                let value = r.u32()?;
                r.finish()?;
                match raw.code {
                    OPTION_CLT_TIME => DhcpOption::CltTime(value),
                    OPTION_LQ_BASE_TIME => DhcpOption::LqBaseTime(value),
                    OPTION_LQ_START_TIME => DhcpOption::LqStartTime(value),
                    _ => DhcpOption::LqEndTime(value),
                }
            }
            code => DhcpOption::Other {
                code,
                data: raw.data.to_vec(),
            },
        };
        Ok(option)
    }

    /// Octets on the wire, option header included.
    pub fn buffer_len(&self) -> usize {
        OPTION_HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        match self {
            DhcpOption::ClientId(d) | DhcpOption::ServerId(d) | DhcpOption::RelayId(d) => {
                d.buffer_len()
            }
            DhcpOption::IaNa { options, .. } | DhcpOption::IaPd { options, .. } => {
                12 + options_len(options)
            }
            DhcpOption::IaTa { options, .. } => 4 + options_len(options),
            DhcpOption::IaAddr { options, .. } => 24 + options_len(options),
            DhcpOption::IaPrefix { options, .. } => 25 + options_len(options),
            DhcpOption::Oro(codes) => 2 * codes.len(),
            DhcpOption::RelayMsg(repr) => repr.buffer_len(),
            DhcpOption::StatusCode { message, .. } => 2 + message.len(),
            DhcpOption::InterfaceId(data) | DhcpOption::Other { data, .. } => data.len(),
            DhcpOption::RemoteId { remote_id, .. } => 4 + remote_id.len(),
            DhcpOption::LqQuery { options, .. } => 17 + options_len(options),
            DhcpOption::ClientData(options) => options_len(options),
            DhcpOption::LqRelayData { relay_message, .. } => 16 + relay_message.buffer_len(),
            DhcpOption::LqClientLink(links) => 16 * links.len(),
            DhcpOption::CltTime(_)
            | DhcpOption::LqBaseTime(_)
            | DhcpOption::LqStartTime(_)
            | DhcpOption::LqEndTime(_) => 4,
        }
    }

    /// Writes the option; returns the octets written. [`Error::BufferTooSmall`] if `buf` is
    /// short, [`Error::TooLarge`] if a body exceeds 65535 octets, [`Error::BadLength`] for a DUID
    /// outside RFC 8415 §11.1 bounds, [`Error::BadValue`] for an inconsistent nested message.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.len())
    }

    /// Appends the option to `w`, with [`DhcpOption::emit`]'s errors.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        w.option(self.code(), |w| self.write_body(w))
    }

    fn write_body(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            DhcpOption::ClientId(d) | DhcpOption::ServerId(d) | DhcpOption::RelayId(d) => {
                d.write(w)
            }
            DhcpOption::IaNa {
                iaid,
                t1,
                t2,
                options,
            }
            | DhcpOption::IaPd {
                iaid,
                t1,
                t2,
                options,
            } => {
                w.u32(*iaid)?;
                w.u32(*t1)?;
                w.u32(*t2)?;
                write_options(w, options)
            }
            DhcpOption::IaTa { iaid, options } => {
                w.u32(*iaid)?;
                write_options(w, options)
            }
            DhcpOption::IaAddr {
                address,
                preferred_lifetime,
                valid_lifetime,
                options,
            } => {
                w.ipv6(address)?;
                w.u32(*preferred_lifetime)?;
                w.u32(*valid_lifetime)?;
                write_options(w, options)
            }
            DhcpOption::IaPrefix {
                preferred_lifetime,
                valid_lifetime,
                prefix_length,
                prefix,
                options,
            } => {
                w.u32(*preferred_lifetime)?;
                w.u32(*valid_lifetime)?;
                w.u8(*prefix_length)?;
                w.ipv6(prefix)?;
                write_options(w, options)
            }
            DhcpOption::Oro(codes) => codes.iter().try_for_each(|c| w.u16(*c)),
            DhcpOption::RelayMsg(repr) => repr.write(w),
            DhcpOption::StatusCode { code, message } => {
                w.u16(*code)?;
                w.bytes(message)
            }
            DhcpOption::InterfaceId(data) | DhcpOption::Other { data, .. } => w.bytes(data),
            DhcpOption::RemoteId {
                enterprise_number,
                remote_id,
            } => {
                w.u32(*enterprise_number)?;
                w.bytes(remote_id)
            }
            DhcpOption::LqQuery {
                query_type,
                link_address,
                options,
            } => {
                w.u8((*query_type).into())?;
                w.ipv6(link_address)?;
                write_options(w, options)
            }
            DhcpOption::ClientData(options) => write_options(w, options),
            DhcpOption::LqRelayData {
                peer_address,
                relay_message,
            } => {
                w.ipv6(peer_address)?;
                relay_message.write(w)
            }
            DhcpOption::LqClientLink(links) => links.iter().try_for_each(|a| w.ipv6(a)),
            DhcpOption::CltTime(v)
            | DhcpOption::LqBaseTime(v)
            | DhcpOption::LqStartTime(v)
            | DhcpOption::LqEndTime(v) => w.u32(*v),
        }
    }
}

/// Parses every option of an options area as top-level options.
pub fn parse_options(area: &[u8]) -> Result<Vec<DhcpOption>> {
    parse_options_at(area, 0)
}

/// Parses the options of an area at nesting level `depth`; [`Error::TooDeep`] beyond
/// [`MAX_DEPTH`]. Allocation is bounded by the input: every option costs at least 4 octets.
pub(crate) fn parse_options_at(area: &[u8], depth: usize) -> Result<Vec<DhcpOption>> {
    if depth > MAX_DEPTH {
        return Err(Error::TooDeep);
    }
    OptionIter::new(area)
        .map(|raw| DhcpOption::parse_at(raw?, depth))
        .collect()
}

/// Octets the options take on the wire.
pub(crate) fn options_len(options: &[DhcpOption]) -> usize {
    options.iter().map(DhcpOption::buffer_len).sum()
}

pub(crate) fn write_options(w: &mut Writer<'_>, options: &[DhcpOption]) -> Result<()> {
    options.iter().try_for_each(|o| o.write(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(option: DhcpOption) {
        let mut buf = vec![0u8; option.buffer_len()];
        assert_eq!(option.emit(&mut buf), Ok(buf.len()));
        let raw = OptionIter::new(&buf).next().unwrap().unwrap();
        assert_eq!(DhcpOption::parse(raw), Ok(option));
    }

    fn parse_one(bytes: &[u8]) -> Result<DhcpOption> {
        DhcpOption::parse(OptionIter::new(bytes).next().unwrap()?)
    }

    #[test]
    fn ia_na_with_iaaddr_and_status_from_rfc_layout() {
        #[rustfmt::skip]
        let bytes = [
            0, 3, 0, 51,              // OPTION_IA_NA, len 12 + 28 + 11
            0, 0, 0, 7,               // IAID
            0, 0, 0x0e, 0x10,         // T1 3600
            0, 0, 0x15, 0x18,         // T2 5400
            0, 5, 0, 24,              // OPTION_IAADDR, len 24
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42,
            0, 0, 0x1c, 0x20,         // preferred 7200
            0, 0, 0x2a, 0x30,         // valid 10800
            0, 13, 0, 7,              // OPTION_STATUS_CODE, len 7
            0, 0, b'o', b'k', b'a', b'y', b'!',
        ];
        let option = parse_one(&bytes).unwrap();
        assert_eq!(
            option,
            DhcpOption::IaNa {
                iaid: 7,
                t1: 3600,
                t2: 5400,
                options: vec![
                    DhcpOption::IaAddr {
                        address: "2001:db8::42".parse().unwrap(),
                        preferred_lifetime: 7200,
                        valid_lifetime: 10800,
                        options: vec![],
                    },
                    DhcpOption::status_code(0, "okay!"),
                ],
            }
        );
        let mut out = vec![0; option.buffer_len()];
        option.emit(&mut out).unwrap();
        assert_eq!(out, bytes);
    }

    #[test]
    fn typed_roundtrips() {
        roundtrip(DhcpOption::IaPd {
            iaid: 1,
            t1: 2,
            t2: 3,
            options: vec![DhcpOption::IaPrefix {
                preferred_lifetime: 4,
                valid_lifetime: 5,
                prefix_length: 56,
                prefix: "2001:db8:100::".parse().unwrap(),
                options: vec![],
            }],
        });
        roundtrip(DhcpOption::IaTa {
            iaid: 9,
            options: vec![],
        });
        roundtrip(DhcpOption::Oro(vec![44, 45, 47]));
        roundtrip(DhcpOption::StatusCode {
            code: 8,
            message: vec![0xff, 0xfe, 0x00],
        });
        roundtrip(DhcpOption::InterfaceId(b"eth0/1".to_vec()));
        roundtrip(DhcpOption::RemoteId {
            enterprise_number: 4491,
            remote_id: vec![1, 2, 3],
        });
        roundtrip(DhcpOption::RelayId(Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![2; 6],
        }));
        roundtrip(DhcpOption::LqClientLink(vec![
            "2001:db8:1::1".parse().unwrap(),
            "2001:db8:2::1".parse().unwrap(),
        ]));
        roundtrip(DhcpOption::LqBaseTime(1));
        roundtrip(DhcpOption::LqStartTime(2));
        roundtrip(DhcpOption::LqEndTime(3));
        roundtrip(DhcpOption::CltTime(600));
        roundtrip(DhcpOption::Other {
            code: 8,
            data: vec![0, 0],
        });
    }

    #[test]
    fn bad_lengths() {
        // ORO with an odd length.
        assert_eq!(parse_one(&[0, 6, 0, 3, 0, 1, 0]), Err(Error::BadLength));
        // CLT_TIME of 3 and of 5 octets.
        assert_eq!(parse_one(&[0, 46, 0, 3, 0, 0, 1]), Err(Error::BadLength));
        assert_eq!(
            parse_one(&[0, 46, 0, 5, 0, 0, 0, 1, 0]),
            Err(Error::BadLength)
        );
        // LQ_CLIENT_LINK not a multiple of 16.
        assert_eq!(parse_one(&[0, 48, 0, 1, 0]), Err(Error::BadLength));
        // IA_NA shorter than its fixed fields.
        assert_eq!(parse_one(&[0, 3, 0, 4, 0, 0, 0, 1]), Err(Error::BadLength));
        // LQ_QUERY shorter than query-type + link-address.
        assert_eq!(parse_one(&[0, 44, 0, 1, 1]), Err(Error::BadLength));
        // Empty CLIENTID.
        assert_eq!(parse_one(&[0, 1, 0, 0]), Err(Error::BadLength));
        // STATUS_CODE without a code.
        assert_eq!(parse_one(&[0, 13, 0, 1, 0]), Err(Error::BadLength));
        // An encapsulated option running past its IA_TA.
        assert_eq!(
            parse_one(&[0, 4, 0, 8, 0, 0, 0, 1, 0, 13, 0, 9]),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn nested_ia_depth_is_limited() {
        // IA_TA inside IA_TA inside ... one level deeper than allowed.
        let mut body: Vec<u8> = Vec::new();
        for _ in 0..=MAX_DEPTH + 1 {
            let mut outer = vec![0, 4];
            outer.extend(((4 + body.len()) as u16).to_be_bytes());
            outer.extend([0, 0, 0, 1]);
            outer.extend(&body);
            body = outer;
        }
        assert_eq!(parse_options(&body), Err(Error::TooDeep));
    }
}
