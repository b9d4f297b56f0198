//! Counted runs, for `perf stat` on a busy machine (instruction and cache-miss counts move far
//! less with other load than wall times do): with `LESSOR_BENCH_COUNT=N` set, each case whose
//! id (`name/size`) is `LESSOR_BENCH_ONLY` (every case when unset) answers exactly N queries,
//! untimed, instead of criterion's timing, and table sizes no case asks for are not built.
//! Count a run with N and one with 0, subtract: the set-up cancels out, what is left is N
//! queries' worth.
//!
//! ```text
//! LESSOR_BENCH_ONLY=ia_na_address/1000000 LESSOR_BENCH_COUNT=1000000 \
//!     perf stat -e instructions,cache-misses target/release/deps/leasequery6_table_size-*
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
