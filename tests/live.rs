//! `syncsim live`: a scenario's protocol as a real cluster on loopback (tokio tasks, TCP
//! endpoints, wall-clock time) produces the engine's report, judged by the same checkers.
//!
//! Each run takes the scenario's duration and settle phase in real time (35 s, and 2 s for
//! the banner test); the runs below overlap, and mostly sleep.
#![cfg(not(madsim))]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn live(file: &str, out: &Path) -> (i32, Value, String) {
    let result = Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["live", file, "--out"])
        .arg(out)
        .output()
        .expect("syncsim runs");
    let output = format!("{}{}", String::from_utf8_lossy(&result.stdout), String::from_utf8_lossy(&result.stderr));
    let report = std::fs::read(out.join("report.json"))
        .map(|bytes| serde_json::from_slice(&bytes).expect("report.json is JSON"))
        .unwrap_or(Value::Null);
    (result.status.code().unwrap_or(-1), report, output)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("syncsim-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn quickstart_passes_live_with_its_crash_applied() {
    let dir = scratch("quickstart");
    let (code, report, output) = live("scenarios/quickstart.yaml", &dir);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("note: the network is real TCP on loopback"), "the banner says what is not emulated");
    assert!(output.contains("live ignores: network.latency (lognormal median 2ms p99 20ms;"), "{output}");
    assert!(report["expectations"].as_array().unwrap().iter().all(|e| e["passed"] == true));
    let faults: Vec<&str> = report["faults"].as_array().unwrap().iter().filter_map(|f| f["fault"].as_str()).collect();
    assert!(faults.iter().any(|f| f.contains("crash")) && faults.iter().any(|f| f.contains("restart")), "{faults:?}");
    assert!(report["operations"]["all"]["ok"].as_u64().unwrap() > 1000, "clients ran for real");
    // Requests to the crashed node were refused while it was down (gossip fails a request for
    // no other reason: it answers locally).
    assert!(report["operations"]["all"]["failed"].as_u64().unwrap() > 0);
    assert!(report["reproduce"].as_str().unwrap().starts_with("syncsim live "));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Before it runs, `live` names on one line each scenario field it will not apply, with the
/// scenario's value: here the quickstart's network and client latency, cut to two seconds.
#[test]
fn live_names_the_fields_it_ignores_before_running() {
    let dir = scratch("ignores");
    std::fs::create_dir_all(&dir).unwrap();
    let quickstart = std::fs::read_to_string("scenarios/quickstart.yaml").unwrap();
    let short = quickstart.replace("duration: 30s", "duration: 1s").replace("settle: 5s", "settle: 1s");
    // No faults or expectations: nothing but the banner is judged here.
    let short = &short[..short.find("\nfaults:").expect("quickstart has faults")];
    let file = dir.join("short.yaml");
    std::fs::write(&file, short).unwrap();
    let (code, _, output) = live(file.to_str().unwrap(), &dir.join("out"));
    assert_eq!(code, 0, "{output}");
    let line = output.lines().find(|l| l.starts_with("live ignores: ")).unwrap_or_else(|| panic!("{output}"));
    for said in [
        "network.latency (lognormal median 2ms p99 20ms; real loopback latency is used)",
        "network.loss (0.5%; TCP loses nothing)",
        "network.duplicate (0.1%; TCP duplicates nothing)",
        "network.ordering (reorder; TCP delivers each link in order)",
        "workload.client_latency (lognormal median 500us p99 2ms; clients reach their node in-process",
    ] {
        assert!(line.contains(said), "`{said}` missing from: {line}");
    }
    let banner = output.find("live ignores:").unwrap();
    assert!(banner < output.find("outcome:").expect("the run's summary"), "printed before the run's summary");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn raft_with_its_leader_cut_off_stays_linearizable_live() {
    let dir = scratch("raft");
    let (code, report, output) = live("scenarios/raft-leader-partition.yaml", &dir);
    assert_eq!(code, 0, "{output}");
    assert_eq!(report["linearizability"]["verdict"], "linearizable", "{}", report["linearizability"]);
    // The partition was applied by the host: messages over cut links were dropped, and the
    // majority elected a new leader.
    assert!(report["network"]["dropped_partition"].as_u64().unwrap() > 0, "{}", report["network"]);
    assert!(
        report["protocol_metrics"]["numbers"]["elections"].as_f64().unwrap() >= 2.0,
        "{}",
        report["protocol_metrics"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn madsim_needs_its_own_build() {
    let out = Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["madsim", "scenarios/madsim-gossip.yaml"])
        .output()
        .expect("syncsim runs");
    assert_eq!(out.status.code(), Some(syncsim::reports::Exit::BadInput.code()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("scripts/madsim.sh"), "says how to get a madsim build: {stderr}");
}
