//! The DHCPv4 relay engine (`lessor_relay::v4::Engine4`) over a sequence of datagrams, with one
//! location table: no datagram or sequence of them panics; every message it sends is a
//! well-formed DHCP message (fixed fields, cookie, an option list that reads to its end: the
//! relay passes option values it does not interpret as they came, so a typed parse of those is
//! not its promise) no longer than the larger of what came in and 1,472 octets; and the table
//! never holds an entry the engine did not glean.
//!
//! Input: records (see `lessor_fuzz`); per record the control octet's bit 0 chooses the side
//! (downstream interface 11 from a client, upstream from the server), bit 1 the downstream
//! interface (untrusted 11, trusted 12), bits 2-4 how far the clock moves first, bit 5 runs
//! expiry after it.
#![no_main]

use lessor_fuzz::records;
use lessor_relay::location::{LocationTable, Origin};
use lessor_relay::v4::MAX_MESSAGE;
use lessor_relay::v4::{Downstream, Engine4, Settings};
use lessor_wire::v4::Packet;
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;

const STEPS: [u64; 8] = [0, 0, 1, 5, 61, 600, 3_601, 7_200];

fn engine() -> Engine4 {
    let down = |name: &str, index, giaddr: [u8; 4], trusted| Downstream {
        name: name.into(),
        index,
        giaddr: giaddr.into(),
        circuit_id: name.as_bytes().to_vec(),
        remote_id: Some(b"bng1".to_vec()),
        trusted,
    };
    Engine4::new(Settings {
        servers: vec!["192.0.2.1:67".parse().unwrap()],
        max_hops: 4,
        client_port: 68,
        relay_id: vec![0, 4, 1, 2, 3],
        interfaces: vec![
            down("eth1", 11, [198, 51, 100, 1], false),
            down("eth2", 12, [203, 0, 113, 1], true),
        ],
    })
}

fuzz_target!(|data: &[u8]| {
    let mut engine = engine();
    let mut table = LocationTable::new();
    let mut now = 1_700_000_000u64;
    let mut out = Vec::new();
    for record in records(data, 64) {
        now += STEPS[usize::from(record.control >> 2 & 7)];
        let (arrival, source): (u32, SocketAddr) = match record.control & 3 {
            0 => (11, "0.0.0.0:68".parse().unwrap()),
            2 => (12, "0.0.0.0:68".parse().unwrap()),
            _ => (1, "192.0.2.1:67".parse().unwrap()),
        };
        out.clear();
        let _ = engine.handle(
            record.payload,
            Some(arrival),
            source,
            now,
            &mut table,
            &mut out,
        );
        for message in &out {
            let packet = Packet::new_checked(&message.payload[..]).expect("a DHCP message");
            assert!(
                packet.options().all(|o| o.is_ok()),
                "options that read to the end"
            );
            assert!(message.payload.len() <= record.payload.len().max(MAX_MESSAGE));
        }
        if record.control & 0x20 != 0 {
            table.expire(now);
        }
        assert!(table.iter().all(|l| l.origin == Origin::Gleaned));
    }
});
