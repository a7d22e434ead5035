//! The observer the CLI hands the engine: it feeds every online metric at once.

use syncsim_sim::{Exposure, NodeId, Observer, Sample, SimTime};

use crate::convergence::ConvergenceTracker;
use crate::timeline::TimelineTracker;
use crate::visibility::VisibilityTracker;

/// Gathers visibility and convergence while a run goes on.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// Write visibility.
    pub visibility: VisibilityTracker,
    /// Replica convergence.
    pub convergence: ConvergenceTracker,
    /// Message rates and leadership over time.
    pub timeline: TimelineTracker,
}

impl Tracker {
    /// A tracker for a cluster of `nodes` replicas.
    pub fn new(nodes: usize) -> Self {
        Tracker { visibility: VisibilityTracker::new(nodes), ..Tracker::default() }
    }
}

impl Observer for Tracker {
    fn on_expose(&mut self, now: SimTime, node: NodeId, exposure: &Exposure) {
        self.visibility.expose(now, node, exposure);
    }
    fn on_sample(&mut self, now: SimTime, sample: &Sample<'_>) {
        self.convergence.sample(now, sample.digests);
        self.timeline.sample(now, sample);
    }
    fn on_settle(&mut self, now: SimTime) {
        self.convergence.settle(now);
    }
}
