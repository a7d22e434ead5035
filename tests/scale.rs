//! Scale: the 10,000-node push-pull scenario completes, converges, loses nothing, and is as
//! deterministic as the small ones (it lives apart from them because it is the slowest).

use syncsim::runner;
use syncsim::scenario::Scenario;

#[test]
fn ten_thousand_replicas_converge_by_push_pull_anti_entropy() {
    let s = Scenario::load("scenarios/scale/large-push-pull.yaml".as_ref()).unwrap();
    assert_eq!(s.node_names.len(), 10_000);
    let r = runner::run(&s, s.raw.seed, false).unwrap();
    assert_eq!(r.report.exit_code, 0, "{:?}", r.report.failures);
    assert!(r.report.convergence.converged);
    assert_eq!(r.report.convergence.live_replicas, 10_000);
    assert!(r.report.network.stats.dropped_partition > 0, "the partition of n0..n999 cut traffic");
    assert!(r.report.visibility.writes > 100);
    let again = runner::run(&s, s.raw.seed, false).unwrap();
    assert_eq!(
        serde_json::to_string(&r.report).unwrap(),
        serde_json::to_string(&again.report).unwrap(),
        "same seed, same report"
    );
}
