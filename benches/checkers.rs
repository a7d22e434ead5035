//! Checker cost against run length: every checker of the quickstart scenario (the whole
//! `Report::build`) on runs of growing simulated duration.
//!
//! `cargo bench --bench checkers`. Throughput is operations in the history per second, so a
//! checker that is O(n log n) keeps a nearly flat rate as the duration doubles; a quadratic
//! one (the staleness scan before issue 17) halves it each time.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncsim::protocols::GossipNode;
use syncsim::reports::report::{Report, RunContext};
use syncsim::reports::{Tracker, lin};
use syncsim::scenario::Scenario;
use syncsim::sim::{Protocol, Sim, SimDuration};

fn by_duration(c: &mut Criterion) {
    let s = Scenario::load("scenarios/quickstart.yaml".as_ref()).unwrap();
    let config = s.protocol().get::<GossipNode>().expect("a gossip scenario").clone();
    let mut group = c.benchmark_group("quickstart checkers by duration");
    group.sample_size(10);
    for seconds in [100u64, 200, 400, 800] {
        let mut sim = s.sim.clone();
        sim.duration = SimDuration(seconds * 1_000_000_000);
        let out = Sim::<GossipNode, Tracker>::new(sim, config.clone(), Tracker::new(s.node_names.len())).unwrap().run();
        let context = || RunContext {
            name: s.label(),
            description: String::new(),
            file: s.file.clone(),
            parameters: s.parameters(),
            protocol: GossipNode::info(&config),
            node_names: s.node_names.clone(),
            expectations: s.expectations.clone(),
            reproduce: String::new(),
            lincheck_budget: lin::Budget::default(),
            spares: 0,
        };
        group.throughput(Throughput::Elements(out.history.len() as u64));
        group.bench_function(format!("{seconds} s"), |b| b.iter(|| Report::build(context(), &out)));
    }
    group.finish();
}

criterion_group!(benches, by_duration);
criterion_main!(benches);
