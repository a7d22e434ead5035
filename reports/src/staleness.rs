//! Read staleness: per read, the updates to its key that had completed before the read began
//! but were not yet visible at the replica that served it by the time it answered.
//!
//! A read that misses such an update is *stale*; the number it misses is how many versions
//! behind it was. Judged from the exposures the run recorded, so an update counts as visible
//! once the replica held it or something that superseded it.

use std::collections::BTreeMap;

use serde::Serialize;
use syncsim_sim::Key;
use syncsim_sim::history::{History, OpKind, Outcome};

use crate::latency::quantile;
use crate::visibility::{UNSEEN, VisibilityTracker, writes_nothing};

/// An acknowledged update as staleness sees it: when it completed, its id, and when each
/// replica first held it.
type Completed<'a> = (u64, u64, &'a [u64]);

/// How many stale reads a report names.
const EXAMPLES: usize = 10;

/// One stale read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StaleRead {
    /// The read's request id.
    pub read: u64,
    /// The key read.
    pub key: Key,
    /// The replica that served it.
    pub node: String,
    /// Updates it missed.
    pub missed: u64,
    /// The earliest-completed update it missed.
    pub oldest_missed: u64,
    /// How long before the read began that update had completed (ns).
    pub lag_ns: u64,
}

/// How stale reads were.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StalenessStats {
    /// Successful reads judged.
    pub reads: u64,
    /// Reads that missed at least one update completed before they began.
    pub stale: u64,
    /// `stale / reads` (0 when there were no reads).
    pub fraction_stale: f64,
    /// Versions missed per read: median, 99th percentile and most, over all reads.
    pub missed_p50: u64,
    /// 99th percentile of versions missed.
    pub missed_p99: u64,
    /// Most versions missed by one read.
    pub missed_max: u64,
    /// How long before a stale read began its oldest missed update had completed (ns): the
    /// 99th percentile and the most, over stale reads.
    pub lag_p99_ns: u64,
    /// The longest such lag (ns).
    pub lag_max_ns: u64,
    /// The first stale reads.
    pub examples: Vec<StaleRead>,
}

/// Judges every successful read of `history` against the updates completed before it began;
/// `name` names nodes.
pub fn check(history: &History, visibility: &VisibilityTracker, name: impl Fn(usize) -> String) -> StalenessStats {
    // Per key, the acknowledged updates that took effect, as (completion time, visibility).
    let mut updates: BTreeMap<Key, Vec<Completed>> = BTreeMap::new();
    for e in history.entries() {
        if !e.op.is_update() || writes_nothing(&e.op) {
            continue;
        }
        let (Outcome::Ok(_), Some(ret)) = (&e.outcome, e.ret) else { continue };
        if let Some(w) = visibility.write(e.id) {
            updates.entry(e.op.key()).or_default().push((ret.0, e.id.0, &w.seen));
        }
    }
    for list in updates.values_mut() {
        list.sort_unstable_by_key(|&(ret, id, _)| (ret, id));
    }
    let mut out = StalenessStats::default();
    let mut missed_all = Vec::new();
    let mut lags = Vec::new();
    for e in history.entries() {
        if !matches!(e.op.kind(), OpKind::Get | OpKind::Read) {
            continue;
        }
        let (Outcome::Ok(_), Some(ret)) = (&e.outcome, e.ret) else { continue };
        out.reads += 1;
        let list = updates.get(&e.op.key()).map_or(&[][..], Vec::as_slice);
        let before = &list[..list.partition_point(|&(done, _, _)| done < e.call.0)];
        let node = e.node.index();
        let mut missed = 0u64;
        let mut oldest = None;
        for &(done, id, seen) in before {
            if seen.get(node).copied().unwrap_or(UNSEEN) > ret.0 {
                missed += 1;
                oldest.get_or_insert((done, id));
            }
        }
        missed_all.push(missed);
        if let Some((done, id)) = oldest {
            out.stale += 1;
            let lag = e.call.0 - done;
            lags.push(lag);
            if out.examples.len() < EXAMPLES {
                out.examples.push(StaleRead {
                    read: e.id.0,
                    key: e.op.key(),
                    node: name(node),
                    missed,
                    oldest_missed: id,
                    lag_ns: lag,
                });
            }
        }
    }
    missed_all.sort_unstable();
    lags.sort_unstable();
    out.fraction_stale = if out.reads == 0 { 0.0 } else { out.stale as f64 / out.reads as f64 };
    out.missed_p50 = quantile(&missed_all, 0.5);
    out.missed_p99 = quantile(&missed_all, 0.99);
    out.missed_max = missed_all.last().copied().unwrap_or(0);
    out.lag_p99_ns = quantile(&lags, 0.99);
    out.lag_max_ns = lags.last().copied().unwrap_or(0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{Exposure, NodeId, Op, Output, SimTime};

    #[test]
    fn a_read_missing_an_update_completed_before_it_began_is_stale() {
        let mut history = History::new();
        let mut vis = VisibilityTracker::new(2);
        let expose = |vis: &mut VisibilityTracker, t, node, write, stamp| {
            vis.expose(SimTime(t), NodeId(node), &Exposure { key: 1, stream: 0, write, stamp });
        };
        for (t, value, stamp, reaches_n1) in [(10, 1, 1, 50), (12, 2, 2, 60)] {
            let w = history.call(0, NodeId(0), Op::Put { key: 1, value }, SimTime(t));
            history.complete(w, SimTime(t + 1), Outcome::Ok(Output::Done));
            expose(&mut vis, t, 0, Some(w), stamp);
            expose(&mut vis, reaches_n1, 1, None, stamp);
        }
        // Begins after both writes completed, answers before n1 has either: two versions behind.
        let stale = history.call(1, NodeId(1), Op::Get { key: 1 }, SimTime(20));
        history.complete(stale, SimTime(22), Outcome::Ok(Output::Value(None)));
        // Answers once n1 has the first write only: one behind.
        let behind = history.call(1, NodeId(1), Op::Get { key: 1 }, SimTime(52));
        history.complete(behind, SimTime(53), Outcome::Ok(Output::Value(Some(1))));
        // Began before the writes completed: not stale, whatever it saw.
        let early = history.call(1, NodeId(1), Op::Get { key: 1 }, SimTime(5));
        history.complete(early, SimTime(6), Outcome::Ok(Output::Value(None)));
        let fresh = history.call(1, NodeId(1), Op::Get { key: 1 }, SimTime(70));
        history.complete(fresh, SimTime(71), Outcome::Ok(Output::Value(Some(2))));
        let s = check(&history, &vis, |n| format!("n{n}"));
        assert_eq!((s.reads, s.stale), (4, 2));
        assert_eq!(s.missed_max, 2);
        let missed: Vec<(u64, u64)> = s.examples.iter().map(|e| (e.read, e.missed)).collect();
        assert_eq!(missed, vec![(stale.0, 2), (behind.0, 1)]);
        assert_eq!(s.examples[0].lag_ns, 20 - 11, "the oldest missed write completed at 11");
    }
}
