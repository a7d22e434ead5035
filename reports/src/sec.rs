//! The strong-eventual-consistency checker: after the settle phase, every live replica must
//! read the same, and what each reads must be what the updates it received imply for its data
//! type.
//!
//! Which updates a replica received comes from the exposures the run recorded (see
//! [`crate::visibility`]): an update counts as delivered to a replica once the replica's
//! progress in the update's write stream reached it. Against that set:
//! - a **counter** must equal the sum of the delivered increments and decrements, acknowledged
//!   or not (an unacknowledged one that reached no live replica never took effect, so the
//!   value is the acknowledged sum plus a subset of the unknown ones);
//! - an **LWW register** must hold the value of the delivered write with the greatest
//!   timestamp (the stamp the protocol gave it), ties going to the higher node id;
//! - a **multi-value register** must hold exactly the delivered writes no other delivered write
//!   overwrote (a write overwrites those its node had received before it was made);
//! - an **add-wins set** must hold exactly the elements with an add that no delivered remove of
//!   the element had observed;
//! - a **sequence** must hold each inserted element unless a delete took it out, and satisfy
//!   the strong list specification: every insert lands where it asked, and one order of the
//!   elements explains every list seen ([`crate::sequence`]).
//!
//! Where the exposures cannot order two events (they happened at the same instant), both
//! outcomes are accepted. An acknowledged update that no live replica holds is *stranded* when
//! its node is down at the end (its durable state still has it) and *lost* otherwise.

use std::collections::BTreeMap;

use serde::Serialize;
use syncsim_sim::history::{Entry, Op, Outcome};
use syncsim_sim::{Datatype, Key, Output, RequestId};

use crate::visibility::{UNSEEN, writes_nothing};
use crate::writes::WriteIndex;

/// How many examples of each finding a report keeps.
const EXAMPLES: usize = 20;

/// What is wrong with a replica's final state.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Finding {
    /// An update the replica received (or that the client was told succeeded) has no effect
    /// in its state.
    LostUpdate,
    /// The state holds something no update put there, or counts an update more than once.
    Phantom,
    /// An element every add of which a remove (or delete) had observed is back.
    Resurrected,
    /// An LWW register holds a write other than the one with the greatest timestamp.
    WrongWinner,
    /// A sequence insert landed elsewhere than the position it asked for.
    Misplaced,
    /// Two lists seen of one sequence order its elements in ways no single order explains.
    Misordered,
}

/// One replica's key in a state its received updates do not imply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// What is wrong.
    pub finding: Finding,
    /// The key.
    pub key: Key,
    /// The replica.
    pub node: String,
    /// In words, with the updates involved.
    pub message: String,
}

/// A key on which live replicas read differently at the end.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DivergedKey {
    /// The key.
    pub key: Key,
    /// Each distinct state and the replicas that hold it.
    pub states: Vec<(String, Vec<String>)>,
}

/// The verdict on a strongly eventually consistent run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SecCheck {
    /// Every live replica's state is what the updates it received imply.
    pub valid: bool,
    /// Every live replica reads the same on every key.
    pub converged: bool,
    /// Replicas running at the end.
    pub live_replicas: u64,
    /// Keys judged.
    pub keys: u64,
    /// Updates that took effect somewhere.
    pub updates: u64,
    /// Acknowledged updates that some live replicas hold and others do not.
    pub undelivered: u64,
    /// Acknowledged updates held only by replicas that are down at the end.
    pub stranded: u64,
    /// (key, replica) pairs in a state the history does not imply.
    pub violation_count: u64,
    /// The first of them.
    pub violations: Vec<Violation>,
    /// Keys on which live replicas disagree.
    pub diverged_keys: u64,
    /// The first of them.
    pub diverged: Vec<DivergedKey>,
}

/// An update that took effect somewhere, with what the run recorded about it.
struct Update<'a> {
    entry: &'a Entry,
    acked: bool,
    /// When each replica first held it, or something that superseded it.
    seen: &'a [u64],
    /// Its stamp in its write stream.
    stamp: u64,
    /// When and where it was first applied ([`WriteIndex::applied`]), which orders it against
    /// others: `a` was where `b` was made before `b` was made there
    /// ([`WriteIndex::before`]) when `a.seen[b's node] < b's time`, and the run cannot tell when
    /// the two are equal (or either was never applied).
    applied: Option<(u64, usize)>,
}

impl Update<'_> {
    fn id(&self) -> RequestId {
        self.entry.id
    }

    /// When node `m` first held this update (or something later); [`UNSEEN`] if never.
    fn seen_at(&self, m: usize) -> u64 {
        self.seen.get(m).copied().unwrap_or(UNSEEN)
    }
}

/// Some updates reduced to the latest time one was applied at each node, and how many were
/// applied then. [`WriteIndex::before`]`(w, o)` compares `w.seen[o's node]` with `o`'s time:
/// it says yes for some `o` applied at `m` iff `w.seen[m]` is below the latest there, and
/// when it says yes for none, it cannot tell only for an `o` at that latest time. So asking
/// every update (quadratic over a key's updates) reduces to asking the latest per node.
struct Latest {
    /// (node, latest time, updates applied at that node at that time), by node.
    nodes: Vec<(usize, u64, usize)>,
    /// Updates never applied where the tracker saw: the run cannot order them against any.
    unapplied: usize,
}

impl Latest {
    fn new<'a>(updates: impl IntoIterator<Item = &'a &'a Update<'a>>) -> Self {
        let mut nodes: BTreeMap<usize, (u64, usize)> = BTreeMap::new();
        let mut unapplied = 0;
        for u in updates {
            let Some((at, node)) = u.applied else {
                unapplied += 1;
                continue;
            };
            let latest = nodes.entry(node).or_insert((at, 0));
            if at > latest.0 {
                *latest = (at, 0);
            }
            if at == latest.0 {
                latest.1 += 1;
            }
        }
        Latest { nodes: nodes.into_iter().map(|(node, (at, n))| (node, at, n)).collect(), unapplied }
    }

    /// What [`WriteIndex::before`]`(w, o)` says over every `o` of these updates other than
    /// `w` (`w` among them when `w_included`): `Some(true)` if some says yes, else `None` if
    /// some cannot tell, else `Some(false)` (also when there are none).
    fn before_any(&self, w: &Update, w_included: bool) -> Option<bool> {
        let own = w.applied.filter(|_| w_included);
        let unapplied_others = self.unapplied - usize::from(w_included && w.applied.is_none());
        if w.applied.is_none() {
            // Never applied: nothing orders it against any other.
            let others = unapplied_others + self.nodes.iter().map(|&(_, _, n)| n).sum::<usize>();
            return if others > 0 { None } else { Some(false) };
        }
        let mut tie = unapplied_others > 0;
        for &(node, at, n) in &self.nodes {
            let seen = w.seen_at(node);
            if seen < at {
                return Some(true);
            }
            // `w` itself, applied there at that very time, is no other update.
            let n = n - usize::from(own == Some((at, node)));
            tie |= seen == at && n > 0;
        }
        if tie { None } else { Some(false) }
    }
}

/// Judges the final states `reads` (per node, `None` if down) of a protocol replicating
/// `datatype`, given the run's writes (`index`: the history and the exposures the run
/// recorded); `name` names nodes.
pub fn check(
    index: &WriteIndex,
    datatype: Datatype,
    reads: &[Option<Vec<(Key, Output)>>],
    name: impl Fn(usize) -> String,
) -> SecCheck {
    let (history, visibility) = (index.history, index.tracker);
    let live: Vec<usize> = (0..reads.len()).filter(|&r| reads[r].is_some()).collect();
    let mut out = SecCheck { live_replicas: live.len() as u64, ..SecCheck::default() };
    let mut updates: BTreeMap<Key, Vec<Update>> = BTreeMap::new();
    let mut violations = Vec::new();
    for e in history.entries() {
        if !e.op.is_update() || writes_nothing(&e.op) || matches!(e.outcome, Outcome::Failed(_)) {
            continue;
        }
        let acked = matches!(e.outcome, Outcome::Ok(_));
        let Some(w) = visibility.write(e.id) else {
            if acked {
                violations.push(Violation {
                    finding: Finding::LostUpdate,
                    key: e.op.key(),
                    node: name(e.node.index()),
                    message: format!(
                        "{} ({}) was acknowledged but no replica ever applied it",
                        e.id.0,
                        op_words(&e.op)
                    ),
                });
            }
            continue;
        };
        let u = Update { entry: e, acked, seen: &w.seen, stamp: w.stamp, applied: index.applied(e.id) };
        if acked {
            let holders = live.iter().filter(|&&r| u.seen[r] != UNSEEN).count();
            if holders == 0 {
                out.stranded += 1;
            } else if holders < live.len() {
                out.undelivered += 1;
            }
        }
        out.updates += 1;
        updates.entry(e.op.key()).or_default().push(u);
    }

    // Every key any live replica holds or any update touched.
    let mut keys: BTreeMap<Key, ()> = updates.keys().map(|&k| (k, ())).collect();
    let mut held: Vec<BTreeMap<Key, &Output>> = vec![BTreeMap::new(); reads.len()];
    for &r in &live {
        for (k, v) in reads[r].iter().flatten() {
            held[r].insert(*k, v);
            keys.insert(*k, ());
        }
    }
    out.keys = keys.len() as u64;
    let empty = empty_read(datatype);
    let none = Vec::new();
    for &key in keys.keys() {
        let all = updates.get(&key).unwrap_or(&none);
        let mut states: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for &r in &live {
            let state = held[r].get(&key).copied().unwrap_or(&empty);
            states.entry(output_words(state)).or_default().push(name(r));
            let delivered: Vec<&Update> = all.iter().filter(|u| u.seen[r] != UNSEEN).collect();
            for (finding, message) in judge(datatype, state, &delivered) {
                violations.push(Violation { finding, key, node: name(r), message });
            }
        }
        if states.len() > 1 {
            out.diverged_keys += 1;
            if out.diverged.len() < EXAMPLES {
                out.diverged.push(DivergedKey { key, states: states.into_iter().collect() });
            }
        }
    }
    if datatype == Datatype::Sequence {
        violations.extend(crate::sequence::check(history, reads, &name));
    }
    out.violation_count = violations.len() as u64;
    violations.truncate(EXAMPLES);
    out.violations = violations;
    out.valid = out.violation_count == 0;
    out.converged = out.diverged_keys == 0;
    out
}

/// What a replica reads for a key it holds nothing for.
fn empty_read(datatype: Datatype) -> Output {
    match datatype {
        Datatype::Counter => Output::Count(0),
        Datatype::KeyValue | Datatype::LwwRegister => Output::Value(None),
        Datatype::MvRegister | Datatype::AddWinsSet | Datatype::Sequence => Output::Elems(Vec::new()),
    }
}

fn output_words(o: &Output) -> String {
    match o {
        Output::Done => "done".into(),
        Output::Value(None) => "nil".into(),
        Output::Value(Some(v)) => v.to_string(),
        Output::Count(c) => c.to_string(),
        Output::Elems(v) => format!("{v:?}"),
        Output::Swapped(b) => b.to_string(),
    }
}

/// An update in words: `put 7`, `incr 1`, `insert 9 at 2`.
pub(crate) fn op_words(op: &Op) -> String {
    match *op {
        Op::Put { value, .. } => format!("put {value}"),
        Op::Incr { by, .. } => format!("incr {by}"),
        Op::Decr { by, .. } => format!("decr {by}"),
        Op::Add { elem, .. } => format!("add {elem}"),
        Op::Remove { elem, .. } => format!("remove {elem}"),
        Op::Insert { pos, elem, .. } => format!("insert {elem} at {pos}"),
        Op::Delete { pos, .. } => format!("delete at {pos}"),
        ref other => other.kind().to_string(),
    }
}

fn ids(us: &[&Update]) -> String {
    let list: Vec<String> = us.iter().take(5).map(|u| format!("#{} ({})", u.id().0, op_words(&u.entry.op))).collect();
    let more = if us.len() > 5 { format!(" and {} more", us.len() - 5) } else { String::new() };
    format!("{}{more}", list.join(", "))
}

/// What is wrong with `state`, given the updates `delivered` to its replica.
fn judge(datatype: Datatype, state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    match datatype {
        Datatype::Counter => judge_counter(state, delivered),
        Datatype::LwwRegister => judge_lww(state, delivered),
        Datatype::MvRegister => judge_mv(state, delivered),
        Datatype::AddWinsSet => judge_set(state, delivered),
        Datatype::Sequence => judge_sequence(state, delivered),
        // A plain key-value store makes no claim this checker could judge.
        Datatype::KeyValue => Vec::new(),
    }
}

fn judge_counter(state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    let signed = |u: &Update| match u.entry.op {
        Op::Incr { by, .. } => i128::from(by),
        Op::Decr { by, .. } => -i128::from(by),
        _ => 0,
    };
    let acked: i128 = delivered.iter().filter(|u| u.acked).map(|u| signed(u)).sum();
    let unknown: i128 = delivered.iter().filter(|u| !u.acked).map(|u| signed(u)).sum();
    let expected = acked + unknown;
    let Output::Count(v) = *state else { return vec![(Finding::Phantom, format!("reads {state:?}, not a count"))] };
    let v = i128::from(v);
    if v == expected {
        return Vec::new();
    }
    let finding = if v < expected { Finding::LostUpdate } else { Finding::Phantom };
    vec![(
        finding,
        format!(
            "reads {v}, but the {} updates it received sum to {expected} (acknowledged {acked}, unknown {unknown})",
            delivered.len()
        ),
    )]
}

fn judge_lww(state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    // Equal timestamps: the higher node id wins.
    let winner = delivered.iter().max_by_key(|u| (u.stamp, u.entry.node));
    let expected = winner.map(|u| match u.entry.op {
        Op::Put { value, .. } => value,
        _ => 0,
    });
    if *state == Output::Value(expected) {
        return Vec::new();
    }
    match winner {
        None => vec![(Finding::Phantom, format!("holds {}, but it received no write", output_words(state)))],
        Some(w) => {
            let holds = delivered.iter().find(|u| Output::Value(Some(put_value(u))) == *state);
            let finding = if holds.is_some() { Finding::WrongWinner } else { Finding::LostUpdate };
            vec![(
                finding,
                format!(
                    "holds {}{}, but the winning write (greatest timestamp, then node) is #{} ({} at node {}, \
                     timestamp {:#x})",
                    output_words(state),
                    holds.map_or(String::new(), |h| format!(
                        " (#{} at node {}, timestamp {:#x})",
                        h.id().0,
                        h.entry.node.0,
                        h.stamp
                    )),
                    w.id().0,
                    op_words(&w.entry.op),
                    w.entry.node.0,
                    w.stamp
                ),
            )]
        }
    }
}

fn put_value(u: &Update) -> u64 {
    match u.entry.op {
        Op::Put { value, .. } => value,
        _ => 0,
    }
}

fn elems(state: &Output) -> &[u64] {
    match state {
        Output::Elems(v) => v,
        _ => &[],
    }
}

fn judge_mv(state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    // Sorted copies, for binary search: the state need not come sorted.
    let mut held = elems(state).to_vec();
    held.sort_unstable();
    let mut out = Vec::new();
    // Per write: overwritten for sure, perhaps (same instant), or surely not. Judged against
    // the latest write applied at each node rather than every other write, which says the
    // same (see `Latest`).
    let latest = Latest::new(delivered);
    let mut may_survive: Vec<u64> = Vec::new();
    let mut must_survive: Vec<&Update> = Vec::new();
    for w in delivered {
        let overwritten = latest.before_any(w, true);
        if overwritten == Some(true) {
            continue;
        }
        may_survive.push(put_value(w));
        if overwritten == Some(false) {
            must_survive.push(w);
        }
    }
    may_survive.sort_unstable();
    let phantoms: Vec<u64> = elems(state).iter().copied().filter(|v| may_survive.binary_search(v).is_err()).collect();
    if !phantoms.is_empty() {
        out.push((Finding::Phantom, format!("holds {phantoms:?}, which no write it received left standing")));
    }
    let lost: Vec<&Update> = must_survive.into_iter().filter(|w| held.binary_search(&put_value(w)).is_err()).collect();
    if !lost.is_empty() {
        out.push((Finding::LostUpdate, format!("lacks {}, which no later write overwrote", ids(&lost))));
    }
    out
}

fn judge_set(state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    let held = elems(state);
    let mut sorted = held.to_vec();
    sorted.sort_unstable();
    let mut by_elem: BTreeMap<u64, (Vec<&Update>, Vec<&Update>)> = BTreeMap::new();
    for u in delivered {
        match u.entry.op {
            Op::Add { elem, .. } => by_elem.entry(elem).or_default().0.push(u),
            Op::Remove { elem, .. } => by_elem.entry(elem).or_default().1.push(u),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for &e in held {
        if by_elem.get(&e).is_none_or(|(adds, _)| adds.is_empty()) {
            out.push((Finding::Phantom, format!("holds {e}, which no add it received put there")));
        }
    }
    for (e, (adds, removes)) in &by_elem {
        let present = sorted.binary_search(e).is_ok();
        // An add survives unless a remove of the element had seen it; judged against the
        // latest remove applied at each node (see `Latest`).
        let latest = Latest::new(removes);
        let verdicts: Vec<Option<bool>> = adds.iter().map(|a| latest.before_any(a, false).map(|seen| !seen)).collect();
        let survivors: Vec<&Update> =
            adds.iter().zip(&verdicts).filter(|(_, v)| **v == Some(true)).map(|(a, _)| *a).collect();
        let all_removed = verdicts.iter().all(|v| *v == Some(false));
        if !present && !survivors.is_empty() {
            out.push((
                Finding::LostUpdate,
                format!("lacks {e}, though no remove it received had seen {}", ids(&survivors)),
            ));
        }
        if present && all_removed && !adds.is_empty() {
            out.push((
                Finding::Resurrected,
                format!("holds {e}, though {} removed every add of it ({})", ids(removes), ids(adds)),
            ));
        }
    }
    out
}

fn judge_sequence(state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
    let held = elems(state);
    let mut inserted: BTreeMap<u64, u64> = BTreeMap::new();
    let mut deleted: BTreeMap<u64, u64> = BTreeMap::new();
    let mut unknown_deletes = 0u64;
    for u in delivered {
        match (&u.entry.op, &u.entry.outcome) {
            (Op::Insert { elem, .. }, _) => *inserted.entry(*elem).or_default() += 1,
            (Op::Delete { .. }, Outcome::Ok(Output::Value(Some(v)))) => *deleted.entry(*v).or_default() += 1,
            (Op::Delete { .. }, Outcome::Ok(_)) => {}
            (Op::Delete { .. }, _) => unknown_deletes += 1,
            _ => {}
        }
    }
    let mut count: BTreeMap<u64, u64> = BTreeMap::new();
    for &v in held {
        *count.entry(v).or_default() += 1;
    }
    let mut out = Vec::new();
    let values: BTreeMap<u64, ()> = inserted.keys().chain(count.keys()).map(|&v| (v, ())).collect();
    for &v in values.keys() {
        let (ins, del, n) = (
            inserted.get(&v).copied().unwrap_or(0),
            deleted.get(&v).copied().unwrap_or(0),
            count.get(&v).copied().unwrap_or(0),
        );
        // Concurrent deletes of one element each report it, so `del` deletes took out at least
        // one and at most `del` elements of this value.
        let upper = ins.saturating_sub(u64::from(del > 0));
        let lower = ins.saturating_sub(del + unknown_deletes);
        if n > upper {
            let finding = if del > 0 { Finding::Resurrected } else { Finding::Phantom };
            out.push((finding, format!("holds {n} × {v}, but {ins} were inserted and {del} deletes took it out")));
        } else if n < lower {
            out.push((
                Finding::LostUpdate,
                format!("holds {n} × {v}, but {ins} were inserted and at most {} deleted", del + unknown_deletes),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::visibility::VisibilityTracker;
    use syncsim_sim::history::History;
    use syncsim_sim::{Exposure, NodeId, SimTime};

    /// A small run: a history and the exposures of its updates, built step by step.
    struct Run {
        history: History,
        vis: VisibilityTracker,
    }

    impl Run {
        fn new(nodes: usize) -> Self {
            Run { history: History::new(), vis: VisibilityTracker::new(nodes) }
        }

        /// Node `node` applies `op` at `t` (acknowledged at `t + 1`) as step `stamp` of
        /// `stream`.
        fn update(&mut self, node: u32, op: Op, t: u64, stream: u32, stamp: u64) -> RequestId {
            self.update_with(node, op, t, stream, stamp, Output::Done)
        }

        fn update_with(&mut self, node: u32, op: Op, t: u64, stream: u32, stamp: u64, output: Output) -> RequestId {
            let key = op.key();
            let id = self.history.call(0, NodeId(node), op, SimTime(t));
            self.history.complete(id, SimTime(t + 1), Outcome::Ok(output));
            self.vis.expose(SimTime(t), NodeId(node), &Exposure { key, stream, write: Some(id), stamp });
            id
        }

        /// Replica `node` reaches `stamp` of `stream` of `key` at `t`.
        fn reach(&mut self, node: u32, key: Key, stream: u32, stamp: u64, t: u64) {
            self.vis.expose(SimTime(t), NodeId(node), &Exposure { key, stream, write: None, stamp });
        }

        fn check(&self, datatype: Datatype, finals: Vec<Output>) -> SecCheck {
            let reads: Vec<Option<Vec<(Key, Output)>>> = finals.into_iter().map(|o| Some(vec![(1, o)])).collect();
            check(&WriteIndex::new(&self.history, &self.vis), datatype, &reads, |n| format!("n{n}"))
        }
    }

    fn findings(c: &SecCheck) -> Vec<(Finding, String)> {
        c.violations.iter().map(|v| (v.finding, v.node.clone())).collect()
    }

    #[test]
    fn a_counter_missing_a_received_increment_is_a_lost_update() {
        let mut run = Run::new(2);
        run.update(0, Op::Incr { key: 1, by: 5 }, 10, 0, 5);
        run.reach(1, 1, 0, 5, 20);
        run.update(1, Op::Incr { key: 1, by: 3 }, 15, 1, 3);
        run.reach(0, 1, 1, 3, 25);
        let ok = run.check(Datatype::Counter, vec![Output::Count(8), Output::Count(8)]);
        assert!(ok.valid && ok.converged, "{ok:?}");
        // n1 applied its own increment, then lost it.
        let bad = run.check(Datatype::Counter, vec![Output::Count(8), Output::Count(5)]);
        assert!(!bad.valid);
        assert_eq!(findings(&bad), vec![(Finding::LostUpdate, "n1".into())]);
        assert!(!bad.converged && bad.diverged_keys == 1, "and the replicas diverged");
        // A counter that counts an update twice is flagged too.
        let twice = run.check(Datatype::Counter, vec![Output::Count(13), Output::Count(13)]);
        assert_eq!(findings(&twice), vec![(Finding::Phantom, "n0".into()), (Finding::Phantom, "n1".into())]);
    }

    #[test]
    fn an_update_not_yet_received_is_not_held_against_a_replica() {
        let mut run = Run::new(2);
        run.update(0, Op::Incr { key: 1, by: 5 }, 10, 0, 5);
        let c = run.check(Datatype::Counter, vec![Output::Count(5), Output::Count(0)]);
        assert!(c.valid, "n1 never received it: divergence, not an invalid state: {c:?}");
        assert!(!c.converged);
        assert_eq!(c.undelivered, 1);
    }

    #[test]
    fn an_element_back_after_an_observed_remove_is_resurrected() {
        let mut run = Run::new(2);
        run.update(0, Op::Add { key: 1, elem: 7 }, 10, 0, 1);
        run.reach(1, 1, 0, 1, 20);
        run.update(1, Op::Remove { key: 1, elem: 7 }, 30, 1, 1);
        run.reach(0, 1, 1, 1, 40);
        let removed = vec![Output::Elems(vec![]), Output::Elems(vec![])];
        assert!(run.check(Datatype::AddWinsSet, removed).valid);
        let back = run.check(Datatype::AddWinsSet, vec![Output::Elems(vec![7]), Output::Elems(vec![])]);
        assert_eq!(findings(&back), vec![(Finding::Resurrected, "n0".into())]);
    }

    #[test]
    fn an_add_concurrent_with_a_remove_wins() {
        let mut run = Run::new(2);
        run.update(0, Op::Add { key: 1, elem: 7 }, 10, 0, 1);
        run.reach(1, 1, 0, 1, 20);
        run.update(1, Op::Remove { key: 1, elem: 7 }, 30, 1, 1);
        // n0 adds 7 again before it hears of the remove: the remove did not see this add.
        run.update(0, Op::Add { key: 1, elem: 7 }, 35, 0, 2);
        run.reach(0, 1, 1, 1, 40);
        run.reach(1, 1, 0, 2, 45);
        let kept = vec![Output::Elems(vec![7]), Output::Elems(vec![7])];
        assert!(run.check(Datatype::AddWinsSet, kept).valid);
        let lost = run.check(Datatype::AddWinsSet, vec![Output::Elems(vec![7]), Output::Elems(vec![])]);
        assert_eq!(findings(&lost), vec![(Finding::LostUpdate, "n1".into())]);
    }

    #[test]
    fn an_lww_replica_holding_a_lower_timestamp_diverges_and_is_flagged() {
        let mut run = Run::new(2);
        run.update(0, Op::Put { key: 1, value: 10 }, 10, 0, 100);
        run.update(1, Op::Put { key: 1, value: 20 }, 10, 0, 101);
        run.reach(0, 1, 0, 101, 20);
        run.reach(1, 1, 0, 101, 20);
        let right = vec![Output::Value(Some(20)), Output::Value(Some(20))];
        assert!(run.check(Datatype::LwwRegister, right).valid);
        let c = run.check(Datatype::LwwRegister, vec![Output::Value(Some(20)), Output::Value(Some(10))]);
        assert_eq!(findings(&c), vec![(Finding::WrongWinner, "n1".into())]);
        assert_eq!(c.diverged[0].states, vec![("10".to_string(), vec!["n1".into()]), ("20".into(), vec!["n0".into()])]);
    }

    #[test]
    fn multi_value_registers_keep_exactly_the_concurrent_writes() {
        let mut run = Run::new(2);
        run.update(0, Op::Put { key: 1, value: 1 }, 10, 0, 1);
        run.reach(1, 1, 0, 1, 20);
        // n1 overwrites 1; n0 concurrently writes 3.
        run.update(1, Op::Put { key: 1, value: 2 }, 30, 1, 1);
        run.update(0, Op::Put { key: 1, value: 3 }, 31, 0, 2);
        run.reach(0, 1, 1, 1, 40);
        run.reach(1, 1, 0, 2, 40);
        let both = vec![Output::Elems(vec![2, 3]), Output::Elems(vec![2, 3])];
        assert!(run.check(Datatype::MvRegister, both).valid);
        let c = run.check(Datatype::MvRegister, vec![Output::Elems(vec![1, 2, 3]), Output::Elems(vec![3])]);
        assert_eq!(findings(&c), vec![(Finding::Phantom, "n0".into()), (Finding::LostUpdate, "n1".into())]);
    }

    #[test]
    fn a_deleted_sequence_element_that_comes_back_is_flagged() {
        let mut run = Run::new(1);
        run.update(0, Op::Insert { key: 1, pos: 0, elem: 5 }, 10, 0, 1);
        run.update(0, Op::Insert { key: 1, pos: 1, elem: 6 }, 11, 0, 2);
        run.update_with(0, Op::Delete { key: 1, pos: 0 }, 12, 0, 3, Output::Value(Some(5)));
        assert!(run.check(Datatype::Sequence, vec![Output::Elems(vec![6])]).valid);
        let c = run.check(Datatype::Sequence, vec![Output::Elems(vec![5, 6])]);
        assert_eq!(findings(&c), vec![(Finding::Resurrected, "n0".into())]);
        let c = run.check(Datatype::Sequence, vec![Output::Elems(vec![])]);
        assert_eq!(findings(&c), vec![(Finding::LostUpdate, "n0".into())]);
    }

    #[test]
    fn an_acknowledged_update_held_only_by_a_crashed_replica_is_stranded_not_lost() {
        let mut run = Run::new(2);
        run.update(0, Op::Incr { key: 1, by: 5 }, 10, 0, 5);
        let reads = vec![None, Some(vec![(1, Output::Count(0))])];
        let c = check(&WriteIndex::new(&run.history, &run.vis), Datatype::Counter, &reads, |n| format!("n{n}"));
        assert!(c.valid && c.converged);
        assert_eq!(c.stranded, 1);
    }

    /// `judge_mv` as it was: every delivered write asked of every other whether it had seen
    /// it.
    fn judge_mv_by_pairs(index: &WriteIndex, state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
        let held = elems(state);
        let mut out = Vec::new();
        let mut may_survive: Vec<u64> = Vec::new();
        let mut must_survive: Vec<&Update> = Vec::new();
        for w in delivered {
            let others = delivered.iter().filter(|o| o.id() != w.id());
            let verdicts: Vec<Option<bool>> = others.map(|o| index.before(w.id(), o.id())).collect();
            if verdicts.contains(&Some(true)) {
                continue;
            }
            may_survive.push(put_value(w));
            if !verdicts.contains(&None) {
                must_survive.push(w);
            }
        }
        let phantoms: Vec<u64> = held.iter().copied().filter(|v| !may_survive.contains(v)).collect();
        if !phantoms.is_empty() {
            out.push((Finding::Phantom, format!("holds {phantoms:?}, which no write it received left standing")));
        }
        let lost: Vec<&Update> = must_survive.into_iter().filter(|w| !held.contains(&put_value(w))).collect();
        if !lost.is_empty() {
            out.push((Finding::LostUpdate, format!("lacks {}, which no later write overwrote", ids(&lost))));
        }
        out
    }

    /// `judge_set` as it was: every add asked of every remove of its element.
    fn judge_set_by_pairs(index: &WriteIndex, state: &Output, delivered: &[&Update]) -> Vec<(Finding, String)> {
        let held = elems(state);
        let mut by_elem: BTreeMap<u64, (Vec<&Update>, Vec<&Update>)> = BTreeMap::new();
        for u in delivered {
            match u.entry.op {
                Op::Add { elem, .. } => by_elem.entry(elem).or_default().0.push(u),
                Op::Remove { elem, .. } => by_elem.entry(elem).or_default().1.push(u),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for &e in held {
            if by_elem.get(&e).is_none_or(|(adds, _)| adds.is_empty()) {
                out.push((Finding::Phantom, format!("holds {e}, which no add it received put there")));
            }
        }
        for (e, (adds, removes)) in &by_elem {
            let present = held.contains(e);
            let verdicts: Vec<Option<bool>> = adds
                .iter()
                .map(|a| {
                    let seen_by: Vec<Option<bool>> = removes.iter().map(|r| index.before(a.id(), r.id())).collect();
                    if seen_by.contains(&Some(true)) {
                        Some(false)
                    } else if seen_by.contains(&None) {
                        None
                    } else {
                        Some(true)
                    }
                })
                .collect();
            let survivors: Vec<&Update> =
                adds.iter().zip(&verdicts).filter(|(_, v)| **v == Some(true)).map(|(a, _)| *a).collect();
            let all_removed = verdicts.iter().all(|v| *v == Some(false));
            if !present && !survivors.is_empty() {
                out.push((
                    Finding::LostUpdate,
                    format!("lacks {e}, though no remove it received had seen {}", ids(&survivors)),
                ));
            }
            if present && all_removed && !adds.is_empty() {
                out.push((
                    Finding::Resurrected,
                    format!("holds {e}, though {} removed every add of it ({})", ids(removes), ids(adds)),
                ));
            }
        }
        out
    }

    #[test]
    fn the_latest_update_per_node_judges_as_every_pair_of_updates_does() {
        let mut next = crate::writes::tests::xorshift(0x9e37_79b9_7f4a_7c15);
        // Verdicts seen, so that the test cannot pass vacuously: phantom, lost, resurrected.
        let mut findings = BTreeMap::<Finding, u32>::new();
        let never = vec![UNSEEN; 3];
        for _ in 0..400 {
            let mut run = Run::new(3);
            for _ in 0..next(12) {
                let (node, at) = (next(3) as u32, next(12));
                let op = match next(3) {
                    0 => Op::Put { key: 1, value: next(5) },
                    1 => Op::Add { key: 1, elem: next(3) },
                    _ => Op::Remove { key: 1, elem: next(3) },
                };
                let id = run.history.call(0, NodeId(node), op, SimTime(at));
                run.history.complete(id, SimTime(at + 1), Outcome::Ok(Output::Done));
                // Now and then a write no replica ever applied.
                if next(8) != 0 {
                    let applier = if next(4) == 0 { next(3) as u32 } else { node };
                    let e = Exposure { key: 1, stream: next(2) as u32, write: Some(id), stamp: 1 + next(5) };
                    run.vis.expose(SimTime(at), NodeId(applier), &e);
                }
                for _ in 0..next(4) {
                    run.reach(next(3) as u32, 1, next(2) as u32, 1 + next(5), next(16));
                }
            }
            let index = WriteIndex::new(&run.history, &run.vis);
            let updates: Vec<Update> = run
                .history
                .entries()
                .iter()
                .map(|e| {
                    let trace = run.vis.write(e.id);
                    Update {
                        entry: e,
                        acked: true,
                        seen: trace.map_or(&never, |t| &t.seen),
                        stamp: trace.map_or(0, |t| t.stamp),
                        applied: index.applied(e.id),
                    }
                })
                .collect();
            // What a replica received, and any subset.
            let mut subsets: Vec<Vec<&Update>> =
                (0..3).map(|r| updates.iter().filter(|u| u.seen[r] != UNSEEN).collect()).collect();
            subsets.push(updates.iter().filter(|_| next(4) != 0).collect());
            for delivered in &subsets {
                let state = Output::Elems((0..next(4)).map(|_| next(5)).collect());
                let (mv, set) = (judge_mv(&state, delivered), judge_set(&state, delivered));
                assert_eq!(mv, judge_mv_by_pairs(&index, &state, delivered), "{state:?}");
                assert_eq!(set, judge_set_by_pairs(&index, &state, delivered), "{state:?}");
                for (finding, _) in mv.iter().chain(&set) {
                    *findings.entry(*finding).or_default() += 1;
                }
            }
        }
        let seen = |f| findings.get(&f).copied().unwrap_or(0);
        assert!(seen(Finding::LostUpdate) > 100 && seen(Finding::Phantom) > 100 && seen(Finding::Resurrected) > 20);
    }
}
