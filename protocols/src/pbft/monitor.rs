//! PBFT's invariant while a run goes on: agreement, no two replicas execute different batches
//! at one sequence number (Castro and Liskov's safety property, checked on what each replica
//! actually executed, chain hash included). It also counts views and executions.

use std::collections::BTreeMap;

use syncsim_sim::{Monitor, NodeId, ProtocolMetrics, SimTime};

/// Facts a PBFT replica reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PbftNote {
    /// It executed the batch with `digest` at `seq`; its ledger's hash is now `chain`.
    Executed {
        /// The sequence number.
        seq: u64,
        /// The batch's digest.
        digest: u64,
        /// The ledger's chain hash after it.
        chain: u64,
    },
    /// It installed a stable checkpoint's state.
    Installed {
        /// The checkpoint's sequence number.
        seq: u64,
        /// The ledger's chain hash there.
        chain: u64,
    },
    /// It asked for `view`.
    ViewChange {
        /// The view.
        view: u64,
    },
    /// It entered `view`.
    NewView {
        /// The view.
        view: u64,
    },
}

/// Checks agreement and counts.
#[derive(Clone, Debug, Default)]
pub struct PbftMonitor {
    check: bool,
    /// The first execution seen at each number: its digest, chain, and the replica.
    executed: BTreeMap<u64, (u64, u64, NodeId)>,
    view_changes: u64,
    highest_view: u64,
}

impl PbftMonitor {
    /// A monitor that checks agreement when `check` (and counts in any case).
    pub fn new(check: bool) -> PbftMonitor {
        PbftMonitor { check, ..PbftMonitor::default() }
    }
}

impl Monitor<PbftNote> for PbftMonitor {
    fn observe(&mut self, _: SimTime, node: NodeId, note: &PbftNote) -> Result<(), String> {
        match *note {
            PbftNote::Executed { seq, digest, chain } => {
                let first = *self.executed.entry(seq).or_insert((digest, chain, node));
                if self.check && first.0 != digest {
                    return Err(format!(
                        "agreement: node {} executed batch {digest:016x} at sequence number {seq}, node {} batch {:016x}",
                        node.0, first.2.0, first.0
                    ));
                }
                if self.check && first.1 != chain {
                    return Err(format!(
                        "agreement: node {} and node {} executed the same batch at {seq} after different histories \
                         (chain {chain:016x} against {:016x})",
                        node.0, first.2.0, first.1
                    ));
                }
            }
            PbftNote::Installed { seq, chain } => {
                if self.check
                    && let Some(&(_, c, k)) = self.executed.get(&seq)
                    && c != chain
                {
                    return Err(format!(
                        "agreement: node {} installed a checkpoint at {seq} with chain {chain:016x}, but node {} \
                         executed up to it with {c:016x}",
                        node.0, k.0
                    ));
                }
            }
            PbftNote::ViewChange { .. } => self.view_changes += 1,
            PbftNote::NewView { view } => self.highest_view = self.highest_view.max(view),
        }
        Ok(())
    }

    fn metrics(&self, _: SimTime) -> ProtocolMetrics {
        let mut m = ProtocolMetrics::default();
        m.numbers.insert("committed_entries".into(), self.executed.len() as f64);
        m.numbers.insert("view_changes".into(), self.view_changes as f64);
        m.numbers.insert("views".into(), self.highest_view as f64 + 1.0);
        m
    }
}
