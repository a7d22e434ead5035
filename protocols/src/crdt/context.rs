//! Dots and causal contexts: the bookkeeping of which updates a replica has seen.
//!
//! Every update to a key gets a *dot*: the node that made it and that node's next sequence
//! number for the key. A causal context is a set of dots, kept compact as a version vector
//! (every dot of a node up to some number) plus a cloud of dots beyond it (Almeida et al.,
//! "Delta state replicated data types", 2018, §5).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::wire;

/// One update: the node that made it and its sequence number there (from 1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dot {
    /// The node that made the update.
    pub node: u32,
    /// Its sequence number at that node, from 1.
    pub seq: u64,
}

impl Dot {
    /// Encoded size.
    pub fn size(&self) -> usize {
        wire::varint(u64::from(self.node)) + wire::varint(self.seq)
    }
}

/// A set of dots: a version vector plus the dots beyond it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Context {
    /// Per node, the highest sequence number such that every dot up to it is in the set;
    /// nodes with none are absent.
    vv: BTreeMap<u32, u64>,
    /// Dots in the set that the version vector does not cover.
    cloud: BTreeSet<Dot>,
}

impl Context {
    /// The set of the given dots.
    pub fn of(dots: impl IntoIterator<Item = Dot>) -> Self {
        let mut c = Context::default();
        for d in dots {
            c.insert(d);
        }
        c
    }

    /// Whether the set holds `dot`.
    pub fn contains(&self, dot: Dot) -> bool {
        self.vv.get(&dot.node).is_some_and(|&n| dot.seq <= n) || self.cloud.contains(&dot)
    }

    /// Adds `dot`.
    pub fn insert(&mut self, dot: Dot) {
        if !self.contains(dot) {
            self.cloud.insert(dot);
            self.compact();
        }
    }

    /// The next dot of `node`: one past the highest it has in the set.
    pub fn next_dot(&self, node: u32) -> Dot {
        let top = self.vv.get(&node).copied().unwrap_or(0);
        let beyond = self.cloud.range(Dot { node, seq: 0 }..=Dot { node, seq: u64::MAX }).next_back();
        Dot { node, seq: beyond.map_or(top, |d| d.seq).max(top) + 1 }
    }

    /// Adds every dot of `other`.
    pub fn join(&mut self, other: &Context) {
        for (&node, &n) in &other.vv {
            let mine = self.vv.entry(node).or_insert(0);
            *mine = (*mine).max(n);
        }
        self.cloud.extend(other.cloud.iter().copied());
        self.compact();
    }

    /// Moves cloud dots that extend the version vector into it, and drops those it covers.
    fn compact(&mut self) {
        let cloud = std::mem::take(&mut self.cloud);
        for d in cloud {
            let n = self.vv.get(&d.node).copied().unwrap_or(0);
            if d.seq == n + 1 {
                self.vv.insert(d.node, d.seq);
            } else if d.seq > n {
                self.cloud.insert(d);
            }
        }
    }

    /// The contiguous part: for each node, every dot up to this number is in the set.
    pub fn version_vector(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.vv.iter().map(|(&n, &s)| (n, s))
    }

    /// Whether every dot of `self` is in `other`.
    pub fn le(&self, other: &Context) -> bool {
        self.vv.iter().all(|(&node, &n)| other.vv.get(&node).is_some_and(|&m| n <= m) || n == 0)
            && self.cloud.iter().all(|&d| other.contains(d))
    }

    /// Encoded size: the version vector's entries and the cloud's dots, each with a count.
    pub fn size(&self) -> usize {
        wire::varint(self.vv.len() as u64)
            + self.vv.iter().map(|(&n, &s)| wire::varint(u64::from(n)) + wire::varint(s)).sum::<usize>()
            + wire::varint(self.cloud.len() as u64)
            + self.cloud.iter().map(Dot::size).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(node: u32, seq: u64) -> Dot {
        Dot { node, seq }
    }

    #[test]
    fn out_of_order_dots_compact_into_the_version_vector() {
        let mut c = Context::default();
        c.insert(dot(1, 2));
        assert!(!c.contains(dot(1, 1)));
        assert_eq!(c.version_vector().count(), 0, "a gap keeps dot 2 in the cloud");
        c.insert(dot(1, 1));
        assert_eq!(c.version_vector().collect::<Vec<_>>(), vec![(1, 2)]);
        assert_eq!(c, Context::of([dot(1, 1), dot(1, 2)]));
        assert_eq!(c.next_dot(1), dot(1, 3));
        assert_eq!(c.next_dot(4), dot(4, 1));
    }

    #[test]
    fn join_is_set_union() {
        let a = Context::of([dot(0, 1), dot(0, 2), dot(1, 3)]);
        let b = Context::of([dot(1, 1), dot(1, 2), dot(2, 1)]);
        let mut ab = a.clone();
        ab.join(&b);
        for d in [dot(0, 1), dot(0, 2), dot(1, 1), dot(1, 2), dot(1, 3), dot(2, 1)] {
            assert!(ab.contains(d), "{d:?}");
        }
        assert!(!ab.contains(dot(1, 4)));
        assert_eq!(ab.version_vector().collect::<Vec<_>>(), vec![(0, 2), (1, 3), (2, 1)]);
        assert!(a.le(&ab) && b.le(&ab) && !ab.le(&a));
    }
}
