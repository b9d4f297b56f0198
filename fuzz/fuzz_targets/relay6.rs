//! The DHCPv6 relay engine (`lessor_relay::v6::Relay6`) as the relay's shell drives it: each
//! datagram with its arrival interface and source, one engine and one location table across the
//! whole input. No datagram or sequence of them panics; what goes up is a RELAY-FORW whose
//! RELAY_MSG is the datagram byte for byte; what goes down is part of the datagram, out of a
//! downstream interface; the table holds only gleaned entries of the downstream interfaces.
//!
//! Input: records (see `lessor_fuzz`); per record the control octet's bits 0-1 choose where it
//! comes from (a client on eth1, a relay below with a global address on eth2, the server on the
//! uplink, a stranger on the uplink), bits 2-4 how far the clock moves first (0 s to 2 h:
//! RELEASEs stop waiting for their Reply), bit 5 wraps the payload the way the server does, in
//! a RELAY-REPL whose Interface-ID is eth1's (bit 6 clear) or eth2's (bit 6 set), so that the
//! gleaning of a Reply is reached at once.
#![no_main]

use lessor_fuzz::{now, records};
use lessor_relay::location::{LocationTable, Origin};
use lessor_relay::v6::{Downstream6, Relay6, RemoteId6, Server6, Settings6, MAX_PENDING};
use lessor_wire::v6::{Duid, MessageType, Packet, OPTION_RELAY_MSG};
use libfuzzer_sys::fuzz_target;
use std::net::{Ipv6Addr, SocketAddrV6};

const STEPS: [u64; 8] = [0, 0, 1, 5, 61, 600, 3_601, 7_200];
const UPLINK: u32 = 2;
const ETH1: u32 = 3;
const ETH2: u32 = 4;
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x547);

fn settings() -> Settings6 {
    Settings6 {
        interfaces: vec![
            Downstream6 {
                remote_id: Some(RemoteId6 {
                    enterprise_number: 3561,
                    remote_id: b"sub-1".to_vec(),
                }),
                ..Downstream6::new("eth1", ETH1)
            },
            Downstream6 {
                link_address: Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 1),
                ..Downstream6::new("eth2", ETH2)
            },
        ],
        servers: vec![Server6::new(SERVER)],
        relay_id: Some(Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![2, 0, 0, 0, 0, 9],
        }),
        insert: Default::default(),
    }
}

fn arrival(control: u8) -> (u32, SocketAddrV6) {
    let at = |a: Ipv6Addr, port: u16, scope: u32| SocketAddrV6::new(a, port, 0, scope);
    match control & 3 {
        0 => (
            ETH1,
            at(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xc1), 546, ETH1),
        ),
        1 => (
            ETH2,
            at(Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 1), 547, 0),
        ),
        2 => (UPLINK, at(SERVER, 547, 0)),
        _ => (
            UPLINK,
            at(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x666), 547, 0),
        ),
    }
}

/// A RELAY-REPL to fe80::c1 through eth1 or eth2 holding `inner`.
fn wrap(inner: &[u8], eth2: bool) -> Vec<u8> {
    let mut m = vec![13, 0];
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0xc1).octets());
    let id: &[u8] = if eth2 { b"eth2" } else { b"eth1" };
    m.extend_from_slice(&[0, 18, 0, id.len() as u8]);
    m.extend_from_slice(id);
    m.extend_from_slice(&[0, 9]);
    m.extend_from_slice(&(inner.len() as u16).to_be_bytes());
    m.extend_from_slice(inner);
    m
}

fuzz_target!(|data: &[u8]| {
    let mut relay = Relay6::new(settings()).expect("the fuzz settings are good");
    let mut table = LocationTable::new();
    let mut ms = 0u64;
    for record in records(data, 64) {
        ms += STEPS[usize::from(record.control >> 2 & 7)] * 1000 + 1;
        let (interface, source) = arrival(record.control);
        let wrapped;
        let datagram = if record.control & 0x20 != 0 {
            wrapped = wrap(record.payload, record.control & 0x40 != 0);
            &wrapped[..]
        } else {
            record.payload
        };
        let out = relay.handle(datagram, interface, source, now(ms), &mut table);
        for t in &out {
            let p = Packet::new_checked(&t.payload[..]).expect("what is sent has a header");
            if interface == UPLINK {
                assert!(matches!(t.interface, Some(ETH1) | Some(ETH2)));
                assert!(datagram
                    .windows(t.payload.len())
                    .any(|w| w == &t.payload[..]));
            } else {
                assert_eq!(p.msg_type(), MessageType::RelayForw);
                let body = p.option(OPTION_RELAY_MSG).unwrap().unwrap().data;
                assert_eq!(body, datagram);
            }
        }
        assert!(relay.pending() <= MAX_PENDING);
    }
    for l in table.iter() {
        assert_eq!(l.origin, Origin::Gleaned);
        assert!(matches!(
            l.interface.as_deref(),
            Some("eth1") | Some("eth2")
        ));
    }
});
