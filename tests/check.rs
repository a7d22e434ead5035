//! `syncsim check`, as CI runs it: a baseline taken from the unchanged code passes, a planted
//! slowdown (gossip's planted `bug: slowdown`) fails with exit 5 naming the metrics that got
//! worse, a failed expectation wins over the baseline, and mismatched seeds are bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn syncsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("syncsim-check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_baseline_passes_unchanged_and_catches_a_planted_slowdown() {
    let dir = tmp("baseline");
    let baseline = dir.join("baseline.json");
    let b = baseline.to_str().unwrap();
    let out =
        syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..12", "--baseline", b, "--update-baseline"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let stored: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    assert!(stored["entries"]["quickstart"]["visibility.p50"].as_f64().unwrap() > 0.0);
    // The same code and seeds reproduce the baseline exactly: even a zero tolerance passes.
    let out =
        syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..12", "--baseline", b, "--tolerance", "0%"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("no metric worse"));
    // The same scenario with gossip rounds halved: still correct, but slower.
    let text = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let slow = text.replace("  fanout: 1 ", "  bug: slowdown\n  fanout: 1 ");
    assert_ne!(slow, text, "the slowdown was switched on");
    let slow_file = dir.join("quickstart.yaml");
    std::fs::write(&slow_file, slow).unwrap();
    let out = syncsim(&["check", slow_file.to_str().unwrap(), "--seeds", "0..12", "--baseline", b]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(5), "{text}");
    assert!(text.contains("REGRESSIONS") && text.contains("quickstart: visibility.p50"), "{text}");
    assert!(text.contains("12 of 12 seeds passed"), "its expectations still hold: {text}");
    // Checked over other seeds than the baseline's: bad input, not a silent comparison.
    let out = syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..5", "--baseline", b]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken over seeds 0..12"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_expectation_decides_the_exit_code() {
    let out = syncsim(&["check", "tests/data/crdt/lww-tie.yaml", "--seeds", "0..12"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("reproduce: syncsim run tests/data/crdt/lww-tie.yaml --seed"), "{text}");
}

#[test]
fn check_determinism_fails_a_planted_leak_with_exit_4() {
    let out = syncsim(&["check", "tests/data/determinism/leak.yaml", "--seeds", "0..2", "--check-determinism"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("NONDETERMINISTIC seed 0") && text.contains("outcome: NONDETERMINISTIC"), "{text}");
    let out = syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..3", "--check-determinism"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// A baseline is read strictly: an unknown, repeated or missing metric, or a value no run can
/// measure, is bad input (exit 3) naming the file, the entry and the metric, never a silent
/// comparison against nonsense.
#[test]
fn a_broken_baseline_is_refused_naming_what_is_wrong() {
    let dir = tmp("broken-baseline");
    let baseline = dir.join("baseline.json");
    let b = baseline.to_str().unwrap();
    let out = syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..3", "--baseline", b, "--update-baseline"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let good = std::fs::read_to_string(&baseline).unwrap();
    let check = |text: &str| {
        std::fs::write(&baseline, text).unwrap();
        let out = syncsim(&["check", "scenarios/quickstart.yaml", "--seeds", "0..3", "--baseline", b]);
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert_eq!(check(&good).0, Some(0), "the stored baseline itself passes");
    let avail = good.lines().find(|l| l.contains("\"availability\":")).expect("availability is stored").to_string();
    let cases = [
        (
            good.replacen(&avail, &format!("{avail}\n      \"lantency.all.p99\": 1.0,"), 1),
            "unknown metric `lantency.all.p99`",
        ),
        (good.replacen(&avail, &format!("{avail}\n      \"availability\": 0.5,"), 1), "`availability` appears twice"),
        (good.replacen(&avail, "      \"availability\": 1.5,", 1), "`availability` is 1.5, which no run can measure"),
        (good.replacen(&format!("{avail}\n"), "", 1), "the baseline has no `availability`"),
    ];
    for (text, said) in cases {
        assert_ne!(text, good, "the case changed the file");
        let (code, stderr) = check(&text);
        assert_eq!(code, Some(3), "{said}: {stderr}");
        assert!(stderr.contains(said) && stderr.contains("baseline.json"), "expected `{said}` in: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
