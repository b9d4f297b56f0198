//! When a binding entered its state (RFC 6926 start-time-of-state): kept while the state lasts,
//! recorded when it changes, set to the lease end by expiry, written as given by restore.

mod common;

use common::*;
use lessor_store::{Binding4, Completion, State4, Store};

fn upsert(store: &Store, b: Binding4) -> Binding4 {
    store.v4().upsert(b.clone(), Completion::none());
    (*store.v4().get(b.address).unwrap()).clone()
}

/// `b` renewed at `at` for another hour (what the DHCP engine writes on a DHCPACK).
fn renewed(b: &Binding4, at: u64) -> Binding4 {
    b.clone()
        .with_times(at, at + 3600, at + 1800, at + 3150, at)
}

#[test]
fn a_renewal_keeps_the_time_the_lease_became_active() {
    let store = Store::in_memory();
    let first = upsert(&store, active(1, 1, NOW));
    assert_eq!(first.state_since, NOW);
    let again = upsert(&store, renewed(&first, NOW + 1800));
    assert_eq!(again.start, NOW + 1800);
    assert_eq!(again.state_since, NOW, "a renewal is not a new state");
    // Whatever the caller puts there.
    let again = upsert(&store, renewed(&first, NOW + 3000).with_state_since(7));
    assert_eq!(again.state_since, NOW);
}

#[test]
fn a_change_of_state_records_when() {
    let store = Store::in_memory();
    let lease = upsert(&store, active(1, 1, NOW));
    // Released 10 minutes in: the engine ends the lease then.
    let mut released = lease.clone();
    released.state = State4::Released;
    released.end = NOW + 600;
    released.cltt = NOW + 600;
    assert_eq!(upsert(&store, released.clone()).state_since, NOW + 600);
    // Released again (a repeated DHCPRELEASE): still released since then.
    released.cltt = NOW + 700;
    released.end = NOW + 700;
    assert_eq!(upsert(&store, released).state_since, NOW + 600);
    // Leased again: active from the new start.
    let back = upsert(&store, renewed(&lease, NOW + 900));
    assert_eq!(back.state_since, NOW + 900);
    // Declined: since the decline (the engine sets start then).
    let mut declined = back.clone();
    declined.state = State4::Declined;
    declined.start = NOW + 950;
    declined.end = NOW + 950 + 86_400;
    assert_eq!(upsert(&store, declined).state_since, NOW + 950);
}

#[test]
fn a_lease_taken_again_after_it_ran_out_or_by_another_client_is_new() {
    let store = Store::in_memory();
    let lease = upsert(&store, active(1, 1, NOW));
    // The client comes back after its end, before the expiry timer ran: a new lease.
    let late = upsert(&store, renewed(&lease, NOW + 3600));
    assert_eq!(late.state, State4::Active);
    assert_eq!(late.state_since, NOW + 3600);
    // Another client gets the address while the binding is still active in memory.
    let other = upsert(&store, active(1, 2, NOW + 4000));
    assert_eq!(other.state_since, NOW + 4000);
}

#[test]
fn expiry_sets_the_lease_end_and_restore_keeps_what_it_is_given() {
    let store = Store::in_memory();
    upsert(&store, active(1, 1, NOW));
    let expired = store.v4().expire(NOW + 5000, 10, Completion::none());
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].state, State4::Expired);
    assert_eq!(
        expired[0].state_since,
        NOW + 3600,
        "expired at its end, not when noticed"
    );
    // A binding put back as it was (an offer taken back, an import) keeps its time.
    let kept = active(2, 2, NOW).with_state_since(NOW - 86_400);
    store
        .v4()
        .write(Completion::none(), |b| b.restore(kept.clone()));
    assert_eq!(store.v4().get(addr(2)).unwrap().state_since, NOW - 86_400);
    // And an upsert continuing it keeps that.
    let renewal = upsert(&store, renewed(&kept, NOW + 100));
    assert_eq!(renewal.state_since, NOW - 86_400);
}
