//! Gossip: a replicated last-writer-wins key-value store kept in sync epidemically.
//!
//! Two families, after Demers et al., "Epidemic algorithms for replicated database
//! maintenance" (PODC 1987):
//! - **anti-entropy**: every round a node picks `fanout` random peers and reconciles with each
//!   by `push`, `pull` or `push-pull`. Per-key version digests make a round carry only what the
//!   peer lacks; an exchange between equal replicas sends nothing but the digest.
//! - **rumor mongering**: a new update is a hot rumor that a node pushes to random peers each
//!   round until it loses interest: after `k` unnecessary contacts (`feedback`, `counter`), with
//!   chance 1/k after each (`coin`), or counting every contact (`blind`) — or never (`never`,
//!   the classic push gossip). Rumors can leave a residue of nodes that never hear them;
//!   `backup` adds a slow push-pull anti-entropy that cleans it up.
//! - **predictive**: learns each key's write rate and each peer's interest in it (its reports
//!   of the keys its clients read, and its own writes) and pushes a write at once only to the
//!   peers expected to read it before the next write; `backup` anti-entropy carries the rest
//!   ([`predict`]).
//! - **direct mail** (Demers et al.): every write pushed to every peer.
//!
//! The pushing modes (predictive, direct mail, oracle) send at once with `interval: 0s`, or
//! batch until the next round.
//! - **oracle**: knows the run's future workload and pushes each write to exactly the nodes
//!   that will read it before the next write: the bound no real policy can beat.

pub mod predict;
mod store;

use crate::handoff::Handoff;
use crate::swim::monitor::{SwimMonitor, SwimNote};
use crate::swim::{self, CtxHost, Membership, Swim, SwimConfig, SwimMsg, SwimTimer};
use serde::{Deserialize, Serialize};
use syncsim_sim::history::{OpKind, Output};
use syncsim_sim::rng::{below, chance};
use syncsim_sim::{
    Consistency, Ctx, Departure, Family, Key, Launch, Load, Message, NodeId, Op, Param, ParamError, Protocol,
    ProtocolInfo, RequestId, SimDuration, SimTime,
};

pub use predict::PredictConfig;
use predict::{Interest, Outbox, Rates};
pub use store::{Digest, Store, Update, Version, ahead};
pub(crate) use store::{entry_hash, mix64};

use crate::planted::{Planted, planted_bugs};

/// How a gossip node synchronises.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Anti-entropy: send the peer what it lacks.
    Push,
    /// Anti-entropy: fetch from the peer what this node lacks.
    Pull,
    /// Anti-entropy: both directions in one exchange.
    PushPull,
    /// Rumor mongering of new updates.
    Rumor,
    /// Pushes each write to the peers whose learned interest says they will read it soon;
    /// anti-entropy for the rest.
    Predictive,
    /// Pushes each write to the nodes that will read it (knows the future: a bound).
    Oracle,
    /// Direct mail (Demers et al.): pushes every write to every peer.
    DirectMail,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Push => "push",
            Mode::Pull => "pull",
            Mode::PushPull => "push-pull",
            Mode::Rumor => "rumor",
            Mode::Predictive => "predictive",
            Mode::Oracle => "oracle",
            Mode::DirectMail => "direct-mail",
        }
    }

    /// Whether a write may be pushed at once, with `backup` anti-entropy behind it.
    fn pushes(self) -> bool {
        self == Mode::Rumor || self.mails()
    }

    /// Whether the mode pushes writes to peers it chooses (predictive, oracle, direct mail)
    /// rather than gossiping with random ones.
    fn mails(self) -> bool {
        matches!(self, Mode::Predictive | Mode::Oracle | Mode::DirectMail)
    }
}

/// When a rumor's sender learns whether the peer already knew it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Response {
    /// The peer replies which rumors it already knew; only those contacts count.
    Feedback,
    /// No reply; every contact counts.
    Blind,
}

/// When a node stops spreading a rumor.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stop {
    /// After `k` counted contacts.
    Counter,
    /// With chance 1/k after each counted contact.
    Coin,
    /// Never: every node that knows a rumor pushes it every round.
    Never,
}

/// Which unnecessary contacts a feedback counter counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Count {
    /// Every one since the rumor became hot.
    Total,
    /// Those in a row: a contact that told the peer something new starts the count again.
    Consecutive,
}

/// What a peer's "I already knew it" is judged against.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Judge {
    /// The peer's state when the rumor arrives.
    Arrival,
    /// The peer's state when its current round began: in synchronous cycles, every push of
    /// one cycle to a peer that knew nothing at its start was necessary, however many arrive.
    Round,
}

/// Rumor-mongering parameters (used when `mode: rumor`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RumorConfig {
    /// `feedback` or `blind`.
    pub response: Response,
    /// `counter`, `coin` or `never`.
    pub stop: Stop,
    /// The parameter k of the stop rule.
    pub k: u32,
    /// With `stop: counter`: `total` or `consecutive` unnecessary contacts.
    pub count: Count,
    /// With `response: feedback`: `arrival` or `round`.
    pub judge: Judge,
}

impl Default for RumorConfig {
    fn default() -> Self {
        RumorConfig {
            response: Response::Feedback,
            stop: Stop::Counter,
            k: 2,
            count: Count::Total,
            judge: Judge::Arrival,
        }
    }
}

/// When each node's first round starts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// At a random point of the first interval, so nodes' rounds interleave.
    Random,
    /// Every node at the same instants: synchronous rounds.
    Aligned,
}

/// Gossip parameters from the scenario's `protocol:` map.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipConfig {
    /// `push`, `pull`, `push-pull` or `rumor`.
    pub mode: Mode,
    /// Time between a node's rounds.
    pub interval: SimDuration,
    /// Peers contacted per round.
    pub fanout: u32,
    /// Whether rounds start at random offsets or all together.
    pub phase: Phase,
    /// Rumor-mongering rules.
    pub rumor: RumorConfig,
    /// In rumor mode, also run push-pull anti-entropy this often (a backup that removes the
    /// residue); `0s` turns it off. The predictive, direct-mail and oracle modes need it: it
    /// carries every write they do not push.
    pub backup: SimDuration,
    /// Predictive mode's learning.
    pub predict: PredictConfig,
    /// Whom a node gossips with: the membership service's list (`oracle`), or the members its
    /// own SWIM failure detector believes up (`swim`).
    pub membership: Membership,
    /// SWIM's parameters (with `membership: swim`).
    pub swim: SwimConfig,
    /// A planted bug (test builds only).
    #[serde(skip_serializing_if = "Planted::is_none")]
    pub bug: Bug,
}

planted_bugs! {
    /// Gossip's planted bugs (see [`crate::planted`]).
    pub enum Bug {
        /// Gossip on every other round only: a slowdown that `syncsim check` must catch against
        /// a baseline.
        Slowdown = "slowdown",
        /// A crash keeps the store as of the node's last round: writes acknowledged since were
        /// not yet persisted (a missing fsync), and those not yet passed on are lost.
        VolatileWrites = "volatile-writes",
        /// Merging a newer version does not advance the Lamport clock, so a local write can be
        /// versioned below what the replica already holds and lose to it at once.
        StaleClock = "stale-clock",
        /// A node that leaves the cluster hands nothing off: what only it held (its latest
        /// acknowledged writes, not yet gossiped) leaves with it.
        SkipHandoff = "skip-handoff",
        /// With SWIM: a node that restarts does not refute the death notice about its last
        /// life and goes on at its stale incarnation, so the members that declared it dead
        /// never take it back.
        StaleIncarnation = "stale-incarnation",
    }
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            mode: Mode::PushPull,
            interval: SimDuration::from_millis(100),
            fanout: 1,
            phase: Phase::Random,
            rumor: RumorConfig::default(),
            backup: SimDuration::ZERO,
            predict: PredictConfig::default(),
            membership: Membership::Oracle,
            swim: SwimConfig::default(),
            bug: Bug::None,
        }
    }
}

impl GossipConfig {
    /// The period of the node's round timer: `interval`, or for a mode that pushes at once
    /// (`interval: 0s`) the backup's, for its upkeep (a joiner's retries, a leaver's handoff).
    fn round(&self) -> SimDuration {
        if self.interval > SimDuration::ZERO { self.interval } else { self.backup }
    }

    /// Checks the parameters; the message names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.interval == SimDuration::ZERO && !self.mode.mails() {
            return Err(("interval".into(), "the round interval must be positive".into()));
        }
        if self.fanout == 0 {
            return Err(("fanout".into(), "fanout must be at least 1".into()));
        }
        self.bug.check()?;
        if self.membership == Membership::Swim {
            self.swim.validate()?;
        }
        if self.rumor.k == 0 && self.rumor.stop != Stop::Never {
            return Err(("rumor.k".into(), "k must be at least 1".into()));
        }
        if self.mode.mails() && self.backup == SimDuration::ZERO {
            return Err((
                "backup".into(),
                format!(
                    "mode {} needs a backup anti-entropy (e.g. `backup: 1s`): it carries every write not pushed",
                    self.mode.name()
                ),
            ));
        }
        self.predict.validate()
    }
}

/// The `gossip` family: anti-entropy and rumor mongering over a last-writer-wins store.
impl Family for GossipNode {
    const KIND: &'static str = "gossip";
    const ABOUT: &'static str = "anti-entropy (push, pull, push-pull) or rumor mongering over a last-writer-wins store";
    type Config = GossipConfig;

    /// A joiner asks a member for its state; a leaver hands its store to two members.
    fn elastic(_: &GossipConfig) -> Result<(), ParamError> {
        Ok(())
    }

    /// Each round a timer and up to three messages per peer contacted (digest, answer, push);
    /// a rumor is passed on by every node that hears it, to `fanout` peers, until `k`
    /// contacts have found it known, and the backup anti-entropy adds its own rounds.
    fn load(config: &GossipConfig, _: usize) -> Load {
        let per_round =
            |interval: SimDuration| (1.0 + 3.0 * f64::from(config.fanout)) / (interval.0 as f64 / 1e9).max(1e-9);
        let mut load = Load::typical(Some(config.round()));
        load.calls_per_node_second = per_round(config.round());
        if config.mode == Mode::Rumor {
            load.per_op_per_node = 2.0 + 2.0 * f64::from(config.fanout) * (f64::from(config.rumor.k) + 1.0);
        }
        if config.mode.pushes() && config.backup > SimDuration::ZERO {
            load.calls_per_node_second += per_round(config.backup);
        }
        load.calls_per_node_second += config.swim.calls_per_node_second(config.membership);
        load
    }

    fn params() -> Vec<Param> {
        vec![
            Param::new(
                "mode",
                "push | pull | push-pull (anti-entropy), rumor (rumor mongering), predictive (learned pushes), direct-mail (every write to every peer) or oracle (knows the future workload)",
            ),
            Param::new("interval", "time between a node's gossip rounds"),
            Param::new("fanout", "peers contacted per round"),
            Param::new("phase", "random: rounds start at random offsets; aligned: synchronous rounds"),
            Param::new(
                "rumor.response",
                "feedback: only contacts that already knew count; blind: every contact counts",
            ),
            Param::new("rumor.stop", "counter: stop after k counted contacts; coin: stop with chance 1/k each; never"),
            Param::new("rumor.k", "the k of the stop rule"),
            Param::new(
                "rumor.count",
                "counter: total (every unnecessary contact) or consecutive (a necessary one starts again)",
            ),
            Param::new(
                "rumor.judge",
                "feedback: arrival (the peer's state when the rumor arrives) or round (when its round began)",
            ),
            Param::new(
                "backup",
                "rumor, predictive, direct-mail, oracle: push-pull anti-entropy every this long (0s: none)",
            ),
            Param::new("predict.half_life", "predictive: the rate estimates lose half their weight in this time"),
            Param::new(
                "predict.threshold",
                "predictive: push a write when it is expected to keep this many reads from being stale",
            ),
            Param::new("predict.report", "predictive: how often a node tells its peers which keys it read"),
        ]
        .into_iter()
        .chain(SwimConfig::params())
        .chain(Bug::param())
        .collect()
    }

    fn validate(config: &GossipConfig, _: &[String]) -> Result<(), ParamError> {
        config.validate()
    }

    fn launch<L: Launch>(config: &GossipConfig, _: &[String], launch: L) -> L::Output {
        launch.launch::<GossipNode>(config.clone())
    }
}

/// Gossip messages.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum GossipMsg {
    /// A push offer: "unless we are equal, send me your digest so I can send you what you lack."
    Offer {
        /// The sender's state fingerprint.
        fingerprint: u64,
    },
    /// The sender's per-key versions: "send me what I lack" — pull, or the answer to an offer.
    Digest {
        /// Push-pull: "and say which of my keys you want".
        want_back: bool,
        /// The sender's state fingerprint: equal fingerprints mean nothing to exchange.
        fingerprint: u64,
        /// Per-key versions, in key order.
        digest: Digest,
    },
    /// Updates the receiver lacks, and (push-pull) the keys the sender wants back.
    Updates {
        /// Newer updates for the receiver.
        updates: Vec<Update>,
        /// Keys the sender wants.
        want: Vec<Key>,
    },
    /// Hot rumors.
    Rumors(Vec<Update>),
    /// Writes pushed by the predictive policy, direct mail or the oracle: merged, not answered.
    Push(Vec<Update>),
    /// Predictive mode: how many times the sender's clients read each key since its last
    /// report, so that its peers learn whom a write interests.
    Interest(Vec<(Key, u32)>),
    /// Feedback: for each rumor of the last `Rumors`, whether it was already known.
    Known(Vec<(Key, Version, bool)>),
    /// A node that joined asks a member for its whole state.
    Bootstrap,
    /// The answer to `Bootstrap`: every entry the member holds (perhaps none).
    State(Vec<Update>),
    /// SWIM's messages, with `membership: swim`.
    Swim(SwimMsg),
    /// A leaving node's whole store, to keep and acknowledge.
    Handoff(Vec<Update>),
    /// "I have your handoff": the leaver may go.
    HandedOff,
}

/// Sizes of the encoded fields: a one-byte tag, four-byte lengths, eight-byte keys, values and
/// request ids, twelve-byte versions.
pub(crate) mod wire {
    pub const TAG: usize = 1;
    pub const LEN: usize = 4;
    pub const KEY: usize = 8;
    pub const VERSION: usize = 12;
    pub const UPDATE: usize = KEY + VERSION + 8 + 8;
}

impl Message for GossipMsg {
    fn wire_size(&self) -> usize {
        use wire::*;
        TAG + match self {
            GossipMsg::Offer { .. } => 8,
            GossipMsg::Digest { digest, .. } => 1 + 8 + LEN + digest.len() * (KEY + VERSION),
            GossipMsg::Updates { updates, want } => 2 * LEN + updates.len() * UPDATE + want.len() * KEY,
            GossipMsg::Rumors(updates) | GossipMsg::Push(updates) => LEN + updates.len() * UPDATE,
            GossipMsg::Known(known) => LEN + known.len() * (KEY + VERSION + 1),
            GossipMsg::Interest(counts) => LEN + counts.len() * (KEY + 4),
            GossipMsg::Bootstrap => 0,
            GossipMsg::State(updates) => LEN + updates.len() * UPDATE,
            GossipMsg::Swim(msg) => msg.wire_size() - TAG,
            GossipMsg::Handoff(updates) => LEN + updates.len() * UPDATE,
            GossipMsg::HandedOff => 0,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            GossipMsg::Offer { .. } => "Offer",
            GossipMsg::Digest { .. } => "Digest",
            GossipMsg::Updates { .. } => "Updates",
            GossipMsg::Rumors(_) => "Rumors",
            GossipMsg::Push(_) => "Push",
            GossipMsg::Interest(_) => "Interest",
            GossipMsg::Known(_) => "Known",
            GossipMsg::Bootstrap => "Bootstrap",
            GossipMsg::State(_) => "State",
            GossipMsg::Swim(msg) => msg.kind(),
            GossipMsg::Handoff(_) => "Handoff",
            GossipMsg::HandedOff => "HandedOff",
        }
    }
}

/// Anti-entropy's answer to a `Digest` or `Updates` message against `store`, shared with the
/// annealing scheduler's exchanges: the reply to send, if any, and the updates that were newer
/// than what the store had (merged now; the caller exposes them). Other messages get no answer.
pub fn anti_entropy(store: &mut Store, msg: GossipMsg) -> (Option<GossipMsg>, Vec<Update>) {
    match msg {
        GossipMsg::Digest { want_back, fingerprint, digest } => {
            if fingerprint == store.fingerprint() {
                return (None, Vec::new()); // equal states: nothing to send either way
            }
            let updates = store.newer_than(&digest);
            let want = if want_back { store.behind(&digest) } else { Vec::new() };
            let reply = (!updates.is_empty() || !want.is_empty()).then_some(GossipMsg::Updates { updates, want });
            (reply, Vec::new())
        }
        GossipMsg::Updates { updates, want } => {
            let newer: Vec<Update> = updates.into_iter().filter(|u| store.merge(*u)).collect();
            let back: Vec<Update> = want.iter().filter_map(|k| store.entry(*k).copied()).collect();
            let reply = (!back.is_empty()).then_some(GossipMsg::Updates { updates: back, want: Vec::new() });
            (reply, newer)
        }
        _ => (None, Vec::new()),
    }
}

/// Gossip timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GossipTimer {
    /// The node's gossip round.
    Round,
    /// The backup anti-entropy round (rumor, predictive, direct-mail and oracle modes).
    Backup,
    /// Predictive mode: this node reports its reads to its peers.
    Report,
    /// SWIM's timers.
    Swim(SwimTimer),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Hot {
    key: Key,
    version: Version,
    contacts: u32,
    /// When this node learned it.
    since: SimTime,
}

/// One gossip replica.
#[derive(Clone, Debug)]
pub struct GossipNode {
    config: GossipConfig,
    store: Store,
    /// Rumors this node still spreads (volatile: a crash forgets them).
    hot: Vec<Hot>,
    /// Rounds since start, for the planted `slowdown`.
    rounds: u64,
    /// When this node's current round began (for `rumor.judge: round`).
    round_start: SimTime,
    /// The planted `volatile-writes`: the store as of the last round, what a crash keeps.
    persisted: Option<Store>,
    /// The planted `stale-clock`: the highest version this node issued itself.
    own_clock: u64,
    /// Joined a running cluster and not yet caught up: asks a member for its state each
    /// round until one answers, and serves no client meanwhile (`ready`).
    bootstrapping: bool,
    /// Started again from a disk (a restart), not fresh.
    restarted: bool,
    /// The SWIM failure detector (`membership: swim`).
    swim: Option<Swim>,
    /// Leaving: its handoff, until a member acknowledges it.
    leaving: Handoff,
    /// Predictive mode: the keys' learned write rates.
    rates: Rates,
    /// Predictive mode: the peers' interest per key, from their reports and writes, and this
    /// node's reads since its last report.
    interest: Interest,
    /// The pushing modes with a positive `interval`: writes to push at the next round.
    outbox: Outbox,
}

impl From<SwimMsg> for GossipMsg {
    fn from(msg: SwimMsg) -> Self {
        GossipMsg::Swim(msg)
    }
}

impl From<SwimTimer> for GossipTimer {
    fn from(timer: SwimTimer) -> Self {
        GossipTimer::Swim(timer)
    }
}

impl GossipNode {
    /// The replica's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn apply(&mut self, ctx: &mut Ctx<'_, Self>, update: Update) -> bool {
        let newer = self.store.merge(update);
        if newer {
            self.learned(ctx, update);
        }
        newer
    }

    /// This replica just merged `update`, newer than what it had.
    fn learned(&mut self, ctx: &mut Ctx<'_, Self>, update: Update) {
        ctx.expose(update.key, update.write, update.version.stamp());
        match self.config.mode {
            Mode::Rumor => self.make_hot(update, ctx.now()),
            Mode::Predictive => {
                self.rates.observe(update.key, ctx.now(), false);
                // Whoever writes a key tends to read it too: a write counts as its writer's interest.
                if update.version.node != ctx.id().0 {
                    self.interest.learn(NodeId(update.version.node), &[(update.key, 1)], ctx.now());
                }
            }
            _ => {}
        }
    }

    /// A client wrote `update` through this node: rumor mode makes it a hot rumor, predictive
    /// mode pushes it to the peers expected to read it before it is superseded, direct mail to
    /// every peer, the oracle to the nodes that will read it.
    fn wrote(&mut self, ctx: &mut Ctx<'_, Self>, update: Update) {
        let now = ctx.now();
        match self.config.mode {
            Mode::Rumor => self.make_hot(update, now),
            Mode::Predictive => {
                self.rates.observe(update.key, now, false);
                let spread = predict::spread_time(self.config.backup, ctx.peers().len() as u32 + 1);
                let threshold = self.config.predict.threshold;
                for peer in self.interest.worth_pushing(&self.rates, update.key, now, spread, threshold) {
                    self.push(ctx, peer, update);
                }
            }
            Mode::DirectMail => {
                for peer in ctx.peers().iter() {
                    self.push(ctx, peer, update);
                }
            }
            Mode::Oracle => {
                let audience = ctx.foresight().map(|f| f.audience(update.key, now)).unwrap_or_default();
                let me = ctx.id();
                for (peer, _) in audience.into_iter().filter(|(p, _)| *p != me) {
                    self.push(ctx, peer, update);
                }
            }
            Mode::Push | Mode::Pull | Mode::PushPull => {}
        }
    }

    /// Pushes `update` to `peer`: at once with `interval: 0s`, else with the next round's
    /// batch.
    fn push(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId, update: Update) {
        if self.config.interval == SimDuration::ZERO {
            ctx.send(peer, GossipMsg::Push(vec![update]));
        } else {
            self.outbox.queue(peer, update);
        }
    }

    fn make_hot(&mut self, update: Update, now: SimTime) {
        // A newer version of a key replaces its older rumor.
        self.hot.retain(|h| h.key != update.key);
        self.hot.push(Hot { key: update.key, version: update.version, contacts: 0, since: now });
    }

    /// Whether this node already knew the update `u` it was just told of (`newer`: the telling
    /// changed its store), judged as `rumor.judge` says. A rumor it no longer spreads was
    /// learned before its current round: it spread it at least once since.
    fn knew(&self, u: &Update, newer: bool) -> bool {
        match self.config.rumor.judge {
            Judge::Arrival => !newer,
            Judge::Round => {
                !newer && self.hot.iter().find(|h| h.key == u.key).is_none_or(|h| h.since < self.round_start)
            }
        }
    }

    /// Up to `k` distinct random peers: from the membership service, or from those SWIM
    /// believes up.
    fn peers(&self, ctx: &mut Ctx<'_, Self>, k: usize) -> Vec<NodeId> {
        match &self.swim {
            Some(swim) => swim.random_live(ctx.rng(), k),
            None => ctx.random_peers(k),
        }
    }

    /// One round: `fanout` distinct random peers; in predictive and oracle modes, the writes
    /// queued for a push since the last round.
    fn round(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.config.mode.mails() {
            for (peer, updates) in self.outbox.drain() {
                ctx.send(peer, GossipMsg::Push(updates));
            }
            return;
        }
        for peer in self.peers(ctx, self.config.fanout as usize) {
            match self.config.mode {
                Mode::Push => ctx.send(peer, GossipMsg::Offer { fingerprint: self.store.fingerprint() }),
                Mode::Pull => ctx.send(peer, self.digest_msg(false)),
                Mode::PushPull => ctx.send(peer, self.digest_msg(true)),
                Mode::Rumor => self.spread(ctx, peer),
                Mode::Predictive | Mode::Oracle | Mode::DirectMail => {} // they push their outbox (above)
            }
        }
    }

    /// Sends the whole store to `fanout` members (at least two), for them to keep.
    fn hand_off(&mut self, ctx: &mut Ctx<'_, Self>) {
        let all: Vec<Update> = self.store.entries().copied().collect();
        for peer in self.peers(ctx, self.config.fanout.max(2) as usize) {
            ctx.send(peer, GossipMsg::Handoff(all.clone()));
        }
    }

    /// Asks a random member for its whole state.
    fn bootstrap(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(peer) = ctx.random_peer() {
            ctx.send(peer, GossipMsg::Bootstrap);
        }
    }

    fn digest_msg(&self, want_back: bool) -> GossipMsg {
        GossipMsg::Digest { want_back, fingerprint: self.store.fingerprint(), digest: self.store.digest() }
    }

    /// Pushes every hot rumor to `peer`; in blind mode the contact itself counts.
    fn spread(&mut self, ctx: &mut Ctx<'_, Self>, peer: NodeId) {
        if self.hot.is_empty() {
            return;
        }
        let rumors: Vec<Update> = self.hot.iter().filter_map(|h| self.store.entry(h.key).copied()).collect();
        ctx.send(peer, GossipMsg::Rumors(rumors));
        if self.config.rumor.response == Response::Blind {
            let all: Vec<(Key, Version)> = self.hot.iter().map(|h| (h.key, h.version)).collect();
            self.count_contacts(ctx, &all);
        }
    }

    /// Counts one contact for each of these rumors, and drops the ones this node loses
    /// interest in.
    fn count_contacts(&mut self, ctx: &mut Ctx<'_, Self>, rumors: &[(Key, Version)]) {
        let RumorConfig { stop, k, .. } = self.config.rumor;
        if stop == Stop::Never {
            return;
        }
        for (key, version) in rumors {
            let Some(i) = self.hot.iter().position(|h| h.key == *key && h.version == *version) else {
                continue;
            };
            let lose = match stop {
                Stop::Counter => {
                    self.hot[i].contacts += 1;
                    self.hot[i].contacts >= k
                }
                Stop::Coin => chance(ctx.rng(), 1.0 / f64::from(k)),
                Stop::Never => false,
            };
            if lose {
                self.hot.remove(i);
            }
        }
    }

    /// Delay to the first round: the next multiple of `interval` when aligned (so a restarted
    /// node rejoins the synchronous grid), a random point of one interval otherwise.
    fn first_round(&self, ctx: &mut Ctx<'_, Self>, interval: SimDuration) -> SimDuration {
        match self.config.phase {
            Phase::Aligned => SimDuration(interval.as_nanos() - ctx.now().as_nanos() % interval.as_nanos()),
            Phase::Random => SimDuration(1 + below(ctx.rng(), interval.as_nanos())),
        }
    }
}

impl Protocol for GossipNode {
    type Msg = GossipMsg;
    type Timer = GossipTimer;
    type Durable = Store;
    type Config = GossipConfig;
    type Note = SwimNote;
    type Monitor = SwimMonitor;

    fn monitor(config: &GossipConfig, nodes: u32) -> SwimMonitor {
        SwimMonitor::new(config.swim.period, nodes)
    }

    fn foresight(config: &GossipConfig) -> bool {
        config.mode == Mode::Oracle
    }

    fn info(config: &GossipConfig) -> ProtocolInfo {
        let variant = match config.mode {
            Mode::Rumor => {
                format!(
                    "rumor ({}, {}, k={})",
                    match config.rumor.response {
                        Response::Feedback => "feedback",
                        Response::Blind => "blind",
                    },
                    match config.rumor.stop {
                        Stop::Counter => "counter",
                        Stop::Coin => "coin",
                        Stop::Never => "never",
                    },
                    config.rumor.k
                ) + match (config.rumor.count, config.rumor.judge) {
                    (Count::Total, Judge::Arrival) => "",
                    (Count::Consecutive, Judge::Arrival) => ", consecutive",
                    (Count::Total, Judge::Round) => ", judged at round start",
                    (Count::Consecutive, Judge::Round) => ", consecutive, judged at round start",
                }
            }
            Mode::Predictive => format!(
                "predictive (half-life {}, threshold {}, backup {})",
                config.predict.half_life, config.predict.threshold, config.backup
            ),
            Mode::Oracle => format!("oracle (backup {})", config.backup),
            Mode::DirectMail => format!("direct mail (backup {})", config.backup),
            m => m.name().to_string(),
        } + if config.membership == Membership::Swim { ", SWIM membership" } else { "" };
        ProtocolInfo {
            name: "gossip",
            variant,
            ops: vec![OpKind::Put, OpKind::Get],
            consistency: Consistency::Eventual,
            round: Some(config.round()),
            datatype: syncsim_sim::Datatype::KeyValue,
            reads_state: true,
            leaders: false,
        }
    }

    fn new(_id: NodeId, config: &GossipConfig, durable: Option<Store>) -> Self {
        let restarted = durable.is_some();
        let store = durable.unwrap_or_default();
        let persisted = config.bug.is(Bug::VolatileWrites).then(|| store.clone());
        let own_clock = store.clock();
        GossipNode {
            config: config.clone(),
            store,
            hot: Vec::new(),
            rounds: 0,
            round_start: SimTime::ZERO,
            persisted,
            own_clock,
            bootstrapping: false,
            restarted,
            swim: None,
            leaving: Handoff::default(),
            rates: Rates::new(config.predict.half_life),
            interest: Interest::new(config.predict.half_life),
            outbox: Outbox::default(),
        }
    }

    fn durable(&self) -> Store {
        self.persisted.clone().unwrap_or_else(|| self.store.clone())
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let founding = !self.restarted && !self.bootstrapping;
        let stale = self.config.bug.is(Bug::StaleIncarnation);
        self.swim = swim::start(ctx, self.config.membership, &self.config.swim, founding, stale);
        let first = self.first_round(ctx, self.config.round());
        ctx.set_timer(GossipTimer::Round, first);
        if self.config.mode.pushes() && self.config.backup > SimDuration::ZERO {
            let first = self.first_round(ctx, self.config.backup);
            ctx.set_timer(GossipTimer::Backup, first);
        }
        if self.config.mode == Mode::Predictive {
            let first = self.first_round(ctx, self.config.predict.report);
            ctx.set_timer(GossipTimer::Report, first);
        }
    }

    fn on_join(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.bootstrapping = true;
        self.bootstrap(ctx);
        self.on_start(ctx);
    }

    fn ready(&self) -> bool {
        !self.bootstrapping
    }

    /// Hands everything this node holds to `fanout` members (at least two) before it leaves,
    /// and drains until one acknowledges it ([`crate::handoff`]).
    fn on_leave(&mut self, ctx: &mut Ctx<'_, Self>) -> Departure {
        if let Some(swim) = &mut self.swim {
            swim.leave(&mut CtxHost(ctx), 3);
        }
        if self.store.is_empty() || self.config.bug.is(Bug::SkipHandoff) {
            return Departure::Now;
        }
        self.leaving.begin();
        self.hand_off(ctx);
        Departure::Drain
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: GossipMsg) {
        match msg {
            GossipMsg::Swim(msg) => {
                if let Some(swim) = &mut self.swim {
                    swim.on_message(&mut CtxHost(ctx), from, msg);
                }
            }
            GossipMsg::Handoff(updates) => {
                for u in updates {
                    self.apply(ctx, u);
                }
                ctx.send(from, GossipMsg::HandedOff);
            }
            GossipMsg::HandedOff => {
                self.leaving.acknowledged(ctx);
            }
            GossipMsg::Bootstrap => {
                ctx.send(from, GossipMsg::State(self.store.entries().copied().collect()));
            }
            GossipMsg::State(updates) => {
                for u in updates {
                    self.apply(ctx, u);
                }
                self.bootstrapping = false;
            }
            GossipMsg::Offer { fingerprint } => {
                if fingerprint != self.store.fingerprint() {
                    ctx.send(from, self.digest_msg(false));
                }
            }
            msg @ (GossipMsg::Digest { .. } | GossipMsg::Updates { .. }) => {
                let (reply, newer) = anti_entropy(&mut self.store, msg);
                for u in newer {
                    self.learned(ctx, u);
                }
                if let Some(reply) = reply {
                    ctx.send(from, reply);
                }
            }
            GossipMsg::Push(updates) => {
                for u in updates {
                    self.apply(ctx, u);
                }
            }
            GossipMsg::Interest(counts) => self.interest.learn(from, &counts, ctx.now()),
            GossipMsg::Rumors(rumors) => {
                let mut known = Vec::with_capacity(rumors.len());
                for u in rumors {
                    let newer = self.apply(ctx, u);
                    known.push((u.key, u.version, self.knew(&u, newer)));
                }
                if self.config.rumor.response == Response::Feedback {
                    ctx.send(from, GossipMsg::Known(known));
                }
            }
            GossipMsg::Known(known) => {
                if self.config.rumor.count == Count::Consecutive {
                    // A contact that told the peer something new starts the count again.
                    for (key, version, _) in known.iter().filter(|(_, _, was_known)| !*was_known) {
                        if let Some(h) = self.hot.iter_mut().find(|h| h.key == *key && h.version == *version) {
                            h.contacts = 0;
                        }
                    }
                }
                let unnecessary: Vec<(Key, Version)> =
                    known.iter().filter(|(_, _, was_known)| *was_known).map(|(k, v, _)| (*k, *v)).collect();
                self.count_contacts(ctx, &unnecessary);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: GossipTimer) {
        match timer {
            GossipTimer::Round if self.leaving.is_leaving() => {
                // No member acknowledged the handoff yet: others get it.
                if self.leaving.round(ctx) {
                    self.hand_off(ctx);
                    ctx.set_timer(GossipTimer::Round, self.config.round());
                }
            }
            GossipTimer::Round => {
                if self.bootstrapping {
                    self.bootstrap(ctx); // the request or its answer was lost: ask another
                }
                self.rounds += 1;
                self.round_start = ctx.now();
                if let Some(persisted) = &mut self.persisted {
                    persisted.clone_from(&self.store);
                }
                if !self.config.bug.is(Bug::Slowdown) || self.rounds.is_multiple_of(2) {
                    self.round(ctx);
                }
                ctx.set_timer(GossipTimer::Round, self.config.round());
            }
            GossipTimer::Backup => {
                if let Some(&peer) = self.peers(ctx, 1).first() {
                    ctx.send(peer, self.digest_msg(true));
                }
                ctx.set_timer(GossipTimer::Backup, self.config.backup);
            }
            GossipTimer::Report => {
                if let Some(report) = self.interest.report() {
                    ctx.broadcast(GossipMsg::Interest(report));
                }
                ctx.set_timer(GossipTimer::Report, self.config.predict.report);
            }
            GossipTimer::Swim(timer) => {
                if let Some(swim) = &mut self.swim {
                    swim.on_timer(&mut CtxHost(ctx), timer);
                }
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, req: RequestId, op: Op) {
        if self.leaving.refuse(ctx, req) {
            return;
        }
        match op {
            Op::Put { key, value } => {
                if self.config.bug.is(Bug::StaleClock) {
                    // The bug: the clock knows only this node's own writes.
                    self.store.rewind_clock(self.own_clock);
                }
                let update = self.store.write(ctx.id(), key, value, req);
                self.own_clock = update.version.lamport;
                ctx.expose(key, req, update.version.stamp());
                self.wrote(ctx, update);
                ctx.reply(req, Ok(Output::Done));
            }
            Op::Get { key } => {
                if self.config.mode == Mode::Predictive {
                    self.interest.read(key);
                }
                ctx.reply(req, Ok(Output::Value(self.store.get(key))))
            }
            other => ctx.reply(req, Err(format!("gossip does not support {}", other.kind()))),
        }
    }

    fn state_digest(&self) -> u64 {
        self.store.fingerprint()
    }

    fn read_state(&self) -> Vec<(Key, Output)> {
        self.store.read_state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::rng::Stream;
    use syncsim_sim::{Effects, SimTime};

    type Out = Effects<GossipMsg, GossipTimer, SwimNote>;

    /// Drives one handler of `node` outside any engine and returns its effects.
    fn drive(node: &mut GossipNode, id: u32, f: impl FnOnce(&mut GossipNode, &mut Ctx<'_, GossipNode>)) -> Out {
        drive_at(node, id, 0, f)
    }

    /// [`drive`] at `ms` milliseconds.
    fn drive_at(
        node: &mut GossipNode,
        id: u32,
        ms: u64,
        f: impl FnOnce(&mut GossipNode, &mut Ctx<'_, GossipNode>),
    ) -> Out {
        let mut out = Out::default();
        let mut rng = Stream::Node(id).rng(1);
        let mut ctx = Ctx::new(SimTime(ms * 1_000_000), NodeId(id), 4, &mut rng, &mut out);
        f(node, &mut ctx);
        out
    }

    fn rumor_node(id: u32, rumor: RumorConfig) -> GossipNode {
        GossipNode::new(NodeId(id), &GossipConfig { mode: Mode::Rumor, rumor, ..GossipConfig::default() }, None)
    }

    /// What `b` answers to a push of `u` from `from` at `ms`: whether it says it knew it.
    fn answer(b: &mut GossipNode, from: u32, ms: u64, u: Update) -> bool {
        let out = drive_at(b, 1, ms, |n, ctx| n.on_message(ctx, NodeId(from), GossipMsg::Rumors(vec![u])));
        let GossipMsg::Known(known) = &out.sends[0].1 else { panic!("{:?}", out.sends) };
        known[0].2
    }

    #[test]
    fn feedback_judged_at_the_round_start_counts_every_push_of_that_round_as_necessary() {
        let u = Update { key: 4, version: Version { lamport: 1, node: 0 }, value: 9, write: RequestId(3) };
        for (judge, second_push_knew) in [(Judge::Round, false), (Judge::Arrival, true)] {
            let mut b = rumor_node(1, RumorConfig { judge, ..RumorConfig::default() });
            drive_at(&mut b, 1, 100, |n, ctx| n.on_timer(ctx, GossipTimer::Round));
            assert!(!answer(&mut b, 0, 101, u), "the first push tells b something new");
            // A second push in the same cycle, to a node that knew nothing when it began.
            assert_eq!(answer(&mut b, 2, 102, u), second_push_knew, "{judge:?}");
            // Once b's next round has begun, it knew the rumor before it.
            drive_at(&mut b, 1, 200, |n, ctx| n.on_timer(ctx, GossipTimer::Round));
            assert!(answer(&mut b, 3, 201, u), "{judge:?}: known since the last round");
        }
    }

    #[test]
    fn a_consecutive_counter_starts_again_after_a_necessary_contact() {
        // Feedback: unnecessary, necessary, unnecessary, unnecessary; k = 2.
        for (count, hot_after) in [(Count::Consecutive, [1, 1, 1, 0]), (Count::Total, [1, 1, 0, 0])] {
            let mut a = rumor_node(0, RumorConfig { k: 2, count, ..RumorConfig::default() });
            drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
            let v = a.store.entry(1).unwrap().version;
            for (knew, hot) in [true, false, true, true].into_iter().zip(hot_after) {
                drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(1), GossipMsg::Known(vec![(1, v, knew)])));
                assert_eq!(a.hot.len(), hot, "{count:?}");
            }
        }
    }

    fn node(mode: Mode) -> GossipNode {
        GossipNode::new(NodeId(0), &GossipConfig { mode, ..GossipConfig::default() }, None)
    }

    #[test]
    fn push_pull_between_equal_replicas_sends_only_the_digest() {
        let (mut a, mut b) = (node(Mode::PushPull), node(Mode::PushPull));
        for n in [&mut a, &mut b] {
            drive(n, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
        }
        let digest = a.digest_msg(true);
        let out = drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(0), digest));
        assert!(out.sends.is_empty(), "nothing to exchange: {:?}", out.sends);
        // Past the fingerprint short-cut, the per-key comparison finds nothing either.
        let GossipMsg::Digest { want_back, digest, .. } = a.digest_msg(true) else { unreachable!() };
        let forced = GossipMsg::Digest { want_back, fingerprint: 0, digest };
        let out = drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(0), forced));
        assert!(out.sends.is_empty(), "nothing to exchange: {:?}", out.sends);
    }

    #[test]
    fn push_pull_sends_each_side_exactly_what_it_lacks() {
        let (mut a, mut b) = (node(Mode::PushPull), node(Mode::PushPull));
        drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
        drive(&mut b, 1, |n, ctx| n.on_request(ctx, RequestId(2), Op::Put { key: 2, value: 6 }));
        let digest = a.digest_msg(true);
        let out = drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(0), digest));
        let GossipMsg::Updates { updates, want } = &out.sends[0].1 else { panic!("{:?}", out.sends) };
        assert_eq!(updates.iter().map(|u| u.key).collect::<Vec<_>>(), vec![2]);
        assert_eq!(want, &vec![1]);
        let reply = out.sends[0].1.clone();
        let out = drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(1), reply));
        assert_eq!(out.exposures.len(), 1, "a now exposes key 2");
        let back = out.sends[0].1.clone();
        assert_eq!(back.wire_size(), 1 + 8 + 36, "one update back, nothing wanted");
        drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(0), back));
        assert_eq!(a.store.fingerprint(), b.store.fingerprint());
    }

    #[test]
    fn feedback_counter_rumors_stop_after_k_unnecessary_contacts() {
        let mut a = GossipNode::new(
            NodeId(0),
            &GossipConfig {
                mode: Mode::Rumor,
                rumor: RumorConfig { k: 2, ..RumorConfig::default() },
                ..GossipConfig::default()
            },
            None,
        );
        drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
        let v = a.store.entry(1).unwrap().version;
        for expected_hot in [1, 0] {
            let out = drive(&mut a, 0, |n, ctx| n.on_timer(ctx, GossipTimer::Round));
            assert!(matches!(out.sends[0].1, GossipMsg::Rumors(_)));
            drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(1), GossipMsg::Known(vec![(1, v, true)])));
            assert_eq!(a.hot.len(), expected_hot);
        }
        let out = drive(&mut a, 0, |n, ctx| n.on_timer(ctx, GossipTimer::Round));
        assert!(out.sends.is_empty(), "no hot rumor left to spread");
    }

    #[test]
    fn a_contact_that_learns_the_rumor_does_not_count() {
        let mut a = GossipNode::new(NodeId(0), &GossipConfig { mode: Mode::Rumor, ..GossipConfig::default() }, None);
        drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
        let v = a.store.entry(1).unwrap().version;
        for _ in 0..10 {
            drive(&mut a, 0, |n, ctx| n.on_message(ctx, NodeId(1), GossipMsg::Known(vec![(1, v, false)])));
        }
        assert_eq!(a.hot.len(), 1);
    }

    #[test]
    fn blind_counter_rumors_stop_after_k_sends() {
        let rumor = RumorConfig { response: Response::Blind, stop: Stop::Counter, k: 3, ..RumorConfig::default() };
        let mut a =
            GossipNode::new(NodeId(0), &GossipConfig { mode: Mode::Rumor, rumor, ..GossipConfig::default() }, None);
        drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Put { key: 1, value: 5 }));
        let sends: usize =
            (0..10).map(|_| drive(&mut a, 0, |n, ctx| n.on_timer(ctx, GossipTimer::Round)).sends.len()).sum();
        assert_eq!(sends, 3);
    }

    #[test]
    fn received_rumors_become_hot_and_get_feedback() {
        let mut b = GossipNode::new(NodeId(1), &GossipConfig { mode: Mode::Rumor, ..GossipConfig::default() }, None);
        let u = Update { key: 4, version: Version { lamport: 1, node: 0 }, value: 9, write: RequestId(3) };
        let out = drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(0), GossipMsg::Rumors(vec![u])));
        assert_eq!(out.sends[0].1, GossipMsg::Known(vec![(4, u.version, false)]));
        assert_eq!(b.hot.len(), 1);
        let out = drive(&mut b, 1, |n, ctx| n.on_message(ctx, NodeId(2), GossipMsg::Rumors(vec![u])));
        assert_eq!(out.sends[0].1, GossipMsg::Known(vec![(4, u.version, true)]));
    }

    #[test]
    fn unsupported_operations_fail_with_a_reason() {
        let mut a = node(Mode::Push);
        let out = drive(&mut a, 0, |n, ctx| n.on_request(ctx, RequestId(1), Op::Incr { key: 1, by: 1 }));
        assert_eq!(out.replies[0].1, Err("gossip does not support incr".into()));
    }
}
