//! `syncsim hunt` (issue 15): the catalogue's bugs, each planted into the shipped scenario that
//! should find it. CI runs a fast subset here; docs/hunt.md keeps the full table of a
//! thousand-seed hunt.

use std::path::PathBuf;
use std::process::Command;

use syncsim::hunt::{self, CATALOGUE, HuntArgs};
use syncsim::reports::Verdict;

fn syncsim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().unwrap()
}

fn out_dir(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("syncsim-hunt-{what}-{}", std::process::id()))
}

/// Every bug of the catalogue names a shipped scenario of its own protocol family, and
/// planting it gives a scenario that validates (so the bug exists in that family).
#[test]
fn every_catalogued_bug_plants_into_a_shipped_scenario_of_its_family() {
    assert!(CATALOGUE.len() >= 15, "the issue asks for at least 15 bugs");
    for family in ["raft", "pbft", "crdt", "gossip", "anneal-sync", "dynamo"] {
        assert!(CATALOGUE.iter().any(|b| b.family == family), "no bug in {family}");
    }
    for b in CATALOGUE {
        assert!(b.scenario.starts_with("scenarios/"), "{}: not a shipped scenario", b.name);
        let text = std::fs::read_to_string(b.scenario).unwrap();
        let planted = hunt::plant(&text, b.scenario, b.name, b.variant).unwrap();
        let file =
            syncsim::scenario::ScenarioFile::parse(&planted, b.scenario).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let s = file.pick(b.variant).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        let protocol = serde_json::to_value(s.protocol()).unwrap();
        assert_eq!(protocol["kind"], b.family, "{}", b.name);
        assert_eq!(protocol["bug"], b.name, "{}: planted", b.name);
        assert!(!b.reference.is_empty() && !b.class.is_empty(), "{}: class and reference", b.name);
    }
}

/// A variant's own protocol map gets the bug too, not only the top-level one.
#[test]
fn planting_reaches_the_named_variant() {
    let text = "name: v\nduration: 1s\nnodes: 3\nprotocol: { kind: gossip }\n\
                variants:\n  - { name: a, protocol: { kind: gossip, fanout: 2 } }\n  - { name: b }\n";
    let planted = hunt::plant(text, "v.yaml", "stale-clock", Some("a")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&planted).unwrap();
    assert_eq!(doc["protocol"]["bug"], "stale-clock");
    assert_eq!(doc["variants"][0]["protocol"]["bug"], "stale-clock");
    assert_eq!(doc["variants"][0]["protocol"]["fanout"], 2, "the rest of the variant is kept");
    let err = hunt::plant(text, "v.yaml", "stale-clock", Some("c")).unwrap_err();
    assert!(err.contains("no variant `c`"), "{err}");
}

/// The fast subset: bugs of three families, each caught by the check that should catch it,
/// with the first failing seed's failure shrunk to at most 3 faults and under a quarter of
/// the duration; the same scenarios without bugs pass every seed.
#[test]
fn a_fast_subset_of_the_catalogue_is_caught_shrunk_and_the_controls_pass() {
    let expected = [
        ("stale-snapshot", Verdict::SafetyViolation, "invariant"),
        ("read-without-quorum", Verdict::SafetyViolation, "linearizable"),
        ("counter-add", Verdict::SafetyViolation, "sec"),
        ("stale-clock", Verdict::SafetyViolation, "writes.lost"),
    ];
    let args = HuntArgs {
        root: PathBuf::from("."),
        bugs: expected.iter().map(|(name, ..)| hunt::bug(name).unwrap()).collect(),
        seeds: 0..60,
        jobs: None,
        shrink_runs: 400,
        control: true,
        out: out_dir("subset"),
    };
    for (name, verdict, check) in expected {
        let finding = hunt::hunt_one(&args, &hunt::bug(name).unwrap(), &|_| {}).unwrap();
        assert!(finding.caught(), "{name} went unnoticed over 60 seeds");
        let (seed, kind, _) = finding.first.clone().unwrap();
        assert_eq!((kind.verdict, kind.check.as_str()), (verdict, check), "{name} at seed {seed}");
        let shrunk = finding.shrunk.clone().unwrap_or_else(|| panic!("{name}: {:?}", finding.shrink_error));
        assert!(shrunk.small(), "{name} shrunk only to {shrunk:?}");
        // The shrunk file reproduces the same failure under the seed it names.
        let s = syncsim::Scenario::from_file(&shrunk.file).unwrap();
        let r = syncsim::runner::run(&s, shrunk.seed, false).unwrap();
        assert_eq!(syncsim::shrink::FailureKind::of(&r.report), Some(kind), "{name}: the shrunk run");
    }
    for c in hunt::controls(&args, &|_| {}).unwrap() {
        assert!(c.failing.is_empty(), "{} without bugs cried wolf: {:?}", c.scenario, c.failing);
        assert_eq!(c.seeds, 60);
    }
    let _ = std::fs::remove_dir_all(&args.out);
}

/// The command writes hunt.md and hunt.json, exits 0 when every bug was caught, and refuses a
/// bug the catalogue does not have.
#[test]
fn the_hunt_command_reports_and_refuses_unknown_bugs() {
    let dir = out_dir("cli");
    let out = syncsim(&[
        "hunt",
        "--bug",
        "vote-any-log",
        "--seeds",
        "10",
        "--shrink-runs",
        "0",
        "--no-control",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("seeds: 0..10\nbugs: vote-any-log\n"), "the banner comes first:\n{text}");
    let md = std::fs::read_to_string(dir.join("hunt.md")).unwrap();
    assert!(md.contains("| vote-any-log | raft |") && md.contains("| yes |"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("hunt.json")).unwrap()).unwrap();
    assert_eq!(json["findings"][0]["failing"].as_u64().unwrap(), json["findings"][0]["seeds"].as_u64().unwrap());
    let bad = syncsim(&["hunt", "--bug", "no-such-bug", "--out", dir.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no planted bug `no-such-bug`"));
    let _ = std::fs::remove_dir_all(&dir);
}
