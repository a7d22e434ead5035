//! Session guarantees (Terry et al., "Session guarantees for weakly consistent replicated
//! data", PDIS 1994), judged per client from the history and the exposures:
//!
//! - **read your writes**: a read of a key returns the client's latest earlier write to it, or
//!   a write that superseded it;
//! - **monotonic reads**: a read of a key returns what the client's previous read of it
//!   returned, or a write that superseded it;
//! - **monotonic writes**: no replica holds a client's write before its earlier writes; judged
//!   where readers can see it, when a read at a replica returns a client's write and that
//!   replica does not yet hold the client's earlier write.
//!
//! "Earlier" is the client's session order: an operation precedes another when it returned
//! before the other was called (open-loop clients may have several operations in flight; those
//! are not ordered). Which write supersedes which is [`crate::writes::WriteIndex::covers`]:
//! causal order first, then the protocol's own stamp order. Reads are judged on registers
//! (put, get, compare-and-set; multi-value registers read every value left standing).
//!
//! A violation is a fact about what clients saw, not always a bug: a store without session
//! support that sends a client's operations to different replicas breaks these guarantees by
//! design. A scenario asserts them where the protocol promises them, e.g.
//! `session.read_your_writes: 0`.

use std::collections::BTreeMap;

use serde::Serialize;
use syncsim_sim::history::{Entry, Op, Outcome, Output};
use syncsim_sim::{Key, RequestId};

use crate::visibility::UNSEEN;
use crate::writes::{WriteIndex, acked_write};

/// How many violations of each guarantee a report names.
const EXAMPLES: usize = 10;

/// Violations are counted in buckets of this many nanoseconds for the chart.
const BUCKET_NS: u64 = 1_000_000_000;

/// The buckets while checking, by start time.
type Buckets = BTreeMap<u64, SessionBucket>;

/// Which guarantee.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guarantee {
    /// Read your writes.
    ReadYourWrites,
    /// Monotonic reads.
    MonotonicReads,
    /// Monotonic writes.
    MonotonicWrites,
}

impl Guarantee {
    /// Every guarantee, in report order.
    pub const ALL: [Guarantee; 3] = [Guarantee::ReadYourWrites, Guarantee::MonotonicReads, Guarantee::MonotonicWrites];

    /// Its name in metrics (`session.<name>`) and `report.json`.
    pub fn name(self) -> &'static str {
        match self {
            Guarantee::ReadYourWrites => "read_your_writes",
            Guarantee::MonotonicReads => "monotonic_reads",
            Guarantee::MonotonicWrites => "monotonic_writes",
        }
    }

    /// The guarantee in words.
    pub fn words(self) -> &'static str {
        match self {
            Guarantee::ReadYourWrites => "read your writes",
            Guarantee::MonotonicReads => "monotonic reads",
            Guarantee::MonotonicWrites => "monotonic writes",
        }
    }
}

/// One broken guarantee.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionViolation {
    /// Which guarantee.
    pub guarantee: Guarantee,
    /// The client.
    pub client: u32,
    /// The operation that saw too little (a read), or the write a replica held too early.
    pub op: u64,
    /// The earlier operation of the session it should have reflected.
    pub earlier: u64,
    /// When the violating operation was called (ns).
    pub at_ns: u64,
    /// In words.
    pub message: String,
}

/// Violations of each guarantee within one second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionBucket {
    /// Start of the second (ns).
    pub t_ns: u64,
    /// Read-your-writes violations.
    pub read_your_writes: u64,
    /// Monotonic-reads violations.
    pub monotonic_reads: u64,
    /// Monotonic-writes violations.
    pub monotonic_writes: u64,
}

/// The session-guarantee verdict of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SessionStats {
    /// Reads that followed a write of their client to their key.
    pub ryw_reads: u64,
    /// Of those, reads that did not reflect it.
    pub read_your_writes: u64,
    /// `read_your_writes / ryw_reads` (0 with no such read).
    pub read_your_writes_share: f64,
    /// Reads that followed a read of their client of their key.
    pub mr_reads: u64,
    /// Of those, reads that went back.
    pub monotonic_reads: u64,
    /// `monotonic_reads / mr_reads`.
    pub monotonic_reads_share: f64,
    /// Writes that followed a write of their client.
    pub mw_writes: u64,
    /// Of those, writes a read saw at a replica that did not yet hold the earlier one.
    pub monotonic_writes: u64,
    /// `monotonic_writes / mw_writes`.
    pub monotonic_writes_share: f64,
    /// The first violations of each guarantee.
    pub examples: Vec<SessionViolation>,
    /// Seconds with violations, for the chart.
    pub per_second: Vec<SessionBucket>,
}

impl SessionStats {
    /// Violations of `g`.
    pub fn violations(&self, g: Guarantee) -> u64 {
        match g {
            Guarantee::ReadYourWrites => self.read_your_writes,
            Guarantee::MonotonicReads => self.monotonic_reads,
            Guarantee::MonotonicWrites => self.monotonic_writes,
        }
    }

    /// Operations judged for `g`.
    pub fn judged(&self, g: Guarantee) -> u64 {
        match g {
            Guarantee::ReadYourWrites => self.ryw_reads,
            Guarantee::MonotonicReads => self.mr_reads,
            Guarantee::MonotonicWrites => self.mw_writes,
        }
    }

    /// Counts `v`, in its second's bucket of `buckets` (a map while checking: violations
    /// arrive out of time order, and inserting into the middle of `per_second` is linear; see
    /// [`finish`]).
    fn record(&mut self, buckets: &mut Buckets, v: SessionViolation) {
        let t = v.at_ns / BUCKET_NS * BUCKET_NS;
        let bucket = buckets.entry(t).or_insert_with(|| SessionBucket { t_ns: t, ..SessionBucket::default() });
        match v.guarantee {
            Guarantee::ReadYourWrites => {
                bucket.read_your_writes += 1;
                self.read_your_writes += 1;
            }
            Guarantee::MonotonicReads => {
                bucket.monotonic_reads += 1;
                self.monotonic_reads += 1;
            }
            Guarantee::MonotonicWrites => {
                bucket.monotonic_writes += 1;
                self.monotonic_writes += 1;
            }
        }
        if self.examples.iter().filter(|e| e.guarantee == v.guarantee).count() < EXAMPLES {
            self.examples.push(v);
        }
    }
}

/// What a register read returned: the values it saw (none for a register never written).
fn read_values(e: &Entry) -> Option<Vec<u64>> {
    match (&e.op, &e.outcome) {
        (Op::Get { .. }, Outcome::Ok(Output::Value(v))) => Some(v.iter().copied().collect()),
        (Op::Get { .. }, Outcome::Ok(Output::Elems(vs))) => Some(vs.clone()),
        _ => None,
    }
}

/// The last entry of `list` (ordered by return time) that returned before `t`.
fn last_before(list: &[(u64, RequestId)], t: u64) -> Option<RequestId> {
    let n = list.partition_point(|&(ret, _)| ret < t);
    n.checked_sub(1).map(|i| list[i].1)
}

/// Judges every client's session against the three guarantees, over the writes `index`
/// knows. `served_locally`: reads are answered by the replica the client reached (not so for
/// protocols that forward reads to a leader, where monotonic writes are not judged: the
/// history does not say which replica answered). `name` names nodes.
pub fn check(index: &WriteIndex, served_locally: bool, name: impl Fn(usize) -> String) -> SessionStats {
    let (history, tracker) = (index.history, index.tracker);
    let mut out = SessionStats::default();
    let mut buckets = Buckets::new();
    // Per client: its acknowledged writes by key, its acknowledged reads by key, and all its
    // acknowledged writes, each as (return time, id) in return order.
    type ByRet = Vec<(u64, RequestId)>;
    let mut writes: BTreeMap<(u32, Key), ByRet> = BTreeMap::new();
    let mut reads: BTreeMap<(u32, Key), ByRet> = BTreeMap::new();
    let mut all_writes: BTreeMap<u32, ByRet> = BTreeMap::new();
    for e in history.entries() {
        let Some(ret) = e.ret else { continue };
        if acked_write(e) {
            writes.entry((e.client, e.op.key())).or_default().push((ret.0, e.id));
            all_writes.entry(e.client).or_default().push((ret.0, e.id));
        } else if read_values(e).is_some() {
            reads.entry((e.client, e.op.key())).or_default().push((ret.0, e.id));
        }
    }
    for list in writes.values_mut().chain(reads.values_mut()).chain(all_writes.values_mut()) {
        list.sort_unstable();
    }
    let entry = |id: RequestId| history.get(id).expect("ids come from the history");
    let empty = Vec::new();
    for e in history.entries() {
        let Some(values) = read_values(e).filter(|_| e.ret.is_some()) else { continue };
        let (client, key) = (e.client, e.op.key());
        if let Some(w) = last_before(writes.get(&(client, key)).unwrap_or(&empty), e.call.0) {
            out.ryw_reads += 1;
            if !index.holds(&values, key, w) {
                out.record(&mut buckets, SessionViolation {
                    guarantee: Guarantee::ReadYourWrites,
                    client,
                    op: e.id.0,
                    earlier: w.0,
                    at_ns: e.call.0,
                    message: format!(
                        "read #{} of key {key} at {} returned {values:?}, not the client's write #{} ({}) or anything after it",
                        e.id.0,
                        name(e.node.index()),
                        w.0,
                        describe(&entry(w).op)
                    ),
                });
            }
        }
        if let Some(r) = last_before(reads.get(&(client, key)).unwrap_or(&empty), e.call.0) {
            // Each value the earlier read saw must still be there or superseded (a value a
            // script wrote twice is kept if either write is).
            let before = read_values(entry(r)).unwrap_or_default();
            let named: Vec<&[RequestId]> =
                before.iter().map(|&v| index.writers(key, v)).filter(|ws| !ws.is_empty()).collect();
            if !named.is_empty() {
                out.mr_reads += 1;
                if let Some(lost) = named.iter().find(|ws| !ws.iter().any(|&w| index.holds(&values, key, w))) {
                    out.record(&mut buckets, SessionViolation {
                        guarantee: Guarantee::MonotonicReads,
                        client,
                        op: e.id.0,
                        earlier: r.0,
                        at_ns: e.call.0,
                        message: format!(
                            "read #{} of key {key} returned {values:?}, older than the client's read #{} before it, \
                             which saw write #{}",
                            e.id.0, r.0, lost[0].0
                        ),
                    });
                }
            }
        }
    }
    if !served_locally {
        return finish(out, buckets);
    }
    // Monotonic writes, as readers can observe it: a read that sees a client's register write
    // at a replica that does not yet hold the client's earlier write. Judged once per write.
    let mut earlier_write: BTreeMap<RequestId, RequestId> = BTreeMap::new();
    for e in history.entries().iter().filter(|e| acked_write(e) && matches!(e.op, Op::Put { .. } | Op::Cas { .. })) {
        if let Some(w1) = last_before(all_writes.get(&e.client).unwrap_or(&empty), e.call.0) {
            out.mw_writes += 1;
            earlier_write.insert(e.id, w1);
        }
    }
    let mut judged: std::collections::BTreeSet<RequestId> = Default::default();
    for e in history.entries() {
        let (Some(values), Some(ret)) = (read_values(e), e.ret) else { continue };
        let key = e.op.key();
        for &v in &values {
            // A value several writes share does not say which one the replica held.
            let &[w2] = index.writers(key, v) else { continue };
            let Some(&w1) = earlier_write.get(&w2) else { continue };
            let held = tracker.write(w1).and_then(|t| t.seen.get(e.node.index()).copied()).unwrap_or(UNSEEN);
            if held <= ret.0 || !judged.insert(w2) {
                continue;
            }
            let writer = entry(w2);
            out.record(
                &mut buckets,
                SessionViolation {
                    guarantee: Guarantee::MonotonicWrites,
                    client: writer.client,
                    op: w2.0,
                    earlier: w1.0,
                    at_ns: e.call.0,
                    message: format!(
                        "read #{} at {} saw write #{} ({}) before that replica held the same client's earlier write \
                     #{} ({})",
                        e.id.0,
                        name(e.node.index()),
                        w2.0,
                        describe(&writer.op),
                        w1.0,
                        describe(&entry(w1).op)
                    ),
                },
            );
        }
    }
    finish(out, buckets)
}

/// Shares, example order and the buckets in time order, once every violation is counted.
fn finish(mut out: SessionStats, buckets: Buckets) -> SessionStats {
    out.per_second = buckets.into_values().collect();
    let share = |bad: u64, all: u64| if all == 0 { 0.0 } else { bad as f64 / all as f64 };
    out.read_your_writes_share = share(out.read_your_writes, out.ryw_reads);
    out.monotonic_reads_share = share(out.monotonic_reads, out.mr_reads);
    out.monotonic_writes_share = share(out.monotonic_writes, out.mw_writes);
    out.examples.sort_by_key(|v| (v.guarantee, v.at_ns, v.op));
    out
}

fn describe(op: &Op) -> String {
    format!("{} at key {}", crate::sec::op_words(op), op.key())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visibility::VisibilityTracker;
    use syncsim_sim::History;
    use syncsim_sim::{Exposure, NodeId, SimTime};

    struct Run {
        h: History,
        t: VisibilityTracker,
    }

    impl Run {
        fn new() -> Self {
            Run { h: History::new(), t: VisibilityTracker::new(2) }
        }
        fn put(&mut self, client: u32, node: u32, value: u64, at: u64, stamp: u64) -> RequestId {
            let id = self.h.call(client, NodeId(node), Op::Put { key: 1, value }, SimTime(at));
            self.h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Done));
            self.t.expose(SimTime(at), NodeId(node), &Exposure { key: 1, stream: 0, write: Some(id), stamp });
            id
        }
        fn reach(&mut self, node: u32, at: u64, stamp: u64) {
            self.t.expose(SimTime(at), NodeId(node), &Exposure { key: 1, stream: 0, write: None, stamp });
        }
        fn get(&mut self, client: u32, node: u32, at: u64, saw: Option<u64>) {
            let id = self.h.call(client, NodeId(node), Op::Get { key: 1 }, SimTime(at));
            self.h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Value(saw)));
        }
        fn check(&self) -> SessionStats {
            check(&WriteIndex::new(&self.h, &self.t), true, |n| format!("n{n}"))
        }
    }

    #[test]
    fn a_read_that_misses_the_clients_own_write_breaks_read_your_writes() {
        let mut r = Run::new();
        r.put(0, 0, 10, 10, 5);
        r.get(0, 0, 20, Some(10)); // its own write: fine
        r.get(0, 1, 30, None); // another replica that has nothing yet: broken
        let s = r.check();
        assert_eq!((s.ryw_reads, s.read_your_writes), (2, 1));
        assert_eq!(s.examples[0].guarantee, Guarantee::ReadYourWrites);
        // Going back to nothing after reading 10 also breaks monotonic reads.
        let both = SessionBucket { t_ns: 0, read_your_writes: 1, monotonic_reads: 1, monotonic_writes: 0 };
        assert_eq!(s.per_second, vec![both]);
    }

    #[test]
    fn a_later_write_by_another_client_satisfies_read_your_writes_an_older_one_does_not() {
        let mut r = Run::new();
        let _a = r.put(1, 1, 20, 5, 3); // client 1, older stamp, concurrent
        r.put(0, 0, 10, 10, 5);
        r.put(1, 1, 30, 12, 9); // client 1 again, newer stamp
        r.reach(0, 14, 9);
        r.get(0, 0, 20, Some(30));
        assert_eq!(r.check().read_your_writes, 0, "30 superseded 10");
        r.get(0, 0, 25, Some(20));
        assert_eq!(r.check().read_your_writes, 1, "20 is older than 10");
    }

    /// The planted gossip bug of issue 14: a merge that does not advance the clock, so the
    /// client's write is stamped below a write its replica already held, and loses to it.
    #[test]
    fn a_write_overwritten_by_one_its_replica_had_already_seen_breaks_read_your_writes() {
        let mut r = Run::new();
        r.put(1, 1, 20, 5, 9); // another client's write, stamp 9
        r.reach(0, 7, 9); // replica 0 holds it
        r.put(0, 0, 10, 10, 3); // stamped 3 after replica 0 had stamp 9
        r.get(0, 0, 20, Some(20));
        let s = r.check();
        assert_eq!(s.read_your_writes, 1, "the stamps say 20 is newer, causality says older");
    }

    #[test]
    fn reads_that_go_back_break_monotonic_reads() {
        let mut r = Run::new();
        r.put(1, 1, 10, 5, 3);
        r.put(1, 1, 20, 10, 7);
        r.get(0, 1, 20, Some(20));
        r.get(0, 0, 30, Some(10));
        r.get(0, 0, 40, None);
        let s = r.check();
        assert_eq!((s.mr_reads, s.monotonic_reads), (2, 2), "10 follows 20, then None follows 10");
    }

    #[test]
    fn a_read_that_sees_a_write_before_the_clients_earlier_one_breaks_monotonic_writes() {
        let mut h = History::new();
        let mut t = VisibilityTracker::new(2);
        let put = |h: &mut History, key, value, at| {
            let id = h.call(0, NodeId(0), Op::Put { key, value }, SimTime(at));
            h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Done));
            id
        };
        let (a, b) = (put(&mut h, 1, 10, 10), put(&mut h, 2, 20, 20));
        t.expose(SimTime(10), NodeId(0), &Exposure { key: 1, stream: 0, write: Some(a), stamp: 1 });
        t.expose(SimTime(20), NodeId(0), &Exposure { key: 2, stream: 0, write: Some(b), stamp: 1 });
        t.expose(SimTime(30), NodeId(1), &Exposure { key: 2, stream: 0, write: None, stamp: 1 });
        t.expose(SimTime(40), NodeId(1), &Exposure { key: 1, stream: 0, write: None, stamp: 1 });
        let read = |h: &mut History, at| {
            let id = h.call(1, NodeId(1), Op::Get { key: 2 }, SimTime(at));
            h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Value(Some(20))));
        };
        read(&mut h, 45);
        assert_eq!(
            check(&WriteIndex::new(&h, &t), true, |n| format!("n{n}")).monotonic_writes,
            0,
            "n1 held both by then"
        );
        read(&mut h, 35);
        let s = check(&WriteIndex::new(&h, &t), true, |n| format!("n{n}"));
        assert_eq!((s.mw_writes, s.monotonic_writes), (1, 1));
        let m = &s.examples.iter().find(|v| v.guarantee == Guarantee::MonotonicWrites).unwrap().message;
        assert!(m.starts_with("read #3 at n1 saw write #1 (put 20 at key 2)"), "{m}");
    }

    /// `record` as it was: the bucket inserted into the middle of `per_second`.
    fn record_into_vec(stats: &mut SessionStats, v: SessionViolation) {
        let t = v.at_ns / BUCKET_NS * BUCKET_NS;
        let i = match stats.per_second.binary_search_by_key(&t, |b| b.t_ns) {
            Ok(i) => i,
            Err(i) => {
                stats.per_second.insert(i, SessionBucket { t_ns: t, ..SessionBucket::default() });
                i
            }
        };
        let bucket = &mut stats.per_second[i];
        match v.guarantee {
            Guarantee::ReadYourWrites => {
                bucket.read_your_writes += 1;
                stats.read_your_writes += 1;
            }
            Guarantee::MonotonicReads => {
                bucket.monotonic_reads += 1;
                stats.monotonic_reads += 1;
            }
            Guarantee::MonotonicWrites => {
                bucket.monotonic_writes += 1;
                stats.monotonic_writes += 1;
            }
        }
        if stats.examples.iter().filter(|e| e.guarantee == v.guarantee).count() < EXAMPLES {
            stats.examples.push(v);
        }
    }

    #[test]
    fn buckets_kept_in_a_map_chart_what_insertion_into_the_vector_did() {
        let mut next = crate::writes::tests::xorshift(0xbf58_476d_1ce4_e5b9);
        for _ in 0..200 {
            let (mut fast, mut slow, mut buckets) = (SessionStats::default(), SessionStats::default(), Buckets::new());
            for op in 0..next(60) {
                let v = SessionViolation {
                    guarantee: Guarantee::ALL[next(3) as usize],
                    client: 0,
                    op,
                    earlier: 0,
                    // Out of time order, several to a second.
                    at_ns: next(8) * BUCKET_NS + next(BUCKET_NS),
                    message: String::new(),
                };
                fast.record(&mut buckets, v.clone());
                record_into_vec(&mut slow, v);
            }
            let charted = std::mem::take(&mut slow.per_second);
            let mut want = finish(slow, Buckets::new());
            want.per_second = charted;
            assert_eq!(finish(fast, buckets), want);
        }
    }
}
