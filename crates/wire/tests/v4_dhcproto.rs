//! Differential tests against the `dhcproto` crate (0.15): messages built and encoded by dhcproto
//! are parsed by us and compared field by field, and messages we emit are decoded by dhcproto.
//!
//! Where dhcproto departs from the RFCs (so the comparisons are restricted accordingly):
//! - RFC 3396 says all instances of a code are joined wherever they appear; dhcproto joins only
//!   *adjacent* instances, and for non-adjacent ones the last instance replaces the earlier ones
//!   (options are kept in a map). See `non_adjacent_instances_joined_by_us_not_by_dhcproto`.
//! - Option Overload (52, RFC 2131 §4.1 / RFC 2132 §9.3) is not followed: options in `file` and
//!   `sname` are ignored, and those fields are read as NUL-terminated strings (a 64-octet sname
//!   with no NUL is dropped). Overload is therefore only checked against ourselves.
//! - The magic cookie is not checked (we reject a wrong cookie, RFC 2131 §3).
//! - Options are re-ordered by code on encode (option 82 last), and option 82 sub-options are kept
//!   in a map, so sub-option order and duplicates are lost; RFC 3046 §2.2 wants option 82 echoed
//!   unchanged. Comparisons below are by code, with sub-options in ascending code order.
//! - An option with an empty value (e.g. an empty Parameter Request List) is encoded as nothing
//!   at all, and a message without options gets no end option. Generated values are non-empty.

use std::net::Ipv4Addr;

use dhcproto::v4 as dp;
use dhcproto::{Decodable, Encodable, Encoder};
use lessor_wire::v4::{
    code, DataSource, DhcpOption, DhcpState, MessageType, Packet, RelayAgentInformation, Repr,
    Rfc6926Status, StatusCode,
};
use proptest::collection::vec;
use proptest::prelude::*;

const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x00, 0x53, 0x01];

fn ip(a: u8, b: u8, c: u8, d: u8) -> Ipv4Addr {
    Ipv4Addr::new(a, b, c, d)
}

/// The value dhcproto writes for one option, instances joined.
fn their_value(opt: &dp::DhcpOption) -> Vec<u8> {
    let mut buf = Vec::new();
    opt.encode(&mut Encoder::new(&mut buf)).unwrap();
    let mut out = Vec::new();
    let mut rest = &buf[..];
    while let [_, len, tail @ ..] = rest {
        let len = usize::from(*len);
        out.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
    }
    out
}

/// Every option of `ours` is in `theirs` with the same value, and nothing else is.
fn assert_same_options(ours: &Repr, theirs: &dp::Message) {
    assert_eq!(ours.options.len(), theirs.opts().len(), "option count");
    for opt in &ours.options {
        let code = opt.code();
        let t = theirs
            .opts()
            .get(dp::OptionCode::from(code))
            .unwrap_or_else(|| panic!("dhcproto lacks option {code}"));
        assert_eq!(opt.value_bytes(), their_value(t), "value of option {code}");
    }
}

fn assert_same_header(ours: &Repr, theirs: &dp::Message) {
    assert_eq!(ours.op, u8::from(theirs.opcode()));
    assert_eq!(ours.htype, u8::from(theirs.htype()));
    assert_eq!(ours.hlen, theirs.hlen());
    assert_eq!(ours.hops, theirs.hops());
    assert_eq!(ours.xid, theirs.xid());
    assert_eq!(ours.secs, theirs.secs());
    assert_eq!(ours.flags, u16::from(theirs.flags()));
    assert_eq!(ours.ciaddr, theirs.ciaddr());
    assert_eq!(ours.yiaddr, theirs.yiaddr());
    assert_eq!(ours.siaddr, theirs.siaddr());
    assert_eq!(ours.giaddr, theirs.giaddr());
    assert_eq!(ours.client_hw_addr(), theirs.chaddr());
}

fn relay_82() -> dp::relay::RelayAgentInformation {
    let mut info = dp::relay::RelayAgentInformation::default();
    info.insert(dp::relay::RelayInfo::AgentCircuitId(
        b"ge-0/0/1.100".to_vec(),
    ));
    info.insert(dp::relay::RelayInfo::AgentRemoteId(MAC.to_vec()));
    info.insert(dp::relay::RelayInfo::LinkSelection(ip(198, 51, 100, 0)));
    info.insert(dp::relay::RelayInfo::Unknown(dp::relay::UnknownInfo::new(
        dp::relay::RelayCode::from(12),
        vec![0, 1, 192, 0, 2, 1],
    )));
    info
}

fn discover() -> dp::Message {
    let mut m = dp::Message::new_with_id(
        0x3903_f326,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &MAC,
    );
    m.set_flags(dp::Flags::default().set_broadcast())
        .set_secs(3);
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::Discover));
    o.insert(dp::DhcpOption::ClientIdentifier(
        [&[1u8][..], &MAC[..]].concat(),
    ));
    o.insert(dp::DhcpOption::ParameterRequestList(vec![
        dp::OptionCode::SubnetMask,
        dp::OptionCode::Router,
        dp::OptionCode::DomainNameServer,
        dp::OptionCode::Hostname,
    ]));
    o.insert(dp::DhcpOption::Hostname("cpe-1".into()));
    o.insert(dp::DhcpOption::ClassIdentifier(b"docsis3.0".to_vec()));
    m
}

fn relayed_request() -> dp::Message {
    let mut m = dp::Message::new_with_id(
        7,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        ip(192, 0, 2, 1),
        &MAC,
    );
    m.set_hops(1);
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::Request));
    o.insert(dp::DhcpOption::RequestedIpAddress(ip(198, 51, 100, 20)));
    o.insert(dp::DhcpOption::ServerIdentifier(ip(192, 0, 2, 254)));
    o.insert(dp::DhcpOption::RelayAgentInformation(relay_82()));
    m
}

fn ack() -> dp::Message {
    let mut m = dp::Message::new_with_id(
        7,
        Ipv4Addr::UNSPECIFIED,
        ip(198, 51, 100, 20),
        ip(192, 0, 2, 254),
        ip(192, 0, 2, 1),
        &MAC,
    );
    m.set_opcode(dp::Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::Ack));
    o.insert(dp::DhcpOption::ServerIdentifier(ip(192, 0, 2, 254)));
    o.insert(dp::DhcpOption::AddressLeaseTime(3600));
    o.insert(dp::DhcpOption::Renewal(1800));
    o.insert(dp::DhcpOption::Rebinding(3150));
    o.insert(dp::DhcpOption::SubnetMask(ip(255, 255, 255, 0)));
    o.insert(dp::DhcpOption::Router(vec![ip(198, 51, 100, 1)]));
    o.insert(dp::DhcpOption::DomainNameServer(vec![
        ip(198, 51, 100, 53),
        ip(203, 0, 113, 53),
    ]));
    o.insert(dp::DhcpOption::RelayAgentInformation(relay_82()));
    m
}

fn lease_active() -> dp::Message {
    let mut m = dp::Message::new_with_id(
        99,
        ip(198, 51, 100, 20),
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &MAC,
    );
    m.set_opcode(dp::Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::LeaseActive));
    o.insert(dp::DhcpOption::ServerIdentifier(ip(192, 0, 2, 254)));
    o.insert(dp::DhcpOption::ClientLastTransactionTime(42));
    o.insert(dp::DhcpOption::AssociatedIp(vec![
        ip(198, 51, 100, 21),
        ip(198, 51, 100, 22),
    ]));
    o.insert(dp::DhcpOption::RelayAgentInformation(relay_82()));
    o.insert(dp::DhcpOption::SubnetSelection(ip(198, 51, 100, 0)));
    o.insert(dp::DhcpOption::BulkLeaseQueryStatusCode(
        dp::bulk_query::Code::NotAllowed,
        "not allowed".into(),
    ));
    o.insert(dp::DhcpOption::BulkLeaseQueryBaseTime(1_700_000_000));
    o.insert(dp::DhcpOption::BulkLeasQueryStartTimeOfState(60));
    o.insert(dp::DhcpOption::BulkLeaseQueryQueryStartTime(1_600_000_000));
    o.insert(dp::DhcpOption::BulkLeaseQueryQueryEndTime(1_700_000_000));
    o.insert(dp::DhcpOption::BulkLeaseQueryDhcpState(
        dp::bulk_query::QueryState::Active,
    ));
    o.insert(dp::DhcpOption::BulkLeaseQueryDataSource(
        dp::bulk_query::DataSourceFlags::new(1),
    ));
    m
}

#[test]
fn their_messages_parse_the_same_with_us() {
    for m in [discover(), relayed_request(), ack(), lease_active()] {
        let bytes = m.to_vec().unwrap();
        let ours = Repr::from_bytes(&bytes).unwrap();
        assert_same_header(&ours, &m);
        assert_same_options(&ours, &m);
    }
}

#[test]
fn typed_fields_of_their_discover() {
    let bytes = discover().to_vec().unwrap();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.message_type().unwrap(), Some(MessageType::Discover));
    assert!(p.broadcast());
    assert_eq!(p.secs(), 3);
    assert_eq!(p.client_hw_addr(), &MAC);
    assert_eq!(p.hostname().unwrap().as_deref(), Some(&b"cpe-1"[..]));
    assert_eq!(
        p.vendor_class_id().unwrap().as_deref(),
        Some(&b"docsis3.0"[..])
    );
    assert_eq!(
        p.parameter_request_list().unwrap().as_deref(),
        Some(&[1, 3, 6, 12][..])
    );
    assert_eq!(
        p.client_identifier().unwrap().as_deref(),
        Some(&[1, 2, 0, 0x5e, 0, 0x53, 1][..])
    );
}

#[test]
fn option_82_of_their_request() {
    let m = relayed_request();
    let bytes = m.to_vec().unwrap();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.giaddr(), ip(192, 0, 2, 1));
    assert_eq!(p.hops(), 1);
    assert_eq!(p.requested_ip().unwrap(), Some(ip(198, 51, 100, 20)));
    let rai = p.relay_agent_information().unwrap().unwrap();
    assert_eq!(rai.circuit_id().unwrap(), Some(&b"ge-0/0/1.100"[..]));
    assert_eq!(rai.remote_id().unwrap(), Some(&MAC[..]));
    assert_eq!(rai.link_selection().unwrap(), Some(ip(198, 51, 100, 0)));
    assert_eq!(rai.relay_id().unwrap(), Some(&[0, 1, 192, 0, 2, 1][..]));
    let codes: Vec<u8> = rai.sub_options().map(|s| s.unwrap().code).collect();
    assert_eq!(codes, vec![1, 2, 5, 12]);
    // as_bytes is exactly what dhcproto put on the wire.
    let mut sub = Vec::new();
    relay_82().encode(&mut Encoder::new(&mut sub)).unwrap();
    assert_eq!(rai.as_bytes(), &sub[..]);
}

#[test]
fn leasequery_options_of_their_lease_active() {
    let bytes = lease_active().to_vec().unwrap();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.message_type().unwrap(), Some(MessageType::LeaseActive));
    assert_eq!(p.ciaddr(), ip(198, 51, 100, 20));
    assert_eq!(p.client_last_transaction_time().unwrap(), Some(42));
    let assoc: Vec<_> = p.associated_ip().unwrap().unwrap().collect();
    assert_eq!(assoc, vec![ip(198, 51, 100, 21), ip(198, 51, 100, 22)]);
    assert_eq!(p.subnet_selection().unwrap(), Some(ip(198, 51, 100, 0)));
    let sc = p.status_code().unwrap().unwrap();
    assert_eq!(
        sc.decode_rfc6926().unwrap(),
        (Rfc6926Status::NotAllowed, "not allowed")
    );
    assert_eq!(p.base_time().unwrap(), Some(1_700_000_000));
    assert_eq!(p.start_time_of_state().unwrap(), Some(60));
    assert_eq!(p.query_start_time().unwrap(), Some(1_600_000_000));
    assert_eq!(p.query_end_time().unwrap(), Some(1_700_000_000));
    assert_eq!(p.dhcp_state().unwrap(), Some(DhcpState::Active));
    assert!(p.data_source().unwrap().unwrap().remote());
}

fn our_lease_active() -> Repr {
    let mut r = Repr {
        op: 2,
        xid: 99,
        ciaddr: ip(198, 51, 100, 20),
        giaddr: ip(192, 0, 2, 1),
        ..Repr::default()
    };
    r.chaddr[..6].copy_from_slice(&MAC);
    r.options = vec![
        DhcpOption::MessageType(MessageType::LeaseActive),
        DhcpOption::ServerIdentifier(ip(192, 0, 2, 254)),
        DhcpOption::IpAddressLeaseTime(600),
        DhcpOption::ClientLastTransactionTime(5),
        DhcpOption::AssociatedIp(vec![ip(198, 51, 100, 21)]),
        DhcpOption::ClientIdentifier(vec![1, 2, 3]),
        DhcpOption::RelayAgentInformation(
            RelayAgentInformation::from_sub_options([(1, &b"port-7"[..]), (2, &MAC[..])]).unwrap(),
        ),
        DhcpOption::StatusCode(StatusCode::rfc6926(Rfc6926Status::Success, "ok")),
        DhcpOption::BaseTime(1_700_000_000),
        DhcpOption::DhcpState(DhcpState::Expired),
        DhcpOption::DataSource(DataSource(0)),
        DhcpOption::VendorClassIdentifier(vec![b'v'; 600]),
    ];
    r
}

#[test]
fn our_messages_decode_the_same_with_dhcproto() {
    let r = our_lease_active();
    let bytes = r.to_vec();
    let m = dp::Message::from_bytes(&bytes).unwrap();
    assert_same_header(&r, &m);
    assert_same_options(&r, &m);
    assert_eq!(
        m.opts().get(dp::OptionCode::MessageType),
        Some(&dp::DhcpOption::MessageType(dp::MessageType::LeaseActive))
    );
    // The 600-octet vendor class went out as 255 + 255 + 90 and dhcproto joined it back.
    assert_eq!(
        m.opts().get(dp::OptionCode::ClassIdentifier),
        Some(&dp::DhcpOption::ClassIdentifier(vec![b'v'; 600]))
    );
    match m.opts().get(dp::OptionCode::RelayAgentInformation) {
        Some(dp::DhcpOption::RelayAgentInformation(info)) => {
            assert_eq!(
                info.get(dp::relay::RelayCode::AgentCircuitId),
                Some(&dp::relay::RelayInfo::AgentCircuitId(b"port-7".to_vec()))
            );
        }
        other => panic!("option 82: {other:?}"),
    }
}

#[test]
fn their_long_option_is_joined_by_us() {
    let mut m = discover();
    m.opts_mut()
        .insert(dp::DhcpOption::ClassIdentifier(vec![7; 700]));
    let bytes = m.to_vec().unwrap();
    let p = Packet::new_checked(&bytes[..]).unwrap();
    let instances = p
        .options()
        .filter(|o| o.unwrap().code == code::VENDOR_CLASS_IDENTIFIER)
        .count();
    assert_eq!(instances, 3);
    assert_eq!(
        p.vendor_class_id().unwrap().as_deref(),
        Some(&[7u8; 700][..])
    );
}

#[test]
fn non_adjacent_instances_joined_by_us_not_by_dhcproto() {
    let r = Repr {
        options: vec![DhcpOption::MessageType(MessageType::Discover)],
        ..Repr::default()
    };
    let mut bytes = r.to_vec();
    bytes.pop(); // end
    bytes.extend_from_slice(&[12, 2, b'a', b'b', 60, 1, b'x', 12, 2, b'c', b'd', 255]);
    let ours = Repr::from_bytes(&bytes).unwrap();
    assert_eq!(
        ours.option(code::HOST_NAME),
        Some(&DhcpOption::HostName(b"abcd".to_vec()))
    );
    // RFC 3396 §5 joins all instances; dhcproto keeps only the last one.
    let theirs = dp::Message::from_bytes(&bytes).unwrap();
    assert_eq!(
        theirs.opts().get(dp::OptionCode::Hostname),
        Some(&dp::DhcpOption::Hostname("cd".into()))
    );
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn ascii(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(0x20u8..0x7f, 1..max)
}

/// Options that dhcproto decodes and re-encodes to the same value octets.
fn shared_option() -> impl Strategy<Value = DhcpOption> {
    use DhcpOption as O;
    let relay = (
        vec(any::<u8>(), 0..30),
        vec(any::<u8>(), 0..30),
        proptest::option::of(ipv4()),
        proptest::option::of(vec(any::<u8>(), 0..30)),
    )
        .prop_map(|(circuit, remote, link, relay_id)| {
            let link = link.map(|a| a.octets());
            let mut subs: Vec<(u8, &[u8])> = vec![(1, &circuit), (2, &remote)];
            if let Some(l) = &link {
                subs.push((5, l));
            }
            if let Some(r) = &relay_id {
                subs.push((12, r));
            }
            RelayAgentInformation::from_sub_options(subs).unwrap()
        });
    prop_oneof![
        ipv4().prop_map(O::SubnetMask),
        vec(ipv4(), 1..10).prop_map(O::Router),
        vec(ipv4(), 1..10).prop_map(O::DomainNameServer),
        ascii(300).prop_map(O::HostName),
        ipv4().prop_map(O::RequestedIpAddress),
        any::<u32>().prop_map(O::IpAddressLeaseTime),
        (1u8..=18).prop_map(|v| O::MessageType(MessageType::from(v))),
        ipv4().prop_map(O::ServerIdentifier),
        vec(1u8..255, 1..30).prop_map(O::ParameterRequestList),
        any::<u32>().prop_map(O::RenewalTime),
        any::<u32>().prop_map(O::RebindingTime),
        vec(any::<u8>(), 1..400).prop_map(O::VendorClassIdentifier),
        vec(any::<u8>(), 1..40).prop_map(O::ClientIdentifier),
        relay.prop_map(O::RelayAgentInformation),
        any::<u32>().prop_map(O::ClientLastTransactionTime),
        vec(ipv4(), 1..70).prop_map(O::AssociatedIp),
        ipv4().prop_map(O::SubnetSelection),
        (0u8..5, "[a-z ]{0,40}")
            .prop_map(|(c, t)| O::StatusCode(StatusCode::rfc6926(Rfc6926Status::from(c), &t))),
        any::<u32>().prop_map(O::BaseTime),
        any::<u32>().prop_map(O::StartTimeOfState),
        any::<u32>().prop_map(O::QueryStartTime),
        any::<u32>().prop_map(O::QueryEndTime),
        any::<u8>().prop_map(|v| O::DhcpState(DhcpState::from(v))),
        any::<u8>().prop_map(|v| O::DataSource(DataSource(v))),
    ]
}

fn shared_repr() -> impl Strategy<Value = Repr> {
    (
        (
            1u8..=2,
            any::<u8>(),
            0u8..=16,
            any::<u8>(),
            any::<u32>(),
            any::<u16>(),
            any::<u16>(),
        ),
        (ipv4(), ipv4(), ipv4(), ipv4(), any::<[u8; 16]>()),
        vec(shared_option(), 0..12),
    )
        .prop_map(
            |((op, htype, hlen, hops, xid, secs, flags), (ci, yi, si, gi, chaddr), opts)| {
                let mut seen = [false; 256];
                let options = opts
                    .into_iter()
                    .filter(|o| !std::mem::replace(&mut seen[usize::from(o.code())], true))
                    .collect();
                Repr {
                    op,
                    htype,
                    hlen,
                    hops,
                    xid,
                    secs,
                    flags,
                    ciaddr: ci,
                    yiaddr: yi,
                    siaddr: si,
                    giaddr: gi,
                    chaddr,
                    sname: [0; 64],
                    file: [0; 128],
                    options,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn our_emit_decoded_by_dhcproto(r in shared_repr()) {
        let bytes = r.to_vec();
        let m = dp::Message::from_bytes(&bytes).unwrap();
        assert_same_header(&r, &m);
        assert_same_options(&r, &m);
        // And back: dhcproto's encoding of what it decoded parses to our Repr, up to order.
        let again = Repr::from_bytes(&m.to_vec().unwrap()).unwrap();
        let mut a = again.options.clone();
        let mut b = r.options.clone();
        a.sort_by_key(|o| o.code());
        b.sort_by_key(|o| o.code());
        prop_assert_eq!(a, b);
    }
}
