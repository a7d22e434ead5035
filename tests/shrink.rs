//! `syncsim shrink` on a deliberately broken Raft (`bug: minority-commit`) under a fourteen-fault
//! script: the minimal scenario keeps at most a few faults, is shorter, and still fails the
//! same way when run on its own, under the seed it names.

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
    let shrunk = syncsim::Scenario::from_file(&min).unwrap_or_else(|e| panic!("{e}"));
    let seed = shrunk.raw.seed;
    assert!(text.contains(&format!("reproduce: syncsim run {} --seed {seed}", min.display())), "{text}");
    let before = syncsim::Scenario::from_file(file).unwrap();
    assert!(shrunk.raw.faults.len() <= 3, "{} faults kept:\n{text}", shrunk.raw.faults.len());
    assert!(shrunk.raw.faults.len() < before.raw.faults.len());
    assert!(shrunk.raw.duration.as_nanos() < before.raw.duration.as_nanos() / 4, "the run is cut to its failure");
    // The output names the failed check and its event, and draws the second before it.
    assert!(text.contains("first failed check: invariant broken at"), "{text}");
    assert!(text.contains("failed at: ") && text.contains("handling a message to node"), "{text}");
    let svg = std::fs::read_to_string(dir.join("min").join("charts").join("spacetime.svg")).unwrap();
    assert!(svg.contains("<svg") && svg.contains("n0"), "the space-time diagram names the nodes");
    // Run on its own, the minimal scenario fails the same way: a safety violation by a broken
    // Raft invariant.
    let r = syncsim::runner::run(&shrunk, seed, false).unwrap();
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
    let r = syncsim::runner::run(&shrunk, shrunk.raw.seed, false).unwrap();
    let kind = syncsim::shrink::FailureKind::of(&r.report).expect("it still fails");
    assert_eq!((kind.verdict, kind.check.as_str()), (syncsim::reports::Verdict::SafetyViolation, "invariant"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The random faults a seed draws, written out as a script of fault windows, make the very same
/// run (the same trace hash), so a shrunk script keeps the failure the random faults found.
#[test]
fn random_faults_written_out_as_windows_make_the_same_run() {
    let mut scenario = syncsim::Scenario::from_file("tests/data/shrink/raft-swarm.yaml").unwrap();
    // Every kind of random window, scripted faults besides, and a correct Raft (so that runs
    // go to the end rather than stopping at the first broken invariant).
    let text = std::fs::read_to_string("tests/data/shrink/raft-swarm.yaml").unwrap().replace(
        "  clock: { every: 6s, lasts: 1s..4s, factor: 1.2 }",
        "  clock: { every: 6s, lasts: 1s..4s, factor: 1.2, jump: 300ms }\n  loss: { every: 5s, lasts: 100ms..1s, loss: 30% }\n  \
         disk: { every: 8s, lasts: 1s..3s }\nfaults:\n  - { at: 3s, crash: n1 }\n  - { at: 4s, restart: n1 }",
    );
    // The linearizability search is not what this test is about: skip it (a zero budget).
    let text = text.replace("  bug: minority-commit\n", "") + "engine:\n  lincheck_budget_mb: 0\n";
    scenario = syncsim::Scenario::parse(&text, &scenario.file).unwrap_or_else(|e| panic!("{e}"));
    let mut windows = 0;
    for seed in 0..6 {
        let random = syncsim::runner::run(&scenario, seed, false).unwrap();
        let mut raw = scenario.raw.clone();
        raw.seed = seed;
        let script = syncsim::shrink::materialise(&scenario, &raw, seed).expect("random faults to write out");
        assert_eq!(script.random_faults, Default::default());
        windows += script.faults.len() - 2;
        let scripted = syncsim::Scenario::parse(&syncsim::shrink::to_yaml(&script), "script.yaml")
            .unwrap_or_else(|e| panic!("{e}"));
        let again = syncsim::runner::run(&scripted, seed, false).unwrap();
        assert_eq!(
            again.report.trace_hash,
            random.report.trace_hash,
            "seed {seed}: the script of {} faults is another run",
            script.faults.len()
        );
    }
    assert!(windows > 30, "only {windows} random windows were drawn: the test shows little");
}

/// Issue 17: a failure that `random_faults:` found shrinks to a file that draws nothing at
/// random (its drawn faults are its `faults:` script), that `syncsim run` fails again under the
/// seed it names, and the output says the duration and the fault count it reached.
#[test]
fn drawn_faults_become_a_script_that_reproduces_and_the_duration_reached_is_printed() {
    let dir = std::env::temp_dir().join(format!("syncsim-shrink-drawn-{}", std::process::id()));
    let min = dir.join("min.yaml");
    let file = "tests/data/shrink/raft-swarm.yaml";
    let before = syncsim::Scenario::from_file(file).unwrap();
    assert!(before.raw.faults.is_empty() && before.raw.random_faults != Default::default(), "faults drawn only");
    let out = syncsim(&["shrink", file, "--seed", "7", "--out", min.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&out.stderr));
    // The file: a script, nothing drawn at random.
    let written = std::fs::read_to_string(&min).unwrap();
    assert!(!written.contains("random_faults"), "{written}");
    assert!(written.contains("\nfaults:\n- at: "), "{written}");
    let shrunk = syncsim::Scenario::from_file(&min).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shrunk.raw.random_faults, Default::default());
    let kept = shrunk.raw.faults.len();
    assert!((1..=3).contains(&kept), "{kept} faults: {:?}", shrunk.raw.faults);
    // The output and the file's header: the duration and the fault count reached.
    let reached = shrunk.raw.duration;
    assert!(reached.as_nanos() < before.raw.duration.as_nanos() / 4, "{text}");
    assert!(text.contains(&format!("\nduration: {} -> {reached}\n", before.raw.duration)), "{text}");
    let plural = if kept == 1 { "" } else { "s" };
    assert!(text.contains(&format!("\nreached: {kept} fault{plural} in {reached}, 5 nodes\n")), "{text}");
    assert!(text.contains("written out as the `faults:` script (no random_faults left)"), "{text}");
    assert!(!text.contains("not written as a script"), "{text}");
    let header = written.lines().next().unwrap();
    assert!(header.contains(&format!("faults kept, duration {} -> {reached}.", before.raw.duration)), "{header}");
    // `syncsim run` of the file, under the seed it names, fails again the same way.
    let seed = shrunk.raw.seed.to_string();
    let again = syncsim(&["run", min.to_str().unwrap(), "--seed", &seed, "--out", dir.join("again").to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stdout));
    let r = syncsim::runner::run(&shrunk, shrunk.raw.seed, false).unwrap();
    let kind = syncsim::shrink::FailureKind::of(&r.report).expect("it still fails");
    assert_eq!((kind.verdict, kind.check.as_str()), (syncsim::reports::Verdict::SafetyViolation, "invariant"));
    let _ = std::fs::remove_dir_all(&dir);
}
