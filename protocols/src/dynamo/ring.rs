//! The consistent-hashing ring (Karger et al. 1997, as Dynamo uses it): each node owns
//! `vnodes` tokens on a 64-bit circle; a key's *preference list* is the distinct nodes met
//! walking clockwise from the key's hash. Its first N are the key's replicas; the rest stand in
//! for them, in order, when the store's quorums are sloppy.

use syncsim_sim::{Key, NodeId};

use crate::gossip::mix64;

/// Where a key lives on the ring.
pub fn key_position(key: Key) -> u64 {
    mix64(key ^ 0x6b65_795f_7269_6e67)
}

/// The ring: tokens in clockwise order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ring {
    tokens: Vec<(u64, NodeId)>,
    nodes: u32,
}

impl Ring {
    /// A ring of the `members` with `vnodes` tokens each, placed by hashing (node, i): the
    /// same ring on every node and every run, with no coordination.
    pub fn new(members: &[NodeId], vnodes: u32) -> Ring {
        let mut tokens: Vec<(u64, NodeId)> = members
            .iter()
            .flat_map(|&n| (0..vnodes).map(move |i| (mix64((u64::from(n.0) << 32) ^ u64::from(i) ^ 0x746f_6b65), n)))
            .collect();
        tokens.sort_unstable();
        Ring { tokens, nodes: members.len() as u32 }
    }

    /// A ring of nodes `0..nodes` except those in `outside`.
    pub fn of_cluster(nodes: u32, outside: &[u32], vnodes: u32) -> Ring {
        let members: Vec<NodeId> = (0..nodes).filter(|n| !outside.contains(n)).map(NodeId).collect();
        Ring::new(&members, vnodes)
    }

    /// Number of nodes on the ring.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// The first `count` distinct nodes clockwise from `position` (every node at most).
    pub fn walk(&self, position: u64, count: usize) -> Vec<NodeId> {
        let count = count.min(self.nodes as usize);
        let mut out = Vec::with_capacity(count);
        if self.tokens.is_empty() {
            return out;
        }
        let start = self.tokens.partition_point(|(t, _)| *t < position);
        for i in 0..self.tokens.len() {
            if out.len() == count {
                break;
            }
            let node = self.tokens[(start + i) % self.tokens.len()].1;
            if !out.contains(&node) {
                out.push(node);
            }
        }
        out
    }

    /// `key`'s preference list, `count` nodes long.
    pub fn preference(&self, key: Key, count: usize) -> Vec<NodeId> {
        self.walk(key_position(key), count)
    }

    /// The nodes that share at least one key range with `node` when each range has `n`
    /// replicas: the peers its anti-entropy must reconcile with.
    pub fn partners(&self, node: NodeId, n: usize) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = Vec::new();
        for &(token, _) in &self.tokens {
            // Keys just past `token` up to the next token share one preference list.
            let replicas = self.walk(token.wrapping_add(1), n);
            if replicas.contains(&node) {
                out.extend(replicas.into_iter().filter(|&r| r != node));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_lists_are_distinct_nodes_and_start_with_the_same_replicas() {
        let ring = Ring::of_cluster(10, &[], 8);
        for key in 0..200 {
            let long = ring.preference(key, 10);
            let mut sorted = long.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), 10, "key {key}: every node once: {long:?}");
            assert_eq!(ring.preference(key, 3), long[..3], "the first N are a prefix of the walk");
        }
    }

    #[test]
    fn keys_spread_over_the_nodes_and_removing_none_moves_none() {
        let ring = Ring::of_cluster(8, &[], 32);
        let mut owners = [0u32; 8];
        for key in 0..8000 {
            owners[ring.preference(key, 1)[0].index()] += 1;
        }
        // With 32 tokens a node, each node's share is within a factor of two of a fair 1000.
        assert!(owners.iter().all(|&c| (500..2000).contains(&c)), "{owners:?}");
        assert_eq!(Ring::of_cluster(8, &[], 32), ring, "the ring depends on nothing but its size");
    }

    #[test]
    fn nodes_outside_the_ring_hold_nothing() {
        let ring = Ring::of_cluster(4, &[3], 8);
        for key in 0..500 {
            assert!(!ring.preference(key, 4).contains(&NodeId(3)));
        }
        assert!(ring.partners(NodeId(3), 3).is_empty());
    }

    #[test]
    fn partners_are_exactly_the_nodes_met_in_some_preference_list() {
        let ring = Ring::of_cluster(12, &[], 4);
        for node in (0..12).map(NodeId) {
            let partners = ring.partners(node, 3);
            for key in 0..2000 {
                let replicas = ring.preference(key, 3);
                if replicas.contains(&node) {
                    for r in replicas.iter().filter(|&&r| r != node) {
                        assert!(partners.contains(r), "{node}: {r} shares key {key}");
                    }
                }
            }
            assert!(!partners.contains(&node));
        }
    }
}
