//! Counters: the grow-only G-Counter and the PN-Counter that also counts down (Shapiro et al.,
//! "A comprehensive study of convergent and commutative replicated data types", 2011, §3.1).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::types::{Bug, Crdt, Env, Update};
use super::wire;
use crate::planted::Planted;

/// One count per node; the value is their sum, and a merge takes each node's maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GCounter {
    counts: BTreeMap<u32, u64>,
}

/// An increment as op-based sync ships it: `node` counted `by` more.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CountOp {
    /// The node that counted.
    pub node: u32,
    /// By how much.
    pub by: u64,
    /// PN-Counter: a decrement.
    pub down: bool,
}

impl CountOp {
    fn size(&self) -> usize {
        wire::varint(u64::from(self.node)) + wire::varint(self.by) + 1
    }
}

impl GCounter {
    /// The counter's value.
    pub fn value(&self) -> u64 {
        self.counts.values().fold(0u64, |a, &b| a.saturating_add(b))
    }

    /// Counts `by` more at `node`; returns the node's new count.
    fn add(&mut self, node: u32, by: u64) -> u64 {
        let c = self.counts.entry(node).or_insert(0);
        *c = c.saturating_add(by);
        *c
    }

    fn merge(&mut self, other: &GCounter, bug: Bug) {
        for (&node, &n) in &other.counts {
            let c = self.counts.entry(node).or_insert(0);
            *c = if bug.is(Bug::CounterAdd) { c.saturating_add(n) } else { (*c).max(n) };
        }
    }

    /// The counts as write streams: node `k`'s count is stream `stream(k)`, stamped by count.
    fn streams(&self, stream: impl Fn(u32) -> u32, out: &mut Vec<(u32, u64)>) {
        out.extend(self.counts.iter().map(|(&k, &n)| (stream(k), n)));
    }

    fn encoded(&self) -> usize {
        wire::varint(self.counts.len() as u64)
            + self.counts.iter().map(|(&k, &n)| wire::varint(u64::from(k)) + wire::varint(n)).sum::<usize>()
    }

    fn delta_of(node: u32, count: u64) -> GCounter {
        GCounter { counts: BTreeMap::from([(node, count)]) }
    }
}

fn count(v: i128) -> Output {
    Output::Count(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

impl Crdt for GCounter {
    type Op = CountOp;
    const NAME: &'static str = "g-counter";
    const OPS: &'static [OpKind] = &[OpKind::Incr, OpKind::Read];
    const DATATYPE: Datatype = Datatype::Counter;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let Op::Incr { by, .. } = *op else { return None };
        let now = self.add(env.me, by);
        Some(Update {
            output: Output::Done,
            op: CountOp { node: env.me, by, down: false },
            delta: GCounter::delta_of(env.me, now),
            stream: env.me,
            stamp: now,
        })
    }

    fn read(&self) -> Output {
        count(i128::from(self.value()))
    }

    fn effect(&mut self, op: &CountOp, _: &mut Env) {
        self.add(op.node, op.by);
    }

    fn join(&mut self, other: &Self, env: &mut Env) {
        self.merge(other, env.bug);
    }

    fn progress(&self, out: &mut Vec<(u32, u64)>) {
        self.streams(|k| k, out);
    }

    fn size(&self) -> usize {
        self.encoded()
    }

    fn op_size(op: &CountOp) -> usize {
        op.size()
    }
}

/// Two G-Counters, one counting up and one down; the value is their difference.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PnCounter {
    up: GCounter,
    down: GCounter,
}

impl Crdt for PnCounter {
    type Op = CountOp;
    const NAME: &'static str = "pn-counter";
    const OPS: &'static [OpKind] = &[OpKind::Incr, OpKind::Decr, OpKind::Read];
    const DATATYPE: Datatype = Datatype::Counter;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let (by, down) = match *op {
            Op::Incr { by, .. } => (by, false),
            Op::Decr { by, .. } => (by, true),
            _ => return None,
        };
        let half = if down { &mut self.down } else { &mut self.up };
        let now = half.add(env.me, by);
        let mut delta = PnCounter::default();
        *(if down { &mut delta.down } else { &mut delta.up }) = GCounter::delta_of(env.me, now);
        Some(Update {
            output: Output::Done,
            op: CountOp { node: env.me, by, down },
            delta,
            // Node k's increments are stream 2k, its decrements 2k + 1.
            stream: 2 * env.me + u32::from(down),
            stamp: now,
        })
    }

    fn read(&self) -> Output {
        count(i128::from(self.up.value()) - i128::from(self.down.value()))
    }

    fn effect(&mut self, op: &CountOp, _: &mut Env) {
        (if op.down { &mut self.down } else { &mut self.up }).add(op.node, op.by);
    }

    fn join(&mut self, other: &Self, env: &mut Env) {
        self.up.merge(&other.up, env.bug);
        self.down.merge(&other.down, env.bug);
    }

    fn progress(&self, out: &mut Vec<(u32, u64)>) {
        let start = out.len();
        self.up.streams(|k| 2 * k, out);
        self.down.streams(|k| 2 * k + 1, out);
        out[start..].sort_unstable();
    }

    fn size(&self) -> usize {
        self.up.encoded() + self.down.encoded()
    }

    fn op_size(op: &CountOp) -> usize {
        op.size()
    }
}
