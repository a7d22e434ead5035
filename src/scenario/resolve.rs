//! From the file's model to the engine's: names become node ids, units become numbers, and
//! everything impossible is rejected with the path of the field at fault.

use std::collections::{BTreeMap, BTreeSet};

use crate::registry::ProtocolConfig;
use syncsim_protocols::RaftNode;
use syncsim_reports::expect::{self, Expectation, Needs, Written};
use syncsim_sim::fault::{Fault, RandomFault, RandomFaults, Target, Targeted, TimedFault, window_end};
use syncsim_sim::history::OpKind;
use syncsim_sim::network::{LinkChange, LinkOverride, LinkSpec, NetworkConfig, Regions};
use syncsim_sim::topology::{Disconnected, Topology, TopologySpec};
use syncsim_sim::workload::{self, Arrival, KeyDistribution, ScriptedOp, WorkloadConfig};
use syncsim_sim::{Autoscale, ByzantineConfig, Consistency, Cost, Lies, NodeId, Op, SimConfig, SimDuration, SimTime};

use super::error::FieldError;
use super::raw::*;

/// Largest cluster: node ids must fit the 20 bits that version stamps give them.
pub const MAX_NODES: u64 = 1_000_000;
/// Longest duration or settle phase: one simulated day.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(86_400);
/// Most random clients.
pub const MAX_CLIENTS: u32 = 1_000_000;
/// Most keys (uniform); Zipf keys need a table and get a tenth of that.
pub const MAX_KEYS: u64 = 10_000_000;
/// Most operations a workload may plan to issue.
pub const MAX_PLANNED_OPS: f64 = 50_000_000.0;
/// Most scripted faults.
pub const MAX_FAULTS: usize = 100_000;

type Result<T> = std::result::Result<T, FieldError>;

/// Region names, and the region of each node.
type RegionsOf = (Vec<String>, Vec<u16>);

/// A scenario ready to run.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Node names, indexed by node id.
    pub node_names: Vec<String>,
    /// The engine configuration (seed from the file).
    pub sim: SimConfig,
    /// The expectations.
    pub expectations: Vec<Expectation>,
}

/// Checks `raw` and builds the engine's configuration from it.
pub fn resolve(raw: &RawScenario) -> Result<Resolved> {
    if !valid_name(&raw.name) || raw.name.starts_with('.') {
        return Err(FieldError::new(
            "name",
            format!(
                "`{}` is not a valid scenario name: letters, digits, `-`, `_` and `.`, not starting with `.`",
                raw.name
            ),
        ));
    }
    duration_within("duration", raw.duration, true)?;
    duration_within("settle.duration", raw.settle.duration, false)?;
    let (mut names, regions) = node_names(&raw.nodes)?;
    spare_names(raw, &mut names, regions.is_some())?;
    let nodes = Names::new(&names);
    if let Err((field, message)) = raw.protocol.validate(&names) {
        return Err(FieldError::new(format!("protocol.{field}"), message));
    }
    let network = network(&raw.network, &nodes, regions, raw.protocol.kind(), raw.protocol.messages())?;
    let workload = workload(&raw.workload, raw.duration, &raw.protocol, &nodes)?;
    let faults = faults(&raw.faults, raw.duration, &nodes, raw.spares, &network.topology)?;
    let info = raw.protocol.info();
    if !info.leaders
        && let Some((i, field)) = raw.faults.iter().enumerate().find_map(|(i, f)| leader_target(f).map(|x| (i, x)))
    {
        return Err(FieldError::new(
            format!("faults[{i}].{field}"),
            format!("`leader` needs a protocol that elects leaders, and {} does not: name a node", info.name),
        ));
    }
    let random_faults = random_faults(&raw.random_faults, names.len() as u32)?;
    // A cluster whose members change needs a protocol that bootstraps and hands off.
    let membership = raw.faults.iter().position(|f| f.join.is_some() || f.leave.is_some());
    let elastic_by = if raw.spares > 0 {
        Some("spares".to_string())
    } else if raw.random_faults.churn.is_some() {
        Some("random_faults.churn".to_string())
    } else if raw.autoscale.is_some() {
        Some("autoscale".to_string())
    } else {
        membership.map(|i| format!("faults[{i}]"))
    };
    if let (Some(by), Err((field, message))) = (&elastic_by, raw.protocol.elastic()) {
        return Err(FieldError::new(format!("protocol.{field}"), format!("{message} (`{by}` asks for it)")));
    }
    let windows = random_faults.expected_windows(raw.duration);
    if windows > MAX_FAULTS as f64 {
        return Err(FieldError::new(
            "random_faults",
            format!(
                "these rates draw about {windows:.0} faults of one kind over {}, more than the limit of {MAX_FAULTS}",
                raw.duration
            ),
        ));
    }
    let expectations = raw
        .expect
        .0
        .iter()
        .map(|(metric, value)| {
            let written = match value {
                ExpectValue::Bool(b) => Written::Bool(*b),
                ExpectValue::Number(x) => Written::Number(*x),
                ExpectValue::Text(t) => Written::Text(t.clone()),
            };
            let path = format!("expect.{metric}");
            let e = expect::parse(metric, &written).map_err(|m| FieldError::new(&path, m))?;
            measurable(metric, &workload, &raw.protocol).map_err(|m| FieldError::new(&path, m))?;
            Ok(e)
        })
        .collect::<Result<Vec<_>>>()?;
    if raw.engine.sample_every == SimDuration::ZERO {
        return Err(FieldError::new("engine.sample_every", "the sampling interval must be positive"));
    }
    if let Some(RawExperiment::LeaderElection(e)) = &raw.experiment {
        let path = "experiment.leader-election";
        if raw.protocol.get::<RaftNode>().is_none() {
            return Err(FieldError::new("experiment", "the leader-election experiment needs `kind: raft`"));
        }
        if !(1..=100_000).contains(&e.trials) {
            return Err(FieldError::new(format!("{path}.trials"), "between 1 and 100000 trials"));
        }
        if e.groups.is_empty() {
            return Err(FieldError::new(format!("{path}.groups"), "give at least one group of timeouts"));
        }
        for (g, group) in e.groups.iter().enumerate() {
            if group.timeouts.is_empty() {
                return Err(FieldError::new(format!("{path}.groups[{g}].timeouts"), "give at least one timeout range"));
            }
            for (t, range) in group.timeouts.iter().enumerate() {
                if range.min < SimDuration::from_millis(1) {
                    return Err(FieldError::new(
                        format!("{path}.groups[{g}].timeouts[{t}]"),
                        "an election timeout of at least 1ms (the heartbeat is half of it)",
                    ));
                }
                // Each configuration is the protocol's own with this timeout: it must hold too
                // (a timeout step that does not divide it, say).
                let raft = raw.protocol.get::<RaftNode>().expect("checked above");
                let config = syncsim_protocols::raft::RaftConfig {
                    election_timeout: *range,
                    heartbeat: SimDuration(range.min.as_nanos() / 2),
                    ..raft.clone()
                };
                if let Err((field, message)) = config.validate() {
                    return Err(FieldError::new(
                        format!("{path}.groups[{g}].timeouts[{t}]"),
                        format!("with this timeout, protocol.{field}: {message}"),
                    ));
                }
            }
        }
    }
    if let Err((field, message)) = raw.timing.validate() {
        return Err(FieldError::new(field, message));
    }
    if raw.engine.memory_limit_mb == 0 {
        return Err(FieldError::new("engine.memory_limit_mb", "the memory limit must be at least 1 (MiB)"));
    }
    if raw.engine.max_events == Some(0) {
        return Err(FieldError::new("engine.max_events", "the event limit must be at least 1"));
    }
    let sim = SimConfig {
        seed: raw.seed,
        nodes: names.len() as u32,
        spares: raw.spares,
        duration: raw.duration,
        settle: raw.settle.duration,
        restart_on_settle: raw.settle.restart_crashed,
        settle_core: match raw.settle.heal {
            SettleHeal::All => None,
            // A protocol that claims linearizability makes progress only with a majority.
            SettleHeal::Core if raw.protocol.info().consistency == Consistency::Linearizable => {
                Some(names.len() as u32 / 2 + 1)
            }
            SettleHeal::Core => Some(1),
        },
        network,
        workload,
        faults,
        random_faults,
        sample_every: raw.engine.sample_every,
        record_trace: false,
        max_events: raw.engine.max_events,
        timing: raw.timing.clone(),
        autoscale: autoscale(raw.autoscale.as_ref(), names.len() as u32, raw.spares)?,
        byzantine: byzantine(raw.byzantine.as_ref(), &nodes, raw.protocol.info().leaders)?,
        signatures: raw
            .byzantine
            .as_ref()
            .and_then(|b| b.signatures.as_ref())
            .map_or_else(Default::default, |s| syncsim_sim::Signatures { bytes: s.bytes, time: s.time }),
    };
    let cost = Cost::estimate(&sim, &raw.protocol.load(names.len()));
    if let Some((field, message)) = cost.too_big(raw.engine.memory_limit_mb as f64 * (1u64 << 20) as f64) {
        return Err(FieldError::new(field, message));
    }
    Ok(Resolved { node_names: names, sim, expectations })
}

/// The Byzantine nodes, checked: named nodes exist, `leader` only for a protocol that elects
/// one, at most f random ones (the engine checks that), and some lie to tell.
fn byzantine(raw: Option<&RawByzantine>, nodes: &Names, leaders: bool) -> Result<Option<ByzantineConfig>> {
    let Some(b) = raw else { return Ok(None) };
    let mut targets = Vec::new();
    for (i, name) in b.nodes.iter().enumerate() {
        let path = format!("byzantine.nodes[{i}]");
        targets.push(match name.as_str() {
            "leader" if !leaders => {
                return Err(FieldError::new(path, "this protocol elects no leader: name a node"));
            }
            "leader" => Target::Leader,
            _ => Target::Node(nodes.id(&path, name)?),
        });
        if targets[..i].contains(&targets[i]) {
            return Err(FieldError::new(path, format!("`{name}` is listed twice")));
        }
    }
    let f = (nodes.names.len().max(1) as u32 - 1) / 3;
    if b.random > f {
        return Err(FieldError::new(
            "byzantine.random",
            format!(
                "{} random liars among {} nodes is more than f = {f}, the most a BFT protocol tolerates (n >= 3f + 1): \
                 name the nodes to go beyond",
                b.random,
                nodes.names.len()
            ),
        ));
    }
    if targets.is_empty() && b.random == 0 {
        return Err(FieldError::new("byzantine.nodes", "name the nodes that lie, or draw some with `random: 1`"));
    }
    if b.lies.is_empty() {
        return Err(FieldError::new(
            "byzantine.lies",
            "give at least one lie: equivocate, forge, replay, withhold or corrupt",
        ));
    }
    if b.share.get() == 0.0 {
        return Err(FieldError::new("byzantine.share", "a share of 0% tells no lie: give more than 0%"));
    }
    if let Some(s) = &b.signatures
        && s.time == SimDuration::ZERO
        && s.bytes == 0
    {
        return Err(FieldError::new("byzantine.signatures", "a signature that costs nothing: give its bytes or time"));
    }
    Ok(Some(ByzantineConfig {
        nodes: targets,
        random: b.random,
        at: SimTime::ZERO + b.at,
        lies: Lies { lies: b.lies.iter().copied().collect(), share: b.share.get() },
    }))
}

/// The autoscaler's settings, checked: `nodes` ids in all, the last `spares` of them spares.
fn autoscale(raw: Option<&RawAutoscale>, nodes: u32, spares: u32) -> Result<Option<Autoscale>> {
    let Some(a) = raw else { return Ok(None) };
    let bad = |f: &str, m: String| Err(FieldError::new(format!("autoscale.{f}"), m));
    if a.every == SimDuration::ZERO {
        return bad("every", "the autoscaler must look more often than never: longer than 0s".into());
    }
    if a.min == 0 || a.min > a.max {
        return bad("min", format!("between 1 and `max` ({}) members, not {}", a.max, a.min));
    }
    if a.max > nodes {
        return bad("max", format!("{} members is more than the {nodes} nodes there are, spares included", a.max));
    }
    if nodes - spares < a.min || nodes - spares > a.max {
        return bad(
            "min",
            format!("the cluster starts with {} members, outside {}..={}", nodes - spares, a.min, a.max),
        );
    }
    if a.down.get() >= a.up.get() {
        return bad("down", format!("{} must be below `up` ({})", a.down, a.up));
    }
    Ok(Some(Autoscale {
        every: a.every,
        capacity: a.capacity.get(),
        up: a.up.get(),
        down: a.down.get(),
        min: a.min,
        max: a.max,
    }))
}

/// Whether this run can measure `metric` at all: an expectation on something that never
/// happens is a mistake in the scenario, not a failure of the protocol.
fn measurable(metric: &str, workload: &WorkloadConfig, protocol: &ProtocolConfig) -> std::result::Result<(), String> {
    let issued = |kind: OpKind| {
        workload.clients > 0 && workload.mix.iter().any(|&(k, w)| k == kind && w > 0)
            || workload.script.iter().any(|s| s.op.kind() == kind)
    };
    let writes = || OpKind::ALL.into_iter().any(|k| k.is_update() && issued(k));
    match expect::needs(metric) {
        Needs::Nothing => Ok(()),
        Needs::Op(name) => match op_kind(name) {
            Some(kind) if issued(kind) => Ok(()),
            _ => Err(format!("the workload issues no `{name}` operations, so `{metric}` cannot be measured")),
        },
        Needs::Writes if writes() => Ok(()),
        Needs::Writes => Err(format!("the workload makes no writes, so `{metric}` cannot be measured")),
        Needs::Rounds if protocol.info().round.is_none() => {
            Err(format!("{} does not work in rounds, so `{metric}` cannot be measured", protocol.info().name))
        }
        Needs::Rounds if writes() => Ok(()),
        Needs::Rounds => Err(format!("the workload makes no writes, so `{metric}` cannot be measured")),
    }
}

fn duration_within(path: &str, d: SimDuration, positive: bool) -> Result<()> {
    if positive && d == SimDuration::ZERO {
        return Err(FieldError::new(path, "must be longer than 0s"));
    }
    if d > MAX_DURATION {
        return Err(FieldError::new(path, format!("{d} is longer than the limit of {MAX_DURATION} of simulated time")));
    }
    Ok(())
}

/// Node names by id, and their lookup.
struct Names<'a> {
    names: &'a [String],
    ids: BTreeMap<&'a str, NodeId>,
}

impl<'a> Names<'a> {
    fn new(names: &'a [String]) -> Self {
        let ids = names.iter().enumerate().map(|(i, n)| (n.as_str(), NodeId(i as u32))).collect();
        Names { names, ids }
    }

    fn id(&self, path: &str, name: &str) -> Result<NodeId> {
        self.ids.get(name).copied().ok_or_else(|| {
            let known = if self.names.len() <= 12 {
                self.names.join(", ")
            } else {
                format!(
                    "{}, ... {} ({} nodes)",
                    self.names[..6].join(", "),
                    self.names[self.names.len() - 1],
                    self.names.len()
                )
            };
            FieldError::new(path, format!("unknown node `{name}` (the nodes are: {known})"))
        })
    }

    /// The nodes of a list; an item `n10..n19` stands for n10, n11, ..., n19.
    fn ids(&self, path: &str, names: &[String]) -> Result<Vec<NodeId>> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (i, item) in names.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let ids = match item.split_once("..") {
                None => vec![self.id(&item_path, item)?],
                Some((first, last)) => self.range(&item_path, first, last)?,
            };
            for id in ids {
                if !seen.insert(id) {
                    let name = &self.names[id.index()];
                    return Err(FieldError::new(item_path, format!("`{name}` is listed twice")));
                }
                out.push(id);
            }
        }
        Ok(out)
    }

    /// `first..last`: names with one prefix and numbers from first's to last's, inclusive.
    fn range(&self, path: &str, first: &str, last: &str) -> Result<Vec<NodeId>> {
        let split = |name: &str| {
            let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let (prefix, number) = name.split_at(name.len() - digits);
            number.parse::<u64>().ok().map(|n| (prefix.to_string(), n))
        };
        let bad = || {
            FieldError::new(
                path,
                format!("`{first}..{last}` is not a node range: write e.g. `n0..n99` (one prefix, ascending numbers)"),
            )
        };
        let ((prefix, lo), (prefix2, hi)) = (split(first).ok_or_else(bad)?, split(last).ok_or_else(bad)?);
        if prefix != prefix2 || lo > hi {
            return Err(bad());
        }
        self.id(path, first)?;
        self.id(path, last)?;
        (lo..=hi).map(|k| self.id(path, &format!("{prefix}{k}"))).collect()
    }

    fn count(&self) -> u32 {
        self.names.len() as u32
    }
}

pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Words faults use for nodes chosen when they happen; no node may be called so.
const RESERVED: [&str; 3] = ["leader", "rest", "all"];

/// The node names, and the regions when `nodes` gives them.
/// Adds the spares' names: after `nodes: 3`, n3, n4, ...; after a list, spare0, spare1, ...
fn spare_names(raw: &RawScenario, names: &mut Vec<String>, regions: bool) -> Result<()> {
    if raw.spares == 0 {
        return Ok(());
    }
    if regions {
        return Err(FieldError::new("spares", "spares need `nodes` as a count or a list, not regions"));
    }
    if names.len() as u64 + u64::from(raw.spares) > MAX_NODES {
        return Err(FieldError::new(
            "spares",
            format!(
                "{} nodes with the spares is more than the limit of {MAX_NODES}",
                names.len() as u64 + u64::from(raw.spares)
            ),
        ));
    }
    let counted = matches!(raw.nodes, Nodes::Count(_));
    let first = names.len();
    for k in 0..raw.spares as usize {
        let name = if counted { format!("n{}", first + k) } else { format!("spare{k}") };
        if names.contains(&name) {
            return Err(FieldError::new(
                "spares",
                format!("a spare would be called `{name}`, which names a node already"),
            ));
        }
        names.push(name);
    }
    Ok(())
}

fn node_names(nodes: &Nodes) -> Result<(Vec<String>, Option<RegionsOf>)> {
    let check_count = |path: &str, n: u64| {
        if n == 0 {
            Err(FieldError::new(path, "a cluster needs at least one node"))
        } else if n > MAX_NODES {
            Err(FieldError::new(path, format!("{n} nodes is more than the limit of {MAX_NODES}")))
        } else {
            Ok(())
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut regions = None;
    match nodes {
        Nodes::Count(n) => {
            check_count("nodes", *n)?;
            names = (0..*n).map(|k| format!("n{k}")).collect();
        }
        Nodes::Names(list) => {
            check_count("nodes", list.len() as u64)?;
            names = list.clone();
        }
        Nodes::Regions(list) => {
            if list.is_empty() {
                return Err(FieldError::new("nodes.regions", "list at least one region"));
            }
            let mut region_names = Vec::new();
            let mut of_node = Vec::new();
            for (r, (region, members)) in list.iter().enumerate() {
                let path = format!("nodes.regions.{region}");
                if !valid_name(region) {
                    return Err(FieldError::new(
                        path,
                        format!("`{region}` is not a valid region name (letters, digits, `-`, `_`, `.`)"),
                    ));
                }
                let members: Vec<String> = match members {
                    RegionNodes::Count(n) => {
                        check_count(&path, *n)?;
                        (0..*n).map(|k| format!("{region}-{k}")).collect()
                    }
                    RegionNodes::Names(list) => {
                        check_count(&path, list.len() as u64)?;
                        list.clone()
                    }
                };
                region_names.push(region.clone());
                of_node.extend(std::iter::repeat_n(r as u16, members.len()));
                names.extend(members);
            }
            check_count("nodes", names.len() as u64)?;
            regions = Some((region_names, of_node));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let path = match nodes {
            Nodes::Names(_) => format!("nodes[{i}]"),
            _ => "nodes".to_string(),
        };
        if !valid_name(name) {
            return Err(FieldError::new(
                path,
                format!("`{name}` is not a valid node name (letters, digits, `-`, `_`, `.`)"),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(FieldError::new(path, format!("node `{name}` is named twice")));
        }
        if RESERVED.contains(&name.as_str()) {
            return Err(FieldError::new(
                path,
                format!("`{name}` is reserved for faults (leader, rest, all): name the node otherwise"),
            ));
        }
    }
    Ok((names, regions))
}

fn latency_ok(path: &str, l: &syncsim_sim::dist::Latency) -> Result<()> {
    l.validate().map_err(|m| FieldError::new(path, m))
}

/// `base` with the fields `link` sets replaced.
fn overlay(path: &str, base: &LinkSpec, link: &RawLink) -> Result<LinkSpec> {
    let mut spec = base.clone();
    if let Some(l) = &link.latency {
        latency_ok(&format!("{path}.latency"), l)?;
        spec.latency = l.clone();
    }
    if let Some(p) = link.loss {
        spec.loss = p;
    }
    if let Some(p) = link.duplicate {
        spec.duplicate = p;
    }
    if link.bandwidth.is_some() {
        spec.bandwidth = link.bandwidth;
    }
    Ok(spec)
}

/// The network section; `protocol` names the family, which sends messages of the kinds
/// `messages`.
fn network(
    raw: &RawNetwork,
    nodes: &Names,
    regions: Option<RegionsOf>,
    protocol: &str,
    messages: &[&str],
) -> Result<NetworkConfig> {
    latency_ok("network.latency", &raw.latency)?;
    let default =
        LinkSpec { latency: raw.latency.clone(), loss: raw.loss, duplicate: raw.duplicate, bandwidth: raw.bandwidth };
    let regions = match regions {
        None => {
            if !raw.regions.is_empty() {
                return Err(FieldError::new(
                    "network.regions",
                    "inter-region links need regions: write `nodes: { regions: { ... } }`",
                ));
            }
            None
        }
        Some((names, of_node)) => {
            let mut between = Vec::new();
            let mut pairs = BTreeSet::new();
            for (i, link) in raw.regions.iter().enumerate() {
                let path = format!("network.regions[{i}]");
                if link.from.is_some() || link.to.is_some() {
                    return Err(FieldError::new(path, "region links are symmetric: use `between: [a, b]`"));
                }
                let Some([a, b]) = &link.between else {
                    return Err(FieldError::new(path, "say which regions: `between: [a, b]`"));
                };
                let region = |j: usize, r: &String| {
                    names.iter().position(|n| n == r).map(|p| p as u16).ok_or_else(|| {
                        FieldError::new(
                            format!("{path}.between[{j}]"),
                            format!("unknown region `{r}` (regions: {})", names.join(", ")),
                        )
                    })
                };
                let (ra, rb) = (region(0, a)?, region(1, b)?);
                if ra == rb {
                    return Err(FieldError::new(
                        format!("{path}.between"),
                        "a region link joins two different regions; the network's own settings apply within a region",
                    ));
                }
                if !pairs.insert((ra.min(rb), ra.max(rb))) {
                    return Err(FieldError::new(
                        format!("{path}.between"),
                        format!("the link between `{a}` and `{b}` is given twice"),
                    ));
                }
                between.push((ra, rb, overlay(&path, &default, link)?));
            }
            Some(Regions { names, of_node, between })
        }
    };
    // The link a pair has before any per-link override.
    let base_of = |a: NodeId, b: NodeId| -> LinkSpec {
        if let Some(r) = &regions {
            let (ra, rb) = (r.of_node[a.index()], r.of_node[b.index()]);
            if let Some((_, _, spec)) = r.between.iter().find(|(x, y, _)| (*x, *y) == (ra, rb) || (*x, *y) == (rb, ra))
            {
                return spec.clone();
            }
        }
        default.clone()
    };
    let topology = match &raw.topology {
        RawTopology::Mesh => TopologySpec::Mesh,
        RawTopology::Ring => TopologySpec::Ring,
        RawTopology::Star { hub } => TopologySpec::Star { hub: nodes.id("network.topology.star.hub", hub)? },
        RawTopology::Links(list) => {
            let mut edges = Vec::new();
            let mut seen = BTreeSet::new();
            for (i, [a, b]) in list.iter().enumerate() {
                let path = format!("network.topology.links[{i}]");
                let (x, y) = (nodes.id(&format!("{path}[0]"), a)?, nodes.id(&format!("{path}[1]"), b)?);
                if x == y {
                    return Err(FieldError::new(path, "a link joins two different nodes"));
                }
                if !seen.insert((x.min(y), x.max(y))) {
                    return Err(FieldError::new(path, format!("the link {a} - {b} is listed twice")));
                }
                edges.push((x, y));
            }
            TopologySpec::Links(edges)
        }
    };
    let mut links = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, link) in raw.links.iter().enumerate() {
        let path = format!("network.links[{i}]");
        let pairs = match (&link.between, &link.from, &link.to) {
            (Some([a, b]), None, None) => {
                let (x, y) = (nodes.id(&format!("{path}.between[0]"), a)?, nodes.id(&format!("{path}.between[1]"), b)?);
                vec![(x, y), (y, x)]
            }
            (None, Some(a), Some(b)) => {
                vec![(nodes.id(&format!("{path}.from"), a)?, nodes.id(&format!("{path}.to"), b)?)]
            }
            _ => {
                return Err(FieldError::new(
                    path,
                    "give either `between: [a, b]` (both directions) or `from: a` and `to: b`",
                ));
            }
        };
        for (a, b) in pairs {
            if a != b && !topology.adjacent(nodes.count(), a, b) {
                return Err(FieldError::new(
                    path,
                    format!(
                        "{} and {} have no direct link in this topology, so there is no link to override",
                        nodes.names[a.index()],
                        nodes.names[b.index()]
                    ),
                ));
            }
            if a == b {
                return Err(FieldError::new(path, "a link joins two different nodes"));
            }
            if !seen.insert((a, b)) {
                return Err(FieldError::new(
                    path,
                    format!("the link {} -> {} is given twice", nodes.names[a.index()], nodes.names[b.index()]),
                ));
            }
            links.push(LinkOverride { from: a, to: b, spec: overlay(&path, &base_of(a, b), link)? });
        }
    }
    if let Err(Disconnected(k)) = Topology::new(&topology, nodes.count(), |_, _| 1) {
        return Err(FieldError::new(
            "network.topology",
            format!("the topology is disconnected: `{}` cannot reach `{}`", nodes.names[k.index()], nodes.names[0]),
        ));
    }
    let mut kinds = Vec::new();
    for (kind, latency) in &raw.kinds {
        let path = format!("network.kinds.{kind}");
        if messages.is_empty() {
            return Err(FieldError::new(
                path,
                format!("`{protocol}` does not list its message kinds, so none can have a latency of its own"),
            ));
        }
        if !messages.contains(&kind.as_str()) {
            return Err(FieldError::new(
                path,
                format!("`{protocol}` sends no `{kind}` messages (it sends {})", messages.join(", ")),
            ));
        }
        latency_ok(&path, latency)?;
        kinds.push((kind.clone(), latency.clone()));
    }
    Ok(NetworkConfig { default, ordering: raw.ordering, topology, regions, links, kinds })
}

fn op_kind(name: &str) -> Option<OpKind> {
    OpKind::ALL.into_iter().find(|k| k.name() == name)
}

fn workload(
    raw: &RawWorkload,
    duration: SimDuration,
    protocol: &ProtocolConfig,
    nodes: &Names,
) -> Result<WorkloadConfig> {
    let info = protocol.info();
    let supported = |path: &str, kind: OpKind| {
        if info.ops.contains(&kind) {
            Ok(())
        } else {
            let served: Vec<&str> = info.ops.iter().map(|k| k.name()).collect();
            Err(FieldError::new(
                path,
                format!(
                    "{} does not support `{kind}` (it serves: {})",
                    // A CRDT's operations are its data type's.
                    if info.name == "crdt" { format!("crdt {}", info.variant) } else { info.name.to_string() },
                    if served.is_empty() { "no client operations".to_string() } else { served.join(", ") }
                ),
            ))
        }
    };
    if raw.clients > MAX_CLIENTS {
        return Err(FieldError::new(
            "workload.clients",
            format!("{} clients is more than the limit of {MAX_CLIENTS}", raw.clients),
        ));
    }
    let mut mix = Vec::new();
    let mut total = 0.0;
    for (name, share) in &raw.ops.0 {
        let path = format!("workload.ops.{name}");
        let kind = op_kind(name).ok_or_else(|| {
            let all: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
            FieldError::new(&path, format!("unknown operation `{name}` (operations: {})", all.join(", ")))
        })?;
        supported(&path, kind)?;
        total += share.get();
        mix.push((kind, (share.get() * 1e6).round() as u32));
    }
    if raw.clients > 0 {
        if mix.is_empty() {
            return Err(FieldError::new(
                "workload.ops",
                "clients need an operation mix, e.g. `ops: { put: 50%, get: 50% }`",
            ));
        }
        if (total - 1.0).abs() > 1e-6 {
            return Err(FieldError::new(
                "workload.ops",
                format!("the operation mix adds up to {}%, not 100%", total * 100.0),
            ));
        }
    }
    let arrival = match &raw.arrival {
        RawArrival::Poisson(rate) => {
            let planned = rate.get() * duration.as_secs_f64();
            if raw.clients > 0 && planned > MAX_PLANNED_OPS {
                return Err(FieldError::new(
                    "workload.arrival.poisson",
                    format!(
                        "{rate} for {duration} plans {planned:.0} operations, more than the limit of {MAX_PLANNED_OPS:.0}"
                    ),
                ));
            }
            Arrival::Poisson(*rate)
        }
        RawArrival::Closed { think } => {
            // With no think time a client whose request fails at once would retry at the same
            // instant forever, and simulated time would never move.
            if raw.clients > 0 && *think == SimDuration::ZERO {
                return Err(FieldError::new(
                    "workload.arrival.closed.think",
                    "a closed-loop client needs a think time longer than 0s between operations",
                ));
            }
            let planned = f64::from(raw.clients) * duration.as_secs_f64() / think.as_secs_f64();
            if planned > MAX_PLANNED_OPS {
                return Err(FieldError::new(
                    "workload.arrival.closed.think",
                    format!(
                        "{} clients thinking {think} for {duration} could issue {planned:.0} operations, more than the limit of {MAX_PLANNED_OPS:.0}",
                        raw.clients
                    ),
                ));
            }
            Arrival::Closed { think: *think }
        }
    };
    if raw.keys.count == 0 || raw.keys.count > MAX_KEYS {
        return Err(FieldError::new(
            "workload.keys.count",
            format!("between 1 and {MAX_KEYS} keys, not {}", raw.keys.count),
        ));
    }
    let key_distribution = match raw.keys.distribution {
        RawKeyDistribution::Uniform => KeyDistribution::Uniform,
        RawKeyDistribution::Zipf(s) => {
            if !(s.is_finite() && s >= 0.0) {
                return Err(FieldError::new(
                    "workload.keys.distribution.zipf",
                    format!("the Zipf exponent must be 0 or more, not {s}"),
                ));
            }
            if raw.keys.count > MAX_KEYS / 10 {
                return Err(FieldError::new(
                    "workload.keys.count",
                    format!("Zipf keys are limited to {}", MAX_KEYS / 10),
                ));
            }
            KeyDistribution::Zipf(s)
        }
    };
    if raw.elements == 0 {
        return Err(FieldError::new("workload.elements", "sets need at least one possible element"));
    }
    latency_ok("workload.client_latency", &raw.client_latency)?;
    if raw.timeout == SimDuration::ZERO {
        return Err(FieldError::new("workload.timeout", "the timeout must be longer than 0s"));
    }
    let mut script = Vec::new();
    for (i, s) in raw.script.iter().enumerate() {
        let path = format!("workload.script[{i}]");
        let node = nodes.id(&format!("{path}.node"), &s.node)?;
        if s.at > duration {
            return Err(FieldError::new(
                format!("{path}.at"),
                format!("{} is after the scenario's duration ({duration}), when clients stop", s.at),
            ));
        }
        let ops: Vec<(&str, Op)> = [
            s.put.as_ref().map(|o| ("put", Op::Put { key: o.key, value: o.value })),
            s.get.as_ref().map(|o| ("get", Op::Get { key: o.key })),
            s.incr.as_ref().map(|o| ("incr", Op::Incr { key: o.key, by: o.by })),
            s.read.as_ref().map(|o| ("read", Op::Read { key: o.key })),
            s.add.as_ref().map(|o| ("add", Op::Add { key: o.key, elem: o.elem })),
            s.remove.as_ref().map(|o| ("remove", Op::Remove { key: o.key, elem: o.elem })),
            s.decr.as_ref().map(|o| ("decr", Op::Decr { key: o.key, by: o.by })),
            s.insert.as_ref().map(|o| ("insert", Op::Insert { key: o.key, pos: o.pos, elem: o.elem })),
            s.delete.as_ref().map(|o| ("delete", Op::Delete { key: o.key, pos: o.pos })),
        ]
        .into_iter()
        .flatten()
        .collect();
        let [(name, op)] = <[_; 1]>::try_from(ops).map_err(|ops: Vec<_>| {
            FieldError::new(
                &path,
                format!(
                    "give exactly one operation (put, get, incr, decr, read, add, remove, insert or delete), not {}",
                    ops.len()
                ),
            )
        })?;
        supported(&format!("{path}.{name}"), op.kind())?;
        script.push(ScriptedOp { at: SimTime::ZERO + s.at, node, op });
    }
    if let Some(file) = &raw.trace {
        let path = raw.base.clone().unwrap_or_default().join(file);
        let node = |name: &str| nodes.id("", name).ok();
        let served = |kind: OpKind| supported("", kind).map_err(|e| e.message);
        let checks = super::trace::Checks { duration, node: &node, supported: &served };
        let ops = super::trace::load(&path, &checks)
            .map_err(|e| FieldError::new("workload.trace", format!("{}: {e}", path.display())))?;
        script.extend(ops);
    }
    let open_loop = matches!(raw.arrival, RawArrival::Poisson(_));
    // Rates that change over time scale the open-loop rate; a closed loop has none.
    let need_open = |field: &str, what: &str| {
        if open_loop {
            Ok(())
        } else {
            Err(FieldError::new(field, format!("{what} needs an open-loop arrival (`poisson:`)")))
        }
    };
    let diurnal = match &raw.diurnal {
        None => None,
        Some(d) => {
            need_open("workload.diurnal", "a daily cycle")?;
            if d.period == SimDuration::ZERO {
                return Err(FieldError::new("workload.diurnal.period", "the period must be longer than 0s"));
            }
            if d.swing.get() >= 1.0 {
                return Err(FieldError::new(
                    "workload.diurnal.swing",
                    "the swing must be below 100%: the rate cannot fall to nothing or below",
                ));
            }
            Some(workload::Diurnal { period: d.period, swing: d.swing.get() })
        }
    };
    let bursts = match &raw.bursts {
        None => None,
        Some(b) => {
            need_open("workload.bursts", "bursts")?;
            if b.every == SimDuration::ZERO {
                return Err(FieldError::new("workload.bursts.every", "the mean gap must be longer than 0s"));
            }
            if b.length == SimDuration::ZERO {
                return Err(FieldError::new("workload.bursts.length", "a burst must last longer than 0s"));
            }
            if !(b.x.is_finite() && (1.0..=1000.0).contains(&b.x)) {
                return Err(FieldError::new("workload.bursts.x", format!("a factor between 1 and 1000, not {}", b.x)));
            }
            Some(workload::Bursts { every: b.every, length: b.length, x: b.x })
        }
    };
    let drift = match &raw.keys.drift {
        None => None,
        Some(d) => {
            if d.every == SimDuration::ZERO {
                return Err(FieldError::new(
                    "workload.keys.drift.every",
                    "the hot set's moves must be longer than 0s apart",
                ));
            }
            Some(workload::Drift { every: d.every, by: d.by })
        }
    };
    let read_after_write =
        raw.read_after_write.as_ref().map(|r| workload::ReadAfterWrite { chance: r.chance.get(), after: r.after });
    if read_after_write.is_some() {
        supported("workload.read_after_write", OpKind::Get)?;
    }
    let node_count = nodes.names.len() as u64;
    if raw.keys.homes > node_count {
        return Err(FieldError::new(
            "workload.keys.homes",
            format!("{} homes per key, but the cluster has {node_count} nodes", raw.keys.homes),
        ));
    }
    if protocol.foresight() && raw.clients > 0 && !open_loop {
        return Err(FieldError::new(
            "workload.arrival",
            format!(
                "{} reads the future workload, which only an open-loop arrival (`poisson:`) fixes in advance",
                info.variant
            ),
        ));
    }
    let mut load = Vec::with_capacity(raw.load.len());
    for (i, step) in raw.load.iter().enumerate() {
        let field = |f: &str| format!("workload.load[{i}].{f}");
        if !(step.x.is_finite() && (0.01..=1000.0).contains(&step.x)) {
            return Err(FieldError::new(field("x"), format!("a factor between 0.01 and 1000, not {}", step.x)));
        }
        need_open(&field("x"), "a load profile")?;
        if load.last().is_some_and(|&(at, _)| SimTime::ZERO + step.at <= at) {
            return Err(FieldError::new(field("at"), "steps must be in time order"));
        }
        load.push((SimTime::ZERO + step.at, step.x));
    }
    Ok(WorkloadConfig {
        load,
        clients: raw.clients,
        arrival,
        keys: raw.keys.count,
        key_distribution,
        mix,
        elements: raw.elements,
        timeout: raw.timeout,
        target: match &raw.target {
            RawTarget::Sticky => workload::Target::Sticky,
            RawTarget::Random => workload::Target::Random,
            RawTarget::Nodes(names) => {
                if names.is_empty() {
                    return Err(FieldError::new("workload.target.nodes", "name at least one node"));
                }
                let ids = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| nodes.id(&format!("workload.target.nodes[{i}]"), n))
                    .collect::<Result<Vec<_>>>()?;
                workload::Target::Nodes(ids)
            }
        },
        client_latency: raw.client_latency.clone(),
        script,
        diurnal,
        bursts,
        drift,
        read_shift: raw.keys.read_shift,
        read_after_write,
        key_homes: raw.keys.homes as u32,
    })
}

/// The field of `f` that targets `leader`, if one does.
fn leader_target(f: &RawFault) -> Option<String> {
    let leader = |n: &Option<String>| n.as_deref() == Some("leader");
    if let Some(groups) = &f.partition {
        for (g, group) in groups.iter().enumerate() {
            if let Some(j) = group.iter().position(|n| n == "leader") {
                return Some(format!("partition[{g}][{j}]"));
            }
        }
    }
    let named = [
        ("crash", &f.crash),
        ("restart", &f.restart),
        ("pause", &f.pause),
        ("resume", &f.resume),
        ("lose_disk", &f.lose_disk),
    ];
    if let Some((field, _)) = named.iter().find(|(_, n)| leader(n)) {
        return Some(field.to_string());
    }
    if f.clock.as_ref().is_some_and(|c| c.node == "leader") {
        return Some("clock.node".into());
    }
    f.drift.as_ref().is_some_and(|d| d.node == "leader").then(|| "drift.node".into())
}

fn faults(
    raw: &[RawFault],
    duration: SimDuration,
    nodes: &Names,
    spares: u32,
    topology: &TopologySpec,
) -> Result<Vec<TimedFault>> {
    if raw.len() > MAX_FAULTS {
        return Err(FieldError::new("faults", format!("{} faults is more than the limit of {MAX_FAULTS}", raw.len())));
    }
    let mut out = Vec::with_capacity(raw.len());
    // Where each fault of `out` was written: its entry, and `lasts` for the end of a window.
    let mut origin: Vec<(usize, bool)> = Vec::with_capacity(raw.len());
    for (i, f) in raw.iter().enumerate() {
        let path = format!("faults[{i}]");
        if f.at > duration {
            return Err(FieldError::new(
                format!("{path}.at"),
                format!(
                    "{} is after the scenario's duration ({duration}); the settle phase heals every fault then",
                    f.at
                ),
            ));
        }
        let actions = [
            f.partition.is_some(),
            f.cut.is_some(),
            f.heal.is_some(),
            f.crash.is_some(),
            f.restart.is_some(),
            f.join.is_some(),
            f.leave.is_some(),
            f.pause.is_some(),
            f.resume.is_some(),
            f.clock.is_some(),
            f.network.is_some(),
            f.loss_burst.is_some(),
            f.drift.is_some(),
            f.lose_disk.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if actions != 1 {
            return Err(FieldError::new(
                &path,
                format!(
                    "give exactly one action (partition, cut, heal, crash, restart, join, leave, pause, resume, clock, \
                     network, loss_burst, drift or lose_disk), not {actions}"
                ),
            ));
        }
        let at = SimTime::ZERO + f.at;
        let fault = fault(&path, f, nodes, topology)?;
        let Some(lasts) = f.lasts else {
            out.push(TimedFault { at, fault });
            origin.push((i, false));
            continue;
        };
        // A window: the fault, then what ends it, in this order (so that a script written out
        // from random windows makes the same run as the random draw did).
        let Some(end) = window_end(&fault) else {
            let why = if matches!(fault, Fault::Targeted(_)) {
                "a fault on `leader` or `rest` picks its nodes when it happens, so it cannot end by itself: \
                 end it with its own fault (`restart: all`, `heal: all`, ...)"
            } else {
                "only a crash, join, leave, pause, partition, loss_burst, drift or lose_disk can last for a while"
            };
            return Err(FieldError::new(format!("{path}.lasts"), why));
        };
        let until = (f.at + lasts).min(duration);
        out.push(TimedFault { at, fault });
        out.push(TimedFault { at: SimTime::ZERO + until, fault: end });
        origin.extend([(i, false), (i, true)]);
    }
    script_makes_sense(raw, &out, &origin, nodes, spares)?;
    Ok(out)
}

/// Refuses a script with a fault that would do nothing: restarting a node that is up,
/// resuming one that is not paused, crashing one that is down, pausing one that is down.
/// Faults are followed in the order the run applies them (by time; at one time, as written,
/// a window's end after the faults written for that time). Windows (`lasts:`) are not judged,
/// nor is a fault on a node a window last changed: random windows written out as a script
/// overlap each other and the script as they were drawn, and the run takes that. After a fault on `leader` or `rest`, which picks its nodes only when
/// it happens, nothing more can be told.
fn script_makes_sense(
    raw: &[RawFault],
    out: &[TimedFault],
    origin: &[(usize, bool)],
    nodes: &Names,
    spares: u32,
) -> Result<()> {
    #[derive(Copy, Clone, PartialEq)]
    enum Status {
        Up,
        Down(usize),
        Paused,
        /// Not in the cluster: a spare, or left at this fault (`None` for a spare).
        Absent(Option<usize>),
    }
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&k| out[k].at);
    // Each node's status, and whether a window set it.
    let members = nodes.names.len() - spares as usize;
    let mut status: Vec<(Status, bool)> =
        (0..nodes.names.len()).map(|k| (if k < members { Status::Up } else { Status::Absent(None) }, false)).collect();
    for k in order {
        let (i, end) = origin[k];
        let judged = !end && raw[i].lasts.is_none();
        let (node, field, after) = match &out[k].fault {
            Fault::Targeted(_) => return Ok(()),
            Fault::Crash(n) => (*n, "crash", Status::Down(i)),
            Fault::Restart(n) => (*n, "restart", Status::Up),
            Fault::Pause(n) => (*n, "pause", Status::Paused),
            Fault::Resume(n) => (*n, "resume", Status::Up),
            Fault::Join(n) => (*n, "join", Status::Up),
            Fault::Leave(n) => (*n, "leave", Status::Absent(Some(i))),
            _ => continue,
        };
        let name = &nodes.names[node.index()];
        let (now, by_window) = status[node.index()];
        let absent = |left: Option<usize>| match left {
            Some(j) => format!("{name} is not in the cluster (faults[{j}] at {} made it leave)", raw[j].at),
            None => format!("{name} is a spare, not in the cluster until a `join`"),
        };
        let problem = match (field, now) {
            ("join", Status::Absent(_)) => None,
            ("join", _) => Some(format!("{name} is in the cluster at {}: it joins only once it has left", out[k].at)),
            (_, Status::Absent(left)) => Some(absent(left)),
            ("leave", Status::Up) => None,
            ("leave", _) => Some(format!("{name} is not running at {}: only a running node leaves", out[k].at)),
            ("crash" | "pause", Status::Down(j)) => {
                Some(format!("{name} is already down (faults[{j}] at {} crashed it)", raw[j].at))
            }
            ("restart", Status::Up | Status::Paused) => {
                Some(format!("{name} is up at {}: crash it first, or drop the restart", out[k].at))
            }
            ("resume", Status::Up | Status::Down(_)) => {
                Some(format!("{name} is not paused at {}: pause it first, or drop the resume", out[k].at))
            }
            _ => None,
        };
        if let Some(message) = problem.filter(|_| judged && !by_window) {
            return Err(FieldError::new(format!("faults[{i}].{field}"), message));
        }
        status[node.index()] = (after, !judged);
    }
    Ok(())
}

fn fault(path: &str, f: &RawFault, nodes: &Names, topology: &TopologySpec) -> Result<Fault> {
    let one = |field: &str, name: &String| nodes.id(&format!("{path}.{field}"), name);
    if let Some(groups) = &f.partition {
        let path = format!("{path}.partition");
        if groups.len() < 2 {
            return Err(FieldError::new(path, "a partition needs at least two groups, e.g. [[n0, n1], [n2, n3, n4]]"));
        }
        let dynamic = groups.iter().flatten().any(|n| n == "leader" || n == "rest");
        let mut owner: BTreeMap<NodeId, usize> = BTreeMap::new();
        let (mut fixed, mut targeted) = (Vec::new(), Vec::new());
        let mut rest_seen = false;
        for (g, group) in groups.iter().enumerate() {
            if group.is_empty() {
                return Err(FieldError::new(format!("{path}[{g}]"), "a partition group cannot be empty"));
            }
            let mut group_targets = Vec::new();
            let mut names = Vec::new();
            for (j, name) in group.iter().enumerate() {
                match name.as_str() {
                    "leader" => group_targets.push(Target::Leader),
                    "rest" if rest_seen => {
                        return Err(FieldError::new(
                            format!("{path}[{g}][{j}]"),
                            "`rest` may appear in one group only",
                        ));
                    }
                    "rest" => {
                        rest_seen = true;
                        group_targets.push(Target::Rest);
                    }
                    _ => names.push((j, name.clone())),
                }
            }
            let listed: Vec<String> = names.iter().map(|(_, n)| n.clone()).collect();
            let ids = nodes.ids(&format!("{path}[{g}]"), &listed)?;
            for (j, name) in &names {
                // Each item again on its own (a range is several nodes), to blame the right one.
                for id in nodes.ids(&format!("{path}[{g}][{j}]"), std::slice::from_ref(name))? {
                    if let Some(other) = owner.insert(id, g) {
                        let node = &nodes.names[id.index()];
                        return Err(FieldError::new(
                            format!("{path}[{g}][{j}]"),
                            format!(
                                "node `{node}` is in group {other} and group {g}: partition groups must not overlap"
                            ),
                        ));
                    }
                }
            }
            group_targets.extend(ids.iter().map(|&k| Target::Node(k)));
            targeted.push(group_targets);
            fixed.push(ids);
        }
        return Ok(if dynamic { Fault::Targeted(Targeted::Partition(targeted)) } else { Fault::Partition(fixed) });
    }
    if let Some(cut) = &f.cut {
        let from = nodes.ids(&format!("{path}.cut.from"), &cut.from)?;
        let to = nodes.ids(&format!("{path}.cut.to"), &cut.to)?;
        if from.is_empty() || to.is_empty() {
            return Err(FieldError::new(format!("{path}.cut"), "a cut needs at least one node on each side"));
        }
        if let Some(n) = from.iter().find(|n| to.contains(n)) {
            return Err(FieldError::new(
                format!("{path}.cut"),
                format!("node `{}` is on both sides of the cut", nodes.names[n.index()]),
            ));
        }
        return Ok(Fault::Cut { from, to });
    }
    if let Some(h) = &f.heal {
        return if h == "all" {
            Ok(Fault::Heal)
        } else {
            Err(FieldError::new(format!("{path}.heal"), format!("write `heal: all` (got `{h}`)")))
        };
    }
    // `leader` is whoever leads when the fault happens; `all` every node it can apply to.
    let target = |field: &str, name: &String, all_ok: bool| -> Result<Option<Target>> {
        match name.as_str() {
            "leader" => Ok(Some(Target::Leader)),
            "all" if all_ok => Ok(Some(Target::All)),
            "all" => Err(FieldError::new(
                format!("{path}.{field}"),
                format!("`{field}: all` is not a thing: name one node, or `leader`"),
            )),
            _ => {
                one(field, name)?;
                Ok(None)
            }
        }
    };
    if let Some(n) = &f.crash {
        return Ok(match target("crash", n, false)? {
            Some(t) => Fault::Targeted(Targeted::Crash(t)),
            None => Fault::Crash(one("crash", n)?),
        });
    }
    // The leader when a restart or resume comes is whoever leads then, not the node the crash
    // or pause took down (that one leads nothing while down): refused, with the way to say it.
    for (field, undoes, n) in [("restart", "crash", &f.restart), ("resume", "pause", &f.resume)] {
        if n.as_deref() == Some("leader") {
            return Err(FieldError::new(
                format!("{path}.{field}"),
                format!(
                    "`{field}: leader` would {field} whoever leads then, not the node `{undoes}: leader` took \
                     down: name the node, or give the {undoes} `lasts:` so that the same node comes back"
                ),
            ));
        }
    }
    if let Some(n) = &f.restart {
        return Ok(match target("restart", n, true)? {
            Some(t) => Fault::Targeted(Targeted::Restart(t)),
            None => Fault::Restart(one("restart", n)?),
        });
    }
    for (field, n) in [("join", &f.join), ("leave", &f.leave)] {
        if let Some(n) = n {
            if RESERVED.contains(&n.as_str()) {
                return Err(FieldError::new(
                    format!("{path}.{field}"),
                    format!("`{field}: {n}` is not a thing: name the node that {field}s"),
                ));
            }
            let k = one(field, n)?;
            return Ok(if field == "join" { Fault::Join(k) } else { Fault::Leave(k) });
        }
    }
    if let Some(n) = &f.pause {
        return Ok(match target("pause", n, false)? {
            Some(t) => Fault::Targeted(Targeted::Pause(t)),
            None => Fault::Pause(one("pause", n)?),
        });
    }
    if let Some(n) = &f.resume {
        return Ok(match target("resume", n, true)? {
            Some(t) => Fault::Targeted(Targeted::Resume(t)),
            None => Fault::Resume(one("resume", n)?),
        });
    }
    if let Some(c) = &f.clock {
        let node = nodes.id(&format!("{path}.clock.node"), &c.node)?;
        if !(c.rate.is_finite() && c.rate > 0.0 && c.rate <= 1000.0) {
            return Err(FieldError::new(
                format!("{path}.clock.rate"),
                format!("a clock rate lies between 0 (exclusive) and 1000, not {}", c.rate),
            ));
        }
        let jump = clock_jump(&format!("{path}.clock.jump"), c.jump.as_deref())?;
        return Ok(Fault::Clock { node, rate: c.rate, jump });
    }
    if let Some(loss) = f.loss_burst {
        return Ok(Fault::LossBurst { loss, on: true });
    }
    if let Some(d) = &f.drift {
        let node = nodes.id(&format!("{path}.drift.node"), &d.node)?;
        if !(d.factor.is_finite() && d.factor > 0.0 && d.factor <= 1000.0) {
            return Err(FieldError::new(
                format!("{path}.drift.factor"),
                format!("a drift factor lies between 0 (exclusive) and 1000, not {}", d.factor),
            ));
        }
        let jump = clock_jump(&format!("{path}.drift.jump"), d.jump.as_deref())?;
        return Ok(Fault::Drift { node, factor: d.factor, jump, on: true });
    }
    if let Some(n) = &f.lose_disk {
        let node = one("lose_disk", n)?;
        // With `lasts`, the window is the time the disk does not persist; the loss ends it.
        return Ok(if f.lasts.is_some() { Fault::FreezeDisk(node) } else { Fault::LoseDisk(node) });
    }
    if let Some(link) = &f.network {
        let path = format!("{path}.network");
        if link.from.is_some() || link.to.is_some() {
            return Err(FieldError::new(path, "a network fault applies to every link, or to `between: [a, b]`"));
        }
        if link.bandwidth.is_some() {
            return Err(FieldError::new(format!("{path}.bandwidth"), "bandwidth cannot change during a run"));
        }
        if link.latency.is_none() && link.loss.is_none() && link.duplicate.is_none() {
            return Err(FieldError::new(path, "say what changes: latency, loss or duplicate"));
        }
        if let Some(l) = &link.latency {
            latency_ok(&format!("{path}.latency"), l)?;
        }
        let between = match &link.between {
            None => None,
            Some([a, b]) => {
                let (x, y) = (nodes.id(&format!("{path}.between[0]"), a)?, nodes.id(&format!("{path}.between[1]"), b)?);
                if x == y {
                    return Err(FieldError::new(format!("{path}.between"), "a link joins two different nodes"));
                }
                if !topology.adjacent(nodes.count(), x, y) {
                    return Err(FieldError::new(
                        format!("{path}.between"),
                        format!("{a} and {b} have no direct link in this topology, so there is no link to change"),
                    ));
                }
                Some((x, y))
            }
        };
        return Ok(Fault::Link(LinkChange {
            between,
            latency: link.latency.clone(),
            loss: link.loss,
            duplicate: link.duplicate,
        }));
    }
    unreachable!("exactly one action was checked")
}

/// A clock step such as `-20ms` or `+5s`, in nanoseconds (0 when there is none).
fn clock_jump(field: &str, text: Option<&str>) -> Result<i64> {
    let Some(text) = text else { return Ok(0) };
    let (sign, body) = match text.trim().strip_prefix('-') {
        Some(rest) => (-1i64, rest),
        None => (1, text.trim().trim_start_matches('+')),
    };
    let d: SimDuration = body.parse().map_err(|e| FieldError::new(field, format!("{e}")))?;
    if d > MAX_DURATION {
        return Err(FieldError::new(field, "a clock jump of more than a day is not a plausible fault"));
    }
    Ok(sign * d.as_nanos() as i64)
}

fn random_faults(raw: &RawRandomFaults, nodes: u32) -> Result<RandomFaults> {
    if let Some(swarm) = &raw.swarm {
        // The kinds are drawn per seed (Scenario::for_seed), each draw resolved on its own.
        let written = RawRandomFaults { swarm: None, ..raw.clone() };
        if written != RawRandomFaults::default() {
            return Err(FieldError::new(
                "random_faults.swarm",
                "swarm testing draws the fault kinds per seed: write either `swarm` or the kinds, not both",
            ));
        }
        if swarm.kinds.is_empty() {
            return Err(FieldError::new("random_faults.swarm.kinds", "name at least one kind the swarm may draw"));
        }
        for (field, range) in [("every", swarm.every), ("lasts", swarm.lasts)] {
            if range.is_some_and(|r| r.min == SimDuration::ZERO) {
                return Err(FieldError::new(
                    format!("random_faults.swarm.{field}"),
                    "the shortest span must be longer than 0s",
                ));
            }
        }
        return Ok(RandomFaults::default());
    }
    let kind = |name: &str, r: &Option<RawRandomFault>| -> Result<Option<RandomFault>> {
        let Some(r) = r else { return Ok(None) };
        let path = format!("random_faults.{name}");
        if r.every == SimDuration::ZERO {
            return Err(FieldError::new(
                format!("{path}.every"),
                "the mean time between faults must be longer than 0s",
            ));
        }
        if r.factor.is_some() && name != "clock" {
            return Err(FieldError::new(format!("{path}.factor"), "`factor` belongs to clock faults only"));
        }
        if r.loss.is_some() && name != "loss" {
            return Err(FieldError::new(format!("{path}.loss"), "`loss` belongs to loss bursts only"));
        }
        if r.jump.is_some() && name != "clock" {
            return Err(FieldError::new(format!("{path}.jump"), "`jump` belongs to clock faults only"));
        }
        if r.jump.is_some_and(|j| j > MAX_DURATION) {
            return Err(FieldError::new(
                format!("{path}.jump"),
                "a clock jump of more than a day is not a plausible fault",
            ));
        }
        Ok(Some(RandomFault { every: r.every, lasts: r.lasts }))
    };
    let clock = match (&raw.clock, kind("clock", &raw.clock)?) {
        (Some(r), Some(k)) => {
            let factor = r.factor.ok_or_else(|| {
                FieldError::new(
                    "random_faults.clock",
                    "say how far clocks drift: `factor: 2.0` (up to twice as fast or slow)",
                )
            })?;
            if !(factor.is_finite() && (1.0..=1000.0).contains(&factor)) {
                return Err(FieldError::new(
                    "random_faults.clock.factor",
                    format!("a factor between 1 and 1000, not {factor}"),
                ));
            }
            Some((k, factor))
        }
        _ => None,
    };
    let loss = match (&raw.loss, kind("loss", &raw.loss)?) {
        (Some(r), Some(k)) => {
            let p = r.loss.ok_or_else(|| FieldError::new("random_faults.loss", "say how much is lost: `loss: 20%`"))?;
            Some((k, p))
        }
        _ => None,
    };
    let churn = match &raw.churn {
        None => None,
        Some(c) => {
            if c.every == SimDuration::ZERO {
                return Err(FieldError::new(
                    "random_faults.churn.every",
                    "the mean time between changes must be longer than 0s",
                ));
            }
            if c.min == 0 {
                return Err(FieldError::new("random_faults.churn.min", "a cluster keeps at least one member"));
            }
            if c.min > c.max {
                return Err(FieldError::new(
                    "random_faults.churn.max",
                    format!("the most members ({}) is fewer than the fewest ({})", c.max, c.min),
                ));
            }
            if c.max > nodes {
                return Err(FieldError::new(
                    "random_faults.churn.max",
                    format!("{} members is more than the {nodes} nodes there are, spares included", c.max),
                ));
            }
            Some(syncsim_sim::fault::Churn { every: c.every, min: c.min, max: c.max })
        }
    };
    Ok(RandomFaults {
        churn,
        crash: kind("crash", &raw.crash)?,
        partition: kind("partition", &raw.partition)?,
        pause: kind("pause", &raw.pause)?,
        clock_jump: raw.clock.as_ref().and_then(|c| c.jump).filter(|j| *j > SimDuration::ZERO),
        clock,
        loss,
        disk: kind("disk", &raw.disk)?,
    })
}
