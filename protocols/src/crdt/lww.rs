//! The last-writer-wins register: the write with the greatest hybrid-logical-clock timestamp
//! wins, ties going to the greater node id. A replica holds one per key: an LWW map.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::types::{Bug, Crdt, Env, Update};
use super::wire;
use crate::planted::Planted;

/// A register and the timestamp of the write it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LwwRegister {
    /// The write's hybrid-logical-clock timestamp; 0 if never written.
    ts: u64,
    /// The node that wrote it.
    node: u32,
    /// The value written.
    value: Option<u64>,
}

impl LwwRegister {
    /// Whether `self` beats `other`, as node `env.me` judges it.
    fn beats(&self, other: &LwwRegister, env: &Env) -> bool {
        match self.ts.cmp(&other.ts) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal if env.bug.is(Bug::LwwTie) && env.me % 2 == 1 => self.node < other.node,
            Ordering::Equal => self.node > other.node,
        }
    }

    /// The write's stamp in the key's stream of writes: its timestamp. Writes tied on the
    /// timestamp share it (the tie goes to the higher node id, which checkers know from the
    /// history), so a replica holding either has the other or what superseded it.
    pub fn stamp(&self) -> u64 {
        self.ts
    }
}

impl Crdt for LwwRegister {
    type Op = LwwRegister;
    const NAME: &'static str = "lww-map";
    const OPS: &'static [OpKind] = &[OpKind::Put, OpKind::Get];
    const DATATYPE: Datatype = Datatype::LwwRegister;

    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>> {
        let Op::Put { value, .. } = *op else { return None };
        *self = LwwRegister { ts: env.hlc.tick(env.now_ms), node: env.me, value: Some(value) };
        Some(Update { output: Output::Done, op: self.clone(), delta: self.clone(), stream: 0, stamp: self.stamp() })
    }

    fn read(&self) -> Output {
        Output::Value(self.value)
    }

    fn effect(&mut self, op: &LwwRegister, env: &mut Env) {
        self.join(op, env);
    }

    fn join(&mut self, other: &Self, env: &mut Env) {
        if other.ts == 0 {
            return;
        }
        if !env.bug.is(Bug::LwwStaleClock) {
            env.hlc.observe(other.ts);
        }
        if other.beats(self, env) {
            *self = other.clone();
        }
    }

    fn progress(&self, out: &mut Vec<(u32, u64)>) {
        if self.ts > 0 {
            out.push((0, self.stamp()));
        }
    }

    fn size(&self) -> usize {
        wire::varint(self.ts) + wire::varint(u64::from(self.node)) + wire::varint(self.value.unwrap_or(0))
    }

    fn op_size(op: &LwwRegister) -> usize {
        op.size()
    }
}
