//! CRDT speed: merges of each data type, whole simulated runs under each sync mode, and the
//! strong-eventual-consistency (with the strong list specification), staleness, session and
//! lost-write checkers on finished runs.
//!
//! `cargo bench --bench crdt`. Merges are counted per join of two replica states built from
//! 1000 updates each at different nodes; runs in simulated events per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use syncsim::protocols::crdt::{Crdt, Env, GCounter, LwwRegister, MvRegister, OrSet, PnCounter, Rga};
use syncsim::protocols::{CrdtFamily, CrdtNode, GossipNode};
use syncsim::reports::Tracker;
use syncsim::reports::writes::WriteIndex;
use syncsim::runner;
use syncsim::scenario::Scenario;
use syncsim::sim::history::Op;
use syncsim::sim::{Datatype, Protocol, Sim};

const UPDATES: u64 = 1000;

/// A replica's state after `UPDATES` updates made at `node`, with a few elements recurring so
/// that adds, removes and overwrites meet.
fn replica<C: Crdt>(node: u32, op: impl Fn(u64) -> Op) -> C {
    let mut state = C::default();
    let mut env = Env { me: node, ..Env::default() };
    for i in 0..UPDATES {
        env.now_ms = i;
        state.update(&op(i), &mut env);
    }
    state
}

fn bench_join<C: Crdt>(c: &mut Criterion, op: impl Fn(u64) -> Op + Copy) {
    let (a, b): (C, C) = (replica(1, op), replica(2, op));
    let mut group = c.benchmark_group("crdt join");
    group.throughput(Throughput::Elements(1));
    group.bench_function(C::NAME, |bench| {
        bench.iter(|| {
            let mut x = a.clone();
            x.join(&b, &mut Env::default());
            x
        })
    });
    group.finish();
}

fn joins(c: &mut Criterion) {
    bench_join::<GCounter>(c, |_| Op::Incr { key: 0, by: 1 });
    bench_join::<PnCounter>(c, |i| if i % 3 == 0 { Op::Decr { key: 0, by: 1 } } else { Op::Incr { key: 0, by: 2 } });
    bench_join::<LwwRegister>(c, |i| Op::Put { key: 0, value: i });
    bench_join::<MvRegister>(c, |i| Op::Put { key: 0, value: i });
    bench_join::<OrSet>(c, |i| {
        if i % 3 == 2 { Op::Remove { key: 0, elem: i % 50 } } else { Op::Add { key: 0, elem: i % 50 } }
    });
    bench_join::<Rga>(c, |i| {
        if i % 4 == 3 { Op::Delete { key: 0, pos: i % 7 } } else { Op::Insert { key: 0, pos: i % 11, elem: i } }
    });
}

fn runs(c: &mut Criterion) {
    let s = syncsim::ScenarioFile::load("scenarios/crdt-sync-modes.yaml".as_ref()).unwrap();
    let mut group = c.benchmark_group("crdt-sync-modes run");
    group.sample_size(10);
    for v in s.runs() {
        let events = runner::run(v, 1, false).unwrap().report.run.events;
        group.throughput(Throughput::Elements(events));
        group.bench_function(v.variant.clone().unwrap(), |b| b.iter(|| runner::run(v, 1, false).unwrap()));
    }
    group.finish();
}

fn checkers(c: &mut Criterion) {
    let s = Scenario::load("scenarios/crdt-partition.yaml".as_ref()).unwrap();
    let config = s.protocol().get::<CrdtFamily>().expect("a CRDT scenario").clone();
    let mut sim = s.sim.clone();
    sim.seed = 1;
    let out =
        Sim::<CrdtNode<OrSet>, Tracker>::new(sim, config.clone(), Tracker::new(s.node_names.len())).unwrap().run();
    let datatype = CrdtNode::<OrSet>::info(&config).datatype;
    let vis = &out.observer.visibility;
    let mut group = c.benchmark_group("crdt checkers");
    group.throughput(Throughput::Elements(out.history.len() as u64));
    group.bench_function("sec, crdt-partition", |b| {
        let writes = syncsim::reports::writes::WriteIndex::new(&out.history, vis);
        b.iter(|| syncsim::reports::sec::check(&writes, datatype, &out.final_reads, |n| n.to_string()))
    });
    group.bench_function("staleness, crdt-partition", |b| {
        b.iter(|| syncsim::reports::staleness::check(&out.history, vis, |n| n.to_string()))
    });
    group.finish();

    // The strong list specification, inside the SEC check of a sequence run.
    let s = Scenario::load("scenarios/crdt-sequence.yaml".as_ref()).unwrap();
    let config = s.protocol().get::<CrdtFamily>().expect("a CRDT scenario").clone();
    let mut sim = s.sim.clone();
    sim.seed = 1;
    let out = Sim::<CrdtNode<Rga>, Tracker>::new(sim, config, Tracker::new(s.node_names.len())).unwrap().run();
    let vis = &out.observer.visibility;
    let mut group = c.benchmark_group("crdt checkers");
    group.throughput(Throughput::Elements(out.history.len() as u64));
    group.bench_function("sec with the list specification, crdt-sequence", |b| {
        let writes = syncsim::reports::writes::WriteIndex::new(&out.history, vis);
        b.iter(|| syncsim::reports::sec::check(&writes, Datatype::Sequence, &out.final_reads, |n| n.to_string()))
    });
    group.finish();

    // Session guarantees and lost writes on the quickstart's gossip run.
    let s = Scenario::load("scenarios/quickstart.yaml".as_ref()).unwrap();
    let config = s.protocol().get::<GossipNode>().expect("a gossip scenario").clone();
    let mut sim = s.sim.clone();
    sim.seed = 1;
    let out = Sim::<GossipNode, Tracker>::new(sim, config, Tracker::new(s.node_names.len())).unwrap().run();
    let vis = &out.observer.visibility;
    let mut group = c.benchmark_group("consistency checkers");
    group.throughput(Throughput::Elements(out.history.len() as u64));
    group.bench_function("session guarantees, quickstart", |b| {
        let writes = WriteIndex::new(&out.history, vis);
        b.iter(|| syncsim::reports::session::check(&writes, true, |n| n.to_string()))
    });
    group.bench_function("lost writes from final states, quickstart", |b| {
        b.iter(|| {
            let writes = WriteIndex::new(&out.history, vis);
            syncsim::reports::writes::unheld(&writes, Datatype::KeyValue, &out.final_reads)
        })
    });
    group.finish();
}

criterion_group!(benches, joins, runs, checkers);
criterion_main!(benches);
