//! Which write a read saw, and whether one write supersedes another: the order of writes the
//! lost-write, session and final-state checks judge by.
//!
//! Client writes carry unique values (a put writes its request id plus one, a compare-and-set
//! its new value likewise), so a value read names the write that put it there. Scripted
//! operations may repeat a value: then the value names several writes, and a check accepts
//! whichever of them lets it pass. Two writes are
//! ordered by what the run recorded (see [`crate::visibility`]):
//! - *causally*: `a` happened before `b` when `a` was visible at `b`'s node before `b` was
//!   applied there, so whatever order the protocol gives writes must put `b` after `a`;
//! - *by stamp*: writes of one stream of a key are ordered by their stamps (Raft's log index,
//!   gossip's Lamport version, an LWW register's timestamp), which is the protocol's own order.
//!
//! A replica that holds `b` holds `a` too, or something that legitimately superseded it, when
//! `b` is `a`, or `b` came after `a` causally, or `b` is later in `a`'s stream and did not
//! happen before `a`. A stamp order that contradicts causality (`b` stamped after `a` though
//! `a` had seen `b`) does not count: that is an older write overwriting a newer one.

use std::collections::{BTreeMap, BTreeSet};

use syncsim_sim::history::{History, Op, Outcome, Output};
use syncsim_sim::{Datatype, Key, RequestId, Value};

use crate::visibility::{UNSEEN, VisibilityTracker};

/// The writes of a run, found by the value they wrote, with the tracker's record of each.
pub struct WriteIndex<'a> {
    /// The run's history.
    pub history: &'a History,
    /// What the run recorded of each write.
    pub tracker: &'a VisibilityTracker,
    by_value: BTreeMap<(Key, Value), Vec<RequestId>>,
}

impl<'a> WriteIndex<'a> {
    /// Indexes the register writes of `history` (puts, and compare-and-sets that may have
    /// swapped) by the value they wrote.
    pub fn new(history: &'a History, tracker: &'a VisibilityTracker) -> Self {
        let mut by_value = BTreeMap::new();
        for e in history.entries() {
            let value = match (&e.op, &e.outcome) {
                (_, Outcome::Failed(_)) | (Op::Cas { .. }, Outcome::Ok(Output::Swapped(false))) => continue,
                (Op::Put { key, value }, _) | (Op::Cas { key, new: value, .. }, _) => (*key, *value),
                _ => continue,
            };
            by_value.entry(value).or_insert_with(Vec::new).push(e.id);
        }
        WriteIndex { history, tracker, by_value }
    }

    /// The writes that put `value` in the register at `key` (one, unless a script repeated
    /// a value; none if no client wrote it).
    pub fn writers(&self, key: Key, value: Value) -> &[RequestId] {
        self.by_value.get(&(key, value)).map_or(&[], Vec::as_slice)
    }

    /// Whether a register reading `values` at `key` holds write `w` or something that
    /// superseded it.
    pub fn holds(&self, values: &[Value], key: Key, w: RequestId) -> bool {
        values.iter().any(|&v| self.writers(key, v).iter().any(|&h| self.covers(h, w)))
    }

    /// When and where write `w` was first applied (ns, node), if it ever was: where its
    /// client's request took effect, which for a protocol that forwards requests is not always
    /// the node the client reached (that node wins a tie).
    fn applied(&self, w: RequestId) -> Option<(u64, usize)> {
        let seen = &self.tracker.write(w)?.seen;
        let first = seen.iter().copied().min().filter(|&t| t != UNSEEN)?;
        let own = self.history.get(w)?.node.index();
        let node = if seen.get(own) == Some(&first) { own } else { seen.iter().position(|&t| t == first)? };
        Some((first, node))
    }

    /// Whether write `a` was visible where write `b` was applied before `b` was applied there:
    /// `Some(true)` yes, `Some(false)` no, `None` when the run cannot tell (the two happened at
    /// the same instant, or one was never applied anywhere the tracker saw).
    pub fn before(&self, a: RequestId, b: RequestId) -> Option<bool> {
        let (b_applied, b_node) = self.applied(b)?;
        let (a_applied, _) = self.applied(a)?;
        if a_applied > b_applied {
            return Some(false);
        }
        let seen = self.tracker.write(a)?.seen.get(b_node).copied().unwrap_or(UNSEEN);
        match seen.cmp(&b_applied) {
            std::cmp::Ordering::Less => Some(true),
            std::cmp::Ordering::Greater => Some(false),
            std::cmp::Ordering::Equal => None,
        }
    }

    /// Whether a replica holding write `held` holds write `w` or something that legitimately
    /// superseded it (see the module comment). Where the run cannot tell, it does: a checker
    /// must never cry wolf.
    pub fn covers(&self, held: RequestId, w: RequestId) -> bool {
        if held == w {
            return true;
        }
        if self.before(held, w) == Some(true) {
            // `w` had seen `held`: holding `held` means an older write overwrote `w`.
            return false;
        }
        if self.before(w, held) != Some(false) {
            return true;
        }
        // Concurrent: the protocol's own order decides, within one stream of the key.
        let key = |id: RequestId| self.history.get(id).map(|e| e.op.key());
        match (self.tracker.write(held), self.tracker.write(w)) {
            (Some(h), Some(x)) => key(held) == key(w) && h.stream == x.stream && h.stamp >= x.stamp,
            _ => false,
        }
    }
}

/// True for an acknowledged update that wrote something (a compare-and-set that did not swap,
/// or a counter step of 0, wrote nothing).
pub fn acked_write(e: &syncsim_sim::history::Entry) -> bool {
    e.op.is_update()
        && !crate::visibility::writes_nothing(&e.op)
        && matches!(e.outcome, Outcome::Ok(ref o) if *o != Output::Swapped(false))
        && e.ret.is_some()
}

/// The acknowledged writes that no live replica holds at the end, judged from the replicas'
/// final readable states (`reads[r]`, `None` when replica `r` is down): a put or
/// compare-and-set whose value, or a write that superseded it, no live register holds; an add
/// whose element no live set holds and no remove that had seen it took out; an insert whose
/// element no live sequence holds and no delete took out. `None` for data types whose states
/// cannot name single writes (counters), and for updates of other kinds, which are judged by
/// exposures alone.
pub fn unheld(
    index: &WriteIndex,
    datatype: Datatype,
    reads: &[Option<Vec<(Key, Output)>>],
) -> Option<BTreeSet<RequestId>> {
    if datatype == Datatype::Counter {
        return None;
    }
    let history = index.history;
    // Per key, what the live replicas hold: distinct values (registers, sets, sequences).
    let mut held: BTreeMap<Key, Vec<Value>> = BTreeMap::new();
    for (key, output) in reads.iter().flatten().flatten() {
        let values = held.entry(*key).or_default();
        match output {
            Output::Value(Some(v)) => values.push(*v),
            Output::Elems(vs) => values.extend(vs.iter().copied()),
            _ => {}
        }
    }
    for values in held.values_mut() {
        values.sort_unstable();
        values.dedup();
    }
    let empty = Vec::new();
    // Elements some delete returned, keys with a delete whose result is unknown, and the
    // removes of each element that may have taken effect.
    let mut deleted: BTreeSet<(Key, Value)> = BTreeSet::new();
    let mut blind_deletes: BTreeSet<Key> = BTreeSet::new();
    let mut removes: BTreeMap<(Key, Value), Vec<RequestId>> = BTreeMap::new();
    for e in history.entries() {
        match (&e.op, &e.outcome) {
            (_, Outcome::Failed(_)) => {}
            (Op::Remove { key, elem }, _) => removes.entry((*key, *elem)).or_default().push(e.id),
            (Op::Delete { key, .. }, Outcome::Ok(Output::Value(Some(v)))) => {
                deleted.insert((*key, *v));
            }
            (Op::Delete { key, .. }, Outcome::Unknown | Outcome::Pending) => {
                blind_deletes.insert(*key);
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    for e in history.entries() {
        if !matches!(e.outcome, Outcome::Ok(_)) {
            continue;
        }
        let values = held.get(&e.op.key()).unwrap_or(&empty);
        let kept = match e.op {
            Op::Put { key, .. } | Op::Cas { key, .. } => {
                if e.outcome == Outcome::Ok(Output::Swapped(false)) {
                    continue;
                }
                index.holds(values, key, e.id)
            }
            // The latest removes are the likeliest to have seen the add: try them first.
            Op::Add { key, elem } => {
                values.binary_search(&elem).is_ok()
                    || removes
                        .get(&(key, elem))
                        .is_some_and(|rs| rs.iter().rev().any(|&r| index.before(e.id, r) != Some(false)))
            }
            Op::Insert { key, elem, .. } => {
                values.binary_search(&elem).is_ok() || deleted.contains(&(key, elem)) || blind_deletes.contains(&key)
            }
            _ => continue,
        };
        if !kept {
            out.insert(e.id);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{Exposure, NodeId, SimTime};

    /// Three puts to key 1: `a` at n0 (stamp 5), `b` at n1 (stamp 9) after n1 had `a`, and `c`
    /// at n0 (stamp 3: a clock that did not move on) after n0 had `b`.
    fn run() -> (History, VisibilityTracker, [RequestId; 3]) {
        let mut h = History::new();
        let mut t = VisibilityTracker::new(2);
        let put = |h: &mut History, node: u32, value: u64, at: u64| {
            let id = h.call(0, NodeId(node), Op::Put { key: 1, value }, SimTime(at));
            h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Done));
            id
        };
        let a = put(&mut h, 0, 1, 10);
        t.expose(SimTime(10), NodeId(0), &Exposure { key: 1, stream: 0, write: Some(a), stamp: 5 });
        t.expose(SimTime(15), NodeId(1), &Exposure { key: 1, stream: 0, write: None, stamp: 5 });
        let b = put(&mut h, 1, 2, 20);
        t.expose(SimTime(20), NodeId(1), &Exposure { key: 1, stream: 0, write: Some(b), stamp: 9 });
        t.expose(SimTime(25), NodeId(0), &Exposure { key: 1, stream: 0, write: None, stamp: 9 });
        let c = put(&mut h, 0, 3, 30);
        t.expose(SimTime(30), NodeId(0), &Exposure { key: 1, stream: 0, write: Some(c), stamp: 3 });
        (h, t, [a, b, c])
    }

    #[test]
    fn values_name_their_writes_and_causality_beats_stamps() {
        let (h, t, [a, b, c]) = run();
        let w = WriteIndex::new(&h, &t);
        assert_eq!(w.writers(1, 2), [b]);
        assert!(w.writers(1, 9).is_empty());
        assert_eq!(w.before(a, b), Some(true));
        assert_eq!(w.before(b, a), Some(false));
        assert!(w.covers(b, a), "b came after a");
        assert!(!w.covers(a, b), "a is older than b");
        // c was stamped below b though its node had b: holding b means c was overwritten by
        // an older write, whatever the stamps say.
        assert!(!w.covers(b, c));
        assert!(w.covers(c, b), "c came after b causally");
    }
}
