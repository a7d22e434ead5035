//! The replicated growable array (RGA; Roh et al., "Replicated abstract data types", 2011), a
//! sequence CRDT for collaborative text. Each element hangs after the element it was inserted
//! behind; siblings are ordered newest first by a Lamport timestamp, so an insertion lands
//! right where its author put it, and concurrent insertions at one place interleave the same
//! way everywhere. Deleted elements stay as tombstones so later insertions can still find
//! their place.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::context::Context;
use super::types::{Bug, Crdt, Env, Update};
use super::wire;
use crate::planted::Planted;

/// An element's identity: a Lamport timestamp, then the inserting node.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Id {
    /// One more than the greatest timestamp its node had seen in the sequence.
    pub lamport: u64,
    /// The node that inserted it.
    pub node: u32,
}

impl Id {
    fn size(&self) -> usize {
        wire::varint(self.lamport) + wire::varint(u64::from(self.node))
    }
}

/// An inserted element.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Elem {
    /// The element it was inserted behind; `None` for the head.
    pub after: Option<Id>,
    /// Its value.
    pub value: u64,
}

/// Every element ever inserted, the ids of the deleted ones, and every update's dot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Rga {
    elems: BTreeMap<Id, Elem>,
    deleted: BTreeSet<Id>,
    ctx: Context,
}

impl Rga {
    /// Every element's id in sequence order, tombstones included: a depth-first walk from the
    /// head, children newest first. An element whose predecessor is missing (never, when
    /// updates arrive in causal order) is left out.
    fn order(&self) -> Vec<Id> {
        let mut children: BTreeMap<Option<Id>, Vec<Id>> = BTreeMap::new();
        for (&id, e) in &self.elems {
            children.entry(e.after).or_default().push(id);
        }
        let mut out = Vec::with_capacity(self.elems.len());
        // Ids ascend within each list, so popping from a stack of them visits the newest first.
        let mut stack: Vec<Id> = children.get(&None).cloned().unwrap_or_default();
        while let Some(id) = stack.pop() {
            out.push(id);
            if let Some(kids) = children.get(&Some(id)) {
                stack.extend(kids.iter().copied());
            }
        }
        out
    }

    /// The visible (not deleted) elements' ids in order.
    fn visible(&self) -> Vec<Id> {
        self.order().into_iter().filter(|id| !self.deleted.contains(id)).collect()
    }
}

impl Crdt for Rga {
    type Op = Rga;
    const NAME: &'static str = "rga";
    const OPS: &'static [OpKind] = &[OpKind::Insert, OpKind::Delete, OpKind::Read];
    const DATATYPE: Datatype = Datatype::Sequence;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let dot = self.ctx.next_dot(env.me);
        let mut delta = Rga { ctx: Context::of([dot]), ..Rga::default() };
        let output = match *op {
            Op::Insert { pos, elem, .. } => {
                // The bug: positions count tombstones too.
                let visible = if env.bug.is(Bug::RgaTombstonePositions) { self.order() } else { self.visible() };
                let at = usize::try_from(pos).unwrap_or(usize::MAX).min(visible.len());
                let after = at.checked_sub(1).map(|i| visible[i]);
                let lamport = self.elems.keys().map(|id| id.lamport).max().unwrap_or(0) + 1;
                delta.elems.insert(Id { lamport, node: env.me }, Elem { after, value: elem });
                // Filled in below: the sequence after the insert.
                Output::Done
            }
            Op::Delete { pos, .. } => {
                let target = usize::try_from(pos).ok().and_then(|p| self.visible().get(p).copied());
                delta.deleted.extend(target);
                Output::Value(target.map(|id| self.elems[&id].value))
            }
            _ => return None,
        };
        self.join(&delta, env);
        // An insert answers with the sequence it made, as in the strong list specification
        // (Attiya et al. 2016): checkers see where the element landed.
        let output = if matches!(op, Op::Insert { .. }) { self.read() } else { output };
        Some(Update { output, op: delta.clone(), delta, stream: env.me, stamp: dot.seq })
    }

    fn read(&self) -> Output {
        Output::Elems(self.visible().iter().map(|id| self.elems[id].value).collect())
    }

    fn effect(&mut self, op: &Rga, env: &mut Env) {
        self.join(op, env);
    }

    fn join(&mut self, other: &Self, _: &mut Env) {
        // An id names one insertion everywhere, so the union of elements is well defined.
        self.elems.extend(other.elems.iter().map(|(&id, &e)| (id, e)));
        self.deleted.extend(other.deleted.iter().copied());
        self.ctx.join(&other.ctx);
    }

    fn progress(&self, out: &mut Vec<(u32, u64)>) {
        out.extend(self.ctx.version_vector());
    }

    fn size(&self) -> usize {
        wire::varint(self.elems.len() as u64)
            + self
                .elems
                .iter()
                .map(|(id, e)| id.size() + e.after.map_or(1, |a| 1 + a.size()) + wire::varint(e.value))
                .sum::<usize>()
            + wire::varint(self.deleted.len() as u64)
            + self.deleted.iter().map(Id::size).sum::<usize>()
            + self.ctx.size()
    }

    fn op_size(op: &Rga) -> usize {
        op.size()
    }
}
