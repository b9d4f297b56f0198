//! What a `lessor perf bulk` run measured, as text or as one JSON object.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use lessor_wire::framing::Dialect;
use serde_json::{json, Value};

use super::run::BulkConfig;
use super::{BulkQuery, Counts};
use crate::latency::round3;

/// One query's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryFigures {
    /// Its messages and octets.
    pub counts: Counts,
    /// From writing the query to the end of its DONE.
    pub elapsed: Duration,
}

impl QueryFigures {
    /// Bindings per second of this query.
    pub fn rate(&self) -> f64 {
        rate(self.counts.bindings(), self.elapsed)
    }
}

fn rate(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Draft => "draft",
        Dialect::Rfc6926 => "rfc6926",
        Dialect::V6 => "v6",
    }
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkReport {
    /// The listener.
    pub server: SocketAddr,
    /// The dialect spoken.
    pub dialect: Dialect,
    /// What the queries asked by, as the CLI names it.
    pub by: &'static str,
    /// Per query, in order.
    pub queries: Vec<QueryFigures>,
    /// Sums over the queries.
    pub total: Counts,
    /// From the first query's write to the end of the last one.
    pub elapsed: Duration,
}

impl BulkReport {
    /// The report of a run of `config`.
    pub fn new<Q: BulkQuery>(
        config: &BulkConfig<Q>,
        queries: Vec<QueryFigures>,
        elapsed: Duration,
    ) -> BulkReport {
        let mut total = Counts::default();
        for q in &queries {
            total.add(&q.counts);
        }
        BulkReport {
            server: config.server,
            dialect: config.query.dialect(),
            by: config.query.by(),
            queries,
            total,
            elapsed,
        }
    }

    /// "v4" or "v6".
    pub fn family(&self) -> &'static str {
        if self.dialect.is_v4() {
            "v4"
        } else {
            "v6"
        }
    }

    /// Bindings per second over the whole run.
    pub fn rate(&self) -> f64 {
        rate(self.total.bindings(), self.elapsed)
    }

    /// One JSON object; times in seconds.
    pub fn to_json(&self) -> Value {
        let t = &self.total;
        json!({
            "server": self.server.to_string(),
            "family": self.family(),
            "dialect": dialect_name(self.dialect),
            "by": self.by,
            "queries": self.queries.len(),
            "bindings": t.bindings(),
            "active": t.active,
            "data": t.data,
            "unassigned": t.unassigned,
            "bytes": t.bytes,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "bindings_per_s": round3(self.rate()),
            "mib_per_s": round3(t.bytes as f64 / 1_048_576.0 / self.elapsed.as_secs_f64().max(1e-9)),
            "per_query": self.queries.iter().map(|q| json!({
                "bindings": q.counts.bindings(),
                "bytes": q.counts.bytes,
                "elapsed_s": q.elapsed.as_secs_f64(),
                "bindings_per_s": round3(q.rate()),
            })).collect::<Vec<_>>(),
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let t = &self.total;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "bulk leasequery by {} to {} ({}), {} quer{}",
            self.by,
            self.server,
            dialect_name(self.dialect),
            self.queries.len(),
            if self.queries.len() == 1 { "y" } else { "ies" }
        );
        if self.dialect.is_v4() {
            let _ = writeln!(
                s,
                "  bindings   {} (active {}, data {}, unassigned {})",
                t.bindings(),
                t.active,
                t.data,
                t.unassigned
            );
        } else {
            // `active` counts the LEASEQUERY-REPLY with the first binding.
            let _ = writeln!(
                s,
                "  bindings   {} (reply {}, data {})",
                t.bindings(),
                t.active,
                t.data
            );
        }
        let _ = writeln!(s, "  bytes      {}", t.bytes);
        let _ = writeln!(s, "  elapsed    {:.3} s", self.elapsed.as_secs_f64());
        let _ = writeln!(s, "  rate       {:.0} bindings/s", self.rate());
        if self.queries.len() > 1 {
            for (i, q) in self.queries.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  query {:<4} {} bindings in {:.3} s ({:.0}/s)",
                    i + 1,
                    q.counts.bindings(),
                    q.elapsed.as_secs_f64(),
                    q.rate()
                );
            }
        }
        s
    }
}
