//! The hosted cluster, one code path for madsim and the live host: a task per node driving the
//! protocol's handlers, client tasks recording the history, and the driver applying the
//! scenario's faults, its settle phase and its samples.
//!
//! Everything the tasks share sits behind one mutex, locked only between awaits: madsim runs
//! every task on one thread in a seeded order, and the live host runs one thread too, so the
//! lock is never contended and a handler's effects are applied atomically, as in the engine.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::mem;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use madsim::net::Endpoint;
use madsim::task::spawn;
use madsim::time::{Instant, sleep, sleep_until, timeout};
use syncsim_sim::fault::{Fault, NodeStatus};
use syncsim_sim::history::Outcome;
use syncsim_sim::network::NetStats;
use syncsim_sim::trace::TraceKind;
use syncsim_sim::{
    Cluster, Ctx, Effects, Ending, Message, NodeId, Observer, Op, Protocol, Reply, RequestId, RunOutput, SimConfig,
    SimDuration, SimTime, Transport,
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

/// Everything the cluster's tasks share.
struct Shared<P: Protocol, O> {
    /// The run itself, as the engine has it: nodes, clients, history, monitor, observer.
    core: Cluster<P, O>,
    /// Where each node's current incarnation takes messages and requests (none while down).
    inboxes: Vec<Option<mpsc::UnboundedSender<Input<P>>>>,
    net: NetStats,
    /// Directed links cut now, as (from, to), with how many faults cut each: ending one
    /// partition must not heal a link another still cuts (the engine keeps a list of cuts).
    cuts: BTreeMap<(u32, u32), u32>,
    /// Requests handed to a node and not yet answered. Any node may answer (a protocol may
    /// forward), and a crash does not answer them: the client then times out, as on the engine.
    pending: BTreeMap<RequestId, oneshot::Sender<Reply>>,
    clients_stopped: bool,
    finished: bool,
}

/// The hosted cluster.
struct World<P: Protocol, O> {
    config: SimConfig,
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
    /// Encoded messages the last handler sent, for the node's task to put on the wire.
    out: Vec<(NodeId, Vec<u8>)>,
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
    let n = config.nodes;
    let settle = SimTime::ZERO + config.duration;
    let end = settle + config.settle;
    let faults = Cluster::<P, O>::fault_schedule(&config);
    let shared = Shared {
        core: Cluster::<P, O>::new(&config, protocol, observer),
        inboxes: (0..n).map(|_| None).collect(),
        net: NetStats::default(),
        cuts: BTreeMap::new(),
        pending: BTreeMap::new(),
        clients_stopped: false,
        finished: false,
    };
    let world = Arc::new(World { start: Instant::now(), fabric, shared: Mutex::new(shared), config });
    for k in (0..n).map(NodeId) {
        let w = world.clone();
        let init: NodeInit = Box::new(move || Box::pin(node_main(w.clone(), k)));
        world.fabric.start(k, init);
        if !Fabric::PUMP_PER_INCARNATION {
            match world.fabric.endpoint(k).await {
                Ok(endpoint) => {
                    (0..Fabric::RECEIVERS).for_each(|_| drop(spawn(pump(world.clone(), endpoint.clone(), k))))
                }
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
        world.sleep_until(f.at).await;
        world.apply(f.fault);
    }
    world.sleep_until(settle).await;
    world.settle();
    world.sleep_until(end).await;
    world.finish(end)
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

    /// Sleeps until run time `t`, unless it has come. (madsim never sleeps less than 1 ms, so
    /// sleeping when nothing is left to wait for would push back every fault due at once.)
    async fn sleep_until(&self, t: SimTime) {
        if self.now() < t {
            sleep_until(self.instant(t)).await;
        }
    }

    /// How long until run time `t` (zero if it has passed).
    fn until(&self, t: SimTime) -> Duration {
        self.instant(t).saturating_duration_since(Instant::now())
    }

    /// Ends the run's credibility: the report will say the run was cut short, and why.
    fn abort(&self, why: String) {
        self.lock().core.aborted.get_or_insert(why);
    }

    /// Calls a handler of node `k`, if it is up; the core applies its effects through the
    /// host's [`Wire`].
    fn call(
        &self,
        k: NodeId,
        local: &mut Local<P>,
        (kind, from): (TraceKind, Option<NodeId>),
        handler: impl FnOnce(&mut P, &mut Ctx<'_, P>),
    ) {
        let now = self.now();
        let mut guard = self.lock();
        let s = &mut *guard;
        if s.finished || s.core.halted() {
            return;
        }
        let Local { effects, timers, armed, out } = local;
        let mut wire = Wire { now, net: &mut s.net, pending: &mut s.pending, timers, armed, out, oversized: None };
        s.core.call(k, now, now, (kind, Some(k), from), effects, &mut wire, handler);
        if let Some(why) = wire.oversized {
            s.core.aborted.get_or_insert(why);
        }
    }

    /// Puts what the last handler sent on the wire, each message from its own task: a send
    /// waits (madsim holds it at least a millisecond; TCP until written), and one node's sends
    /// must neither wait for each other nor hold up its handlers. A send is never cancelled
    /// midway (the live endpoint lends the bytes to its connection task until written); under
    /// madsim, a killed node's pending sends die with it.
    fn transmit(&self, endpoint: &Endpoint, local: &mut Local<P>) {
        for (to, bytes) in local.out.drain(..) {
            let endpoint = endpoint.clone();
            let addr = self.fabric.addr(to);
            // A failed send is a lost message, as on a real network.
            spawn(async move { drop(endpoint.send_to(addr, wire::TAG, &bytes).await) });
        }
    }

    /// Node `k` handles what reached its task.
    fn handle(&self, k: NodeId, input: Input<P>, local: &mut Local<P>) {
        let now = self.now();
        match input {
            Input::Message { from, msg } => {
                {
                    let mut s = self.lock();
                    if s.core.slots[k.index()].state.is_none() {
                        return;
                    }
                    let size = msg.wire_size() as u64;
                    s.net.delivered += 1;
                    s.net.bytes_delivered += size;
                    s.core.trace.mark(now, TraceKind::Deliver, Some(k), u64::from(from.0) << 32 | size);
                    msg.hash(&mut s.core.trace);
                }
                self.call(k, local, (TraceKind::Deliver, Some(from)), |p, ctx| p.on_message(ctx, from, msg));
            }
            Input::Request { id, op, reply } => {
                {
                    let mut s = self.lock();
                    if s.core.slots[k.index()].state.is_none() {
                        return; // crashed with the request queued: the client times out
                    }
                    s.core.trace.mark(now, TraceKind::Request, Some(k), id.0);
                    op.hash(&mut s.core.trace);
                    s.pending.insert(id, reply);
                }
                self.call(k, local, (TraceKind::Request, None), |p, ctx| p.on_request(ctx, id, op));
            }
        }
    }

    /// A message from `from` reached node `k`'s endpoint.
    fn arrive(&self, k: NodeId, from: NodeId, msg: P::Msg) {
        let mut s = self.lock();
        if Fabric::FILTERS_CUTS && s.cuts.contains_key(&(from.0, k.0)) {
            s.net.dropped_partition += 1;
            return;
        }
        let handed =
            s.inboxes[k.index()].as_ref().is_some_and(|inbox| inbox.send(Input::Message { from, msg }).is_ok());
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
                for (a, b) in cuts.into_keys() {
                    self.fabric.uncut(NodeId(a), NodeId(b));
                }
            }
            Fault::EndPartition(groups) => {
                for (i, a) in groups.iter().enumerate() {
                    for (j, b) in groups.iter().enumerate() {
                        if i != j {
                            self.uncut_all(a, b);
                        }
                    }
                }
            }
            Fault::Crash(k) => self.crash(*k),
            Fault::Restart(k) => self.restart(*k),
            Fault::Targeted(t) => {
                let concrete = {
                    let s = self.lock();
                    let status = s
                        .core
                        .slots
                        .iter()
                        .map(|slot| if slot.state.is_some() { NodeStatus::Up } else { NodeStatus::Crashed })
                        .collect::<Vec<_>>();
                    s.core.resolve(t, &status)
                };
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
        let count = s.core.applied_faults.len() as u64;
        s.core.trace.mark(now, TraceKind::Fault, None, count);
        s.core.applied(now, fault);
    }

    /// Cuts every link from a node of `from` to a node of `to`.
    fn cut_all(&self, from: &[NodeId], to: &[NodeId]) {
        for &a in from {
            for &b in to.iter().filter(|&&b| b != a) {
                let count = {
                    let mut s = self.lock();
                    let count = s.cuts.entry((a.0, b.0)).or_insert(0);
                    *count += 1;
                    *count
                };
                if count == 1 {
                    self.fabric.cut(a, b);
                }
            }
        }
    }

    /// Takes back one cut of every link from a node of `from` to a node of `to`; a link
    /// another fault still cuts stays cut.
    fn uncut_all(&self, from: &[NodeId], to: &[NodeId]) {
        for &a in from {
            for &b in to.iter().filter(|&&b| b != a) {
                let healed = {
                    let mut s = self.lock();
                    match s.cuts.get_mut(&(a.0, b.0)) {
                        Some(1) => s.cuts.remove(&(a.0, b.0)).is_some(),
                        Some(count) => {
                            *count -= 1;
                            false
                        }
                        None => false,
                    }
                };
                if healed {
                    self.fabric.uncut(a, b);
                }
            }
        }
    }

    /// Node `k` crashes: what its protocol calls durable is kept, the rest is gone with its
    /// task.
    fn crash(&self, k: NodeId) {
        let now = self.now();
        {
            let mut s = self.lock();
            if !s.core.crash(now, k) {
                return;
            }
            s.inboxes[k.index()] = None;
        }
        self.fabric.kill(k);
    }

    /// Node `k` restarts from its durable state; its task calls `on_start`.
    fn restart(&self, k: NodeId) {
        if self.lock().core.restart(k) {
            self.fabric.restart(k);
        }
    }

    /// The settle phase: clients stop, cuts heal, crashed nodes restart.
    fn settle(&self) {
        let (partitioned, down) = {
            let mut s = self.lock();
            s.clients_stopped = true;
            let down: Vec<NodeId> =
                (0..self.config.nodes).map(NodeId).filter(|k| s.core.slots[k.index()].state.is_none()).collect();
            (!s.cuts.is_empty(), down)
        };
        if partitioned {
            self.apply(Fault::Heal);
        }
        if self.config.restart_on_settle {
            down.into_iter().for_each(|k| self.apply(Fault::Restart(k)));
        }
        let now = self.now();
        self.lock().core.observer().on_settle(now);
    }

    /// Samples every replica's digest and leadership for the observer.
    fn sample(&self) {
        let now = self.now();
        let mut guard = self.lock();
        let s = &mut *guard;
        s.core.sample(now, &s.net);
    }

    /// The run's end: the last sample, the final states, and everything gathered.
    fn finish(&self, end: SimTime) -> RunOutput<O> {
        if self.config.sample_every > SimDuration::ZERO {
            self.sample(); // at the end, however long the interval, as the engine does
        }
        let mut guard = self.lock();
        let s = &mut *guard;
        s.finished = true;
        let ending = Ending {
            at: end,
            net: s.net.clone(),
            traffic: syncsim_sim::traffic::Traffic::default(),
            trace: Vec::new(),
        };
        s.core.finish(&self.config, ending)
    }

    /// Hands `input` to node `k`'s task; false when the node is down.
    fn hand(&self, k: NodeId, input: Input<P>) -> bool {
        let s = self.lock();
        s.inboxes[k.index()].as_ref().is_some_and(|inbox| inbox.send(input).is_ok())
    }

    /// The client learns the outcome of `id`, unless it has given up on it.
    fn complete(&self, id: RequestId, outcome: Outcome) {
        let now = self.now();
        let mut guard = self.lock();
        let s = &mut *guard;
        if s.finished {
            return;
        }
        s.core.complete(id, now, outcome);
    }
}

/// One incarnation of node `k`: takes requests and messages from the start, binds its
/// endpoint, starts the protocol, then handles messages, requests and timers until it is killed.
async fn node_main<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>, k: NodeId) {
    let (inbox_tx, mut inbox) = mpsc::unbounded_channel();
    {
        let mut s = world.lock();
        if s.core.slots[k.index()].state.is_none() {
            return; // crashed again before this incarnation ran
        }
        // Before binding, which takes madsim a millisecond: what arrives meanwhile waits.
        s.inboxes[k.index()] = Some(inbox_tx);
    }
    let endpoint = match world.fabric.endpoint(k).await {
        Ok(e) => e,
        Err(e) => return world.abort(format!("node {k}: no endpoint: {e}")),
    };
    // Several receivers: madsim holds each received message for at least a millisecond, so
    // one receiver would cap a node at a thousand messages a second.
    let _receivers: Vec<_> = if Fabric::PUMP_PER_INCARNATION {
        (0..Fabric::RECEIVERS).map(|_| AbortOnDrop(spawn(pump(world.clone(), endpoint.clone(), k)))).collect()
    } else {
        Vec::new()
    };
    let mut local = Local { effects: Effects::default(), timers: BTreeMap::new(), armed: 0, out: Vec::new() };
    world.call(k, &mut local, (TraceKind::Fault, None), |p, ctx| p.on_start(ctx));
    world.transmit(&endpoint, &mut local);
    loop {
        let next = local.timers.iter().min_by_key(|(_, at)| **at).map(|(t, &(at, armed))| (*t, at, armed));
        let input = match next {
            Some((timer, at, armed)) if at <= world.now() => {
                local.timers.remove(&timer);
                {
                    let now = world.now();
                    world.lock().core.trace.mark(now, TraceKind::Timer, Some(k), armed);
                }
                world.call(k, &mut local, (TraceKind::Timer, None), |p, ctx| p.on_timer(ctx, timer));
                world.transmit(&endpoint, &mut local);
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
        world.transmit(&endpoint, &mut local);
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
    let first = world.lock().core.clients.first_arrival(c);
    sleep(nanos(first)).await;
    loop {
        let now = world.now();
        let (id, node, op, open_loop) = {
            let mut guard = world.lock();
            let s = &mut *guard;
            if s.clients_stopped || s.finished {
                return;
            }
            let id = RequestId(s.core.history.len() as u64);
            let (node, op) = s.core.clients.next_op_at(c, id, now);
            let recorded = s.core.history.call(c, node, op.clone(), now);
            debug_assert_eq!(recorded, id);
            (id, node, op, s.core.clients.open_loop())
        };
        let deadline = now + world.config.workload.timeout;
        if open_loop {
            spawn(request(world.clone(), c, id, node, op, deadline));
        } else {
            request(world.clone(), c, id, node, op, deadline).await;
        }
        let gap = world.lock().core.clients.gap_at(c, world.now());
        sleep(nanos(gap)).await;
    }
}

/// The scenario's scripted operations, each from a client of its own.
async fn scripted<P: Hostable, O: Observer + Send + 'static>(world: Arc<World<P, O>>) {
    let first = world.config.workload.clients;
    for (i, one) in world.config.workload.script.iter().enumerate() {
        world.sleep_until(one.at).await;
        let now = world.now();
        let c = first + i as u32;
        let id = world.lock().core.history.call(c, one.node, one.op.clone(), now);
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
        (s.core.clients.link_delay(c), s.core.clients.link_delay(c))
    } else {
        (SimDuration::ZERO, SimDuration::ZERO)
    };
    let exchange = async {
        pause(there).await;
        let (reply_tx, reply_rx) = oneshot::channel();
        let outcome = if !world.hand(node, Input::Request { id, op, reply: reply_tx }) {
            // The connection is refused: the operation certainly did not happen.
            Outcome::Failed("node down".into())
        } else {
            match reply_rx.await {
                Ok(Ok(output)) => Outcome::Ok(output),
                Ok(Err(reason)) => Outcome::Failed(reason),
                Err(_) => return None, // the run ended
            }
        };
        pause(back).await;
        Some(outcome)
    };
    match timeout(world.until(deadline), exchange).await {
        Ok(Some(outcome)) => world.complete(id, outcome),
        // No outcome in time: it may or may not have happened.
        Ok(None) | Err(_) => {
            world.sleep_until(deadline).await;
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
        world.sleep_until(next).await;
        world.sample();
        next += every;
    }
}

fn nanos(d: SimDuration) -> Duration {
    Duration::from_nanos(d.as_nanos())
}

/// Sleeps `d`, if it is at least a millisecond. Neither madsim nor tokio sleeps less (madsim
/// rounds every sleep up to 1 ms), so a shorter client latency is not slept at all: nearer the
/// truth than a millisecond. The banner says so.
async fn pause(d: SimDuration) {
    if d >= SimDuration::from_millis(1) {
        sleep(nanos(d)).await;
    }
}

/// The host's transport for one handler call: messages encoded for the node's task to put on
/// the wire, timers into the incarnation's own table, replies to the waiting clients.
struct Wire<'a, P: Protocol> {
    now: SimTime,
    net: &'a mut NetStats,
    pending: &'a mut BTreeMap<RequestId, oneshot::Sender<Reply>>,
    timers: &'a mut BTreeMap<P::Timer, (SimTime, u64)>,
    armed: &'a mut u64,
    out: &'a mut Vec<(NodeId, Vec<u8>)>,
    /// Set when a message was too large for the host to carry.
    oversized: Option<String>,
}

impl<P: Hostable> Transport<P> for Wire<'_, P> {
    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        self.net.sent += 1;
        self.net.bytes_sent += msg.wire_size() as u64;
        let bytes = wire::encode(from, &msg);
        if bytes.len() >= wire::MAX_MESSAGE {
            let why = format!(
                "node {from} sent a message of {} bytes; the host carries at most {}",
                bytes.len(),
                wire::MAX_MESSAGE
            );
            self.oversized.get_or_insert(why);
            return;
        }
        self.out.push((to, bytes));
    }

    fn set_timer(&mut self, _node: NodeId, timer: P::Timer, after: SimDuration) {
        *self.armed += 1;
        self.timers.insert(timer, (self.now + after, *self.armed));
    }

    fn cancel_timer(&mut self, _node: NodeId, timer: P::Timer) {
        self.timers.remove(&timer);
    }

    fn reply(&mut self, _node: NodeId, id: RequestId, reply: Reply) -> bool {
        // A client that gave up has dropped its end: the reply is late.
        self.pending.remove(&id).is_none_or(|client| client.send(reply).is_ok())
    }
}
