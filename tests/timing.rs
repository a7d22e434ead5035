//! The node timing model (`timing:`): off, a run is exactly what it was; on, timers fire late by
//! the jitter and clocks drift, drawn from their own random stream, so the same seed still gives
//! the same run. Its reason to exist: simulated servers with identical timeouts split their
//! votes forever, real ones do not.

use syncsim::experiment;
use syncsim::runner;
use syncsim::scenario::Scenario;
use syncsim::scenario::raw::RawExperiment;

/// The Raft paper's election experiment, `trials` trials of the 150–150 ms configuration only,
/// with `timing` (YAML) in place of the scenario's own timing model, and a 60 s trial limit.
fn identical_timeouts(trials: u32, timing: &str) -> Scenario {
    let text = std::fs::read_to_string("scenarios/raft-election.yaml").unwrap();
    let (from, to) = (text.find("\ntiming:").unwrap(), text.find("\nexperiment:").unwrap());
    let text = format!("{}{}{timing}", &text[..from], &text[to..]).replace("trial_limit: 1200s", "trial_limit: 60s");
    let mut s = Scenario::parse(&text, "scenarios/raft-election.yaml").unwrap_or_else(|e| panic!("{e}"));
    let Some(RawExperiment::LeaderElection(spec)) = &mut s.raw.experiment else { panic!("an experiment") };
    spec.trials = trials;
    spec.groups.truncate(1);
    spec.groups[0].timeouts.truncate(1);
    s
}

#[test]
fn timer_jitter_and_clock_drift_let_identical_timeouts_elect_a_leader() {
    let completed = |timing: &str| {
        let (report, _) = experiment::run(&identical_timeouts(40, timing), 1).unwrap();
        let c = &report.experiment.groups[0].configurations[0];
        assert_eq!(c.election_timeout, "150ms");
        c.completed
    };
    assert_eq!(completed(""), 0, "exact servers with identical timeouts split their votes forever");
    let jitter = "\ntiming:\n  timer_jitter: { uniform: { min: 0s, max: 1ms } }\n";
    assert_eq!(completed(jitter), 40, "a millisecond of timer slop breaks the symmetry");
    // Drift alone breaks it more slowly: clocks within ±40 ppm gain at most 12 µs on each
    // other per 150 ms timeout, against the lead of about 3 ms a candidate needs (its fsync,
    // then the message), so some trials still split their votes past the one-minute limit.
    let drift = "\ntiming:\n  clock_drift_ppm: 40\n";
    let drifting = completed(drift);
    assert!((10..40).contains(&drifting), "clocks 40 ppm apart drift out of lockstep, slowly: {drifting} of 40");
}

#[test]
fn the_model_off_changes_nothing_and_on_is_deterministic() {
    let text = std::fs::read_to_string("scenarios/raft-leader-partition.yaml").unwrap();
    let run = |text: &str| {
        let s = Scenario::parse(text, "raft-leader-partition.yaml").unwrap_or_else(|e| panic!("{e}"));
        runner::run(&s, 3, false).unwrap().report
    };
    let exact = run(&text);
    let off = run(&(text.clone() + "\ntiming: { clock_drift_ppm: 0 }\n"));
    assert_eq!(exact.trace_hash, off.trace_hash, "a model that is off draws nothing");
    assert!(!serde_json::to_string(&exact.parameters).unwrap().contains("timing"), "nor is it printed");
    let on = text + "\ntiming: { timer_jitter: { uniform: { min: 0s, max: 2ms } }, clock_drift_ppm: 50 }\n";
    let (a, b) = (run(&on), run(&on));
    assert_eq!(a.trace_hash, b.trace_hash, "same seed, same run");
    assert_ne!(a.trace_hash, exact.trace_hash, "the model changes when timers fire");
    assert!(serde_json::to_string(&a.parameters).unwrap().contains("clock_drift_ppm"), "and is printed");
    assert_eq!(a.exit_code, 0, "{:?}", a.failures);
}

#[test]
fn processing_time_delays_what_a_handler_sends_and_replies() {
    let text = std::fs::read_to_string("scenarios/raft-leader-partition.yaml").unwrap();
    let run = |text: &str| {
        let s = Scenario::parse(text, "raft-leader-partition.yaml").unwrap_or_else(|e| panic!("{e}"));
        runner::run(&s, 3, false).unwrap()
    };
    let exact = run(&text);
    let slow = run(&(text + "\ntiming: { processing: { constant: 1ms } }\n"));
    assert_eq!(slow.report.exit_code, 0, "{:?}", slow.report.failures);
    // A put is handled at least three times on its way (the request, Append at a follower, its
    // reply at the leader), each a millisecond.
    let p50 = |r: &runner::RunResult| r.report.latency["put"].p50_ns;
    assert!(p50(&slow) >= p50(&exact) + 3_000_000, "put p50 {} ns against {} ns exact", p50(&slow), p50(&exact));
    // Every successful answer leaves its handler at least a millisecond after the request came.
    let fastest = slow
        .history
        .entries()
        .iter()
        .filter(|e| matches!(e.outcome, syncsim::sim::history::Outcome::Ok(_)))
        .filter_map(|e| Some(e.ret?.0 - e.call.0))
        .min()
        .expect("operations completed");
    assert!(fastest >= 1_000_000, "an operation answered in {fastest} ns");
}
