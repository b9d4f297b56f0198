//! The DHCPv4 UDP service as the I/O shell drives it: each datagram through `Router4`, then to
//! `Engine4` (one state machine across the whole input) or to the leasequery `Responder4`, over
//! one in-memory store. No datagram or sequence of them panics, and every reply the server
//! builds parses as a DHCP message.
//!
//! Input: records (see `lessor_fuzz`); per record the control octet's bits 0-1 choose where it
//! comes from (`lessor_fuzz::arrival`), bits 2-4 how far the clock moves first (0 s to 2 h, so
//! offers lapse, leases expire and probation ends), bit 5 runs the engine's timer after it.
#![no_main]

use lessor_fuzz::{arrival, config, interfaces, now, records, SERVER};
use lessor_net::{Outgoing, Received};
use lessor_server::dhcp4::{Engine4, Output};
use lessor_server::leasequery4::Responder4;
use lessor_server::router4::{Route4, Router4};
use lessor_store::Store;
use lessor_wire::v4::Repr;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

/// Seconds the clock moves before a record, by bits 2-4 of its control octet.
const STEPS: [u64; 8] = [0, 0, 1, 5, 61, 600, 3_601, 7_200];

fn check(reply: &Outgoing) {
    Repr::from_bytes(&reply.payload).expect("every reply the server builds parses");
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let store = Arc::new(Store::in_memory());
    let router = Router4::for_config(config);
    let mut engine = Engine4::new(config, Arc::clone(&store), interfaces(), SERVER);
    let responder = Responder4::new(config, Arc::clone(&store), SERVER);
    let mut ms = 0u64;
    for record in records(data, 64) {
        ms += STEPS[usize::from(record.control >> 2 & 7)] * 1000 + 1;
        let clock = now(ms);
        let (source, destination, interface_index) = arrival(record.control);
        let rx = Received {
            payload: record.payload,
            source,
            destination,
            interface_index,
        };
        match router.route(&rx) {
            Route4::Dhcp(message) => match engine.handle(&message, clock.wall).1 {
                Output::Nothing => {}
                Output::Now(reply) => check(&reply),
                Output::WhenDurable(reply, durable, instead) => {
                    check(&reply);
                    if let Some(nak) = &instead {
                        check(nak);
                    }
                    drop(durable);
                }
            },
            Route4::Leasequery(message) => {
                if let Some(reply) = responder.handle(&message, clock.wall, clock.ms) {
                    check(&reply);
                }
            }
            Route4::Discard(_) => {}
        }
        if record.control & 0x20 != 0 {
            engine.tick(clock.wall);
        }
    }
    let _ = store.sync().wait();
});
