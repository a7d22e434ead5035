//! The add-wins observed-remove set without tombstones (Bieniusa et al., "An optimized
//! conflict-free replicated set", 2012; Almeida et al. 2018, §6.1): each element carries the
//! dots of the adds that put it there; a remove takes away the dots its node had seen, so an
//! add concurrent with it survives. Removed dots live on only in the causal context.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::context::{Context, Dot};
use super::types::{Crdt, Env, Update};
use super::wire;

/// Each present element with its add dots, and every dot seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrSet {
    elems: BTreeMap<u64, BTreeSet<Dot>>,
    ctx: Context,
}

impl Crdt for OrSet {
    type Op = OrSet;
    const NAME: &'static str = "or-set";
    const OPS: &'static [OpKind] = &[OpKind::Add, OpKind::Remove, OpKind::Read];
    const DATATYPE: Datatype = Datatype::AddWinsSet;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let (elem, add) = match *op {
            Op::Add { elem, .. } => (elem, true),
            Op::Remove { elem, .. } => (elem, false),
            _ => return None,
        };
        // A remove gets a dot too, though it adds none: every update is a step of its node's
        // stream, which is how replicas tell how far they have caught up.
        let dot = self.ctx.next_dot(env.me);
        let seen = self.elems.get(&elem).into_iter().flatten().copied();
        let delta = OrSet {
            elems: if add { BTreeMap::from([(elem, BTreeSet::from([dot]))]) } else { BTreeMap::new() },
            ctx: Context::of(seen.chain([dot])),
        };
        self.join(&delta, env);
        Some(Update { output: Output::Done, op: delta.clone(), delta, stream: env.me, stamp: dot.seq })
    }

    fn read(&self) -> Output {
        Output::Elems(self.elems.keys().copied().collect())
    }

    fn effect(&mut self, op: &OrSet, env: &mut Env) {
        self.join(op, env);
    }

    fn join(&mut self, other: &Self, _: &mut Env) {
        // A dot survives if both sides have it, or if the other side has not seen it (and so
        // cannot have removed it).
        for (e, dots) in self.elems.iter_mut() {
            let theirs = other.elems.get(e);
            let keep = |d: &Dot| theirs.is_some_and(|t| t.contains(d)) || !other.ctx.contains(*d);
            // Most joins remove nothing; look before taking the slower path that can.
            if !dots.iter().all(keep) {
                dots.retain(keep);
            }
        }
        for (e, dots) in &other.elems {
            let fresh: Vec<Dot> = dots.iter().copied().filter(|d| !self.ctx.contains(*d)).collect();
            if !fresh.is_empty() {
                self.elems.entry(*e).or_default().extend(fresh);
            }
        }
        self.elems.retain(|_, dots| !dots.is_empty());
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
                .map(|(&e, dots)| {
                    wire::varint(e) + wire::varint(dots.len() as u64) + dots.iter().map(Dot::size).sum::<usize>()
                })
                .sum::<usize>()
            + self.ctx.size()
    }

    fn op_size(op: &OrSet) -> usize {
        op.size()
    }
}
