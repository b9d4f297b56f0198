//! The leasequery responder (RFC 4388 and its 2000 draft) on a store holding bindings of every
//! state, relay, remote-id and client-id (`lessor_fuzz::filled_store`): no datagram makes it
//! panic, and every answer parses as a DHCP message.
//!
//! Input: one control octet (bits 0-1: where the query comes from, `lessor_fuzz::arrival`), then
//! the datagram. The router sees it first, as in the server, so only what it calls a leasequery
//! reaches the responder.
#![no_main]

use lessor_fuzz::{arrival, config, filled_store, now, SERVER};
use lessor_net::Received;
use lessor_server::leasequery4::Responder4;
use lessor_server::router4::{Route4, Router4};
use lessor_store::Store;
use lessor_wire::v4::Repr;
use libfuzzer_sys::fuzz_target;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The store and responder are built once: the responder changes no binding, and its only state
/// (the rate limiter) is set far above what one run can use; the clock moves 1 ms per run so
/// its buckets refill however long the fuzzer runs.
fn responder() -> &'static (Router4, Responder4) {
    static ONCE: OnceLock<(Router4, Responder4)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let store: Arc<Store> = Arc::new(filled_store());
        (
            Router4::for_config(config()),
            Responder4::new(config(), store, SERVER),
        )
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, payload)) = data.split_first() else {
        return;
    };
    let (router, responder) = responder();
    let (source, destination, interface_index) = arrival(control);
    let rx = Received {
        payload,
        source,
        destination,
        interface_index,
    };
    if let Route4::Leasequery(message) = router.route(&rx) {
        static MS: AtomicU64 = AtomicU64::new(1_000);
        let clock = now(MS.fetch_add(1, Ordering::Relaxed));
        if let Some(reply) = responder.handle(&message, clock.wall, clock.ms) {
            Repr::from_bytes(&reply.payload).expect("every answer parses");
        }
    }
});
