//! `syncsim lincheck` as a user meets it: every format, every exit code, `--json`.

use std::process::Command;

fn lincheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syncsim")).arg("lincheck").args(args).output().expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const DATA: &str = "tests/data/porcupine";

#[test]
fn verdicts_map_to_exit_codes_and_violations_are_explained() {
    let (code, out, _) = lincheck(&[&format!("{DATA}/jepsen/etcd_002.log")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("etcd format, register model") && out.contains("verdict: LINEARIZABLE"), "{out}");
    let (code, out, _) = lincheck(&[&format!("{DATA}/jepsen/etcd_000.log")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("NOT LINEARIZABLE")
            && out.contains("longest linearizable prefix")
            && out.contains("no order can place"),
        "{out}"
    );
    let (code, out, _) = lincheck(&[&format!("{DATA}/kv/c10-ok.txt"), "--whole", "--budget-mb", "1"]);
    assert_eq!(code, 2, "a budget too small gives unknown: {out}");
    assert!(out.contains("UNKNOWN") && out.contains("budget"), "{out}");
}

#[test]
fn json_gives_the_verdict_counts_and_explanation() {
    let (code, out, _) = lincheck(&[&format!("{DATA}/kv/c01-bad.txt"), "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["verdict"], "not_linearizable");
    assert_eq!(v["operations"], 38);
    assert_eq!(v["partitions"], 8);
    assert_eq!(v["format"], "edn");
    assert!(v["violation"]["stuck"].as_str().unwrap().starts_with("get("));
}

#[test]
fn syncsim_histories_are_checked_too() {
    let dir = std::env::temp_dir().join(format!("syncsim-lincheck-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["run", "scenarios/raft-leader-partition.yaml", "--out", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0));
    let (code, out, err) = lincheck(&[dir.join("history.jsonl").to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((v["format"].as_str(), v["model"].as_str()), (Some("jsonl"), Some("register")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_histories_are_bad_input() {
    let (code, _, err) = lincheck(&["tests/data/no-such-history.txt"]);
    assert_eq!(code, 3);
    assert!(err.contains("no-such-history.txt"), "{err}");
    let (code, _, err) = lincheck(&[&format!("{DATA}/jepsen/etcd_000.log"), "--format", "edn"]);
    assert_eq!(code, 3);
    assert!(err.contains("line 1") && err.contains("edn format"), "{err}");
    let garbage = std::env::temp_dir().join(format!("syncsim-garbage-{}.txt", std::process::id()));
    std::fs::write(&garbage, "this is not a history\n").unwrap();
    let (code, _, err) = lincheck(&[garbage.to_str().unwrap()]);
    assert_eq!(code, 3);
    assert!(err.contains("--format"), "{err}");
    let _ = std::fs::remove_file(&garbage);
    let (code, _, _) = lincheck(&[&format!("{DATA}/kv/c01-ok.txt"), "--model", "counter"]);
    assert_eq!(code, 3, "a model the file does not hold");
}
