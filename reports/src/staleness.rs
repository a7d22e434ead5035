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

/// A successful read as staleness judges it: its call and return times, and its position
/// among the reads.
type ReadAt = (u64, u64, usize);

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
///
/// A read at replica `r` that began at `c` and answered at `a` missed the updates with
/// completion before `c` and first seen at `r` after `a`: a dominance count. Per key and
/// replica, reads are taken in order of `c` while updates are inserted in order of
/// completion into a Fenwick tree over their seen-at-`r` times, so the whole check is
/// O(n log n) in the history, not a scan of every earlier write per read.
pub fn check(history: &History, visibility: &VisibilityTracker, name: impl Fn(usize) -> String) -> StalenessStats {
    // Per key, the acknowledged updates that took effect, as (completion time, visibility).
    let mut updates: BTreeMap<Key, Vec<Completed>> = BTreeMap::new();
    // Per key and serving replica, the successful reads as (call, return, position in `reads`).
    let mut reads_by: BTreeMap<(Key, usize), Vec<ReadAt>> = BTreeMap::new();
    let mut reads = Vec::new();
    for e in history.entries() {
        let (Outcome::Ok(_), Some(ret)) = (&e.outcome, e.ret) else { continue };
        if matches!(e.op.kind(), OpKind::Get | OpKind::Read) {
            let at = (e.op.key(), e.node.index());
            reads_by.entry(at).or_default().push((e.call.0, ret.0, reads.len()));
            reads.push(e);
        } else if let Some(w) = visibility.write(e.id).filter(|_| e.op.is_update() && !writes_nothing(&e.op)) {
            updates.entry(e.op.key()).or_default().push((ret.0, e.id.0, &w.seen));
        }
    }
    for list in updates.values_mut() {
        list.sort_unstable_by_key(|&(ret, id, _)| (ret, id));
    }
    // Per read: versions missed, and the index (in its key's list) of the oldest one missed.
    let mut judged = vec![(0u64, None::<usize>); reads.len()];
    for (&(key, node), at_node) in &mut reads_by {
        let list = updates.get(&key).map_or(&[][..], Vec::as_slice);
        if list.is_empty() {
            continue;
        }
        let seen_here = |u: &Completed| u.2.get(node).copied().unwrap_or(UNSEEN);
        let mut ranks: Vec<u64> = list.iter().map(seen_here).collect();
        ranks.sort_unstable();
        ranks.dedup();
        let mut later_seen = Fenwick::new(ranks.len());
        at_node.sort_unstable_by_key(|&(call, _, i)| (call, i));
        let mut inserted = 0;
        for &(call, ret, i) in at_node.iter() {
            while inserted < list.len() && list[inserted].0 < call {
                // Ranks counted from the latest seen time, so "seen after `ret`" is a prefix.
                let rank = ranks.len() - 1 - ranks.partition_point(|&t| t < seen_here(&list[inserted]));
                later_seen.add(rank, inserted);
                inserted += 1;
            }
            let later = ranks.len() - ranks.partition_point(|&t| t <= ret);
            judged[i] = later_seen.prefix(later);
        }
    }
    let mut out = StalenessStats::default();
    let mut missed_all = Vec::with_capacity(reads.len());
    let mut lags = Vec::new();
    for (e, &(missed, oldest)) in reads.iter().zip(&judged) {
        out.reads += 1;
        missed_all.push(missed);
        let Some(oldest) = oldest else { continue };
        let (done, id, _) = updates[&e.op.key()][oldest];
        out.stale += 1;
        let lag = e.call.0 - done;
        lags.push(lag);
        if out.examples.len() < EXAMPLES {
            out.examples.push(StaleRead {
                read: e.id.0,
                key: e.op.key(),
                node: name(e.node.index()),
                missed,
                oldest_missed: id,
                lag_ns: lag,
            });
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

/// A Fenwick tree of (count, least index) over ranks: `add` puts one update at a rank,
/// `prefix` counts the updates at ranks below `end` and finds the earliest of them.
struct Fenwick {
    cells: Vec<(u64, Option<usize>)>,
}

impl Fenwick {
    fn new(len: usize) -> Self {
        Fenwick { cells: vec![(0, None); len + 1] }
    }

    fn add(&mut self, rank: usize, index: usize) {
        let mut at = rank + 1;
        while at < self.cells.len() {
            let cell = &mut self.cells[at];
            cell.0 += 1;
            cell.1 = Some(cell.1.map_or(index, |least| least.min(index)));
            at += at & at.wrapping_neg();
        }
    }

    fn prefix(&self, end: usize) -> (u64, Option<usize>) {
        let (mut count, mut least) = (0, None::<usize>);
        let mut at = end;
        while at > 0 {
            let (c, l) = self.cells[at];
            count += c;
            least = match (least, l) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            at &= at - 1;
        }
        (count, least)
    }
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

    /// The straightforward scan the tree replaced: per read, every update completed before
    /// it began that its replica had not yet seen when it answered.
    fn by_scanning(history: &History, vis: &VisibilityTracker) -> Vec<(u64, u64, Option<u64>)> {
        let updates: Vec<_> = history
            .entries()
            .iter()
            .filter(|e| e.op.is_update() && matches!(e.outcome, Outcome::Ok(_)))
            .filter_map(|e| Some((e.op.key(), e.ret?.0, e.id.0, &vis.write(e.id)?.seen)))
            .collect();
        let mut out = Vec::new();
        for e in history.entries() {
            let (Outcome::Ok(_), Some(ret), OpKind::Get) = (&e.outcome, e.ret, e.op.kind()) else { continue };
            let mut missed: Vec<_> = updates
                .iter()
                .filter(|u| u.0 == e.op.key() && u.1 < e.call.0 && u.3[e.node.index()] > ret.0)
                .map(|u| (u.1, u.2))
                .collect();
            missed.sort_unstable();
            out.push((e.id.0, missed.len() as u64, missed.first().map(|m| m.1)));
        }
        out
    }

    #[test]
    fn the_tree_counts_what_a_scan_of_every_earlier_write_counts() {
        // A small deterministic generator: the test needs varied histories, not good randomness.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |below: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % below
        };
        for _ in 0..40 {
            let mut history = History::new();
            let mut vis = VisibilityTracker::new(3);
            let mut stamps = [0u64; 3];
            for _ in 0..60 {
                let (t, key, node) = (next(1000), next(3), next(3) as u32);
                if next(2) == 0 {
                    stamps[key as usize] += 1;
                    let stamp = stamps[key as usize];
                    let w = history.call(0, NodeId(node), Op::Put { key, value: stamp }, SimTime(t));
                    history.complete(w, SimTime(t + next(50)), Outcome::Ok(Output::Done));
                    for replica in 0..3u32 {
                        let at = SimTime(t + next(300));
                        vis.expose(at, NodeId(replica), &Exposure { key, stream: 0, write: Some(w), stamp });
                    }
                } else {
                    let r = history.call(1, NodeId(node), Op::Get { key }, SimTime(t));
                    history.complete(r, SimTime(t + next(50)), Outcome::Ok(Output::Value(None)));
                }
            }
            let s = check(&history, &vis, |n| format!("n{n}"));
            let scanned = by_scanning(&history, &vis);
            let stale: Vec<_> = scanned.iter().filter(|r| r.1 > 0).collect();
            assert_eq!(s.reads, scanned.len() as u64);
            assert_eq!(s.stale, stale.len() as u64);
            assert_eq!(s.missed_max, scanned.iter().map(|r| r.1).max().unwrap_or(0));
            for (example, want) in s.examples.iter().zip(&stale) {
                assert_eq!((example.read, example.missed, Some(example.oldest_missed)), (want.0, want.1, want.2));
            }
        }
    }
}
