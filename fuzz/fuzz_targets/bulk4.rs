//! A bulk leasequery connection (`bulk4::Connection`, both DHCPv4 dialects) driven the way the
//! TCP listener drives it, on a store holding bindings of every kind
//! (`lessor_fuzz::filled_store`): no octets, chunking, pacing or timing make it panic, it reads
//! only what it asked for, and everything it sends is whole frames of parseable DHCP messages in
//! the dialect it detected.
//!
//! Input: records (see `lessor_fuzz`); per record, bits 0-1 of the control octet choose the
//! step: 0 and 1 hand the payload to `receive` (in pieces of at most `read_hint`, as the
//! listener reads), 2 writes out up to 64 octets times the remaining control bits, 3 moves the clock
//! (from 1 ms to past the idle timeout) and runs `on_timeout`; bit 7 of the last record closes
//! the peer's side.
#![no_main]

use lessor_fuzz::{config, filled_store, now, records, SERVER};
use lessor_server::bulk4::{Connection, Counters, Params};
use lessor_store::Store;
use lessor_wire::framing::Decoder;
use lessor_wire::v4::Repr;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

/// Milliseconds the clock moves in a step, by bits 2-4 of its control octet.
const STEPS: [u64; 8] = [1, 10, 1_000, 5_000, 31_000, 61_000, 301_000, 3_600_000];

fn shared() -> &'static (Arc<Params>, Arc<Store>) {
    static ONCE: OnceLock<(Arc<Params>, Arc<Store>)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let params = Params::from_config(config(), SERVER).expect("bulk leasequery configured");
        (Arc::new(params), Arc::new(filled_store()))
    })
}

fuzz_target!(|data: &[u8]| {
    let (params, store) = shared();
    let counters = Arc::new(Counters::default());
    let mut ms = 0;
    let mut conn = Connection::new(
        Arc::clone(params),
        Arc::clone(store),
        Arc::clone(&counters),
        now(ms),
    );
    let mut sent = Vec::new();
    let records = records(data, 256);
    let last_closes = records.last().is_some_and(|r| r.control & 0x80 != 0);
    for record in &records {
        if conn.close().is_some() {
            break;
        }
        let outcome = match record.control & 3 {
            0 | 1 => {
                // As the listener reads: at most the hint each time, while the engine wants
                // input; what it does not take is what the peer would still have to send.
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
    // Drain what is owed, bounded: a store of 24 bindings never needs more.
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
    if let Some(dialect) = conn.dialect() {
        let mut decoder = Decoder::new(dialect, 65_535);
        let mut input = &sent[..];
        while !input.is_empty() {
            let step = decoder.decode(&input[..]).expect("the server sends whole frames");
            if let Some(message) = step.message {
                Repr::from_bytes(message).expect("every message sent parses");
            }
            input = &input[step.consumed..];
        }
    } else {
        assert!(sent.is_empty(), "nothing is sent before the dialect is known");
    }
});
