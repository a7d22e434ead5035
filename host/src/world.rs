//! The hosted cluster, one code path for madsim and the live host: a task per node driving the
//! protocol's handlers, client tasks recording the history, and the driver applying the
//! scenario's faults, its settle phase and its samples.
//!
//! Everything the tasks share sits behind one mutex, locked only between awaits: madsim runs
//! every task on one thread in a seeded order, and the live host runs one thread too, so the
//! lock is never contended and a handler's effects are applied atomically, as in the engine.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use madsim::net::Endpoint;
use madsim::task::spawn;
use madsim::time::{Instant, sleep, sleep_until, timeout};
use syncsim_sim::fault::{Fault, NodeStatus};
use syncsim_sim::history::Outcome;
use syncsim_sim::monitor::Monitor;
use syncsim_sim::network::NetStats;
use syncsim_sim::rng::Stream;
use syncsim_sim::trace::{StableHasher, TraceKind};
use syncsim_sim::workload::Clients;
use syncsim_sim::{
    Ctx, Effects, History, Message, NodeId, Observer, Op, Protocol, Reply, RequestId, RunOutput, Sample, SimConfig,
    SimDuration, SimRng, SimTime, TimerOp, Violation,
};
use tokio::sync::{mpsc, oneshot};

use crate::fabric::{Fabric, NodeInit};
use crate::{HostError, Hostable, wire};

/// The engine's checks of a configuration, which every host applies too.
pub fn validate(config: &SimConfig) -> Result<(), HostError> {
    syncsim_sim::engine::validate(config).map_err(|e| HostError::Invalid(e.to_string()))
}

/// What reaches a node's task.
enum Input<P: Protocol> {
    Message { from: NodeId, msg: P::Msg },
    Request { id: RequestId, op: Op, reply: oneshot::Sender<Reply> },
}

/// A node as the cluster knows it: its state while up, what survives its crashes.
struct Slot<P: Protocol> {
    state: Option<P>,
    durable: Option<P::Durable>,
    /// The node's own random stream; it goes on across restarts, as in the engine.
    rng: SimRng,
    /// Where its current incarnation takes messages and requests (none while down).
    inbox: Option<mpsc::UnboundedSender<Input<P>>>,
}

/// Everything the cluster's tasks share.
struct Shared<P: Protocol, O> {
    slots: Vec<Slot<P>>,
    history: History,
    clients: Clients,
    observer: Option<O>,
    monitor: P::Monitor,
    violation: Option<Violation>,
    net: NetStats,
    trace: StableHasher,
    handler_calls: u64,
    late_replies: u64,
    faults: Vec<(SimTime, Fault)>,
    /// Directed links cut now, as (from, to).
    cuts: BTreeSet<(u32, u32)>,
    clients_stopped: bool,
    aborted: Option<String>,
    finished: bool,
}

/// The hosted cluster.
struct World<P: Protocol, O> {
    config: SimConfig,
    protocol: P::Config,
    start: Instant,
    fabric: Fabric,
    shared: Mutex<Shared<P, O>>,
}

/// A node incarnation's own bookkeeping, lost when it crashes.
struct Local<P: Protocol> {
    effects: Effects<P::Msg, P::Timer, P::Note>,
    /// Armed timers: deadline and arming order (which breaks ties, as the engine's queue does).
    timers: BTreeMap<P::Timer, (SimTime, u64)>,
    armed: u64,
    /// Requests awaiting the protocol's reply.
    pending: BTreeMap<RequestId, oneshot::Sender<Reply>>,
    outbox: mpsc::UnboundedSender<(NodeId, Vec<u8>)>,
}

/// Aborts a helper task when its node's task ends or is stopped.
struct AbortOnDrop<T>(madsim::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the whole scenario on `fabric` and returns what the engine would: the history, the
/// observer, message counts, final states.
pub async fn drive_on<P: Hostable, O: Observer + Send + 'static>(
    config: SimConfig,
    protocol: P::Config,
    observer: O,
    fabric: Fabric,
) -> RunOutput<O> {
    let seed = config.seed;
    let n = config.nodes;
    let settle = SimTime::ZERO + config.duration;
    let end = settle + config.settle;
    let mut faults = config.faults.clone();
    faults.extend(config.random_faults.draw(n, settle, &mut Stream::Faults.rng(seed), &config.faults));
    faults.sort_by_key(|f| f.at); // stable: scripted faults first among equals
    let shared = Shared {
        slots: (0..n)
            .map(|k| Slot {
                state: Some(P::new(NodeId(k), &protocol, None)),
                durable: None,
                rng: Stream::Node(k).rng(seed),
                inbox: None,
            })
            .collect(),
        history: History::new(),
        clients: Clients::new(&config.workload, n, seed),
        observer: Some(observer),
        monitor: P::monitor(&protocol, n),
        violation: None,
        net: NetStats::default(),
        trace: StableHasher::default(),
        handler_calls: 0,
        late_replies: 0,
        faults: Vec::new(),
        cuts: BTreeSet::new(),
        clients_stopped: false,
        aborted: None,
        finished: false,
    };
    let world = Arc::new(World { start: Instant::now(), fabric, shared: Mutex::new(shared), protocol, config });
    for k in (0..n).map(NodeId) {
        let w = world.clone();
        let init: NodeInit = Box::new(move || Box::pin(node_main(w.clone(), k)));
        world.fabric.start(k, init);
        if !Fabric::PUMP_PER_INCARNATION {
            match world.fabric.endpoint(k).await {
                Ok(endpoint) => drop(spawn(pump(world.clone(), endpoint, k))),
                Err(e) => world.abort(format!("node {k}: no endpoint: {e}")),
            }
        }
    }
    for c in 0..world.config.workload.clients {
        spawn(client(world.clone(), c));
    }
    spawn(scripted(world.clone()));
    spawn(sampler(world.clone(), end));
    for f in faults {
        sleep_until(world.instant(f.at)).await;
        world.apply(f.fault);
    }
    sleep_until(world.instant(settle)).await;
    world.settle();
    sleep_until(world.instant(end)).await;
    world.finish(settle, end)
}

impl<P: Hostable, O: Observer + Send + 'static> World<P, O> {
    fn lock(&self) -> MutexGuard<'_, Shared<P, O>> {
        self.shared.lock().expect("a host task panicked while holding the cluster")
    }

    /// Time since the run began, on the host's clock (madsim's virtual one, or the wall clock).
    fn now(&self) -> SimTime {
        SimTime(Instant::now().duration_since(self.start).as_nanos() as u64)
    }

    /// The host clock's reading at run time `t`.
    fn instant(&self, t: SimTime) -> Instant {
        self.start + Duration::from_nanos(t.0)
    }

    /// How long until run time `t` (zero if it has passed).
    fn until(&self, t: SimTime) -> Duration {
        self.instant(t).saturating_duration_since(Instant::now())
    }

    /// Ends the run's credibility: the report will say the run was cut short, and why.
    fn abort(&self, why: String) {
        self.lock().aborted.get_or_insert(why);
    }

    /// Calls a handler of node `k`, if it is up, and applies its effects.
    fn call(
        &self,
        k: NodeId,
        local: &mut Local<P>,
        event: (TraceKind, Option<NodeId>),
        handler: impl FnOnce(&mut P, &mut Ctx<'_, P>),
    ) {
        let now = self.now();
        let n = self.config.nodes;
        let mut guard = self.lock();
        let s = &mut *guard;
        if s.finished {
            return;
        }
        let slot = &mut s.slots[k.index()];
        let Some(state) = slot.state.as_mut() else { return };
        let mut ctx = Ctx::new(now, k, n, &mut slot.rng, &mut local.effects);
        handler(state, &mut ctx);
        s.handler_calls += 1;
        for (to, msg) in local.effects.sends.drain(..) {
            assert!(to.0 < n, "protocol bug: {k} sent to {to}, which does not exist");
            s.net.sent += 1;
            s.net.bytes_sent += msg.wire_size() as u64;
            let _ = local.outbox.send((to, wire::encode(k, &msg)));
        }
        for op in local.effects.timers.drain(..) {
            match op {
                TimerOp::Set(timer, after) => {
                    local.armed += 1;
                    local.timers.insert(timer, (now + after, local.armed));
                }
                TimerOp::Cancel(timer) => {
                    local.timers.remove(&timer);
                }
            }
        }
        for (id, reply) in local.effects.replies.drain(..) {
            s.trace.mark(now, TraceKind::Reply, Some(k), id.0);
            if let Some(client) = local.pending.remove(&id) {
                let _ = client.send(reply);
            }
        }
        if let Some(observer) = s.observer.as_mut() {
            for exposure in local.effects.exposures.drain(..) {
                observer.on_expose(now, k, &exposure);
            }
        }
        for note in local.effects.notes.drain(..) {
            if let Err(message) = s.monitor.observe(now, k, &note)
                && s.violation.is_none()
            {
                let (kind, from) = event;
                let from = from.map_or("-".to_string(), |f| f.0.to_string());
                let event = format!("{kind:?} at node {} from {from} at {now}", k.0);
                s.violation = Some(Violation { time: now, node: k, message, event });
            }
        }
    }

    /// Node `k` handles what reached its task.
    fn handle(&self, k: NodeId, input: Input<P>, local: &mut Local<P>) {
        let now = self.now();
        match input {
            Input::Message { from, msg } => {
                {
                    let mut s = self.lock();
                    if s.slots[k.index()].state.is_none() {
                        return;
                    }
                    let size = msg.wire_size() as u64;
                    s.net.delivered += 1;
                    s.net.bytes_delivered += size;
                    s.trace.mark(now, TraceKind::Deliver, Some(k), u64::from(from.0) << 32 | size);
                    msg.hash(&mut s.trace);
                }
                self.call(k, local, (TraceKind::Deliver, Some(from)), |p, ctx| p.on_message(ctx, from, msg));
            }
            Input::Request { id, op, reply } => {
                {
                    let mut s = self.lock();
                    s.trace.mark(now, TraceKind::Request, Some(k), id.0);
                    op.hash(&mut s.trace);
                }
                local.pending.insert(id, reply);
                self.call(k, local, (TraceKind::Request, None), |p, ctx| p.on_request(ctx, id, op));
            }
        }
    }

    /// A message from `from` reached node `k`'s endpoint.
    fn arrive(&self, k: NodeId, from: NodeId, msg: P::Msg) {
        let mut s = self.lock();
        if Fabric::FILTERS_CUTS && s.cuts.contains(&(from.0, k.0)) {
            s.net.dropped_partition += 1;
            return;
        }
        let handed =
            s.slots[k.index()].inbox.as_ref().is_some_and(|inbox| inbox.send(Input::Message { from, msg }).is_ok());
        if !handed {
            s.net.dropped_down += 1;
        }
    }

    /// Applies `fault` now.
    fn apply(&self, fault: Fault) {
        let now = self.now();
        match &fault {
            Fault::Partition(groups) => {
                for (i, a) in groups.iter().enumerate() {
                    for (j, b) in groups.iter().enumerate() {
                        if i != j {
                            self.cut_all(a, b);
                        }
                    }
                }
            }
            Fault::Cut { from, to } => self.cut_all(from, to),
            Fault::Heal => {
                let cuts = mem::take(&mut self.lock().cuts);
                for (a, b) in cuts {
                    self.fabric.uncut(NodeId(a), NodeId(b));
                }
            }
            Fault::EndPartition(groups) => {
                for (i, a) in groups.iter().enumerate() {
                    for b in groups.iter().skip(i + 1) {
                        for (&x, &y) in a.iter().flat_map(|x| b.iter().map(move |y| (x, y))) {
                            for (p, q) in [(x, y), (y, x)] {
                                if self.lock().cuts.remove(&(p.0, q.0)) {
                                    self.fabric.uncut(p, q);
                                }
                            }
                        }
                    }
                }
            }
            Fault::Crash(k) => self.crash(*k),
            Fault::Restart(k) => self.restart(*k),
            Fault::Targeted(t) => {
                let (leader, status) = {
                    let s = self.lock();
                    let terms = s.slots.iter().map(|slot| slot.state.as_ref().and_then(|p| p.leader_term()));
                    let leader = syncsim_sim::fault::leader(terms);
                    let status = s
                        .slots
                        .iter()
                        .map(|slot| if slot.state.is_some() { NodeStatus::Up } else { NodeStatus::Crashed })
                        .collect::<Vec<_>>();
                    (leader, status)
                };
                let concrete = t.resolve(leader, &status);
                if !concrete.is_empty() {
                    // Recorded as the concrete faults, as the engine does.
                    concrete.into_iter().for_each(|f| self.apply(f));
                    return;
                }
            }
            other => unreachable!("the support check refuses `{other}`"),
        }
        let mut guard = self.lock();
        let s = &mut *guard;
        let count = s.faults.len() as u64;
        s.trace.mark(now, TraceKind::Fault, None, count);
        if let Some(observer) = s.observer.as_mut() {
            observer.on_fault(now, &fault);
        }
        s.faults.push((now, fault));
    }

    /// Cuts every link from a node of `from` to a node of `to`.
    fn cut_all(&self, from: &[NodeId], to: &[NodeId]) {
        for &a in from {
            for &b in to.iter().filter(|&&b| b != a) {
                if self.lock().cuts.insert((a.0, b.0)) {
                    self.fabric.cut(a, b);
                }
            }
        }
    }

    /// Node `k` crashes: what its protocol calls durable is kept, the rest is gone with its
    /// task.
    fn crash(&self, k: NodeId) {
        let now = self.now();
        {
            let mut guard = self.lock();
            let s = &mut *guard;
            let slot = &mut s.slots[k.index()];
            let Some(state) = slot.state.take() else { return };
            slot.durable = Some(state.durable());
            slot.inbox = None;
            s.monitor.crashed(now, k);
        }
        self.fabric.kill(k);
    }

    /// Node `k` restarts from its durable state; its task calls `on_start`.
    fn restart(&self, k: NodeId) {
        {
            let mut s = self.lock();
            let slot = &mut s.slots[k.index()];
            if slot.state.is_some() {
                return;
            }
            slot.state = Some(P::new(k, &self.protocol, slot.durable.take()));
        }
        self.fabric.restart(k);
    }

    /// The settle phase: clients stop, cuts heal, crashed nodes restart.
    fn settle(&self) {
        let (partitioned, down) = {
            let mut s = self.lock();
            s.clients_stopped = true;
            let down: Vec<NodeId> =
                (0..self.config.nodes).map(NodeId).filter(|k| s.slots[k.index()].state.is_none()).collect();
            (!s.cuts.is_empty(), down)
        };
        if partitioned {
            self.apply(Fault::Heal);
        }
        if self.config.restart_on_settle {
            down.into_iter().for_each(|k| self.apply(Fault::Restart(k)));
        }
        let now = self.now();
        if let Some(observer) = self.lock().observer.as_mut() {
            observer.on_settle(now);
        }
    }

    /// Samples every replica's digest and leadership for the observer.
    fn sample(&self) {
        let now = self.now();
        let mut guard = self.lock();
        let s = &mut *guard;
        let digests: Vec<Option<u64>> = s.slots.iter().map(|x| x.state.as_ref().map(|p| p.state_digest())).collect();
        let leaders: Vec<Option<u64>> =
            s.slots.iter().map(|x| x.state.as_ref().and_then(|p| p.leader_term())).collect();
        let sample =
            Sample { digests: &digests, leaders: &leaders, messages_sent: s.net.sent, bytes_sent: s.net.bytes_sent };
        if let Some(observer) = s.observer.as_mut() {
            observer.on_sample(now, &sample);
        }
    }

    /// The run's end: the last sample, the final states, and everything gathered.
    fn finish(&self, settle_start: SimTime, end: SimTime) -> RunOutput<O> {
        self.sample();
        let mut guard = self.lock();
        let s = &mut *guard;
        s.finished = true;
        s.history.close();
        let final_digests = s.slots.iter().map(|x| x.state.as_ref().map(|p| p.state_digest())).collect();
        let final_reads = s.slots.iter().map(|x| x.state.as_ref().map(|p| p.read_state())).collect();
        RunOutput {
            seed: self.config.seed,
            history: mem::take(&mut s.history),
            net: s.net.clone(),
            trace_hash: std::hash::Hasher::finish(&s.trace),
            events: s.handler_calls,
            handler_calls: s.handler_calls,
            settle_start,
            end,
            final_digests,
            final_reads,
            faults: mem::take(&mut s.faults),
            late_replies: s.late_replies,
            trace: Vec::new(),
            aborted: s.aborted.take(),
            violation: s.violation.take(),
            protocol_metrics: s.monitor.metrics(end),
            observer: s.observer.take().expect("the run finishes once"),
        }
    }

    /// Hands `input` to node `k`'s task; false when the node is down.
    fn hand(&self, k: NodeId, input: Input<P>) -> bool {
        let s = self.lock();
        s.slots[k.index()].inbox.as_ref().is_some_and(|inbox| inbox.send(input).is_ok())
    }

    /// The client learns the outcome of `id`, unless it has given up on it.
    fn complete(&self, id: RequestId, outcome: Outcome) {
        let now = self.now();
        let mut guard = self.lock();
        let s = &mut *guard;
        if s.finished {
            return;
        }
        let entry = s.history.get(id).expect("recorded");
        if entry.outcome == Outcome::Pending {
            let (client, op) = (entry.client, entry.op.clone());
            s.clients.learn(client, &op, &outcome);
        }
        if !s.history.complete(id, now, outcome) {
            s.late_replies += 1;
        }
    }
}

/// One incarnation of node `k`: binds its endpoint, starts the protocol, then handles messages,
/// requests and timers until it is killed.
async fn node_main<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>, k: NodeId) {
    let endpoint = match world.fabric.endpoint(k).await {
        Ok(e) => e,
        Err(e) => return world.abort(format!("node {k}: no endpoint: {e}")),
    };
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel();
    let (outbox_tx, outbox_rx) = mpsc::unbounded_channel();
    let _outbox = AbortOnDrop(spawn(outbox(world.clone(), endpoint.clone(), outbox_rx)));
    let _pump = Fabric::PUMP_PER_INCARNATION.then(|| AbortOnDrop(spawn(pump(world.clone(), endpoint, k))));
    {
        let mut s = world.lock();
        let slot = &mut s.slots[k.index()];
        if slot.state.is_none() {
            return; // crashed again before this incarnation ran
        }
        slot.inbox = Some(inbox_tx);
    }
    let mut local = Local {
        effects: Effects::default(),
        timers: BTreeMap::new(),
        armed: 0,
        pending: BTreeMap::new(),
        outbox: outbox_tx,
    };
    world.call(k, &mut local, (TraceKind::Fault, None), |p, ctx| p.on_start(ctx));
    loop {
        let next = local.timers.iter().min_by_key(|(_, at)| **at).map(|(t, &(at, armed))| (*t, at, armed));
        let input = match next {
            Some((timer, at, armed)) if at <= world.now() => {
                local.timers.remove(&timer);
                {
                    let now = world.now();
                    world.lock().trace.mark(now, TraceKind::Timer, Some(k), armed);
                }
                world.call(k, &mut local, (TraceKind::Timer, None), |p, ctx| p.on_timer(ctx, timer));
                continue;
            }
            Some((_, at, _)) => match timeout(world.until(at), inbox.recv()).await {
                Ok(Some(input)) => input,
                Ok(None) => return,
                Err(_) => continue, // a timer is due
            },
            None => match inbox.recv().await {
                Some(input) => input,
                None => return,
            },
        };
        world.handle(k, input, &mut local);
    }
}

/// Sends what node `k`'s handlers sent, in order, through its endpoint.
async fn outbox<P: Hostable, O: Observer + Send + 'static>(
    world: Arc<World<P, O>>,
    endpoint: Endpoint,
    mut queue: mpsc::UnboundedReceiver<(NodeId, Vec<u8>)>,
) {
    while let Some((to, bytes)) = queue.recv().await {
        // A send fails only when the network is down for this node; the message is lost, as
        // it would be on a real network.
        let _ = endpoint.send_to(world.fabric.addr(to), wire::TAG, &bytes).await;
    }
}

/// Receives node `k`'s messages from its endpoint and hands them to its current incarnation.
async fn pump<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>, endpoint: Endpoint, k: NodeId) {
    let mut buf = vec![0u8; wire::MAX_MESSAGE];
    loop {
        let Ok((len, _)) = endpoint.recv_from(wire::TAG, &mut buf).await else { return };
        match wire::decode::<P::Msg>(&buf, len) {
            Ok((from, msg)) => world.arrive(k, from, msg),
            Err(e) => world.abort(format!("node {k}: {e}")),
        }
    }
}

/// Random client `c`: issues operations at its arrival times until the settle phase.
async fn client<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>, c: u32) {
    let first = world.lock().clients.first_arrival(c);
    sleep(nanos(first)).await;
    loop {
        let now = world.now();
        let (id, node, op, open_loop) = {
            let mut guard = world.lock();
            let s = &mut *guard;
            if s.clients_stopped || s.finished {
                return;
            }
            let id = RequestId(s.history.len() as u64);
            let (node, op) = s.clients.next_op(c, id);
            let recorded = s.history.call(c, node, op.clone(), now);
            debug_assert_eq!(recorded, id);
            (id, node, op, s.clients.open_loop())
        };
        let deadline = now + world.config.workload.timeout;
        if open_loop {
            spawn(request(world.clone(), c, id, node, op, deadline));
        } else {
            request(world.clone(), c, id, node, op, deadline).await;
        }
        let gap = world.lock().clients.gap(c);
        sleep(nanos(gap)).await;
    }
}

/// The scenario's scripted operations, each from a client of its own.
async fn scripted<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>) {
    let first = world.config.workload.clients;
    for (i, one) in world.config.workload.script.iter().enumerate() {
        sleep_until(world.instant(one.at)).await;
        let now = world.now();
        let c = first + i as u32;
        let id = world.lock().history.call(c, one.node, one.op.clone(), now);
        let deadline = now + world.config.workload.timeout;
        spawn(request(world.clone(), c, id, one.node, one.op.clone(), deadline));
    }
}

/// Operation `id` of client `c`: over the client's link to `node`, and its outcome back;
/// unknown if no outcome is back by `deadline`.
async fn request<P: Hostable, O: Observer + Send + 'static>(
    world: Arc<World<P, O>>,
    c: u32,
    id: RequestId,
    node: NodeId,
    op: Op,
    deadline: SimTime,
) {
    let (there, back) = if Fabric::CLIENT_LATENCY {
        let mut s = world.lock();
        (s.clients.link_delay(c), s.clients.link_delay(c))
    } else {
        (SimDuration::ZERO, SimDuration::ZERO)
    };
    let exchange = async {
        if there > SimDuration::ZERO {
            sleep(nanos(there)).await;
        }
        let (reply_tx, reply_rx) = oneshot::channel();
        let outcome = if !world.hand(node, Input::Request { id, op, reply: reply_tx }) {
            // The connection is refused: the operation certainly did not happen.
            Outcome::Failed("node down".into())
        } else {
            match reply_rx.await {
                Ok(Ok(output)) => Outcome::Ok(output),
                Ok(Err(reason)) => Outcome::Failed(reason),
                // The node crashed holding the request: it may or may not have happened.
                Err(_) => return None,
            }
        };
        if back > SimDuration::ZERO {
            sleep(nanos(back)).await;
        }
        Some(outcome)
    };
    match timeout(world.until(deadline), exchange).await {
        Ok(Some(outcome)) => world.complete(id, outcome),
        Ok(None) | Err(_) => {
            sleep_until(world.instant(deadline)).await;
            world.complete(id, Outcome::Unknown);
        }
    }
}

/// Samples the cluster every `sample_every` until the end (which `finish` samples).
async fn sampler<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>, end: SimTime) {
    let every = world.config.sample_every;
    if every == SimDuration::ZERO {
        return;
    }
    let mut next = SimTime::ZERO + every;
    while next < end {
        sleep_until(world.instant(next)).await;
        world.sample();
        next += every;
    }
}

fn nanos(d: SimDuration) -> Duration {
    Duration::from_nanos(d.as_nanos())
}
