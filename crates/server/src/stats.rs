//! Counters every service keeps, and how they are read: each counter set reports itself as
//! (name, value) pairs ([`Report`]), which the I/O shell logs (at `[server] stats-interval` and
//! at shutdown) and a metrics endpoint can export.

use std::sync::atomic::{AtomicU64, Ordering};

/// One monotonically increasing counter (relaxed atomics: read while the services run).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn add(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn add_n(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

/// A set of counters that can say what it holds.
pub trait Report: Send + Sync {
    /// Calls `out` with each counter's stable name and value.
    fn report(&self, out: &mut dyn FnMut(&str, u64));
}

/// One line for a log: `name=value` for every counter that is not zero, in report order.
pub fn line(report: &dyn Report) -> String {
    let mut out = String::new();
    report.report(&mut |name, value| {
        if value > 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(name);
            out.push('=');
            out.push_str(&value.to_string());
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Two(Counter, Counter);

    impl Report for Two {
        fn report(&self, out: &mut dyn FnMut(&str, u64)) {
            out("first", self.0.get());
            out("second", self.1.get());
        }
    }

    #[test]
    fn a_line_names_the_counters_that_moved() {
        let two = Two(Counter::default(), Counter::default());
        assert_eq!(line(&two), "");
        for _ in 0..3 {
            two.1.add();
        }
        assert_eq!(line(&two), "second=3");
        two.0.add();
        assert_eq!(line(&two), "first=1 second=3");
    }
}
