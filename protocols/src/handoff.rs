//! A leaving replica's acknowledged handoff, shared by gossip and the CRDTs: it sends its
//! whole state to two members, drains ([`syncsim_sim::Departure::Drain`]) until one of them
//! acknowledges it, sends to two others each round meanwhile (a member it picked may have
//! left or crashed already, which its view may not show yet), and gives up after
//! [`LEAVE_ROUNDS`] rounds, as an operator's shutdown timeout would. It refuses client
//! requests while leaving: a write taken after its handoff would leave with it.

use syncsim_sim::{Ctx, Protocol, RequestId};

/// A leaving node waits this many rounds for a member to acknowledge its handoff.
pub const LEAVE_ROUNDS: u32 = 20;

/// Where a node is in leaving.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Handoff {
    /// Rounds since it first handed off, while no member has acknowledged it.
    rounds: Option<u32>,
}

impl Handoff {
    /// It starts leaving (its first handoff is out).
    pub fn begin(&mut self) {
        self.rounds = Some(0);
    }

    /// True while it waits for an acknowledgement.
    pub fn is_leaving(&self) -> bool {
        self.rounds.is_some()
    }

    /// A member has its handoff: it departs.
    pub fn acknowledged<P: Protocol>(&mut self, ctx: &mut Ctx<'_, P>) {
        if self.rounds.take().is_some() {
            ctx.depart();
        }
    }

    /// A round while leaving: true when it should hand off again; after [`LEAVE_ROUNDS`] it
    /// departs instead.
    pub fn round<P: Protocol>(&mut self, ctx: &mut Ctx<'_, P>) -> bool {
        let rounds = self.rounds.map_or(0, |r| r + 1);
        if rounds >= LEAVE_ROUNDS {
            self.rounds = None;
            ctx.depart();
            return false;
        }
        self.rounds = Some(rounds);
        true
    }

    /// Refuses client request `req` while leaving: true if it did.
    pub fn refuse<P: Protocol>(&self, ctx: &mut Ctx<'_, P>, req: RequestId) -> bool {
        if self.is_leaving() {
            ctx.reply(req, Err("this node is leaving".into()));
        }
        self.is_leaving()
    }
}
