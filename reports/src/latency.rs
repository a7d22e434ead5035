//! Operation counts, availability and latency percentiles (HDR histograms) from a history.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use syncsim_sim::history::{History, Outcome};

/// Counts of one kind of operation (or of all).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OpCounts {
    /// Issued.
    pub attempted: u64,
    /// Completed successfully.
    pub ok: u64,
    /// Definitely failed.
    pub failed: u64,
    /// Timed out or unanswered: may or may not have taken effect.
    pub unknown: u64,
    /// `ok / attempted` (1 when nothing was attempted).
    pub availability: f64,
}

/// Latency percentiles of successful operations, in nanoseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Successful operations measured.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Slowest.
    pub max_ns: u64,
    /// Mean.
    pub mean_ns: u64,
}

impl LatencyStats {
    /// The percentiles of a histogram (all zero when it is empty).
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencyStats::default();
        }
        LatencyStats {
            count: h.len(),
            p50_ns: h.value_at_quantile(0.5),
            p90_ns: h.value_at_quantile(0.9),
            p99_ns: h.value_at_quantile(0.99),
            p999_ns: h.value_at_quantile(0.999),
            max_ns: h.max(),
            mean_ns: h.mean() as u64,
        }
    }
}

/// Counts and latencies per operation kind, plus `all`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct OperationStats {
    /// Counts per kind name, and under `all`.
    pub counts: BTreeMap<String, OpCounts>,
    /// Latency per kind name, and under `all`.
    pub latency: BTreeMap<String, LatencyStats>,
}

/// A histogram of nanoseconds from 1 ns to one hour at three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

/// Counts every operation of `history` and measures the latency of the successful ones.
/// Open-loop clients issue operations regardless of earlier ones, so these latencies carry no
/// coordinated omission.
pub fn operation_stats(history: &History) -> OperationStats {
    let mut counts: BTreeMap<String, OpCounts> = BTreeMap::new();
    let mut hists: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    for e in history.entries() {
        for name in [e.op.kind().name(), "all"] {
            let c = counts.entry(name.to_string()).or_default();
            c.attempted += 1;
            match &e.outcome {
                Outcome::Ok(_) => {
                    c.ok += 1;
                    if let Some(ret) = e.ret {
                        let ns = (ret - e.call).as_nanos().clamp(1, 3_600_000_000_000);
                        hists.entry(name.to_string()).or_insert_with(new_histogram).record(ns).expect("in bounds");
                    }
                }
                Outcome::Failed(_) => c.failed += 1,
                Outcome::Unknown | Outcome::Pending => c.unknown += 1,
            }
        }
    }
    for c in counts.values_mut() {
        c.availability = if c.attempted == 0 { 1.0 } else { c.ok as f64 / c.attempted as f64 };
    }
    let latency = counts
        .keys()
        .map(|k| (k.clone(), hists.get(k).map(LatencyStats::from_histogram).unwrap_or_default()))
        .collect();
    OperationStats { counts, latency }
}

/// The `q`-quantile of sorted values by nearest rank (the default, 0, for an empty slice):
/// the one quantile rule of every report, sweep, comparison and check.
pub fn quantile<T: Copy + Default>(sorted: &[T], q: f64) -> T {
    if sorted.is_empty() {
        return T::default();
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::history::Output;
    use syncsim_sim::{NodeId, Op, SimTime};

    #[test]
    fn counts_availability_and_percentiles() {
        let mut h = History::new();
        for i in 0..100u64 {
            let id = h.call(0, NodeId(0), Op::Get { key: 0 }, SimTime(0));
            h.complete(id, SimTime((i + 1) * 1_000_000), Outcome::Ok(Output::Value(None)));
        }
        let id = h.call(0, NodeId(0), Op::Put { key: 0, value: 1 }, SimTime(0));
        h.complete(id, SimTime(5), Outcome::Failed("down".into()));
        h.call(0, NodeId(0), Op::Put { key: 0, value: 2 }, SimTime(0));
        h.close();
        let s = operation_stats(&h);
        assert_eq!(s.counts["all"].attempted, 102);
        assert_eq!(s.counts["put"].failed, 1);
        assert_eq!(s.counts["put"].unknown, 1);
        assert_eq!(s.counts["put"].availability, 0.0);
        let get = &s.latency["get"];
        assert_eq!(get.count, 100);
        assert!((get.p50_ns as f64 / 50e6 - 1.0).abs() < 0.01, "{}", get.p50_ns);
        assert!((get.p99_ns as f64 / 99e6 - 1.0).abs() < 0.01, "{}", get.p99_ns);
        assert!((get.max_ns as f64 / 100e6 - 1.0).abs() < 0.001);
        assert_eq!(s.latency["put"].count, 0);
    }

    #[test]
    fn nearest_rank_quantiles() {
        let xs = [10, 20, 30, 40];
        assert_eq!(quantile(&xs, 0.5), 20);
        assert_eq!(quantile(&xs, 0.99), 40);
        assert_eq!(quantile(&xs, 0.0), 10);
        assert_eq!(quantile::<u64>(&[], 0.5), 0);
    }
}
