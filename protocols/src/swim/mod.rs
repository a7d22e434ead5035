//! SWIM membership (Das, Gupta and Motivala, "SWIM: Scalable Weakly-consistent
//! Infection-style Process Group Membership Protocol", DSN 2002), as a sans-IO component a
//! protocol embeds ([`crate::gossip`] with `membership: swim`).
//!
//! - Failure detection: every protocol period each member pings one member chosen at random;
//!   without an ack within `ping_timeout` it asks `indirect` others to ping it (ping-req); with
//!   no ack, direct or relayed, by the end of the period the target is suspected.
//! - Suspicion: a suspect is declared dead once `suspicion_mult` × log10(n) periods pass
//!   without a refutation; a member that hears itself suspected or declared dead refutes with
//!   a higher incarnation number, which overrides the suspicion everywhere (§4.2).
//! - Dissemination: membership updates ride on pings and acks (infection style), each sent
//!   `lambda` × log2(n + 1) times, the least-sent first (§4.1).
//! - Joining: a node that starts without a view (it joined, or restarted after a crash) asks a
//!   seed for the member list; leaving: it tells a few members it left.
//! - Repair: every 10 periods a member swaps whole views with another (as memberlist's
//!   push-pull does), since infection-style dissemination gives up on an update after its
//!   sends and may miss a member.
//!
//! The host gives it its clock, random stream, sends and timers through [`SwimHost`]; it
//! reports what it decides through [`SwimNote`] to [`monitor::SwimMonitor`], which measures
//! detection time and false positives against the paper's model.

pub mod monitor;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use syncsim_sim::rng::below;
use syncsim_sim::{Ctx, NodeId, Protocol, SimDuration, SimRng, SimTime};

use self::monitor::SwimNote;

/// Every this many protocol periods a member swaps its whole view with a random member
/// (memberlist's push-pull): an update whose piggybacked sends all missed a member (it was
/// not yet known to the senders, or its messages were lost) would otherwise never reach it.
const SYNC_PERIODS: u64 = 10;

/// What a member is believed to be.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Answering.
    Alive,
    /// Failed a probe; dead unless it refutes in time.
    Suspect,
    /// Declared failed.
    Dead,
    /// Left the group on purpose.
    Left,
}

/// One membership update: `node` is `status` at incarnation `inc`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// The member.
    pub node: NodeId,
    /// What it is believed to be.
    pub status: Status,
    /// Its incarnation number then.
    pub inc: u64,
}

/// SWIM messages; every one but `Join` carries piggybacked updates.
#[derive(Clone, Debug, PartialEq, Hash, Serialize, Deserialize)]
pub enum SwimMsg {
    /// "Are you there?" (a probe, direct or relayed).
    Ping {
        /// Matches the ack.
        seq: u64,
        /// Piggybacked updates.
        updates: Vec<Update>,
    },
    /// "I am."
    Ack {
        /// The ping's sequence number.
        seq: u64,
        /// Piggybacked updates.
        updates: Vec<Update>,
    },
    /// "Ping `target` for me" (an indirect probe).
    PingReq {
        /// Whom to ping.
        target: NodeId,
        /// The requester's sequence number, for the relayed ack.
        seq: u64,
        /// Piggybacked updates.
        updates: Vec<Update>,
    },
    /// A node without a view asks a seed for the members.
    Join {
        /// Its incarnation.
        inc: u64,
    },
    /// The seed's answer: its whole view, itself included.
    Members(Vec<Update>),
    /// Anti-entropy of views: the sender's whole view, answered with `Members`.
    Sync(Vec<Update>),
}

impl SwimMsg {
    /// Bytes on the wire: a tag, 8-byte sequence numbers, 13-byte updates.
    pub fn wire_size(&self) -> usize {
        const UPDATE: usize = 4 + 1 + 8;
        1 + match self {
            SwimMsg::Ping { updates, .. } | SwimMsg::Ack { updates, .. } => 8 + 4 + updates.len() * UPDATE,
            SwimMsg::PingReq { updates, .. } => 4 + 8 + 4 + updates.len() * UPDATE,
            SwimMsg::Join { .. } => 8,
            SwimMsg::Members(all) | SwimMsg::Sync(all) => 4 + all.len() * UPDATE,
        }
    }

    /// The message kind, for traffic tables.
    pub fn kind(&self) -> &'static str {
        match self {
            SwimMsg::Ping { .. } => "SwimPing",
            SwimMsg::Ack { .. } => "SwimAck",
            SwimMsg::PingReq { .. } => "SwimPingReq",
            SwimMsg::Join { .. } => "SwimJoin",
            SwimMsg::Members(_) => "SwimMembers",
            SwimMsg::Sync(_) => "SwimSync",
        }
    }
}

/// SWIM's timers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SwimTimer {
    /// A protocol period ends: judge the probe, start the next.
    Period,
    /// The direct ping went unanswered: ask others.
    PingTimeout,
    /// A suspect's time to refute is up.
    Suspicion(NodeId),
}

/// SWIM parameters (a protocol's `swim:` map).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SwimConfig {
    /// The protocol period T'.
    pub period: SimDuration,
    /// How long a direct ping waits for its ack before ping-reqs go out.
    pub ping_timeout: SimDuration,
    /// Members asked to ping a target that did not answer (k).
    pub indirect: u32,
    /// A suspect is declared dead after this × log10(n) periods (at least one log's worth).
    pub suspicion_mult: u32,
    /// Each update is piggybacked this × log2(n + 1) times.
    pub lambda: u32,
    /// Most updates on one message.
    pub max_piggyback: u32,
}

impl Default for SwimConfig {
    fn default() -> Self {
        SwimConfig {
            period: SimDuration::from_millis(200),
            ping_timeout: SimDuration::from_millis(40),
            indirect: 3,
            suspicion_mult: 4,
            lambda: 3,
            max_piggyback: 8,
        }
    }
}

impl SwimConfig {
    /// Handler calls per node per second that the failure detector adds under `membership`,
    /// for the cost estimate: each period a timer, a ping and its ack, a ping timeout, and up
    /// to `indirect` probes when an ack is missing (none with the membership service).
    pub fn calls_per_node_second(&self, membership: Membership) -> f64 {
        match membership {
            Membership::Oracle => 0.0,
            Membership::Swim => (4.0 + f64::from(self.indirect)) / self.period.as_secs_f64().max(1e-9),
        }
    }

    /// `syncsim list`'s rows for a protocol's `membership` and `swim.*` parameters.
    pub fn params() -> Vec<syncsim_sim::Param> {
        use syncsim_sim::Param;
        vec![
            Param::new("membership", "oracle: the cluster's member list; swim: a SWIM failure detector's view"),
            Param::new("swim.period", "SWIM: the protocol period T' (one probe per member per period)"),
            Param::new("swim.ping_timeout", "SWIM: wait this long for an ack before asking others to ping"),
            Param::new("swim.indirect", "SWIM: members asked to ping an unresponsive target (k)"),
            Param::new("swim.suspicion_mult", "SWIM: a suspect is declared dead after this x log10(n) periods"),
            Param::new("swim.lambda", "SWIM: each update is piggybacked this x log2(n + 1) times"),
            Param::new("swim.max_piggyback", "SWIM: most updates on one message"),
        ]
    }

    /// Checks the parameters: `Err((field, message))`, the field under `swim.`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let bad = |f: &str, m: String| Err((format!("swim.{f}"), m));
        if self.period == SimDuration::ZERO {
            return bad("period", "must be longer than 0s".into());
        }
        if self.ping_timeout == SimDuration::ZERO || self.ping_timeout >= self.period {
            return bad(
                "ping_timeout",
                format!("{} must be longer than 0s and shorter than the period ({})", self.ping_timeout, self.period),
            );
        }
        if self.suspicion_mult == 0 || self.lambda == 0 || self.max_piggyback == 0 {
            return bad("suspicion_mult", "suspicion_mult, lambda and max_piggyback must be at least 1".into());
        }
        Ok(())
    }
}

/// What SWIM needs from the protocol that embeds it.
pub trait SwimHost {
    /// The node's clock.
    fn now(&self) -> SimTime;
    /// Its random stream.
    fn rng(&mut self) -> &mut SimRng;
    /// Sends a SWIM message.
    fn send(&mut self, to: NodeId, msg: SwimMsg);
    /// Arms a SWIM timer.
    fn set_timer(&mut self, timer: SwimTimer, after: SimDuration);
    /// Reports to the monitor.
    fn note(&mut self, note: SwimNote);
    /// A seed to join through: a member address the node was configured with.
    fn seed(&mut self) -> Option<NodeId>;
}

/// How a node knows the other members (a protocol's `membership:` parameter).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// From the cluster's membership service (`ctx.peers()`), which is never wrong.
    Oracle,
    /// From its own SWIM failure detector.
    Swim,
}

/// SWIM's window on a protocol node's context: its messages, timers and notes wrap SWIM's.
pub struct CtxHost<'c, 'a, P: Protocol>(pub &'c mut Ctx<'a, P>);

impl<P: Protocol> SwimHost for CtxHost<'_, '_, P>
where
    P::Msg: From<SwimMsg>,
    P::Timer: From<SwimTimer>,
    P::Note: From<SwimNote>,
{
    fn now(&self) -> SimTime {
        self.0.now()
    }
    fn rng(&mut self) -> &mut SimRng {
        self.0.rng()
    }
    fn send(&mut self, to: NodeId, msg: SwimMsg) {
        self.0.send(to, msg.into());
    }
    fn set_timer(&mut self, timer: SwimTimer, after: SimDuration) {
        self.0.set_timer(timer.into(), after);
    }
    fn note(&mut self, note: SwimNote) {
        self.0.note(note.into());
    }
    fn seed(&mut self) -> Option<NodeId> {
        // An address the node was configured with: any member of the cluster.
        self.0.random_peer()
    }
}

/// Starts SWIM on a node that starts: `None` with `membership: oracle`. A node that starts
/// with the cluster (`founding`) knows its first members; one that joined or restarted asks
/// a seed. `stale` plants the stale-incarnation bug.
pub fn start<P: Protocol>(
    ctx: &mut Ctx<'_, P>,
    membership: Membership,
    config: &SwimConfig,
    founding: bool,
    stale: bool,
) -> Option<Swim>
where
    P::Msg: From<SwimMsg>,
    P::Timer: From<SwimTimer>,
    P::Note: From<SwimNote>,
{
    if membership == Membership::Oracle {
        return None;
    }
    let id = ctx.id();
    let mut swim = if founding {
        Swim::founding(id, config.clone(), ctx.peers().iter())
    } else {
        Swim::joining(id, config.clone())
    };
    if stale {
        swim.plant_stale_incarnation();
    }
    swim.start(&mut CtxHost(ctx));
    Some(swim)
}

/// The probe of the current period.
#[derive(Clone, Debug)]
struct Probe {
    target: NodeId,
    seq: u64,
    acked: bool,
}

/// One node's SWIM state.
#[derive(Clone, Debug)]
pub struct Swim {
    id: NodeId,
    config: SwimConfig,
    /// This node's incarnation number.
    inc: u64,
    /// Every other member it knows of, with what it believes of them.
    members: BTreeMap<NodeId, (Status, u64)>,
    /// Since when it has suspected each suspect itself (its own probe failed).
    suspecting: BTreeMap<NodeId, SimTime>,
    /// How many times each member's current update has been piggybacked.
    sent: BTreeMap<NodeId, u32>,
    seq: u64,
    probe: Option<Probe>,
    /// Pings sent for another member's ping-req: our seq → (requester, its seq).
    relays: BTreeMap<u64, (NodeId, u64)>,
    /// Waiting for a seed's member list.
    joining: bool,
    /// Protocol periods since it started.
    periods: u64,
    /// Planted bug: a death notice about itself is not refuted.
    accept_own_death: bool,
}

impl Swim {
    /// A node that starts with the group and knows its first members.
    pub fn founding(id: NodeId, config: SwimConfig, members: impl Iterator<Item = NodeId>) -> Swim {
        let mut swim = Swim::joining(id, config);
        swim.joining = false;
        swim.members = members.filter(|&k| k != id).map(|k| (k, (Status::Alive, 0))).collect();
        swim
    }

    /// A node that starts without a view (it joined, or restarted): it asks a seed.
    pub fn joining(id: NodeId, config: SwimConfig) -> Swim {
        Swim {
            id,
            config,
            inc: 0,
            members: BTreeMap::new(),
            suspecting: BTreeMap::new(),
            sent: BTreeMap::new(),
            seq: 0,
            probe: None,
            relays: BTreeMap::new(),
            joining: true,
            periods: 0,
            accept_own_death: false,
        }
    }

    /// Plants the stale-incarnation bug (test builds).
    pub fn plant_stale_incarnation(&mut self) {
        self.accept_own_death = true;
    }

    /// The members it believes up (alive or suspected), in id order: whom to gossip with.
    pub fn live(&self) -> Vec<NodeId> {
        self.members
            .iter()
            .filter(|(_, (s, _))| matches!(s, Status::Alive | Status::Suspect))
            .map(|(k, _)| *k)
            .collect()
    }

    /// Up to `k` distinct members it believes up, chosen at random.
    pub fn random_live(&self, rng: &mut SimRng, k: usize) -> Vec<NodeId> {
        let mut live = self.live();
        let mut chosen = Vec::with_capacity(k.min(live.len()));
        while chosen.len() < k && !live.is_empty() {
            let i = below(rng, live.len() as u64) as usize;
            chosen.push(live.swap_remove(i));
        }
        chosen
    }

    /// Starts the protocol periods; a node without a view first asks a seed.
    pub fn start(&mut self, host: &mut impl SwimHost) {
        host.note(SwimNote::Up);
        if self.joining {
            self.join(host);
        }
        // A random phase, so that members' periods interleave.
        let phase = below(host.rng(), self.config.period.as_nanos()) + 1;
        host.set_timer(SwimTimer::Period, SimDuration(phase));
    }

    /// Asks a seed for the member list.
    fn join(&mut self, host: &mut impl SwimHost) {
        if let Some(seed) = host.seed() {
            host.send(seed, SwimMsg::Join { inc: self.inc });
        }
    }

    /// The node leaves: it tells `k` members, who spread it.
    pub fn leave(&mut self, host: &mut impl SwimHost, k: usize) {
        host.note(SwimNote::Leaving);
        let me = Update { node: self.id, status: Status::Left, inc: self.inc };
        for to in self.pick(host, k, None) {
            host.send(to, SwimMsg::Members(vec![me]));
        }
    }

    /// Up to `k` distinct live members, other than `except`, chosen at random.
    fn pick(&self, host: &mut impl SwimHost, k: usize, except: Option<NodeId>) -> Vec<NodeId> {
        let mut chosen = self.random_live(host.rng(), k + 1);
        chosen.retain(|&m| Some(m) != except);
        chosen.truncate(k);
        chosen
    }

    /// How many times an update is piggybacked in a group of this size.
    fn retransmits(&self) -> u32 {
        let n = self.members.len() as f64 + 1.0;
        self.config.lambda * ((n + 1.0).log2().ceil() as u32).max(1)
    }

    /// The updates to piggyback on a message to `to`, least-sent first, counted as sent. A
    /// suspect hears of its own suspicion first, so it can refute at once (Lifeguard's buddy
    /// system, Dadgar et al. 2018); so does a member held dead that still talks to us, long
    /// after the news of its death stopped spreading.
    fn piggyback(&mut self, to: NodeId) -> Vec<Update> {
        let limit = self.retransmits();
        let mut due: Vec<(u32, NodeId)> =
            self.sent.iter().filter(|(_, c)| **c < limit).map(|(k, c)| (*c, *k)).collect();
        due.sort_unstable();
        if let Some(&(Status::Suspect | Status::Dead, _)) = self.members.get(&to) {
            due.retain(|&(_, k)| k != to);
            due.insert(0, (0, to));
            self.sent.entry(to).or_insert(0);
        }
        due.truncate(self.config.max_piggyback as usize);
        due.into_iter()
            .map(|(_, k)| {
                *self.sent.get_mut(&k).expect("listed") += 1;
                self.update_of(k)
            })
            .collect()
    }

    /// What this node holds about `k` (itself included), as an update.
    fn update_of(&self, k: NodeId) -> Update {
        if k == self.id {
            return Update { node: k, status: Status::Alive, inc: self.inc };
        }
        let (status, inc) = self.members[&k];
        Update { node: k, status, inc }
    }

    /// The whole view, itself included (a seed's answer).
    fn view(&self) -> Vec<Update> {
        let mut all: Vec<Update> = self.members.keys().map(|&k| self.update_of(k)).collect();
        all.push(self.update_of(self.id));
        all
    }

    /// A timer fired.
    pub fn on_timer(&mut self, host: &mut impl SwimHost, timer: SwimTimer) {
        match timer {
            SwimTimer::Period => self.period(host),
            SwimTimer::PingTimeout => {
                if let Some(p) = self.probe.clone().filter(|p| !p.acked) {
                    for helper in self.pick(host, self.config.indirect as usize, Some(p.target)) {
                        let updates = self.piggyback(helper);
                        host.send(helper, SwimMsg::PingReq { target: p.target, seq: p.seq, updates });
                    }
                }
            }
            SwimTimer::Suspicion(k) => {
                if let Some(&(Status::Suspect, inc)) = self.members.get(&k) {
                    self.set(host, Update { node: k, status: Status::Dead, inc });
                }
            }
        }
    }

    /// The end of a protocol period: a probe without an ack suspects its target; the next
    /// probe goes out.
    fn period(&mut self, host: &mut impl SwimHost) {
        if let Some(p) = self.probe.take() {
            host.note(SwimNote::Probed { target: p.target, ok: p.acked });
            if !p.acked
                && let Some(&(Status::Alive, inc)) = self.members.get(&p.target)
            {
                self.suspecting.insert(p.target, host.now());
                self.set(host, Update { node: p.target, status: Status::Suspect, inc });
            }
        }
        if self.joining {
            // Still no member list (the seed was down, or a message was lost): ask again.
            self.join(host);
            host.set_timer(SwimTimer::Period, self.config.period);
            return;
        }
        let live = self.live();
        self.periods += 1;
        if self.periods.is_multiple_of(SYNC_PERIODS) && !live.is_empty() {
            let peer = live[below(host.rng(), live.len() as u64) as usize];
            host.send(peer, SwimMsg::Sync(self.view()));
        }
        if !live.is_empty() {
            let target = live[below(host.rng(), live.len() as u64) as usize];
            self.seq += 1;
            self.probe = Some(Probe { target, seq: self.seq, acked: false });
            let updates = self.piggyback(target);
            host.send(target, SwimMsg::Ping { seq: self.seq, updates });
            host.set_timer(SwimTimer::PingTimeout, self.config.ping_timeout);
        }
        // Relays older than a few periods will never be answered.
        let keep = self.seq.saturating_sub(64);
        self.relays = self.relays.split_off(&keep);
        host.set_timer(SwimTimer::Period, self.config.period);
    }

    /// A SWIM message arrived from `from`.
    pub fn on_message(&mut self, host: &mut impl SwimHost, from: NodeId, msg: SwimMsg) {
        match msg {
            SwimMsg::Ping { seq, updates } => {
                self.merge(host, &updates);
                let updates = self.piggyback(from);
                host.send(from, SwimMsg::Ack { seq, updates });
            }
            SwimMsg::Ack { seq, updates } => {
                self.merge(host, &updates);
                if let Some((origin, their_seq)) = self.relays.remove(&seq) {
                    let updates = self.piggyback(origin);
                    host.send(origin, SwimMsg::Ack { seq: their_seq, updates });
                } else if let Some(p) = self.probe.as_mut().filter(|p| p.seq == seq) {
                    p.acked = true;
                }
            }
            SwimMsg::PingReq { target, seq, updates } => {
                self.merge(host, &updates);
                self.seq += 1;
                self.relays.insert(self.seq, (from, seq));
                let updates = self.piggyback(target);
                host.send(target, SwimMsg::Ping { seq: self.seq, updates });
            }
            SwimMsg::Join { inc } => {
                self.merge(host, &[Update { node: from, status: Status::Alive, inc }]);
                host.send(from, SwimMsg::Members(self.view()));
            }
            SwimMsg::Members(all) => {
                self.joining = false;
                self.merge(host, &all);
            }
            SwimMsg::Sync(all) => {
                self.merge(host, &all);
                host.send(from, SwimMsg::Members(self.view()));
            }
        }
    }

    /// Merges received updates by SWIM's precedence rules.
    fn merge(&mut self, host: &mut impl SwimHost, updates: &[Update]) {
        for &u in updates {
            if u.node == self.id {
                self.about_me(host, u);
                continue;
            }
            let newer = match (self.members.get(&u.node), u.status) {
                (None, _) => true,
                // Alive overrides anything of an older incarnation (a refutation, a rejoin).
                (Some(&(_, inc)), Status::Alive) => u.inc > inc,
                // Suspicion overrides alive of the same incarnation, and older suspicion.
                (Some(&(Status::Alive, inc)), Status::Suspect) => u.inc >= inc,
                (Some(&(_, inc)), Status::Suspect) => u.inc > inc,
                // Death and leaving override all but a later incarnation.
                (Some(&(Status::Dead | Status::Left, inc)), Status::Dead | Status::Left) => u.inc > inc,
                (Some(&(_, inc)), Status::Dead | Status::Left) => u.inc >= inc,
            };
            if newer {
                self.set(host, u);
            }
        }
    }

    /// Someone says this node is suspect, dead or gone: it refutes with a higher incarnation
    /// than any said of it, and spreads that it is alive.
    fn about_me(&mut self, host: &mut impl SwimHost, u: Update) {
        if u.status == Status::Alive {
            return;
        }
        if u.inc < self.inc {
            // Old news of a suspicion already refuted: whoever still spreads it missed the
            // refutation, so it goes out again (first on the reply to them).
            self.sent.insert(self.id, 0);
            return;
        }
        if crate::planted::ENABLED && self.accept_own_death && matches!(u.status, Status::Dead | Status::Left) {
            // The bug: a restarted node takes its old death notice for news of its last life
            // and goes on at its stale incarnation, which nobody will ever believe.
            return;
        }
        self.inc = u.inc + 1;
        self.sent.insert(self.id, 0);
        host.note(SwimNote::Refuted { inc: self.inc });
    }

    /// Takes update `u` about another member as the new belief, and spreads it.
    fn set(&mut self, host: &mut impl SwimHost, u: Update) {
        let before = self.members.insert(u.node, (u.status, u.inc)).map(|(s, _)| s);
        self.sent.insert(u.node, 0);
        let suspected_since = if u.status == Status::Suspect {
            self.suspecting.get(&u.node).copied()
        } else {
            self.suspecting.remove(&u.node)
        };
        if before == Some(u.status) {
            return;
        }
        match u.status {
            Status::Suspect => {
                let n = (self.members.len() + 1) as f64;
                let periods = f64::from(self.config.suspicion_mult) * n.log10().max(1.0);
                let timeout = SimDuration((self.config.period.as_nanos() as f64 * periods) as u64);
                host.set_timer(SwimTimer::Suspicion(u.node), timeout);
                host.note(SwimNote::Suspected { node: u.node, own: suspected_since == Some(host.now()) });
            }
            Status::Dead => {
                let suspected_for = suspected_since.map_or(SimDuration::ZERO, |t| host.now().since(t));
                host.note(SwimNote::Declared { node: u.node, suspected_for });
            }
            Status::Alive => {
                if before.is_some() {
                    host.note(SwimNote::Revived { node: u.node });
                }
            }
            Status::Left => host.note(SwimNote::Departed { node: u.node }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::rng::Stream;

    /// Records what SWIM asks of its host.
    struct Fake {
        now: SimTime,
        rng: SimRng,
        sends: Vec<(NodeId, SwimMsg)>,
        timers: Vec<SwimTimer>,
        notes: Vec<SwimNote>,
    }

    impl SwimHost for Fake {
        fn now(&self) -> SimTime {
            self.now
        }
        fn rng(&mut self) -> &mut SimRng {
            &mut self.rng
        }
        fn send(&mut self, to: NodeId, msg: SwimMsg) {
            self.sends.push((to, msg));
        }
        fn set_timer(&mut self, timer: SwimTimer, _: SimDuration) {
            self.timers.push(timer);
        }
        fn note(&mut self, note: SwimNote) {
            self.notes.push(note);
        }
        fn seed(&mut self) -> Option<NodeId> {
            Some(NodeId(1))
        }
    }

    fn fake() -> Fake {
        Fake { now: SimTime::ZERO, rng: Stream::Node(0).rng(1), sends: vec![], timers: vec![], notes: vec![] }
    }

    fn node(n: u32) -> Swim {
        Swim::founding(NodeId(0), SwimConfig::default(), (0..n).map(NodeId))
    }

    fn heard(swim: &mut Swim, host: &mut Fake, node: u32, status: Status, inc: u64) {
        let update = Update { node: NodeId(node), status, inc };
        swim.on_message(host, NodeId(2), SwimMsg::Ack { seq: 0, updates: vec![update] });
    }

    #[test]
    fn updates_take_precedence_by_incarnation_as_the_paper_orders_them() {
        let (mut s, mut h) = (node(3), fake());
        let of = |s: &Swim| s.members[&NodeId(1)];
        heard(&mut s, &mut h, 1, Status::Suspect, 0);
        assert_eq!(of(&s), (Status::Suspect, 0), "suspicion overrides alive of the same incarnation");
        heard(&mut s, &mut h, 1, Status::Alive, 0);
        assert_eq!(of(&s), (Status::Suspect, 0), "an alive of that incarnation does not lift it");
        heard(&mut s, &mut h, 1, Status::Alive, 1);
        assert_eq!(of(&s), (Status::Alive, 1), "a refutation does");
        heard(&mut s, &mut h, 1, Status::Suspect, 0);
        assert_eq!(of(&s), (Status::Alive, 1), "old suspicion is ignored");
        heard(&mut s, &mut h, 1, Status::Dead, 1);
        assert_eq!(of(&s), (Status::Dead, 1), "death overrides alive of its incarnation");
        heard(&mut s, &mut h, 1, Status::Alive, 1);
        assert_eq!(of(&s), (Status::Dead, 1));
        heard(&mut s, &mut h, 1, Status::Alive, 2);
        assert_eq!(of(&s), (Status::Alive, 2), "a member back at a later incarnation is back");
        assert_eq!(s.live(), vec![NodeId(1), NodeId(2)]);
    }

    #[test]
    fn a_member_refutes_suspicion_and_death_with_a_higher_incarnation_unless_the_bug_is_planted() {
        let (mut s, mut h) = (node(3), fake());
        heard(&mut s, &mut h, 0, Status::Suspect, 3);
        assert_eq!(s.inc, 4);
        heard(&mut s, &mut h, 0, Status::Dead, 7);
        assert_eq!(s.inc, 8);
        // Its refutation rides first on the answer to whoever still spreads old news.
        h.sends.clear();
        heard(&mut s, &mut h, 0, Status::Suspect, 2);
        s.on_message(&mut h, NodeId(2), SwimMsg::Ping { seq: 9, updates: vec![] });
        let Some((_, SwimMsg::Ack { updates, .. })) = h.sends.last() else { panic!("{:?}", h.sends) };
        assert!(updates.contains(&Update { node: NodeId(0), status: Status::Alive, inc: 8 }), "{updates:?}");
        if crate::planted::ENABLED {
            let mut stale = node(3);
            stale.plant_stale_incarnation();
            heard(&mut stale, &mut h, 0, Status::Dead, 5);
            assert_eq!(stale.inc, 0, "the bug: a death notice about its last life is not refuted");
        }
    }

    #[test]
    fn an_unanswered_probe_asks_k_others_and_suspects_its_target_at_the_period_end() {
        let (mut s, mut h) = (node(6), fake());
        s.on_timer(&mut h, SwimTimer::Period);
        let Some((target, SwimMsg::Ping { .. })) = h.sends.first().cloned() else { panic!("{:?}", h.sends) };
        s.on_timer(&mut h, SwimTimer::PingTimeout);
        let asked: Vec<NodeId> = h
            .sends
            .iter()
            .filter_map(|(to, m)| matches!(m, SwimMsg::PingReq { target: t, .. } if *t == target).then_some(*to))
            .collect();
        assert_eq!(asked.len(), 3, "k = 3 others");
        assert!(!asked.contains(&target));
        h.now = SimTime(200_000_000);
        s.on_timer(&mut h, SwimTimer::Period);
        assert_eq!(s.members[&target].0, Status::Suspect);
        assert!(h.notes.contains(&SwimNote::Suspected { node: target, own: true }));
        assert!(h.timers.contains(&SwimTimer::Suspicion(target)));
        // No refutation in time: dead, after suspecting it itself for as long as it waited.
        h.now = SimTime(1_400_000_000);
        s.on_timer(&mut h, SwimTimer::Suspicion(target));
        let suspected_for = SimDuration(1_200_000_000);
        assert_eq!(h.notes.last(), Some(&SwimNote::Declared { node: target, suspected_for }));
        assert!(!s.live().contains(&target));
    }

    #[test]
    fn a_relayed_ack_reaches_the_member_that_asked() {
        let (mut s, mut h) = (node(3), fake());
        s.on_message(&mut h, NodeId(1), SwimMsg::PingReq { target: NodeId(2), seq: 41, updates: vec![] });
        let Some((NodeId(2), SwimMsg::Ping { seq, .. })) = h.sends.last().cloned() else { panic!() };
        s.on_message(&mut h, NodeId(2), SwimMsg::Ack { seq, updates: vec![] });
        assert!(matches!(h.sends.last(), Some((NodeId(1), SwimMsg::Ack { seq: 41, .. }))), "{:?}", h.sends);
    }
}
