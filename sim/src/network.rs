//! The simulated network: per-link latency, loss, duplication, ordering and bandwidth;
//! directional partitions; regions; and routing over the topology.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dist::{Latency, Sampler};
use crate::protocol::NodeId;
use crate::rng::{SimRng, chance};
use crate::time::SimTime;
use crate::topology::{Topology, TopologySpec};
use crate::units::{Bandwidth, Probability};

/// The behaviour of one direction of a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// One-way latency.
    pub latency: Latency,
    /// Chance that a message is lost.
    pub loss: Probability,
    /// Chance that a message is delivered twice (the copy with its own latency).
    pub duplicate: Probability,
    /// Capacity; messages queue behind each other and pay their serialisation delay.
    pub bandwidth: Option<Bandwidth>,
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec { latency: Latency::default(), loss: Probability::ZERO, duplicate: Probability::ZERO, bandwidth: None }
    }
}

/// Whether a link keeps messages in order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// Each message draws its own latency, so later messages can overtake earlier ones.
    #[default]
    Reorder,
    /// A message never arrives before one sent earlier on the same link (like TCP).
    Fifo,
}

/// Nodes grouped into regions, with the links between regions.
#[derive(Clone, Debug, PartialEq)]
pub struct Regions {
    /// Region names, indexed by region number.
    pub names: Vec<String>,
    /// The region of each node.
    pub of_node: Vec<u16>,
    /// Links between two different regions (both directions); pairs not listed use the
    /// network's default link.
    pub between: Vec<(u16, u16, LinkSpec)>,
}

/// A change to one direction of one link, on top of what the link would otherwise be.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOverride {
    /// Sending node.
    pub from: NodeId,
    /// Receiving node.
    pub to: NodeId,
    /// The link's behaviour.
    pub spec: LinkSpec,
}

/// Everything that shapes the network at the start of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkConfig {
    /// Every link's behaviour unless a region pair or an override says otherwise.
    pub default: LinkSpec,
    /// Reordering or FIFO links.
    pub ordering: Ordering,
    /// Which links exist.
    pub topology: TopologySpec,
    /// Optional regions with inter-region links.
    pub regions: Option<Regions>,
    /// Per-link overrides.
    pub links: Vec<LinkOverride>,
    /// Latencies of their own for messages of these kinds ([`crate::Message::kind`]), on
    /// every hop in place of the link's (a region's, a per-link override's and a latency
    /// fault's included): a write that waits on a disk, say, against the acks and reads that
    /// do not (PBS's WARS model). Loss, duplication and cuts still apply.
    pub kinds: Vec<(String, Latency)>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            default: LinkSpec::default(),
            ordering: Ordering::Reorder,
            topology: TopologySpec::Mesh,
            regions: None,
            links: vec![],
            kinds: vec![],
        }
    }
}

/// A change of link behaviour during a run (a fault). Fields left `None` stay as they are.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkChange {
    /// Only the link between these two nodes (both directions); every link when `None`.
    pub between: Option<(NodeId, NodeId)>,
    /// New latency.
    pub latency: Option<Latency>,
    /// New loss probability.
    pub loss: Option<Probability>,
    /// New duplication probability.
    pub duplicate: Option<Probability>,
}

/// A cut in the network: messages matching it are dropped.
#[derive(Clone, Debug, PartialEq)]
pub enum Cut {
    /// Nodes in different groups cannot talk; `group[k]` is node k's group, 0 if unlisted.
    Groups(Vec<u32>),
    /// Messages from any node in `from` to any node in `to` are dropped (one direction only).
    Directed {
        /// Senders cut off.
        from: Vec<bool>,
        /// Receivers cut off.
        to: Vec<bool>,
    },
}

impl Cut {
    /// A partition into groups of `nodes` nodes; unlisted nodes keep every link.
    pub fn groups(nodes: u32, groups: &[Vec<NodeId>]) -> Cut {
        let mut group = vec![0u32; nodes as usize];
        for (g, members) in groups.iter().enumerate() {
            for m in members {
                group[m.index()] = g as u32 + 1;
            }
        }
        Cut::Groups(group)
    }

    /// A one-way cut from every node of `from` to every node of `to`.
    pub fn directed(nodes: u32, from: &[NodeId], to: &[NodeId]) -> Cut {
        let mut f = vec![false; nodes as usize];
        let mut t = vec![false; nodes as usize];
        from.iter().for_each(|n| f[n.index()] = true);
        to.iter().for_each(|n| t[n.index()] = true);
        Cut::Directed { from: f, to: t }
    }

    #[inline]
    fn blocks(&self, a: NodeId, b: NodeId) -> bool {
        match self {
            Cut::Groups(g) => {
                let (ga, gb) = (g[a.index()], g[b.index()]);
                ga != 0 && gb != 0 && ga != gb
            }
            Cut::Directed { from, to } => from[a.index()] && to[b.index()],
        }
    }
}

/// Message counts and bytes, for reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NetStats {
    /// Messages handed to the network.
    pub sent: u64,
    /// Bytes handed to the network.
    pub bytes_sent: u64,
    /// Messages delivered to a running node.
    pub delivered: u64,
    /// Bytes delivered to a running node.
    pub bytes_delivered: u64,
    /// Messages lost to link loss.
    pub dropped_loss: u64,
    /// Messages dropped because a partition cut their path.
    pub dropped_partition: u64,
    /// Messages dropped because their receiver was down or had restarted since.
    pub dropped_down: u64,
    /// Extra copies made by duplication.
    pub duplicated: u64,
    /// What Byzantine nodes did, and what authentication rejected.
    #[serde(skip_serializing_if = "crate::byzantine::ByzantineStats::is_quiet")]
    pub byzantine: crate::byzantine::ByzantineStats,
}

#[derive(Clone, Debug)]
struct Link {
    spec: LinkSpec,
    latency: Sampler,
    loss: f64,
    duplicate: f64,
}

impl Link {
    fn new(spec: LinkSpec) -> Link {
        Link { latency: spec.latency.sampler(), loss: spec.loss.get(), duplicate: spec.duplicate.get(), spec }
    }

    fn changed(&self, change: &LinkChange) -> Link {
        let mut spec = self.spec.clone();
        if let Some(l) = &change.latency {
            spec.latency = l.clone();
        }
        if let Some(p) = change.loss {
            spec.loss = p;
        }
        if let Some(p) = change.duplicate {
            spec.duplicate = p;
        }
        Link::new(spec)
    }
}

/// Every link's current behaviour.
#[derive(Clone, Debug)]
struct LinkTable {
    default: Link,
    region_of: Vec<u16>,
    regions: usize,
    /// `regions × regions` links between different regions; `None` uses `default`.
    region_links: Vec<Option<Link>>,
    overrides: BTreeMap<(u32, u32), Link>,
}

impl LinkTable {
    #[inline]
    fn get(&self, from: NodeId, to: NodeId) -> &Link {
        if !self.overrides.is_empty()
            && let Some(link) = self.overrides.get(&(from.0, to.0))
        {
            return link;
        }
        if self.regions > 0 {
            let (ra, rb) = (self.region_of[from.index()] as usize, self.region_of[to.index()] as usize);
            if let Some(link) = &self.region_links[ra * self.regions + rb] {
                return link;
            }
        }
        &self.default
    }

    fn apply(&mut self, change: &LinkChange) {
        match change.between {
            Some((a, b)) => {
                for (x, y) in [(a, b), (b, a)] {
                    let link = self.get(x, y).changed(change);
                    self.overrides.insert((x.0, y.0), link);
                }
            }
            None => {
                self.default = self.default.changed(change);
                for link in self.region_links.iter_mut().flatten() {
                    *link = link.changed(change);
                }
                for link in self.overrides.values_mut() {
                    *link = link.changed(change);
                }
            }
        }
    }
}

/// When the copies of one sent message arrive: none (lost or cut), one, or two (duplicated).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Arrivals {
    times: [SimTime; 2],
    len: u8,
}

impl Arrivals {
    fn push(&mut self, t: SimTime) {
        self.times[self.len as usize] = t;
        self.len += 1;
    }
    /// The arrival times.
    pub fn as_slice(&self) -> &[SimTime] {
        &self.times[..self.len as usize]
    }
}

/// The network of one run.
#[derive(Clone, Debug)]
pub struct Network {
    nodes: u32,
    ordering: Ordering,
    base: LinkTable,
    links: LinkTable,
    topology: Topology,
    cuts: Vec<Cut>,
    /// Latest arrival on each FIFO link (from, to).
    fifo_last: BTreeMap<(u32, u32), SimTime>,
    /// When each bandwidth-limited link (from, to) finishes sending what is queued on it.
    busy_until: BTreeMap<(u32, u32), SimTime>,
    hops: Vec<NodeId>,
    /// Message kinds with latencies of their own.
    kinds: Vec<(String, Sampler)>,
    /// Loss bursts in force, and the share of messages all of them together let through.
    bursts: Vec<f64>,
    burst_keep: f64,
    /// Whether a fault changed some link since the start (or the last restore).
    changed: bool,
    rng: SimRng,
    /// Counters for reports.
    pub stats: NetStats,
    /// Traffic by node, message kind and pair, for reports.
    pub traffic: crate::traffic::Traffic,
}

impl Network {
    /// The network of `nodes` nodes described by `config`, drawing from `rng`.
    pub fn new(nodes: u32, config: &NetworkConfig, rng: SimRng) -> Result<Self, String> {
        let mut table = LinkTable {
            default: Link::new(config.default.clone()),
            region_of: vec![],
            regions: 0,
            region_links: vec![],
            overrides: BTreeMap::new(),
        };
        if let Some(regions) = &config.regions {
            let r = regions.names.len();
            table.region_of = regions.of_node.clone();
            table.regions = r;
            table.region_links = vec![None; r * r];
            for (a, b, spec) in &regions.between {
                let (a, b) = (*a as usize, *b as usize);
                table.region_links[a * r + b] = Some(Link::new(spec.clone()));
                table.region_links[b * r + a] = Some(Link::new(spec.clone()));
            }
        }
        for o in &config.links {
            table.overrides.insert((o.from.0, o.to.0), Link::new(o.spec.clone()));
        }
        let topology = Topology::new(&config.topology, nodes, |a, b| table.get(a, b).spec.latency.median().as_nanos())
            .map_err(|e| e.to_string())?;
        Ok(Network {
            nodes,
            ordering: config.ordering,
            base: table.clone(),
            links: table,
            topology,
            cuts: vec![],
            fifo_last: BTreeMap::new(),
            busy_until: BTreeMap::new(),
            hops: Vec::new(),
            kinds: config.kinds.iter().map(|(k, l)| (k.clone(), l.sampler())).collect(),
            bursts: Vec::new(),
            burst_keep: 1.0,
            changed: false,
            rng,
            stats: NetStats::default(),
            traffic: crate::traffic::Traffic::new(nodes as usize),
        })
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.nodes
    }

    /// Hands a message of `size` bytes from `from` to the network at `now`; returns when its
    /// copies arrive at `to`. A lost message arrives never; whether a cut drops it is decided
    /// on arrival ([`Network::path_cut`]). Duplication is end to end, with the probability of
    /// the direct link `from → to`: the copy travels the route on its own. A message of a
    /// `kind` given a latency of its own takes that on every hop.
    pub fn send(&mut self, now: SimTime, from: NodeId, to: NodeId, size: u64, kind: &str) -> Arrivals {
        self.stats.sent += 1;
        self.stats.bytes_sent += size;
        let mut arrivals = Arrivals::default();
        if from == to {
            arrivals.push(now);
            return arrivals;
        }
        if self.topology.is_mesh() {
            self.hops.clear();
            self.hops.push(to);
        } else {
            self.topology.route(from, to, &mut self.hops);
        }
        let own =
            if self.kinds.is_empty() { None } else { self.kinds.iter().find(|(k, _)| k == kind).map(|(_, s)| *s) };
        if let Some(t) = self.traverse(now, from, size, own) {
            arrivals.push(t);
            if self.duplicates(from, to) {
                self.stats.duplicated += 1;
                if let Some(t2) = self.traverse(now, from, size, own) {
                    arrivals.push(t2);
                }
            }
        }
        arrivals
    }

    fn duplicates(&mut self, from: NodeId, to: NodeId) -> bool {
        let p = self.links.get(from, to).duplicate;
        chance(&mut self.rng, p)
    }

    /// Walks `self.hops` from `from`, hop by hop; `None` if the message is lost or cut.
    fn traverse(&mut self, now: SimTime, from: NodeId, size: u64, own: Option<Sampler>) -> Option<SimTime> {
        let mut t = now;
        let mut here = from;
        for i in 0..self.hops.len() {
            let next = self.hops[i];
            let link = self.links.get(here, next);
            let (loss, sampler, bandwidth) = (link.loss, own.unwrap_or(link.latency), link.spec.bandwidth);
            if let Some(bw) = bandwidth {
                // A message lost on the wire still took its turn on the link.
                let busy = self.busy_until.entry((here.0, next.0)).or_insert(SimTime::ZERO);
                let done = (t.max(*busy)) + bw.serialisation_delay(size);
                *busy = done;
                t = done;
            }
            let loss = if self.bursts.is_empty() { loss } else { 1.0 - (1.0 - loss) * self.burst_keep };
            if chance(&mut self.rng, loss) {
                self.stats.dropped_loss += 1;
                return None;
            }
            t += sampler.sample(&mut self.rng);
            if self.ordering == Ordering::Fifo {
                let last = self.fifo_last.entry((here.0, next.0)).or_insert(SimTime::ZERO);
                t = t.max(*last);
                *last = t;
            }
            here = next;
        }
        Some(t)
    }

    /// True if some hop of the route from `from` to `to` is cut now. Partitions are judged when
    /// a message arrives: one sent into a cut that heals before it lands gets through, one in
    /// flight when a cut appears is lost.
    pub fn path_cut(&mut self, from: NodeId, to: NodeId) -> bool {
        if self.cuts.is_empty() || from == to {
            return false;
        }
        if self.topology.is_mesh() {
            return self.is_cut(from, to);
        }
        let mut hops = std::mem::take(&mut self.hops);
        self.topology.route(from, to, &mut hops);
        let mut here = from;
        let mut cut = false;
        for &next in &hops {
            if self.is_cut(here, next) {
                cut = true;
                break;
            }
            here = next;
        }
        self.hops = hops;
        cut
    }

    #[inline]
    fn is_cut(&self, a: NodeId, b: NodeId) -> bool {
        self.cuts.iter().any(|c| c.blocks(a, b))
    }

    /// Adds a cut (a partition).
    pub fn cut(&mut self, cut: Cut) {
        self.cuts.push(cut);
    }

    /// Removes one cut equal to `cut` (the end of a partition window); false if none was in force.
    pub fn uncut(&mut self, cut: &Cut) -> bool {
        match self.cuts.iter().position(|c| c == cut) {
            Some(i) => {
                self.cuts.remove(i);
                true
            }
            None => false,
        }
    }

    /// Adds (`on`) or ends a loss burst: every link also loses this share of its messages.
    /// Bursts stack with each other and with the links' own loss.
    pub fn loss_burst(&mut self, loss: Probability, on: bool) {
        if on {
            self.bursts.push(loss.get());
        } else if let Some(i) = self.bursts.iter().position(|&p| p == loss.get()) {
            self.bursts.remove(i);
        }
        self.burst_keep = self.bursts.iter().map(|p| 1.0 - p).product();
    }

    /// True when some link behaves differently from how the scenario started it.
    pub fn links_changed(&self) -> bool {
        self.changed
    }

    /// Removes every cut.
    pub fn heal(&mut self) {
        self.cuts.clear();
    }

    /// True while some cut is in force.
    pub fn partitioned(&self) -> bool {
        !self.cuts.is_empty()
    }

    /// Changes link behaviour (a latency or loss fault).
    pub fn change(&mut self, change: &LinkChange) {
        self.changed = true;
        self.links.apply(change);
    }

    /// Puts every link back as the scenario started it.
    pub fn restore(&mut self) {
        self.changed = false;
        self.links = self.base.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;
    use crate::time::SimDuration;

    fn net(config: NetworkConfig, nodes: u32) -> Network {
        Network::new(nodes, &config, Stream::Network.rng(1)).unwrap()
    }

    fn constant(ms: u64) -> LinkSpec {
        LinkSpec { latency: Latency::Constant(SimDuration::from_millis(ms)), ..LinkSpec::default() }
    }

    #[test]
    fn partitions_are_directional_when_asked() {
        let mut n = net(NetworkConfig::default(), 3);
        let cut = Cut::directed(3, &[NodeId(0)], &[NodeId(1)]);
        n.cut(cut.clone());
        assert!(n.path_cut(NodeId(0), NodeId(1)));
        assert!(!n.path_cut(NodeId(1), NodeId(0)));
        assert!(n.uncut(&cut));
        assert!(!n.path_cut(NodeId(0), NodeId(1)));
        assert!(!n.uncut(&cut), "only a cut in force can end");
    }

    #[test]
    fn group_partitions_leave_unlisted_nodes_connected() {
        let mut n = net(NetworkConfig::default(), 4);
        n.cut(Cut::groups(4, &[vec![NodeId(0)], vec![NodeId(1), NodeId(2)]]));
        assert!(n.path_cut(NodeId(0), NodeId(1)));
        assert!(n.path_cut(NodeId(2), NodeId(0)));
        assert!(!n.path_cut(NodeId(1), NodeId(2)));
        assert!(!n.path_cut(NodeId(3), NodeId(0)));
    }

    #[test]
    fn loss_bursts_stack_on_link_loss_and_end_cleanly() {
        let spec = LinkSpec { loss: Probability::new(0.5).unwrap(), ..constant(1) };
        let mut n = net(NetworkConfig { default: spec, ..NetworkConfig::default() }, 2);
        let burst = Probability::new(0.5).unwrap();
        n.loss_burst(burst, true);
        let arrived =
            (0..40_000).filter(|_| !n.send(SimTime(0), NodeId(0), NodeId(1), 1, "m").as_slice().is_empty()).count();
        assert!((arrived as f64 / 40_000.0 - 0.25).abs() < 0.01, "half of half gets through: {arrived}");
        n.loss_burst(burst, false);
        let arrived =
            (0..40_000).filter(|_| !n.send(SimTime(0), NodeId(0), NodeId(1), 1, "m").as_slice().is_empty()).count();
        assert!((arrived as f64 / 40_000.0 - 0.5).abs() < 0.01, "{arrived}");
    }

    #[test]
    fn fifo_links_never_reorder() {
        let spec = LinkSpec {
            latency: Latency::Uniform { min: SimDuration::ZERO, max: SimDuration::from_millis(100) },
            ..LinkSpec::default()
        };
        let config = NetworkConfig { default: spec, ordering: Ordering::Fifo, ..NetworkConfig::default() };
        let mut n = net(config, 2);
        let mut last = SimTime::ZERO;
        for i in 0..1000 {
            let t = n.send(SimTime(i * 1000), NodeId(0), NodeId(1), 1, "m").as_slice()[0];
            assert!(t >= last);
            last = t;
        }
    }

    #[test]
    fn a_message_kind_with_its_own_latency_takes_it_and_others_keep_the_links() {
        let config = NetworkConfig {
            default: constant(1),
            kinds: vec![("Write".into(), Latency::Constant(SimDuration::from_millis(9)))],
            ..NetworkConfig::default()
        };
        let mut n = net(config, 2);
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(1), 1, "Write").as_slice()[0], SimTime(9_000_000));
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(1), 1, "WriteAck").as_slice()[0], SimTime(1_000_000));
    }

    #[test]
    fn bandwidth_queues_messages_behind_each_other() {
        let spec = LinkSpec { bandwidth: Some(Bandwidth::bytes_per_sec(1_000_000).unwrap()), ..constant(1) };
        let mut n = net(NetworkConfig { default: spec, ..NetworkConfig::default() }, 2);
        let a = n.send(SimTime(0), NodeId(0), NodeId(1), 1000, "m").as_slice()[0];
        let b = n.send(SimTime(0), NodeId(0), NodeId(1), 1000, "m").as_slice()[0];
        assert_eq!(a, SimTime(2_000_000), "1 ms on the wire + 1 ms latency");
        assert_eq!(b, SimTime(3_000_000), "queued behind the first");
    }

    #[test]
    fn loss_and_duplication_happen_at_their_rates() {
        let spec =
            LinkSpec { loss: Probability::new(0.1).unwrap(), duplicate: Probability::new(0.2).unwrap(), ..constant(1) };
        let mut n = net(NetworkConfig { default: spec, ..NetworkConfig::default() }, 2);
        let copies: usize =
            (0..100_000).map(|_| n.send(SimTime(0), NodeId(0), NodeId(1), 1, "m").as_slice().len()).sum();
        let lost = n.stats.dropped_loss as f64 / 100_000.0;
        assert!((lost - 0.1 - 0.1 * 0.2 * 0.9).abs() < 0.01, "loss rate {lost}");
        // A copy arrives with p = 0.9; a duplicate is made with p = 0.2 and arrives with p = 0.9.
        assert!((copies as f64 / 100_000.0 - 0.9 * (1.0 + 0.2 * 0.9)).abs() < 0.01, "{copies} copies");
        assert!((n.stats.duplicated as f64 / 90_000.0 - 0.2).abs() < 0.01);
    }

    #[test]
    fn regions_and_overrides_pick_the_right_link() {
        let regions = Regions {
            names: vec!["eu".into(), "us".into()],
            of_node: vec![0, 0, 1],
            between: vec![(0, 1, constant(40))],
        };
        let config = NetworkConfig {
            default: constant(1),
            regions: Some(regions),
            links: vec![LinkOverride { from: NodeId(1), to: NodeId(2), spec: constant(7) }],
            ..NetworkConfig::default()
        };
        let mut n = net(config, 3);
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(1), 1, "m").as_slice()[0], SimTime(1_000_000));
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(2), 1, "m").as_slice()[0], SimTime(40_000_000));
        assert_eq!(n.send(SimTime(0), NodeId(1), NodeId(2), 1, "m").as_slice()[0], SimTime(7_000_000));
        assert_eq!(n.send(SimTime(0), NodeId(2), NodeId(1), 1, "m").as_slice()[0], SimTime(40_000_000));
        n.change(&LinkChange {
            latency: Some(Latency::Constant(SimDuration::from_millis(3))),
            ..LinkChange::default()
        });
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(2), 1, "m").as_slice()[0], SimTime(3_000_000));
        n.restore();
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(2), 1, "m").as_slice()[0], SimTime(40_000_000));
    }

    #[test]
    fn multi_hop_latency_adds_up_along_the_route() {
        let config = NetworkConfig { default: constant(5), topology: TopologySpec::Ring, ..NetworkConfig::default() };
        let mut n = net(config, 6);
        assert_eq!(n.send(SimTime(0), NodeId(0), NodeId(3), 1, "m").as_slice()[0], SimTime(15_000_000));
        n.cut(Cut::groups(6, &[vec![NodeId(1)], vec![NodeId(2)]]));
        assert!(n.path_cut(NodeId(0), NodeId(3)), "the route 0-1-2-3 crosses the cut 1|2");
    }
}
