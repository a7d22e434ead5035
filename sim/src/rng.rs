//! Random streams: one master seed, one independent ChaCha8 stream per subsystem and per node.
//!
//! Every stream is `ChaCha8Rng::seed_from_u64(master)` with its own fixed stream id, so adding a
//! node, a client or a subsystem never shifts the numbers any other stream draws.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The random generator every part of a simulation draws from.
pub type SimRng = ChaCha8Rng;

/// The fixed stream ids of the engine's subsystems and of each node and client.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Latency, loss and duplication draws of the network.
    Network,
    /// Random ("swarm") faults.
    Faults,
    /// Scripted workload choices that belong to no client.
    Workload,
    /// Swarm testing's draw of the fault kinds and the workload's shape for a seed.
    Swarm,
    /// The draw of the core a liveness phase heals (`settle: { heal: core }`).
    Settle,
    /// The node timing model's draws: timer jitter and clock rates (`timing:`).
    Timing,
    /// Byzantine faults: which nodes turn, their splits, and which messages their lies strike.
    Byzantine,
    /// The workload's bursts: when they start and which key each strikes.
    Bursts,
    /// Node `k`'s own stream, handed to its protocol through `Ctx::rng`.
    Node(u32),
    /// Client `k`'s arrivals, keys and operation choices.
    Client(u32),
    /// The `i`-th run of an experiment of many runs under one master seed: its own master
    /// seed is [`Stream::seed`] of this stream.
    Trial(u64),
}

impl Stream {
    fn id(self) -> u64 {
        match self {
            Stream::Network => 1,
            Stream::Faults => 2,
            Stream::Workload => 3,
            Stream::Swarm => 4,
            Stream::Settle => 5,
            Stream::Timing => 6,
            Stream::Byzantine => 7,
            Stream::Bursts => 8,
            Stream::Node(k) => (1 << 32) | u64::from(k),
            Stream::Client(k) => (2 << 32) | u64::from(k),
            Stream::Trial(i) => (3 << 40) | (i & ((1 << 40) - 1)),
        }
    }

    /// A master seed derived from `master_seed` for this stream: how a run of many runs (an
    /// experiment's trials) seeds each of them, so that every seed of syncsim comes from one
    /// scheme.
    pub fn seed(self, master_seed: u64) -> u64 {
        self.rng(master_seed).next_u64()
    }

    /// The generator for this stream under `master_seed`.
    pub fn rng(self, master_seed: u64) -> SimRng {
        let mut rng = ChaCha8Rng::seed_from_u64(master_seed);
        rng.set_stream(self.id());
        rng
    }
}

/// A uniform float in [0, 1) from the top 53 bits of one draw.
#[inline]
pub fn unit_f64(rng: &mut SimRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform integer in [0, n) by widening multiplication (Lemire); `n` must be positive.
///
/// The bias is below 2^-64 · n, far under anything a simulation can observe.
#[inline]
pub fn below(rng: &mut SimRng, n: u64) -> u64 {
    debug_assert!(n > 0);
    ((u128::from(rng.next_u64()) * u128::from(n)) >> 64) as u64
}

/// True with probability `p`.
#[inline]
pub fn chance(rng: &mut SimRng, p: f64) -> bool {
    p > 0.0 && unit_f64(rng) < p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let a1 = Stream::Node(0).rng(7).next_u64();
        let a2 = Stream::Node(0).rng(7).next_u64();
        let b = Stream::Node(1).rng(7).next_u64();
        let c = Stream::Network.rng(7).next_u64();
        let d = Stream::Node(0).rng(8).next_u64();
        assert_eq!(a1, a2);
        assert_ne!(a1, b);
        assert_ne!(a1, c);
        assert_ne!(a1, d);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Stream::Workload.rng(1);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let x = below(&mut rng, 7);
            seen[x as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
