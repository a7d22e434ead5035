//! A replica holding one CRDT per key, kept in sync by full states, deltas or causally
//! delivered operations.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use syncsim_sim::rng::below;
use syncsim_sim::trace::StableHasher;
use syncsim_sim::{
    Consistency, Ctx, Departure, Key, Message, NodeId, Op, OpKind, Output, Protocol, ProtocolInfo, RequestId,
};

use super::types::{Bug, Crdt, Env};
use super::{CrdtConfig, SyncMode, wire};
use crate::handoff::Handoff;
use crate::planted::Planted;
use crate::swim::monitor::{SwimMonitor, SwimNote};
use crate::swim::{self, CtxHost, Swim, SwimMsg, SwimTimer};

/// A version vector: per origin node, how many of its operations were delivered.
type Vv = BTreeMap<u32, u64>;

/// A set of (stream, stamp) pairs, as [`Crdt::progress`] lists them.
type Progress = Vec<(u32, u64)>;

/// A delta group: the peer it came from (`None`: made here) and its deltas, key by key.
type DeltaGroup<C> = (Option<u32>, Vec<(Key, C)>);

/// An operation on its way through the causal broadcast layer.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Envelope<C: Crdt> {
    /// The node that made the update.
    pub origin: u32,
    /// Its number among the origin's operations, from 1.
    pub seq: u64,
    /// What the origin had delivered from each other node when it made the update: the
    /// operation waits for those.
    pub deps: Vec<(u32, u64)>,
    /// The key updated.
    pub key: Key,
    /// The operation.
    pub op: C::Op,
}

impl<C: Crdt> Envelope<C> {
    fn size(&self) -> usize {
        wire::varint(u64::from(self.origin))
            + wire::varint(self.seq)
            + vv_size(self.deps.iter().copied())
            + wire::varint(self.key)
            + C::op_size(&self.op)
    }

    fn ready(&self, vc: &Vv) -> bool {
        vc.get(&self.origin).copied().unwrap_or(0) + 1 == self.seq
            && self.deps.iter().all(|&(n, s)| vc.get(&n).copied().unwrap_or(0) >= s)
    }
}

fn vv_size(vv: impl ExactSizeIterator<Item = (u32, u64)>) -> usize {
    wire::varint(vv.len() as u64) + vv.map(|(n, s)| wire::varint(u64::from(n)) + wire::varint(s)).sum::<usize>()
}

fn parts_size<C: Crdt>(parts: &[(Key, C)]) -> usize {
    wire::varint(parts.len() as u64) + parts.iter().map(|(k, c)| wire::varint(*k) + c.size()).sum::<usize>()
}

/// CRDT replicas' messages.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum CrdtMsg<C: Crdt> {
    /// State mode: the sender's whole state, key by key.
    State(Arc<Vec<(Key, C)>>),
    /// Delta mode: the join of the sender's deltas numbered below `upto` that the receiver has
    /// not acknowledged, or its whole state; the receiver acknowledges `upto`.
    Delta {
        /// One past the last delta group included.
        upto: u64,
        /// The deltas, key by key.
        parts: Vec<(Key, C)>,
    },
    /// Delta mode: "I have joined your deltas below this number."
    Ack(u64),
    /// Op mode: operations, in the order they were delivered at the sender.
    Ops(Vec<Envelope<C>>),
    /// Op mode anti-entropy: what the sender has delivered; the receiver sends what it lacks.
    Have {
        /// The sender's version vector.
        vc: Vec<(u32, u64)>,
        /// Whether the receiver should say what it has in turn.
        reply: bool,
    },
    /// A node that joined asks a member for its whole state (answered with `State`).
    Bootstrap,
    /// SWIM's messages, with `membership: swim`.
    Swim(SwimMsg),
    /// A leaving node's whole state, to keep (joined as a `State`) and acknowledge.
    Handoff(Arc<Vec<(Key, C)>>),
    /// "I have your handoff": the leaver may go.
    HandedOff,
}

impl<C: Crdt> From<SwimMsg> for CrdtMsg<C> {
    fn from(msg: SwimMsg) -> Self {
        CrdtMsg::Swim(msg)
    }
}

impl<C: Crdt> Message for CrdtMsg<C> {
    fn wire_size(&self) -> usize {
        wire::TAG
            + match self {
                CrdtMsg::State(parts) | CrdtMsg::Handoff(parts) => parts_size(parts),
                CrdtMsg::HandedOff => 0,
                CrdtMsg::Delta { upto, parts } => wire::varint(*upto) + parts_size(parts),
                CrdtMsg::Ack(n) => wire::varint(*n),
                CrdtMsg::Ops(ops) => wire::varint(ops.len() as u64) + ops.iter().map(Envelope::size).sum::<usize>(),
                CrdtMsg::Have { vc, .. } => 1 + vv_size(vc.iter().copied()),
                CrdtMsg::Bootstrap => 0,
                CrdtMsg::Swim(msg) => msg.wire_size() - wire::TAG,
            }
    }

    fn kind(&self) -> &'static str {
        match self {
            CrdtMsg::State(_) => "State",
            CrdtMsg::Handoff(_) => "Handoff",
            CrdtMsg::HandedOff => "HandedOff",
            CrdtMsg::Delta { .. } => "Delta",
            CrdtMsg::Ack(_) => "Ack",
            CrdtMsg::Ops(_) => "Ops",
            CrdtMsg::Have { .. } => "Have",
            CrdtMsg::Bootstrap => "Bootstrap",
            CrdtMsg::Swim(msg) => msg.kind(),
        }
    }
}

/// CRDT timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CrdtTimer {
    /// The node's synchronisation round.
    Round,
    /// SWIM's timers.
    Swim(SwimTimer),
}

impl From<SwimTimer> for CrdtTimer {
    fn from(timer: SwimTimer) -> Self {
        CrdtTimer::Swim(timer)
    }
}

/// What survives a crash: the state, the clocks, and in op mode the delivered operations
/// (other replicas may need them re-sent).
#[derive(Clone, Debug)]
pub struct Durable<C: Crdt> {
    keys: BTreeMap<Key, C>,
    env: Env,
    seq: u64,
    vc: Vv,
    log: BTreeMap<(u32, u64), Envelope<C>>,
}

/// One replica.
#[derive(Clone, Debug)]
pub struct CrdtNode<C: Crdt> {
    config: CrdtConfig,
    env: Env,
    keys: BTreeMap<Key, C>,
    /// Each key's state hash, and the XOR of them all mixed with their keys: the state
    /// digest, kept up to date key by key so that sampling it costs nothing.
    hashes: BTreeMap<Key, u64>,
    digest: u64,
    /// Delta mode: the number the next delta group gets.
    seq: u64,
    /// Delta mode: delta groups by number, each with the peer it came from, if any
    /// (volatile).
    deltas: BTreeMap<u64, DeltaGroup<C>>,
    /// Delta mode: per peer, the delta number it acknowledged (volatile).
    acks: BTreeMap<u32, u64>,
    /// Op mode: operations delivered, per origin.
    vc: Vv,
    /// Op mode: delivered operations some peer may still lack.
    log: BTreeMap<(u32, u64), Envelope<C>>,
    /// Op mode: operations received before they were causally ready (volatile).
    pending: BTreeMap<(u32, u64), Envelope<C>>,
    /// Op mode: what each peer said it had delivered (volatile), to trim the log.
    peer_vcs: BTreeMap<u32, Vv>,
    scratch: (Progress, Progress),
    /// Joined a running cluster and has no member's state yet (state and delta modes): asks
    /// for one each round and serves no client meanwhile (volatile).
    bootstrapping: bool,
    /// Started again from a disk (a restart), not fresh.
    restarted: bool,
    /// The SWIM failure detector (`membership: swim`).
    swim: Option<Swim>,
    /// Leaving: its handoff, until a member acknowledges it.
    leaving: Handoff,
}

impl<C: Crdt> CrdtNode<C> {
    /// Up to `k` distinct random peers: from the membership service, or from those SWIM
    /// believes up.
    fn peers(&self, ctx: &mut Ctx<'_, Self>, k: usize) -> Vec<NodeId> {
        match &self.swim {
            Some(swim) => swim.random_live(ctx.rng(), k),
            None => ctx.random_peers(k),
        }
    }

    /// The replica's state of each key.
    pub fn keys(&self) -> &BTreeMap<Key, C> {
        &self.keys
    }

    /// Folds key `key`'s new state into the digest.
    fn rehash(&mut self, key: Key) {
        let entry = |h: u64| StableHasher::hash_of(&(key, h));
        let new = StableHasher::hash_of(&self.keys[&key]);
        if let Some(old) = self.hashes.insert(key, new) {
            self.digest ^= entry(old);
        }
        self.digest ^= entry(new);
    }

    fn clock(&mut self, ctx: &Ctx<'_, Self>) {
        self.env.now_ms = ctx.now().as_nanos() / 1_000_000;
    }

    /// Joins `other` into key `key`'s state, exposes the streams that moved, and says whether
    /// the state changed.
    fn join_key(&mut self, ctx: &mut Ctx<'_, Self>, key: Key, other: &C) -> bool {
        let state = self.keys.entry(key).or_default();
        let before = state.clone();
        state.join(other, &mut self.env);
        let changed = *state != before;
        if changed {
            Self::expose_moves(ctx, key, &before, state, &mut self.scratch);
            self.rehash(key);
        }
        changed
    }

    /// Exposes every stream of `key` that is further along in `after` than in `before`.
    fn expose_moves(ctx: &mut Ctx<'_, Self>, key: Key, before: &C, after: &C, (old, new): &mut (Progress, Progress)) {
        old.clear();
        new.clear();
        before.progress(old);
        after.progress(new);
        let mut i = 0;
        for &(stream, stamp) in new.iter() {
            while i < old.len() && old[i].0 < stream {
                i += 1;
            }
            let was = if i < old.len() && old[i].0 == stream { old[i].1 } else { 0 };
            if stamp > was {
                ctx.expose_stream(key, stream, stamp, None);
            }
        }
    }

    /// Delta mode: keeps `parts`, received from `from` (or made here), as the next delta group.
    fn keep_delta(&mut self, from: Option<u32>, parts: Vec<(Key, C)>) {
        self.deltas.insert(self.seq, (from, parts));
        self.seq += 1;
        while self.deltas.len() > self.config.delta_buffer as usize {
            self.deltas.pop_first();
        }
    }

    /// Op mode: delivers every pending operation that has become causally ready. Each pass
    /// goes through the pending operations in (origin, number) order, so one pass delivers a
    /// whole run of one origin's operations.
    fn deliver_ready(&mut self, ctx: &mut Ctx<'_, Self>) {
        loop {
            let mut delivered = false;
            let ids: Vec<(u32, u64)> = self.pending.keys().copied().collect();
            for id in ids {
                if self.pending[&id].ready(&self.vc) {
                    let envelope = self.pending.remove(&id).expect("listed above");
                    self.deliver(ctx, envelope);
                    delivered = true;
                }
            }
            if !delivered {
                break;
            }
        }
    }

    fn deliver(&mut self, ctx: &mut Ctx<'_, Self>, envelope: Envelope<C>) {
        let state = self.keys.entry(envelope.key).or_default();
        let before = state.clone();
        state.effect(&envelope.op, &mut self.env);
        if *state != before {
            Self::expose_moves(ctx, envelope.key, &before, state, &mut self.scratch);
            self.rehash(envelope.key);
        }
        self.vc.insert(envelope.origin, envelope.seq);
        self.log.insert((envelope.origin, envelope.seq), envelope);
    }

    /// Op mode: drops logged operations every peer has said it delivered.
    fn trim_log(&mut self, cluster: u32) {
        if self.peer_vcs.len() + 1 < cluster as usize {
            return;
        }
        let peer_vcs = &self.peer_vcs;
        self.log.retain(|&(o, s), _| peer_vcs.values().any(|vc| vc.get(&o).copied().unwrap_or(0) < s));
    }

    /// Asks a random member for its whole state.
    fn bootstrap(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(peer) = ctx.random_peer() {
            ctx.send(peer, CrdtMsg::Bootstrap);
        }
    }

    /// Joins a member's whole state (a bootstrap's answer, state sync, or a leaver's handoff).
    fn take_state(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, parts: &[(Key, C)]) {
        let mut fresh = Vec::new();
        for (k, c) in parts.iter() {
            if self.join_key(ctx, *k, c) {
                fresh.push((*k, c.clone()));
            }
        }
        // In delta mode what was new travels on as a delta of this node's own: a
        // leaver's handoff must reach every member, not only the two it was sent to.
        // A joiner's bootstrap is not news to the others.
        let forward = !self.config.bug.is(Bug::HandoffNotForwarded);
        if self.config.sync == SyncMode::Delta && !self.bootstrapping && !fresh.is_empty() && forward {
            self.keep_delta(Some(from.0), fresh);
        }
        self.bootstrapping = false;
    }

    /// Sends the whole state to two members (at least), for them to keep.
    fn hand_off(&mut self, ctx: &mut Ctx<'_, Self>) {
        let state = Arc::new(self.keys.iter().map(|(k, c)| (*k, c.clone())).collect::<Vec<_>>());
        for peer in self.peers(ctx, self.config.fanout.max(2) as usize) {
            ctx.send(peer, CrdtMsg::Handoff(Arc::clone(&state)));
        }
    }

    fn round(&mut self, ctx: &mut Ctx<'_, Self>) {
        let peers = self.peers(ctx, self.config.fanout as usize);
        match self.config.sync {
            SyncMode::State => {
                if self.keys.is_empty() {
                    return;
                }
                let state = Arc::new(self.keys.iter().map(|(k, c)| (*k, c.clone())).collect::<Vec<_>>());
                for peer in peers {
                    ctx.send(peer, CrdtMsg::State(Arc::clone(&state)));
                }
            }
            SyncMode::Delta => {
                for peer in peers {
                    if let Some(msg) = self.delta_for(peer.0) {
                        ctx.send(peer, msg);
                        if self.config.bug.is(Bug::DeltaEarlyAck) {
                            self.acks.insert(peer.0, self.seq);
                        }
                    }
                }
                // Groups every peer has acknowledged are no longer needed.
                if self.acks.len() + 1 >= ctx.cluster_size() as usize {
                    let min = self.acks.values().copied().min().unwrap_or(0);
                    self.deltas.retain(|&n, _| n >= min);
                }
            }
            SyncMode::Op => {
                let vc: Vec<(u32, u64)> = self.vc.iter().map(|(&n, &s)| (n, s)).collect();
                for peer in peers {
                    ctx.send(peer, CrdtMsg::Have { vc: vc.clone(), reply: true });
                }
            }
        }
    }

    /// Delta mode: what to send `peer` this round, if it lacks anything.
    fn delta_for(&self, peer: u32) -> Option<CrdtMsg<C>> {
        let acked = self.acks.get(&peer).copied().unwrap_or(0);
        if acked >= self.seq {
            return None;
        }
        let parts: Vec<(Key, C)> = match self.deltas.first_key_value() {
            Some((&oldest, _)) if oldest <= acked => {
                let mut joined: BTreeMap<Key, C> = BTreeMap::new();
                let mut env = self.env.clone();
                // Not back to the peer that sent them (the paper's back-propagation
                // optimisation).
                let groups = self.deltas.range(acked..).filter(|(_, (from, _))| *from != Some(peer));
                for (_, (_, group)) in groups {
                    for (k, d) in group {
                        joined.entry(*k).or_default().join(d, &mut env);
                    }
                }
                joined.into_iter().collect()
            }
            // The groups the peer lacks are gone (or never kept, after a restart): send it all.
            _ => self.keys.iter().map(|(k, c)| (*k, c.clone())).collect(),
        };
        Some(CrdtMsg::Delta { upto: self.seq, parts })
    }
}

impl<C: Crdt> Protocol for CrdtNode<C> {
    type Msg = CrdtMsg<C>;
    type Timer = CrdtTimer;
    type Durable = Durable<C>;
    type Config = CrdtConfig;
    type Note = SwimNote;
    type Monitor = SwimMonitor;

    fn monitor(config: &CrdtConfig, nodes: u32) -> SwimMonitor {
        SwimMonitor::new(config.swim.period, nodes)
    }

    fn info(config: &CrdtConfig) -> ProtocolInfo {
        ProtocolInfo {
            name: "crdt",
            variant: format!("{}/{}", C::NAME, config.sync.name()),
            ops: C::OPS.to_vec(),
            consistency: Consistency::StrongEventual,
            round: Some(config.interval),
            datatype: C::DATATYPE,
            reads_state: true,
            leaders: false,
        }
    }

    fn new(id: NodeId, config: &CrdtConfig, durable: Option<Durable<C>>) -> Self {
        let restarted = durable.is_some();
        let d = durable.unwrap_or_else(|| Durable {
            keys: BTreeMap::new(),
            env: Env { me: id.0, bug: config.bug, ..Env::default() },
            seq: 0,
            vc: Vv::new(),
            log: BTreeMap::new(),
        });
        let mut node = CrdtNode {
            config: config.clone(),
            env: d.env,
            keys: d.keys,
            hashes: BTreeMap::new(),
            digest: 0,
            seq: d.seq,
            deltas: BTreeMap::new(),
            acks: BTreeMap::new(),
            vc: d.vc,
            log: d.log,
            pending: BTreeMap::new(),
            peer_vcs: BTreeMap::new(),
            scratch: Default::default(),
            bootstrapping: false,
            restarted,
            swim: None,
            leaving: Handoff::default(),
        };
        let keys: Vec<Key> = node.keys.keys().copied().collect();
        for key in keys {
            node.rehash(key);
        }
        node
    }

    fn durable(&self) -> Durable<C> {
        Durable {
            keys: self.keys.clone(),
            env: self.env.clone(),
            seq: self.seq,
            vc: self.vc.clone(),
            log: self.log.clone(),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let founding = !self.restarted && !self.bootstrapping;
        self.swim = swim::start(ctx, self.config.membership, &self.config.swim, founding, false);
        // A random phase, so that nodes' rounds interleave.
        let first = 1 + below(ctx.rng(), self.config.interval.as_nanos());
        ctx.set_timer(CrdtTimer::Round, syncsim_sim::SimDuration(first));
    }

    fn on_join(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.bootstrapping = true;
        self.bootstrap(ctx);
        self.on_start(ctx);
    }

    fn ready(&self) -> bool {
        !self.bootstrapping
    }

    /// Hands the whole state to two members (at least) before leaving, and drains until one
    /// acknowledges it ([`crate::handoff`]). A join is idempotent, so whatever they already
    /// hold costs only bytes.
    fn on_leave(&mut self, ctx: &mut Ctx<'_, Self>) -> Departure {
        if let Some(swim) = &mut self.swim {
            swim.leave(&mut CtxHost(ctx), 3);
        }
        if self.keys.is_empty() {
            return Departure::Now;
        }
        self.leaving.begin();
        self.hand_off(ctx);
        Departure::Drain
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: CrdtMsg<C>) {
        self.clock(ctx);
        match msg {
            CrdtMsg::Swim(msg) => {
                if let Some(swim) = &mut self.swim {
                    swim.on_message(&mut CtxHost(ctx), from, msg);
                }
            }
            CrdtMsg::Bootstrap => {
                let state = self.keys.iter().map(|(k, c)| (*k, c.clone())).collect::<Vec<_>>();
                ctx.send(from, CrdtMsg::State(Arc::new(state)));
            }
            CrdtMsg::HandedOff => {
                self.leaving.acknowledged(ctx);
            }
            CrdtMsg::Handoff(parts) => {
                self.take_state(ctx, from, &parts);
                ctx.send(from, CrdtMsg::HandedOff);
            }
            CrdtMsg::State(parts) => self.take_state(ctx, from, &parts),
            CrdtMsg::Delta { upto, parts } => {
                // Keep what was new here as a delta of this node's own, so it travels on.
                let mut fresh = Vec::new();
                for (k, d) in parts {
                    if self.join_key(ctx, k, &d) {
                        fresh.push((k, d));
                    }
                }
                if !fresh.is_empty() {
                    self.keep_delta(Some(from.0), fresh);
                }
                ctx.send(from, CrdtMsg::Ack(upto));
            }
            CrdtMsg::Ack(n) => {
                let a = self.acks.entry(from.0).or_insert(0);
                *a = (*a).max(n);
            }
            CrdtMsg::Ops(ops) => {
                for e in ops {
                    let delivered = self.vc.get(&e.origin).copied().unwrap_or(0);
                    if e.seq > delivered {
                        self.pending.insert((e.origin, e.seq), e);
                    }
                }
                self.deliver_ready(ctx);
            }
            CrdtMsg::Have { vc, reply } => {
                let theirs: Vv = vc.iter().copied().collect();
                let missing: Vec<Envelope<C>> = self
                    .log
                    .iter()
                    .filter(|((o, s), _)| theirs.get(o).copied().unwrap_or(0) < *s)
                    .map(|(_, e)| e.clone())
                    .collect();
                if !missing.is_empty() {
                    ctx.send(from, CrdtMsg::Ops(missing));
                }
                let behind = theirs.iter().any(|(o, &s)| self.vc.get(o).copied().unwrap_or(0) < s);
                if reply && behind {
                    ctx.send(from, CrdtMsg::Have { vc: self.vc.iter().map(|(&n, &s)| (n, s)).collect(), reply: false });
                }
                self.peer_vcs.insert(from.0, theirs);
                self.trim_log(ctx.cluster_size());
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: CrdtTimer) {
        self.clock(ctx);
        match timer {
            CrdtTimer::Round if self.leaving.is_leaving() => {
                // No member acknowledged the handoff yet: two others get it.
                if self.leaving.round(ctx) {
                    self.hand_off(ctx);
                    ctx.set_timer(CrdtTimer::Round, self.config.interval);
                }
            }
            CrdtTimer::Round => {
                if self.bootstrapping {
                    self.bootstrap(ctx); // the request or its answer was lost: ask another
                }
                self.round(ctx);
                ctx.set_timer(CrdtTimer::Round, self.config.interval);
            }
            CrdtTimer::Swim(timer) => {
                if let Some(swim) = &mut self.swim {
                    swim.on_timer(&mut CtxHost(ctx), timer);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        if self.leaving.refuse(ctx, req) {
            return;
        }
        self.clock(ctx);
        let kind = op.kind();
        if !C::OPS.contains(&kind) {
            ctx.reply(req, Err(format!("{} does not support {}", C::NAME, kind)));
            return;
        }
        let key = op.key();
        if matches!(kind, OpKind::Get | OpKind::Read) {
            let value = self.keys.get(&key).map_or_else(|| C::default().read(), C::read);
            ctx.reply(req, Ok(value));
            return;
        }
        let state = self.keys.entry(key).or_default();
        let before = state.clone();
        let Some(update) = state.update(&op, &mut self.env) else {
            ctx.reply(req, Err(format!("{} cannot apply {}", C::NAME, kind)));
            return;
        };
        // The origin names the write first, then any other stream the update moved.
        ctx.expose_stream(key, update.stream, update.stamp, Some(req));
        Self::expose_moves(ctx, key, &before, state, &mut self.scratch);
        self.rehash(key);
        match self.config.sync {
            SyncMode::State => {}
            SyncMode::Delta => self.keep_delta(None, vec![(key, update.delta)]),
            SyncMode::Op => {
                let me = self.env.me;
                let seq = self.vc.get(&me).copied().unwrap_or(0) + 1;
                let deps = self.vc.iter().filter(|&(&n, _)| n != me).map(|(&n, &s)| (n, s)).collect();
                let envelope = Envelope { origin: me, seq, deps, key, op: update.op };
                self.vc.insert(me, seq);
                self.log.insert((me, seq), envelope.clone());
                let ops = CrdtMsg::Ops(vec![envelope]);
                ctx.broadcast(ops);
            }
        }
        ctx.reply(req, Ok(update.output));
    }

    fn state_digest(&self) -> u64 {
        self.digest
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.keys.iter().map(|(k, c)| (*k, c.read())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::{CrdtType, LwwRegister, OrSet};
    use syncsim_sim::rng::Stream;
    use syncsim_sim::{Effects, SimTime};

    type Node = CrdtNode<OrSet>;
    type Out = Effects<CrdtMsg<OrSet>, CrdtTimer, SwimNote>;

    fn node(id: u32, sync: SyncMode) -> Node {
        let config = CrdtConfig { datatype: CrdtType::OrSet, sync, ..CrdtConfig::default() };
        Node::new(NodeId(id), &config, None)
    }

    /// Drives one handler of `n` outside any engine, in a five-node cluster.
    fn drive(n: &mut Node, f: impl FnOnce(&mut Node, &mut Ctx<'_, Node>)) -> Out {
        let mut out = Out::default();
        let id = n.env.me;
        let mut rng = Stream::Node(id).rng(1);
        let mut ctx = Ctx::new(SimTime(1_000_000), NodeId(id), 5, &mut rng, &mut out);
        f(n, &mut ctx);
        out
    }

    fn add(n: &mut Node, req: u64, elem: u64) -> Out {
        drive(n, |n, ctx| n.on_request(ctx, RequestId(req), Op::Add { key: 1, elem }))
    }

    fn elems(n: &Node) -> Output {
        n.keys.get(&1).map_or(Output::Elems(vec![]), Crdt::read)
    }

    #[test]
    fn delta_mode_sends_a_peer_only_what_it_has_not_acknowledged() {
        let mut a = node(0, SyncMode::Delta);
        add(&mut a, 1, 10);
        add(&mut a, 2, 11);
        let Some(CrdtMsg::Delta { upto, parts }) = a.delta_for(1) else { panic!("nothing for a fresh peer") };
        assert_eq!(upto, 2);
        assert_eq!(parts.len(), 1, "two deltas of one key, joined");
        drive(&mut a, |n, ctx| n.on_message(ctx, NodeId(1), CrdtMsg::Ack(2)));
        assert!(a.delta_for(1).is_none(), "peer 1 has everything");
        add(&mut a, 3, 12);
        let Some(CrdtMsg::Delta { parts, .. }) = a.delta_for(1) else { panic!() };
        let mut only_new = OrSet::default();
        only_new.join(&parts[0].1, &mut Env::default());
        assert_eq!(only_new.read(), Output::Elems(vec![12]), "only the unacknowledged add");
    }

    #[test]
    fn delta_mode_does_not_echo_a_delta_to_its_sender_and_forwards_it_to_others() {
        let (mut a, mut b) = (node(0, SyncMode::Delta), node(1, SyncMode::Delta));
        add(&mut a, 1, 10);
        let msg = a.delta_for(1).unwrap();
        let out = drive(&mut b, |n, ctx| n.on_message(ctx, NodeId(0), msg));
        assert!(matches!(out.sends[..], [(NodeId(0), CrdtMsg::Ack(1))]), "{:?}", out.sends);
        assert_eq!(elems(&b), Output::Elems(vec![10]));
        let CrdtMsg::Delta { parts, .. } = b.delta_for(0).unwrap() else { panic!() };
        assert!(parts.is_empty(), "back to its sender: nothing but the ack number");
        let CrdtMsg::Delta { parts, .. } = b.delta_for(2).unwrap() else { panic!() };
        assert_eq!(parts.len(), 1, "on to a third node");
    }

    #[test]
    fn a_restarted_delta_node_sends_its_whole_state() {
        let mut a = node(0, SyncMode::Delta);
        add(&mut a, 1, 10);
        add(&mut a, 2, 11);
        let config = CrdtConfig { datatype: CrdtType::OrSet, sync: SyncMode::Delta, ..CrdtConfig::default() };
        let restarted = Node::new(NodeId(0), &config, Some(a.durable()));
        assert!(restarted.deltas.is_empty(), "deltas are volatile");
        let Some(CrdtMsg::Delta { upto, parts }) = restarted.delta_for(1) else { panic!() };
        assert_eq!((upto, parts), (2, vec![(1, a.keys[&1].clone())]));
    }

    #[test]
    fn op_mode_buffers_an_operation_until_what_it_depends_on_arrives() {
        let mut a = node(0, SyncMode::Op);
        let first = add(&mut a, 1, 10);
        // The remove depends on the add: delivered before it, it would find nothing to remove.
        let second = drive(&mut a, |n, ctx| n.on_request(ctx, RequestId(2), Op::Remove { key: 1, elem: 10 }));
        let op = |out: &Out| out.sends[0].1.clone();
        assert_eq!(first.sends.len(), 4, "broadcast to every peer");
        let mut b = node(1, SyncMode::Op);
        drive(&mut b, |n, ctx| n.on_message(ctx, NodeId(0), op(&second)));
        assert_eq!(b.pending.len(), 1, "waits for the add");
        assert!(b.keys.is_empty());
        drive(&mut b, |n, ctx| n.on_message(ctx, NodeId(0), op(&first)));
        assert!(b.pending.is_empty());
        assert_eq!(elems(&b), Output::Elems(vec![]), "add, then remove");
        assert_eq!(b.keys[&1], a.keys[&1]);
    }

    #[test]
    fn op_mode_anti_entropy_resends_what_a_peer_lacks() {
        let mut a = node(0, SyncMode::Op);
        add(&mut a, 1, 10);
        add(&mut a, 2, 11);
        let out = drive(&mut a, |n, ctx| n.on_message(ctx, NodeId(1), CrdtMsg::Have { vc: vec![(0, 1)], reply: true }));
        let CrdtMsg::Ops(ops) = &out.sends[0].1 else { panic!("{:?}", out.sends) };
        assert_eq!(ops.iter().map(|e| (e.origin, e.seq)).collect::<Vec<_>>(), vec![(0, 2)]);
        assert_eq!(out.sends.len(), 1, "a lacks nothing of peer 1's, so it does not ask back");
    }

    #[test]
    fn the_digest_kept_key_by_key_equals_one_computed_afresh() {
        let mut a = node(0, SyncMode::State);
        for (i, e) in [10, 11, 12].into_iter().enumerate() {
            add(&mut a, i as u64, e);
        }
        drive(&mut a, |n, ctx| n.on_request(ctx, RequestId(9), Op::Remove { key: 1, elem: 11 }));
        let config = CrdtConfig { sync: SyncMode::State, ..CrdtConfig::default() };
        let fresh = Node::new(NodeId(0), &config, Some(a.durable()));
        assert_eq!(a.state_digest(), fresh.state_digest());
        let mut b = node(1, SyncMode::State);
        assert_ne!(a.state_digest(), b.state_digest());
        let state = Arc::new(a.keys.iter().map(|(k, c)| (*k, c.clone())).collect::<Vec<_>>());
        drive(&mut b, |n, ctx| n.on_message(ctx, NodeId(0), CrdtMsg::State(state)));
        assert_eq!(a.state_digest(), b.state_digest(), "equal states, equal digests");
    }

    #[test]
    fn a_type_refuses_operations_it_does_not_serve() {
        let config = CrdtConfig { datatype: CrdtType::LwwMap, ..CrdtConfig::default() };
        let mut n = CrdtNode::<LwwRegister>::new(NodeId(0), &config, None);
        let mut out = Effects::<CrdtMsg<LwwRegister>, CrdtTimer, SwimNote>::default();
        let mut rng = Stream::Node(0).rng(1);
        let mut ctx = Ctx::new(SimTime(0), NodeId(0), 3, &mut rng, &mut out);
        n.on_request(&mut ctx, RequestId(1), Op::Add { key: 1, elem: 2 });
        assert!(matches!(&out.replies[..], [(RequestId(1), Err(e))] if e.contains("lww-map does not support")));
        assert!(n.keys.is_empty());
    }
}
