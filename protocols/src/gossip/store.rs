//! The replicated key-value store that gossip keeps in sync: last-writer-wins registers ordered
//! by Lamport versions, with per-key version digests and an incremental state fingerprint.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use syncsim_sim::{Key, NodeId, RequestId, Value};

/// A write's place in the total order of writes: Lamport time, then the writing node.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// Lamport clock of the write.
    pub lamport: u64,
    /// The node that accepted the write (breaks ties).
    pub node: u32,
}

impl Version {
    /// The version as one number with the same order, for exposures: the node id takes the low
    /// 20 bits, so clusters of up to about a million nodes keep the order exact.
    pub fn stamp(self) -> u64 {
        (self.lamport << 20) | u64::from(self.node & 0xF_FFFF)
    }
}

/// One register's current write.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// The register.
    pub key: Key,
    /// Its version.
    pub version: Version,
    /// Its value.
    pub value: Value,
    /// The client operation that wrote it.
    pub write: RequestId,
}

/// Per-key versions in key order: what a peer needs to work out what a replica lacks.
pub type Digest = Arc<Vec<(Key, Version)>>;

/// The store of one replica. Survives crashes (it is the durable state of a gossip node).
#[derive(Clone, Debug, Default)]
pub struct Store {
    entries: BTreeMap<Key, Update>,
    clock: u64,
    fingerprint: u64,
    /// The per-key versions, kept in step with `entries`; messages share it, and it is copied
    /// only when it changes while a message still holds it.
    digest: Digest,
}

impl Store {
    /// Applies a local client write and returns it.
    pub fn write(&mut self, node: NodeId, key: Key, value: Value, write: RequestId) -> Update {
        // The clock already covers every version merged here, so the write outranks them all.
        self.clock += 1;
        let update = Update { key, version: Version { lamport: self.clock, node: node.0 }, value, write };
        self.put(update);
        update
    }

    /// The Lamport clock: the highest version issued or merged here.
    pub fn clock(&self) -> u64 {
        self.clock
    }

    /// Sets the Lamport clock back (planted bugs only: a correct store's clock never goes back).
    pub(crate) fn rewind_clock(&mut self, clock: u64) {
        self.clock = clock;
    }

    /// Merges a remote update; true if it was newer than what this replica had.
    pub fn merge(&mut self, update: Update) -> bool {
        self.clock = self.clock.max(update.version.lamport);
        match self.entries.get(&update.key) {
            Some(current) if current.version >= update.version => false,
            _ => {
                self.put(update);
                true
            }
        }
    }

    fn put(&mut self, update: Update) {
        let digest = Arc::make_mut(&mut self.digest);
        match digest.binary_search_by_key(&update.key, |(k, _)| *k) {
            Ok(i) => digest[i].1 = update.version,
            Err(i) => digest.insert(i, (update.key, update.version)),
        }
        if let Some(old) = self.entries.insert(update.key, update) {
            self.fingerprint ^= entry_hash(&old);
        }
        self.fingerprint ^= entry_hash(&update);
    }

    /// The register's current value.
    pub fn get(&self, key: Key) -> Option<Value> {
        self.entries.get(&key).map(|u| u.value)
    }

    /// What a read of every key would return, in key order.
    pub fn read_state(&self) -> Vec<(Key, syncsim_sim::Output)> {
        self.entries.iter().map(|(&k, u)| (k, syncsim_sim::Output::Value(Some(u.value)))).collect()
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = &Update> + '_ {
        self.entries.values()
    }

    /// The register's current update.
    pub fn entry(&self, key: Key) -> Option<&Update> {
        self.entries.get(&key)
    }

    /// Per-key versions, in key order.
    pub fn digest(&self) -> Digest {
        self.digest.clone()
    }

    /// Updates this replica has that are newer than `digest` (including keys it lacks).
    pub fn newer_than(&self, digest: &[(Key, Version)]) -> Vec<Update> {
        // Both sides are sorted by key: one merge walk over contiguous arrays finds the keys,
        // and only those are looked up in the map.
        ahead(&self.digest, digest).map(|key| self.entries[&key]).collect()
    }

    /// Keys where `digest` is newer than this replica (or has a key this replica lacks).
    pub fn behind(&self, digest: &[(Key, Version)]) -> Vec<Key> {
        ahead(digest, &self.digest).collect()
    }

    /// A fingerprint of the readable state: equal stores give equal fingerprints.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Number of keys held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was ever written here.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Keys of `ours` with a newer version than in `theirs`, or missing from `theirs`; both sorted
/// by key.
pub fn ahead<'a>(ours: &'a [(Key, Version)], theirs: &'a [(Key, Version)]) -> impl Iterator<Item = Key> + 'a {
    let mut j = 0;
    ours.iter().filter_map(move |&(key, version)| {
        while j < theirs.len() && theirs[j].0 < key {
            j += 1;
        }
        match theirs.get(j) {
            Some(&(k, v)) if k == key && v >= version => None,
            _ => Some(key),
        }
    })
}

/// SplitMix64's finaliser: a fast, well-mixing hash of one word.
pub(crate) fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A hash of one entry: key, version and value.
pub(crate) fn entry_hash(u: &Update) -> u64 {
    mix64(u.key ^ mix64(u.version.stamp() ^ mix64(u.value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(key: Key, lamport: u64, node: u32) -> Update {
        Update { key, version: Version { lamport, node }, value: lamport * 10 + u64::from(node), write: RequestId(0) }
    }

    #[test]
    fn last_writer_wins_whatever_the_merge_order() {
        let ups = [update(1, 3, 0), update(1, 3, 1), update(1, 2, 2), update(2, 1, 0)];
        let mut a = Store::default();
        let mut b = Store::default();
        ups.iter().for_each(|u| {
            a.merge(*u);
        });
        ups.iter().rev().for_each(|u| {
            b.merge(*u);
        });
        assert_eq!(a.get(1), Some(31), "(3, node 1) beats (3, node 0)");
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.digest(), b.digest());
    }

    #[test]
    fn digests_find_exactly_what_the_peer_lacks() {
        let mut a = Store::default();
        let mut b = Store::default();
        for u in [update(1, 1, 0), update(2, 5, 0), update(4, 1, 0)] {
            a.merge(u);
        }
        for u in [update(2, 3, 1), update(3, 1, 1), update(4, 1, 0)] {
            b.merge(u);
        }
        let a_sends: Vec<Key> = a.newer_than(&b.digest()).iter().map(|u| u.key).collect();
        assert_eq!(a_sends, vec![1, 2], "key 1 is missing at b, key 2 is older there");
        assert_eq!(a.behind(&b.digest()), vec![3]);
        for u in a.newer_than(&b.digest()) {
            b.merge(u);
        }
        for u in b.newer_than(&a.digest()) {
            a.merge(u);
        }
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(a.newer_than(&b.digest()).is_empty() && b.newer_than(&a.digest()).is_empty());
    }

    #[test]
    fn local_writes_outrank_everything_seen() {
        let mut s = Store::default();
        s.merge(update(7, 40, 3));
        let w = s.write(NodeId(0), 7, 99, RequestId(1));
        assert!(w.version > Version { lamport: 40, node: 3 });
        assert_eq!(s.get(7), Some(99));
    }
}
