//! Convergence: from periodic samples of every replica's state digest, whether the live
//! replicas ended equal and how long after the settle phase began they became so, and how far
//! apart they were over the run (the divergence timeline).

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
    /// Every sample as (time, distinct states, share of differing replica pairs).
    timeline: Vec<(u64, u32, f64)>,
}

/// The most points a report's divergence timeline keeps; longer runs are bucketed, each
/// bucket keeping its worst sample.
const TIMELINE_POINTS: usize = 500;

/// How far apart the live replicas were at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DivergencePoint {
    /// When (ns).
    pub t_ns: u64,
    /// Distinct states among live replicas.
    pub distinct: u32,
    /// Share of pairs of live replicas whose states differ.
    pub differing_pairs: f64,
}

impl ConvergenceTracker {
    /// Records one sample of digests (`None` for a crashed replica).
    pub fn sample(&mut self, now: SimTime, digests: &[Option<u64>]) {
        let mut live: Vec<u64> = digests.iter().flatten().copied().collect();
        live.sort_unstable();
        let distinct = live.chunk_by(|a, b| a == b).count();
        let n = live.len() as f64;
        let same: f64 = live.chunk_by(|a, b| a == b).map(|g| (g.len() * (g.len() - 1)) as f64 / 2.0).sum();
        let pairs = n * (n - 1.0) / 2.0;
        let differing = if pairs > 0.0 { 1.0 - same / pairs } else { 0.0 };
        self.timeline.push((now.0, distinct as u32, differing));
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
            timeline: self.timeline(),
        }
    }

    /// The samples, bucketed down to at most [`TIMELINE_POINTS`], each bucket's worst kept.
    fn timeline(&self) -> Vec<DivergencePoint> {
        let per = self.timeline.len().div_ceil(TIMELINE_POINTS).max(1);
        self.timeline
            .chunks(per)
            .map(|bucket| {
                let worst = bucket
                    .iter()
                    .max_by(|a, b| a.2.total_cmp(&b.2).then(a.1.cmp(&b.1)))
                    .expect("chunks are never empty");
                DivergencePoint { t_ns: bucket[0].0, distinct: worst.1, differing_pairs: worst.2 }
            })
            .collect()
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
    /// Divergence over the run, one point per sample or bucket of samples.
    pub timeline: Vec<DivergencePoint>,
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
        // Two replicas, two states: the one pair differs; then they agree.
        assert_eq!(s.timeline[0].differing_pairs, 1.0);
        assert_eq!((s.timeline[2].distinct, s.timeline[2].differing_pairs), (1, 0.0));
    }

    #[test]
    fn differing_pairs_count_pairs_not_states() {
        let mut c = ConvergenceTracker::default();
        // States a, a, a, b: 3 of the 6 pairs differ.
        c.sample(SimTime(0), &[Some(1), Some(1), Some(1), Some(2)]);
        let p = &c.finish().timeline[0];
        assert_eq!((p.distinct, p.differing_pairs), (2, 0.5));
    }

    #[test]
    fn long_timelines_keep_each_buckets_worst_sample() {
        let mut c = ConvergenceTracker::default();
        for t in 0..2000u64 {
            let d = if t == 1234 { [Some(1), Some(2)] } else { [Some(1), Some(1)] };
            c.sample(SimTime(t), &d);
        }
        let timeline = c.finish().timeline;
        assert!(timeline.len() <= TIMELINE_POINTS);
        assert_eq!(timeline.iter().filter(|p| p.distinct == 2).count(), 1, "the one divergent sample survives");
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
