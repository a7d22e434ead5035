//! Every shipped scenario is a worked example CI runs: it must pass its own expectations, and
//! it must be deterministic — the same seed gives the same trace hash and a byte-identical
//! report, a different seed a different hash.

use syncsim::runner;
use syncsim::scenario::Scenario;

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
        .map(|p| Scenario::load(p).unwrap_or_else(|e| panic!("{e}")))
        // Experiments (many trials, not one run) have their own tests (tests/raft.rs).
        .filter(|s| s.raw.experiment.is_none())
        // A scenario with variants is each of them.
        .flat_map(|s| if s.variants.is_empty() { vec![s] } else { s.variants.clone() })
        .collect()
}

#[test]
fn every_shipped_scenario_passes_its_expectations() {
    for s in shipped() {
        let r = runner::run(&s, s.raw.seed, false).unwrap();
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
