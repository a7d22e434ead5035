//! The same protocol and workload on the native engine and on madsim, through the async host:
//! protocol handler calls (starts, deliveries, timers, requests) per second on each, and the
//! ratio. Both runs use the same scenario and seed and no report observer, so what is timed is
//! the host alone.
//!
//! `scripts/madsim.sh bench` runs both (a `--cfg madsim` build); `cargo bench --bench host`
//! runs the engine side only. Criterion's "elements" are handler calls; the last lines printed
//! are each host's calls per second (median of a few runs) and their ratio.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use syncsim::ProtocolConfig;
use syncsim::protocols::{GossipNode, RaftNode};
use syncsim::scenario::Scenario;
use syncsim::sim::{Protocol, RunOutput, Sim, SimConfig};

/// Scenarios both hosts can run: gossip, and Raft.
const SCENARIOS: [&str; 2] = ["scenarios/madsim-gossip.yaml", "scenarios/madsim-raft.yaml"];
const SEED: u64 = 1;

fn config(file: &str) -> (SimConfig, ProtocolConfig) {
    let scenario = Scenario::load(Path::new(file)).expect("bundled scenario");
    let mut sim = scenario.sim.clone();
    sim.seed = SEED;
    (sim, scenario.protocol().clone())
}

fn engine<P: Protocol>(sim: &SimConfig, protocol: &P::Config) -> RunOutput<()> {
    Sim::<P, ()>::new(sim.clone(), protocol.clone(), ()).expect("valid").run()
}

#[cfg(madsim)]
fn madsim<P: syncsim::host::Hostable>(sim: &SimConfig, protocol: &P::Config) -> RunOutput<()> {
    syncsim::host::simulate::<P, ()>(sim, protocol.clone(), ()).expect("madsim can express it")
}

/// One run of `file` on `host` ("engine" or "madsim"); its handler calls.
fn run(host: &str, file: &str) -> u64 {
    let (sim, protocol) = config(file);
    let (gossip, raft) = (protocol.get::<GossipNode>(), protocol.get::<RaftNode>());
    let out = match (host, gossip, raft) {
        ("engine", Some(c), _) => engine::<GossipNode>(&sim, c),
        ("engine", _, Some(c)) => engine::<RaftNode>(&sim, c),
        #[cfg(madsim)]
        ("madsim", Some(c), _) => madsim::<GossipNode>(&sim, c),
        #[cfg(madsim)]
        ("madsim", _, Some(c)) => madsim::<RaftNode>(&sim, c),
        _ => unreachable!("{host} {file}"),
    };
    out.events
}

fn hosts() -> &'static [&'static str] {
    if cfg!(madsim) { &["engine", "madsim"] } else { &["engine"] }
}

fn name(file: &str) -> &str {
    Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or(file)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("host");
    group.sample_size(10);
    for file in SCENARIOS {
        for &host in hosts() {
            group.throughput(Throughput::Elements(run(host, file)));
            group.bench_function(format!("{host}/{}", name(file)), |b| b.iter(|| black_box(run(host, file))));
        }
    }
    group.finish();
}

/// Handler calls per second of `host` on `file`: the median of five timed runs.
fn calls_per_second(host: &str, file: &str) -> f64 {
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let calls = run(host, file);
            calls as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[2]
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
    println!("\nhandler calls per second (median of 5 runs):");
    for file in SCENARIOS {
        let rates: Vec<(&str, f64)> = hosts().iter().map(|&h| (h, calls_per_second(h, file))).collect();
        for (host, rate) in &rates {
            println!("  {:<14} {host:<7} {:>12.0}", name(file), rate);
        }
        if let [(_, engine), (_, madsim)] = rates[..] {
            println!("  {:<14} ratio   engine is {:.1}x madsim", name(file), engine / madsim);
        }
    }
}
