//! The sans-IO protocol contract: a state machine per node, driven through handlers, whose
//! every effect goes into a [`Ctx`] that the driver applies after the handler returns.
//!
//! A protocol never sleeps, reads a clock, does I/O, or draws from an RNG it made itself, so it
//! can be unit-tested without the engine and hosted unchanged by other drivers.

use std::fmt::{self, Debug};
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::foresight::Foresight;
use crate::history::{Key, Op, OpKind, Output};
use crate::monitor::Monitor;
use crate::rng::{SimRng, below};
use crate::time::{SimDuration, SimTime};

/// A node of the simulated cluster, numbered from 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The node's index, for vectors indexed by node.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// One client operation; also its index in the run's history.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub u64);

/// A protocol message: anything cloneable that knows its encoded size on the wire. Its `Hash`
/// feeds the run's trace hash (through a machine-independent hasher), so equal runs must send
/// equal messages.
pub trait Message: Clone + Debug + Hash {
    /// Encoded size in bytes, for bandwidth and bytes-per-operation accounting.
    fn wire_size(&self) -> usize;

    /// The kind of message (`AppendEntries`, `Digest`), for traffic per message kind in
    /// reports; a fixed string, as it is asked for every message sent.
    fn kind(&self) -> &'static str {
        "message"
    }

    /// Whether the sender signs it: a receiver then rejects it when it was forged in another
    /// node's name or altered on the way, and the run pays a signature's bytes and time for it
    /// ([`crate::Signatures`]). Unsigned by default, as Raft's and gossip's messages are.
    fn signed(&self) -> bool {
        false
    }

    /// Another well-formed message of the same kind, with other content, that the sender could
    /// have sent instead: what a Byzantine node tells the far side of its split, or what an
    /// alteration on the way leaves. A function of the message alone, so that a liar's story
    /// stays the same each time it is told; `None` when there is nothing to vary.
    fn tamper(&self) -> Option<Self> {
        None
    }
}

/// The consistency model a protocol claims, which decides the checkers that judge it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consistency {
    /// Every operation appears to take effect atomically between its call and return.
    Linearizable,
    /// A single total order consistent with each client's order.
    Sequential,
    /// Causally related operations are seen in order everywhere.
    Causal,
    /// Replicas that saw the same updates have the same state, with no coordination.
    StrongEventual,
    /// Replicas converge once updates stop.
    Eventual,
}

/// What a protocol is and offers, for support checks, reports and `syncsim list`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProtocolInfo {
    /// Family name as written in scenarios (`gossip`).
    pub name: &'static str,
    /// The variant the configuration selects (`push-pull`, `rumor`).
    pub variant: String,
    /// Operations the protocol serves.
    pub ops: Vec<OpKind>,
    /// The consistency model it claims.
    pub consistency: Consistency,
    /// Length of one synchronisation round, for protocols that work in rounds.
    pub round: Option<SimDuration>,
    /// The replicated data type, which decides what a history implies about final states.
    pub datatype: Datatype,
    /// Whether [`Protocol::read_state`] reports what each replica holds, so that checkers
    /// may judge final states (a protocol that leaves it empty holds nothing to judge).
    pub reads_state: bool,
    /// Whether the protocol elects leaders (and reports them through
    /// [`Protocol::leader_term`]), so that faults may target `leader`.
    pub leaders: bool,
}

/// The data type a protocol replicates, for the checkers that judge final states.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Datatype {
    /// A map of registers (puts, gets, compare-and-set), possibly with counters and sets.
    KeyValue,
    /// Counters: increments and decrements.
    Counter,
    /// Last-writer-wins registers: a read sees the write with the greatest timestamp.
    LwwRegister,
    /// Multi-value registers: a read sees every write no other write has overwritten.
    MvRegister,
    /// Add-wins (observed-remove) sets.
    AddWinsSet,
    /// Sequences (lists) edited by position.
    Sequence,
}

/// What a protocol replies to a client: an output, or a definite failure with its reason.
pub type Reply = Result<Output, String>;

/// A node's protocol state machine.
pub trait Protocol: Sized {
    /// Messages between nodes.
    type Msg: Message;
    /// Timer names; each is armed at most once at a time (`set_timer` re-arms).
    type Timer: Copy + Ord + Debug;
    /// What survives a crash. A crash loses everything else.
    type Durable: Clone + Debug;
    /// Parameters from the scenario's `protocol:` map.
    type Config: Clone + Debug;
    /// Facts a node reports about itself for the invariant monitor (`()` when there are none).
    type Note: Debug;
    /// Checks the protocol's invariants across every node's notes while the run goes on.
    type Monitor: Monitor<Self::Note>;

    /// The monitor for a run of `nodes` nodes under `config`.
    fn monitor(config: &Self::Config, nodes: u32) -> Self::Monitor;

    /// Describes the protocol under this configuration.
    fn info(config: &Self::Config) -> ProtocolInfo;

    /// A node starting fresh (`durable` is `None`) or restarting after a crash.
    fn new(id: NodeId, config: &Self::Config, durable: Option<Self::Durable>) -> Self;

    /// The state a crash would keep, as of now (every handler is assumed to persist it before
    /// its effects leave the node).
    fn durable(&self) -> Self::Durable;

    /// Called once when the node starts, restarts, or joins the cluster (fresh: `new` got no
    /// durable state).
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>);

    /// The node joins a running cluster, fresh (a scale-out): by default it starts like any
    /// fresh node. A protocol that bootstraps from its peers starts that here.
    fn on_join(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.on_start(ctx);
    }

    /// A readiness probe: false while the node should not serve clients yet (one that joined
    /// and is still catching up). Clients reach only ready members, as a load balancer in
    /// front of an elastic cluster sends them; a crashed node counts as ready until it is
    /// known to be gone.
    fn ready(&self) -> bool {
        true
    }

    /// The node is leaving the cluster for good (a scale-in): the last chance to hand off
    /// what only it holds. What it sends still goes out. [`Departure::Now`] stops it at
    /// once, its disk wiped (by default, as if it crashed); [`Departure::Drain`] keeps it
    /// running, out of the membership clients and peers see, until a handler calls
    /// [`Ctx::depart`] (a consensus member that must first be removed from its group).
    fn on_leave(&mut self, _ctx: &mut Ctx<'_, Self>) -> Departure {
        Departure::Now
    }

    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);

    /// A timer fired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer);

    /// A client asks for `op`; answer with [`Ctx::reply`], now or later.
    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op);

    /// A fingerprint of the replica's readable state: equal states give equal digests.
    /// Used to judge convergence and divergence.
    fn state_digest(&self) -> u64;

    /// What a read of each key the replica holds would return, in key order, for checkers that
    /// judge final states against the history (empty for protocols that do not offer it).
    fn read_state(&self) -> Vec<(Key, Output)> {
        Vec::new()
    }

    /// Which nodes hold which keys, for a protocol that partitions its data (each key on a
    /// few replicas of a ring); `None`, the default, means every node holds every key. Whole-
    /// cluster checkers (visibility, convergence) judge each key on its holders only.
    fn placement(config: &Self::Config, nodes: u32) -> Option<Placement> {
        let _ = (config, nodes);
        None
    }

    /// Whether the protocol under `config` is an oracle that reads the run's future workload
    /// ([`Ctx::foresight`]); the host then draws the workload ahead of time. Only baselines
    /// that bound what any real policy could do should say yes.
    fn foresight(config: &Self::Config) -> bool {
        let _ = config;
        false
    }

    /// The term (epoch, ballot) this node leads, if it believes it leads; faults aimed at
    /// `leader` pick the node leading the highest term.
    fn leader_term(&self) -> Option<u64> {
        None
    }

    /// The committed part of the replica's log as a hash chain, for the audit checker; `None`
    /// (the default) for a protocol that keeps no log.
    fn ledger(&self) -> Option<crate::ledger::Ledger> {
        None
    }
}

/// Which nodes hold a key, for protocols that partition their data ([`Protocol::placement`]).
#[derive(Clone)]
pub struct Placement(std::sync::Arc<dyn Fn(Key) -> Vec<NodeId> + Send + Sync>);

impl Placement {
    /// The placement `holders` computes.
    pub fn new(holders: impl Fn(Key) -> Vec<NodeId> + Send + Sync + 'static) -> Placement {
        Placement(std::sync::Arc::new(holders))
    }

    /// The nodes that hold `key`.
    pub fn holders(&self, key: Key) -> Vec<NodeId> {
        (self.0)(key)
    }
}

impl Debug for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Placement")
    }
}

/// A change to a node's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimerOp<T> {
    /// Arm (or re-arm) `timer` to fire after this long on the node's own clock.
    Set(T, SimDuration),
    /// Disarm `timer` if armed.
    Cancel(T),
}

/// A write becoming visible in a replica's readable state, for staleness and visibility
/// metrics.
///
/// The writes to a key form one or more *streams*, each totally ordered by `stamp`: a replica
/// that exposes stamp `s` of a stream holds every write of that stream stamped `s` or less
/// (or something that superseded it). Totally ordered stores use one stream per key (stream
/// 0, stamped by version or log index); CRDTs one per origin node (stamped by the origin's
/// per-key sequence number or counter value).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The key written.
    pub key: Key,
    /// Which of the key's streams.
    pub stream: u32,
    /// The client operation whose write this is, if the node knows it: the node that applied
    /// the request does, and must expose it first; a replica that merged state in from a peer
    /// may only know how far the stream has reached.
    pub write: Option<RequestId>,
    /// How far along the stream this replica now is.
    pub stamp: u64,
}

/// Everything a handler asked for, applied by the driver after the handler returns.
#[derive(Debug)]
pub struct Effects<M, T, N = ()> {
    /// Messages to send, in order.
    pub sends: Vec<(NodeId, M)>,
    /// Timer changes, in order.
    pub timers: Vec<TimerOp<T>>,
    /// Replies to clients, in order.
    pub replies: Vec<(RequestId, Reply)>,
    /// Writes that became readable at this node.
    pub exposures: Vec<Exposure>,
    /// Facts for the invariant monitor.
    pub notes: Vec<N>,
    /// A draining node is done and stops now ([`Ctx::depart`]).
    pub depart: bool,
}

impl<M, T, N> Default for Effects<M, T, N> {
    fn default() -> Self {
        Effects {
            sends: Vec::new(),
            timers: Vec::new(),
            replies: Vec::new(),
            exposures: Vec::new(),
            notes: Vec::new(),
            depart: false,
        }
    }
}

/// How a leaving node goes ([`Protocol::on_leave`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Departure {
    /// At once: what `on_leave` sent is its hand-off.
    Now,
    /// Once a later handler calls [`Ctx::depart`]; until then it runs as before, but clients
    /// and peers no longer see it as a member.
    Drain,
}

impl<M, T> Effects<M, T> {}

/// The other nodes of the cluster, without allocating a list: every other node, or in an
/// elastic cluster every other member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peers {
    nodes: u32,
    me: u32,
    /// The members, in id order, when the cluster is elastic (this node may be one).
    members: Option<Arc<[NodeId]>>,
}

impl Peers {
    /// How many peers there are.
    pub fn len(&self) -> usize {
        match &self.members {
            None => self.nodes.saturating_sub(1) as usize,
            Some(m) => m.len() - usize::from(m.binary_search(&NodeId(self.me)).is_ok()),
        }
    }
    /// True in a one-node cluster.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `i`-th peer, skipping this node.
    pub fn get(&self, i: usize) -> NodeId {
        match &self.members {
            None => {
                let i = i as u32;
                NodeId(if i < self.me { i } else { i + 1 })
            }
            Some(m) => {
                let mine = m.binary_search(&NodeId(self.me));
                match mine {
                    Ok(p) if i >= p => m[i + 1],
                    _ => m[i],
                }
            }
        }
    }
    /// Every peer, in id order.
    pub fn iter(&self) -> impl Iterator<Item = NodeId> + use<> {
        let (me, members) = (self.me, self.members.clone());
        let n = members.as_ref().map_or(self.nodes as usize, |m| m.len());
        (0..n).map(move |i| members.as_ref().map_or(NodeId(i as u32), |m| m[i])).filter(move |k| k.0 != me)
    }
}

/// A handler's window on the world: this node's clock, identity, peers and random stream,
/// and the buffer that collects its effects.
pub struct Ctx<'a, P: Protocol> {
    now: SimTime,
    id: NodeId,
    nodes: u32,
    members: Option<Arc<[NodeId]>>,
    rng: &'a mut SimRng,
    out: &'a mut Effects<P::Msg, P::Timer, P::Note>,
    foresight: Option<&'a Foresight>,
}

impl<'a, P: Protocol> Ctx<'a, P> {
    /// A context for node `id` of `nodes` at local time `now`; effects collect in `out`.
    /// The engine builds one per handler call; tests and other hosts may build their own.
    pub fn new(
        now: SimTime,
        id: NodeId,
        nodes: u32,
        rng: &'a mut SimRng,
        out: &'a mut Effects<P::Msg, P::Timer, P::Note>,
    ) -> Self {
        Ctx { now, id, nodes, members: None, rng, out, foresight: None }
    }

    /// The same context for an oracle, which sees the run's future workload.
    pub fn with_foresight(mut self, foresight: &'a Foresight) -> Self {
        self.foresight = Some(foresight);
        self
    }

    /// Every operation the run's clients will call, for a protocol that declared
    /// [`Protocol::foresight`] (an oracle); `None` for every other.
    pub fn foresight(&self) -> Option<&Foresight> {
        self.foresight
    }

    /// The same context in an elastic cluster whose members are now `members` (in id order):
    /// peers, random peers and broadcasts then reach members only.
    pub fn with_members(mut self, members: Arc<[NodeId]>) -> Self {
        self.members = Some(members);
        self
    }

    /// The node's own clock (which may run fast or slow under clock-skew faults).
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// This node.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Number of nodes in the cluster, this one included (in an elastic cluster, spares and
    /// nodes that left too: every id a node can have).
    pub fn cluster_size(&self) -> u32 {
        self.nodes
    }
    /// Every other node; in an elastic cluster, every other member, as a membership service
    /// (Kubernetes endpoints, a Consul catalog) lists them: each node that joined and has not
    /// left, crashed or not.
    pub fn peers(&self) -> Peers {
        Peers { nodes: self.nodes, me: self.id.0, members: self.members.clone() }
    }
    /// This node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }
    /// A peer chosen uniformly at random, or `None` in a one-node cluster.
    pub fn random_peer(&mut self) -> Option<NodeId> {
        if self.members.is_none() {
            // A fixed cluster (the hot path of every gossip-like protocol): no list to walk.
            if self.nodes < 2 {
                return None;
            }
            let i = below(self.rng, u64::from(self.nodes - 1)) as u32;
            return Some(NodeId(if i < self.id.0 { i } else { i + 1 }));
        }
        let peers = self.peers();
        if peers.is_empty() {
            return None;
        }
        Some(peers.get(below(self.rng, peers.len() as u64) as usize))
    }
    /// Up to `k` distinct peers chosen uniformly at random (Floyd's sampling), in the order
    /// drawn.
    pub fn random_peers(&mut self, k: usize) -> Vec<NodeId> {
        let peers = self.peers();
        let n = peers.len();
        let k = k.min(n);
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        for j in n - k..n {
            let t = below(self.rng, j as u64 + 1) as usize;
            chosen.push(if chosen.contains(&t) { j } else { t });
        }
        chosen.into_iter().map(|i| peers.get(i)).collect()
    }
    /// Sends `msg` to `to`.
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.out.sends.push((to, msg));
    }
    /// Sends a copy of `msg` to every peer.
    pub fn broadcast(&mut self, msg: P::Msg) {
        for peer in self.peers().iter() {
            self.out.sends.push((peer, msg.clone()));
        }
    }
    /// Arms `timer` to fire `after` from now on this node's clock, replacing any earlier arming.
    pub fn set_timer(&mut self, timer: P::Timer, after: SimDuration) {
        self.out.timers.push(TimerOp::Set(timer, after));
    }
    /// Disarms `timer`.
    pub fn cancel_timer(&mut self, timer: P::Timer) {
        self.out.timers.push(TimerOp::Cancel(timer));
    }
    /// Answers client request `req`.
    pub fn reply(&mut self, req: RequestId, reply: Reply) {
        self.out.replies.push((req, reply));
    }
    /// A draining node ([`Departure::Drain`]) has handed off what it must: it stops once
    /// this handler is done, its disk wiped. Ignored on a node that is not leaving.
    pub fn depart(&mut self) {
        self.out.depart = true;
    }
    /// Reports a fact to the protocol's invariant monitor.
    pub fn note(&mut self, note: P::Note) {
        self.out.notes.push(note);
    }
    /// Reports that the write of client operation `write`, at position `stamp` of the key's
    /// single stream of writes, is now readable here.
    pub fn expose(&mut self, key: Key, write: RequestId, stamp: u64) {
        self.out.exposures.push(Exposure { key, stream: 0, write: Some(write), stamp });
    }
    /// Reports that this replica now holds every write of stream `stream` of `key` up to
    /// `stamp`; `write` names the client operation stamped `stamp` when this node applied it.
    pub fn expose_stream(&mut self, key: Key, stream: u32, stamp: u64, write: Option<RequestId>) {
        self.out.exposures.push(Exposure { key, stream, write, stamp });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_peers_are_distinct_and_uniform() {
        use crate::monitor::NoMonitor;
        struct Dummy;
        #[derive(Clone, Debug, Hash)]
        struct M;
        impl Message for M {
            fn wire_size(&self) -> usize {
                0
            }
        }
        impl Protocol for Dummy {
            type Msg = M;
            type Timer = ();
            type Durable = ();
            type Config = ();
            type Note = ();
            type Monitor = NoMonitor;
            fn monitor(_: &(), _: u32) -> NoMonitor {
                NoMonitor
            }
            fn info(_: &()) -> ProtocolInfo {
                unimplemented!()
            }
            fn new(_: NodeId, _: &(), _: Option<()>) -> Self {
                Dummy
            }
            fn durable(&self) {}
            fn on_start(&mut self, _: &mut Ctx<'_, Self>) {}
            fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: M) {}
            fn on_timer(&mut self, _: &mut Ctx<'_, Self>, _: ()) {}
            fn on_request(&mut self, _: &mut Ctx<'_, Self>, _: RequestId, _: Op) {}
            fn state_digest(&self) -> u64 {
                0
            }
        }
        let mut rng = crate::rng::Stream::Node(0).rng(1);
        let mut out = Effects::default();
        let mut ctx = Ctx::<Dummy>::new(SimTime(0), NodeId(2), 6, &mut rng, &mut out);
        let mut counts = [0u32; 6];
        for _ in 0..10_000 {
            let picked = ctx.random_peers(3);
            assert_eq!(picked.len(), 3);
            let mut sorted = picked.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 3, "distinct peers");
            picked.iter().for_each(|p| counts[p.index()] += 1);
        }
        assert_eq!(counts[2], 0, "never itself");
        for (k, c) in counts.iter().enumerate().filter(|(k, _)| *k != 2) {
            assert!((f64::from(*c) / 10_000.0 - 0.6).abs() < 0.03, "peer {k} chosen {c} times");
        }
        assert_eq!(ctx.random_peers(10).len(), 5, "at most every peer");
    }

    #[test]
    fn peers_skip_self() {
        let p = Peers { nodes: 4, me: 2, members: None };
        assert_eq!(p.len(), 3);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![NodeId(0), NodeId(1), NodeId(3)]);
        assert_eq!((0..3).map(|i| p.get(i)).collect::<Vec<_>>(), p.iter().collect::<Vec<_>>());
    }

    #[test]
    fn in_an_elastic_cluster_peers_are_the_other_members() {
        let members: Arc<[NodeId]> = [1, 2, 5, 7].map(NodeId).into();
        // A member: every other member.
        let p = Peers { nodes: 9, me: 5, members: Some(members.clone()) };
        assert_eq!(p.len(), 3);
        assert_eq!(p.iter().collect::<Vec<_>>(), vec![NodeId(1), NodeId(2), NodeId(7)]);
        assert_eq!((0..3).map(|i| p.get(i)).collect::<Vec<_>>(), p.iter().collect::<Vec<_>>());
        // A node not (yet) among them: all of them.
        let p = Peers { nodes: 9, me: 4, members: Some(members) };
        assert_eq!(p.len(), 4);
        assert_eq!((0..4).map(|i| p.get(i)).collect::<Vec<_>>(), vec![NodeId(1), NodeId(2), NodeId(5), NodeId(7)]);
    }
}
