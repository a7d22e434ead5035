//! CRDTs end to end: the shipped CRDT scenarios keep strong eventual consistency over 200
//! seeds in every sync mode, the variants comparison reports what each mode costs, and
//! deliberately broken merges are caught with a reproducing command.

use rayon::prelude::*;
use syncsim::reports::Verdict;
use syncsim::reports::sec::Finding;
use syncsim::runner::{self, RunResult};
use syncsim::scenario::{Scenario, ScenarioFile};

fn load(path: &str) -> Scenario {
    Scenario::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

fn sweep(scenario: &Scenario, seeds: std::ops::Range<u64>) -> Vec<(u64, RunResult)> {
    seeds.into_par_iter().map(|seed| (seed, runner::run(scenario, seed, false).unwrap())).collect()
}

/// Every seed's final states valid and converged, every expectation met.
fn assert_sec_over(name: &str, s: &Scenario, seeds: std::ops::Range<u64>) {
    let mut failures = Vec::new();
    for (seed, r) in sweep(s, seeds) {
        let sec = r.report.sec.as_ref().expect("CRDTs claim strong eventual consistency");
        if !(sec.valid && sec.converged && r.report.exit_code == 0) {
            failures.push(format!("{name} seed {seed}: {:?}\n  reproduce: {}", r.report.failures, r.report.reproduce));
        }
        assert!(sec.keys > 0 && sec.updates > 0, "{name} seed {seed}: nothing was judged");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn crdt_partition_keeps_sec_over_200_seeds() {
    assert_sec_over("crdt-partition", &load("scenarios/crdt-partition.yaml"), 0..200);
}

#[test]
fn every_sync_mode_keeps_sec_over_200_seeds() {
    let s = ScenarioFile::load("scenarios/crdt-sync-modes.yaml".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.runs().len(), 3);
    for v in s.runs() {
        let name = format!("crdt-sync-modes/{}", v.variant.as_deref().unwrap());
        assert_sec_over(&name, v, 0..200);
    }
}

/// Every data type under every sync mode, on the partition scenario's workload and faults with
/// the type's own operations.
#[test]
fn every_type_keeps_sec_in_every_sync_mode() {
    let base = std::fs::read_to_string("scenarios/crdt-partition.yaml").unwrap();
    let types = [
        ("g-counter", "{ incr: 60%, read: 40% }"),
        ("pn-counter", "{ incr: 40%, decr: 20%, read: 40% }"),
        ("lww-map", "{ put: 60%, get: 40% }"),
        ("mv-register", "{ put: 60%, read: 40% }"),
        ("or-set", "{ add: 40%, remove: 30%, read: 30% }"),
        ("rga", "{ insert: 40%, delete: 20%, read: 40% }"),
    ];
    let mut judged = 0;
    for (datatype, ops) in types {
        for sync in ["state", "delta", "op"] {
            let text = base
                .replace("type: or-set ", &format!("type: {datatype} "))
                .replace("sync: delta ", &format!("sync: {sync} "))
                .replace("ops: { add: 40%, remove: 30%, read: 30% }", &format!("ops: {ops}"));
            let s = Scenario::parse(&text, &format!("{datatype}-{sync}.yaml")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.protocol().info().variant, format!("{datatype}/{sync}"), "the substitution took");
            assert_sec_over(&format!("{datatype}/{sync}"), &s, 0..25);
            judged += 1;
        }
    }
    assert_eq!(judged, 18);
}

/// The comparison of the three modes shows what it is for: full state costs the most bytes,
/// deltas far fewer, and operations converge fastest (they are broadcast at once).
#[test]
fn the_sync_modes_comparison_shows_bytes_and_convergence_per_mode() {
    let out = std::env::temp_dir().join(format!("syncsim-crdt-compare-{}", std::process::id()));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["run", "scenarios/crdt-sync-modes.yaml", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap()).unwrap();
    let rows = json["variants"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["state", "delta", "op"]);
    let field = |i: usize, f: &str| rows[i]["figures"][f].as_f64().unwrap_or_else(|| panic!("{f} of {}", names[i]));
    assert!(field(1, "bytes_per_op") < field(0, "bytes_per_op") / 2.0, "deltas should cost far less than full states");
    assert!(field(2, "converged_within") <= field(1, "converged_within"));
    for (i, name) in names.iter().enumerate() {
        assert!(out.join(name).join("report.json").exists(), "{name} has its own report");
        assert_eq!(rows[i]["figures"]["sec"], 1.0);
    }
    assert!(stdout.contains("bytes/op") && stdout.contains("outcome: PASS"), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
}

/// Sweeps seeds until the broken merge shows, then checks the finding, that the run fails as
/// a safety violation, and that the printed command reproduces it.
fn caught_within_200_seeds(file: &str, findings: &[Finding]) -> u64 {
    let s = load(file);
    let failing = sweep(&s, 0..200).into_iter().find(|(_, r)| r.report.exit_code != 0);
    let (seed, r) = failing.unwrap_or_else(|| panic!("{file}: the broken merge went unnoticed over 200 seeds"));
    assert_eq!(r.report.outcome, Verdict::SafetyViolation, "{file} seed {seed}: {:?}", r.report.failures);
    let sec = r.report.sec.as_ref().unwrap();
    assert!(sec.violations.iter().any(|v| findings.contains(&v.finding)), "{file} seed {seed}: {:?}", sec.violations);
    let reproduce = format!("syncsim run {file} --seed {seed}");
    assert_eq!(r.report.reproduce, reproduce);
    eprintln!("{file}: caught at seed {seed}; reproduce: {reproduce}");

    // The printed command does reproduce it, and prints the seed first and itself last.
    let out = std::env::temp_dir().join(format!("syncsim-crdt-bug-{}-{seed}", std::process::id()));
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["run", file, "--seed", &seed.to_string(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert_eq!(cli.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with(&format!("seed: {seed}\n")), "{stdout}");
    assert!(stdout.trim_end().ends_with(&format!("reproduce: {reproduce}")), "{stdout}");
    let _ = std::fs::remove_dir_all(&out);
    seed
}

#[test]
fn an_lww_tie_broken_differently_per_node_is_caught() {
    caught_within_200_seeds("tests/data/crdt/lww-tie.yaml", &[Finding::WrongWinner]);
    // The same runs with a correct merge pass: the checker flags the bug, not the workload.
    let fixed = std::fs::read_to_string("tests/data/crdt/lww-tie.yaml").unwrap().replace("bug: lww-tie", "bug: none");
    let s = Scenario::parse(&fixed, "lww-fixed.yaml").unwrap();
    assert_sec_over("lww-tie fixed", &s, 0..50);
}

#[test]
fn a_counter_merge_that_adds_is_caught() {
    caught_within_200_seeds("tests/data/crdt/counter-add.yaml", &[Finding::Phantom, Finding::LostUpdate]);
    let fixed =
        std::fs::read_to_string("tests/data/crdt/counter-add.yaml").unwrap().replace("bug: counter-add", "bug: none");
    let s = Scenario::parse(&fixed, "counter-fixed.yaml").unwrap();
    assert_sec_over("counter-add fixed", &s, 0..50);
}
