//! Hooks through which checkers and metrics watch a run as it goes, without the engine knowing
//! them: the engine calls an [`Observer`], the reports crate implements it.

use crate::fault::Fault;
use crate::protocol::{Exposure, NodeId};
use crate::time::SimTime;

/// Watches a run. Every method has a do-nothing default.
pub trait Observer {
    /// A write became readable at `node`.
    fn on_expose(&mut self, now: SimTime, node: NodeId, exposure: &Exposure) {
        let _ = (now, node, exposure);
    }
    /// The periodic sample of the cluster (every `sample_every` of simulated time).
    fn on_sample(&mut self, now: SimTime, sample: &Sample<'_>) {
        let _ = (now, sample);
    }
    /// A fault was applied.
    fn on_fault(&mut self, now: SimTime, fault: &Fault) {
        let _ = (now, fault);
    }
    /// The settle phase began: faults healed, clients stopped.
    fn on_settle(&mut self, now: SimTime) {
        let _ = now;
    }
}

/// What the engine samples periodically.
#[derive(Copy, Clone, Debug)]
pub struct Sample<'a> {
    /// Every replica's state digest (`None` for a crashed node).
    pub digests: &'a [Option<u64>],
    /// The term each node believes it leads ([`crate::Protocol::leader_term`]), if any.
    pub leaders: &'a [Option<u64>],
    /// Messages sent since the run began.
    pub messages_sent: u64,
    /// Bytes sent since the run began.
    pub bytes_sent: u64,
}

/// Watches nothing.
impl Observer for () {}
