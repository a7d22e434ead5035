//! Every shipped scenario is a worked example CI runs: it must pass its own expectations, and
//! it must be deterministic — the same seed gives the same trace hash and a byte-identical
//! report, a different seed a different hash.

use syncsim::runner;
use syncsim::scenario::{Scenario, ScenarioFile};

fn shipped() -> Vec<Scenario> {
    let mut paths: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 3, "quickstart and at least two more worked examples");
    paths
        .iter()
        .map(|p| ScenarioFile::load(p).unwrap_or_else(|e| panic!("{e}")))
        // A scenario with variants is each of them.
        .flat_map(|f| f.runs().to_vec())
        // Experiments (many trials, not one run) have their own tests (tests/raft.rs).
        .filter(|s| s.raw.experiment.is_none())
        .collect()
}

#[test]
fn every_shipped_scenario_passes_its_expectations() {
    for s in shipped() {
        let r = runner::run(&s, s.raw.seed, false).unwrap();
        // The Raft side of the Byzantine comparison is there to break: an equivocating leader
        // forks its log (tests/byzantine.rs pins how).
        if s.file.ends_with("byzantine-equivocation.yaml") && s.variant.as_deref() == Some("raft") {
            assert_eq!(r.report.exit_code, 1, "Raft under an equivocating leader kept safety?");
            continue;
        }
        assert_eq!(r.report.exit_code, 0, "{} failed: {:?}", s.file, r.report.failures);
        assert!(!s.expectations.is_empty(), "{} should state what it expects", s.file);
    }
}

#[test]
fn the_same_seed_gives_the_same_trace_and_report() {
    for s in shipped() {
        let seed = s.raw.seed;
        let a = runner::run(&s, seed, false).unwrap();
        let b = runner::run(&s, seed, false).unwrap();
        assert_eq!(a.report.trace_hash, b.report.trace_hash, "{}", s.file);
        assert_eq!(a.history, b.history, "{}", s.file);
        let (ja, jb) =
            (serde_json::to_string_pretty(&a.report).unwrap(), serde_json::to_string_pretty(&b.report).unwrap());
        assert_eq!(ja, jb, "{}: report.json differs between two runs of one seed", s.file);
        let c = runner::run(&s, seed + 1, false).unwrap();
        assert_ne!(a.report.trace_hash, c.report.trace_hash, "{}: seeds {seed} and {} collide", s.file, seed + 1);
    }
}

#[test]
fn recording_the_trace_does_not_change_the_run() {
    let s = Scenario::load("scenarios/partition-heal.yaml".as_ref()).unwrap();
    let plain = runner::run(&s, 3, false).unwrap();
    let traced = runner::run(&s, 3, true).unwrap();
    assert_eq!(plain.report.trace_hash, traced.report.trace_hash);
    assert!(plain.trace.is_empty());
    assert!(traced.trace.len() as u64 >= plain.report.network.stats.delivered);
}

/// `lose_disk` takes what a crash keeps: n0, cut off from its peers, takes writes only it holds;
/// a crash and restart keeps them (gossip persists its store), losing its disk loses them all,
/// and losing it back to two seconds ago (`lasts: 2s`: the disk stopped persisting then) loses
/// only the writes of those two seconds.
#[test]
fn a_lost_disk_loses_what_a_crash_keeps() {
    let lost = |fault: &str| {
        let text = format!(
            "name: disk\nduration: 10s\nsettle: 5s\nnodes: 3\nprotocol: {{ kind: gossip }}\n\
             workload:\n  clients: 3\n  arrival: {{ poisson: 50/s }}\n  ops: {{ put: 50%, get: 50% }}\n\
             faults:\n  - {{ at: 0s, partition: [[n0], [n1, n2]] }}\n  - {{ {fault} }}\n"
        );
        let s = Scenario::parse(&text, "disk.yaml").unwrap_or_else(|e| panic!("{e}"));
        runner::run(&s, 1, false).unwrap().report.metric("writes.lost").unwrap()
    };
    assert_eq!(lost("at: 6s, crash: n0, lasts: 10ms"), 0.0, "a crash keeps what the disk holds");
    let all = lost("at: 6s, lose_disk: n0");
    let recent = lost("lose_disk: n0, at: 4s, lasts: 2s");
    assert!(all > 0.0, "the writes only n0 held are lost with its disk");
    assert!(0.0 < recent && recent < all, "losing the last two seconds loses fewer ({recent}) than all ({all})");
}

/// The progress a run reports (for `run`'s bar) only watches it: the times it tells rise to
/// the end of the run, and the run is the one an unwatched run of the seed makes.
#[test]
fn a_watched_run_reports_rising_progress_and_is_the_same_run() {
    let s = Scenario::load("scenarios/partition-heal.yaml".as_ref()).unwrap();
    let seen = std::cell::RefCell::new(Vec::new());
    let progress = |now: syncsim::sim::SimTime, end: syncsim::sim::SimTime| seen.borrow_mut().push((now, end));
    let watched = runner::run_watched(runner::Host::Engine, &s, 3, false, Some(&progress)).unwrap();
    let plain = runner::run(&s, 3, false).unwrap();
    assert_eq!(watched.report.trace_hash, plain.report.trace_hash);
    let seen = seen.into_inner();
    assert!(seen.len() >= 2, "a run of {} events reports more than once: {seen:?}", plain.report.run.events);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "progress never goes back");
    assert!(seen.iter().all(|&(now, end)| now <= end && end.0 == plain.report.run.end_ns));
    let cost = s.cost();
    assert!(
        plain.report.run.events as f64 <= cost.calls,
        "{} events, estimated {}",
        plain.report.run.events,
        cost.calls
    );
}
