//! The trace: a stable 64-bit hash of every handled event, always computed, and optionally a
//! record of every event for debugging and diagrams.

use serde::Serialize;

use crate::protocol::NodeId;
use crate::time::SimTime;

/// A stable running hash of the event sequence (an FxHash-style multiply–rotate over 64-bit
/// words): the same events in the same order give the same hash on every machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> Self {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Folds one word into the hash.
    #[inline]
    pub fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    /// The hash so far.
    pub fn value(self) -> u64 {
        // A final avalanche, so that near-identical traces give unrelated hashes.
        let mut x = self.0;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

/// What kind of event a trace record is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceKind {
    /// A message was delivered to `node` from `from`.
    Deliver,
    /// One of `node`'s timers fired.
    Timer,
    /// A client request reached `node`.
    Request,
    /// `node` answered a client.
    Reply,
    /// A fault was applied.
    Fault,
}

impl TraceKind {
    /// The code folded into the trace hash.
    pub fn code(self) -> u64 {
        match self {
            TraceKind::Deliver => 1,
            TraceKind::Timer => 2,
            TraceKind::Request => 3,
            TraceKind::Reply => 4,
            TraceKind::Fault => 5,
        }
    }
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceRecord {
    /// When it happened (simulated, nanoseconds).
    pub time: SimTime,
    /// What kind of event.
    pub kind: TraceKind,
    /// The node it happened at (unset for cluster-wide faults).
    pub node: Option<NodeId>,
    /// The sender of a delivered message.
    pub from: Option<NodeId>,
    /// When a delivered message was sent.
    pub sent: Option<SimTime>,
    /// The message, timer, operation or fault, as text.
    pub detail: String,
}
