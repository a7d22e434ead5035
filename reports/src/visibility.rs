//! t-visibility: how long until each write is readable at every live replica, and how many
//! gossip rounds that took.
//!
//! A replica counts a write as visible once it holds that write or something that superseded
//! it: exposures say how far along each of a key's write streams a replica is (see
//! [`Exposure`]), so an overwritten write still counts as having reached a replica that holds
//! what replaced it. Tracked online, one exposure at a time, so that large clusters need no
//! log of every exposure.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use syncsim_sim::history::{History, Op, Outcome};
use syncsim_sim::{Exposure, Key, NodeId, Placement, RequestId, SimDuration, SimTime};

use crate::latency::quantile;

/// A `seen` time meaning "never".
pub const UNSEEN: u64 = u64::MAX;

/// What the tracker knows of one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteTrace {
    /// The stream of its key it belongs to.
    pub stream: u32,
    /// Its stamp in that stream.
    pub stamp: u64,
    /// When each replica first held it or something later (ns); [`UNSEEN`] if never.
    pub seen: Vec<u64>,
}

/// What is known of one stream of a key.
#[derive(Clone, Debug)]
struct StreamState {
    /// Its writes in stamp order, as (stamp, index into `writes`): a set, since writes may
    /// arrive out of stamp order and inserting into the middle of a vector is linear.
    writes: BTreeSet<(u64, usize)>,
    /// The highest stamp each replica has exposed (0: none).
    replica: Vec<u64>,
}

/// Follows exposures as the run goes.
#[derive(Clone, Debug, Default)]
pub struct VisibilityTracker {
    nodes: usize,
    writes: Vec<WriteTrace>,
    index: BTreeMap<RequestId, usize>,
    streams: BTreeMap<(Key, u32), StreamState>,
}

impl VisibilityTracker {
    /// A tracker for a cluster of `nodes` replicas.
    pub fn new(nodes: usize) -> Self {
        VisibilityTracker { nodes, ..Default::default() }
    }

    /// Records that `node` now exposes `e` at `now`.
    pub fn expose(&mut self, now: SimTime, node: NodeId, e: &Exposure) {
        let nodes = self.nodes;
        let stream = self
            .streams
            .entry((e.key, e.stream))
            .or_insert_with(|| StreamState { writes: BTreeSet::new(), replica: vec![0; nodes] });
        if let Some(write) = e.write
            && let std::collections::btree_map::Entry::Vacant(slot) = self.index.entry(write)
        {
            // First sight of this write: replicas already past its stamp have it implicitly.
            let seen = stream.replica.iter().map(|&s| if s >= e.stamp { now.0 } else { UNSEEN }).collect();
            slot.insert(self.writes.len());
            stream.writes.insert((e.stamp, self.writes.len()));
            self.writes.push(WriteTrace { stream: e.stream, stamp: e.stamp, seen });
        }
        let old = stream.replica[node.index()];
        if e.stamp < old {
            return;
        }
        stream.replica[node.index()] = e.stamp;
        // Every write of this stream up to the new stamp is now visible here. Those up to
        // `old` already were (marked when the replica passed them, or when they were first
        // seen behind it), so each write is visited once per replica, not at every exposure.
        let past_old = std::ops::Bound::Excluded((old, usize::MAX));
        for &(_, w) in stream.writes.range((past_old, std::ops::Bound::Included((e.stamp, usize::MAX)))) {
            let seen = &mut self.writes[w].seen[node.index()];
            if *seen == UNSEEN {
                *seen = now.0;
            }
        }
    }

    /// What is known of the write of operation `id`, if any replica ever exposed it.
    pub fn write(&self, id: RequestId) -> Option<&WriteTrace> {
        self.index.get(&id).map(|&i| &self.writes[i])
    }

    /// Visibility statistics for the writes of `history`, over the replicas `live` at the end;
    /// `round` converts times to gossip rounds. `unheld` names acknowledged writes that no live
    /// replica's final state holds ([`crate::writes::unheld`]): they are lost whatever the
    /// exposures said, since a replica can lose what it once exposed (a crash whose durable
    /// state was incomplete).
    pub fn finish(
        &self,
        history: &History,
        live: &[bool],
        round: Option<SimDuration>,
        unheld: Option<&BTreeSet<RequestId>>,
        placement: Option<&Placement>,
        joined: &[SimTime],
    ) -> VisibilityStats {
        // Each key's holders, when the protocol partitions its data: a write need reach only
        // those.
        let mut holders: BTreeMap<Key, Vec<bool>> = BTreeMap::new();
        let mut everywhere = Vec::new();
        let mut per_replica = Vec::new();
        let mut rounds = Vec::new();
        let (mut writes, mut partial, mut lost) = (0u64, 0u64, 0u64);
        let mut missed = 0.0f64;
        let mut lost_ids = Vec::new();
        for e in history.entries() {
            // Only operations that wrote something: a compare-and-set that did not swap wrote
            // nothing.
            if !e.op.is_update() || e.outcome == Outcome::Ok(syncsim_sim::Output::Swapped(false)) {
                continue;
            }
            let acked = matches!(e.outcome, Outcome::Ok(_));
            if writes_nothing(&e.op) {
                continue;
            }
            let Some(w) = self.write(e.id) else {
                // Never exposed anywhere: lost if the client was told it succeeded.
                if acked {
                    writes += 1;
                    lost += 1;
                    missed += 1.0;
                    lost_ids.push(e.id.0);
                }
                continue;
            };
            writes += 1;
            if acked && unheld.is_some_and(|u| u.contains(&e.id)) {
                lost += 1;
                missed += 1.0;
                lost_ids.push(e.id.0);
                continue;
            }
            // A replica that joined after the write was made is timed from its joining: the
            // write could not reach it before it existed.
            let mut latest = 0u64;
            let (mut reached, mut live_count) = (0usize, 0usize);
            let holds = placement.map(|p| {
                let key = e.op.key();
                holders.entry(key).or_insert_with(|| {
                    let mut mask = vec![false; w.seen.len()];
                    p.holders(key).iter().for_each(|h| mask[h.index()] = true);
                    mask
                })
            });
            for (r, &t) in w.seen.iter().enumerate() {
                if !live.get(r).copied().unwrap_or(false) || holds.as_ref().is_some_and(|m| !m[r]) {
                    continue;
                }
                live_count += 1;
                if t != UNSEEN {
                    reached += 1;
                    let from = joined.get(r).map_or(e.call.0, |j| j.0.max(e.call.0));
                    latest = latest.max(t.saturating_sub(from));
                    per_replica.push(t.saturating_sub(from));
                }
            }
            if live_count > 0 {
                missed += (live_count - reached) as f64 / live_count as f64;
            }
            if live_count == 0 {
                // Every replica that holds its key is down: where it is cannot be told.
                partial += 1;
            } else if reached == live_count {
                let delay = latest;
                everywhere.push(delay);
                if let Some(r) = round.filter(|r| r.as_nanos() > 0) {
                    rounds.push(delay.div_ceil(r.as_nanos()));
                }
            } else if reached == 0 && acked {
                lost += 1;
                lost_ids.push(e.id.0);
            } else {
                partial += 1;
            }
        }
        everywhere.sort_unstable();
        per_replica.sort_unstable();
        rounds.sort_unstable();
        lost_ids.truncate(20);
        let within = |t: u64| {
            if writes == 0 { 1.0 } else { everywhere.partition_point(|&d| d <= t) as f64 / writes as f64 }
        };
        VisibilityStats {
            everywhere_within: WITHIN_GRID_MS
                .iter()
                .map(|&ms| Within { within_ns: ms * 1_000_000, fraction: within(ms * 1_000_000) })
                .collect(),
            writes,
            visible_everywhere: everywhere.len() as u64,
            visible_somewhere: partial,
            lost,
            lost_examples: lost_ids,
            fraction_everywhere: if writes == 0 { 1.0 } else { everywhere.len() as f64 / writes as f64 },
            residue: if writes == 0 { 0.0 } else { missed / writes as f64 },
            all_p50_ns: quantile(&everywhere, 0.5),
            all_p99_ns: quantile(&everywhere, 0.99),
            all_max_ns: everywhere.last().copied().unwrap_or(0),
            replica_p50_ns: quantile(&per_replica, 0.5),
            replica_p99_ns: quantile(&per_replica, 0.99),
            replica_max_ns: per_replica.last().copied().unwrap_or(0),
            rounds_p50: quantile(&rounds, 0.5),
            rounds_p99: quantile(&rounds, 0.99),
            rounds_max: rounds.last().copied().unwrap_or(0),
            rounds_mean: if rounds.is_empty() { 0.0 } else { rounds.iter().sum::<u64>() as f64 / rounds.len() as f64 },
            everywhere_delays_ns: everywhere,
        }
    }
}

/// An update that changes nothing (a counter step of 0) has nothing to show.
pub fn writes_nothing(op: &Op) -> bool {
    matches!(op, Op::Incr { by: 0, .. } | Op::Decr { by: 0, .. })
}

/// How fast writes spread, over the replicas live at the end of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VisibilityStats {
    /// Writes that took effect somewhere, or were acknowledged.
    pub writes: u64,
    /// Writes readable (or superseded) at every live replica by the end.
    pub visible_everywhere: u64,
    /// Writes that reached some live replicas but not all.
    pub visible_somewhere: u64,
    /// Acknowledged writes that no live replica holds at the end (data loss): never exposed
    /// by a live replica, or absent (and not superseded) from every live replica's final state.
    pub lost: u64,
    /// Request ids of up to 20 lost writes.
    pub lost_examples: Vec<u64>,
    /// `visible_everywhere / writes`.
    pub fraction_everywhere: f64,
    /// The mean share of live replicas a write never reached (Demers et al.'s "residue").
    pub residue: f64,
    /// Median time from a write's call until every live replica had it.
    pub all_p50_ns: u64,
    /// 99th percentile of the same.
    pub all_p99_ns: u64,
    /// Slowest write to reach every live replica.
    pub all_max_ns: u64,
    /// Median time from a write's call until one replica had it (over every replica).
    pub replica_p50_ns: u64,
    /// 99th percentile of the same.
    pub replica_p99_ns: u64,
    /// Slowest a write took to reach any one replica.
    pub replica_max_ns: u64,
    /// Median gossip rounds until every live replica had a write: the time from the write's
    /// call until the last live replica had it, in round intervals, rounded up. With aligned
    /// rounds (`phase: aligned`) this counts rounds exactly; with random phases it is the
    /// same time measured in rounds.
    pub rounds_p50: u64,
    /// 99th percentile of the same.
    pub rounds_p99: u64,
    /// Most rounds any write needed.
    pub rounds_max: u64,
    /// Mean rounds.
    pub rounds_mean: f64,
    /// The fraction of writes visible at every live replica within each of a fixed set of
    /// times after their call (probabilistically bounded staleness, as Bailis et al. put it).
    pub everywhere_within: Vec<Within>,
    /// Each write's time from call until every live replica had it, ascending.
    #[serde(skip)]
    pub everywhere_delays_ns: Vec<u64>,
}

impl VisibilityStats {
    /// The fraction of writes visible at every live replica within `t` of their call.
    pub fn fraction_within(&self, t: SimDuration) -> f64 {
        if self.writes == 0 {
            return 1.0;
        }
        self.everywhere_delays_ns.partition_point(|&d| d <= t.as_nanos()) as f64 / self.writes as f64
    }
}

/// The times, in milliseconds, at which `everywhere_within` is reported.
const WITHIN_GRID_MS: [u64; 16] =
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 60_000, 300_000];

/// The share of writes visible everywhere within a time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Within {
    /// The time after each write's call (ns).
    pub within_ns: u64,
    /// The fraction of writes visible at every live replica by then.
    pub fraction: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::history::Output;

    fn exp(key: Key, write: u64, stamp: u64) -> Exposure {
        Exposure { key, stream: 0, write: Some(RequestId(write)), stamp }
    }

    #[test]
    fn a_later_write_makes_an_earlier_one_visible() {
        let mut h = History::new();
        let w0 = h.call(0, NodeId(0), Op::Put { key: 1, value: 1 }, SimTime(0));
        h.complete(w0, SimTime(1), Outcome::Ok(Output::Done));
        let w1 = h.call(1, NodeId(1), Op::Put { key: 1, value: 2 }, SimTime(10));
        h.complete(w1, SimTime(11), Outcome::Ok(Output::Done));
        let mut t = VisibilityTracker::new(3);
        t.expose(SimTime(0), NodeId(0), &exp(1, 0, 5));
        t.expose(SimTime(10), NodeId(1), &exp(1, 1, 9));
        // Replica 2 only ever sees the later write; replica 0 learns it too.
        t.expose(SimTime(30), NodeId(2), &exp(1, 1, 9));
        t.expose(SimTime(40), NodeId(0), &exp(1, 1, 9));
        let s = t.finish(&h, &[true, true, true], Some(SimDuration(10)), None, None, &[]);
        assert_eq!(s.writes, 2);
        assert_eq!(s.visible_everywhere, 2);
        // w0 reaches replica 1 through w1 at t=10 and replica 2 at t=30 (delay 30);
        // w1, called at t=10, reaches its last replica at t=40 (delay 30).
        assert_eq!(s.all_max_ns, 40 - 10, "w1 reached the last replica at t=40");
        assert_eq!(s.rounds_max, 3);
        // w0 took 30 ns, w1 30 ns: neither within 29 ns, both within 30.
        assert_eq!(s.fraction_within(SimDuration(29)), 0.0);
        assert_eq!(s.fraction_within(SimDuration(30)), 1.0);
    }

    #[test]
    fn streams_of_a_key_are_independent_and_remote_replicas_need_not_name_writes() {
        let mut h = History::new();
        let a = h.call(0, NodeId(0), Op::Add { key: 1, elem: 7 }, SimTime(0));
        h.complete(a, SimTime(1), Outcome::Ok(Output::Done));
        let b = h.call(1, NodeId(1), Op::Add { key: 1, elem: 8 }, SimTime(0));
        h.complete(b, SimTime(1), Outcome::Ok(Output::Done));
        let mut t = VisibilityTracker::new(2);
        // Each origin's first dot: stream = origin, stamp 1.
        t.expose(SimTime(0), NodeId(0), &Exposure { key: 1, stream: 0, write: Some(a), stamp: 1 });
        t.expose(SimTime(0), NodeId(1), &Exposure { key: 1, stream: 1, write: Some(b), stamp: 1 });
        // Node 1 merges node 0's state: it only knows how far stream 0 has reached.
        t.expose(SimTime(50), NodeId(1), &Exposure { key: 1, stream: 0, write: None, stamp: 1 });
        let s = t.finish(&h, &[true, true], None, None, None, &[]);
        assert_eq!((s.visible_everywhere, s.visible_somewhere), (1, 1), "b never reached node 0");
        assert_eq!(t.write(a).unwrap().seen, vec![0, 50]);
        assert_eq!(t.write(b).unwrap().seen, vec![UNSEEN, 0]);
    }

    #[test]
    fn acknowledged_writes_held_by_no_live_replica_are_lost() {
        let mut h = History::new();
        let w = h.call(0, NodeId(0), Op::Put { key: 1, value: 1 }, SimTime(0));
        h.complete(w, SimTime(1), Outcome::Ok(Output::Done));
        let mut t = VisibilityTracker::new(2);
        t.expose(SimTime(0), NodeId(0), &exp(1, 0, 5));
        let s = t.finish(&h, &[false, true], None, None, None, &[]);
        assert_eq!(s.lost, 1);
        assert_eq!(s.lost_examples, vec![0]);
        let s = t.finish(&h, &[true, true], None, None, None, &[]);
        assert_eq!((s.lost, s.visible_somewhere), (0, 1));
    }

    /// Issue 14: a replica exposed a write, then lost it in a crash before passing it on. The
    /// exposures still credit it; the final states do not hold it, so it is lost.
    #[test]
    fn a_write_no_final_state_holds_is_lost_whatever_was_exposed() {
        let mut h = History::new();
        let w = h.call(0, NodeId(0), Op::Put { key: 1, value: 1 }, SimTime(0));
        h.complete(w, SimTime(1), Outcome::Ok(Output::Done));
        let mut t = VisibilityTracker::new(2);
        t.expose(SimTime(0), NodeId(0), &exp(1, 0, 5));
        let gone: Vec<Option<Vec<(Key, Output)>>> = vec![Some(vec![]), Some(vec![])];
        let index = crate::writes::WriteIndex::new(&h, &t);
        let unheld = crate::writes::unheld(&index, syncsim_sim::Datatype::KeyValue, &gone).unwrap();
        let s = t.finish(&h, &[true, true], None, Some(&unheld), None, &[]);
        assert_eq!((s.lost, s.visible_somewhere, s.lost_examples.clone()), (1, 0, vec![0]));
        let kept = vec![Some(vec![(1, Output::Value(Some(1)))]), Some(vec![])];
        let unheld = crate::writes::unheld(&index, syncsim_sim::Datatype::KeyValue, &kept).unwrap();
        let s = t.finish(&h, &[true, true], None, Some(&unheld), None, &[]);
        assert_eq!((s.lost, s.visible_somewhere), (0, 1));
    }

    #[test]
    fn a_replica_already_ahead_sees_a_late_registered_write_at_once() {
        let mut h = History::new();
        h.call(0, NodeId(0), Op::Put { key: 1, value: 1 }, SimTime(0));
        h.call(1, NodeId(1), Op::Put { key: 1, value: 2 }, SimTime(0));
        let mut t = VisibilityTracker::new(2);
        t.expose(SimTime(5), NodeId(1), &exp(1, 1, 9));
        t.expose(SimTime(7), NodeId(0), &exp(1, 0, 3)); // loses to stamp 9 everywhere
        t.expose(SimTime(8), NodeId(0), &exp(1, 1, 9));
        h.close();
        let s = t.finish(&h, &[true, true], None, None, None, &[]);
        assert_eq!(s.visible_everywhere, 2);
        assert_eq!(s.all_max_ns, 8);
    }

    /// A stream as the old tracker kept it: writes as (stamp, index) sorted by stamp, and each
    /// replica's highest stamp.
    type VecStream = (Vec<(u64, usize)>, Vec<u64>);

    /// The tracker as it was: a stream's writes in a vector kept sorted by inserting into its
    /// middle, and every write from the old stamp on visited at each exposure.
    #[derive(Default)]
    struct VecTracker {
        nodes: usize,
        writes: Vec<WriteTrace>,
        index: BTreeMap<RequestId, usize>,
        streams: BTreeMap<(Key, u32), VecStream>,
    }

    impl VecTracker {
        fn expose(&mut self, now: SimTime, node: NodeId, e: &Exposure) {
            let nodes = self.nodes;
            let (writes, replica) =
                self.streams.entry((e.key, e.stream)).or_insert_with(|| (Vec::new(), vec![0; nodes]));
            if let Some(write) = e.write
                && let std::collections::btree_map::Entry::Vacant(slot) = self.index.entry(write)
            {
                let seen = replica.iter().map(|&s| if s >= e.stamp { now.0 } else { UNSEEN }).collect();
                slot.insert(self.writes.len());
                let pos = writes.partition_point(|&(s, _)| s < e.stamp);
                writes.insert(pos, (e.stamp, self.writes.len()));
                self.writes.push(WriteTrace { stream: e.stream, stamp: e.stamp, seen });
            }
            let old = replica[node.index()];
            if e.stamp < old {
                return;
            }
            replica[node.index()] = e.stamp;
            let upto = writes.partition_point(|&(s, _)| s <= e.stamp);
            let from = writes.partition_point(|&(s, _)| s < old);
            for &(_, w) in &writes[from..upto] {
                let seen = &mut self.writes[w].seen[node.index()];
                if *seen == UNSEEN {
                    *seen = now.0;
                }
            }
        }
    }

    #[test]
    fn the_set_of_writes_tracks_what_the_sorted_vector_tracked() {
        let mut next = crate::writes::tests::xorshift(0x5851_f42d_4c95_7f2d);
        let mut out_of_order = 0u32;
        for _ in 0..300 {
            let mut fast = VisibilityTracker::new(3);
            let mut slow = VecTracker { nodes: 3, ..VecTracker::default() };
            let mut ids = 0u64;
            let mut highest: BTreeMap<(Key, u32), u64> = BTreeMap::new();
            for _ in 0..next(40) {
                let (key, stream) = (next(2), next(2) as u32);
                // Stamps from 0, repeating, out of order; times out of order too.
                let stamp = next(8);
                let write = (next(2) == 0).then(|| {
                    ids += 1;
                    RequestId(ids)
                });
                let top = highest.entry((key, stream)).or_default();
                out_of_order += u32::from(write.is_some() && stamp < *top);
                *top = (*top).max(stamp);
                let e = Exposure { key, stream, write, stamp };
                let (at, node) = (SimTime(next(50)), NodeId(next(3) as u32));
                fast.expose(at, node, &e);
                slow.expose(at, node, &e);
            }
            for id in 0..=ids {
                let want = slow.index.get(&RequestId(id)).map(|&i| &slow.writes[i]);
                assert_eq!(fast.write(RequestId(id)), want);
            }
        }
        assert!(out_of_order > 500, "writes arriving below a stamp already seen: {out_of_order}");
    }
}
