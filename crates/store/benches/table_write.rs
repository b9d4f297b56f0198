//! What a write to the in-memory table costs: a renewal (new times, same identifiers) of a
//! random DHCPv6 binding, relayed (DUID, link, relay-id and remote-id: four secondary index
//! entries, two ranked ones), in tables of 100,000 and 1,000,000 bindings. What every DHCPv6
//! REQUEST and RENEW pays in the store's writer, and what the secondary indexes' design trades
//! against lookups (crates/store/src/table.rs, "Secondary indexes").
//!
//! Two cases: `renew` with no snapshot alive (the writer's table mutates in place), and
//! `renew_under_snapshot` with one taken before each write (every touched B-tree path is
//! copied, as when a bulk leasequery stream holds a snapshot). Each again as
//! `renew_with_points…`: the table with its point maps (crates/store/src/points.rs), as the
//! store keeps its live DHCPv6 table.
//!
//! ```text
//! cargo bench -p lessor-store --bench table_write
//! ```
//!
//! Counted, for a busy machine (as the server's leasequery benches): with `LESSOR_BENCH_COUNT=N`
//! and `LESSOR_BENCH_ONLY=renew/1000000` (or `renew_under_snapshot/…`, `renew_with_points/…`), exactly N writes of that
//! case inside [`write_n`] instead of criterion's timing, for callgrind to count:
//! `valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no --toggle-collect='*write_n*'`.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use lessor_store::v6::binding::{Binding6, IaType, State6};
use lessor_store::Table;
use std::net::Ipv6Addr;
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;
const FIRST_ADDRESS: u128 = 0x2001_0db8_0001_0000_0000_0000_0001_0000;

/// Binding `n`: an address with client `n`'s DUID, behind one of 100 relays.
fn binding(n: u32, cltt: u64) -> Arc<Binding6> {
    let b = n.to_be_bytes();
    let duid = [0, 3, 0, 1, 0x02, 0x42, b[0], b[1], b[2], b[3]];
    let relay = [0, 3, 0, 1, 0x02, 0, 0, 0, 0, (n % 100) as u8];
    let mut remote = vec![0, 0, 0x0d, 0xe9];
    remote.extend_from_slice(format!("port-{n}").as_bytes());
    let mut binding = Binding6::new(
        Ipv6Addr::from(FIRST_ADDRESS + u128::from(n)),
        128,
        IaType::Na,
        &duid,
        1,
        "2001:db8:1::/64".parse().unwrap(),
        State6::Active,
    )
    .unwrap()
    .with_relay_id(&relay)
    .unwrap()
    .with_remote_id(&remote)
    .unwrap()
    .with_times(
        cltt,
        cltt + 1800,
        cltt + 3600,
        cltt + 900,
        cltt + 1440,
        cltt,
    );
    binding.sequence = u64::from(n);
    Arc::new(binding)
}

/// Calls `write(i)` for `i` in `0..n`: the writes of a counted run, never inlined so that a
/// profiler can count inside it alone.
#[inline(never)]
fn write_n(n: usize, mut write: impl FnMut(usize)) {
    for i in 0..n {
        write(i);
    }
}

fn bench(c: &mut Criterion) {
    let count: Option<usize> = std::env::var("LESSOR_BENCH_COUNT")
        .ok()
        .and_then(|n| n.parse().ok());
    let only = std::env::var("LESSOR_BENCH_ONLY").unwrap_or_default();
    let mut group = c.benchmark_group("table_write");
    for size in [100_000u32, 1_000_000] {
        if count.is_some() && !only.ends_with(&format!("/{size}")) {
            continue;
        }
        // Without point maps (a table as the B-trees alone keep it) and with them (the store's
        // live DHCPv6 table, `Table::enable_points`): the write cost the maps add.
        for points in [false, true] {
            let mut table = Table::from_records((0..size).map(|n| binding(n, NOW - 600)));
            if points {
                table.enable_points();
            }
            let (renew, under) = if points {
                ("renew_with_points", "renew_with_points_under_snapshot")
            } else {
                ("renew", "renew_under_snapshot")
            };
            // Renewals of bindings spread over the whole table (a multiplicative hash of the
            // index).
            let renewals: Vec<Arc<Binding6>> = (0..4096u32)
                .map(|i| binding(i.wrapping_mul(2_654_435_761) % size, NOW))
                .collect();
            if let Some(n) = count {
                if only != format!("{renew}/{size}") && only != format!("{under}/{size}") {
                    continue;
                }
                let under_snapshot = only.starts_with(under);
                write_n(n, |i| {
                    let renewal = Arc::clone(&renewals[i % renewals.len()]);
                    if under_snapshot {
                        let snapshot = table.clone();
                        black_box((snapshot, table.upsert(renewal)));
                    } else {
                        black_box(table.upsert(renewal));
                    }
                });
                continue;
            }
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(renew, size), &size, |b, _| {
                b.iter(|| {
                    i = (i + 1) % renewals.len();
                    black_box(table.upsert(Arc::clone(&renewals[i])))
                })
            });
            group.bench_with_input(BenchmarkId::new(under, size), &size, |b, _| {
                b.iter(|| {
                    i = (i + 1) % renewals.len();
                    let snapshot = table.clone();
                    let old = table.upsert(Arc::clone(&renewals[i]));
                    black_box((snapshot, old))
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
