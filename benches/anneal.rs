//! Simulated annealing speed on Gset's G1 (800 spins, 19176 couplings) at 1000 sweeps a read:
//! criterion's "elements" are spin updates (proposals), so its rate compares with D-Wave's
//! neal (about 26 ms a read, some 30 M updates a second, on this kind of machine).
//!
//! `cargo bench --bench anneal`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncsim::protocols::anneal::formats::parse;
use syncsim::protocols::anneal::sa::{SaParams, anneal};

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

criterion_group!(benches, g1);
criterion_main!(benches);
