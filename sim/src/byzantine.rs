//! Byzantine faults: nodes that lie to their peers, and the message authentication that
//! limits what a lie can do.
//!
//! A Byzantine node runs the protocol's own (honest) code; the engine rewrites what it sends,
//! the way a compromised host or a buggy build would. What it can make up is bounded by the
//! protocol's own data ([`crate::Message::tamper`]) and by authentication: a message the
//! protocol signs ([`crate::Message::signed`]) cannot be forged in another node's name nor
//! altered on the way without its receiver noticing, so such lies are rejected on arrival.
//! Equivocation (signing two different messages where one was due) and replay (sending a
//! genuine old message again) pass any signature check: the protocol must tolerate them itself.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::fault::Target;
use crate::protocol::{Message, NodeId};
use crate::rng::{SimRng, below, unit_f64};
use crate::time::{SimDuration, SimTime};

/// One way a Byzantine node lies.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lie {
    /// Tells one part of its peers something else than the rest ([`Message::tamper`]), for
    /// the whole run and consistently, as a primary that proposes two values at once.
    Equivocate,
    /// Also sends a copy of a message in another node's name.
    Forge,
    /// Also sends, again, a message it sent before (to anyone).
    Replay,
    /// Drops what it owes the peers on the far side of its split.
    Withhold,
    /// Alters a message after it was signed (as a bad NIC or a man in the middle would).
    Corrupt,
}

impl Lie {
    /// Every lie, in the order scenarios list them.
    pub const ALL: [Lie; 5] = [Lie::Equivocate, Lie::Forge, Lie::Replay, Lie::Withhold, Lie::Corrupt];

    /// The lie as written in scenarios.
    pub fn name(self) -> &'static str {
        match self {
            Lie::Equivocate => "equivocate",
            Lie::Forge => "forge",
            Lie::Replay => "replay",
            Lie::Withhold => "withhold",
            Lie::Corrupt => "corrupt",
        }
    }
}

impl fmt::Display for Lie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a Byzantine node does: its lies, and how often the random ones (forge, replay,
/// withhold, corrupt) strike a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Lies {
    /// The lies it tells.
    pub lies: BTreeSet<Lie>,
    /// The share of its messages a random lie strikes (equivocation strikes every message to
    /// the far side of its split).
    pub share: f64,
}

impl fmt::Display for Lies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.lies.iter().map(|l| l.name()).collect();
        write!(f, "{}", names.join(", "))?;
        if self.share < 1.0 {
            write!(f, " ({}% of messages)", self.share * 100.0)?;
        }
        Ok(())
    }
}

/// The cost of authentication on a message the protocol signs: the signature's bytes on the
/// wire, and the time to sign and verify it, added to the message's delay. The defaults are
/// Ed25519's: a 64-byte signature, about 20 µs to sign and 40 µs to verify on one core.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Signatures {
    /// Bytes a signature adds to a message.
    pub bytes: u32,
    /// Signing plus verifying.
    pub time: SimDuration,
}

impl Default for Signatures {
    fn default() -> Self {
        Signatures { bytes: 64, time: SimDuration::from_micros(60) }
    }
}

/// Which nodes turn Byzantine, when, and how they lie.
#[derive(Clone, Debug, PartialEq)]
pub struct ByzantineConfig {
    /// Nodes named in the scenario (or `leader`: whoever leads at `at`).
    pub nodes: Vec<Target>,
    /// How many more to draw at random from the rest, from the seed's fault stream.
    pub random: u32,
    /// When they turn.
    pub at: SimTime,
    /// What they do.
    pub lies: Lies,
}

/// What the Byzantine nodes of a run did, and what authentication stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ByzantineStats {
    /// Messages sent with other content than the protocol gave them, to the far side of a split.
    pub equivocated: u64,
    /// Copies sent in another node's name.
    pub forged: u64,
    /// Old messages sent again.
    pub replayed: u64,
    /// Messages dropped on purpose.
    pub withheld: u64,
    /// Messages altered after signing.
    pub corrupted: u64,
    /// Forged or altered messages their receiver rejected, as their signature did not verify.
    pub rejected: u64,
}

impl ByzantineStats {
    /// True when nobody lied (the report then leaves the figures out).
    pub fn is_quiet(&self) -> bool {
        *self == ByzantineStats::default()
    }
}

/// A message as a Byzantine node sends it.
#[derive(Debug)]
pub struct Outgoing<M> {
    /// What goes out.
    pub msg: M,
    /// Whom it claims to come from.
    pub from: NodeId,
    /// Whether its signature verifies (false for a forgery or an altered message): a signed
    /// message that does not is rejected by its receiver.
    pub authentic: bool,
}

/// How many of its past messages a liar keeps to replay.
const REPLAY_MEMORY: usize = 32;

/// The state of one Byzantine node.
#[derive(Debug)]
pub struct Liar<M> {
    lies: Lies,
    /// Per node: whether it is on the far side of this liar's split (told the other story,
    /// and the one withheld from).
    far: Vec<bool>,
    sent: VecDeque<M>,
}

impl<M: Message> Liar<M> {
    /// Node `me` of `nodes` turns liar: its split of the other nodes into two sides is drawn
    /// from `rng` once, so that its story to each peer stays the same all run. With two or
    /// more other nodes, each side has at least one.
    pub fn new(me: NodeId, nodes: u32, lies: Lies, rng: &mut SimRng) -> Liar<M> {
        let others: Vec<u32> = (0..nodes).filter(|&k| k != me.0).collect();
        let mut far = vec![false; nodes as usize];
        for &k in &others {
            far[k as usize] = below(rng, 2) == 1;
        }
        if others.len() >= 2 {
            let count = others.iter().filter(|&&k| far[k as usize]).count();
            // Both sides must hold somebody: flip one drawn node when the draw left one empty.
            if count == 0 || count == others.len() {
                let k = others[below(rng, others.len() as u64) as usize];
                far[k as usize] = !far[k as usize];
            }
        }
        Liar { lies, far, sent: VecDeque::new() }
    }

    /// The nodes this liar tells the other story.
    pub fn far_side(&self) -> Vec<NodeId> {
        (0..self.far.len() as u32).filter(|&k| self.far[k as usize]).map(NodeId).collect()
    }

    fn strikes(&self, lie: Lie, rng: &mut SimRng) -> bool {
        self.lies.lies.contains(&lie) && unit_f64(rng) < self.lies.share
    }

    /// What goes out when the protocol of `me` sends `msg` to `to`: nothing, the message as
    /// given, a lie in its place, and possibly forgeries and replays besides.
    pub fn send(
        &mut self,
        me: NodeId,
        to: NodeId,
        msg: M,
        rng: &mut SimRng,
        stats: &mut ByzantineStats,
    ) -> Vec<Outgoing<M>> {
        let mut out = Vec::new();
        let far = self.far.get(to.index()).copied().unwrap_or(false);
        if far && self.strikes(Lie::Withhold, rng) {
            stats.withheld += 1;
            return out;
        }
        let mut main = msg;
        if far
            && self.lies.lies.contains(&Lie::Equivocate)
            && let Some(other) = main.tamper()
        {
            stats.equivocated += 1;
            main = other;
        }
        let mut authentic = true;
        if self.strikes(Lie::Corrupt, rng)
            && let Some(altered) = main.tamper()
        {
            stats.corrupted += 1;
            main = altered;
            authentic = false;
        }
        if self.strikes(Lie::Forge, rng) {
            let n = self.far.len() as u32;
            let victims: Vec<NodeId> = (0..n).map(NodeId).filter(|&k| k != me && k != to).collect();
            if !victims.is_empty() {
                let victim = victims[below(rng, victims.len() as u64) as usize];
                stats.forged += 1;
                out.push(Outgoing { msg: main.clone(), from: victim, authentic: false });
            }
        }
        if self.strikes(Lie::Replay, rng) && !self.sent.is_empty() {
            let old = self.sent[below(rng, self.sent.len() as u64) as usize].clone();
            stats.replayed += 1;
            out.push(Outgoing { msg: old, from: me, authentic: true });
        }
        if self.lies.lies.contains(&Lie::Replay) {
            if self.sent.len() == REPLAY_MEMORY {
                self.sent.pop_front();
            }
            self.sent.push_back(main.clone());
        }
        out.insert(0, Outgoing { msg: main, from: me, authentic });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[derive(Clone, Debug, Hash, PartialEq)]
    struct Vote(u64);
    impl Message for Vote {
        fn wire_size(&self) -> usize {
            8
        }
        fn tamper(&self) -> Option<Self> {
            Some(Vote(self.0 + 1000))
        }
    }

    fn liar(lies: &[Lie], share: f64) -> (Liar<Vote>, SimRng) {
        let mut rng = Stream::Faults.rng(3);
        let lies = Lies { lies: lies.iter().copied().collect(), share };
        (Liar::new(NodeId(0), 5, lies, &mut rng), rng)
    }

    #[test]
    fn an_equivocator_tells_each_side_one_story_all_run() {
        let (mut l, mut rng) = liar(&[Lie::Equivocate], 1.0);
        let far = l.far_side();
        assert!(!far.is_empty() && far.len() < 4 && !far.contains(&NodeId(0)), "two non-empty sides: {far:?}");
        let mut stats = ByzantineStats::default();
        for round in 0..3 {
            for to in 1..5 {
                let out = l.send(NodeId(0), NodeId(to), Vote(round), &mut rng, &mut stats);
                assert_eq!(out.len(), 1);
                let told = if far.contains(&NodeId(to)) { round + 1000 } else { round };
                assert_eq!(out[0].msg, Vote(told), "node {to}, round {round}");
                assert!(out[0].authentic, "an equivocator signs both stories");
            }
        }
        assert_eq!(stats.equivocated, 3 * far.len() as u64);
    }

    #[test]
    fn forgeries_claim_another_sender_and_do_not_verify() {
        let (mut l, mut rng) = liar(&[Lie::Forge], 1.0);
        let mut stats = ByzantineStats::default();
        let out = l.send(NodeId(0), NodeId(2), Vote(7), &mut rng, &mut stats);
        assert_eq!(out.len(), 2);
        assert!(out[0].authentic && out[0].from == NodeId(0));
        assert!(!out[1].authentic && out[1].from != NodeId(0) && out[1].from != NodeId(2));
        assert_eq!(stats.forged, 1);
    }

    #[test]
    fn replays_resend_genuine_old_messages_and_withholding_drops_the_far_side() {
        let (mut l, mut rng) = liar(&[Lie::Replay], 1.0);
        let mut stats = ByzantineStats::default();
        assert_eq!(l.send(NodeId(0), NodeId(1), Vote(1), &mut rng, &mut stats).len(), 1, "nothing to replay yet");
        let out = l.send(NodeId(0), NodeId(1), Vote(2), &mut rng, &mut stats);
        assert_eq!((out.len(), &out[1].msg, out[1].authentic), (2, &Vote(1), true));

        let (mut l, mut rng) = liar(&[Lie::Withhold], 1.0);
        let far = l.far_side();
        for to in 1..5 {
            let out = l.send(NodeId(0), NodeId(to), Vote(1), &mut rng, &mut stats);
            assert_eq!(out.is_empty(), far.contains(&NodeId(to)));
        }
        assert_eq!(stats.withheld, far.len() as u64);
    }

    #[test]
    fn corruption_strikes_about_its_share_and_never_verifies() {
        let (mut l, mut rng) = liar(&[Lie::Corrupt], 0.25);
        let mut stats = ByzantineStats::default();
        for i in 0..4000 {
            let out = l.send(NodeId(0), NodeId(1), Vote(i), &mut rng, &mut stats);
            assert_eq!(out[0].authentic, out[0].msg == Vote(i), "altered exactly when not authentic");
        }
        assert!((900..1100).contains(&stats.corrupted), "{}", stats.corrupted);
    }
}
