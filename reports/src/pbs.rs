//! Probabilistically Bounded Staleness (Bailis, Venkataraman, Franklin, Hellerstein and
//! Stoica, VLDB 2012): how likely a read is to return the latest committed write, against the
//! time `t` since that write committed (*t-visibility*).
//!
//! Judged from the values in the history alone, so it holds for any register store, including
//! one whose reads are served by replicas other than the node the client reached (a Dynamo
//! coordinator): a read of a key, called `t` after the latest write to that key that had
//! completed, is *consistent* when it returns that write or one not ordered before it in real
//! time (a write still in flight, or one concurrent with it). It is stale when it returns an
//! older write, or nothing. Put values are unique per request, so a value names its write.

use std::collections::BTreeMap;

use serde::Serialize;
use syncsim_sim::Key;
use syncsim_sim::history::{History, Op, Outcome, Output};

/// Upper edges of the curve's bins of `t`, in microseconds; the last bin is open.
const EDGES_US: &[u64] = &[
    250, 500, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 75_000, 100_000,
    200_000, 500_000, 1_000_000,
];

/// One judged read: how long after the latest completed write to its key it was called, and
/// whether it returned that write or a newer one.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Judged {
    /// Time from that write's completion to the read's call (ns).
    pub t_ns: u64,
    /// Whether the read returned that write or one not before it.
    pub consistent: bool,
}

/// The share of consistent reads among those called within one range of `t`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TPoint {
    /// Lower end of the range (ns).
    pub from_ns: u64,
    /// Upper end (ns); `u64::MAX` for the last, open range.
    pub to_ns: u64,
    /// Reads called in the range.
    pub reads: u64,
    /// Those that were consistent.
    pub consistent: u64,
    /// `consistent / reads`.
    pub fraction: f64,
}

/// t-visibility over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TVisibility {
    /// Reads judged: successful reads of a key some write to which had completed before.
    pub reads: u64,
    /// Those that returned the latest completed write or a newer one.
    pub consistent: u64,
    /// `consistent / reads` (1 when there were none).
    pub fraction: f64,
    /// The share consistent against the time since commit, over the bins that hold reads.
    pub curve: Vec<TPoint>,
}

/// What is known of one put: its completion (`None`: never completed).
#[derive(Copy, Clone, Debug)]
struct Put {
    ret: Option<u64>,
}

/// Judges every successful read of a register in `history`.
pub fn judge(history: &History) -> Vec<Judged> {
    let mut by_value: BTreeMap<(Key, u64), Put> = BTreeMap::new();
    // Per key, the completed puts as (completion, call).
    let mut completed: BTreeMap<Key, Vec<(u64, u64)>> = BTreeMap::new();
    for e in history.entries() {
        if let Op::Put { key, value } = e.op {
            let ret = matches!(e.outcome, Outcome::Ok(_)).then(|| e.ret.map(|r| r.0)).flatten();
            if !matches!(e.outcome, Outcome::Failed(_)) {
                by_value.insert((key, value), Put { ret });
            }
            if let Some(ret) = ret {
                completed.entry(key).or_default().push((ret, e.call.0));
            }
        }
    }
    // Sorted by completion, each with the latest call among the puts completed by then: a read
    // that returns a put completed before that call missed a write that followed it.
    let completed: BTreeMap<Key, Vec<(u64, u64)>> = completed
        .into_iter()
        .map(|(key, mut puts)| {
            puts.sort_unstable();
            let mut latest_call = 0;
            for p in &mut puts {
                latest_call = latest_call.max(p.1);
                p.1 = latest_call;
            }
            (key, puts)
        })
        .collect();
    let mut out = Vec::new();
    for e in history.entries() {
        let (Op::Get { key }, Outcome::Ok(Output::Value(value))) = (&e.op, &e.outcome) else { continue };
        let Some(puts) = completed.get(key) else { continue };
        let before = puts.partition_point(|&(ret, _)| ret < e.call.0);
        if before == 0 {
            continue;
        }
        let (last_ret, latest_call) = puts[before - 1];
        let consistent =
            value.and_then(|v| by_value.get(&(*key, v))).is_some_and(|p| p.ret.is_none_or(|r| r >= latest_call));
        out.push(Judged { t_ns: e.call.0 - last_ret, consistent });
    }
    out
}

/// t-visibility of `history`'s reads.
pub fn check(history: &History) -> TVisibility {
    let judged = judge(history);
    let mut bins = vec![(0u64, 0u64); EDGES_US.len() + 1];
    for j in &judged {
        let bin = EDGES_US.partition_point(|&edge| edge * 1000 <= j.t_ns);
        bins[bin].0 += 1;
        bins[bin].1 += u64::from(j.consistent);
    }
    let curve = bins
        .iter()
        .enumerate()
        .filter(|(_, (reads, _))| *reads > 0)
        .map(|(i, &(reads, consistent))| TPoint {
            from_ns: if i == 0 { 0 } else { EDGES_US[i - 1] * 1000 },
            to_ns: EDGES_US.get(i).map_or(u64::MAX, |e| e * 1000),
            reads,
            consistent,
            fraction: consistent as f64 / reads as f64,
        })
        .collect();
    let reads = judged.len() as u64;
    let consistent = judged.iter().filter(|j| j.consistent).count() as u64;
    TVisibility { reads, consistent, fraction: if reads == 0 { 1.0 } else { consistent as f64 / reads as f64 }, curve }
}

impl TVisibility {
    /// The curve as chart points: (middle of each closed range of t in ms, percent
    /// consistent).
    pub fn chart_points(curve: &[TPoint]) -> Vec<(f64, f64)> {
        curve
            .iter()
            .filter(|p| p.to_ns != u64::MAX)
            .map(|p| ((p.from_ns + p.to_ns) as f64 / 2e6, p.fraction * 100.0))
            .collect()
    }

    /// Curves pooled: per range of t, the reads and consistent reads of all of them.
    pub fn pool<'a>(all: impl IntoIterator<Item = &'a TVisibility>) -> Vec<TPoint> {
        let mut bins: BTreeMap<(u64, u64), (u64, u64)> = BTreeMap::new();
        for t in all {
            for p in &t.curve {
                let b = bins.entry((p.from_ns, p.to_ns)).or_default();
                b.0 += p.reads;
                b.1 += p.consistent;
            }
        }
        bins.into_iter()
            .map(|((from_ns, to_ns), (reads, consistent))| TPoint {
                from_ns,
                to_ns,
                reads,
                consistent,
                fraction: consistent as f64 / reads as f64,
            })
            .collect()
    }

    /// The share of consistent reads among those called in the bin that holds `t_ns`, if any
    /// read was.
    pub fn at(&self, t_ns: u64) -> Option<f64> {
        self.curve.iter().find(|p| p.from_ns <= t_ns && t_ns < p.to_ns).map(|p| p.fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{NodeId, SimTime};

    fn op(h: &mut History, op: Op, call_ms: u64, ret_ms: u64, out: Output) {
        let id = h.call(0, NodeId(0), op, SimTime(call_ms * 1_000_000));
        h.complete(id, SimTime(ret_ms * 1_000_000), Outcome::Ok(out));
    }

    #[test]
    fn a_read_is_consistent_when_it_returns_the_latest_completed_write_or_a_newer_one() {
        let mut h = History::new();
        op(&mut h, Op::Put { key: 1, value: 10 }, 0, 2, Output::Done);
        op(&mut h, Op::Put { key: 1, value: 20 }, 5, 7, Output::Done);
        op(&mut h, Op::Get { key: 1 }, 8, 9, Output::Value(Some(20))); // latest: consistent, t = 1 ms
        op(&mut h, Op::Get { key: 1 }, 10, 11, Output::Value(Some(10))); // older: stale, t = 3 ms
        op(&mut h, Op::Get { key: 1 }, 12, 13, Output::Value(None)); // nothing: stale
        op(&mut h, Op::Put { key: 1, value: 30 }, 14, 40, Output::Done);
        op(&mut h, Op::Get { key: 1 }, 15, 16, Output::Value(Some(30))); // in flight: consistent
        op(&mut h, Op::Get { key: 2 }, 15, 16, Output::Value(None)); // never written: not judged
        op(&mut h, Op::Get { key: 1 }, 1, 3, Output::Value(None)); // before any commit: not judged
        let judged = judge(&h);
        let got: Vec<(u64, bool)> = judged.iter().map(|j| (j.t_ns / 1_000_000, j.consistent)).collect();
        assert_eq!(got, vec![(1, true), (3, false), (5, false), (8, true)]);
        let t = check(&h);
        assert_eq!((t.reads, t.consistent), (4, 2));
        assert_eq!(t.at(1_200_000), Some(1.0), "the 1–1.5 ms bin holds the one consistent read");
        assert_eq!(t.at(3_500_000), Some(0.0));
    }

    #[test]
    fn a_read_that_returns_a_write_overtaken_by_a_completed_one_is_stale_whatever_was_last() {
        // a [0, 2] then b [3, 4]; c [1, 10] overlaps both and completes last. A read at 11 that
        // returns a missed b, which began after a ended and completed before the read.
        let mut h = History::new();
        op(&mut h, Op::Put { key: 1, value: 10 }, 0, 2, Output::Done);
        op(&mut h, Op::Put { key: 1, value: 20 }, 3, 4, Output::Done);
        op(&mut h, Op::Put { key: 1, value: 30 }, 1, 10, Output::Done);
        op(&mut h, Op::Get { key: 1 }, 11, 12, Output::Value(Some(10)));
        op(&mut h, Op::Get { key: 1 }, 11, 12, Output::Value(Some(20)));
        op(&mut h, Op::Get { key: 1 }, 11, 12, Output::Value(Some(30)));
        let got: Vec<bool> = judge(&h).iter().map(|j| j.consistent).collect();
        assert_eq!(got, vec![false, true, true]);
    }
}
