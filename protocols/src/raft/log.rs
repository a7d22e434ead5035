//! The Raft log: entries after the last snapshot, each with a chain hash that folds in every
//! entry before it, so that two logs agreeing on one entry's (index, term, chain) agree on the
//! whole prefix (what the log-matching check relies on).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use syncsim_sim::{NodeId, Op, RequestId};

/// A client command in the log, or a leader's no-op.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Command {
    /// The client request and the node its client is waiting at; `None` for a no-op.
    pub request: Option<(RequestId, NodeId)>,
    /// The operation; `None` for a no-op.
    pub op: Option<Op>,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entry {
    /// The term in which a leader created it.
    pub term: u64,
    /// What it does.
    pub command: Command,
}

/// A snapshot of the state machine: everything up to `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The last index it covers.
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// That entry's chain hash.
    pub chain: u64,
}

/// The log after the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    base: SnapshotMeta,
    entries: Vec<(Arc<Entry>, u64)>,
}

/// The chain hash of an entry after `prev`.
pub fn chain(prev: u64, index: u64, entry: &Entry) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = syncsim_sim::trace::StableHasher::default();
    prev.hash(&mut h);
    index.hash(&mut h);
    entry.hash(&mut h);
    h.finish()
}

impl Log {
    /// The snapshot the log starts after.
    pub fn base(&self) -> &SnapshotMeta {
        &self.base
    }
    /// The index of the last entry (or of the snapshot).
    pub fn last_index(&self) -> u64 {
        self.base.index + self.entries.len() as u64
    }
    /// The term of the last entry (or of the snapshot).
    pub fn last_term(&self) -> u64 {
        self.entries.last().map_or(self.base.term, |(e, _)| e.term)
    }
    /// The term at `index`; `None` if it was compacted away or is past the end.
    pub fn term_at(&self, index: u64) -> Option<u64> {
        if index == self.base.index {
            return Some(self.base.term);
        }
        self.get(index).map(|e| e.term)
    }
    /// The chain hash at `index`; `None` if compacted or past the end.
    pub fn chain_at(&self, index: u64) -> Option<u64> {
        if index == self.base.index {
            return Some(self.base.chain);
        }
        self.slot(index).map(|i| self.entries[i].1)
    }
    fn slot(&self, index: u64) -> Option<usize> {
        (index > self.base.index && index <= self.last_index()).then(|| (index - self.base.index - 1) as usize)
    }
    /// The entry at `index`, unless compacted or past the end.
    pub fn get(&self, index: u64) -> Option<&Arc<Entry>> {
        self.slot(index).map(|i| &self.entries[i].0)
    }
    /// Up to `max` entries from `index` on.
    pub fn from(&self, index: u64, max: usize) -> Vec<Arc<Entry>> {
        match self.slot(index) {
            Some(i) => self.entries[i..].iter().take(max).map(|(e, _)| e.clone()).collect(),
            None => Vec::new(),
        }
    }
    /// Appends `entry`; returns its index and chain hash.
    pub fn push(&mut self, entry: Arc<Entry>) -> (u64, u64) {
        let index = self.last_index() + 1;
        let c = chain(self.chain_at(index - 1).expect("the last index has a chain"), index, &entry);
        self.entries.push((entry, c));
        (index, c)
    }
    /// Drops every entry from `index` on.
    pub fn truncate_from(&mut self, index: u64) {
        if let Some(i) = self.slot(index) {
            self.entries.truncate(i);
        }
    }
    /// Forgets the entries up to `index`, which a snapshot now covers.
    pub fn compact(&mut self, index: u64) {
        if let (Some(i), Some(term), Some(chain)) = (self.slot(index), self.term_at(index), self.chain_at(index)) {
            self.entries.drain(..=i);
            self.base = SnapshotMeta { index, term, chain };
        }
    }
    /// Replaces the whole log by a snapshot (an InstallSnapshot).
    pub fn reset(&mut self, base: SnapshotMeta) {
        self.entries.clear();
        self.base = base;
    }
    /// Entries held (after the snapshot).
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// True when no entry follows the snapshot.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(term: u64) -> Arc<Entry> {
        Arc::new(Entry { term, command: Command { request: None, op: None } })
    }

    #[test]
    fn indexes_survive_compaction_and_chains_cover_the_prefix() {
        let mut log = Log::default();
        for t in [1, 1, 2, 3] {
            log.push(entry(t));
        }
        assert_eq!((log.last_index(), log.last_term()), (4, 3));
        let chain3 = log.chain_at(3).unwrap();
        log.compact(2);
        assert_eq!(log.base().index, 2);
        assert_eq!(log.term_at(2), Some(1));
        assert_eq!(log.term_at(1), None, "compacted");
        assert_eq!(log.chain_at(3), Some(chain3), "compaction keeps chains");
        assert_eq!(log.from(3, 10).len(), 2);
        log.truncate_from(4);
        assert_eq!(log.last_index(), 3);
        let mut other = Log::default();
        for t in [1, 1, 2] {
            other.push(entry(t));
        }
        assert_eq!(other.chain_at(3), Some(chain3), "equal prefixes, equal chains");
        let mut diverged = Log::default();
        for t in [1, 2, 2] {
            diverged.push(entry(t));
        }
        assert_ne!(diverged.chain_at(3), Some(chain3));
    }
}
