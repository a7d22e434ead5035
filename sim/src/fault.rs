//! Faults: a scripted timeline, plus random ("swarm") faults drawn per seed within given rates.

use std::fmt;

use crate::network::LinkChange;
use crate::protocol::NodeId;
use crate::rng::{SimRng, below, unit_f64};
use crate::time::{DurationRange, SimDuration, SimTime};
use crate::units::Probability;

/// One fault, applied at a moment of the run.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Nodes in different groups cannot talk (both directions). Unlisted nodes are unaffected.
    Partition(Vec<Vec<NodeId>>),
    /// Messages from `from` to `to` are dropped; the other direction still works.
    Cut {
        /// Senders cut off.
        from: Vec<NodeId>,
        /// Receivers cut off.
        to: Vec<NodeId>,
    },
    /// Every partition and cut ends.
    Heal,
    /// The node stops; its volatile state, timers and inbound messages are lost.
    Crash(NodeId),
    /// A crashed node starts again from its durable state.
    Restart(NodeId),
    /// The node freezes: it handles nothing, and what arrives waits for it.
    Pause(NodeId),
    /// A paused node goes on, handling what waited in arrival order.
    Resume(NodeId),
    /// The node's clock runs at `rate` times real time from now on (timers fire early when
    /// fast, late when slow), after jumping by `jump` nanoseconds.
    Clock {
        /// Whose clock.
        node: NodeId,
        /// Speed relative to real time (1.0 is exact).
        rate: f64,
        /// A step change of the clock's reading, in nanoseconds (may be negative).
        jump: i64,
    },
    /// Link latency, loss or duplication changes.
    Link(LinkChange),
    /// Links go back to how the scenario started them.
    RestoreLinks,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ns: &[NodeId]| ns.iter().map(|n| n.0.to_string()).collect::<Vec<_>>().join(",");
        match self {
            Fault::Partition(groups) => {
                let gs: Vec<String> = groups.iter().map(|g| format!("[{}]", list(g))).collect();
                write!(f, "partition {}", gs.join(" | "))
            }
            Fault::Cut { from, to } => write!(f, "cut [{}] -> [{}]", list(from), list(to)),
            Fault::Heal => f.write_str("heal"),
            Fault::Crash(n) => write!(f, "crash {}", n.0),
            Fault::Restart(n) => write!(f, "restart {}", n.0),
            Fault::Pause(n) => write!(f, "pause {}", n.0),
            Fault::Resume(n) => write!(f, "resume {}", n.0),
            Fault::Clock { node, rate, jump } => write!(f, "clock {} rate {rate} jump {jump}ns", node.0),
            Fault::Link(c) => {
                write!(f, "link change")?;
                if let Some((a, b)) = c.between {
                    write!(f, " {}-{}", a.0, b.0)?;
                }
                Ok(())
            }
            Fault::RestoreLinks => f.write_str("restore links"),
        }
    }
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    /// When it happens.
    pub at: SimTime,
    /// What happens.
    pub fault: Fault,
}

/// One kind of random fault: how often it starts, and how long each lasts.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFault {
    /// Mean time between starts (they form a Poisson process).
    pub every: SimDuration,
    /// How long each lasts, drawn uniformly from this range.
    pub lasts: DurationRange,
}

/// Random faults drawn per seed from the fault stream; each kind is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RandomFaults {
    /// A random node crashes, then restarts.
    pub crash: Option<RandomFault>,
    /// The cluster splits in two random groups, then heals.
    pub partition: Option<RandomFault>,
    /// A random node pauses, then resumes.
    pub pause: Option<RandomFault>,
    /// A random node's clock runs fast or slow by up to this factor, then returns to 1.
    pub clock: Option<(RandomFault, f64)>,
    /// Every link loses this share of messages for a while.
    pub loss: Option<(RandomFault, Probability)>,
}

impl RandomFaults {
    /// True when no random fault is asked for.
    pub fn is_empty(&self) -> bool {
        *self == RandomFaults::default()
    }

    /// Draws this seed's random faults over `[0, until)`: each start with its recovery, the
    /// recovery no later than `until` (when the settle phase heals everything anyway).
    pub fn draw(&self, nodes: u32, until: SimTime, rng: &mut SimRng) -> Vec<TimedFault> {
        let mut out = Vec::new();
        let node = |rng: &mut SimRng| NodeId(below(rng, u64::from(nodes)) as u32);
        if let Some(kind) = &self.crash {
            for (start, end) in windows(kind, until, rng) {
                let n = node(rng);
                out.push(TimedFault {
                    at: start,
                    fault: Fault::Crash(n),
                });
                out.push(TimedFault {
                    at: end,
                    fault: Fault::Restart(n),
                });
            }
        }
        if let Some(kind) = &self.partition {
            for (start, end) in windows(kind, until, rng) {
                out.push(TimedFault {
                    at: start,
                    fault: Fault::Partition(random_halves(nodes, rng)),
                });
                out.push(TimedFault {
                    at: end,
                    fault: Fault::Heal,
                });
            }
        }
        if let Some(kind) = &self.pause {
            for (start, end) in windows(kind, until, rng) {
                let n = node(rng);
                out.push(TimedFault {
                    at: start,
                    fault: Fault::Pause(n),
                });
                out.push(TimedFault {
                    at: end,
                    fault: Fault::Resume(n),
                });
            }
        }
        if let Some((kind, factor)) = &self.clock {
            for (start, end) in windows(kind, until, rng) {
                let n = node(rng);
                // Fast or slow with equal chance, by up to `factor`.
                let skew = 1.0 + (factor - 1.0) * unit_f64(rng);
                let rate = if below(rng, 2) == 0 { skew } else { 1.0 / skew };
                out.push(TimedFault {
                    at: start,
                    fault: Fault::Clock { node: n, rate, jump: 0 },
                });
                out.push(TimedFault {
                    at: end,
                    fault: Fault::Clock {
                        node: n,
                        rate: 1.0,
                        jump: 0,
                    },
                });
            }
        }
        if let Some((kind, loss)) = &self.loss {
            for (start, end) in windows(kind, until, rng) {
                let change = LinkChange {
                    loss: Some(*loss),
                    ..LinkChange::default()
                };
                out.push(TimedFault {
                    at: start,
                    fault: Fault::Link(change),
                });
                out.push(TimedFault {
                    at: end,
                    fault: Fault::RestoreLinks,
                });
            }
        }
        // Stable: faults at the same instant keep the order they were drawn in.
        out.sort_by_key(|f| f.at);
        out
    }
}

/// Start and end of each fault of one kind: Poisson starts, uniform lengths.
fn windows(kind: &RandomFault, until: SimTime, rng: &mut SimRng) -> Vec<(SimTime, SimTime)> {
    let mut out = Vec::new();
    let mean = kind.every.as_nanos() as f64;
    let mut t = 0.0f64;
    loop {
        t += -mean * libm::log(1.0 - unit_f64(rng));
        if t >= until.0 as f64 {
            return out;
        }
        let span = kind.lasts.max.0 - kind.lasts.min.0;
        let length = kind.lasts.min.0 + if span == 0 { 0 } else { below(rng, span + 1) };
        let start = SimTime(t as u64);
        out.push((start, SimTime((start.0 + length).min(until.0))));
    }
}

/// Two non-empty random groups covering every node.
fn random_halves(nodes: u32, rng: &mut SimRng) -> Vec<Vec<NodeId>> {
    let mut order: Vec<u32> = (0..nodes).collect();
    for i in (1..order.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let cut = 1 + below(rng, u64::from(nodes.max(2) - 1)) as usize;
    let (a, b) = order.split_at(cut.min(order.len()));
    let group = |xs: &[u32]| {
        let mut g: Vec<NodeId> = xs.iter().map(|&k| NodeId(k)).collect();
        g.sort();
        g
    };
    vec![group(a), group(b)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn random_faults_come_in_start_and_recovery_pairs_before_the_end() {
        let kinds = RandomFaults {
            crash: Some(RandomFault {
                every: SimDuration::from_secs(2),
                lasts: "100ms..1s".parse().unwrap(),
            }),
            partition: Some(RandomFault {
                every: SimDuration::from_secs(5),
                lasts: "1s".parse().unwrap(),
            }),
            ..RandomFaults::default()
        };
        let until = SimTime(60_000_000_000);
        let faults = kinds.draw(5, until, &mut Stream::Faults.rng(3));
        let crashes = faults.iter().filter(|f| matches!(f.fault, Fault::Crash(_))).count();
        let restarts = faults.iter().filter(|f| matches!(f.fault, Fault::Restart(_))).count();
        assert_eq!(crashes, restarts);
        assert!((15..=50).contains(&crashes), "about 30 crashes in 60 s, got {crashes}");
        assert!(faults.iter().all(|f| f.at <= until));
        assert!(faults.windows(2).all(|w| w[0].at <= w[1].at));
        for f in &faults {
            if let Fault::Partition(groups) = &f.fault {
                assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 5);
                assert!(groups.iter().all(|g| !g.is_empty()));
            }
        }
        assert_eq!(
            faults,
            kinds.draw(5, until, &mut Stream::Faults.rng(3)),
            "same seed, same faults"
        );
    }
}
