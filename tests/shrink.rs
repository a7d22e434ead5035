//! `syncsim shrink` on a deliberately broken Raft (`bug: minority-commit`) under a fourteen-fault
//! script: the minimal scenario keeps at most a few faults, is shorter, and still fails the
//! same way when run on its own.

use std::process::Command;

fn syncsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().unwrap()
}

#[test]
fn a_broken_rafts_failure_shrinks_to_a_few_faults_that_still_fail_the_same_way() {
    let dir = std::env::temp_dir().join(format!("syncsim-shrink-{}", std::process::id()));
    let min = dir.join("min.yaml");
    let file = "tests/data/shrink/raft-minority-commit.yaml";
    let original = syncsim(&["run", file, "--seed", "1", "--out", dir.join("orig").to_str().unwrap()]);
    assert_eq!(original.status.code(), Some(1), "seed 1 breaks leader completeness");
    let out = syncsim(&["shrink", file, "--seed", "1", "--out", min.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.starts_with("seed: 1"), "{text}");
    assert!(text.contains(&format!("reproduce: syncsim run {} --seed 1", min.display())), "{text}");
    let shrunk = syncsim::Scenario::from_file(&min).unwrap_or_else(|e| panic!("{e}"));
    let before = syncsim::Scenario::from_file(file).unwrap();
    assert!(shrunk.raw.faults.len() <= 3, "{} faults kept:\n{text}", shrunk.raw.faults.len());
    assert!(shrunk.raw.faults.len() < before.raw.faults.len());
    assert!(shrunk.raw.duration < before.raw.duration, "the workload got shorter");
    // Run on its own, the minimal scenario fails the same way: a safety violation by a broken
    // Raft invariant.
    let r = syncsim::runner::run(&shrunk, 1, false).unwrap();
    let kind = syncsim::shrink::FailureKind::of(&r.report).expect("it still fails");
    assert_eq!((kind.verdict, kind.check.as_str()), (syncsim::reports::Verdict::SafetyViolation, "invariant"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_passing_seed_has_nothing_to_shrink() {
    let out = syncsim(&["shrink", "scenarios/quickstart.yaml", "--seed", "1", "--out", "/dev/null"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("seed 1 passes"));
}

#[test]
fn swarm_faults_are_written_out_as_a_script_and_cut_down() {
    let dir = std::env::temp_dir().join(format!("syncsim-shrink-swarm-{}", std::process::id()));
    let min = dir.join("min.yaml");
    let file = "tests/data/shrink/raft-swarm.yaml";
    let out = syncsim(&["shrink", file, "--seed", "4", "--out", min.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let shrunk = syncsim::Scenario::from_file(&min).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shrunk.raw.random_faults, Default::default(), "no random faults left: the script says it all");
    let n = shrunk.raw.faults.len();
    assert!((1..=3).contains(&n), "{n} scripted faults: {:?}", shrunk.raw.faults);
    let r = syncsim::runner::run(&shrunk, 4, false).unwrap();
    let kind = syncsim::shrink::FailureKind::of(&r.report).expect("it still fails");
    assert_eq!((kind.verdict, kind.check.as_str()), (syncsim::reports::Verdict::SafetyViolation, "invariant"));
    let _ = std::fs::remove_dir_all(&dir);
}
