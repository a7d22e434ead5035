//! Chain replication (van Renesse & Schneider, OSDI 2004) as a syncsim protocol family.
//!
//! The nodes form one chain in id order: the first is the *head*, the last the *tail*. Any node
//! takes client requests and forwards them: writes to the head, reads to the tail. The head
//! orders each write (a sequence number), applies it and passes it down the chain; each node
//! applies writes in sequence order and passes them on; the tail applies it and answers the
//! client. Reads are answered by the tail alone, so a read sees exactly the writes already
//! answered (and perhaps some in flight): the chain is linearizable.
//!
//! The chain is fixed: this example has no master to splice out a crashed node, so the chain
//! stalls while a member is down and resumes from the member's durable state when it restarts.
//! Each node keeps the writes its successor has not acknowledged and sends them again every
//! `retransmit`, so lost, duplicated and reordered messages do no harm.
//!
//! Everything here uses syncsim's public API only: the [`Protocol`] state machine, the
//! [`Family`] that names it in scenarios (`protocol: { kind: chain }`), and an invariant
//! [`Monitor`]. `src/main.rs` registers it and gets every syncsim command.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use syncsim::sim::history::OpKind;
use syncsim::sim::{
    Consistency, Ctx, Datatype, Family, Key, Launch, Message, Monitor, NodeId, Op, Output, Param, ParamError, Protocol,
    ProtocolInfo, ProtocolMetrics, RequestId, SimDuration, SimTime, Value,
};

/// Chain replication's parameters, from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// How often a node sends its successor the writes it has not acknowledged.
    pub retransmit: SimDuration,
    /// Most writes in one message down the chain.
    pub max_batch: u32,
    /// A planted bug (builds with the `planted-bugs` feature only).
    #[serde(skip_serializing_if = "Bug::is_none")]
    pub bug: Bug,
}

impl Default for ChainConfig {
    fn default() -> Self {
        ChainConfig { retransmit: SimDuration::from_millis(20), max_batch: 64, bug: Bug::None }
    }
}

/// The planted bug that shows the checkers catch a broken chain.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// The correct protocol.
    #[default]
    None,
    /// The head answers a write as soon as it applies it, before the tail has it: a read at
    /// the tail can then miss a write already answered (not linearizable).
    EarlyAck,
}

impl Bug {
    fn is_none(&self) -> bool {
        *self == Bug::None
    }

    /// Whether `self` is planted: never in builds without the `planted-bugs` feature.
    fn planted(self, bug: Bug) -> bool {
        cfg!(feature = "planted-bugs") && self == bug
    }
}

/// One write as it travels down the chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// Its place in the head's order.
    pub seq: u64,
    /// The register written.
    pub key: Key,
    /// The value written.
    pub value: Value,
    /// The client request, which the tail answers.
    pub req: RequestId,
}

/// Messages between the nodes of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChainMsg {
    /// A client request passed to the node that serves it (writes: the head; reads: the tail).
    Forward {
        /// The client's request.
        req: RequestId,
        /// What it asks.
        op: Op,
    },
    /// Writes for the successor, in sequence order.
    Updates(Vec<Update>),
    /// The successor has applied every write up to `upto`.
    Ack {
        /// The highest sequence number applied, with all before it.
        upto: u64,
    },
}

impl Message for ChainMsg {
    fn wire_size(&self) -> usize {
        // A one-byte tag; eight-byte numbers; an operation as its tag and up to three numbers.
        1 + match self {
            ChainMsg::Forward { .. } => 8 + 25,
            ChainMsg::Updates(updates) => 4 + 32 * updates.len(),
            ChainMsg::Ack { .. } => 8,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ChainMsg::Forward { .. } => "Forward",
            ChainMsg::Updates(_) => "Updates",
            ChainMsg::Ack { .. } => "Ack",
        }
    }
}

/// The node's one timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChainTimer {
    /// Send the successor what it has not acknowledged.
    Retransmit,
}

/// What a node reports to the invariant monitor: it applied write `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The write's sequence number.
    pub seq: u64,
    /// The register.
    pub key: Key,
    /// The value.
    pub value: Value,
}

/// A node's replica: the registers and how far along the chain's order it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replica {
    /// Each register's value, with the sequence number of the write that set it.
    pub store: BTreeMap<Key, (Value, u64)>,
    /// Every write up to this one is applied here.
    pub applied: u64,
    /// Writes applied here that the successor has not acknowledged, by sequence number.
    pub unacked: BTreeMap<u64, Update>,
    /// At the head: the client requests already ordered, so that a duplicated request is not
    /// ordered twice (it would write its value again after later writes).
    pub ordered: BTreeSet<RequestId>,
}

/// A node of the chain. Everything it holds is durable: each handler persists before its
/// messages leave (an fsync per step, as the paper's servers log to stable storage).
#[derive(Clone, Debug)]
pub struct Chain {
    id: NodeId,
    config: ChainConfig,
    replica: Replica,
}

impl Chain {
    fn head(&self) -> NodeId {
        NodeId(0)
    }

    fn tail(&self, ctx: &Ctx<'_, Self>) -> NodeId {
        NodeId(ctx.cluster_size() - 1)
    }

    fn successor(&self, ctx: &Ctx<'_, Self>) -> Option<NodeId> {
        (self.id.0 + 1 < ctx.cluster_size()).then(|| NodeId(self.id.0 + 1))
    }

    fn predecessor(&self) -> Option<NodeId> {
        self.id.0.checked_sub(1).map(NodeId)
    }

    /// Applies `update` (the next in order): the register, the monitor, the exposure, and the
    /// client's answer at the tail.
    fn apply(&mut self, ctx: &mut Ctx<'_, Self>, update: Update) {
        let Update { seq, key, value, req } = update;
        self.replica.store.insert(key, (value, seq));
        self.replica.applied = seq;
        ctx.note(Applied { seq, key, value });
        ctx.expose(key, req, seq);
        match self.successor(ctx) {
            Some(next) => {
                ctx.send(next, ChainMsg::Updates(vec![update.clone()]));
                self.replica.unacked.insert(seq, update);
            }
            None if !self.config.bug.planted(Bug::EarlyAck) => ctx.reply(req, Ok(Output::Done)),
            None => {}
        }
    }

    /// Serves `op` here, or passes it to the node that serves it.
    fn serve(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        match op {
            Op::Put { .. } if self.id == self.head() && self.replica.ordered.contains(&req) => {}
            Op::Put { key, value } if self.id == self.head() => {
                self.replica.ordered.insert(req);
                let seq = self.replica.applied + 1;
                self.apply(ctx, Update { seq, key, value, req });
                if self.config.bug.planted(Bug::EarlyAck) {
                    ctx.reply(req, Ok(Output::Done));
                }
            }
            Op::Put { .. } => ctx.send(self.head(), ChainMsg::Forward { req, op }),
            Op::Get { key } if self.id == self.tail(ctx) => {
                let value = self.replica.store.get(&key).map(|&(v, _)| v);
                ctx.reply(req, Ok(Output::Value(value)));
            }
            Op::Get { .. } => ctx.send(self.tail(ctx), ChainMsg::Forward { req, op }),
            other => ctx.reply(req, Err(format!("chain replication does not serve `{}`", other.kind()))),
        }
    }

    /// Sends the successor the oldest writes it has not acknowledged.
    fn retransmit(&self, ctx: &mut Ctx<'_, Self>) {
        if let Some(next) = self.successor(ctx)
            && !self.replica.unacked.is_empty()
        {
            let batch = self.replica.unacked.values().take(self.config.max_batch as usize).cloned().collect();
            ctx.send(next, ChainMsg::Updates(batch));
        }
    }
}

impl Protocol for Chain {
    type Msg = ChainMsg;
    type Timer = ChainTimer;
    type Durable = Replica;
    type Config = ChainConfig;
    type Note = Applied;
    type Monitor = ChainMonitor;

    fn monitor(_: &ChainConfig, nodes: u32) -> ChainMonitor {
        ChainMonitor { applied: vec![0; nodes as usize], order: BTreeMap::new() }
    }

    fn info(_: &ChainConfig) -> ProtocolInfo {
        ProtocolInfo {
            name: "chain",
            variant: "fixed chain".into(),
            ops: vec![OpKind::Put, OpKind::Get],
            consistency: Consistency::Linearizable,
            round: None,
            datatype: Datatype::KeyValue,
            reads_state: true,
            leaders: false,
        }
    }

    fn new(id: NodeId, config: &ChainConfig, durable: Option<Replica>) -> Self {
        Chain { id, config: config.clone(), replica: durable.unwrap_or_default() }
    }

    fn durable(&self) -> Replica {
        self.replica.clone()
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.retransmit(ctx);
        ctx.set_timer(ChainTimer::Retransmit, self.config.retransmit);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: ChainMsg) {
        match msg {
            ChainMsg::Forward { req, op } => self.serve(ctx, req, op),
            ChainMsg::Updates(updates) if self.predecessor() == Some(from) => {
                // In order only: a gap waits for the predecessor's next retransmission.
                for update in updates {
                    if update.seq == self.replica.applied + 1 {
                        self.apply(ctx, update);
                    }
                }
                ctx.send(from, ChainMsg::Ack { upto: self.replica.applied });
            }
            ChainMsg::Updates(_) => {}
            ChainMsg::Ack { upto } => self.replica.unacked.retain(|&seq, _| seq > upto),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, ChainTimer::Retransmit: ChainTimer) {
        self.retransmit(ctx);
        ctx.set_timer(ChainTimer::Retransmit, self.config.retransmit);
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        self.serve(ctx, req, op);
    }

    fn state_digest(&self) -> u64 {
        // FNV-1a over the registers: equal stores, equal digests, on every machine.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (&key, &(value, _)) in &self.replica.store {
            for byte in key.to_le_bytes().into_iter().chain(value.to_le_bytes()) {
                h = (h ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
            }
        }
        h
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.replica.store.iter().map(|(&k, &(v, _))| (k, Output::Value(Some(v)))).collect()
    }
}

/// The chain's invariants while the run goes: every node applies the same write at each
/// sequence number, and a node applies a write only after its predecessor did (the paper's
/// update propagation invariant: each node's history is a prefix of its predecessor's).
#[derive(Clone, Debug)]
pub struct ChainMonitor {
    applied: Vec<u64>,
    order: BTreeMap<u64, (Key, Value)>,
}

impl Monitor<Applied> for ChainMonitor {
    fn observe(&mut self, _: SimTime, node: NodeId, note: &Applied) -> Result<(), String> {
        let k = node.index();
        if k > 0 && self.applied[k - 1] < note.seq {
            return Err(format!(
                "node {k} applied write {} before its predecessor (which is at {})",
                note.seq,
                self.applied[k - 1]
            ));
        }
        match self.order.get(&note.seq) {
            Some(&(key, value)) if (key, value) != (note.key, note.value) => {
                return Err(format!(
                    "write {} is put {value} at key {key} at one node and put {} at key {} at node {k}",
                    note.seq, note.value, note.key
                ));
            }
            Some(_) => {}
            None => {
                self.order.insert(note.seq, (note.key, note.value));
            }
        }
        self.applied[k] = self.applied[k].max(note.seq);
        Ok(())
    }

    fn metrics(&self, _: SimTime) -> ProtocolMetrics {
        let mut metrics = ProtocolMetrics::default();
        metrics.numbers.insert("writes_ordered".into(), self.order.len() as f64);
        metrics
    }
}

/// The `chain` family: what a scenario's `protocol: { kind: chain, ... }` runs.
impl Family for Chain {
    const KIND: &'static str = "chain";
    const ABOUT: &'static str =
        "chain replication (van Renesse & Schneider 2004) over a fixed chain: writes at the head, reads at the tail";
    type Config = ChainConfig;

    fn params() -> Vec<Param> {
        let mut params = vec![
            Param::new("retransmit", "how often a node resends its successor the writes not yet acknowledged"),
            Param::new("max_batch", "most writes in one message down the chain"),
        ];
        if cfg!(feature = "planted-bugs") {
            params.push(Param::new("bug", "test only, a planted bug: none | early-ack").unwritten("none"));
        }
        params
    }

    fn validate(config: &ChainConfig, nodes: &[String]) -> Result<(), ParamError> {
        if config.retransmit == SimDuration::ZERO {
            return Err(("retransmit".into(), "must be longer than 0s".into()));
        }
        if config.max_batch == 0 {
            return Err(("max_batch".into(), "must be at least 1".into()));
        }
        if !config.bug.is_none() && !cfg!(feature = "planted-bugs") {
            return Err((
                "bug".into(),
                "planted bugs are compiled only into test builds (feature `planted-bugs`)".into(),
            ));
        }
        if nodes.is_empty() {
            return Err(("kind".into(), "a chain needs at least one node".into()));
        }
        Ok(())
    }

    fn launch<L: Launch>(config: &ChainConfig, _: &[String], launch: L) -> L::Output {
        launch.launch::<Chain>(config.clone())
    }
}
