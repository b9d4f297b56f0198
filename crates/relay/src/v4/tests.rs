//! Every rule of the engine, without a socket.

use super::*;
use lessor_wire::v4::{HEADER_LEN, MAGIC_COOKIE};

const RELAY_ID: [u8; 5] = [0, 4, 0xaa, 0xbb, 0xcc];
const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
const NOW: u64 = 1_000_000;

fn server() -> SocketAddr {
    "192.0.2.1:67".parse().unwrap()
}

fn engine() -> Engine4 {
    let down = |name: &str, index, giaddr: [u8; 4], trusted| Downstream {
        name: name.into(),
        index,
        giaddr: giaddr.into(),
        circuit_id: name.as_bytes().to_vec(),
        remote_id: Some(format!("bng1:{name}").into_bytes()),
        trusted,
    };
    Engine4::new(Settings {
        servers: vec![
            "192.0.2.1:67".parse().unwrap(),
            "192.0.2.2:6767".parse().unwrap(),
        ],
        max_hops: 4,
        client_port: 68,
        relay_id: RELAY_ID.to_vec(),
        interfaces: vec![
            down("eth1", 11, [198, 51, 100, 1], false),
            down("eth2", 12, [203, 0, 113, 1], true),
        ],
    })
}

/// A DHCP message: op, message type, then extra options (code, value), END, padding to 300.
fn message(
    op: u8,
    kind: u8,
    fields: impl FnOnce(&mut Packet<&mut [u8]>),
    options: &[(u8, &[u8])],
) -> Vec<u8> {
    let mut m = vec![0u8; HEADER_LEN];
    {
        let mut p = Packet::new_unchecked(&mut m[..]);
        p.set_op(op);
        p.set_htype(1);
        p.set_hlen(6);
        p.set_xid(0x1234);
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&MAC);
        p.set_chaddr(&chaddr);
        p.set_magic_cookie();
        fields(&mut p);
    }
    m.extend_from_slice(&[53, 1, kind]);
    for (code, value) in options {
        m.push(*code);
        m.push(value.len() as u8);
        m.extend_from_slice(value);
    }
    m.push(255);
    m.resize(m.len().max(300), 0);
    m
}

fn discover() -> Vec<u8> {
    message(BOOTREQUEST, 1, |_| {}, &[(61, &[1, 2, 0, 0, 0, 0, 1])])
}

fn ours(circuit: &[u8]) -> Vec<u8> {
    let remote = [b"bng1:", circuit].concat();
    RelayAgentInformation::from_sub_options([(1, circuit), (2, &remote[..]), (12, &RELAY_ID[..])])
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn run(
    e: &mut Engine4,
    t: &mut LocationTable,
    m: &[u8],
    arrival: u32,
    source: SocketAddr,
) -> Result<Vec<Outgoing>, Drop4> {
    let mut out = Vec::new();
    e.handle(m, Some(arrival), source, NOW, t, &mut out)?;
    Ok(out)
}

fn client() -> SocketAddr {
    "0.0.0.0:68".parse().unwrap()
}

#[test]
fn a_request_gets_giaddr_hops_and_option_82_and_goes_to_every_server() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let out = run(&mut e, &mut t, &discover(), 11, client()).unwrap();
    assert_eq!(
        out.iter().map(|o| o.destination).collect::<Vec<_>>(),
        [
            Destination::Relay("192.0.2.1:67".parse().unwrap()),
            Destination::Relay("192.0.2.2:6767".parse().unwrap())
        ]
    );
    let p = Packet::new_checked(&out[0].payload[..]).unwrap();
    assert_eq!(p.hops(), 1);
    assert_eq!(p.giaddr(), Ipv4Addr::new(198, 51, 100, 1));
    assert_eq!(
        p.relay_agent_information().unwrap().unwrap().as_bytes(),
        &ours(b"eth1")[..]
    );
    // Before END, the client's options untouched, the length kept.
    assert_eq!(
        p.client_identifier().unwrap().unwrap().as_ref(),
        &[1, 2, 0, 0, 0, 0, 1]
    );
    assert_eq!(out[0].payload.len(), 300);
    let codes: Vec<u8> = p.options().map(|o| o.unwrap().code).collect();
    assert_eq!(codes, [53, 61, 82]);
    assert_eq!(e.counters().requests_forwarded, 1);
}

#[test]
fn hops_above_the_limit_are_dropped() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let at = |hops| message(BOOTREQUEST, 1, |p| p.set_hops(hops), &[]);
    assert!(run(&mut e, &mut t, &at(4), 11, client()).is_ok());
    assert_eq!(
        run(&mut e, &mut t, &at(5), 11, client()),
        Err(Drop4::HopsExceeded)
    );
    assert_eq!(
        e.counters().dropped().find(|(n, _)| *n == "hops-exceeded"),
        Some(("hops-exceeded", 1))
    );
}

#[test]
fn a_request_with_one_of_our_giaddrs_is_a_loop() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = message(
        BOOTREQUEST,
        1,
        |p| p.set_giaddr([203, 0, 113, 1].into()),
        &[],
    );
    assert_eq!(run(&mut e, &mut t, &m, 11, client()), Err(Drop4::Loop));
}

#[test]
fn option_82_from_a_client_untrusted_dropped_trusted_kept_never_two() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let theirs = [1u8, 3, b'b', b'r', b'g'];
    let m = message(BOOTREQUEST, 1, |_| {}, &[(82, &theirs)]);
    assert_eq!(
        run(&mut e, &mut t, &m, 11, client()),
        Err(Drop4::Option82Untrusted)
    );
    let out = run(&mut e, &mut t, &m, 12, client()).unwrap();
    let p = Packet::new_checked(&out[0].payload[..]).unwrap();
    assert_eq!(p.giaddr(), Ipv4Addr::new(203, 0, 113, 1));
    let n82 = p.options().filter(|o| o.unwrap().code == 82).count();
    assert_eq!(n82, 1);
    assert_eq!(
        p.relay_agent_information().unwrap().unwrap().as_bytes(),
        &theirs
    );
}

#[test]
fn a_request_relayed_by_another_agent_passes_with_hops_only() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = message(
        BOOTREQUEST,
        1,
        |p| {
            p.set_giaddr([198, 18, 0, 1].into());
            p.set_hops(1)
        },
        &[],
    );
    let out = run(&mut e, &mut t, &m, 11, "198.18.0.1:67".parse().unwrap()).unwrap();
    let p = Packet::new_checked(&out[0].payload[..]).unwrap();
    assert_eq!((p.hops(), p.giaddr()), (2, Ipv4Addr::new(198, 18, 0, 1)));
    assert!(p.relay_agent_information().unwrap().is_none());
}

#[test]
fn requests_only_from_downstream_interfaces() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    assert_eq!(
        run(&mut e, &mut t, &discover(), 99, client()),
        Err(Drop4::NotDownstream)
    );
    let mut out = Vec::new();
    assert_eq!(
        e.handle(&discover(), None, client(), NOW, &mut t, &mut out),
        Err(Drop4::NotDownstream)
    );
}

#[test]
fn option_82_that_does_not_fit_is_left_out_and_counted() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let big = [7u8; 255];
    let opts: Vec<(u8, &[u8])> = (0..5).map(|_| (43u8, &big[..])).collect();
    let m = message(BOOTREQUEST, 1, |_| {}, &opts);
    assert!(m.len() + 30 > MAX_MESSAGE);
    let out = run(&mut e, &mut t, &m, 11, client()).unwrap();
    assert_eq!(out[0].payload.len(), m.len());
    assert_eq!(e.counters().too_long_for_option82, 1);
}

fn ack(yiaddr: [u8; 4], giaddr: [u8; 4], flags: u16, opt82: Option<&[u8]>) -> Vec<u8> {
    let lease = 3600u32.to_be_bytes();
    let mut opts: Vec<(u8, &[u8])> = vec![(51, &lease), (61, &[1, 2, 0, 0, 0, 0, 1])];
    if let Some(o) = opt82 {
        opts.push((82, o));
    }
    message(
        BOOTREPLY,
        5,
        |p| {
            p.set_yiaddr(yiaddr.into());
            p.set_giaddr(giaddr.into());
            p.set_flags(flags)
        },
        &opts,
    )
}

#[test]
fn a_reply_loses_our_option_82_goes_to_its_interface_and_is_gleaned() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 1],
        0,
        Some(&ours(b"eth1")),
    );
    let out = run(&mut e, &mut t, &m, 1, server()).unwrap();
    assert_eq!(out.len(), 1);
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&MAC);
    assert_eq!(
        out[0].destination,
        Destination::Hardware {
            interface_index: 11,
            address: [198, 51, 100, 7].into(),
            port: 68,
            htype: 1,
            hlen: 6,
            chaddr
        }
    );
    let p = Packet::new_checked(&out[0].payload[..]).unwrap();
    assert!(p.relay_agent_information().unwrap().is_none());
    assert_eq!(out[0].payload.len(), m.len());
    let l = t.get(bound4([198, 51, 100, 7].into())).unwrap();
    assert_eq!(l.interface.as_deref(), Some("eth1"));
    assert_eq!(l.circuit_id.as_deref(), Some(&b"eth1"[..]));
    assert_eq!(l.remote_id.as_deref(), Some(&b"bng1:eth1"[..]));
    assert_eq!(
        l.hardware,
        Some(Hardware {
            htype: 1,
            address: MAC.to_vec()
        })
    );
    assert_eq!(l.client_id.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 1][..]));
    assert_eq!(
        (l.cltt, l.expires, l.origin),
        (Some(NOW), NOW + 3600, Origin::Gleaned)
    );
    assert_eq!(
        (e.counters().gleaned, e.counters().replies_forwarded),
        (1, 1)
    );
}

#[test]
fn the_circuit_id_names_the_interface_before_the_giaddr() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 1],
        FLAG_BROADCAST,
        Some(&ours(b"eth2")),
    );
    let out = run(&mut e, &mut t, &m, 1, server()).unwrap();
    assert_eq!(
        out[0].destination,
        Destination::Broadcast {
            interface_index: 12,
            port: 68
        }
    );
}

#[test]
fn replies_broadcast_when_asked_or_nak_unicast_to_ciaddr_otherwise() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let renew = message(
        BOOTREPLY,
        5,
        |p| {
            p.set_ciaddr([198, 51, 100, 7].into());
            p.set_yiaddr([198, 51, 100, 7].into());
            p.set_giaddr([198, 51, 100, 1].into())
        },
        &[],
    );
    let out = run(&mut e, &mut t, &renew, 1, server()).unwrap();
    assert_eq!(
        out[0].destination,
        Destination::Client("198.51.100.7:68".parse().unwrap())
    );
    let nak = message(
        BOOTREPLY,
        6,
        |p| p.set_giaddr([198, 51, 100, 1].into()),
        &[],
    );
    let out = run(&mut e, &mut t, &nak, 1, server()).unwrap();
    assert_eq!(
        out[0].destination,
        Destination::Broadcast {
            interface_index: 11,
            port: 68
        }
    );
}

#[test]
fn a_foreign_option_82_is_dropped_unless_a_trusted_bridge_put_it_there() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let other =
        RelayAgentInformation::from_sub_options([(1, &b"eth1"[..]), (12, &[0, 4, 1, 1, 1][..])])
            .unwrap();
    let m = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 1],
        0,
        Some(other.as_bytes()),
    );
    assert_eq!(
        run(&mut e, &mut t, &m, 1, server()),
        Err(Drop4::NotOurOption82)
    );
    let bridge = [1u8, 3, b'b', b'r', b'g'];
    let m = ack([203, 0, 113, 7], [198, 51, 100, 1], 0, Some(&bridge));
    assert_eq!(
        run(&mut e, &mut t, &m, 1, server()),
        Err(Drop4::NotOurOption82)
    );
    let m = ack([203, 0, 113, 7], [203, 0, 113, 1], 0, Some(&bridge));
    let out = run(&mut e, &mut t, &m, 1, server()).unwrap();
    let p = Packet::new_checked(&out[0].payload[..]).unwrap();
    assert_eq!(
        p.relay_agent_information().unwrap().unwrap().as_bytes(),
        &bridge
    );
    assert!(t.get(bound4([198, 51, 100, 7].into())).is_none());
    assert_eq!(t.len(), 1);
    // Gleaned with the bridge's circuit-id (what the server keeps), behind the trusted interface.
    let l = t.get(bound4([203, 0, 113, 7].into())).unwrap();
    assert_eq!(l.interface.as_deref(), Some("eth2"));
    assert_eq!(
        (l.circuit_id.as_deref(), l.remote_id.as_deref()),
        (Some(&b"brg"[..]), None)
    );
}

#[test]
fn a_reply_without_option_82_goes_by_giaddr() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = ack([203, 0, 113, 7], [203, 0, 113, 1], FLAG_BROADCAST, None);
    let out = run(&mut e, &mut t, &m, 1, server()).unwrap();
    assert_eq!(
        out[0].destination,
        Destination::Broadcast {
            interface_index: 12,
            port: 68
        }
    );
}

#[test]
fn replies_only_from_servers_upstream_to_our_giaddrs() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let m = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 1],
        0,
        Some(&ours(b"eth1")),
    );
    assert_eq!(
        run(&mut e, &mut t, &m, 11, server()),
        Err(Drop4::ReplyFromDownstream)
    );
    assert_eq!(
        run(&mut e, &mut t, &m, 1, "192.0.2.9:67".parse().unwrap()),
        Err(Drop4::NotFromServer)
    );
    let m = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 9],
        0,
        Some(&ours(b"eth1")),
    );
    assert_eq!(
        run(&mut e, &mut t, &m, 1, server()),
        Err(Drop4::NotOurGiaddr)
    );
    assert!(t.is_empty());
}

#[test]
fn a_nak_release_and_decline_remove_the_clients_entry() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let bind = |e: &mut Engine4, t: &mut LocationTable, a: [u8; 4]| {
        run(
            e,
            t,
            &ack(a, [198, 51, 100, 1], 0, Some(&ours(b"eth1"))),
            1,
            server(),
        )
        .unwrap();
    };
    bind(&mut e, &mut t, [198, 51, 100, 7]);
    let nak = message(
        BOOTREPLY,
        6,
        |p| p.set_giaddr([198, 51, 100, 1].into()),
        &[(82, &ours(b"eth1"))],
    );
    run(&mut e, &mut t, &nak, 1, server()).unwrap();
    assert!(t.is_empty());

    bind(&mut e, &mut t, [198, 51, 100, 7]);
    // Another client's release does not remove it; the holder's does.
    let release = |mac_last: u8| {
        message(
            BOOTREQUEST,
            7,
            |p| {
                p.set_ciaddr([198, 51, 100, 7].into());
                let mut c = [0u8; 16];
                c[..6].copy_from_slice(&[2, 0, 0, 0, 0, mac_last]);
                p.set_chaddr(&c)
            },
            &[],
        )
    };
    run(&mut e, &mut t, &release(9), 11, client()).unwrap();
    assert_eq!(t.len(), 1);
    run(&mut e, &mut t, &release(1), 11, client()).unwrap();
    assert!(t.is_empty());

    bind(&mut e, &mut t, [198, 51, 100, 8]);
    let decline = message(BOOTREQUEST, 4, |_| {}, &[(50, &[198, 51, 100, 8])]);
    run(&mut e, &mut t, &decline, 11, client()).unwrap();
    assert!(t.is_empty());
    assert_eq!(e.counters().removed, 3);
}

#[test]
fn an_infinite_lease_never_expires() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let forever = u32::MAX.to_be_bytes();
    let m = message(
        BOOTREPLY,
        5,
        |p| {
            p.set_yiaddr([198, 51, 100, 7].into());
            p.set_giaddr([198, 51, 100, 1].into())
        },
        &[(51, &forever)],
    );
    run(&mut e, &mut t, &m, 1, server()).unwrap();
    assert_eq!(t.next_expiry(), Some(u64::MAX));
}

#[test]
fn hostile_input_is_a_typed_drop() {
    let (mut e, mut t) = (engine(), LocationTable::new());
    let short = vec![1u8; 100];
    assert_eq!(
        run(&mut e, &mut t, &short, 11, client()),
        Err(Drop4::Malformed(lessor_wire::Error::Truncated))
    );
    let mut bad = discover();
    bad[236] = 0;
    assert_eq!(
        run(&mut e, &mut t, &bad, 11, client()),
        Err(Drop4::Malformed(lessor_wire::Error::BadMagicCookie))
    );
    let mut overrun = discover()[..HEADER_LEN].to_vec();
    overrun.extend_from_slice(&[53, 1, 1, 61, 40, 1]);
    assert!(matches!(
        run(&mut e, &mut t, &overrun, 11, client()),
        Err(Drop4::Malformed(_))
    ));
    let mut op = discover();
    op[0] = 3;
    assert_eq!(run(&mut e, &mut t, &op, 11, client()), Err(Drop4::NotBootp));
    // An option 82 whose sub-options overrun it.
    let m = ack([198, 51, 100, 7], [198, 51, 100, 1], 0, Some(&[1, 9, 0]));
    assert!(matches!(
        run(&mut e, &mut t, &m, 1, server()),
        Err(Drop4::Malformed(_))
    ));
    assert_eq!(e.counters().dropped_total(), 5);
    let _ = MAGIC_COOKIE;
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep (the fuzz target fuzz/fuzz_targets/relay4.rs goes further).
    let (mut e, mut t) = (engine(), LocationTable::new());
    let base = ack(
        [198, 51, 100, 7],
        [198, 51, 100, 1],
        0,
        Some(&ours(b"eth1")),
    );
    let mut x: u32 = 1;
    for _ in 0..2000 {
        let mut m = base.clone();
        for _ in 0..4 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let i = x as usize % m.len();
            m[i] = (x >> 8) as u8;
        }
        m.truncate(HEADER_LEN + (x as usize % (m.len() - HEADER_LEN + 1)));
        let mut out = Vec::new();
        let _ = e.handle(&m, Some(1), server(), NOW, &mut t, &mut out);
        let _ = e.handle(&m, Some(11), client(), NOW, &mut t, &mut out);
    }
}
