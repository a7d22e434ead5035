//! What a run is, whatever hosts it: the nodes' protocol states and what survives their
//! crashes, the clients and their history, the invariant monitor, the observer, the trace hash
//! and the run's statistics. The engine ([`crate::Sim`]) adds its event queue, network model
//! and clocks; the async host adds tasks and a transport. Both drive the same [`Cluster`], so
//! a crash, a restart, a client's outcome, a sample, a note to the monitor and the run's output
//! mean the same on every host.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::engine::{RunOutput, SimConfig};
use crate::fault::{self, Fault, NodeStatus, Targeted, TimedFault};
use crate::history::{History, Key, Outcome, Output};
use crate::monitor::{Monitor, Violation};
use crate::network::NetStats;
use crate::observe::{Observer, Sample};
use crate::protocol::{Ctx, Effects, Exposure, NodeId, Placement, Protocol, Reply, RequestId, TimerOp};
use crate::rng::{SimRng, Stream};
use crate::time::{SimDuration, SimTime};
use crate::trace::{StableHasher, TraceKind, TraceRecord};
use crate::workload::Clients;

/// A node as the run knows it: its protocol state while it is up, what its disk keeps.
pub struct Slot<P: Protocol> {
    /// The protocol state; `None` while the node is crashed.
    pub state: Option<P>,
    /// What the last crash kept (taken by the restart).
    pub durable: Option<P::Durable>,
    /// The node's own random stream; it goes on across restarts.
    pub rng: SimRng,
}

/// What only a host's transport can do with a handler's effects: carry messages, arm timers
/// and hand replies to clients. [`Cluster::call`] applies every effect, in one order on every
/// host (sends, timers, replies, exposures, notes), and asks the transport for these.
pub trait Transport<P: Protocol> {
    /// Carries `msg` from `from` to `to`.
    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg);
    /// Arms `timer` of `node` to fire `after` from now, replacing an earlier arming of it.
    fn set_timer(&mut self, node: NodeId, timer: P::Timer, after: SimDuration);
    /// Disarms `timer` of `node`.
    fn cancel_timer(&mut self, node: NodeId, timer: P::Timer);
    /// Hands `reply` to the client of `id`; false when that client had already given up (a
    /// late reply, which the core counts). A transport that learns this later counts it
    /// through [`Cluster::complete`].
    fn reply(&mut self, node: NodeId, id: RequestId, reply: Reply) -> bool;
}

/// The host-agnostic part of one run of protocol `P`, watched by `O`.
pub struct Cluster<P: Protocol, O> {
    /// The protocol's configuration (restarted nodes are built from it).
    pub protocol: P::Config,
    /// Every node, indexed by id.
    pub slots: Vec<Slot<P>>,
    /// Every client operation.
    pub history: History,
    /// The clients' generators.
    pub clients: Clients,
    /// The protocol's invariant monitor.
    pub monitor: P::Monitor,
    /// The invariant that broke, if one did.
    pub violation: Option<Violation>,
    /// Folds every handled event, and what messages and requests carry.
    pub trace: StableHasher,
    /// Protocol handler calls so far (starts, deliveries, timer firings, requests): a run's
    /// events, counted the same on every host.
    pub handler_calls: u64,
    /// The most handler calls the run may make (`max_events`).
    max_calls: u64,
    /// Why the run stopped early or cannot be trusted, if it did.
    pub aborted: Option<String>,
    /// Replies that reached their client after it had given up.
    pub late_replies: u64,
    /// Every fault applied, with its time.
    pub applied_faults: Vec<(SimTime, Fault)>,
    observer: Option<O>,
    /// Which nodes hold which keys, when the protocol partitions its data.
    placement: Option<Placement>,
    /// Each key's holders, as the placement gave them.
    holders: BTreeMap<Key, Vec<NodeId>>,
    digests: Vec<Option<u64>>,
    leaders: Vec<Option<u64>>,
    /// In an elastic cluster (one with spares), its members in id order: every node that
    /// joined and has not left. `None` for a fixed cluster, whose members are every node.
    members: Option<Arc<[NodeId]>>,
    /// The run's future workload, for an oracle protocol ([`Protocol::foresight`]).
    foresight: Option<crate::Foresight>,
}

impl<P: Protocol, O: Observer> Cluster<P, O> {
    /// A fresh cluster for `config`: every member started empty (its `on_start` is the host's
    /// to call), spares absent, clients ready.
    pub fn new(config: &SimConfig, protocol: P::Config, observer: O) -> Self {
        let n = config.nodes;
        let members = n - config.spares;
        let seed = config.seed;
        let mut clients = Clients::new(&config.workload, n, seed);
        let foresight = P::foresight(&protocol).then(|| clients.plan(SimTime::ZERO + config.duration));
        Cluster {
            foresight,
            slots: (0..n)
                .map(|k| Slot {
                    state: (k < members).then(|| P::new(NodeId(k), &protocol, None)),
                    durable: None,
                    rng: Stream::Node(k).rng(seed),
                })
                .collect(),
            history: History::new(),
            clients,
            monitor: P::monitor(&protocol, n),
            violation: None,
            trace: StableHasher::default(),
            handler_calls: 0,
            max_calls: config.max_events.unwrap_or(u64::MAX),
            aborted: None,
            late_replies: 0,
            applied_faults: Vec::new(),
            observer: Some(observer),
            digests: vec![None; n as usize],
            leaders: vec![None; n as usize],
            placement: P::placement(&protocol, n),
            members: (config.spares > 0).then(|| (0..members).map(NodeId).collect()),
            holders: BTreeMap::new(),
            protocol,
        }
    }

    /// Every fault of the run in time order: the scripted ones and those the seed draws.
    pub fn fault_schedule(config: &SimConfig) -> Vec<TimedFault> {
        let until = SimTime::ZERO + config.duration;
        let mut faults = config.faults.clone();
        faults.extend(config.random_faults.draw(
            config.nodes,
            until,
            &mut Stream::Faults.rng(config.seed),
            &config.faults,
        ));
        faults.sort_by_key(|f| f.at); // stable: scripted faults first among equals
        faults
    }

    /// Whether the run has made its `max_events` handler calls, so that nothing more is to be
    /// handled; the first time, it records why the run stopped. Hosts ask before each call.
    #[inline]
    pub fn halted(&mut self) -> bool {
        if self.handler_calls < self.max_calls {
            return false;
        }
        self.stop_at_limit();
        true
    }

    #[cold]
    fn stop_at_limit(&mut self) {
        let calls = self.handler_calls;
        self.aborted.get_or_insert_with(|| format!("stopped after {calls} events (the max_events limit)"));
    }

    /// Calls `handler` on node `k` if it is up (with `local` its clock's reading of `now`) and
    /// applies its effects through `transport`, in the one order every host shares; `event`
    /// names what is being handled, for a broken invariant's report. `effects` is the
    /// host's reusable buffer. False when the node is down. The host asks [`Cluster::halted`]
    /// first.
    ///
    /// Inlined by force, with the engine's transport methods, and kept free of anything
    /// else (the `max_events` check lives in `halted`): otherwise the compiler keeps the
    /// per-message path out of line, which cost the flood benchmark 12% (measured 2026-12-06).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn call(
        &mut self,
        k: NodeId,
        now: SimTime,
        local: SimTime,
        event: (TraceKind, Option<NodeId>, Option<NodeId>),
        effects: &mut Effects<P::Msg, P::Timer, P::Note>,
        transport: &mut impl Transport<P>,
        handler: impl FnOnce(&mut P, &mut Ctx<'_, P>),
    ) -> bool {
        let n = self.slots.len() as u32;
        let slot = &mut self.slots[k.index()];
        let Some(state) = slot.state.as_mut() else { return false };
        let mut ctx = Ctx::new(local, k, n, &mut slot.rng, effects);
        if let Some(members) = &self.members {
            ctx = ctx.with_members(members.clone());
        }
        if let Some(foresight) = &self.foresight {
            ctx = ctx.with_foresight(foresight);
        }
        handler(state, &mut ctx);
        self.handler_calls += 1;
        for (to, msg) in effects.sends.drain(..) {
            assert!(to.0 < n, "protocol bug: {k} sent to {to}, which does not exist");
            transport.send(k, to, msg);
        }
        for op in effects.timers.drain(..) {
            match op {
                TimerOp::Set(timer, after) => transport.set_timer(k, timer, after),
                TimerOp::Cancel(timer) => transport.cancel_timer(k, timer),
            }
        }
        if !effects.replies.is_empty() {
            for (id, reply) in effects.replies.drain(..) {
                self.trace.mark(now, TraceKind::Reply, Some(k), id.0);
                if !transport.reply(k, id, reply) {
                    self.late_replies += 1;
                }
            }
        }
        if !effects.exposures.is_empty() {
            self.exposed(now, k, effects.exposures.drain(..));
        }
        if !effects.notes.is_empty() {
            self.noted(now, k, effects.notes.drain(..), event);
        }
        true
    }

    /// The observer.
    pub fn observer(&mut self) -> &mut O {
        self.observer.as_mut().expect("the run has not finished")
    }

    /// Writes that became readable at node `k`.
    pub fn exposed(&mut self, now: SimTime, k: NodeId, exposures: impl Iterator<Item = Exposure>) {
        let observer = self.observer();
        exposures.for_each(|e| observer.on_expose(now, k, &e));
    }

    /// Facts node `k` reported while handling an event of `kind` at `node` from `from`; the
    /// first that breaks an invariant is the run's violation.
    pub fn noted(
        &mut self,
        now: SimTime,
        k: NodeId,
        notes: impl Iterator<Item = P::Note>,
        (kind, node, from): (TraceKind, Option<NodeId>, Option<NodeId>),
    ) {
        for note in notes {
            if let Err(message) = self.monitor.observe(now, k, &note)
                && self.violation.is_none()
            {
                let name = |n: Option<NodeId>| n.map_or("-".to_string(), |n| n.0.to_string());
                let event = match kind {
                    TraceKind::Deliver => format!("a message to node {} from node {}", name(node), name(from)),
                    TraceKind::Timer => format!("a timer at node {}", name(node)),
                    TraceKind::Request => format!("a client request at node {}", name(node)),
                    other => format!("{other:?} at node {}", name(node)),
                };
                self.violation = Some(Violation { time: now, node: k, message, event });
            }
        }
    }

    /// Node `k` crashes: its durable state is kept, the rest is lost. False if it was down.
    pub fn crash(&mut self, now: SimTime, k: NodeId) -> bool {
        let slot = &mut self.slots[k.index()];
        let Some(state) = slot.state.take() else { return false };
        slot.durable = Some(state.durable());
        self.monitor.crashed(now, k);
        true
    }

    /// Node `k` restarts from its durable state (its `on_start` is the host's to call). False
    /// if it was up.
    pub fn restart(&mut self, k: NodeId) -> bool {
        let slot = &mut self.slots[k.index()];
        if slot.state.is_some() {
            return false;
        }
        slot.state = Some(P::new(k, &self.protocol, slot.durable.take()));
        true
    }

    /// Node `k`, outside the cluster, joins it with an empty state and no disk (its
    /// `on_start` is the host's to call).
    pub fn join(&mut self, k: NodeId) {
        let slot = &mut self.slots[k.index()];
        slot.durable = None;
        slot.state = Some(P::new(k, &self.protocol, None));
        self.set_member(k, true);
    }

    /// Node `k` is leaving but still runs: it is no longer a member.
    pub fn drain(&mut self, k: NodeId) {
        self.set_member(k, false);
    }

    /// Adds `k` to the members, or removes it.
    fn set_member(&mut self, k: NodeId, member: bool) {
        let mut members: Vec<NodeId> = match &self.members {
            Some(m) => m.to_vec(),
            None => (0..self.slots.len() as u32).map(NodeId).collect(),
        };
        members.retain(|&m| m != k);
        if member {
            members.push(k);
            members.sort_unstable();
        }
        self.members = Some(members.into());
    }

    /// Node `k` has left the cluster (its `on_leave` has run): its state and disk are gone.
    pub fn leave(&mut self, now: SimTime, k: NodeId) {
        let slot = &mut self.slots[k.index()];
        slot.state = None;
        slot.durable = None;
        self.monitor.crashed(now, k);
        self.set_member(k, false);
    }

    /// The concrete faults targeted fault `t` means now, given each node's status.
    pub fn resolve(&self, t: &Targeted, status: &[NodeStatus]) -> Vec<Fault> {
        let leader = fault::leader(self.slots.iter().map(|s| s.state.as_ref().and_then(|p| p.leader_term())));
        t.resolve(leader, status)
    }

    /// Records `fault` as applied now.
    pub fn applied(&mut self, now: SimTime, fault: Fault) {
        self.observer().on_fault(now, &fault);
        self.applied_faults.push((now, fault));
    }

    /// The client of `id` learns its outcome, unless it already gave up on it (a late reply):
    /// true when the outcome completed the operation.
    pub fn complete(&mut self, id: RequestId, now: SimTime, outcome: Outcome) -> bool {
        let entry = self.history.get(id).expect("recorded");
        if entry.outcome == Outcome::Pending {
            let (client, op) = (entry.client, entry.op.clone());
            self.clients.learn(client, &op, &outcome);
        }
        let completed = self.history.complete(id, now, outcome);
        if !completed {
            self.late_replies += 1;
        }
        completed
    }

    /// Samples every replica's digest and leadership for the observer.
    pub fn sample(&mut self, now: SimTime, net: &NetStats) {
        for (l, slot) in self.leaders.iter_mut().zip(&self.slots) {
            *l = slot.state.as_ref().and_then(|p| p.leader_term());
        }
        self.digests = self.state_digests();
        let sample = Sample {
            digests: &self.digests,
            leaders: &self.leaders,
            messages_sent: net.sent,
            bytes_sent: net.bytes_sent,
        };
        self.observer.as_mut().expect("the run has not finished").on_sample(now, &sample);
    }

    /// Every live replica's state digest ([`Protocol::state_digest`]) or, when the protocol
    /// partitions its data, a digest that says whether the replica agrees with every other
    /// live holder of each key it holds: 0 if it does, its own number otherwise. Equal digests
    /// then mean what they mean for a fully replicated protocol: nothing left to reconcile.
    fn state_digests(&mut self) -> Vec<Option<u64>> {
        let Some(placement) = &self.placement else {
            return self.slots.iter().map(|s| s.state.as_ref().map(|p| p.state_digest())).collect();
        };
        let reads: Vec<Option<BTreeMap<Key, Output>>> =
            self.slots.iter().map(|s| s.state.as_ref().map(|p| p.read_state().into_iter().collect())).collect();
        let mut disagree = vec![false; reads.len()];
        let keys: BTreeSet<Key> = reads.iter().flatten().flat_map(|r| r.keys().copied()).collect();
        for key in keys {
            let holders = self.holders.entry(key).or_insert_with(|| placement.holders(key));
            let live: Vec<(usize, Option<&Output>)> = holders
                .iter()
                .filter_map(|h| reads.get(h.index()).and_then(|r| r.as_ref()).map(|r| (h.index(), r.get(&key))))
                .collect();
            if live.iter().any(|(_, v)| *v != live[0].1) {
                live.iter().for_each(|&(i, _)| disagree[i] = true);
            }
        }
        reads.iter().enumerate().map(|(i, r)| r.as_ref().map(|_| if disagree[i] { i as u64 + 1 } else { 0 })).collect()
    }

    /// The run's output: the history closed, the final states read, everything gathered.
    pub fn finish(&mut self, config: &SimConfig, end: Ending) -> RunOutput<O> {
        self.history.close();
        RunOutput {
            seed: config.seed,
            history: std::mem::take(&mut self.history),
            net: end.net,
            traffic: end.traffic,
            trace_hash: std::hash::Hasher::finish(&self.trace),
            events: self.handler_calls,
            settle_start: SimTime::ZERO + config.duration,
            planned_end: SimTime::ZERO + config.duration + config.settle,
            end: end.at,
            final_digests: self.state_digests(),
            placement: self.placement.clone(),
            final_reads: self.slots.iter().map(|s| s.state.as_ref().map(|p| p.read_state())).collect(),
            final_ledgers: self.slots.iter().map(|s| s.state.as_ref().and_then(|p| p.ledger())).collect(),
            faults: std::mem::take(&mut self.applied_faults),
            late_replies: self.late_replies,
            trace: end.trace,
            aborted: self.aborted.take(),
            protocol_metrics: self.monitor.metrics(end.at),
            violation: self.violation.take(),
            observer: self.observer.take().expect("a run finishes once"),
        }
    }
}

/// What the host knows at the end of a run, for [`Cluster::finish`].
pub struct Ending {
    /// When the run ended.
    pub at: SimTime,
    /// Message counts.
    pub net: NetStats,
    /// Traffic by node, message kind and pair.
    pub traffic: crate::traffic::Traffic,
    /// Every event, if recorded.
    pub trace: Vec<TraceRecord>,
}
