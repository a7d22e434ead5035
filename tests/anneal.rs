//! The annealers against the Gset reference graphs (tests/data/gset, with their README): with
//! 1000 sweeps and 20 reads, simulated annealing reaches G1's best-known cut and comes within
//! 0.1% of G22's; and `syncsim anneal --json` reports what it found.

use syncsim::anneal::solve;
use syncsim::protocols::anneal::formats::{Problem, parse};

fn gset(name: &str) -> Problem {
    parse(&std::fs::read_to_string(format!("tests/data/gset/{name}.txt")).unwrap()).unwrap()
}

#[test]
fn simulated_annealing_reaches_g1s_best_known_cut() {
    let r = solve(&gset("G1"), 20, 1000, 0);
    assert_eq!(r.best_cut, Some(11624.0), "G1's best-known cut is 11624");
    assert!(r.mean > 11624.0 * 0.995, "mean {} within 0.5% of the best", r.mean);
}

#[test]
fn simulated_annealing_comes_within_a_tenth_of_a_percent_of_g22s_best_known_cut() {
    let r = solve(&gset("G22"), 20, 1000, 0);
    let best = r.best_cut.unwrap();
    assert!((13359.0 * 0.999..=13359.0).contains(&best), "G22: {best} against the best-known 13359");
}

#[test]
fn the_cli_reports_the_cut_mean_reads_and_time_as_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["anneal", "tests/data/gset/G1.txt", "--reads", "3", "--sweeps", "200", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["reads"].as_u64(), v["solver"].as_str()), (Some(3), Some("sa")));
    let (best, mean) = (v["best_cut"].as_f64().unwrap(), v["mean"].as_f64().unwrap());
    assert!(best >= mean && best > 11000.0 && best <= 11624.0, "{v}");
    assert!(v["time_per_read_ms"].as_f64().unwrap() > 0.0);
    // A broken file is bad input, with the line.
    let bad = std::env::temp_dir().join(format!("syncsim-bad-{}.txt", std::process::id()));
    std::fs::write(&bad, "3 1\n1 4 1\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncsim")).arg("anneal").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":line 2: vertex 4 is out of range"));
    let _ = std::fs::remove_file(&bad);
}

#[test]
fn simulated_quantum_annealing_comes_within_half_a_percent_of_g1s_best_known_cut() {
    let r = syncsim::anneal::solve_with(syncsim::anneal::Solver::Sqa, &gset("G1"), 20, 1000, 0);
    let best = r.best_cut.unwrap();
    assert!((11624.0 * 0.995..=11624.0).contains(&best), "G1 by SQA: {best} against the best-known 11624");
}

#[test]
fn simulated_bifurcation_comes_within_half_a_percent_of_g1s_best_known_cut() {
    for solver in [syncsim::anneal::Solver::Bsb, syncsim::anneal::Solver::Dsb] {
        let r = syncsim::anneal::solve_with(solver, &gset("G1"), 20, 1000, 0);
        let best = r.best_cut.unwrap();
        assert!((11624.0 * 0.995..=11624.0).contains(&best), "G1 by {solver:?}: {best} against 11624");
    }
}
