//! What every replicated data type offers the replica that hosts it.

use std::fmt::Debug;
use std::hash::Hash;

use serde::Serialize;
use serde::de::DeserializeOwned;
use syncsim_sim::{Datatype, Op, OpKind, Output};

use super::clock::Hlc;
use crate::planted::planted_bugs;

planted_bugs! {
    /// The CRDTs' planted bugs: merges broken on purpose, to show that the checkers catch them
    /// (see [`crate::planted`]).
    pub enum Bug {
        /// LWW registers with equal timestamps: odd-numbered nodes keep the lower node id's
        /// write, even-numbered ones the higher, so replicas can end up disagreeing.
        LwwTie = "lww-tie",
        /// Counters merge by adding counts instead of taking their maximum, so an increment is
        /// counted once per merge that carries it.
        CounterAdd = "counter-add",
        /// LWW registers merge without advancing the hybrid logical clock, so a node whose
        /// clock is behind stamps its next write below what it already holds.
        LwwStaleClock = "lww-stale-clock",
        /// RGA counts insert positions over every element, tombstones included, so an element
        /// lands later than where its author put it whenever something before it was deleted.
        RgaTombstonePositions = "rga-tombstone-positions",
        /// Delta sync counts a delta group as acknowledged when it is sent, not when the
        /// peer's ack comes back, so a lost message is never sent again and its groups are
        /// collected (delta-state CRDTs keep deltas until acknowledged: Almeida et al. 2018,
        /// Algorithm 2).
        DeltaEarlyAck = "delta-early-ack",
        /// Delta sync joins a leaving replica's handed-off state without keeping what was new
        /// as a delta of its own, so it stays with the two members it was sent to: the others
        /// never see the leaver's last updates (found while building elastic clusters).
        HandoffNotForwarded = "handoff-not-forwarded",
    }
}

/// What a data type's operations may read and advance on the node that runs them.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The node.
    pub me: u32,
    /// The node's physical clock, in milliseconds.
    pub now_ms: u64,
    /// The node's hybrid logical clock.
    pub hlc: Hlc,
    /// The broken merge under test, if any.
    pub bug: Bug,
}

/// What a client update did at the node that applied it.
#[derive(Clone, Debug, PartialEq)]
pub struct Update<C: Crdt> {
    /// The reply to the client.
    pub output: Output,
    /// The operation to ship to other replicas in op-based sync.
    pub op: C::Op,
    /// The update as a delta state, for delta-state sync: joining it into a replica that has
    /// seen what this one had seen gives what this one has now.
    pub delta: C,
    /// The write stream the update belongs to, and its stamp there (see
    /// [`syncsim_sim::Exposure`]).
    pub stream: u32,
    /// Its stamp in that stream.
    pub stamp: u64,
}

/// A state-based CRDT, one per key: a join semilattice whose updates only inflate it, with
/// the delta and the operation of each update for the delta and op-based ways of syncing it.
pub trait Crdt: Clone + Debug + Default + PartialEq + Hash + Serialize + DeserializeOwned + Send + 'static {
    /// An update as op-based sync ships it.
    type Op: Clone + Debug + PartialEq + Hash + Serialize + DeserializeOwned + Send;

    /// The type's name in scenarios (`or-set`).
    const NAME: &'static str;
    /// The client operations it serves.
    const OPS: &'static [OpKind];
    /// What the checkers should expect of its state.
    const DATATYPE: Datatype;

    /// Applies client update `op` at this node; `None` if the type does not serve it.
    fn update(&mut self, op: &Op, env: &mut Env) -> Option<Update<Self>>;

    /// What a read returns.
    fn read(&self) -> Output;

    /// Applies an update made at another node, delivered exactly once and in causal order.
    fn effect(&mut self, op: &Self::Op, env: &mut Env);

    /// Merges another replica's state or a delta: the least upper bound of the two.
    fn join(&mut self, other: &Self, env: &mut Env);

    /// How far each write stream has reached here, as (stream, stamp) in stream order.
    fn progress(&self, out: &mut Vec<(u32, u64)>);

    /// Encoded size of the state, in bytes.
    fn size(&self) -> usize;

    /// Encoded size of an operation, in bytes.
    fn op_size(op: &Self::Op) -> usize;
}
