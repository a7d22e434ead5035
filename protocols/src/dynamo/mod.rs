//! Dynamo: a partitioned, replicated key-value store with tunable quorums (DeCandia et al.,
//! "Dynamo: Amazon's highly available key-value store", SOSP 2007).
//!
//! - **Placement**: a consistent-hashing ring ([`ring`]); each key lives on the first `n`
//!   nodes of its preference list.
//! - **Quorums**: any node coordinates a client's request: it sends a write to the key's `n`
//!   replicas and answers once `w` have stored it; a read asks the `n` replicas and answers with
//!   the newest of the first `r` replies. `r + w > n` makes every read quorum meet every write
//!   quorum; smaller quorums answer sooner and may read stale data, which is what
//!   Probabilistically Bounded Staleness (Bailis et al., VLDB 2012) measures.
//! - **Sloppy quorums and hinted handoff**: with `sloppy: true`, a replica the coordinator
//!   suspects (it missed a request's deadline) is replaced by the next healthy node of the
//!   preference list, which keeps the write as a *hint* for the replica and hands it over
//!   when that replica answers again.
//! - **Read repair**: replicas that answered a read with an older version are sent the newest.
//! - **Anti-entropy**: every `anti_entropy`, a node compares [`merkle`] trees of the key ranges
//!   it shares with its next partner (in turn, as Cassandra's repair walks its ranges) and
//!   exchanges only the keys in differing leaves.
//!
//! Versions are last-writer-wins timestamps (Cassandra's choice rather than Dynamo's vector
//! clocks): the coordinator's time in microseconds, kept above every version it issued or
//! stored, with the coordinator's id to break ties. Like Cassandra's, they trust the clocks: a
//! write made on a clock running behind can lose to an older one.

pub mod merkle;
pub mod ring;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_sim::history::{OpKind, Output};
use syncsim_sim::rng::below;
use syncsim_sim::{
    Consistency, Ctx, Datatype, Family, Key, Launch, Load, Message, NoMonitor, NodeId, Op, Param, ParamError,
    Placement, Protocol, ProtocolInfo, RequestId, SimDuration, SimTime,
};

use crate::gossip::{Store, Update, Version, ahead, entry_hash};
use crate::planted::{Planted, planted_bugs};
use merkle::Tree;
use ring::Ring;

/// Dynamo parameters from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DynamoConfig {
    /// Replicas per key (N).
    pub n: u32,
    /// Replies a read waits for (R).
    pub r: u32,
    /// Acknowledgements a write waits for (W).
    pub w: u32,
    /// Tokens per node on the ring.
    pub vnodes: u32,
    /// Replace suspected replicas by the next healthy nodes (sloppy quorums, hinted handoff).
    pub sloppy: bool,
    /// Send the newest version to replicas that answered a read with an older one.
    pub read_repair: bool,
    /// Time between a node's Merkle anti-entropy exchanges; `0s` turns them off.
    pub anti_entropy: SimDuration,
    /// Time between attempts to hand hints over to their replicas.
    pub handoff: SimDuration,
    /// How long a coordinator waits for a replica before suspecting it (and, with sloppy
    /// quorums, asking a stand-in).
    pub timeout: SimDuration,
    /// Nodes that join no ring: they coordinate requests and hold no data (Cassandra's
    /// `join_ring: false`), so every replica a request reaches is across the network, as in
    /// PBS's WARS model.
    pub coordinators: Vec<String>,
    /// `coordinators` as node numbers (filled in at launch).
    #[serde(skip)]
    pub coordinator_ids: Vec<u32>,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

planted_bugs! {
    /// Dynamo's planted bugs (see [`crate::planted`]).
    pub enum Bug {
        /// A read answers with the first reply whatever `r` asks for: strict quorums read stale
        /// data.
        FirstReply = "first-reply",
        /// A stand-in acknowledges a hinted write but drops it instead of handing it over.
        DropHints = "drop-hints",
    }
}

impl Default for DynamoConfig {
    fn default() -> Self {
        DynamoConfig {
            n: 3,
            r: 2,
            w: 2,
            vnodes: 16,
            sloppy: true,
            read_repair: true,
            anti_entropy: SimDuration::from_secs(1),
            handoff: SimDuration::from_millis(500),
            timeout: SimDuration::from_millis(50),
            coordinators: Vec::new(),
            coordinator_ids: Vec::new(),
            bug: Bug::None,
        }
    }
}

impl DynamoConfig {
    /// Checks the parameters against a cluster whose nodes are called `nodes`; the message
    /// names the field.
    pub fn validate(&self, nodes: &[String]) -> Result<(), (String, String)> {
        for (i, c) in self.coordinators.iter().enumerate() {
            if !nodes.contains(c) {
                return Err((
                    format!("coordinators[{i}]"),
                    format!("unknown node `{c}` (nodes: {})", nodes.join(", ")),
                ));
            }
            if self.coordinators[..i].contains(c) {
                return Err((format!("coordinators[{i}]"), format!("`{c}` is listed twice")));
            }
        }
        let ring = nodes.len().saturating_sub(self.coordinators.len());
        if ring == 0 {
            return Err(("coordinators".into(), "every node only coordinates: none holds data".into()));
        }
        if self.n == 0 || self.n as usize > ring {
            return Err((
                "n".into(),
                format!("n must be between 1 and the number of nodes on the ring ({ring}), not {}", self.n),
            ));
        }
        for (field, q) in [("r", self.r), ("w", self.w)] {
            if q == 0 || q > self.n {
                return Err((field.into(), format!("{field} must be between 1 and n ({}), not {q}", self.n)));
            }
        }
        if self.vnodes == 0 {
            return Err(("vnodes".into(), "each node needs at least one token".into()));
        }
        for (field, d) in [("handoff", self.handoff), ("timeout", self.timeout)] {
            if d == SimDuration::ZERO {
                return Err((field.into(), format!("{field} must be positive")));
            }
        }
        self.bug.check()
    }
}

/// The `dynamo` family.
impl Family for DynamoNode {
    const KIND: &'static str = "dynamo";
    const ABOUT: &'static str = "Dynamo-style store: consistent hashing, N/R/W quorums, sloppy quorums with hinted handoff, read repair, Merkle anti-entropy";
    const MESSAGES: &'static [&'static str] =
        &["Write", "WriteAck", "Read", "ReadReply", "Repair", "Handoff", "HandoffAck", "Tree", "Leaves", "Updates"];
    type Config = DynamoConfig;

    /// A request costs its coordinator one message to each of `n` replicas and one back;
    /// anti-entropy adds a few messages per node per exchange.
    fn load(config: &DynamoConfig, _: usize) -> Load {
        let mut load = Load::typical(None);
        load.per_op_per_node = 2.0 * f64::from(config.n);
        let ae = config.anti_entropy.as_nanos() as f64 / 1e9;
        load.calls_per_node_second = if ae > 0.0 { 6.0 / ae } else { 0.0 } + 1e9 / config.handoff.as_nanos() as f64;
        load
    }

    fn params() -> Vec<Param> {
        vec![
            Param::new("n", "replicas per key (N)"),
            Param::new("r", "replies a read waits for (R)"),
            Param::new("w", "acknowledgements a write waits for (W)"),
            Param::new("vnodes", "tokens per node on the consistent-hashing ring"),
            Param::new("sloppy", "replace suspected replicas by the next nodes of the ring (hinted handoff)"),
            Param::new("read_repair", "send the newest version to replicas that answered a read with an older one"),
            Param::new("anti_entropy", "time between Merkle-tree anti-entropy exchanges (0s: none)"),
            Param::new("handoff", "time between attempts to hand hints over"),
            Param::new("timeout", "how long a coordinator waits for a replica before suspecting it"),
            Param::new("coordinators", "nodes that join no ring: they coordinate and hold no data"),
        ]
        .into_iter()
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &DynamoConfig, nodes: &[String]) -> Result<(), ParamError> {
        config.validate(nodes)
    }

    fn launch<L: Launch>(config: &DynamoConfig, nodes: &[String], launch: L) -> L::Output {
        let mut config = config.clone();
        config.coordinator_ids =
            config.coordinators.iter().filter_map(|c| nodes.iter().position(|n| n == c)).map(|i| i as u32).collect();
        launch.launch::<DynamoNode>(config)
    }
}

/// Dynamo messages. `op` is the client request a coordinator serves.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum DynamoMsg {
    /// Store this version; `hint` names the replica a stand-in keeps it for.
    Write {
        /// The request.
        op: RequestId,
        /// The version to store.
        update: Update,
        /// The replica it is meant for, when the receiver stands in.
        hint: Option<NodeId>,
    },
    /// The write of `op` is stored here.
    WriteAck {
        /// The request.
        op: RequestId,
    },
    /// What do you hold for `key`?
    Read {
        /// The request.
        op: RequestId,
        /// The key.
        key: Key,
    },
    /// The replica's version of the key (hints included), if any.
    ReadReply {
        /// The request.
        op: RequestId,
        /// What the replica holds.
        entry: Option<Update>,
    },
    /// Read repair: a newer version than the replica answered with.
    Repair(Update),
    /// Hinted writes, handed to the replica they were meant for.
    Handoff(Vec<Update>),
    /// The replica stored these handed-over versions; the stand-in may drop them.
    HandoffAck(Vec<(Key, Version)>),
    /// Merkle exchange: the sender's hashes of these nodes of `level`, over the keys both
    /// replicate.
    Tree {
        /// The tree level (0: the root).
        level: u8,
        /// (node index, hash) pairs.
        hashes: Vec<(u32, u64)>,
    },
    /// The leaf buckets that differ, and the sender's versions in them.
    Leaves {
        /// The buckets.
        buckets: Vec<u32>,
        /// The sender's versions of the shared keys in those buckets.
        versions: Vec<(Key, Version)>,
    },
    /// Versions the receiver lacks, and the keys the sender wants back.
    Updates {
        /// Newer versions for the receiver.
        updates: Vec<Update>,
        /// Keys the sender lacks or holds older.
        want: Vec<Key>,
    },
}

impl Message for DynamoMsg {
    fn wire_size(&self) -> usize {
        use crate::gossip::wire::*;
        TAG + match self {
            DynamoMsg::Write { .. } => 8 + UPDATE + 1 + 4,
            DynamoMsg::WriteAck { .. } => 8,
            DynamoMsg::Read { .. } => 8 + KEY,
            DynamoMsg::ReadReply { .. } => 8 + 1 + UPDATE,
            DynamoMsg::Repair(_) => UPDATE,
            DynamoMsg::Handoff(u) => LEN + u.len() * UPDATE,
            DynamoMsg::HandoffAck(v) => LEN + v.len() * (KEY + VERSION),
            DynamoMsg::Leaves { buckets, versions } => 2 * LEN + buckets.len() * 4 + versions.len() * (KEY + VERSION),
            DynamoMsg::Tree { hashes, .. } => 1 + LEN + hashes.len() * (4 + 8),
            DynamoMsg::Updates { updates, want } => 2 * LEN + updates.len() * UPDATE + want.len() * KEY,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            DynamoMsg::Write { .. } => "Write",
            DynamoMsg::WriteAck { .. } => "WriteAck",
            DynamoMsg::Read { .. } => "Read",
            DynamoMsg::ReadReply { .. } => "ReadReply",
            DynamoMsg::Repair(_) => "Repair",
            DynamoMsg::Handoff(_) => "Handoff",
            DynamoMsg::HandoffAck(_) => "HandoffAck",
            DynamoMsg::Tree { .. } => "Tree",
            DynamoMsg::Leaves { .. } => "Leaves",
            DynamoMsg::Updates { .. } => "Updates",
        }
    }
}

/// Dynamo timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DynamoTimer {
    /// A coordinated request's deadline for its replicas.
    Request(RequestId),
    /// The next Merkle anti-entropy exchange.
    AntiEntropy,
    /// The next attempt to hand hints over.
    Handoff,
}

/// What survives a crash: the replica's store and the hints it keeps for others.
#[derive(Clone, Debug, Default)]
pub struct Durable {
    store: Store,
    hints: BTreeMap<NodeId, BTreeMap<Key, Update>>,
}

/// A request this node coordinates.
#[derive(Clone, Debug)]
struct Pending {
    key: Key,
    /// The version being written; `None` for a read.
    write: Option<Update>,
    /// Replies needed before the client is answered.
    needed: u32,
    /// Nodes asked, with the replica each stands in for (itself, for a replica).
    asked: Vec<(NodeId, NodeId)>,
    /// Nodes that answered, with the version a read found there.
    answered: Vec<(NodeId, Option<Version>)>,
    /// The newest version a read has found.
    newest: Option<Update>,
    /// Whether the client has its answer.
    replied: bool,
    /// Deadlines passed.
    retries: u32,
}

/// How many times a coordinator asks stand-ins before it leaves the client to time out.
const RETRIES: u32 = 2;
/// How long a suspicion lasts without news from the node, in coordinator timeouts.
const SUSPICION: u64 = 20;

/// One Dynamo node: a replica for its key ranges, a stand-in for others', and a coordinator
/// for any client's request.
#[derive(Clone, Debug)]
pub struct DynamoNode {
    config: DynamoConfig,
    ring: Ring,
    data: Durable,
    /// Requests this node coordinates.
    pending: BTreeMap<RequestId, Pending>,
    /// Nodes this node suspects, until when.
    suspects: BTreeMap<NodeId, SimTime>,
    /// The highest version timestamp this node issued.
    clock: u64,
    /// The nodes it shares key ranges with.
    partners: Vec<NodeId>,
    /// The partner of the next anti-entropy exchange: they take turns, from a random first,
    /// so every pair is reconciled within as many rounds as there are partners.
    next_partner: usize,
}

impl DynamoNode {
    /// The replica's own store (hints excluded).
    pub fn store(&self) -> &Store {
        &self.data.store
    }

    /// Hinted versions this node keeps for `replica`.
    pub fn hints_for(&self, replica: NodeId) -> usize {
        self.data.hints.get(&replica).map_or(0, BTreeMap::len)
    }

    fn replicas(&self, key: Key) -> Vec<NodeId> {
        self.ring.preference(key, self.config.n as usize)
    }

    fn suspected(&self, node: NodeId, now: SimTime) -> bool {
        self.suspects.get(&node).is_some_and(|&until| until > now)
    }

    /// The nodes to ask for `key`: its replicas, each suspected one replaced (sloppy quorums)
    /// by the next node of the preference list not yet asked or suspected.
    fn targets(
        &self,
        key: Key,
        now: SimTime,
        asked: &[(NodeId, NodeId)],
        stand_for: &[NodeId],
    ) -> Vec<(NodeId, NodeId)> {
        let walk = self.ring.preference(key, self.ring.nodes() as usize);
        let mut used: Vec<NodeId> = asked.iter().map(|a| a.0).collect();
        let mut out = Vec::new();
        for &replica in stand_for {
            if !self.config.sloppy || (!self.suspected(replica, now) && !used.contains(&replica)) {
                if !used.contains(&replica) {
                    used.push(replica);
                    out.push((replica, replica));
                }
                continue;
            }
            let n = self.config.n as usize;
            if let Some(&fallback) =
                walk[n.min(walk.len())..].iter().find(|&&f| !used.contains(&f) && !self.suspected(f, now))
            {
                used.push(fallback);
                out.push((fallback, replica));
            }
        }
        out
    }

    /// The newest version this node holds for `key`, its own or hinted.
    fn holding(&self, key: Key) -> Option<Update> {
        let own = self.data.store.entry(key).copied();
        let hinted = self.data.hints.values().filter_map(|h| h.get(&key).copied());
        own.into_iter().chain(hinted).max_by_key(|u| u.version)
    }

    /// Stores `update` (for `replica`, if this node stands in for it).
    fn keep(&mut self, ctx: &mut Ctx<'_, Self>, update: Update, replica: NodeId) {
        if replica != ctx.id() {
            if self.config.bug.is(Bug::DropHints) {
                return;
            }
            let hints = self.data.hints.entry(replica).or_default();
            if hints.get(&update.key).is_none_or(|h| h.version < update.version) {
                hints.insert(update.key, update);
            }
            // A stand-in answers reads with its hints, so the write is readable here.
            ctx.expose(update.key, update.write, update.version.stamp());
            return;
        }
        // Exposed even when older than what is held: the replica then holds something that
        // superseded it, which is what visibility counts (a write overtaken on its way to every
        // replica is not lost).
        self.data.store.merge(update);
        ctx.expose(update.key, update.write, update.version.stamp());
    }

    /// Sends `msg` to `to`, or handles it here at once when `to` is this node.
    fn send(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, msg: DynamoMsg) {
        if to == ctx.id() {
            self.on_message(ctx, to, msg);
        } else {
            ctx.send(to, msg);
        }
    }

    /// Starts coordinating `req` on `key`.
    fn coordinate(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, key: Key, write: Option<Update>) {
        let needed = if write.is_some() {
            self.config.w
        } else if self.config.bug.is(Bug::FirstReply) {
            1
        } else {
            self.config.r
        };
        let replicas = self.replicas(key);
        let targets = self.targets(key, ctx.now(), &[], &replicas);
        let pending = Pending {
            key,
            write,
            needed,
            asked: targets.clone(),
            answered: Vec::new(),
            newest: None,
            replied: false,
            retries: 0,
        };
        self.pending.insert(req, pending);
        ctx.set_timer(DynamoTimer::Request(req), self.config.timeout);
        self.ask(ctx, req, &targets);
    }

    fn ask(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, targets: &[(NodeId, NodeId)]) {
        let Some(p) = self.pending.get(&req) else { return };
        let (key, write) = (p.key, p.write);
        for &(node, replica) in targets {
            let msg = match write {
                Some(update) => DynamoMsg::Write { op: req, update, hint: (node != replica).then_some(replica) },
                None => DynamoMsg::Read { op: req, key },
            };
            self.send(ctx, node, msg);
        }
    }

    /// A replica's answer to request `req` arrived.
    fn answered(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, from: NodeId, entry: Option<Update>) {
        let Some(p) = self.pending.get_mut(&req) else { return };
        if p.answered.iter().any(|a| a.0 == from) || !p.asked.iter().any(|a| a.0 == from) {
            return;
        }
        p.answered.push((from, entry.map(|u| u.version)));
        if entry.is_some_and(|e| p.newest.is_none_or(|n| n.version < e.version)) {
            p.newest = entry;
        }
        if !p.replied && p.answered.len() as u32 >= p.needed {
            p.replied = true;
            let output = match p.write {
                Some(_) => Output::Done,
                None => Output::Value(p.newest.map(|u| u.value)),
            };
            ctx.reply(req, Ok(output));
        }
        if p.replied && p.write.is_none() && self.config.read_repair {
            self.repair(ctx, req);
        }
        let p = &self.pending[&req];
        if p.answered.len() == p.asked.len() {
            self.pending.remove(&req);
            ctx.cancel_timer(DynamoTimer::Request(req));
        }
    }

    /// Read repair: sends the newest version found to every replica that answered with an
    /// older one (stand-ins are left to hand over their hints).
    fn repair(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId) {
        let p = self.pending.get_mut(&req).expect("repairing a pending read");
        let Some(newest) = p.newest else { return };
        let mut stale = Vec::new();
        for a in p.answered.iter_mut() {
            let replica = p.asked.iter().any(|&(node, replica)| node == a.0 && node == replica);
            if replica && a.1.is_none_or(|v| v < newest.version) {
                a.1 = Some(newest.version); // repaired once
                stale.push(a.0);
            }
        }
        for node in stale {
            self.send(ctx, node, DynamoMsg::Repair(newest));
        }
    }

    /// A request's deadline passed: suspect the silent, ask stand-ins, or give up.
    fn deadline(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId) {
        let now = ctx.now();
        let until = now + SimDuration(self.config.timeout.as_nanos() * SUSPICION);
        let Some(p) = self.pending.get_mut(&req) else { return };
        let silent: Vec<(NodeId, NodeId)> =
            p.asked.iter().copied().filter(|a| !p.answered.iter().any(|b| b.0 == a.0)).collect();
        for &(node, _) in &silent {
            self.suspects.insert(node, until);
        }
        let p = &self.pending[&req];
        if p.replied || p.retries >= RETRIES || !self.config.sloppy {
            // Answered already (the late replies no longer matter), or out of stand-ins: a
            // client still waiting times out, its outcome unknown.
            self.pending.remove(&req);
            return;
        }
        let mut stand_for: Vec<NodeId> = silent.iter().map(|a| a.1).collect();
        // A replica and its silent stand-in need one new stand-in between them, not two.
        stand_for.sort_unstable();
        stand_for.dedup();
        let more = self.targets(p.key, now, &p.asked, &stand_for);
        let p = self.pending.get_mut(&req).expect("pending");
        p.retries += 1;
        p.asked.extend(more.iter().copied());
        ctx.set_timer(DynamoTimer::Request(req), self.config.timeout);
        self.ask(ctx, req, &more);
    }

    /// This node's Merkle tree over the keys it replicates together with `peer`.
    fn tree_with(&self, peer: NodeId, me: NodeId) -> Tree {
        Tree::build(self.shared(peer, me).map(|u| (u.key, entry_hash(u))))
    }

    /// This node's own entries for the keys both it and `peer` replicate.
    fn shared(&self, peer: NodeId, me: NodeId) -> impl Iterator<Item = &Update> + '_ {
        let n = self.config.n as usize;
        self.data.store.entries().filter(move |u| {
            let replicas = self.ring.preference(u.key, n);
            replicas.contains(&peer) && replicas.contains(&me)
        })
    }

    fn on_tree(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, level: u8, hashes: Vec<(u32, u64)>) {
        let mine = self.tree_with(from, ctx.id());
        let differ: Vec<u32> = hashes.iter().filter(|&&(i, h)| mine.hash(level, i) != h).map(|&(i, _)| i).collect();
        if differ.is_empty() {
            return;
        }
        if level == merkle::DEPTH {
            let versions = self.versions_in(from, ctx.id(), &differ);
            ctx.send(from, DynamoMsg::Leaves { buckets: differ, versions });
            return;
        }
        let hashes = differ.iter().flat_map(|&i| mine.children(level, i)).collect();
        ctx.send(from, DynamoMsg::Tree { level: level + 1, hashes });
    }

    /// This node's versions of the keys it shares with `peer` in these leaf buckets (sorted).
    fn versions_in(&self, peer: NodeId, me: NodeId, buckets: &[u32]) -> Vec<(Key, Version)> {
        self.shared(peer, me)
            .filter(|u| buckets.binary_search(&merkle::bucket(u.key)).is_ok())
            .map(|u| (u.key, u.version))
            .collect()
    }

    fn on_leaves(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, buckets: Vec<u32>, theirs: Vec<(Key, Version)>) {
        let mine = self.versions_in(from, ctx.id(), &buckets);
        let updates: Vec<Update> = ahead(&mine, &theirs).filter_map(|k| self.data.store.entry(k).copied()).collect();
        let want: Vec<Key> = ahead(&theirs, &mine).collect();
        if !updates.is_empty() || !want.is_empty() {
            ctx.send(from, DynamoMsg::Updates { updates, want });
        }
    }

    fn on_updates(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, updates: Vec<Update>, want: Vec<Key>) {
        let me = ctx.id();
        for u in updates {
            self.keep(ctx, u, me);
        }
        let back: Vec<Update> = want.iter().filter_map(|k| self.data.store.entry(*k).copied()).collect();
        if !back.is_empty() {
            ctx.send(from, DynamoMsg::Updates { updates: back, want: Vec::new() });
        }
    }
}

impl Protocol for DynamoNode {
    type Msg = DynamoMsg;
    type Timer = DynamoTimer;
    type Durable = Durable;
    type Config = DynamoConfig;
    type Note = ();
    type Monitor = NoMonitor;

    fn monitor(_: &DynamoConfig, _: u32) -> NoMonitor {
        NoMonitor
    }

    fn info(config: &DynamoConfig) -> ProtocolInfo {
        let mut variant = format!("N={} R={} W={}", config.n, config.r, config.w);
        if config.sloppy {
            variant += ", sloppy";
        }
        if config.read_repair {
            variant += ", read repair";
        }
        if config.anti_entropy > SimDuration::ZERO {
            variant += ", Merkle anti-entropy";
        }
        ProtocolInfo {
            name: "dynamo",
            variant,
            ops: vec![OpKind::Put, OpKind::Get],
            consistency: Consistency::Eventual,
            round: None,
            datatype: Datatype::KeyValue,
            reads_state: true,
            leaders: false,
        }
    }

    fn placement(config: &DynamoConfig, nodes: u32) -> Option<Placement> {
        let ring = Ring::of_cluster(nodes, &config.coordinator_ids, config.vnodes);
        let n = config.n as usize;
        Some(Placement::new(move |key| ring.preference(key, n)))
    }

    fn new(id: NodeId, config: &DynamoConfig, durable: Option<Durable>) -> Self {
        // The ring needs the cluster's size, which `on_start` learns; until then it is empty.
        let _ = id;
        DynamoNode {
            config: config.clone(),
            ring: Ring::new(&[], 0),
            data: durable.unwrap_or_default(),
            pending: BTreeMap::new(),
            suspects: BTreeMap::new(),
            clock: 0,
            partners: Vec::new(),
            next_partner: 0,
        }
    }

    fn durable(&self) -> Durable {
        self.data.clone()
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.ring = Ring::of_cluster(ctx.cluster_size(), &self.config.coordinator_ids, self.config.vnodes);
        self.partners = self.ring.partners(ctx.id(), self.config.n as usize);
        self.clock = self.data.store.clock();
        if self.config.anti_entropy > SimDuration::ZERO && !self.partners.is_empty() {
            self.next_partner = below(ctx.rng(), self.partners.len() as u64) as usize;
            let first = SimDuration(1 + below(ctx.rng(), self.config.anti_entropy.as_nanos()));
            ctx.set_timer(DynamoTimer::AntiEntropy, first);
        }
        ctx.set_timer(DynamoTimer::Handoff, self.config.handoff);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: DynamoMsg) {
        self.suspects.remove(&from);
        match msg {
            DynamoMsg::Write { op, update, hint } => {
                self.keep(ctx, update, hint.unwrap_or(ctx.id()));
                self.send(ctx, from, DynamoMsg::WriteAck { op });
            }
            DynamoMsg::WriteAck { op } => self.answered(ctx, op, from, None),
            DynamoMsg::Read { op, key } => {
                let entry = self.holding(key);
                self.send(ctx, from, DynamoMsg::ReadReply { op, entry });
            }
            DynamoMsg::ReadReply { op, entry } => self.answered(ctx, op, from, entry),
            DynamoMsg::Repair(update) => {
                let me = ctx.id();
                self.keep(ctx, update, me);
            }
            DynamoMsg::Handoff(updates) => {
                let me = ctx.id();
                let acked = updates.iter().map(|u| (u.key, u.version)).collect();
                for u in updates {
                    self.keep(ctx, u, me);
                }
                ctx.send(from, DynamoMsg::HandoffAck(acked));
            }
            DynamoMsg::HandoffAck(acked) => {
                if let Some(hints) = self.data.hints.get_mut(&from) {
                    for (key, version) in acked {
                        if hints.get(&key).is_some_and(|h| h.version <= version) {
                            hints.remove(&key);
                        }
                    }
                    if hints.is_empty() {
                        self.data.hints.remove(&from);
                    }
                }
            }
            DynamoMsg::Tree { level, hashes } => self.on_tree(ctx, from, level, hashes),
            DynamoMsg::Leaves { buckets, versions } => self.on_leaves(ctx, from, buckets, versions),
            DynamoMsg::Updates { updates, want } => self.on_updates(ctx, from, updates, want),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: DynamoTimer) {
        match timer {
            DynamoTimer::Request(req) => self.deadline(ctx, req),
            DynamoTimer::AntiEntropy => {
                if !self.partners.is_empty() {
                    let peer = self.partners[self.next_partner % self.partners.len()];
                    self.next_partner += 1;
                    let root = self.tree_with(peer, ctx.id()).hash(0, 0);
                    ctx.send(peer, DynamoMsg::Tree { level: 0, hashes: vec![(0, root)] });
                }
                ctx.set_timer(DynamoTimer::AntiEntropy, self.config.anti_entropy);
            }
            DynamoTimer::Handoff => {
                for (&replica, hints) in &self.data.hints {
                    ctx.send(replica, DynamoMsg::Handoff(hints.values().copied().collect()));
                }
                ctx.set_timer(DynamoTimer::Handoff, self.config.handoff);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        match op {
            Op::Put { key, value } => {
                // Microseconds of the coordinator's time, above every version it has seen.
                self.clock = (ctx.now().as_nanos() / 1000).max(self.clock.max(self.data.store.clock()) + 1);
                let update =
                    Update { key, version: Version { lamport: self.clock, node: ctx.id().0 }, value, write: req };
                // The write takes its place in the order here, where its version is made: the
                // checkers that ask which write superseded which must see it first here. It
                // counts as visible only where the key is held (the placement says where).
                ctx.expose(key, req, update.version.stamp());
                self.coordinate(ctx, req, key, Some(update));
            }
            Op::Get { key } => self.coordinate(ctx, req, key, None),
            other => ctx.reply(req, Err(format!("dynamo does not support {}", other.kind()))),
        }
    }

    fn state_digest(&self) -> u64 {
        self.data.store.fingerprint()
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.data.store.read_state()
    }
}

#[cfg(test)]
mod tests;
