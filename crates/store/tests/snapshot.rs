//! Snapshots stay consistent while a writer thread keeps mutating the store.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use lessor_store::{Completion, Store};

const SET: u32 = 1000;

/// Generation `g` of the whole set: every binding has cltt `g`, relay-id A on even generations and
/// B on odd ones; written as one atomic batch.
fn write_generation(store: &Store, g: u64) {
    let relay: &[u8] = if g.is_multiple_of(2) {
        b"relay-A"
    } else {
        b"relay-B"
    };
    store.v4().write(Completion::none(), |b| {
        for n in 0..SET {
            b.upsert(relayed(active(n, n, g), relay, b"modem"));
        }
    });
}

#[test]
fn reader_sees_one_generation_while_writer_runs() {
    let store = Arc::new(Store::in_memory());
    write_generation(&store, 0);
    let stop = Arc::new(AtomicBool::new(false));

    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut g = 1u64;
            while !stop.load(Ordering::Relaxed) && g < 100_000 {
                write_generation(&store, g);
                // Unrelated churn: single bindings with relay-id A come and go above the set.
                let n = SET + (g as u32 % 50);
                store.v4().upsert(
                    relayed(active(n, n, g), b"relay-A", b"x"),
                    Completion::none(),
                );
                store
                    .v4()
                    .delete(addr(SET + ((g as u32 + 25) % 50)), Completion::none());
                g += 1;
            }
            g
        })
    };

    let mut walks = 0;
    let mut moved_during_walk = 0;
    let mut waited = false;
    while walks < 10 || !waited {
        let snap = store.v4().snapshot();
        let before = store.v4().get(addr(0)).unwrap().cltt;
        let g = snap.get(addr(0)).unwrap().cltt;
        let mut count = 0u32;
        let mut last = None;
        for b in snap.by_relay_id(b"relay-A") {
            assert!(last < Some(b.address), "address order, no duplicates");
            last = Some(b.address);
            if u32::from(b.address) - u32::from(addr(0)) < SET {
                assert_eq!(b.cltt, g, "every binding from the same generation");
                count += 1;
            } else {
                assert_eq!(b.relay_id(), Some(&b"relay-A"[..]));
            }
            if count == SET / 2 && !waited {
                // Mid-walk, wait until the writer has replaced the whole set at least once: the
                // walk holds no lock that would stall it.
                let t0 = std::time::Instant::now();
                while store.v4().get(addr(0)).unwrap().cltt == before {
                    assert!(t0.elapsed().as_secs() < 60, "writer stalled by a reader");
                    std::thread::yield_now();
                }
                waited = true;
            }
        }
        let want = if g.is_multiple_of(2) { SET } else { 0 };
        assert_eq!(count, want, "generation {g}: all of the set or none");
        assert_eq!(
            snap.iter()
                .filter(|b| u32::from(b.address) - u32::from(addr(0)) < SET)
                .filter(|b| b.cltt == g)
                .count(),
            SET as usize
        );
        if store.v4().get(addr(0)).unwrap().cltt != before {
            moved_during_walk += 1;
        }
        walks += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let generations = writer.join().unwrap();
    assert!(generations > 1, "the writer made progress");
    // The writer was never stalled by the walks: it committed while readers iterated.
    assert!(
        moved_during_walk > 0,
        "writer progressed during at least one walk"
    );
}
