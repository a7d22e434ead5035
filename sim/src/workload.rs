//! Clients: open-loop Poisson or closed-loop arrivals, uniform or Zipf keys, an operation mix,
//! and scripted operations at fixed times; for realistic access patterns, a rate that follows a
//! daily cycle or bursts, hot keys that drift, reads aimed at other keys than writes, and reads
//! that follow a client's own writes. [`Clients::plan`] draws an open-loop workload ahead of
//! time, for an oracle's [`Foresight`].

use std::collections::VecDeque;

use crate::dist::{Latency, Sampler};
use crate::foresight::Foresight;
use crate::history::{Key, Op, OpKind, Value};
use crate::protocol::{NodeId, RequestId};
use crate::rng::{SimRng, Stream, below, chance, unit_f64};
use crate::time::{SimDuration, SimTime};
use crate::units::Rate;

/// How clients decide when to issue their next operation.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Arrival {
    /// Open loop: operations arrive as a Poisson process at this total rate, whether or not
    /// earlier ones finished, so latency is measured without coordinated omission.
    Poisson(Rate),
    /// Closed loop: each client issues its next operation this long after the previous ended.
    Closed {
        /// Pause between one operation's end and the next one's call.
        think: SimDuration,
    },
}

/// How keys are chosen.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key k (from 0) with weight 1/(k+1)^s.
    Zipf(f64),
}

/// Which node a client sends an operation to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// Client c always uses node c mod n.
    #[default]
    Sticky,
    /// A node chosen at random for each operation.
    Random,
    /// Client c always uses the (c mod k)th of these k nodes: the nodes behind a load
    /// balancer, or coordinators that hold no data.
    Nodes(Vec<NodeId>),
}

/// An operation issued at a fixed time, whatever the random clients do.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptedOp {
    /// When it is issued.
    pub at: SimTime,
    /// Which node receives it.
    pub node: NodeId,
    /// What is asked.
    pub op: Op,
}

/// A daily cycle of the open-loop rate: the rate times `1 - swing * cos(2 pi t / period)`, so a
/// run starts at the trough ("night") and peaks half a period in.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Diurnal {
    /// The length of one cycle.
    pub period: SimDuration,
    /// How far the rate swings either side of its mean, as a share of it (below 1).
    pub swing: f64,
}

/// Bursts on single keys: windows that start as a Poisson process, each of which picks one key
/// at random and adds `x - 1` times the usual rate of operations, all on that key (a post gone
/// viral, a flash sale).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Bursts {
    /// The mean time between the starts of bursts.
    pub every: SimDuration,
    /// How long each burst lasts.
    pub length: SimDuration,
    /// The rate during a burst, as a multiple of the rate outside one.
    pub x: f64,
}

/// Hot keys that drift: every `every`, the key that each rank of the key distribution names
/// moves `by` keys on (modulo the key count), so yesterday's hot keys cool down.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Drift {
    /// How often the hot set moves.
    pub every: SimDuration,
    /// How many keys it moves each time.
    pub by: u64,
}

/// A read that follows a client's own write: after a put, with chance `chance`, the client's
/// next operation reads the same key back, `after` later, through another node than the one it
/// wrote to (the user who posts on one server and reloads the page through another).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ReadAfterWrite {
    /// The share of puts that are read back.
    pub chance: f64,
    /// The delay between the put's call and the read's call (open loop; closed-loop clients
    /// wait their think time).
    pub after: SimDuration,
}

/// The clients of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadConfig {
    /// Number of random clients (zero for a scripted-only workload).
    pub clients: u32,
    /// When clients issue operations.
    pub arrival: Arrival,
    /// Number of keys, numbered from 0.
    pub keys: u64,
    /// How keys are chosen.
    pub key_distribution: KeyDistribution,
    /// Operation kinds with their integer weights.
    pub mix: Vec<(OpKind, u32)>,
    /// Elements of sets are drawn from 0..elements.
    pub elements: u64,
    /// After this long without a reply the result is unknown.
    pub timeout: SimDuration,
    /// Which node each operation goes to.
    pub target: Target,
    /// One-way latency between a client and its node (requests and replies each pay it).
    pub client_latency: Latency,
    /// Operations at fixed times.
    pub script: Vec<ScriptedOp>,
    /// The open-loop rate over time: from each time on, `arrival`'s rate times the factor
    /// (before the first, times one), in time order. Empty: a steady rate.
    pub load: Vec<(SimTime, f64)>,
    /// A daily cycle of the open-loop rate, on top of `load`.
    pub diurnal: Option<Diurnal>,
    /// Bursts on single keys (open loop).
    pub bursts: Option<Bursts>,
    /// Hot keys that move over time.
    pub drift: Option<Drift>,
    /// Reads (`get`, `read`) aim this many keys past the key the distribution draws, so the
    /// keys read most are not those written most (0: the same keys).
    pub read_shift: u64,
    /// Reads that follow a client's own writes.
    pub read_after_write: Option<ReadAfterWrite>,
    /// Each key's operations go through only this many nodes, its homes (key k's are nodes
    /// k, k+1, ... modulo the cluster), whatever `target` says: data shared by a few users near
    /// a few replicas. 0: every node.
    pub key_homes: u32,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            clients: 0,
            arrival: Arrival::Closed { think: SimDuration::ZERO },
            keys: 1,
            key_distribution: KeyDistribution::Uniform,
            mix: vec![],
            elements: 100,
            timeout: SimDuration::from_secs(1),
            target: Target::Sticky,
            client_latency: Latency::Constant(SimDuration::ZERO),
            script: vec![],
            load: vec![],
            diurnal: None,
            bursts: None,
            drift: None,
            read_shift: 0,
            read_after_write: None,
            key_homes: 0,
        }
    }
}

impl WorkloadConfig {
    /// Whether the rate varies continuously (a cycle or bursts), so arrivals are drawn by
    /// thinning rather than step by step.
    fn thinned(&self) -> bool {
        self.diurnal.is_some() || self.bursts.is_some()
    }
}

/// One operation of a workload drawn ahead of time ([`Clients::plan`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedOp {
    /// When the client calls it.
    pub at: SimTime,
    /// The node it is sent to (before the engine routes around absent nodes).
    pub node: NodeId,
    /// What it asks (put values and inserted elements are made unique when it is issued).
    pub op: Op,
}

/// A client's operations drawn ahead of time, and when its first arrival past them would be.
#[derive(Clone, Debug, Default)]
struct Planned {
    ops: VecDeque<PlannedOp>,
    beyond: SimTime,
}

/// The random clients' generators: each client draws from its own stream.
#[derive(Clone, Debug)]
pub struct Clients {
    config: WorkloadConfig,
    rngs: Vec<SimRng>,
    /// Draws for scripted operations, which have no client stream of their own.
    script_rng: SimRng,
    link: Sampler,
    /// Cumulative Zipf weights, scaled to 1 at the end.
    zipf_cdf: Vec<f64>,
    mix_total: u64,
    /// Mean gap between one client's arrivals (open loop), in nanoseconds.
    mean_gap_ns: f64,
    nodes: u32,
    /// The last value each client saw at each key, which its compare-and-sets expect.
    seen: Vec<std::collections::BTreeMap<Key, Value>>,
    /// Per client, the key of a put it will read back next, and the node it wrote through.
    follow: Vec<Option<(Key, NodeId)>>,
    /// Bursts drawn so far, in time order: start, end, key.
    bursts: Vec<(SimTime, SimTime, Key)>,
    /// Draws the bursts' times and keys.
    burst_rng: SimRng,
    /// The largest factor the rate reaches, the bound that thinning draws at.
    peak: f64,
    /// Per client, its operations drawn ahead ([`Clients::plan`]).
    planned: Option<Vec<Planned>>,
}

impl Clients {
    /// The generators for `config` on a cluster of `nodes` nodes under `seed`.
    pub fn new(config: &WorkloadConfig, nodes: u32, seed: u64) -> Self {
        let zipf_cdf = match config.key_distribution {
            KeyDistribution::Uniform => vec![],
            KeyDistribution::Zipf(s) => {
                let mut acc = 0.0;
                let mut cdf: Vec<f64> = (0..config.keys)
                    .map(|k| {
                        acc += 1.0 / libm::pow((k + 1) as f64, s);
                        acc
                    })
                    .collect();
                cdf.iter_mut().for_each(|c| *c /= acc);
                cdf
            }
        };
        let mean_gap_ns = match config.arrival {
            Arrival::Poisson(rate) => rate.mean_gap_ns() * f64::from(config.clients.max(1)),
            Arrival::Closed { .. } => 0.0,
        };
        let steps = config.load.iter().map(|s| s.1).fold(1.0, f64::max);
        let peak = steps * config.diurnal.map_or(1.0, |d| 1.0 + d.swing) * config.bursts.map_or(1.0, |b| b.x.max(1.0));
        Clients {
            follow: vec![None; config.clients as usize],
            bursts: Vec::new(),
            burst_rng: Stream::Bursts.rng(seed),
            peak,
            planned: None,
            rngs: (0..config.clients).map(|c| Stream::Client(c).rng(seed)).collect(),
            script_rng: Stream::Workload.rng(seed),
            link: config.client_latency.sampler(),
            zipf_cdf,
            mix_total: config.mix.iter().map(|(_, w)| u64::from(*w)).sum(),
            mean_gap_ns,
            nodes,
            seen: vec![Default::default(); config.clients as usize],
            config: config.clone(),
        }
    }

    /// Delay from one of client `c`'s operations to its next: an exponential gap in open loop,
    /// the think time in closed loop.
    pub fn gap(&mut self, c: u32) -> SimDuration {
        self.gap_at(c, SimTime::ZERO)
    }

    /// [`Clients::gap`] from time `now`, under the load profile: a gap that would cross a
    /// change of rate is drawn again from the change at the new rate (exact for a Poisson
    /// process, which has no memory).
    pub fn gap_at(&mut self, c: u32, now: SimTime) -> SimDuration {
        if let Some(planned) = &self.planned {
            let p = &planned[c as usize];
            return p.ops.front().map_or(p.beyond, |o| o.at) - now;
        }
        let Arrival::Poisson(_) = self.config.arrival else {
            let Arrival::Closed { think } = self.config.arrival else { unreachable!() };
            return think;
        };
        if let Some(raw) = self.config.read_after_write
            && self.follow[c as usize].is_some()
        {
            return raw.after;
        }
        if self.config.thinned() {
            return self.thinned_gap(c, now);
        }
        let mut from = now;
        loop {
            let u = unit_f64(&mut self.rngs[c as usize]);
            let next = self.config.load.partition_point(|(at, _)| *at <= from);
            let factor = if next == 0 { 1.0 } else { self.config.load[next - 1].1 };
            let gap = -self.mean_gap_ns / factor * libm::log(1.0 - u);
            match self.config.load.get(next) {
                Some(&(change, _)) if from.0 as f64 + gap > change.0 as f64 => from = change,
                _ => return SimDuration(from.0 - now.0 + gap.min(1e18) as u64),
            }
        }
    }

    /// A gap under a rate that varies continuously, by thinning (Lewis and Shedler): candidates
    /// arrive at the peak rate and each is kept with chance rate(t) / peak, exact for any
    /// bounded rate.
    fn thinned_gap(&mut self, c: u32, now: SimTime) -> SimDuration {
        let mean_ns = self.mean_gap_ns / self.peak;
        let mut t = now.0 as f64;
        loop {
            let u = unit_f64(&mut self.rngs[c as usize]);
            t += -mean_ns * libm::log(1.0 - u);
            if t >= 1e18 {
                return SimDuration(1e18 as u64 - now.0);
            }
            let at = SimTime(t as u64);
            let keep = self.factor(at) / self.peak;
            if unit_f64(&mut self.rngs[c as usize]) < keep {
                return at - now;
            }
        }
    }

    /// The rate at `at` as a multiple of `arrival`'s: the load step, the daily cycle and any
    /// burst.
    fn factor(&mut self, at: SimTime) -> f64 {
        let next = self.config.load.partition_point(|(t, _)| *t <= at);
        let step = if next == 0 { 1.0 } else { self.config.load[next - 1].1 };
        let cycle = self.config.diurnal.map_or(1.0, |d| {
            let phase = at.0 as f64 / d.period.0 as f64;
            1.0 - d.swing * libm::cos(2.0 * std::f64::consts::PI * phase)
        });
        let burst = match (self.config.bursts, self.burst_at(at)) {
            (Some(b), Some(_)) => b.x,
            _ => 1.0,
        };
        step * cycle * burst
    }

    /// The key under a burst at `at`, if one is on; draws bursts up to `at` first.
    fn burst_at(&mut self, at: SimTime) -> Option<Key> {
        let b = self.config.bursts?;
        while self.bursts.last().is_none_or(|&(start, _, _)| start <= at) {
            let from = self.bursts.last().map_or(SimTime::ZERO, |w| w.0);
            let u = unit_f64(&mut self.burst_rng);
            let gap = (-(b.every.0 as f64) * libm::log(1.0 - u)).min(1e18) as u64;
            let start = SimTime(from.0.saturating_add(gap.max(1)));
            let key = below(&mut self.burst_rng, self.config.keys);
            self.bursts.push((start, start + b.length, key));
        }
        // Bursts may overlap; the latest one that started decides.
        self.bursts.iter().rev().find(|&&(start, end, _)| start <= at && at < end).map(|w| w.2)
    }

    /// The first arrival of client `c`: one gap in, exponential in open loop, the think time in
    /// closed loop.
    pub fn first_arrival(&mut self, c: u32) -> SimDuration {
        self.gap(c)
    }

    /// One crossing of client `c`'s link to its node (scripted clients included).
    pub fn link_delay(&mut self, c: u32) -> SimDuration {
        if let Sampler::Constant(ns) = self.link {
            return SimDuration(ns);
        }
        let rng = match self.rngs.get_mut(c as usize) {
            Some(rng) => rng,
            None => &mut self.script_rng,
        };
        self.link.sample(rng)
    }

    /// Client `c` learns what its operation returned: the value it saw or wrote is what its
    /// next compare-and-set on that key expects.
    pub fn learn(&mut self, c: u32, op: &Op, outcome: &crate::history::Outcome) {
        use crate::history::{Outcome, Output};
        let Some(seen) = self.seen.get_mut(c as usize) else { return };
        match (op, outcome) {
            (Op::Put { key, value }, Outcome::Ok(_))
            | (Op::Cas { key, new: value, .. }, Outcome::Ok(Output::Swapped(true))) => {
                seen.insert(*key, *value);
            }
            (Op::Get { key }, Outcome::Ok(Output::Value(Some(v)))) => {
                seen.insert(*key, *v);
            }
            _ => {}
        }
    }

    /// True in open loop: arrivals do not wait for replies.
    pub fn open_loop(&self) -> bool {
        matches!(self.config.arrival, Arrival::Poisson(_))
    }

    /// Client `c`'s next operation and the node it goes to; `id` is its request id (put values
    /// are made unique from it).
    pub fn next_op(&mut self, c: u32, id: RequestId) -> (NodeId, Op) {
        self.next_op_at(c, id, SimTime::ZERO)
    }

    /// [`Clients::next_op`] for an operation called at `now`, under the drift and bursts of
    /// that time.
    pub fn next_op_at(&mut self, c: u32, id: RequestId, now: SimTime) -> (NodeId, Op) {
        if let Some(planned) = &mut self.planned {
            let next = planned[c as usize].ops.pop_front().expect("an arrival for every planned operation");
            let op = match next.op {
                Op::Put { key, .. } => Op::Put { key, value: id.0 + 1 },
                Op::Insert { key, pos, .. } => Op::Insert { key, pos, elem: id.0 + 1 },
                Op::Cas { key, .. } => {
                    let expect = self.seen[c as usize].get(&key).copied().unwrap_or(0);
                    Op::Cas { key, expect, new: id.0 + 1 }
                }
                op => op,
            };
            return (next.node, op);
        }
        self.draw_op(c, id, now)
    }

    fn draw_op(&mut self, c: u32, id: RequestId, now: SimTime) -> (NodeId, Op) {
        if let Some((key, wrote_to)) = self.follow[c as usize].take() {
            let rng = &mut self.rngs[c as usize];
            // Another node than the write's, when there is one.
            let node = match self.nodes {
                1 => wrote_to,
                n => NodeId((wrote_to.0 + 1 + below(rng, u64::from(n - 1)) as u32) % n),
            };
            return (node, Op::Get { key });
        }
        let rng = &mut self.rngs[c as usize];
        let node = match &self.config.target {
            Target::Sticky => NodeId(c % self.nodes),
            Target::Random => NodeId(below(rng, u64::from(self.nodes)) as u32),
            Target::Nodes(nodes) => nodes[c as usize % nodes.len()],
        };
        let rank = if self.zipf_cdf.is_empty() {
            below(rng, self.config.keys)
        } else {
            let u = unit_f64(rng);
            self.zipf_cdf.partition_point(|&p| p <= u).min(self.zipf_cdf.len() - 1) as Key
        };
        let mut pick = below(rng, self.mix_total);
        let mut kind = self.config.mix[0].0;
        for &(k, w) in &self.config.mix {
            if pick < u64::from(w) {
                kind = k;
                break;
            }
            pick -= u64::from(w);
        }
        let key = self.key_for(c, rank, kind, now);
        let rng = &mut self.rngs[c as usize];
        let node = match self.config.key_homes {
            0 => node,
            homes => NodeId(((key + below(rng, u64::from(homes))) % u64::from(self.nodes)) as u32),
        };
        let op = match kind {
            OpKind::Put => Op::Put { key, value: id.0 + 1 },
            OpKind::Get => Op::Get { key },
            OpKind::Incr => Op::Incr { key, by: 1 },
            OpKind::Read => Op::Read { key },
            OpKind::Add => Op::Add { key, elem: below(rng, self.config.elements) },
            OpKind::Remove => Op::Remove { key, elem: below(rng, self.config.elements) },
            OpKind::Decr => Op::Decr { key, by: 1 },
            // Positions within the first `elements` places: past the end means at the end.
            OpKind::Insert => Op::Insert { key, pos: below(rng, self.config.elements), elem: id.0 + 1 },
            OpKind::Delete => Op::Delete { key, pos: below(rng, self.config.elements) },
            OpKind::Cas => {
                let expect = self.seen[c as usize].get(&key).copied().unwrap_or(0);
                Op::Cas { key, expect, new: id.0 + 1 }
            }
        };
        if let (Some(raw), Op::Put { key, .. }) = (self.config.read_after_write, &op)
            && chance(&mut self.rngs[c as usize], raw.chance)
        {
            self.follow[c as usize] = Some((*key, node));
        }
        (node, op)
    }

    /// The key that rank `rank` of the distribution names for an operation of `kind` at `now`:
    /// reads shifted, the hot set drifted, or a burst's key.
    fn key_for(&mut self, c: u32, rank: Key, kind: OpKind, now: SimTime) -> Key {
        let keys = self.config.keys;
        let mut key = rank;
        if matches!(kind, OpKind::Get | OpKind::Read) {
            key = (key + self.config.read_shift % keys) % keys;
        }
        if let Some(d) = self.config.drift {
            let moves = now.0 / d.every.0.max(1);
            key = ((u128::from(key) + u128::from(moves) * u128::from(d.by)) % u128::from(keys)) as Key;
        }
        if let (Some(b), Some(hot)) = (self.config.bursts, self.burst_at(now)) {
            // Of the rate x times the usual, the extra x - 1 falls on the burst's key.
            if chance(&mut self.rngs[c as usize], 1.0 - 1.0 / b.x) {
                key = hot;
            }
        }
        key
    }

    /// Draws every random client's operations up to `until` ahead of time and from then on
    /// issues them as drawn; returns what an oracle may know: every planned and scripted
    /// operation. In open loop arrivals do not depend on replies, so the plan is the workload
    /// (drawn on a copy of the generators, because the draws of a non-constant client link share
    /// the clients' streams and would come between them in a live run). In closed loop only the
    /// script is known ahead.
    pub fn plan(&mut self, until: SimTime) -> Foresight {
        let mut known: Vec<(SimTime, NodeId, Op)> =
            self.config.script.iter().map(|s| (s.at, s.node, s.op.clone())).collect();
        if self.open_loop() {
            let mut ahead = self.clone();
            let mut planned = Vec::with_capacity(self.config.clients as usize);
            for c in 0..self.config.clients {
                let mut p = Planned::default();
                let mut t = SimTime::ZERO + ahead.gap_at(c, SimTime::ZERO);
                while t < until {
                    let (node, op) = ahead.draw_op(c, RequestId(0), t);
                    known.push((t, node, op.clone()));
                    p.ops.push_back(PlannedOp { at: t, node, op });
                    t = t + ahead.gap_at(c, t);
                }
                p.beyond = t;
                planned.push(p);
            }
            self.planned = Some(planned);
        }
        known.sort_by_key(|k| k.0);
        Foresight::new(known.iter().map(|(at, node, op)| (*at, *node, op)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dist: KeyDistribution) -> WorkloadConfig {
        WorkloadConfig {
            clients: 4,
            arrival: Arrival::Poisson(Rate::per_sec(1000.0).unwrap()),
            keys: 100,
            key_distribution: dist,
            mix: vec![(OpKind::Put, 1), (OpKind::Get, 3)],
            ..WorkloadConfig::default()
        }
    }

    #[test]
    fn zipf_keys_favour_the_first_keys() {
        let mut c = Clients::new(&config(KeyDistribution::Zipf(1.0)), 3, 1);
        let mut counts = vec![0u32; 100];
        for i in 0..40_000 {
            let (_, op) = c.next_op(i % 4, RequestId(i as u64));
            counts[op.key() as usize] += 1;
        }
        // Harmonic weights: key 0 twice as likely as key 1, ten times key 9.
        let ratio = f64::from(counts[0]) / f64::from(counts[1]);
        assert!((ratio - 2.0).abs() < 0.2, "ratio {ratio}");
        assert!(counts[0] > 8 * counts[9]);
    }

    #[test]
    fn the_mix_and_the_rate_are_respected() {
        let mut c = Clients::new(&config(KeyDistribution::Uniform), 3, 1);
        let puts = (0..40_000u64).filter(|&i| c.next_op((i % 4) as u32, RequestId(i)).1.kind() == OpKind::Put).count();
        assert!((puts as f64 / 40_000.0 - 0.25).abs() < 0.01);
        let total: u64 = (0..10_000).map(|_| c.gap(0).as_nanos()).sum();
        let mean_ms = total as f64 / 10_000.0 / 1e6;
        assert!((mean_ms - 4.0).abs() < 0.2, "4 clients at 1000/s: one every 4 ms each, got {mean_ms}");
    }

    #[test]
    fn a_load_profile_scales_the_rate_from_each_step_on() {
        // 1000/s over four clients; x4 from 1 s, x0.5 from 2 s.
        let steps = vec![(SimTime(1_000_000_000), 4.0), (SimTime(2_000_000_000), 0.5)];
        let mut c = Clients::new(&WorkloadConfig { load: steps, ..config(KeyDistribution::Uniform) }, 3, 1);
        let mut per_second = [0u32; 3];
        for client in 0..4 {
            let mut t = SimTime::ZERO + c.gap_at(client, SimTime::ZERO);
            while t < SimTime(3_000_000_000) {
                per_second[(t.0 / 1_000_000_000) as usize] += 1;
                t = t + c.gap_at(client, t);
            }
        }
        let [a, b, d] = per_second.map(f64::from);
        assert!((a / 1000.0 - 1.0).abs() < 0.1, "{per_second:?}");
        assert!((b / 4000.0 - 1.0).abs() < 0.1, "{per_second:?}");
        assert!((d / 500.0 - 1.0).abs() < 0.15, "{per_second:?}");
    }

    #[test]
    fn put_values_are_unique_per_request() {
        let mut c = Clients::new(&config(KeyDistribution::Uniform), 3, 1);
        let mut values = std::collections::BTreeSet::new();
        for i in 0..1000 {
            if let (_, Op::Put { value, .. }) = c.next_op(0, RequestId(i)) {
                assert!(values.insert(value));
            }
        }
    }

    fn open(extra: impl FnOnce(&mut WorkloadConfig)) -> Clients {
        let mut c = config(KeyDistribution::Zipf(2.0));
        extra(&mut c);
        Clients::new(&c, 4, 7)
    }

    /// Client 0's operations up to `until`, drawn live as the engine draws them.
    fn live(c: &mut Clients, until: SimTime) -> Vec<(SimTime, NodeId, Op)> {
        let mut out = Vec::new();
        let mut t = SimTime::ZERO + c.gap_at(0, SimTime::ZERO);
        let mut id = 0;
        while t < until {
            let (node, op) = c.next_op_at(0, RequestId(id), t);
            out.push((t, node, op));
            id += 1;
            t = t + c.gap_at(0, t);
        }
        out
    }

    #[test]
    fn the_hot_keys_drift_and_reads_aim_past_the_written_ones() {
        let mut c = open(|w| {
            w.drift = Some(Drift { every: SimDuration::from_secs(1), by: 10 });
            w.read_shift = 50;
        });
        let ops = live(&mut c, SimTime(3_000_000_000));
        let share = |from: u64, to: u64, key: Key, read: bool| {
            let window: Vec<_> = ops
                .iter()
                .filter(|(t, _, op)| (from..to).contains(&(t.0 / 1_000_000_000)) && op.is_update() != read)
                .collect();
            window.iter().filter(|(_, _, op)| op.key() == key).count() as f64 / window.len() as f64
        };
        // Zipf(2): rank 0 takes about 60% of the draws.
        assert!(share(0, 1, 0, false) > 0.5, "writes favour key 0 in the first second");
        assert!(share(2, 3, 20, false) > 0.5, "and key 20 after two moves of 10");
        assert!(share(0, 1, 50, true) > 0.5, "reads favour key 50, 50 keys on");
        assert!(share(2, 3, 70, true) > 0.5);
    }

    #[test]
    fn a_put_is_read_back_after_the_delay_through_another_node() {
        let after = SimDuration::from_millis(30);
        let mut c = open(|w| w.read_after_write = Some(ReadAfterWrite { chance: 1.0, after }));
        let ops = live(&mut c, SimTime(2_000_000_000));
        let mut followed = 0;
        for pair in ops.windows(2) {
            if let [(t, node, Op::Put { key, .. }), (u, other, next)] = pair {
                assert_eq!(*next, Op::Get { key: *key });
                assert_ne!(node, other, "another node");
                assert_eq!(*u - *t, after);
                followed += 1;
            }
        }
        assert!(followed > 20, "{followed}");
    }

    #[test]
    fn each_key_goes_through_its_homes_only() {
        let mut c = open(|w| {
            w.key_distribution = KeyDistribution::Uniform;
            w.key_homes = 2;
        });
        for (_, node, op) in live(&mut c, SimTime(1_000_000_000)) {
            let home = op.key() % 4;
            assert!(u64::from(node.0) == home || u64::from(node.0) == (home + 1) % 4, "{op:?} via {node}");
        }
    }

    #[test]
    fn a_daily_cycle_moves_the_rate_between_trough_and_peak() {
        let period = SimDuration::from_secs(4);
        let mut c = open(|w| w.diurnal = Some(Diurnal { period, swing: 0.5 }));
        let mut per_quarter = [0u32; 4];
        for client in 0..4 {
            let mut t = SimTime::ZERO + c.gap_at(client, SimTime::ZERO);
            while t < SimTime(40_000_000_000) {
                per_quarter[((t.0 % period.0) * 4 / period.0) as usize] += 1;
                t = t + c.gap_at(client, t);
            }
        }
        // 1 - 0.5 cos: the middle quarters average about 1.32, the outer ones about 0.68.
        let middle = f64::from(per_quarter[1] + per_quarter[2]);
        let outer = f64::from(per_quarter[0] + per_quarter[3]);
        assert!((middle / outer - 1.32 / 0.68).abs() < 0.15, "{per_quarter:?}");
        let total: u32 = per_quarter.iter().sum();
        assert!((f64::from(total) / 40_000.0 - 1.0).abs() < 0.05, "the mean rate is kept: {total}");
    }

    #[test]
    fn a_burst_puts_its_extra_rate_on_one_key() {
        let bursts = Bursts { every: SimDuration::from_secs(2), length: SimDuration::from_millis(500), x: 5.0 };
        let mut c = open(|w| {
            w.key_distribution = KeyDistribution::Uniform;
            w.bursts = Some(bursts);
        });
        let ops = live(&mut c, SimTime(20_000_000_000));
        let windows = c.bursts.clone();
        let during: Vec<_> = ops
            .iter()
            .filter_map(|(t, _, op)| windows.iter().rev().find(|w| w.0 <= *t && *t < w.1).map(|w| (w.2, op.key())))
            .collect();
        let on_key = during.iter().filter(|(hot, key)| hot == key).count() as f64 / during.len() as f64;
        assert!((on_key - 0.8).abs() < 0.05, "of x = 5 times the rate, 4/5 on the burst's key: {on_key}");
        let rate_in = during.len() as f64 / windows.iter().filter(|w| w.0 < SimTime(20_000_000_000)).count() as f64;
        assert!(rate_in > 3.0 * 0.5 * 250.0, "client 0 runs at 250/s, five times that in a burst: {rate_in}");
    }

    #[test]
    fn a_plan_is_the_workload_the_live_draws_give() {
        let shape = |w: &mut WorkloadConfig| {
            w.diurnal = Some(Diurnal { period: SimDuration::from_secs(3), swing: 0.4 });
            w.bursts = Some(Bursts { every: SimDuration::from_secs(1), length: SimDuration::from_millis(200), x: 3.0 });
            w.drift = Some(Drift { every: SimDuration::from_millis(700), by: 3 });
            w.read_after_write = Some(ReadAfterWrite { chance: 0.5, after: SimDuration::from_millis(20) });
        };
        let until = SimTime(5_000_000_000);
        let drawn = live(&mut open(shape), until);
        let mut planned = open(shape);
        let foresight = planned.plan(until);
        assert_eq!(live(&mut planned, until), drawn);
        assert!(foresight.len() >= drawn.len(), "every client's operations are foreseen");
    }
}
