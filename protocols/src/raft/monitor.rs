//! Raft's safety properties (Ongaro & Ousterhout 2014, figure 3), checked while the run goes
//! on from what every node reports, and Raft's own metrics.
//!
//! The monitor mirrors each node's log as (term, chain hash) per index. Because a chain hash
//! folds in every earlier entry, comparing one index's chain compares whole prefixes.
//! - Election safety: at most one leader per term.
//! - Log matching: two logs with an entry of the same index and term hold the same chain there.
//! - Leader completeness: a leader of term T holds every entry committed in a term before T.
//!   An entry's commit term is the term of the first node to apply it: the leader that
//!   committed it applies it at once. A leader of an older term elected late (a candidate
//!   that was paused while the cluster moved on) may lack entries committed since, and a
//!   follower of such a leader may drop them; both are correct Raft.
//! - State machine safety: no two nodes apply different entries at one index, and every node
//!   that has applied an index holds the same state there.
//! - Overlapping majorities: when a leader appends a configuration, every majority of it
//!   overlaps every majority of the last committed one (which servers may still be using), so
//!   the two can never elect two leaders in one term; and each leader was elected by a
//!   majority of the configuration it used. Two leaders in one term are reported with the
//!   configurations and voters that elected them.
//! - No rollback: within one incarnation a node's applied index never goes back (a duplicated
//!   snapshot of the index it is at changes nothing); a restart resumes from a state some node
//!   had applied.

use std::collections::BTreeMap;

use syncsim_sim::{Monitor, NodeId, ProtocolMetrics, SimTime};

/// What a Raft node reports about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftNote {
    /// It gave up on the leader and started an election (or a pre-vote) for `term`.
    Campaign {
        /// The new term.
        term: u64,
        /// A pre-vote: the term is only asked about, not entered.
        pre_vote: bool,
    },
    /// It became leader of `term`.
    Leader {
        /// The term it leads.
        term: u64,
    },
    /// It became leader of `term` with the votes of `voters`, a majority of `config` (noted
    /// just before `Leader`).
    ElectedBy {
        /// The term.
        term: u64,
        /// The configuration it counted votes in.
        config: Vec<NodeId>,
        /// The members whose votes it counted, itself included.
        voters: Vec<NodeId>,
    },
    /// As leader, it appended configuration `config` at `index`, while `committed` was the
    /// configuration as of its commit index.
    Reconfigured {
        /// The entry's index.
        index: u64,
        /// The new configuration.
        config: Vec<NodeId>,
        /// The last committed one.
        committed: Vec<NodeId>,
    },
    /// It left the cluster for good (its removal committed, or it gave up waiting).
    Left,
    /// It stopped being leader.
    SteppedDown,
    /// Its log now holds these entries from index `first` on (anything after was dropped).
    Appended {
        /// Index of the first entry.
        first: u64,
        /// (term, chain hash) of each entry.
        entries: Vec<(u64, u64)>,
    },
    /// It dropped its log from `from` on, following a leader of `term`.
    Truncated {
        /// The first index dropped.
        from: u64,
        /// The term of the leader whose log it follows.
        term: u64,
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
        /// The node's term when it applied it.
        term: u64,
        /// A fingerprint of its state machine after applying it.
        state: u64,
    },
    /// It started (or restarted after a crash) with its state machine as of `applied`.
    Started {
        /// The index its state machine reflects (0: empty).
        applied: u64,
        /// That entry's chain hash (0 when nothing is applied).
        chain: u64,
        /// The state machine's fingerprint.
        state: u64,
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
    /// Indexes up to `base` were applied by every node; they are forgotten, which keeps the
    /// monitor's memory bounded however long the run.
    base: u64,
    /// Each node's log after `base`: (term, chain) for index base+1, base+2, ...
    logs: Vec<Vec<(u64, u64)>>,
    /// The highest index each node has applied.
    applied_by: Vec<u64>,
    /// The index each node's state machine reflects now (this incarnation).
    current: Vec<u64>,
    /// The leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// The configuration and voters that elected the leader of each term.
    electorates: BTreeMap<u64, (Vec<NodeId>, Vec<NodeId>)>,
    config_changes: u64,
    /// (index, term) → chain, over every log seen (after `base`).
    entries: BTreeMap<(u64, u64), u64>,
    /// What is known of each index after `base` applied somewhere.
    applied: Vec<AppliedEntry>,
    /// The current leader and its term, if the cluster has one.
    leader: Option<(NodeId, u64)>,
    /// Since when the cluster has known it has no leader (its leader crashed or stepped down).
    leaderless_since: Option<SimTime>,
    /// The first campaign for a term above the current leader's: when followers gave up on it.
    first_campaign: Option<SimTime>,
    leaderless: Vec<u64>,
    elections: u64,
    /// The highest term any node has campaigned in or led.
    top_term: u64,
    /// Leaders elected in a term below `top_term`: late winners of old elections.
    stale_leaders: u64,
    campaigns: u64,
    commit_latency: Vec<u64>,
}

/// What the monitor knows of an index once some node applied it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct AppliedEntry {
    /// The entry's chain hash.
    chain: u64,
    /// The term it was committed in: the first applier's term.
    term: u64,
    /// The state machine's fingerprint after it, once a node reported one.
    state: Option<u64>,
}

/// Indexes applied everywhere are forgotten in chunks of this many.
const PRUNE: u64 = 4096;

impl RaftMonitor {
    /// A monitor for `nodes` nodes; `check` turns the invariant checks on.
    pub fn new(nodes: u32, check: bool) -> Self {
        RaftMonitor {
            check,
            logs: vec![Vec::new(); nodes as usize],
            // Unknown until a node reports: a spare that never joins holds nothing back.
            applied_by: vec![u64::MAX; nodes as usize],
            current: vec![0; nodes as usize],
            leaderless_since: Some(SimTime::ZERO),
            ..Default::default()
        }
    }

    /// Position of `index` in the mirrors (which start after `base`).
    fn pos(&self, index: u64) -> usize {
        (index - self.base - 1) as usize
    }

    /// An inconsistency: a broken invariant when checking, ignored otherwise.
    fn fail(&self, message: String) -> Result<(), String> {
        if self.check { Err(message) } else { Ok(()) }
    }

    fn log_entries(&mut self, node: NodeId, first: u64, entries: &[(u64, u64)]) -> Result<(), String> {
        // Entries up to `base` are applied everywhere: nothing left to compare them with.
        let skip = (self.base + 1).saturating_sub(first) as usize;
        let (first, entries) = (first.max(self.base + 1), entries.get(skip..).unwrap_or(&[]));
        let at = self.pos(first);
        let log = &mut self.logs[node.index()];
        log.truncate(at);
        if log.len() < at {
            // A gap the mirror never saw: it is the applied prefix, which a correct log shares.
            if at > self.applied.len() {
                return self.fail(format!("node {} appended at index {first} past the end of its log", node.0));
            }
            let have = log.len();
            log.extend(self.applied[have..at].iter().map(|a| (0, a.chain)));
        }
        for (k, &(term, chain)) in entries.iter().enumerate() {
            let index = first + k as u64;
            self.logs[node.index()].push((term, chain));
            let known = *self.entries.entry((index, term)).or_insert(chain);
            if known != chain {
                return self.fail(format!(
                    "log matching: node {} holds an entry at index {index}, term {term} whose log prefix differs from another node's",
                    node.0
                ));
            }
        }
        Ok(())
    }

    /// State machine safety at `index`, which some node has applied: `node` holds the same
    /// entry there and the same state after it.
    fn same_state(&mut self, node: NodeId, index: u64, chain: u64, state: u64) -> Result<(), String> {
        let i = self.pos(index);
        let known = self.applied[i];
        if known.chain != chain {
            return self.fail(format!(
                "state machine safety: node {} applied a different entry at index {index} than another node",
                node.0
            ));
        }
        if known.state.is_some_and(|s| s != state) {
            return self.fail(format!(
                "state machine safety: node {} holds a different state after index {index} than another node",
                node.0
            ));
        }
        self.applied[i].state = Some(state);
        Ok(())
    }

    /// A leader of `term` elected by `voters` of `config`: they must be a majority of it, and
    /// any other leader of the term is reported with the majority that elected it.
    fn elected(&mut self, node: NodeId, term: u64, config: &[NodeId], voters: &[NodeId]) -> Result<(), String> {
        if let Some(outsider) = voters.iter().find(|v| !config.contains(v)) {
            return self.fail(format!(
                "election: node {} counted the vote of node {} for term {term}, outside its configuration {}",
                node.0,
                outsider.0,
                ids(config)
            ));
        }
        if voters.len() < config.len() / 2 + 1 {
            return self.fail(format!(
                "election: node {} leads term {term} with the votes of {}, not a majority of {}",
                node.0,
                ids(voters),
                ids(config)
            ));
        }
        if let Some(&other) = self.leaders.get(&term)
            && other != node
            && let Some((their_config, their_voters)) = self.electorates.get(&term)
        {
            return self.fail(format!(
                "election safety: nodes {} and {} both lead term {term}, elected by {} of configuration {} and by {} of {}",
                other.0,
                node.0,
                ids(their_voters),
                ids(their_config),
                ids(voters),
                ids(config)
            ));
        }
        self.electorates.insert(term, (config.to_vec(), voters.to_vec()));
        Ok(())
    }

    fn lose_leader(&mut self, now: SimTime) {
        self.leader = None;
        self.leaderless_since.get_or_insert(now);
    }

    /// Forgets indexes every node has applied, a chunk at a time.
    fn prune(&mut self) {
        let everywhere = self.applied_by.iter().copied().min().unwrap_or(0);
        if everywhere < self.base + PRUNE {
            return;
        }
        let k = (everywhere - self.base) as usize;
        for log in &mut self.logs {
            log.drain(..k.min(log.len()));
        }
        self.applied.drain(..k.min(self.applied.len()));
        self.base = everywhere;
        self.entries = self.entries.split_off(&(everywhere + 1, 0));
    }
}

impl Monitor<RaftNote> for RaftMonitor {
    fn observe(&mut self, now: SimTime, node: NodeId, note: &RaftNote) -> Result<(), String> {
        match note {
            RaftNote::Campaign { term, pre_vote } => {
                self.campaigns += 1;
                if !pre_vote {
                    self.top_term = self.top_term.max(*term);
                }
                if self.leader.is_none_or(|(_, t)| *term > t) {
                    self.first_campaign.get_or_insert(now);
                }
            }
            RaftNote::Leader { term } => {
                self.elections += 1;
                if *term < self.top_term {
                    self.stale_leaders += 1;
                }
                self.top_term = self.top_term.max(*term);
                let gave_up = [self.leaderless_since.take(), self.first_campaign.take()].into_iter().flatten().min();
                if let Some(since) = gave_up {
                    self.leaderless.push(now.since(since).as_nanos());
                }
                self.leader = Some((node, *term));
                if let Some(&other) = self.leaders.get(term)
                    && other != node
                {
                    return self
                        .fail(format!("election safety: nodes {} and {} both lead term {term}", other.0, node.0));
                }
                self.leaders.insert(*term, node);
                let log = &self.logs[node.index()];
                let missing = self
                    .applied
                    .iter()
                    .enumerate()
                    .find(|&(i, a)| a.term < *term && log.get(i).is_none_or(|&(_, c)| c != a.chain));
                if let Some((i, a)) = missing {
                    let index = self.base + i as u64 + 1;
                    return self.fail(format!(
                        "leader completeness: node {} leads term {term} without the entry at index {index}, \
                         committed in term {}",
                        node.0, a.term
                    ));
                }
            }
            RaftNote::ElectedBy { term, config, voters } => self.elected(node, *term, config, voters)?,
            RaftNote::Reconfigured { index, config, committed } => {
                self.config_changes += 1;
                if let Some((a, b)) = disjoint_majorities(committed, config) {
                    return self.fail(format!(
                        "configuration change: node {} appended configuration {} at index {index} while {} was the \
                         last committed one; servers may use either, and their majorities {} and {} do not overlap",
                        node.0,
                        ids(config),
                        ids(committed),
                        ids(&a),
                        ids(&b)
                    ));
                }
            }
            RaftNote::Left => self.applied_by[node.index()] = u64::MAX,
            RaftNote::SteppedDown => {
                if self.leader.is_some_and(|(l, _)| l == node) {
                    self.lose_leader(now);
                }
            }
            RaftNote::Appended { first, entries } => self.log_entries(node, *first, entries)?,
            RaftNote::Truncated { from, term } => {
                // Dropping an entry that conflicts with the leader's is how logs converge; only
                // a leader of a later term than an entry's commit must hold it, so only such a
                // leader's follower dropping it loses committed data.
                if *from <= self.base {
                    return self.fail(format!("node {} dropped entry {from}, which every node had applied", node.0));
                }
                let i = self.pos(*from);
                let log = &self.logs[node.index()];
                if let (Some(&(_, mine)), Some(applied)) = (log.get(i), self.applied.get(i))
                    && mine == applied.chain
                    && *term > applied.term
                {
                    return self.fail(format!(
                        "node {} dropped entry {from}, committed in term {}, following a leader of term {term}",
                        node.0, applied.term
                    ));
                }
                self.logs[node.index()].truncate(i);
            }
            RaftNote::Installed { index, term, chain } => {
                if *index <= self.base {
                    return Ok(());
                }
                let upto = self.pos(*index) + 1;
                if upto > self.applied.len() {
                    return self
                        .fail(format!("node {} installed a snapshot up to {index}, past anything applied", node.0));
                }
                if self.applied[upto - 1].chain != *chain {
                    return self.fail(format!(
                        "state machine safety: node {} installed a snapshot that differs at {index}",
                        node.0
                    ));
                }
                let log = &mut self.logs[node.index()];
                log.clear();
                log.extend(self.applied[..upto].iter().map(|a| (0, a.chain)));
                log[upto - 1] = (*term, *chain);
            }
            RaftNote::Applied { index, chain, term, state } => {
                // Applying the index it is at again (a duplicated snapshot) changes nothing.
                let now_at = std::mem::replace(&mut self.current[node.index()], *index);
                if *index < now_at {
                    return self.fail(format!(
                        "state machine rollback: node {} applied index {index} after index {now_at}",
                        node.0
                    ));
                }
                let by = &mut self.applied_by[node.index()];
                *by = if *by == u64::MAX { *index } else { (*by).max(*index) };
                if *index > self.base {
                    let i = self.pos(*index);
                    if i >= self.applied.len() {
                        // Newly applied indexes: their chains come from this node's log, and
                        // they were committed in its term.
                        let log = &self.logs[node.index()];
                        if log.len() <= i {
                            return self
                                .fail(format!("node {} applied index {index}, which its log does not hold", node.0));
                        }
                        let have = self.applied.len();
                        self.applied.extend(log[have..=i].iter().map(|&(_, chain)| AppliedEntry {
                            chain,
                            term: *term,
                            state: None,
                        }));
                    }
                    self.same_state(node, *index, *chain, *state)?;
                }
                self.prune();
            }
            RaftNote::Started { applied, chain, state } => {
                self.current[node.index()] = *applied;
                let by = &mut self.applied_by[node.index()];
                if *by == u64::MAX {
                    *by = *applied;
                }
                if *applied > self.base {
                    if self.pos(*applied) >= self.applied.len() {
                        return self.fail(format!(
                            "node {} restarted with its state as of index {applied}, which no node had applied",
                            node.0
                        ));
                    }
                    self.same_state(node, *applied, *chain, *state)?;
                }
            }
            RaftNote::Committed { latency } => self.commit_latency.push(*latency),
        }
        Ok(())
    }

    fn crashed(&mut self, now: SimTime, node: NodeId) {
        if self.leader.is_some_and(|(l, _)| l == node) {
            self.lose_leader(now);
        }
    }

    fn metrics(&self, end: SimTime) -> ProtocolMetrics {
        let mut m = ProtocolMetrics::default();
        let mut leaderless = self.leaderless.clone();
        if let Some(since) = [self.leaderless_since, self.first_campaign].into_iter().flatten().min() {
            leaderless.push(end.since(since).as_nanos());
        }
        m.numbers.insert("elections".into(), self.elections as f64);
        m.numbers.insert("campaigns".into(), self.campaigns as f64);
        m.numbers.insert("stale_leaders".into(), self.stale_leaders as f64);
        if self.config_changes > 0 {
            m.numbers.insert("config_changes".into(), self.config_changes as f64);
        }
        m.numbers.insert("committed_entries".into(), (self.base + self.applied.len() as u64) as f64);
        m.numbers.insert("leaderless_total_ns".into(), leaderless.iter().sum::<u64>() as f64);
        m.durations.insert("leaderless_windows".into(), leaderless);
        m.durations.insert("commit_latency".into(), self.commit_latency.clone());
        m
    }
}

/// Node ids as a set, `{0, 1, 2}`.
fn ids(nodes: &[NodeId]) -> String {
    let list: Vec<String> = nodes.iter().map(|k| k.0.to_string()).collect();
    format!("{{{}}}", list.join(", "))
}

/// A majority of `a` and a majority of `b` that share no server, if there are any: the
/// majority of `a` takes servers outside `b` first, and the majority of `b` the shared ones
/// it left.
fn disjoint_majorities(a: &[NodeId], b: &[NodeId]) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
    let (need_a, need_b) = (a.len() / 2 + 1, b.len() / 2 + 1);
    let only_a: Vec<NodeId> = a.iter().copied().filter(|k| !b.contains(k)).collect();
    let only_b: Vec<NodeId> = b.iter().copied().filter(|k| !a.contains(k)).collect();
    let shared: Vec<NodeId> = a.iter().copied().filter(|k| b.contains(k)).collect();
    let (from_shared_a, from_shared_b) = (need_a.saturating_sub(only_a.len()), need_b.saturating_sub(only_b.len()));
    if a.is_empty() || b.is_empty() || from_shared_a + from_shared_b > shared.len() {
        return None;
    }
    let mut qa: Vec<NodeId> =
        only_a.iter().copied().take(need_a).chain(shared[..from_shared_a].iter().copied()).collect();
    let mut qb: Vec<NodeId> = only_b
        .iter()
        .copied()
        .take(need_b)
        .chain(shared[from_shared_a..from_shared_a + from_shared_b].iter().copied())
        .collect();
    qa.sort_unstable();
    qb.sort_unstable();
    Some((qa, qb))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node applied `index` with chain `chain` in `term`; states follow the chain.
    fn applied(index: u64, chain: u64, term: u64) -> RaftNote {
        RaftNote::Applied { index, chain, term, state: chain ^ 0x5555 }
    }

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
        m.observe(SimTime(1), NodeId(0), &applied(1, 11, 1)).unwrap();
        let err = m.observe(SimTime(2), NodeId(2), &RaftNote::Leader { term: 2 }).unwrap_err();
        assert!(err.contains("leader completeness"), "{err}");
    }

    /// The false alarm of issue 14, event by event: a candidate of term 2 is paused while the
    /// cluster elects a leader of term 3, which commits entry 2; the candidate resumes, counts
    /// the votes that waited for it and leads term 2 without entry 2. Correct Raft: only
    /// leaders of terms after 3 must hold it, and a follower of the term-2 leader may drop it.
    #[test]
    fn a_late_leader_of_an_older_term_may_lack_entries_committed_since() {
        let mut m = RaftMonitor::new(5, true);
        let (e1, e2, e3) = ((1, 11), (1, 12), (3, 13));
        for n in 0..5 {
            m.observe(SimTime(1), NodeId(n), &RaftNote::Started { applied: 0, chain: 0, state: 0 }).unwrap();
        }
        m.observe(SimTime(2), NodeId(0), &RaftNote::Leader { term: 1 }).unwrap();
        for n in [0, 1, 3] {
            m.observe(SimTime(3), NodeId(n), &RaftNote::Appended { first: 1, entries: vec![e1, e2] }).unwrap();
        }
        m.observe(SimTime(3), NodeId(2), &RaftNote::Appended { first: 1, entries: vec![e1] }).unwrap();
        m.observe(SimTime(4), NodeId(0), &applied(1, 11, 1)).unwrap();
        m.observe(SimTime(5), NodeId(2), &RaftNote::Campaign { term: 2, pre_vote: false }).unwrap(); // then paused
        m.observe(SimTime(6), NodeId(1), &RaftNote::Campaign { term: 3, pre_vote: false }).unwrap();
        m.observe(SimTime(7), NodeId(1), &RaftNote::Leader { term: 3 }).unwrap();
        for n in [1, 3, 4] {
            m.observe(SimTime(8), NodeId(n), &RaftNote::Appended { first: 1, entries: vec![e1, e2, e3] }).unwrap();
        }
        for i in 1..=3 {
            m.observe(SimTime(9), NodeId(1), &applied(i, [11, 12, 13][i as usize - 1], 3)).unwrap();
        }
        // Node 2 resumes and wins term 2 with the votes that waited for it.
        m.observe(SimTime(10), NodeId(2), &RaftNote::Leader { term: 2 }).expect("no false alarm");
        // Node 0, still in term 2, follows it and drops entry 2 (committed in term 3).
        m.observe(SimTime(11), NodeId(0), &RaftNote::Truncated { from: 2, term: 2 }).expect("no false alarm");
        // Leaders after term 3 must hold it, and their followers keep it.
        let late = m.observe(SimTime(12), NodeId(3), &RaftNote::Truncated { from: 2, term: 4 }).unwrap_err();
        assert!(late.contains("committed in term 3, following a leader of term 4"), "{late}");
        let mut m2 = m.clone();
        let err = m2.observe(SimTime(13), NodeId(0), &RaftNote::Leader { term: 4 }).unwrap_err();
        assert!(err.contains("leader completeness") && err.contains("index 2, committed in term 3"), "{err}");
        assert_eq!(m.metrics(SimTime(14)).numbers["stale_leaders"], 1.0, "node 2 won an old term");
    }

    #[test]
    fn a_state_machine_that_goes_back_is_a_rollback_but_a_restart_may_resume_from_a_snapshot() {
        let mut m = RaftMonitor::new(2, true);
        let entries: Vec<(u64, u64)> = (1..=3).map(|i| (1, 10 + i)).collect();
        for n in 0..2 {
            m.observe(SimTime(1), NodeId(n), &RaftNote::Appended { first: 1, entries: entries.clone() }).unwrap();
            for i in 1..=3 {
                m.observe(SimTime(2), NodeId(n), &applied(i, 10 + i, 1)).unwrap();
            }
        }
        // A restart resumes from a state it had applied (its snapshot at 2), then replays.
        m.crashed(SimTime(3), NodeId(1));
        m.observe(SimTime(4), NodeId(1), &RaftNote::Started { applied: 2, chain: 12, state: 12 ^ 0x5555 }).unwrap();
        m.observe(SimTime(5), NodeId(1), &applied(3, 13, 1)).expect("replaying after a restart");
        // Installing a snapshot older than what it applied rolls the state machine back.
        let err = m.observe(SimTime(6), NodeId(1), &applied(2, 12, 1)).unwrap_err();
        assert!(err.contains("state machine rollback: node 1 applied index 2 after index 3"), "{err}");
        // A restored state that differs from what the index held elsewhere is caught too.
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: entries.clone() }).unwrap();
        m.observe(SimTime(2), NodeId(0), &applied(1, 11, 1)).unwrap();
        let err = m.observe(SimTime(3), NodeId(1), &RaftNote::Started { applied: 1, chain: 11, state: 7 }).unwrap_err();
        assert!(err.contains("different state after index 1"), "{err}");
    }

    #[test]
    fn applying_different_entries_breaks_state_machine_safety() {
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11)] }).unwrap();
        m.observe(SimTime(1), NodeId(1), &RaftNote::Appended { first: 1, entries: vec![(2, 22)] }).unwrap();
        m.observe(SimTime(2), NodeId(0), &applied(1, 11, 1)).unwrap();
        let err = m.observe(SimTime(3), NodeId(1), &applied(1, 22, 1)).unwrap_err();
        assert!(err.contains("state machine safety"), "{err}");
    }

    #[test]
    fn dropping_a_conflicting_entry_is_fine_dropping_a_committed_one_is_not() {
        let mut m = RaftMonitor::new(2, true);
        m.observe(SimTime(1), NodeId(0), &RaftNote::Appended { first: 1, entries: vec![(1, 11)] }).unwrap();
        m.observe(SimTime(1), NodeId(0), &applied(1, 11, 1)).unwrap();
        m.observe(SimTime(1), NodeId(1), &RaftNote::Appended { first: 1, entries: vec![(2, 22)] }).unwrap();
        assert!(
            m.observe(SimTime(2), NodeId(1), &RaftNote::Truncated { from: 1, term: 2 }).is_ok(),
            "a stale entry goes"
        );
        assert!(
            m.observe(SimTime(3), NodeId(0), &RaftNote::Truncated { from: 1, term: 2 }).is_err(),
            "a committed one may not"
        );
    }

    #[test]
    fn entries_applied_everywhere_are_forgotten_and_still_checked_after() {
        let mut m = RaftMonitor::new(2, true);
        let n = PRUNE + 10;
        let entries: Vec<(u64, u64)> = (1..=n).map(|i| (1, i * 7)).collect();
        for k in 0..2 {
            m.observe(SimTime(1), NodeId(k), &RaftNote::Appended { first: 1, entries: entries.clone() }).unwrap();
            m.observe(SimTime(2), NodeId(k), &applied(n, n * 7, 1)).unwrap();
        }
        assert_eq!(m.base, n, "everything applied everywhere was forgotten");
        assert!(m.applied.is_empty() && m.logs.iter().all(Vec::is_empty));
        m.observe(SimTime(3), NodeId(0), &RaftNote::Appended { first: n + 1, entries: vec![(2, 99)] }).unwrap();
        m.observe(SimTime(3), NodeId(0), &applied(n + 1, 99, 1)).unwrap();
        m.observe(SimTime(4), NodeId(1), &RaftNote::Appended { first: n + 1, entries: vec![(2, 98)] }).unwrap_err();
        assert_eq!(m.metrics(SimTime(5)).numbers["committed_entries"], (n + 1) as f64);
    }

    #[test]
    fn leaderless_windows_run_from_losing_a_leader_to_electing_one() {
        let mut m = RaftMonitor::new(3, true);
        m.observe(SimTime(100), NodeId(0), &RaftNote::Leader { term: 1 }).unwrap();
        m.crashed(SimTime(1000), NodeId(0));
        m.observe(SimTime(1200), NodeId(1), &RaftNote::Campaign { term: 2, pre_vote: false }).unwrap();
        m.observe(SimTime(1300), NodeId(1), &RaftNote::Leader { term: 2 }).unwrap();
        // A partitioned-away leader: the window runs from the first campaign against it.
        m.observe(SimTime(2000), NodeId(2), &RaftNote::Campaign { term: 3, pre_vote: false }).unwrap();
        m.observe(SimTime(2050), NodeId(3), &RaftNote::Campaign { term: 3, pre_vote: false }).unwrap();
        m.observe(SimTime(2100), NodeId(2), &RaftNote::Leader { term: 3 }).unwrap();
        let metrics = m.metrics(SimTime(5000));
        assert_eq!(metrics.durations["leaderless_windows"], vec![100, 300, 100]);
        assert_eq!(metrics.numbers["elections"], 3.0);
        assert_eq!(metrics.numbers["campaigns"], 3.0);
    }

    fn set(ids: &[u32]) -> Vec<NodeId> {
        ids.iter().copied().map(NodeId).collect()
    }

    #[test]
    fn one_server_changes_keep_majorities_overlapping_two_do_not() {
        for (a, b) in [(&[0, 1, 2][..], &[0, 1, 2, 3][..]), (&[0, 1, 2, 3], &[0, 1, 3]), (&[0], &[0, 1])] {
            assert_eq!(disjoint_majorities(&set(a), &set(b)), None, "{a:?} -> {b:?}");
        }
        let (qa, qb) = disjoint_majorities(&set(&[0, 1, 2]), &set(&[0, 1, 2, 3, 4])).expect("3 -> 5 at once");
        assert_eq!((qa, qb), (set(&[0, 1]), set(&[2, 3, 4])));
        assert!(disjoint_majorities(&set(&[0, 1, 2, 3]), &set(&[2, 3, 4, 5])).is_some(), "two swapped at once");
        let mut m = RaftMonitor::new(5, true);
        let note = RaftNote::Reconfigured { index: 9, config: set(&[0, 1, 2, 3, 4]), committed: set(&[0, 1, 2]) };
        let err = m.observe(SimTime(1), NodeId(0), &note).unwrap_err();
        assert!(err.contains("do not overlap"), "{err}");
    }

    #[test]
    fn a_leader_needs_a_majority_of_its_own_configuration() {
        let mut m = RaftMonitor::new(5, true);
        let elected = |term, config: &[u32], voters: &[u32]| RaftNote::ElectedBy {
            term,
            config: set(config),
            voters: set(voters),
        };
        m.observe(SimTime(1), NodeId(0), &elected(1, &[0, 1, 2], &[0, 1])).unwrap();
        m.observe(SimTime(1), NodeId(0), &RaftNote::Leader { term: 1 }).unwrap();
        let err = m.observe(SimTime(2), NodeId(3), &elected(2, &[0, 1, 2, 3], &[3, 4])).unwrap_err();
        assert!(err.contains("outside its configuration"), "{err}");
        let err = m.observe(SimTime(2), NodeId(3), &elected(2, &[0, 1, 2, 3], &[2, 3])).unwrap_err();
        assert!(err.contains("not a majority"), "{err}");
        let err = m.observe(SimTime(3), NodeId(2), &elected(1, &[0, 1, 2, 3, 4], &[2, 3, 4])).unwrap_err();
        assert!(err.contains("elected by {0, 1} of configuration {0, 1, 2} and by {2, 3, 4}"), "{err}");
    }
}
