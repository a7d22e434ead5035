//! Membership changes one server at a time (Ongaro's dissertation, ch. 4).
//!
//! A configuration is a log entry listing every voting member; each server uses the latest one
//! in its log, committed or not. Adding or removing one server at a time keeps every majority
//! of the old configuration overlapping every majority of the new one, so the two can never
//! elect two leaders in one term. The leader therefore starts a change only when:
//! - the previous change has committed (one change in flight at a time), and
//! - an entry of its own term has committed (its no-op): without this, a leader elected under
//!   an uncommitted configuration could commit a change that a concurrent, overwritten change
//!   makes unsafe (the bug Ongaro reported in the single-server algorithm in 2015).
//!
//! A server that joins starts empty and outside every configuration: it asks to be added, the
//! leader replicates to it as a learner until it holds the log up to where it was when it
//! asked, and only then appends the configuration that adds it (catching up first keeps a slow
//! newcomer from stalling commits, §4.2.1). A server that leaves drains: it asks to be removed,
//! keeps serving as a voter until a configuration without it commits, and departs when the
//! leader says so, or when it was the leader, after stepping down (§4.2.2). Only members
//! campaign, and PreVote and CheckQuorum keep a removed server that has not heard of its
//! removal from deposing a working leader (§4.2.3).

use std::collections::BTreeSet;

use syncsim_sim::{Ctx, Departure, NodeId};

use super::log::Command;
use super::monitor::RaftNote;
use super::{Bug, RaftMsg, RaftNode, RaftTimer, Role};
use crate::planted::Planted;

/// A server that joins or leaves asks again every minimum election timeout; one that
/// leaves gives up after this many retries (an operator's shutdown timeout) and departs
/// anyway, its removal still requested.
const LEAVE_TRIES: u32 = 20;

impl RaftNode {
    /// The voting members this server uses now: the latest configuration in its log, else
    /// the cluster's first members (none for a server that joined later).
    pub(super) fn members(&self) -> &[NodeId] {
        self.log.config().or(self.initial.as_deref()).unwrap_or(&[])
    }

    /// True while this server is a voting member of its latest configuration.
    pub(super) fn is_member(&self) -> bool {
        self.members().binary_search(&self.id).is_ok()
    }

    /// How many members make a majority.
    pub(super) fn majority(&self) -> usize {
        self.members().len() / 2 + 1
    }

    /// True when the members in `set` are a majority of the configuration.
    pub(super) fn quorum_of(&self, set: &BTreeSet<NodeId>) -> bool {
        self.members().iter().filter(|k| set.contains(k)).count() >= self.majority()
    }

    /// `value` of every member, highest first: the `majority()`-th is what a majority reached.
    pub(super) fn by_member(&self, value: impl Fn(NodeId) -> u64) -> Vec<u64> {
        let mut values: Vec<u64> = self.members().iter().map(|&k| value(k)).collect();
        values.sort_unstable_by(|a, b| b.cmp(a));
        values
    }

    /// Whom the leader replicates to: the other members, then the learners.
    pub(super) fn targets(&self) -> Vec<NodeId> {
        let mut targets: Vec<NodeId> = self.members().iter().copied().filter(|&k| k != self.id).collect();
        // A learner becomes a member only as it stops being a learner.
        targets.extend(self.learners.keys());
        targets
    }

    /// At start: a server that started with the cluster knows its first members.
    pub(super) fn start_membership(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.initial.is_none() {
            let mut first: Vec<NodeId> = ctx.peers().iter().chain([self.id]).collect();
            first.sort_unstable();
            self.initial = Some(first);
        }
        self.committed_members = self.log.config_at(self.commit).or(self.initial.as_deref()).unwrap_or(&[]).to_vec();
        if self.joining() {
            self.ask(ctx, true);
            ctx.set_timer(RaftTimer::Membership, self.config.election_timeout.min);
        }
    }

    /// True for a server that joined and is not yet in a committed configuration.
    fn joining(&self) -> bool {
        self.initial.as_ref().is_some_and(Vec::is_empty) && !self.committed_members.contains(&self.id)
    }

    /// The server leaves: a member drains until its removal commits; any other goes at once.
    pub(super) fn leave(&mut self, ctx: &mut Ctx<'_, Self>) -> Departure {
        if !self.is_member() && !self.committed_members.contains(&self.id) {
            return Departure::Now;
        }
        self.leaving = Some(0);
        self.ask(ctx, false);
        ctx.set_timer(RaftTimer::Membership, self.config.election_timeout.min);
        Departure::Drain
    }

    /// Asks the leader (or, not knowing it, a member who will pass it on) to add or remove
    /// this server.
    fn ask(&mut self, ctx: &mut Ctx<'_, Self>, add: bool) {
        if self.role == Role::Leader {
            self.reconfigure(ctx, self.id, add);
            return;
        }
        let to = match self.leader.filter(|&l| l != self.id) {
            Some(leader) => Some(leader),
            None => ctx.random_peer(),
        };
        if let Some(to) = to {
            ctx.send(to, RaftMsg::Reconfigure { node: self.id, add });
        }
    }

    /// The Membership timer: ask again while joining or leaving.
    pub(super) fn ask_again(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(tries) = self.leaving {
            if tries >= LEAVE_TRIES {
                self.depart(ctx);
                return;
            }
            self.leaving = Some(tries + 1);
            self.ask(ctx, false);
        } else if self.joining() {
            self.ask(ctx, true);
        } else {
            return;
        }
        ctx.set_timer(RaftTimer::Membership, self.config.election_timeout.min);
    }

    /// True when the leader may start a configuration change now.
    fn may_change(&self) -> bool {
        let settled = self.log.config_index() <= self.commit || self.config.bug.is(Bug::ConcurrentChanges);
        let own_term_committed = self.commit >= self.term_start;
        settled && own_term_committed
    }

    /// A request to add or remove `node`: the leader starts it when it may (otherwise the
    /// server asks again); a follower passes it on to its leader.
    pub(super) fn reconfigure(&mut self, ctx: &mut Ctx<'_, Self>, node: NodeId, add: bool) {
        if self.role != Role::Leader {
            if let Some(leader) = self.leader.filter(|&l| l != self.id) {
                ctx.send(leader, RaftMsg::Reconfigure { node, add });
            }
            return;
        }
        if self.members().contains(&node) == add {
            // Done already, or under way; a removal that has committed is confirmed again
            // (the first word may have been lost).
            if !add && !self.committed_members.contains(&node) && node != self.id {
                ctx.send(node, RaftMsg::Removed);
            }
            return;
        }
        if !self.may_change() {
            return;
        }
        if add {
            // Catch the newcomer up first, to where the log ends now.
            if !self.learners.contains_key(&node) {
                self.learners.insert(node, self.log.last_index());
                self.send_append(ctx, node);
            }
        } else {
            let config: Vec<NodeId> = self.members().iter().copied().filter(|&k| k != node).collect();
            if !config.is_empty() {
                self.change(ctx, config);
            }
        }
    }

    /// A learner acknowledged entries: once it holds what it was to catch up on, the
    /// configuration that adds it is appended.
    pub(super) fn learner_progress(&mut self, ctx: &mut Ctx<'_, Self>, node: NodeId) {
        let Some(&target) = self.learners.get(&node) else { return };
        if self.matched[node.index()] < target {
            return;
        }
        self.learners.remove(&node);
        if !self.members().contains(&node) && self.may_change() {
            let mut config = self.members().to_vec();
            config.push(node);
            config.sort_unstable();
            self.change(ctx, config);
        }
    }

    /// Appends the configuration `config` and sends it out.
    fn change(&mut self, ctx: &mut Ctx<'_, Self>, config: Vec<NodeId>) {
        let index = self.log.last_index() + 1;
        ctx.note(RaftNote::Reconfigured { index, config: config.clone(), committed: self.committed_members.clone() });
        self.propose(ctx, Command { change: Some(config), ..Command::default() });
        for peer in self.targets() {
            if self.next[peer.index()] == self.log.last_index() {
                self.send_append(ctx, peer);
            }
        }
    }

    /// After the commit index moved: acts on a configuration that has just committed. The
    /// leader tells the servers it removed; a leader that removed itself steps down; a
    /// leaving server that sees its removal committed departs.
    pub(super) fn config_committed(&mut self, ctx: &mut Ctx<'_, Self>) {
        let now = self.log.config_at(self.commit).or(self.initial.as_deref()).unwrap_or(&[]);
        if now == self.committed_members.as_slice() {
            return;
        }
        let before = std::mem::replace(&mut self.committed_members, now.to_vec());
        if self.role == Role::Leader {
            for gone in before.into_iter().filter(|k| *k != self.id && !self.committed_members.contains(k)) {
                ctx.send(gone, RaftMsg::Removed);
            }
            if !self.committed_members.contains(&self.id) {
                self.resign(ctx);
            }
        }
        if self.leaving.is_some() && !self.committed_members.contains(&self.id) {
            self.depart(ctx);
        }
    }

    /// A leader whose removal committed steps down and hands over to the member whose log
    /// is longest (Ongaro's dissertation, §3.10 and §4.2.2): without it, the cluster would
    /// wait an election timeout for a leader that is gone.
    fn resign(&mut self, ctx: &mut Ctx<'_, Self>) {
        let members = self.committed_members.clone();
        let successor = members.iter().copied().rev().max_by_key(|k| self.matched[k.index()]);
        if let Some(successor) = successor {
            for &k in &members {
                ctx.send(k, RaftMsg::Resigned { term: self.term, successor });
            }
        }
        self.become_follower(ctx, self.term, None);
        self.leader = None;
    }

    /// The leader of `term` resigned: the members stop counting on it, so they vote for a
    /// new candidate at once, and its successor campaigns (without a pre-vote: the cluster
    /// knows it needs a leader).
    pub(super) fn resigned(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, term: u64, successor: NodeId) {
        if term != self.term || self.leader.is_some_and(|l| l != from) {
            return;
        }
        self.leader = None;
        self.last_heard_leader = None;
        if successor == self.id && self.is_member() && self.role == Role::Follower {
            self.campaign(ctx, false);
        }
    }

    /// The leader says this server's removal has committed.
    pub(super) fn removed(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.leaving.is_some() {
            self.depart(ctx);
        }
    }

    fn depart(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.leaving = None;
        ctx.note(RaftNote::Left);
        ctx.depart();
    }
}
