//! Elastic clusters (issue 20): spares join, members leave, churn keeps a band; the clients,
//! the checkers and the report follow the cluster's membership.

use syncsim::runner;
use syncsim::scenario::Scenario;
use syncsim_protocols::GossipNode;
use syncsim_sim::fault::Fault;
use syncsim_sim::{NodeId, Protocol, Sim, SimTime};

fn load(file: &str) -> Scenario {
    Scenario::load(file.as_ref()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn spares_join_members_leave_and_the_report_follows_the_cluster() {
    let s = load("tests/data/elastic/scale-out-in.yaml");
    let r = runner::run(&s, 1, false).unwrap();
    assert_eq!(r.report.exit_code, 0, "{:?}", r.report.failures);
    // 3 members; n3 and n4 join; n2 crashes for a second; n0 and n3 leave.
    let sizes: Vec<(u64, u32, u32)> =
        r.report.timeline.cluster.iter().map(|p| (p.t_ns / 1_000_000, p.members, p.up)).collect();
    assert_eq!(
        sizes,
        vec![(0, 3, 3), (2000, 4, 4), (3000, 5, 5), (4000, 5, 4), (5000, 5, 5), (6000, 4, 4), (7000, 3, 3)]
    );
    // Clients reach members only: nothing at a spare before it joined, nor at a node after
    // it left.
    let member = |node: NodeId, t: SimTime| match node.0 {
        0 => t.0 < 6_000_000_000,
        1 | 2 => true,
        3 => (2_000_000_000..7_000_000_000).contains(&t.0),
        4 => t.0 >= 3_000_000_000,
        _ => false,
    };
    for e in r.history.entries() {
        assert!(member(e.node, e.call), "{e:?} reached a node outside the cluster");
    }
    assert!(r.history.entries().iter().any(|e| e.node == NodeId(4)), "a joiner serves clients");
}

#[test]
fn a_joiner_serves_no_client_until_it_has_its_state_and_a_leaver_hands_its_state_on() {
    let s = load("tests/data/elastic/scale-out-in.yaml");
    let mut sim = Sim::<GossipNode>::new(s.sim.clone(), s.protocol().get::<GossipNode>().unwrap().clone(), ()).unwrap();
    sim.run_until(SimTime(2_000_000_000));
    sim.step();
    let joiner = NodeId(3);
    assert!(sim.node(joiner).is_some_and(|n| !n.ready()), "n3 joined and is catching up");
    let mut ready_at = None;
    while ready_at.is_none() {
        assert!(sim.step());
        if sim.node(joiner).is_some_and(|n| n.ready()) {
            ready_at = Some(sim.now());
        }
    }
    let ready_at = ready_at.unwrap();
    let held = sim.node(joiner).unwrap().store().len();
    assert!(held > 0, "it came in with the state of a member");
    assert!(
        sim.history().entries().iter().all(|e| e.node != joiner || e.call >= ready_at),
        "no request reached n3 before it was ready ({ready_at})"
    );
    // n0 leaves at 6 s and drains until a member acknowledges its handoff: what it held
    // reaches the others (none of its writes is lost).
    sim.run_until(SimTime(6_000_000_001));
    assert!(sim.node(NodeId(0)).is_some(), "n0 drains");
    let fault_at_6 = sim.history().entries().iter().all(|e| e.node != NodeId(0) || e.call.0 <= 6_000_000_000);
    assert!(fault_at_6, "no client reaches a leaving node");
    sim.run_until(SimTime(6_500_000_000));
    assert!(sim.node(NodeId(0)).is_none(), "gone once a member has its handoff");
    let out = sim.run();
    assert!(out.final_reads[0].is_none(), "a node that left holds nothing");
    assert!(out.faults.iter().any(|(_, f)| *f == Fault::Leave(NodeId(0))));
}

#[test]
fn churn_keeps_the_cluster_within_its_band_and_replays_exactly() {
    // The shipped scenario without its scripted scale-out and scale-in: churn alone.
    let text = std::fs::read_to_string("scenarios/elastic-gossip.yaml").unwrap();
    let (from, to) = (text.find("\nfaults:").unwrap(), text.find("\nrandom_faults:").unwrap());
    let text = format!("{}{}", &text[..from], &text[to..]);
    let s = Scenario::parse(&text, "scenarios/elastic-gossip.yaml").unwrap_or_else(|e| panic!("{e}"));
    for seed in 1..=10 {
        let a = runner::run(&s, seed, false).unwrap();
        let sizes = &a.report.timeline.cluster;
        let joins_leaves =
            a.report.faults.iter().filter(|f| f.fault.starts_with("join") || f.fault.starts_with("leave")).count();
        assert!(joins_leaves > 15, "seed {seed}: churn changes the cluster ({joins_leaves} joins and leaves)");
        assert!(sizes.iter().all(|p| (3..=10).contains(&p.members)), "seed {seed}: {sizes:?}");
        // The traffic tables list the nodes that were ever members, not 40 idle spares.
        let mut ever: std::collections::BTreeSet<String> = ["n0", "n1", "n2"].map(String::from).into();
        ever.extend(a.report.faults.iter().filter_map(|f| f.fault.strip_prefix("join ").map(String::from)));
        let listed: std::collections::BTreeSet<String> =
            a.report.traffic.nodes.iter().map(|n| n.node.clone()).collect();
        assert_eq!(listed, ever, "seed {seed}");
        assert!(listed.len() < 43);
        let b = runner::run(&s, seed, false).unwrap();
        assert_eq!(a.report.trace_hash, b.report.trace_hash, "same seed, same run");
    }
}

#[test]
fn raft_grows_and_shrinks_by_single_server_changes_and_stays_linearizable() {
    // The shipped scenario: two servers join at once (twice), churn and crashes in between,
    // then the first three members leave. Every run must be linearizable with the monitor
    // quiet (it checks each change against the last committed configuration).
    let s = load("scenarios/elastic-raft.yaml");
    for seed in 1..=10 {
        let r = runner::run(&s, seed, false).unwrap();
        assert_eq!(r.report.exit_code, 0, "seed {seed}: {:?}", r.report.failures);
        let changes = r.report.protocol_metrics.numbers.get("config_changes").copied().unwrap_or(0.0);
        let joins_leaves =
            r.report.faults.iter().filter(|f| f.fault.starts_with("join") || f.fault.starts_with("leave")).count();
        // Each join and each leave of a member is one change (a joiner that leaves before
        // it was added needs none, and one whose request is lost asks again).
        assert!(
            changes >= joins_leaves as f64 * 0.7,
            "seed {seed}: {changes} changes for {joins_leaves} joins and leaves"
        );
        assert!(r.report.timeline.cluster.iter().any(|p| p.members >= 7), "seed {seed}: it scales out");
        // The first members left: whoever serves at the end joined later, and the clients
        // were served throughout.
        let availability = r.report.operations["all"].availability;
        assert!(availability > 0.9, "seed {seed}: availability {availability}");
    }
}

#[test]
fn the_autoscaler_follows_the_load_up_and_down_and_a_fixed_variant_stays_put() {
    let file =
        syncsim::scenario::ScenarioFile::load("scenarios/autoscale.yaml".as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let run = |name: &str, seed: u64| {
        let s = file.runs().iter().find(|s| s.variant.as_deref() == Some(name)).unwrap();
        runner::run(s, seed, false).unwrap()
    };
    for seed in 1..=3 {
        let r = run("gossip-elastic", seed);
        assert_eq!(r.report.exit_code, 0, "seed {seed}: {:?}", r.report.failures);
        let members_at = |t_s: u64| {
            let t = t_s * 1_000_000_000;
            r.report.timeline.cluster.iter().take_while(|p| p.t_ns <= t).last().map_or(3, |p| p.members)
        };
        // 100/s on three members of 50/s each is 67%; 400/s from 14 s needs eight.
        assert!(members_at(8) <= 5, "seed {seed}: {} members before the load rose", members_at(8));
        assert!(members_at(24) >= 8, "seed {seed}: {} members at the peak", members_at(24));
        assert!(members_at(40) < members_at(24), "seed {seed}: it scales in after the load falls");
        // One change per look, each a join of a fresh node or a leave of the newest member.
        let changes: Vec<u64> = r
            .report
            .faults
            .iter()
            .filter(|f| f.fault.starts_with("join") || f.fault.starts_with("leave"))
            .map(|f| f.at_ns)
            .collect();
        assert!(changes.windows(2).all(|w| w[1] - w[0] >= 1_000_000_000), "seed {seed}: {changes:?}");
        assert_eq!(r.report.trace_hash, run("gossip-elastic", seed).report.trace_hash, "it replays exactly");
        let fixed = run("gossip-fixed", seed);
        assert!(fixed.report.timeline.cluster.iter().all(|p| p.members == 3), "seed {seed}: no autoscaler, no change");
    }
}
