//! The zero-copy view allocates nothing: `Packet::new_checked` plus the typed reads a leasequery
//! responder makes (the same code as the `parse/lessor_view` benchmark, on the same 300-octet
//! DHCPLEASEQUERY) are counted by a global allocator and must make no allocation.
//!
//! The counter is per thread, so tests running in parallel (and the harness itself) do not
//! disturb each other.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;

use lessor_wire::v4::Repr;

#[path = "common/v4_leasequery.rs"]
mod common;

use common::{leasequery, view_reads, view_reads_scanning};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`; counting has no effect on the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made on this thread while `f` runs.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    let r = f();
    (ALLOCATIONS.with(Cell::get) - before, r)
}

#[test]
fn view_parse_and_typed_reads_allocate_nothing() {
    let query = leasequery();
    assert_eq!(query.len(), common::QUERY_LEN);

    // Warm up once outside the count (nothing lazy should remain, but be fair).
    let expected = view_reads(&query).expect("view parse");
    assert_eq!(expected, 48, "every read found its value");

    let (n, read) = allocations(|| {
        let mut total = 0;
        for _ in 0..1000 {
            total += view_reads(black_box(&query)).expect("view parse");
        }
        total
    });
    assert_eq!(read, 1000 * expected);
    assert_eq!(n, 0, "view parse + typed reads made {n} allocations");

    // The single-pass variant benchmarked next to it allocates nothing either.
    let (n, read) = allocations(|| view_reads_scanning(black_box(&query)).expect("view parse"));
    assert_eq!(read, expected);
    assert_eq!(n, 0, "scanning view reads made {n} allocations");
}

#[test]
fn the_counter_counts() {
    // The owned parse allocates (options vector, option values): if this saw 0, the zero above
    // would prove nothing.
    let query = leasequery();
    let (n, repr) = allocations(|| Repr::from_bytes(black_box(&query)));
    assert!(repr.is_ok());
    assert!(n > 0, "Repr::from_bytes counted {n} allocations");
    let (n, v) = allocations(|| black_box(vec![0u8; 16]));
    assert_eq!(v.len(), 16);
    assert_eq!(n, 1);
}
