//! Raft end to end through scenario files: linearizable and invariant-safe over many seeds,
//! deliberately broken variants caught, lease reads unsafe under clock skew unless configured
//! for it, and the paper's leader-election experiment reproduced in shape.

use rayon::prelude::*;
use syncsim::experiment;
use syncsim::protocols::raft::{Bug, RaftConfig, RaftNode, Reads};
use syncsim::reports::lin::{self, Budget, Verdict};
use syncsim::runner;
use syncsim::scenario::Scenario;
use syncsim::scenario::raw::RawExperiment;
use syncsim::sim::fault::Fault;
use syncsim::sim::workload::ScriptedOp;
use syncsim::sim::{NodeId, Op, Sim, SimTime};

fn load(path: &str) -> Scenario {
    Scenario::load(path.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `scenario` over `seeds` in parallel; returns the exit code of each seed.
fn sweep(scenario: &Scenario, seeds: std::ops::Range<u64>) -> Vec<(u64, syncsim::runner::RunResult)> {
    seeds.into_par_iter().map(|seed| (seed, runner::run(scenario, seed, false).unwrap())).collect()
}

fn with(s: &Scenario, change: impl Fn(&mut RaftConfig)) -> Scenario {
    let mut s = s.clone();
    let c = s.raw.protocol.get_mut::<RaftNode>().expect("a raft scenario");
    change(c);
    s
}

#[test]
fn raft_scenarios_stay_linearizable_and_safe_over_200_seeds() {
    for file in ["scenarios/raft-leader-partition.yaml", "scenarios/raft-crash-restart.yaml"] {
        check_seeds(file, &load(file), 0..200);
    }
}

/// Pauses let a candidate win an old term after the cluster moved on (issue 14's false
/// alarm): the monitor must judge leader completeness by commit term. Seeds 60..160 hold
/// four such late leaders.
#[test]
fn late_leaders_of_old_terms_are_correct_raft_not_a_violation() {
    let file = "scenarios/raft-pause-crash.yaml";
    let s = load(file);
    let runs = sweep(&s, 60..160);
    let late: f64 = runs.iter().map(|(_, r)| r.report.protocol_metrics.numbers["stale_leaders"]).sum();
    assert!(late >= 1.0, "the scenario no longer elects a leader of an old term");
    check_seeds(file, &s, 60..160);
}

/// The options the scenarios leave off, under crashes, loss and duplication.
#[test]
fn every_read_mode_and_option_stays_safe_under_crashes() {
    let crashes = load("scenarios/raft-crash-restart.yaml");
    type Change = fn(&mut RaftConfig);
    let variants: [(&str, Change); 3] = [
        ("read-index, pre-vote, check-quorum, a slow disk", |c| {
            c.reads = Reads::ReadIndex;
            c.pre_vote = true;
            c.check_quorum = true;
            c.disk_latency = syncsim::sim::SimDuration::from_millis(2);
        }),
        ("lease reads", |c| {
            c.reads = Reads::Lease;
            c.check_quorum = true;
        }),
        ("tiny snapshots", |c| c.snapshot_every = 20),
    ];
    for (name, change) in variants {
        check_seeds(name, &with(&crashes, change), 0..100);
    }
}

/// Every seed linearizable, every invariant kept, every expectation met.
fn check_seeds(name: &str, s: &Scenario, seeds: std::ops::Range<u64>) {
    for (seed, r) in sweep(s, seeds) {
        let lin = r.report.linearizability.as_ref().expect("raft claims linearizability");
        assert_eq!(lin.verdict, Verdict::Linearizable, "{name} seed {seed}: {:?}", lin.violation);
        assert!(r.report.invariant_violation.is_none(), "{name} seed {seed}: {:?}", r.report.invariant_violation);
        assert_eq!(r.report.exit_code, 0, "{name} seed {seed}: {:?}", r.report.failures);
    }
}

fn with_bug(s: &Scenario, bug: Bug) -> Scenario {
    with(s, |c| c.bug = bug)
}

#[test]
fn broken_rafts_are_caught_within_200_seeds_with_a_reproducer() {
    let base = load("scenarios/raft-leader-partition.yaml");
    for (bug, what) in [(Bug::VoteTwice, "election safety"), (Bug::MinorityCommit, "")] {
        let s = with_bug(&base, bug);
        let failing = sweep(&s, 0..200).into_iter().find(|(_, r)| r.report.exit_code == 1);
        let (seed, r) = failing.unwrap_or_else(|| panic!("{bug:?} went unnoticed over 200 seeds"));
        let caught: String = r.report.failures.join("; ");
        assert!(caught.contains(what), "{bug:?} caught as: {caught}");
        assert_eq!(r.report.reproduce, format!("syncsim run scenarios/raft-leader-partition.yaml --seed {seed}"));
        let summary = syncsim::reports::summary::render(&r.report);
        assert!(summary.contains(&format!("seed {seed}")) && summary.contains(&r.report.reproduce), "{summary}");
    }
}

/// Lease reads assume no clock runs more than `lease_drift` times off. A leader whose clock
/// runs at half speed keeps serving reads from its lease after a partition has let the
/// majority elect a new leader and overwrite the value: a stale read, which the checker
/// catches. Configured with a drift bound of 2, the same leader stops trusting its lease in
/// time, and the read waits (and times out) instead.
/// A follower that installs a snapshot older than what it has applied rolls its state machine
/// back: the monitor's rollback check catches it where only convergence sometimes did.
#[test]
fn a_stale_snapshot_that_rolls_the_state_machine_back_is_caught() {
    let s = with_bug(&load("scenarios/raft-pause-crash.yaml"), Bug::StaleSnapshot);
    let failing = sweep(&s, 0..20).into_iter().find(|(_, r)| r.report.exit_code == 1);
    let (_, r) = failing.expect("the stale snapshot went unnoticed over 20 seeds");
    let v = r.report.invariant_violation.as_ref().expect("an invariant caught it");
    assert!(v.message.starts_with("state machine rollback"), "{}", v.message);
}

#[test]
fn lease_reads_are_safe_under_clock_skew_only_when_configured_for_it() {
    let s = load("scenarios/raft-leader-partition.yaml");
    let verdict = |lease_drift: f64| {
        let config = RaftConfig {
            reads: Reads::Lease,
            check_quorum: true,
            lease_drift,
            election_timeout: "150ms..160ms".parse().unwrap(),
            ..RaftConfig::default()
        };
        let mut sim_config = s.sim.clone();
        sim_config.faults.clear();
        sim_config.workload.clients = 0;
        sim_config.network.default.loss = syncsim::sim::units::Probability::ZERO;
        sim_config.network.default.latency =
            syncsim::sim::dist::Latency::Constant(syncsim::sim::SimDuration::from_millis(2));
        sim_config.seed = 5;
        // The same seed elects the same first leader: find it, then script around it.
        let mut probe = Sim::<RaftNode>::new(sim_config.clone(), config.clone(), ()).unwrap();
        probe.run_until(SimTime(1_000_000_000));
        let leader = (0..5).map(NodeId).find(|&k| probe.node(k).is_some_and(RaftNode::is_leader)).unwrap();
        let other = NodeId((leader.0 + 1) % 5);
        let t = |ms: u64| SimTime(1_000_000_000 + ms * 1_000_000);
        sim_config.workload.script = vec![
            ScriptedOp { at: t(0), node: leader, op: Op::Put { key: 1, value: 1 } },
            // By 450 ms the majority has a new leader, which commits the overwrite at once; the
            // old leader's lease (last confirmed at about 210 ms, 150 ms of its clock = 300 ms
            // of real time) still runs at 490 ms.
            ScriptedOp { at: t(450), node: other, op: Op::Put { key: 1, value: 2 } },
            ScriptedOp { at: t(490), node: leader, op: Op::Get { key: 1 } },
        ];
        sim_config.faults = vec![
            syncsim::sim::fault::TimedFault { at: t(100), fault: Fault::Clock { node: leader, rate: 0.5, jump: 0 } },
            syncsim::sim::fault::TimedFault {
                at: t(300),
                fault: Fault::Partition(vec![vec![leader], (0..5).map(NodeId).filter(|&k| k != leader).collect()]),
            },
        ];
        let out = Sim::<RaftNode>::new(sim_config, config, ()).unwrap().run();
        let read = &out.history.entries()[2];
        (lin::check_history(&out.history, Budget::default()).unwrap().verdict, read.outcome.clone())
    };
    let (unsafe_verdict, stale) = verdict(1.0);
    assert_eq!(unsafe_verdict, Verdict::NotLinearizable, "the read was served from the lease: {stale:?}");
    let (safe_verdict, waited) = verdict(2.0);
    assert_eq!(safe_verdict, Verdict::Linearizable, "the read did not trust the lease: {waited:?}");
}

/// The shipped election experiment against the paper's own measurements (Ongaro's per-trial
/// data, tests/data/raft-figure16/): every line's median and mean within 20%, except
/// 150–155 ms, which the model elects too fast (docs/fidelity.md), and 150–150 ms, judged on
/// the trials that elected a leader within the 20-minute limit. Also the figure's shape.
#[test]
fn the_election_experiment_reproduces_figure_16() {
    let mut s = load("scenarios/raft-election.yaml");
    let Some(RawExperiment::LeaderElection(spec)) = &mut s.raw.experiment else { panic!("an experiment") };
    spec.trials = 300;
    let (a, _) = experiment::run(&s, 1).unwrap();
    let config = |timeout: &str| {
        a.experiment
            .groups
            .iter()
            .flat_map(|g| &g.configurations)
            .find(|c| c.election_timeout == timeout)
            .unwrap()
            .clone()
    };
    for c in a.experiment.groups.iter().flat_map(|g| &g.configurations) {
        let r = c.reference.as_ref().expect("the paper measured every line");
        let (m, mean) = (r.median_error.unwrap(), r.mean_error.unwrap());
        println!(
            "{:>14}: {} of {} done, median {:+.0}%, mean {:+.0}%",
            c.election_timeout,
            c.completed,
            c.trials,
            m * 100.0,
            mean * 100.0
        );
        assert!(m.abs() <= 0.2 && mean.abs() <= 0.2, "{}: median {m:+.2}, mean {mean:+.2}", c.election_timeout);
        assert_eq!(c.completed, c.trials, "{}: every trial elects a leader, as on the testbed", c.election_timeout);
    }
    let (none, tiny, five, wide) =
        (config("150ms"), config("150ms..151ms"), config("150ms..155ms"), config("150ms..300ms"));
    let d = |c: &experiment::ElectionConfiguration| c.downtime.clone().expect("some trials completed");
    assert!(d(&none).p50_ns > 10 * d(&tiny).p50_ns, "without randomness elections take tens of seconds");
    let (tiny, five, wide) = (d(&tiny), d(&five), d(&wide.clone()));
    assert!(tiny.p50_ns > five.p50_ns, "1 ms of randomness is slower than 5 ms");
    assert!(five.p99_ns > wide.p99_ns, "more randomness shortens the tail");
    assert_eq!(config("150ms..300ms").completed, config("150ms..300ms").trials);
    // Downtime is at least about half the minimum timeout: the crash comes within a heartbeat.
    assert!(wide.p50_ns > 75_000_000 && wide.max_ns < 1_000_000_000, "{wide:?}");
    let (fast, slow) = (config("25ms..50ms"), config("100ms..200ms"));
    assert!(d(&fast).p50_ns < d(&slow).p50_ns, "a smaller minimum elects sooner");
    // Same seed, same results (on the cheaper group).
    let Some(RawExperiment::LeaderElection(spec)) = &mut s.raw.experiment else { unreachable!() };
    spec.groups.remove(0);
    let (b, _) = experiment::run(&s, 1).unwrap();
    let (c, _) = experiment::run(&s, 1).unwrap();
    assert_eq!(serde_json::to_string(&b).unwrap(), serde_json::to_string(&c).unwrap(), "same seed, same results");
}

#[test]
fn the_checker_sees_what_the_report_says() {
    // The report's verdict is the checker's verdict on the written history.
    let s = load("scenarios/raft-crash-restart.yaml");
    let r = runner::run(&s, 3, false).unwrap();
    let direct = lin::check_history(&r.history, Budget::default()).unwrap();
    assert_eq!(Some(direct.verdict), r.report.linearizability.as_ref().map(|l| l.verdict));
}

/// A configuration where no trial elected a leader reports no downtime ("none completed", and
/// `null` in report.json), never a median of 0 ms that reads as an instant election.
#[test]
fn an_experiment_configuration_with_no_completed_trial_says_so() {
    let dir = std::env::temp_dir().join(format!("syncsim-election-none-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncsim"))
        .args(["run", "tests/data/raft/election-none-complete.yaml", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let row = stdout.lines().find(|l| l.trim_start().starts_with("150ms ")).expect("the configuration's row");
    assert!(row.contains("none completed") && !row.contains("0.0"), "{row}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    let c = &report["experiment"]["groups"][0]["configurations"][0];
    assert_eq!((c["completed"].as_u64(), c["downtime_ms"].is_null(), c["downtime"].is_null()), (Some(0), true, true));
    let _ = std::fs::remove_dir_all(&dir);
}
