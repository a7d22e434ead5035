//! Convergence: from periodic samples of every replica's state digest, whether the live
//! replicas ended equal and how long after the settle phase began they became so.

use serde::Serialize;
use syncsim_sim::SimTime;

/// Follows the state samples as the run goes.
#[derive(Clone, Debug, Default)]
pub struct ConvergenceTracker {
    settle_start: Option<SimTime>,
    /// Start of the current run of samples in which all live replicas agree.
    agreeing_since: Option<SimTime>,
    last_distinct: usize,
    last_live: usize,
    samples: u64,
    max_distinct: usize,
}

impl ConvergenceTracker {
    /// Records one sample of digests (`None` for a crashed replica).
    pub fn sample(&mut self, now: SimTime, digests: &[Option<u64>]) {
        let mut live: Vec<u64> = digests.iter().flatten().copied().collect();
        live.sort_unstable();
        live.dedup();
        let distinct = live.len();
        self.samples += 1;
        self.last_live = digests.iter().flatten().count();
        self.last_distinct = distinct;
        self.max_distinct = self.max_distinct.max(distinct);
        if distinct <= 1 {
            self.agreeing_since.get_or_insert(now);
        } else {
            self.agreeing_since = None;
        }
    }

    /// Records that the settle phase began.
    pub fn settle(&mut self, now: SimTime) {
        self.settle_start = Some(now);
    }

    /// The verdict at the end of the run.
    pub fn finish(&self) -> ConvergenceStats {
        let settle = self.settle_start.unwrap_or(SimTime::ZERO);
        let converged = self.samples > 0 && self.last_distinct <= 1;
        ConvergenceStats {
            converged,
            after_settle_ns: if converged { self.agreeing_since.map(|t| t.since(settle).as_nanos()) } else { None },
            live_replicas: self.last_live as u64,
            distinct_states_at_end: self.last_distinct as u64,
            max_distinct_states: self.max_distinct as u64,
            samples: self.samples,
        }
    }
}

/// Whether and when the replicas converged.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConvergenceStats {
    /// All live replicas had equal state at the end.
    pub converged: bool,
    /// How long after the settle phase began they agreed (and kept agreeing); 0 if they already
    /// agreed when it began. Resolution: the sampling interval.
    pub after_settle_ns: Option<u64>,
    /// Replicas running at the end.
    pub live_replicas: u64,
    /// Distinct replica states at the end.
    pub distinct_states_at_end: u64,
    /// The most distinct states seen in any sample.
    pub max_distinct_states: u64,
    /// Samples taken.
    pub samples: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn convergence_time_counts_from_the_settle_start() {
        let mut c = ConvergenceTracker::default();
        c.sample(SimTime(10), &[Some(1), Some(2)]);
        c.settle(SimTime(20));
        c.sample(SimTime(30), &[Some(1), Some(2)]);
        c.sample(SimTime(40), &[Some(3), Some(3), None]);
        c.sample(SimTime(50), &[Some(3), Some(3), None]);
        let s = c.finish();
        assert!(s.converged);
        assert_eq!(s.after_settle_ns, Some(20));
        assert_eq!(s.live_replicas, 2);
        assert_eq!(s.max_distinct_states, 2);
    }

    #[test]
    fn diverged_at_the_end_is_not_converged() {
        let mut c = ConvergenceTracker::default();
        c.settle(SimTime(0));
        c.sample(SimTime(10), &[Some(3), Some(3)]);
        c.sample(SimTime(20), &[Some(3), Some(4)]);
        let s = c.finish();
        assert!(!s.converged);
        assert_eq!(s.after_settle_ns, None);
        assert_eq!(s.distinct_states_at_end, 2);
    }
}
