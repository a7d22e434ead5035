//! The Raft log: entries after the last snapshot, each with a chain hash that folds in every
//! entry before it, so that two logs agreeing on one entry's (index, term, chain) agree on the
//! whole prefix (what the log-matching check relies on).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use syncsim_sim::{NodeId, Op, RequestId};

/// A client command in the log, a leader's no-op, or a configuration change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// The client request and the node its client is waiting at; `None` for a no-op.
    pub request: Option<(RequestId, NodeId)>,
    /// The operation; `None` for a no-op.
    pub op: Option<Op>,
    /// A new configuration: every voting member, in id order. A server uses the latest
    /// configuration in its log, committed or not (Ongaro's dissertation, §4.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Vec<NodeId>>,
}

// By hand, so that entries without a change hash as they did before changes existed (fixed
// clusters keep their trace hashes).
impl Hash for Command {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.request.hash(h);
        self.op.hash(h);
        if let Some(change) = &self.change {
            change.hash(h);
        }
    }
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
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The last index it covers.
    pub index: u64,
    /// That entry's term.
    pub term: u64,
    /// That entry's chain hash.
    pub chain: u64,
    /// The latest configuration up to `index`, if the log ever held one (else the cluster's
    /// initial configuration holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Vec<NodeId>>,
}

// By hand, as for `Command`: snapshots of fixed clusters hash as before.
impl Hash for SnapshotMeta {
    fn hash<H: Hasher>(&self, h: &mut H) {
        (self.index, self.term, self.chain).hash(h);
        if let Some(config) = &self.config {
            config.hash(h);
        }
    }
}

/// The log after the snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    base: SnapshotMeta,
    entries: Vec<(Arc<Entry>, u64)>,
    /// The configuration entries after the snapshot, by index.
    configs: BTreeMap<u64, Vec<NodeId>>,
}

/// The chain hash of an entry after `prev`: the engine's tamper-evident ledger scheme, so that
/// the audit checker can recompute a replica's chain from its entries.
pub fn chain(prev: u64, index: u64, entry: &Entry) -> u64 {
    syncsim_sim::ledger::link(prev, index, syncsim_sim::ledger::digest(entry))
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
        if let Some(config) = &entry.command.change {
            self.configs.insert(index, config.clone());
        }
        self.entries.push((entry, c));
        (index, c)
    }
    /// Drops every entry from `index` on.
    pub fn truncate_from(&mut self, index: u64) {
        if let Some(i) = self.slot(index) {
            self.entries.truncate(i);
            self.configs.split_off(&index);
        }
    }
    /// Forgets the entries up to `index`, which a snapshot now covers.
    pub fn compact(&mut self, index: u64) {
        if let (Some(i), Some(term), Some(chain)) = (self.slot(index), self.term_at(index), self.chain_at(index)) {
            let config = self.config_at(index).map(<[NodeId]>::to_vec);
            self.entries.drain(..=i);
            self.configs = self.configs.split_off(&(index + 1));
            self.base = SnapshotMeta { index, term, chain, config };
        }
    }
    /// Replaces the whole log by a snapshot (an InstallSnapshot).
    pub fn reset(&mut self, base: SnapshotMeta) {
        self.entries.clear();
        self.configs.clear();
        self.base = base;
    }
    /// The latest configuration in the log (or its snapshot); `None` if it never held one.
    pub fn config(&self) -> Option<&[NodeId]> {
        self.configs.last_key_value().map(|(_, c)| c.as_slice()).or(self.base.config.as_deref())
    }
    /// The latest configuration at or before `index`.
    pub fn config_at(&self, index: u64) -> Option<&[NodeId]> {
        self.configs.range(..=index).next_back().map(|(_, c)| c.as_slice()).or(self.base.config.as_deref())
    }
    /// The index of the latest configuration entry after the snapshot (0: none).
    pub fn config_index(&self) -> u64 {
        self.configs.last_key_value().map_or(0, |(&i, _)| i)
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
        Arc::new(Entry { term, command: Command::default() })
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

    #[test]
    fn the_latest_configuration_follows_truncation_and_survives_compaction() {
        let change = |term, ids: &[u32]| {
            Arc::new(Entry {
                term,
                command: Command { change: Some(ids.iter().copied().map(NodeId).collect()), ..Command::default() },
            })
        };
        let mut log = Log::default();
        log.push(entry(1));
        log.push(change(1, &[0, 1, 2, 3]));
        log.push(entry(1));
        log.push(change(2, &[0, 1, 2, 3, 4]));
        assert_eq!(log.config().unwrap().len(), 5);
        assert_eq!((log.config_index(), log.config_at(3).unwrap().len()), (4, 4));
        log.truncate_from(4);
        assert_eq!(log.config().unwrap().len(), 4, "an overwritten change no longer counts");
        log.compact(3);
        assert_eq!(log.config().unwrap().len(), 4, "the snapshot keeps it");
        assert_eq!(log.base().config.as_ref().unwrap().len(), 4);
        assert_eq!(log.config_index(), 0, "no change after the snapshot");
        // An entry's chain hash is pinned: it is the ledger the audit recomputes, on every
        // machine alike (and an entry without a change hashes as before changes existed).
        assert_eq!(format!("{:016x}", chain(0, 1, &entry(1))), "4610fbbcde7709a6");
    }
}
