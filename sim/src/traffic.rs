//! Who sent what to whom: messages and bytes per node, per message kind, and between node
//! pairs, counted as the run goes, for the report's per-node tables and traffic heat map.

use serde::Serialize;

use crate::protocol::NodeId;

/// The largest cluster whose pair matrix is kept (n² counters); larger ones keep the per-node
/// and per-kind counts only.
pub const PAIR_LIMIT: usize = 64;

/// A message count and its bytes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Messages.
    pub messages: u64,
    /// Their bytes on the wire.
    pub bytes: u64,
}

impl Counts {
    #[inline(always)]
    fn add(&mut self, size: u64) {
        self.messages += 1;
        self.bytes += size;
    }
}

/// One node's traffic.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeTraffic {
    /// Handed to the network by it.
    pub sent: Counts,
    /// Delivered to it while it ran.
    pub received: Counts,
}

/// The traffic of one kind of message.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KindTraffic {
    /// The kind, as the protocol names it ([`Message::kind`](crate::protocol::Message::kind)).
    pub kind: &'static str,
    /// Handed to the network.
    pub sent: Counts,
    /// Delivered to a running node.
    pub received: Counts,
}

/// The run's traffic, by node, by kind and by pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Per node, by index.
    pub nodes: Vec<NodeTraffic>,
    /// Per message kind, in order of first use.
    pub kinds: Vec<KindTraffic>,
    /// Sent from `i` to `j` at `i * n + j`, for clusters of at most [`PAIR_LIMIT`] nodes;
    /// empty otherwise.
    pub pairs: Vec<Counts>,
}

impl Traffic {
    /// Counters for `nodes` nodes.
    pub fn new(nodes: usize) -> Traffic {
        let pairs = if nodes <= PAIR_LIMIT { vec![Counts::default(); nodes * nodes] } else { Vec::new() };
        Traffic { nodes: vec![NodeTraffic::default(); nodes], kinds: Vec::new(), pairs }
    }

    /// A message of `kind` and `size` bytes handed to the network from `from` to `to`.
    #[inline(always)]
    pub fn sent(&mut self, from: NodeId, to: NodeId, kind: &'static str, size: u64) {
        if let Some(n) = self.nodes.get_mut(from.index()) {
            n.sent.add(size);
        }
        let width = self.nodes.len();
        if let Some(p) = self.pairs.get_mut(from.index() * width + to.index()) {
            p.add(size);
        }
        self.kind(kind).sent.add(size);
    }

    /// A message of `kind` and `size` bytes delivered to `to`.
    #[inline(always)]
    pub fn received(&mut self, to: NodeId, kind: &'static str, size: u64) {
        if let Some(n) = self.nodes.get_mut(to.index()) {
            n.received.add(size);
        }
        self.kind(kind).received.add(size);
    }

    /// The counters of `kind`; a protocol has a handful of kinds, so a scan beats a map.
    #[inline(always)]
    fn kind(&mut self, kind: &'static str) -> &mut KindTraffic {
        let i = match self.kinds.iter().position(|k| std::ptr::eq(k.kind, kind) || k.kind == kind) {
            Some(i) => i,
            None => {
                self.kinds.push(KindTraffic { kind, sent: Counts::default(), received: Counts::default() });
                self.kinds.len() - 1
            }
        };
        &mut self.kinds[i]
    }

    /// Messages sent from `from` to `to`, if pairs are kept.
    pub fn pair(&self, from: usize, to: usize) -> Option<Counts> {
        self.pairs.get(from * self.nodes.len() + to).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_each_message_by_node_kind_and_pair() {
        let mut t = Traffic::new(3);
        t.sent(NodeId(0), NodeId(1), "Append", 100);
        t.sent(NodeId(0), NodeId(2), "Append", 100);
        t.sent(NodeId(2), NodeId(0), "AppendReply", 10);
        t.received(NodeId(1), "Append", 100);
        assert_eq!(t.nodes[0].sent, Counts { messages: 2, bytes: 200 });
        assert_eq!(t.nodes[1].received, Counts { messages: 1, bytes: 100 });
        assert_eq!(t.nodes[2].received, Counts::default(), "the copy to n2 was not delivered");
        assert_eq!(t.pair(0, 2), Some(Counts { messages: 1, bytes: 100 }));
        assert_eq!(t.pair(2, 0), Some(Counts { messages: 1, bytes: 10 }));
        assert_eq!(t.pair(1, 0), Some(Counts::default()));
        let kinds: Vec<(&str, u64, u64)> =
            t.kinds.iter().map(|k| (k.kind, k.sent.messages, k.received.messages)).collect();
        assert_eq!(kinds, vec![("Append", 2, 1), ("AppendReply", 1, 0)]);
        assert!(Traffic::new(PAIR_LIMIT + 1).pairs.is_empty(), "no n² matrix for large clusters");
    }
}
