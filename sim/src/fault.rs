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
    /// A node that is not in the cluster (a spare, or one that left) joins it, fresh: an empty
    /// state, no disk, its `on_start` to find its peers (a scale-out).
    Join(NodeId),
    /// A running node leaves the cluster gracefully: its `on_leave` hands off what it must,
    /// then it stops for good, its disk wiped (a scale-in). It may join again later, fresh.
    Leave(NodeId),
    /// Random churn, resolved when it happens: a node joins (`grow`) or leaves, keeping the
    /// cluster within `min..=max` members (a join at `min` or below, a leave at `max` or
    /// above); `pick` chooses which of the candidates (spares never in the cluster, as an
    /// autoscaler starts fresh identities; or running members). With no spare left, it
    /// only shrinks.
    Churn {
        /// Join rather than leave, when the size allows both.
        grow: bool,
        /// Chooses the node: `pick` modulo the number of candidates.
        pick: u64,
        /// The fewest members the cluster keeps.
        min: u32,
        /// The most members it takes.
        max: u32,
    },
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
    /// The partition with exactly these groups ends; other partitions stay (the end of a
    /// random partition window).
    EndPartition(Vec<Vec<NodeId>>),
    /// A fault whose nodes are chosen when it happens (the current leader, the rest).
    Targeted(Targeted),
    /// Every link also loses this share of messages (`on`), or stops doing so; bursts stack
    /// on the links' own loss and on each other.
    LossBurst {
        /// The extra loss.
        loss: Probability,
        /// Start or end of the burst.
        on: bool,
    },
    /// The node's disk stops persisting: what it writes from now on is acknowledged but never
    /// reaches the disk (a missing or failing fsync), until a `LoseDisk` shows it.
    FreezeDisk(NodeId),
    /// The node reboots having lost its disk back to its last `FreezeDisk` (everything, if
    /// there was none): it crashes and, unless it was down, restarts at once from what is left.
    LoseDisk(NodeId),
    /// The node's clock runs `factor` times faster (`on`), or stops doing so; drifts multiply
    /// the rate a `Clock` fault set. At its start the clock also steps by `jump` nanoseconds
    /// (an NTP step or a VM resumed on another host); the end does not step it back.
    Drift {
        /// Whose clock.
        node: NodeId,
        /// The speed factor.
        factor: f64,
        /// The step at the start, in nanoseconds (0 at the end).
        jump: i64,
        /// Start or end of the drift.
        on: bool,
    },
    /// The node turns Byzantine for the rest of the run: what it sends lies as `lies` says
    /// ([`crate::byzantine`]), and clients no longer reach it (a client accepts an answer
    /// only from a replica it trusts, as a BFT client's f + 1 matching replies ensure).
    Byzantine {
        /// Who.
        node: NodeId,
        /// How it lies.
        lies: crate::byzantine::Lies,
    },
}

impl Fault {
    /// The fault in words, naming nodes with `name`.
    pub fn describe(&self, name: impl Fn(NodeId) -> String) -> String {
        let list = |ns: &[NodeId]| ns.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", ");
        let groups = |gs: &[Vec<NodeId>]| gs.iter().map(|g| format!("[{}]", list(g))).collect::<Vec<_>>().join(" | ");
        let state = |on: bool| if on { "starts" } else { "ends" };
        match self {
            Fault::Partition(gs) => format!("partition {}", groups(gs)),
            Fault::EndPartition(gs) => format!("end partition {}", groups(gs)),
            Fault::Cut { from, to } => format!("cut [{}] -> [{}]", list(from), list(to)),
            Fault::Heal => "heal".into(),
            Fault::Crash(n) => format!("crash {}", name(*n)),
            Fault::Restart(n) => format!("restart {}", name(*n)),
            Fault::Join(n) => format!("join {}", name(*n)),
            Fault::Leave(n) => format!("leave {}", name(*n)),
            Fault::Churn { grow, min, max, .. } => {
                format!("churn ({} within {min}..{max} members)", if *grow { "grow" } else { "shrink" })
            }
            Fault::Pause(n) => format!("pause {}", name(*n)),
            Fault::Resume(n) => format!("resume {}", name(*n)),
            Fault::FreezeDisk(n) => format!("disk of {} stops persisting", name(*n)),
            Fault::LoseDisk(n) => format!("{} loses its disk", name(*n)),
            Fault::Clock { node, rate, jump } => {
                let sign = if *jump < 0 { "-" } else { "+" };
                format!("clock {} rate {rate} jump {sign}{}", name(*node), SimDuration(jump.unsigned_abs()))
            }
            Fault::Drift { node, factor, jump, on } => {
                let step = match jump {
                    0 => String::new(),
                    j => format!(" jump {}{}", if *j < 0 { "-" } else { "+" }, SimDuration(j.unsigned_abs())),
                };
                format!("clock {} drift x{factor}{step} {}", name(*node), state(*on))
            }
            Fault::Link(c) => {
                let mut s = String::from("link change");
                if let Some((a, b)) = c.between {
                    s.push_str(&format!(" {}-{}", name(a), name(b)));
                }
                if let Some(l) = &c.latency {
                    s.push_str(&format!(" latency {l:?}"));
                }
                if let Some(p) = c.loss {
                    s.push_str(&format!(" loss {p}"));
                }
                if let Some(p) = c.duplicate {
                    s.push_str(&format!(" duplicate {p}"));
                }
                s
            }
            Fault::RestoreLinks => "restore links".into(),
            Fault::Byzantine { node, lies } => format!("{} turns byzantine: {lies}", name(*node)),
            Fault::LossBurst { loss, on } => format!("loss burst {loss} {}", state(*on)),
            Fault::Targeted(t) => {
                let one = |t: &Target| t.describe(&name);
                match t {
                    Targeted::Crash(x) => format!("crash {}", one(x)),
                    Targeted::Restart(x) => format!("restart {}", one(x)),
                    Targeted::Pause(x) => format!("pause {}", one(x)),
                    Targeted::Resume(x) => format!("resume {}", one(x)),
                    Targeted::Partition(gs) => format!(
                        "partition {}",
                        gs.iter()
                            .map(|g| format!("[{}]", g.iter().map(one).collect::<Vec<_>>().join(", ")))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ),
                }
            }
        }
    }
}

/// A node chosen when a fault happens.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// This node.
    Node(NodeId),
    /// The node that leads the highest term right then (`Protocol::leader_term`).
    Leader,
    /// In a partition: every node no other group names.
    Rest,
    /// Every node the fault can apply to (restart: every crashed node; resume: every paused one).
    All,
}

/// A fault on nodes chosen when it happens.
#[derive(Clone, Debug, PartialEq)]
pub enum Targeted {
    /// Crash the target.
    Crash(Target),
    /// Restart the target.
    Restart(Target),
    /// Pause the target.
    Pause(Target),
    /// Resume the target.
    Resume(Target),
    /// Partition into these groups.
    Partition(Vec<Vec<Target>>),
}

/// A node's condition, which decides what a targeted fault picks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Paused: alive, handling nothing.
    Paused,
    /// Crashed.
    Crashed,
    /// Not in the cluster: a spare that has not joined, or a node that left.
    Absent,
    /// Leaving: out of the cluster for clients and peers, still running until its protocol
    /// has handed off what it must ([`crate::Departure::Drain`]).
    Leaving,
}

impl Targeted {
    /// The concrete faults this means right now, given the node leading the highest term and
    /// each node's condition; empty when it finds no node (no leader right now).
    pub fn resolve(&self, leader: Option<NodeId>, status: &[NodeStatus]) -> Vec<Fault> {
        let n = status.len() as u32;
        let pick = |target: &Target, wanted: NodeStatus| -> Vec<NodeId> {
            match target {
                Target::Node(k) => vec![*k],
                Target::Leader => leader.into_iter().collect(),
                Target::All => (0..n).map(NodeId).filter(|k| status[k.index()] == wanted).collect(),
                Target::Rest => vec![],
            }
        };
        match self {
            Targeted::Crash(x) => pick(x, NodeStatus::Up).into_iter().map(Fault::Crash).collect(),
            Targeted::Restart(x) => pick(x, NodeStatus::Crashed).into_iter().map(Fault::Restart).collect(),
            Targeted::Pause(x) => pick(x, NodeStatus::Up).into_iter().map(Fault::Pause).collect(),
            Targeted::Resume(x) => pick(x, NodeStatus::Paused).into_iter().map(Fault::Resume).collect(),
            Targeted::Partition(groups) => {
                let mut named: Vec<Vec<NodeId>> =
                    groups.iter().map(|g| g.iter().flat_map(|x| pick(x, NodeStatus::Up)).collect()).collect();
                // A leader may also be named by its name: keep each node in its first group.
                let mut seen = std::collections::BTreeSet::new();
                for g in &mut named {
                    g.retain(|k| seen.insert(*k));
                }
                for (g, targets) in groups.iter().enumerate() {
                    if targets.contains(&Target::Rest) {
                        named[g].extend((0..n).map(NodeId).filter(|k| !seen.contains(k)));
                    }
                }
                named.retain(|g| !g.is_empty());
                if named.len() < 2 { vec![] } else { vec![Fault::Partition(named)] }
            }
        }
    }
}

/// The node leading the highest term (the lowest id among equals), from each node's
/// `Protocol::leader_term` (`None` for a node that leads nothing or is down).
pub fn leader(terms: impl IntoIterator<Item = Option<u64>>) -> Option<NodeId> {
    terms
        .into_iter()
        .enumerate()
        .filter_map(|(k, t)| t.map(|t| (t, std::cmp::Reverse(k))))
        .max()
        .map(|(_, std::cmp::Reverse(k))| NodeId(k as u32))
}

impl Target {
    fn describe(&self, name: &impl Fn(NodeId) -> String) -> String {
        match self {
            Target::Node(n) => name(*n),
            Target::Leader => "leader".into(),
            Target::Rest => "rest".into(),
            Target::All => "all".into(),
        }
    }
}

/// The fault with nodes by number.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(|n| n.0.to_string()))
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
    /// The cluster splits into two (or, one time in three, three) groups of random sizes, then heals.
    pub partition: Option<RandomFault>,
    /// A random node pauses, then resumes.
    pub pause: Option<RandomFault>,
    /// A random node's clock runs fast or slow by up to this factor, then returns to 1.
    pub clock: Option<(RandomFault, f64)>,
    /// With `clock`: each drift window also steps the clock, forward or back, by up to this.
    pub clock_jump: Option<SimDuration>,
    /// Every link loses this share of messages for a while.
    pub loss: Option<(RandomFault, Probability)>,
    /// A random node's disk stops persisting for a while; then the node reboots with what its
    /// disk held when the window began.
    pub disk: Option<RandomFault>,
    /// Nodes join and leave at random, the cluster's size kept within a band.
    pub churn: Option<Churn>,
}

/// Random membership changes: a Poisson process of joins and leaves.
#[derive(Clone, Debug, PartialEq)]
pub struct Churn {
    /// Mean time between changes.
    pub every: SimDuration,
    /// The fewest members.
    pub min: u32,
    /// The most members.
    pub max: u32,
}

/// The fault that ends a window `start` opened, for faults that have one (`lasts:` in
/// scenarios, random windows); `None` for faults with no natural end or whose nodes are
/// chosen when they happen.
pub fn window_end(start: &Fault) -> Option<Fault> {
    Some(match start {
        Fault::Crash(n) => Fault::Restart(*n),
        Fault::Pause(n) => Fault::Resume(*n),
        Fault::Partition(groups) => Fault::EndPartition(groups.clone()),
        Fault::LossBurst { loss, on: true } => Fault::LossBurst { loss: *loss, on: false },
        Fault::Drift { node, factor, on: true, .. } => {
            Fault::Drift { node: *node, factor: *factor, jump: 0, on: false }
        }
        Fault::FreezeDisk(n) => Fault::LoseDisk(*n),
        Fault::Join(n) => Fault::Leave(*n),
        Fault::Leave(n) => Fault::Join(*n),
        _ => return None,
    })
}

/// One drawn random fault: its start, its end, and the faults that open and close it.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// When it starts.
    pub start: SimTime,
    /// When it ends (no later than the fault phase's end).
    pub end: SimTime,
    /// The fault that opens it; [`window_end`] gives the one that closes it.
    pub fault: Fault,
}

impl RandomFaults {
    /// True when no random fault is asked for.
    pub fn is_empty(&self) -> bool {
        *self == RandomFaults::default()
    }

    /// Draws this seed's random faults over `[0, until)`: each start with its recovery, the
    /// recovery no later than `until` (when the settle phase heals everything anyway).
    ///
    /// Random faults never undo scripted ones or each other: a crash or pause window goes to a
    /// node that no other crash (or pause) window, scripted or random, covers at any moment of
    /// it (and is skipped if there is none); a random partition ends only itself; loss bursts
    /// and clock drifts stack on whatever else is in force.
    pub fn draw(&self, nodes: u32, until: SimTime, rng: &mut SimRng, scripted: &[TimedFault]) -> Vec<TimedFault> {
        let mut out = Vec::new();
        for w in self.draw_windows(nodes, until, rng, scripted) {
            let end = window_end(&w.fault).expect("every drawn fault has an end");
            out.push(TimedFault { at: w.start, fault: w.fault });
            out.push(TimedFault { at: w.end, fault: end });
        }
        // Churn last, so that the other kinds draw as they did without it.
        if let Some(c) = &self.churn {
            let mean = c.every.as_nanos() as f64;
            let mut t = 0.0f64;
            loop {
                t += -mean * libm::log(1.0 - unit_f64(rng));
                if t >= until.0 as f64 {
                    break;
                }
                let at = SimTime(t as u64);
                let (grow, pick) = (below(rng, 2) == 1, below(rng, u64::MAX));
                out.push(TimedFault { at, fault: Fault::Churn { grow, pick, min: c.min, max: c.max } });
            }
        }
        // Stable: faults at the same instant keep the order they were drawn in.
        out.sort_by_key(|f| f.at);
        out
    }

    /// This seed's random fault windows in the order [`RandomFaults::draw`] draws them: the
    /// same faults, written out one window each (`lasts:` in a scenario), make the same run.
    pub fn draw_windows(&self, nodes: u32, until: SimTime, rng: &mut SimRng, scripted: &[TimedFault]) -> Vec<Window> {
        let mut out = Vec::new();
        let mut pair = |start: SimTime, end: SimTime, fault: Fault| out.push(Window { start, end, fault });
        // A node is taken by one crash (or disk loss) at a time.
        let mut crashes = Busy::scripted(nodes, until, scripted, |f| match f {
            Fault::Crash(n) | Fault::FreezeDisk(n) => Some((*n, true)),
            Fault::Restart(n) | Fault::LoseDisk(n) => Some((*n, false)),
            _ => None,
        });
        if let Some(kind) = &self.crash {
            for (start, end) in windows(kind, until, rng) {
                if let Some(n) = crashes.claim(start, end, rng) {
                    pair(start, end, Fault::Crash(n));
                }
            }
        }
        if let Some(kind) = &self.partition {
            for (start, end) in windows(kind, until, rng) {
                let groups = random_groups(nodes, rng);
                pair(start, end, Fault::Partition(groups));
            }
        }
        if let Some(kind) = &self.pause {
            let mut busy = Busy::scripted(nodes, until, scripted, |f| match f {
                Fault::Pause(n) => Some((*n, true)),
                Fault::Resume(n) => Some((*n, false)),
                _ => None,
            });
            for (start, end) in windows(kind, until, rng) {
                if let Some(n) = busy.claim(start, end, rng) {
                    pair(start, end, Fault::Pause(n));
                }
            }
        }
        if let Some((kind, max_factor)) = &self.clock {
            for (start, end) in windows(kind, until, rng) {
                let node = NodeId(below(rng, u64::from(nodes)) as u32);
                // Fast or slow with equal chance, by up to `max_factor`.
                let skew = 1.0 + (max_factor - 1.0) * unit_f64(rng);
                let factor = if below(rng, 2) == 0 { skew } else { 1.0 / skew };
                // Drawn only when asked for, so scenarios without jumps keep their draws.
                let jump = match self.clock_jump {
                    Some(max) => {
                        let step = below(rng, max.as_nanos() + 1) as i64;
                        if below(rng, 2) == 0 { step } else { -step }
                    }
                    None => 0,
                };
                pair(start, end, Fault::Drift { node, factor, jump, on: true });
            }
        }
        if let Some((kind, loss)) = &self.loss {
            for (start, end) in windows(kind, until, rng) {
                pair(start, end, Fault::LossBurst { loss: *loss, on: true });
            }
        }
        if let Some(kind) = &self.disk {
            for (start, end) in windows(kind, until, rng) {
                if let Some(n) = crashes.claim(start, end, rng) {
                    pair(start, end, Fault::FreezeDisk(n));
                }
            }
        }
        out
    }

    /// The largest number of windows any one kind is expected to draw over `span`.
    pub fn expected_windows(&self, span: SimDuration) -> f64 {
        [
            self.crash.as_ref(),
            self.partition.as_ref(),
            self.pause.as_ref(),
            self.clock.as_ref().map(|(k, _)| k),
            self.loss.as_ref().map(|(k, _)| k),
            self.disk.as_ref(),
        ]
        .into_iter()
        .flatten()
        .map(|k| span.as_nanos() as f64 / k.every.as_nanos().max(1) as f64)
        .fold(0.0, f64::max)
    }
}

/// The windows during which each node is taken (crashed, or paused) by some fault.
struct Busy {
    windows: Vec<Vec<(SimTime, SimTime)>>,
}

impl Busy {
    /// The windows the script opens and closes with the faults `role` recognises:
    /// `Some((node, true))` opens one, `Some((node, false))` closes it.
    fn scripted(
        nodes: u32,
        until: SimTime,
        scripted: &[TimedFault],
        role: impl Fn(&Fault) -> Option<(NodeId, bool)>,
    ) -> Busy {
        let mut windows = vec![Vec::new(); nodes as usize];
        let mut open: Vec<Option<SimTime>> = vec![None; nodes as usize];
        let mut script: Vec<&TimedFault> = scripted.iter().collect();
        script.sort_by_key(|f| f.at);
        for f in script {
            match role(&f.fault) {
                Some((n, true)) if open[n.index()].is_none() => open[n.index()] = Some(f.at),
                Some((n, false)) => {
                    if let Some(start) = open[n.index()].take() {
                        windows[n.index()].push((start, f.at));
                    }
                }
                _ => {}
            }
        }
        for (n, start) in open.into_iter().enumerate() {
            if let Some(start) = start {
                windows[n].push((start, until));
            }
        }
        Busy { windows }
    }

    /// A node free during all of `[start, end]`, chosen at random, now taken then; `None` if
    /// every node is taken at some moment of it.
    fn claim(&mut self, start: SimTime, end: SimTime, rng: &mut SimRng) -> Option<NodeId> {
        let free: Vec<usize> =
            (0..self.windows.len()).filter(|&n| self.windows[n].iter().all(|&(s, e)| e < start || s > end)).collect();
        if free.is_empty() {
            return None;
        }
        let n = free[below(rng, free.len() as u64) as usize];
        self.windows[n].push((start, end));
        Some(NodeId(n as u32))
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
fn random_groups(nodes: u32, rng: &mut SimRng) -> Vec<Vec<NodeId>> {
    let mut order: Vec<u32> = (0..nodes).collect();
    for i in (1..order.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        order.swap(i, j);
    }
    // Two groups of random sizes (one node alone is one shape), or, one time in three, three
    // groups: a majority can then be missing from every side.
    let n = order.len();
    let groups = if n >= 3 && below(rng, 3) == 0 { 3 } else { 2 };
    let mut cuts: Vec<usize> = Vec::new();
    while cuts.len() < groups - 1 {
        let c = 1 + below(rng, (n.max(2) - 1) as u64) as usize;
        if !cuts.contains(&c) {
            cuts.push(c);
        }
    }
    cuts.sort();
    let mut out = Vec::new();
    let mut from = 0;
    for c in cuts.into_iter().chain(std::iter::once(n)) {
        let mut g: Vec<NodeId> = order[from..c.min(n)].iter().map(|&k| NodeId(k)).collect();
        g.sort();
        out.push(g);
        from = c.min(n);
    }
    out.retain(|g| !g.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn random_faults_come_in_start_and_recovery_pairs_before_the_end() {
        let kinds = RandomFaults {
            crash: Some(RandomFault { every: SimDuration::from_secs(2), lasts: "100ms..1s".parse().unwrap() }),
            partition: Some(RandomFault { every: SimDuration::from_secs(5), lasts: "1s".parse().unwrap() }),
            ..RandomFaults::default()
        };
        let until = SimTime(60_000_000_000);
        let faults = kinds.draw(5, until, &mut Stream::Faults.rng(3), &[]);
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
        assert_eq!(faults, kinds.draw(5, until, &mut Stream::Faults.rng(3), &[]), "same seed, same faults");
    }

    #[test]
    fn random_partitions_take_many_shapes() {
        let mut rng = Stream::Faults.rng(11);
        let mut shapes = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let groups = random_groups(5, &mut rng);
            assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 5, "every node in one group");
            assert!(groups.iter().all(|g| !g.is_empty()));
            let mut sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
            sizes.sort();
            shapes.insert(sizes);
        }
        // 1+4, 2+3, 1+1+3, 1+2+2: a lone node, a minority, three-way splits.
        assert_eq!(shapes.len(), 4, "{shapes:?}");
    }

    #[test]
    fn random_crashes_never_overlap_each_other_or_the_script() {
        let kinds = RandomFaults {
            crash: Some(RandomFault { every: SimDuration::from_millis(300), lasts: "1s..2s".parse().unwrap() }),
            partition: Some(RandomFault { every: SimDuration::from_secs(3), lasts: "1s".parse().unwrap() }),
            ..RandomFaults::default()
        };
        let until = SimTime(30_000_000_000);
        // The script keeps node 0 down from 5 s to 20 s.
        let script = [
            TimedFault { at: SimTime(5_000_000_000), fault: Fault::Crash(NodeId(0)) },
            TimedFault { at: SimTime(20_000_000_000), fault: Fault::Restart(NodeId(0)) },
        ];
        let faults = kinds.draw(3, until, &mut Stream::Faults.rng(4), &script);
        let mut down: Vec<Vec<(SimTime, SimTime)>> = vec![vec![(script[0].at, script[1].at)], vec![], vec![]];
        let mut open: Vec<Option<SimTime>> = vec![None; 3];
        for f in &faults {
            match f.fault {
                Fault::Crash(n) => open[n.index()] = Some(f.at),
                Fault::Restart(n) => {
                    let start = open[n.index()].take().expect("a restart closes a crash");
                    for &(s, e) in &down[n.index()] {
                        assert!(f.at < s || start > e, "node {} is crashed twice at once", n.0);
                    }
                    down[n.index()].push((start, f.at));
                }
                _ => {}
            }
        }
        assert!(down.iter().map(Vec::len).sum::<usize>() > 10, "crashes were still drawn");
        let partitions: Vec<_> = faults.iter().filter(|f| matches!(f.fault, Fault::Partition(_))).collect();
        let ends: Vec<_> = faults.iter().filter(|f| matches!(f.fault, Fault::EndPartition(_))).collect();
        assert_eq!(partitions.len(), ends.len());
        assert!(!faults.iter().any(|f| f.fault == Fault::Heal), "a random partition ends only itself");
    }
}
