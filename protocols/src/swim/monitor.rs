//! Measures SWIM against the truth the engine knows (which nodes are down) and against the
//! model of Das, Gupta and Motivala (DSN 2002, §3.1):
//!
//! - First detection: from a crash to the first member suspecting the node. With every member
//!   pinging one random member per period T', a failed member is picked by someone within a
//!   period with chance 1 − (1 − 1/n)^(n·q_f) ≈ 1 − e^(−q_f), q_f the share of members up, so
//!   the paper's expected time is T' / (1 − e^(−q_f)): 1.58 periods when all others are up,
//!   whatever n. The paper counts from the start of the first period after the failure: the
//!   probes of the period the crash falls in went out before it and were answered. From the
//!   crash itself, half a period more on average (whether members' periods are aligned or at
//!   random phases, as here): T' · (1 / (1 − e^(−q_f)) + ½), the model reported.
//! - Confirmation: from the crash to the first member declaring it dead (first detection plus
//!   the suspicion timeout, unless a member hears of it first).
//! - False positives: suspicions and declarations of members that were up; a probe of an up
//!   member fails with chance (1 − q²)(1 − q_f·q⁴)^k when each message arrives with chance q.
//! - Accuracy at the end: members up at the end that an up member still holds dead
//!   (`wrongly_dead`); a correct SWIM refutes and revives them, so this is 0 after the settle.

use std::collections::BTreeSet;

use syncsim_sim::{Monitor, NodeId, ProtocolMetrics, SimDuration, SimTime};

/// What a node running SWIM reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SwimNote {
    /// It started (at the beginning, after a restart, or on joining).
    Up,
    /// It is leaving on purpose.
    Leaving,
    /// A period's probe of `target` ended, acknowledged or not.
    Probed {
        /// The member probed.
        target: NodeId,
        /// Whether an ack came back, directly or relayed.
        ok: bool,
    },
    /// It now suspects `node`.
    Suspected {
        /// The member.
        node: NodeId,
        /// Its own probe failed (else it heard of the suspicion).
        own: bool,
    },
    /// It now holds `node` dead.
    Declared {
        /// The member.
        node: NodeId,
        /// How long it had suspected it itself (zero when it heard of the death).
        suspected_for: SimDuration,
    },
    /// It holds `node` alive again (a refutation or a rejoin reached it).
    Revived {
        /// The member.
        node: NodeId,
    },
    /// It learnt that `node` left.
    Departed {
        /// The member.
        node: NodeId,
    },
    /// It refuted a suspicion or death notice about itself.
    Refuted {
        /// Its new incarnation.
        inc: u64,
    },
}

/// SWIM's failure-detection figures across the cluster.
#[derive(Clone, Debug, Default)]
pub struct SwimMonitor {
    period: SimDuration,
    /// Whether any node runs SWIM (else there is nothing to report).
    active: bool,
    /// Running now.
    up: Vec<bool>,
    /// Ever started (a member, or one that was).
    known: Vec<bool>,
    /// Left on purpose (not a failure to detect).
    left: Vec<bool>,
    /// When each node last started.
    up_since: Vec<SimTime>,
    /// Crashed at this time, not yet suspected by anyone.
    undetected: Vec<Option<SimTime>>,
    /// Crashed at this time, not yet declared dead by anyone.
    unconfirmed: Vec<Option<SimTime>>,
    first_detection: Vec<u64>,
    confirmation: Vec<u64>,
    /// The model's expected first-detection time for each crash, from the share up then.
    model: Vec<f64>,
    probes: u64,
    failed_probes: u64,
    false_suspicions: u64,
    false_deaths: u64,
    refutations: u64,
    /// (viewer, member) pairs where the viewer holds the member dead or gone.
    dead_in_view: BTreeSet<(NodeId, NodeId)>,
}

impl SwimMonitor {
    /// A monitor for `nodes` ids, SWIM's period being `period`.
    pub fn new(period: SimDuration, nodes: u32) -> Self {
        let n = nodes as usize;
        SwimMonitor {
            period,
            up: vec![false; n],
            known: vec![false; n],
            left: vec![false; n],
            up_since: vec![SimTime::ZERO; n],
            undetected: vec![None; n],
            unconfirmed: vec![None; n],
            ..Default::default()
        }
    }

    /// True when `m` is up and has been for at least `d` before `now`.
    fn up_for(&self, m: NodeId, now: SimTime, d: SimDuration) -> bool {
        self.up[m.index()] && self.up_since[m.index()] + d <= now
    }

    /// Members up at the end that an up member holds dead or gone.
    pub fn wrongly_dead(&self) -> usize {
        self.dead_in_view
            .iter()
            .filter(|(v, m)| self.up[v.index()] && self.up[m.index()] && !self.left[m.index()])
            .count()
    }
}

impl Monitor<SwimNote> for SwimMonitor {
    fn observe(&mut self, now: SimTime, node: NodeId, note: &SwimNote) -> Result<(), String> {
        self.active = true;
        let k = node.index();
        match *note {
            SwimNote::Up => {
                self.up[k] = true;
                self.known[k] = true;
                self.left[k] = false;
                self.up_since[k] = now;
                self.undetected[k] = None;
                self.unconfirmed[k] = None;
                // Its view starts again from a seed's.
                self.dead_in_view =
                    std::mem::take(&mut self.dead_in_view).into_iter().filter(|(v, _)| *v != node).collect();
            }
            SwimNote::Leaving => self.left[k] = true,
            SwimNote::Probed { target, ok } => {
                if self.up[target.index()] {
                    self.probes += 1;
                    self.failed_probes += u64::from(!ok);
                }
            }
            // A false positive is a member's own verdict on a member that was up all along,
            // since before the probe that failed (a period before the suspicion): what it
            // hears may be old news of a member's last life, which it refutes in time.
            SwimNote::Suspected { node: m, own } => match self.undetected[m.index()].take() {
                Some(crashed) => self.first_detection.push(now.since(crashed).as_nanos()),
                None if own && self.up_for(m, now, self.period) => self.false_suspicions += 1,
                None => {}
            },
            SwimNote::Declared { node: m, suspected_for } => {
                self.dead_in_view.insert((node, m));
                if let Some(crashed) = self.undetected[m.index()].take() {
                    self.first_detection.push(now.since(crashed).as_nanos());
                }
                match self.unconfirmed[m.index()].take() {
                    Some(crashed) => self.confirmation.push(now.since(crashed).as_nanos()),
                    None if suspected_for > SimDuration::ZERO && self.up_for(m, now, suspected_for + self.period) => {
                        self.false_deaths += 1
                    }
                    None => {}
                }
            }
            SwimNote::Revived { node: m } => {
                self.dead_in_view.remove(&(node, m));
            }
            SwimNote::Departed { node: m } => {
                self.dead_in_view.insert((node, m));
            }
            SwimNote::Refuted { .. } => self.refutations += 1,
        }
        Ok(())
    }

    fn crashed(&mut self, now: SimTime, node: NodeId) {
        let k = node.index();
        self.up[k] = false;
        if self.left[k] {
            return;
        }
        self.undetected[k] = Some(now);
        self.unconfirmed[k] = Some(now);
        let members = (0..self.up.len()).filter(|&i| self.known[i] && !self.left[i]).count();
        // The share of the others that are up and will ping.
        let others_up = (0..self.up.len()).filter(|&i| self.up[i] && !self.left[i]).count();
        if members > 1 {
            let q_f = others_up as f64 / (members - 1) as f64;
            self.model.push(self.period.as_nanos() as f64 * (1.0 / (1.0 - (-q_f).exp()) + 0.5));
        }
    }

    fn metrics(&self, _end: SimTime) -> ProtocolMetrics {
        let mut m = ProtocolMetrics::default();
        if !self.active {
            return m;
        }
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        let detections: Vec<f64> = self.first_detection.iter().map(|&d| d as f64).collect();
        m.numbers.insert("swim_probes".into(), self.probes as f64);
        m.numbers.insert(
            "swim_probe_failure_rate".into(),
            if self.probes == 0 { 0.0 } else { self.failed_probes as f64 / self.probes as f64 },
        );
        m.numbers.insert("swim_false_suspicions".into(), self.false_suspicions as f64);
        m.numbers.insert("swim_false_deaths".into(), self.false_deaths as f64);
        m.numbers.insert("swim_refutations".into(), self.refutations as f64);
        m.numbers.insert("swim_wrongly_dead".into(), self.wrongly_dead() as f64);
        m.numbers.insert("swim_undetected_crashes".into(), self.undetected.iter().flatten().count() as f64);
        if !self.model.is_empty() {
            m.numbers.insert("swim_detection_mean_ns".into(), mean(&detections));
            m.numbers.insert("swim_detection_model_ns".into(), mean(&self.model));
        }
        m.durations.insert("swim_first_detection".into(), self.first_detection.clone());
        m.durations.insert("swim_confirmation".into(), self.confirmation.clone());
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t: u64) -> SimTime {
        SimTime(t * 1_000_000)
    }

    #[test]
    fn detection_is_timed_from_the_crash_and_suspicions_of_live_members_are_false() {
        let mut m = SwimMonitor::new(SimDuration::from_millis(100), 4);
        for k in 0..4 {
            m.observe(ms(0), NodeId(k), &SwimNote::Up).unwrap();
        }
        let suspected = |k, own| SwimNote::Suspected { node: NodeId(k), own };
        m.observe(ms(50), NodeId(0), &suspected(1, true)).unwrap();
        m.observe(ms(150), NodeId(0), &suspected(1, true)).unwrap();
        m.observe(ms(160), NodeId(0), &suspected(1, false)).unwrap();
        m.crashed(ms(100), NodeId(2));
        m.observe(ms(260), NodeId(3), &suspected(2, true)).unwrap();
        m.observe(ms(270), NodeId(0), &suspected(2, true)).unwrap();
        let declared = SwimNote::Declared { node: NodeId(2), suspected_for: SimDuration::from_millis(600) };
        m.observe(ms(900), NodeId(0), &declared).unwrap();
        let f = m.metrics(ms(1000));
        assert_eq!(f.durations["swim_first_detection"], vec![160_000_000], "the first suspicion counts");
        assert_eq!(f.durations["swim_confirmation"], vec![800_000_000]);
        assert_eq!(f.numbers["swim_false_suspicions"], 1.0, "its own, of a member up a period before");
        // All three others up: T' (1 / (1 - e^-1) + 1/2).
        let model = 100e6 * (1.0 / (1.0 - (-1.0f64).exp()) + 0.5);
        assert!((f.numbers["swim_detection_model_ns"] - model).abs() < 1.0);
    }

    #[test]
    fn a_member_held_dead_after_it_came_back_is_wrongly_dead_until_revived() {
        let mut m = SwimMonitor::new(SimDuration::from_millis(100), 3);
        for k in 0..3 {
            m.observe(ms(0), NodeId(k), &SwimNote::Up).unwrap();
        }
        m.crashed(ms(10), NodeId(2));
        let declared = SwimNote::Declared { node: NodeId(2), suspected_for: SimDuration::ZERO };
        m.observe(ms(500), NodeId(0), &declared).unwrap();
        assert_eq!(m.wrongly_dead(), 0, "it is down: rightly dead");
        m.observe(ms(900), NodeId(2), &SwimNote::Up).unwrap();
        assert_eq!(m.wrongly_dead(), 1, "back up, still held dead by node 0");
        m.observe(ms(950), NodeId(0), &SwimNote::Revived { node: NodeId(2) }).unwrap();
        assert_eq!(m.wrongly_dead(), 0);
        // A member that left is rightly gone.
        m.observe(ms(960), NodeId(1), &SwimNote::Leaving).unwrap();
        m.crashed(ms(960), NodeId(1));
        m.observe(ms(970), NodeId(0), &SwimNote::Departed { node: NodeId(1) }).unwrap();
        assert_eq!(m.wrongly_dead(), 0);
        assert_eq!(m.metrics(ms(1000)).durations["swim_first_detection"].len(), 1, "a leave is not a failure");
    }
}
