//! The strong list specification (Attiya, Burckhardt, Gotsman, Morrison, Yang and Zawirski,
//! "Specification and complexity of collaborative text editing", PODC 2016), judged on what
//! clients and replicas saw of each sequence:
//!
//! - an insert at position `p` lands at `p` (or at the end, when the sequence was shorter) of
//!   the sequence its replica holds just after it, which the insert returns;
//! - one order of all elements explains every list anybody saw: each insert's result, each
//!   read, each live replica's final state. So an element inserted between `x` and `y` stays
//!   after `x` and before `y` wherever all three are still present, and two replicas never
//!   show two elements in opposite orders.
//!
//! Elements are unique (the workload inserts its request id plus one), so an element names its
//! insert. The second rule is checked as the acyclicity of the "comes right before" relation
//! of every list seen: a cycle is a pair of observations no single order explains.

use std::collections::{BTreeMap, BTreeSet};

use syncsim_sim::history::{History, Op, Outcome, Output};
use syncsim_sim::{Key, Value};

use crate::sec::{Finding, Violation};

/// Where a list was seen, for explanations.
#[derive(Clone, Debug)]
enum Source {
    /// Returned by this operation (an insert or a read) at this node.
    Op(u64, usize),
    /// A live replica's final state.
    Final(usize),
}

/// Judges every sequence of the run: `reads[r]` is replica `r`'s final state (`None` if down);
/// `name` names nodes. Returns the violations, in key order.
pub fn check(
    history: &History,
    reads: &[Option<Vec<(Key, Output)>>],
    name: impl Fn(usize) -> String,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<Key, Vec<(Source, &[Value])>> = BTreeMap::new();
    for e in history.entries() {
        let Outcome::Ok(Output::Elems(list)) = &e.outcome else { continue };
        match e.op {
            Op::Insert { key, pos, elem } => {
                let want = usize::try_from(pos).unwrap_or(usize::MAX).min(list.len().saturating_sub(1));
                if list.get(want) != Some(&elem) {
                    let landed = list.iter().position(|&v| v == elem);
                    out.push(Violation {
                        finding: Finding::Misplaced,
                        key,
                        node: name(e.node.index()),
                        message: format!(
                            "insert #{} of {elem} at position {pos} {}",
                            e.id.0,
                            landed.map_or("is missing from the sequence it returned".to_string(), |at| format!(
                                "landed at position {at} of the {} it returned",
                                list.len()
                            ))
                        ),
                    });
                }
                seen.entry(key).or_default().push((Source::Op(e.id.0, e.node.index()), list));
            }
            Op::Read { key } => seen.entry(key).or_default().push((Source::Op(e.id.0, e.node.index()), list)),
            _ => {}
        }
    }
    for (r, state) in reads.iter().enumerate() {
        for (key, output) in state.iter().flatten() {
            if let Output::Elems(list) = output {
                seen.entry(*key).or_default().push((Source::Final(r), list));
            }
        }
    }
    // Elements name their inserts only while they are unique (a script may repeat one): the
    // keys where some insert repeated an element, found in one pass.
    let mut inserted: BTreeSet<(Key, Value)> = BTreeSet::new();
    let mut repeated: BTreeSet<Key> = BTreeSet::new();
    for e in history.entries() {
        if let Op::Insert { key, elem, .. } = e.op
            && !inserted.insert((key, elem))
        {
            repeated.insert(key);
        }
    }
    for (key, lists) in seen {
        if repeated.contains(&key) {
            continue;
        }
        if let Some(message) = order_conflict(&lists, &name) {
            out.push(Violation { finding: Finding::Misordered, key, node: "-".into(), message });
        }
    }
    out
}

/// A cycle in "comes right before" over `lists`, in words, or `None` when one order explains
/// them all.
fn order_conflict(lists: &[(Source, &[Value])], name: &impl Fn(usize) -> String) -> Option<String> {
    // Edges between neighbours, each with the first list that showed it.
    let mut edges: BTreeMap<(Value, Value), usize> = BTreeMap::new();
    for (i, (_, list)) in lists.iter().enumerate() {
        for pair in list.windows(2).filter(|p| p[0] != p[1]) {
            edges.entry((pair[0], pair[1])).or_insert(i);
        }
    }
    let mut next: BTreeMap<Value, Vec<Value>> = BTreeMap::new();
    let mut prev: BTreeMap<Value, Vec<Value>> = BTreeMap::new();
    let mut indegree: BTreeMap<Value, usize> = BTreeMap::new();
    for &(a, b) in edges.keys() {
        next.entry(a).or_default().push(b);
        prev.entry(b).or_default().push(a);
        indegree.entry(a).or_default();
        *indegree.entry(b).or_default() += 1;
    }
    // Kahn's algorithm: what remains lies on a cycle or after one.
    let mut ready: Vec<Value> = indegree.iter().filter(|(_, d)| **d == 0).map(|(v, _)| *v).collect();
    while let Some(v) = ready.pop() {
        indegree.remove(&v);
        for w in next.get(&v).into_iter().flatten() {
            if let Some(d) = indegree.get_mut(w) {
                *d -= 1;
                if *d == 0 {
                    ready.push(*w);
                }
            }
        }
    }
    let &start = indegree.keys().next()?;
    // Every element left has a predecessor left: walking back must repeat one, and the
    // stretch between the two visits is a cycle.
    let mut path = vec![start];
    let mut on_path = BTreeSet::from([start]);
    let mut cycle = loop {
        let v = *path.last().expect("the walk starts somewhere");
        let u =
            *prev[&v].iter().find(|u| indegree.contains_key(u)).expect("a remaining element has a predecessor left");
        if !on_path.insert(u) {
            let from = path.iter().position(|&x| x == u).expect("on the path");
            let mut cycle = path[from..].to_vec();
            cycle.push(u);
            break cycle;
        }
        path.push(u);
    };
    // The walk went backwards: read the cycle forwards.
    cycle.reverse();
    let describe = |(source, _): &(Source, &[Value])| match *source {
        Source::Op(id, node) => format!("operation #{id} at {}", name(node)),
        Source::Final(r) => format!("{}'s final state", name(r)),
    };
    let steps: Vec<String> = cycle
        .windows(2)
        .take(6)
        .map(|p| format!("{} before {} ({})", p[0], p[1], describe(&lists[edges[&(p[0], p[1])]])))
        .collect();
    Some(format!("no single order explains every list seen: {}", steps.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::{NodeId, SimTime};

    fn op(h: &mut History, node: u32, op: Op, at: u64, out: Vec<u64>) {
        let id = h.call(0, NodeId(node), op, SimTime(at));
        h.complete(id, SimTime(at + 1), Outcome::Ok(Output::Elems(out)));
    }

    #[test]
    fn inserts_must_land_where_asked_and_lists_must_agree_on_one_order() {
        let name = |n: usize| format!("n{n}");
        let mut h = History::new();
        op(&mut h, 0, Op::Insert { key: 1, pos: 0, elem: 10 }, 1, vec![10]);
        op(&mut h, 0, Op::Insert { key: 1, pos: 9, elem: 20 }, 2, vec![10, 20]); // past the end
        op(&mut h, 1, Op::Insert { key: 1, pos: 1, elem: 30 }, 3, vec![10, 30, 20]);
        let finals = vec![Some(vec![(1, Output::Elems(vec![10, 30, 20]))])];
        assert!(check(&h, &finals, name).is_empty(), "one order explains it all");

        // A replica that shows 20 before 30: 30 was put between 10 and 20.
        let swapped = vec![Some(vec![(1, Output::Elems(vec![10, 20, 30]))])];
        let v = check(&h, &swapped, name);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].finding, Finding::Misordered);
        assert!(v[0].message.contains("30 before 20 (operation #2 at n1)"), "{}", v[0].message);
        assert!(v[0].message.contains("20 before 30 (n0's final state)"), "{}", v[0].message);

        // An element after the conflicting two (a sink behind the cycle) does not hide it.
        let sink = vec![Some(vec![(1, Output::Elems(vec![10, 20, 30, 5]))])];
        assert_eq!(check(&h, &sink, name)[0].finding, Finding::Misordered);

        // An insert at 1 that landed at 2 (tombstones counted as positions).
        op(&mut h, 0, Op::Insert { key: 1, pos: 1, elem: 40 }, 4, vec![10, 30, 40, 20]);
        let v = check(&h, &finals, name);
        assert_eq!(v[0].finding, Finding::Misplaced);
        assert_eq!(v[0].message, "insert #3 of 40 at position 1 landed at position 2 of the 4 it returned");
    }

    /// `check` as it was: every key's repeated inserts found by a scan of the whole history.
    fn check_by_rescanning(history: &History, reads: &[Option<Vec<(Key, Output)>>]) -> Vec<Violation> {
        let name = |n: usize| format!("n{n}");
        let everything = check(history, reads, name);
        let mut misordered = Vec::new();
        let mut lists: BTreeMap<Key, Vec<(Source, &[Value])>> = BTreeMap::new();
        for e in history.entries() {
            if let (Op::Insert { key, .. } | Op::Read { key }, Outcome::Ok(Output::Elems(list))) = (&e.op, &e.outcome) {
                lists.entry(*key).or_default().push((Source::Op(e.id.0, e.node.index()), list));
            }
        }
        for (r, state) in reads.iter().enumerate() {
            for (key, output) in state.iter().flatten() {
                if let Output::Elems(list) = output {
                    lists.entry(*key).or_default().push((Source::Final(r), list));
                }
            }
        }
        for (key, lists) in lists {
            let mut inserted = BTreeSet::new();
            let repeated = history
                .entries()
                .iter()
                .any(|e| matches!(e.op, Op::Insert { key: k, elem, .. } if k == key && !inserted.insert(elem)));
            if repeated {
                continue;
            }
            if let Some(message) = order_conflict(&lists, &name) {
                misordered.push(Violation { finding: Finding::Misordered, key, node: "-".into(), message });
            }
        }
        // The misplaced inserts come first, as `check` reports them, then the misorders.
        let mut out: Vec<Violation> = everything.into_iter().filter(|v| v.finding == Finding::Misplaced).collect();
        out.extend(misordered);
        out
    }

    #[test]
    fn repeated_inserts_found_in_one_pass_skip_the_keys_a_rescan_skipped() {
        let mut next = crate::writes::tests::xorshift(0xd1b5_4a32_d192_ed03);
        let (mut misordered, mut skipped) = (0u32, 0u32);
        for _ in 0..300 {
            let mut h = History::new();
            for at in 0..next(16) {
                let key = next(4);
                let list: Vec<u64> = (0..next(5)).map(|_| next(8)).collect();
                let outcome =
                    if next(6) == 0 { Outcome::Failed("down".into()) } else { Outcome::Ok(Output::Elems(list)) };
                let op = match next(3) {
                    0 => Op::Read { key },
                    _ => Op::Insert { key, pos: next(4), elem: next(8) },
                };
                let id = h.call(0, NodeId(next(2) as u32), op, SimTime(at));
                h.complete(id, SimTime(at + 1), outcome);
            }
            let reads: Vec<Option<Vec<(Key, Output)>>> = (0..2)
                .map(|_| {
                    Some((0..4).map(|key| (key, Output::Elems((0..next(5)).map(|_| next(8)).collect()))).collect())
                })
                .collect();
            let fast = check(&h, &reads, |n| format!("n{n}"));
            let slow = check_by_rescanning(&h, &reads);
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
            misordered += fast.iter().filter(|v| v.finding == Finding::Misordered).count() as u32;
            let mut inserts = BTreeSet::new();
            let repeats = h
                .entries()
                .iter()
                .filter(|e| matches!(e.op, Op::Insert { key, elem, .. } if !inserts.insert((key, elem))));
            skipped += u32::from(repeats.count() > 0);
        }
        assert!(misordered > 50 && skipped > 50, "misordered {misordered}, runs with repeats {skipped}");
    }
}
