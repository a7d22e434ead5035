//! The multi-value register: a write overwrites every write its node had seen; concurrent
//! writes all survive, and a read returns them all (Dynamo's and Riak's siblings). Kept as a
//! dot-to-value map with a causal context (Almeida et al. 2018, §6.2).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::context::{Context, Dot};
use super::types::{Crdt, Env, Update};
use super::wire;

/// The surviving writes, each under its dot, and every dot seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MvRegister {
    values: BTreeMap<Dot, u64>,
    ctx: Context,
}

impl Crdt for MvRegister {
    type Op = MvRegister;
    const NAME: &'static str = "mv-register";
    const OPS: &'static [OpKind] = &[OpKind::Put, OpKind::Read];
    const DATATYPE: Datatype = Datatype::MvRegister;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let Op::Put { value, .. } = *op else { return None };
        let dot = self.ctx.next_dot(env.me);
        // The new value, and every value it overwrites named in the context.
        let delta = MvRegister {
            values: BTreeMap::from([(dot, value)]),
            ctx: Context::of(self.values.keys().copied().chain([dot])),
        };
        self.join(&delta, env);
        Some(Update { output: Output::Done, op: delta.clone(), delta, stream: env.me, stamp: dot.seq })
    }

    fn read(&self) -> Output {
        let mut values: Vec<u64> = self.values.values().copied().collect();
        values.sort_unstable();
        values.dedup();
        Output::Elems(values)
    }

    fn effect(&mut self, op: &MvRegister, env: &mut Env) {
        self.join(op, env);
    }

    fn join(&mut self, other: &Self, _: &mut Env) {
        // A value survives if both sides have it, or if the other side has not seen its dot
        // (and so cannot have overwritten it).
        self.values.retain(|d, _| other.values.contains_key(d) || !other.ctx.contains(*d));
        for (&d, &v) in &other.values {
            if !self.ctx.contains(d) {
                self.values.insert(d, v);
            }
        }
        self.ctx.join(&other.ctx);
    }

    fn progress(&self, out: &mut Vec<(u32, u64)>) {
        out.extend(self.ctx.version_vector());
    }

    fn size(&self) -> usize {
        wire::varint(self.values.len() as u64)
            + self.values.iter().map(|(d, &v)| d.size() + wire::varint(v)).sum::<usize>()
            + self.ctx.size()
    }

    fn op_size(op: &MvRegister) -> usize {
        op.size()
    }
}
