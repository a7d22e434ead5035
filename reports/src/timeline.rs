//! Time series for charts: message and byte rates, and who led which term, sampled as the run
//! goes.

use serde::Serialize;
use syncsim_sim::fault::Fault;
use syncsim_sim::{Sample, SimTime};

/// The most points a rate series keeps; longer runs are averaged over buckets of samples.
const POINTS: usize = 500;

/// Network traffic over one stretch of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RatePoint {
    /// Start of the stretch (ns).
    pub t_ns: u64,
    /// Messages sent per second during it.
    pub messages_per_s: f64,
    /// Bytes sent per second during it.
    pub bytes_per_s: f64,
}

/// From this time on, `leader` led `term` (or nobody led, after `term`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LeaderPoint {
    /// When (ns).
    pub t_ns: u64,
    /// The node leading the highest term; `None` when no node believed it led.
    pub leader: Option<String>,
    /// Its index.
    pub leader_index: Option<u32>,
    /// The highest term led so far.
    pub term: u64,
}

/// A stretch of time during which one node believed it led one term.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LeaderSpan {
    /// The node.
    pub node: String,
    /// Its index.
    pub node_index: u32,
    /// The term it led.
    pub term: u64,
    /// From (ns).
    pub from_ns: u64,
    /// Until (ns): when it stepped down, crashed, or the run ended.
    pub to_ns: u64,
}

/// From this time on, the cluster had `members` nodes, `up` of them running.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ClusterPoint {
    /// When (ns).
    pub t_ns: u64,
    /// Nodes in the cluster: joined and not left (crashed ones included).
    pub members: u32,
    /// Members running (not crashed).
    pub up: u32,
}

/// The cluster's size over a run whose first `members` nodes started it (the rest spares),
/// from its faults in order: a point at the start and at each change.
pub fn cluster_sizes(nodes: usize, members: usize, faults: &[(SimTime, Fault)]) -> Vec<ClusterPoint> {
    let mut member: Vec<bool> = (0..nodes).map(|k| k < members).collect();
    let mut down = vec![false; nodes];
    let point = |t: SimTime, member: &[bool], down: &[bool]| {
        let members = member.iter().filter(|&&m| m).count() as u32;
        let up = member.iter().zip(down).filter(|&(&m, &d)| m && !d).count() as u32;
        ClusterPoint { t_ns: t.0, members, up }
    };
    let mut out = vec![point(SimTime::ZERO, &member, &down)];
    for (t, f) in faults {
        match f {
            Fault::Join(k) => (member[k.index()], down[k.index()]) = (true, false),
            Fault::Leave(k) => member[k.index()] = false,
            Fault::Crash(k) if member[k.index()] => down[k.index()] = true,
            Fault::Restart(k) => down[k.index()] = false,
            _ => continue,
        }
        let p = point(*t, &member, &down);
        if out.last().is_some_and(|l| (l.members, l.up) == (p.members, p.up)) {
            continue;
        }
        if out.last().is_some_and(|l| l.t_ns == p.t_ns) {
            out.pop();
        }
        out.push(p);
    }
    out
}

/// The series of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Timelines {
    /// Message and byte rates.
    pub network: Vec<RatePoint>,
    /// Leadership changes, for protocols with leaders (empty otherwise).
    pub leaders: Vec<LeaderPoint>,
    /// Each node's terms as leader, in order of their start (empty for protocols without
    /// leaders).
    pub leader_spans: Vec<LeaderSpan>,
    /// The cluster's size over time, when nodes joined or left (empty for a fixed cluster).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<ClusterPoint>,
}

/// Follows the samples as the run goes.
#[derive(Clone, Debug, Default)]
pub struct TimelineTracker {
    /// (time, messages sent, bytes sent) so far, at each sample.
    net: Vec<(u64, u64, u64)>,
    /// Leadership changes as (time, leader node, term).
    leaders: Vec<(u64, Option<u32>, u64)>,
    any_leader: bool,
    /// What each node believes it leads now, and since when.
    leading: Vec<Option<(u64, u64)>>,
    /// Finished spans as (node, term, from, to).
    spans: Vec<(u32, u64, u64, u64)>,
}

impl TimelineTracker {
    /// Records one sample.
    pub fn sample(&mut self, now: SimTime, s: &Sample<'_>) {
        self.net.push((now.0, s.messages_sent, s.bytes_sent));
        let best = s.leaders.iter().enumerate().filter_map(|(n, t)| t.map(|t| (t, n as u32))).max();
        self.any_leader |= best.is_some();
        let last_term = self.leaders.last().map_or(0, |l| l.2);
        let point = match best {
            Some((term, node)) => (Some(node), term.max(last_term)),
            None => (None, last_term),
        };
        if self.leaders.last().is_none_or(|l| (l.1, l.2) != point) {
            self.leaders.push((now.0, point.0, point.1));
        }
        if self.leading.len() < s.leaders.len() {
            self.leading.resize(s.leaders.len(), None);
        }
        for (n, (led, &term)) in self.leading.iter_mut().zip(s.leaders).enumerate() {
            if led.map(|l| l.0) != term {
                if let Some((t, since)) = led.take() {
                    self.spans.push((n as u32, t, since, now.0));
                }
                *led = term.map(|t| (t, now.0));
            }
        }
    }

    /// The series of a run that ended at `end_ns`, naming nodes with `name`.
    pub fn finish(&self, end_ns: u64, name: impl Fn(usize) -> String) -> Timelines {
        // Buckets of at least 100 ms: rates over single 10 ms samples are mostly noise.
        let interval = match self.net.as_slice() {
            [a, b, ..] => (b.0 - a.0).max(1),
            _ => 1,
        };
        let per = self.net.len().div_ceil(POINTS).max(100_000_000u64.div_ceil(interval) as usize).max(1);
        let mut network = Vec::new();
        let mut prev = (0u64, 0u64, 0u64);
        for bucket in self.net.chunks(per) {
            let last = bucket[bucket.len() - 1];
            let dt = (last.0 - prev.0) as f64 / 1e9;
            if dt > 0.0 {
                network.push(RatePoint {
                    t_ns: prev.0,
                    messages_per_s: (last.1 - prev.1) as f64 / dt,
                    bytes_per_s: (last.2 - prev.2) as f64 / dt,
                });
            }
            prev = last;
        }
        let leaders = if self.any_leader {
            self.leaders
                .iter()
                .map(|&(t, n, term)| LeaderPoint {
                    t_ns: t,
                    leader: n.map(|n| name(n as usize)),
                    leader_index: n,
                    term,
                })
                .collect()
        } else {
            Vec::new()
        };
        let open =
            self.leading.iter().enumerate().filter_map(|(n, l)| l.map(|(t, since)| (n as u32, t, since, end_ns)));
        let mut spans: Vec<(u32, u64, u64, u64)> = self.spans.iter().copied().chain(open).collect();
        spans.sort_by_key(|&(n, term, from, _)| (from, n, term));
        let leader_spans = spans
            .into_iter()
            .map(|(n, term, from_ns, to_ns)| LeaderSpan { node: name(n as usize), node_index: n, term, from_ns, to_ns })
            .collect();
        Timelines { network, leaders, leader_spans, cluster: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncsim_sim::NodeId;

    #[test]
    fn the_cluster_size_follows_joins_leaves_crashes_and_restarts() {
        let n = NodeId;
        let faults = [
            (SimTime(10), Fault::Join(n(3))),
            (SimTime(20), Fault::Crash(n(0))),
            (SimTime(20), Fault::Join(n(4))),
            (SimTime(30), Fault::Crash(n(4))), // a spare that is down is still a member
            (SimTime(40), Fault::Leave(n(1))),
            (SimTime(50), Fault::Restart(n(0))),
            (SimTime(60), Fault::Heal),
        ];
        let sizes: Vec<(u64, u32, u32)> =
            cluster_sizes(5, 3, &faults).into_iter().map(|p| (p.t_ns, p.members, p.up)).collect();
        assert_eq!(sizes, vec![(0, 3, 3), (10, 4, 4), (20, 5, 4), (30, 5, 3), (40, 4, 2), (50, 4, 3)]);
    }

    fn sample<'a>(leaders: &'a [Option<u64>], sent: u64, bytes: u64) -> Sample<'a> {
        Sample { digests: &[], leaders, messages_sent: sent, bytes_sent: bytes }
    }

    #[test]
    fn rates_are_differences_over_time() {
        let mut t = TimelineTracker::default();
        // Samples a second apart: each is its own bucket.
        t.sample(SimTime(1_000_000_000), &sample(&[], 10, 1000));
        t.sample(SimTime(2_000_000_000), &sample(&[], 30, 5000));
        let s = t.finish(u64::MAX, |n| n.to_string());
        assert_eq!(s.network[0], RatePoint { t_ns: 0, messages_per_s: 10.0, bytes_per_s: 1000.0 });
        assert_eq!(s.network[1], RatePoint { t_ns: 1_000_000_000, messages_per_s: 20.0, bytes_per_s: 4000.0 });
        assert!(s.leaders.is_empty(), "no protocol leader, no series");
        // Samples 10 ms apart are pooled into 100 ms buckets.
        let mut t = TimelineTracker::default();
        for i in 1..=20u64 {
            t.sample(SimTime(i * 10_000_000), &sample(&[], i, 0));
        }
        let s = t.finish(u64::MAX, |n| n.to_string());
        assert_eq!(s.network.len(), 2);
        assert_eq!(s.network[1].messages_per_s, 100.0);
    }

    #[test]
    fn leadership_changes_are_recorded_once_each() {
        let mut t = TimelineTracker::default();
        t.sample(SimTime(10), &sample(&[None, None], 0, 0));
        t.sample(SimTime(20), &sample(&[Some(1), None], 0, 0));
        t.sample(SimTime(30), &sample(&[Some(1), None], 0, 0));
        // A deposed leader that still thinks it leads term 1 loses to the leader of term 2.
        t.sample(SimTime(40), &sample(&[Some(1), Some(2)], 0, 0));
        t.sample(SimTime(50), &sample(&[None, None], 0, 0));
        t.sample(SimTime(60), &sample(&[None, Some(3)], 0, 0));
        let done = t.finish(70, |n| format!("n{n}"));
        let l: Vec<(u64, Option<String>, u64)> = done.leaders.into_iter().map(|p| (p.t_ns, p.leader, p.term)).collect();
        assert_eq!(
            l,
            vec![
                (10, None, 0),
                (20, Some("n0".into()), 1),
                (40, Some("n1".into()), 2),
                (50, None, 2),
                (60, Some("n1".into()), 3)
            ]
        );
        // Per node: both leaders of 40..50 are there, the deposed one too; the open span ends
        // with the run.
        let spans: Vec<(&str, u64, u64, u64)> =
            done.leader_spans.iter().map(|s| (s.node.as_str(), s.term, s.from_ns, s.to_ns)).collect();
        assert_eq!(spans, vec![("n0", 1, 20, 50), ("n1", 2, 40, 50), ("n1", 3, 60, 70)]);
    }
}
