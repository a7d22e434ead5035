//! The discrete-event engine: it owns the clock, the event queue, the nodes, the network, the
//! clients and the history, calls protocol handlers and applies the effects they leave.

use std::hash::Hash;

use crate::byzantine::{Liar, Signatures};
use crate::cluster::{Cluster, Ending, Transport};
use std::mem;

use crate::fault::{Fault, RandomFaults, Target, Targeted, TimedFault};
use crate::history::{History, Op, Outcome};
use crate::monitor::{ProtocolMetrics, Violation};
use crate::network::{Cut, NetStats, Network, NetworkConfig};
use crate::observe::Observer;
use crate::protocol::{Ctx, Departure, Effects, Message, NodeId, Protocol, Reply, RequestId};
use crate::queue::EventQueue;
use crate::rng::{Stream, below};
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceKind, TraceRecord};
use crate::workload::WorkloadConfig;

/// Everything the engine needs to run one simulation.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The master seed every random stream derives from.
    pub seed: u64,
    /// Number of nodes, spares included.
    pub nodes: u32,
    /// The last `spares` nodes start outside the cluster (absent) and take part only once a
    /// `Join` brings them in: an elastic cluster's room to grow.
    pub spares: u32,
    /// How long clients and faults run.
    pub duration: SimDuration,
    /// How long the run goes on after `duration`, with faults healed and clients stopped.
    pub settle: SimDuration,
    /// Whether crashed nodes restart when the settle phase begins.
    pub restart_on_settle: bool,
    /// A liveness phase: the settle phase heals only a random core of at least this many
    /// nodes; the others are down for it (`None`: every node is healed).
    pub settle_core: Option<u32>,
    /// The network.
    pub network: NetworkConfig,
    /// The clients.
    pub workload: WorkloadConfig,
    /// Scripted faults, in time order.
    pub faults: Vec<TimedFault>,
    /// Random faults drawn from the seed.
    pub random_faults: RandomFaults,
    /// How often replica states are sampled for convergence and divergence.
    pub sample_every: SimDuration,
    /// Record every event (costly), not only the hash.
    pub record_trace: bool,
    /// Stop after this many events, protocol handler calls (a guard against runaway protocols).
    pub max_events: Option<u64>,
    /// The node timing model (processing time, timer jitter, clock drift); off by default.
    pub timing: crate::timing::TimingConfig,
    /// An autoscaler that adds and removes members by the client load (`None`: none).
    pub autoscale: Option<Autoscale>,
    /// Nodes that turn Byzantine (`None`: every node is honest).
    pub byzantine: Option<crate::byzantine::ByzantineConfig>,
    /// What a signature costs, on the messages a protocol signs.
    pub signatures: crate::byzantine::Signatures,
}

/// An autoscaler, as a Kubernetes horizontal pod autoscaler works: every `every` it divides
/// the client operations that arrived since its last look by the members and by what one
/// member serves (`capacity`), and adds a fresh node above `up` or removes the newest member
/// below `down`, one at a time, within `min..=max` members.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscale {
    /// How often it looks.
    pub every: SimDuration,
    /// Operations per second one member serves at full utilisation.
    pub capacity: f64,
    /// Add a member above this utilisation (a fraction).
    pub up: f64,
    /// Remove one below this.
    pub down: f64,
    /// The fewest members.
    pub min: u32,
    /// The most.
    pub max: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0,
            nodes: 3,
            spares: 0,
            duration: SimDuration::from_secs(10),
            settle: SimDuration::from_secs(5),
            restart_on_settle: true,
            settle_core: None,
            network: NetworkConfig::default(),
            workload: WorkloadConfig::default(),
            faults: vec![],
            random_faults: RandomFaults::default(),
            sample_every: SimDuration::from_millis(10),
            record_trace: false,
            max_events: None,
            timing: crate::timing::TimingConfig::default(),
            autoscale: None,
            byzantine: None,
            signatures: crate::byzantine::Signatures::default(),
        }
    }
}

/// A configuration the engine cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Something in the configuration is impossible; the message says what.
    #[error("invalid simulation: {0}")]
    Invalid(String),
}

/// What a finished run leaves behind.
#[derive(Debug)]
pub struct RunOutput<O> {
    /// The master seed.
    pub seed: u64,
    /// Every client operation.
    pub history: History,
    /// Message counts.
    pub net: NetStats,
    /// Traffic by node, message kind and pair (empty on hosts that do not count it).
    pub traffic: crate::traffic::Traffic,
    /// Hash of the handled events: equal for equal runs.
    pub trace_hash: u64,
    /// Events: protocol handler calls (starts, deliveries, timer firings, requests), the unit
    /// every host counts alike (and `max_events` limits).
    pub events: u64,
    /// When the settle phase began.
    pub settle_start: SimTime,
    /// When the run was to end: the duration and the whole settle phase.
    pub planned_end: SimTime,
    /// When the run ended.
    pub end: SimTime,
    /// Each node's final state digest; `None` for a node that ended crashed.
    pub final_digests: Vec<Option<u64>>,
    /// Which nodes hold which keys, when the protocol partitions its data.
    pub placement: Option<crate::Placement>,
    /// Each node's committed log as a hash chain ([`Protocol::ledger`]); `None` for a node
    /// that ended crashed or keeps no log.
    pub final_ledgers: Vec<Option<crate::ledger::Ledger>>,
    /// Each node's final readable state, key by key ([`Protocol::read_state`]); `None` for a
    /// node that ended crashed.
    pub final_reads: Vec<Option<Vec<(crate::Key, crate::Output)>>>,
    /// Every fault applied, scripted and random, with its time.
    pub faults: Vec<(SimTime, Fault)>,
    /// Replies that reached their client after it had given up (timed out).
    pub late_replies: u64,
    /// Every event, if recording was asked for.
    pub trace: Vec<TraceRecord>,
    /// Set when the run stopped early, with the reason.
    pub aborted: Option<String>,
    /// The protocol invariant that broke, which ended the run.
    pub violation: Option<Violation>,
    /// What the protocol's monitor measured.
    pub protocol_metrics: ProtocolMetrics,
    /// The observer, with what it gathered.
    pub observer: O,
}

use crate::fault::NodeStatus as Status;

/// A node's clock: `local = anchor_local + (real − anchor_real) · rate`, where the rate is the
/// node's own (the timing model's drift) times the one a `Clock` fault set times every random
/// drift in force.
#[derive(Clone, Debug)]
struct Clock {
    rate: f64,
    own: f64,
    base: f64,
    drifts: Vec<f64>,
    anchor_real: u64,
    anchor_local: i64,
}

impl Clock {
    /// A clock that runs at `own` times real time from the start.
    fn running_at(own: f64) -> Clock {
        Clock { rate: own, own, base: 1.0, drifts: Vec::new(), anchor_real: 0, anchor_local: 0 }
    }

    #[inline]
    fn local(&self, real: SimTime) -> SimTime {
        if self.rate == 1.0 && self.anchor_local == self.anchor_real as i64 {
            return real; // an unskewed clock: the common case
        }
        let elapsed = real.0 - self.anchor_real;
        let scaled = if self.rate == 1.0 { elapsed as i64 } else { (elapsed as f64 * self.rate) as i64 };
        SimTime(self.anchor_local.saturating_add(scaled).max(0) as u64)
    }

    /// Real time until a timer set for `after` on this clock fires. Timers already armed keep
    /// the deadline they got when armed, whatever the clock does later.
    fn real_delay(&self, after: SimDuration) -> SimDuration {
        if self.rate == 1.0 { after } else { SimDuration(libm::ceil(after.0 as f64 / self.rate) as u64) }
    }

    /// From `now` on, runs at its own rate times `base` times every drift, after jumping by
    /// `jump`.
    fn reset(&mut self, now: SimTime, jump: i64) {
        let local = self.local(now).0 as i64;
        self.rate = self.drifts.iter().fold(self.base * self.own, |r, d| r * d);
        self.anchor_real = now.0;
        self.anchor_local = local.saturating_add(jump);
    }
}

/// What the engine keeps per node beside the [`Cluster`]'s slot.
struct Node<P: Protocol> {
    /// What the disk held when it stopped persisting (`Fault::FreezeDisk`): `Some(None)` for
    /// an empty disk.
    frozen: Option<Option<P::Durable>>,
    status: Status,
    /// Whether it has ever been in the cluster (churn brings in fresh identities only).
    was_member: bool,
    incarnation: u32,
    /// Armed timers with the generation of their arming; a fired event with another
    /// generation is stale.
    timers: Vec<(P::Timer, u64)>,
    /// Events that arrived while paused, in arrival order.
    held: Vec<Event<P>>,
    clock: Clock,
    /// Set once the node turns Byzantine: it rewrites what it sends.
    liar: Option<Box<Liar<P::Msg>>>,
}

enum Event<P: Protocol> {
    Deliver { to: NodeId, from: NodeId, incarnation: u32, sent: SimTime, msg: P::Msg },
    Timer { node: NodeId, timer: P::Timer, generation: u64 },
    Arrival { client: u32 },
    Script(usize),
    Request { id: RequestId },
    Complete { id: RequestId, outcome: Outcome },
    Timeout { id: RequestId },
    Fault(usize),
    Settle,
    Sample,
    Autoscale,
    Byzantine,
}

/// One simulation of protocol `P`, watched by `O`.
pub struct Sim<P: Protocol, O: Observer = ()> {
    config: SimConfig,
    /// The run itself: nodes, clients, history, monitor, observer, trace hash.
    core: Cluster<P, O>,
    now: SimTime,
    queue: EventQueue<Event<P>>,
    nodes: Vec<Node<P>>,
    network: Network,
    clients_stopped: bool,
    /// Client operations since the autoscaler last looked.
    arrivals_seen: u64,
    faults: Vec<TimedFault>,
    effects: Effects<P::Msg, P::Timer, P::Note>,
    /// The event being handled, for violation reports: kind, node, sender.
    current: (TraceKind, Option<NodeId>, Option<NodeId>),
    next_generation: u64,
    records: Vec<TraceRecord>,
    /// The node timing model.
    timing: crate::timing::Timing,
    /// Replies the last handler gave, completed once its other effects are applied
    /// (completing one schedules client events, which needs the whole engine).
    replies: Vec<(RequestId, Reply)>,
    /// The draws of Byzantine nodes: who turns, their splits, which messages their lies strike.
    byz_rng: crate::rng::SimRng,
}

impl<P: Protocol, O: Observer> Sim<P, O> {
    /// Sets up a run: nodes started, clients, faults and samples scheduled.
    pub fn new(config: SimConfig, protocol: P::Config, observer: O) -> Result<Self, SimError> {
        validate(&config)?;
        let seed = config.seed;
        let network =
            Network::new(config.nodes, &config.network, Stream::Network.rng(seed)).map_err(SimError::Invalid)?;
        let faults = Cluster::<P, O>::fault_schedule(&config);
        let mut timing = crate::timing::Timing::new(&config.timing, Stream::Timing.rng(seed));
        let members = config.nodes - config.spares;
        let nodes = (0..config.nodes)
            .map(|k| Node {
                frozen: None,
                status: if k < members { Status::Up } else { Status::Absent },
                was_member: k < members,
                incarnation: 0,
                timers: Vec::new(),
                held: Vec::new(),
                clock: Clock::running_at(timing.clock_rate()),
                liar: None,
            })
            .collect();
        let mut sim = Sim {
            core: Cluster::new(&config, protocol, observer),
            now: SimTime::ZERO,
            queue: EventQueue::default(),
            nodes,
            network,
            clients_stopped: false,
            arrivals_seen: 0,
            effects: Effects::default(),
            current: (TraceKind::Fault, None, None),
            next_generation: 0,
            records: Vec::new(),
            timing,
            replies: Vec::new(),
            byz_rng: Stream::Byzantine.rng(seed),
            faults,
            config,
        };
        sim.schedule_start();
        Ok(sim)
    }

    fn schedule_start(&mut self) {
        for (i, f) in self.faults.iter().enumerate() {
            self.queue.push(f.at, Event::Fault(i));
        }
        let settle = SimTime::ZERO + self.config.duration;
        self.queue.push(settle, Event::Settle);
        for (i, s) in self.config.workload.script.iter().enumerate() {
            self.queue.push(s.at, Event::Script(i));
        }
        for c in 0..self.config.workload.clients {
            let first = self.core.clients.first_arrival(c);
            self.queue.push(SimTime::ZERO + first, Event::Arrival { client: c });
        }
        if self.config.sample_every > SimDuration::ZERO {
            // At least one sample, at the end, however long the interval.
            let first = (SimTime::ZERO + self.config.sample_every).min(self.end());
            self.queue.push(first, Event::Sample);
        }
        if let Some(a) = &self.config.autoscale {
            self.queue.push(SimTime::ZERO + a.every, Event::Autoscale);
        }
        if let Some(b) = &self.config.byzantine {
            self.queue.push(b.at, Event::Byzantine);
        }
        for k in 0..self.config.nodes - self.config.spares {
            self.call(NodeId(k), |p, ctx| p.on_start(ctx));
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The history so far.
    pub fn history(&self) -> &History {
        &self.core.history
    }

    /// Node `k`'s protocol state, unless it is crashed.
    pub fn node(&self, k: NodeId) -> Option<&P> {
        self.core.slots.get(k.index()).and_then(|n| n.state.as_ref())
    }

    /// Applies `fault` now, outside the scripted timeline (for experiments that react to what
    /// the protocol does).
    pub fn inject(&mut self, fault: Fault) {
        self.apply_fault(fault);
    }

    /// Runs `f` on node `k`'s protocol state now, as a handler with its context, if the node
    /// is up (for experiments that set up a state the protocol reaches only rarely).
    pub fn act(&mut self, k: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P>)) {
        if self.node(k).is_some() {
            self.call(k, f);
        }
    }

    /// Issues `op` to `node` now, as a scripted operation with a client of its own (for
    /// experiments that act on what the protocol does).
    pub fn submit(&mut self, node: NodeId, op: crate::history::Op) {
        let i = self.config.workload.script.len();
        self.config.workload.script.push(crate::workload::ScriptedOp { at: self.now, node, op });
        self.queue.push(self.now, Event::Script(i));
    }

    /// The protocol's invariant monitor.
    pub fn monitor(&self) -> &P::Monitor {
        &self.core.monitor
    }

    /// The invariant that broke, if one did.
    pub fn violation(&self) -> Option<&Violation> {
        self.core.violation.as_ref()
    }

    /// When the run ends: the scenario's duration plus its settle phase.
    pub fn end(&self) -> SimTime {
        SimTime::ZERO + self.config.duration + self.config.settle
    }

    /// Handles the next event; false when none is left before the end, or an invariant broke.
    pub fn step(&mut self) -> bool {
        if self.core.violation.is_some() || self.core.halted() {
            return false;
        }
        match self.queue.peek_time() {
            Some(t) if t <= self.end() => {}
            _ => return false,
        }
        let (time, event) = self.queue.pop().expect("peeked");
        self.now = time;
        self.handle(event);
        true
    }

    /// Handles every event up to and including `until`; the clock then reads `until` (or the
    /// end of the run, if sooner), so that what is injected next happens at `until`.
    pub fn run_until(&mut self, until: SimTime) {
        while self.queue.peek_time().is_some_and(|t| t <= until) && self.step() {}
        if self.core.violation.is_none() {
            self.now = self.now.max(until.min(self.end()));
        }
    }

    /// Runs to the end and returns what the run produced.
    pub fn run(self) -> RunOutput<O> {
        self.run_watched(|_, _| {})
    }

    /// Runs to the end like [`Sim::run`], telling `progress` the simulated time reached and
    /// the end, every few thousand events: for a progress bar. It sees the run and cannot
    /// change it.
    pub fn run_watched(mut self, mut progress: impl FnMut(SimTime, SimTime)) -> RunOutput<O> {
        const EVERY: u32 = 1 << 14;
        let mut countdown = EVERY;
        while self.step() {
            countdown -= 1;
            if countdown == 0 {
                countdown = EVERY;
                progress(self.now, self.end());
            }
        }
        if self.core.aborted.is_none() && self.core.violation.is_none() {
            self.now = self.end();
        } else {
            // The state the run stopped in, between two periodic samples: a second leader
            // elected by the event that broke election safety shows in the report.
            self.core.sample(self.now, &self.network.stats);
        }
        let traffic = std::mem::take(&mut self.network.traffic);
        let ending = Ending { at: self.now, net: self.network.stats, traffic, trace: self.records };
        self.core.finish(&self.config, ending)
    }

    fn handle(&mut self, event: Event<P>) {
        match event {
            Event::Deliver { to, from, incarnation, sent, msg } => {
                let node = &mut self.nodes[to.index()];
                if node.status == Status::Crashed || node.incarnation != incarnation {
                    self.network.stats.dropped_down += 1;
                    return;
                }
                if self.network.partitioned() && self.network.path_cut(from, to) {
                    self.network.stats.dropped_partition += 1;
                    return;
                }
                if node.status == Status::Paused {
                    node.held.push(Event::Deliver { to, from, incarnation, sent, msg });
                    return;
                }
                let size = bytes(&msg, &self.config.signatures);
                self.network.stats.delivered += 1;
                self.network.stats.bytes_delivered += size;
                self.network.traffic.received(to, msg.kind(), size);
                self.mark(TraceKind::Deliver, Some(to), u64::from(from.0) << 32 | size);
                msg.hash(&mut self.core.trace);
                if self.config.record_trace {
                    self.record(TraceKind::Deliver, Some(to), Some(from), Some(sent), format!("{msg:?}"));
                }
                self.current = (TraceKind::Deliver, Some(to), Some(from));
                self.call(to, |p, ctx| p.on_message(ctx, from, msg));
            }
            Event::Timer { node: k, timer, generation } => {
                let node = &mut self.nodes[k.index()];
                let Some(pos) = node.timers.iter().position(|&(t, g)| t == timer && g == generation) else {
                    return; // cancelled, re-armed or lost in a crash
                };
                if node.status == Status::Paused {
                    node.held.push(Event::Timer { node: k, timer, generation });
                    return;
                }
                node.timers.swap_remove(pos);
                self.mark(TraceKind::Timer, Some(k), generation);
                if self.config.record_trace {
                    self.record(TraceKind::Timer, Some(k), None, None, format!("{timer:?}"));
                }
                self.current = (TraceKind::Timer, Some(k), None);
                self.call(k, |p, ctx| p.on_timer(ctx, timer));
            }
            Event::Arrival { client } => self.arrival(client),
            Event::Script(i) => self.scripted(i),
            Event::Request { id } => self.request(id),
            Event::Complete { id, outcome } => self.complete(id, outcome),
            Event::Timeout { id } => {
                if self.core.history.complete(id, self.now, Outcome::Unknown) {
                    self.next_closed_loop(id);
                }
            }
            Event::Fault(i) => {
                let fault = self.faults[i].fault.clone();
                self.apply_fault(fault);
            }
            Event::Settle => self.settle(),
            Event::Autoscale => self.autoscale(),
            Event::Byzantine => self.turn_byzantine(),
            Event::Sample => {
                self.core.sample(self.now, &self.network.stats);
                let next = self.now + self.config.sample_every;
                let end = self.end();
                if next <= end {
                    self.queue.push(next, Event::Sample);
                } else if self.now < end {
                    self.queue.push(end, Event::Sample);
                }
            }
        }
    }

    /// A random client's operation arrives: record it, send it, schedule what follows.
    fn arrival(&mut self, client: u32) {
        if self.clients_stopped {
            return;
        }
        let id = RequestId(self.core.history.len() as u64);
        let (node, op) = self.core.clients.next_op_at(client, id, self.now);
        let node = self.route(node);
        self.core.history.call(client, node, op, self.now);
        self.arrivals_seen += 1;
        self.queue.push(self.now + self.config.workload.timeout, Event::Timeout { id });
        if self.core.clients.open_loop() {
            let gap = self.core.clients.gap_at(client, self.now);
            self.queue.push(self.now + gap, Event::Arrival { client });
        }
        self.send_request(id, client);
    }

    /// The node a client's request for `k` reaches: `k`, or while `k` is not in the cluster
    /// (a spare, or a node that left) or not ready (`Protocol::ready`: still catching up
    /// after it joined) the next such member after it, as a load balancer in front of an
    /// elastic cluster routes. Crashed members still get requests.
    fn route(&self, k: NodeId) -> NodeId {
        let n = self.config.nodes;
        let serves = |m: NodeId| {
            let node = &self.nodes[m.index()];
            !matches!(node.status, Status::Absent | Status::Leaving)
                && node.liar.is_none()
                && self.node(m).is_none_or(|p| p.ready())
        };
        if serves(k) {
            return k;
        }
        (1..n).map(|i| NodeId((k.0 + i) % n)).find(|&m| serves(m)).unwrap_or(k)
    }

    /// Scripted operation `i` is due: each has a client of its own, numbered after the
    /// random clients.
    fn scripted(&mut self, i: usize) {
        let script = &self.config.workload.script[i];
        let client = self.config.workload.clients + i as u32;
        let id = self.core.history.call(client, script.node, script.op.clone(), self.now);
        self.queue.push(self.now + self.config.workload.timeout, Event::Timeout { id });
        self.send_request(id, client);
    }

    /// Sends operation `id` over the client's link to its node.
    fn send_request(&mut self, id: RequestId, client: u32) {
        let delay = self.core.clients.link_delay(client);
        if delay == SimDuration::ZERO {
            self.request(id);
        } else {
            self.queue.push(self.now + delay, Event::Request { id });
        }
    }

    /// Sends the outcome of `id`, ready at `at` (when its handler is done), back over the
    /// client's link.
    fn finish(&mut self, id: RequestId, outcome: Outcome, at: SimTime) {
        let client = self.core.history.get(id).expect("recorded").client;
        let delay = self.core.clients.link_delay(client);
        if delay == SimDuration::ZERO && at == self.now {
            self.complete(id, outcome);
        } else {
            // Through the queue, so that a client that gives up meanwhile has given up.
            self.queue.push(at + delay, Event::Complete { id, outcome });
        }
    }

    /// The client learns the outcome of `id`, unless it already gave up on it.
    fn complete(&mut self, id: RequestId, outcome: Outcome) {
        if self.core.complete(id, self.now, outcome) {
            self.next_closed_loop(id);
        }
    }

    /// Hands operation `id` to its node.
    fn request(&mut self, id: RequestId) {
        let entry = self.core.history.get(id).expect("recorded");
        let (k, op): (NodeId, Op) = (entry.node, entry.op.clone());
        match self.nodes[k.index()].status {
            Status::Crashed | Status::Absent => {
                // The connection is refused: the operation certainly did not happen.
                self.finish(id, Outcome::Failed("node down".into()), self.now);
            }
            Status::Paused => self.nodes[k.index()].held.push(Event::Request { id }),
            Status::Up | Status::Leaving => {
                self.mark(TraceKind::Request, Some(k), id.0);
                op.hash(&mut self.core.trace);
                if self.config.record_trace {
                    self.record(TraceKind::Request, Some(k), None, None, format!("{id:?} {op:?}"));
                }
                self.current = (TraceKind::Request, Some(k), None);
                self.call(k, |p, ctx| p.on_request(ctx, id, op));
            }
        }
    }

    /// In closed loop, the client of `id` issues its next operation after its think time.
    fn next_closed_loop(&mut self, id: RequestId) {
        if self.core.clients.open_loop() {
            return;
        }
        let client = self.core.history.get(id).expect("recorded").client;
        if client < self.config.workload.clients {
            let gap = self.core.clients.gap(client);
            self.queue.push(self.now + gap, Event::Arrival { client });
        }
    }

    /// Calls a handler of node `k` (if it is running); the core applies its effects through
    /// the engine's [`Wire`], then the replies it gave are completed.
    fn call(&mut self, k: NodeId, handler: impl FnOnce(&mut P, &mut Ctx<'_, P>)) {
        let Sim {
            core,
            nodes,
            network,
            queue,
            now,
            next_generation,
            effects,
            current,
            replies,
            timing,
            byz_rng,
            config,
            ..
        } = self;
        let local = nodes[k.index()].clock.local(*now);
        // The handler runs at `now`; its effects take place when it is done.
        let done = *now + timing.processing();
        let signatures = config.signatures;
        let mut wire = Wire { now: done, network, queue, nodes, next_generation, replies, timing, byz_rng, signatures };
        core.call(k, *now, local, *current, effects, &mut wire, handler);
        // Rare (a draining node that is done): test before touching anything.
        if self.effects.depart {
            self.effects.depart = false;
            if self.nodes[k.index()].status == Status::Leaving {
                self.depart(k);
            }
        }
        if !self.replies.is_empty() {
            let mut replies = mem::take(&mut self.replies);
            for (id, reply) in replies.drain(..) {
                self.finish(id, reply.map_or_else(Outcome::Failed, Outcome::Ok), done);
            }
            self.replies = replies;
        }
    }

    /// The autoscaler looks: one member more above its `up` utilisation, one fewer below
    /// `down`. It stops with the clients, at the settle phase.
    fn autoscale(&mut self) {
        let Some(a) = self.config.autoscale.clone() else { return };
        if self.clients_stopped {
            return;
        }
        let members =
            self.nodes.iter().filter(|n| !matches!(n.status, Status::Absent | Status::Leaving)).count() as u32;
        let rate = mem::take(&mut self.arrivals_seen) as f64 / (a.every.as_nanos() as f64 / 1e9);
        let utilisation = rate / (f64::from(members.max(1)) * a.capacity);
        let n = self.config.nodes;
        if utilisation > a.up && members < a.max {
            // A fresh node, with an identity never used before (a new pod).
            let fresh = (0..n).map(NodeId).find(|k| {
                let node = &self.nodes[k.index()];
                node.status == Status::Absent && !node.was_member
            });
            if let Some(k) = fresh {
                self.apply_fault(Fault::Join(k));
            }
        } else if utilisation < a.down && members > a.min {
            // The newest member: spares join in id order.
            if let Some(k) = (0..n).rev().map(NodeId).find(|k| self.nodes[k.index()].status == Status::Up) {
                self.apply_fault(Fault::Leave(k));
            }
        }
        self.queue.push(self.now + a.every, Event::Autoscale);
    }

    /// The nodes the scenario names (`leader`: whoever leads now) and as many more drawn at
    /// random from the rest turn Byzantine.
    fn turn_byzantine(&mut self) {
        let Some(b) = self.config.byzantine.clone() else { return };
        let status: Vec<Status> = self.nodes.iter().map(|n| n.status).collect();
        let leader =
            crate::fault::leader(self.core.slots.iter().map(|s| s.state.as_ref().and_then(|p| p.leader_term())));
        let mut chosen: Vec<NodeId> = Vec::new();
        for t in &b.nodes {
            let k = match t {
                Target::Node(k) => Some(*k),
                Target::Leader => leader,
                Target::Rest | Target::All => None,
            };
            if let Some(k) = k.filter(|k| !chosen.contains(k)) {
                chosen.push(k);
            }
        }
        for _ in 0..b.random {
            let rest: Vec<NodeId> = (0..self.config.nodes)
                .map(NodeId)
                .filter(|k| !chosen.contains(k) && status[k.index()] != Status::Absent)
                .collect();
            if rest.is_empty() {
                break;
            }
            chosen.push(rest[below(&mut self.byz_rng, rest.len() as u64) as usize]);
        }
        for k in chosen {
            self.apply_fault(Fault::Byzantine { node: k, lies: b.lies.clone() });
        }
    }

    /// Node `k` stops for good, out of the cluster: its state and disk are gone.
    fn depart(&mut self, k: NodeId) {
        self.core.leave(self.now, k);
        let node = &mut self.nodes[k.index()];
        node.status = Status::Absent;
        node.incarnation += 1;
        node.timers.clear();
        node.held.clear();
        node.frozen = None;
    }

    fn apply_fault(&mut self, fault: Fault) {
        let n = self.config.nodes;
        self.mark(TraceKind::Fault, None, self.core.applied_faults.len() as u64);
        if self.config.record_trace {
            self.record(TraceKind::Fault, None, None, None, fault.to_string());
        }
        match &fault {
            Fault::Partition(groups) => self.network.cut(Cut::groups(n, groups)),
            Fault::Cut { from, to } => self.network.cut(Cut::directed(n, from, to)),
            Fault::Heal => self.network.heal(),
            // A draining node that crashes is gone: it was being shut down anyway.
            Fault::Crash(k) if self.nodes[k.index()].status == Status::Leaving => self.depart(*k),
            Fault::Crash(k) => {
                if self.core.crash(self.now, *k) {
                    let node = &mut self.nodes[k.index()];
                    node.status = Status::Crashed;
                    node.incarnation += 1;
                    node.timers.clear();
                    node.held.clear();
                }
            }
            Fault::Restart(k) => {
                if self.nodes[k.index()].status == Status::Crashed && self.core.restart(*k) {
                    self.nodes[k.index()].status = Status::Up;
                    self.current = (TraceKind::Fault, Some(*k), None);
                    self.call(*k, |p, ctx| p.on_start(ctx));
                }
            }
            Fault::Join(k) => {
                if self.nodes[k.index()].status == Status::Absent {
                    self.core.join(*k);
                    let node = &mut self.nodes[k.index()];
                    node.status = Status::Up;
                    node.was_member = true;
                    node.frozen = None;
                    self.current = (TraceKind::Fault, Some(*k), None);
                    self.call(*k, |p, ctx| p.on_join(ctx));
                }
            }
            Fault::Leave(k) => {
                if self.nodes[k.index()].status == Status::Up {
                    self.current = (TraceKind::Fault, Some(*k), None);
                    let mut departure = Departure::Now;
                    self.call(*k, |p, ctx| departure = p.on_leave(ctx));
                    match departure {
                        Departure::Now => self.depart(*k),
                        Departure::Drain => {
                            self.nodes[k.index()].status = Status::Leaving;
                            self.core.drain(*k);
                        }
                    }
                }
            }
            Fault::FreezeDisk(k) => {
                let (node, slot) = (&mut self.nodes[k.index()], &self.core.slots[k.index()]);
                if node.frozen.is_none() {
                    node.frozen = Some(match &slot.state {
                        Some(p) => Some(p.durable()),
                        None => slot.durable.clone(),
                    });
                }
            }
            Fault::LoseDisk(k) => {
                let was_down = self.nodes[k.index()].status == Status::Crashed;
                if !was_down {
                    self.apply_fault(Fault::Crash(*k));
                }
                self.core.slots[k.index()].durable = self.nodes[k.index()].frozen.take().flatten();
                if !was_down {
                    self.apply_fault(Fault::Restart(*k));
                }
            }
            Fault::Pause(k) => {
                let node = &mut self.nodes[k.index()];
                if node.status == Status::Up {
                    node.status = Status::Paused;
                }
            }
            Fault::Resume(k) => {
                let node = &mut self.nodes[k.index()];
                if node.status == Status::Paused {
                    node.status = Status::Up;
                    for event in mem::take(&mut node.held) {
                        self.queue.push(self.now, event);
                    }
                }
            }
            Fault::Clock { node: k, rate, jump } => {
                let clock = &mut self.nodes[k.index()].clock;
                clock.base = *rate;
                clock.reset(self.now, *jump);
            }
            Fault::Drift { node: k, factor, jump, on } => {
                let clock = &mut self.nodes[k.index()].clock;
                if *on {
                    clock.drifts.push(*factor);
                } else if let Some(i) = clock.drifts.iter().position(|d| d == factor) {
                    clock.drifts.remove(i);
                }
                clock.reset(self.now, if *on { *jump } else { 0 });
            }
            Fault::Link(change) => self.network.change(change),
            Fault::RestoreLinks => self.network.restore(),
            Fault::EndPartition(groups) => {
                self.network.uncut(&Cut::groups(n, groups));
            }
            Fault::LossBurst { loss, on } => self.network.loss_burst(*loss, *on),
            Fault::Byzantine { node: k, lies } => {
                self.nodes[k.index()].liar = Some(Box::new(Liar::new(*k, n, lies.clone(), &mut self.byz_rng)));
            }
            Fault::Churn { grow, pick, min, max } => {
                // A join while below the band's top, a leave while above its bottom; the
                // node it picks is applied (and recorded) instead.
                let members =
                    self.nodes.iter().filter(|n| !matches!(n.status, Status::Absent | Status::Leaving)).count() as u32;
                let (can_join, can_leave) = (members < *max, members > *min);
                let join = if can_join && can_leave { *grow } else { can_join };
                // An autoscaler starts a fresh node, with an identity never used before (a
                // new pod name): churn joins spares that were never members.
                let candidates: Vec<NodeId> = (0..self.config.nodes)
                    .map(NodeId)
                    .filter(|k| {
                        let node = &self.nodes[k.index()];
                        if join { node.status == Status::Absent && !node.was_member } else { node.status == Status::Up }
                    })
                    .collect();
                if (can_join || can_leave) && !candidates.is_empty() {
                    let k = candidates[(*pick % candidates.len() as u64) as usize];
                    self.apply_fault(if join { Fault::Join(k) } else { Fault::Leave(k) });
                    return;
                }
            }
            Fault::Targeted(t) => {
                // Resolved now into concrete faults, which are applied (and recorded) instead;
                // one that finds no node (no leader right now) is recorded as it was asked.
                let concrete = self.resolve(t);
                if !concrete.is_empty() {
                    for f in concrete {
                        self.apply_fault(f);
                    }
                    return;
                }
            }
        }
        self.core.applied(self.now, fault);
    }

    /// The concrete faults a targeted fault means right now.
    fn resolve(&self, t: &Targeted) -> Vec<Fault> {
        let status: Vec<Status> = self.nodes.iter().map(|n| n.status).collect();
        self.core.resolve(t, &status)
    }

    /// The settle phase: clients stop, every fault heals, and the run goes on.
    fn settle(&mut self) {
        self.clients_stopped = true;
        let core = self.settle_core();
        if self.network.partitioned() {
            self.apply_fault(Fault::Heal);
        }
        if self.network.links_changed() {
            self.apply_fault(Fault::RestoreLinks);
        }
        for k in 0..self.config.nodes {
            let clock = &mut self.nodes[k as usize].clock;
            if clock.rate != 1.0 {
                // Clocks run true again, from the reading they have reached.
                clock.base = 1.0;
                clock.drifts.clear();
                clock.reset(self.now, 0);
            }
            match self.nodes[k as usize].status {
                _ if !core[k as usize] => self.apply_fault(Fault::Crash(NodeId(k))),
                Status::Paused => self.apply_fault(Fault::Resume(NodeId(k))),
                Status::Crashed if self.config.restart_on_settle || self.config.settle_core.is_some() => {
                    self.apply_fault(Fault::Restart(NodeId(k)))
                }
                _ => {}
            }
        }
        let now = self.now;
        self.core.observer().on_settle(now);
    }

    /// Which nodes the settle phase heals: all of them, or a random core of at least
    /// `settle_core` nodes (drawn from its own stream, so the rest of the run is unchanged).
    fn settle_core(&self) -> Vec<bool> {
        let n = self.config.nodes;
        let Some(min) = self.config.settle_core else { return vec![true; n as usize] };
        let mut rng = Stream::Settle.rng(self.config.seed);
        let min = min.clamp(1, n);
        let size = min + below(&mut rng, u64::from(n - min + 1)) as u32;
        // A partial Fisher-Yates shuffle: the first `size` of a random order.
        let mut order: Vec<u32> = (0..n).collect();
        for i in 0..size as usize {
            let j = i + below(&mut rng, (n as usize - i) as u64) as usize;
            order.swap(i, j);
        }
        let mut core = vec![false; n as usize];
        order[..size as usize].iter().for_each(|&k| core[k as usize] = true);
        core
    }

    #[inline]
    fn mark(&mut self, kind: TraceKind, node: Option<NodeId>, aux: u64) {
        self.core.trace.mark(self.now, kind, node, aux);
    }

    fn record(
        &mut self,
        kind: TraceKind,
        node: Option<NodeId>,
        from: Option<NodeId>,
        sent: Option<SimTime>,
        detail: String,
    ) {
        self.records.push(TraceRecord { time: self.now, kind, node, from, sent, detail });
    }
}

/// Rejects configurations the engine cannot run, naming the problem. Other hosts of the same
/// configuration check it here too.
pub fn validate(config: &SimConfig) -> Result<(), SimError> {
    let bad = |m: String| Err(SimError::Invalid(m));
    if let Err((field, m)) = config.timing.validate() {
        return bad(format!("{field}: {m}"));
    }
    let n = config.nodes;
    if n == 0 {
        return bad("a cluster needs at least one node".into());
    }
    if let Some(c) = &config.random_faults.churn {
        if c.min == 0 || c.min > c.max || c.max > n {
            return bad(format!("churn keeps between {} and {} members: give 1 <= min <= max <= {n}", c.min, c.max));
        }
        if c.every == SimDuration::ZERO {
            return bad("churn needs a mean time between changes longer than 0s".into());
        }
    }
    if config.spares >= n {
        return bad(format!("{} spares leave no node to start the cluster with ({n} nodes)", config.spares));
    }
    let check = |k: NodeId, what: &str| {
        if k.0 >= n {
            Err(SimError::Invalid(format!("{what} names node {}, but there are only {n}", k.0)))
        } else {
            Ok(())
        }
    };
    if let Some(b) = &config.byzantine {
        for t in &b.nodes {
            if let Target::Node(k) = t {
                check(*k, "byzantine")?;
            }
        }
        // Random liars are the swarm's: at most f of 3f + 1, the most a BFT protocol tolerates.
        let f = (n - 1) / 3;
        if b.random > f {
            return bad(format!("byzantine.random draws {} liars, but {n} nodes tolerate at most f = {f}", b.random));
        }
        if !(b.lies.share > 0.0 && b.lies.share <= 1.0) {
            return bad(format!("byzantine.share is {}: give a share above 0% and at most 100%", b.lies.share));
        }
    }
    for f in &config.faults {
        match &f.fault {
            Fault::Byzantine { node, .. } => check(*node, "a fault")?,
            Fault::Partition(groups) | Fault::EndPartition(groups) => {
                groups.iter().flatten().try_for_each(|k| check(*k, "a partition"))?
            }
            Fault::Cut { from, to } => from.iter().chain(to).try_for_each(|k| check(*k, "a cut"))?,
            Fault::Crash(k)
            | Fault::Restart(k)
            | Fault::Join(k)
            | Fault::Leave(k)
            | Fault::Pause(k)
            | Fault::Resume(k)
            | Fault::FreezeDisk(k)
            | Fault::LoseDisk(k) => check(*k, "a fault")?,
            Fault::Clock { node, rate, .. } => {
                check(*node, "a clock fault")?;
                if !(rate.is_finite() && *rate > 0.0) {
                    return bad(format!("a clock rate must be positive, not {rate}"));
                }
            }
            Fault::Link(c) => {
                if let Some((a, b)) = c.between {
                    check(a, "a link change")?;
                    check(b, "a link change")?;
                }
            }
            Fault::Drift { node, factor, .. } => {
                check(*node, "a clock drift")?;
                if !(factor.is_finite() && *factor > 0.0) {
                    return bad(format!("a clock drift must be positive, not {factor}"));
                }
            }
            Fault::Heal | Fault::RestoreLinks | Fault::LossBurst { .. } | Fault::Churn { .. } => {}
            Fault::Targeted(t) => {
                let targets: Vec<Target> = match t {
                    Targeted::Crash(x) | Targeted::Restart(x) | Targeted::Pause(x) | Targeted::Resume(x) => vec![*x],
                    Targeted::Partition(gs) => gs.iter().flatten().copied().collect(),
                };
                for x in targets {
                    if let Target::Node(k) = x {
                        check(k, "a fault")?;
                    }
                }
            }
        }
    }
    let w = &config.workload;
    if w.clients > 0 && (w.mix.is_empty() || w.mix.iter().all(|(_, weight)| *weight == 0)) {
        return bad("clients need an operation mix with some positive weight".into());
    }
    if w.keys == 0 || w.elements == 0 {
        return bad("the workload needs at least one key and one set element".into());
    }
    for s in &w.script {
        check(s.node, "a scripted operation")?;
    }
    Ok(())
}

/// The engine's transport: messages through the network model onto the queue, timers onto the
/// queue by the node's clock, replies kept for the engine to complete.
struct Wire<'a, P: Protocol> {
    now: SimTime,
    network: &'a mut Network,
    queue: &'a mut EventQueue<Event<P>>,
    nodes: &'a mut [Node<P>],
    next_generation: &'a mut u64,
    replies: &'a mut Vec<(RequestId, Reply)>,
    timing: &'a mut crate::timing::Timing,
    byz_rng: &'a mut crate::rng::SimRng,
    signatures: Signatures,
}

/// The bytes `msg` takes on the wire: its own encoding, and a signature if it is signed.
#[inline(always)]
fn bytes<M: Message>(msg: &M, signatures: &Signatures) -> u64 {
    let size = msg.wire_size() as u64;
    if msg.signed() { size + u64::from(signatures.bytes) } else { size }
}

impl<P: Protocol> Wire<'_, P> {
    /// Puts `msg` on the network from `sender` to `to`, claiming to come from `claimed` (the
    /// sender, unless forged). A signed message leaves once signed and is handled once
    /// verified: both take `signatures.time`, added to its delay.
    #[inline(always)]
    fn transmit(&mut self, sender: NodeId, claimed: NodeId, to: NodeId, msg: P::Msg) {
        let (mut now, queue) = (self.now, &mut *self.queue);
        let size = bytes(&msg, &self.signatures);
        if msg.signed() {
            now += self.signatures.time;
        }
        let kind = msg.kind();
        self.network.traffic.sent(sender, to, kind, size);
        let arrivals = self.network.send(now, sender, to, size, kind);
        let incarnation = self.nodes[to.index()].incarnation;
        let deliver = |msg| Event::Deliver { to, from: claimed, incarnation, sent: now, msg };
        if let [first, rest @ ..] = arrivals.as_slice() {
            for &t in rest {
                queue.push(t, deliver(msg.clone()));
            }
            queue.push(*first, deliver(msg));
        }
    }

    /// A Byzantine node sends: its lies go out instead. A forged or altered message that is
    /// signed costs its bytes but its receiver rejects it, so it is not delivered.
    #[cold]
    #[inline(never)]
    fn lie(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        let Some(mut liar) = self.nodes[from.index()].liar.take() else { return };
        let out = liar.send(from, to, msg, self.byz_rng, &mut self.network.stats.byzantine);
        self.nodes[from.index()].liar = Some(liar);
        for o in out {
            if !o.authentic && o.msg.signed() {
                let size = bytes(&o.msg, &self.signatures);
                self.network.stats.sent += 1;
                self.network.stats.bytes_sent += size;
                self.network.traffic.sent(from, to, o.msg.kind(), size);
                self.network.stats.byzantine.rejected += 1;
                continue;
            }
            self.transmit(from, o.from, to, o.msg);
        }
    }
}

// Inlined by force into `Cluster::call` (see there why).
impl<P: Protocol> Transport<P> for Wire<'_, P> {
    #[inline(always)]
    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        if self.nodes[from.index()].liar.is_some() {
            self.lie(from, to, msg);
        } else {
            self.transmit(from, from, to, msg);
        }
    }

    #[inline(always)]
    fn set_timer(&mut self, k: NodeId, timer: P::Timer, after: SimDuration) {
        let generation = *self.next_generation;
        *self.next_generation += 1;
        let node = &mut self.nodes[k.index()];
        match node.timers.iter_mut().find(|(t, _)| *t == timer) {
            Some(slot) => slot.1 = generation,
            None => node.timers.push((timer, generation)),
        }
        let at = self.now + node.clock.real_delay(after) + self.timing.jitter();
        self.queue.push(at, Event::Timer { node: k, timer, generation });
    }

    #[inline(always)]
    fn cancel_timer(&mut self, k: NodeId, timer: P::Timer) {
        self.nodes[k.index()].timers.retain(|(t, _)| *t != timer);
    }

    #[inline(always)]
    fn reply(&mut self, _node: NodeId, id: RequestId, reply: Reply) -> bool {
        self.replies.push((id, reply));
        true
    }
}
