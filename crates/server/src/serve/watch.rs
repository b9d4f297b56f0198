//! Watching the store's health from the I/O shell: what to log, when to probe, when to stop.
//!
//! Sans-IO: [`StoreWatch::observe`] takes the store's [`Health`] and the time, and returns what
//! to do. The shell calls it every tick (200 ms). While commits fail the DHCP engine offers
//! nothing (fail closed) and nothing new is written, so the store would never learn that the
//! disk is back: the watch asks for a probe (a small meta write) at most once every
//! [`PROBE_EVERY_MS`]. Lines are rate-limited: the first failure at once, then one line per
//! [`REPEAT_EVERY_MS`] while it lasts, and one when it ends (docs/operator-guide.md, "When the
//! store cannot commit"). A dead writer thread stops the server: nothing could ever be made
//! durable again, and a supervisor restarting the process is the way out.

use lessor_net::Now;
use lessor_store::civil::civil_from_days;
use lessor_store::{Health, Timestamp};
use tracing::Level;

/// Least time between two probes while the store fails.
pub const PROBE_EVERY_MS: u64 = 1000;

/// Least time between two lines about one ongoing failure.
pub const REPEAT_EVERY_MS: u64 = 10_000;

/// What the shell does after one observation.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Lines to log, each with its level (an ongoing failure is an error).
    pub lines: Vec<(Level, String)>,
    /// Whether to probe the store now.
    pub probe: bool,
    /// The writer thread is dead: stop the server with this message.
    pub stop: Option<String>,
}

/// An ongoing failure.
#[derive(Debug)]
struct Failure {
    /// Wall time the watch first saw it.
    since: Timestamp,
    /// Monotonic time of the last line and the last probe.
    said_ms: u64,
    probed_ms: u64,
    /// Failures counted when the last line was said.
    said_failures: u64,
}

/// The shell's view of the store's health across ticks.
#[derive(Debug, Default)]
pub struct StoreWatch {
    failing: Option<Failure>,
}

/// `2026-11-23T22:54:04Z`.
pub fn utc(t: Timestamp) -> String {
    let days = i64::try_from(t / 86_400).unwrap_or(i64::MAX);
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

impl StoreWatch {
    /// What to do about `health` at `now`.
    pub fn observe(&mut self, health: &Health, now: Now) -> Verdict {
        let mut v = Verdict::default();
        match health {
            Health::Healthy => {
                if let Some(f) = self.failing.take() {
                    v.lines.push((
                        Level::INFO,
                        format!(
                            "store: commits again (it failed since {}); offering addresses again",
                            utc(f.since)
                        ),
                    ));
                }
            }
            Health::Failing { error, failures } => match &mut self.failing {
                None => {
                    v.lines.push((
                        Level::ERROR,
                        format!(
                            "store: commit failed: {error} ({failures} failure(s) since {}); \
                             not offering addresses until the store can commit",
                            utc(now.wall)
                        ),
                    ));
                    self.failing = Some(Failure {
                        since: now.wall,
                        said_ms: now.ms,
                        probed_ms: now.ms,
                        said_failures: *failures,
                    });
                }
                Some(f) => {
                    if now.ms.saturating_sub(f.said_ms) >= REPEAT_EVERY_MS {
                        v.lines.push((
                            Level::ERROR,
                            format!(
                                "store: still failing: {error} ({failures} failure(s) since {}, \
                                 {} in the last {} s); not offering addresses",
                                utc(f.since),
                                failures.saturating_sub(f.said_failures),
                                now.ms.saturating_sub(f.said_ms) / 1000
                            ),
                        ));
                        f.said_ms = now.ms;
                        f.said_failures = *failures;
                    }
                    if now.ms.saturating_sub(f.probed_ms) >= PROBE_EVERY_MS {
                        v.probe = true;
                        f.probed_ms = now.ms;
                    }
                }
            },
            Health::WriterDead { message } => {
                v.stop = Some(format!(
                    "the store's writer thread is dead ({message}); nothing can be made durable, \
                     stopping"
                ));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_store::StoreError;

    fn failing(n: u64) -> Health {
        Health::Failing {
            error: StoreError::db(
                "leases.db: commit",
                std::io::Error::other("database or disk is full"),
            ),
            failures: n,
        }
    }

    fn at(ms: u64) -> Now {
        Now {
            wall: 1_800_000_000 + ms / 1000,
            ms,
        }
    }

    #[test]
    fn says_the_first_failure_at_once_then_rarely_probes_each_second_and_says_the_recovery() {
        let mut w = StoreWatch::default();
        assert_eq!(w.observe(&Health::Healthy, at(0)), Verdict::default());
        let v = w.observe(&failing(1), at(200));
        assert_eq!(v.lines.len(), 1);
        assert_eq!(v.lines[0].0, Level::ERROR);
        assert!(
            v.lines[0].1.starts_with(
                "store: commit failed: leases.db: commit: database or disk is full \
                 (1 failure(s) since 2027-01-15T08:00:00Z); not offering addresses"
            ),
            "{}",
            v.lines[0].1
        );
        assert!(!v.probe, "the failure just happened");
        let mut lines = 0;
        let mut probes = 0;
        // 20 s of ticks.
        for t in (400..20_400).step_by(200) {
            let v = w.observe(&failing(1 + t / 1000), at(t));
            lines += v.lines.len();
            probes += usize::from(v.probe);
            assert!(v.stop.is_none());
        }
        assert_eq!(lines, 2, "one line per 10 s");
        assert!((19..=20).contains(&probes), "{probes} probes in 20 s");
        let v = w.observe(&Health::Healthy, at(20_600));
        assert_eq!(v.lines.len(), 1);
        assert_eq!(v.lines[0].0, Level::INFO);
        assert!(v.lines[0].1.contains("commits again"), "{}", v.lines[0].1);
        assert!(!v.probe);
        // Healthy stays quiet.
        assert_eq!(w.observe(&Health::Healthy, at(20_800)), Verdict::default());
    }

    #[test]
    fn a_dead_writer_stops_the_server_with_its_reason() {
        let mut w = StoreWatch::default();
        let v = w.observe(
            &Health::WriterDead {
                message: "the store's backend panicked: boom".into(),
            },
            at(0),
        );
        let stop = v.stop.unwrap();
        assert!(stop.contains("boom") && stop.contains("stopping"), "{stop}");
    }
}
