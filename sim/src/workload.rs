//! Clients: open-loop Poisson or closed-loop arrivals, uniform or Zipf keys, an operation mix,
//! and scripted operations at fixed times.

use crate::dist::{Latency, Sampler};
use crate::history::{Key, Op, OpKind, Value};
use crate::protocol::{NodeId, RequestId};
use crate::rng::{SimRng, Stream, below, unit_f64};
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
        }
    }
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
        Clients {
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
        let Arrival::Poisson(_) = self.config.arrival else {
            let Arrival::Closed { think } = self.config.arrival else { unreachable!() };
            return think;
        };
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
        let rng = &mut self.rngs[c as usize];
        let node = match &self.config.target {
            Target::Sticky => NodeId(c % self.nodes),
            Target::Random => NodeId(below(rng, u64::from(self.nodes)) as u32),
            Target::Nodes(nodes) => nodes[c as usize % nodes.len()],
        };
        let key = if self.zipf_cdf.is_empty() {
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
        (node, op)
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
}
