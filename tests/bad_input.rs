//! Every malformed scenario in tests/bad/ is rejected with exit code 3 and a message that names
//! the file, the line and column, the field and the problem; none panics, and `run` writes
//! nothing.

use std::path::Path;
use std::process::Command;

/// (file, line, column, field, a fragment of the message)
const CASES: &[(&str, usize, usize, &str, &str)] = &[
    ("absurd-node-count.yaml", 4, 8, "nodes", "more than the limit of 1000000"),
    ("too-many-nodes-for-memory.yaml", 4, 8, "nodes", "the largest part is 1000000 nodes"),
    ("sample-every-1ns.yaml", 6, 25, "engine.sample_every", "35.0G state samples"),
    ("writes-on-every-replica.yaml", 8, 12, "workload.arrival", "about 40.0M operations"),
    ("anneal-huge-reads.yaml", 7, 10, "protocol.reads", "more than the limit of 8.0 GiB"),
    ("memory-limit-zero.yaml", 6, 28, "engine.memory_limit_mb", "at least 1 (MiB)"),
    ("timing-drift-too-large.yaml", 6, 28, "timing.clock_drift_ppm", "between 0 and 10000 ppm"),
    ("network-kind-unknown.yaml", 6, 27, "network.kinds.Wrte", "sends no `Wrte` messages (it sends Write,"),
    ("network-kind-unlisted.yaml", 6, 29, "network.kinds.Digest", "does not list its message kinds"),
    ("target-unknown-node.yaml", 6, 63, "workload.target.nodes[0]", "unknown node `n7`"),
    ("timing-jitter-inverted.yaml", 7, 17, "timing.timer_jitter", "min (5ms) is above max (1ms)"),
    ("lasts-on-heal.yaml", 8, 33, "faults[0].lasts", "only a crash, join, leave, pause, partition"),
    ("lasts-on-leader.yaml", 8, 37, "faults[0].lasts", "picks its nodes when it happens"),
    ("bad-heal.yaml", 8, 21, "faults[0].heal", "write `heal: all`"),
    ("disconnected-topology.yaml", 8, 13, "network.topology", "`n2` cannot reach `n0`"),
    ("duplicate-node-name.yaml", 4, 15, "nodes[2]", "node `a` is named twice"),
    ("duration-without-unit.yaml", 3, 11, "duration", "`60` has no unit"),
    ("empty.yaml", 2, 1, "", "missing field `name`"),
    ("expectation-without-comparison.yaml", 8, 17, "expect.availability", "write a comparison"),
    ("fault-after-duration.yaml", 8, 11, "faults[0].at", "after the scenario's duration"),
    ("kind-not-first.yaml", 6, 11, "protocol", "`kind` must be the first field"),
    ("lognormal-p99-below-median.yaml", 8, 12, "network.latency", "p99 (2ms) is below the median (20ms)"),
    ("loss-above-one.yaml", 8, 9, "network.loss", "between 0 and 1"),
    ("missing-duration.yaml", 2, 1, "", "missing field `duration`"),
    ("mix-not-100.yaml", 9, 8, "workload.ops", "adds up to 90%, not 100%"),
    ("negative-clock-rate.yaml", 8, 40, "faults[0].clock.rate", "not -2"),
    ("negative-latency.yaml", 8, 24, "network.latency.constant", "cannot be negative"),
    ("one-group-partition.yaml", 8, 26, "faults[0].partition", "at least two groups"),
    ("overlapping-partition.yaml", 8, 38, "faults[0].partition[1][0]", "must not overlap"),
    ("syntax-error.yaml", 8, 1, "", "YAML syntax error"),
    ("two-actions.yaml", 8, 5, "faults[0]", "exactly one action"),
    ("two-documents.yaml", 7, 1, "", "one YAML document"),
    ("unknown-field.yaml", 7, 12, "durration", "unknown field `durration`"),
    ("unknown-metric.yaml", 8, 20, "expect.latency.put.p42", "unknown metric"),
    ("unknown-node.yaml", 8, 22, "faults[0].crash", "unknown node `n9`"),
    ("unknown-protocol-field.yaml", 7, 11, "protocol.fanuot", "unknown field `fanuot`"),
    ("unknown-protocol.yaml", 6, 7, "protocol", "unknown variant `paxos`"),
    ("unknown-region.yaml", 8, 23, "network.regions[0].between[1]", "unknown region `mars`"),
    ("unsupported-op.yaml", 9, 26, "workload.ops.incr", "gossip does not support `incr`"),
    ("wrong-type.yaml", 8, 12, "workload.clients", "expected u32"),
    ("zero-nodes.yaml", 4, 8, "nodes", "at least one node"),
    ("zero-think-time.yaml", 9, 31, "workload.arrival.closed.think", "think time longer than 0s"),
    ("absurd-random-fault-rate.yaml", 8, 8, "random_faults", "more than the limit of 100000"),
    ("crdt-unknown-type.yaml", 7, 9, "protocol.type", "unknown variant `or-sett`"),
    ("crdt-bug-for-another-type.yaml", 8, 8, "protocol.bug", "lww-tie breaks the lww-map merge, not or-set"),
    ("crdt-unsupported-op.yaml", 8, 25, "workload.ops.add", "crdt lww-map/delta does not support `add`"),
    ("variant-duplicate-name.yaml", 8, 13, "variants[1].name", "two variants are called `fast`"),
    ("variant-dot-name.yaml", 7, 13, "variants[0].name", "not starting with `.`"),
    ("variant-bad-sync.yaml", 8, 50, "variants[0].protocol.sync", "unknown variant `sometimes`"),
    (
        "variant-unsupported-op.yaml",
        8,
        15,
        "workload.ops.put",
        "under variant `set`: crdt or-set/delta does not support",
    ),
    ("override-missing-link.yaml", 10, 7, "network.links[1]", "n0 and n2 have no direct link"),
    ("bare-number-expectation.yaml", 9, 17, "expect.availability", "write a comparison"),
    ("unmeasurable-expectation.yaml", 9, 20, "expect.latency.get.p99", "issues no `get` operations"),
    ("escaping-name.yaml", 2, 7, "name", "not a valid scenario name"),
    ("zero-event-limit.yaml", 7, 23, "engine.max_events", "at least 1"),
    ("raft-heartbeat-too-long.yaml", 8, 14, "protocol.heartbeat", "not shorter than the election timeout"),
    ("raft-timeout-step-uneven.yaml", 8, 26, "protocol.election_timeout_step", "does not divide"),
    ("experiment-step-uneven.yaml", 11, 34, "experiment.leader-election.groups[0].timeouts[1]", "does not divide"),
    ("join-a-member.yaml", 7, 21, "faults[0].join", "n1 is in the cluster at t=1s"),
    ("leave-a-spare.yaml", 8, 22, "faults[0].leave", "n4 is a spare"),
    ("spares-with-regions.yaml", 5, 9, "spares", "not regions"),
    ("churn-above-nodes.yaml", 8, 36, "random_faults.churn.max", "more than the 5 nodes there are"),
    ("crdt-op-elastic.yaml", 9, 9, "protocol.sync", "assumes a fixed set"),
    ("swim-ping-timeout-past-period.yaml", 10, 19, "protocol.swim.ping_timeout", "shorter than the period"),
    ("autoscale-max-above-nodes.yaml", 13, 8, "autoscale.max", "more than the 5 nodes"),
    ("load-factor-zero.yaml", 11, 20, "workload.load[0].x", "between 0.01 and 1000"),
    ("byzantine-random-above-f.yaml", 7, 11, "byzantine.random", "more than f = 1"),
    (
        "trace-bad-node.yaml",
        6,
        20,
        "workload.trace",
        "trace-bad-node.csv: line 3, column 4: field `node`: no node is called `n9`",
    ),
    ("key-homes-above-nodes.yaml", 6, 99, "workload.keys.homes", "5 homes per key, but the cluster has 3 nodes"),
    ("oracle-closed-loop.yaml", 6, 34, "workload.arrival", "only an open-loop arrival (`poisson:`)"),
    ("predictive-without-backup.yaml", 5, 11, "protocol.backup", "needs a backup anti-entropy"),
    ("byzantine-unknown-lie.yaml", 8, 22, "byzantine.lies[1]", "unknown variant `gossip`"),
    ("byzantine-leader-without-leaders.yaml", 7, 11, "byzantine.nodes[0]", "elects no leader"),
    ("experiment-without-raft.yaml", 7, 18, "experiment", "needs `kind: raft`"),
    ("reserved-node-name.yaml", 4, 13, "nodes[1]", "reserved for faults"),
    ("swarm-and-kinds.yaml", 8, 10, "random_faults.swarm", "either `swarm` or the kinds, not both"),
    ("swarm-misspelt.yaml", 7, 16, "random_faults", "`swram` is not `swarm`"),
    ("swarm-no-kinds.yaml", 8, 19, "random_faults.swarm.kinds", "at least one kind"),
    ("swarm-unknown-kind.yaml", 8, 27, "random_faults.swarm.kinds[1]", "unknown variant `meteor`"),
    ("swarm-zero-lasts.yaml", 8, 19, "random_faults.swarm.lasts", "longer than 0s"),
    ("settle-heal-unknown.yaml", 4, 31, "settle.heal", "expected `all` or `core`"),
    ("leader-without-leaders.yaml", 8, 34, "faults[0].partition[1][0]", "gossip does not: name a node"),
    ("restart-leader.yaml", 9, 24, "faults[1].restart", "not the node `crash: leader` took down"),
    ("restart-up-node.yaml", 10, 24, "faults[2].restart", "n1 is up at t=3s: crash it first"),
    ("crash-down-node.yaml", 9, 22, "faults[1].crash", "n2 is already down (faults[0] at 1s crashed it)"),
    ("resume-not-paused.yaml", 8, 23, "faults[0].resume", "n0 is not paused at t=2s"),
];

fn syncsim(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syncsim")).args(args).output().expect("the binary runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn every_file_in_tests_bad_has_a_case() {
    let mut files: Vec<String> =
        std::fs::read_dir("tests/bad").unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    // Scenarios only: a trace a scenario replays sits beside it.
    files.retain(|f| f.ends_with(".yaml"));
    files.sort();
    let mut cases: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    cases.sort();
    assert_eq!(files, cases);
    assert!(cases.len() >= 15);
}

#[test]
fn malformed_scenarios_are_rejected_with_their_location() {
    let out_dir = std::env::temp_dir().join(format!("syncsim-bad-input-{}", std::process::id()));
    for (file, line, column, field, fragment) in CASES {
        let path = format!("tests/bad/{file}");
        let prefix = if field.is_empty() {
            format!("error: {path}:{line}:{column}: ")
        } else {
            format!("error: {path}:{line}:{column}: {field}: ")
        };
        for args in [vec!["validate", path.as_str()], vec!["run", path.as_str(), "--out", out_dir.to_str().unwrap()]] {
            let (code, stderr) = syncsim(&args);
            assert_eq!(code, 3, "{args:?} should exit 3; stderr: {stderr}");
            assert!(stderr.starts_with(&prefix), "{args:?}: expected `{prefix}...`, got: {stderr}");
            assert!(stderr.contains(fragment), "{args:?}: expected `{fragment}` in: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        }
        assert!(!Path::new(&out_dir).exists(), "a rejected run wrote {}", out_dir.display());
    }
}

#[test]
fn a_missing_file_and_bad_usage_are_bad_input_too() {
    let (code, stderr) = syncsim(&["run", "tests/bad/no-such-file.yaml"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("tests/bad/no-such-file.yaml") && stderr.contains("cannot read"), "{stderr}");
    let (code, _) = syncsim(&["run"]);
    assert_eq!(code, 3, "a missing argument is a usage error");
    let (code, _) = syncsim(&["frobnicate"]);
    assert_eq!(code, 3, "an unknown command is a usage error");
    let (code, _) = syncsim(&["run", "scenarios/quickstart.yaml", "--seed", "minus-one"]);
    assert_eq!(code, 3, "a malformed flag value is a usage error");
}
