//! The annealing sync scheduler (`kind: anneal-sync`): gossip's last-writer-wins store, with
//! the anti-entropy pairs of each round chosen by a scheduler instead of at random.
//!
//! - Every round each node sends the scheduler what changed in its digest since the last
//!   report the scheduler acknowledged, and the round trips it measured to its peers (one ping a
//!   round, peers in turn). The scheduler knows replicas only through these messages.
//! - Every round the scheduler builds the pair-selection problem ([`plan`]) over the replicas it
//!   heard from lately, solves it by the configured [`Policy`], and sends every such node its
//!   assignment: the peers it opens a push-pull exchange with. The assignment also acknowledges
//!   the node's latest report that the scheduler holds in full.
//! - A node that has heard no assignment for `fallback` rounds (the scheduler is down or cut
//!   off) push-pulls with random peers until it hears one again.
//! - `policy: random` is the baseline in the same code path: no scheduler, random push-pull.
//!
//! Digests only grow (a key's version never falls), so the scheduler merges reports by taking
//! the larger version per key: a late or repeated report never takes knowledge away. A
//! restarted scheduler draws a new epoch; a node that sees a new epoch reports in full.

pub mod plan;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_sim::history::{OpKind, Output};
use syncsim_sim::rng::below;
use syncsim_sim::units::Bandwidth;
use syncsim_sim::{
    Consistency, Ctx, Family, Key, Launch, Load, Message, Monitor, NodeId, Op, Param, ParamError, Protocol,
    ProtocolInfo, ProtocolMetrics, RequestId, SimDuration, SimTime,
};

use crate::anneal::Solver;
use crate::gossip::predict::{Rates, spread_time};
use crate::gossip::{Digest, GossipMsg, Store, Version, ahead, anti_entropy};
use crate::planted::{Planted, planted_bugs};
pub use plan::{Limits, Policy, Prices};

/// Parameters from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedConfig {
    /// `anneal`, `greedy`, `exact` or `random`.
    pub policy: Policy,
    /// The annealer for `policy: anneal`: `sa`, `sqa`, `bsb` (or `sb`) or `dsb`.
    pub solver: Solver,
    /// Annealing reads per round.
    pub reads: u32,
    /// Annealing sweeps (steps for simulated bifurcation) per read.
    pub sweeps: u32,
    /// Time between rounds.
    pub interval: SimDuration,
    /// The node that schedules (its name; default: the first node).
    pub scheduler: Option<String>,
    /// The scheduler's index, resolved from `scheduler` by the scenario.
    #[serde(skip)]
    pub scheduler_id: u32,
    /// Exchanges a node takes part in per round, at most.
    pub degree: u32,
    /// Bandwidth a node's exchanges may use: with `interval`, the bytes per round it may send
    /// and receive, and the rate that prices an exchange's bytes.
    pub bandwidth: Bandwidth,
    /// Candidate partners per node: its best pairs by weight.
    pub candidates: u32,
    /// Peers per round under random push-pull (the `random` policy and the fallback).
    pub fanout: u32,
    /// Rounds without an assignment before a node falls back to random push-pull.
    pub fallback: u32,
    /// What an update is worth to the scheduler: `updates` (each the same) or `reads` (the
    /// reads its receiver is expected to make of the key soon, learned from the nodes' reports,
    /// plus one: the predictive policy's estimate as weights).
    pub weights: Weights,
    /// With `weights: reads`: the half-life of the read-rate estimates.
    pub half_life: SimDuration,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

planted_bugs! {
    /// The annealing scheduler's planted bugs (see [`crate::planted`]).
    pub enum Bug {
        /// The scheduler updates its view of a pair as soon as it assigns the exchange,
        /// trusting that it happened, instead of waiting for the replicas' next reports: an
        /// exchange lost to the network leaves the view saying the two agree, and the
        /// scheduler never pairs them for those keys again (a view trusted ahead of its
        /// evidence, as in anti-entropy schedulers that track "sent" for "delivered").
        AssumeExchanged = "assume-exchanged",
    }
}

impl Default for SchedConfig {
    fn default() -> Self {
        SchedConfig {
            policy: Policy::Anneal,
            solver: Solver::Sa,
            reads: 16,
            sweeps: 400,
            interval: SimDuration::from_millis(200),
            scheduler: None,
            scheduler_id: 0,
            degree: 2,
            bandwidth: Bandwidth::bytes_per_sec(1_250_000).expect("positive"),
            candidates: 4,
            fanout: 1,
            fallback: 2,
            weights: Weights::Updates,
            half_life: SimDuration::from_secs(5),
            bug: Bug::None,
        }
    }
}

impl SchedConfig {
    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let positive = [
            ("reads", self.reads),
            ("sweeps", self.sweeps),
            ("degree", self.degree),
            ("candidates", self.candidates),
            ("fanout", self.fanout),
            ("fallback", self.fallback),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err((field.to_string(), format!("`{field}` must be at least 1")));
        }
        if self.interval == SimDuration::ZERO {
            return Err(("interval".into(), "the round interval must be positive".into()));
        }
        if self.half_life == SimDuration::ZERO {
            return Err(("half_life".into(), "the half-life must be longer than 0s".into()));
        }
        self.bug.check()
    }

    /// Prices and limits of one round.
    fn prices_and_limits(&self) -> (Prices, Limits) {
        let bandwidth = self.bandwidth.get() as f64;
        let prices = Prices {
            digest_entry: (wire::KEY + wire::VERSION) as f64,
            update: wire::UPDATE as f64,
            want: wire::KEY as f64,
            // Three messages: a digest, updates with the keys wanted, the updates wanted.
            fixed: (3 * wire::TAG + 1 + 8 + wire::LEN + 4 * wire::LEN) as f64,
            bandwidth,
            // An exchange takes one of a node's `degree` slots for the whole round, however
            // fast its link: pricing it below a round favoured near pairs so much that updates
            // crossed regions late (visibility p99 +35% on anneal-vs-gossip without the floor).
            floor: self.interval.as_secs_f64(),
        };
        (prices, Limits { degree: self.degree, bytes: bandwidth * self.interval.as_secs_f64() })
    }
}

/// What the scheduler values an update at.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weights {
    /// Every update alike.
    Updates,
    /// One plus the reads its receiver is expected to make of the key before anti-entropy would
    /// bring it anyway.
    Reads,
}

/// Sizes of the encoded fields: gossip's, plus node ids and 8-byte words.
mod wire {
    pub use crate::gossip::wire::*;
    pub const NODE: usize = 4;
    pub const WORD: usize = 8;
}

/// Node to scheduler: what changed since the acknowledged report `base` (0: everything).
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub struct Report {
    /// The scheduler epoch the node last heard (0: none).
    pub epoch: u64,
    /// This report's number.
    pub seq: u64,
    /// The report its changes are relative to.
    pub base: u64,
    /// Per-key versions newer than in `base`.
    pub changes: Vec<(Key, Version)>,
    /// Round trips measured since the last report, microseconds.
    pub rtts: Vec<(u32, u32)>,
}

/// Messages between nodes and the scheduler.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum SchedMsg {
    /// An anti-entropy exchange (gossip's `Digest` and `Updates`).
    Exchange(GossipMsg),
    /// Node to scheduler: its digest's changes and its round trips.
    Report(Report),
    /// Scheduler to node: this round's partners, and the acknowledgement of its reports.
    Assign {
        /// The scheduler's epoch.
        epoch: u64,
        /// The node's latest report the scheduler holds in full (0: none).
        ack: u64,
        /// Peers the node opens a push-pull exchange with.
        peers: Vec<NodeId>,
    },
    /// Node to scheduler, with `weights: reads`: how often its clients read each key since its
    /// last round.
    Reads(Vec<(Key, u32)>),
    /// A round-trip probe, carrying the sender's clock.
    Ping(SimTime),
    /// The probe's echo.
    Pong(SimTime),
}

impl Message for SchedMsg {
    fn wire_size(&self) -> usize {
        use wire::*;
        match self {
            SchedMsg::Exchange(m) => m.wire_size(),
            SchedMsg::Report(Report { changes, rtts, .. }) => {
                TAG + 3 * WORD + 2 * LEN + changes.len() * (KEY + VERSION) + rtts.len() * (NODE + 4)
            }
            SchedMsg::Assign { peers, .. } => TAG + 2 * WORD + LEN + peers.len() * NODE,
            SchedMsg::Reads(counts) => TAG + LEN + counts.len() * (KEY + 4),
            SchedMsg::Ping(_) | SchedMsg::Pong(_) => TAG + WORD,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            SchedMsg::Exchange(m) => m.kind(),
            SchedMsg::Report(_) => "Report",
            SchedMsg::Assign { .. } => "Assign",
            SchedMsg::Reads(_) => "Reads",
            SchedMsg::Ping(_) => "Ping",
            SchedMsg::Pong(_) => "Pong",
        }
    }
}

/// Timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SchedTimer {
    /// The node's round (and, at the scheduler, its planning).
    Round,
}

/// Facts for the monitor, which counts them into the report's protocol metrics.
#[derive(Clone, Debug, PartialEq)]
pub enum SchedNote {
    /// The scheduler planned a round.
    Planned {
        /// Replicas it planned for.
        replicas: u32,
        /// Candidate pairs.
        candidates: u32,
        /// Pairs chosen.
        pairs: u32,
        /// Pairs dropped to repair a broken limit.
        repaired: u32,
        /// The choice's value (updates per second).
        value: f64,
    },
    /// A node ran a round of random push-pull because no assignment came.
    FellBack,
}

/// What the scheduler holds about one node.
#[derive(Clone, Debug, Default)]
struct View {
    /// Per-key versions, sorted by key: the largest reported.
    digest: Vec<(Key, Version)>,
    /// The latest report held in full.
    complete: u64,
    /// When the node was last heard from.
    heard: Option<SimTime>,
    /// Its measured round trips to peers, seconds.
    rtts: BTreeMap<u32, f64>,
}

/// The scheduler role's state (volatile: a crash forgets it).
#[derive(Clone, Debug)]
struct Scheduler {
    epoch: u64,
    views: Vec<View>,
    /// With `weights: reads`: each node's read rates per key.
    interest: Vec<Rates>,
}

/// One node of `anneal-sync`.
#[derive(Clone, Debug)]
pub struct SchedNode {
    config: SchedConfig,
    id: NodeId,
    store: Store,
    /// Rounds since the last assignment arrived.
    unassigned: u32,
    /// The scheduler epoch last heard.
    epoch: u64,
    /// Reports sent and not yet acknowledged: number and the digest as of it.
    pending: Vec<(u64, Digest)>,
    /// The digest as of the acknowledged report, and its number.
    acked: (u64, Digest),
    next_seq: u64,
    /// Round trips measured, seconds, smoothed; and those not yet reported.
    rtts: BTreeMap<u32, f64>,
    fresh_rtts: Vec<u32>,
    next_ping: u32,
    scheduler: Option<Scheduler>,
    /// With `weights: reads`: this node's reads per key since its last report.
    reads: BTreeMap<Key, u32>,
}

/// Weight of a new round-trip sample in the smoothed estimate (TCP's SRTT uses 1/8; links here
/// change under faults, so newer samples count more).
const RTT_GAIN: f64 = 0.25;

impl SchedNode {
    /// The replica's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn is_scheduler(&self) -> bool {
        self.config.policy != Policy::Random && self.id.0 == self.config.scheduler_id
    }

    fn push_pull(&self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        let digest =
            GossipMsg::Digest { want_back: true, fingerprint: self.store.fingerprint(), digest: self.store.digest() };
        ctx.send(peer, SchedMsg::Exchange(digest));
    }

    fn round(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.config.policy == Policy::Random {
            for peer in ctx.random_peers(self.config.fanout as usize) {
                self.push_pull(ctx, peer);
            }
            return;
        }
        self.ping(ctx);
        if self.is_scheduler() {
            self.plan(ctx);
        } else {
            self.report(ctx);
            self.unassigned += 1;
            if self.unassigned > self.config.fallback {
                ctx.note(SchedNote::FellBack);
                for peer in ctx.random_peers(self.config.fanout as usize) {
                    self.push_pull(ctx, peer);
                }
            }
        }
    }

    /// Pings the next peer in turn.
    fn ping(&mut self, ctx: &mut Ctx<'_, Self>) {
        let n = ctx.cluster_size();
        if n < 2 {
            return;
        }
        let mut peer = self.next_ping % n;
        if peer == self.id.0 {
            peer = (peer + 1) % n;
        }
        self.next_ping = peer + 1;
        ctx.send(NodeId(peer), SchedMsg::Ping(ctx.now()));
    }

    fn report(&mut self, ctx: &mut Ctx<'_, Self>) {
        let current = self.store.digest();
        let changes: Vec<(Key, Version)> = {
            let changed: Vec<Key> = ahead(&current, &self.acked.1).collect();
            changed.iter().filter_map(|k| self.store.entry(*k).map(|u| (*k, u.version))).collect()
        };
        let rtts: Vec<(u32, u32)> = std::mem::take(&mut self.fresh_rtts)
            .into_iter()
            .map(|p| (p, (self.rtts[&p] * 1e6).round().min(f64::from(u32::MAX)) as u32))
            .collect();
        self.next_seq += 1;
        let seq = self.next_seq;
        self.pending.push((seq, current));
        // Reports that stay unacknowledged this long were lost; their content is in the next.
        if self.pending.len() > 8 {
            self.pending.remove(0);
        }
        let msg = SchedMsg::Report(Report { epoch: self.epoch, seq, base: self.acked.0, changes, rtts });
        ctx.send(NodeId(self.config.scheduler_id), msg);
        if !self.reads.is_empty() {
            let reads = std::mem::take(&mut self.reads).into_iter().collect();
            ctx.send(NodeId(self.config.scheduler_id), SchedMsg::Reads(reads));
        }
    }

    fn on_assign(&mut self, ctx: &mut Ctx<'_, Self>, epoch: u64, ack: u64, peers: Vec<NodeId>) {
        if epoch != self.epoch {
            // A new scheduler (or a restarted one) holds only what it acknowledges.
            self.epoch = epoch;
            self.acked = (0, Digest::default());
        }
        if let Some(i) = self.pending.iter().position(|(s, _)| *s == ack) {
            self.acked = self.pending[i].clone();
            self.pending.drain(..=i);
        }
        self.unassigned = 0;
        for peer in peers {
            self.push_pull(ctx, peer);
        }
    }

    /// Scheduler: merges a node's report into its view and acknowledges it if the view now
    /// holds everything up to it.
    fn on_report(&mut self, now: SimTime, from: NodeId, report: Report) {
        let Report { epoch, seq, base, changes, rtts } = report;
        let Some(s) = self.scheduler.as_mut() else { return };
        let view = &mut s.views[from.index()];
        merge_max(&mut view.digest, &changes);
        if base == 0 {
            // A full report: the view holds everything up to it, whatever came before (it may
            // come from a restarted node, numbering afresh).
            view.complete = seq;
        } else if epoch == s.epoch && base <= view.complete {
            view.complete = view.complete.max(seq);
        }
        view.heard = Some(now);
        for (peer, micros) in rtts {
            view.rtts.insert(peer, f64::from(micros) / 1e6);
        }
    }

    /// Scheduler: plans a round and sends every recently heard node its assignment.
    fn plan(&mut self, ctx: &mut Ctx<'_, Self>) {
        let now = ctx.now();
        let own = self.store.digest();
        let my_rtts = self.rtts.clone();
        let recent = self.config.interval.as_nanos().saturating_mul(u64::from(self.config.fallback) + 1);
        let (prices, limits) = self.config.prices_and_limits();
        let policy = self.config.policy;
        let (solver, reads, sweeps, per_node) =
            (self.config.solver, self.config.reads, self.config.sweeps, self.config.candidates as usize);
        let me = self.id.index();
        let seed = below(ctx.rng(), u64::MAX);
        let my_reads: Vec<(Key, u32)> = std::mem::take(&mut self.reads).into_iter().collect();
        let weights = self.config.weights;
        let Some(s) = self.scheduler.as_mut() else { return };
        s.views[me] = View { digest: own.to_vec(), complete: 0, heard: Some(now), rtts: my_rtts };
        s.interest[me].observe_reads(&my_reads, now);
        let live: Vec<usize> = (0..s.views.len())
            .filter(|&i| s.views[i].heard.is_some_and(|t| now.as_nanos().saturating_sub(t.as_nanos()) <= recent))
            .collect();
        let digests: Vec<&[(Key, Version)]> = live.iter().map(|&i| s.views[i].digest.as_slice()).collect();
        let known: Vec<f64> = live.iter().flat_map(|&i| s.views[i].rtts.values().copied()).collect();
        // An unmeasured link is priced like the slowest measured one.
        let unknown = known.iter().copied().fold(0.0, f64::max).max(0.001);
        let rtt = |a: usize, b: usize| {
            let (x, y) = (live[a], live[b]);
            let ab = s.views[x].rtts.get(&(y as u32)).copied();
            let ba = s.views[y].rtts.get(&(x as u32)).copied();
            match (ab, ba) {
                (Some(p), Some(q)) => (p + q) / 2.0,
                (Some(p), None) | (None, Some(p)) => p,
                (None, None) => unknown,
            }
        };
        // An update is worth one, plus with `weights: reads` the reads its receiver is expected
        // to make of the key over the time random anti-entropy would take to bring it.
        let horizon = spread_time(self.config.interval, live.len() as u32).as_secs_f64();
        let interest = &s.interest;
        let value = |b: usize, key: Key| match weights {
            Weights::Updates => 1.0,
            Weights::Reads => 1.0 + interest[live[b]].rates(key, now).0 * horizon,
        };
        let round = plan::build_weighted(&digests, rtt, value, prices, limits, per_node);
        let choice = round.choose(policy, solver, reads, sweeps, seed);
        ctx.note(SchedNote::Planned {
            replicas: live.len() as u32,
            candidates: round.pairs.len() as u32,
            pairs: choice.pairs.len() as u32,
            repaired: choice.repaired,
            value: choice.value,
        });
        let mut peers: BTreeMap<usize, Vec<NodeId>> = live.iter().map(|&i| (i, Vec::new())).collect();
        for &p in &choice.pairs {
            let pair = &round.pairs[p];
            peers.entry(live[pair.a]).or_default().push(NodeId(live[pair.b] as u32));
        }
        if self.config.bug.is(Bug::AssumeExchanged) {
            for &p in &choice.pairs {
                let (a, b) = (live[round.pairs[p].a], live[round.pairs[p].b]);
                let (da, db) = (s.views[a].digest.clone(), s.views[b].digest.clone());
                merge_max(&mut s.views[a].digest, &db);
                merge_max(&mut s.views[b].digest, &da);
            }
        }
        let epoch = s.epoch;
        let acks: Vec<u64> = s.views.iter().map(|v| v.complete).collect();
        for (node, list) in peers {
            if node == me {
                list.into_iter().for_each(|peer| self.push_pull(ctx, peer));
            } else {
                ctx.send(NodeId(node as u32), SchedMsg::Assign { epoch, ack: acks[node], peers: list });
            }
        }
    }
}

/// Merges `changes` (sorted by key) into `digest` (sorted by key), keeping the larger version.
fn merge_max(digest: &mut Vec<(Key, Version)>, changes: &[(Key, Version)]) {
    for &(key, version) in changes {
        match digest.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => digest[i].1 = digest[i].1.max(version),
            Err(i) => digest.insert(i, (key, version)),
        }
    }
}

impl Protocol for SchedNode {
    type Msg = SchedMsg;
    type Timer = SchedTimer;
    type Durable = Store;
    type Config = SchedConfig;
    type Note = SchedNote;
    type Monitor = SchedMonitor;

    fn monitor(_: &SchedConfig, _: u32) -> SchedMonitor {
        SchedMonitor::default()
    }

    fn info(config: &SchedConfig) -> ProtocolInfo {
        let variant = match config.policy {
            Policy::Anneal => {
                format!("anneal ({}, {} reads x {} sweeps)", config.solver.name(), config.reads, config.sweeps)
            }
            p => p.name().to_string(),
        };
        ProtocolInfo {
            name: "anneal-sync",
            variant,
            ops: vec![OpKind::Put, OpKind::Get],
            consistency: Consistency::Eventual,
            round: Some(config.interval),
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: true,
            leaders: false,
        }
    }

    fn new(id: NodeId, config: &SchedConfig, durable: Option<Store>) -> Self {
        SchedNode {
            config: config.clone(),
            id,
            store: durable.unwrap_or_default(),
            unassigned: 0,
            epoch: 0,
            pending: Vec::new(),
            acked: (0, Digest::default()),
            next_seq: 0,
            rtts: BTreeMap::new(),
            fresh_rtts: Vec::new(),
            next_ping: id.0 + 1,
            scheduler: None,
            reads: BTreeMap::new(),
        }
    }

    fn durable(&self) -> Store {
        self.store.clone()
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.is_scheduler() {
            // A fresh epoch tells the nodes that this scheduler holds nothing yet.
            let epoch = below(ctx.rng(), u64::MAX) | 1;
            let views = vec![View::default(); ctx.cluster_size() as usize];
            let interest = vec![Rates::new(self.config.half_life); views.len()];
            self.scheduler = Some(Scheduler { epoch, views, interest });
        }
        // Report numbers start at random per incarnation, so a restarted node's new reports
        // never match acknowledgements the scheduler still holds from its old ones.
        self.next_seq = below(ctx.rng(), u64::MAX >> 2);
        let first = SimDuration(1 + below(ctx.rng(), self.config.interval.as_nanos()));
        ctx.set_timer(SchedTimer::Round, first);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: SchedMsg) {
        match msg {
            SchedMsg::Exchange(m) => {
                let (reply, newer) = anti_entropy(&mut self.store, m);
                for u in newer {
                    ctx.expose(u.key, u.write, u.version.stamp());
                }
                if let Some(reply) = reply {
                    ctx.send(from, SchedMsg::Exchange(reply));
                }
            }
            SchedMsg::Report(report) => self.on_report(ctx.now(), from, report),
            SchedMsg::Reads(counts) => {
                if let Some(s) = self.scheduler.as_mut() {
                    s.interest[from.index()].observe_reads(&counts, ctx.now());
                }
            }
            SchedMsg::Assign { epoch, ack, peers } => self.on_assign(ctx, epoch, ack, peers),
            SchedMsg::Ping(sent) => ctx.send(from, SchedMsg::Pong(sent)),
            SchedMsg::Pong(sent) => {
                let sample = ctx.now().since(sent).as_secs_f64();
                let smoothed = match self.rtts.get(&from.0) {
                    Some(old) => old + RTT_GAIN * (sample - old),
                    None => sample,
                };
                self.rtts.insert(from.0, smoothed);
                if !self.fresh_rtts.contains(&from.0) {
                    self.fresh_rtts.push(from.0);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: SchedTimer) {
        match timer {
            SchedTimer::Round => {
                self.round(ctx);
                ctx.set_timer(SchedTimer::Round, self.config.interval);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        match op {
            Op::Put { key, value } => {
                let update = self.store.write(ctx.id(), key, value, req);
                ctx.expose(key, req, update.version.stamp());
                ctx.reply(req, Ok(Output::Done));
            }
            Op::Get { key } => {
                if self.config.weights == Weights::Reads {
                    *self.reads.entry(key).or_default() += 1;
                }
                ctx.reply(req, Ok(Output::Value(self.store.get(key))))
            }
            other => ctx.reply(req, Err(format!("anneal-sync does not support {}", other.kind()))),
        }
    }

    fn state_digest(&self) -> u64 {
        self.store.fingerprint()
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.store.read_state()
    }
}

/// Counts the scheduler's plans and the nodes' fallbacks into protocol metrics.
#[derive(Clone, Debug, Default)]
pub struct SchedMonitor {
    plans: u64,
    pairs: u64,
    candidates: u64,
    repaired: u64,
    repaired_plans: u64,
    value: f64,
    fallbacks: u64,
}

impl Monitor<SchedNote> for SchedMonitor {
    fn observe(&mut self, _: SimTime, _: NodeId, note: &SchedNote) -> Result<(), String> {
        match note {
            SchedNote::Planned { candidates, pairs, repaired, value, .. } => {
                self.plans += 1;
                self.pairs += u64::from(*pairs);
                self.candidates += u64::from(*candidates);
                self.repaired += u64::from(*repaired);
                self.repaired_plans += u64::from(*repaired > 0);
                self.value += value;
            }
            SchedNote::FellBack => self.fallbacks += 1,
        }
        Ok(())
    }

    fn metrics(&self, _: SimTime) -> ProtocolMetrics {
        let per_plan = |x: f64| if self.plans == 0 { 0.0 } else { x / self.plans as f64 };
        let numbers = [
            ("plans", self.plans as f64),
            ("pairs_per_plan", per_plan(self.pairs as f64)),
            ("candidates_per_plan", per_plan(self.candidates as f64)),
            ("value_per_plan", per_plan(self.value)),
            ("repaired_plans", self.repaired_plans as f64),
            ("repaired_pairs", self.repaired as f64),
            ("fallback_rounds", self.fallbacks as f64),
        ];
        ProtocolMetrics {
            numbers: numbers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            durations: BTreeMap::new(),
        }
    }
}

/// The `anneal-sync` family: push-pull anti-entropy with the pairs chosen by an annealer.
impl Family for SchedNode {
    const KIND: &'static str = "anneal-sync";
    const ABOUT: &'static str = "push-pull anti-entropy whose pairs a scheduler node chooses by annealing a QUBO";
    type Config = SchedConfig;

    fn params() -> Vec<Param> {
        vec![
            Param::new("policy", "anneal | greedy | exact | random (plain push-pull, no scheduler)"),
            Param::new("solver", "policy anneal: sa | sqa | bsb (sb) | dsb"),
            Param::new("reads", "annealing reads per round"),
            Param::new("sweeps", "annealing sweeps (bifurcation steps) per read"),
            Param::new("interval", "time between rounds"),
            Param::new("scheduler", "the node that schedules, by name (null: the first node)"),
            Param::new("degree", "exchanges a node takes part in per round, at most"),
            Param::new("bandwidth", "bandwidth a node's exchanges may use (bytes per round = this x interval)"),
            Param::new("candidates", "candidate partners per node (its best pairs by weight)"),
            Param::new("fanout", "random push-pull peers per round (policy random, and the fallback)"),
            Param::new("fallback", "rounds without an assignment before a node push-pulls at random"),
            Param::new(
                "weights",
                "updates: every update alike; reads: each worth one plus its receiver's expected reads of the key (learned)",
            ),
            Param::new("half_life", "weights reads: the read-rate estimates lose half their weight in this time"),
        ]
        .into_iter()
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &SchedConfig, nodes: &[String]) -> Result<(), ParamError> {
        config.validate()?;
        match &config.scheduler {
            Some(name) if !nodes.contains(name) => Err(("scheduler".into(), format!("no node is called `{name}`"))),
            _ => Ok(()),
        }
    }

    /// Besides the typical rounds, the scheduler's solver: `reads` samples of `sweeps` sweeps
    /// over about `candidates` pairs per node, each round, each sample kept until it ends.
    fn load(config: &SchedConfig, nodes: usize) -> Load {
        let pairs = nodes as f64 * f64::from(config.candidates);
        let reads = f64::from(config.reads);
        Load {
            // A spin update is about a hundredth of a handler call.
            work_per_second: reads * f64::from(config.sweeps) * pairs
                / 100.0
                / (config.interval.0 as f64 / 1e9).max(1e-9),
            peak_bytes: reads * (pairs + 48.0),
            heavy_param: Some("protocol.reads"),
            // Each round: a timer, a digest to the scheduler and its plan back, and up to
            // `degree` exchanges of three messages (the plan's fallback rounds are no dearer).
            calls_per_node_second: (3.0 + 3.0 * f64::from(config.degree.max(config.fanout)))
                / (config.interval.0 as f64 / 1e9).max(1e-9),
            ..Load::typical(Some(config.interval))
        }
    }

    fn launch<L: Launch>(config: &SchedConfig, nodes: &[String], launch: L) -> L::Output {
        let mut config = config.clone();
        // Validation checked the name; an absent one means the first node.
        let named = config.scheduler.as_ref().and_then(|n| nodes.iter().position(|m| m == n));
        config.scheduler_id = named.unwrap_or(0) as u32;
        launch.launch::<SchedNode>(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::Effects;
    use syncsim_sim::rng::Stream;

    type Out = Effects<SchedMsg, SchedTimer, SchedNote>;

    /// Drives one handler of `node` (in a four-node cluster) at `now` outside any engine.
    fn drive(node: &mut SchedNode, now: u64, f: impl FnOnce(&mut SchedNode, &mut Ctx<'_, SchedNode>)) -> Out {
        let mut out = Out::default();
        let id = node.id.0;
        let mut rng = Stream::Node(id).rng(1);
        let mut ctx = Ctx::new(SimTime(now), NodeId(id), 4, &mut rng, &mut out);
        f(node, &mut ctx);
        out
    }

    fn node(id: u32, policy: Policy) -> SchedNode {
        SchedNode::new(NodeId(id), &SchedConfig { policy, ..SchedConfig::default() }, None)
    }

    fn put(n: &mut SchedNode, key: Key) {
        drive(n, 0, |n, ctx| n.on_request(ctx, RequestId(key), Op::Put { key, value: key }));
    }

    fn reports(out: &Out) -> Vec<Report> {
        out.sends.iter().filter_map(|(_, m)| if let SchedMsg::Report(r) = m { Some(r.clone()) } else { None }).collect()
    }

    fn exchanges(out: &Out) -> Vec<NodeId> {
        out.sends.iter().filter(|(_, m)| matches!(m, SchedMsg::Exchange(_))).map(|(to, _)| *to).collect()
    }

    #[test]
    fn reports_carry_only_what_changed_since_the_acknowledged_one() {
        let mut a = node(1, Policy::Anneal);
        put(&mut a, 7);
        let first = reports(&drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round)));
        assert_eq!((first[0].base, first[0].changes.len()), (0, 1), "the first report is everything");
        // Not acknowledged yet: the next report still carries key 7.
        put(&mut a, 8);
        let second = reports(&drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round)));
        assert_eq!(second[0].changes.iter().map(|c| c.0).collect::<Vec<_>>(), vec![7, 8]);
        drive(&mut a, 0, |n, ctx| {
            n.on_message(ctx, NodeId(0), SchedMsg::Assign { epoch: 5, ack: second[0].seq, peers: vec![] })
        });
        put(&mut a, 9);
        let third = reports(&drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round)));
        assert_eq!(third[0].base, second[0].seq);
        assert_eq!(third[0].changes.iter().map(|c| c.0).collect::<Vec<_>>(), vec![9]);
        // A restarted scheduler (new epoch) gets everything again.
        drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(0), SchedMsg::Assign { epoch: 9, ack: 0, peers: vec![] }));
        let fifth = reports(&drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round)));
        assert_eq!((fifth[0].base, fifth[0].changes.len()), (0, 3));
    }

    #[test]
    fn the_scheduler_acknowledges_only_reports_it_holds_in_full() {
        let mut s = node(0, Policy::Greedy);
        drive(&mut s, 0, |n, ctx| n.on_start(ctx));
        let epoch = s.scheduler.as_ref().unwrap().epoch;
        let v = |l| Version { lamport: l, node: 1 };
        let report = |seq, base, changes| Report { epoch, seq, base, changes, rtts: vec![(2, 1500)] };
        // Report 2 is relative to report 1, which was lost: merged, but not acknowledged.
        s.on_report(SimTime(0), NodeId(1), report(2, 1, vec![(3, v(2))]));
        assert_eq!(s.scheduler.as_ref().unwrap().views[1].complete, 0);
        s.on_report(SimTime(0), NodeId(1), report(3, 0, vec![(1, v(1)), (3, v(2))]));
        s.on_report(SimTime(0), NodeId(1), report(4, 3, vec![(3, v(1))]));
        let view = &s.scheduler.as_ref().unwrap().views[1];
        assert_eq!(view.complete, 4);
        assert_eq!(view.digest, vec![(1, v(1)), (3, v(2))], "a late, older version never lowers the view");
        assert_eq!(view.rtts[&2], 0.0015);
        // The node restarts and numbers afresh: its first (full) report resets what is held,
        // so the old report 4 is never acknowledged for a new report 4.
        s.on_report(SimTime(0), NodeId(1), report(2, 0, vec![(1, v(1)), (3, v(2))]));
        assert_eq!(s.scheduler.as_ref().unwrap().views[1].complete, 2);
    }

    #[test]
    fn the_scheduler_pairs_replicas_that_differ_and_tells_them() {
        let mut s = node(0, Policy::Exact);
        drive(&mut s, 0, |n, ctx| n.on_start(ctx));
        let epoch = s.scheduler.as_ref().unwrap().epoch;
        let v = |l| Version { lamport: l, node: 2 };
        // Node 2 holds a key nobody else has; nodes 1 and 3 equal the empty scheduler.
        for (from, changes) in [(1, vec![]), (2, vec![(5, v(1))]), (3, vec![])] {
            s.on_report(SimTime(0), NodeId(from), Report { epoch, seq: 1, base: 0, changes, rtts: vec![] });
        }
        let out = drive(&mut s, 1, |n, ctx| n.on_timer(ctx, SchedTimer::Round));
        let mut with_2 = exchanges(&out);
        for (to, m) in &out.sends {
            if let SchedMsg::Assign { peers, ack, .. } = m {
                assert_eq!(*ack, 1);
                with_2.extend(peers.iter().map(|_| *to));
                with_2.extend(peers.iter().copied());
            }
        }
        assert!(with_2.contains(&NodeId(2)), "node 2 is paired: {:?}", out.sends);
        let assigned = out.sends.iter().filter(|(_, m)| matches!(m, SchedMsg::Assign { .. })).count();
        assert_eq!(assigned, 3, "every node heard from gets an assignment, even an empty one");
        assert!(matches!(out.notes[0], SchedNote::Planned { replicas: 4, pairs: 2, .. }), "{:?}", out.notes);
    }

    #[test]
    fn without_assignments_a_node_falls_back_to_random_push_pull() {
        let mut a = node(1, Policy::Anneal);
        let rounds: Vec<Out> = (0..4).map(|_| drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round))).collect();
        let fell: Vec<bool> = rounds.iter().map(|o| !exchanges(o).is_empty()).collect();
        assert_eq!(fell, [false, false, true, true], "fallback = 2 rounds of silence, then random push-pull");
        assert!(matches!(rounds[2].notes[0], SchedNote::FellBack));
        drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(0), SchedMsg::Assign { epoch: 1, ack: 0, peers: vec![] }));
        let back = drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round));
        assert!(exchanges(&back).is_empty(), "an assignment ends the fallback");
    }

    #[test]
    fn the_random_policy_is_plain_push_pull_without_a_scheduler() {
        let mut a = node(0, Policy::Random);
        drive(&mut a, 0, |n, ctx| n.on_start(ctx));
        assert!(a.scheduler.is_none());
        let out = drive(&mut a, 0, |n, ctx| n.on_timer(ctx, SchedTimer::Round));
        assert_eq!(out.sends.len(), 1);
        assert!(matches!(out.sends[0].1, SchedMsg::Exchange(GossipMsg::Digest { want_back: true, .. })));
    }

    #[test]
    fn pings_measure_round_trips_peer_by_peer() {
        let mut a = node(1, Policy::Anneal);
        let out = drive(&mut a, 1_000, |n, ctx| n.on_timer(ctx, SchedTimer::Round));
        let (to, ping) = out.sends.iter().find(|(_, m)| matches!(m, SchedMsg::Ping(_))).unwrap().clone();
        assert_eq!(to, NodeId(2), "the next peer in turn");
        let SchedMsg::Ping(sent) = ping else { unreachable!() };
        drive(&mut a, 41_000, |n, ctx| n.on_message(ctx, to, SchedMsg::Pong(sent)));
        assert!((a.rtts[&2] - 40e-6).abs() < 1e-12);
        let next = reports(&drive(&mut a, 50_000, |n, ctx| n.on_timer(ctx, SchedTimer::Round)));
        assert_eq!(next[0].rtts, vec![(2, 40)]);
    }
}
