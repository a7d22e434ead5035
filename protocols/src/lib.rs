//! syncsim's protocols, each a sans-IO state machine implementing [`syncsim_sim::Protocol`].
//!
//! - [`gossip`]: anti-entropy (push, pull, push-pull) and rumor mongering over a
//!   last-writer-wins key-value store.
//! - [`anneal`]: Ising/QUBO models and annealing solvers, usable on their own, and the
//!   annealing sync scheduler (`anneal-sync`) that chooses gossip's anti-entropy pairs.
//! - [`crdt`]: conflict-free replicated data types (counters, LWW map, multi-value register,
//!   OR-Set, RGA sequence) synchronised by full states, deltas or causal broadcast.
//! - [`raft`]: Raft consensus over a replicated key-value store.
//! - [`flood`]: tokens passed between random peers, to load the engine in benchmarks.
//! - [`planted`]: the deliberate bugs tests switch on (test builds only).
//!
//! [`ProtocolConfig`] is the scenario's `protocol:` map: `kind` first, then the family's own
//! parameters, unknown ones rejected.

pub mod anneal;
pub mod crdt;
pub mod flood;
pub mod gossip;
pub mod planted;
pub mod raft;

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use syncsim_sim::{Protocol, ProtocolInfo};

pub use anneal::sched::{SchedConfig, SchedNode};
pub use crdt::{CrdtConfig, CrdtNode, CrdtType, SyncMode};
pub use flood::{FloodConfig, FloodNode};
pub use gossip::{GossipConfig, GossipNode};
pub use raft::{RaftConfig, RaftNode};

/// The protocol families a scenario can name in `protocol: { kind: ... }`.
pub const KINDS: &[&str] = &["gossip", "anneal-sync", "raft", "crdt", "flood"];

/// A protocol and its parameters, as a scenario gives them.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ProtocolConfig {
    /// Anti-entropy or rumor-mongering gossip.
    Gossip(GossipConfig),
    /// Push-pull anti-entropy with pairs chosen by the annealing scheduler.
    #[serde(rename = "anneal-sync")]
    AnnealSync(SchedConfig),
    /// Raft consensus over a replicated key-value store.
    Raft(RaftConfig),
    /// Conflict-free replicated data types.
    Crdt(CrdtConfig),
    /// Token flooding (engine load).
    Flood(FloodConfig),
}

impl ProtocolConfig {
    /// The protocol's description under these parameters.
    pub fn info(&self) -> ProtocolInfo {
        match self {
            ProtocolConfig::Gossip(c) => GossipNode::info(c),
            ProtocolConfig::AnnealSync(c) => SchedNode::info(c),
            ProtocolConfig::Raft(c) => RaftNode::info(c),
            ProtocolConfig::Crdt(c) => crdt::info(c),
            ProtocolConfig::Flood(c) => FloodNode::info(c),
        }
    }

    /// Checks the parameters: `Err((field, message))` names the offending field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        match self {
            ProtocolConfig::Gossip(c) => c.validate(),
            ProtocolConfig::AnnealSync(c) => c.validate(),
            ProtocolConfig::Raft(c) => c.validate(),
            ProtocolConfig::Crdt(c) => c.validate(),
            ProtocolConfig::Flood(c) => c.validate(),
        }
    }

    /// Every parameter of family `kind` with its default and meaning, for `syncsim list`.
    pub fn describe(kind: &str) -> Vec<(&'static str, String, &'static str)> {
        match kind {
            "gossip" => GossipConfig::describe(),
            "anneal-sync" => SchedConfig::describe(),
            "raft" => RaftConfig::describe(),
            "crdt" => CrdtConfig::describe(),
            "flood" => FloodConfig::describe(),
            _ => vec![],
        }
    }

    /// The default parameters of family `kind`.
    pub fn default_for(kind: &str) -> Option<ProtocolConfig> {
        match kind {
            "gossip" => Some(ProtocolConfig::Gossip(GossipConfig::default())),
            "anneal-sync" => Some(ProtocolConfig::AnnealSync(SchedConfig::default())),
            "raft" => Some(ProtocolConfig::Raft(RaftConfig::default())),
            "crdt" => Some(ProtocolConfig::Crdt(CrdtConfig::default())),
            "flood" => Some(ProtocolConfig::Flood(FloodConfig::default())),
            _ => None,
        }
    }
}

/// Reads `kind` first, then hands the rest of the map to the family's own parameters, so that
/// errors inside them keep their position in the file.
impl<'de> Deserialize<'de> for ProtocolConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KindFirst;
        impl<'de> Visitor<'de> for KindFirst {
            type Value = ProtocolConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a map starting with `kind: <{}>`", KINDS.join("|"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProtocolConfig, A::Error> {
                match map.next_key::<String>()?.as_deref() {
                    Some("kind") => {}
                    Some(other) => {
                        return Err(de::Error::custom(format!(
                            "`kind` must be the first field of `protocol` (found `{other}` first)"
                        )));
                    }
                    None => return Err(de::Error::missing_field("kind")),
                }
                let kind: String = map.next_value()?;
                let rest = de::value::MapAccessDeserializer::new(map);
                match kind.as_str() {
                    "gossip" => GossipConfig::deserialize(rest).map(ProtocolConfig::Gossip),
                    "anneal-sync" => SchedConfig::deserialize(rest).map(ProtocolConfig::AnnealSync),
                    "raft" => RaftConfig::deserialize(rest).map(ProtocolConfig::Raft),
                    "crdt" => CrdtConfig::deserialize(rest).map(ProtocolConfig::Crdt),
                    "flood" => FloodConfig::deserialize(rest).map(ProtocolConfig::Flood),
                    other => Err(de::Error::unknown_variant(other, KINDS)),
                }
            }
        }
        d.deserialize_map(KindFirst)
    }
}
