//! One scrape's readings, owned (so the services are read once, then let go), and their
//! encoding in the Prometheus text format (0.0.4) by `prometheus-client`.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;

/// The media type of [`Scrape::encode`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Label pairs in the order written.
pub type Labels = Vec<(String, String)>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: Kind,
    /// Samples by label set; a label set met twice is summed (two counters that are one
    /// series on the wire, e.g. DHCPv6 REPLYs sent at once and once durable).
    samples: BTreeMap<Labels, f64>,
}

#[derive(Debug)]
struct Histogram {
    help: String,
    buckets: Vec<(f64, u64)>,
    sum: f64,
    count: u64,
}

/// The readings of one scrape.
#[derive(Debug, Default)]
pub struct Scrape {
    families: BTreeMap<String, Family>,
    histograms: BTreeMap<String, Histogram>,
}

impl Scrape {
    fn add(&mut self, kind: Kind, name: &str, help: &str, labels: Labels, value: f64) {
        let family = self
            .families
            .entry(name.to_string())
            .or_insert_with(|| Family {
                help: help.to_string(),
                kind,
                samples: BTreeMap::new(),
            });
        debug_assert_eq!(family.kind, kind, "{name} is one kind of metric");
        *family.samples.entry(labels).or_default() += value;
    }

    /// A counter `name` (without `_total`: the encoder adds it).
    pub fn counter(&mut self, name: &str, help: &str, labels: Labels, value: u64) {
        self.add(Kind::Counter, name, help, labels, value as f64);
    }

    /// A gauge.
    pub fn gauge(&mut self, name: &str, help: &str, labels: Labels, value: f64) {
        self.add(Kind::Gauge, name, help, labels, value);
    }

    /// A histogram: cumulative `buckets` (upper bound, count), the last bound infinite.
    pub fn histogram(&mut self, name: &str, help: &str, buckets: Vec<(f64, u64)>, sum: f64) {
        let count = buckets.last().map_or(0, |b| b.1);
        self.histograms.insert(
            name.to_string(),
            Histogram {
                help: help.to_string(),
                buckets,
                sum,
                count,
            },
        );
    }

    /// The text exposition.
    pub fn encode(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::new();
        // Writing into a String does not fail; a collector that did would be a bug here.
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("encoding into a String");
        text
    }
}

/// Counters are encoded as integers while they are (every one is: they come from u64s).
fn counter_value(v: f64) -> u64 {
    v as u64
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, family) in &self.families {
            let kind = match family.kind {
                Kind::Counter => MetricType::Counter,
                Kind::Gauge => MetricType::Gauge,
            };
            let mut metric = encoder.encode_descriptor(name, &family.help, None, kind)?;
            for (labels, &value) in &family.samples {
                let mut sample = metric.encode_family(labels)?;
                match family.kind {
                    Kind::Counter => {
                        sample.encode_counter::<NoLabelSet, _, u64>(&counter_value(value), None)?
                    }
                    Kind::Gauge => sample.encode_gauge(&value)?,
                }
            }
        }
        for (name, h) in &self.histograms {
            let mut metric =
                encoder.encode_descriptor(name, &h.help, None, MetricType::Histogram)?;
            // The encoder takes each bucket's own count and adds them up; finite bounds only:
            // it writes +Inf from `count`.
            let mut below = 0;
            let own: Vec<(f64, u64)> = h
                .buckets
                .iter()
                .filter(|(b, _)| b.is_finite())
                .map(|&(b, cumulative)| {
                    let n = cumulative.saturating_sub(below);
                    below = below.max(cumulative);
                    (b, n)
                })
                .collect();
            metric.encode_histogram::<NoLabelSet>(h.sum, h.count, &own, None)?;
        }
        Ok(())
    }
}
