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
    /// The periodic sample of every replica's state digest (`None` for a crashed node).
    fn on_sample(&mut self, now: SimTime, digests: &[Option<u64>]) {
        let _ = (now, digests);
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

/// Watches nothing.
impl Observer for () {}
