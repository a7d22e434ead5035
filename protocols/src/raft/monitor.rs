//! Raft's safety properties (Ongaro & Ousterhout 2014, figure 3), checked while the run goes
//! on from what every node reports, and Raft's own metrics.
//!
//! The monitor mirrors each node's log as (term, chain hash) per index. Because a chain hash
//! folds in every earlier entry, comparing one index's chain compares whole prefixes.
//! - Election safety: at most one leader per term.
//! - Log matching: two logs with an entry of the same index and term hold the same chain there.
//! - Leader completeness: a new leader's log holds every entry applied anywhere before.
//! - State machine safety: no two nodes apply different entries at one index.

use std::collections::BTreeMap;

use syncsim_sim::{Monitor, NodeId, ProtocolMetrics, SimTime};

/// What a Raft node reports about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftNote {
    /// It started an election for `term`.
    Campaign {
        /// The new term.
        term: u64,
    },
    /// It became leader of `term`.
    Leader {
        /// The term it leads.
        term: u64,
    },
    /// It stopped being leader.
    SteppedDown,
    /// Its log now holds these entries from index `first` on (anything after was dropped).
    Appended {
        /// Index of the first entry.
        first: u64,
        /// (term, chain hash) of each entry.
        entries: Vec<(u64, u64)>,
    },
    /// It dropped its log from `from` on.
    Truncated {
        /// The first index dropped.
        from: u64,
    },
    /// Its log was replaced by a snapshot up to `index` (an InstallSnapshot).
    Installed {
        /// Last index the snapshot covers.
        index: u64,
        /// That entry's term.
        term: u64,
        /// That entry's chain hash.
        chain: u64,
    },
    /// It applied its log up to `index` to its state machine.
    Applied {
        /// The index applied.
        index: u64,
        /// Its chain hash.
        chain: u64,
    },
    /// As leader, it committed an entry this long after appending it.
    Committed {
        /// Append to commit, in nanoseconds.
        latency: u64,
    },
}

/// Raft's invariants and metrics across the cluster.
#[derive(Clone, Debug, Default)]
pub struct RaftMonitor {
    /// Whether to check the invariants (metrics are gathered either way).
    check: bool,
    /// Each node's log: (term, chain) for index 1, 2, ...
    logs: Vec<Vec<(u64, u64)>>,
    /// The leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// (index, term) → chain, over every log ever seen.
    entries: BTreeMap<(u64, u64), u64>,
    /// Chain of each index applied somewhere: index 1 is `applied[0]`.
    applied: Vec<u64>,
    /// The current leader, if the cluster has one.
    leader: Option<NodeId>,
    leaderless_since: Option<SimTime>,
    leaderless: Vec<u64>,
    elections: u64,
    commit_latency: Vec<u64>,
}

impl RaftMonitor {
    /// A monitor for `nodes` nodes; `check` turns the invariant checks on.
    pub fn new(nodes: u32, check: bool) -> Self {
        RaftMonitor {
            check,
            logs: vec![Vec::new(); nodes as usize],
            leaderless_since: Some(SimTime::ZERO),
            ..Default::default()
        }
    }

    fn log_entries(&mut self, node: NodeId, first: u64, entries: &[(u64, u64)]) -> Result<(), String> {
        let log = &mut self.logs[node.index()];
        log.truncate(first.saturating_sub(1) as usize);
        if log.len() + 1 < first as usize {
            // A gap the mirror cannot fill (entries it never saw): take them from the applied
            // prefix, which a correct node's log shares.
            let have = log.len();
            let want = (first - 1) as usize;
            if want <= self.applied.len() {
                log.extend((have..want).map(|i| (0, self.applied[i])));
            } else {
                return Err(format!("node {} appended at index {first} past the end of its log ({have})", node.0));
            }
        }
        for (k, &(term, chain)) in entries.iter().enumerate() {
            let index = first + k as u64;
            log.push((term, chain));
            let known = *self.entries.entry((index, term)).or_insert(chain);
            if self.check && known != chain {
                return Err(format!(
                    "log matching: node {} holds an entry at index {index}, term {term} whose log prefix differs from another node's",
                    node.0
                ));
            }
        }
        Ok(())
    }

    fn lose_leader(&mut self, now: SimTime) {
        self.leader = None;
        self.leaderless_since.get_or_insert(now);
    }
}

impl Monitor<RaftNote> for RaftMonitor {
    fn observe(&mut self, now: SimTime, node: NodeId, note: &RaftNote) -> Result<(), String> {
        match note {
            RaftNote::Campaign { .. } => {
                // Someone gave up on the leader: until a new one is elected, none is trusted.
                self.lose_leader(now);
            }
            RaftNote::Leader { term } => {
                self.elections += 1;
                if let Some(since) = self.leaderless_since.take() {
                    self.leaderless.push(now.since(since).as_nanos());
                }
                self.leader = Some(node);
                if self.check {
                    if let Some(&other) = self.leaders.get(term)
                        && other != node
                    {
                        return Err(format!("election safety: nodes {} and {} both lead term {term}", other.0, node.0));
                    }
                    let log = &self.logs[node.index()];
                    if let Some(i) =
                        (0..self.applied.len()).find(|&i| log.get(i).is_none_or(|&(_, c)| c != self.applied[i]))
                    {
                        return Err(format!(
                            "leader completeness: node {} leads term {term} without the entry applied at index {}",
                            node.0,
                            i + 1
                        ));
                    }
                }
                self.leaders.insert(*term, node);
            }
            RaftNote::SteppedDown => {
                if self.leader == Some(node) {
                    self.lose_leader(now);
                }
            }
            RaftNote::Appended { first, entries } => self.log_entries(node, *first, entries)?,
            RaftNote::Truncated { from } => {
                // Dropping an entry that conflicts with the leader's is how logs converge; only
                // dropping the very entry that was applied somewhere loses committed data.
                let i = from.saturating_sub(1) as usize;
                let log = &mut self.logs[node.index()];
                if self.check
                    && let (Some(&(_, mine)), Some(&applied)) = (log.get(i), self.applied.get(i))
                    && mine == applied
                {
                    return Err(format!("node {} dropped entry {from}, which was committed and applied", node.0));
                }
                log.truncate(i);
            }
            RaftNote::Installed { index, term, chain } => {
                let log = &mut self.logs[node.index()];
                log.truncate(0);
                let known = (*index as usize).min(self.applied.len());
                log.extend(self.applied[..known].iter().map(|&c| (0, c)));
                if known < *index as usize {
                    return Err(format!("node {} installed a snapshot up to {index}, past anything applied", node.0));
                }
                if let Some(last) = log.last_mut() {
                    *last = (*term, *chain);
                }
                if self.check && self.applied.get(*index as usize - 1).is_some_and(|c| c != chain) {
                    return Err(format!(
                        "state machine safety: node {} installed a snapshot that differs at {index}",
                        node.0
                    ));
                }
            }
            RaftNote::Applied { index, chain } => {
                let i = *index as usize;
                if i <= self.applied.len() {
                    if self.check && self.applied[i - 1] != *chain {
                        return Err(format!(
                            "state machine safety: node {} applied a different entry at index {index} than another node",
                            node.0
                        ));
                    }
                } else {
                    // Newly applied indexes: take their chains from this node's log.
                    let log = &self.logs[node.index()];
                    for j in self.applied.len()..i {
                        let c = log.get(j).map(|&(_, c)| c);
                        match c {
                            Some(c) => self.applied.push(c),
                            None => {
                                return Err(format!(
                                    "node {} applied index {} that its log does not hold",
                                    node.0,
                                    j + 1
                                ));
                            }
                        }
                    }
                    if self.check && self.applied[i - 1] != *chain {
                        return Err(format!(
                            "node {} applied index {index} with a chain its log does not have",
                            node.0
                        ));
                    }
                }
            }
            RaftNote::Committed { latency } => self.commit_latency.push(*latency),
        }
        Ok(())
    }

    fn crashed(&mut self, now: SimTime, node: NodeId) {
        if self.leader == Some(node) {
            self.lose_leader(now);
        }
    }

    fn metrics(&self, end: SimTime) -> ProtocolMetrics {
        let mut m = ProtocolMetrics::default();
        let mut leaderless = self.leaderless.clone();
        if let Some(since) = self.leaderless_since {
            leaderless.push(end.since(since).as_nanos());
        }
        m.numbers.insert("elections".into(), self.elections as f64);
        m.numbers.insert("committed_entries".into(), self.applied.len() as f64);
        m.numbers.insert("leaderless_total_ns".into(), leaderless.iter().sum::<u64>() as f64);
        m.durations.insert("leaderless_windows".into(), leaderless);
        m.durations.insert("commit_latency".into(), self.commit_latency.clone());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_leaders_in_one_term_break_election_safety() {
        let mut m = RaftMonitor::new(3, true);
        assert!(m.observe(SimTime(1), NodeId(0), &RaftNote::Leader { term: 2 }).is_ok());
        let err = m.observe(SimTime(2), NodeId(1), &RaftNote::Leader { term: 2 }).unwrap_err();
        assert!(err.contains("election safety"), "{err}");
    }

    #[test]
    fn different_entries_at_one_index_and_term_break_log_matching() {
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11), (1, 12)] }).unwrap();
        let err = m.observe(SimTime(2), NodeId(1), &RaftNote::Appended { first: 1, entries: vec![(1, 11), (1, 99)] });
        assert!(err.unwrap_err().contains("log matching"));
    }

    #[test]
    fn a_leader_missing_an_applied_entry_breaks_leader_completeness() {
        let mut m = RaftMonitor::new(3, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11)] }).unwrap();
        m.observe(SimTime(1), NodeId(0), &RaftNote::Applied { index: 1, chain: 11 }).unwrap();
        let err = m.observe(SimTime(2), NodeId(2), &RaftNote::Leader { term: 2 }).unwrap_err();
        assert!(err.contains("leader completeness"), "{err}");
    }

    #[test]
    fn applying_different_entries_breaks_state_machine_safety() {
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11)] }).unwrap();
        m.observe(SimTime(1), NodeId(1), &RaftNote::Appended { first: 1, entries: vec![(2, 22)] }).unwrap();
        m.observe(SimTime(2), NodeId(0), &RaftNote::Applied { index: 1, chain: 11 }).unwrap();
        let err = m.observe(SimTime(3), NodeId(1), &RaftNote::Applied { index: 1, chain: 22 }).unwrap_err();
        assert!(err.contains("state machine safety"), "{err}");
    }

    #[test]
    fn dropping_a_conflicting_entry_is_fine_dropping_a_committed_one_is_not() {
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11)] }).unwrap();
        m.observe(SimTime(1), NodeId(0), &RaftNote::Applied { index: 1, chain: 11 }).unwrap();
        m.observe(SimTime(1), NodeId(1), &RaftNote::Appended { first: 1, entries: vec![(2, 22)] }).unwrap();
        assert!(m.observe(SimTime(2), NodeId(1), &RaftNote::Truncated { from: 1 }).is_ok(), "a stale entry goes");
        assert!(m.observe(SimTime(3), NodeId(0), &RaftNote::Truncated { from: 1 }).is_err(), "a committed one may not");
    }

    #[test]
    fn leaderless_windows_run_from_losing_a_leader_to_electing_one() {
        let mut m = RaftMonitor::new(3, true);
        m.observe(SimTime(100), NodeId(0), &RaftNote::Leader { term: 1 }).unwrap();
        m.crashed(SimTime(1000), NodeId(0));
        m.observe(SimTime(1200), NodeId(1), &RaftNote::Campaign { term: 2 }).unwrap();
        m.observe(SimTime(1300), NodeId(1), &RaftNote::Leader { term: 2 }).unwrap();
        let metrics = m.metrics(SimTime(5000));
        assert_eq!(metrics.durations["leaderless_windows"], vec![100, 300]);
        assert_eq!(metrics.numbers["elections"], 2.0);
    }
}
