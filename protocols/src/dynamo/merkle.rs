//! Merkle trees over a replica's keys, for anti-entropy that costs what the replicas differ
//! by rather than what they hold (Dynamo, section 4.7).
//!
//! Keys fall into `16^DEPTH` leaf buckets by their ring position. A leaf's hash combines its
//! entries' hashes; an inner node's hashes its 16 children in order. Two replicas compare
//! roots, then the children of the nodes that differ, level by level, and at the leaves
//! exchange only the versions in the buckets that differ: one differing key among a million
//! costs a few hundred hashes and one entry, not a million-entry digest.

use syncsim_sim::Key;

use super::ring::key_position;
use crate::gossip::mix64;

/// Children per inner node.
pub const FANOUT: usize = 16;
/// Levels below the root: leaves are at level `DEPTH`.
pub const DEPTH: u8 = 3;
/// Number of leaf buckets.
pub const LEAVES: usize = FANOUT.pow(DEPTH as u32);

/// The leaf bucket of `key`.
pub fn bucket(key: Key) -> u32 {
    (key_position(key) >> (64 - 4 * u32::from(DEPTH))) as u32
}

/// A Merkle tree: the hashes of every level, the root first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    levels: Vec<Vec<u64>>,
}

impl Tree {
    /// The tree over entries given as (key, entry hash); order does not matter.
    pub fn build(entries: impl IntoIterator<Item = (Key, u64)>) -> Tree {
        let mut leaves = vec![0u64; LEAVES];
        for (key, hash) in entries {
            // XOR keeps a leaf independent of insertion order; entry hashes are well mixed.
            leaves[bucket(key) as usize] ^= mix64(hash);
        }
        let mut levels = vec![leaves];
        while levels[0].len() > 1 {
            let parents = levels[0]
                .chunks(FANOUT)
                .map(|children| children.iter().fold(0x6d65_726b_6c65u64, |h, &c| mix64(h ^ c)))
                .collect();
            levels.insert(0, parents);
        }
        Tree { levels }
    }

    /// The hash of node `index` of `level` (0: the root).
    pub fn hash(&self, level: u8, index: u32) -> u64 {
        self.levels[level as usize][index as usize]
    }

    /// The hashes of the children of `index` at `level`, as (child index, hash).
    pub fn children(&self, level: u8, index: u32) -> impl Iterator<Item = (u32, u64)> + '_ {
        let first = index as usize * FANOUT;
        self.levels[level as usize + 1][first..first + FANOUT]
            .iter()
            .enumerate()
            .map(move |(i, &h)| ((first + i) as u32, h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Descends two trees as the anti-entropy exchange does; returns the differing leaves and
    /// how many hashes were compared.
    fn differing_leaves(a: &Tree, b: &Tree) -> (Vec<u32>, usize) {
        let mut frontier = vec![0u32];
        let mut compared = 1;
        if a.hash(0, 0) == b.hash(0, 0) {
            return (Vec::new(), compared);
        }
        for level in 0..DEPTH {
            let mut next = Vec::new();
            for &i in &frontier {
                for ((c, ha), (_, hb)) in a.children(level, i).zip(b.children(level, i)) {
                    compared += 1;
                    if ha != hb {
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
        (frontier, compared)
    }

    #[test]
    fn equal_contents_give_equal_roots_whatever_the_order() {
        let entries: Vec<(Key, u64)> = (0..500).map(|k| (k, k * 7 + 1)).collect();
        let a = Tree::build(entries.iter().copied());
        let b = Tree::build(entries.iter().rev().copied());
        assert_eq!(a, b);
        assert_eq!(differing_leaves(&a, &b), (Vec::new(), 1), "equal replicas compare one hash");
    }

    #[test]
    fn one_differing_key_is_found_through_one_path_of_the_tree() {
        let entries: Vec<(Key, u64)> = (0..100_000).map(|k| (k, k * 7 + 1)).collect();
        let a = Tree::build(entries.iter().copied());
        let mut changed = entries.clone();
        changed[4242].1 += 1;
        let b = Tree::build(changed);
        let (leaves, compared) = differing_leaves(&a, &b);
        assert_eq!(leaves, vec![bucket(4242)]);
        assert_eq!(compared, 1 + FANOUT * DEPTH as usize, "the root, then 16 children per level");
    }
}
