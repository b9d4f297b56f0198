//! Property tests of the DHCPv4 codec: emit/parse round trips (with and without option
//! overload), RFC 3396 split and join, and no panic on arbitrary input.

use std::net::Ipv4Addr;

use lessor_wire::v4::{
    DataSource, DhcpOption, DhcpState, MessageType, Packet, RelayAgentInformation, Repr, StatusCode,
};
use lessor_wire::Error;
use proptest::collection::vec;
use proptest::prelude::*;

fn ip() -> impl Strategy<Value = Ipv4Addr> {
    any::<[u8; 4]>().prop_map(Ipv4Addr::from)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

/// Codes that decode to `Other`: not typed, not pad/end/overload.
fn other_code() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("untyped option code", |&c| {
        c != 52 && matches!(DhcpOption::decode(c, &[]), Ok(DhcpOption::Other { .. }))
    })
}

fn relay_info() -> impl Strategy<Value = RelayAgentInformation<'static>> {
    vec((any::<u8>(), bytes(40)), 0..6).prop_map(|subs| {
        RelayAgentInformation::from_sub_options(subs.iter().map(|(c, d)| (*c, &d[..])))
            .expect("sub-options are short")
    })
}

/// Any option whose value decodes back to the same typed variant.
fn option() -> impl Strategy<Value = DhcpOption> {
    use DhcpOption as O;
    prop_oneof![
        ip().prop_map(O::SubnetMask),
        vec(ip(), 1..5).prop_map(O::Router),
        vec(ip(), 1..5).prop_map(O::DomainNameServer),
        bytes(300).prop_map(O::HostName),
        ip().prop_map(O::RequestedIpAddress),
        any::<u32>().prop_map(O::IpAddressLeaseTime),
        any::<u8>().prop_map(|v| O::MessageType(MessageType::from(v))),
        ip().prop_map(O::ServerIdentifier),
        bytes(40).prop_map(O::ParameterRequestList),
        any::<u32>().prop_map(O::RenewalTime),
        any::<u32>().prop_map(O::RebindingTime),
        bytes(300).prop_map(O::VendorClassIdentifier),
        bytes(40).prop_map(O::ClientIdentifier),
        relay_info().prop_map(O::RelayAgentInformation),
        any::<u32>().prop_map(O::ClientLastTransactionTime),
        vec(ip(), 1..80).prop_map(O::AssociatedIp),
        ip().prop_map(O::SubnetSelection),
        bytes(50).prop_map(|b| O::StatusCode(StatusCode::new(b))),
        any::<u32>().prop_map(O::BaseTime),
        any::<u32>().prop_map(O::StartTimeOfState),
        any::<u32>().prop_map(O::QueryStartTime),
        any::<u32>().prop_map(O::QueryEndTime),
        any::<u8>().prop_map(|v| O::DhcpState(DhcpState::from(v))),
        any::<u8>().prop_map(|v| O::DataSource(DataSource(v))),
        (other_code(), bytes(600)).prop_map(|(code, data)| O::Other { code, data }),
    ]
}

/// Options with unique codes, in generated order.
fn options(max: usize) -> impl Strategy<Value = Vec<DhcpOption>> {
    vec(option(), 0..max).prop_map(|opts| {
        let mut seen = [false; 256];
        opts.into_iter()
            .filter(|o| !std::mem::replace(&mut seen[usize::from(o.code())], true))
            .collect()
    })
}

fn repr_with(
    names: impl Strategy<Value = (Vec<u8>, Vec<u8>)>,
    max_options: usize,
) -> impl Strategy<Value = Repr> {
    (
        (
            any::<u8>(),
            any::<u8>(),
            0u8..=16,
            any::<u8>(),
            any::<u32>(),
            any::<u16>(),
        ),
        (any::<u16>(), ip(), ip(), ip(), ip(), any::<[u8; 16]>()),
        names,
        options(max_options),
    )
        .prop_map(
            |(
                (op, htype, hlen, hops, xid, secs),
                (flags, ci, yi, si, gi, chaddr),
                (s, f),
                opts,
            )| {
                let mut sname = [0u8; 64];
                let mut file = [0u8; 128];
                sname.copy_from_slice(&s);
                file.copy_from_slice(&f);
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
                    sname,
                    file,
                    options: opts,
                }
            },
        )
}

fn repr() -> impl Strategy<Value = Repr> {
    repr_with((vec(any::<u8>(), 64), vec(any::<u8>(), 128)), 12)
}

fn repr_without_names() -> impl Strategy<Value = Repr> {
    repr_with(Just((vec![0u8; 64], vec![0u8; 128])), 10)
}

/// Exercises every reader of the view; must never panic.
fn read_everything(buf: &[u8]) {
    let Ok(p) = Packet::new_checked(buf) else {
        return;
    };
    let _ = (
        p.op(),
        p.xid(),
        p.ciaddr(),
        p.giaddr(),
        p.client_hw_addr(),
        p.broadcast(),
    );
    for o in p.options() {
        let _ = o;
    }
    let _ = p.overload();
    let _ = p.message_type();
    let _ = p.server_identifier();
    let _ = p.requested_ip();
    let _ = p.lease_time();
    let _ = p.max_message_size();
    let _ = p.parameter_request_list();
    let _ = p.client_identifier();
    if let Ok(Some(rai)) = p.relay_agent_information() {
        let _ = (
            rai.circuit_id(),
            rai.remote_id(),
            rai.link_selection(),
            rai.relay_id(),
        );
        for s in rai.sub_options() {
            let _ = s;
        }
    }
    if let Ok(Some(ips)) = p.associated_ip() {
        let _ = ips.count();
    }
    if let Ok(Some(sc)) = p.status_code() {
        let _ = (sc.decode_rfc6926(), sc.decode_draft());
    }
    let _ = (
        p.dhcp_state(),
        p.data_source(),
        p.base_time(),
        p.subnet_selection(),
    );
}

/// Arbitrary option-area bytes behind a valid header, so the option parsers get exercised.
fn framed(body: &[u8], overload_names: bool) -> Vec<u8> {
    let mut b = vec![0u8; 240];
    b[2] = 6;
    b[236..240].copy_from_slice(&[99, 130, 83, 99]);
    if overload_names {
        // Let the same random bytes also fill sname and file.
        for (i, x) in body.iter().take(192).enumerate() {
            b[44 + i] = *x;
        }
        b.extend_from_slice(&[52, 1, 3]);
    }
    b.extend_from_slice(body);
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn emit_then_parse_gives_back_repr(r in repr()) {
        let bytes = r.to_vec();
        prop_assert_eq!(bytes.len(), r.buffer_len());
        let mut exact = vec![0u8; r.buffer_len()];
        prop_assert_eq!(r.emit(&mut exact), Ok(bytes.len()));
        prop_assert_eq!(&exact, &bytes);
        let mut short = vec![0u8; r.buffer_len() - 1];
        prop_assert_eq!(r.emit(&mut short), Err(Error::BufferTooSmall));
        prop_assert_eq!(Repr::from_bytes(&bytes), Ok(r));
    }

    #[test]
    fn overloaded_emit_then_parse_gives_back_repr(r in repr_without_names(), cut in 0usize..300) {
        let plain = r.buffer_len();
        let max = plain.saturating_sub(cut).max(240);
        match r.to_vec_with_max(max) {
            Ok(bytes) => {
                prop_assert!(bytes.len() <= max);
                let p = Packet::new_checked(&bytes[..]).unwrap();
                if plain > max {
                    prop_assert!(p.overload().unwrap() != 0);
                }
                prop_assert_eq!(Repr::from_bytes(&bytes), Ok(r));
            }
            Err(e) => {
                prop_assert_eq!(e, Error::TooLarge);
                // Only when even options field + file + sname could not hold it.
                prop_assert!(plain > max);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(buf in vec(any::<u8>(), 0..700)) {
        let _ = Repr::from_bytes(&buf);
        read_everything(&buf);
    }

    #[test]
    fn arbitrary_options_never_panic(body in vec(any::<u8>(), 0..600), overload in any::<bool>()) {
        let buf = framed(&body, overload);
        read_everything(&buf);
        if let Ok(r) = Repr::from_bytes(&buf) {
            // What parses re-emits to something that parses to the same Repr.
            prop_assert_eq!(Repr::from_bytes(&r.to_vec()), Ok(r));
        }
    }

    #[test]
    fn long_options_split_and_rejoined(code in other_code(), data in vec(any::<u8>(), 256..2000)) {
        let r = Repr {
            options: vec![DhcpOption::Other { code, data: data.clone() }],
            ..Repr::default()
        };
        let bytes = r.to_vec();
        let p = Packet::new_checked(&bytes[..]).unwrap();
        let instances: Vec<_> = p.options().map(|o| o.unwrap()).collect();
        prop_assert_eq!(instances.len(), data.len().div_ceil(255));
        for (i, inst) in instances.iter().enumerate() {
            prop_assert_eq!(inst.code, code);
            let expect = if i + 1 < instances.len() { 255 } else { data.len() - 255 * i };
            prop_assert_eq!(inst.data.len(), expect);
        }
        let joined = p.option(code).unwrap();
        prop_assert_eq!(joined.as_deref(), Some(&data[..]));
    }

    #[test]
    fn view_keeps_duplicates_in_wire_order(
        raw in vec((1u8..255, vec(any::<u8>(), 0..20)), 0..30)
    ) {
        let mut body = Vec::new();
        for (code, data) in &raw {
            body.push(*code);
            body.push(data.len() as u8);
            body.extend_from_slice(data);
        }
        body.push(255);
        let buf = framed(&body, false);
        let p = Packet::new_checked(&buf[..]).unwrap();
        let seen: Vec<(u8, Vec<u8>)> =
            p.options().map(|o| o.unwrap()).map(|o| (o.code, o.data.to_vec())).collect();
        // Option 52 of a valid value would make the view read file; file is zero (all pad) here.
        prop_assert_eq!(seen, raw);
    }
}
