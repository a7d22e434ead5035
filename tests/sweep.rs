//! `syncsim sweep` and `syncsim merge` from the command line: shards merge into exactly the
//! unsharded report, failing seeds come with their reproducing commands and the exit code of
//! the worst verdict, and the determinism self-check passes on a deterministic scenario.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn syncsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("syncsim-sweep-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap()
}

#[test]
fn three_shards_merge_into_the_unsharded_sweep_byte_for_byte() {
    let dir = tmp("shards");
    let whole = dir.join("whole");
    let out = syncsim(&["sweep", "scenarios/quickstart.yaml", "--seeds", "0..60", "--out", whole.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("seeds: 0..60"), "the seeds come first: {text}");
    assert!(text.contains("60 of 60 seeds passed"), "{text}");
    let mut parts = Vec::new();
    for i in 1..=3 {
        let d = dir.join(format!("s{i}"));
        let shard = format!("{i}/3");
        let out = syncsim(&[
            "sweep",
            "scenarios/quickstart.yaml",
            "--seeds",
            "0..60",
            "--shard",
            &shard,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(json(&d)["runs"], 20, "shard {shard} runs a third of the seeds");
        parts.push(d.to_str().unwrap().to_string());
    }
    let merged = dir.join("merged");
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    let out = syncsim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    for file in ["sweep.json", "sweep.md"] {
        assert_eq!(
            std::fs::read(whole.join(file)).unwrap(),
            std::fs::read(merged.join(file)).unwrap(),
            "{file} of the merged shards differs from the unsharded sweep's"
        );
    }
    // Two shards of three are refused (exit 3, naming the missing shard); with
    // --allow-partial they make a partial report, which says so.
    let partial = dir.join("partial");
    let out = syncsim(&["merge", &parts[0], &parts[1], "--out", partial.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("shards 3/3 are missing") && said.contains("--allow-partial"), "{said}");
    assert!(!partial.exists(), "nothing is written for a refused merge");
    let out = syncsim(&["merge", &parts[0], &parts[1], "--allow-partial", "--out", partial.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("cover 40 of the sweep's 60 seeds"), "{}", stdout(&out));
    assert_eq!(json(&partial)["runs"], 40);
    assert!(std::fs::read_to_string(partial.join("sweep.md")).unwrap().contains("**Partial report**"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failing_seeds_are_listed_with_their_reproducers_and_the_worst_exit_code() {
    let dir = tmp("failing");
    let out = syncsim(&["sweep", "tests/data/crdt/lww-tie.yaml", "--seeds", "0..12", "--out", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a lost tie is a safety violation: {}", stdout(&out));
    let report = json(&dir);
    let failing = report["failing"].as_array().unwrap();
    assert!(!failing.is_empty());
    assert_eq!(report["passed"].as_u64().unwrap() + failing.len() as u64, 12);
    let text = stdout(&out);
    for f in failing {
        let seed = f["seed"].as_u64().unwrap();
        let reproduce = format!("syncsim run tests/data/crdt/lww-tie.yaml --seed {seed}");
        assert_eq!(f["reproduce"], reproduce.as_str());
        assert!(text.contains(&reproduce), "the terminal shows seed {seed}'s reproducer:\n{text}");
        // The reproducer really reproduces: the same verdict from a single run.
        let one = syncsim(&[
            "run",
            "tests/data/crdt/lww-tie.yaml",
            "--seed",
            &seed.to_string(),
            "--out",
            dir.join("one").to_str().unwrap(),
        ]);
        assert_eq!(one.status.code(), Some(1));
    }
    // Every metric is aggregated, with its worst seed.
    let agg = &report["aggregates"]["latency.all.p99"];
    assert!(agg["median"].as_f64().unwrap() > 0.0 && agg["worst_seed"].as_u64().unwrap() < 12);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_determinism_self_check_passes_on_a_deterministic_scenario() {
    let dir = tmp("determinism");
    let out = syncsim(&[
        "sweep",
        "scenarios/partition-heal.yaml",
        "--seeds",
        "0..=7",
        "--check-determinism",
        "--jobs",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("check determinism: yes"));
    assert_eq!(json(&dir)["runs"], 8, "0..=7 includes 7");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_sweep_arguments_are_clear_errors() {
    for (args, needle) in [
        (vec!["sweep", "scenarios/quickstart.yaml", "--shard", "4/3"], "--shard"),
        (vec!["sweep", "scenarios/quickstart.yaml", "--seeds", "5..5"], "holds no seed"),
        (vec!["sweep", "scenarios/compare-sync.yaml", "--seeds", "2"], "name one with --variant"),
        (vec!["merge", "scenarios/quickstart.yaml"], "not a sweep report"),
    ] {
        let out = syncsim(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn the_determinism_self_check_catches_a_planted_leak_and_names_the_first_diverging_event() {
    let dir = tmp("leak");
    let out = syncsim(&[
        "sweep",
        "tests/data/determinism/leak.yaml",
        "--seeds",
        "0..3",
        "--check-determinism",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("NONDETERMINISTIC seed 0: trace hashes"), "{text}");
    assert!(text.contains("event") && text.contains("in one run and"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_library_sweep_panics_with_the_seed_and_its_reproducer() {
    let passing = syncsim::Scenario::from_file("scenarios/quickstart.yaml").unwrap().seeds(0..6).jobs(2).run().unwrap();
    assert_eq!((passing.runs, passing.passed), (6, 6));
    passing.assert_passed();
    let failing = syncsim::Scenario::from_file("tests/data/crdt/lww-tie.yaml").unwrap().seeds(0..12).run().unwrap();
    let panic = std::panic::catch_unwind(|| failing.assert_passed()).expect_err("lww-tie fails on some seed");
    let message = panic.downcast_ref::<String>().unwrap();
    let seed = failing.failing[0].seed;
    assert!(message.contains(&format!("seed {seed}: SAFETY VIOLATION")), "{message}");
    assert!(
        message.contains(&format!("reproduce: syncsim run tests/data/crdt/lww-tie.yaml --seed {seed}")),
        "{message}"
    );
}
