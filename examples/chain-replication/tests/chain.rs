//! Chain replication under syncsim, from outside syncsim: through the library API with a
//! registry that adds the family, and through `chainsim`, this crate's own binary with every
//! syncsim command. The planted bug (`early-ack`) must be caught; the correct chain must pass.

use std::path::{Path, PathBuf};
use std::process::Command;

use chain_replication::Chain;
use syncsim::{Registry, Scenario};

fn registry() -> Registry {
    Registry::builtin().with::<Chain>()
}

/// This crate's directory: the scenarios' paths are relative to it.
fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `chainsim` with `args` in this crate's directory: its exit code and its output.
fn chainsim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chainsim")).args(args).current_dir(here()).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chainsim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_library_runs_the_chain_with_a_registry_and_judges_it_linearizable() {
    let scenario = Scenario::from_file_with(here().join("scenarios/chain-quickstart.yaml"), &registry()).unwrap();
    let info = scenario.protocol().info();
    assert_eq!((info.name, scenario.protocol().kind()), ("chain", "chain"));
    let report = scenario.seeds(0..50).run().unwrap();
    report.assert_passed();
    // The checkers follow from what the family declares: linearizability is judged.
    let result = syncsim::runner::run(&scenario, 1, false).unwrap();
    let checks = serde_json::to_value(&result.report).unwrap().to_string();
    assert!(checks.contains("\"linearizable\""), "no linearizability verdict in {checks:.300}");
    // Without the family, the kind is unknown, and the error says which kinds there are.
    let e = Scenario::from_file_with(here().join("scenarios/chain-quickstart.yaml"), &Registry::builtin())
        .unwrap_err()
        .to_string();
    assert!(e.contains("protocol") && e.contains("unknown variant `chain`") && e.contains("`raft`"), "{e}");
}

#[test]
fn chainsim_check_passes_the_shipped_chain_scenarios_over_200_seeds() {
    let (code, out) =
        chainsim(&["check", "scenarios/chain-quickstart.yaml", "scenarios/chain-faults.yaml", "--seeds", "200"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain-faults") && out.contains("200"), "{out}");
}

#[test]
fn the_planted_early_ack_is_caught_and_shrunk() {
    let scenario = Scenario::from_file_with(here().join("tests/data/chain-early-ack.yaml"), &registry()).unwrap();
    let report = scenario.seeds(0..20).run().unwrap();
    assert!(report.failing.len() >= 18, "early-ack caught on only {} of 20 seeds", report.failing.len());
    let dir = scratch("early-ack");
    let (code, out) = chainsim(&["run", "tests/data/chain-early-ack.yaml", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "a safety violation: {out}");
    assert!(out.contains("linearizable") && out.contains("chainsim run tests/data/chain-early-ack.yaml"), "{out}");
    let shrunk = dir.join("shrunk.yaml");
    let (code, out) = chainsim(&[
        "shrink",
        "tests/data/chain-early-ack.yaml",
        "--seed",
        "1",
        "--max-runs",
        "60",
        "--out",
        shrunk.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    let text = std::fs::read_to_string(&shrunk).unwrap();
    assert!(text.contains("kind: chain") && text.contains("early-ack"), "{text}");
    // The shrunk file is a scenario `chainsim` reads and fails again, under the seed it names.
    let reproduce = out.lines().find_map(|l| l.strip_prefix("reproduce: ")).expect("a reproducing command");
    assert!(reproduce.starts_with("chainsim run "), "{reproduce}");
    let seed = reproduce.rsplit(' ').next().unwrap();
    let (code, out) = chainsim(&["run", shrunk.to_str().unwrap(), "--seed", seed, "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
}

#[test]
fn every_command_runs_the_chain_from_its_own_binary() {
    let dir = scratch("commands");
    let out_dir = |name: &str| dir.join(name).to_str().unwrap().to_string();

    let (code, out) = chainsim(&["list"]);
    assert_eq!(code, 0);
    assert!(out.contains("chain: chain replication") && out.contains("retransmit") && out.contains("raft:"), "{out}");

    let (code, out) = chainsim(&["validate", "scenarios/chain-quickstart.yaml", "scenarios/chain-faults.yaml"]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = chainsim(&["run", "scenarios/chain-quickstart.yaml", "--out", &out_dir("run")]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run/report.json")).unwrap()).unwrap();
    assert_eq!(report["protocol"]["name"], "chain", "{report:.300}");
    assert!(report["reproduce"].as_str().unwrap().starts_with("chainsim run "), "{}", report["reproduce"]);

    let (code, out) = chainsim(&["sweep", "scenarios/chain-faults.yaml", "--seeds", "8", "--out", &out_dir("sweep")]);
    assert_eq!(code, 0, "{out}");
    assert!(dir.join("sweep/sweep.json").exists());

    let (code, out) = chainsim(&[
        "compare",
        "scenarios/chain-quickstart.yaml",
        "../../scenarios/raft-leader-partition.yaml",
        "--seeds",
        "2",
        "--out",
        &out_dir("compare"),
    ]);
    assert_eq!(code, 0, "{out}");
    let compared = std::fs::read_to_string(dir.join("compare/comparison.md")).unwrap();
    assert!(compared.contains("chain-quickstart") && compared.contains("raft-leader-partition"), "{compared}");

    let (code, out) = chainsim(&["live", "scenarios/chain-live.yaml", "--out", &out_dir("live")]);
    assert_eq!(code, 0, "{out}");
    let live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("live/report.json")).unwrap()).unwrap();
    assert_eq!(live["protocol"]["name"], "chain");

    // madsim needs its own build (`--cfg madsim`, docs/writing-a-protocol.md); this one says so.
    let (code, out) = chainsim(&["madsim", "scenarios/chain-live.yaml"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("--cfg madsim"), "{out}");
}
