//! Protocol invariants checked while a run goes on. A protocol reports facts about itself as
//! notes (`Ctx::note`); its monitor sees the notes of every node, in event order, and says when
//! an invariant breaks. The monitor also gathers the protocol's own metrics.

use std::collections::BTreeMap;

use crate::protocol::NodeId;
use crate::time::SimTime;

/// Metrics a protocol's monitor gathered: named numbers and named lists of durations (ns).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProtocolMetrics {
    /// Counts and other single numbers.
    pub numbers: BTreeMap<String, f64>,
    /// Samples of a duration, in nanoseconds (summarized as percentiles by the report).
    pub durations: BTreeMap<String, Vec<u64>>,
}

/// Watches one protocol's notes across every node.
pub trait Monitor<N> {
    /// Node `node` reported `note` at `now`; `Err` names the invariant that broke.
    fn observe(&mut self, now: SimTime, node: NodeId, note: &N) -> Result<(), String>;

    /// Node `node` crashed at `now` (it may hold a role the invariants track).
    fn crashed(&mut self, now: SimTime, node: NodeId) {
        let _ = (now, node);
    }

    /// What the monitor measured over the run, as of `end`.
    fn metrics(&self, end: SimTime) -> ProtocolMetrics {
        let _ = end;
        ProtocolMetrics::default()
    }
}

/// Watches nothing: for protocols without invariants to check.
#[derive(Copy, Clone, Debug, Default)]
pub struct NoMonitor;

impl<N> Monitor<N> for NoMonitor {
    fn observe(&mut self, _: SimTime, _: NodeId, _: &N) -> Result<(), String> {
        Ok(())
    }
}

/// An invariant that broke, and the event that broke it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// When.
    pub time: SimTime,
    /// The node whose note revealed it.
    pub node: NodeId,
    /// What broke.
    pub message: String,
    /// The event being handled: its kind, node and sender.
    pub event: String,
}
