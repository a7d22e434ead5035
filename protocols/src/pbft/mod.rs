//! PBFT: Practical Byzantine Fault Tolerance (Castro and Liskov, OSDI 1999), over the same
//! replicated key-value state machine as Raft, tolerating f Byzantine replicas of n ≥ 3f + 1.
//!
//! - **Normal case.** The node a client reaches acts as the client's library: it signs the
//!   request and sends it to every replica, and answers the client once f + 1 replicas sent
//!   the same result (at least one of them honest). The primary of view v (replica v mod n)
//!   orders requests in batches: `PrePrepare(v, n, batch)`; each backup that accepts it sends
//!   `Prepare(v, n, digest)` to all; a replica with the pre-prepare and a quorum of matching
//!   votes (the primary's pre-prepare counts as its vote) is *prepared* and sends
//!   `Commit(v, n, digest)`; with a quorum of commits it executes, in sequence order.
//!   Quorums hold ⌈(n + f + 1) / 2⌉ replicas (2f + 1 of 3f + 1), so any two share an honest one.
//! - **Checkpoints.** Every `checkpoint_every` sequence numbers a replica sends its state's
//!   digest and its ledger's chain hash; a quorum of matching ones makes the checkpoint stable,
//!   and the log below it is dropped. A replica that learns of a stable checkpoint past what it
//!   executed fetches the state from a replica that signed it and checks it against the digest.
//! - **View change.** A backup that knows a request it has not executed within `view_timeout`
//!   asks for view v + 1 (`ViewChange`: its stable checkpoint and every prepared certificate
//!   above it); f + 1 such requests pull a replica along. The new primary, with a quorum of
//!   them, re-proposes each sequence number's highest-view prepared batch (a null batch where
//!   none was prepared) in `NewView`, which carries the view changes it was computed from, so
//!   that every replica recomputes and checks it. Each failed view change doubles the wait.
//!
//! Every message is signed ([`Message::signed`]): forged or altered ones are rejected on
//! arrival, and the run pays each signature's bytes and time. What a Byzantine replica can
//! still do is sign contradicting messages (equivocate), replay, or stay silent; the quorums
//! above are what make that harmless. Requests are signed by the node that took them from the
//! client, so a primary can drop or reorder requests but not invent them.
//!
//! Every replica exposes its executed batches as a hash chain ([`Protocol::ledger`]) for the
//! audit checker, and reports each execution to [`PbftMonitor`], which checks that no two
//! replicas execute different batches at one sequence number.

mod monitor;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use syncsim_sim::history::{OpKind, Output};
use syncsim_sim::ledger::{Ledger, digest};
use syncsim_sim::{
    Consistency, Ctx, Family, Launch, Message, NodeId, Op, Param, ParamError, Protocol, ProtocolInfo, RequestId,
    SimDuration,
};

pub use self::monitor::{PbftMonitor, PbftNote};
use crate::planted::{Planted, planted_bugs};
use crate::raft::StateMachine;

planted_bugs! {
    /// PBFT's planted bugs (see [`crate::planted`]).
    pub enum Bug {
        /// A replica counts f + 1 matching votes as a quorum (for prepares and for commits)
        /// instead of 2f + 1: two quorums need not share an honest replica, so an
        /// equivocating primary gets two batches executed at one sequence number.
        WeakQuorum = "weak-quorum",
    }
}

/// PBFT's parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PbftConfig {
    /// How long a backup waits for a request it knows to execute before it asks for a view
    /// change (doubled after each view change that did not bring progress).
    pub view_timeout: SimDuration,
    /// Most requests in one batch.
    pub max_batch: u32,
    /// Most sequence numbers the primary has in flight (proposed, not yet executed).
    pub window: u32,
    /// Sequence numbers between checkpoints.
    pub checkpoint_every: u64,
    /// Check PBFT's agreement property while running.
    pub check_invariants: bool,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

impl Default for PbftConfig {
    fn default() -> Self {
        PbftConfig {
            view_timeout: SimDuration::from_millis(300),
            max_batch: 64,
            window: 8,
            checkpoint_every: 64,
            check_invariants: true,
            bug: Bug::None,
        }
    }
}

impl PbftConfig {
    /// Checks the parameters: `Err((field, message))`.
    pub fn validate(&self) -> Result<(), ParamError> {
        let bad = |f: &str, m: &str| Err((f.to_string(), m.to_string()));
        if self.view_timeout == SimDuration::ZERO {
            return bad("view_timeout", "must be longer than 0s");
        }
        if self.max_batch == 0 || self.window == 0 {
            return bad(if self.max_batch == 0 { "max_batch" } else { "window" }, "must be at least 1");
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every", "must be at least 1");
        }
        self.bug.check()
    }
}

/// The `pbft` family.
impl Family for PbftNode {
    const KIND: &'static str = "pbft";
    const ABOUT: &'static str =
        "PBFT (Castro & Liskov 1999): Byzantine fault-tolerant state machine replication, f of 3f + 1";
    const MESSAGES: &'static [&'static str] = &[
        "Request",
        "PrePrepare",
        "Prepare",
        "Commit",
        "Reply",
        "Checkpoint",
        "StateRequest",
        "State",
        "ViewChange",
        "NewView",
    ];
    type Config = PbftConfig;

    fn params() -> Vec<Param> {
        vec![
            Param::new("view_timeout", "a backup asks for a view change after waiting this long for a known request"),
            Param::new("max_batch", "most requests in one batch"),
            Param::new("window", "most sequence numbers the primary has in flight"),
            Param::new("checkpoint_every", "sequence numbers between checkpoints"),
            Param::new("check_invariants", "check that no two replicas execute different batches at one number"),
        ]
        .into_iter()
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &PbftConfig, _: &[String]) -> Result<(), ParamError> {
        config.validate()
    }

    /// Each request reaches every replica, and each batch costs three all-to-all rounds.
    fn load(_: &PbftConfig, nodes: usize) -> syncsim_sim::Load {
        let mut load = syncsim_sim::Load::typical(None);
        load.per_op_per_node = 3.0 * nodes as f64;
        load
    }

    fn launch<L: Launch>(config: &PbftConfig, _: &[String], launch: L) -> L::Output {
        launch.launch::<PbftNode>(config.clone())
    }
}

/// A request as ordered: the client's request id, the node its client waits at (which
/// signed it), and the operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Request {
    /// The client's request.
    pub req: RequestId,
    /// The node the client waits at.
    pub origin: NodeId,
    /// What it asks.
    pub op: Op,
}

/// What the primary orders at one sequence number (empty: the null request).
pub type Batch = Arc<Vec<Request>>;

/// A prepared certificate: a batch prepared at `seq` in `view`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Prepared {
    /// The sequence number.
    pub seq: u64,
    /// The view it was prepared in.
    pub view: u64,
    /// The batch.
    pub batch: Batch,
}

/// A stable checkpoint: the state after executing `seq`, and the ledger's hash there.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last sequence number it covers.
    pub seq: u64,
    /// The state machine's digest then.
    pub state: u64,
    /// The ledger's chain hash then.
    pub chain: u64,
}

/// A replica's request to move to a view: its stable checkpoint and what it prepared since.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ViewChange {
    /// The view asked for.
    pub view: u64,
    /// Its last stable checkpoint.
    pub stable: Checkpoint,
    /// Its prepared certificates above the checkpoint, highest view per sequence number.
    pub prepared: Vec<Prepared>,
}

/// PBFT messages; every one is signed by its sender.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum PbftMsg {
    /// A client's request, from the node the client reached, to every replica.
    Request(Request),
    /// The primary orders `batch` at `seq`.
    PrePrepare {
        /// The view.
        view: u64,
        /// The sequence number.
        seq: u64,
        /// The requests.
        batch: Batch,
    },
    /// A backup accepted the pre-prepare of the batch with this digest.
    Prepare {
        /// The view.
        view: u64,
        /// The sequence number.
        seq: u64,
        /// The batch's digest.
        digest: u64,
    },
    /// The sender is prepared for this batch.
    Commit {
        /// The view.
        view: u64,
        /// The sequence number.
        seq: u64,
        /// The batch's digest.
        digest: u64,
    },
    /// A replica executed a request: its result, for the node the client waits at.
    Reply {
        /// The request.
        req: RequestId,
        /// Its result.
        result: Output,
    },
    /// The sender's state after executing up to a checkpoint.
    Checkpoint(Checkpoint),
    /// "Send me your state as of this stable checkpoint."
    StateRequest {
        /// The checkpoint's sequence number.
        seq: u64,
    },
    /// A state, for a replica that fell behind a stable checkpoint.
    State {
        /// The checkpoint it matches.
        checkpoint: Checkpoint,
        /// The state machine.
        machine: Arc<StateMachine>,
    },
    /// The sender asks to move to a view.
    ViewChange(ViewChange),
    /// The new primary starts its view: the view changes it heard, and what it re-proposes.
    NewView {
        /// The view.
        view: u64,
        /// A quorum of view changes for it, with their senders.
        proof: Vec<(NodeId, ViewChange)>,
        /// Pre-prepares for each sequence number from the checkpoint to the highest prepared.
        batches: Vec<(u64, Batch)>,
    },
}

const OP_BYTES: usize = 8 + 4 + 25;

impl Message for PbftMsg {
    fn wire_size(&self) -> usize {
        let batch = |b: &Batch| 4 + b.len() * OP_BYTES;
        let vc = |v: &ViewChange| 8 + 24 + 4 + v.prepared.iter().map(|p| 16 + batch(&p.batch)).sum::<usize>();
        1 + match self {
            PbftMsg::Request(_) => OP_BYTES,
            PbftMsg::PrePrepare { batch: b, .. } => 16 + batch(b),
            PbftMsg::Prepare { .. } | PbftMsg::Commit { .. } => 24,
            PbftMsg::Reply { .. } => 8 + 10,
            PbftMsg::Checkpoint(_) => 24,
            PbftMsg::StateRequest { .. } => 8,
            PbftMsg::State { machine, .. } => 24 + 16 * machine.len(),
            PbftMsg::ViewChange(v) => vc(v),
            PbftMsg::NewView { proof, batches, .. } => {
                8 + proof.iter().map(|(_, v)| 4 + vc(v) + 64).sum::<usize>()
                    + batches.iter().map(|(_, b)| 8 + batch(b)).sum::<usize>()
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            PbftMsg::Request(_) => "Request",
            PbftMsg::PrePrepare { .. } => "PrePrepare",
            PbftMsg::Prepare { .. } => "Prepare",
            PbftMsg::Commit { .. } => "Commit",
            PbftMsg::Reply { .. } => "Reply",
            PbftMsg::Checkpoint(_) => "Checkpoint",
            PbftMsg::StateRequest { .. } => "StateRequest",
            PbftMsg::State { .. } => "State",
            PbftMsg::ViewChange(_) => "ViewChange",
            PbftMsg::NewView { .. } => "NewView",
        }
    }

    fn signed(&self) -> bool {
        true
    }

    /// What a Byzantine replica can sign instead. Its other story is the null request: a
    /// pre-prepare of an empty batch where requests were ordered (requests are signed by their
    /// clients' nodes, so none can be made up), and votes for the empty batch's digest, so
    /// that the far side of its split hears one consistent alternative. Besides: another
    /// result, another state digest, a view change that hides its last certificate, a new
    /// view whose re-proposals differ from what its proof implies.
    fn tamper(&self) -> Option<Self> {
        let null = null_digest();
        Some(match self {
            PbftMsg::PrePrepare { view, seq, batch } if !batch.is_empty() => {
                PbftMsg::PrePrepare { view: *view, seq: *seq, batch: Arc::new(Vec::new()) }
            }
            PbftMsg::Prepare { view, seq, digest } if *digest != null => {
                PbftMsg::Prepare { view: *view, seq: *seq, digest: null }
            }
            PbftMsg::Commit { view, seq, digest } if *digest != null => {
                PbftMsg::Commit { view: *view, seq: *seq, digest: null }
            }
            PbftMsg::Reply { req, result } => {
                let result = match result {
                    Output::Value(v) => Output::Value(Some(v.map_or(1 << 62, |v| v ^ (1 << 62)))),
                    Output::Swapped(b) => Output::Swapped(!b),
                    _ => return None,
                };
                PbftMsg::Reply { req: *req, result }
            }
            PbftMsg::Checkpoint(c) => PbftMsg::Checkpoint(Checkpoint { state: !c.state, ..*c }),
            PbftMsg::ViewChange(v) if !v.prepared.is_empty() => {
                let mut v = v.clone();
                v.prepared.pop();
                PbftMsg::ViewChange(v)
            }
            PbftMsg::NewView { view, proof, batches } if batches.iter().any(|(_, b)| !b.is_empty()) => {
                PbftMsg::NewView {
                    view: *view,
                    proof: proof.clone(),
                    batches: batches.iter().map(|(s, _)| (*s, Arc::new(Vec::new()))).collect(),
                }
            }
            _ => return None,
        })
    }
}

/// The digest of the null request (an empty batch).
fn null_digest() -> u64 {
    digest(&Vec::<Request>::new())
}

/// PBFT timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PbftTimer {
    /// A known request has waited too long, or a view change has.
    View,
    /// Time to send again what may have been lost (PBFT assumes messages are retransmitted
    /// until they arrive: nothing else repairs a lost vote).
    Resend,
}

/// What one sequence number holds at a replica.
#[derive(Clone, Debug, Default)]
struct Slot {
    /// The pre-prepare accepted in the current view: its digest and batch.
    pre: Option<(u64, u64, Batch)>,
    /// Votes (pre-prepare or prepare) per (view, digest).
    prepares: BTreeMap<(u64, u64), BTreeSet<NodeId>>,
    /// Commits per (view, digest).
    commits: BTreeMap<(u64, u64), BTreeSet<NodeId>>,
    /// The highest-view prepared certificate.
    prepared: Option<Prepared>,
    /// The view in which this replica sent its commit, if it did.
    committed_in: Option<u64>,
    /// Ready to execute: the batch.
    decided: Option<Batch>,
    /// Resend ticks it has waited through unexecuted.
    age: u32,
}

/// A client request this node took from its client, waiting for f + 1 matching results.
#[derive(Clone, Debug, Default)]
struct Waiting {
    results: BTreeMap<NodeId, Output>,
    /// The request, to send again while no f + 1 results agree.
    request: Option<Request>,
    /// Resend ticks it has waited through.
    ticks: u32,
}

/// One PBFT replica.
#[derive(Clone, Debug)]
pub struct PbftNode {
    id: NodeId,
    n: u32,
    config: PbftConfig,
    view: u64,
    /// Between asking for `view` and accepting its new view.
    changing: bool,
    /// View changes that did not bring progress in a row (the wait doubles with each).
    failed_changes: u32,
    /// The primary's next sequence number.
    next_seq: u64,
    executed: u64,
    log: BTreeMap<u64, Slot>,
    machine: StateMachine,
    /// Every executed request's result, for duplicates (ordered twice across a view change).
    done: BTreeMap<RequestId, Output>,
    /// Requests known and not yet executed.
    known: BTreeMap<RequestId, Request>,
    /// Requests this primary ordered in its view.
    ordered: BTreeSet<RequestId>,
    /// Client requests this node answers once f + 1 replicas agree.
    waiting: BTreeMap<RequestId, Waiting>,
    stable: Checkpoint,
    /// Checkpoint votes per (seq, state, chain).
    checkpoints: BTreeMap<Checkpoint, BTreeSet<NodeId>>,
    /// View changes heard per view.
    view_changes: BTreeMap<u64, BTreeMap<NodeId, ViewChange>>,
    ledger: Ledger,
    timer_armed: bool,
    /// The state machine at each own checkpoint not yet superseded by a stable one, for
    /// replicas that fall behind.
    snapshots: BTreeMap<u64, Arc<StateMachine>>,
    /// State requests sent so far (each goes to the next peer).
    fetches: u64,
    /// The checkpoint whose state this replica fetches, being behind it.
    fetch: Option<Checkpoint>,
    /// Its own view change for the view it asks for, to send again.
    asked: Option<ViewChange>,
    /// The new view it started as primary, to send to replicas that still ask for it.
    started: Option<PbftMsg>,
}

impl PbftNode {
    fn f(&self) -> usize {
        (self.n as usize - 1) / 3
    }

    /// Replicas in a quorum: any two share an honest one. With the planted bug, f + 1.
    fn quorum(&self) -> usize {
        if self.config.bug.is(Bug::WeakQuorum) {
            return self.f() + 1;
        }
        (self.n as usize + self.f() + 2) / 2
    }

    fn primary(&self, view: u64) -> NodeId {
        NodeId((view % u64::from(self.n)) as u32)
    }

    fn is_primary(&self) -> bool {
        !self.changing && self.primary(self.view) == self.id
    }

    fn wait(&self) -> SimDuration {
        SimDuration(self.config.view_timeout.0 << self.failed_changes.min(6))
    }

    /// Arms the view timer if a known request waits (or a view change is under way).
    fn arm(&mut self, ctx: &mut Ctx<'_, Self>, restart: bool) {
        let needed = self.changing || !self.known.is_empty() || self.behind();
        if needed && (restart || !self.timer_armed) {
            ctx.set_timer(PbftTimer::View, self.wait());
            self.timer_armed = true;
        } else if !needed && self.timer_armed {
            ctx.cancel_timer(PbftTimer::View);
            self.timer_armed = false;
        }
    }

    fn on_client_request(&mut self, ctx: &mut Ctx<'_, Self>, request: Request) {
        if let Some(result) = self.done.get(&request.req).cloned() {
            self.reply(ctx, request.req, request.origin, result);
            return;
        }
        if self.known.contains_key(&request.req) {
            return;
        }
        self.known.insert(request.req, request);
        self.arm(ctx, false);
        self.propose(ctx);
    }

    /// The primary orders what it knows, while its window has room.
    fn propose(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.is_primary() {
            return;
        }
        let high = self.stable.seq + 2 * self.config.checkpoint_every;
        while self.next_seq <= self.executed + u64::from(self.config.window) && self.next_seq <= high {
            let batch: Vec<Request> = self
                .known
                .values()
                .filter(|r| !self.ordered.contains(&r.req))
                .take(self.config.max_batch as usize)
                .cloned()
                .collect();
            if batch.is_empty() {
                return;
            }
            batch.iter().for_each(|r| {
                self.ordered.insert(r.req);
            });
            let seq = self.next_seq;
            self.next_seq += 1;
            let batch = Arc::new(batch);
            ctx.broadcast(PbftMsg::PrePrepare { view: self.view, seq, batch: batch.clone() });
            self.accept_pre_prepare(ctx, self.view, seq, batch, false);
        }
    }

    /// Accepts the pre-prepare of `batch` at `seq` in `view`: a backup votes for it.
    fn accept_pre_prepare(&mut self, ctx: &mut Ctx<'_, Self>, view: u64, seq: u64, batch: Batch, vote: bool) {
        let d = digest(&*batch);
        let primary = self.primary(view);
        let slot = self.log.entry(seq).or_default();
        if slot.pre.as_ref().is_some_and(|(v, _, _)| *v == view) {
            return; // one pre-prepare per view and number: a second one is the primary equivocating
        }
        slot.pre = Some((view, d, batch));
        slot.prepares.entry((view, d)).or_default().insert(primary);
        if vote {
            slot.prepares.entry((view, d)).or_default().insert(self.id);
            ctx.broadcast(PbftMsg::Prepare { view, seq, digest: d });
        }
        self.check(ctx, seq);
    }

    /// Whether `seq` became prepared (then commit) or decided (then execute).
    fn check(&mut self, ctx: &mut Ctx<'_, Self>, seq: u64) {
        let (quorum, view, me) = (self.quorum(), self.view, self.id);
        let Some(slot) = self.log.get_mut(&seq) else { return };
        let Some((v, d, batch)) = slot.pre.clone() else { return };
        if v != view || self.changing {
            return;
        }
        let votes = slot.prepares.get(&(v, d)).map_or(0, BTreeSet::len);
        if votes >= quorum && slot.committed_in != Some(v) {
            slot.prepared = Some(Prepared { seq, view: v, batch: batch.clone() });
            slot.committed_in = Some(v);
            slot.commits.entry((v, d)).or_default().insert(me);
            ctx.broadcast(PbftMsg::Commit { view: v, seq, digest: d });
        }
        let commits = slot.commits.get(&(v, d)).map_or(0, BTreeSet::len);
        // A quorum of commits proves a quorum prepared it, whether or not this replica did.
        if commits >= quorum && slot.decided.is_none() {
            slot.decided = Some(batch);
            self.execute(ctx);
        }
    }

    fn execute(&mut self, ctx: &mut Ctx<'_, Self>) {
        let before = self.executed;
        while let Some(batch) = self.log.get(&(self.executed + 1)).and_then(|s| s.decided.clone()) {
            let seq = self.executed + 1;
            self.executed = seq;
            for (pos, r) in batch.iter().enumerate() {
                let result = match self.done.get(&r.req) {
                    Some(out) => out.clone(),
                    None => {
                        // Each write's place in the total order: its number and its place in the batch.
                        let stamp = seq << 16 | pos as u64;
                        let out = self.machine.apply(stamp, r.req, &r.op);
                        if let Op::Put { key, .. } | Op::Cas { key, .. } = r.op
                            && self.machine.wrote(key, stamp)
                        {
                            ctx.expose(key, r.req, stamp);
                        }
                        self.done.insert(r.req, out.clone());
                        out
                    }
                };
                self.known.remove(&r.req);
                self.reply(ctx, r.req, r.origin, result);
            }
            let d = digest(&*batch);
            let chain = self.ledger.push(d);
            ctx.note(PbftNote::Executed { seq, digest: d, chain });
            if seq.is_multiple_of(self.config.checkpoint_every) {
                let c = Checkpoint { seq, state: self.machine.fingerprint(), chain };
                self.snapshots.insert(seq, Arc::new(self.machine.clone()));
                ctx.broadcast(PbftMsg::Checkpoint(c));
                self.checkpoint_vote(ctx, self.id, c);
            }
        }
        if self.executed > before {
            if self.fetch.is_some_and(|t| t.seq <= self.executed) {
                self.fetch = None;
            }
            self.failed_changes = 0;
            self.arm(ctx, true);
            self.propose(ctx);
        }
    }

    fn reply(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, origin: NodeId, result: Output) {
        if origin == self.id {
            self.result(ctx, self.id, req, result);
        } else {
            ctx.send(origin, PbftMsg::Reply { req, result });
        }
    }

    /// A replica's result for a request this node's client waits on: answered at f + 1 alike.
    fn result(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, req: RequestId, result: Output) {
        let need = self.f() + 1;
        let Some(w) = self.waiting.get_mut(&req) else { return };
        w.results.insert(from, result.clone());
        if w.results.values().filter(|r| **r == result).count() >= need {
            self.waiting.remove(&req);
            ctx.reply(req, Ok(result));
        }
    }

    fn checkpoint_vote(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, c: Checkpoint) {
        if c.seq <= self.stable.seq {
            return;
        }
        let votes = self.checkpoints.entry(c).or_default();
        votes.insert(from);
        let votes = votes.len();
        // f + 1 matching votes include an honest replica's, and honest replicas agree on the
        // state at every number: enough to fetch it, should this replica not get there on its
        // own within the view timeout (a Byzantine replica can keep one honest replica out of
        // every quorum, but not away from this).
        if votes > self.f() && c.seq > self.executed && self.fetch.is_none_or(|t| c.seq > t.seq) {
            self.fetch = Some(c);
            self.arm(ctx, false);
        }
        if votes < self.quorum() {
            return;
        }
        self.stable = c;
        self.checkpoints.retain(|k, _| k.seq > c.seq);
        self.snapshots.retain(|&s, _| s >= c.seq);
        self.log.retain(|&s, _| s > c.seq || s > self.executed);
    }

    /// Asks the next peer in turn for the stable checkpoint's state, after a request for it
    /// went unanswered.
    fn catch_up(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Some(target) = self.fetch else { return };
        self.fetches += 1;
        let peer =
            NodeId(((u64::from(self.id.0) + 1 + self.fetches % u64::from(self.n - 1)) % u64::from(self.n)) as u32);
        ctx.send(peer, PbftMsg::StateRequest { seq: target.seq });
        self.arm(ctx, true);
    }

    /// Whether this replica waits for a checkpoint's state.
    fn behind(&self) -> bool {
        self.fetch.is_some_and(|t| t.seq > self.executed)
    }

    fn install(&mut self, ctx: &mut Ctx<'_, Self>, c: Checkpoint, machine: &StateMachine) {
        if self.fetch != Some(c) || self.executed >= c.seq || machine.fingerprint() != c.state {
            return; // not the state f + 1 replicas vouched for
        }
        self.fetch = None;
        self.machine = machine.clone();
        self.executed = c.seq;
        self.ledger = Ledger { base: c.seq, base_chain: c.chain, entries: Vec::new() };
        // What it knew may have been executed before the checkpoint: the others order what
        // is still pending, and its own clients' answers come from them.
        self.known.clear();
        self.log.retain(|&s, _| s > c.seq);
        ctx.note(PbftNote::Installed { seq: c.seq, chain: c.chain });
        // It holds that checkpoint's state now, checked: it vouches for it like the others.
        self.snapshots.insert(c.seq, Arc::new(machine.clone()));
        ctx.broadcast(PbftMsg::Checkpoint(c));
        self.checkpoint_vote(ctx, self.id, c);
        self.next_seq = self.next_seq.max(c.seq + 1);
        self.execute(ctx);
        self.arm(ctx, true);
    }

    /// Asks for view `view`, leaving the current one.
    fn start_view_change(&mut self, ctx: &mut Ctx<'_, Self>, view: u64) {
        if view <= self.view && self.changing {
            return;
        }
        self.view = view;
        self.changing = true;
        self.ordered.clear();
        let prepared: Vec<Prepared> = self
            .log
            .iter()
            .filter(|(s, _)| **s > self.stable.seq)
            .filter_map(|(_, slot)| slot.prepared.clone())
            .collect();
        let vc = ViewChange { view, stable: self.stable, prepared };
        self.asked = Some(vc.clone());
        ctx.note(PbftNote::ViewChange { view });
        ctx.broadcast(PbftMsg::ViewChange(vc.clone()));
        self.timer_armed = false;
        self.arm(ctx, true);
        self.on_view_change(ctx, self.id, vc);
    }

    fn on_view_change(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, vc: ViewChange) {
        let view = vc.view;
        if view == self.view && !self.changing {
            // It missed the new view this primary started: send it again.
            if let Some(nv) = self.started.as_ref().filter(|_| self.primary(view) == self.id && from != self.id) {
                ctx.send(from, nv.clone());
            }
            return;
        }
        if view < self.view {
            return;
        }
        self.view_changes.entry(view).or_default().insert(from, vc);
        // f + 1 replicas ask for a higher view: at least one honest one timed out; join.
        let higher: BTreeSet<NodeId> =
            self.view_changes.range(self.view + 1..).flat_map(|(_, m)| m.keys().copied()).collect();
        if (view > self.view || !self.changing) && higher.len() > self.f() {
            let lowest = *self.view_changes.range(self.view + 1..).next().expect("one is higher").0;
            self.start_view_change(ctx, lowest);
            return;
        }
        if self.primary(view) == self.id
            && self.changing
            && view == self.view
            && self.view_changes.get(&view).map_or(0, BTreeMap::len) >= self.quorum()
        {
            let proof: Vec<(NodeId, ViewChange)> =
                self.view_changes[&view].iter().take(self.quorum()).map(|(k, v)| (*k, v.clone())).collect();
            let batches = new_view_batches(&proof);
            let nv = PbftMsg::NewView { view, proof: proof.clone(), batches: batches.clone() };
            self.started = Some(nv.clone());
            ctx.broadcast(nv);
            self.enter_view(ctx, view, &proof, batches);
        }
    }

    fn on_new_view(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        view: u64,
        proof: Vec<(NodeId, ViewChange)>,
        batches: Vec<(u64, Batch)>,
    ) {
        if from != self.primary(view) || view < self.view || (view == self.view && !self.changing) {
            return;
        }
        let senders: BTreeSet<NodeId> = proof.iter().map(|(k, _)| *k).collect();
        let valid = senders.len() == proof.len()
            && proof.len() >= self.quorum()
            && proof.iter().all(|(_, v)| v.view == view)
            && new_view_batches(&proof) == batches;
        if !valid {
            return; // a primary's made-up new view: wait for the next one
        }
        self.view = view;
        self.enter_view(ctx, view, &proof, batches);
    }

    /// Enters `view` with the new primary's re-proposals.
    fn enter_view(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        view: u64,
        proof: &[(NodeId, ViewChange)],
        batches: Vec<(u64, Batch)>,
    ) {
        self.changing = false;
        self.failed_changes += 1;
        self.view_changes.retain(|v, _| *v > view);
        ctx.note(PbftNote::NewView { view });
        let stable = proof.iter().map(|(_, v)| v.stable).max_by_key(|c| c.seq).unwrap_or_default();
        let top = batches.last().map_or(stable.seq, |(s, _)| *s);
        self.next_seq = top.max(self.executed) + 1;
        if stable.seq > self.stable.seq {
            // The proof's quorum vouches for this checkpoint; catch up to it if behind.
            self.stable = stable;
            if self.executed < stable.seq && self.fetch.is_none_or(|t| t.seq < stable.seq) {
                self.fetch = Some(stable);
                let signer = proof.iter().find(|(_, v)| v.stable == stable).map_or(self.primary(view), |(k, _)| *k);
                ctx.send(signer, PbftMsg::StateRequest { seq: stable.seq });
            }
        }
        let primary = self.primary(view) == self.id;
        // Numbers it executed already get its votes too (a replica behind needs a quorum for
        // them); the execution itself runs once, in order.
        for (seq, batch) in batches {
            if primary {
                batch.iter().for_each(|r| {
                    self.ordered.insert(r.req);
                });
            }
            self.accept_pre_prepare(ctx, view, seq, batch, !primary);
        }
        self.arm(ctx, true);
        self.propose(ctx);
    }
}

impl PbftNode {
    /// Sends again what the others may lack, while something is pending: its view change
    /// while it asks for a view; otherwise its part in every number it has not executed (the
    /// primary's pre-prepare, a backup's prepare, its commit); and, at the client's node, the
    /// requests still without f + 1 matching results after two ticks.
    fn resend(&mut self, ctx: &mut Ctx<'_, Self>) {
        for w in self.waiting.values_mut() {
            w.ticks += 1;
            if w.ticks >= 2
                && let Some(r) = &w.request
            {
                ctx.broadcast(PbftMsg::Request(r.clone()));
            }
        }
        // Its checkpoint votes not yet part of a stable checkpoint: without them the primary's
        // window stops at the last stable one.
        for (&seq, machine) in self.snapshots.range(self.stable.seq + 1..) {
            if let Some(chain) = self.ledger.chain_at(seq) {
                ctx.broadcast(PbftMsg::Checkpoint(Checkpoint { seq, state: machine.fingerprint(), chain }));
            }
        }
        if self.changing {
            if let Some(vc) = &self.asked {
                ctx.broadcast(PbftMsg::ViewChange(vc.clone()));
            }
            return;
        }
        let (view, primary) = (self.view, self.primary(self.view) == self.id);
        for (&seq, slot) in self.log.range_mut(self.executed + 1..) {
            slot.age += 1;
            // Only what has waited a whole tick: a vote on its way is not lost yet.
            if slot.decided.is_some() || slot.age < 2 {
                continue;
            }
            let Some((v, d, batch)) = slot.pre.as_ref().filter(|p| p.0 == view) else { continue };
            if primary {
                ctx.broadcast(PbftMsg::PrePrepare { view: *v, seq, batch: batch.clone() });
            } else {
                ctx.broadcast(PbftMsg::Prepare { view: *v, seq, digest: *d });
            }
            if slot.committed_in == Some(view) {
                ctx.broadcast(PbftMsg::Commit { view: *v, seq, digest: *d });
            }
        }
    }
}

/// What a new primary re-proposes, from a quorum of view changes: for each number above the
/// highest stable checkpoint among them, the batch prepared in the highest view, or the null
/// batch where none was prepared. Every replica recomputes it to check the primary's.
fn new_view_batches(proof: &[(NodeId, ViewChange)]) -> Vec<(u64, Batch)> {
    let low = proof.iter().map(|(_, v)| v.stable.seq).max().unwrap_or(0);
    let mut best: BTreeMap<u64, &Prepared> = BTreeMap::new();
    for p in proof.iter().flat_map(|(_, v)| &v.prepared).filter(|p| p.seq > low) {
        let e = best.entry(p.seq).or_insert(p);
        if p.view > e.view || (p.view == e.view && digest(&*p.batch) < digest(&*e.batch)) {
            *e = p;
        }
    }
    let high = best.keys().next_back().copied().unwrap_or(low);
    (low + 1..=high).map(|s| (s, best.get(&s).map_or_else(|| Arc::new(Vec::new()), |p| p.batch.clone()))).collect()
}

impl Protocol for PbftNode {
    type Msg = PbftMsg;
    type Timer = PbftTimer;
    type Durable = Box<PbftNode>;
    type Config = PbftConfig;
    type Note = PbftNote;
    type Monitor = PbftMonitor;

    fn monitor(config: &PbftConfig, _: u32) -> PbftMonitor {
        PbftMonitor::new(config.check_invariants)
    }

    fn info(config: &PbftConfig) -> ProtocolInfo {
        let mut variant = format!("batches of up to {}, window {}", config.max_batch, config.window);
        if !config.bug.is_none() {
            variant.push_str(&format!(", BUG {}", config.bug.name()));
        }
        ProtocolInfo {
            name: "pbft",
            variant,
            ops: vec![OpKind::Put, OpKind::Get, OpKind::Cas],
            consistency: Consistency::Linearizable,
            round: None,
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: true,
            leaders: true,
        }
    }

    /// A replica keeps its whole state on disk (the log, the state machine, its view): a
    /// restart loses only its timers and the clients waiting on it.
    fn new(id: NodeId, config: &PbftConfig, durable: Option<Box<PbftNode>>) -> Self {
        if let Some(mut node) = durable {
            node.waiting.clear();
            node.timer_armed = false;
            return *node;
        }
        PbftNode {
            id,
            n: 0,
            config: config.clone(),
            view: 0,
            changing: false,
            failed_changes: 0,
            next_seq: 1,
            executed: 0,
            log: BTreeMap::new(),
            machine: StateMachine::default(),
            done: BTreeMap::new(),
            known: BTreeMap::new(),
            ordered: BTreeSet::new(),
            waiting: BTreeMap::new(),
            stable: Checkpoint::default(),
            checkpoints: BTreeMap::new(),
            view_changes: BTreeMap::new(),
            ledger: Ledger::default(),
            timer_armed: false,
            snapshots: BTreeMap::new(),
            fetches: 0,
            fetch: None,
            asked: None,
            started: None,
        }
    }

    fn durable(&self) -> Box<PbftNode> {
        Box::new(self.clone())
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.n = ctx.cluster_size();
        self.arm(ctx, true);
        ctx.set_timer(PbftTimer::Resend, SimDuration(self.config.view_timeout.0 / 3));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: PbftMsg) {
        match msg {
            PbftMsg::Request(r) => self.on_client_request(ctx, r),
            PbftMsg::PrePrepare { view, seq, batch } => {
                let in_window = seq > self.stable.seq && seq <= self.stable.seq + 2 * self.config.checkpoint_every;
                if view == self.view && !self.changing && from == self.primary(view) && in_window && seq > self.executed
                {
                    batch.iter().for_each(|r| {
                        if !self.done.contains_key(&r.req) {
                            self.known.entry(r.req).or_insert_with(|| r.clone());
                        }
                    });
                    self.accept_pre_prepare(ctx, view, seq, batch, true);
                    self.arm(ctx, false);
                }
            }
            PbftMsg::Prepare { view, seq, digest } => {
                if view >= self.view && seq > self.stable.seq && from != self.primary(view) {
                    self.log.entry(seq).or_default().prepares.entry((view, digest)).or_default().insert(from);
                    self.check(ctx, seq);
                }
            }
            PbftMsg::Commit { view, seq, digest } => {
                if view >= self.view && seq > self.stable.seq {
                    self.log.entry(seq).or_default().commits.entry((view, digest)).or_default().insert(from);
                    self.check(ctx, seq);
                }
            }
            PbftMsg::Reply { req, result } => self.result(ctx, from, req, result),
            PbftMsg::Checkpoint(c) => self.checkpoint_vote(ctx, from, c),
            PbftMsg::StateRequest { seq } => {
                // The asker checks it against the checkpoint its quorum vouched for.
                if let (Some(machine), Some(chain)) = (self.snapshots.get(&seq), self.ledger.chain_at(seq)) {
                    let checkpoint = Checkpoint { seq, state: machine.fingerprint(), chain };
                    ctx.send(from, PbftMsg::State { checkpoint, machine: machine.clone() });
                }
            }
            PbftMsg::State { checkpoint, machine } => self.install(ctx, checkpoint, &machine),
            PbftMsg::ViewChange(vc) => self.on_view_change(ctx, from, vc),
            PbftMsg::NewView { view, proof, batches } => self.on_new_view(ctx, from, view, proof, batches),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: PbftTimer) {
        match timer {
            PbftTimer::Resend => {
                self.resend(ctx);
                ctx.set_timer(PbftTimer::Resend, SimDuration(self.config.view_timeout.0 / 3));
            }
            PbftTimer::View => {
                self.timer_armed = false;
                if self.behind() {
                    self.catch_up(ctx);
                } else if self.changing || !self.known.is_empty() {
                    self.failed_changes += u32::from(self.changing);
                    self.start_view_change(ctx, self.view + 1);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        let request = Request { req, origin: self.id, op };
        self.waiting.insert(req, Waiting { request: Some(request.clone()), ..Waiting::default() });
        ctx.broadcast(PbftMsg::Request(request.clone()));
        self.on_client_request(ctx, request);
    }

    fn state_digest(&self) -> u64 {
        self.machine.fingerprint()
    }

    fn read_state(&self) -> Vec<(syncsim_sim::Key, Output)> {
        self.machine.keys().map(|k| (k, self.machine.read(k))).collect()
    }

    fn leader_term(&self) -> Option<u64> {
        self.is_primary().then_some(self.view)
    }

    fn ledger(&self) -> Option<Ledger> {
        Some(self.ledger.clone())
    }
}
