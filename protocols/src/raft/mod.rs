//! Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm", 2014, and
//! Ongaro's thesis): leader election with randomized timeouts, log replication, commitment by
//! majority, and a replicated key-value state machine with put, get and compare-and-set.
//!
//! - Clients may reach any node: a follower forwards to the leader (and forwards again to a new
//!   leader), and applying an entry answers the client through the node it reached. Each request
//!   id is applied once, whatever the retries.
//! - Reads go through the log, or by ReadIndex (a heartbeat round confirms leadership), or by a
//!   leader lease that is safe only while clocks drift less than `lease_drift` allows.
//! - PreVote and CheckQuorum are options; snapshots bound the log, InstallSnapshot brings
//!   laggards up to date.
//! - Durable state is the term, the vote, the log and the snapshot; the state machine is rebuilt
//!   from them after a crash.
//! - Membership changes one server at a time (Ongaro's dissertation, ch. 4): a node that
//!   joins catches up as a learner, then a configuration entry adds it; a node that leaves
//!   drains until an entry removing it commits ([`membership`]).
//! - Every node reports its elections, log changes and applies to [`monitor::RaftMonitor`],
//!   which checks Raft's safety properties as the run goes.

pub mod log;
mod membership;
pub mod monitor;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use syncsim_sim::history::{OpKind, Output};
use syncsim_sim::rng::below;
use syncsim_sim::{
    Consistency, Ctx, Departure, DurationRange, Family, Key, Launch, Load, Message, NodeId, Op, Param, ParamError,
    Protocol, ProtocolInfo, Reply, RequestId, SimDuration, SimTime, Value,
};

use self::log::{Command, Entry, Log, SnapshotMeta};
use self::monitor::{RaftMonitor, RaftNote};
use crate::planted::{Planted, planted_bugs};

/// How the leader serves reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reads {
    /// Reads are log entries like writes: linearizable, one round of replication each.
    Log,
    /// ReadIndex: a heartbeat round confirms the leader still leads, then it reads locally.
    ReadIndex,
    /// A leader lease: no round while the lease lasts; safe only if clocks drift less than
    /// `lease_drift` allows.
    Lease,
}

impl Reads {
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            Reads::Log => "log",
            Reads::ReadIndex => "read-index",
            Reads::Lease => "lease",
        }
    }
}

planted_bugs! {
    /// Raft's planted bugs, for tests that the invariant checks and the linearizability checker
    /// catch what they must (see [`crate::planted`]).
    pub enum Bug {
        /// A node grants its vote to every candidate of a term, not just the first.
        VoteTwice = "vote-twice",
        /// The leader commits an entry once one follower has it, not a majority.
        MinorityCommit = "minority-commit",
        /// A follower installs any snapshot it is sent, even one older than what it has
        /// applied, and so rolls its state machine back.
        StaleSnapshot = "stale-snapshot",
        /// The leader commits any entry a majority stores, not only one of its own term, so a
        /// later leader can overwrite it (Raft paper §5.4.2 and Figure 8).
        CommitOldTerm = "commit-old-term",
        /// The vote is not part of the durable state, so a voter that crashes and restarts
        /// votes again in the same term (Raft paper Figure 2: `votedFor` is persistent).
        ForgetVote = "forget-vote",
        /// Votes are granted without the check that the candidate's log is at least as up to
        /// date, so a leader can lack committed entries (Raft paper §5.4.1).
        VoteAnyLog = "vote-any-log",
        /// A ReadIndex read is served from the leader's state machine without the heartbeat
        /// round that confirms it still leads, so a deposed leader cut off from the majority
        /// answers stale reads (Raft paper §8; Kingsbury, "Jepsen: etcd and Consul", 2014).
        ReadWithoutQuorum = "read-without-quorum",
        /// The leader starts a configuration change while another is still uncommitted, so
        /// two servers joining at once take a three-node cluster to five in one step, whose
        /// majorities need not overlap the old one's (Ongaro's dissertation, §4.1).
        ConcurrentChanges = "concurrent-config-changes",
    }
}

/// Raft parameters from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftConfig {
    /// Followers wait a random time in this range without hearing a leader before campaigning.
    pub election_timeout: DurationRange,
    /// Election timeouts are whole multiples of this: a uniform draw over the range, rounded
    /// to the nearest step. LogCabin draws whole milliseconds (`randomRange` rounds a uniform
    /// double), so its 150-151 ms timeouts are 150 or 151 ms, half and half. 0s: continuous.
    pub election_timeout_step: SimDuration,
    /// The leader's heartbeat (and replication) interval.
    pub heartbeat: SimDuration,
    /// Most entries in one AppendEntries.
    pub max_batch: u32,
    /// How reads are served.
    pub reads: Reads,
    /// Lease reads assume no two clocks' rates differ by more than this factor (a leader at
    /// half speed and a follower at 1.5x is 3); clock jumps are never safe. 1.0: no drift.
    pub lease_drift: f64,
    /// Ask for pre-votes before raising the term.
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a majority within an election timeout.
    pub check_quorum: bool,
    /// Snapshot after this many applied entries (0: never).
    pub snapshot_every: u64,
    /// Followers forward client requests to the leader (else they refuse them).
    pub forward: bool,
    /// Results of updates are kept this many entries, so that retries are not applied twice;
    /// older ones are dropped at snapshots, which keeps memory bounded.
    pub dedup_window: u64,
    /// Time to make state durable (an fsync): votes and append replies wait this long,
    /// batched (group commit). 0s: instant.
    pub disk_latency: SimDuration,
    /// The mean of an exponential delay added to `disk_latency` at each fsync, drawn afresh:
    /// real fsyncs vary (a queue in the drive, a journal commit), so an fsync takes
    /// `disk_latency` plus a long-tailed extra. 0s: every fsync takes `disk_latency`.
    pub disk_jitter: SimDuration,
    /// An fsync holds the node: it handles nothing else (messages wait, timers fire late)
    /// until the write is done, and a candidate's vote requests leave only once its new term
    /// and vote are written. LogCabin, whose election figures the Raft paper reports, writes
    /// its metadata and a follower's appends with its one lock held. false: the node goes on
    /// while its replies wait for the disk.
    pub blocking_disk: bool,
    /// Check Raft's invariants while running.
    pub check_invariants: bool,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout: DurationRange { min: SimDuration::from_millis(150), max: SimDuration::from_millis(300) },
            election_timeout_step: SimDuration::ZERO,
            heartbeat: SimDuration::from_millis(50),
            max_batch: 64,
            reads: Reads::ReadIndex,
            lease_drift: 1.0,
            pre_vote: false,
            check_quorum: false,
            snapshot_every: 1000,
            forward: true,
            dedup_window: 10_000,
            disk_latency: SimDuration::ZERO,
            disk_jitter: SimDuration::ZERO,
            blocking_disk: false,
            check_invariants: true,
            bug: Bug::None,
        }
    }
}

impl RaftConfig {
    /// Checks the parameters: `Err((field, message))`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, m: String| Err((f.to_string(), m));
        if self.election_timeout.min == SimDuration::ZERO {
            return bad("election_timeout", "must be longer than 0s".into());
        }
        if self.heartbeat == SimDuration::ZERO {
            return bad("heartbeat", "must be longer than 0s".into());
        }
        let step = self.election_timeout_step;
        let DurationRange { min, max } = self.election_timeout;
        if step != SimDuration::ZERO && (min.as_nanos() % step.as_nanos() != 0 || max.as_nanos() % step.as_nanos() != 0)
        {
            return bad(
                "election_timeout_step",
                format!("{step} does not divide the election timeout's bounds ({min} and {max})"),
            );
        }
        if self.heartbeat >= self.election_timeout.min {
            return bad(
                "heartbeat",
                format!(
                    "{} is not shorter than the election timeout ({}): followers would campaign between heartbeats",
                    self.heartbeat, self.election_timeout.min
                ),
            );
        }
        if self.max_batch == 0 {
            return bad("max_batch", "must be at least 1".into());
        }
        self.bug.check()?;
        if self.reads == Reads::Lease && !self.check_quorum {
            return bad(
                "reads",
                "lease reads need `check_quorum: true`: without it, followers vote for a new leader while the old lease still runs"
                    .into(),
            );
        }
        if !(self.lease_drift.is_finite() && self.lease_drift >= 1.0) {
            return bad("lease_drift", format!("a drift bound of at least 1.0, not {}", self.lease_drift));
        }
        Ok(())
    }
}

/// The `raft` family: Raft consensus over a replicated key-value store.
impl Family for RaftNode {
    const KIND: &'static str = "raft";
    const ABOUT: &'static str = "Raft consensus (Ongaro & Ousterhout 2014) over a replicated key-value store";
    type Config = RaftConfig;

    fn params() -> Vec<Param> {
        vec![
            Param::new("election_timeout", "followers campaign after a random time in this range"),
            Param::new(
                "election_timeout_step",
                "timeouts are whole multiples of this, rounded from the draw (0s: continuous)",
            ),
            Param::new("heartbeat", "the leader's heartbeat and replication interval"),
            Param::new("max_batch", "most entries in one AppendEntries"),
            Param::new("reads", "log | read-index | lease"),
            Param::new("lease_drift", "lease reads assume no two clock rates differ by more than this factor"),
            Param::new("pre_vote", "ask for pre-votes before raising the term"),
            Param::new("check_quorum", "a leader that has not heard from a majority steps down"),
            Param::new("snapshot_every", "snapshot after this many applied entries (0: never)"),
            Param::new("forward", "followers forward client requests to the leader"),
            Param::new("dedup_window", "entries for which retried updates are recognised"),
            Param::new("disk_latency", "fsync time: votes and append replies wait for it (0s: none)"),
            Param::new("disk_jitter", "mean of an exponential extra added to disk_latency at each fsync (0s: none)"),
            Param::new("blocking_disk", "an fsync holds the node: nothing else is handled until it is done"),
            Param::new("check_invariants", "check Raft's safety properties while running"),
        ]
        .into_iter()
        .chain(Bug::param())
        .collect()
    }

    /// The leader's heartbeat reaches every follower and is answered (about two handler calls
    /// per node per heartbeat, and the timer), elections add a round of votes per timeout;
    /// an operation is forwarded to the leader, appended to every follower, acknowledged and
    /// answered.
    fn load(config: &RaftConfig, _: usize) -> Load {
        let secs = |d: SimDuration| (d.0 as f64 / 1e9).max(1e-9);
        Load {
            calls_per_node_second: 3.0 / secs(config.heartbeat) + 3.0 / secs(config.election_timeout.min),
            per_op_base: 4.0,
            per_op_per_node: 3.0,
            ..Load::typical(None)
        }
    }

    fn validate(config: &RaftConfig, _: &[String]) -> Result<(), ParamError> {
        config.validate()
    }

    /// Servers join and leave by single-server configuration changes ([`membership`]).
    fn elastic(_: &RaftConfig) -> Result<(), ParamError> {
        Ok(())
    }

    fn launch<L: Launch>(config: &RaftConfig, _: &[String], launch: L) -> L::Output {
        launch.launch::<RaftNode>(config.clone())
    }
}

/// The replicated key-value state machine, with the results of applied requests so that a
/// retried request is answered, not applied again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StateMachine {
    /// Each key's value, with the log index and request that wrote it.
    values: BTreeMap<Key, (Value, u64, RequestId)>,
    /// The result of each applied update, with the index it was applied at: a retried
    /// request gets it back instead of being applied again.
    results: BTreeMap<RequestId, (Output, u64)>,
    fingerprint: u64,
}

impl StateMachine {
    /// Applies `op` for request `req`, the entry at `index` (once: a request seen before gets
    /// its first result). PBFT's replicas run the same machine.
    pub(crate) fn apply(&mut self, index: u64, req: RequestId, op: &Op) -> Output {
        if let Some((done, _)) = self.results.get(&req) {
            return done.clone();
        }
        let out = match *op {
            Op::Put { key, value } => {
                self.set(key, value, index, req);
                Output::Done
            }
            Op::Get { key } => self.read(key),
            Op::Cas { key, expect, new } => {
                let swap = self.values.get(&key).map(|v| v.0) == Some(expect);
                if swap {
                    self.set(key, new, index, req);
                }
                Output::Swapped(swap)
            }
            _ => unreachable!("only put, get and cas are proposed"),
        };
        if op.is_update() {
            self.results.insert(req, (out.clone(), index));
        }
        out
    }

    /// Forgets the results of updates applied more than `window` entries before `applied`: a
    /// retry that late (its client long gone) would be applied again.
    fn forget_before(&mut self, applied: u64, window: u64) {
        self.results.retain(|_, (_, index)| *index + window >= applied);
    }

    fn set(&mut self, key: Key, value: Value, index: u64, req: RequestId) {
        let h = |k: Key, v: Value| mix(k ^ mix(v));
        if let Some((old, ..)) = self.values.insert(key, (value, index, req)) {
            self.fingerprint ^= h(key, old);
        }
        self.fingerprint ^= h(key, value);
    }

    pub(crate) fn read(&self, key: Key) -> Output {
        Output::Value(self.values.get(&key).map(|v| v.0))
    }

    /// Whether `key` holds the value written at `index` (the write took effect).
    pub(crate) fn wrote(&self, key: Key, index: u64) -> bool {
        self.values.get(&key).is_some_and(|v| v.1 == index)
    }

    /// A digest of the values and results: equal machines, equal digests.
    pub(crate) fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// How many keys hold a value.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The keys that hold a value, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.values.keys().copied()
    }
}

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A snapshot: the state machine as of an index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Snapshot {
    /// What it covers.
    pub meta: SnapshotMeta,
    /// The state machine then.
    pub state: StateMachine,
}

/// Raft messages.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum RaftMsg {
    /// "Would you vote for me in `term`?" (changes nobody's term).
    PreVote {
        /// The term the sender would campaign in.
        term: u64,
        /// Its last log index.
        last_index: u64,
        /// Its last log term.
        last_term: u64,
    },
    /// The answer to a pre-vote.
    PreVoteReply {
        /// The term asked about.
        term: u64,
        /// Whether it would.
        granted: bool,
    },
    /// "Vote for me in `term`."
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// Its last log index.
        last_index: u64,
        /// Its last log term.
        last_term: u64,
    },
    /// A vote.
    Vote {
        /// The voter's term.
        term: u64,
        /// Whether it voted for the candidate.
        granted: bool,
    },
    /// Entries to append after (prev_index, prev_term), and the leader's commit index.
    Append {
        /// The leader's term.
        term: u64,
        /// The entry before the new ones.
        prev_index: u64,
        /// Its term.
        prev_term: u64,
        /// The new entries.
        entries: Vec<Arc<Entry>>,
        /// The leader's commit index.
        commit: u64,
        /// The heartbeat round this message belongs to (ReadIndex and leases count them).
        round: u64,
    },
    /// The answer to an Append.
    AppendReply {
        /// The follower's term.
        term: u64,
        /// Whether its log now matches the leader's up to `index`.
        success: bool,
        /// On success, its last matching index; on failure, where the leader should try next.
        index: u64,
        /// The round answered.
        round: u64,
    },
    /// A snapshot for a follower too far behind.
    InstallSnapshot {
        /// The leader's term.
        term: u64,
        /// The snapshot.
        snapshot: Arc<Snapshot>,
        /// The round it belongs to.
        round: u64,
    },
    /// A client request forwarded by the node its client reached.
    Forward {
        /// The request.
        req: RequestId,
        /// What it asks.
        op: Op,
    },
    /// The result of a forwarded request, for the node its client waits at.
    ForwardReply {
        /// The request.
        req: RequestId,
        /// Its result.
        reply: Reply,
    },
    /// "Add `node` to the configuration" (a server that joined asks) or "remove it" (a server
    /// that leaves asks); a follower passes it on to its leader.
    Reconfigure {
        /// The server.
        node: NodeId,
        /// Add it, or remove it.
        add: bool,
    },
    /// The leader tells a server that leaves: a configuration without it is committed.
    Removed,
    /// A leader that removed itself hands over: the members stop waiting for it, and
    /// `successor` (the most up-to-date one) campaigns at once (a leadership transfer).
    Resigned {
        /// The term it led.
        term: u64,
        /// Who should campaign now.
        successor: NodeId,
    },
}

impl Message for RaftMsg {
    fn wire_size(&self) -> usize {
        // A tag, 8-byte integers; an entry is its term and a 33-byte command.
        const ENTRY: usize = 8 + 33;
        1 + match self {
            RaftMsg::PreVote { .. } | RaftMsg::RequestVote { .. } => 24,
            RaftMsg::PreVoteReply { .. } | RaftMsg::Vote { .. } => 9,
            RaftMsg::Append { entries, .. } => 40 + 4 + entries.len() * ENTRY,
            RaftMsg::AppendReply { .. } => 25,
            RaftMsg::InstallSnapshot { snapshot, .. } => {
                40 + 16 * snapshot.state.values.len() + 17 * snapshot.state.results.len()
            }
            RaftMsg::Forward { .. } => 8 + 25,
            RaftMsg::ForwardReply { .. } => 8 + 10,
            RaftMsg::Reconfigure { .. } => 5,
            RaftMsg::Removed => 0,
            RaftMsg::Resigned { .. } => 12,
        }
    }

    /// What a Byzantine Raft node can tell instead (Raft authenticates nothing, so anything
    /// goes): entries whose writes carry other values, a vote granted where it was refused (or
    /// the reverse), a client's answer with another value or swap result.
    fn tamper(&self) -> Option<Self> {
        // A value no client writes: clients draw theirs far below 2^62.
        const FLIP: u64 = 1 << 62;
        match self {
            RaftMsg::Append { term, prev_index, prev_term, entries, commit, round } => {
                let mut changed = false;
                let entries = entries
                    .iter()
                    .map(|e| {
                        let op = match &e.command.op {
                            Some(Op::Put { key, value }) => Some(Op::Put { key: *key, value: value ^ FLIP }),
                            Some(Op::Cas { key, expect, new }) => {
                                Some(Op::Cas { key: *key, expect: *expect, new: new ^ FLIP })
                            }
                            _ => return e.clone(),
                        };
                        changed = true;
                        Arc::new(Entry { term: e.term, command: Command { op, ..e.command.clone() } })
                    })
                    .collect();
                changed.then_some(RaftMsg::Append {
                    term: *term,
                    prev_index: *prev_index,
                    prev_term: *prev_term,
                    entries,
                    commit: *commit,
                    round: *round,
                })
            }
            RaftMsg::Vote { term, granted } => Some(RaftMsg::Vote { term: *term, granted: !granted }),
            RaftMsg::ForwardReply { req, reply: Ok(out) } => {
                let out = match out {
                    Output::Value(Some(v)) => Output::Value(Some(v ^ FLIP)),
                    Output::Value(None) => Output::Value(Some(FLIP)),
                    Output::Swapped(b) => Output::Swapped(!b),
                    _ => return None,
                };
                Some(RaftMsg::ForwardReply { req: *req, reply: Ok(out) })
            }
            _ => None,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            RaftMsg::PreVote { .. } => "PreVote",
            RaftMsg::RequestVote { .. } => "RequestVote",
            RaftMsg::PreVoteReply { .. } => "PreVoteReply",
            RaftMsg::Vote { .. } => "Vote",
            RaftMsg::Append { .. } => "Append",
            RaftMsg::AppendReply { .. } => "AppendReply",
            RaftMsg::InstallSnapshot { .. } => "InstallSnapshot",
            RaftMsg::Forward { .. } => "Forward",
            RaftMsg::ForwardReply { .. } => "ForwardReply",
            RaftMsg::Reconfigure { .. } => "Reconfigure",
            RaftMsg::Removed => "Removed",
            RaftMsg::Resigned { .. } => "Resigned",
        }
    }
}

/// Raft timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RaftTimer {
    /// Follower and candidate: campaign when it fires. Leader with CheckQuorum: check it.
    Election,
    /// Leader: send heartbeats.
    Heartbeat,
    /// The disk finished writing: send the replies that waited for it.
    Disk,
    /// Send unanswered client requests on again.
    Retry,
    /// A server that joins or leaves asks again to be added or removed.
    Membership,
}

/// What survives a crash.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    term: u64,
    voted_for: Option<NodeId>,
    log: Log,
    snapshot: Option<Arc<Snapshot>>,
    initial: Option<Vec<NodeId>>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// A read waiting for its heartbeat round to be acknowledged by a majority, and for the state
/// machine to reach its read index.
#[derive(Clone, Debug)]
struct PendingRead {
    req: RequestId,
    origin: NodeId,
    key: Key,
    index: u64,
    round: u64,
}

/// One Raft node.
#[derive(Clone, Debug)]
pub struct RaftNode {
    id: NodeId,
    nodes: u32,
    config: RaftConfig,
    /// The exponential of `config.disk_jitter`, ready to draw.
    disk_jitter: syncsim_sim::dist::Sampler,
    // Durable.
    term: u64,
    voted_for: Option<NodeId>,
    log: Log,
    snapshot: Option<Arc<Snapshot>>,
    /// The configuration before the log holds one: the cluster's first members for a node
    /// that started with it, none for one that joined later (`None` until it starts).
    initial: Option<Vec<NodeId>>,
    // Volatile.
    role: Role,
    leader: Option<NodeId>,
    votes: BTreeSet<NodeId>,
    commit: u64,
    applied: u64,
    machine: StateMachine,
    last_heard_leader: Option<SimTime>,
    // Leader only.
    next: Vec<u64>,
    matched: Vec<u64>,
    acked_round: Vec<u64>,
    last_ack: Vec<SimTime>,
    round: u64,
    round_sent: BTreeMap<u64, SimTime>,
    lease_until: SimTime,
    proposed_at: BTreeMap<u64, SimTime>,
    reads: Vec<PendingRead>,
    /// Requests whose client waits at this node and that no leader has answered yet, with how
    /// many times they were retried. Sent on again on every leader change and every retry
    /// interval (the state machine applies each request id once).
    pending: BTreeMap<RequestId, (Op, u32)>,
    /// The round started for reads and not yet confirmed by a majority.
    read_round: Option<u64>,
    /// The index of this leader's first entry of its term (its no-op).
    term_start: u64,
    /// Replies waiting for the disk to make the state they report durable.
    unsynced: Vec<(NodeId, RaftMsg)>,
    /// With `blocking_disk`: an fsync is under way (the Disk timer is armed).
    writing: bool,
    /// With `blocking_disk`: what arrived or fired while the disk held the node, in order.
    deferred: VecDeque<Deferred>,
    /// Counts election-timer resets, so that a deferred firing the timer has since been
    /// re-armed past is dropped (LogCabin's timer thread checks the deadline again).
    election_resets: u64,
    /// The configuration as of the commit index, as last seen (what changed is acted on).
    committed_members: Vec<NodeId>,
    /// Leaving (a drain): how many times it has asked to be removed.
    leaving: Option<u32>,
    /// Leader: servers that asked to join, catching up before a configuration adds them,
    /// with the index each must reach.
    learners: BTreeMap<NodeId, u64>,
}

/// An event the node could not handle while an fsync held it.
#[derive(Clone, Debug)]
enum Deferred {
    Message(NodeId, RaftMsg),
    /// A client's request.
    Request(RequestId, Op),
    /// A timer, with the election-timer reset count when it fired.
    Timer(RaftTimer, u64),
}

impl RaftNode {
    /// This node's role, for tests and experiments: true while it believes it leads.
    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }
    /// The node it believes leads, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// Its current term.
    pub fn term(&self) -> u64 {
        self.term
    }
    /// Its log's last index.
    pub fn last_index(&self) -> u64 {
        self.log.last_index()
    }
    /// Its commit index.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// How many heartbeat rounds it has sent as leader.
    pub fn rounds(&self) -> u64 {
        self.round
    }

    fn election_delay(&self, ctx: &mut Ctx<'_, Self>) -> SimDuration {
        let DurationRange { min, max } = self.config.election_timeout;
        let drawn = min.as_nanos() + below(ctx.rng(), max.as_nanos() - min.as_nanos() + 1);
        let step = self.config.election_timeout_step.as_nanos();
        if step == 0 {
            return SimDuration(drawn);
        }
        SimDuration((drawn + step / 2) / step * step)
    }

    fn reset_election_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.election_resets += 1;
        let d = self.election_delay(ctx);
        ctx.set_timer(RaftTimer::Election, d);
    }

    fn up_to_date(&self, last_index: u64, last_term: u64) -> bool {
        (last_term, last_index) >= (self.log.last_term(), self.log.last_index())
    }

    /// True within the minimum election timeout of hearing from the leader: then a follower
    /// ignores campaigns (with PreVote or CheckQuorum), so one flaky node cannot disrupt a
    /// working cluster.
    fn leader_is_fresh(&self, now: SimTime) -> bool {
        self.last_heard_leader.is_some_and(|t| now.since(t) < self.config.election_timeout.min)
    }

    fn become_follower(&mut self, ctx: &mut Ctx<'_, Self>, term: u64, leader: Option<NodeId>) {
        if self.role == Role::Leader {
            ctx.note(RaftNote::SteppedDown);
            ctx.cancel_timer(RaftTimer::Heartbeat);
            // A leader has no election timer running (or runs it as a quorum check).
            self.reset_election_timer(ctx);
            self.reads.clear();
            self.read_round = None;
            self.proposed_at.clear();
            self.learners.clear();
        }
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.leader = None;
        }
        self.role = Role::Follower;
        self.votes.clear();
        if let Some(l) = leader
            && self.leader != Some(l)
        {
            self.leader = Some(l);
            self.refer_pending(ctx);
        }
    }

    fn campaign(&mut self, ctx: &mut Ctx<'_, Self>, pre: bool) {
        self.votes = BTreeSet::from([self.id]);
        self.leader = None;
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        if pre {
            self.role = Role::PreCandidate;
            // Giving up on the leader starts here, pre-vote or not.
            ctx.note(RaftNote::Campaign { term: self.term + 1, pre_vote: true });
            for k in self.members().iter().copied().filter(|&k| k != self.id) {
                ctx.send(k, RaftMsg::PreVote { term: self.term + 1, last_index, last_term });
            }
        } else {
            self.role = Role::Candidate;
            self.term += 1;
            self.voted_for = Some(self.id);
            ctx.note(RaftNote::Campaign { term: self.term, pre_vote: false });
            let request = RaftMsg::RequestVote { term: self.term, last_index, last_term };
            let voters: Vec<NodeId> = self.members().iter().copied().filter(|&k| k != self.id).collect();
            for k in voters {
                if self.config.blocking_disk {
                    self.persist(ctx, k, request.clone(), 1);
                } else {
                    ctx.send(k, request.clone());
                }
            }
            // Requests or votes can be lost, and a voter can be down for a moment: ask again
            // each heartbeat until the election ends (as LogCabin's RPCs retry).
            ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat);
        }
        self.reset_election_timer(ctx);
        if self.quorum_of(&self.votes) {
            self.win(ctx, pre);
        }
    }

    fn win(&mut self, ctx: &mut Ctx<'_, Self>, pre: bool) {
        if pre {
            self.campaign(ctx, false);
            return;
        }
        self.role = Role::Leader;
        self.leader = Some(self.id);
        let n = self.nodes as usize;
        let last = self.log.last_index();
        self.next = vec![last + 1; n];
        self.matched = vec![0; n];
        self.acked_round = vec![0; n];
        self.last_ack = vec![ctx.now(); n];
        self.lease_until = SimTime::ZERO;
        let config = self.members().to_vec();
        let voters = config.iter().copied().filter(|k| self.votes.contains(k)).collect();
        ctx.note(RaftNote::ElectedBy { term: self.term, config, voters });
        ctx.note(RaftNote::Leader { term: self.term });
        // A no-op of the new term lets the leader commit (and learn) everything before it.
        self.propose(ctx, Command::default());
        self.term_start = self.log.last_index();
        self.read_round = None;
        if self.config.check_quorum {
            ctx.set_timer(RaftTimer::Election, self.config.election_timeout.min);
        } else {
            ctx.cancel_timer(RaftTimer::Election);
        }
        // The election timer was re-armed or cancelled: a firing deferred before is void.
        self.election_resets += 1;
        self.refer_pending(ctx);
        self.heartbeat(ctx);
    }

    fn propose(&mut self, ctx: &mut Ctx<'_, Self>, command: Command) {
        let (index, chain) = self.log.push(Arc::new(Entry { term: self.term, command }));
        ctx.note(RaftNote::Appended { first: index, entries: vec![(self.term, chain)] });
        self.matched[self.id.index()] = index;
        self.proposed_at.insert(index, ctx.now());
        self.advance_commit(ctx);
    }

    /// Starts a heartbeat round: every follower gets what it lacks, or an empty Append.
    fn heartbeat(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.round += 1;
        self.round_sent.insert(self.round, ctx.now());
        if self.round_sent.len() > 1024 {
            // No majority for a long while: the oldest rounds will not renew anything.
            self.round_sent.pop_first();
        }
        for peer in self.targets() {
            self.send_append(ctx, peer);
        }
        ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat);
    }

    fn send_append(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        let next = self.next[peer.index()];
        if next <= self.log.base().index {
            let snapshot = self.snapshot.clone().expect("a compacted log has a snapshot");
            ctx.send(peer, RaftMsg::InstallSnapshot { term: self.term, snapshot, round: self.round });
            return;
        }
        let prev_index = next - 1;
        let prev_term = self.log.term_at(prev_index).expect("next is within the log");
        let entries = self.log.from(next, self.config.max_batch as usize);
        // Pipelining: assume they arrive; a failure reply backs `next` up again.
        self.next[peer.index()] = next + entries.len() as u64;
        ctx.send(
            peer,
            RaftMsg::Append { term: self.term, prev_index, prev_term, entries, commit: self.commit, round: self.round },
        );
    }

    fn advance_commit(&mut self, ctx: &mut Ctx<'_, Self>) {
        let matched = self.by_member(|k| self.matched[k.index()]);
        if matched.is_empty() {
            return;
        }
        let quorum = if self.config.bug.is(Bug::MinorityCommit) {
            // The bug: the leader and one follower are enough.
            2.min(matched.len())
        } else {
            self.majority()
        };
        let candidate = matched[quorum - 1];
        // Only an entry of the leader's own term commits by counting (Raft §5.4.2).
        let own_term = self.log.term_at(candidate) == Some(self.term) || self.config.bug.is(Bug::CommitOldTerm);
        if candidate > self.commit && own_term {
            let now = ctx.now();
            let newly: Vec<u64> = self.proposed_at.range(..=candidate).map(|(i, _)| *i).collect();
            for i in newly {
                let t = self.proposed_at.remove(&i).expect("listed");
                ctx.note(RaftNote::Committed { latency: now.since(t).as_nanos() });
            }
            self.commit = candidate;
            self.apply(ctx);
        }
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, Self>) {
        while self.applied < self.commit {
            let index = self.applied + 1;
            let entry = self.log.get(index).expect("committed entries are in the log").clone();
            self.applied = index;
            if let (Some((req, origin)), Some(op)) = (entry.command.request, &entry.command.op) {
                let out = self.machine.apply(index, req, op);
                if let Op::Put { key, .. } | Op::Cas { key, .. } = *op
                    && self.machine.values.get(&key).is_some_and(|v| v.1 == index)
                {
                    ctx.expose(key, req, index);
                }
                // The leader that applies it answers the client, through the node it reached.
                if self.role == Role::Leader {
                    self.answer(ctx, req, origin, Ok(out));
                }
            }
            ctx.note(RaftNote::Applied {
                index,
                chain: self.log.chain_at(index).expect("in the log"),
                term: self.term,
                state: self.machine.fingerprint,
            });
        }
        self.serve_reads(ctx);
        self.config_committed(ctx);
        if self.config.snapshot_every > 0 && self.applied - self.log.base().index >= self.config.snapshot_every {
            let meta = SnapshotMeta {
                index: self.applied,
                term: self.log.term_at(self.applied).expect("applied entries are in the log"),
                chain: self.log.chain_at(self.applied).expect("in the log"),
                config: self.log.config_at(self.applied).map(<[NodeId]>::to_vec),
            };
            self.machine.forget_before(self.applied, self.config.dedup_window);
            self.snapshot = Some(Arc::new(Snapshot { meta, state: self.machine.clone() }));
            self.log.compact(self.applied);
        }
    }

    /// Drops the last log entry, if this node has not learnt it is committed, as if it had
    /// never arrived (with the acknowledgements still waiting for the disk): for experiments
    /// that need followers with logs of different lengths, as in the Raft paper's election
    /// measurements. True if an entry was dropped.
    pub fn forget_uncommitted_tail(&mut self, ctx: &mut Ctx<'_, Self>) -> bool {
        let last = self.log.last_index();
        if last <= self.commit || self.role == Role::Leader {
            return false;
        }
        self.log.truncate_from(last);
        self.unsynced.clear();
        ctx.note(RaftNote::Truncated { from: last, term: self.term });
        true
    }

    /// True while an fsync holds the node (`blocking_disk`).
    fn held(&self) -> bool {
        self.config.blocking_disk && self.writing
    }

    /// Handles, in order, what waited for the disk, until one of them writes again.
    fn replay(&mut self, ctx: &mut Ctx<'_, Self>) {
        while !self.held() {
            match self.deferred.pop_front() {
                None => break,
                Some(Deferred::Message(from, msg)) => self.on_message(ctx, from, msg),
                Some(Deferred::Request(req, op)) => self.on_request(ctx, req, op),
                Some(Deferred::Timer(RaftTimer::Election, resets)) if resets != self.election_resets => {}
                Some(Deferred::Timer(timer, _)) => self.on_timer(ctx, timer),
            }
        }
    }

    /// Sends a message that reports durable state once the disk has written it. `writes` is
    /// how many fsyncs, one after the other, the handler made (a new term, then a vote, say):
    /// a blocking disk takes them all and sends at once when there were none; otherwise one
    /// fsync covers every reply that waits (group commit).
    fn persist(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, msg: RaftMsg, writes: u32) {
        let writes = if self.config.blocking_disk { writes } else { 1 };
        let instant = self.config.disk_latency == SimDuration::ZERO && self.config.disk_jitter == SimDuration::ZERO;
        if instant || writes == 0 {
            ctx.send(to, msg);
            return;
        }
        // Without a blocking disk the write is as long as replies wait for it (the exact
        // model's old rule, kept for its trace hashes); with one, until the Disk timer fires.
        let arm = if self.config.blocking_disk { !self.writing } else { self.unsynced.is_empty() };
        if arm {
            self.writing = true;
            let mut took = SimDuration::ZERO;
            for _ in 0..writes {
                took = took + self.config.disk_latency;
                if self.config.disk_jitter != SimDuration::ZERO {
                    took = took + self.disk_jitter.sample(ctx.rng());
                }
            }
            ctx.set_timer(RaftTimer::Disk, took);
        }
        self.unsynced.push((to, msg));
    }

    fn answer(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, origin: NodeId, reply: Reply) {
        if origin == self.id {
            self.pending.remove(&req);
            ctx.reply(req, reply);
        } else {
            ctx.send(origin, RaftMsg::ForwardReply { req, reply });
        }
    }

    /// The latest heartbeat round a majority (this leader included) has acknowledged.
    fn confirmed_round(&self) -> u64 {
        let acked = self.by_member(|k| if k == self.id { self.round } else { self.acked_round[k.index()] });
        acked.get(self.majority() - 1).copied().unwrap_or(0)
    }

    /// Serves the reads whose round a majority acknowledged and whose index is applied; reads
    /// that came during a read round wait for the next one, which starts when it is confirmed.
    fn serve_reads(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.role != Role::Leader || self.reads.is_empty() {
            return;
        }
        let confirmed = self.confirmed_round();
        let applied = self.applied;
        let (ready, waiting): (Vec<PendingRead>, Vec<PendingRead>) =
            self.reads.drain(..).partition(|r| r.round <= confirmed && r.index <= applied);
        self.reads = waiting;
        for r in ready {
            let out = self.machine.read(r.key);
            self.answer(ctx, r.req, r.origin, Ok(out));
        }
        if self.read_round.is_some_and(|r| r <= confirmed) {
            self.read_round = None;
        }
        if self.read_round.is_none() && self.reads.iter().any(|r| r.round > self.round) {
            self.heartbeat(ctx);
            self.read_round = Some(self.round);
        }
    }

    /// The leader handles a client request that reached `origin`.
    fn lead_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op, origin: NodeId) {
        match (op.clone(), self.config.reads) {
            (Op::Get { key }, Reads::ReadIndex | Reads::Lease) => {
                // The read index is the commit index, once this term has committed its no-op.
                let index = self.commit.max(self.term_start);
                let trusted = match self.config.reads {
                    Reads::Lease => ctx.now() < self.lease_until,
                    _ => self.config.bug.is(Bug::ReadWithoutQuorum),
                };
                if trusted && index <= self.applied {
                    let out = self.machine.read(key);
                    self.answer(ctx, req, origin, Ok(out));
                    return;
                }
                // Confirmed by the first round sent after it came: now, unless a read round is
                // already out, in which case the next one starts once that one is confirmed.
                self.reads.push(PendingRead { req, origin, key, index, round: self.round + 1 });
                if self.read_round.is_none() {
                    self.heartbeat(ctx);
                    self.read_round = Some(self.round);
                }
            }
            _ => {
                self.propose(ctx, Command { request: Some((req, origin)), op: Some(op), change: None });
                for peer in self.targets() {
                    if self.next[peer.index()] == self.log.last_index() {
                        self.send_append(ctx, peer);
                    }
                }
            }
        }
    }

    /// Sends every unanswered request whose client waits here to the current leader (again):
    /// the leader may have changed, or a message may have been lost, and the state machine
    /// applies each request id once.
    fn refer_pending(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(leader) = self.leader else { return };
        let pending: Vec<(RequestId, Op)> = self.pending.iter().map(|(r, (o, _))| (*r, o.clone())).collect();
        for (req, op) in pending {
            if leader == self.id {
                self.lead_request(ctx, req, op, self.id);
            } else {
                ctx.send(leader, RaftMsg::Forward { req, op });
            }
        }
    }

    /// Retries every pending request; gives up on those retried `RETRIES` times (their clients
    /// have long timed out).
    fn retry(&mut self, ctx: &mut Ctx<'_, Self>) {
        const RETRIES: u32 = 10;
        self.pending.retain(|_, (_, tries)| {
            *tries += 1;
            *tries <= RETRIES
        });
        if self.role != Role::Leader {
            self.refer_pending(ctx);
        }
        if !self.pending.is_empty() {
            ctx.set_timer(RaftTimer::Retry, self.config.election_timeout.max);
        }
    }

    /// A message from a leader of `term`: a stale one is refused (and told the newer term);
    /// otherwise this node follows it, and its election timer starts over.
    fn hear_leader(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, term: u64, round: u64) -> bool {
        if term < self.term {
            self.persist(ctx, from, RaftMsg::AppendReply { term: self.term, success: false, index: 0, round }, 0);
            return false;
        }
        self.become_follower(ctx, term, Some(from));
        self.last_heard_leader = Some(ctx.now());
        self.reset_election_timer(ctx);
        true
    }

    fn on_append(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        (term, prev_index, prev_term, entries, commit, round): (u64, u64, u64, Vec<Arc<Entry>>, u64, u64),
    ) {
        let new_term = u32::from(term > self.term);
        if !self.hear_leader(ctx, from, term, round) {
            return;
        }
        let last = self.log.last_index();
        if prev_index > last {
            let reply = RaftMsg::AppendReply { term: self.term, success: false, index: last + 1, round };
            self.persist(ctx, from, reply, new_term);
            return;
        }
        let base = self.log.base().index;
        if prev_index >= base && self.log.term_at(prev_index) != Some(prev_term) {
            // Conflict: the leader backs up past this whole term of ours.
            let bad_term = self.log.term_at(prev_index);
            let mut hint = prev_index;
            while hint > base + 1 && self.log.term_at(hint - 1) == bad_term {
                hint -= 1;
            }
            self.persist(
                ctx,
                from,
                RaftMsg::AppendReply { term: self.term, success: false, index: hint.max(1), round },
                new_term,
            );
            return;
        }
        let mut appended = Vec::new();
        let mut first_new = None;
        for (k, entry) in entries.iter().enumerate() {
            let index = prev_index + 1 + k as u64;
            if index <= base {
                continue; // already in the snapshot
            }
            if first_new.is_none() {
                match self.log.term_at(index) {
                    Some(t) if t == entry.term => continue,
                    Some(_) => {
                        self.log.truncate_from(index);
                        ctx.note(RaftNote::Truncated { from: index, term: self.term });
                    }
                    None => {}
                }
                first_new = Some(index);
            }
            let (_, chain) = self.log.push(entry.clone());
            appended.push((entry.term, chain));
        }
        if let Some(first) = first_new {
            ctx.note(RaftNote::Appended { first, entries: appended });
        }
        let matched = prev_index + entries.len() as u64;
        let new_commit = commit.min(matched.max(base));
        if new_commit > self.commit {
            self.commit = new_commit;
            self.apply(ctx);
        }
        let wrote = new_term + u32::from(first_new.is_some());
        self.persist(ctx, from, RaftMsg::AppendReply { term: self.term, success: true, index: matched, round }, wrote);
    }

    fn on_append_reply(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: u64,
        success: bool,
        index: u64,
        round: u64,
    ) {
        if term > self.term {
            self.become_follower(ctx, term, None);
            self.reset_election_timer(ctx);
            return;
        }
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let f = from.index();
        self.last_ack[f] = ctx.now();
        if round > self.acked_round[f] {
            self.acked_round[f] = round;
            self.renew_lease();
        }
        if success {
            if index > self.matched[f] {
                self.matched[f] = index;
                self.advance_commit(ctx);
                self.learner_progress(ctx, from);
            }
            self.next[f] = self.next[f].max(self.matched[f] + 1);
            if self.next[f] <= self.log.last_index() {
                self.send_append(ctx, from);
            }
        } else {
            // Back up to the follower's hint, never below what it is known to hold (stale or
            // duplicated replies carry old hints).
            self.next[f] = index.min(self.next[f].saturating_sub(1)).max(self.matched[f] + 1);
            self.send_append(ctx, from);
        }
        self.serve_reads(ctx);
    }

    /// A majority acknowledged a round sent at time s: no other leader can be elected before
    /// s + election_min / lease_drift on any clock drifting by at most lease_drift.
    fn renew_lease(&mut self) {
        let confirmed = self.confirmed_round();
        if let Some(&sent) = self.round_sent.get(&confirmed) {
            let lease = self.config.election_timeout.min.as_nanos() as f64 / self.config.lease_drift;
            self.lease_until = self.lease_until.max(sent + SimDuration(lease as u64));
        }
        // Rounds before the one a majority confirmed can never renew the lease again.
        self.round_sent = self.round_sent.split_off(&confirmed);
    }
}

impl Protocol for RaftNode {
    type Msg = RaftMsg;
    type Timer = RaftTimer;
    type Durable = Durable;
    type Config = RaftConfig;
    type Note = RaftNote;
    type Monitor = RaftMonitor;

    fn monitor(config: &RaftConfig, nodes: u32) -> RaftMonitor {
        RaftMonitor::new(nodes, config.check_invariants)
    }

    fn info(config: &RaftConfig) -> ProtocolInfo {
        let mut variant = format!("reads by {}", config.reads.name());
        if config.pre_vote {
            variant.push_str(", pre-vote");
        }
        if config.check_quorum {
            variant.push_str(", check-quorum");
        }
        if !config.bug.is_none() {
            variant.push_str(&format!(", BUG {}", config.bug.name()));
        }
        ProtocolInfo {
            name: "raft",
            variant,
            ops: vec![OpKind::Put, OpKind::Get, OpKind::Cas],
            consistency: Consistency::Linearizable,
            round: None,
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: true,
            leaders: true,
        }
    }

    fn new(id: NodeId, config: &RaftConfig, durable: Option<Durable>) -> Self {
        let Durable { term, voted_for, log, snapshot, initial } = durable.unwrap_or_default();
        let (machine, applied) = match &snapshot {
            Some(s) => (s.state.clone(), s.meta.index),
            None => (StateMachine::default(), 0),
        };
        RaftNode {
            id,
            nodes: 0,
            config: config.clone(),
            disk_jitter: syncsim_sim::dist::Latency::Exponential { mean: config.disk_jitter }.sampler(),
            term,
            voted_for,
            log,
            snapshot,
            initial,
            role: Role::Follower,
            leader: None,
            votes: BTreeSet::new(),
            commit: applied,
            applied,
            machine,
            last_heard_leader: None,
            next: Vec::new(),
            matched: Vec::new(),
            acked_round: Vec::new(),
            last_ack: Vec::new(),
            round: 0,
            round_sent: BTreeMap::new(),
            lease_until: SimTime::ZERO,
            proposed_at: BTreeMap::new(),
            reads: Vec::new(),
            pending: BTreeMap::new(),
            read_round: None,
            term_start: 0,
            unsynced: Vec::new(),
            writing: false,
            deferred: VecDeque::new(),
            election_resets: 0,
            committed_members: Vec::new(),
            leaving: None,
            learners: BTreeMap::new(),
        }
    }

    fn durable(&self) -> Durable {
        let voted_for = if self.config.bug.is(Bug::ForgetVote) { None } else { self.voted_for };
        Durable {
            term: self.term,
            voted_for,
            log: self.log.clone(),
            snapshot: self.snapshot.clone(),
            initial: self.initial.clone(),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.nodes = ctx.cluster_size();
        self.start_membership(ctx);
        // After a restart the node may have just acknowledged a leader's lease: it behaves as
        // if it had just heard from one, refusing to vote for a minimum election timeout.
        self.last_heard_leader = Some(ctx.now());
        self.reset_election_timer(ctx);
        let chain = self.snapshot.as_ref().map_or(0, |s| s.meta.chain);
        ctx.note(RaftNote::Started { applied: self.applied, chain, state: self.machine.fingerprint });
    }

    fn on_join(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.initial = Some(Vec::new());
        self.on_start(ctx);
    }

    fn ready(&self) -> bool {
        self.is_member()
    }

    fn on_leave(&mut self, ctx: &mut Ctx<'_, Self>) -> Departure {
        self.leave(ctx)
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        if self.held() {
            self.deferred.push_back(Deferred::Message(from, msg));
            return;
        }
        match msg {
            RaftMsg::PreVote { term, last_index, last_term } => {
                let fresh = self.leader_is_fresh(ctx.now());
                let granted = term > self.term && !fresh && self.up_to_date(last_index, last_term);
                ctx.send(from, RaftMsg::PreVoteReply { term, granted });
            }
            RaftMsg::PreVoteReply { term, granted } => {
                if self.role == Role::PreCandidate && term == self.term + 1 && granted {
                    self.votes.insert(from);
                    if self.quorum_of(&self.votes) {
                        self.win(ctx, true);
                    }
                }
            }
            RaftMsg::RequestVote { term, last_index, last_term } => {
                let leading = self.role == Role::Leader || self.leader_is_fresh(ctx.now());
                if self.config.check_quorum && term > self.term && leading {
                    return; // a working leader: ignore the disruption
                }
                let new_term = u32::from(term > self.term);
                if term > self.term {
                    self.become_follower(ctx, term, None);
                }
                let free =
                    self.config.bug.is(Bug::VoteTwice) || self.voted_for.is_none() || self.voted_for == Some(from);
                let log_ok = self.up_to_date(last_index, last_term) || self.config.bug.is(Bug::VoteAnyLog);
                let granted = term == self.term && free && log_ok;
                let new_vote = u32::from(granted && self.voted_for != Some(from));
                if granted {
                    self.voted_for = Some(from);
                    self.reset_election_timer(ctx);
                }
                self.persist(ctx, from, RaftMsg::Vote { term: self.term, granted }, new_term + new_vote);
            }
            RaftMsg::Vote { term, granted } => {
                if term > self.term {
                    self.become_follower(ctx, term, None);
                    // LogCabin's stepDown keeps the timer running; the exact model restarts it.
                    if !self.config.blocking_disk {
                        self.reset_election_timer(ctx);
                    }
                } else if self.role == Role::Candidate && term == self.term && granted {
                    self.votes.insert(from);
                    if self.quorum_of(&self.votes) {
                        self.win(ctx, false);
                    }
                }
            }
            RaftMsg::Append { term, prev_index, prev_term, entries, commit, round } => {
                self.on_append(ctx, from, (term, prev_index, prev_term, entries, commit, round));
            }
            RaftMsg::AppendReply { term, success, index, round } => {
                self.on_append_reply(ctx, from, term, success, index, round);
            }
            RaftMsg::InstallSnapshot { term, snapshot, round } => {
                if !self.hear_leader(ctx, from, term, round) {
                    return;
                }
                let meta = snapshot.meta.clone();
                // The bug: a snapshot older than what is applied here rolls the state back.
                if meta.index > self.commit || self.config.bug.is(Bug::StaleSnapshot) {
                    let keeps_suffix = self.log.term_at(meta.index) == Some(meta.term);
                    if keeps_suffix {
                        self.log.compact(meta.index);
                    } else {
                        self.log.reset(meta.clone());
                        ctx.note(RaftNote::Installed { index: meta.index, term: meta.term, chain: meta.chain });
                    }
                    self.machine = snapshot.state.clone();
                    // What the snapshot holds is now readable here.
                    for (&key, &(_, index, req)) in &self.machine.values {
                        ctx.expose(key, req, index);
                    }
                    self.commit = meta.index;
                    self.applied = meta.index;
                    self.snapshot = Some(snapshot);
                    ctx.note(RaftNote::Applied {
                        index: meta.index,
                        chain: meta.chain,
                        term: self.term,
                        state: self.machine.fingerprint,
                    });
                }
                let index = self.log.last_index().min(meta.index.max(self.commit));
                self.persist(ctx, from, RaftMsg::AppendReply { term: self.term, success: true, index, round }, 1);
            }
            RaftMsg::Forward { req, op } => {
                if self.role == Role::Leader {
                    self.lead_request(ctx, req, op, from);
                }
                // Otherwise the origin forwards again when it learns of the new leader.
            }
            RaftMsg::ForwardReply { req, reply } => {
                if self.pending.remove(&req).is_some() {
                    ctx.reply(req, reply);
                }
            }
            RaftMsg::Reconfigure { node, add } => self.reconfigure(ctx, node, add),
            RaftMsg::Removed => self.removed(ctx),
            RaftMsg::Resigned { term, successor } => self.resigned(ctx, from, term, successor),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: RaftTimer) {
        if timer != RaftTimer::Disk && self.held() {
            self.deferred.push_back(Deferred::Timer(timer, self.election_resets));
            return;
        }
        match (timer, self.role) {
            (RaftTimer::Heartbeat, Role::Leader) => self.heartbeat(ctx),
            (RaftTimer::Election, Role::Leader) => {
                // CheckQuorum: step down unless a majority answered within the timeout.
                let now = ctx.now();
                let heard = self
                    .members()
                    .iter()
                    .filter(|&&k| {
                        k == self.id || now.since(self.last_ack[k.index()]) < self.config.election_timeout.min
                    })
                    .count();
                if heard < self.majority() {
                    self.become_follower(ctx, self.term, None);
                    self.leader = None;
                    self.reset_election_timer(ctx);
                } else {
                    ctx.set_timer(RaftTimer::Election, self.config.election_timeout.min);
                }
            }
            // Only a member campaigns: a server that joined and is not added yet, or one that
            // is removed, would only disrupt the cluster.
            (RaftTimer::Election, _) if !self.is_member() => self.reset_election_timer(ctx),
            (RaftTimer::Election, _) => self.campaign(ctx, self.config.pre_vote),
            (RaftTimer::Heartbeat, Role::Candidate) => {
                let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
                for &k in self.members().iter().filter(|k| !self.votes.contains(k)) {
                    ctx.send(k, RaftMsg::RequestVote { term: self.term, last_index, last_term });
                }
                ctx.set_timer(RaftTimer::Heartbeat, self.config.heartbeat);
            }
            (RaftTimer::Heartbeat, _) => {}
            (RaftTimer::Retry, _) => self.retry(ctx),
            (RaftTimer::Membership, _) => self.ask_again(ctx),
            (RaftTimer::Disk, _) => {
                self.writing = false;
                for (to, msg) in std::mem::take(&mut self.unsynced) {
                    ctx.send(to, msg);
                }
                self.replay(ctx);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        if self.held() {
            self.deferred.push_back(Deferred::Request(req, op));
            return;
        }
        if !matches!(op, Op::Put { .. } | Op::Get { .. } | Op::Cas { .. }) {
            ctx.reply(req, Err(format!("raft does not support {}", op.kind())));
            return;
        }
        match self.leader {
            Some(leader) if self.role == Role::Leader || self.config.forward => {
                if self.pending.is_empty() {
                    ctx.set_timer(RaftTimer::Retry, self.config.election_timeout.max);
                }
                self.pending.insert(req, (op.clone(), 0));
                if self.role == Role::Leader {
                    self.lead_request(ctx, req, op, self.id);
                } else {
                    ctx.send(leader, RaftMsg::Forward { req, op });
                }
            }
            Some(leader) => ctx.reply(req, Err(format!("not the leader: try node {}", leader.0))),
            // Like etcd's ErrNoLeader: refused now, so certainly not applied.
            None => ctx.reply(req, Err("no leader known".into())),
        }
    }

    fn state_digest(&self) -> u64 {
        self.machine.fingerprint
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.machine.values.iter().map(|(&k, v)| (k, Output::Value(Some(v.0)))).collect()
    }

    fn leader_term(&self) -> Option<u64> {
        (self.role == Role::Leader).then_some(self.term)
    }

    fn ledger(&self) -> Option<syncsim_sim::Ledger> {
        let base = self.log.base();
        let last = self.commit.min(self.log.last_index());
        let entries = (base.index + 1..=last)
            .map(|i| {
                let entry = self.log.get(i).expect("committed entries after the snapshot are in the log");
                (syncsim_sim::ledger::digest(&**entry), self.log.chain_at(i).expect("in the log"))
            })
            .collect();
        Some(syncsim_sim::Ledger { base: base.index, base_chain: base.chain, entries })
    }
}

#[cfg(test)]
mod tests;
