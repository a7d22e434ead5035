//! Client operations, their results, and the history of every operation a run performed.
//!
//! One vocabulary for every protocol, so that protocols can be compared on the same workload:
//! registers (`put`/`get`), counters (`incr`/`read`) and sets (`add`/`remove`/`read`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::{NodeId, RequestId};
use crate::time::SimTime;

/// A key of the replicated store.
pub type Key = u64;
/// A value written to a register or held in a set.
pub type Value = u64;

/// One client operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "f", deny_unknown_fields)]
pub enum Op {
    /// Write `value` to the register at `key`.
    Put {
        /// Which register.
        key: Key,
        /// What to write.
        value: Value,
    },
    /// Read the register at `key`.
    Get {
        /// Which register.
        key: Key,
    },
    /// Add `by` to the counter at `key`.
    Incr {
        /// Which counter.
        key: Key,
        /// How much to add.
        by: u64,
    },
    /// Read the counter or set at `key`.
    Read {
        /// Which counter or set.
        key: Key,
    },
    /// Add `elem` to the set at `key`.
    Add {
        /// Which set.
        key: Key,
        /// The element.
        elem: Value,
    },
    /// Remove `elem` from the set at `key`.
    Remove {
        /// Which set.
        key: Key,
        /// The element.
        elem: Value,
    },
    /// If the register at `key` holds `expect`, set it to `new`; answers whether it did.
    Cas {
        /// Which register.
        key: Key,
        /// The value it must hold.
        expect: Value,
        /// The value it gets.
        new: Value,
    },
    /// Subtract `by` from the counter at `key`.
    Decr {
        /// Which counter.
        key: Key,
        /// How much to subtract.
        by: u64,
    },
    /// Insert `elem` into the sequence at `key` before position `pos` (at the end if `pos` is
    /// past it).
    Insert {
        /// Which sequence.
        key: Key,
        /// Where.
        pos: u64,
        /// What.
        elem: Value,
    },
    /// Delete the element at position `pos` of the sequence at `key` (nothing if past the end).
    Delete {
        /// Which sequence.
        key: Key,
        /// Where.
        pos: u64,
    },
}

impl Op {
    /// The kind of operation, for statistics and support checks.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Put { .. } => OpKind::Put,
            Op::Get { .. } => OpKind::Get,
            Op::Incr { .. } => OpKind::Incr,
            Op::Read { .. } => OpKind::Read,
            Op::Add { .. } => OpKind::Add,
            Op::Remove { .. } => OpKind::Remove,
            Op::Cas { .. } => OpKind::Cas,
            Op::Decr { .. } => OpKind::Decr,
            Op::Insert { .. } => OpKind::Insert,
            Op::Delete { .. } => OpKind::Delete,
        }
    }

    /// The key the operation touches.
    pub fn key(&self) -> Key {
        match *self {
            Op::Put { key, .. }
            | Op::Get { key }
            | Op::Incr { key, .. }
            | Op::Read { key }
            | Op::Add { key, .. }
            | Op::Remove { key, .. }
            | Op::Cas { key, .. }
            | Op::Decr { key, .. }
            | Op::Insert { key, .. }
            | Op::Delete { key, .. } => key,
        }
    }

    /// True for operations that change state.
    pub fn is_update(&self) -> bool {
        self.kind().is_update()
    }
}

/// The kinds of client operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpKind {
    /// Register write.
    Put,
    /// Register read.
    Get,
    /// Counter increment.
    Incr,
    /// Counter or set read.
    Read,
    /// Set insertion.
    Add,
    /// Set removal.
    Remove,
    /// Register compare-and-set.
    Cas,
    /// Counter decrement.
    Decr,
    /// Sequence insertion.
    Insert,
    /// Sequence deletion.
    Delete,
}

impl OpKind {
    /// Every kind, in a fixed order.
    pub const ALL: [OpKind; 10] = [
        OpKind::Put,
        OpKind::Get,
        OpKind::Cas,
        OpKind::Incr,
        OpKind::Decr,
        OpKind::Read,
        OpKind::Add,
        OpKind::Remove,
        OpKind::Insert,
        OpKind::Delete,
    ];

    /// The name used in scenarios and reports.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "put",
            OpKind::Get => "get",
            OpKind::Incr => "incr",
            OpKind::Read => "read",
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Cas => "cas",
            OpKind::Decr => "decr",
            OpKind::Insert => "insert",
            OpKind::Delete => "delete",
        }
    }

    /// True for kinds that change state.
    pub fn is_update(self) -> bool {
        !matches!(self, OpKind::Get | OpKind::Read)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a successful operation returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Output {
    /// An update took effect; nothing to return.
    Done,
    /// A register's value (`None` if never written).
    Value(Option<Value>),
    /// A counter's value.
    Count(i64),
    /// A set's elements in ascending order, a sequence's in its order, a multi-value
    /// register's concurrent values in ascending order.
    Elems(Vec<Value>),
    /// Whether a compare-and-set swapped.
    Swapped(bool),
}

/// How an operation ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Still waiting for a reply (only while the run goes on).
    Pending,
    /// Completed, with this output.
    Ok(Output),
    /// Definitely did not take effect (e.g. the node refused or was down), with the reason.
    Failed(String),
    /// Timed out: it may or may not have taken effect.
    Unknown,
}

/// One client operation as the history records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The operation's id; also its index in the history.
    pub id: RequestId,
    /// The client that issued it.
    pub client: u32,
    /// The node the client sent it to.
    pub node: NodeId,
    /// What was asked.
    pub op: Op,
    /// When the client issued it.
    pub call: SimTime,
    /// When the client learned the result; `None` if it never did (pending or unknown).
    pub ret: Option<SimTime>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Every operation of a run, in call order; `history[id]` is operation `id`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    entries: Vec<Entry>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Records a new operation called at `call`; returns its id.
    pub fn call(&mut self, client: u32, node: NodeId, op: Op, call: SimTime) -> RequestId {
        let id = RequestId(self.entries.len() as u64);
        self.entries.push(Entry { id, client, node, op, call, ret: None, outcome: Outcome::Pending });
        id
    }

    /// The operation with this id.
    pub fn get(&self, id: RequestId) -> Option<&Entry> {
        self.entries.get(id.0 as usize)
    }

    /// Settles a pending operation; returns false (and changes nothing) if it had already ended.
    pub fn complete(&mut self, id: RequestId, at: SimTime, outcome: Outcome) -> bool {
        match self.entries.get_mut(id.0 as usize) {
            Some(e) if e.outcome == Outcome::Pending => {
                if !matches!(outcome, Outcome::Unknown | Outcome::Pending) {
                    e.ret = Some(at);
                }
                e.outcome = outcome;
                true
            }
            _ => false,
        }
    }

    /// Marks every still-pending operation unknown: the run ended before they did.
    pub fn close(&mut self) {
        for e in &mut self.entries {
            if e.outcome == Outcome::Pending {
                e.outcome = Outcome::Unknown;
            }
        }
    }

    /// All operations in call order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no operation was issued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_completes_once() {
        let mut h = History::new();
        let id = h.call(0, NodeId(1), Op::Get { key: 3 }, SimTime(5));
        assert!(h.complete(id, SimTime(9), Outcome::Ok(Output::Value(None))));
        assert!(!h.complete(id, SimTime(10), Outcome::Unknown), "a late timeout changes nothing");
        let e = h.get(id).unwrap();
        assert_eq!(e.ret, Some(SimTime(9)));
        assert_eq!(e.outcome, Outcome::Ok(Output::Value(None)));
    }

    #[test]
    fn unknown_operations_have_no_return_time() {
        let mut h = History::new();
        let a = h.call(0, NodeId(0), Op::Put { key: 1, value: 1 }, SimTime(0));
        let _b = h.call(1, NodeId(0), Op::Put { key: 1, value: 2 }, SimTime(0));
        h.complete(a, SimTime(7), Outcome::Unknown);
        h.close();
        assert!(h.entries().iter().all(|e| e.outcome == Outcome::Unknown && e.ret.is_none()));
    }
}
