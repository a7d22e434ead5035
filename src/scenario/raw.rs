//! The scenario file as written: serde types that mirror the YAML one to one, with every
//! default filled in (so that serializing them back shows every resolved parameter). Names are
//! still names here; [`super::resolve`] checks them and turns them into the engine's types.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use syncsim_sim::dist::Latency;
use syncsim_sim::network::Ordering;
use syncsim_sim::units::{Bandwidth, Probability, Rate};
use syncsim_sim::{DurationRange, SimDuration};

use crate::registry::ProtocolConfig;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Short name, used in reports and output folders.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// Master seed for `run` (overridden by `--seed`).
    #[serde(default)]
    pub seed: u64,
    /// How long clients and faults run.
    pub duration: SimDuration,
    /// The settle phase after `duration`.
    #[serde(default, deserialize_with = "settle_from")]
    pub settle: Settle,
    /// The nodes: a count, a list of names, or regions.
    pub nodes: Nodes,
    /// Nodes that start outside the cluster and take part once a `join` fault (or churn)
    /// brings them in: `spares: 7` after `nodes: 3` adds n3..n9.
    #[serde(default)]
    pub spares: u32,
    /// The protocol and its parameters (`kind` first).
    pub protocol: ProtocolConfig,
    /// The network.
    #[serde(default)]
    pub network: RawNetwork,
    /// The clients.
    #[serde(default)]
    pub workload: RawWorkload,
    /// Scripted faults.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Random faults drawn per seed, or `swarm`: the kinds themselves drawn per seed.
    #[serde(default, deserialize_with = "random_faults_from")]
    pub random_faults: RawRandomFaults,
    /// Expectations on the report's metrics.
    #[serde(default)]
    pub expect: OrderedMap<ExpectValue>,
    /// Engine settings.
    #[serde(default)]
    pub engine: RawEngine,
    /// The node timing model (timer jitter, clock drift); off unless given.
    #[serde(default, skip_serializing_if = "syncsim_sim::timing::TimingConfig::is_off")]
    pub timing: syncsim_sim::timing::TimingConfig,
    /// An experiment of many trials instead of one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<RawExperiment>,
    /// Protocol variants to run under the identical workload, faults and seed, and compare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<RawVariant>,
    /// An autoscaler that adds and removes members by the client load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<RawAutoscale>,
    /// Nodes that lie to their peers, and what a signature costs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<RawByzantine>,
}

/// `byzantine:` — nodes that turn liar: `{ nodes: [leader], at: 1s, lies: [equivocate] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawByzantine {
    /// Nodes by name, or `leader`: whoever leads at `at`.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// How many more to draw at random per seed (at most f = (n - 1) / 3).
    #[serde(default)]
    pub random: u32,
    /// When they turn (default: from the start).
    #[serde(default)]
    pub at: SimDuration,
    /// What they do: equivocate, forge, replay, withhold, corrupt.
    pub lies: Vec<syncsim_sim::Lie>,
    /// The share of messages forge, replay, withhold and corrupt strike (default 100%).
    #[serde(default = "all_messages")]
    pub share: Probability,
    /// What a signature costs on the messages a protocol signs (default Ed25519's: 64 bytes,
    /// 60us to sign and verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<RawSignatures>,
}

fn all_messages() -> Probability {
    Probability::new(1.0).expect("1 is a probability")
}

/// `signatures: { bytes: 64, time: 60us }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignatures {
    /// Bytes a signature adds to a message.
    pub bytes: u32,
    /// Time to sign and to verify one, together.
    pub time: SimDuration,
}

/// One variant of a comparison: `{ name: delta, protocol: { kind: crdt, sync: delta } }`, or a
/// network of its own: `{ name: slow-writes, network: { ... } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVariant {
    /// The variant's name in reports and on the command line (`--variant`).
    pub name: String,
    /// The protocol and its parameters, in place of the scenario's `protocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolConfig>,
    /// The network, in place of the scenario's `network` (whole: nothing of it is merged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<RawNetwork>,
    /// The autoscaler, in place of the scenario's (`false`: none, a fixed cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<RawAutoscaleChoice>,
}

/// A variant's autoscaler: its own settings, or `false` for none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawAutoscaleChoice {
    /// `false`: no autoscaler (`true` is refused: say how it scales).
    Off(bool),
    /// These settings.
    On(RawAutoscale),
}

/// `autoscale:` — a horizontal autoscaler (Kubernetes HPA style).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscale {
    /// How often it looks at the load.
    pub every: SimDuration,
    /// What one member serves at full utilisation, e.g. `100/s`.
    pub capacity: Rate,
    /// Add a member above this utilisation, e.g. `80%`.
    pub up: Probability,
    /// Remove one below this.
    pub down: Probability,
    /// The fewest members.
    pub min: u32,
    /// The most members.
    pub max: u32,
}

/// One step of the load profile: from `at` on, the arrival rate times `x`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoadStep {
    /// When it starts.
    pub at: SimDuration,
    /// The factor.
    pub x: f64,
}

/// Experiments a scenario can run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawExperiment {
    /// The Raft paper's leader-election experiment (Ongaro & Ousterhout 2014, §9.3): crash the
    /// leader, measure the downtime until every other node hears the new leader.
    LeaderElection(RawLeaderElection),
}

/// The leader-election experiment's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLeaderElection {
    /// Trials per configuration.
    pub trials: u32,
    /// A trial that has not elected a leader this long after the crash counts as not
    /// completed (default 60 s; the paper's identical timeouts took up to 528 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_limit: Option<SimDuration>,
    /// Followers left one entry behind when the leader crashes, so that they cannot win the
    /// election (the Raft paper's testbed: "2 of the 4 remaining servers could not become
    /// leader"). Default 0.
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub stale_followers: u32,
    /// Published measurements to set beside the simulated ones: a CSV of (timeout range such
    /// as `150-151`, cumulative fraction, downtime in ms) rows after a header, the layout of
    /// the Raft paper's data; the path is relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Groups of election-timeout ranges, one chart each; the heartbeat of each is half its
    /// minimum timeout.
    pub groups: Vec<RawElectionGroup>,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// One chart's worth of configurations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElectionGroup {
    /// The chart's title.
    pub name: String,
    /// Downtime on a log scale.
    #[serde(default)]
    pub log_scale: bool,
    /// Election timeout ranges, one line each.
    pub timeouts: Vec<DurationRange>,
}

/// The settle phase: a duration, or a duration with options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// How long the run goes on after `duration`.
    pub duration: SimDuration,
    /// Whether crashed nodes restart when it begins (otherwise they stay down and only the
    /// live replicas must converge).
    #[serde(default = "yes")]
    pub restart_crashed: bool,
    /// What it heals: every node, or a random core (a liveness phase).
    #[serde(default, skip_serializing_if = "SettleHeal::is_all")]
    pub heal: SettleHeal,
}

/// What the settle phase heals.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SettleHeal {
    /// Every node: partitions heal, paused nodes resume, crashed nodes restart.
    #[default]
    All,
    /// A random core, a majority for a protocol that needs one (Raft) and any non-empty
    /// subset otherwise: it is healed and must converge while every other node stays down.
    /// Protocols that recover only when every node is back fail it.
    Core,
}

impl SettleHeal {
    /// True for the default.
    pub fn is_all(&self) -> bool {
        *self == SettleHeal::All
    }
}

fn yes() -> bool {
    true
}

impl Default for Settle {
    fn default() -> Self {
        Settle { duration: SimDuration::from_secs(5), restart_crashed: true, heal: SettleHeal::All }
    }
}

/// `settle: 10s` or `settle: { duration: 10s, restart_crashed: false, heal: core }`.
pub fn settle_from<'de, D: Deserializer<'de>>(d: D) -> Result<Settle, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Settle;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a duration such as `5s`, or a map with `duration`, `restart_crashed` and `heal`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Settle, E> {
            Ok(Settle { duration: v.parse().map_err(E::custom)?, ..Settle::default() })
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Settle, E> {
            Ok(Settle {
                duration: SimDuration::deserialize(de::value::U64Deserializer::<E>::new(v))?,
                ..Settle::default()
            })
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Settle, A::Error> {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Full {
                duration: SimDuration,
                #[serde(default = "yes")]
                restart_crashed: bool,
                #[serde(default)]
                heal: SettleHeal,
            }
            let f = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
            Ok(Settle { duration: f.duration, restart_crashed: f.restart_crashed, heal: f.heal })
        }
    }
    d.deserialize_any(V)
}

/// The cluster's nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Nodes {
    /// `nodes: 5`: named n0..n4.
    Count(u64),
    /// `nodes: [a, b, c]`.
    Names(Vec<String>),
    /// `nodes: { regions: { eu: 3, us: [us-a, us-b] } }`: a count is named `eu0`, `eu1`, ...
    Regions(Vec<(String, RegionNodes)>),
}

/// The nodes of one region.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RegionNodes {
    /// That many nodes, named after the region.
    Count(u64),
    /// Exactly these.
    Names(Vec<String>),
}

impl<'de> Deserialize<'de> for RegionNodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RegionNodes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node count (`3`) or a list of node names")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RegionNodes, E> {
                Ok(RegionNodes::Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RegionNodes, E> {
                Err(E::custom(format!("a node count must be positive, not {v}")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RegionNodes, A::Error> {
                Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(RegionNodes::Names)
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Nodes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Nodes::Count(n) => s.serialize_u64(*n),
            Nodes::Names(names) => names.serialize(s),
            Nodes::Regions(regions) => {
                let mut outer = s.serialize_map(Some(1))?;
                outer.serialize_entry("regions", &OrderedMap(regions.clone()))?;
                outer.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Nodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Nodes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a node count (`5`), a list of names (`[a, b, c]`), or `{ regions: { eu: 3, us: 2 } }`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Nodes, E> {
                Ok(Nodes::Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Nodes, E> {
                Err(E::custom(format!("a node count must be positive, not {v}")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Nodes, A::Error> {
                Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Nodes::Names)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Nodes, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Wrapper {
                    regions: OrderedMap<RegionNodes>,
                }
                let w = Wrapper::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Nodes::Regions(w.regions.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A YAML map read in file order, for sections where order shows (regions, the operation mix,
/// expectations).
#[derive(Clone, Debug, PartialEq)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> Default for OrderedMap<V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedMap<V>, A::Error> {
                let mut out: Vec<(String, V)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    if out.iter().any(|(seen, _)| *seen == k) {
                        return Err(de::Error::custom(format!("`{k}` appears twice")));
                    }
                    let v = map.next_value()?;
                    out.push((k, v));
                }
                Ok(OrderedMap(out))
            }
        }
        d.deserialize_map(Vis(PhantomData))
    }
}

/// An expectation's value: a boolean, a number or text such as `< 50ms`.
#[derive(Clone, Debug, PartialEq)]
pub enum ExpectValue {
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

impl Serialize for ExpectValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ExpectValue::Bool(b) => s.serialize_bool(*b),
            ExpectValue::Number(x) if x.fract() == 0.0 && x.abs() < 1e15 => s.serialize_i64(*x as i64),
            ExpectValue::Number(x) => s.serialize_f64(*x),
            ExpectValue::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for ExpectValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ExpectValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a threshold such as `< 50ms`, `>= 99%`, `0` or `true`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Number(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Number(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpectValue, E> {
                Ok(ExpectValue::Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The network section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNetwork {
    /// Every link's latency (within a region, when there are regions).
    pub latency: Latency,
    /// Every link's loss.
    pub loss: Probability,
    /// Every link's duplication.
    pub duplicate: Probability,
    /// Every link's capacity (`none`: unlimited).
    pub bandwidth: Option<Bandwidth>,
    /// `reorder` (independent latencies) or `fifo`.
    pub ordering: Ordering,
    /// `mesh`, `ring`, `{ star: { hub: n0 } }` or `{ links: [[n0, n1], ...] }`.
    pub topology: RawTopology,
    /// Links between regions.
    pub regions: Vec<RawLink>,
    /// Overrides for single links.
    pub links: Vec<RawLink>,
    /// Latencies of their own for messages of these kinds (`Write: { exponential: ... }`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub kinds: BTreeMap<String, Latency>,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            latency: Latency::default(),
            loss: Probability::ZERO,
            duplicate: Probability::ZERO,
            bandwidth: None,
            ordering: Ordering::Reorder,
            topology: RawTopology::Mesh,
            regions: vec![],
            links: vec![],
            kinds: BTreeMap::new(),
        }
    }
}

/// The topology by node names.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RawTopology {
    /// Every node links to every other.
    #[default]
    Mesh,
    /// A ring in node order.
    Ring,
    /// Every node links to the hub.
    Star {
        /// The hub's name.
        hub: String,
    },
    /// Exactly these links.
    Links(Vec<[String; 2]>),
}

/// A link override (`between` both directions, or `from`/`to` one direction), or an
/// inter-region link (`between` two region names). Unset fields keep their value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLink {
    /// Both directions between these two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[String; 2]>,
    /// One direction: from this node ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// ... to this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Latency on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Loss on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
    /// Duplication on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Probability>,
    /// Capacity of this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<Bandwidth>,
}

/// The workload section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWorkload {
    /// Number of random clients.
    pub clients: u32,
    /// `{ poisson: 500/s }` (open loop) or `{ closed: { think: 1ms } }`.
    pub arrival: RawArrival,
    /// Key count and distribution.
    pub keys: RawKeys,
    /// Operation mix in percent, e.g. `{ put: 50%, get: 50% }`.
    pub ops: OrderedMap<Probability>,
    /// Set elements are drawn from 0..elements.
    pub elements: u64,
    /// After this long without a reply the result is unknown.
    pub timeout: SimDuration,
    /// `sticky` (client c talks to node c mod n) or `random` (a node per operation).
    pub target: RawTarget,
    /// One-way latency between a client and its node; requests and replies each pay it.
    pub client_latency: Latency,
    /// Operations at fixed times.
    pub script: Vec<RawScriptOp>,
    /// The open-loop rate over time: `[{ at: 10s, x: 4 }, ...]`, each step multiplying
    /// `arrival`'s rate from its time on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<RawLoadStep>,
    /// A daily cycle of the open-loop rate: `{ period: 30s, swing: 0.6 }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diurnal: Option<RawDiurnal>,
    /// Bursts on single keys: `{ every: 5s, length: 1s, x: 4 }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bursts: Option<RawBursts>,
    /// Reads that follow a client's own puts: `{ chance: 30%, after: 50ms }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_after_write: Option<RawReadAfterWrite>,
    /// Operations replayed from a file (CSV or JSON lines), relative to the scenario's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The folder that `trace` is relative to: the scenario file's.
    #[serde(skip)]
    pub base: Option<std::path::PathBuf>,
}

/// `diurnal:`, a daily cycle of the rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiurnal {
    /// One cycle's length.
    pub period: SimDuration,
    /// How far the rate swings either side of its mean, as a share of it.
    pub swing: Probability,
}

/// `bursts:`, windows in which one key takes extra operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBursts {
    /// Mean time between burst starts.
    pub every: SimDuration,
    /// Each burst's length.
    pub length: SimDuration,
    /// The rate during a burst, as a multiple of the usual one.
    pub x: f64,
}

/// `read_after_write:`, a put read back through another node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReadAfterWrite {
    /// The share of puts read back.
    pub chance: Probability,
    /// How long after the put the read is called.
    pub after: SimDuration,
}

/// `keys.drift:`, hot keys that move.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeyDrift {
    /// How often the hot set moves.
    pub every: SimDuration,
    /// How many keys it moves each time.
    pub by: u64,
}

impl Default for RawWorkload {
    fn default() -> Self {
        RawWorkload {
            clients: 0,
            arrival: RawArrival::Closed { think: SimDuration::from_millis(10) },
            keys: RawKeys::default(),
            ops: OrderedMap::default(),
            elements: 100,
            timeout: SimDuration::from_secs(1),
            target: RawTarget::Sticky,
            // A client in the same data centre as its node: a LAN hop each way (about a tenth
            // of a millisecond, with a tail). Zero made a local reply take 1 ns and left the
            // latency charts with nothing to show.
            client_latency: Latency::Lognormal {
                median: SimDuration::from_micros(100),
                p99: SimDuration::from_micros(500),
            },
            script: vec![],
            load: vec![],
            diurnal: None,
            bursts: None,
            read_after_write: None,
            trace: None,
            base: None,
        }
    }
}

/// When clients issue operations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RawArrival {
    /// Open loop at this total rate.
    Poisson(Rate),
    /// Closed loop.
    Closed {
        /// Pause between one operation's end and the next one's call.
        think: SimDuration,
    },
}

/// Keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawKeys {
    /// How many keys (numbered from 0).
    pub count: u64,
    /// `uniform` or `{ zipf: 0.99 }`.
    pub distribution: RawKeyDistribution,
    /// Hot keys that move: `{ every: 10s, by: 40 }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<RawKeyDrift>,
    /// Reads aim this many keys past the drawn key, so reads and writes favour other keys.
    #[serde(skip_serializing_if = "is_zero")]
    pub read_shift: u64,
    /// Each key's operations go through only this many nodes (its homes), whatever `target`
    /// says.
    #[serde(skip_serializing_if = "is_zero")]
    pub homes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for RawKeys {
    fn default() -> Self {
        RawKeys { count: 100, distribution: RawKeyDistribution::Uniform, drift: None, read_shift: 0, homes: 0 }
    }
}

/// How keys are chosen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RawKeyDistribution {
    /// Every key equally likely.
    #[default]
    Uniform,
    /// Zipf with this exponent.
    Zipf(f64),
}

/// Which node a client contacts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawTarget {
    /// Client c always uses node c mod n.
    #[default]
    Sticky,
    /// A random node per operation.
    Random,
    /// Client c always uses the (c mod k)th of these k nodes (`{ nodes: [n3] }`).
    Nodes(Vec<String>),
}

/// A scripted operation: `{ at: 1s, node: n0, put: { key: 1, value: 5 } }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScriptOp {
    /// When.
    pub at: SimDuration,
    /// Which node receives it.
    pub node: String,
    /// Register write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put: Option<KeyValue>,
    /// Register read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub get: Option<KeyOnly>,
    /// Counter increment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incr: Option<KeyBy>,
    /// Counter or set read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<KeyOnly>,
    /// Set insertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<KeyElem>,
    /// Set removal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove: Option<KeyElem>,
    /// Counter decrement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decr: Option<KeyBy>,
    /// Sequence insertion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert: Option<KeyPosElem>,
    /// Sequence deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<KeyPos>,
}

/// `{ key, value }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    /// The key.
    pub key: u64,
    /// The value.
    pub value: u64,
}

/// `{ key }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyOnly {
    /// The key.
    pub key: u64,
}

/// `{ key, by }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyBy {
    /// The key.
    pub key: u64,
    /// The increment.
    #[serde(default = "one")]
    pub by: u64,
}

fn one() -> u64 {
    1
}

/// `{ key, pos, elem }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPosElem {
    /// The key.
    pub key: u64,
    /// The position.
    pub pos: u64,
    /// The element.
    pub elem: u64,
}

/// `{ key, pos }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPos {
    /// The key.
    pub key: u64,
    /// The position.
    pub pos: u64,
}

/// `{ key, elem }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyElem {
    /// The key.
    pub key: u64,
    /// The element.
    pub elem: u64,
}

/// One scripted fault: `at` and exactly one action.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// When.
    pub at: SimDuration,
    /// Groups that cannot talk to each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<Vec<Vec<String>>>,
    /// A one-way cut.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<RawCut>,
    /// `all`: every partition and cut ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal: Option<String>,
    /// A node crashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash: Option<String>,
    /// A crashed node restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// A node outside the cluster (a spare, or one that left) joins it, fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    /// A running node leaves the cluster gracefully, handing off what it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leave: Option<String>,
    /// A node freezes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
    /// A paused node goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<String>,
    /// A node's clock skews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<RawClock>,
    /// Link behaviour changes (everywhere, or `between` two nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<RawLink>,
    /// Every link also loses this share of messages (stacked on the links' own loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_burst: Option<Probability>,
    /// A node's clock runs `factor` times faster (multiplying its rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<RawDrift>,
    /// A node reboots with its disk lost: empty, or with `lasts`, as it was `lasts` ago (its
    /// writes since then never reached the disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lose_disk: Option<String>,
    /// How long the fault lasts: a crash, pause, partition, loss burst or drift then ends by
    /// itself (a crashed node restarts), without undoing other faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lasts: Option<SimDuration>,
}

impl RawFault {
    /// A fault at `at` with no action yet (set exactly one).
    pub fn at(at: SimDuration) -> RawFault {
        RawFault {
            at,
            partition: None,
            cut: None,
            heal: None,
            crash: None,
            restart: None,
            join: None,
            leave: None,
            pause: None,
            resume: None,
            clock: None,
            network: None,
            loss_burst: None,
            drift: None,
            lose_disk: None,
            lasts: None,
        }
    }
}

/// `{ node: n1, factor: 1.5 }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDrift {
    /// Whose clock.
    pub node: String,
    /// The speed factor.
    pub factor: f64,
    /// A step at the start, e.g. `-20ms` or `5s` (not undone at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
}

/// `{ from: [a], to: [b, c] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCut {
    /// Senders.
    pub from: Vec<String>,
    /// Receivers.
    pub to: Vec<String>,
}

/// `{ node: n1, rate: 1.5, jump: -20ms }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClock {
    /// Whose clock.
    pub node: String,
    /// Speed relative to real time.
    #[serde(default = "unit_rate")]
    pub rate: f64,
    /// A step change, e.g. `-20ms` or `5s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
}

fn unit_rate() -> f64 {
    1.0
}

/// Random faults, each kind optional.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRandomFaults {
    /// A random node crashes for a while.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<RawRandomFault>,
    /// The cluster splits into two or three groups of random sizes for a while.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<RawRandomFault>,
    /// A random node pauses for a while.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause: Option<RawRandomFault>,
    /// A random node's clock runs fast or slow by up to `factor` for a while.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock: Option<RawRandomFault>,
    /// Every link loses `loss` of its messages for a while.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<RawRandomFault>,
    /// A random node's disk stops persisting for a while, then the node reboots with what its
    /// disk held when the window began.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk: Option<RawRandomFault>,
    /// Nodes join and leave at random, within a band of cluster sizes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<RawChurn>,
    /// Swarm testing: the kinds above drawn per seed instead of written here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<RawSwarm>,
}

/// `{ every: 2s, min: 3, max: 10 }`: a join or a leave every 2 s on average, the cluster kept
/// between 3 and 10 members (spares are what joins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChurn {
    /// Mean time between membership changes.
    pub every: SimDuration,
    /// The fewest members.
    pub min: u32,
    /// The most members.
    pub max: u32,
}

/// Swarm testing: per seed, which fault kinds are on, their rates and durations, and the
/// workload's shape, drawn within these bounds (`src/scenario/swarm.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSwarm {
    /// The kinds a seed may turn on, each with probability one half (at least one).
    pub kinds: Vec<SwarmKind>,
    /// Bounds on a kind's mean time between faults (default: a fortieth to a half of the
    /// duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<DurationRange>,
    /// Bounds on how long a fault lasts (default: 10 ms to an eighth of the duration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lasts: Option<DurationRange>,
    /// Whether each seed also draws the workload's shape: clients, rate and keys up to the
    /// declared values, and the operation mix's shares.
    pub workload: bool,
    /// Whether each seed also draws the network's misbehaviour: duplication (half the seeds,
    /// up to 5%) and reordering (half the seeds). Off for a protocol that needs FIFO links.
    pub network: bool,
}

impl Default for RawSwarm {
    fn default() -> Self {
        RawSwarm {
            // Not disk: losing a disk loses acknowledged writes in any protocol that
            // acknowledges before it replicates, which is the fault's doing, not a bug.
            kinds: vec![SwarmKind::Crash, SwarmKind::Partition, SwarmKind::Pause, SwarmKind::Clock, SwarmKind::Loss],
            every: None,
            lasts: None,
            workload: true,
            network: true,
        }
    }
}

/// A fault kind swarm testing can turn on.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SwarmKind {
    /// Random crashes (with restarts).
    Crash,
    /// Random partitions.
    Partition,
    /// Random pauses.
    Pause,
    /// Random clock drift.
    Clock,
    /// Random loss bursts.
    Loss,
    /// Random disk losses.
    Disk,
}

impl SwarmKind {
    /// The name scenarios use.
    pub fn name(self) -> &'static str {
        match self {
            SwarmKind::Crash => "crash",
            SwarmKind::Partition => "partition",
            SwarmKind::Pause => "pause",
            SwarmKind::Clock => "clock",
            SwarmKind::Loss => "loss",
            SwarmKind::Disk => "disk",
        }
    }
}

/// `random_faults: swarm`, or the map of kinds (which may hold `swarm: { .. }` with bounds).
pub fn random_faults_from<'de, D: Deserializer<'de>>(d: D) -> Result<RawRandomFaults, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = RawRandomFaults;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("`swarm`, or a map of fault kinds such as `crash: { every: 10s, lasts: 1s..5s }`")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRandomFaults, E> {
            match v {
                "swarm" => Ok(RawRandomFaults { swarm: Some(RawSwarm::default()), ..RawRandomFaults::default() }),
                other => Err(E::custom(format!("`{other}` is not `swarm` nor a map of fault kinds"))),
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRandomFaults, A::Error> {
            RawRandomFaults::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

/// `{ every: 10s, lasts: 1s..5s }` (plus `factor` for clock, `loss` for loss bursts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRandomFault {
    /// Mean time between starts.
    pub every: SimDuration,
    /// How long each lasts.
    pub lasts: DurationRange,
    /// Clock faults: the largest speed factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// Loss bursts: the loss during a burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Probability>,
    /// Clock faults: each drift also steps the clock, forward or back, by up to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump: Option<SimDuration>,
}

/// Engine settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawEngine {
    /// How often replica states are sampled (convergence resolution).
    pub sample_every: SimDuration,
    /// Stop a run after this many events (`none`: no limit).
    pub max_events: Option<u64>,
    /// Memory the linearizability check may use per key before its verdict is unknown (MiB).
    pub lincheck_budget_mb: usize,
    /// The most memory a run may be estimated to need before it is refused (MiB).
    pub memory_limit_mb: u64,
}

impl Default for RawEngine {
    fn default() -> Self {
        RawEngine {
            sample_every: SimDuration::from_millis(10),
            max_events: None,
            lincheck_budget_mb: 1024,
            memory_limit_mb: 8192,
        }
    }
}
