//! One round of pair selection: which replica pairs run anti-entropy, from what the scheduler
//! knows of their digests and links, under per-node degree and bandwidth limits.
//!
//! The value of a set of pairs is the updates it moves per second of link time, less what two
//! pairs at one node would bring it twice:
//!
//! `value(x) = Σ_p w_p x_p − Σ_{p,q} o_pq x_p x_q`, with `w_p = updates_p / seconds_p` and
//! `o_pq = shared_pq / max(seconds_p, seconds_q)`,
//!
//! where `seconds_p` is 1.5 round trips (digest, updates, updates back) plus the exchange's
//! bytes over the bandwidth, but at least [`Prices::floor`] (the scheduler uses one round), and
//! `shared_pq` counts the keys both partners of the shared node
//! would bring it. The QUBO minimises `−value` plus the limits as squared penalties with slack
//! bits; [`Policy`] says who solves it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_sim::Key;

use crate::anneal::model::{Qubo, bits_of};
use crate::anneal::{Solver, exhaustive};
use crate::gossip::{Version, ahead};

/// How the scheduler chooses pairs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// No scheduler: every node push-pulls with random peers (plain gossip).
    Random,
    /// Pairs by weight, each taken while the limits hold and it still adds value.
    Greedy,
    /// The optimum over the best [`EXACT_MAX`] candidates, by branch and bound.
    Exact,
    /// The QUBO, solved by the configured annealer.
    Anneal,
}

impl Policy {
    /// The policy's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Random => "random",
            Policy::Greedy => "greedy",
            Policy::Exact => "exact",
            Policy::Anneal => "anneal",
        }
    }
}

/// Candidates the exact policy searches at most (the best by weight; the rest are left out).
pub const EXACT_MAX: usize = 24;

/// Bits of slack for a node's bandwidth limit: its usage is judged in sixteenths of the limit.
const BANDWIDTH_SLACK_BITS: u32 = 4;

/// Wire sizes used to price an exchange, and the bandwidth it may use.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Prices {
    /// Bytes per digest entry.
    pub digest_entry: f64,
    /// Bytes per update sent.
    pub update: f64,
    /// Bytes per key asked for.
    pub want: f64,
    /// Fixed bytes of the three messages of an exchange.
    pub fixed: f64,
    /// Bytes per second an exchange can use.
    pub bandwidth: f64,
    /// Seconds an exchange costs at least: it takes a slot of each of its nodes for that long.
    pub floor: f64,
}

/// Per-node limits for one round.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Limits {
    /// Exchanges a node takes part in.
    pub degree: u32,
    /// Bytes a node sends and receives in exchanges.
    pub bytes: f64,
}

/// A candidate pair: replicas `a` and `b` (indices into the round's replicas), `a` opening.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    /// The replica that sends its digest.
    pub a: usize,
    /// The replica that answers.
    pub b: usize,
    /// Updates the exchange would move, both ways.
    pub updates: u32,
    /// Bytes the exchange would take.
    pub bytes: f64,
    /// Seconds the exchange would take: 1.5 round trips plus bytes over bandwidth.
    pub seconds: f64,
    /// What the pair is worth: the updates it delivers per second, each valued by
    /// [`build_weighted`]'s `value` (1 by default).
    pub weight: f64,
}

/// One round's problem: the candidate pairs, their overlaps, the limits.
#[derive(Clone, Debug, PartialEq)]
pub struct Round {
    /// Replicas in the round.
    pub replicas: usize,
    /// Candidate pairs.
    pub pairs: Vec<Pair>,
    /// `(p, q, o_pq)`: the rate at which pairs `p` and `q` would bring their shared node the
    /// same updates.
    pub overlaps: Vec<(usize, usize, f64)>,
    /// The limits.
    pub limits: Limits,
}

/// The pairs chosen for a round.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Choice {
    /// Indices into [`Round::pairs`], ascending.
    pub pairs: Vec<usize>,
    /// Their value (updates per second, overlaps taken off).
    pub value: f64,
    /// Pairs dropped because the solver's answer broke a limit.
    pub repaired: u32,
}

/// Builds the round for `digests` (one per replica, sorted by key), with `rtt(a, b)` the round
/// trip in seconds. Each replica keeps its `per_node` best partners by weight; pairs that would
/// exchange nothing are not candidates.
pub fn build(
    digests: &[&[(Key, Version)]],
    rtt: impl Fn(usize, usize) -> f64,
    prices: Prices,
    limits: Limits,
    per_node: usize,
) -> Round {
    build_weighted(digests, rtt, |_, _| 1.0, prices, limits, per_node)
}

/// [`build`] with each update valued by `value(receiver, key)` instead of 1: a pair's weight is
/// then the value it delivers per second. A predictor's expected reads make the scheduler favour
/// the updates that will be read soon.
pub fn build_weighted(
    digests: &[&[(Key, Version)]],
    rtt: impl Fn(usize, usize) -> f64,
    value: impl Fn(usize, Key) -> f64,
    prices: Prices,
    limits: Limits,
    per_node: usize,
) -> Round {
    let n = digests.len();
    // gives[a][b]: keys on which replica a is ahead of replica b.
    let gives: Vec<Vec<Vec<Key>>> = (0..n)
        .map(|a| (0..n).map(|b| if a == b { Vec::new() } else { ahead(digests[a], digests[b]).collect() }).collect())
        .collect();
    let price = |a: usize, b: usize| {
        let (to_a, to_b) = (gives[b][a].len() as f64, gives[a][b].len() as f64);
        let bytes = prices.fixed
            + prices.digest_entry * digests[a].len() as f64
            + prices.update * (to_a + to_b)
            + prices.want * to_b;
        let seconds = 1.5 * rtt(a, b) + bytes / prices.bandwidth;
        (bytes, seconds.max(prices.floor).max(1e-9))
    };
    let mut chosen: BTreeMap<(usize, usize), Pair> = BTreeMap::new();
    for a in 0..n {
        let mut mine: Vec<Pair> = (0..n)
            .filter(|&b| b != a)
            .filter_map(|b| {
                let (lo, hi) = (a.min(b), a.max(b));
                let updates = (gives[lo][hi].len() + gives[hi][lo].len()) as u32;
                (updates > 0).then(|| {
                    let (bytes, seconds) = price(lo, hi);
                    let delivered: f64 = gives[lo][hi].iter().map(|&k| value(hi, k)).sum::<f64>()
                        + gives[hi][lo].iter().map(|&k| value(lo, k)).sum::<f64>();
                    Pair { a: lo, b: hi, updates, bytes, seconds, weight: delivered / seconds }
                })
            })
            .collect();
        mine.sort_by(|x, y| y.weight.total_cmp(&x.weight).then((x.a, x.b).cmp(&(y.a, y.b))));
        for p in mine.into_iter().take(per_node) {
            chosen.entry((p.a, p.b)).or_insert(p);
        }
    }
    let pairs: Vec<Pair> = chosen.into_values().collect();
    let mut overlaps = Vec::new();
    for p in 0..pairs.len() {
        for q in p + 1..pairs.len() {
            let (x, y) = (&pairs[p], &pairs[q]);
            let shared = [(x.a, x.b), (x.b, x.a)]
                .into_iter()
                .find_map(|(node, other)| {
                    let third = if y.a == node {
                        y.b
                    } else if y.b == node {
                        y.a
                    } else {
                        return None;
                    };
                    Some(common(&gives[other][node], &gives[third][node], |k| value(node, k)))
                })
                .unwrap_or(0.0);
            if shared > 0.0 {
                overlaps.push((p, q, shared / x.seconds.max(y.seconds)));
            }
        }
    }
    Round { replicas: n, pairs, overlaps, limits }
}

/// The value of the keys two sorted lists share.
fn common(x: &[Key], y: &[Key], value: impl Fn(Key) -> f64) -> f64 {
    let (mut i, mut j, mut total) = (0, 0, 0.0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                total += value(x[i]);
                i += 1;
                j += 1;
            }
        }
    }
    total
}

impl Round {
    /// The value of the pairs `chosen` (see the module's documentation).
    pub fn value(&self, chosen: &[bool]) -> f64 {
        let gain: f64 = self.pairs.iter().zip(chosen).filter(|(_, c)| **c).map(|(p, _)| p.weight).sum();
        let lost: f64 = self.overlaps.iter().filter(|(p, q, _)| chosen[*p] && chosen[*q]).map(|(_, _, o)| o).sum();
        gain - lost
    }

    /// True when `chosen` keeps every node within its limits.
    pub fn feasible(&self, chosen: &[bool]) -> bool {
        let (degree, bytes) = self.usage(chosen);
        degree.iter().all(|&d| d <= self.limits.degree) && bytes.iter().all(|&b| b <= self.limits.bytes)
    }

    fn usage(&self, chosen: &[bool]) -> (Vec<u32>, Vec<f64>) {
        let mut degree = vec![0u32; self.replicas];
        let mut bytes = vec![0.0f64; self.replicas];
        for (p, _) in self.pairs.iter().zip(chosen).filter(|(_, c)| **c) {
            for v in [p.a, p.b] {
                degree[v] += 1;
                bytes[v] += p.bytes;
            }
        }
        (degree, bytes)
    }

    /// The pair selection as a QUBO over one bit per pair (bits `0..pairs.len()`) and slack
    /// bits for the limits, weights scaled so the best pair is worth 1.
    pub fn qubo(&self) -> Qubo {
        let scale = self.pairs.iter().map(|p| p.weight).fold(0.0, f64::max).max(1e-12);
        let mut q = Qubo::new(self.pairs.len());
        for (i, p) in self.pairs.iter().enumerate() {
            q.linear[i] -= p.weight / scale;
        }
        for &(a, b, o) in &self.overlaps {
            q.quadratic.push((a as u32, b as u32, o / scale));
        }
        // Breaking a limit by one pair must cost more than the best pair is worth (1). Not much
        // more: the penalty is also the barrier a single flip must climb to trade one pair for
        // another at a full node, and annealing measured on random rounds did best just above 1.
        let penalty = 1.2;
        for v in 0..self.replicas {
            let at: Vec<usize> =
                (0..self.pairs.len()).filter(|&i| self.pairs[i].a == v || self.pairs[i].b == v).collect();
            if at.len() > self.limits.degree as usize {
                let mut terms: Vec<(usize, f64)> = at.iter().map(|&i| (i, 1.0)).collect();
                let slack_bits = u32::BITS - self.limits.degree.leading_zeros();
                terms.extend((0..slack_bits).map(|b| (q.add_bit(), f64::from(1u32 << b))));
                q.add_squared(&terms, -f64::from(self.limits.degree), penalty);
            }
            let total: f64 = at.iter().map(|&i| self.pairs[i].bytes).sum();
            if total > self.limits.bytes {
                // Usage in units of the limit, plus slack in sixteenths of it, equals 1.
                let mut terms: Vec<(usize, f64)> =
                    at.iter().map(|&i| (i, self.pairs[i].bytes / self.limits.bytes)).collect();
                let top = f64::from((1u32 << BANDWIDTH_SLACK_BITS) - 1);
                terms.extend((0..BANDWIDTH_SLACK_BITS).map(|b| (q.add_bit(), f64::from(1u32 << b) / top)));
                q.add_squared(&terms, -1.0, penalty);
            }
        }
        q
    }

    /// Chooses pairs by `policy` (`Random` chooses none: it needs no plan). `solver`, `reads`,
    /// `sweeps` and `seed` are for `Anneal`.
    pub fn choose(&self, policy: Policy, solver: Solver, reads: u32, sweeps: u32, seed: u64) -> Choice {
        let chosen = match policy {
            Policy::Random => vec![false; self.pairs.len()],
            Policy::Greedy => self.greedy(),
            Policy::Exact => self.exact(),
            Policy::Anneal => {
                let model = self.qubo().to_ising();
                let best = solver
                    .solve(&model, reads.max(1), sweeps.max(1), seed)
                    .into_iter()
                    .min_by(|x, y| x.energy.total_cmp(&y.energy))
                    .map(|s| bits_of(&s.spins))
                    .unwrap_or_default();
                let chosen: Vec<bool> = (0..self.pairs.len()).map(|i| best.get(i) == Some(&1)).collect();
                return self.repair(chosen);
            }
        };
        self.finish(chosen, 0)
    }

    fn finish(&self, chosen: Vec<bool>, repaired: u32) -> Choice {
        let value = self.value(&chosen);
        Choice { pairs: (0..chosen.len()).filter(|&i| chosen[i]).collect(), value, repaired }
    }

    /// Drops the lightest pair at an overloaded node until every limit holds: a solver's
    /// answer can break a penalty that was cheaper than the pair it kept.
    fn repair(&self, mut chosen: Vec<bool>) -> Choice {
        let mut repaired = 0;
        loop {
            let (degree, bytes) = self.usage(&chosen);
            let over = |v: usize| degree[v] > self.limits.degree || bytes[v] > self.limits.bytes;
            let lightest = (0..self.pairs.len())
                .filter(|&i| chosen[i] && (over(self.pairs[i].a) || over(self.pairs[i].b)))
                .min_by(|&x, &y| self.pairs[x].weight.total_cmp(&self.pairs[y].weight));
            match lightest {
                Some(i) => {
                    chosen[i] = false;
                    repaired += 1;
                }
                None => return self.finish(chosen, repaired),
            }
        }
    }

    /// Pairs by weight, each taken if the limits still hold and it adds value given the pairs
    /// already taken.
    fn greedy(&self) -> Vec<bool> {
        let mut order: Vec<usize> = (0..self.pairs.len()).collect();
        order.sort_by(|&x, &y| self.pairs[y].weight.total_cmp(&self.pairs[x].weight).then(x.cmp(&y)));
        let mut chosen = vec![false; self.pairs.len()];
        for i in order {
            let before = self.value(&chosen);
            chosen[i] = true;
            if !self.feasible(&chosen) || self.value(&chosen) <= before {
                chosen[i] = false;
            }
        }
        chosen
    }

    /// The best feasible set among the [`EXACT_MAX`] heaviest pairs, by depth-first branch and
    /// bound (a branch is cut when even all its remaining weight cannot beat the best).
    fn exact(&self) -> Vec<bool> {
        let mut order: Vec<usize> = (0..self.pairs.len()).collect();
        order.sort_by(|&x, &y| self.pairs[y].weight.total_cmp(&self.pairs[x].weight).then(x.cmp(&y)));
        order.truncate(EXACT_MAX);
        // rest[k]: the weight of order[k..], an upper bound on what those pairs can add.
        let mut rest = vec![0.0; order.len() + 1];
        for k in (0..order.len()).rev() {
            rest[k] = rest[k + 1] + self.pairs[order[k]].weight;
        }
        let none = vec![false; self.pairs.len()];
        let mut search = Search { round: self, order: &order, rest: &rest, best: (0.0, none.clone()) };
        search.dive(0, &mut none.clone());
        search.best.1
    }

    /// Exhaustive ground state of the round's QUBO (for tests of small rounds); `None` when it
    /// has more bits than exhaustive search takes.
    pub fn qubo_ground_state(&self) -> Option<Vec<bool>> {
        let (spins, _) = exhaustive::ground_state(&self.qubo().to_ising())?;
        Some(spins.iter().take(self.pairs.len()).map(|&s| s > 0).collect())
    }
}

struct Search<'a> {
    round: &'a Round,
    order: &'a [usize],
    rest: &'a [f64],
    best: (f64, Vec<bool>),
}

impl Search<'_> {
    fn dive(&mut self, k: usize, chosen: &mut [bool]) {
        let value = self.round.value(chosen);
        if value > self.best.0 + 1e-12 {
            self.best = (value, chosen.to_vec());
        }
        if k == self.order.len() || value + self.rest[k] <= self.best.0 + 1e-12 {
            return;
        }
        let i = self.order[k];
        chosen[i] = true;
        if self.round.feasible(chosen) {
            self.dive(k + 1, chosen);
        }
        chosen[i] = false;
        self.dive(k + 1, chosen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::rng::{Stream, below, unit_f64};

    const PRICES: Prices =
        Prices { digest_entry: 20.0, update: 36.0, want: 8.0, fixed: 40.0, bandwidth: 1e6, floor: 0.0 };

    fn v(lamport: u64) -> Version {
        Version { lamport, node: 0 }
    }

    /// Random replicas of a 12-key store, random round trips between 1 and 100 ms.
    fn random_round(seed: u64, nodes: usize, limits: Limits) -> Round {
        let mut rng = Stream::Workload.rng(seed);
        let mut digests: Vec<Vec<(Key, Version)>> = vec![Vec::new(); nodes];
        for d in &mut digests {
            for k in 0..12 {
                if unit_f64(&mut rng) < 0.6 {
                    d.push((k, v(1 + below(&mut rng, 3))));
                }
            }
        }
        let rtts: Vec<f64> = (0..nodes * nodes).map(|_| 0.001 + 0.099 * unit_f64(&mut rng)).collect();
        let refs: Vec<&[(Key, Version)]> = digests.iter().map(|d| d.as_slice()).collect();
        build(&refs, |a, b| rtts[a.min(b) * nodes + a.max(b)], PRICES, limits, 3)
    }

    #[test]
    fn a_pair_is_worth_the_updates_it_moves_per_second() {
        let (a, b, c): (Vec<_>, Vec<_>, Vec<_>) =
            (vec![(1, v(2)), (2, v(1))], vec![(1, v(1))], vec![(1, v(2)), (2, v(1))]);
        // b lacks key 2 and is behind on key 1; a and c are equal.
        let rtt = |x: usize, y: usize| if x + y == 1 { 0.010 } else { 0.100 };
        let limits = Limits { degree: 2, bytes: 1e9 };
        let r = build(&[&a, &b, &c], rtt, PRICES, limits, 2);
        let ends: Vec<(usize, usize)> = r.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(ends, vec![(0, 1), (1, 2)], "equal replicas are no candidate");
        assert_eq!(r.pairs[0].updates, 2);
        let bytes = 40.0 + 2.0 * 20.0 + 2.0 * (36.0 + 8.0);
        assert_eq!(r.pairs[0].bytes, bytes);
        assert!((r.pairs[0].seconds - (0.015 + bytes / 1e6)).abs() < 1e-12);
        assert!(r.pairs[0].weight > r.pairs[1].weight, "the same updates over the faster link are worth more");
        // Both pairs would bring b the same two keys.
        assert_eq!(r.overlaps.len(), 1);
        assert!((r.overlaps[0].2 - 2.0 / r.pairs[1].seconds).abs() < 1e-9);
    }

    #[test]
    fn weighted_updates_favour_the_pair_whose_receiver_reads_them() {
        // a is ahead of b on key 1 and of c on key 2, over equal fast links (b and c are far
        // apart); c reads key 2 often.
        let (a, b, c): (Vec<_>, Vec<_>, Vec<_>) =
            (vec![(1, v(2)), (2, v(2))], vec![(1, v(1)), (2, v(2))], vec![(1, v(2)), (2, v(1))]);
        let limits = Limits { degree: 1, bytes: 1e9 };
        let rtt = |x: usize, y: usize| if x == 0 || y == 0 { 0.010 } else { 0.100 };
        let plain = build(&[&a, &b, &c], rtt, PRICES, limits, 2);
        let weight = |r: &Round, x, y| r.pairs.iter().find(|p| (p.a, p.b) == (x, y)).unwrap().weight;
        assert_eq!(weight(&plain, 0, 1), weight(&plain, 0, 2), "one update each: worth the same");
        let reads = |receiver: usize, key: Key| if (receiver, key) == (2, 2) { 5.0 } else { 1.0 };
        let weighted = build_weighted(&[&a, &b, &c], rtt, reads, PRICES, limits, 2);
        assert!((weight(&weighted, 0, 2) / weight(&weighted, 0, 1) - 5.0).abs() < 1e-9);
        let choice = weighted.choose(Policy::Exact, Solver::Sa, 0, 0, 0);
        let ends: Vec<_> = choice.pairs.iter().map(|&p| (weighted.pairs[p].a, weighted.pairs[p].b)).collect();
        assert_eq!(ends, vec![(0, 2)], "a's one exchange goes where its update will be read");
    }

    #[test]
    fn every_policy_keeps_the_limits_and_exact_is_never_beaten() {
        for seed in 0..40 {
            let limits = Limits { degree: 1 + (seed % 3) as u32, bytes: 400.0 + 40.0 * seed as f64 };
            let r = random_round(seed, 6, limits);
            let exact = r.choose(Policy::Exact, Solver::Sa, 0, 0, 0);
            for (policy, solver) in [
                (Policy::Greedy, Solver::Sa),
                (Policy::Anneal, Solver::Sa),
                (Policy::Anneal, Solver::Sqa),
                (Policy::Anneal, Solver::Bsb),
            ] {
                let c = r.choose(policy, solver, 4, 100, seed);
                let mut chosen = vec![false; r.pairs.len()];
                c.pairs.iter().for_each(|&i| chosen[i] = true);
                assert!(r.feasible(&chosen), "seed {seed}: {policy:?}/{solver:?} broke a limit");
                assert!(c.value <= exact.value + 1e-9, "seed {seed}: {policy:?} beat the optimum");
            }
        }
    }

    #[test]
    fn the_qubo_ground_state_is_the_exact_optimum() {
        // Degree limits only (their slack is exact); small enough for exhaustive search.
        let mut checked = 0;
        for seed in 0..30 {
            let r = random_round(seed, 5, Limits { degree: 1 + (seed % 2) as u32, bytes: 1e9 });
            let Some(ground) = r.qubo_ground_state() else { continue };
            checked += 1;
            let exact = r.choose(Policy::Exact, Solver::Sa, 0, 0, 0);
            assert!(r.feasible(&ground), "seed {seed}: the ground state breaks a limit");
            assert!((r.value(&ground) - exact.value).abs() < 1e-9, "seed {seed}");
        }
        assert!(checked >= 20, "only {checked} rounds were small enough");
    }

    /// On 30 random rounds of six replicas (about 10 candidate pairs and 20 bits with slack):
    /// the share of the optimum each policy reaches on average, and how often it is the optimum.
    fn quality(policy: Policy, solver: Solver, reads: u32, sweeps: u32) -> (f64, usize) {
        let (mut share, mut hits) = (0.0, 0);
        for seed in 0..30 {
            let r = random_round(seed, 6, Limits { degree: 2, bytes: 1e9 });
            let best = r.choose(Policy::Exact, Solver::Sa, 0, 0, 0).value;
            let found = r.choose(policy, solver, reads, sweeps, seed).value;
            share += found / best / 30.0;
            hits += usize::from((found - best).abs() < 1e-9);
        }
        (share, hits)
    }

    #[test]
    fn annealing_with_enough_sweeps_beats_greedy_on_small_rounds() {
        let (greedy, greedy_hits) = quality(Policy::Greedy, Solver::Sa, 0, 0);
        assert!(greedy > 0.95 && greedy < 0.99, "greedy reaches {greedy:.4} of the optimum");
        for (solver, reads, sweeps) in [(Solver::Sa, 32, 1000), (Solver::Sqa, 32, 1000), (Solver::Bsb, 8, 1000)] {
            let (share, hits) = quality(Policy::Anneal, solver, reads, sweeps);
            assert!(share > greedy && share > 0.985, "{solver:?}: {share:.4} of the optimum, greedy {greedy:.4}");
            assert!(hits > greedy_hits, "{solver:?} found the optimum {hits} times, greedy {greedy_hits}");
        }
        // With a small budget the slack bits' barriers win and greedy is as good or better.
        let (small, _) = quality(Policy::Anneal, Solver::Sa, 8, 200);
        assert!(small < greedy, "SA with 8 x 200: {small:.4}, greedy {greedy:.4}");
    }

    #[test]
    fn a_broken_limit_is_repaired_by_dropping_the_lightest_pair() {
        let r = random_round(3, 6, Limits { degree: 1, bytes: 1e9 });
        let all = vec![true; r.pairs.len()];
        let c = r.repair(all);
        assert!(c.repaired > 0);
        let mut chosen = vec![false; r.pairs.len()];
        c.pairs.iter().for_each(|&i| chosen[i] = true);
        assert!(r.feasible(&chosen));
    }
}
