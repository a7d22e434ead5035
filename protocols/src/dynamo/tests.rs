//! Dynamo's mechanisms one at a time, each node driven by hand.

use super::*;
use syncsim_sim::rng::Stream;
use syncsim_sim::{Effects, SimTime};

type Out = Effects<DynamoMsg, DynamoTimer>;

const NODES: u32 = 5;

/// A cluster of `NODES` started nodes and the messages between them.
struct Cluster {
    nodes: Vec<DynamoNode>,
    now: u64,
    /// Bytes of every message delivered.
    bytes: usize,
}

impl Cluster {
    fn new(config: DynamoConfig) -> Cluster {
        let mut c = Cluster {
            nodes: (0..NODES).map(|i| DynamoNode::new(NodeId(i), &config, None)).collect(),
            now: 0,
            bytes: 0,
        };
        for i in 0..NODES {
            c.drive(i, |n, ctx| n.on_start(ctx));
        }
        c
    }

    /// Runs one handler of node `i` and returns its effects.
    fn drive(&mut self, i: u32, f: impl FnOnce(&mut DynamoNode, &mut Ctx<'_, DynamoNode>)) -> Out {
        self.now += 1_000;
        let mut out = Out::default();
        let mut rng = Stream::Node(i).rng(1);
        let mut ctx = Ctx::new(SimTime(self.now), NodeId(i), NODES, &mut rng, &mut out);
        f(&mut self.nodes[i as usize], &mut ctx);
        out
    }

    /// Delivers `sends` from `from`, and everything they cause, except to nodes in `down`.
    fn pump(&mut self, from: u32, sends: Vec<(NodeId, DynamoMsg)>, down: &[u32]) {
        let mut queue: Vec<(u32, NodeId, DynamoMsg)> = sends.into_iter().map(|(to, m)| (from, to, m)).collect();
        while !queue.is_empty() {
            let (from, to, msg) = queue.remove(0);
            if down.contains(&to.0) {
                continue;
            }
            self.bytes += msg.wire_size();
            let out = self.drive(to.0, |n, ctx| n.on_message(ctx, NodeId(from), msg));
            queue.extend(out.sends.into_iter().map(|(t, m)| (to.0, t, m)));
        }
    }

    fn ring(&self) -> Ring {
        Ring::of_cluster(NODES, &[], self.nodes[0].config.vnodes)
    }
}

fn put(key: Key, value: u64) -> Op {
    Op::Put { key, value }
}

#[test]
fn a_silent_replica_is_replaced_by_the_next_node_which_hands_the_write_over() {
    let mut c = Cluster::new(DynamoConfig { anti_entropy: SimDuration::ZERO, ..DynamoConfig::default() });
    let key = 7;
    let walk = c.ring().preference(key, NODES as usize);
    let (silent, stand_in) = (walk[2], walk[3]);
    let coordinator = walk[0].0;
    // The write reaches two replicas; the third is down.
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(1), put(key, 11)));
    c.pump(coordinator, out.sends, &[silent.0]);
    // W = 2 is met without it; at the deadline the coordinator suspects it and asks the next
    // node of the preference list to keep the write for it.
    let out = c.drive(coordinator, |n, ctx| n.on_timer(ctx, DynamoTimer::Request(RequestId(1))));
    assert!(out.sends.is_empty(), "answered already: nothing more to ask");
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(2), put(key, 12)));
    let hinted: Vec<_> =
        out.sends.iter().filter(|(_, m)| matches!(m, DynamoMsg::Write { hint: Some(_), .. })).collect();
    assert_eq!(hinted.len(), 1, "{:?}", out.sends);
    assert_eq!(hinted[0].0, stand_in);
    assert!(matches!(hinted[0].1, DynamoMsg::Write { hint: Some(h), .. } if h == silent));
    c.pump(coordinator, out.sends, &[silent.0]);
    assert_eq!(c.nodes[stand_in.index()].hints_for(silent), 1);
    assert_eq!(c.nodes[stand_in.index()].store().get(key), None, "a hint is not the stand-in's own data");
    // The replica comes back: the next handoff round delivers the write and clears the hint.
    let out = c.drive(stand_in.0, |n, ctx| n.on_timer(ctx, DynamoTimer::Handoff));
    c.pump(stand_in.0, out.sends, &[]);
    assert_eq!(c.nodes[silent.index()].store().get(key), Some(12));
    assert_eq!(c.nodes[stand_in.index()].hints_for(silent), 0);
}

#[test]
fn a_read_repairs_the_replicas_that_answered_with_an_older_version() {
    let mut c = Cluster::new(DynamoConfig { anti_entropy: SimDuration::ZERO, ..DynamoConfig::default() });
    let key = 3;
    let walk = c.ring().preference(key, 3);
    let coordinator = walk[0].0;
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(1), put(key, 5)));
    c.pump(coordinator, out.sends, &[walk[2].0]); // the write misses the third replica
    assert_eq!(c.nodes[walk[2].index()].store().get(key), None);
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(2), Op::Get { key }));
    c.pump(coordinator, out.sends, &[]);
    assert_eq!(c.nodes[walk[2].index()].store().get(key), Some(5), "repaired by the read");
}

#[test]
fn without_read_repair_the_lagging_replica_stays_behind() {
    let config = DynamoConfig { anti_entropy: SimDuration::ZERO, read_repair: false, ..DynamoConfig::default() };
    let mut c = Cluster::new(config);
    let key = 3;
    let walk = c.ring().preference(key, 3);
    let coordinator = walk[0].0;
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(1), put(key, 5)));
    c.pump(coordinator, out.sends, &[walk[2].0]);
    let out = c.drive(coordinator, |n, ctx| n.on_request(ctx, RequestId(2), Op::Get { key }));
    c.pump(coordinator, out.sends, &[]);
    assert_eq!(c.nodes[walk[2].index()].store().get(key), None);
}

#[test]
fn merkle_anti_entropy_moves_only_the_keys_that_differ() {
    let mut c = Cluster::new(DynamoConfig::default());
    let ring = c.ring();
    // Two partners; every key both replicate is stored alike at both, but one.
    let (a, b) = (NodeId(0), c.nodes[0].partners[0]);
    let shared: Vec<Key> = (0..20_000)
        .filter(|&k| {
            let r = ring.preference(k, 3);
            r.contains(&a) && r.contains(&b)
        })
        .collect();
    assert!(shared.len() > 1000, "{}", shared.len());
    let update =
        |k: Key, lamport: u64| Update { key: k, version: Version { lamport, node: 0 }, value: k, write: RequestId(k) };
    for &k in &shared {
        c.nodes[a.index()].data.store.merge(update(k, 1));
        c.nodes[b.index()].data.store.merge(update(k, 1));
    }
    let odd = shared[shared.len() / 2];
    c.nodes[a.index()].data.store.merge(update(odd, 2));
    let root = c.nodes[a.index()].tree_with(b, a).hash(0, 0);
    c.pump(a.0, vec![(b, DynamoMsg::Tree { level: 0, hashes: vec![(0, root)] })], &[]);
    assert_eq!(c.nodes[b.index()].store().entry(odd).map(|u| u.version.lamport), Some(2));
    let full_digest = shared.len() * (crate::gossip::wire::KEY + crate::gossip::wire::VERSION);
    println!(
        "{} shared keys, one differing: {} bytes exchanged, a full digest is {full_digest}",
        shared.len(),
        c.bytes
    );
    assert!(c.bytes * 20 < full_digest, "{} bytes against a {full_digest}-byte digest", c.bytes);
    // Equal replicas exchange one root hash and stop.
    let before = c.bytes;
    let root = c.nodes[a.index()].tree_with(b, a).hash(0, 0);
    c.pump(a.0, vec![(b, DynamoMsg::Tree { level: 0, hashes: vec![(0, root)] })], &[]);
    assert_eq!(c.bytes - before, DynamoMsg::Tree { level: 0, hashes: vec![(0, 0)] }.wire_size());
}

#[test]
fn quorums_are_checked_against_n_and_the_ring() {
    let nodes: Vec<String> = (0..4).map(|i| format!("n{i}")).collect();
    let bad = |c: DynamoConfig| c.validate(&nodes).unwrap_err().0;
    assert_eq!(bad(DynamoConfig { r: 4, ..DynamoConfig::default() }), "r");
    assert_eq!(bad(DynamoConfig { w: 0, ..DynamoConfig::default() }), "w");
    assert_eq!(bad(DynamoConfig { n: 4, coordinators: vec!["n3".into()], ..DynamoConfig::default() }), "n");
    assert_eq!(bad(DynamoConfig { coordinators: vec!["n9".into()], ..DynamoConfig::default() }), "coordinators[0]");
    let twice = vec!["n3".into(), "n3".into()];
    assert_eq!(bad(DynamoConfig { n: 1, coordinators: twice, ..DynamoConfig::default() }), "coordinators[1]");
    let all: Vec<String> = nodes.clone();
    assert_eq!(bad(DynamoConfig { n: 1, r: 1, w: 1, coordinators: all, ..DynamoConfig::default() }), "coordinators");
    assert!(DynamoConfig { n: 3, coordinators: vec!["n3".into()], ..DynamoConfig::default() }.validate(&nodes).is_ok());
}
