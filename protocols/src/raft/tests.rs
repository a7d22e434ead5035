//! Raft end to end on the engine: elections, replication, failover, forwarding, snapshots.

use syncsim_sim::fault::{Fault, TimedFault};
use syncsim_sim::history::{Outcome, Output};
use syncsim_sim::network::{LinkSpec, NetworkConfig};
use syncsim_sim::workload::{ScriptedOp, WorkloadConfig};
use syncsim_sim::{NodeId, Op, Sim, SimConfig, SimDuration, SimTime};

use super::*;

fn ms(t: u64) -> SimTime {
    SimTime(t * 1_000_000)
}

fn cluster(script: Vec<ScriptedOp>, faults: Vec<TimedFault>) -> SimConfig {
    SimConfig {
        seed: 3,
        nodes: 5,
        duration: SimDuration::from_secs(3),
        settle: SimDuration::from_secs(1),
        network: NetworkConfig {
            default: LinkSpec {
                latency: syncsim_sim::dist::Latency::Uniform {
                    min: SimDuration::from_millis(1),
                    max: SimDuration::from_millis(5),
                },
                ..LinkSpec::default()
            },
            ..NetworkConfig::default()
        },
        workload: WorkloadConfig { script, timeout: SimDuration::from_secs(1), ..WorkloadConfig::default() },
        faults,
        ..SimConfig::default()
    }
}

fn op(at: u64, node: u32, op: Op) -> ScriptedOp {
    ScriptedOp { at: ms(at), node: NodeId(node), op }
}

fn leader_of(sim: &Sim<RaftNode>) -> Option<NodeId> {
    (0..5).map(NodeId).find(|&k| sim.node(k).is_some_and(RaftNode::is_leader))
}

#[test]
fn a_leader_is_elected_and_writes_reach_every_node() {
    let script = vec![op(500, 1, Op::Put { key: 1, value: 10 }), op(600, 3, Op::Get { key: 1 })];
    let mut sim = Sim::<RaftNode>::new(cluster(script, vec![]), RaftConfig::default(), ()).unwrap();
    sim.run_until(ms(2000));
    let leader = leader_of(&sim).expect("a leader");
    let term = sim.node(leader).unwrap().term();
    for k in 0..5 {
        let n = sim.node(NodeId(k)).unwrap();
        assert_eq!(n.term(), term);
        assert_eq!(n.leader(), Some(leader));
        assert_eq!(n.commit_index(), sim.node(leader).unwrap().commit_index(), "heartbeats spread the commit index");
    }
    let out = sim.run();
    assert!(out.violation.is_none(), "{:?}", out.violation);
    let h = out.history.entries();
    assert_eq!(h[0].outcome, Outcome::Ok(Output::Done), "a write at a follower is forwarded");
    assert_eq!(h[1].outcome, Outcome::Ok(Output::Value(Some(10))), "a later read sees it");
    assert_eq!(out.final_digests.iter().collect::<std::collections::BTreeSet<_>>().len(), 1, "all replicas agree");
}

#[test]
fn the_cluster_fails_over_when_the_leader_crashes() {
    let mut sim = Sim::<RaftNode>::new(cluster(vec![], vec![]), RaftConfig::default(), ()).unwrap();
    sim.run_until(ms(1000));
    let old = leader_of(&sim).expect("a leader");
    let old_term = sim.node(old).unwrap().term();
    sim.inject(Fault::Crash(old));
    sim.run_until(ms(2000));
    let new = leader_of(&sim).expect("a new leader");
    assert_ne!(new, old);
    assert!(sim.node(new).unwrap().term() > old_term);
    sim.inject(Fault::Restart(old));
    sim.run_until(ms(2500));
    assert_eq!(sim.node(old).unwrap().leader(), Some(new), "the old leader rejoins as a follower");
    let out = sim.run();
    assert!(out.violation.is_none(), "{:?}", out.violation);
    assert!(out.protocol_metrics.numbers["elections"] >= 2.0);
}

#[test]
fn compare_and_set_and_duplicate_requests() {
    let script = vec![
        op(500, 0, Op::Put { key: 7, value: 1 }),
        op(600, 2, Op::Cas { key: 7, expect: 1, new: 2 }),
        op(700, 4, Op::Cas { key: 7, expect: 1, new: 3 }),
        op(800, 1, Op::Get { key: 7 }),
    ];
    let out = Sim::<RaftNode>::new(cluster(script, vec![]), RaftConfig::default(), ()).unwrap().run();
    let h = out.history.entries();
    assert_eq!(h[1].outcome, Outcome::Ok(Output::Swapped(true)));
    assert_eq!(h[2].outcome, Outcome::Ok(Output::Swapped(false)));
    assert_eq!(h[3].outcome, Outcome::Ok(Output::Value(Some(2))));
    let mut m = StateMachine::default();
    let put = Op::Put { key: 1, value: 5 };
    m.apply(1, RequestId(9), &put);
    m.apply(2, RequestId(10), &Op::Put { key: 1, value: 6 });
    assert_eq!(m.apply(3, RequestId(9), &put), Output::Done, "a retried request is answered ...");
    assert_eq!(m.read(1), Output::Value(Some(6)), "... but not applied again");
}

#[test]
fn snapshots_bound_the_log_and_bring_a_laggard_up_to_date() {
    // Node 4 is cut off while 200 writes go through; snapshots every 50 entries compact them.
    let script: Vec<ScriptedOp> =
        (0..200).map(|i| op(400 + i * 5, (i % 4) as u32, Op::Put { key: i % 10, value: i })).collect();
    let faults = vec![
        TimedFault { at: ms(300), fault: Fault::Partition(vec![vec![NodeId(4)], (0..4).map(NodeId).collect()]) },
        TimedFault { at: ms(2000), fault: Fault::Heal },
    ];
    let config = RaftConfig { snapshot_every: 50, ..RaftConfig::default() };
    let mut sim = Sim::<RaftNode>::new(cluster(script, faults), config, ()).unwrap();
    sim.run_until(ms(1900));
    let leader = leader_of(&sim).filter(|l| l.0 != 4).expect("a leader in the majority");
    assert!(sim.node(leader).unwrap().log.len() < 60, "the leader's log was compacted");
    sim.run_until(ms(3000));
    let caught_up = sim.node(NodeId(4)).unwrap();
    assert_eq!(caught_up.machine, sim.node(leader).unwrap().machine, "InstallSnapshot brought node 4 up to date");
    let out = sim.run();
    assert!(out.violation.is_none(), "{:?}", out.violation);
}

/// Runs a three-node cluster with 1 ms links, 10 ms fsyncs and 150-300 ms timeouts until the
/// first node campaigns; then until a leader is elected. (campaign time, election time).
fn first_election(blocking_disk: bool) -> (SimTime, SimTime) {
    let mut c = cluster(vec![], vec![]);
    c.nodes = 3;
    c.network.default.latency = syncsim_sim::dist::Latency::Constant(SimDuration::from_millis(1));
    let config = RaftConfig { disk_latency: SimDuration::from_millis(10), blocking_disk, ..RaftConfig::default() };
    let mut sim = Sim::<RaftNode>::new(c, config, ()).unwrap();
    let term = |sim: &Sim<RaftNode>| (0..3).map(|k| sim.node(NodeId(k)).unwrap().term()).max().unwrap();
    while term(&sim) == 0 {
        assert!(sim.step());
    }
    let campaign = sim.now();
    while !(0..3).any(|k| sim.node(NodeId(k)).unwrap().is_leader()) {
        assert!(sim.step());
    }
    (campaign, sim.now())
}

#[test]
fn a_blocking_disk_sends_vote_requests_after_the_candidates_write_and_votes_after_two() {
    // Replies wait for one group fsync: request (1 ms), vote written (10 ms), reply (1 ms).
    let (campaign, elected) = first_election(false);
    assert_eq!(elected.since(campaign), SimDuration::from_millis(12));
    // LogCabin: the candidate writes its term and vote before asking (10 ms), the request
    // travels (1 ms), the voter writes the new term and then its vote (20 ms), the vote
    // travels back (1 ms).
    let (campaign, elected) = first_election(true);
    assert_eq!(elected.since(campaign), SimDuration::from_millis(32));
}

#[test]
fn election_timeouts_are_whole_steps_when_a_step_is_set() {
    let config = RaftConfig {
        election_timeout: "150ms..151ms".parse().unwrap(),
        election_timeout_step: SimDuration::from_millis(1),
        ..RaftConfig::default()
    };
    assert!(config.validate().is_ok());
    let mut sim = Sim::<RaftNode>::new(cluster(vec![], vec![]), config, ()).unwrap();
    let mut drawn = BTreeSet::new();
    for _ in 0..64 {
        sim.act(NodeId(0), |node, ctx| {
            drawn.insert(node.election_delay(ctx));
        });
    }
    let whole = BTreeSet::from([SimDuration::from_millis(150), SimDuration::from_millis(151)]);
    assert_eq!(drawn, whole, "150 or 151 ms, as LogCabin rounds its draw, never a fraction");
    let odd = RaftConfig {
        election_timeout: "150ms..301ms".parse().unwrap(),
        election_timeout_step: SimDuration::from_millis(2),
        ..RaftConfig::default()
    };
    assert_eq!(odd.validate().unwrap_err().0, "election_timeout_step");
}

/// A three-node cluster on 1 ms links with a blocking 10 ms disk, run until it has a leader:
/// (the sim, the leader, a follower).
fn blocking_cluster() -> (Sim<RaftNode>, NodeId, NodeId) {
    let mut c = cluster(vec![], vec![]);
    c.nodes = 3;
    c.network.default.latency = syncsim_sim::dist::Latency::Constant(SimDuration::from_millis(1));
    let config =
        RaftConfig { disk_latency: SimDuration::from_millis(10), blocking_disk: true, ..RaftConfig::default() };
    let mut sim = Sim::<RaftNode>::new(c, config, ()).unwrap();
    sim.run_until(ms(1000));
    let leader = (0..3).map(NodeId).find(|&k| sim.node(k).unwrap().is_leader()).expect("a leader");
    let follower = (0..3).map(NodeId).find(|&k| k != leader).unwrap();
    (sim, leader, follower)
}

/// Holds `k` for `writes` fsyncs of 10 ms, as a handler that wrote that much would.
fn hold(sim: &mut Sim<RaftNode>, k: NodeId, to: NodeId, writes: u32) {
    sim.act(k, |node, ctx| {
        let ack = RaftMsg::Vote { term: node.term, granted: false }; // ignored by a leader
        node.persist(ctx, to, ack, writes);
    });
}

#[test]
fn a_node_held_by_its_disk_handles_a_request_that_came_meanwhile_once_the_write_is_done() {
    let (mut sim, leader, follower) = blocking_cluster();
    let start = sim.now();
    let before = sim.node(leader).unwrap().last_index();
    hold(&mut sim, follower, leader, 1);
    sim.submit(follower, Op::Put { key: 1, value: 7 });
    sim.run_until(start + SimDuration::from_millis(9));
    let waiting = &sim.node(follower).unwrap().deferred;
    assert!(waiting.iter().any(|d| matches!(d, Deferred::Request(..))), "the request waits for the disk");
    assert_eq!(sim.node(leader).unwrap().last_index(), before, "nothing was forwarded yet");
    // The write ends at 10 ms; the forward takes 1 ms.
    sim.run_until(start + SimDuration::from_millis(12));
    assert!(sim.node(follower).unwrap().deferred.is_empty());
    assert_eq!(sim.node(leader).unwrap().last_index(), before + 1, "forwarded once the write was done");
}

#[test]
fn an_election_timer_that_fired_during_a_hold_is_dropped_when_a_heartbeat_before_it_rearmed_it() {
    // Held for 400 ms, longer than any election timeout: the timer fires meanwhile, after
    // heartbeats that also wait. Handled in order, the first heartbeat re-arms the timer, so
    // the firing is void and the follower does not campaign against a working leader.
    let (mut sim, leader, follower) = blocking_cluster();
    let term = sim.node(leader).unwrap().term();
    hold(&mut sim, follower, leader, 40);
    let start = sim.now();
    sim.run_until(start + SimDuration::from_millis(399));
    let waiting = &sim.node(follower).unwrap().deferred;
    assert!(waiting.iter().any(|d| matches!(d, Deferred::Timer(RaftTimer::Election, _))), "the timer fired");
    assert!(waiting.iter().any(|d| matches!(d, Deferred::Message(_, RaftMsg::Append { .. }))), "heartbeats wait");
    sim.run_until(start + SimDuration::from_millis(500));
    assert_eq!(sim.node(follower).unwrap().term(), term, "no campaign");
    assert!(sim.node(leader).unwrap().is_leader());
}

// Planted bugs exist in test builds of the workspace (`cargo test --workspace`), not in
// `cargo test -p syncsim-protocols` alone.
#[cfg(feature = "planted-bugs")]
#[test]
fn the_vote_twice_bug_breaks_election_safety() {
    // With two candidates at once somewhere in many seeds, a node votes for both and two
    // leaders win one term.
    let config =
        RaftConfig { bug: Bug::VoteTwice, election_timeout: "150ms..152ms".parse().unwrap(), ..RaftConfig::default() };
    let caught = (0..50).any(|seed| {
        let mut c = cluster(vec![], vec![]);
        c.seed = seed;
        let out = Sim::<RaftNode>::new(c, config.clone(), ()).unwrap().run();
        out.violation.is_some_and(|v| v.message.contains("election safety"))
    });
    assert!(caught, "the monitor catches two leaders in one term");
}
