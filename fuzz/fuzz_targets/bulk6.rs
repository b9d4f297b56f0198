//! A DHCPv6 bulk leasequery connection (`bulk6::Connection`, RFC 5460) driven the way the TCP
//! listener drives it, on a store holding DHCPv6 bindings of every kind (addresses and
//! prefixes, two links, relay-id and remote-id, relay chains, inactive ones): no octets,
//! chunking, pacing or timing make it panic, it reads only what it asked for, and everything it
//! sends is whole 2-octet frames of parseable DHCPv6 leasequery replies.
//!
//! Input: records (see `lessor_fuzz`), as for the `bulk4` target: per record, bits 0-1 of the
//! control octet choose the step: 0 and 1 hand the payload to `receive` (in pieces of at most
//! `read_hint`), 2 writes out up to 64 octets times the remaining control bits, 3 moves the
//! clock and runs `on_timeout`; bit 7 of the last record closes the peer's side.
#![no_main]

use lessor_fuzz::{now, records, T0};
use lessor_server::bulk6::{Connection, Counters, Params};
use lessor_server::config;
use lessor_store::{Binding6, Completion, Fields6, IaType, State6, Store};
use lessor_wire::framing::{Decoder, Dialect};
use lessor_wire::v6::{DhcpOption, Duid, MessageType, RelayMessage, Repr};
use libfuzzer_sys::fuzz_target;
use std::net::Ipv6Addr;
use std::sync::{Arc, OnceLock};

const STEPS: [u64; 8] = [1, 10, 1_000, 5_000, 31_000, 61_000, 301_000, 3_600_000];

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::100-2001:db8:2::1ff"]

[leasequery6]
requesters = ["2001:db8::/32"]

[leasequery6.bulk]
listen = ["2001:db8::1"]
queries-per-connection = 3
"#;

/// Relay-ids in the store (seeds query by them): `00:03:00:01:02:00:00:00:aa:0N`.
fn relay_id(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0xaa, n]
}

fn filled_store() -> Store {
    let store = Store::in_memory();
    for i in 0..24u16 {
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, 1, i as u8];
        let (link, addr, plen) = match i % 3 {
            0 => ("2001:db8:1::/64", Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1000 + i), 128),
            1 => ("2001:db8:2::/64", Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0x100 + i), 128),
            _ => ("2001:db8:1::/64", Ipv6Addr::new(0x2001, 0xdb8, 0x100, i << 8, 0, 0, 0, 0), 56),
        };
        let ia = if plen == 128 { IaType::Na } else { IaType::Pd };
        let state = if i % 7 == 6 { State6::Released } else { State6::Active };
        let mut b = Binding6::new(addr, plen, ia, &duid, 1, link.parse().unwrap(), state)
            .unwrap()
            .with_times(T0 - 100, T0 + 1800, T0 + 3600, T0 + 900, T0 + 1400, T0 - 50);
        let chain = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: 0,
            link_address: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1),
            peer_address: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2),
            options: vec![DhcpOption::InterfaceId(b"port1".to_vec())],
        })
        .to_vec();
        let rid = relay_id((i % 2) as u8);
        let mut remote = 4491u32.to_be_bytes().to_vec();
        remote.extend_from_slice(b"remote");
        if i % 4 != 3 {
            b.set_fields(Fields6 {
                duid: Some(&duid),
                relay_chain: Some(&chain),
                interface_id: Some(b"port1"),
                remote_id: Some(&remote),
                relay_id: Some(&rid),
            })
            .unwrap();
            b.relay_peer = Some(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1));
        }
        let (done, durable) = Completion::ticket();
        store.v6().upsert(b, done);
        durable.wait().expect("durable");
    }
    store
}

fn shared() -> &'static (Arc<Params>, Arc<Store>) {
    static ONCE: OnceLock<(Arc<Params>, Arc<Store>)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let c = config::parse(CONFIG, "fuzz.toml").expect("config");
        let id = Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]).unwrap();
        let params = Params::from_config(&c, id).expect("bulk configured");
        (Arc::new(params), Arc::new(filled_store()))
    })
}

fuzz_target!(|data: &[u8]| {
    let (params, store) = shared();
    let counters = Arc::new(Counters::default());
    let mut ms = 0;
    let mut conn = Connection::new(Arc::clone(params), Arc::clone(store), counters, now(ms));
    let mut sent = Vec::new();
    let records = records(data, 256);
    let last_closes = records.last().is_some_and(|r| r.control & 0x80 != 0);
    for record in &records {
        if conn.close().is_some() {
            break;
        }
        let outcome = match record.control & 3 {
            0 | 1 => {
                let mut input = record.payload;
                let mut outcome = Ok(());
                while !input.is_empty() && outcome.is_ok() {
                    let hint = conn.read_hint();
                    if hint == 0 {
                        break;
                    }
                    let (now_read, rest) = input.split_at(hint.min(input.len()));
                    outcome = conn.receive(now_read, now(ms));
                    input = rest;
                }
                outcome
            }
            2 => {
                let budget = 64 * usize::from(record.control >> 2 | 1);
                let before = sent.len();
                let n = conn.poll_transmit(&mut sent, budget, now(ms));
                assert_eq!(sent.len() - before, n, "poll_transmit says what it appended");
                assert!(n <= budget, "poll_transmit keeps to its budget");
                conn.written(n, 0, now(ms));
                Ok(())
            }
            _ => {
                ms += STEPS[usize::from(record.control >> 2 & 7)];
                conn.on_timeout(now(ms))
            }
        };
        if outcome.is_err() {
            break;
        }
    }
    if last_closes && conn.close().is_none() {
        let _ = conn.peer_closed(now(ms));
    }
    for _ in 0..10_000 {
        if conn.close().is_some() && !conn.wants_write() {
            break;
        }
        let n = conn.poll_transmit(&mut sent, 4096, now(ms));
        conn.written(n, 0, now(ms));
        if n == 0 {
            break;
        }
    }
    let mut decoder = Decoder::new(Dialect::V6, 65_535);
    let mut input = &sent[..];
    while !input.is_empty() {
        let step = decoder.decode(input).expect("the server sends whole frames");
        if let Some(message) = step.message {
            let m = Repr::from_bytes(message).expect("every message sent parses");
            assert!(matches!(
                m.msg_type(),
                MessageType::LeasequeryReply | MessageType::LeasequeryData | MessageType::LeasequeryDone
            ));
        }
        input = &input[step.consumed..];
    }
});
