//! Counted runs, for counting events rather than timing on a busy machine (instructions and
//! simulated cache misses move far less with other load than wall times do): with
//! `LESSOR_BENCH_COUNT=N` set, each case whose id (`name/size`) is `LESSOR_BENCH_ONLY` (every
//! case when unset) answers exactly N queries, untimed, inside [`answer_n`], instead of
//! criterion's timing; table sizes no case asks for are not built. Count inside `answer_n` and
//! divide by N (this machine's VM has no hardware counters for `perf stat`; callgrind's are
//! exact for instructions and simulated for the caches):
//!
//! ```text
//! LESSOR_BENCH_ONLY=ia_na_address/1000000 LESSOR_BENCH_COUNT=20000 \
//!     valgrind --tool=callgrind --cache-sim=yes --LL=2097152,16,64 --collect-atstart=no \
//!     --toggle-collect='*counted*answer_n*' target/release/deps/leasequery6_table_size-*
//! ```

/// How many queries a counted run answers per case; `None`: a criterion run.
pub fn count() -> Option<usize> {
    std::env::var("LESSOR_BENCH_COUNT").ok()?.parse().ok()
}

/// Whether a counted run wants table size `size` at all.
pub fn wants_size(size: u32) -> bool {
    match (count(), std::env::var("LESSOR_BENCH_ONLY")) {
        (Some(_), Ok(only)) => only.rsplit('/').next() == Some(size.to_string().as_str()),
        _ => true,
    }
}

/// How many queries to answer untimed for case `name/size` (`Some(0)`: a case skipped in a
/// counted run); `None`: a criterion run.
pub fn queries_for(name: &str, size: u32) -> Option<usize> {
    let n = count()?;
    let wanted =
        std::env::var("LESSOR_BENCH_ONLY").map_or(true, |only| only == format!("{name}/{size}"));
    Some(if wanted { n } else { 0 })
}

/// Calls `answer(i)` for `i` in `0..n`: the queries of a counted run. Never inlined, so that a
/// profiler can count inside it alone, the set-up left out:
/// `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*counted*answer_n*'`.
#[inline(never)]
pub fn answer_n(n: usize, mut answer: impl FnMut(usize)) {
    for i in 0..n {
        answer(i);
    }
}
