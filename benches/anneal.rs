//! Simulated annealing speed on Gset's G1 (800 spins, 19176 couplings) at 1000 sweeps a read:
//! criterion's "elements" are spin updates (proposals), so its rate compares with D-Wave's
//! neal (about 26 ms a read, some 30 M updates a second, on this kind of machine).
//!
//! The sync scheduler's round: building the pair-selection problem for twelve replicas of a
//! 400-key store, and choosing pairs by each policy; and whole anneal-vs-gossip runs.
//!
//! `cargo bench --bench anneal`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncsim::protocols::anneal::Solver;
use syncsim::protocols::anneal::formats::parse;
use syncsim::protocols::anneal::sa::{SaParams, anneal};
use syncsim::protocols::anneal::sched::plan::{self, Limits, Policy, Prices};
use syncsim::protocols::gossip::Version;
use syncsim::sim::rng::{Stream, below, unit_f64};

fn g1(c: &mut Criterion) {
    let problem = parse(&std::fs::read_to_string("tests/data/gset/G1.txt").unwrap()).unwrap();
    let model = problem.ising();
    let mut group = c.benchmark_group("sa G1");
    group.sample_size(20);
    group.throughput(Throughput::Elements(800 * 1000));
    let mut seed = 0;
    group.bench_function("one read, 1000 sweeps", |b| {
        b.iter(|| {
            seed += 1;
            anneal(&model, &SaParams { sweeps: 1000, reads: 1, beta: None, seed })
        })
    });
    group.finish();
}

/// Twelve replicas in three regions, each holding a random 90% of 400 keys at random versions.
fn scheduler_round(c: &mut Criterion) {
    let mut rng = Stream::Workload.rng(7);
    let mut digests: Vec<Vec<(u64, Version)>> = vec![Vec::new(); 12];
    for d in &mut digests {
        for k in 0..400u64 {
            if unit_f64(&mut rng) < 0.9 {
                d.push((k, Version { lamport: 1 + below(&mut rng, 3), node: 0 }));
            }
        }
    }
    let refs: Vec<&[(u64, Version)]> = digests.iter().map(Vec::as_slice).collect();
    let rtt = |a: usize, b: usize| if a / 4 == b / 4 { 0.001 } else { 0.040 + 0.040 * ((a / 4 + b / 4) % 3) as f64 };
    let prices = Prices { digest_entry: 20.0, update: 36.0, want: 8.0, fixed: 30.0, bandwidth: 250e3, floor: 0.2 };
    let limits = Limits { degree: 2, bytes: 50e3 };
    let mut group = c.benchmark_group("scheduler round (12 replicas, 400 keys)");
    group.sample_size(20);
    group.bench_function("build", |b| b.iter(|| plan::build(&refs, rtt, prices, limits, 4)));
    let round = plan::build(&refs, rtt, prices, limits, 4);
    for (name, policy, solver, reads, sweeps) in [
        ("greedy", Policy::Greedy, Solver::Sa, 0, 0),
        ("exact", Policy::Exact, Solver::Sa, 0, 0),
        ("sa 16x400", Policy::Anneal, Solver::Sa, 16, 400),
        ("sqa 8x200", Policy::Anneal, Solver::Sqa, 8, 200),
        ("bsb 8x400", Policy::Anneal, Solver::Bsb, 8, 400),
    ] {
        group.bench_function(name, |b| b.iter(|| round.choose(policy, solver, reads, sweeps, 1)));
    }
    group.finish();
}

/// One 30-second anneal-vs-gossip run per variant.
fn scheduler_runs(c: &mut Criterion) {
    let s = syncsim::ScenarioFile::load("scenarios/anneal-vs-gossip.yaml".as_ref()).unwrap();
    let mut group = c.benchmark_group("anneal-vs-gossip run");
    group.sample_size(10);
    for v in ["random", "greedy", "anneal-sa"] {
        let variant = s.variant(v).unwrap();
        group.bench_function(v, |b| b.iter(|| syncsim::runner::run(variant, 1, false).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, g1, scheduler_round, scheduler_runs);
criterion_main!(benches);
