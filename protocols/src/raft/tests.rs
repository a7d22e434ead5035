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

/// The configurations `node`'s log went through, in order (the initial one first).
fn configurations(node: &RaftNode) -> Vec<Vec<NodeId>> {
    let mut seen = vec![node.initial.clone().unwrap_or_default()];
    for index in node.log.base().index + 1..=node.log.last_index() {
        if let Some(change) = &node.log.get(index).unwrap().command.change {
            seen.push(change.clone());
        }
    }
    seen
}

#[test]
fn servers_join_and_leave_one_at_a_time_and_leaving_servers_go_once_removed() {
    // Two servers join at the same instant, then two of the first members leave, the
    // leader among them: every change adds or removes one server, the second joiner waits
    // for the first one's change to commit, and the leavers depart once removed.
    let mut config = cluster(
        vec![op(2500, 2, Op::Put { key: 1, value: 7 }), op(2800, 4, Op::Get { key: 1 })],
        vec![
            TimedFault { at: ms(500), fault: Fault::Join(NodeId(3)) },
            TimedFault { at: ms(500), fault: Fault::Join(NodeId(4)) },
        ],
    );
    config.spares = 2;
    let mut sim = Sim::<RaftNode>::new(config, RaftConfig::default(), ()).unwrap();
    sim.run_until(ms(1500));
    let leader = leader_of(&sim).expect("a leader");
    let other = (0..3).map(NodeId).find(|&k| k != leader).unwrap();
    sim.inject(Fault::Leave(leader));
    sim.inject(Fault::Leave(other));
    while sim.node(leader).is_some() {
        assert!(sim.step());
    }
    let gone = sim.now();
    while leader_of(&sim).is_none() {
        assert!(sim.step());
    }
    assert!(
        sim.now().since(gone) < RaftConfig::default().election_timeout.min,
        "the leader handed over: a successor leads {} after it left",
        sim.now().since(gone)
    );
    let out = {
        sim.run_until(ms(2400));
        assert!(sim.node(leader).is_none() && sim.node(other).is_none(), "both leavers departed");
        let survivor = (0..5).map(NodeId).find(|k| sim.node(*k).is_some()).unwrap();
        let seen = configurations(sim.node(survivor).unwrap());
        let sizes: Vec<usize> = seen.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 4, 5, 4, 3], "{seen:?}");
        for pair in seen.windows(2) {
            let changed = pair[0].iter().filter(|k| !pair[1].contains(k)).count()
                + pair[1].iter().filter(|k| !pair[0].contains(k)).count();
            assert_eq!(changed, 1, "one server at a time: {seen:?}");
        }
        sim.run()
    };
    assert!(out.violation.is_none(), "{:?}", out.violation);
    let h = out.history.entries();
    assert_eq!(h[0].outcome, Outcome::Ok(Output::Done), "the shrunk cluster still commits");
    assert_eq!(h[1].outcome, Outcome::Ok(Output::Value(Some(7))), "a joiner serves reads");
}

#[test]
fn a_new_leader_changes_the_configuration_only_once_an_entry_of_its_term_has_committed() {
    let mut config = cluster(vec![], vec![]);
    config.spares = 1;
    let mut sim = Sim::<RaftNode>::new(config, RaftConfig::default(), ()).unwrap();
    while leader_of(&sim).is_none() {
        assert!(sim.step());
    }
    let leader = leader_of(&sim).unwrap();
    assert!(sim.node(leader).unwrap().commit < sim.node(leader).unwrap().term_start, "the no-op is not committed yet");
    sim.act(leader, |p, ctx| p.reconfigure(ctx, NodeId(4), true));
    assert!(sim.node(leader).unwrap().learners.is_empty(), "refused: the joiner asks again later");
    sim.run_until(sim.now() + SimDuration::from_millis(100));
    sim.act(leader, |p, ctx| p.reconfigure(ctx, NodeId(4), true));
    assert!(sim.node(leader).unwrap().learners.contains_key(&NodeId(4)), "accepted: catching up");
}

/// A follower leaves, and is cut off from the cluster just after the leader appended the
/// configuration without it, so it never hears of its removal; the partition heals 500 ms
/// later. The leader's term before and at the end, and whether the leaver departed.
fn removed_but_unaware(pre_vote: bool) -> (u64, u64, bool) {
    let raft = RaftConfig { pre_vote, check_quorum: pre_vote, ..RaftConfig::default() };
    let mut sim = Sim::<RaftNode>::new(cluster(vec![], vec![]), raft, ()).unwrap();
    sim.run_until(ms(1000));
    let leader = leader_of(&sim).expect("a leader");
    let leaver = (0..5).map(NodeId).find(|&k| k != leader).unwrap();
    sim.inject(Fault::Leave(leaver));
    while sim.node(leader).unwrap().members().contains(&leaver) {
        assert!(sim.step());
    }
    let rest: Vec<NodeId> = (0..5).map(NodeId).filter(|&k| k != leaver).collect();
    sim.inject(Fault::Partition(vec![vec![leaver], rest]));
    let term = sim.node(leader).unwrap().term();
    sim.run_until(ms(1500));
    sim.inject(Fault::Heal);
    sim.run_until(ms(2500));
    let now = (0..5).map(NodeId).filter_map(|k| sim.node(k)).map(RaftNode::term).max().unwrap();
    (term, now, sim.node(leaver).is_none())
}

#[test]
fn a_removed_server_that_missed_its_removal_cannot_depose_the_leader_with_pre_vote() {
    let (before, after, departed) = removed_but_unaware(true);
    assert_eq!(after, before, "pre-votes refused, no new term");
    assert!(departed, "told again once the partition healed, it departs");
    // The control: without PreVote and CheckQuorum, its campaigns raise the term and the
    // working leader steps down (Ongaro's dissertation, §4.2.3).
    let (before, after, _) = removed_but_unaware(false);
    assert!(after > before, "the removed server disrupts the cluster");
}

// Planted bugs exist in test builds of the workspace (`cargo test --workspace`), not in
// `cargo test -p syncsim-protocols` alone.
#[cfg(feature = "planted-bugs")]
#[test]
fn two_servers_added_at_once_break_the_overlap_of_majorities() {
    // The planted bug starts the second change before the first commits: from three
    // voters to five, whose majorities need not meet the old ones.
    let mut config = cluster(
        vec![],
        vec![
            TimedFault { at: ms(500), fault: Fault::Join(NodeId(3)) },
            TimedFault { at: ms(500), fault: Fault::Join(NodeId(4)) },
        ],
    );
    config.spares = 2;
    let buggy = RaftConfig { bug: Bug::ConcurrentChanges, ..RaftConfig::default() };
    let mut caught = 0;
    for seed in 0..20 {
        config.seed = seed;
        let out = Sim::<RaftNode>::new(config.clone(), buggy.clone(), ()).unwrap().run();
        caught += usize::from(out.violation.is_some_and(|v| v.message.contains("do not overlap")));
        let out = Sim::<RaftNode>::new(config.clone(), RaftConfig::default(), ()).unwrap().run();
        assert!(out.violation.is_none(), "the correct protocol passes seed {seed}: {:?}", out.violation);
    }
    assert!(caught > 0, "the monitor catches configurations whose majorities do not overlap");
}

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
