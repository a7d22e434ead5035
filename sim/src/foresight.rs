//! What an oracle knows: the whole workload of a run, ahead of time.
//!
//! No real system has this. It exists so that a synchronisation policy can be compared against
//! the best any policy could do on the same operations (`mode: oracle` of gossip): a protocol
//! that declares [`crate::Protocol::foresight`] finds it in [`crate::Ctx::foresight`].

use std::collections::BTreeMap;

use crate::history::{Key, Op};
use crate::protocol::NodeId;
use crate::time::SimTime;

/// One future operation on a key: when it is called, through which node, and whether it reads.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Touch {
    at: SimTime,
    node: NodeId,
    read: bool,
}

/// Every operation a run's clients will call, by key and in time order.
#[derive(Clone, Debug, Default)]
pub struct Foresight {
    by_key: BTreeMap<Key, Vec<Touch>>,
}

impl Foresight {
    /// The foresight of these operations (any order): when each is called, through which node.
    pub fn new<'a>(ops: impl IntoIterator<Item = (SimTime, NodeId, &'a Op)>) -> Self {
        let mut by_key: BTreeMap<Key, Vec<Touch>> = BTreeMap::new();
        for (at, node, op) in ops {
            by_key.entry(op.key()).or_default().push(Touch { at, node, read: !op.is_update() });
        }
        for touches in by_key.values_mut() {
            touches.sort_by_key(|t| t.at); // stable: equal times keep their order
        }
        Foresight { by_key }
    }

    /// The nodes through which `key` will be read after `after` and before its next update, and
    /// the node of that update, each with the time of its first such operation, in node order:
    /// whom a write made at `after` must reach, and by when, for no read to miss it. The next
    /// writer is among them because a last-writer-wins store orders its write after this one
    /// only if it has seen this one.
    pub fn audience(&self, key: Key, after: SimTime) -> Vec<(NodeId, SimTime)> {
        let Some(touches) = self.by_key.get(&key) else { return Vec::new() };
        let from = touches.partition_point(|t| t.at <= after);
        let mut first: BTreeMap<NodeId, SimTime> = BTreeMap::new();
        for t in &touches[from..] {
            first.entry(t.node).or_insert(t.at);
            if !t.read {
                break;
            }
        }
        first.into_iter().collect()
    }

    /// How many operations it knows of.
    pub fn len(&self) -> usize {
        self.by_key.values().map(Vec::len).sum()
    }

    /// True when it knows of no operation.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_is_the_readers_before_the_next_update_and_its_writer() {
        let ms = |m: u64| SimTime(m * 1_000_000);
        let ops = [
            (ms(1), NodeId(0), Op::Put { key: 7, value: 1 }),
            (ms(3), NodeId(2), Op::Get { key: 7 }),
            (ms(2), NodeId(1), Op::Get { key: 7 }),
            (ms(4), NodeId(1), Op::Get { key: 7 }),
            (ms(5), NodeId(2), Op::Put { key: 7, value: 2 }),
            (ms(6), NodeId(0), Op::Get { key: 7 }),
            (ms(2), NodeId(3), Op::Get { key: 8 }),
        ];
        let f = Foresight::new(ops.iter().map(|(at, n, op)| (*at, *n, op)));
        assert_eq!(f.len(), 7);
        assert_eq!(f.audience(7, ms(1)), vec![(NodeId(1), ms(2)), (NodeId(2), ms(3))], "n2 reads, then writes");
        assert_eq!(f.audience(7, ms(5)), vec![(NodeId(0), ms(6))], "the second write's readers only");
        assert_eq!(f.audience(7, ms(6)), vec![]);
        assert_eq!(f.audience(9, ms(0)), vec![], "a key nobody touches");
        assert_eq!(f.audience(8, ms(0)), vec![(NodeId(3), ms(2))]);
        let g = Foresight::new([(ms(1), NodeId(4), &Op::Put { key: 1, value: 1 })]);
        assert_eq!(g.audience(1, ms(0)), vec![(NodeId(4), ms(1))], "the next writer alone");
    }
}
