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

/// Knossos's own CAS-register histories (tests/data/knossos, EPL-1.0): every verdict matches
/// its folder.
#[test]
fn knossos_histories_get_the_verdicts_of_their_folders() {
    let mut checked = 0;
    for (folder, want) in [("good", 0), ("bad", 1)] {
        let dir = format!("tests/data/knossos/cas-register/{folder}");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for f in files.iter().filter(|f| f.extension().is_some_and(|x| x == "edn")) {
            let (code, out, err) = lincheck(&[f.to_str().unwrap()]);
            assert_eq!(code, want, "{}: {out}{err}", f.display());
            assert!(out.contains("edn format, register model"), "{out}");
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

/// A violation shows every operation around it with its process and times, and `--svg`
/// draws them per process.
#[test]
fn a_violation_is_explained_operation_by_operation_and_drawn() {
    let svg = std::env::temp_dir().join(format!("syncsim-violation-{}.svg", std::process::id()));
    let file = "tests/data/knossos/cas-register/bad/rethink-fail-minimal.edn";
    let (code, out, _) = lincheck(&[file, "--svg", svg.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("process    1  call            3  return            5  read(0) -> 3  CANNOT PLACE"), "{out}");
    assert!(
        out.contains("process    0  call            1  return            2  write(0, 0) -> ok  (#1 of the prefix)")
    );
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(
        chart.contains("CANNOT PLACE read(0) -&gt; 3") || chart.contains("CANNOT PLACE read(0) -> 3"),
        "{chart:.400}"
    );
    assert!(chart.contains("client 1") && chart.contains("client 2"));
    let _ = std::fs::remove_file(&svg);
    let (_, json, _) = lincheck(&[file, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ops = v["violation"]["operations"].as_array().unwrap();
    assert_eq!(ops.iter().filter(|o| o["stuck"] == true).count(), 1);
    assert_eq!(ops[1]["client"], 1);
    assert_eq!(ops[1]["call"], 3);
}

/// What cannot be read is bad input (exit 3) naming the line, never a verdict.
#[test]
fn bad_histories_never_look_like_verdicts() {
    let dir = std::env::temp_dir().join(format!("syncsim-lincheck-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let op = |id: u64, call: u64, ret: u64, outcome: &str| {
        format!(
            r#"{{"id":{id},"client":0,"f":"put","key":1,"arg":{},"call_ns":{call},"return_ns":{ret},"outcome":"{outcome}"}}"#,
            id + 1
        )
    };
    let cases: Vec<(String, Vec<&str>, &str)> = vec![
        (write("empty.log", ""), vec!["--format", "etcd"], "the history is empty"),
        (
            write("words.log", "nothing here\nat all\n"),
            vec!["--format", "etcd"],
            "no operation in the history (etcd format)",
        ),
        (write("words.edn", "; only a comment\n"), vec!["--format", "edn"], "no client operation"),
        (
            write(
                "mangled.log",
                "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO jepsen.utl - 1\t:invoke\t:write\t3\n",
            ),
            vec![],
            "line 2: this looks like an operation but lacks the `jepsen.util - ` prefix",
        ),
        (write("backwards.jsonl", &op(0, 50, 40, "failed")), vec![], "line 1: it returns at 40 ns, before its call"),
        (
            write("twice.jsonl", &format!("{}\n{}\n", op(0, 10, 20, "ok"), op(0, 30, 40, "ok"))),
            vec![],
            "line 2: operation id 0 appears twice (first on line 1)",
        ),
        (
            write(
                "overflow.jsonl",
                "{\"client\":0,\"f\":\"incr\",\"key\":1,\"arg\":9223372036854775807,\"call_ns\":1,\"return_ns\":2,\"outcome\":\"ok\"}\n\
                 {\"client\":0,\"f\":\"incr\",\"key\":1,\"arg\":1,\"call_ns\":3,\"return_ns\":4,\"outcome\":\"ok\"}\n",
            ),
            vec![],
            "line 2: the increments of counter 1 overflow",
        ),
        (
            write("open.edn", "[{:process 0, :type :invoke, :f :write, :value 1}\n"),
            vec![],
            "line 1: this opens a form never closed",
        ),
    ];
    for (file, extra, want) in cases {
        let mut args = vec![file.as_str()];
        args.extend(extra);
        let (code, out, err) = lincheck(&args);
        assert_eq!(code, 3, "{file}: {out}{err}");
        assert!(err.contains(want), "{file}: expected `{want}` in: {err}");
    }
    // A byte-order mark is not an error.
    let bom = write("bom.jsonl", &format!("\u{feff}{}\n", op(0, 10, 20, "ok")));
    let (code, out, err) = lincheck(&[&bom]);
    assert_eq!(code, 0, "{out}{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--timeout` gives an unknown verdict (exit 2) instead of running without bound.
#[test]
fn a_timeout_gives_unknown_not_a_verdict() {
    let (code, out, _) = lincheck(&[&format!("{DATA}/kv/c10-ok.txt"), "--whole", "--timeout", "0s"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("UNKNOWN: the check ran past its --timeout of 0s"), "{out}");
}
