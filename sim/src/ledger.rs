//! A tamper-evident log: each committed entry's hash commits to its content and to the hash
//! before it, so that two replicas agreeing on one entry's hash agree on the whole prefix, and
//! an entry altered after the fact no longer matches the hash its successors commit to.
//!
//! A protocol that keeps a log shows its committed part through [`crate::Protocol::ledger`];
//! the audit checker compares the honest replicas' ledgers at the end of a run.

use std::hash::{Hash, Hasher};

use serde::Serialize;

use crate::trace::StableHasher;

/// The hash of entry `index`, with content digest `digest`, after the entry hashed `prev`:
/// one scheme for every protocol, so that the audit can recompute any replica's chain.
pub fn link(prev: u64, index: u64, digest: u64) -> u64 {
    let mut h = StableHasher::default();
    (prev, index, digest).hash(&mut h);
    h.finish()
}

/// A machine-independent digest of an entry's content.
pub fn digest(content: &impl Hash) -> u64 {
    let mut h = StableHasher::default();
    content.hash(&mut h);
    h.finish()
}

/// The committed part of one replica's log, as hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    /// The index before the first entry held (a snapshot's last index; 0 for a whole log).
    pub base: u64,
    /// The chain hash at `base` (0 for the empty log).
    pub base_chain: u64,
    /// Entries `base + 1 ..`: each one's content digest, and the chain hash the replica holds
    /// for it.
    pub entries: Vec<(u64, u64)>,
}

impl Ledger {
    /// The index of the last committed entry.
    pub fn last(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    /// The chain hash the replica holds at `index`, if it holds one there.
    pub fn chain_at(&self, index: u64) -> Option<u64> {
        if index == self.base {
            return Some(self.base_chain);
        }
        let i = index.checked_sub(self.base + 1)?;
        self.entries.get(i as usize).map(|e| e.1)
    }

    /// Appends an entry of content digest `digest`; returns its chain hash.
    pub fn push(&mut self, digest: u64) -> u64 {
        let chain = link(self.chain_at(self.last()).expect("the last index has a chain"), self.last() + 1, digest);
        self.entries.push((digest, chain));
        chain
    }

    /// The first entry whose held hash is not the one its content and predecessor give: an
    /// entry altered after it was chained.
    pub fn first_tampered(&self) -> Option<u64> {
        let mut prev = self.base_chain;
        for (i, &(digest, chain)) in self.entries.iter().enumerate() {
            let index = self.base + 1 + i as u64;
            if link(prev, index, digest) != chain {
                return Some(index);
            }
            prev = chain;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_hashes_mean_equal_prefixes_and_an_altered_entry_shows() {
        let mut a = Ledger::default();
        let mut b = Ledger::default();
        for d in [11, 22, 33] {
            a.push(d);
            b.push(d);
        }
        assert_eq!(a.chain_at(3), b.chain_at(3));
        let mut c = Ledger::default();
        for d in [11, 99, 33] {
            c.push(d);
        }
        assert_eq!(a.chain_at(1), c.chain_at(1));
        assert_ne!(a.chain_at(3), c.chain_at(3), "a different entry 2 changes every hash after it");
        assert_eq!(a.first_tampered(), None);
        a.entries[1].0 = 98;
        assert_eq!(a.first_tampered(), Some(2));
    }

    #[test]
    fn a_ledger_after_a_snapshot_starts_at_its_base() {
        let mut full = Ledger::default();
        (1..=5).for_each(|d| {
            full.push(d);
        });
        let mut cut = Ledger { base: 3, base_chain: full.chain_at(3).unwrap(), entries: vec![] };
        cut.push(4);
        cut.push(5);
        assert_eq!(cut.chain_at(5), full.chain_at(5));
        assert_eq!((cut.chain_at(2), cut.chain_at(6)), (None, None));
    }
}
