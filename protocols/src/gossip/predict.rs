//! Predictive synchronisation: learn online who reads which key and how often each key is
//! written, and push a write at once only to the peers likely to read it before the next write;
//! leave the rest to a slow anti-entropy. (Its bound, the oracle, knows the future workload.)
//!
//! The estimators are exponentially decayed counts per key (a half-life, not a window: cheap,
//! deterministic, and they forget yesterday's hot keys at a rate the scenario sets). Every
//! `report` interval a node tells its peers how often its clients read each key since its last
//! report; a write a node learns of counts as its writer's interest too (whoever writes a key
//! tends to read it). A write is worth pushing to peer `p` when the reads it would save from
//! staleness there reach `threshold`:
//!
//!   expected stale reads at p without a push = r_p * min(W, 1 / w)
//!
//! where `r_p` is p's interest in the key, `w` the key's write rate, and `W` how long the write
//! would take to reach every replica by anti-entropy alone (`backup` times the log2 of the
//! cluster size, the rounds an epidemic needs). Past `1 / w` the next write supersedes this one
//! anyway.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_sim::{Key, NodeId, SimDuration, SimTime};

use super::store::Update;

/// The predictive policy's parameters (`protocol: { mode: predictive, predict: {...} }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PredictConfig {
    /// How fast the rate estimates forget: a count loses half its weight in this time.
    pub half_life: SimDuration,
    /// Push a write when the reads it is expected to keep from being stale reach this many.
    pub threshold: f64,
    /// How often a node tells its peers which keys its clients read.
    pub report: SimDuration,
}

impl Default for PredictConfig {
    fn default() -> Self {
        PredictConfig { half_life: SimDuration::from_secs(5), threshold: 0.2, report: SimDuration::from_secs(1) }
    }
}

impl PredictConfig {
    /// Checks the parameters; the error names the field under `predict`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.half_life == SimDuration::ZERO {
            return Err(("predict.half_life".into(), "the half-life must be longer than 0s".into()));
        }
        if self.report == SimDuration::ZERO {
            return Err(("predict.report".into(), "the report interval must be longer than 0s".into()));
        }
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(("predict.threshold".into(), format!("a number of reads, 0 or more, not {}", self.threshold)));
        }
        Ok(())
    }
}

/// Decayed counts of one key's reads and writes, as of `at`.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
struct Counts {
    reads: f64,
    writes: f64,
    at: SimTime,
}

/// Per-key read and write rates as decayed counts: a node's estimate of each key's write
/// rate, or of one peer's interest in each key.
#[derive(Clone, Debug)]
pub struct Rates {
    half_life_ns: f64,
    keys: BTreeMap<Key, Counts>,
}

impl Rates {
    /// Empty estimates that halve every `half_life`.
    pub fn new(half_life: SimDuration) -> Self {
        Rates { half_life_ns: half_life.as_nanos() as f64, keys: BTreeMap::new() }
    }

    /// The counts of `key` decayed to `now`.
    fn decayed(&self, key: Key, now: SimTime) -> Counts {
        let Some(c) = self.keys.get(&key) else { return Counts { at: now, ..Counts::default() } };
        let f = libm::exp2(-(now.as_nanos().saturating_sub(c.at.as_nanos()) as f64) / self.half_life_ns);
        Counts { reads: c.reads * f, writes: c.writes * f, at: now }
    }

    /// Counts one read (`read`) or write of `key` at `now`.
    pub fn observe(&mut self, key: Key, now: SimTime, read: bool) {
        self.observe_many(key, now, read, 1.0);
    }

    /// Counts a report of reads per key, received at `now`.
    pub fn observe_reads(&mut self, counts: &[(Key, u32)], now: SimTime) {
        for &(key, n) in counts {
            self.observe_many(key, now, true, f64::from(n));
        }
    }

    /// Counts `n` reads (`read`) or writes of `key` at `now`.
    pub fn observe_many(&mut self, key: Key, now: SimTime, read: bool, n: f64) {
        let mut c = self.decayed(key, now);
        if read {
            c.reads += n;
        } else {
            c.writes += n;
        }
        self.keys.insert(key, c);
    }

    /// The key's estimated read and write rates at `now`, per second: a decayed count of `c`
    /// events stands for a rate of c * ln 2 / half-life.
    pub fn rates(&self, key: Key, now: SimTime) -> (f64, f64) {
        let c = self.decayed(key, now);
        let per_sec = std::f64::consts::LN_2 / (self.half_life_ns / 1e9);
        (c.reads * per_sec, c.writes * per_sec)
    }
}

/// Who reads what: each peer's interest per key, learned from the reports it sends every
/// `report` interval and from its writes, and this node's own reads since its last report.
#[derive(Clone, Debug)]
pub struct Interest {
    half_life: SimDuration,
    peers: BTreeMap<NodeId, Rates>,
    since: BTreeMap<Key, u32>,
}

impl Interest {
    /// No interest known yet; estimates halve every `half_life`.
    pub fn new(half_life: SimDuration) -> Self {
        Interest { half_life, peers: BTreeMap::new(), since: BTreeMap::new() }
    }

    /// One of this node's clients read `key`.
    pub fn read(&mut self, key: Key) {
        *self.since.entry(key).or_default() += 1;
    }

    /// This node's reads per key since its last report, emptied; `None` if there were none.
    /// Every peer gets it: any of them may write those keys next.
    pub fn report(&mut self) -> Option<Vec<(Key, u32)>> {
        (!self.since.is_empty()).then(|| std::mem::take(&mut self.since).into_iter().collect())
    }

    /// Folds in `peer`'s report, received at `now`.
    pub fn learn(&mut self, peer: NodeId, counts: &[(Key, u32)], now: SimTime) {
        let rates = self.peers.entry(peer).or_insert_with(|| Rates::new(self.half_life));
        rates.observe_reads(counts, now);
    }

    /// The peers a write of `key` at `now` is worth pushing to: those whose reads it is
    /// expected to keep from being stale number at least `threshold`, given the key's write
    /// rate in `writes` and the time `spread` anti-entropy would take instead.
    pub fn worth_pushing(
        &self,
        writes: &Rates,
        key: Key,
        now: SimTime,
        spread: SimDuration,
        threshold: f64,
    ) -> Vec<NodeId> {
        let (_, w) = writes.rates(key, now);
        self.peers
            .iter()
            .filter(|(_, r)| stale_reads_saved(r.rates(key, now).0, w, spread) >= threshold)
            .map(|(&peer, _)| peer)
            .collect()
    }
}

/// Expected reads of a key that would see a write late if it is not pushed: reads at `reads`
/// per second over the time anti-entropy takes to spread it (`spread`), cut short by the next
/// write at `writes` per second.
pub fn stale_reads_saved(reads: f64, writes: f64, spread: SimDuration) -> f64 {
    let window = spread.as_secs_f64();
    let until_next_write = if writes > 0.0 { 1.0 / writes } else { f64::INFINITY };
    reads * window.min(until_next_write)
}

/// How long anti-entropy every `backup` takes to reach all of `nodes` replicas: about log2(n)
/// rounds of an epidemic.
pub fn spread_time(backup: SimDuration, nodes: u32) -> SimDuration {
    let rounds = libm::ceil(libm::log2(f64::from(nodes.max(2))));
    SimDuration((backup.as_nanos() as f64 * rounds) as u64)
}

/// Updates waiting for the next round to be pushed, by peer.
#[derive(Clone, Debug, Default)]
pub struct Outbox {
    by_peer: BTreeMap<NodeId, Vec<Update>>,
}

impl Outbox {
    /// Queues `update` for `peer`, replacing an older version of its key still waiting.
    pub fn queue(&mut self, peer: NodeId, update: Update) {
        let list = self.by_peer.entry(peer).or_default();
        match list.iter_mut().find(|u| u.key == update.key) {
            Some(u) if u.version < update.version => *u = update,
            Some(_) => {}
            None => list.push(update),
        }
    }

    /// Everything waiting, by peer, emptied.
    pub fn drain(&mut self) -> impl Iterator<Item = (NodeId, Vec<Update>)> {
        std::mem::take(&mut self.by_peer).into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_is_estimated_at_its_rate_and_forgotten_at_the_half_life() {
        let mut r = Rates::new(SimDuration::from_secs(2));
        // 10 reads a second for 20 s: the decayed count settles near rate * half-life / ln 2.
        for i in 0..200u64 {
            r.observe(3, SimTime(i * 100_000_000), true);
        }
        let now = SimTime(20_000_000_000);
        let (reads, writes) = r.rates(3, now);
        assert!((reads - 10.0).abs() < 0.5, "read rate {reads}");
        assert_eq!(writes, 0.0);
        let (later, _) = r.rates(3, SimTime(22_000_000_000));
        assert!((later / reads - 0.5).abs() < 1e-9, "halved after one half-life: {later} vs {reads}");
        assert_eq!(r.rates(4, now), (0.0, 0.0), "an unseen key has no rate");
    }

    #[test]
    fn a_push_is_worth_the_reads_in_the_spread_window_or_until_the_next_write() {
        let w = SimDuration::from_secs(2);
        assert!((stale_reads_saved(3.0, 0.1, w) - 6.0).abs() < 1e-9, "rare writes: the whole window");
        assert!((stale_reads_saved(3.0, 10.0, w) - 0.3).abs() < 1e-9, "the next write comes first");
        assert_eq!(stale_reads_saved(0.0, 1.0, w), 0.0);
        assert_eq!(spread_time(SimDuration::from_secs(1), 8), SimDuration::from_secs(3));
    }

    #[test]
    fn a_write_is_pushed_to_the_peers_that_read_its_key_often_enough() {
        let now = SimTime(10_000_000_000);
        let mut i = Interest::new(SimDuration::from_secs(2));
        i.learn(NodeId(1), &[(5, 20), (6, 1)], now);
        i.learn(NodeId(2), &[(6, 1)], now);
        i.learn(NodeId(3), &[(7, 50)], now);
        let mut writes = Rates::new(SimDuration::from_secs(2));
        writes.observe(5, now, false);
        let spread = SimDuration::from_secs(3);
        assert_eq!(i.worth_pushing(&writes, 5, now, spread, 0.5), vec![NodeId(1)]);
        assert_eq!(i.worth_pushing(&writes, 6, now, spread, 0.5), vec![NodeId(1), NodeId(2)]);
        assert_eq!(i.worth_pushing(&writes, 6, now, spread, 5.0), vec![], "too few reads for this threshold");
        assert_eq!(i.worth_pushing(&writes, 8, now, spread, 0.1), vec![], "nobody reads key 8");
        i.read(4);
        i.read(4);
        i.read(2);
        assert_eq!(i.report(), Some(vec![(2, 1), (4, 2)]));
        assert_eq!(i.report(), None, "a report empties the counts");
    }

    #[test]
    fn the_outbox_keeps_the_newest_version_of_a_key_per_peer() {
        use super::super::store::Version;
        let u = |lamport, value| Update {
            key: 1,
            version: Version { lamport, node: 0 },
            value,
            write: syncsim_sim::RequestId(0),
        };
        let mut o = Outbox::default();
        o.queue(NodeId(2), u(1, 10));
        o.queue(NodeId(2), u(3, 30));
        o.queue(NodeId(2), u(2, 20));
        o.queue(NodeId(1), u(1, 10));
        let all: Vec<_> = o.drain().collect();
        assert_eq!(all, vec![(NodeId(1), vec![u(1, 10)]), (NodeId(2), vec![u(3, 30)])]);
        assert_eq!(o.drain().count(), 0);
    }
}
