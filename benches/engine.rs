//! Engine throughput: a flood of small messages between random peers through the full network
//! model (log-normal latency, loss, duplication, partition checks), beside a bare hand-written
//! `BinaryHeap` event loop doing the same walk, the speed of light for this machine.
//!
//! `cargo bench --bench engine`; figures are delivered messages per second (criterion's
//! "elements").

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use syncsim::protocols::{FloodConfig, FloodNode};
use syncsim::sim::dist::Latency;
use syncsim::sim::network::{LinkSpec, NetworkConfig};
use syncsim::sim::units::Probability;
use syncsim::sim::{Sim, SimConfig, SimDuration};

const NODES: u32 = 100;
const TOKENS: u32 = 4;
/// Simulated time each iteration runs; about a million deliveries at this latency.
const SECONDS: u64 = 5;

fn flood_config() -> SimConfig {
    SimConfig {
        seed: 1,
        nodes: NODES,
        duration: SimDuration::from_secs(SECONDS),
        settle: SimDuration::ZERO,
        sample_every: SimDuration::ZERO,
        network: NetworkConfig {
            default: LinkSpec {
                latency: Latency::Lognormal { median: SimDuration::from_millis(2), p99: SimDuration::from_millis(20) },
                loss: Probability::new(0.001).unwrap(),
                duplicate: Probability::new(0.001).unwrap(),
                bandwidth: None,
            },
            ..NetworkConfig::default()
        },
        ..SimConfig::default()
    }
}

fn run_flood() -> u64 {
    let sim =
        Sim::<FloodNode>::new(flood_config(), FloodConfig { tokens: TOKENS, size: 64, ..FloodConfig::default() }, ())
            .unwrap();
    sim.run().net.delivered
}

/// The same walk with nothing but a heap of (time, seq, node) and one ChaCha8 stream drawing a
/// uniform latency and a random peer per message.
fn bare_loop(deliveries: u64) -> u64 {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    for node in 0..NODES {
        for _ in 0..TOKENS {
            heap.push(Reverse((rng.next_u64() % 4_000_000, seq, node)));
            seq += 1;
        }
    }
    let mut delivered = 0;
    while let Some(Reverse((time, _, node))) = heap.pop() {
        delivered += 1;
        if delivered == deliveries {
            break;
        }
        let peer = ((u128::from(rng.next_u64()) * u128::from(NODES - 1)) >> 64) as u32;
        let peer = if peer >= node { peer + 1 } else { peer };
        let latency = 1_000_000 + rng.next_u64() % 2_000_000;
        heap.push(Reverse((time + latency, seq, peer)));
        seq += 1;
    }
    delivered
}

fn engine(c: &mut Criterion) {
    let deliveries = run_flood();
    let mut group = c.benchmark_group("flood");
    group.sample_size(10);
    group.throughput(Throughput::Elements(deliveries));
    group.bench_function("engine, full network model", |b| b.iter(run_flood));
    group.bench_function("bare BinaryHeap loop", |b| b.iter(|| bare_loop(deliveries)));
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
