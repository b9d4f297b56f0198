//! A leasequery reply read into a typed [`LeaseInfo`] (RFC 4388 §6.4.2, §6.5).

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{Duration, SystemTime};

use lessor_wire::v4::code::{self, relay};
use lessor_wire::v4::{MessageType, OptionIndex, Packet, BOOTREPLY};

/// What the server said about the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeaseState {
    /// DHCPLEASEACTIVE (13): an active lease.
    Active,
    /// DHCPLEASEUNASSIGNED (11): the server manages the address (or knows the identifier) but
    /// has no active lease for it.
    Unassigned,
    /// DHCPLEASEUNKNOWN (12): the server has no definitive information.
    Unknown,
    /// DHCPACK (5) from a draft-ietf-dhc-leasequery-00 server: the server manages the address
    /// (a lease time means it is leased).
    LegacyAck,
    /// DHCPNAK (6) from a draft-00 server: it does not manage the address.
    LegacyNak,
}

impl LeaseState {
    /// "active", "unassigned", "unknown", "legacy-ack", "legacy-nak".
    pub fn as_str(self) -> &'static str {
        match self {
            LeaseState::Active => "active",
            LeaseState::Unassigned => "unassigned",
            LeaseState::Unknown => "unknown",
            LeaseState::LegacyAck => "legacy-ack",
            LeaseState::LegacyNak => "legacy-nak",
        }
    }

    /// Whether the answer names a lease the client holds now (ACTIVE, or a legacy ACK with a
    /// lease time: see [`LeaseInfo::is_found`]).
    fn found(self) -> bool {
        matches!(self, LeaseState::Active | LeaseState::LegacyAck)
    }
}

impl fmt::Display for LeaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Option 82 of a reply: the raw octets (as the server saved them from the client's most recent
/// DHCPREQUEST) and the sub-options decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RelayInfo {
    /// The option value, byte for byte.
    pub raw: Vec<u8>,
    /// Agent circuit-id (sub-option 1).
    pub circuit_id: Option<Vec<u8>>,
    /// Agent remote-id (sub-option 2).
    pub remote_id: Option<Vec<u8>>,
    /// Relay-id (sub-option 12, RFC 6925).
    pub relay_id: Option<Vec<u8>>,
    /// Every other sub-option (code, value), in wire order.
    pub others: Vec<(u8, Vec<u8>)>,
}

impl RelayInfo {
    /// Decodes an option 82 value; sub-options that run past the end are an error.
    pub fn decode(raw: &[u8]) -> Result<RelayInfo, ReplyError> {
        let mut info = RelayInfo::default();
        info.decode_into(raw)?;
        Ok(info)
    }

    /// [`RelayInfo::decode`] into `self`, reusing its buffers (a bulk stream decodes one
    /// binding after another into the same value). On error `self` holds part of the value.
    pub fn decode_into(&mut self, raw: &[u8]) -> Result<(), ReplyError> {
        set(&mut self.raw, raw);
        let mut seen = [false; 3];
        self.others.clear();
        for sub in lessor_wire::v4::SubOptions::new(raw) {
            let sub = sub.map_err(ReplyError::Malformed)?;
            let (i, slot) = match sub.code {
                relay::AGENT_CIRCUIT_ID => (0, &mut self.circuit_id),
                relay::AGENT_REMOTE_ID => (1, &mut self.remote_id),
                relay::RELAY_ID => (2, &mut self.relay_id),
                code => {
                    self.others.push((code, sub.data.to_vec()));
                    continue;
                }
            };
            if seen[i] {
                self.others.push((sub.code, sub.data.to_vec()));
            } else {
                seen[i] = true;
                set_some(slot, sub.data);
            }
        }
        for (seen, slot) in seen.into_iter().zip([
            &mut self.circuit_id,
            &mut self.remote_id,
            &mut self.relay_id,
        ]) {
            if !seen {
                *slot = None;
            }
        }
        Ok(())
    }
}

/// Overwrites `dst` with `src`, keeping its allocation.
fn set(dst: &mut Vec<u8>, src: &[u8]) {
    dst.clear();
    dst.extend_from_slice(src);
}

/// `Some(src)` in `slot`, reusing the vector already there.
fn set_some(slot: &mut Option<Vec<u8>>, src: &[u8]) {
    match slot {
        Some(v) => set(v, src),
        None => *slot = Some(src.to_vec()),
    }
}

/// `src` in `slot`, reusing the vector already there.
fn set_opt(slot: &mut Option<Vec<u8>>, src: Option<&[u8]>) {
    match src {
        Some(src) => set_some(slot, src),
        None => *slot = None,
    }
}

/// A reply that is not a leasequery answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// Not a well-formed DHCPv4 message, or an option of the wrong length.
    Malformed(lessor_wire::Error),
    /// op is not BOOTREPLY.
    NotReply,
    /// No message type, or one that does not answer a leasequery.
    NotLeasequeryReply(Option<MessageType>),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Malformed(e) => write!(f, "malformed reply: {e}"),
            ReplyError::NotReply => f.write_str("not a BOOTREPLY"),
            ReplyError::NotLeasequeryReply(None) => f.write_str("reply without a message type"),
            ReplyError::NotLeasequeryReply(Some(t)) => {
                write!(
                    f,
                    "message type {} does not answer a leasequery",
                    u8::from(*t)
                )
            }
        }
    }
}

impl std::error::Error for ReplyError {}

impl From<lessor_wire::Error> for ReplyError {
    fn from(e: lessor_wire::Error) -> Self {
        ReplyError::Malformed(e)
    }
}

/// A leasequery answer, typed (RFC 4388 §6.4.2). Times are as the server sent them: seconds
/// relative to when the reply was sent; [`LeaseInfo::cltt`] and friends make them absolute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseInfo {
    /// The answer's kind.
    pub state: LeaseState,
    /// The transaction id (the query's).
    pub xid: u32,
    /// ciaddr: the lease's address (ACTIVE), the queried address (UNASSIGNED, and UNKNOWN for a
    /// query by IP per erratum EID 3518); `None` when 0.0.0.0.
    pub address: Option<Ipv4Addr>,
    /// Hardware type of the client (ACTIVE) or of the query.
    pub htype: u8,
    /// Hardware address (hlen octets of chaddr); empty when hlen is 0.
    pub chaddr: Vec<u8>,
    /// Client identifier (61).
    pub client_id: Option<Vec<u8>>,
    /// Seconds until the lease ends (51).
    pub lease_remaining: Option<u32>,
    /// Seconds until T1 (58).
    pub t1_remaining: Option<u32>,
    /// Seconds until T2 (59).
    pub t2_remaining: Option<u32>,
    /// Seconds since the client's last transaction (91).
    pub cltt_ago: Option<u32>,
    /// Relay agent information (82), decoded.
    pub relay_info: Option<RelayInfo>,
    /// The client's (or identifier's) other active addresses (92).
    pub associated: Vec<Ipv4Addr>,
    /// Server identifier (54).
    pub server_id: Option<Ipv4Addr>,
    /// Vendor class identifier (60).
    pub vendor_class: Option<Vec<u8>>,
    /// Host name (12).
    pub hostname: Option<Vec<u8>>,
}

impl Default for LeaseInfo {
    /// An empty answer (DHCPLEASEUNKNOWN, no field): a buffer for decoding into.
    fn default() -> LeaseInfo {
        LeaseInfo {
            state: LeaseState::Unknown,
            xid: 0,
            address: None,
            htype: 0,
            chaddr: Vec::new(),
            client_id: None,
            lease_remaining: None,
            t1_remaining: None,
            t2_remaining: None,
            cltt_ago: None,
            relay_info: None,
            associated: Vec::new(),
            server_id: None,
            vendor_class: None,
            hostname: None,
        }
    }
}

impl LeaseInfo {
    /// Reads a reply. Only op BOOTREPLY with message type 11, 12, 13 (or 5, 6 from legacy
    /// servers) is an answer.
    pub fn parse(bytes: &[u8]) -> Result<LeaseInfo, ReplyError> {
        Self::parse_with(bytes, None)
    }

    /// Like [`LeaseInfo::parse`], and a message of type `data_type` (the bulk draft's
    /// DHCPLEASEDATA, whose value is configurable) is read as a DHCPLEASEACTIVE.
    pub(crate) fn parse_with(bytes: &[u8], data_type: Option<u8>) -> Result<LeaseInfo, ReplyError> {
        let p = Packet::new_checked(bytes)?;
        let mut info = LeaseInfo::default();
        info.read(&p, &p.index()?, data_type)?;
        Ok(info)
    }

    /// Reads the reply `p` (whose options `index` indexes) into `self`, reusing its buffers: a
    /// bulk stream decodes one binding after another into the same value without allocating.
    /// On error `self` holds part of the answer.
    pub(crate) fn read(
        &mut self,
        p: &Packet<&[u8]>,
        index: &OptionIndex<'_>,
        data_type: Option<u8>,
    ) -> Result<(), ReplyError> {
        if p.op() != BOOTREPLY {
            return Err(ReplyError::NotReply);
        }
        let message_type = index.message_type()?;
        self.state = match message_type {
            Some(t) if Some(u8::from(t)) == data_type => LeaseState::Active,
            Some(MessageType::LeaseActive) => LeaseState::Active,
            Some(MessageType::LeaseUnassigned) => LeaseState::Unassigned,
            Some(MessageType::LeaseUnknown) => LeaseState::Unknown,
            Some(MessageType::Ack) => LeaseState::LegacyAck,
            Some(MessageType::Nak) => LeaseState::LegacyNak,
            other => return Err(ReplyError::NotLeasequeryReply(other)),
        };
        let ciaddr = p.ciaddr();
        self.xid = p.xid();
        self.address = (!ciaddr.is_unspecified()).then_some(ciaddr);
        self.htype = p.htype();
        set(&mut self.chaddr, p.client_hw_addr());
        set_opt(&mut self.client_id, index.client_identifier()?.as_deref());
        self.lease_remaining = index.lease_time()?;
        self.t1_remaining = index.renewal_time()?;
        self.t2_remaining = index.rebinding_time()?;
        self.cltt_ago = index.client_last_transaction_time()?;
        match index.option(code::RELAY_AGENT_INFORMATION)? {
            Some(raw) => self
                .relay_info
                .get_or_insert_with(RelayInfo::default)
                .decode_into(&raw)?,
            None => self.relay_info = None,
        }
        self.associated.clear();
        if let Some(ips) = index.associated_ip()? {
            self.associated.extend(ips);
        }
        self.server_id = index.server_identifier()?;
        set_opt(&mut self.vendor_class, index.vendor_class_id()?.as_deref());
        set_opt(&mut self.hostname, index.hostname()?.as_deref());
        Ok(())
    }

    /// Whether the answer names a lease held now: ACTIVE, or a legacy DHCPACK with a lease time
    /// (draft-00 §6.4: no lease time means no active lease).
    pub fn is_found(&self) -> bool {
        self.state.found() && (self.state == LeaseState::Active || self.lease_remaining.is_some())
    }

    /// The client-last-transaction-time as a wall-clock time, given when the reply arrived.
    pub fn cltt(&self, received: SystemTime) -> Option<SystemTime> {
        received.checked_sub(Duration::from_secs(u64::from(self.cltt_ago?)))
    }

    /// When the lease ends, given when the reply arrived.
    pub fn lease_end(&self, received: SystemTime) -> Option<SystemTime> {
        received.checked_add(Duration::from_secs(u64::from(self.lease_remaining?)))
    }

    /// The relay's circuit-id, when option 82 has one.
    pub fn circuit_id(&self) -> Option<&[u8]> {
        self.relay_info.as_ref()?.circuit_id.as_deref()
    }

    /// The relay's remote-id, when option 82 has one.
    pub fn remote_id(&self) -> Option<&[u8]> {
        self.relay_info.as_ref()?.remote_id.as_deref()
    }

    /// The relay-id, when option 82 has one.
    pub fn relay_id(&self) -> Option<&[u8]> {
        self.relay_info.as_ref()?.relay_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v4::{DhcpOption, RelayAgentInformation, Repr};

    fn active() -> Repr {
        let mut r = Repr {
            op: BOOTREPLY,
            xid: 42,
            ciaddr: Ipv4Addr::new(198, 51, 100, 10),
            giaddr: Ipv4Addr::new(192, 0, 2, 1),
            ..Repr::default()
        };
        r.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        r.options = vec![
            DhcpOption::MessageType(MessageType::LeaseActive),
            DhcpOption::ServerIdentifier(Ipv4Addr::new(192, 0, 2, 53)),
            DhcpOption::IpAddressLeaseTime(3000),
            DhcpOption::RenewalTime(1200),
            DhcpOption::RebindingTime(2500),
            DhcpOption::ClientLastTransactionTime(600),
            DhcpOption::AssociatedIp(vec![Ipv4Addr::new(198, 51, 100, 11)]),
            DhcpOption::ClientIdentifier(vec![1, 2, 0, 0, 0, 0, 1]),
            DhcpOption::VendorClassIdentifier(b"docsis3.0".to_vec()),
            DhcpOption::RelayAgentInformation(
                RelayAgentInformation::from_sub_options([
                    (1, &b"ge-0/0/1"[..]),
                    (2, &[0xaa, 0xbb][..]),
                    (5, &[198, 51, 100, 0][..]),
                    (12, &b"bng-1"[..]),
                ])
                .unwrap(),
            ),
        ];
        r
    }

    #[test]
    fn an_active_reply_reads_into_every_field() {
        let info = LeaseInfo::parse(&active().to_vec()).unwrap();
        assert_eq!(info.state, LeaseState::Active);
        assert!(info.is_found());
        assert_eq!(info.xid, 42);
        assert_eq!(info.address, Some(Ipv4Addr::new(198, 51, 100, 10)));
        assert_eq!((info.htype, &info.chaddr[..]), (1, &[2, 0, 0, 0, 0, 1][..]));
        assert_eq!(info.client_id.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
        assert_eq!(
            (
                info.lease_remaining,
                info.t1_remaining,
                info.t2_remaining,
                info.cltt_ago
            ),
            (Some(3000), Some(1200), Some(2500), Some(600))
        );
        assert_eq!(info.associated, vec![Ipv4Addr::new(198, 51, 100, 11)]);
        assert_eq!(info.server_id, Some(Ipv4Addr::new(192, 0, 2, 53)));
        assert_eq!(info.vendor_class.as_deref(), Some(&b"docsis3.0"[..]));
        assert_eq!(info.circuit_id(), Some(&b"ge-0/0/1"[..]));
        assert_eq!(info.remote_id(), Some(&[0xaa, 0xbb][..]));
        assert_eq!(info.relay_id(), Some(&b"bng-1"[..]));
        let ri = info.relay_info.as_ref().unwrap();
        assert_eq!(ri.others, vec![(5, vec![198, 51, 100, 0])]);
        assert_eq!(ri.raw.len(), 2 + 8 + 2 + 2 + 2 + 4 + 2 + 5);
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(
            info.cltt(at),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(999_400))
        );
        assert_eq!(
            info.lease_end(at),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_003_000))
        );
    }

    #[test]
    fn decoding_into_a_used_value_gives_what_a_fresh_parse_gives() {
        let full = active();
        let mut bare = active();
        bare.options = vec![DhcpOption::MessageType(MessageType::LeaseActive)];
        bare.chaddr = [0; 16];
        let mut twice = active();
        // A second circuit-id goes to `others`; relay-id absent.
        twice.set_option(DhcpOption::RelayAgentInformation(
            RelayAgentInformation::from_sub_options([
                (2, &b"r"[..]),
                (1, &b"c1"[..]),
                (1, &b"c2"[..]),
            ])
            .unwrap(),
        ));
        let mut reused = LeaseInfo::default();
        for repr in [&full, &bare, &twice, &full, &twice, &bare] {
            let bytes = repr.to_vec();
            let p = Packet::new_checked(&bytes[..]).unwrap();
            reused.read(&p, &p.index().unwrap(), None).unwrap();
            assert_eq!(reused, LeaseInfo::parse(&bytes).unwrap());
        }
        let ri = LeaseInfo::parse(&twice.to_vec())
            .unwrap()
            .relay_info
            .unwrap();
        assert_eq!(ri.circuit_id.as_deref(), Some(&b"c1"[..]));
        assert_eq!(ri.others, vec![(1, b"c2".to_vec())]);
        assert_eq!(ri.relay_id, None);
    }

    #[test]
    fn unassigned_unknown_and_legacy() {
        let mut r = active();
        r.options = vec![DhcpOption::MessageType(MessageType::LeaseUnassigned)];
        r.chaddr = [0; 16];
        r.hlen = 0;
        let info = LeaseInfo::parse(&r.to_vec()).unwrap();
        assert_eq!(info.state, LeaseState::Unassigned);
        assert!(!info.is_found());
        assert!(info.chaddr.is_empty() && info.relay_info.is_none() && info.cltt_ago.is_none());
        r.ciaddr = Ipv4Addr::UNSPECIFIED;
        r.options = vec![DhcpOption::MessageType(MessageType::LeaseUnknown)];
        let info = LeaseInfo::parse(&r.to_vec()).unwrap();
        assert_eq!((info.state, info.address), (LeaseState::Unknown, None));
        r.options = vec![DhcpOption::MessageType(MessageType::Ack)];
        let info = LeaseInfo::parse(&r.to_vec()).unwrap();
        assert_eq!(info.state, LeaseState::LegacyAck);
        assert!(
            !info.is_found(),
            "a legacy ACK without lease time is no active lease"
        );
        r.options.push(DhcpOption::IpAddressLeaseTime(5));
        assert!(LeaseInfo::parse(&r.to_vec()).unwrap().is_found());
        r.options = vec![DhcpOption::MessageType(MessageType::Nak)];
        assert_eq!(
            LeaseInfo::parse(&r.to_vec()).unwrap().state,
            LeaseState::LegacyNak
        );
    }

    #[test]
    fn what_is_not_an_answer_is_refused() {
        let mut r = active();
        r.op = 1;
        assert_eq!(LeaseInfo::parse(&r.to_vec()), Err(ReplyError::NotReply));
        let mut r = active();
        r.options[0] = DhcpOption::MessageType(MessageType::Offer);
        assert_eq!(
            LeaseInfo::parse(&r.to_vec()),
            Err(ReplyError::NotLeasequeryReply(Some(MessageType::Offer)))
        );
        r.options.remove(0);
        assert_eq!(
            LeaseInfo::parse(&r.to_vec()),
            Err(ReplyError::NotLeasequeryReply(None))
        );
        assert!(matches!(
            LeaseInfo::parse(&[2, 1]),
            Err(ReplyError::Malformed(_))
        ));
        let mut bytes = active().to_vec();
        let at = bytes.len() - 1;
        bytes.truncate(at - 3); // cut into option 82
        assert!(matches!(
            LeaseInfo::parse(&bytes),
            Err(ReplyError::Malformed(_))
        ));
    }

    #[test]
    fn repeated_sub_options_go_to_others() {
        let info = RelayInfo::decode(&[1, 1, b'a', 1, 1, b'b', 9, 0]).unwrap();
        assert_eq!(info.circuit_id.as_deref(), Some(&b"a"[..]));
        assert_eq!(info.others, vec![(1, b"b".to_vec()), (9, vec![])]);
        assert!(RelayInfo::decode(&[1, 3, 0]).is_err());
    }
}
