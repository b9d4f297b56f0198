//! Exact latency percentiles from recorded samples, and how every generator's report writes
//! them (milliseconds, three decimals). Shared by `perf dora`, `perf sarr`, `perf leasequery` and
//! `perf bulk`.

use std::time::Duration;

use serde_json::{json, Value};

/// The nearest-rank percentile of sorted samples, `per_mille` in 1..=1000 (500 = p50,
/// 990 = p99, 1000 = max): the smallest sample such that at least `per_mille`/1000 of all
/// samples are less than or equal to it. Integer arithmetic, so the rank is exact.
/// `None` for no samples; `per_mille` is clamped to 1..=1000.
pub fn percentile(sorted: &[Duration], per_mille: u32) -> Option<Duration> {
    let n = sorted.len() as u128;
    if n == 0 {
        return None;
    }
    let p = u128::from(per_mille.clamp(1, 1000));
    // ceil(p * n / 1000), at least 1.
    let rank = (p * n).div_ceil(1000).max(1);
    let index = usize::try_from(rank - 1).ok()?;
    sorted.get(index).copied()
}

/// Latency figures of one measured step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// How many samples.
    pub count: usize,
    /// Smallest sample.
    pub min: Option<Duration>,
    /// Nearest-rank 50th percentile.
    pub p50: Option<Duration>,
    /// Nearest-rank 90th percentile.
    pub p90: Option<Duration>,
    /// Nearest-rank 99th percentile.
    pub p99: Option<Duration>,
    /// Largest sample.
    pub max: Option<Duration>,
}

impl Summary {
    /// Summarises samples (sorted in place).
    pub fn of(samples: &mut [Duration]) -> Summary {
        samples.sort_unstable();
        Summary {
            count: samples.len(),
            min: samples.first().copied(),
            p50: percentile(samples, 500),
            p90: percentile(samples, 900),
            p99: percentile(samples, 990),
            max: samples.last().copied(),
        }
    }
}

/// `v` rounded to three decimals, as every report writes figures.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ms(d: Duration) -> f64 {
    round3(d.as_secs_f64() * 1000.0)
}

/// Milliseconds with three decimals, or "-" when there is no sample.
pub fn ms_text(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.3}", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// The latency table of a text report: a header line, then one line per measured step (count,
/// p50, p90, p99, max in milliseconds).
pub fn table(rows: &[(&str, &Summary)]) -> String {
    let mut s = format!(
        "{:<18}{:>8}{:>10}{:>10}{:>10}{:>10}\n",
        "latency (ms)", "count", "p50", "p90", "p99", "max"
    );
    for (name, sum) in rows {
        s += &format!(
            "{:<18}{:>8}{:>10}{:>10}{:>10}{:>10}\n",
            name,
            sum.count,
            ms_text(sum.p50),
            ms_text(sum.p90),
            ms_text(sum.p99),
            ms_text(sum.max)
        );
    }
    s
}

/// A [`Summary`] as JSON, in milliseconds.
pub fn summary_json(s: &Summary) -> Value {
    json!({
        "count": s.count,
        "min": s.min.map(ms),
        "p50": s.p50.map(ms),
        "p90": s.p90.map(ms),
        "p99": s.p99.map(ms),
        "max": s.max.map(ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn nearest_rank() {
        let s = ms(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&s, 500), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&s, 900), Some(Duration::from_millis(90)));
        assert_eq!(percentile(&s, 990), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&s, 1000), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&s, 1), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&s, 0), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&s, 5000), Some(Duration::from_millis(100)));

        let four = ms(&[10, 20, 30, 40]);
        assert_eq!(percentile(&four, 500), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&four, 501), Some(Duration::from_millis(30)));
        assert_eq!(percentile(&four, 900), Some(Duration::from_millis(40)));
        assert_eq!(percentile(&four, 250), Some(Duration::from_millis(10)));

        let one = ms(&[7]);
        for p in [1, 500, 990, 1000] {
            assert_eq!(percentile(&one, p), Some(Duration::from_millis(7)));
        }
        assert_eq!(percentile(&[], 500), None);
    }

    #[test]
    fn p99_of_a_thousand_and_odd_sizes() {
        let s = ms(&(1..=1000).collect::<Vec<_>>());
        assert_eq!(percentile(&s, 990), Some(Duration::from_millis(990)));
        let s = ms(&(1..=7).collect::<Vec<_>>());
        // ceil(0.5 * 7) = 4, ceil(0.9 * 7) = 7, ceil(0.99 * 7) = 7.
        assert_eq!(percentile(&s, 500), Some(Duration::from_millis(4)));
        assert_eq!(percentile(&s, 900), Some(Duration::from_millis(7)));
        assert_eq!(percentile(&s, 990), Some(Duration::from_millis(7)));
    }

    #[test]
    fn summary_sorts() {
        let mut s = ms(&[5, 1, 4, 2, 3]);
        let sum = Summary::of(&mut s);
        assert_eq!(sum.count, 5);
        assert_eq!(sum.min, Some(Duration::from_millis(1)));
        assert_eq!(sum.p50, Some(Duration::from_millis(3)));
        assert_eq!(sum.p90, Some(Duration::from_millis(5)));
        assert_eq!(sum.max, Some(Duration::from_millis(5)));
        assert_eq!(Summary::of(&mut []), Summary::default());
    }
}
